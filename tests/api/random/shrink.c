/*
 * Shrinking a failing plan: remove what the failure does not need.
 *
 * Every candidate is a whole run in a fresh directory (plan_run), and is
 * kept when it still fails in a step of the same kind as the original
 * failure (a check and the final checks count as one kind), so that the
 * shrinker does not wander off to another failure. Steps after the failing
 * one never ran and are dropped without a run. Passes, repeated until none
 * removes anything or the time is up:
 *   1. chunks of steps, halving the size down to single steps, from the end
 *      (ddmin's complement removal, greedy);
 *   2. whole replicas (their steps go, the others are renumbered);
 *   3. simpler steps: a delivery without its batch, relays or one of its
 *      ops, a sync of one conversation instead of all, a body cut to its
 *      marker; so the trace, which cannot batch or relay, shows the plan as
 *      it ran whenever the failure does not need them.
 */
#include "random/shrink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct shrinker {
    int kind;          /* the failure's class */
    double deadline;   /* CLOCK_MONOTONIC seconds */
    int runs;
} shrinker;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int failure_class(int kind)
{
    return kind == S_FINAL ? S_CHECK : kind;
}

/* Does cand still fail the same way? Then it is cut after its failing step
 * and becomes *p. cand is consumed either way. */
static int try_plan(shrinker *k, plan *p, plan *cand)
{
    if (now_s() > k->deadline) {
        plan_free_steps(cand);
        return 0;
    }
    outcome o;
    cand->drawn = 0;
    k->runs++;
    int same = plan_run(cand, 0, 0, NULL, &o) == 0 && o.failed &&
               failure_class(o.kind) == k->kind;
    if (same) {
        cand->n = o.at + 1 > 0 ? o.at + 1 : 0;
        plan_free_steps(p);
        *p = *cand;
    } else {
        plan_free_steps(cand);
    }
    outcome_clear(&o);
    return same;
}

/* Steps [from, to) removed. */
static int try_without(shrinker *k, plan *p, int from, int to)
{
    plan cand;
    if (plan_copy(&cand, p) != 0)
        return 0;
    memmove(&cand.steps[from], &cand.steps[to],
            (size_t)(cand.n - to) * sizeof *cand.steps);
    cand.n -= to - from;
    return try_plan(k, p, &cand);
}

static int pass_chunks(shrinker *k, plan *p)
{
    int removed = 0;
    for (int size = p->n / 2 > 1 ? p->n / 2 : 1; size >= 1; size /= 2)
        for (int end = p->n; end > 0;) {
            int start = end - size > 0 ? end - size : 0;
            if (try_without(k, p, start, end))
                removed = 1;
            end = start < p->n ? start : p->n;
        }
    return removed;
}

/* ------------------------------------------------------------------------ */
/* Replicas                                                                  */

/* Does st stay when replica q goes? Renumbers it if so. */
static int keep_step(step *st, int q)
{
    if (st->kind != S_FINAL && st->r == q)
        return 0;
    if (st->kind == S_SYNC && st->from == q)
        return 0;
    st->r -= st->kind != S_FINAL && st->r > q;
    st->from -= st->kind == S_SYNC && st->from > q;
    for (int i = 0; st->kind == S_DELIVER && i < st->n_picks; i++)
        st->relay[i] = st->relay[i] == q ? -1 : st->relay[i] - (st->relay[i] > q);
    return 1;
}

static int try_without_replica(shrinker *k, plan *p, int q)
{
    plan cand;
    if (plan_copy(&cand, p) != 0)
        return 0;
    for (int i = q; i + 1 < cand.n_rep; i++) {
        cand.id[i] = cand.id[i + 1];
        cand.user[i] = cand.user[i + 1];
        cand.clock0[i] = cand.clock0[i + 1];
    }
    cand.n_rep--;
    int n = 0;
    for (int i = 0; i < cand.n; i++)
        if (keep_step(&cand.steps[i], q))
            cand.steps[n++] = cand.steps[i];
    cand.n = n;
    return try_plan(k, p, &cand);
}

