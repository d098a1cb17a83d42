/* Receiving encoded ops from peers: decode all, then take them in one write
 * transaction, so a batch is applied whole or not at all. */
#include "src/internal.h"

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/causal.h"
#include "crdt/digest.h"

/* The bytes of an op as they are held (delivered or pending), borrowed. */
static int held_bytes(wctx *w, const conv_state *c, op_id id, int delivered,
                      const uint8_t **enc, size_t *len)
{
    uint8_t kind;
    uint64_t hlc;
    store_val v = { NULL, 0 };
    int rc = delivered ? oprec_get(w->txn, c->cid, id, &kind, &hlc, enc, len)
                       : pending_get(w->txn, c->cid, id, &v);
    if (!delivered && !rc) {
        *enc = v.data;
        *len = v.len;
    }
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
}

/* Whether a received op (bytes enc) with an id already held has the same
 * content. Equal bytes are the common case (a plain duplicate) and need no
 * hashing; otherwise the hashes decide: they cover every field, the body by
 * its hash, so an erased copy of the same op is the same op. *mine is the
 * received op's hash when the content differs. */
static int same_as_held(wctx *w, const conv_state *c, op *o, const uint8_t *enc, size_t len,
                        int delivered, int *same, digest *mine)
{
    const uint8_t *held_enc;
    size_t held_len;
    int rc = held_bytes(w, c, o->id, delivered, &held_enc, &held_len);
    if (rc)
        return rc;
    *same = held_len == len && memcmp(held_enc, enc, len) == 0;
    if (*same)
        return MSGLOG_OK;
    op held;
    if ((rc = stored_op_decode(&held, held_enc, held_len)) != MSGLOG_OK)
        return rc;
    digest theirs = digest_op_content(&held);
    codec_op_clear(&held);
    *mine = digest_op_content(o);
    *same = mine->lo == theirs.lo && mine->hi == theirs.hi;
    return MSGLOG_OK;
}

/* 1 when one more op of `len` bytes would take the pending buffer past its
 * cap: such an op is dropped, not stored, so a flood of ops whose
 * dependencies never come cannot fill the store. */
static int pending_full(wctx *w, size_t len, int *rc)
{
    *rc = wctx_pending_totals(w);
    if (*rc)
        return 0;
    return w->pending_ops + 1 > w->log->max_pending_ops ||
           w->pending_bytes + len > w->log->max_pending_bytes;
}

static int keep_pending(wctx *w, conv_state *c, op *o, op_id wait, const uint8_t *enc, size_t len)
{
    int rc;
    if (pending_full(w, len, &rc)) {
        w->dropped++;
        return MSGLOG_OK;
    }
    if (rc)
        return rc;
    return pending_park(w, c, wait, o, enc, len);
}

/* The conversation of a received op. An unknown one is made only when the
 * op is ready on an empty conversation or can be kept pending: a flood of
 * ops naming new conversations must not create them past the cap. */
static int conv_for(wctx *w, op *o, size_t len, conv_state **c)
{
    int rc = wctx_conv(w, o->conv, o->conv_len, 0, c);
    if (rc != MSGLOG_ENOTFOUND)
        return rc;
    static const vv empty = { NULL, 0, 0 };
    op_id wait;
    rc = MSGLOG_OK;
    if (!causal_ready(o, &empty, &wait) && pending_full(w, len, &rc)) {
        w->dropped++;
        *c = NULL;
        return MSGLOG_OK;
    }
    return rc ? rc : wctx_conv(w, o->conv, o->conv_len, 1, c);
}

int deliver_and_wake(wctx *w, conv_state *c, op *o, const uint8_t *enc, size_t len)
{
    int rc = apply_deliver(w, c, o, enc, len);
    if (!rc && c->pending)
        rc = pending_wake(w, c, o->id);
    return rc;
}

