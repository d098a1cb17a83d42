#include "log/store.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log/damage.h"
#include "log/datafile.h"
#include "log/frame.h"
#include "log/pages.h"
#include "log/store_env.h"
#include "msglog.h"

_Static_assert(STORE_WHY_MAX == DATAFILE_WHY_MAX, "store_open passes `why` to datafile_check");

struct store {
    MDB_env *env;
    MDB_dbi dbi[TBL_COUNT];
    int missing;                 /* the first table the store lacks, or -1 */
    int fd;                      /* the data file */
    char damage[DAMAGE_MSG_MAX]; /* the last damaged record found */
    int disk_full;               /* the last MSGLOG_EFULL came from the file system */
};

struct store_txn {
    store *s;
    MDB_txn *txn;
};

struct store_cursor {
    MDB_cursor *cur;
    store_txn *t;
    int tbl;
};

static const char *const table_names[TBL_COUNT] = {
    "meta", "convs", "conv_state", "ops", "msgs", "pending", "pending_ids", "pending_edits", "equivocal",
    "peers",
};

/* A write that fails with EIO while the file system has less than this
 * free is taken for a full disk (see write_rc). */
#define DISK_FULL_MARGIN ((uint64_t)1 << 20)

static int is_disk_full(int rc)
{
    return rc == ENOSPC || rc == EDQUOT;
}

/* Whether the file system of s has (almost) no room left for us. */
static int fs_full(const store *s)
{
    struct statvfs v;
    const char *path = NULL;

    if (mdb_env_get_path(s->env, &path) != 0 || !path || statvfs(path, &v) != 0)
        return 0;
    return (uint64_t)v.f_bavail * v.f_frsize < DISK_FULL_MARGIN;
}

/* LMDB and errno codes to the public codes. A full file system (ENOSPC
 * when LMDB writes or syncs pages, EDQUOT) is a full store as much as a
 * full map: nothing more can be written until someone makes room. */
static int map_rc(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return MSGLOG_OK;
    case MDB_NOTFOUND:
        return MSGLOG_ENOTFOUND;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case ENOSPC:
    case EDQUOT:
        return MSGLOG_EFULL;
    case ENOMEM:
        return MSGLOG_ENOMEM;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        return MSGLOG_ECORRUPT;
    case MDB_VERSION_MISMATCH:
    case MDB_INVALID:
        return MSGLOG_EVERSION;
    default:
        return MSGLOG_EIO;
    }
}

/* map_rc for the calls that may write pages (puts, deletes, commits),
 * noting in s whether a full store is a full disk. LMDB reports a write
 * that the file system cut short as EIO, not ENOSPC: an EIO while the file
 * system has no room left is a full disk too. */
static int write_rc(store *s, int rc)
{
    int code = map_rc(rc);

    if (code == MSGLOG_EIO && fs_full(s)) {
        s->disk_full = 1;
        return MSGLOG_EFULL;
    }
    if (code == MSGLOG_EFULL)
        s->disk_full = is_disk_full(rc);
    return code;
}

const char *store_strerror(int lmdb_rc)
{
    return mdb_strerror(lmdb_rc);
}

int store_full_is_disk(const store *s)
{
    return s->disk_full;
}

const char *store_table_name(int tbl)
{
    return tbl >= 0 && tbl < TBL_COUNT ? table_names[tbl] : "?";
}

const char *store_missing_table(const store *s)
{
    return s->missing >= 0 ? table_names[s->missing] : NULL;
}

const char *store_damage(const store *s)
{
    return s->damage;
}

void store_damage_clear(store *s)
{
    s->damage[0] = '\0';
}

/* ---- damage ----------------------------------------------------------- */

/* The name of conversation cid, read raw from TBL_CONVS (value cid|frame):
 * the record being described is damaged, so nothing here may fail the
 * read that found it. conv is left empty when it is not found. (Every page
 * was checked at open, log/pages.h: raw reads stay inside the file.) */
static void find_conv_name(store_txn *t, uint32_t cid, store_val *conv)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t want[4] = { (uint8_t)(cid >> 24), (uint8_t)(cid >> 16), (uint8_t)(cid >> 8),
                        (uint8_t)cid };
    if (mdb_cursor_open(t->txn, t->s->dbi[TBL_CONVS], &cur) != 0)
        return;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (v.mv_size == 4 + FRAME_TAIL && memcmp(v.mv_data, want, 4) == 0) {
            *conv = (store_val){ k.mv_data, k.mv_size };
            break;
        }
    }
    mdb_cursor_close(cur);
}

