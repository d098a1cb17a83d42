/* The repair exchange (docs/protocol.md 5) inside a session: the client
 * starts it when a digest check finds equal vectors with different digests;
 * both sides answer every non-empty REPAIR with sync/repair.c's step, send the
 * versions a listing shows the peer lacks, and ask for the ones they lack
 * with WANT. A WANT is answered with a BATCH of every version of its ids
 * followed by an empty REPAIR, so the asking side can tell when the answer
 * is in (s->repair_wait, which session_up_to_date() waits for). */
#include "sync/session_int.h"

#include <stdlib.h>
#include <string.h>

#include "log/op_range.h"
#include "sync/repair.h"
#include "crdt/grow.h"

static int queue_repair_msg(session *s, const codec_repair *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = codec_repair_encode(&buf, &len, m);
    if (!rc && m->n_items)
        s->repair_wait++;
    return session_queue(s, buf, len, rc);
}

static int queue_want(session *s, const codec_want *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = codec_want_encode(&buf, &len, m);
    if (!rc)
        s->repair_wait++;
    return session_queue(s, buf, len, rc);
}

/* ---- sending every version of some ids ---------------------------------- */

typedef struct version_list {
    codec_bytes *e;
    size_t n, cap;
} version_list;

static int version_push(void *ctx, const uint8_t *enc, size_t len)
{
    version_list *l = ctx;
    codec_bytes *p = grow_array(l->e, &l->cap, l->n < 16 ? 16 : l->n + 1, sizeof *p);
    if (!p)
        return MSGLOG_ENOMEM;
    l->e = p;
    l->e[l->n++] = (codec_bytes){ enc, len };
    return MSGLOG_OK;
}

/* The versions of id kept as evidence, in hash order. */
static int collect_evidence(store_txn *t, uint32_t cid, op_id id, version_list *l)
{
    const uint8_t *enc;
    size_t len;
    op_range ev;
    int rc = op_range_open(&ev, t, OP_RANGE_EVIDENCE, cid);
    if (!rc)
        rc = op_range_seek(&ev, id.replica, id.seq, id.seq);
    while (rc == MSGLOG_OK) {
        rc = op_range_encoding(&ev, &enc, &len);
        if (!rc)
            rc = version_push(l, enc, len);
        if (!rc)
            rc = op_range_next(&ev);
    }
    op_range_close(&ev);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

/* Every version of id held in t: the delivered one first, then the kept
 * ones (the peer holds the id, so it keeps them as evidence at once). */
static int collect_id(store_txn *t, uint32_t cid, op_id id, version_list *l)
{
    uint8_t kind;
    uint64_t hlc;
    const uint8_t *enc;
    size_t len;
    int rc = oprec_get(t, cid, id, &kind, &hlc, &enc, &len);
    if (rc == MSGLOG_OK)
        rc = version_push(l, enc, len);
    if (rc && rc != MSGLOG_ENOTFOUND)
        return rc;
    return collect_evidence(t, cid, id, l);
}

/* Sends every version of the distinct ids in ids[0..n) (ascending) in
 * batches of the peer's budget. */
static int send_versions(session *s, sconv *c, const op_id *ids, size_t n)
{
    store_txn *t;
    int rc = store_txn_begin(s->log->st, 0, &t);
    if (rc)
        return rc;
    conv_state cs;
    rc = conv_lookup(t, c->name, c->len, &cs);
    if (rc == MSGLOG_ENOTFOUND)         /* nothing held: an empty answer */
        n = 0;
    else if (rc) {
        store_txn_abort(t);
        return rc;
    }
    version_list l = { 0 };
    size_t bytes = 0, counted = 0;
    rc = MSGLOG_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        if (i > 0 && op_id_cmp(ids[i - 1], ids[i]) == 0)
            continue;
        rc = collect_id(t, cs.cid, ids[i], &l);
        for (; !rc && counted < l.n; counted++)
            bytes += l.e[counted].len;
        if (!rc && bytes >= s->peer_budget) {
            rc = out_send_batch(s, c, l.e, l.n);
            l.n = counted = bytes = 0;
        }
    }
    if (!rc)
        rc = out_send_batch(s, c, l.e, l.n);   /* possibly empty: the answer */
    if (n)
        conv_free(&cs);
    free(l.e);
    store_txn_abort(t);
    return rc;
}

