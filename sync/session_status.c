/* STATUS (docs/protocol.md 6, 7), the digest check (4) and "up to date". */
#include "sync/session_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- relay: what a device is told --------------------------------------- */

static int queue_status(session *s, const sconv *c, const peers_status *st)
{
    codec_bytes *members = st->n_members ? malloc(st->n_members * sizeof *members) : NULL;
    if (st->n_members && !members)
        return MSGLOG_ENOMEM;
    for (size_t i = 0; i < st->n_members; i++)
        members[i] = (codec_bytes){ (const uint8_t *)st->members[i].data, st->members[i].len };
    codec_status m = { c->name, c->len, st->relay_vv, st->n_relay_vv, st->delivered_vv,
                       st->n_delivered_vv, members, st->n_members };
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = codec_status_encode(&buf, &len, &m);
    free(members);
    return session_queue(s, buf, len, rc);
}

int session_refresh_status(session *s, const uint8_t *conv, size_t conv_len)
{
    if (!s || !conv)
        return MSGLOG_EINVAL;
    if (s->role != SESSION_ROLE_RELAY || !session_wants(s, conv, conv_len))
        return MSGLOG_OK;
    sconv *c = session_conv(s, conv, conv_len, 1);
    if (c && session_room(s) == 0) {      /* sent by status_continue */
        if (!c->status_owed)
            s->n_status_owed++;
        c->status_owed = 1;
        s->owed = 1;
        return MSGLOG_OK;
    }
    if (c && c->status_owed) {
        c->status_owed = 0;
        s->n_status_owed--;
    }
    peers_status st = { 0 };
    int rc = c ? peers_status_for(s->log, conv, conv_len, s->peer_user, s->peer_user_len, &st)
               : session_conv_failed(s);
    if (!rc && c->status_sent && peers_status_equal(&st, &c->sent_status)) {
        peers_status_clear(&st);
        return MSGLOG_OK;
    }
    if (!rc)
        rc = queue_status(s, c, &st);
    if (rc) {
        peers_status_clear(&st);
        return session_fail(s, SESSION_ERR_INTERNAL, rc, "cannot send a STATUS: %s",
                            session_store_why(s, rc));
    }
    peers_status_clear(&c->sent_status);
    c->sent_status = st;
    c->status_sent = 1;
    return MSGLOG_OK;
}

int status_continue(session *s)
{
    for (size_t i = 0; i < s->n_convs && s->n_status_owed; i++) {
        const sconv *c = s->convs[i];
        if (!c->status_owed)
            continue;
        int rc = session_refresh_status(s, c->name, c->len);
        if (rc || c->status_owed)      /* an error, or no room again */
            return rc;
    }
    return MSGLOG_OK;
}

/* ---- client: what the relay says ---------------------------------------- */

static int store_status(session *s, sconv *c, const codec_status *m)
{
    msglog_str *members = m->n_members ? malloc(m->n_members * sizeof *members) : NULL;
    if (m->n_members && !members)
        return MSGLOG_ENOMEM;
    for (size_t i = 0; i < m->n_members; i++)
        members[i] = (msglog_str){ (const char *)m->members[i].data, m->members[i].len };
    peers_status st = { m->relay_vv, m->n_relay_vv, m->delivered_vv, m->n_delivered_vv,
                        members, m->n_members, 0 };
    int rc = peers_status_store(s->log, c->name, c->len, &st);
    free(members);
    if (!rc)
        rc = vv_merge(&c->peer_has, m->relay_vv, m->n_relay_vv) ? MSGLOG_ENOMEM : MSGLOG_OK;
    return rc;
}

int status_on_status(session *s, const uint8_t *buf, size_t len)
{
    if (s->role != SESSION_ROLE_CLIENT)
        return session_fail(s, SESSION_ERR_PROTOCOL, MSGLOG_ECORRUPT, "a STATUS sent to a relay");
    codec_status m;
    int rc = codec_status_decode(&m, buf, len);
    if (rc)
        return session_fail(s, SESSION_ERR_CORRUPT, rc, "a STATUS that does not decode");
    sconv *c = session_conv(s, m.conv, m.conv_len, 1);
    rc = c ? store_status(s, c, &m) : session_conv_failed(s);
    codec_status_clear(&m);
    if (rc)
        return session_fail(s, SESSION_ERR_INTERNAL, rc, "cannot store a STATUS: %s",
                            msglog_strerror(rc));
    if (s->hooks.status)
        s->hooks.status(s->hooks.ctx, s, c->name, c->len);
    return out_pump(s);
}

/* ---- the digest check --------------------------------------------------- */

int status_check_digest(session *s, sconv *c)
{
    if (s->role != SESSION_ROLE_CLIENT || !c->has_peer_dig || c->dig_checked)
        return MSGLOG_OK;
    vv own;
    uint8_t dig[OP_HASH_LEN];
    int rc = session_own_state(s, c->name, c->len, &own, dig);
    if (rc)
        return session_fail(s, SESSION_ERR_INTERNAL, rc, "cannot read a conversation: %s",
                            msglog_strerror(rc));
    if (vv_equal(&own, &c->peer_dig_vv)) {
        c->dig_checked = 1;
        /* A later check may still differ while the repair's batches are
         * crossing; one repair per conversation per session (5.4). */
        if (memcmp(dig, c->peer_dig, OP_HASH_LEN) != 0 && !c->repair_started) {
            s->digest_mismatches++;
            rc = repair_start(s, c);
        }
    }
    vv_free(&own);
    return rc;
}

/* ---- up to date --------------------------------------------------------- */

/* Whether this store holds everything the peer is known to hold of c. */
static int holds_peer_state(store_txn *t, const sconv *c)
{
    if (c->peer_has.n == 0)
        return 1;
    conv_state own;
    if (conv_lookup(t, c->name, c->len, &own) != MSGLOG_OK)
        return 0;
    int ok = vv_covers(&own.delivered, &c->peer_has);
    conv_free(&own);
    return ok;
}

int session_up_to_date(const session *s)
{
    if (s->phase != SESSION_PHASE_OPEN || s->in_batch.active || s->n_fl || s->repair_wait ||
        session_busy(s))
        return 0;
    for (size_t i = 0; i < s->n_convs; i++) {
        const sconv *c = s->convs[i];
        int streamed = s->role == SESSION_ROLE_CLIENT || s->peer_all || c->peer_wants;
        if (streamed && !c->drained)
            return 0;
    }
    /* One read transaction for every conversation's vector. */
    store_txn *t;
    if (store_txn_begin(s->log->st, 0, &t) != MSGLOG_OK)
        return 0;
    int ok = 1;
    for (size_t i = 0; i < s->n_convs && ok; i++)
        ok = holds_peer_state(t, s->convs[i]);
    store_txn_abort(t);
    return ok;
}