/* Records what is damaged (store_damage) and returns MSGLOG_ECORRUPT. */
static int damaged(store_txn *t, int tbl, MDB_val key, const char *why)
{
    store_val k = { key.mv_data, key.mv_size }, conv = { NULL, 0 };
    uint32_t cid;
    if (damage_key_cid(tbl, k, &cid))
        find_conv_name(t, cid, &conv);
    damage_describe(t->s->damage, tbl, k, conv, why);
    return MSGLOG_ECORRUPT;
}

/* The payload of a value LMDB returned for key: checked, unframed. */
static int unframe(store_txn *t, int tbl, MDB_val key, MDB_val v, store_val *out)
{
    store_val payload;
    if (frame_open((store_val){ key.mv_data, key.mv_size }, (store_val){ v.mv_data, v.mv_size },
                   &payload) != MSGLOG_OK)
        return damaged(t, tbl, key, "checksum");
    if (out)
        *out = payload;
    return MSGLOG_OK;
}

/* ---- opening ------------------------------------------------------------ */

/* Opens every table: a new environment (an empty main database) creates
 * them; an existing one must have them, and a missing one is noted, never
 * created (creating it would write into a store that may be damaged). No
 * table has flags: a flag LMDB finds is damage too. */
static int open_tables(store *s, MDB_txn *txn)
{
    MDB_dbi main;
    MDB_stat st;
    int rc = mdb_dbi_open(txn, NULL, 0, &main);
    if (!rc)
        rc = mdb_stat(txn, main, &st);
    unsigned create = !rc && st.ms_entries == 0 ? MDB_CREATE : 0;
    s->missing = -1;
    for (int i = 0; i < TBL_COUNT && rc == 0; i++) {
        unsigned flags = 0;
        rc = mdb_dbi_open(txn, table_names[i], create, &s->dbi[i]);
        if (rc == MDB_NOTFOUND) {
            s->dbi[i] = (MDB_dbi)-1;   /* no handle: LMDB refuses any use (EINVAL) */
            s->missing = s->missing < 0 ? i : s->missing;
            rc = 0;
        }
        else if (!rc && (rc = mdb_dbi_flags(txn, s->dbi[i], &flags)) == 0 && flags != 0)
            rc = MDB_INCOMPATIBLE;
    }
    return rc;
}

/* LMDB's codes at opening: a table with flags is damage. */
static int open_rc(int rc)
{
    return rc == MDB_INCOMPATIBLE ? MSGLOG_ECORRUPT : map_rc(rc);
}

/* Opens the environment at path (a directory, or with MDB_NOSUBDIR the
 * data file itself) and reclaims the reader slots of dead processes. */
static int open_env(store *s, const char *path, size_t map_size, unsigned flags)
{
    int rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, TBL_COUNT);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, map_size);
    /* MDB_NOTLS: read transactions are not tied to a thread's slot.
     * Durable commits: never MDB_NOSYNC. */
    if (rc == 0)
        rc = mdb_env_open(s->env, path, MDB_NOTLS | flags, 0600);
    if (rc == 0)
        rc = mdb_env_get_fd(s->env, &s->fd);
    int dead;
    if (rc == 0)
        rc = mdb_reader_check(s->env, &dead);   /* reclaim slots of dead processes */
    return open_rc(rc);
}

/* Every page of the snapshot of read transaction txn checked (log/pages.h),
 * through a map of the file of our own (LMDB's may be unknown). */
static int verify_snapshot(store *s, MDB_txn *txn, char *why)
{
    pages_snapshot snap;
    struct stat st;
    int rc = datafile_snapshot(s->fd, mdb_txn_id(txn), &snap);
    if (rc)
        return rc;
    if (fstat(s->fd, &st) != 0 || st.st_size == 0)
        return MSGLOG_EIO;
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, s->fd, 0);
    if (map == MAP_FAILED)
        return MSGLOG_EIO;
    snap.map = map;
    snap.file_pages = (uint64_t)st.st_size / snap.psize;
    rc = pages_verify(&snap, why);
    munmap(map, (size_t)st.st_size);
    return rc;
}

