/*
 * Comparing the library with the model: a replica's conversation list and
 * whole view (formatted by the same code, support/dump.c, on both sides),
 * digests by their rule, and texts that a delete must have erased.
 */
#include "random/sched.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/check.h"
#include "support/dump.h"

/* What the schedules reached, summed over the run (printed at the end). */
static struct {
    uint64_t checks, conflicts, deleted, reactions, pending, ties, reads;
} seen;

void seen_print(void)
{
    fprintf(stderr, "random: %" PRIu64 " conversation checks; seen: %" PRIu64
            " with pending ops, %" PRIu64 " with read markers, %" PRIu64
            " equal-hlc neighbours, %" PRIu64 " conflicted, %" PRIu64
            " deleted, %" PRIu64 " reacted messages\n", seen.checks, seen.pending,
            seen.reads, seen.ties, seen.conflicts, seen.deleted, seen.reactions);
}

static void seen_count(const mview *v)
{
    seen.checks++;
    seen.pending += v->info.pending > 0;
    seen.reads += v->info.n_read > 0;
    for (size_t k = 0; k < v->n; k++) {
        seen.ties += k > 0 && v->msgs[k].hlc == v->msgs[k - 1].hlc;
        seen.conflicts += v->msgs[k].conflict;
        seen.deleted += v->msgs[k].deleted;
        seen.reactions += v->msgs[k].n_reactions > 0;
    }
}

int failf(sched *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->reason, sizeof s->reason, fmt, ap);
    va_end(ap);
    s->fail_kind = s->kind;
    s->fail_at = s->at;
    return -1;
}

void logv(sched *s, const char *fmt, ...)
{
    if (!s->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  [%d] ", s->at);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

void marker_text(int marker, char out[16])
{
    snprintf(out, 16, "<<M%05d>>", marker);
}

/* The model's text for conv c at replica r, with the library's digest. */
static char *m_expect(sched *s, int r, int c, const uint8_t digest[16])
{
    mview v;
    if (mview_build(&v, s, r, c) != 0)
        return NULL;
    memcpy(v.info.digest, digest, 16);
    seen_count(&v);
    bstr cn = conv_name(s, c);
    char *text = dump_format(cn.p, cn.n, &v.info, v.msgs, v.n);
    mview_free(&v);
    return text;
}

static void vv_text(const sched *s, const uint64_t *vv, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int q = 0; q < s->n_rep && n < cap; q++)
        n += (size_t)snprintf(out + n, cap - n, "%s%" PRIu64 ":%" PRIu64,
                              q ? " " : "", s->rep[q].id, vv[q]);
}

static int remember_digest(sched *s, int c, const uint64_t *vv,
                           const uint8_t d[16])
{
    if (s->n_digs == s->cap_digs) {
        size_t cap = s->cap_digs ? s->cap_digs * 2 : 64;
        dig *nd = realloc(s->digs, cap * sizeof *nd);
        if (nd == NULL)
            return failf(s, "out of memory");
        s->digs = nd;
        s->cap_digs = cap;
    }
    dig *x = &s->digs[s->n_digs++];
    x->conv = c;
    memcpy(x->vv, vv, sizeof x->vv);
    memcpy(x->d, d, 16);
    return 0;
}

/* Same delivered set <=> same digest, across replicas and time. */
static int check_digest(sched *s, int r, int c, const uint8_t d[16])
{
    const uint64_t *vv = s->rep[r].vv[c];
    for (size_t i = 0; i < s->n_digs; i++) {
        const dig *x = &s->digs[i];
        if (x->conv != c)
            continue;
        int same_vv = memcmp(x->vv, vv, sizeof x->vv) == 0;
        int same_d = memcmp(x->d, d, 16) == 0;
        if (same_vv && !same_d) {
            char t[256];
            vv_text(s, vv, t, sizeof t);
            return failf(s, "replica %d (id %" PRIu64 ") conv %d: digest differs "
                         "from an earlier one for the same delivered ops (vv %s)",
                         r, s->rep[r].id, c, t);
        }
        if (!same_vv && same_d) {
            char t1[256], t2[256];
            vv_text(s, vv, t1, sizeof t1);
            vv_text(s, x->vv, t2, sizeof t2);
            return failf(s, "replica %d (id %" PRIu64 ") conv %d: same digest for "
                         "different delivered sets (vv %s vs %s)", r,
                         s->rep[r].id, c, t1, t2);
        }
        if (same_vv)
            return 0;
    }
    return remember_digest(s, c, vv, d);
}

/* The conversations r lists: those it holds an op of, bytewise. */
static int check_conv_list(sched *s, int r)
{
    mrep *p = &s->rep[r];
    msglog_str *convs = NULL;
    size_t n = 0;
    int rc = msglog_conversations(p->log, &convs, &n);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: msglog_conversations -> %d (%s)", r, rc,
                     msglog_errmsg(p->log));
    int want[MAX_CONV], nw = 0;
    for (int c = 0; c < s->n_conv; c++)
        if (p->holds[c])
            want[nw++] = c;
    if (nw == 2 && bstr_cmp(conv_name(s, want[0]).p, conv_name(s, want[0]).n,
                            conv_name(s, want[1]).p, conv_name(s, want[1]).n) > 0) {
        int t = want[0];
        want[0] = want[1];
        want[1] = t;
    }
    if (n != (size_t)nw) {
        msglog_free(convs);
        return failf(s, "replica %d (id %" PRIu64 "): lists %zu conversations, "
                     "model %d", r, p->id, n, nw);
    }
    for (int i = 0; i < nw; i++) {
        bstr cn = conv_name(s, want[i]);
        if (convs[i].len != cn.n || memcmp(convs[i].data, cn.p, cn.n) != 0) {
            msglog_free(convs);
            return failf(s, "replica %d: conversation %d of the list is not the "
                         "expected one (bytewise order)", r, i);
        }
    }
    msglog_free(convs);
    return 0;
}

