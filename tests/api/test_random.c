/*
 * Seeded random convergence test.
 *
 * Each schedule opens 3-5 replicas (some sharing a user) and runs a random
 * mix of legal ops (send/edit/delete/react/unreact/read), a few illegal ones
 * (which must be refused with MSGLOG_EDENIED and change nothing), partial
 * deliveries of the bytes each op had when it was created or of a relay's
 * msglog_op_bytes() copy (subsets, duplicates, any order, single or
 * batched), partial one-way syncs (one conversation or all), restarts and
 * clock readings that jump, repeat and go backwards.
 *
 * Beside the stores runs a model of the merge rules (docs/design.md): which ops each replica holds
 * (delivered / pending) and, from that alone, the view each must show. After
 * most steps the touched replica's whole view (conversations, vv, pending,
 * read markers, every message with every field and reaction) is compared
 * with the model; digests are checked by their rule (same delivered set in a
 * conversation <=> same digest, at any replica and any time). At the end
 * every pair syncs both ways twice, and every replica must show the same
 * view as the model and as each other, with nothing pending, and no sync
 * response may carry the text of a deleted message or of its edits.
 *
 * The parts are in random/ (sched.h says how they fit). A schedule is
 * recorded as a plan while it runs; the first one that fails is shrunk to a
 * small plan that still fails and written as a replay trace with the
 * model's expected output (random/shrink.c, random/trace_out.h), ready to be
 * kept in tests/regress/.
 *
 *   MSGLOG_SEED=<n>       replay exactly the schedule with seed n
 *   MSGLOG_SCHEDULES=<n>  run exactly n schedules (default: 2000, or as
 *                         many as fit in 45 s, whichever is fewer)
 *   MSGLOG_BASE_SEED=<n>  the base seed (default: from the time and pid)
 *   MSGLOG_VERBOSE=1      print every step
 *   MSGLOG_SHRINK=0       do not shrink a failing schedule (default: shrink
 *                         the first one and write its trace)
 *   MSGLOG_SHRINK_SECONDS=<s>  time for shrinking (default 300)
 *   MSGLOG_REGRESS_DIR=<dir>   where traces go (default: shrunk/ in the
 *                         build's tests directory)
 *   MSGLOG_TRACE=1        with MSGLOG_SEED: write the schedule's trace even
 *                         when it passes (not shrunk)
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "random/sched.h"
#include "random/shrink.h"
#include "random/trace_out.h"
#include "support/tmpdir.h"

#ifndef MSGLOG_SHRINK_DIR   /* both set by tests/CMakeLists.txt */
#define MSGLOG_SHRINK_DIR "shrunk"
#endif
#ifndef MSGLOG_CHECK_CMD
#define MSGLOG_CHECK_CMD "python3 tests/conformance/run.py build/msglog"
#endif

static uint64_t env_u64(const char *name, int *set)
{
    const char *v = getenv(name);
    *set = v != NULL && *v != '\0';
    return *set ? strtoull(v, NULL, 0) : 0;
}

static uint64_t env_or(const char *name, uint64_t dflt)
{
    int set;
    uint64_t v = env_u64(name, &set);
    return set ? v : dflt;
}

static void plan_free(plan *p)
{
    plan_free_steps(p);
    if (p->bodies != NULL)
        arena_free(p->bodies);
    free(p->bodies);
    p->bodies = NULL;
}

/* Draws and runs the schedule of `seed`. On failure, *failed_plan (when
 * not NULL) receives the plan as drawn; else it is freed. */
static int run_schedule(uint64_t seed, int verbose, double *secs,
                        plan *failed_plan, outcome *failure)
{
    plan p = {.seed = seed, .bodies = calloc(1, sizeof(arena))};
    cr_assert_not_null(p.bodies);
    outcome o;
    cr_assert_eq(plan_run(&p, 1, verbose, NULL, &o), 0, "out of memory");
    *secs = o.secs;
    if (o.failed)
        fprintf(stderr, "random: FAILED seed=%" PRIu64 " at step %d (%s): %s\n"
                "random: replay with MSGLOG_SEED=%" PRIu64 " (MSGLOG_VERBOSE=1 "
                "prints every step)\n", seed, o.at, step_name[o.kind],
                o.reason, seed);
    else if (verbose)
        fprintf(stderr, "random: seed=%" PRIu64 " ok: %d ops, %d deliveries, "
                "%d syncs, %d restarts, %d refused\n", seed, o.n_ops,
                o.n_deliver, o.n_sync, o.n_restart, o.n_refused);
    int rc = o.failed;
    if (o.failed && failed_plan != NULL) {
        *failed_plan = p;
        *failure = o;
    } else {
        plan_free(&p);
        outcome_clear(&o);
    }
    return rc;
}

/* The directory traces go to, created when missing. */
static const char *trace_dir(void)
{
    const char *dir = getenv("MSGLOG_REGRESS_DIR");
    if (dir == NULL || *dir == '\0')
        dir = MSGLOG_SHRINK_DIR;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        fprintf(stderr, "random: cannot create %s: %s\n", dir, strerror(errno));
    return dir;
}

