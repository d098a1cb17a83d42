#include "log/store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "msglog.h"

struct store {
    MDB_env *env;
    MDB_dbi dbi[TBL_COUNT];
    int disk_full;    /* the last MSGLOG_EFULL came from the file system */
};

struct store_txn {
    store *s;
    MDB_txn *txn;
};

struct store_cursor {
    store *s;
    MDB_cursor *cur;
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

static int open_tables(store *s)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return map_rc(rc);
    for (int i = 0; i < TBL_COUNT && rc == 0; i++)
        rc = mdb_dbi_open(txn, table_names[i], MDB_CREATE, &s->dbi[i]);
    if (rc) {
        mdb_txn_abort(txn);
        return map_rc(rc);
    }
    return map_rc(mdb_txn_commit(txn));
}

int store_open(store **out, const char *path, size_t map_size)
{
    *out = NULL;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return MSGLOG_EIO;
    store *s = calloc(1, sizeof *s);
    if (!s)
        return MSGLOG_ENOMEM;
    int rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, TBL_COUNT);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, map_size);
    /* MDB_NOTLS: read transactions are not tied to a thread's slot.
     * Durable commits: never MDB_NOSYNC. */
    if (rc == 0)
        rc = mdb_env_open(s->env, path, MDB_NOTLS, 0600);
    if (rc == 0) {
        int dead;
        rc = mdb_reader_check(s->env, &dead);   /* reclaim slots of dead processes */
        rc = rc ? map_rc(rc) : open_tables(s);
        if (rc)
            goto fail_mapped;
        *out = s;
        return MSGLOG_OK;
    }
    rc = map_rc(rc);
fail_mapped:
    if (s->env)
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

int store_txn_begin(store *s, int write, store_txn **out)
{
    *out = NULL;
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
    if (rc == 0)
        *val = from_mdb(v);
    return map_rc(rc);
}

int store_put(store_txn *t, int tbl, store_val key, store_val val)
{
    MDB_val k = to_mdb(key), v = to_mdb(val);
    return write_rc(t->s, mdb_put(t->txn, t->s->dbi[tbl], &k, &v, 0));
}

int store_reserve(store_txn *t, int tbl, store_val key, size_t len, void **out)
{
    MDB_val k = to_mdb(key), v = { len, NULL };
    int rc = mdb_put(t->txn, t->s->dbi[tbl], &k, &v, MDB_RESERVE);
    *out = rc ? NULL : v.mv_data;
    return write_rc(t->s, rc);
}

int store_del(store_txn *t, int tbl, store_val key)
{
    MDB_val k = to_mdb(key);
    return write_rc(t->s, mdb_del(t->txn, t->s->dbi[tbl], &k, NULL));
}

int store_cursor_open(store_txn *t, int tbl, store_cursor **out)
{
    *out = NULL;
    store_cursor *c = malloc(sizeof *c);
    if (!c)
        return MSGLOG_ENOMEM;
    c->s = t->s;
    int rc = mdb_cursor_open(t->txn, t->s->dbi[tbl], &c->cur);
    if (rc) {
        free(c);
        return map_rc(rc);
    }
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
    if (rc == 0) {
        if (kout)
            *kout = from_mdb(*k);
        if (vout)
            *vout = from_mdb(v);
    }
    return map_rc(rc);
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

int store_cursor_del(store_cursor *c)
{
    return write_rc(c->s, mdb_cursor_del(c->cur, 0));
}

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
    return write_rc(c->s, rc);
}