/* Before LMDB reads any page of the store: every page of the snapshot it
 * will read first checked. A read transaction keeps that snapshot's pages
 * from being reused meanwhile; when a commit overwrote its meta page before
 * it could be read, the check starts again on the newer snapshot. */
static int verify_pages(store *s, char *why)
{
    for (int tries = 0; tries < 100; tries++) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
        if (rc)
            return map_rc(rc);
        rc = verify_snapshot(s, txn, why);
        mdb_txn_abort(txn);
        if (rc != MSGLOG_ENOTFOUND)
            return rc;
    }
    return MSGLOG_EIO;   /* commits faster than a check: the store is busy */
}

/* Opens the tables, and runs init (when given) in the same transaction. */
static int open_all(store *s, store_init_fn init, void *ctx)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == 0)
        rc = open_tables(s, txn);
    if (rc) {
        mdb_txn_abort(txn);
        return open_rc(rc);
    }
    store_txn t = { s, txn };
    if (init && (rc = init(&t, ctx)) != MSGLOG_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    return map_rc(mdb_txn_commit(txn));
}

/* The file of name `name` in directory dir, in a malloc'd string. */
static char *file_in(const char *dir, const char *name)
{
    size_t n = strlen(dir), m = strlen(name);
    char *p = malloc(n + m + 2);
    if (p) {
        memcpy(p, dir, n);
        p[n] = '/';
        memcpy(p + n + 1, name, m + 1);
    }
    return p;
}

/* Makes what link() and unlink() did in dir durable. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Builds a new store beside data.mdb, in a file of its own, and links it
 * into place only once its tables and identity (init) are committed: a
 * data.mdb is always a whole store, so one of 0 bytes, or without a format,
 * is damage, never a creation that did not finish. A crash leaves at most
 * the temporary file. Another process that created the store first wins
 * (link refuses to replace), and this one then opens theirs. */
static int create_store(const char *dir, const char *data, size_t map_size, store_init_fn init,
                        void *ctx)
{
    static unsigned counter;
    char name[64];
    snprintf(name, sizeof name, ".new-%ld-%u.mdb", (long)getpid(), counter++);
    char *tmp = file_in(dir, name), *lock = tmp ? malloc(strlen(tmp) + 6) : NULL;
    store *s = calloc(1, sizeof *s);
    int rc = !tmp || !lock || !s ? MSGLOG_ENOMEM : MSGLOG_OK;
    if (rc == 0) {
        sprintf(lock, "%s-lock", tmp);
        rc = open_env(s, tmp, map_size, MDB_NOSUBDIR);
    }
    if (rc == 0)
        rc = open_all(s, init, ctx);
    if (s && s->env)
        mdb_env_close(s->env);
    if (rc == 0 && link(tmp, data) != 0 && errno != EEXIST)
        rc = MSGLOG_EIO;
    if (tmp)
        unlink(tmp);
    if (lock)
        unlink(lock);
    sync_dir(dir);
    free(s);
    free(tmp);
    free(lock);
    return rc;
}

/* Creates the store when asked and missing; checks an existing data file
 * before LMDB maps it. */
static int prepare(const char *dir, const store_config *cfg, char *why)
{
    char *data = file_in(dir, "data.mdb");
    if (!data)
        return MSGLOG_ENOMEM;
    struct stat st;
    int rc = MSGLOG_OK;
    if (stat(data, &st) != 0)
        rc = errno != ENOENT ? MSGLOG_EIO
             : cfg->create   ? create_store(dir, data, cfg->map_size, cfg->init, cfg->init_ctx)
                             : MSGLOG_ENOTFOUND;
    if (!rc)
        rc = datafile_check(data, why);
    free(data);
    return rc;
}

/* mkdir -p: the store's directory and the missing ones above it, 0700.
 * @return 0, or -1 with why naming the directory and the system's error. */
static int make_dirs(const char *path, char *why)
{
    char dir[4096];
    size_t n = strlen(path);

    if (n >= sizeof dir) {
        snprintf(why, STORE_WHY_MAX, "the path is too long (%zu bytes)", n);
        return -1;
    }
    memcpy(dir, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (dir[i] != '/' && dir[i] != '\0')
            continue;
        char c = dir[i];
        dir[i] = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(why, STORE_WHY_MAX, "cannot make the directory %s: %s", dir, strerror(errno));
            return -1;
        }
        dir[i] = c;
    }
    return 0;
}

