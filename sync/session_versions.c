/* Sending every version of some ids (docs/protocol.md 5, steps 3 and 5): a
 * WANT's answer, or the versions a REPAIR listing shows the peer lacks. The
 * delivered version of each id goes first, then the kept ones (the peer
 * holds the id by then, so it keeps them as evidence at once), in batches of
 * the peer's budget, the last possibly empty (it is the answer).
 *
 * It is a job the session carries on over several turns: a WANT of a whole
 * large conversation would otherwise put all of it into the output at once,
 * whether the peer reads or not. Each step reads in one read transaction
 * and stops, after a batch, when the transport has no room left; the next
 * step (session_continue) picks up at the next id. Ids are looked up one by
 * one, so a step started later sees what was committed meanwhile, as a
 * stream does. */
#include "sync/session_int.h"

#include <stdlib.h>

#include "crdt/grow.h"
#include "log/op_range.h"

typedef struct version_list {
    codec_bytes *e;
    size_t n, cap;
    size_t bytes;
} version_list;

static int version_push(void *ctx, const uint8_t *enc, size_t len)
{
    version_list *l = ctx;
    codec_bytes *p = grow_array(l->e, &l->cap, l->n < 16 ? 16 : l->n + 1, sizeof *p);
    if (!p)
        return MSGLOG_ENOMEM;
    l->e = p;
    l->e[l->n++] = (codec_bytes){ enc, len };
    l->bytes += len;
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
 * ones. */
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

/* The bytes the next batch is filled up to: the peer's budget, or less when
 * the transport has less room (at least one id's versions always go). */
static size_t batch_budget(const session *s)
{
    size_t room = session_room(s);
    return room < s->peer_budget ? room : s->peer_budget;
}

/* The job's ids from j->next on, in t, while there is room. The ops borrow
 * from t, so every batch is sent before t ends. */
static int send_some(session *s, store_txn *t, uint32_t cid, version_list *l)
{
    versions_job *j = &s->job;
    size_t budget = batch_budget(s);
    int rc = MSGLOG_OK;
    while (!rc && j->next < j->n) {
        op_id id = j->ids[j->next++];
        if (j->next > 1 && op_id_cmp(j->ids[j->next - 2], id) == 0)
            continue;
        rc = collect_id(t, cid, id, l);
        if (rc || l->bytes < budget || l->bytes == 0)
            continue;
        rc = out_send_batch(s, j->conv, l->e, l->n);
        l->n = l->bytes = 0;
        if ((budget = batch_budget(s)) == 0)
            break;
    }
    return rc;
}

/* One step: one read transaction, batches while there is room; at the end
 * the last batch (possibly empty) and the closing REPAIR of a WANT. */
static int versions_step(session *s)
{
    versions_job *j = &s->job;
    store_txn *t;
    int rc = store_txn_begin(s->log->st, 0, &t);
    if (rc)
        return rc;
    conv_state cs;
    rc = conv_lookup(t, j->conv->name, j->conv->len, &cs);
    int held = rc == MSGLOG_OK;
    if (rc == MSGLOG_ENOTFOUND) {       /* nothing held: an empty answer */
        j->next = j->n;
        rc = MSGLOG_OK;
    }
    version_list l = { 0 };
    if (!rc && held)
        rc = send_some(s, t, cs.cid, &l);
    if (!rc && j->next == j->n)
        rc = out_send_batch(s, j->conv, l.e, l.n);
    if (held)
        conv_free(&cs);
    free(l.e);
    store_txn_abort(t);
    if (rc || j->next < j->n)
        return rc;
    int then_repair = j->then_repair;
    sconv *c = j->conv;
    versions_clear(s);
    if (!then_repair)
        return MSGLOG_OK;
    codec_repair done = { c->name, c->len, NULL, 0 };
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = codec_repair_encode(&buf, &len, &done);
    return session_queue(s, buf, len, rc);
}

int versions_start(session *s, sconv *c, op_id *ids, size_t n, int then_repair)
{
    s->job = (versions_job){ 1, c, ids, n, 0, then_repair };
    return versions_continue(s);
}

int versions_continue(session *s)
{
    /* Unpaced, the room never runs out and one step does it all. */
    return s->job.active ? versions_step(s) : MSGLOG_OK;
}

void versions_clear(session *s)
{
    free(s->job.ids);
    s->job = (versions_job){ 0 };
}
