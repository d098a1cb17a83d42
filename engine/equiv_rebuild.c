/* Rebuilding what another version of an id changed (engine/equivocal.c
 * decides which version counts and which messages that reaches).
 *
 * A message's state is made again from its send and the ops on it: the op
 * records and the kept deletes (a delete deletes whether it counts or not),
 * in message order, the record first and kept versions by hash at one
 * (hlc, id); then every op's refs once more (msg_apply_refs), so the state
 * does not depend on that order. Other messages are not touched: no op on
 * them depends on which version of the id counts.
 *
 * Finding the ops on a message needs a walk of the conversation's op
 * records, since no table indexes ops by target (an index would cost every
 * op a write). The walk reads and writes nothing else, and happens only in
 * the commit where the version that counts changes, once per new version
 * at most: never at the writes that follow. The read markers are a maximum
 * over every read of a user, so when a send's place in the order or a read
 * changes with the version, the same walk makes every marker again. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/grow.h"
#include "crdt/order.h"
#include "log/evidence.h"

/* One op on a message to replay: an op record, or a delete kept as
 * evidence (with its own copy of the bytes). */
typedef struct item {
    op_id msg;
    uint64_t hlc;
    op_id id;
    uint8_t kind;
    uint8_t *ev_enc;   /* NULL for a record */
    size_t ev_len;
    uint8_t ev_hash[OP_HASH_LEN];
} item;

/* What the walk collects. */
typedef struct walk {
    const conv_state *c;
    const ids *msgs;   /* the messages rebuilt */
    int markers;       /* collect the reads too */
    item *items;
    size_t n, cap;
    ids reads;         /* every read record (pushed: each is walked once) */
} walk;

static void walk_free(walk *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->items[i].ev_enc);
    free(k->items);
    ids_free(&k->reads);
}

static int items_push(walk *k, item it)
{
    item *grown = grow_array(k->items, &k->cap, k->n + 1, sizeof *grown);
    if (!grown) {
        free(it.ev_enc);
        return MSGLOG_ENOMEM;
    }
    k->items = grown;
    k->items[k->n++] = it;
    return MSGLOG_OK;
}

static int on_message(uint8_t kind)
{
    return kind == OP_EDIT || kind == OP_DELETE || kind == OP_REACT || kind == OP_UNREACT;
}

/* *target gets the target of the op in enc, *hit whether it is a rebuilt
 * message. */
static int on_rebuilt(const walk *k, const uint8_t *enc, size_t len, op_id *target, int *hit)
{
    op o;
    int rc = stored_op_decode(&o, enc, len);
    if (rc)
        return rc;
    *target = o.target;
    codec_op_clear(&o);
    *hit = ids_has_sorted(k->msgs, *target);
    return MSGLOG_OK;
}

/* oprec_foreach's callback: notes a record on a rebuilt message, or a read.
 * Its bytes are read again when it is replayed (the replay rewrites
 * records). */
static int walk_record(void *ctx, op_id id, uint8_t kind, uint64_t hlc, const uint8_t *enc,
                       size_t len)
{
    walk *k = ctx;
    if (kind == OP_READ && k->markers)
        return ids_push(&k->reads, id) ? MSGLOG_ENOMEM : MSGLOG_OK;
    op_id target;
    int hit = 0;
    int rc = on_message(kind) ? on_rebuilt(k, enc, len, &target, &hit) : MSGLOG_OK;
    if (rc || !hit)
        return rc;
    return items_push(k, (item){ .msg = target, .hlc = hlc, .id = id, .kind = kind });
}

/* evidence_foreach's callback: notes a kept delete of a delivered id on a
 * rebuilt message, with a copy of its bytes. */
static int walk_kept(void *ctx, const evidence_rec *e)
{
    walk *k = ctx;
    if (e->kind != OP_DELETE || !vv_has(&k->c->delivered, e->id))
        return MSGLOG_OK;
    op_id target;
    int hit;
    int rc = on_rebuilt(k, e->enc, e->len, &target, &hit);
    if (rc || !hit)
        return rc;
    item it = { .msg = target, .hlc = e->hlc, .id = e->id, .kind = OP_DELETE, .ev_len = e->len };
    it.ev_enc = malloc(e->len ? e->len : 1);
    if (!it.ev_enc)
        return MSGLOG_ENOMEM;
    memcpy(it.ev_enc, e->enc, e->len);
    memcpy(it.ev_hash, e->hash, OP_HASH_LEN);
    return items_push(k, it);
}

/* By message, then message order; at one (hlc, id) the record first, then
 * kept versions by hash, so the order does not depend on the order versions
 * came in. */
static int item_cmp(const void *a, const void *b)
{
    const item *x = a, *y = b;
    int c = op_id_cmp(x->msg, y->msg);
    if (!c)
        c = order_cmp(x->hlc, x->id, y->hlc, y->id);
    if (c)
        return c;
    if (!x->ev_enc || !y->ev_enc)
        return (x->ev_enc != NULL) - (y->ev_enc != NULL);
    return memcmp(x->ev_hash, y->ev_hash, OP_HASH_LEN);
}

/* ---- one message ---------------------------------------------------------- */

/* Applies one item: its bytes are copied first, since the merge rules write
 * to the store (and may rewrite this very record erased). */
