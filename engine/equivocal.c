/* Equivocation: two ops that claim one id (replica, seq) with different
 * content, which only a faulty replica makes (for example one restored
 * from an old backup that reuses its sequence numbers).
 *
 * The rule (docs/reliability.md says why): every replica keeps every version
 * it has seen, the first as its op record as usual and the others as
 * evidence (log/evidence.h, which holds the table's layout). Of the versions
 * of an id, the one with the lowest content hash counts, whatever the order
 * they came in; a version that is a delete deletes its target even when it
 * does not count, because a delete erases text and erasure cannot be undone.
 * A conversation that holds evidence is rebuilt from its ops and evidence at
 * the end of every write transaction that touches it, so its state is a
 * function of the set of versions held: two replicas holding the same
 * versions show the same thing, whichever they saw first. Sync responses
 * carry the evidence with the op, so a peer that lacked the id receives
 * every version and ends in the same state. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/causal.h"
#include "crdt/digest.h"
#include "crdt/equivocation.h"
#include "crdt/grow.h"
#include "crdt/order.h"
#include "log/evidence.h"

/* Keeping, taking and finding versions is table work (log/evidence.h);
 * these keep the names of engine/engine.h that receive, the pending buffer,
 * api/ and sync/ call. */
int equiv_keep(wctx *w, conv_state *c, const op *o, digest h, const uint8_t *enc, size_t len,
               int *is_new)
{
    return evidence_keep(w->txn, c->cid, o, h, enc, len, is_new);
}

int equiv_take(wctx *w, conv_state *c, op_id id, digest h, int *was_kept)
{
    return evidence_take(w->txn, c->cid, id, h, was_kept);
}

int equiv_held(store_txn *t, uint32_t cid, int *held)
{
    return evidence_held(t, cid, held);
}

/* ---- the evidence of one conversation, copied out ---------------------- */

/* The entries' encodings are copies the list owns: the rebuild writes to
 * the store while it walks them. */
typedef struct evlist {
    evidence_rec *e;
    size_t n;
    size_t cap;
} evlist;

static void evlist_free(evlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free((void *)l->e[i].enc);   /* the list's own copy */
    free(l->e);
}

/* evidence_foreach's callback: appends e with a copy of its encoding. */
static int evlist_push(void *ctx, const evidence_rec *e)
{
    evlist *l = ctx;
    evidence_rec *grown = grow_array(l->e, &l->cap, l->n + 1, sizeof *grown);
    if (!grown)
        return MSGLOG_ENOMEM;
    l->e = grown;
    uint8_t *enc = malloc(e->len ? e->len : 1);
    if (!enc)
        return MSGLOG_ENOMEM;
    memcpy(enc, e->enc, e->len);
    l->e[l->n] = *e;
    l->e[l->n++].enc = enc;
    return MSGLOG_OK;
}

/* Every evidence entry of the conversation, in key order (by id, then hash). */
static int evlist_load(store_txn *t, uint32_t cid, evlist *l)
{
    return evidence_foreach(t, cid, evlist_push, l);
}

static int delivered(const conv_state *c, op_id id)
{
    return vv_has(&c->delivered, id);
}

/* ---- the lowest hash counts -------------------------------------------- */

/* The content hash of the id's op record, as bytes. */
static int record_hash(store_txn *t, uint32_t cid, op_id id, uint8_t out[OP_HASH_LEN])
{
    uint8_t kind;
    uint64_t hlc;
    const uint8_t *enc;
    size_t len;
    int rc = oprec_get(t, cid, id, &kind, &hlc, &enc, &len);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
    op o;
    if ((rc = stored_op_decode(&o, enc, len)) != MSGLOG_OK)
        return rc;
    digest_to_bytes(out, digest_op_content(&o));
    codec_op_clear(&o);
    return MSGLOG_OK;
}

/* For every delivered id with evidence, makes the version with the lowest
 * hash its op record (entries of one id are sorted by hash: the first is
 * the lowest of the evidence). */
