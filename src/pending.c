/* The pending buffer: received ops whose dependencies are not delivered yet.
 *
 * Each pending op waits on exactly one missing op id (crdt/causal.h), and is
 * keyed by it: TBL_PENDING cid|wait|id -> encoding. Delivering op X then
 * looks only under prefix cid|X for ops to re-examine, so waking costs
 * O(ops waiting on X), never a scan of the whole buffer. TBL_PENDING_IDS
 * (cid|id -> wait) answers "is this op already pending?" for dedup. */
#include "src/internal.h"

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/causal.h"
#include "crdt/digest.h"
#include "log/keys.h"

int pending_has(wctx *w, const conv_state *c, op_id id)
{
    if (!c->pending)
        return 0;
    uint8_t key[KEY_OP_LEN];
    store_val v;
    key_op(key, c->cid, id);
    return store_get(w->txn, TBL_PENDING_IDS, (store_val){ key, sizeof key }, &v) == MSGLOG_OK;
}

/* A pending op is found through TBL_PENDING_IDS, which names what it waits on. */
int pending_get(store_txn *t, uint32_t cid, op_id id, store_val *v)
{
    uint8_t ikey[KEY_OP_LEN], pkey[KEY_PENDING_LEN];
    key_op(ikey, cid, id);
    store_val w;
    int rc = store_get(t, TBL_PENDING_IDS, (store_val){ ikey, sizeof ikey }, &w);
    if (rc)
        return rc;
    if (w.len != 16)
        return MSGLOG_ECORRUPT;
    const uint8_t *wp = w.data;
    key_pending(pkey, cid, (op_id){ key_get_u64(wp), key_get_u64(wp + 8) }, id);
    return store_get(t, TBL_PENDING, (store_val){ pkey, sizeof pkey }, v);
}

int pending_add(wctx *w, conv_state *c, op_id wait, op_id id, const uint8_t *enc, size_t len)
{
    uint8_t pkey[KEY_PENDING_LEN], ikey[KEY_OP_LEN], wval[16];
    key_pending(pkey, c->cid, wait, id);
    key_op(ikey, c->cid, id);
    key_put_u64(wval, wait.replica);
    key_put_u64(wval + 8, wait.seq);
    int rc = wctx_pending_totals(w);
    if (!rc)
        rc = store_put(w->txn, TBL_PENDING, (store_val){ pkey, sizeof pkey }, (store_val){ enc, len });
    if (!rc)
        rc = store_put(w->txn, TBL_PENDING_IDS, (store_val){ ikey, sizeof ikey },
                       (store_val){ wval, sizeof wval });
    if (!rc) {
        c->pending++;
        wctx_pending_note(w, 1, (int64_t)len);
    }
    return rc;
}

/* A pending op taken out of the buffer, with its own copy of the bytes. */
typedef struct taken {
    uint8_t *enc;
    size_t len;
    op_id id;
} taken;

static void taken_free(taken *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].enc);
    free(t);
}

/* Removes and returns every op waiting on `wait`. */
static int take_waiting(wctx *w, conv_state *c, op_id wait, taken **out, size_t *n)
{
    uint8_t prefix[KEY_PENDING_LEN];
    key_pending(prefix, c->cid, wait, (op_id){ 0, 0 });
    store_cursor *cur;
    int rc = store_cursor_open(w->txn, TBL_PENDING, &cur);
    if (rc)
        return rc;
    taken *list = NULL;
    size_t count = 0;
    store_val k, v;
    rc = store_cursor_seek(cur, (store_val){ prefix, sizeof prefix }, &k, &v);
    while (rc == MSGLOG_OK && k.len == KEY_PENDING_LEN && memcmp(k.data, prefix, 20) == 0) {
        taken *grown = realloc(list, (count + 1) * sizeof *grown);
        uint8_t *copy = malloc(v.len ? v.len : 1);
        if (!grown || !copy) {
            free(copy);
            list = grown ? grown : list;
            rc = MSGLOG_ENOMEM;
            break;
        }
        list = grown;
        memcpy(copy, v.data, v.len);
        const uint8_t *kp = k.data;
        list[count++] = (taken){ copy, v.len, { key_get_u64(kp + 20), key_get_u64(kp + 28) } };
        /* Scrubbed: a pending text may be erased by a delete later in this
         * same transaction, and must not linger in the page. */
        rc = store_cursor_scrub_del(cur);
        if (!rc)
            rc = store_cursor_seek(cur, (store_val){ prefix, sizeof prefix }, &k, &v);
    }
    store_cursor_close(cur);
    if (rc == MSGLOG_ENOTFOUND)
        rc = MSGLOG_OK;
    for (size_t i = 0; i < count && !rc; i++) {
        uint8_t ikey[KEY_OP_LEN];
        key_op(ikey, c->cid, list[i].id);
        rc = store_del(w->txn, TBL_PENDING_IDS, (store_val){ ikey, sizeof ikey });
    }
    if (rc) {
        taken_free(list, count);
        return rc;
    }
    c->pending -= count;
    int64_t bytes = 0;
    for (size_t i = 0; i < count; i++)
        bytes += (int64_t)list[i].len;
    if (count && (rc = wctx_pending_totals(w)) != MSGLOG_OK) {
        taken_free(list, count);
        return rc;
    }
    wctx_pending_note(w, -(int64_t)count, -bytes);
    *out = list;
    *n = count;
    return MSGLOG_OK;
}

