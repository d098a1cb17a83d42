/* The evidence table (docs/format.md): cid|replica|seq|hash -> kind|hlc|
 * encoding, the value laid out like an op record (log/records.h). */
#include "log/evidence.h"

#include <stdlib.h>
#include <string.h>

#include "log/keys.h"
#include "log/records.h"
#include "msglog.h"

/* The key of version `hash` of id: the op key, then the hash bytes. */
static void evidence_key(uint8_t k[KEY_EQUIV_LEN], uint32_t cid, op_id id,
                         const uint8_t hash[OP_HASH_LEN])
{
    key_op(k, cid, id);
    memcpy(k + KEY_OP_LEN, hash, OP_HASH_LEN);
}

/* The same key for a hash given as a digest. */
static void evidence_key_digest(uint8_t k[KEY_EQUIV_LEN], uint32_t cid, op_id id, digest h)
{
    key_op(k, cid, id);
    digest_to_bytes(k + KEY_OP_LEN, h);
}

/* Whether k is an evidence key of conversation `prefix` (4 bytes): a scan
 * of the table stops at the first key that is not. */
int evidence_keep(store_txn *t, uint32_t cid, const op *o, digest h, const uint8_t *enc,
                  size_t len, int *is_new)
{
    uint8_t key[KEY_EQUIV_LEN];
    evidence_key_digest(key, cid, o->id, h);
    store_val k = { key, sizeof key }, v;
    int rc = store_get(t, TBL_EQUIVOCAL, k, &v);
    *is_new = rc == MSGLOG_ENOTFOUND;
    if (rc != MSGLOG_ENOTFOUND)
        return rc;
    return oprec_write(t, TBL_EQUIVOCAL, k, o->kind, o->hlc, enc, len);
}

int evidence_take(store_txn *t, uint32_t cid, op_id id, digest h, int *was_kept)
{
    uint8_t key[KEY_EQUIV_LEN];
    evidence_key_digest(key, cid, id, h);
    store_val k = { key, sizeof key }, v;
    int rc = store_get(t, TBL_EQUIVOCAL, k, &v);
    *was_kept = rc == MSGLOG_OK;
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
    rc = store_scrub(t, TBL_EQUIVOCAL, k);
    return rc ? rc : store_del(t, TBL_EQUIVOCAL, k);
}

int evidence_held(store_txn *t, uint32_t cid, int *held)
{
    store_cursor *cur;
    int rc = store_cursor_open(t, TBL_EQUIVOCAL, &cur);
    if (rc)
        return rc;
    store_val k, v;
    rc = cursor_seek_conv(cur, cid, &k, &v);
    store_cursor_close(cur);
    *held = rc == MSGLOG_OK && key_in_conv(k, KEY_EQUIV_LEN, cid);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

int evidence_held_for(store_txn *t, uint32_t cid, op_id id, int *held)
{
    uint8_t prefix[KEY_OP_LEN];
    key_op(prefix, cid, id);
    store_cursor *cur;
    int rc = store_cursor_open(t, TBL_EQUIVOCAL, &cur);
    if (rc)
        return rc;
    store_val k, v;
    rc = store_cursor_seek(cur, (store_val){ prefix, sizeof prefix }, &k, &v);
    store_cursor_close(cur);
    *held = rc == MSGLOG_OK && k.len == KEY_EQUIV_LEN && memcmp(k.data, prefix, sizeof prefix) == 0;
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

/* Splits one entry of the table into *e (borrowing from k and v). */
static int evidence_parse(store_val k, store_val v, evidence_rec *e)
{
    const uint8_t *kp = k.data;
    e->id = (op_id){ key_get_u64(kp + 4), key_get_u64(kp + 12) };
    memcpy(e->hash, kp + KEY_OP_LEN, OP_HASH_LEN);
    return oprec_parse(v, &e->kind, &e->hlc, &e->enc, &e->len);
}

int evidence_foreach(store_txn *t, uint32_t cid, int (*fn)(void *ctx, const evidence_rec *e),
                     void *ctx)
{
    store_cursor *cur;
    int rc = store_cursor_open(t, TBL_EQUIVOCAL, &cur);
    if (rc)
        return rc;
    store_val k, v;
    rc = cursor_seek_conv(cur, cid, &k, &v);
    while (rc == MSGLOG_OK && key_in_conv(k, KEY_EQUIV_LEN, cid)) {
        evidence_rec e;
        rc = evidence_parse(k, v, &e);
        if (!rc)
            rc = fn(ctx, &e);
        if (!rc)
            rc = store_cursor_next(cur, &k, &v);
    }
    store_cursor_close(cur);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

/* The record in TBL_OPS is copied before any write (a write may move the
 * value it borrows from), and the copy is zeroed when freed: it may hold
 * text. */
int evidence_swap_in(store_txn *t, uint32_t cid, const evidence_rec *e,
                     const uint8_t ops_hash[OP_HASH_LEN])
{
    uint8_t okey[KEY_OP_LEN], ekey[KEY_EQUIV_LEN];
    key_op(okey, cid, e->id);
    store_val ok = { okey, sizeof okey }, old;
    int rc = store_get(t, TBL_OPS, ok, &old);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
    uint8_t *copy = malloc(old.len);
    if (!copy)
        return MSGLOG_ENOMEM;
    memcpy(copy, old.data, old.len);
    size_t copy_len = old.len;
    evidence_key(ekey, cid, e->id, e->hash);
    store_val ek = { ekey, sizeof ekey };
    /* Both old places are zeroed first: a text may be erased later in this
     * transaction and must not linger in a page (log/store.h). */
    rc = store_scrub(t, TBL_EQUIVOCAL, ek);
    if (!rc)
        rc = store_del(t, TBL_EQUIVOCAL, ek);
    evidence_key(ekey, cid, e->id, ops_hash);
    if (!rc)
        rc = store_put(t, TBL_EQUIVOCAL, ek, (store_val){ copy, copy_len });
    if (!rc)
        rc = store_scrub(t, TBL_OPS, ok);
    if (!rc)
        rc = oprec_write(t, TBL_OPS, ok, e->kind, e->hlc, e->enc, e->len);
    memset(copy, 0, copy_len);
    free(copy);
    return rc;
}

int evidence_rewrite(store_txn *t, uint32_t cid, const evidence_rec *e, const uint8_t *enc,
                     size_t len)
{
    uint8_t key[KEY_EQUIV_LEN];
    evidence_key(key, cid, e->id, e->hash);
    store_val k = { key, sizeof key };
    int rc = store_scrub(t, TBL_EQUIVOCAL, k);
    return rc ? rc : oprec_write(t, TBL_EQUIVOCAL, k, e->kind, e->hlc, enc, len);
}
