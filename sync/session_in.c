/* Batches from the peer (docs/protocol.md 3.3, 3.4): frames staged in
 * memory, the whole batch committed with one msglog_receive_batch, and the
 * ACK queued only after that commit returned. */
#include "sync/session_int.h"

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/hlc.h"
#include "crdt/grow.h"

/* Above this many ops, an emptied staging table gives its memory back. */
#define LENS_KEEP 4096u

void in_drop_staging(session *s)
{
    staging *st = &s->in_batch;
    st->active = 0;
    st->conv = NULL;
    st->bytes.n = 0;
    st->n = 0;
    sbuf_trim(&st->bytes);
    if (st->cap > LENS_KEEP) {
        free(st->lens);
        st->lens = NULL;
        st->cap = 0;
    }
}

static int stage_op(staging *st, const codec_bytes *op)
{
    size_t *p = grow_array(st->lens, &st->cap, st->n < 64 ? 64 : st->n + 1, sizeof *p);
    if (!p)
        return MSGLOG_ENOMEM;
    st->lens = p;
    int rc = sbuf_append(&st->bytes, op->data, op->len);
    if (!rc)
        st->lens[st->n++] = op->len;
    return rc;
}

/* Relay: a device's batch subscribes it to its conversation (section 6),
 * so one that would pass the device's cap of subscriptions is refused at
 * its first frame, before anything is staged or committed. */
static int may_subscribe(session *s, const sconv *c)
{
    if (s->role != SESSION_ROLE_RELAY)
        return MSGLOG_OK;
    int rc = peers_may_subscribe(s->log, &s->limits, s->peer_replica, c->name, c->len);
    if (rc)
        return session_fail(s, session_store_code(rc), rc, "a batch of a new conversation: %s",
                            msglog_errmsg(s->log));
    return MSGLOG_OK;
}

/* Checks that a frame continues the batch being staged, or starts the next
 * one, and stages its ops. */
static int stage_frame(session *s, const codec_batch *b)
{
    staging *st = &s->in_batch;
    if (!st->active) {
        if (b->batch_no != s->last_batch_in + 1)
            return session_fail(s, SESSION_ERR_PROTOCOL, MSGLOG_ECORRUPT,
                                "batch %llu after batch %llu", (unsigned long long)b->batch_no,
                                (unsigned long long)s->last_batch_in);
        st->conv = session_conv(s, b->conv, b->conv_len, 1);
        if (!st->conv)
            return session_fail(s, SESSION_ERR_INTERNAL, session_conv_failed(s), "out of memory");
        int rc = may_subscribe(s, st->conv);
        if (rc)
            return rc;
        st->conv->peer_wants = 1;
        st->batch_no = b->batch_no;
        st->active = 1;
    } else if (b->batch_no != st->batch_no || b->conv_len != st->conv->len ||
               memcmp(b->conv, st->conv->name, b->conv_len) != 0) {
        return session_fail(s, SESSION_ERR_PROTOCOL, MSGLOG_ECORRUPT,
                            "a frame of batch %llu inside batch %llu",
                            (unsigned long long)b->batch_no, (unsigned long long)st->batch_no);
    }
    for (size_t i = 0; i < b->n_ops; i++) {
        /* Empty bins cost no op bytes but a staging entry each: without
         * this, one endless batch of them grows memory without limit. */
        if (b->ops[i].len < SESSION_MIN_OP_BYTES)
            return session_fail(s, SESSION_ERR_CORRUPT, MSGLOG_ECORRUPT,
                                "an op of %zu bytes in batch %llu", b->ops[i].len,
                                (unsigned long long)st->batch_no);
        if (st->bytes.n + b->ops[i].len > SESSION_MAX_BATCH)
            return session_fail(s, SESSION_ERR_LIMIT, MSGLOG_ELIMIT, "a batch over %u bytes",
                                SESSION_MAX_BATCH);
        if (stage_op(st, &b->ops[i]))
            return session_fail(s, SESSION_ERR_INTERNAL, MSGLOG_ENOMEM, "out of memory");
    }
    return MSGLOG_OK;
}

static int ack_result(int rc, uint64_t *result)
{
    if (rc == MSGLOG_OK)
        *result = SESSION_ACK_OK;
    else if (rc == MSGLOG_EEQUIVOCAL)
        *result = SESSION_ACK_EQUIVOCAL;
    else if (rc == MSGLOG_EPENDINGFULL)
        *result = SESSION_ACK_DROPPED;
    else
        return 0;
    return 1;
}

static int queue_ack(session *s, const sconv *c, uint64_t no, uint64_t result)
{
    vv v;
    codec_ack a = { no, c->name, c->len, result, NULL, 0, { 0 } };
    int rc = session_own_state(s, c->name, c->len, &v, a.digest);
    if (rc)
        return rc;
    a.vv = v.e;
    a.n_vv = v.n;
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = codec_ack_encode(&buf, &len, &a);
    rc = session_queue(s, buf, len, rc);
    vv_free(&v);
    return rc;
}

/* A relay refuses an op whose clock reading is further ahead of its own
 * than it allows: one op at a far-future hlc would otherwise, through the
 * relay, make every later op of its conversation everywhere follow it (a
 * frozen order). The whole batch is refused: nothing is committed. */
static int clock_refused(session *s, op_id id, uint64_t hlc)
{
    uint64_t now = s->log->clock(s->log->clock_ctx), at = hlc >> 16;
    return session_fail(s, SESSION_ERR_REFUSED, MSGLOG_EDENIED,
                        "op %llu.%llu is refused: its clock reads %llu s ahead of the relay's "
                        "(at most %llu s are accepted; check that device's clock)",
                        (unsigned long long)id.replica, (unsigned long long)id.seq,
                        (unsigned long long)((at > now ? at - now : 0) / 1000),
                        (unsigned long long)(s->max_clock_ahead_ms / 1000));
}

