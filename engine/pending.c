/* The pending buffer: received ops whose dependencies are not delivered yet.
 *
 * Each pending op waits on exactly one missing op id (crdt/causal.h), and is
 * keyed by it: TBL_PENDING cid|wait|id -> encoding. Delivering op X then
 * looks only under prefix cid|X for ops to re-examine, so waking costs
 * O(ops waiting on X), never a scan of the whole buffer. TBL_PENDING_IDS
 * (cid|id -> wait) answers "is this op already pending?" for dedup, and
 * TBL_PENDING_EDITS (cid|target|id -> wait) finds the pending edits of a
 * message when it is deleted, so erasing them costs O(its pending edits),
 * not a scan of the buffer (which made a shuffled delivery quadratic). */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/causal.h"
#include "crdt/digest.h"
#include "log/keys.h"
#include "crdt/grow.h"

int pending_has(wctx *w, const conv_state *c, op_id id)
{
    if (!c->pending)
        return 0;
    uint8_t key[KEY_OP_LEN];
    store_val v;
    key_op(key, c->cid, id);
    return store_get(w->txn, TBL_PENDING_IDS, (store_val){ key, sizeof key }, &v) == MSGLOG_OK;
}

/* The TBL_PENDING key of pending op `id`, found through TBL_PENDING_IDS,
 * which names what it waits on. */
static int pending_key(store_txn *t, uint32_t cid, op_id id, uint8_t pkey[KEY_PENDING_LEN])
{
    uint8_t ikey[KEY_OP_LEN];
    key_op(ikey, cid, id);
    store_val w;
    int rc = store_get(t, TBL_PENDING_IDS, (store_val){ ikey, sizeof ikey }, &w);
    if (rc)
        return rc;
    if (w.len != 16)
        return MSGLOG_ECORRUPT;
    const uint8_t *wp = w.data;
    key_pending(pkey, cid, (op_id){ key_get_u64(wp), key_get_u64(wp + 8) }, id);
    return MSGLOG_OK;
}

int pending_get(store_txn *t, uint32_t cid, op_id id, store_val *v)
{
    uint8_t pkey[KEY_PENDING_LEN];
    int rc = pending_key(t, cid, id, pkey);
    return rc ? rc : store_get(t, TBL_PENDING, (store_val){ pkey, sizeof pkey }, v);
}

/* The edit index entry of a pending edit: put (with its wait) or removed. */
static int edit_index(wctx *w, uint32_t cid, const op *o, const uint8_t wval[16])
{
    if (o->kind != OP_EDIT)
        return MSGLOG_OK;
    uint8_t key[KEY_PENDING_LEN];
    key_pending(key, cid, o->target, o->id);
    store_val k = { key, sizeof key };
    if (wval)
        return store_put(w->txn, TBL_PENDING_EDITS, k, (store_val){ wval, 16 });
    return store_del(w->txn, TBL_PENDING_EDITS, k);
}

int pending_add(wctx *w, conv_state *c, op_id wait, const op *o, const uint8_t *enc, size_t len)
{
    uint8_t pkey[KEY_PENDING_LEN], ikey[KEY_OP_LEN], wval[16];
    key_pending(pkey, c->cid, wait, o->id);
    key_op(ikey, c->cid, o->id);
    key_put_u64(wval, wait.replica);
    key_put_u64(wval + 8, wait.seq);
    int rc = wctx_pending_totals(w);
    if (!rc)
        rc = store_put(w->txn, TBL_PENDING, (store_val){ pkey, sizeof pkey }, (store_val){ enc, len });
    if (!rc)
        rc = store_put(w->txn, TBL_PENDING_IDS, (store_val){ ikey, sizeof ikey },
                       (store_val){ wval, sizeof wval });
    if (!rc)
        rc = edit_index(w, c->cid, o, wval);
    if (!rc) {
        c->pending++;
        wctx_pending_note(w, 1, (int64_t)len);
    }
    return rc;
}

