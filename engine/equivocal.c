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
 * Sync responses carry the evidence with the op, so a peer that lacked the
 * id receives every version and ends in the same state.
 *
 * What it costs. A write pays for evidence only when it changes what the
 * versions decide: when it keeps a new version of a delivered id, or
 * delivers an id that has kept versions (the commit then makes the lowest
 * hash count, and when that changes the version in effect, rebuilds the
 * messages the id's versions touch: engine/equiv_rebuild.c), or deletes a
 * message (kept versions of it lose their text). Every other op is applied
 * as usual, also to a message that was rebuilt: the merge rules give the
 * same state in any order of its ops once the refs are applied again after
 * a replay (msg_apply_refs), so an op applied after a rebuild ends where a
 * rebuild after it would put it. The state stays a function of the set of
 * versions held: two replicas holding the same versions show the same
 * thing, whichever they saw first. The digest is the sum over every version
 * of every delivered id, kept up to date as versions come. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/causal.h"
#include "crdt/digest.h"
#include "crdt/equivocation.h"
#include "crdt/grow.h"
#include "log/evidence.h"
#include "log/op_range.h"

static int delivered(const conv_state *c, op_id id)
{
    return vv_has(&c->delivered, id);
}

static int note(ids *set, op_id id)
{
    return ids_push(set, id) ? MSGLOG_ENOMEM : MSGLOG_OK;
}

/* Whether s's conversation holds evidence: looked up once a transaction,
 * then known (keeping a version sets it). */
static int holds_evidence(wctx *w, conv_slot *s, int *held)
{
    if (s->evidence < 0) {
        int rc = evidence_held(w->txn, s->st.cid, held);
        if (rc)
            return rc;
        s->evidence = *held;
    }
    *held = s->evidence;
    return MSGLOG_OK;
}

/* ---- what a transaction does to the versions --------------------------- */

/* Keeping, taking and finding versions is table work (log/evidence.h);
 * what is kept is noted for the commit. */
int equiv_keep(wctx *w, conv_state *c, const op *o, digest h, const uint8_t *enc, size_t len,
               int *is_new)
{
    conv_slot *s = wctx_slot(w, c);
    if (!s)
        return MSGLOG_EINVAL;
    int rc = evidence_keep(w->txn, c->cid, o, h, enc, len, is_new);
    if (rc || !*is_new)
        return rc;
    s->evidence = 1;
    if (delivered(c, o->id))   /* else it is added when the id is */
        digest_add(&c->dig, h);
    return note(&s->versions, o->id);
}

int equiv_take(wctx *w, conv_state *c, op_id id, digest h, int *was_kept)
{
    return evidence_take(w->txn, c->cid, id, h, was_kept);
}

int equiv_held(store_txn *t, uint32_t cid, int *held)
{
    return evidence_held(t, cid, held);
}

/* The sum of the hashes of id's kept versions; *any tells whether it has
 * one. */
static int kept_hashes(store_txn *t, uint32_t cid, op_id id, digest *sum, int *any)
{
    op_range r;
    int rc = op_range_open(&r, t, OP_RANGE_EVIDENCE, cid);
    *any = 0;
    if (!rc)
        rc = op_range_seek(&r, id.replica, id.seq, id.seq);
    while (rc == MSGLOG_OK) {
        digest_add(sum, digest_from_bytes(r.hash));
        *any = 1;
        rc = op_range_next(&r);
    }
    op_range_close(&r);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

int equiv_note_delivered(wctx *w, conv_state *c, op_id id)
{
    conv_slot *s = wctx_slot(w, c);
    if (!s)
        return MSGLOG_EINVAL;
    int held, any;
    digest sum = { 0, 0 };
    int rc = holds_evidence(w, s, &held);
    if (!rc && held)
        rc = kept_hashes(w->txn, c->cid, id, &sum, &any);
    if (rc || !held || !any)
        return rc;
    digest_add(&c->dig, sum);
    return note(&s->versions, id);
}

int equiv_note_deleted(wctx *w, conv_state *c)
{
    conv_slot *s = wctx_slot(w, c);
    if (!s)
        return MSGLOG_EINVAL;
    int held;
    int rc = holds_evidence(w, s, &held);
    if (!rc && held)
        s->deleted = 1;
    return rc;
}

/* ---- the versions of one id -------------------------------------------- */

/* One version with its own copy of the bytes, decoded from it. */
typedef struct version {
    evidence_rec rec;
    op o;
} version;

typedef struct versions {
    version *v;   /* the op record first, then the kept ones by hash */
    size_t n, cap;
} versions;

static void versions_free(versions *l)
{
    for (size_t i = 0; i < l->n; i++) {
        codec_op_clear(&l->v[i].o);
        free((void *)l->v[i].rec.enc);
    }
    free(l->v);
}

/* Appends a version of id: a copy of enc, decoded; its hash is computed
 * from the op when `hash` is NULL (the record). */
static int versions_push(versions *l, op_id id, const uint8_t *hash, uint8_t kind, uint64_t hlc,
                         const uint8_t *enc, size_t len)
{
    version *grown = grow_array(l->v, &l->cap, l->n + 1, sizeof *grown);
    if (!grown)
        return MSGLOG_ENOMEM;
    l->v = grown;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return MSGLOG_ENOMEM;
    memcpy(copy, enc, len);
    version *v = &l->v[l->n];
    v->rec = (evidence_rec){ .id = id, .kind = kind, .hlc = hlc, .enc = copy, .len = len };
    int rc = stored_op_decode(&v->o, copy, len);
    if (rc) {
        free(copy);
        return rc;
    }
    if (hash)
        memcpy(v->rec.hash, hash, OP_HASH_LEN);
    else
        digest_to_bytes(v->rec.hash, digest_op_content(&v->o));
    l->n++;
    return MSGLOG_OK;
}

/* Every version of delivered id: its op record, then its kept versions. */
static int versions_load(store_txn *t, uint32_t cid, op_id id, versions *l)
{
    uint8_t kind;
    uint64_t hlc;
    const uint8_t *enc;
    size_t len;
    int rc = oprec_get(t, cid, id, &kind, &hlc, &enc, &len);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
    if ((rc = versions_push(l, id, NULL, kind, hlc, enc, len)) != MSGLOG_OK)
        return rc;
    op_range r;
    rc = op_range_open(&r, t, OP_RANGE_EVIDENCE, cid);
    if (!rc)
        rc = op_range_seek(&r, id.replica, id.seq, id.seq);
    while (rc == MSGLOG_OK) {
        rc = op_range_record(&r, &kind, &hlc, &enc, &len);
        if (!rc)
            rc = versions_push(l, id, r.hash, kind, hlc, enc, len);
        if (!rc)
            rc = op_range_next(&r);
    }
    op_range_close(&r);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

/* The version that counts: the lowest hash (kept ones come in hash order,
 * so only the first kept one can beat the record). */
static size_t counting(const versions *l)
{
    return l->n > 1 && version_counts_over(l->v[1].rec.hash, l->v[0].rec.hash) ? 1 : 0;
}

/* ---- settling one id ----------------------------------------------------- */

/* What the ids settled in one commit touch. */
typedef struct touched {
    ids msgs;      /* messages to rebuild (pushed, repeats allowed) */
    int markers;   /* the read markers may move */
    ids deletes;   /* ids with kept deletes, applied after the rebuild */
} touched;

/* The messages a version of an id can change while it counts: its own, when
 * it is a send (the read markers may move with its place in the order), or
 * its target's; a read changes only markers. */
static int note_reach(touched *t, const op *o)
{
    if (o->kind == OP_READ || o->kind == OP_SEND)
        t->markers = 1;
    if (o->kind == OP_READ)
        return MSGLOG_OK;
    return note(&t->msgs, o->kind == OP_SEND ? o->id : o->target);
}

/* The version that counts changed from the record l->v[0] to l->v[1]: the
 * swap, the message count, the old version's message state when it was a
 * send (its message moves, or goes), and what either version reaches. */
static int replace_version(wctx *w, conv_state *c, const versions *l, touched *t)
{
    const version *old = &l->v[0], *now = &l->v[1];
    int rc = evidence_swap_in(w->txn, c->cid, &now->rec, old->rec.hash);
    if (!rc && old->rec.kind == OP_SEND)
        rc = msgrec_delete(w->txn, c->cid, old->rec.hlc, old->rec.id);
    if (now->rec.kind == OP_SEND && old->rec.kind != OP_SEND)
        c->n_messages++;
    else if (old->rec.kind == OP_SEND && now->rec.kind != OP_SEND)
        c->n_messages--;
    if (!rc)
        rc = note_reach(t, &old->o);
    return rc ? rc : note_reach(t, &now->o);
}

/* Whether a version other than the one that counts is a delete. */
static int has_kept_delete(const versions *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (i != counting(l) && l->v[i].rec.kind == OP_DELETE)
            return 1;
    return 0;
}

/* Makes the lowest hash of delivered id count. When another version than
 * the applied one does, what the two reach is rebuilt. Besides the one that
 * counts, only kept deletes have an effect: they are applied after. */
static int settle_id(wctx *w, conv_state *c, op_id id, touched *t)
{
    versions l = { 0 };
    int rc = versions_load(w->txn, c->cid, id, &l);
    if (!rc && counting(&l))
        rc = replace_version(w, c, &l, t);
    if (!rc && has_kept_delete(&l))
        rc = note(&t->deletes, id);
    versions_free(&l);
    return rc;
}

/* Applies the kept deletes of id: a delete deletes whether it counts or
 * not, and applying it again changes nothing. */
static int apply_kept_deletes(wctx *w, conv_state *c, op_id id)
{
    versions l = { 0 };
    int rc = versions_load(w->txn, c->cid, id, &l);
    for (size_t i = 1; i < l.n && !rc; i++) {
        int erase_op;
        if (l.v[i].rec.kind == OP_DELETE)
            rc = apply_effect(w, c, &l.v[i].o, &erase_op);
    }
    versions_free(&l);
    return rc;
}

/* Settles every delivered id the transaction noted: the choices first, then
 * the rebuild of what they reach, then the kept deletes (after the rebuild:
 * their targets may be among the messages it makes again). A noted id that
 * is still pending waits for its delivery. */
static int settle_ids(wctx *w, conv_state *c, ids *noted)
{
    touched t = { 0 };
    int rc = MSGLOG_OK;
    ids_sort_unique(noted);
    for (size_t i = 0; i < noted->n && !rc; i++)
        if (delivered(c, noted->e[i]))
            rc = settle_id(w, c, noted->e[i], &t);
    ids_sort_unique(&t.msgs);
    if (!rc && (t.msgs.n || t.markers))
        rc = equiv_rebuild(w, c, &t.msgs, t.markers);
    for (size_t i = 0; i < t.deletes.n && !rc; i++)
        rc = apply_kept_deletes(w, c, t.deletes.e[i]);
    ids_free(&t.msgs);
    ids_free(&t.deletes);
    return rc;
}

/* ---- the kept versions of a conversation --------------------------------- */

/* Each with its own copy of the bytes: they are delivered or rewritten while
 * the list is walked. */
typedef struct kept {
    evidence_rec *e;
    size_t n, cap;
} kept;

static void kept_free(kept *l)
{
    for (size_t i = 0; i < l->n; i++)
        free((void *)l->e[i].enc);   /* the list's own copy */
    free(l->e);
}

/* evidence_foreach's callback: appends e with a copy of its encoding. */
static int kept_push(void *ctx, const evidence_rec *e)
{
    kept *l = ctx;
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

/* ---- rule 6: a version that waits never holds up one that is ready ------- */

/* Delivers kept version e of a pending id, which is ready: the pending
 * version is kept instead. */
static int deliver_kept(wctx *w, conv_state *c, const evidence_rec *e, op *o)
{
    int was_kept;
    int rc = equiv_take(w, c, e->id, digest_from_bytes(e->hash), &was_kept);
    if (!rc)
        rc = pending_demote(w, c, e->id);
    if (!rc)
        rc = deliver_and_wake(w, c, o, e->enc, e->len);
    return rc ? rc : equiv_note_delivered(w, c, e->id);
}

/* A kept version of an id that is still pending may become ready while the
 * pending version never does (its dependencies need not exist): then the
 * kept one is delivered and the pending one kept instead, so the id cannot
 * hold up its origin's later ops. *changed tells whether one was. */
static int deliver_ready_versions(wctx *w, conv_state *c, int *changed)
{
    kept l = { 0 };
    int rc = evidence_foreach(w->txn, c->cid, kept_push, &l);
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
            rc = deliver_kept(w, c, e, &o);
            *changed = 1;
        }
        codec_op_clear(&o);
    }
    kept_free(&l);
    return rc;
}

/* ---- kept texts of deleted messages --------------------------------------- */

/* A kept version with text whose message is deleted here loses its text,
 * like every other text of a deleted message: it is rewritten erased. */
static int erase_kept(wctx *w, conv_state *c, const evidence_rec *e)
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

static int erase_kept_texts(wctx *w, conv_state *c)
{
    kept l = { 0 };
    int rc = evidence_foreach(w->txn, c->cid, kept_push, &l);
    for (size_t i = 0; i < l.n && !rc; i++)
        rc = erase_kept(w, c, &l.e[i]);
    kept_free(&l);
    return rc;
}

int equiv_settle(wctx *w, conv_slot *s)
{
    conv_state *c = &s->st;
    if (!s->versions.n && !s->deleted && !c->pending)
        return MSGLOG_OK;   /* nothing this write did changes what versions decide */
    int held, changed = 1;
    int rc = holds_evidence(w, s, &held);
    if (rc || !held)
        return rc;
    while (!rc && c->pending && changed)
        rc = deliver_ready_versions(w, c, &changed);
    if (!rc && s->versions.n)
        rc = settle_ids(w, c, &s->versions);
    if (!rc && (s->versions.n || s->deleted))
        rc = erase_kept_texts(w, c);
    return rc;
}
