/* Equivocation: two ops that claim one id (replica, seq) with different
 * content, which only a faulty replica makes (for example one restored
 * from an old backup that reuses its sequence numbers).
 *
 * The rule (docs/reliability.md says why): every replica keeps every version
 * it has seen, the first in TBL_OPS as usual and the others as evidence in
 * TBL_EQUIVOCAL (cid|replica|seq|hash -> kind|hlc|encoding). Of the versions
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
#include "log/keys.h"
#include "crdt/equivocation.h"
#include "crdt/order.h"
#include "crdt/grow.h"


static void key_equiv(uint8_t k[KEY_EQUIV_LEN], uint32_t cid, op_id id, digest h)
{
    key_op(k, cid, id);
    digest_to_bytes(k + KEY_OP_LEN, h);
}

int equiv_keep(wctx *w, conv_state *c, const op *o, digest h, const uint8_t *enc, size_t len,
               int *is_new)
{
    uint8_t key[KEY_EQUIV_LEN];
    key_equiv(key, c->cid, o->id, h);
    store_val k = { key, sizeof key }, v;
    int rc = store_get(w->txn, TBL_EQUIVOCAL, k, &v);
    *is_new = rc == MSGLOG_ENOTFOUND;
    if (rc != MSGLOG_ENOTFOUND)
        return rc;
    return oprec_write(w->txn, TBL_EQUIVOCAL, k, o->kind, o->hlc, enc, len);
}

int equiv_take(wctx *w, conv_state *c, op_id id, digest h, int *was_kept)
{
    uint8_t key[KEY_EQUIV_LEN];
    key_equiv(key, c->cid, id, h);
    store_val k = { key, sizeof key }, v;
    int rc = store_get(w->txn, TBL_EQUIVOCAL, k, &v);
    *was_kept = rc == MSGLOG_OK;
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
    rc = store_scrub(w->txn, TBL_EQUIVOCAL, k);
    return rc ? rc : store_del(w->txn, TBL_EQUIVOCAL, k);
}

int equiv_held(store_txn *t, uint32_t cid, int *held)
{
    uint8_t prefix[4];
    key_put_u32(prefix, cid);
    store_cursor *cur;
    int rc = store_cursor_open(t, TBL_EQUIVOCAL, &cur);
    if (rc)
        return rc;
    store_val k, v;
    rc = store_cursor_seek(cur, (store_val){ prefix, 4 }, &k, &v);
    store_cursor_close(cur);
    *held = rc == MSGLOG_OK && k.len == KEY_EQUIV_LEN && memcmp(k.data, prefix, 4) == 0;
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

/* ---- walking the evidence of one conversation -------------------------- */

/* One evidence entry, copied out of the store. */
typedef struct evidence {
    op_id id;
    uint8_t hash[16];
    uint8_t kind;
    uint64_t hlc;
    uint8_t *rec;   /* kind|hlc|encoding */
    size_t rec_len;
} evidence;

typedef struct evlist {
    evidence *e;
    size_t n;
    size_t cap;
} evlist;

static void evlist_free(evlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->e[i].rec);
    free(l->e);
}

static int evlist_push(evlist *l, store_val k, store_val v)
{
    if (v.len < OPREC_HEAD)
        return MSGLOG_ECORRUPT;
    evidence *grown = grow_array(l->e, &l->cap, l->n + 1, sizeof *grown);
    if (!grown)
        return MSGLOG_ENOMEM;
    l->e = grown;
    uint8_t *rec = malloc(v.len);
    if (!rec)
        return MSGLOG_ENOMEM;
    memcpy(rec, v.data, v.len);
    const uint8_t *kp = k.data;
    evidence *e = &l->e[l->n++];
    e->id = (op_id){ key_get_u64(kp + 4), key_get_u64(kp + 12) };
    memcpy(e->hash, kp + KEY_OP_LEN, 16);
    e->kind = rec[0];
    e->hlc = key_get_u64(rec + 1);
    e->rec = rec;
    e->rec_len = v.len;
    return MSGLOG_OK;
}

