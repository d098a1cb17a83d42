/*
 * Running one step of a plan against the stores and the model.
 *
 * A step is a function of the plan and the model's state, nothing else, so a
 * plan runs the same every time, whatever was removed from it. When a step
 * can no longer be taken (its target was never created or is not delivered
 * there, the op is no longer legal, nothing is left to deliver) it is
 * skipped. When the library fails a step, the model still takes it: the run
 * stops there, and a replay trace then expects the state the step must have
 * led to.
 */
#include "random/sched.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "random/trace_out.h"
#include "support/check.h"
#include "support/dump.h"

const char *const step_name[] = {"?", "create", "illegal", "deliver", "sync",
                                 "restart", "check", "final"};

int sched_open(sched *s)
{
    const plan *p = s->pl;
    s->n_rep = p->n_rep;
    s->n_conv = p->n_conv;
    s->names = p->names;
    for (int i = 0; i < s->n_rep; i++) {
        mrep *r = &s->rep[i];
        memset(r, 0, sizeof *r);
        r->id = p->id[i];
        r->user = p->user[i];
        r->clk.now = p->clock0[i];
        snprintf(r->name, sizeof r->name, "r%d", i);
        trace_replica(s->trace, s, i);
        int rc = tstore_open(&r->log, s->root, r->name, r->id, users[r->user].p,
                             &r->clk);
        if (rc != MSGLOG_OK)
            return failf(s, "replica %d: open -> %d", i, rc);
    }
    if (s->verbose) {
        fprintf(stderr, "  %d replicas, %d conversations:", s->n_rep, s->n_conv);
        for (int i = 0; i < s->n_rep; i++)
            fprintf(stderr, " %d=%" PRIu64 "/%s", i, s->rep[i].id,
                    users[s->rep[i].user].p);
        fprintf(stderr, "\n");
    }
    return 0;
}

