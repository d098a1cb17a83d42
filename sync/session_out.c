/* The session's streams to the peer (docs/protocol.md 3.2 to 3.5): batches
 * read from the store one read transaction at a time, framed, kept in
 * flight within the peer's window, and the ACKs that retire them. */
#include "crdt/grow.h"
#include "sync/session_int.h"

#include <stdlib.h>
#include <string.h>

/* Room a BATCH frame needs beyond its ops: the array heads, the version,
 * type, batch number, conversation and flag, with margin. */
#define BATCH_FRAME_OVERHEAD (64 + MSGLOG_MAX_CONV)
#define BIN_HEAD_MAX 5

static int queue_batch_frame(session *s, const sconv *c, uint64_t no, int more,
                             codec_bytes *ops, size_t n)
{
    codec_batch m = { no, c->name, c->len, more, ops, n };
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = codec_batch_encode(&buf, &len, &m);
    return session_queue(s, buf, len, rc);
}

/* Frames one batch: as many ops per frame as fit SESSION_MAX_FRAME. */
static int queue_batch(session *s, const sconv *c, uint64_t no, const codec_bytes *ops, size_t n)
{
    size_t first = 0, room = BATCH_FRAME_OVERHEAD;
    for (size_t i = 0; i < n; i++) {
        size_t need = ops[i].len + BIN_HEAD_MAX;
        if (i > first && (room + need > SESSION_MAX_FRAME || i - first == SESSION_MAX_BATCH_OPS)) {
            int rc = queue_batch_frame(s, c, no, 1, (codec_bytes *)ops + first, i - first);
            if (rc)
                return rc;
            first = i;
            room = BATCH_FRAME_OVERHEAD;
        }
        room += need;
    }
    /* An empty batch (the answer to a WANT of nothing) has no ops table. */
    return queue_batch_frame(s, c, no, 0, n ? (codec_bytes *)ops + first : NULL, n - first);
}

int out_send_batch(session *s, sconv *c, const codec_bytes *ops, size_t n)
{
    size_t need = s->n_fl < SESSION_MAX_WINDOW ? SESSION_MAX_WINDOW : s->n_fl + 1;
    inflight *p = grow_array(s->fl, &s->cap_fl, need, sizeof *p);
    if (!p)
        return MSGLOG_ENOMEM;
    s->fl = p;
    int rc = queue_batch(s, c, s->next_batch_no, ops, n);
    if (!rc)
        s->fl[s->n_fl++] = (inflight){ s->next_batch_no++, c };
    return rc;
}

static int open_stream(session *s, sconv *c)
{
    return stream_open(&c->out, c->name, c->len, c->peer_has.e, c->peer_has.n,
                       s->peer_budget, SESSION_MAX_BATCH);
}

/* Reads the next batch of c's stream, filled up to `room` at most, and
 * sends it; marks c drained when the stream has nothing more. */
static int send_next(session *s, sconv *c, size_t room)
{
    if (!c->out) {
        int rc = open_stream(s, c);
        if (rc)
            return rc;
    }
    stream_set_budget(c->out, room < s->peer_budget ? room : s->peer_budget);
    store_txn *t;
    int rc = store_txn_begin(s->log->st, 0, &t);
    if (rc)
        return rc;
    stream_batch b;
    rc = stream_next(c->out, t, &b);
    if (rc == MSGLOG_ENOTFOUND) {        /* nothing of it here (yet) */
        c->drained = 1;
        store_txn_abort(t);
        return MSGLOG_OK;
    }
    if (!rc && b.n)
        rc = out_send_batch(s, c, b.ops, b.n);
    if (!rc && b.drained)
        c->drained = 1;
    store_txn_abort(t);
    return rc;
}

/* Whether this side streams c to the peer. The client streams what it
 * listed and what the relay listed; the relay what the device asked for. */
static int streams_to_peer(const session *s, const sconv *c)
{
    return s->role == SESSION_ROLE_CLIENT || s->peer_all || c->peer_wants;
}