static int send_lacking(session *s, sconv *c, const repair_version *v, size_t n)
{
    if (n == 0)
        return MSGLOG_OK;
    op_id *ids = malloc(n * sizeof *ids);
    if (!ids)
        return MSGLOG_ENOMEM;
    for (size_t i = 0; i < n; i++)
        ids[i] = v[i].id;
    int rc = send_versions(s, c, ids, n);
    free(ids);
    return rc;
}

/* ---- the steps ---------------------------------------------------------- */

/* Queues what one step produced: REPAIR answers, versions the peer lacks,
 * WANTs for what this side lacks. */
static int queue_reply(session *s, sconv *c, const repair_reply *r)
{
    int rc = MSGLOG_OK;
    for (size_t i = 0; i < r->n_msgs && !rc; i++)
        rc = queue_repair_msg(s, &r->msgs[i]);
    if (!rc)
        rc = send_lacking(s, c, r->peer_lacks, r->n_peer_lacks);
    for (size_t i = 0; i < r->n_wants && !rc; i++)
        rc = queue_want(s, &r->wants[i]);
    return rc;
}

int repair_start(session *s, sconv *c)
{
    c->repair_started = 1;
    store_txn *t;
    int rc = store_txn_begin(s->log->st, 0, &t);
    if (rc)
        return session_fail(s, SESSION_ERR_INTERNAL, rc, "cannot begin a read transaction");
    repair_reply r;
    rc = repair_open(&r, t, c->name, c->len);
    store_txn_abort(t);
    if (!rc)
        rc = queue_reply(s, c, &r);
    repair_reply_clear(&r);
    if (rc && rc != MSGLOG_ENOTFOUND)
        return session_fail(s, SESSION_ERR_INTERNAL, rc, "cannot start a repair: %s",
                            session_store_why(s, rc));
    return MSGLOG_OK;
}

int repair_on_repair(session *s, const uint8_t *buf, size_t len)
{
    codec_repair m;
    int rc = codec_repair_decode(&m, buf, len);
    if (rc)
        return session_fail(s, SESSION_ERR_CORRUPT, rc, "a REPAIR that does not decode");
    if ((rc = session_check_backlog(s, "REPAIR"))) {
        codec_repair_clear(&m);
        return rc;
    }
    if (s->repair_wait)
        s->repair_wait--;
    sconv *c = session_conv(s, m.conv, m.conv_len, 1);
    repair_reply r = { 0 };
    if (!c)
        rc = session_conv_failed(s);
    else if (m.n_items) {              /* an empty REPAIR is never answered */
        store_txn *t;
        rc = store_txn_begin(s->log->st, 0, &t);
        if (!rc) {
            rc = repair_respond(&r, t, &m);
            store_txn_abort(t);
        }
        if (!rc)
            rc = queue_reply(s, c, &r);
        /* Holding nothing of it, this side has nothing to list or ask for
         * (the streams carry the conversation): it closes the exchange. */
        if (rc == MSGLOG_ENOTFOUND) {
            codec_repair none = { c->name, c->len, NULL, 0 };
            rc = queue_repair_msg(s, &none);
        }
    }
    repair_reply_clear(&r);
    codec_repair_clear(&m);
    if (rc == MSGLOG_EINVAL)
        return session_fail(s, SESSION_ERR_PROTOCOL, MSGLOG_ECORRUPT, "a REPAIR breaking its rules");
    if (rc)
        return session_fail(s, SESSION_ERR_INTERNAL, rc, "cannot answer a REPAIR: %s",
                            session_store_why(s, rc));
    return MSGLOG_OK;
}

int repair_on_want(session *s, const uint8_t *buf, size_t len)
{
    codec_want m;
    int rc = codec_want_decode(&m, buf, len);
    if (rc)
        return session_fail(s, SESSION_ERR_CORRUPT, rc, "a WANT that does not decode");
    if ((rc = session_check_backlog(s, "WANT"))) {
        codec_want_clear(&m);
        return rc;
    }
    sconv *c = session_conv(s, m.conv, m.conv_len, 1);
    rc = c ? send_versions(s, c, m.ids, m.n_ids) : session_conv_failed(s);
    if (!rc) {
        codec_repair done = { c->name, c->len, NULL, 0 };
        rc = queue_repair_msg(s, &done);
    }
    codec_want_clear(&m);
    if (rc)
        return session_fail(s, SESSION_ERR_INTERNAL, rc, "cannot answer a WANT: %s",
                            session_store_why(s, rc));
    return MSGLOG_OK;
}