static int reopen(sched *s, int r)
{
    mrep *p = &s->rep[r];
    msglog_close(p->log);
    p->log = NULL;
    int rc = tstore_open(&p->log, s->root, p->name, p->id, users[p->user].p,
                         &p->clk);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: reopen -> %d", r, rc);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Creating ops                                                              */

/* Can st be taken now? *target: the op index of its target (-1: a send). */
static int create_legal(const sched *s, const step *st, int *target)
{
    *target = -1;
    if (st->op == K_SEND)
        return st->conv < s->n_conv;
    int t = st->target >= 0 ? s->op_of[st->target] : -1;
    if (t < 0 || !m_delivered(s, st->r, t))
        return 0;
    *target = t;
    int user = s->rep[st->r].user, del = m_deleted(s, st->r, t);
    switch (st->op) {
    case K_EDIT:
    case K_DELETE:
        return s->ops[t].user == user && !del;
    case K_REACT:
        return !del;
    case K_UNREACT:
        return !del && m_live(s, st->r, t, user, st->key, NULL) > 0;
    default:
        return 1;   /* a read of any delivered message */
    }
}

/* The op as the model adds it: clock, hlc, seq, context, refs. */
static int model_op(sched *s, const step *st, int target, mop *o)
{
    mrep *p = &s->rep[st->r];
    memset(o, 0, sizeof *o);
    o->step = st->id;
    o->kind = st->op;
    o->conv = target >= 0 ? s->ops[target].conv : st->conv;
    o->origin = st->r;
    o->user = p->user;
    o->target = target;
    o->key = st->op == K_REACT || st->op == K_UNREACT ? st->key : -1;
    o->body = st->body;
    o->body_len = st->body_len;
    o->marker = st->marker;
    if (o->kind == K_EDIT || o->kind == K_UNREACT) {
        o->refs = malloc(MAX_OPS * sizeof *o->refs);
        if (o->refs == NULL)
            return failf(s, "out of memory");
        o->n_refs = o->kind == K_EDIT
                        ? m_heads(s, st->r, target, o->refs)
                        : m_live(s, st->r, target, p->user, o->key, o->refs);
    }
    p->clk.now = o->t = st->t;
    uint64_t t16 = st->t << 16, mh = m_maxhlc(s, st->r, o->conv);
    o->hlc = t16 > mh ? t16 : mh + 1;
    o->seq = p->vv[o->conv][st->r] + 1;
    memcpy(o->deps, p->vv[o->conv], sizeof o->deps);
    return 0;
}

static int create_call(sched *s, const mop *o, msglog_id *id)
{
    msglog *log = s->rep[o->origin].log;
    bstr cn = conv_name(s, o->conv);
    msglog_id tid = {0, 0};
    if (o->target >= 0) {
        tid.replica = s->rep[s->ops[o->target].origin].id;
        tid.seq = s->ops[o->target].seq;
    }
    const bstr *key = o->key >= 0 ? &keys[o->key] : NULL;
    switch (o->kind) {
    case K_SEND:
        return msglog_send(log, id, cn.p, cn.n, o->body, o->body_len);
    case K_EDIT:
        return msglog_edit(log, id, cn.p, cn.n, tid, o->body, o->body_len);
    case K_DELETE:
        return msglog_delete(log, id, cn.p, cn.n, tid);
    case K_REACT:
        return msglog_react(log, id, cn.p, cn.n, tid, key->p, key->n);
    case K_UNREACT:
        return msglog_unreact(log, id, cn.p, cn.n, tid, key->p, key->n);
    default:
        return msglog_mark_read(log, id, cn.p, cn.n, tid);
    }
}

static int exec_create(sched *s, const step *st)
{
    int target, r = st->r;
    if (s->n_ops >= MAX_OPS || !create_legal(s, st, &target))
        return 0;
    int i = s->n_ops;
    mop *o = &s->ops[i];
    TRY(model_op(s, st, target, o));
    s->n_ops++;
    s->op_of[st->id] = i;
    trace_op(s->trace, s, i);
    mrep *p = &s->rep[r];
    msglog_id id = {0, 0};
    int rc = create_call(s, o, &id);
    logv(s, "replica %d creates %s %" PRIu64 ".%" PRIu64 " in conv %d (t=%" PRIu64
         ", hlc=%" PRIu64 ") target op %d -> %d", r, kind_name[o->kind], p->id,
         o->seq, o->conv, p->clk.now, o->hlc, target, rc);
    p->vv[o->conv][r] = o->seq;
    p->holds[o->conv] = 1;
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d (id %" PRIu64 "): legal %s in conv %d "
                     "refused: %d (%s)", r, p->id, kind_name[o->kind], o->conv,
                     rc, msglog_errmsg(p->log));
    if (id.replica != p->id || id.seq != o->seq)
        return failf(s, "replica %d: %s got id %" PRIu64 ".%" PRIu64
                     ", model %" PRIu64 ".%" PRIu64, r, kind_name[o->kind],
                     id.replica, id.seq, p->id, o->seq);
    bstr cn = conv_name(s, o->conv);
    rc = msglog_op_bytes(p->log, &o->bytes, &o->n_bytes, cn.p, cn.n, id);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: op_bytes of its new op -> %d (%s)", r, rc,
                     msglog_errmsg(p->log));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Illegal ops: must be refused and change nothing                           */

static const char *const illegal_name[] = {
    "edit of another user's message", "delete of another user's message",
    "react on a deleted message", "unreact without a live reaction"};

/* Is st still illegal in the way it was drawn? *target as create_legal. */
static int illegal_applies(const sched *s, const step *st, int *target)
{
    int t = st->target >= 0 ? s->op_of[st->target] : -1;
    if (t < 0 || !m_delivered(s, st->r, t))
        return 0;
    *target = t;
    int user = s->rep[st->r].user, del = m_deleted(s, st->r, t);
    switch (st->op) {
    case I_EDIT_OTHER:
    case I_DELETE_OTHER:
        return s->ops[t].user != user && !del;
    case I_REACT_DELETED:
        return del;
    default:
        return !del && m_live(s, st->r, t, user, st->key, NULL) == 0;
    }
}

static int illegal_call(sched *s, const step *st, int t)
{
    msglog *log = s->rep[st->r].log;
    bstr cn = conv_name(s, s->ops[t].conv);
    msglog_id tid = {s->rep[s->ops[t].origin].id, s->ops[t].seq}, id;
    const bstr *key = &keys[st->key];
    switch (st->op) {
    case I_EDIT_OTHER:
        return msglog_edit(log, &id, cn.p, cn.n, tid, "x", 1);
    case I_DELETE_OTHER:
        return msglog_delete(log, &id, cn.p, cn.n, tid);
    case I_REACT_DELETED:
        return msglog_react(log, &id, cn.p, cn.n, tid, key->p, key->n);
    default:
        return msglog_unreact(log, &id, cn.p, cn.n, tid, key->p, key->n);
    }
}

