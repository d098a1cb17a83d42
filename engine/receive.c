/* Taking one received op inside a write context: a duplicate is ignored, an
 * op whose dependencies are missing waits in the pending buffer, a ready one
 * is delivered with whatever it makes ready. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/causal.h"
#include "crdt/digest.h"
#include "log/pending.h"

/* The bytes of an op as they are held (delivered or pending), borrowed. */
static int held_bytes(wctx *w, const conv_state *c, op_id id, int delivered,
                      const uint8_t **enc, size_t *len)
{
    uint8_t kind;
    uint64_t hlc;
    int rc = delivered ? oprec_get(w->txn, c->cid, id, &kind, &hlc, enc, len)
                       : pendrec_get(w->txn, c->cid, id, enc, len);
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
    int held = vv_has(&c->delivered, o->id);
    op_id wait;
    if (held || pending_has(w, c, o->id)) {
        /* A duplicate, or an equivocation when the content differs: the
         * other version is kept as evidence (engine/equivocal.c). */
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
            if (!rc)
                rc = deliver_and_wake(w, c, o, enc, len);
            return rc ? rc : equiv_note_delivered(w, c, o->id);
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
