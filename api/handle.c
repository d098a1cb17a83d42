/* Opening and closing a replica, errors, and freeing returned memory. */
#include "engine/engine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "crdt/utf8.h"
#include "log/claim.h"
#include "log/meta.h"

#define STORE_FORMAT 3   /* 2: pending_edits; 3: framed records (docs/format.md) */
#define DEFAULT_MAP_SIZE ((size_t)1 << 30)
#define DEFAULT_MAX_MAP_SIZE ((size_t)1 << 36)
#define DEFAULT_MAX_PENDING_OPS 100000
#define DEFAULT_MAX_PENDING_BYTES ((uint64_t)64 << 20)

const char *msglog_strerror(int err)
{
    return ml_strerror(err);
}

const char *msglog_errmsg(const msglog *log)
{
    return log ? log->err : "no handle";
}

void msglog_free(void *p)
{
    free(p);
}

static uint64_t system_clock(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads the identity a store holds; *user borrows from t. A store always
 * has one (log/store.h: a new store is linked into place with it), so a
 * missing one is damage. */
static int identity_read(msglog *log, store_txn *t, uint64_t *replica, store_val *user)
{
    uint64_t format = 0;
    const char *missing = store_missing_table(log->st);
    if (missing && strcmp(missing, "meta") == 0)
        return ml_fail(log, MSGLOG_ECORRUPT, "the store has no table meta");
    int rc = meta_get_format(t, &format);
    if (!rc && format != STORE_FORMAT)
        return ml_fail(log, MSGLOG_EVERSION, "store format %llu is unknown (this build reads "
                       "format %d only)", (unsigned long long)format, STORE_FORMAT);
    if (!rc && missing)
        return ml_fail(log, MSGLOG_ECORRUPT, "the store has no table %s", missing);
    if (!rc)
        rc = meta_get_u64(t, "replica", replica);
    if (!rc)
        rc = meta_get_user(t, user);
    if (rc == MSGLOG_ENOTFOUND)
        rc = MSGLOG_ECORRUPT;   /* no format, or a format without an owner */
    return rc ? ml_fail(log, rc, "the store's identity is unreadable: %s", msglog_strerror(rc))
              : MSGLOG_OK;
}

/* What a new store starts with (store_init_fn): its format and owner. */
static int identity_init(store_txn *t, void *ctx)
{
    msglog *log = ctx;
    int rc = meta_put_u64(t, "format", STORE_FORMAT);
    if (!rc)
        rc = meta_put_u64(t, "replica", log->replica);
    if (!rc)
        rc = meta_put_user(t, log->user, log->user_len);
    return rc ? ml_fail(log, rc, "cannot create the store: %s", msglog_strerror(rc)) : MSGLOG_OK;
}

/* Takes the store's identity (msglog_open with replica 0), checked as the
 * arguments of msglog_open would be. */
static int identity_adopt(msglog *log, uint64_t replica, store_val user)
{
    if (replica == 0 || replica >= REPLICA_ID_LIMIT || user.len == 0 ||
        user.len > MSGLOG_MAX_USER || !utf8_valid(user.data, user.len))
        return ml_fail(log, MSGLOG_ECORRUPT, "the store's identity is invalid");
    log->replica = replica;
    memcpy(log->user, user.data, user.len);
    log->user_len = user.len;
    return MSGLOG_OK;
}

static int identity_match(msglog *log, uint64_t replica, store_val user)
{
    if (replica == log->replica && user.len == log->user_len &&
        memcmp(user.data, log->user, user.len) == 0)
        return MSGLOG_OK;
    return ml_fail(log, MSGLOG_EMISMATCH, "the store belongs to replica %llu of user '%.*s'",
                   (unsigned long long)replica, (int)user.len, (const char *)user.data);
}

/* The store's identity must match the handle's, or becomes the handle's
 * when it has none (replica 0). */
static int check_identity(msglog *log)
{
    store_txn *t;
    int rc = store_txn_begin(log->st, 0, &t);
    if (rc)
        return ml_fail(log, rc, "cannot begin a transaction");
    uint64_t replica = 0;
    store_val user = { NULL, 0 };
    rc = identity_read(log, t, &replica, &user);
    if (!rc && log->replica == 0)
        rc = identity_adopt(log, replica, user);
    else if (!rc)
        rc = identity_match(log, replica, user);
    store_txn_abort(t);
    return rc;
}

/* msglog_open's identity: a full one, or none at all (replica 0, user NULL). */
static int identity_args_ok(uint64_t replica, const char *user, size_t user_len)
{
    if (replica == 0 && !user)
        return user_len == 0;
    return replica != 0 && replica < REPLICA_ID_LIMIT && user && user_len > 0 &&
           user_len <= MSGLOG_MAX_USER && utf8_valid((const uint8_t *)user, user_len);
}

/* Whether `path` holds a store (its data file), checked before LMDB would
 * create one. */
static int store_present(const char *path)
{
    size_t n = strlen(path);
    char *file = malloc(n + sizeof "/data.mdb");
    if (!file)
        return MSGLOG_ENOMEM;
    memcpy(file, path, n);
    memcpy(file + n, "/data.mdb", sizeof "/data.mdb");
    struct stat st;
    int rc = stat(file, &st);
    int err = errno;
    free(file);
    if (rc == 0)
        return S_ISREG(st.st_mode) ? MSGLOG_OK : MSGLOG_ENOTFOUND;
    return err == ENOENT || err == ENOTDIR ? MSGLOG_ENOTFOUND : MSGLOG_EIO;
}

static void apply_options(msglog *log, const msglog_options *opts, size_t *map)
{
    log->clock = opts && opts->clock ? opts->clock : system_clock;
    log->clock_ctx = opts ? opts->clock_ctx : NULL;
    *map = opts && opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE;
    log->map_size = *map;
    log->max_map_size = opts && opts->max_map_size ? opts->max_map_size : DEFAULT_MAX_MAP_SIZE;
    if (log->max_map_size < *map)
        log->max_map_size = *map;
    log->max_pending_ops = opts && opts->max_pending_ops ? opts->max_pending_ops
                                                        : DEFAULT_MAX_PENDING_OPS;
    log->max_pending_bytes = opts && opts->max_pending_bytes ? opts->max_pending_bytes
                                                            : DEFAULT_MAX_PENDING_BYTES;
    /* Version 1 options end before no_page_check. */
    log->no_page_check = opts && opts->version >= 2 && opts->no_page_check;
}

/* The text of the last failed msglog_open() of this thread: there is no
 * handle to keep it in. */
static _Thread_local char open_err[sizeof ((msglog *)0)->err];

const char *msglog_open_errmsg(void)
{
    return open_err;
}

/* Records the message of a failed open and returns rc. */
static int open_fail(int rc, const char *fmt, ...) ML_PRINTF(2, 3);
static int open_fail(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(open_err, sizeof open_err, fmt, ap);
    va_end(ap);
    return rc;
}

/* Opens the store and checks or writes its identity; on failure the
 * message is in log->err. */
static int open_store(msglog *log, const char *path, const msglog_options *opts)
{
    size_t map;
    apply_options(log, opts, &map);
    char why[STORE_WHY_MAX] = "";
    store_config cfg = { map, log->replica != 0, identity_init, log, log->no_page_check };
    int rc = store_open(&log->st, path, &cfg, why);   /* by its identity: creates nothing */
    if (rc)
        return ml_fail(log, rc, "%s", why[0] ? why : msglog_strerror(rc));
    return check_identity(log);
}

int msglog_open(msglog **out, const char *path, uint64_t replica,
                const char *user, size_t user_len, const msglog_options *opts)
{
    open_err[0] = '\0';
    if (!out)
        return open_fail(MSGLOG_EINVAL, "msglog_open: out is NULL");
    *out = NULL;
    if (!path || !*path || !identity_args_ok(replica, user, user_len))
        return open_fail(MSGLOG_EINVAL, "msglog_open: bad argument");
    if (opts && opts->version != MSGLOG_OPTIONS_VERSION && opts->version != 1)
        return open_fail(MSGLOG_EVERSION, "msglog_open: unknown options version %u",
                         opts->version);
    if (replica == 0) {
        int rc = store_present(path);
        if (rc)
            return open_fail(rc, rc == MSGLOG_ENOTFOUND ? "%s holds no store" : "%s: %s", path,
                             msglog_strerror(rc));
    }
    msglog *log = calloc(1, sizeof *log);
    if (!log)
        return open_fail(MSGLOG_ENOMEM, "out of memory");
    log->replica = replica;
    log->claim_fd = -1;
    if (user_len)
        memcpy(log->user, user, user_len);
    log->user_len = user_len;
    int rc = open_store(log, path, opts);
    if (rc) {
        open_fail(rc, "%s", log->err[0] ? log->err : msglog_strerror(rc));
        store_close(log->st);
        free(log);
        return rc;
    }
    *out = log;
    return MSGLOG_OK;
}

int msglog_identity(msglog *log, uint64_t *replica, const char **user, size_t *user_len)
{
    if (!log)
        return MSGLOG_EINVAL;
    if (replica)
        *replica = log->replica;
    if (user)
        *user = (const char *)log->user;
    if (user_len)
        *user_len = log->user_len;
    return MSGLOG_OK;
}

void msglog_close(msglog *log)
{
    if (!log)
        return;
    claim_release(log->claim_fd);
    store_close(log->st);
    free(log);
}

void msglog_digest_hex(char out[33], const uint8_t digest[16])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[32] = '\0';
}