/* The ids of the staged ops, each checked to belong to the batch's
 * conversation: msglog_receive_batch files an op under the conversation it
 * names, so a BATCH labelled with one conversation and carrying ops of
 * another would be acknowledged, subscribed and fanned out under the wrong
 * one (found by fuzz_session). A relay also checks each op's clock against
 * its own (clock_refused). On failure the session has failed and the code is
 * returned; *ids is malloc'd either way. */
static int staged_ids(session *s, const staging *st, op_id **ids)
{
    *ids = st->n ? malloc(st->n * sizeof **ids) : NULL;
    if (st->n && !*ids)
        return session_fail(s, SESSION_ERR_INTERNAL, MSGLOG_ENOMEM, "out of memory");
    uint64_t ceiling = s->max_clock_ahead_ms
                           ? hlc_ceiling(s->log->clock(s->log->clock_ctx), s->max_clock_ahead_ms)
                           : UINT64_MAX;
    const uint8_t *p = st->bytes.p;
    for (size_t i = 0; i < st->n; p += st->lens[i++]) {
        op o;
        int rc = codec_op_decode(&o, p, st->lens[i]);
        if (rc)
            return session_fail(s, rc == CODEC_ENOMEM ? SESSION_ERR_INTERNAL : SESSION_ERR_CORRUPT,
                                codec_stored_rc(rc), "batch %llu holds an op that does not decode",
                                (unsigned long long)st->batch_no);
        int same = o.conv_len == st->conv->len && memcmp(o.conv, st->conv->name, o.conv_len) == 0;
        (*ids)[i] = o.id;
        uint64_t hlc = o.hlc;
        codec_op_clear(&o);
        if (!same)
            return session_fail(s, SESSION_ERR_CORRUPT, MSGLOG_ECORRUPT,
                                "batch %llu holds an op that is not of its conversation",
                                (unsigned long long)st->batch_no);
        if (hlc > ceiling)
            return clock_refused(s, (*ids)[i], hlc);
    }
    return MSGLOG_OK;
}

/* The peer holds the ops it sent, and (its delivered set being closed)
 * every earlier op of their origins: our stream to it skips them. */
static int note_peer_holds(sconv *c, const op_id *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (vv_merge(&c->peer_has, &ids[i], 1) || (c->out && stream_peer_has(c->out, &ids[i], 1)))
            return MSGLOG_ENOMEM;
    return MSGLOG_OK;
}

/* Commits the staged ops in one msglog_receive_batch. */
static int receive_staged(session *s, const staging *st)
{
    msglog_buf *bufs = st->n ? malloc(st->n * sizeof *bufs) : NULL;
    if (st->n && !bufs)
        return MSGLOG_ENOMEM;
    const uint8_t *p = st->bytes.p;
    for (size_t i = 0; i < st->n; p += st->lens[i++])
        bufs[i] = (msglog_buf){ p, st->lens[i] };
    int rc = st->n ? msglog_receive_batch(s->log, bufs, st->n) : MSGLOG_OK;
    free(bufs);
    return rc;
}

/* Commits the staged batch in one transaction, then acknowledges it. */
static int commit_staged(session *s)
{
    staging *st = &s->in_batch;
    op_id *ids;
    int rc = staged_ids(s, st, &ids);
    if (rc) {
        free(ids);
        return rc;
    }
    rc = receive_staged(s, st);
    uint64_t result;
    if (!ack_result(rc, &result)) {
        free(ids);
        return session_fail(s, rc == MSGLOG_ENOMEM || rc == MSGLOG_EIO || rc == MSGLOG_EFULL
                                   ? SESSION_ERR_INTERNAL : SESSION_ERR_CORRUPT,
                            rc, "batch %llu not committed: %s", (unsigned long long)st->batch_no,
                            msglog_errmsg(s->log));
    }
    sconv *c = st->conv;
    s->last_batch_in = st->batch_no;
    s->turn_over = 1;              /* one commit per turn when paced */
    rc = note_peer_holds(c, ids, st->n);
    free(ids);
    in_drop_staging(s);
    if (!rc)
        rc = queue_ack(s, c, s->last_batch_in, result);
    if (rc)
        return session_fail(s, SESSION_ERR_INTERNAL, rc, "cannot acknowledge a batch: %s",
                            msglog_strerror(rc));
    if (s->role == SESSION_ROLE_RELAY)      /* a member from its first batch */
        rc = peers_subscribe(s->log, &s->limits, s->peer_replica, c->name, c->len);
    if (rc)
        return session_fail(s, session_store_code(rc), rc, "cannot record a subscription: %s",
                            rc == MSGLOG_ELIMIT ? msglog_errmsg(s->log) : session_store_why(s, rc));
    if (s->hooks.committed)
        s->hooks.committed(s->hooks.ctx, s, c->name, c->len);
    rc = s->role == SESSION_ROLE_RELAY ? session_refresh_status(s, c->name, c->len)
                                       : status_check_digest(s, c);
    return rc ? rc : out_pump(s);
}

int in_on_batch(session *s, const uint8_t *buf, size_t len)
{
    codec_batch b;
    int rc = codec_batch_decode(&b, buf, len);
    if (rc)
        return session_fail(s, rc == MSGLOG_ELIMIT ? SESSION_ERR_LIMIT : SESSION_ERR_CORRUPT, rc,
                            "a BATCH that does not decode: %s", msglog_strerror(rc));
    rc = stage_frame(s, &b);
    int last = !b.more;
    codec_batch_clear(&b);
    if (rc || !last)
        return rc;
    return commit_staged(s);
}