int out_pump(session *s)
{
    if (s->phase != SESSION_PHASE_OPEN)
        return MSGLOG_OK;
    for (size_t i = 0; i < s->n_convs; i++) {
        sconv *c = s->convs[i];
        if (!streams_to_peer(s, c))
            continue;
        while (!c->drained && s->n_fl < s->peer_window) {
            size_t room = session_room(s);
            if (room == 0) {          /* session_continue goes on */
                s->owed = 1;
                return MSGLOG_OK;
            }
            int rc = send_next(s, c, room);
            if (rc) {
                /* The stream's position may have moved past ops it did not
                 * return (stream.h): the session cannot go on. */
                return session_fail(s, SESSION_ERR_INTERNAL, rc,
                                    "cannot read the stream of conversation %.*s: %s",
                                    (int)c->len, (const char *)c->name, session_store_why(s, rc));
            }
        }
    }
    return MSGLOG_OK;
}

int session_pump(session *s, const uint8_t *conv, size_t conv_len)
{
    if (!s)
        return MSGLOG_EINVAL;
    if (s->phase != SESSION_PHASE_OPEN)
        return MSGLOG_OK;
    if (!conv) {
        for (size_t i = 0; i < s->n_convs; i++)
            s->convs[i]->drained = 0;
        return out_pump(s);
    }
    /* A conversation new to this session is taken up when the peer wants
     * it: a client that asked for everything sends what it writes, a relay
     * sends a device every conversation when it asked for all. */
    int take_new = s->role == SESSION_ROLE_CLIENT ? s->all_convs : s->peer_all;
    sconv *c = session_conv(s, conv, conv_len, take_new);
    if (!c)
        return take_new ? session_fail(s, SESSION_ERR_INTERNAL, MSGLOG_ENOMEM, "out of memory")
                        : MSGLOG_OK;
    c->drained = 0;
    return out_pump(s);
}

/* ---- acknowledgements --------------------------------------------------- */

/* Records what the ACK says the peer holds of c and its digest there. */
static int take_ack_state(session *s, sconv *c, const codec_ack *a)
{
    vv_free(&c->peer_dig_vv);
    int rc = vv_merge(&c->peer_has, a->vv, a->n_vv) ? MSGLOG_ENOMEM : MSGLOG_OK;
    if (!rc && vv_merge(&c->peer_dig_vv, a->vv, a->n_vv))
        rc = MSGLOG_ENOMEM;
    if (!rc && c->out)
        rc = stream_peer_has(c->out, a->vv, a->n_vv);
    if (rc)
        return rc;
    memcpy(c->peer_dig, a->digest, OP_HASH_LEN);
    c->has_peer_dig = 1;
    c->dig_checked = 0;
    if (s->role == SESSION_ROLE_CLIENT)
        return peers_relay_acked(s->log, c->name, c->len, a->vv, a->n_vv);
    return peers_device_acked(s->log, &s->limits, s->peer_replica, c->name, c->len, a->vv,
                              a->n_vv);
}

int out_on_ack(session *s, const uint8_t *buf, size_t len)
{
    codec_ack a;
    int rc = codec_ack_decode(&a, buf, len);
    if (rc)
        return session_fail(s, SESSION_ERR_CORRUPT, rc, "an ACK that does not decode");
    sconv *c = s->n_fl ? s->fl[0].conv : NULL;
    if (!c || a.batch_no != s->fl[0].batch_no || a.conv_len != c->len ||
        memcmp(a.conv, c->name, c->len) != 0) {
        codec_ack_clear(&a);
        return session_fail(s, SESSION_ERR_PROTOCOL, MSGLOG_ECORRUPT,
                            "an ACK of batch %llu, which is not the oldest in flight",
                            (unsigned long long)a.batch_no);
    }
    memmove(&s->fl[0], &s->fl[1], (s->n_fl - 1) * sizeof *s->fl);
    s->n_fl--;
    rc = take_ack_state(s, c, &a);
    codec_ack_clear(&a);
    if (rc)
        return session_fail(s, session_store_code(rc), rc, "cannot record an ACK: %s",
                            rc == MSGLOG_ELIMIT ? msglog_errmsg(s->log) : session_store_why(s, rc));
    if (s->hooks.acked)
        s->hooks.acked(s->hooks.ctx, s, c->name, c->len);
    rc = s->role == SESSION_ROLE_RELAY ? session_refresh_status(s, c->name, c->len)
                                       : status_check_digest(s, c);
    return rc ? rc : out_pump(s);
}

void out_close_streams(session *s)
{
    for (size_t i = 0; i < s->n_convs; i++) {
        stream_close(s->convs[i]->out);
        s->convs[i]->out = NULL;
    }
}
