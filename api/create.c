/* Creating ops locally: check the rules, stamp id / hlc / deps, deliver and
 * commit. A refused call changes nothing. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/admit.h"
#include "crdt/hlc.h"
#include "crdt/utf8.h"

/* Field checks shared with what the decoder enforces on received ops, so a
 * replica never creates an op its peers would refuse. */
static int check_text(msglog *log, const char *what, const void *p, size_t len,
                      size_t min, size_t max)
{
    if (!p && len)
        return ml_fail(log, MSGLOG_EINVAL, "%s is NULL", what);
    if (len < min || len > max)
        return ml_fail(log, MSGLOG_ELIMIT, "%s is %zu bytes; allowed %zu to %zu", what, len, min, max);
    if (len && !utf8_valid(p, len))
        return ml_fail(log, MSGLOG_EINVAL, "%s is not valid UTF-8", what);
    return MSGLOG_OK;
}

/* The target's message state, or an error naming why it cannot be used. */
static int load_target(wctx *w, const conv_state *c, op_id target, msg_state *m)
{
    uint64_t hlc;
    int rc = msgrec_load(w->txn, c->cid, target, &hlc, m);
    if (rc == MSGLOG_ENOTFOUND)
        return ml_fail(w->log, rc, "message %llu.%llu is not delivered here",
                       (unsigned long long)target.replica, (unsigned long long)target.seq);
    return rc ? ml_fail(w->log, rc, "cannot read message state") : MSGLOG_OK;
}

static int copy_ids(const ids *from, op_id **out, size_t *n)
{
    *out = NULL;
    *n = from->n;
    if (!from->n)
        return MSGLOG_OK;
    *out = malloc(from->n * sizeof **out);
    if (!*out)
        return MSGLOG_ENOMEM;
    memcpy(*out, from->e, from->n * sizeof **out);
    return MSGLOG_OK;
}

/* The rules for creating an op on an existing message (crdt/admit.h);
 * fills the refs (replaced heads, observed reacts). */
static int check_rules(wctx *w, const conv_state *c, op *o)
{
    msg_state m;
    int rc = load_target(w, c, o->target, &m);
    if (rc)
        return rc;
    msglog *log = w->log;
    switch (msg_admits(&m, o)) {
    case ADMIT_NOT_AUTHOR:
        rc = ml_fail(log, MSGLOG_EDENIED, "only the author may edit or delete a message");
        break;
    case ADMIT_DELETED:
        rc = ml_fail(log, MSGLOG_EDENIED, "the message is deleted");
        break;
    case ADMIT_NO_REACTION:
        rc = ml_fail(log, MSGLOG_EDENIED, "no live reaction of this user with that key");
        break;
    default:
        if (o->kind == OP_EDIT)
            rc = copy_ids(&m.heads, &o->refs, &o->n_refs);
        else if (o->kind == OP_UNREACT)
            rc = copy_ids(&msg_reaction_find(&m, o->key, o->key_len, o->user, o->user_len)->live,
                          &o->refs, &o->n_refs);
    }
    msg_free(&m);
    return rc;
}

static int stamp_and_apply(wctx *w, conv_state *c, op *o)
{
    msglog *log = w->log;
    o->id.replica = log->replica;
    o->id.seq = vv_get(&c->delivered, log->replica) + 1;
    o->hlc = hlc_next(log->clock(log->clock_ctx), c->maxhlc);
    if (conv_new_deps(c, log->replica, &o->deps, &o->n_deps) != 0)
        return MSGLOG_ENOMEM;
    uint8_t *enc;
    size_t len;
    int rc = codec_op_encode(&enc, &len, o, 0);
    if (rc)
        return ml_codec_fail(log, rc, "encoding the new op");
    rc = apply_deliver(w, c, o, enc, len);
    free(enc);
    if (!rc && vv_copy(&c->own_ctx, &c->delivered) != 0)
        rc = MSGLOG_ENOMEM;
    if (!rc && c->pending)
        rc = pending_wake(w, c, o->id);
    return rc;
}