static int pass_replicas(shrinker *k, plan *p)
{
    int removed = 0;
    for (int q = p->n_rep - 1; q >= 0 && p->n_rep > 1; q--)
        if (q < p->n_rep)
            removed |= try_without_replica(k, p, q);
    return removed;
}

/* ------------------------------------------------------------------------ */
/* Simpler steps                                                             */

/* Step i replaced by *st. */
static int try_step(shrinker *k, plan *p, int i, const step *st)
{
    plan cand;
    if (plan_copy(&cand, p) != 0)
        return 0;
    cand.steps[i] = *st;
    return try_plan(k, p, &cand);
}

static void drop_pick(step *st, int j)
{
    for (int k = j; k + 1 < st->n_picks; k++) {
        st->pick[k] = st->pick[k + 1];
        st->relay[k] = st->relay[k + 1];
    }
    st->n_picks--;
}

/* Step i is a delivery: without its batch, its relays, each of its ops. */
static int simpler_delivery(shrinker *k, plan *p, int i)
{
    int changed = 0;
    step st = p->steps[i];
    if (st.batch) {
        st.batch = 0;
        changed |= try_step(k, p, i, &st);
    }
    for (int j = 0; j < p->steps[i].n_picks; j++) {
        st = p->steps[i];
        if (st.relay[j] < 0)
            continue;
        st.relay[j] = -1;
        changed |= try_step(k, p, i, &st);
    }
    for (int j = 0; j < p->steps[i].n_picks && p->steps[i].n_picks > 1;) {
        st = p->steps[i];
        drop_pick(&st, j);
        if (try_step(k, p, i, &st))
            changed = 1;
        else
            j++;
    }
    return changed;
}

static int simpler_sync(shrinker *k, plan *p, int i)
{
    for (int c = 0; c < p->n_conv; c++) {
        step st = p->steps[i];
        st.conv = c;
        if (try_step(k, p, i, &st))
            return 1;
    }
    return 0;
}

/* The body cut to its marker (to "" when it has none). */
static int simpler_body(shrinker *k, plan *p, int i)
{
    step st = p->steps[i];
    char mk[16] = "";
    if (st.marker >= 0)
        marker_text(st.marker, mk);
    if (st.body_len <= strlen(mk))
        return 0;
    st.body = arena_keep(p->bodies, strdup(mk));
    st.body_len = strlen(mk);
    return st.body != NULL && try_step(k, p, i, &st);
}

static int pass_simpler(shrinker *k, plan *p)
{
    int changed = 0;
    for (int i = 0; i < p->n; i++) {
        const step *st = &p->steps[i];
        if (st->kind == S_DELIVER)
            changed |= simpler_delivery(k, p, i);
        else if (st->kind == S_SYNC && st->conv < 0 && p->n_conv > 1)
            changed |= simpler_sync(k, p, i);
        else if (st->kind == S_CREATE && st->body != NULL)
            changed |= simpler_body(k, p, i);
    }
    return changed;
}

void shrink_plan(plan *p, int fail_kind, int fail_at, double budget_s,
                 shrink_stats *st)
{
    shrinker k = {failure_class(fail_kind), now_s() + budget_s, 0};
    double t0 = now_s();
    p->n = fail_at + 1 > 0 ? fail_at + 1 : 0;   /* the rest never ran */
    st->steps_before = p->n;
    st->replicas_before = p->n_rep;
    int changed = 1;
    while (changed && now_s() < k.deadline) {
        changed = pass_chunks(&k, p);
        changed |= pass_replicas(&k, p);
        changed |= pass_simpler(&k, p);
    }
    st->timed_out = now_s() >= k.deadline;
    st->runs = k.runs;
    st->secs = now_s() - t0;
    st->steps_after = p->n;
    st->replicas_after = p->n_rep;
}