int store_open(store **out, const char *path, const store_config *cfg, char *why)
{
    *out = NULL;
    char local[STORE_WHY_MAX];
    if (!why)
        why = local;
    why[0] = '\0';
    if (cfg->create && make_dirs(path, why) != 0)
        return MSGLOG_EIO;
    int rc = prepare(path, cfg, why);
    store *s = rc ? NULL : calloc(1, sizeof *s);
    if (!rc && !s)
        rc = MSGLOG_ENOMEM;
    if (!rc)
        rc = open_env(s, path, cfg->map_size, 0);
    if (!rc && !cfg->no_page_check)
        rc = verify_pages(s, why);
    if (!rc)
        rc = open_all(s, NULL, NULL);
    if (!rc) {
        *out = s;
        return MSGLOG_OK;
    }
    if (s && s->env)
        mdb_env_close(s->env);
    free(s);
    return rc;
}

void store_close(store *s)
{
    if (!s)
        return;
    mdb_env_close(s->env);
    free(s);
}

MDB_env *store_env(const store *s)
{
    return s->env;
}

const char *store_path(const store *s)
{
    const char *path = NULL;
    return mdb_env_get_path(s->env, &path) == 0 && path ? path : "";
}

int store_grow(store *s, size_t max)
{
    MDB_envinfo info;
    int rc = mdb_env_info(s->env, &info);
    if (rc)
        return map_rc(rc);
    size_t cur = info.me_mapsize;
    size_t next = cur <= max / 2 ? cur * 2 : max;
    if (next <= cur)
        return MSGLOG_EFULL;
    return map_rc(mdb_env_set_mapsize(s->env, next));
}

/* ---- transactions ------------------------------------------------------- */

int store_txn_begin(store *s, int write, store_txn **out)
{
    *out = NULL;
    store_damage_clear(s);
    store_txn *t = malloc(sizeof *t);
    if (!t)
        return MSGLOG_ENOMEM;
    t->s = s;
    int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc) {
        free(t);
        return map_rc(rc);
    }
    *out = t;
    return MSGLOG_OK;
}

store *store_txn_store(const store_txn *t)
{
    return t->s;
}

int store_verify_pages(store_txn *t, char *why)
{
    why[0] = '\0';
    int rc = verify_snapshot(t->s, t->txn, why);
    /* Two commits since t began overwrote its meta page: with writers that
     * fast the snapshot cannot be found again. */
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_EIO : rc;
}

int store_txn_commit(store_txn *t)
{
    store *s = t->s;
    int rc = mdb_txn_commit(t->txn);
    free(t);
    return write_rc(s, rc);
}

void store_txn_abort(store_txn *t)
{
    if (!t)
        return;
    mdb_txn_abort(t->txn);
    free(t);
}

/* ---- records ------------------------------------------------------------ */

static MDB_val to_mdb(store_val v)
{
    return (MDB_val){ v.len, (void *)v.data };
}

static store_val from_mdb(MDB_val v)
{
    return (store_val){ v.mv_data, v.mv_size };
}

int store_get(store_txn *t, int tbl, store_val key, store_val *val)
{
    MDB_val k = to_mdb(key), v;
    int rc = mdb_get(t->txn, t->s->dbi[tbl], &k, &v);
    return rc ? map_rc(rc) : unframe(t, tbl, k, v, val);
}

int store_get_raw(store_txn *t, int tbl, store_val key, store_val *val)
{
    MDB_val k = to_mdb(key), v;
    int rc = mdb_get(t->txn, t->s->dbi[tbl], &k, &v);
    if (rc == 0)
        *val = from_mdb(v);
    return map_rc(rc);
}

int store_put_parts(store_txn *t, int tbl, store_val key, const store_val *parts, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += parts[i].len;
    MDB_val k = to_mdb(key), v = { len + FRAME_TAIL, NULL };
    int rc = mdb_put(t->txn, t->s->dbi[tbl], &k, &v, MDB_RESERVE);
    if (rc)
        return write_rc(t->s, rc);
    uint8_t *p = v.mv_data;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len)
            memcpy(p, parts[i].data, parts[i].len);
        p += parts[i].len;
    }
    frame_seal(key, v.mv_data, len);
    return MSGLOG_OK;
}