static int exec_illegal(sched *s, const step *st)
{
    int t, r = st->r;
    if (!illegal_applies(s, st, &t))
        return 0;
    mrep *p = &s->rep[r];
    const char *name = illegal_name[st->op];
    char *before = NULL;
    int rc = dump_store(&before, p->log);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: dump -> %d", r, rc);
    rc = illegal_call(s, st, t);
    logv(s, "replica %d tries %s on op %d -> %d", r, name, t, rc);
    s->n_refused++;
    if (rc != MSGLOG_EDENIED) {
        free(before);
        trace_refused(s->trace, s, st, t);
        return failf(s, "replica %d (id %" PRIu64 "): %s on %" PRIu64 ".%" PRIu64
                     " -> %d, expected MSGLOG_EDENIED", r, p->id, name,
                     s->rep[s->ops[t].origin].id, s->ops[t].seq, rc);
    }
    char *after = NULL;
    rc = dump_store(&after, p->log);
    char diff[4096];
    int differ = rc == MSGLOG_OK && dump_diff(diff, sizeof diff, before, after);
    free(before);
    free(after);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: dump -> %d", r, rc);
    if (differ) {
        trace_refused(s->trace, s, st, t);
        s->fail_hidden = 1;
        return failf(s, "replica %d: refused %s changed the view: %s", r, name,
                     diff);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Moving ops                                                                */

/* May replica q relay op i: it holds it, and still with its text (a holder
 * that deleted the message sends it erased: not what the origin created,
 * and the replay contract does not say what such bytes show)? */
int relay_ok(const sched *s, int q, int i)
{
    const mop *o = &s->ops[i];
    if (q < 0 || q >= s->n_rep || !m_holds(s, q, i))
        return 0;
    int msg = o->kind == K_SEND ? i : o->kind == K_EDIT ? o->target : -1;
    return msg < 0 || !m_deleted(s, q, msg);
}

/* The ops of st still there, and who relays each (-1: the origin). */
static int deliver_ops(const sched *s, const step *st, int *ops, int *relay)
{
    int n = 0;
    for (int k = 0; k < st->n_picks; k++) {
        int i = s->op_of[st->pick[k]];
        if (i < 0)
            continue;
        ops[n] = i;
        relay[n] = relay_ok(s, st->relay[k], i) ? st->relay[k] : -1;
        n++;
    }
    return n;
}

static void free_all(void **v, int n)
{
    for (int i = 0; i < n; i++)
        msglog_free(v[i]);
}

/* The bytes each op travels as: the origin's, or a holder's copy. */
static int deliver_bufs(sched *s, const int *ops, const int *relay, int n,
                        msglog_buf *bufs, void **relayed)
{
    for (int k = 0; k < n; k++) {
        const mop *o = &s->ops[ops[k]];
        bufs[k].data = o->bytes;
        bufs[k].len = o->n_bytes;
        relayed[k] = NULL;
        if (relay[k] < 0)
            continue;
        bstr cn = conv_name(s, o->conv);
        msglog_id id = {s->rep[o->origin].id, o->seq};
        size_t len = 0;
        if (msglog_op_bytes(s->rep[relay[k]].log, &relayed[k], &len, cn.p,
                            cn.n, id) != MSGLOG_OK) {
            free_all(relayed, k);
            return failf(s, "replica %d: op_bytes of a held op failed", relay[k]);
        }
        bufs[k].data = relayed[k];
        bufs[k].len = len;
    }
    return 0;
}

/* Receives the ops; *at: the one that failed (-1: the batch or none). */
static int deliver_call(sched *s, int r, const msglog_buf *bufs, int n,
                        int batch, int *at)
{
    *at = -1;
    if (batch)
        return msglog_receive_batch(s->rep[r].log, bufs, (size_t)n);
    for (int k = 0; k < n; k++) {
        int rc = msglog_receive(s->rep[r].log, bufs[k].data, bufs[k].len);
        if (rc != MSGLOG_OK) {
            *at = k;
            return rc;
        }
    }
    return MSGLOG_OK;
}

static int exec_deliver(sched *s, const step *st)
{
    int ops[MAX_PICKS], relay[MAX_PICKS], r = st->r;
    int n = deliver_ops(s, st, ops, relay);
    if (n == 0)
        return 0;
    trace_deliver(s->trace, s, r, ops, relay, n, st->batch);
    msglog_buf bufs[MAX_PICKS];
    void *relayed[MAX_PICKS];
    int rc = deliver_bufs(s, ops, relay, n, bufs, relayed), at;
    for (int k = 0; k < n; k++)
        m_receive(s, r, ops[k]);
    TRY(rc);
    s->n_deliver++;
    logv(s, "replica %d receives %d ops%s (first %s of %d)", r, n,
         st->batch ? " as one batch" : "", kind_name[s->ops[ops[0]].kind],
         s->ops[ops[0]].origin);
    rc = deliver_call(s, r, bufs, n, st->batch, &at);
    free_all(relayed, n);
    if (rc == MSGLOG_OK)
        return 0;
    if (at < 0)
        return failf(s, "replica %d: receive_batch of %d ops -> %d (%s)", r, n,
                     rc, msglog_errmsg(s->rep[r].log));
    const mop *o = &s->ops[ops[at]];
    return failf(s, "replica %d: receive of %s %" PRIu64 ".%" PRIu64 "%s -> %d "
                 "(%s)", r, kind_name[o->kind], s->rep[o->origin].id, o->seq,
                 relay[at] >= 0 ? " (relayed)" : "", rc,
                 msglog_errmsg(s->rep[r].log));
}

/* `to` pulls from `from` through the sync protocol. */
static int sync_pull(sched *s, int from, int to, int conv)
{
    mrep *f = &s->rep[from], *t = &s->rep[to];
    bstr cn = conv >= 0 ? conv_name(s, conv) : (bstr){NULL, 0};
    void *req = NULL, *resp = NULL;
    size_t req_n = 0, resp_n = 0;
    int rc = msglog_sync_request(t->log, &req, &req_n, cn.p, cn.n);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: sync_request -> %d (%s)", to, rc,
                     msglog_errmsg(t->log));
    rc = msglog_sync_response(f->log, &resp, &resp_n, req, req_n);
    msglog_free(req);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: sync_response -> %d (%s)", from, rc,
                     msglog_errmsg(f->log));
    if (check_erased(s, from, resp, resp_n, "a sync response") != 0) {
        msglog_free(resp);
        return -1;
    }
    rc = msglog_sync_apply(t->log, resp, resp_n);
    msglog_free(resp);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: sync_apply from %d -> %d (%s)", to, from,
                     rc, msglog_errmsg(t->log));
    return 0;
}