/* Runs p once more, writing its replay trace as case `name`. */
static int write_trace(plan *p, const char *name, trace_summary *sum,
                       outcome *o)
{
    memset(o, 0, sizeof *o);
    trace_out *t = trace_open(trace_dir(), name);
    if (t == NULL)
        return -1;
    int rc = plan_run(p, 0, 0, t, o);
    return trace_close(t, sum) != 0 || rc != 0 ? -1 : 0;
}

static void report_trace(const trace_summary *sum, const outcome *o)
{
    fprintf(stderr, "random: wrote %s (%d lines, %d checks)\n"
            "random:   and %s\n", sum->trace, sum->lines, sum->checks,
            sum->expected);
    if (o->failed)
        fprintf(stderr, "random: it fails at step %d (%s): %s\n", o->at,
                step_name[o->kind], o->reason);
    else
        fprintf(stderr, "random: note: the schedule passed this time\n");
    if (sum->approx > 0)
        fprintf(stderr, "random: note: %d deliveries were a batch or relayed "
                "copies, which a trace delivers one by one as the origin's "
                "bytes; the trace may not reproduce the failure\n", sum->approx);
    if (sum->hidden)
        fprintf(stderr, "random: note: the failure is in bytes or in an effect "
                "of a refused op, which a replay does not show; the trace will "
                "not reproduce it\n");
    fprintf(stderr, "random: check it (it must fail on the library as it is, "
            "and pass once fixed) with:\n  %s %s\n", MSGLOG_CHECK_CMD,
            trace_dir());
}

/* Shrinks the failing plan p and writes it as case seed_<seed>. */
static void shrink_and_write(plan *p, const outcome *failure)
{
    shrink_stats st;
    double budget = (double)env_or("MSGLOG_SHRINK_SECONDS", 300);
    fprintf(stderr, "random: shrinking seed %" PRIu64 " (MSGLOG_SHRINK=0 skips "
            "this; at most %.0f s)\n", p->seed, budget);
    shrink_plan(p, failure->kind, failure->at, budget, &st);
    fprintf(stderr, "random: shrunk seed %" PRIu64 ": %d steps (up to the "
            "failure) -> %d, %d replicas -> %d; %d runs, %.1f s%s\n", p->seed,
            st.steps_before, st.steps_after, st.replicas_before,
            st.replicas_after, st.runs, st.secs,
            st.timed_out ? " (time is up: smaller, maybe not minimal)" : "");
    char name[64];
    snprintf(name, sizeof name, "seed_%" PRIu64, p->seed);
    trace_summary sum;
    outcome o;
    if (write_trace(p, name, &sum, &o) == 0)
        report_trace(&sum, &o);
    outcome_clear(&o);
}

/* MSGLOG_TRACE=1: the trace of one schedule as drawn, failing or not. */
static void trace_seed(uint64_t seed)
{
    plan p = {.seed = seed, .bodies = calloc(1, sizeof(arena))};
    cr_assert_not_null(p.bodies);
    outcome o;
    cr_assert_eq(plan_run(&p, 1, 0, NULL, &o), 0, "out of memory");
    outcome_clear(&o);
    char name[64];
    snprintf(name, sizeof name, "seed_%" PRIu64 "_full", seed);
    trace_summary sum;
    if (write_trace(&p, name, &sum, &o) == 0)
        report_trace(&sum, &o);
    outcome_clear(&o);
    plan_free(&p);
}

static void replay_one(uint64_t seed, int verbose, int shrink)
{
    double secs;
    plan p;
    outcome o;
    fprintf(stderr, "random: replaying seed %" PRIu64 "\n", seed);
    int failed = run_schedule(seed, verbose, &secs, shrink ? &p : NULL, &o);
    if (failed && shrink) {
        shrink_and_write(&p, &o);
        plan_free(&p);
        outcome_clear(&o);
    }
    if (env_or("MSGLOG_TRACE", 0))
        trace_seed(seed);
    cr_assert_eq(failed, 0, "schedule with seed %" PRIu64 " failed", seed);
}

/* No Criterion timeout of its own: the default run stops itself after 45 s,
 * and a long run (make soak) takes as long as its schedule count needs;
 * ctest's own timeout still bounds a hang in make test. */