/* A pending edit of a message that is already deleted here is kept without
 * its text: the delete has erased everything else of that message. */
static int erase_if_target_deleted(wctx *w, conv_state *c, op *o, uint8_t **erased,
                                   const uint8_t **enc, size_t *len)
{
    if (o->kind != OP_EDIT || o->erased)
        return MSGLOG_OK;
    uint64_t hlc;
    msg_state m;
    int rc = msgrec_load(w->txn, c->cid, o->target, &hlc, &m);
    if (rc == MSGLOG_ENOTFOUND)
        return MSGLOG_OK;
    if (rc)
        return rc;
    int deleted = m.deleted;
    msg_free(&m);
    if (!deleted)
        return MSGLOG_OK;
    if ((rc = erase_encode(o, erased, len)) != MSGLOG_OK)
        return rc;
    *enc = *erased;
    return MSGLOG_OK;
}

int pending_park(wctx *w, conv_state *c, op_id wait, op *o, const uint8_t *enc, size_t len)
{
    uint8_t *erased = NULL;
    int rc = erase_if_target_deleted(w, c, o, &erased, &enc, &len);
    if (!rc)
        rc = pending_add(w, c, wait, o, enc, len);
    free(erased);
    return rc;
}

/* A pending op taken out of the buffer, with its own copy of the bytes. */
typedef struct taken {
    uint8_t *enc;
    size_t len;
    op o;   /* decoded, borrowing enc */
} taken;

static void taken_free(taken *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        codec_op_clear(&t[i].o);
        free(t[i].enc);
    }
    free(t);
}

/* Takes one entry out: decoded, and out of the id and edit indexes, so that
 * nothing finds it in the buffer while it is being retried. */