/* One conversation of r, every field, against the model. */
static int check_conv(sched *s, int r, int c)
{
    mrep *p = &s->rep[r];
    bstr cn = conv_name(s, c);
    msglog_conv_info *info = NULL;
    int rc = msglog_conv_info_get(p->log, &info, cn.p, cn.n);
    if (!p->holds[c]) {
        msglog_free(info);
        if (rc != MSGLOG_ENOTFOUND)
            return failf(s, "replica %d: conv %d holds no op but conv_info "
                         "-> %d", r, c, rc);
        return 0;
    }
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: conv_info_get(conv %d) -> %d (%s)", r,
                     c, rc, msglog_errmsg(p->log));
    uint8_t d[16];
    memcpy(d, info->digest, 16);
    msglog_free(info);
    char *got = NULL;
    rc = dump_conv(&got, p->log, cn.p, cn.n);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: reading conv %d -> %d (%s)", r, c, rc,
                     msglog_errmsg(p->log));
    char *exp = m_expect(s, r, c, d);
    if (exp == NULL) {
        free(got);
        return failf(s, "out of memory");
    }
    char diff[8192];
    int differ = dump_diff(diff, sizeof diff, exp, got);
    free(exp);
    free(got);
    if (differ)
        return failf(s, "replica %d (id %" PRIu64 ", user %s) conv %d: "
                     "library differs from the model (< model, > library): %s",
                     r, p->id, users[p->user].p, c, diff);
    return check_digest(s, r, c, d);
}

/* msglog_check's callback: keeps the first problem. */
static void first_problem(void *ctx, const char *problem)
{
    char *first = ctx;
    if (!*first)
        snprintf(first, 400, "%s", problem);
}

/* The whole store passes msglog_check: whatever the schedule did, every
 * record, index and total is sound. */
static int check_store_whole(sched *s, int r)
{
    char first[400] = "";
    uint64_t n = 0;
    int rc = msglog_check(s->rep[r].log, first_problem, first, &n);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: msglog_check -> %d with %" PRIu64 " problems, the first: %s",
                     r, rc, n, first);
    return 0;
}

int check_replica(sched *s, int r)
{
    TRY(check_store_whole(s, r));
    TRY(check_conv_list(s, r));
    for (int c = 0; c < s->n_conv; c++)
        TRY(check_conv(s, r, c));
    return 0;
}

/* No text of a message deleted at `holder` (or of its edits) in buf. */
int check_erased(sched *s, int holder, const void *buf, size_t len,
                 const char *what)
{
    for (int i = 0; i < s->n_ops; i++) {
        const mop *o = &s->ops[i];
        if (o->marker < 0)
            continue;
        int msg = o->kind == K_SEND ? i : o->target;
        if (!m_deleted(s, holder, msg))
            continue;
        char mk[16];
        marker_text(o->marker, mk);
        if (check_contains(buf, len, mk, strlen(mk))) {
            s->fail_hidden = 1;   /* a replay shows views, not bytes */
            return failf(s, "%s of replica %d carries the text of %s %" PRIu64
                         ".%" PRIu64 " (%s) though the message is deleted there",
                         what, holder, kind_name[o->kind], s->rep[o->origin].id,
                         o->seq, mk);
        }
    }
    return 0;
}