static int replay_one(wctx *w, conv_state *c, const item *it)
{
    const uint8_t *enc = it->ev_enc;
    size_t len = it->ev_len;
    uint8_t kind;
    uint64_t hlc;
    int rc = enc ? MSGLOG_OK : oprec_get(w->txn, c->cid, it->id, &kind, &hlc, &enc, &len);
    uint8_t *copy = rc ? NULL : malloc(len ? len : 1);
    if (!rc && !copy)
        rc = MSGLOG_ENOMEM;
    if (rc)
        return rc;
    memcpy(copy, enc, len);
    op o;
    if ((rc = stored_op_decode(&o, copy, len)) != MSGLOG_OK) {
        free(copy);
        return rc;
    }
    int erase_op = 0;
    rc = apply_effect(w, c, &o, &erase_op);
    if (!rc && erase_op && !o.erased && !it->ev_enc)
        rc = apply_store_erased(w, c->cid, &o);
    codec_op_clear(&o);
    free(copy);
    return rc;
}

static int has_refs(uint8_t kind)
{
    return kind == OP_EDIT || kind == OP_UNREACT;
}

/* The refs of every replayed edit and unreact once more (crdt/message.h
 * says why). The kept items are deletes, which have none. */
static int apply_refs_again(wctx *w, conv_state *c, op_id msg, const item *it, size_t n)
{
    size_t first = 0;
    while (first < n && !has_refs(it[first].kind))
        first++;
    if (first == n)
        return MSGLOG_OK;
    uint64_t hlc;
    msg_state m;
    int rc = msgrec_load(w->txn, c->cid, msg, &hlc, &m);
    if (rc)
        return rc;
    for (size_t i = first; i < n && !rc; i++) {
        uint8_t kind;
        uint64_t op_hlc;
        const uint8_t *enc;
        size_t len;
        op o;
        if (!has_refs(it[i].kind))
            continue;
        rc = oprec_get(w->txn, c->cid, it[i].id, &kind, &op_hlc, &enc, &len);
        if (!rc && (rc = stored_op_decode(&o, enc, len)) == MSGLOG_OK) {
            if (msg_apply_refs(&m, &o) != 0)
                rc = MSGLOG_ENOMEM;
            codec_op_clear(&o);
        }
    }
    if (!rc)
        rc = msgrec_store(w->txn, c->cid, hlc, msg, &m);
    msg_free(&m);
    return rc;
}

/* A fresh state for the message whose send is the record enc (borrowed:
 * the author is copied before anything is written). */
static int fresh_message(wctx *w, conv_state *c, op_id msg, uint64_t hlc, const uint8_t *enc,
                         size_t len)
{
    op send;
    int rc = stored_op_decode(&send, enc, len);
    if (rc)
        return rc;
    msg_state m;
    rc = msg_init(&m, send.user, send.user_len) ? MSGLOG_ENOMEM : MSGLOG_OK;
    codec_op_clear(&send);
    if (!rc)
        rc = msgrec_store(w->txn, c->cid, hlc, msg, &m);
    msg_free(&m);
    return rc;
}

/* Makes message msg again from its send and the n items on it, in order.
 * An id whose version in effect is not a send is no message: the ops on it
 * change nothing. */
static int rebuild_message(wctx *w, conv_state *c, op_id msg, const item *it, size_t n)
{
    uint8_t kind;
    uint64_t hlc;
    const uint8_t *enc;
    size_t len;
    int rc = oprec_get(w->txn, c->cid, msg, &kind, &hlc, &enc, &len);
    if (rc == MSGLOG_ENOTFOUND || (!rc && kind != OP_SEND))
        return MSGLOG_OK;
    if (!rc)
        rc = fresh_message(w, c, msg, hlc, enc, len);
    for (size_t i = 0; i < n && !rc; i++)
        rc = replay_one(w, c, &it[i]);
    return rc ? rc : apply_refs_again(w, c, msg, it, n);
}

/* ---- read markers --------------------------------------------------------- */

/* Every read marker again from every read (records only: a kept read does
 * not count). A read changes no record, so its bytes are read in place. */
static int rebuild_markers(wctx *w, conv_state *c, const ids *reads)
{
    for (size_t i = 0; i < c->n_reads; i++)
        free(c->reads[i].user);
    c->n_reads = 0;
    int rc = MSGLOG_OK;
    for (size_t i = 0; i < reads->n && !rc; i++) {
        uint8_t kind;
        uint64_t hlc;
        const uint8_t *enc;
        size_t len;
        op o;
        int erase_op;
        rc = oprec_get(w->txn, c->cid, reads->e[i], &kind, &hlc, &enc, &len);
        if (!rc)
            rc = stored_op_decode(&o, enc, len);
        if (rc)
            break;
        rc = apply_effect(w, c, &o, &erase_op);
        codec_op_clear(&o);
    }
    return rc;
}

/* ---- the whole rebuild ---------------------------------------------------- */

/* Rebuilds each message of the sorted msgs from its run of the sorted
 * items (none at all: items is NULL, and NULL + 0 is undefined). */
static int rebuild_messages(wctx *w, conv_state *c, const ids *msgs, const walk *k)
{
    size_t at = 0;
    int rc = MSGLOG_OK;
    for (size_t i = 0; i < msgs->n && !rc; i++) {
        size_t from = at;
        while (at < k->n && op_id_cmp(k->items[at].msg, msgs->e[i]) == 0)
            at++;
        rc = rebuild_message(w, c, msgs->e[i], k->n ? k->items + from : NULL, at - from);
    }
    return rc;
}

int equiv_rebuild(wctx *w, conv_state *c, const ids *msgs, int markers)
{
    walk k = { .c = c, .msgs = msgs, .markers = markers };
    int rc = oprec_foreach(w->txn, c->cid, walk_record, &k);
    if (!rc)
        rc = evidence_foreach(w->txn, c->cid, walk_kept, &k);
    if (!rc && k.n)
        qsort(k.items, k.n, sizeof *k.items, item_cmp);
    if (!rc)
        rc = rebuild_messages(w, c, msgs, &k);
    if (!rc && markers)
        rc = rebuild_markers(w, c, &k.reads);
    walk_free(&k);
    return rc;
}