int receive_one(wctx *w, op *o, const uint8_t *enc, size_t len)
{
    conv_state *c;
    int rc = conv_for(w, o, len, &c);
    if (rc || !c)
        return rc;
    int held = o->id.seq <= vv_get(&c->delivered, o->id.replica);
    op_id wait;
    if (held || pending_has(w, c, o->id)) {
        /* A duplicate, or an equivocation when the content differs: the
         * other version is kept as evidence (src/equivocal.c). */
        int same, is_new = 0;
        digest mine;
        rc = same_as_held(w, c, o, enc, len, held, &same, &mine);
        if (rc || same)
            return rc;
        /* A version that waits must not hold up one that is ready: it may
         * wait for ever (its dependencies need not exist), and the id with
         * every later op of its origin with it. The ready one is delivered
         * and the waiting one becomes evidence; which one counts is decided
         * by hash at commit either way. */
        if (!held && causal_ready(o, &c->delivered, &wait)) {
            int was_kept;
            rc = equiv_take(w, c, o->id, mine, &was_kept);
            if (!rc)
                rc = pending_demote(w, c, o->id);
            if (!rc && !was_kept)
                w->equivocal++;
            return rc ? rc : deliver_and_wake(w, c, o, enc, len);
        }
        rc = equiv_keep(w, c, o, mine, enc, len, &is_new);
        if (!rc && is_new)
            w->equivocal++;
        return rc;
    }
    if (!causal_ready(o, &c->delivered, &wait))
        return keep_pending(w, c, o, wait, enc, len);
    return deliver_and_wake(w, c, o, enc, len);
}

/* Causal order implies hlc order (an op's hlc exceeds every hlc it has
 * seen), so taking a batch sorted by hlc delivers most ops directly instead
 * of parking them in the pending buffer. */
typedef struct incoming {
    op o;
    const uint8_t *enc;
    size_t len;
} incoming;

static int by_hlc(const void *a, const void *b)
{
    const incoming *x = a, *y = b;
    if (x->o.hlc != y->o.hlc)
        return x->o.hlc < y->o.hlc ? -1 : 1;
    return op_id_cmp(x->o.id, y->o.id);
}

static void incoming_free(incoming *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        codec_op_clear(&in[i].o);
    free(in);
}

static int decode_all(msglog *log, const msglog_buf *ops, size_t n, incoming **out)
{
    incoming *in = calloc(n ? n : 1, sizeof *in);
    if (!in)
        return ml_fail(log, MSGLOG_ENOMEM, "out of memory decoding %zu ops", n);
    for (size_t i = 0; i < n; i++) {
        if (!ops[i].data && ops[i].len) {
            incoming_free(in, i);
            return ml_fail(log, MSGLOG_EINVAL, "op %zu of the batch has no data", i);
        }
        int rc = codec_op_decode(&in[i].o, ops[i].data, ops[i].len);
        if (rc) {
            incoming_free(in, i);
            return ml_fail(log, rc, "op %zu of the batch: %s", i, msglog_strerror(rc));
        }
        in[i].enc = ops[i].data;
        in[i].len = ops[i].len;
    }
    *out = in;
    return MSGLOG_OK;
}

/* One attempt: every op in one write transaction. */
static int receive_once(msglog *log, incoming *in, size_t n)
{
    wctx w;
    int rc = wctx_begin(log, &w);
    for (size_t i = 0; i < n && !rc; i++)
        rc = receive_one(&w, &in[i].o, in[i].enc, in[i].len);
    if (rc) {
        wctx_abort(&w);
        return ml_fail(log, rc, "receiving ops failed: %s", msglog_strerror(rc));
    }
    size_t equivocal = w.equivocal, dropped = w.dropped;
    rc = wctx_commit(&w);
    if (rc)
        return rc;
    if (equivocal)
        return ml_fail(log, MSGLOG_EEQUIVOCAL,
                       "%zu op(s) reuse an id held with different content and were refused; "
                       "%zu dropped for a full pending buffer; the rest is committed",
                       equivocal, dropped);
    if (dropped)
        return ml_fail(log, MSGLOG_EPENDINGFULL,
                       "the pending buffer is full: %zu op(s) waiting for dependencies were dropped; "
                       "the rest is committed", dropped);
    return MSGLOG_OK;
}

int msglog_receive_batch(msglog *log, const msglog_buf *ops, size_t n_ops)
{
    if (!log || (!ops && n_ops))
        return ml_fail(log, MSGLOG_EINVAL, "msglog_receive_batch: NULL argument");
    incoming *in = NULL;
    int rc = decode_all(log, ops, n_ops, &in);
    if (rc)
        return rc;
    qsort(in, n_ops, sizeof *in, by_hlc);
    do
        rc = receive_once(log, in, n_ops);
    while (rc == MSGLOG_EFULL && ml_grow_map(log) == MSGLOG_OK);
    incoming_free(in, n_ops);
    return rc ? rc : ml_ok(log);
}

int msglog_receive(msglog *log, const void *op_bytes, size_t op_len)
{
    msglog_buf one = { op_bytes, op_len };
    return msglog_receive_batch(log, &one, 1);
}
