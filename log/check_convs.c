/* The check's totals (log/check.h): each conversation's state against what
 * the walk of its records found, and the pending buffer's totals. A
 * conversation one of whose records was reported is left out: its totals
 * would only say again that something is missing. */
#include "log/check.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log/records.h"
#include "msglog.h"

/* "conversation NAME is damaged (why)". */
static void conv_problem(check_ctx *c, const check_conv *cv, const char *why)
{
    char line[600];
    snprintf(line, sizeof line, "conversation %.*s is damaged (%s)", (int)cv->name.len,
             (const char *)cv->name.data, why);
    check_line(c->r, line);
}

/* The vector as "R:S R:S", cut to fit n bytes. */
static void vv_text(char *out, size_t n, const vv *v)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < v->n && at + 1 < n; i++) {
        int w = snprintf(out + at, n - at, "%s%" PRIu64 ":%" PRIu64, i ? " " : "",
                         v->e[i].replica, v->e[i].seq);
        at = w < 0 ? n : at + (size_t)w;
    }
}

static void check_vector(check_ctx *c, const check_conv *cv)
{
    if (vv_equal(&cv->seen, &cv->st.delivered))
        return;
    char want[96], have[96], why[240];
    vv_text(want, sizeof want, &cv->st.delivered);
    vv_text(have, sizeof have, &cv->seen);
    snprintf(why, sizeof why, "its vector is [%s], its ops are [%s]", want, have);
    conv_problem(c, cv, why);
}

static void check_counts(check_ctx *c, const check_conv *cv)
{
    char why[160];
    if (cv->st.n_messages != cv->sends || cv->msgs != cv->sends) {
        snprintf(why, sizeof why, "it counts %" PRIu64 " messages, its ops hold %" PRIu64
                 " sends, its message states %" PRIu64, cv->st.n_messages, cv->sends, cv->msgs);
        conv_problem(c, cv, why);
    }
    if (cv->st.pending != cv->pending_ids) {
        snprintf(why, sizeof why, "it counts %" PRIu64 " pending ops, the pending buffer holds %"
                 PRIu64, cv->st.pending, cv->pending_ids);
        conv_problem(c, cv, why);
    }
    /* A rebuild (evidence) may swap in versions of other hlcs: the maximum
     * of what was delivered stays. */
    if (!cv->has_evidence && cv->st.maxhlc != cv->maxhlc)
        conv_problem(c, cv, "its maximum hlc is not its ops'");
    if (cv->st.dig.lo != cv->dig.lo || cv->st.dig.hi != cv->dig.hi)
        conv_problem(c, cv, "its digest is not the sum of its ops' hashes");
}

/* Every read marker is on a send, at that send's position. */
static void check_reads(check_ctx *c, const check_conv *cv)
{
    for (size_t i = 0; i < cv->st.n_reads; i++) {
        const read_marker *m = &cv->st.reads[i];
        uint8_t kind;
        uint64_t hlc;
        int rc = oprec_get(c->t, cv->cid, m->msg, &kind, &hlc, NULL, NULL);
        if (rc == MSGLOG_ECORRUPT || (rc == MSGLOG_OK && kind == OP_SEND && hlc == m->hlc))
            continue;   /* damage is reported where the walk found it */
        char why[400];
        snprintf(why, sizeof why, "the read marker of %.*s is on no message", (int)m->user_len,
                 (const char *)m->user);
        conv_problem(c, cv, why);
    }
}

static void check_pending_totals(check_ctx *c)
{
    if (!c->has_totals && c->pending_ops == 0)
        return;
    if (c->totals_ops == c->pending_ops && c->totals_bytes == c->pending_bytes)
        return;
    char line[200];
    snprintf(line, sizeof line, "meta record pending_totals is damaged (it counts %" PRIu64
             " ops of %" PRIu64 " bytes, the pending buffer holds %" PRIu64 " of %" PRIu64 ")",
             c->totals_ops, c->totals_bytes, c->pending_ops, c->pending_bytes);
    check_line(c->r, line);
}

void check_totals(check_ctx *c)
{
    for (size_t i = 0; i < c->n_convs; i++) {
        const check_conv *cv = &c->convs[i];
        if (!cv->has_state && !cv->damaged)
            conv_problem(c, cv, "it has no state");
        if (!cv->has_state || cv->damaged)
            continue;
        check_vector(c, cv);
        check_counts(c, cv);
        check_reads(c, cv);
    }
    check_pending_totals(c);
}
