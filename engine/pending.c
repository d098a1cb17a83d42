/* The pending buffer's policy: received ops whose dependencies are not
 * delivered yet wait here, each under exactly one missing op id
 * (crdt/causal.h), until its delivery wakes them; an edit of a message
 * deleted meanwhile loses its text; a version demoted by a ready one becomes
 * evidence. The records and their indexes are log/pending.h's; this file
 * decides when to park, wake, erase and demote, and keeps the buffer's
 * totals (wctx_pending_note) and each conversation's count. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/causal.h"
#include "crdt/digest.h"
#include "crdt/grow.h"
#include "log/pending.h"

int pending_has(wctx *w, const conv_state *c, op_id id)
{
    return c->pending && pendrec_has(w->txn, c->cid, id) == MSGLOG_OK;
}

/* Kept for api/ (an op's bytes for a peer); the engine calls pendrec_get. */
int pending_get(store_txn *t, uint32_t cid, op_id id, store_val *v)
{
    const uint8_t *enc;
    size_t len;
    int rc = pendrec_get(t, cid, id, &enc, &len);
    if (!rc)
        *v = (store_val){ enc, len };
    return rc;
}

int pending_add(wctx *w, conv_state *c, op_id wait, const op *o, const uint8_t *enc, size_t len)
{
    int rc = wctx_pending_totals(w);
    if (!rc)
        rc = pendrec_put(w->txn, c->cid, wait, o, enc, len);
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
    return rc ? rc : pendrec_unindex(w->txn, cid, &t->o);
}

/* The ops one take_waiting call has taken so far. */
typedef struct taken_list {
    taken *e;
    size_t n, cap;
} taken_list;

/* pendrec_take_waiting's visitor: keeps a copy of each op's bytes, which
 * the store zeroes and deletes as soon as this returns. */
static int keep_copy(void *ctx, const uint8_t *enc, size_t len)
{
    taken_list *l = ctx;
    taken *grown = grow_array(l->e, &l->cap, l->n + 1, sizeof *grown);
    uint8_t *copy = malloc(len ? len : 1);
    if (!grown || !copy) {
        free(copy);
        l->e = grown ? grown : l->e;
        return MSGLOG_ENOMEM;
    }
    l->e = grown;
    memcpy(copy, enc, len);
    l->e[l->n++] = (taken){ .enc = copy, .len = len };
    return MSGLOG_OK;
}

/* Removes and returns every op waiting on `wait`: all are out of the buffer
 * before the first is decoded and unindexed. */
static int take_waiting(wctx *w, conv_state *c, op_id wait, taken **out, size_t *n)
{
    taken_list l = { 0 };
    int rc = pendrec_take_waiting(w->txn, c->cid, wait, keep_copy, &l);
    for (size_t i = 0; i < l.n && !rc; i++)
        rc = take_entry(w, c->cid, &l.e[i]);
    if (rc) {
        taken_free(l.e, l.n);
        return rc;
    }
    c->pending -= l.n;
    int64_t bytes = 0;
    for (size_t i = 0; i < l.n; i++)
        bytes += (int64_t)l.e[i].len;
    if (l.n && (rc = wctx_pending_totals(w)) != MSGLOG_OK) {
        taken_free(l.e, l.n);
        return rc;
    }
    wctx_pending_note(w, -(int64_t)l.n, -bytes);
    *out = l.e;
    *n = l.n;
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
    if (!rc)   /* versions of it may have been kept while it waited */
        rc = equiv_note_delivered(w, c, t->o.id);
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

/* The conversation whose pending edits erase_pending_edit rewrites. */
typedef struct edit_scan {
    wctx *w;
    uint32_t cid;
} edit_scan;

/* Rewrites one pending edit, found through the edit index, erased (the
 * store zeroes the old bytes in place first). */
static int erase_pending_edit(void *ctx, op_id wait, op_id id)
{
    const edit_scan *s = ctx;
    const uint8_t *old;
    size_t old_len;
    int rc = pendrec_get_at(s->w->txn, s->cid, wait, id, &old, &old_len);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
    uint8_t *enc;
    size_t len;
    op head;
    rc = erase_stored_bytes(old, old_len, &enc, &len, &head);
    if (!rc && enc) {
        rc = wctx_pending_totals(s->w);
        if (!rc)
            rc = pendrec_rewrite(s->w->txn, s->cid, wait, id, enc, len);
        if (!rc)
            wctx_pending_note(s->w, 0, (int64_t)len - (int64_t)old_len);
    }
    free(enc);
    return rc;
}

int pending_erase_edits(wctx *w, conv_state *c, op_id target)
{
    edit_scan s = { w, c->cid };
    return pendrec_foreach_edit(w->txn, c->cid, target, erase_pending_edit, &s);
}

/* Takes pending op `id` out of the buffer and every index (its bytes
 * zeroed in place first) and keeps it as evidence instead. */
int pending_demote(wctx *w, conv_state *c, op_id id)
{
    op_id wait;
    const uint8_t *held;
    size_t held_len;
    int rc = pendrec_wait(w->txn, c->cid, id, &wait);
    if (!rc)
        rc = pendrec_get_at(w->txn, c->cid, wait, id, &held, &held_len);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
    taken t = { .enc = malloc(held_len ? held_len : 1), .len = held_len };
    if (!t.enc)
        return MSGLOG_ENOMEM;
    memcpy(t.enc, held, held_len);
    rc = stored_op_decode(&t.o, t.enc, t.len);
    if (!rc)
        rc = pendrec_remove(w->txn, c->cid, wait, id, &t.o);
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