Test(random, convergence, .timeout = 86400)
{
    init_orders();
    int set_seed, set_n, set_base;
    uint64_t one = env_u64("MSGLOG_SEED", &set_seed);
    uint64_t count = env_u64("MSGLOG_SCHEDULES", &set_n);
    uint64_t base = env_u64("MSGLOG_BASE_SEED", &set_base);
    int verbose = env_or("MSGLOG_VERBOSE", 0) != 0;
    int shrink = env_or("MSGLOG_SHRINK", 1) != 0;
    const double budget = 45.0;   /* seconds, only without MSGLOG_SCHEDULES */
    if (set_seed) {
        replay_one(one, verbose, shrink);
        return;
    }
    if (!set_n)
        count = 2000;
    if (!set_base) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        base = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^
               ((uint64_t)getpid() << 32);
    }
    fprintf(stderr, "random: base seed %" PRIu64 " (MSGLOG_BASE_SEED), %s%" PRIu64
            " schedules\n", base, set_n ? "" : "up to ", count);
    uint64_t state = base, failed = 0, first_failed = 0, i;
    plan first_plan;
    outcome first_outcome;
    double total = 0, secs;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (i = 0; i < count; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!set_n && (double)(now.tv_sec - start.tv_sec) > budget)
            break;
        uint64_t seed = rng_splitmix64(&state);
        int keep = failed == 0 && shrink;
        if (run_schedule(seed, verbose, &secs, keep ? &first_plan : NULL,
                         &first_outcome) != 0 && failed++ == 0)
            first_failed = seed;
        total += secs;
    }
    count = i;
    fprintf(stderr, "random: %" PRIu64 " schedules, %" PRIu64 " failed, %.1f s\n",
            count, failed, total);
    seen_print();
    if (failed > 0 && shrink) {
        shrink_and_write(&first_plan, &first_outcome);
        plan_free(&first_plan);
        outcome_clear(&first_outcome);
    }
    cr_assert_eq(failed, 0, "%" PRIu64 " of %" PRIu64 " schedules failed; first "
                 "seed %" PRIu64, failed, count, first_failed);
}

/* ------------------------------------------------------------------------ */
/* The shrinker's own test                                                   */

static int fails_as(plan *p, int cls)
{
    outcome o;
    cr_assert_eq(plan_run(p, 0, 0, NULL, &o), 0, "out of memory");
    int same = o.failed && failure_class(o.kind) == cls;
    outcome_clear(&o);
    return same;
}

/* Removing any one step of a shrunk plan makes it pass (or fail
 * otherwise): nothing in it is superfluous. */
static void assert_one_minimal(const plan *p, int cls)
{
    for (int i = 0; i < p->n; i++) {
        plan c;
        cr_assert_eq(plan_copy(&c, p), 0);
        memmove(&c.steps[i], &c.steps[i + 1],
                (size_t)(c.n - i - 1) * sizeof *c.steps);
        c.n--;
        cr_assert(!fails_as(&c, cls), "the shrunk plan still fails without "
                  "its step %d (%s)", i, step_name[p->steps[i].kind]);
        plan_free_steps(&c);
    }
}

/* The last line of the written trace is a check, and there is output. */
static void assert_trace_written(const trace_summary *sum)
{
    void *text = NULL, *expect = NULL;
    size_t n = 0, m = 0;
    cr_assert_eq(tmpdir_read_file(sum->trace, &text, &n), 0);
    cr_assert_eq(tmpdir_read_file(sum->expected, &expect, &m), 0);
    const char *tail = "{\"ev\":\"check\"}\n";
    cr_assert(n > strlen(tail) && memcmp((char *)text + n - strlen(tail), tail,
                                         strlen(tail)) == 0);
    cr_assert_gt(m, 0);
    cr_assert_eq(sum->checks, 1);
    free(text);
    free(expect);
}

/* With a model that is wrong on purpose, schedules fail against the correct
 * library: the first failing one must shrink to a small plan that still
 * fails the same way, is 1-minimal, and is written as a trace. */
Test(random, shrinker, .timeout = 300)
{
    init_orders();
    model_fault = 1;
    uint64_t state = 20261127;
    plan p;
    outcome o = {0};
    for (int i = 0; i < 300 && !o.failed; i++) {
        p = (plan){.seed = rng_splitmix64(&state),
                   .bodies = calloc(1, sizeof(arena))};
        cr_assert_eq(plan_run(&p, 1, 0, NULL, &o), 0, "out of memory");
        if (!o.failed)
            plan_free(&p);
    }
    cr_assert(o.failed, "no schedule failed with the faulty model");
    shrink_stats st;
    shrink_plan(&p, o.kind, o.at, 120, &st);
    fprintf(stderr, "random: shrinker test: seed %" PRIu64 ", %d steps -> %d, "
            "%d replicas -> %d, %d runs, %.1f s\n", p.seed, st.steps_before,
            st.steps_after, st.replicas_before, st.replicas_after, st.runs,
            st.secs);
    cr_assert(!st.timed_out);
    cr_assert_lt(st.steps_after, st.steps_before);
    int cls = failure_class(o.kind);
    cr_assert(fails_as(&p, cls), "the shrunk plan does not fail");
    assert_one_minimal(&p, cls);
    char *dir = tmpdir_make("msglog-shrink-");
    cr_assert_not_null(dir);
    setenv("MSGLOG_REGRESS_DIR", dir, 1);
    trace_summary sum;
    outcome w;
    cr_assert_eq(write_trace(&p, "shrunk", &sum, &w), 0);
    cr_assert(w.failed);
    assert_trace_written(&sum);
    outcome_clear(&w);
    outcome_clear(&o);
    plan_free(&p);
    tmpdir_remove(dir);
    free(dir);
}