static int take_entry(wctx *w, uint32_t cid, taken *t)
{
    int rc = stored_op_decode(&t->o, t->enc, t->len);
    if (rc)
        return rc;
    uint8_t ikey[KEY_OP_LEN];
    key_op(ikey, cid, t->o.id);
    rc = store_del(w->txn, TBL_PENDING_IDS, (store_val){ ikey, sizeof ikey });
    if (!rc)
        rc = edit_index(w, cid, &t->o, NULL);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;   /* every entry is indexed */
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
    size_t count = 0, cap = 0;
    store_val k, v;
    rc = store_cursor_seek(cur, (store_val){ prefix, sizeof prefix }, &k, &v);
    while (rc == MSGLOG_OK && k.len == KEY_PENDING_LEN && memcmp(k.data, prefix, 20) == 0) {
        taken *grown = grow_array(list, &cap, count + 1, sizeof *grown);
        uint8_t *copy = malloc(v.len ? v.len : 1);
        if (!grown || !copy) {
            free(copy);
            list = grown ? grown : list;
            rc = MSGLOG_ENOMEM;
            break;
        }
        list = grown;
        memcpy(copy, v.data, v.len);
        list[count++] = (taken){ .enc = copy, .len = v.len };
        /* Scrubbed: a pending text may be erased by a delete later in this
         * same transaction, and must not linger in the page. */
        rc = store_cursor_scrub_del(cur);
        if (!rc)
            rc = store_cursor_seek(cur, (store_val){ prefix, sizeof prefix }, &k, &v);
    }
    store_cursor_close(cur);
    if (rc == MSGLOG_ENOTFOUND)
        rc = MSGLOG_OK;
    for (size_t i = 0; i < count && !rc; i++)
        rc = take_entry(w, c->cid, &list[i]);
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

/* Delivers a taken op when it is ready, else parks it again under its next
 * missing dependency. */
static int retry(wctx *w, conv_state *c, taken *t, idstack *s)
{
    op_id wait;
    if (!causal_ready(&t->o, &c->delivered, &wait))
        return pending_park(w, c, wait, &t->o, t->enc, t->len);
    int rc = apply_deliver(w, c, &t->o, t->enc, t->len);
    return rc ? rc : push(s, t->o.id);
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

/* Rewrites one pending edit, found through the edit index, erased; the
 * old record is zeroed in place first (log/store.h says why). */
static int erase_pending_edit(wctx *w, uint32_t cid, op_id wait, op_id id)
{
    uint8_t key[KEY_PENDING_LEN];
    key_pending(key, cid, wait, id);
    store_val k = { key, sizeof key }, v;
    int rc = store_get(w->txn, TBL_PENDING, k, &v);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
    uint8_t *enc;
    size_t len, old_len = v.len;
    op head;
    rc = erase_stored_bytes(v.data, v.len, &enc, &len, &head);
    if (!rc && enc) {
        rc = wctx_pending_totals(w);
        if (!rc)
            rc = store_scrub(w->txn, TBL_PENDING, k);
        if (!rc)
            rc = store_put(w->txn, TBL_PENDING, k, (store_val){ enc, len });
        if (!rc)
            wctx_pending_note(w, 0, (int64_t)len - (int64_t)old_len);
    }
    free(enc);
    return rc;
}

int pending_erase_edits(wctx *w, conv_state *c, op_id target)
{
    uint8_t prefix[KEY_PENDING_LEN];
    key_pending(prefix, c->cid, target, (op_id){ 0, 0 });
    store_cursor *cur;
    int rc = store_cursor_open(w->txn, TBL_PENDING_EDITS, &cur);
    if (rc)
        return rc;
    store_val k, v;
    rc = store_cursor_seek(cur, (store_val){ prefix, sizeof prefix }, &k, &v);
    while (rc == MSGLOG_OK && k.len == KEY_PENDING_LEN && memcmp(k.data, prefix, 20) == 0) {
        if (v.len != 16) {
            rc = MSGLOG_ECORRUPT;
            break;
        }
        const uint8_t *kp = k.data, *wp = v.data;
        op_id id = { key_get_u64(kp + 20), key_get_u64(kp + 28) };
        op_id wait = { key_get_u64(wp), key_get_u64(wp + 8) };
        /* Writes to TBL_PENDING leave this cursor (on another table) valid. */
        rc = erase_pending_edit(w, c->cid, wait, id);
        if (!rc)
            rc = store_cursor_next(cur, &k, &v);
    }
    store_cursor_close(cur);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

/* Takes pending op `id` out of the buffer and every index (its bytes
 * zeroed in place first) and keeps it as evidence instead. */
int pending_demote(wctx *w, conv_state *c, op_id id)
{
    uint8_t pkey[KEY_PENDING_LEN], ikey[KEY_OP_LEN];
    store_val v;
    int rc = pending_key(w->txn, c->cid, id, pkey);
    if (!rc)
        rc = store_get(w->txn, TBL_PENDING, (store_val){ pkey, sizeof pkey }, &v);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
    taken t = { .enc = malloc(v.len ? v.len : 1), .len = v.len };
    if (!t.enc)
        return MSGLOG_ENOMEM;
    memcpy(t.enc, v.data, v.len);
    rc = stored_op_decode(&t.o, t.enc, t.len);
    key_op(ikey, c->cid, id);
    if (!rc)
        rc = store_scrub(w->txn, TBL_PENDING, (store_val){ pkey, sizeof pkey });
    if (!rc)
        rc = store_del(w->txn, TBL_PENDING, (store_val){ pkey, sizeof pkey });
    if (!rc)
        rc = store_del(w->txn, TBL_PENDING_IDS, (store_val){ ikey, sizeof ikey });
    if (!rc)
        rc = edit_index(w, c->cid, &t.o, NULL);
    if (!rc)
        rc = wctx_pending_totals(w);
    int is_new;
    if (!rc) {
        c->pending--;
        wctx_pending_note(w, -1, -(int64_t)t.len);
        rc = equiv_keep(w, c, &t.o, digest_op_content(&t.o), t.enc, t.len, &is_new);
    }
    codec_op_clear(&t.o);
    free(t.enc);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
}