static int exec_sync(sched *s, const step *st)
{
    logv(s, "replica %d pulls from %d (%s)", st->r, st->from,
         st->conv < 0 ? "all" : st->conv ? "conv 1" : "conv 0");
    trace_sync(s->trace, s, st->from, st->r, st->conv);
    s->n_sync++;
    int rc = sync_pull(s, st->from, st->r, st->conv);
    m_sync(s, st->from, st->r, st->conv);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The end of a schedule                                                     */

/* Replicas that delivered the same ops show identical stores, with nothing
 * pending (a full sync got them there). */
static int final_same(sched *s)
{
    char *first = NULL;
    int rc = dump_store(&first, s->rep[0].log);
    if (rc != MSGLOG_OK)
        return failf(s, "replica 0: dump -> %d", rc);
    for (int i = 1; i < s->n_rep; i++) {
        char *other = NULL;
        rc = dump_store(&other, s->rep[i].log);
        if (rc != MSGLOG_OK) {
            free(first);
            return failf(s, "replica %d: dump -> %d", i, rc);
        }
        char diff[8192];
        int differ = dump_diff(diff, sizeof diff, first, other);
        free(other);
        if (differ) {
            free(first);
            return failf(s, "after the full sync replica 0 (id %" PRIu64
                         ") and replica %d (id %" PRIu64 ") differ (< 0, > %d): %s",
                         s->rep[0].id, i, s->rep[i].id, i, diff);
        }
    }
    free(first);
    for (int i = 0; i < s->n_rep; i++)
        for (int c = 0; c < s->n_conv; c++) {
            if (!s->rep[i].holds[c])
                continue;
            bstr cn = conv_name(s, c);
            msglog_conv_info *info = NULL;
            rc = msglog_conv_info_get(s->rep[i].log, &info, cn.p, cn.n);
            if (rc != MSGLOG_OK)
                return failf(s, "replica %d: conv_info -> %d", i, rc);
            uint64_t pend = info->pending;
            msglog_free(info);
            if (pend != 0)
                return failf(s, "replica %d conv %d: %" PRIu64 " ops still "
                             "pending after the full sync", i, c, pend);
        }
    return 0;
}

/* What replica i would send a newcomer: no text deleted at i, and every
 * text of a live op delivered at i (the control). */
static int final_response(sched *s, int i, const void *req, size_t req_n)
{
    void *resp = NULL;
    size_t resp_n = 0;
    int rc = msglog_sync_response(s->rep[i].log, &resp, &resp_n, req, req_n);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: sync_response -> %d", i, rc);
    int bad = check_erased(s, i, resp, resp_n, "the full sync response");
    for (int k = 0; k < s->n_ops && !bad; k++) {
        const mop *o = &s->ops[k];
        int msg = o->kind == K_SEND ? k : o->target;
        if (o->marker < 0 || !m_delivered(s, i, k) || m_deleted(s, i, msg))
            continue;
        char mk[16];
        marker_text(o->marker, mk);
        if (!check_contains(resp, resp_n, mk, strlen(mk))) {
            s->fail_hidden = 1;
            bad = failf(s, "the full sync response of replica %d lacks the "
                        "text of live %s %" PRIu64 ".%" PRIu64, i,
                        kind_name[o->kind], s->rep[o->origin].id, o->seq);
        }
    }
    msglog_free(resp);
    return bad ? -1 : 0;
}

/* The bytes of each op replica i holds: no text deleted at i. */
static int final_op_bytes(sched *s, int i)
{
    for (int k = 0; k < s->n_ops; k++) {
        const mop *o = &s->ops[k];
        if (o->marker < 0 || !m_holds(s, i, k))
            continue;
        bstr cn = conv_name(s, o->conv);
        msglog_id id = {s->rep[o->origin].id, o->seq};
        void *b = NULL;
        size_t bn = 0;
        int rc = msglog_op_bytes(s->rep[i].log, &b, &bn, cn.p, cn.n, id);
        if (rc != MSGLOG_OK)
            return failf(s, "replica %d: op_bytes(%" PRIu64 ".%" PRIu64
                         ") -> %d", i, id.replica, id.seq, rc);
        rc = check_erased(s, i, b, bn, "op bytes");
        msglog_free(b);
        TRY(rc);
    }
    return 0;
}

static int final_erased(sched *s)
{
    msglog *fresh = NULL;
    int rc = tstore_open(&fresh, s->root, "fresh", ((uint64_t)1 << 53) - 2,
                         "nobody", NULL);
    if (rc != MSGLOG_OK) {
        msglog_close(fresh);
        return failf(s, "fresh replica: open -> %d", rc);
    }
    void *req = NULL;
    size_t req_n = 0;
    rc = msglog_sync_request(fresh, &req, &req_n, NULL, 0);
    msglog_close(fresh);
    if (rc != MSGLOG_OK)
        return failf(s, "fresh replica: sync_request -> %d", rc);
    for (int i = 0; i < s->n_rep && rc == 0; i++) {
        rc = final_response(s, i, req, req_n);
        if (rc == 0)
            rc = final_op_bytes(s, i);
    }
    msglog_free(req);
    return rc;
}

/* Drawn plans end with a full sync; a plan cut by the shrinker may not, and
 * then only what its replicas hold is compared. */
static int exec_final(sched *s)
{
    logv(s, "final checks");
    trace_check(s->trace, s);
    int all = m_all_delivered(s);
    if (s->pl->drawn && !all)
        return failf(s, "model: a replica lacks an op after the full sync "
                     "(test bug)");
    if (all)
        TRY(final_same(s));
    return final_erased(s);
}

int exec_step(sched *s, const step *st)
{
    switch (st->kind) {
    case S_CREATE:
        return exec_create(s, st);
    case S_ILLEGAL:
        return exec_illegal(s, st);
    case S_DELIVER:
        return exec_deliver(s, st);
    case S_SYNC:
        return exec_sync(s, st);
    case S_RESTART:
        logv(s, "replica %d restarts", st->r);
        trace_restart(s->trace, s, st->r);
        s->n_restart++;
        return reopen(s, st->r);
    case S_CHECK:
        trace_check(s->trace, s);
        return check_replica(s, st->r);
    case S_FINAL:
        return exec_final(s);
    }
    return failf(s, "unknown step kind %d (test bug)", st->kind);
}