static int choose_versions(wctx *w, conv_state *c, const evlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const evidence_rec *e = &l->e[i];
        if ((i > 0 && op_id_cmp(l->e[i - 1].id, e->id) == 0) || !delivered(c, e->id))
            continue;
        uint8_t rec_hash[OP_HASH_LEN];
        int rc = record_hash(w->txn, c->cid, e->id, rec_hash);
        if (!rc && version_counts_over(e->hash, rec_hash))
            rc = evidence_swap_in(w->txn, c->cid, e, rec_hash);
        if (rc)
            return rc;
    }
    return MSGLOG_OK;
}

/* ---- the rebuild ------------------------------------------------------- */

/* One op to replay: an op record, or a delete kept as evidence. */
typedef struct replay_item {
    uint64_t hlc;
    op_id id;
    uint8_t kind;
    const evidence_rec *ev;   /* NULL for the record */
} replay_item;

typedef struct replay_items {
    replay_item *items;
    size_t n;
    size_t cap;
} replay_items;

/* Message order; at one (hlc, id) the record first, then kept versions by
 * hash, so the order does not depend on the order versions came in. */
static int replay_cmp(const void *a, const void *b)
{
    const replay_item *x = a, *y = b;
    int c = order_cmp(x->hlc, x->id, y->hlc, y->id);
    if (c)
        return c;
    if (!x->ev || !y->ev)
        return (x->ev != NULL) - (y->ev != NULL);
    return memcmp(x->ev->hash, y->ev->hash, OP_HASH_LEN);
}

/* Appends it, doubling the array from 256 items when full. */
static int items_push(replay_items *r, replay_item it)
{
    if (r->n == r->cap) {
        size_t grown_cap = r->cap ? r->cap * 2 : 256;
        replay_item *grown = realloc(r->items, grown_cap * sizeof *grown);
        if (!grown)
            return MSGLOG_ENOMEM;
        r->items = grown;
        r->cap = grown_cap;
    }
    r->items[r->n++] = it;
    return MSGLOG_OK;
}

/* oprec_foreach's callback: notes a record to replay (its bytes are read
 * again when it is, since the replay rewrites records). */
static int items_push_record(void *ctx, op_id id, uint8_t kind, uint64_t hlc, const uint8_t *enc,
                             size_t len)
{
    (void)enc;
    (void)len;
    return items_push(ctx, (replay_item){ hlc, id, kind, NULL });
}

/* Every record of the conversation, and every delivered delete of the
 * evidence, in (hlc, replica, seq) order: a causal order. */
static int replay_list(store_txn *t, const conv_state *c, const evlist *l, replay_item **out,
                       size_t *n_out)
{
    replay_items r = { 0 };
    int rc = oprec_foreach(t, c->cid, items_push_record, &r);
    for (size_t i = 0; i < l->n && !rc; i++)
        if (l->e[i].kind == OP_DELETE && delivered(c, l->e[i].id))
            rc = items_push(&r, (replay_item){ l->e[i].hlc, l->e[i].id, OP_DELETE, &l->e[i] });
    if (rc) {
        free(r.items);
        return rc;
    }
    if (r.n)   /* items is NULL when the conversation has only pending ops */
        qsort(r.items, r.n, sizeof *r.items, replay_cmp);
    *out = r.items;
    *n_out = r.n;
    return MSGLOG_OK;
}

/* Forgets every message state and read marker of the conversation, and its
 * digest: the replay makes them again. */
static int clear_derived(wctx *w, conv_state *c)
{
    int rc = msgrec_clear(w->txn, c->cid);
    for (size_t i = 0; i < c->n_reads; i++)
        free(c->reads[i].user);
    free(c->reads);
    c->reads = NULL;
    c->n_reads = 0;
    c->n_messages = 0;
    c->dig = (digest){ 0, 0 };
    return rc;
}

/* Applies one item: its bytes are copied first, since the merge rules write
 * to the store (and may rewrite this very record erased). */
static int replay_one(wctx *w, conv_state *c, const replay_item *it)
{
    const uint8_t *enc;
    size_t len;
    uint8_t kind;
    uint64_t hlc;
    int rc = MSGLOG_OK;
    if (it->ev) {
        enc = it->ev->enc;
        len = it->ev->len;
    } else {
        rc = oprec_get(w->txn, c->cid, it->id, &kind, &hlc, &enc, &len);
    }
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
    digest h = digest_op_content(&o);
    int erase_op = 0;
    rc = apply_effect(w, c, &o, &erase_op);
    if (!rc && !it->ev) {
        digest_add(&c->dig, h);
        if (erase_op && !o.erased)
            rc = apply_store_erased(w, c->cid, &o);
    }
    codec_op_clear(&o);
    free(copy);
    return rc;
}