/* A growable stack of delivered ids whose waiters must be looked at. */
typedef struct idstack {
    op_id *e;
    size_t n, cap;
} idstack;

static int push(idstack *s, op_id id)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        op_id *e = realloc(s->e, cap * sizeof *e);
        if (!e)
            return MSGLOG_ENOMEM;
        s->e = e;
        s->cap = cap;
    }
    s->e[s->n++] = id;
    return MSGLOG_OK;
}

/* Delivers a taken op when it is ready, else puts it back under its next
 * missing dependency. */
static int retry(wctx *w, conv_state *c, taken *t, idstack *s)
{
    op o;
    int rc = codec_op_decode(&o, t->enc, t->len);
    if (rc)
        return MSGLOG_ECORRUPT;
    op_id wait;
    if (causal_ready(&o, &c->delivered, &wait)) {
        rc = apply_deliver(w, c, &o, t->enc, t->len);
        if (!rc)
            rc = push(s, o.id);
    } else {
        rc = pending_add(w, c, wait, o.id, t->enc, t->len);
    }
    codec_op_clear(&o);
    return rc;
}

int pending_wake(wctx *w, conv_state *c, op_id id)
{
    idstack s = { 0 };
    int rc = push(&s, id);
    while (!rc && s.n && c->pending) {
        taken *list = NULL;
        size_t n = 0;
        rc = take_waiting(w, c, s.e[--s.n], &list, &n);
        for (size_t i = 0; i < n && !rc; i++)
            rc = retry(w, c, &list[i], &s);
        taken_free(list, n);
    }
    free(s.e);
    return rc;
}

/* The erased encoding of a pending edit of `target`, or NULL when the entry
 * is something else (or already erased). */
static int erased_edit(const store_val *v, op_id target, uint8_t **out, size_t *len)
{
    op o;
    *out = NULL;
    if (codec_op_decode(&o, v->data, v->len) != CODEC_OK)
        return MSGLOG_ECORRUPT;
    int rc = MSGLOG_OK;
    if (o.kind == OP_EDIT && !o.erased && op_id_cmp(o.target, target) == 0) {
        digest_body_hash(o.body_hash, o.body, o.body_len);
        if (codec_op_encode(out, len, &o, 1) != CODEC_OK)
            rc = MSGLOG_ENOMEM;
    }
    codec_op_clear(&o);
    return rc;
}

int pending_erase_edits(wctx *w, conv_state *c, op_id target)
{
    /* Deletes are rare and the buffer is small, so a scan of this
     * conversation's pending ops is the simple, sufficient choice. */
    uint8_t prefix[4];
    key_put_u32(prefix, c->cid);
    store_cursor *cur;
    int rc = store_cursor_open(w->txn, TBL_PENDING, &cur);
    if (rc)
        return rc;
    store_val k, v;
    rc = store_cursor_seek(cur, (store_val){ prefix, 4 }, &k, &v);
    while (rc == MSGLOG_OK && k.len == KEY_PENDING_LEN && memcmp(k.data, prefix, 4) == 0) {
        uint8_t *enc;
        size_t len;
        rc = erased_edit(&v, target, &enc, &len);
        if (!rc && enc) {
            uint8_t key[KEY_PENDING_LEN];
            memcpy(key, k.data, sizeof key);
            size_t old_len = v.len;
            rc = wctx_pending_totals(w);
            if (!rc)
                rc = store_scrub(w->txn, TBL_PENDING, (store_val){ key, sizeof key });
            if (!rc)
                rc = store_put(w->txn, TBL_PENDING, (store_val){ key, sizeof key }, (store_val){ enc, len });
            if (!rc)
                wctx_pending_note(w, 0, (int64_t)len - (int64_t)old_len);
            free(enc);
            if (!rc)
                rc = store_cursor_seek(cur, (store_val){ key, sizeof key }, &k, &v);
        }
        if (!rc)
            rc = store_cursor_next(cur, &k, &v);
    }
    store_cursor_close(cur);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}
