/* Delivering a ready op: the merge rules applied to the stored state.
 *
 *   send     -> a new message state in TBL_MSGS at (hlc, replica, seq)
 *   edit     -> heads / best edit of the target; stored erased when the
 *               target is already deleted
 *   delete   -> marks the target deleted and erases the stored texts of the
 *               message and every edit of it (delivered or pending)
 *   react,
 *   unreact  -> the target's live reaction sets
 *   read     -> the user's read marker in the conversation state
 *
 * Ops whose target is not a message of this conversation, and edits or
 * deletes by someone other than the author, are stored and counted but
 * change nothing: every replica decides that the same way. */
#include "engine/engine.h"

#include <stdlib.h>

#include "crdt/digest.h"

/* Stores `o` with its body replaced by the body's hash. */
static int oprec_put_erased(wctx *w, uint32_t cid, op *o)
{
    uint8_t *enc;
    size_t len;
    int rc = erase_encode(o, &enc, &len);
    if (rc)
        return rc;
    rc = oprec_put(w->txn, cid, o, enc, len);
    free(enc);
    return rc;
}

int apply_store_erased(wctx *w, uint32_t cid, op *o)
{
    int rc = oprec_scrub(w->txn, cid, o->id);
    return rc ? rc : oprec_put_erased(w, cid, o);
}

/* Erases the text of one stored send or edit: the record is zeroed in
 * place before the erased form replaces it (log/store.h says why). */
static int erase_stored(wctx *w, uint32_t cid, op_id id)
{
    uint8_t kind;
    uint64_t hlc;
    const uint8_t *enc;
    size_t len;
    int rc = oprec_get(w->txn, cid, id, &kind, &hlc, &enc, &len);
    if (rc)
        return rc;
    uint8_t *erased;
    size_t erased_len;
    op head;
    rc = erase_stored_bytes(enc, len, &erased, &erased_len, &head);
    if (!rc && erased) {
        rc = oprec_scrub(w->txn, cid, id);
        if (!rc)
            rc = oprec_put(w->txn, cid, &head, erased, erased_len);
    }
    free(erased);
    return rc;
}

static int erase_message(wctx *w, conv_state *c, op_id msg, const msg_state *m)
{
    int rc = erase_stored(w, c->cid, msg);
    for (size_t i = 0; i < m->edits.n && !rc; i++)
        rc = erase_stored(w, c->cid, m->edits.e[i]);
    if (!rc && c->pending)
        rc = pending_erase_edits(w, c, msg);
    return rc ? rc : equiv_note_deleted(w, c);   /* and its kept versions, at commit */
}

/* ---- effects: the merge rules on the stored message states ------------ */

static int send_effect(wctx *w, conv_state *c, op *o)
{
    msg_state m;
    if (msg_init(&m, o->user, o->user_len) != 0)
        return MSGLOG_ENOMEM;
    int rc = msgrec_store(w->txn, c->cid, o->hlc, o->id, &m);
    msg_free(&m);
    if (!rc)
        c->n_messages++;
    return rc;
}

/* The rule for one op on its target message; *erase_op is set when the op
 * itself must be stored without its text. */
static int merge_into(wctx *w, conv_state *c, op *o, msg_state *m, int *erase_op)
{
    switch (o->kind) {
    case OP_EDIT:
        *erase_op = m->deleted;
        return msg_apply_edit(m, o) ? MSGLOG_ENOMEM : MSGLOG_OK;
    case OP_DELETE: {
        int r = msg_apply_delete(m, o);
        if (r < 0)
            return MSGLOG_ENOMEM;
        return r ? erase_message(w, c, o->target, m) : MSGLOG_OK;
    }
    case OP_REACT:
        return msg_apply_react(m, o) ? MSGLOG_ENOMEM : MSGLOG_OK;
    default:
        return msg_apply_unreact(m, o) ? MSGLOG_ENOMEM : MSGLOG_OK;
    }
}

static int message_effect(wctx *w, conv_state *c, op *o, int *erase_op)
{
    uint64_t thlc;
    msg_state m;
    int rc = msgrec_load(w->txn, c->cid, o->target, &thlc, &m);
    if (rc == MSGLOG_ENOTFOUND)   /* not a message: no effect */
        return MSGLOG_OK;
    if (rc)
        return rc;
    rc = merge_into(w, c, o, &m, erase_op);
    if (!rc)
        rc = msgrec_store(w->txn, c->cid, thlc, o->target, &m);
    msg_free(&m);
    return rc;
}

static int read_effect(wctx *w, conv_state *c, op *o)
{
    uint8_t kind;
    uint64_t thlc;
    int rc = oprec_get(w->txn, c->cid, o->target, &kind, &thlc, NULL, NULL);
    if (rc == MSGLOG_ENOTFOUND)
        return MSGLOG_OK;
    if (!rc && kind == OP_SEND &&
        conv_read_apply(c, o->user, o->user_len, thlc, o->target) != 0)
        rc = MSGLOG_ENOMEM;
    return rc;
}

int apply_effect(wctx *w, conv_state *c, op *o, int *erase_op)
{
    *erase_op = 0;
    switch (o->kind) {
    case OP_SEND:
        return send_effect(w, c, o);
    case OP_READ:
        return read_effect(w, c, o);
    default:
        return message_effect(w, c, o, erase_op);
    }
}

int apply_deliver(wctx *w, conv_state *c, op *o, const uint8_t *enc, size_t len)
{
    digest h = digest_op_content(o);
    int erase_op;
    int rc = apply_effect(w, c, o, &erase_op);
    if (!rc)
        rc = erase_op && !o->erased ? oprec_put_erased(w, c->cid, o)
                                    : oprec_put(w->txn, c->cid, o, enc, len);
    if (!rc && conv_note_delivered(c, o, h) != 0)
        rc = MSGLOG_ENOMEM;
    return rc;
}