/* A kept version with text whose message is deleted here loses its text,
 * like every other text of a deleted message: it is rewritten erased. */
static int erase_evidence(wctx *w, conv_state *c, const evidence_rec *e)
{
    uint8_t *enc;
    size_t len;
    op head;
    int rc = erase_stored_bytes(e->enc, e->len, &enc, &len, &head);
    if (rc || !enc)
        return rc;
    uint64_t hlc;
    msg_state m;
    rc = msgrec_load(w->txn, c->cid, head.kind == OP_SEND ? head.id : head.target, &hlc, &m);
    int deleted = 0;
    if (!rc) {
        deleted = m.deleted;
        msg_free(&m);
    }
    if (rc == MSGLOG_ENOTFOUND)
        rc = MSGLOG_OK;
    if (!rc && deleted)
        rc = evidence_rewrite(w->txn, c->cid, e, enc, len);
    free(enc);
    return rc;
}

/* Recomputes the messages, read markers and digest of a conversation that
 * holds evidence from the versions it holds. The vector, the pending buffer
 * and the own causal context do not depend on versions and stay. */
static int rebuild(wctx *w, conv_state *c)
{
    evlist l = { 0 };
    replay_item *items = NULL;
    size_t n = 0;
    int rc = evlist_load(w->txn, c->cid, &l);
    if (!rc)
        rc = choose_versions(w, c, &l);
    evlist_free(&l);
    l = (evlist){ 0 };
    if (!rc)
        rc = evlist_load(w->txn, c->cid, &l);   /* after the swaps */
    if (!rc)
        rc = replay_list(w->txn, c, &l, &items, &n);
    if (!rc)
        rc = clear_derived(w, c);
    /* Sends first: a version that counts may come later in hlc order than
     * ops made against another version of its id, and those must find the
     * message. Sends do not touch each other, and in a causal history every
     * send precedes the ops on it anyway, so nothing else changes. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n && !rc; i++)
            if ((items[i].kind == OP_SEND) == (pass == 0))
                rc = replay_one(w, c, &items[i]);
    for (size_t i = 0; i < l.n && !rc; i++) {
        if (delivered(c, l.e[i].id))
            digest_add(&c->dig, digest_from_bytes(l.e[i].hash));
        rc = erase_evidence(w, c, &l.e[i]);
    }
    free(items);
    evlist_free(&l);
    return rc;
}

/* A kept version of an id that is still pending may become ready while the
 * pending version never does (its dependencies need not exist): then the
 * kept one is delivered and the pending one kept instead, so the id cannot
 * hold up its origin's later ops. *changed tells whether one was. */
static int deliver_ready_versions(wctx *w, conv_state *c, int *changed)
{
    evlist l = { 0 };
    int rc = evlist_load(w->txn, c->cid, &l);
    *changed = 0;
    for (size_t i = 0; i < l.n && !rc && !*changed; i++) {
        const evidence_rec *e = &l.e[i];
        if (delivered(c, e->id) || !pending_has(w, c, e->id))
            continue;
        op o;
        op_id wait;
        rc = stored_op_decode(&o, e->enc, e->len);
        if (rc)
            break;
        if (causal_ready(&o, &c->delivered, &wait)) {
            int was_kept;
            rc = equiv_take(w, c, e->id, digest_from_bytes(e->hash), &was_kept);
            if (!rc)
                rc = pending_demote(w, c, e->id);
            if (!rc)
                rc = deliver_and_wake(w, c, &o, e->enc, e->len);
            *changed = 1;
        }
        codec_op_clear(&o);
    }
    evlist_free(&l);
    return rc;
}

int equiv_settle(wctx *w, conv_state *c)
{
    int held, changed = 1;
    int rc = equiv_held(w->txn, c->cid, &held);
    if (rc || !held)
        return rc;
    while (!rc && changed)
        rc = deliver_ready_versions(w, c, &changed);
    return rc ? rc : rebuild(w, c);
}
