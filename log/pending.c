/* The pending buffer's records (log/pending.h has the layout). */
#include "log/pending.h"

#include <string.h>

#include "log/keys.h"
#include "msglog.h"

/* A wait as the indexes store it: replica(8) seq(8), big-endian. */
#define WAIT_LEN 16

/* Where cid|x|y keys share their cid|x prefix: everything but y. */
#define PREFIX_LEN (KEY_PENDING_LEN - 16)

static void wait_put(uint8_t v[WAIT_LEN], op_id wait)
{
    key_put_u64(v, wait.replica);
    key_put_u64(v + 8, wait.seq);
}

static int wait_parse(store_val v, op_id *wait)
{
    if (v.len != WAIT_LEN)
        return MSGLOG_ECORRUPT;
    const uint8_t *p = v.data;
    *wait = (op_id){ key_get_u64(p), key_get_u64(p + 8) };
    return MSGLOG_OK;
}

/* Whether k is a cid|x|y key under the cid|x prefix p (of PREFIX_LEN). */
static int under_prefix(store_val k, const uint8_t *p)
{
    return k.len == KEY_PENDING_LEN && memcmp(k.data, p, PREFIX_LEN) == 0;
}

/* The y of a cid|x|y key. */
static op_id key_last_id(store_val k)
{
    const uint8_t *p = k.data;
    return (op_id){ key_get_u64(p + PREFIX_LEN), key_get_u64(p + PREFIX_LEN + 8) };
}

int pendrec_has(store_txn *t, uint32_t cid, op_id id)
{
    uint8_t key[KEY_OP_LEN];
    store_val v;
    key_op(key, cid, id);
    return store_get(t, TBL_PENDING_IDS, (store_val){ key, sizeof key }, &v);
}

int pendrec_wait(store_txn *t, uint32_t cid, op_id id, op_id *wait)
{
    uint8_t key[KEY_OP_LEN];
    store_val v;
    key_op(key, cid, id);
    int rc = store_get(t, TBL_PENDING_IDS, (store_val){ key, sizeof key }, &v);
    return rc ? rc : wait_parse(v, wait);
}

int pendrec_get_at(store_txn *t, uint32_t cid, op_id wait, op_id id, const uint8_t **enc,
                   size_t *len)
{
    uint8_t key[KEY_PENDING_LEN];
    store_val v;
    key_pending(key, cid, wait, id);
    int rc = store_get(t, TBL_PENDING, (store_val){ key, sizeof key }, &v);
    if (!rc) {
        *enc = v.data;
        *len = v.len;
    }
    return rc;
}

int pendrec_get(store_txn *t, uint32_t cid, op_id id, const uint8_t **enc, size_t *len)
{
    op_id wait;
    int rc = pendrec_wait(t, cid, id, &wait);
    return rc ? rc : pendrec_get_at(t, cid, wait, id, enc, len);
}

/* The edit index key of a pending edit: cid|target|id. */
static store_val edit_key(uint8_t key[KEY_PENDING_LEN], uint32_t cid, const op *o)
{
    key_pending(key, cid, o->target, o->id);
    return (store_val){ key, KEY_PENDING_LEN };
}

int pendrec_put(store_txn *t, uint32_t cid, op_id wait, const op *o, const uint8_t *enc,
                size_t len)
{
    uint8_t pkey[KEY_PENDING_LEN], ikey[KEY_OP_LEN], ekey[KEY_PENDING_LEN], wval[WAIT_LEN];
    key_pending(pkey, cid, wait, o->id);
    key_op(ikey, cid, o->id);
    wait_put(wval, wait);
    store_val w = { wval, sizeof wval };
    int rc = store_put(t, TBL_PENDING, (store_val){ pkey, sizeof pkey }, (store_val){ enc, len });
    if (!rc)
        rc = store_put(t, TBL_PENDING_IDS, (store_val){ ikey, sizeof ikey }, w);
    if (!rc && o->kind == OP_EDIT)
        rc = store_put(t, TBL_PENDING_EDITS, edit_key(ekey, cid, o), w);
    return rc;
}