/* Every evidence entry of the conversation, in key order (by id, then hash). */
static int evlist_load(store_txn *t, uint32_t cid, evlist *l)
{
    uint8_t prefix[4];
    key_put_u32(prefix, cid);
    store_cursor *cur;
    int rc = store_cursor_open(t, TBL_EQUIVOCAL, &cur);
    if (rc)
        return rc;
    store_val k, v;
    rc = store_cursor_seek(cur, (store_val){ prefix, 4 }, &k, &v);
    while (rc == MSGLOG_OK && k.len == KEY_EQUIV_LEN && memcmp(k.data, prefix, 4) == 0) {
        rc = evlist_push(l, k, v);
        if (!rc)
            rc = store_cursor_next(cur, &k, &v);
    }
    store_cursor_close(cur);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

static int delivered(const conv_state *c, op_id id)
{
    return vv_has(&c->delivered, id);
}

/* ---- the lowest hash counts -------------------------------------------- */

/* The hash of the version in TBL_OPS, as bytes. */
static int record_hash(store_txn *t, uint32_t cid, op_id id, uint8_t out[16])
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

/* Puts evidence entry e in TBL_OPS and the record it replaces in the
 * evidence under its own hash. */
static int swap_in(wctx *w, uint32_t cid, const evidence *e, const uint8_t rec_hash[16])
{
    uint8_t okey[KEY_OP_LEN], ekey[KEY_EQUIV_LEN];
    key_op(okey, cid, e->id);
    store_val ok = { okey, sizeof okey }, old;
    int rc = store_get(w->txn, TBL_OPS, ok, &old);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
    uint8_t *copy = malloc(old.len);
    if (!copy)
        return MSGLOG_ENOMEM;
    memcpy(copy, old.data, old.len);
    size_t copy_len = old.len;
    memcpy(ekey, okey, KEY_OP_LEN);
    memcpy(ekey + KEY_OP_LEN, e->hash, 16);
    store_val ek = { ekey, sizeof ekey };
    /* Both old places are zeroed first: a text may be erased later in this
     * transaction and must not linger in a page (log/store.h). */
    rc = store_scrub(w->txn, TBL_EQUIVOCAL, ek);
    if (!rc)
        rc = store_del(w->txn, TBL_EQUIVOCAL, ek);
    memcpy(ekey + KEY_OP_LEN, rec_hash, 16);
    if (!rc)
        rc = store_put(w->txn, TBL_EQUIVOCAL, ek, (store_val){ copy, copy_len });
    if (!rc)
        rc = store_scrub(w->txn, TBL_OPS, ok);
    if (!rc)
        rc = store_put(w->txn, TBL_OPS, ok, (store_val){ e->rec, e->rec_len });
    memset(copy, 0, copy_len);
    free(copy);
    return rc;
}

/* For every delivered id with evidence, moves the version with the lowest
 * hash into TBL_OPS (entries of one id are sorted by hash: the first is the
 * lowest of the evidence). */
static int choose_versions(wctx *w, conv_state *c, const evlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const evidence *e = &l->e[i];
        if ((i > 0 && op_id_cmp(l->e[i - 1].id, e->id) == 0) || !delivered(c, e->id))
            continue;
        uint8_t rec_hash[16];
        int rc = record_hash(w->txn, c->cid, e->id, rec_hash);
        if (!rc && version_counts_over(e->hash, rec_hash))
            rc = swap_in(w, c->cid, e, rec_hash);
        if (rc)
            return rc;
    }
    return MSGLOG_OK;
}

/* ---- the rebuild ------------------------------------------------------- */

/* One op to replay: a record of TBL_OPS, or a delete kept as evidence. */
typedef struct replay_item {
    uint64_t hlc;
    op_id id;
    uint8_t kind;
    const evidence *ev;   /* NULL for the record */
} replay_item;

static int replay_cmp(const void *a, const void *b)
{
    const replay_item *x = a, *y = b;
    int c = order_cmp(x->hlc, x->id, y->hlc, y->id);
    if (c)
        return c;
    if (!x->ev || !y->ev)
        return (x->ev != NULL) - (y->ev != NULL);
    return memcmp(x->ev->hash, y->ev->hash, 16);
}

static int items_push(replay_item **items, size_t *n, size_t *cap, replay_item it)
{
    if (*n == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 256;
        replay_item *grown = realloc(*items, grown_cap * sizeof *grown);
        if (!grown)
            return MSGLOG_ENOMEM;
        *items = grown;
        *cap = grown_cap;
    }
    (*items)[(*n)++] = it;
    return MSGLOG_OK;
}

/* Every record of the conversation, and every delivered delete of the
 * evidence, in (hlc, replica, seq) order: a causal order. */
static int replay_list(store_txn *t, const conv_state *c, const evlist *l, replay_item **out,
                       size_t *n_out)
{
    uint8_t prefix[4];
    key_put_u32(prefix, c->cid);
    replay_item *items = NULL;
    size_t n = 0, cap = 0;
    store_cursor *cur;
    int rc = store_cursor_open(t, TBL_OPS, &cur);
    store_val k, v;
    if (!rc)
        rc = store_cursor_seek(cur, (store_val){ prefix, 4 }, &k, &v);
    while (rc == MSGLOG_OK && k.len == KEY_OP_LEN && memcmp(k.data, prefix, 4) == 0) {
        const uint8_t *kp = k.data, *vp = v.data;
        rc = v.len < OPREC_HEAD ? MSGLOG_ECORRUPT : MSGLOG_OK;
        if (!rc)
            rc = items_push(&items, &n, &cap,
                            (replay_item){ key_get_u64(vp + 1),
                                           { key_get_u64(kp + 4), key_get_u64(kp + 12) },
                                           vp[0], NULL });
        if (!rc)
            rc = store_cursor_next(cur, &k, &v);
    }
    store_cursor_close(cur);
    if (rc == MSGLOG_ENOTFOUND)
        rc = MSGLOG_OK;
    for (size_t i = 0; i < l->n && !rc; i++)
        if (l->e[i].kind == OP_DELETE && delivered(c, l->e[i].id))
            rc = items_push(&items, &n, &cap,
                            (replay_item){ l->e[i].hlc, l->e[i].id, OP_DELETE, &l->e[i] });
    if (rc) {
        free(items);
        return rc;
    }
    if (n)   /* items is NULL when the conversation has only pending ops */
        qsort(items, n, sizeof *items, replay_cmp);
    *out = items;
    *n_out = n;
    return MSGLOG_OK;
}

