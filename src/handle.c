/* Opening and closing a replica, errors, and freeing returned memory. */
#include "src/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/op_codec.h"
#include "crdt/utf8.h"

#define STORE_FORMAT 2   /* 2: pending_edits (docs/format.md) */
#define DEFAULT_MAP_SIZE ((size_t)1 << 30)
#define DEFAULT_MAX_MAP_SIZE ((size_t)1 << 36)
#define DEFAULT_MAX_PENDING_OPS 100000
#define DEFAULT_MAX_PENDING_BYTES ((uint64_t)64 << 20)
#define REPLICA_ID_LIMIT ((uint64_t)1 << 53)

const char *msglog_strerror(int err)
{
    switch (err) {
    case MSGLOG_OK: return "success";
    case MSGLOG_EINVAL: return "invalid argument";
    case MSGLOG_ENOTFOUND: return "not found";
    case MSGLOG_EDENIED: return "refused by the merge rules";
    case MSGLOG_ELIMIT: return "size limit exceeded";
    case MSGLOG_ECORRUPT: return "corrupt or malformed encoding";
    case MSGLOG_EVERSION: return "unknown format version";
    case MSGLOG_EMISMATCH: return "store belongs to another replica or user";
    case MSGLOG_EFULL: return "store is full";
    case MSGLOG_ENOMEM: return "out of memory";
    case MSGLOG_EIO: return "I/O or storage error";
    case MSGLOG_EKIND: return "unknown op kind";
    case MSGLOG_EPENDINGFULL: return "pending buffer full: ops waiting for dependencies were dropped";
    case MSGLOG_EEQUIVOCAL: return "an op reuses an id with different content: refused";
    default: return "unknown error";
    }
}

int ml_fail(msglog *log, int rc, const char *fmt, ...)
{
    if (!log)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(log->err, sizeof log->err, fmt, ap);
    va_end(ap);
    return rc;
}

int ml_grow_map(msglog *log)
{
    int rc = store_grow(log->st, log->max_map_size);
    if (rc)
        return ml_fail(log, MSGLOG_EFULL, "the store is full: its map reached the maximum of %zu bytes",
                       log->max_map_size);
    return MSGLOG_OK;
}

int ml_ok(msglog *log)
{
    log->err[0] = '\0';
    return MSGLOG_OK;
}

int ml_codec_fail(msglog *log, int rc, const char *what)
{
    return ml_fail(log, rc, "%s: %s", what, msglog_strerror(rc));
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

static int meta_get_u64(store_txn *t, const char *name, uint64_t *out)
{
    store_val v;
    int rc = store_get(t, TBL_META, (store_val){ name, strlen(name) }, &v);
    if (rc)
        return rc;
    if (v.len != 8)
        return MSGLOG_ECORRUPT;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = (x << 8) | ((const uint8_t *)v.data)[i];
    *out = x;
    return MSGLOG_OK;
}

static int meta_put_u64(store_txn *t, const char *name, uint64_t x)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(x >> (56 - 8 * i));
    return store_put(t, TBL_META, (store_val){ name, strlen(name) }, (store_val){ b, 8 });
}

/* A new store gets its identity; an existing one must match it. */
static int check_identity(msglog *log)
{
    store_txn *t;
    int rc = store_txn_begin(log->st, 1, &t);
    if (rc)
        return ml_fail(log, rc, "cannot begin a transaction");
    uint64_t format = 0, replica = 0;
    rc = meta_get_u64(t, "format", &format);
    if (rc == MSGLOG_ENOTFOUND) {
        rc = meta_put_u64(t, "format", STORE_FORMAT);
        if (!rc)
            rc = meta_put_u64(t, "replica", log->replica);
        if (!rc)
            rc = store_put(t, TBL_META, (store_val){ "user", 4 },
                           (store_val){ log->user, log->user_len });
        if (!rc) {
            rc = store_txn_commit(t);
            return rc ? ml_fail(log, rc, "cannot create the store: %s", msglog_strerror(rc))
                      : MSGLOG_OK;
        }
        store_txn_abort(t);
        return ml_fail(log, rc, "cannot create the store");
    }
    store_val user = { NULL, 0 };
    if (!rc && format != STORE_FORMAT)
        rc = ml_fail(log, MSGLOG_EVERSION, "store format %llu is unknown",
                     (unsigned long long)format);
    else if (!rc)
        rc = meta_get_u64(t, "replica", &replica);
    if (!rc)
        rc = store_get(t, TBL_META, (store_val){ "user", 4 }, &user);
    if (!rc && (replica != log->replica || user.len != log->user_len ||
                memcmp(user.data, log->user, user.len) != 0))
        rc = ml_fail(log, MSGLOG_EMISMATCH, "the store belongs to replica %llu of user '%.*s'",
                     (unsigned long long)replica, (int)user.len, (const char *)user.data);
    else if (rc && !log->err[0])
        ml_fail(log, rc, "the store's identity is unreadable");
    store_txn_abort(t);
    return rc;
}

int msglog_open(msglog **out, const char *path, uint64_t replica,
                const char *user, size_t user_len, const msglog_options *opts)
{
    if (!out)
        return MSGLOG_EINVAL;
    *out = NULL;
    if (!path || !*path || replica == 0 || replica >= REPLICA_ID_LIMIT || !user ||
        user_len == 0 || user_len > MSGLOG_MAX_USER)
        return MSGLOG_EINVAL;
    if (!utf8_valid((const uint8_t *)user, user_len))
        return MSGLOG_EINVAL;
    if (opts && opts->version != MSGLOG_OPTIONS_VERSION)
        return MSGLOG_EVERSION;
    msglog *log = calloc(1, sizeof *log);
    if (!log)
        return MSGLOG_ENOMEM;
    log->replica = replica;
    memcpy(log->user, user, user_len);
    log->user_len = user_len;
    log->clock = opts && opts->clock ? opts->clock : system_clock;
    log->clock_ctx = opts ? opts->clock_ctx : NULL;
    size_t map = opts && opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE;
    log->max_map_size = opts && opts->max_map_size ? opts->max_map_size : DEFAULT_MAX_MAP_SIZE;
    if (log->max_map_size < map)
        log->max_map_size = map;
    log->max_pending_ops = opts && opts->max_pending_ops ? opts->max_pending_ops
                                                        : DEFAULT_MAX_PENDING_OPS;
    log->max_pending_bytes = opts && opts->max_pending_bytes ? opts->max_pending_bytes
                                                            : DEFAULT_MAX_PENDING_BYTES;
    int rc = store_open(&log->st, path, map);
    if (!rc)
        rc = check_identity(log);
    if (rc) {
        store_close(log->st);
        free(log);
        return rc;
    }
    *out = log;
    return MSGLOG_OK;
}

void msglog_close(msglog *log)
{
    if (!log)
        return;
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