/* What one attempt creates: n ops, in order, in one write transaction. */
typedef struct creation {
    op *ops;
    size_t n;
    op_id *ids;          /* n: the new ids */
    size_t failed;       /* the index of the op that was refused */
} creation;

/* Checks, stamps and delivers one op in the open transaction. */
static int create_in(wctx *w, op *o, op_id *id)
{
    conv_state *c = NULL;
    int rc = wctx_conv(w, o->conv, o->conv_len, o->kind == OP_SEND, &c);
    if (rc == MSGLOG_ENOTFOUND)
        ml_fail(w->log, rc, "no such conversation");
    if (!rc && o->kind != OP_SEND)
        rc = check_rules(w, c, o);
    if (!rc)
        rc = stamp_and_apply(w, c, o);
    *id = o->id;
    free(o->deps);
    free(o->refs);
    o->deps = o->refs = NULL;
    o->n_deps = o->n_refs = 0;
    return rc;
}

/* One attempt: a write transaction that checks, stamps and delivers every
 * op, then commits; nothing is committed when one is refused. */
static int create_once(msglog *log, void *arg)
{
    creation *cr = arg;
    wctx w;
    int rc = wctx_begin(log, &w);
    size_t i = 0;
    for (; !rc && i < cr->n; i++)
        rc = create_in(&w, &cr->ops[i], &cr->ids[i]);
    if (rc) {
        cr->failed = i ? i - 1 : 0;
        wctx_abort(&w);
        return log->err[0] ? rc : ml_fail(log, rc, "creating the op failed: %s", msglog_strerror(rc));
    }
    return engine_commit(&w);
}

/* Creates ops[0..n) in one durable commit (retried whole when the map had
 * to grow). Their conversations and texts are checked by the caller. */
static int create_ops(msglog *log, op *ops, size_t n, op_id *ids, size_t *failed)
{
    for (size_t i = 0; i < n; i++) {
        ops[i].user = log->user;
        ops[i].user_len = log->user_len;
    }
    creation cr = { ops, n, ids, 0 };
    int rc = ml_retry_grown(log, create_once, &cr);
    if (failed)
        *failed = rc ? cr.failed : 0;
    return rc ? rc : ml_ok(log);
}

static int check_conv(msglog *log, op *o, const char *conv, size_t conv_len)
{
    int rc = check_text(log, "conversation id", conv, conv_len, 1, MSGLOG_MAX_CONV);
    o->conv = (const uint8_t *)conv;
    o->conv_len = conv_len;
    return rc;
}

static int create_op(msglog *log, msglog_id *out, const char *conv, size_t conv_len, op *o)
{
    op_id id;
    int rc = check_conv(log, o, conv, conv_len);
    if (!rc)
        rc = create_ops(log, o, 1, &id, NULL);
    if (!rc && out)
        *out = (msglog_id){ id.replica, id.seq };
    return rc;
}

static op target_op(uint8_t kind, msglog_id target)
{
    op o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    o.target = (op_id){ target.replica, target.seq };
    return o;
}

#define CHECK_LOG(log) \
    do { \
        if (!(log)) \
            return MSGLOG_EINVAL; \
        (log)->err[0] = '\0'; \
    } while (0)

int msglog_send(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                const void *body, size_t body_len)
{
    CHECK_LOG(log);
    int rc = check_text(log, "body", body, body_len, 0, MSGLOG_MAX_BODY);
    if (rc)
        return rc;
    op o = target_op(OP_SEND, (msglog_id){ 0, 0 });
    o.body = body;
    o.body_len = body_len;
    return create_op(log, out, conv, conv_len, &o);
}

int msglog_edit(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                msglog_id target, const void *body, size_t body_len)
{
    CHECK_LOG(log);
    int rc = check_text(log, "body", body, body_len, 0, MSGLOG_MAX_BODY);
    if (rc)
        return rc;
    op o = target_op(OP_EDIT, target);
    o.body = body;
    o.body_len = body_len;
    return create_op(log, out, conv, conv_len, &o);
}