/* Forgets every message state and read marker of the conversation. */
static int clear_derived(wctx *w, conv_state *c)
{
    uint8_t prefix[4];
    key_put_u32(prefix, c->cid);
    store_cursor *cur;
    int rc = store_cursor_open(w->txn, TBL_MSGS, &cur);
    store_val k, v;
    if (!rc)
        rc = store_cursor_seek(cur, (store_val){ prefix, 4 }, &k, &v);
    while (rc == MSGLOG_OK && k.len == KEY_MSG_LEN && memcmp(k.data, prefix, 4) == 0) {
        rc = store_cursor_del(cur);
        if (!rc)
            rc = store_cursor_seek(cur, (store_val){ prefix, 4 }, &k, &v);
    }
    store_cursor_close(cur);
    for (size_t i = 0; i < c->n_reads; i++)
        free(c->reads[i].user);
    free(c->reads);
    c->reads = NULL;
    c->n_reads = 0;
    c->n_messages = 0;
    c->dig = (digest){ 0, 0 };
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
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
        enc = it->ev->rec + OPREC_HEAD;
        len = it->ev->rec_len - OPREC_HEAD;
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
 * like every other text of a deleted message. */
/* Replaces kept version e with its erased bytes, the old ones zeroed first. */
static int equiv_rewrite(wctx *w, uint32_t cid, const evidence *e, const uint8_t *enc, size_t len)
{
    uint8_t key[KEY_EQUIV_LEN];
    key_equiv(key, cid, e->id, digest_from_bytes(e->hash));
    store_val k = { key, sizeof key };
    int rc = store_scrub(w->txn, TBL_EQUIVOCAL, k);
    return rc ? rc : oprec_write(w->txn, TBL_EQUIVOCAL, k, e->kind, e->hlc, enc, len);
}

static int erase_evidence(wctx *w, conv_state *c, const evidence *e)
{
    uint8_t *enc;
    size_t len;
    op head;
    int rc = erase_stored_bytes(e->rec + OPREC_HEAD, e->rec_len - OPREC_HEAD, &enc, &len, &head);
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
        rc = equiv_rewrite(w, c->cid, e, enc, len);
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
        const evidence *e = &l.e[i];
        if (delivered(c, e->id) || !pending_has(w, c, e->id))
            continue;
        op o;
        op_id wait;
        rc = stored_op_decode(&o, e->rec + OPREC_HEAD, e->rec_len - OPREC_HEAD);
        if (rc)
            break;
        if (causal_ready(&o, &c->delivered, &wait)) {
            int was_kept;
            rc = equiv_take(w, c, e->id, digest_from_bytes(e->hash), &was_kept);
            if (!rc)
                rc = pending_demote(w, c, e->id);
            if (!rc)
                rc = deliver_and_wake(w, c, &o, e->rec + OPREC_HEAD, e->rec_len - OPREC_HEAD);
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

int equiv_append(store_txn *t, uint32_t cid, uint64_t replica, uint64_t from, uint64_t to,
                 int (*push)(void *ctx, const uint8_t *enc, size_t len), void *ctx)
{
    uint8_t key[KEY_EQUIV_LEN] = { 0 };
    key_op(key, cid, (op_id){ replica, from });
    store_cursor *cur;
    int rc = store_cursor_open(t, TBL_EQUIVOCAL, &cur);
    store_val k, v;
    if (!rc)
        rc = store_cursor_seek(cur, (store_val){ key, sizeof key }, &k, &v);
    while (rc == MSGLOG_OK && k.len == KEY_EQUIV_LEN && memcmp(k.data, key, 12) == 0 &&
           key_get_u64((const uint8_t *)k.data + 12) <= to) {
        rc = v.len < OPREC_HEAD ? MSGLOG_ECORRUPT
                                : push(ctx, (const uint8_t *)v.data + OPREC_HEAD, v.len - OPREC_HEAD);
        if (!rc)
            rc = store_cursor_next(cur, &k, &v);
    }
    store_cursor_close(cur);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}
