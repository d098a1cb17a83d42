/* The repair exchange (docs/protocol.md 5) inside a session: the client
 * starts it when a digest check finds equal vectors with different digests;
 * both sides answer every non-empty REPAIR with sync/repair.c's step, send the
 * versions a listing shows the peer lacks, and ask for the ones they lack
 * with WANT. A WANT is answered with a BATCH of every version of its ids
 * followed by an empty REPAIR, so the asking side can tell when the answer
 * is in (s->repair_wait, which session_up_to_date() waits for); the
 * versions are sent by session_versions.c. */
#include "sync/session_int.h"

#include <stdlib.h>
#include <string.h>

#include "sync/repair.h"

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

/* The versions a listing shows the peer lacks (session_versions.c). A
 * paced session takes no frame while a job is active, so none is. */
static int send_lacking(session *s, sconv *c, const repair_version *v, size_t n)
{
    if (n == 0)
        return MSGLOG_OK;
    op_id *ids = malloc(n * sizeof *ids);
    if (!ids)
        return MSGLOG_ENOMEM;
    for (size_t i = 0; i < n; i++)
        ids[i] = v[i].id;
    return versions_start(s, c, ids, n, 0);
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
    if (c) {
        rc = versions_start(s, c, m.ids, m.n_ids, 1);   /* takes the ids */
        m.ids = NULL;
    } else {
        rc = session_conv_failed(s);
    }
    codec_want_clear(&m);
    if (rc)
        return session_fail(s, SESSION_ERR_INTERNAL, rc, "cannot answer a WANT: %s",
                            session_store_why(s, rc));
    return MSGLOG_OK;
}