/* The id index entry of pending op `id`, removed. */
static int unindex_id(store_txn *t, uint32_t cid, op_id id)
{
    uint8_t key[KEY_OP_LEN];
    key_op(key, cid, id);
    return store_del(t, TBL_PENDING_IDS, (store_val){ key, sizeof key });
}

/* The edit index entry of `o` when it is an edit, removed. */
static int unindex_edit(store_txn *t, uint32_t cid, const op *o)
{
    uint8_t key[KEY_PENDING_LEN];
    if (o->kind != OP_EDIT)
        return MSGLOG_OK;
    return store_del(t, TBL_PENDING_EDITS, edit_key(key, cid, o));
}

int pendrec_unindex(store_txn *t, uint32_t cid, const op *o)
{
    int rc = unindex_id(t, cid, o->id);
    if (!rc)
        rc = unindex_edit(t, cid, o);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;   /* every entry is indexed */
}

int pendrec_remove(store_txn *t, uint32_t cid, op_id wait, op_id id, const op *o)
{
    uint8_t key[KEY_PENDING_LEN];
    key_pending(key, cid, wait, id);
    store_val k = { key, sizeof key };
    int rc = store_scrub(t, TBL_PENDING, k);
    if (!rc)
        rc = store_del(t, TBL_PENDING, k);
    if (!rc)
        rc = unindex_id(t, cid, id);
    if (!rc)
        rc = unindex_edit(t, cid, o);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
}

int pendrec_rewrite(store_txn *t, uint32_t cid, op_id wait, op_id id, const uint8_t *enc,
                    size_t len)
{
    uint8_t key[KEY_PENDING_LEN];
    key_pending(key, cid, wait, id);
    store_val k = { key, sizeof key };
    int rc = store_scrub(t, TBL_PENDING, k);
    return rc ? rc : store_put(t, TBL_PENDING, k, (store_val){ enc, len });
}

int pendrec_take_waiting(store_txn *t, uint32_t cid, op_id wait,
                         int (*fn)(void *ctx, const uint8_t *enc, size_t len), void *ctx)
{
    uint8_t prefix[KEY_PENDING_LEN];
    key_pending(prefix, cid, wait, (op_id){ 0, 0 });
    store_val first = { prefix, sizeof prefix }, k, v;
    store_cursor *cur;
    int rc = store_cursor_open(t, TBL_PENDING, &cur);
    if (rc)
        return rc;
    rc = store_cursor_seek(cur, first, &k, &v);
    while (rc == MSGLOG_OK && under_prefix(k, prefix)) {
        rc = fn(ctx, v.data, v.len);
        /* Scrubbed: a pending text may be erased by a delete later in this
         * same transaction, and must not linger in the page. The deletion
         * hands back no next entry: it is found by seeking the prefix again. */
        if (!rc)
            rc = store_cursor_scrub_del(cur);
        if (!rc)
            rc = store_cursor_seek(cur, first, &k, &v);
    }
    store_cursor_close(cur);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

int pendrec_foreach_edit(store_txn *t, uint32_t cid, op_id target,
                         int (*fn)(void *ctx, op_id wait, op_id id), void *ctx)
{
    uint8_t prefix[KEY_PENDING_LEN];
    key_pending(prefix, cid, target, (op_id){ 0, 0 });
    store_val k, v;
    store_cursor *cur;
    int rc = store_cursor_open(t, TBL_PENDING_EDITS, &cur);
    if (rc)
        return rc;
    rc = store_cursor_seek(cur, (store_val){ prefix, sizeof prefix }, &k, &v);
    while (rc == MSGLOG_OK && under_prefix(k, prefix)) {
        op_id wait;
        rc = wait_parse(v, &wait);
        if (!rc)
            rc = fn(ctx, wait, key_last_id(k));
        if (!rc)
            rc = store_cursor_next(cur, &k, &v);
    }
    store_cursor_close(cur);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}