int msglog_delete(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                  msglog_id target)
{
    CHECK_LOG(log);
    op o = target_op(OP_DELETE, target);
    return create_op(log, out, conv, conv_len, &o);
}

static int reaction_op(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                       uint8_t kind, msglog_id target, const char *key, size_t key_len)
{
    CHECK_LOG(log);
    int rc = check_text(log, "reaction key", key, key_len, 1, MSGLOG_MAX_KEY);
    if (rc)
        return rc;
    op o = target_op(kind, target);
    o.key = (const uint8_t *)key;
    o.key_len = key_len;
    return create_op(log, out, conv, conv_len, &o);
}

int msglog_react(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                 msglog_id target, const char *key, size_t key_len)
{
    return reaction_op(log, out, conv, conv_len, OP_REACT, target, key, key_len);
}

int msglog_unreact(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                   msglog_id target, const char *key, size_t key_len)
{
    return reaction_op(log, out, conv, conv_len, OP_UNREACT, target, key, key_len);
}

int msglog_mark_read(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                     msglog_id target)
{
    CHECK_LOG(log);
    op o = target_op(OP_READ, target);
    return create_op(log, out, conv, conv_len, &o);
}

/* ---- many ops in one commit -------------------------------------------- */

_Static_assert(MSGLOG_WRITE_SEND == OP_SEND && MSGLOG_WRITE_EDIT == OP_EDIT &&
                   MSGLOG_WRITE_DELETE == OP_DELETE && MSGLOG_WRITE_REACT == OP_REACT &&
                   MSGLOG_WRITE_UNREACT == OP_UNREACT && MSGLOG_WRITE_READ == OP_READ,
               "a write kind is its op kind");

/* The op of one batch entry, with its fields checked as its call would. */
static int write_entry_op(msglog *log, const msglog_write *e, op *o)
{
    if (e->kind < MSGLOG_WRITE_SEND || e->kind > MSGLOG_WRITE_READ)
        return ml_fail(log, MSGLOG_EINVAL, "unknown write kind %d", e->kind);
    *o = target_op((uint8_t)e->kind, e->target);
    int rc = check_conv(log, o, e->conv, e->conv_len);
    if (rc || e->kind == MSGLOG_WRITE_DELETE || e->kind == MSGLOG_WRITE_READ)
        return rc;
    if (e->kind == MSGLOG_WRITE_SEND || e->kind == MSGLOG_WRITE_EDIT) {
        o->body = e->text;
        o->body_len = e->text_len;
        return check_text(log, "body", e->text, e->text_len, 0, MSGLOG_MAX_BODY);
    }
    o->key = e->text;
    o->key_len = e->text_len;
    return check_text(log, "reaction key", e->text, e->text_len, 1, MSGLOG_MAX_KEY);
}

int msglog_write_batch(msglog *log, msglog_id *ids, const msglog_write *w, size_t n,
                       size_t *failed)
{
    CHECK_LOG(log);
    if (failed)
        *failed = 0;
    if (n && !w)
        return ml_fail(log, MSGLOG_EINVAL, "msglog_write_batch: no entries");
    if (n > MSGLOG_MAX_WRITE_BATCH)
        return ml_fail(log, MSGLOG_ELIMIT, "msglog_write_batch: %zu entries; at most %d", n,
                       MSGLOG_MAX_WRITE_BATCH);
    if (!n)
        return ml_ok(log);
    op *ops = malloc(n * sizeof *ops);
    op_id *made = malloc(n * sizeof *made);
    int rc = ops && made ? MSGLOG_OK : ml_fail(log, MSGLOG_ENOMEM, "out of memory");
    size_t i = 0;
    for (; !rc && i < n; i++)
        rc = write_entry_op(log, &w[i], &ops[i]);
    if (rc && failed && i)
        *failed = i - 1;
    if (!rc)
        rc = create_ops(log, ops, n, made, failed);
    for (size_t k = 0; !rc && ids && k < n; k++)
        ids[k] = (msglog_id){ made[k].replica, made[k].seq };
    free(ops);
    free(made);
    return rc;
}