int store_put(store_txn *t, int tbl, store_val key, store_val val)
{
    return store_put_parts(t, tbl, key, &val, 1);
}

int store_del(store_txn *t, int tbl, store_val key)
{
    MDB_val k = to_mdb(key);
    return write_rc(t->s, mdb_del(t->txn, t->s->dbi[tbl], &k, NULL));
}

int store_entries(store_txn *t, int tbl, uint64_t *n)
{
    MDB_stat st;
    int rc = mdb_stat(t->txn, t->s->dbi[tbl], &st);
    *n = rc ? 0 : (uint64_t)st.ms_entries;
    return map_rc(rc);
}

/* ---- cursors ------------------------------------------------------------ */

int store_cursor_open(store_txn *t, int tbl, store_cursor **out)
{
    *out = NULL;
    store_cursor *c = malloc(sizeof *c);
    if (!c)
        return MSGLOG_ENOMEM;
    int rc = mdb_cursor_open(t->txn, t->s->dbi[tbl], &c->cur);
    if (rc) {
        free(c);
        return map_rc(rc);
    }
    c->t = t;
    c->tbl = tbl;
    *out = c;
    return MSGLOG_OK;
}

void store_cursor_close(store_cursor *c)
{
    if (!c)
        return;
    mdb_cursor_close(c->cur);
    free(c);
}

static int cursor_get(store_cursor *c, MDB_val *k, store_val *kout,
                      store_val *vout, MDB_cursor_op op)
{
    MDB_val v;
    int rc = mdb_cursor_get(c->cur, k, &v, op);
    if (rc)
        return map_rc(rc);
    store_val payload;
    rc = unframe(c->t, c->tbl, *k, v, &payload);
    if (rc)
        return rc;
    if (kout)
        *kout = from_mdb(*k);
    if (vout)
        *vout = payload;
    return MSGLOG_OK;
}

int store_cursor_seek(store_cursor *c, store_val key, store_val *k, store_val *v)
{
    MDB_val mk = to_mdb(key);
    return cursor_get(c, &mk, k, v, MDB_SET_RANGE);
}

int store_cursor_next(store_cursor *c, store_val *k, store_val *v)
{
    MDB_val mk;
    return cursor_get(c, &mk, k, v, MDB_NEXT);
}

int store_cursor_prev(store_cursor *c, store_val *k, store_val *v)
{
    MDB_val mk;
    return cursor_get(c, &mk, k, v, MDB_PREV);
}

int store_cursor_first(store_cursor *c, store_val *k, store_val *v)
{
    MDB_val mk;
    return cursor_get(c, &mk, k, v, MDB_FIRST);
}

int store_cursor_last(store_cursor *c, store_val *k, store_val *v)
{
    MDB_val mk;
    return cursor_get(c, &mk, k, v, MDB_LAST);
}

int store_cursor_key(store_cursor *c, store_val *k)
{
    MDB_val mk, v;
    int rc = mdb_cursor_get(c->cur, &mk, &v, MDB_GET_CURRENT);
    if (rc)
        return map_rc(rc);
    *k = from_mdb(mk);
    return MSGLOG_OK;
}

int store_cursor_del(store_cursor *c)
{
    return write_rc(c->t->s, mdb_cursor_del(c->cur, 0));
}

/* ---- scrubbing ---------------------------------------------------------- */

int store_scrub(store_txn *t, int tbl, store_val key)
{
    MDB_val k = to_mdb(key), v;
    int rc = mdb_get(t->txn, t->s->dbi[tbl], &k, &v);
    if (rc)
        return map_rc(rc);
    v.mv_data = NULL;
    rc = mdb_put(t->txn, t->s->dbi[tbl], &k, &v, MDB_RESERVE);
    if (rc == 0)
        memset(v.mv_data, 0, v.mv_size);
    return write_rc(t->s, rc);
}

int store_cursor_scrub_del(store_cursor *c)
{
    MDB_val k, v;
    int rc = mdb_cursor_get(c->cur, &k, &v, MDB_GET_CURRENT);
    if (rc == 0) {
        v.mv_data = NULL;
        rc = mdb_cursor_put(c->cur, &k, &v, MDB_CURRENT | MDB_RESERVE);
    }
    if (rc == 0) {
        memset(v.mv_data, 0, v.mv_size);
        rc = mdb_cursor_del(c->cur, 0);
    }
    return write_rc(c->t->s, rc);
}
