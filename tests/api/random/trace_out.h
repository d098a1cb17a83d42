/*
 * The replay trace (docs/cli.md) of one run of a plan, with the output the
 * model says a correct replay prints. Every hook does nothing when t is
 * NULL, so exec.c calls them unconditionally.
 *
 * How the run maps to the trace:
 * - replicas, creates (with their clock readings), syncs, restarts: as run;
 * - a delivery: a `deliver` of the same ops in the same order, always as the
 *   origin's bytes and one receive at a time; a batch or relayed copies are
 *   named in a "note" field (a replay ignores unknown fields), and counted
 *   as approximations;
 * - a check of one replica (and the final checks): a `check`, which prints
 *   every replica, with the model's view of every replica as expected
 *   output; digests by class (same delivered set, same "D<n>");
 * - an illegal op that was refused as it must be: left out (it must change
 *   nothing); one that failed: the last line, and the case becomes an
 *   error case (NAME.error holds its line number);
 * - the trace ends with a `check` (after a failing step that is not a
 *   check: of the state the step must have led to), unless it ends with
 *   an op that must be refused.
 */
#ifndef RANDOM_TRACE_OUT_H
#define RANDOM_TRACE_OUT_H

#include "random/sched.h"

typedef struct trace_out trace_out;

/* Starts DIR/NAME.trace.jsonl and DIR/NAME.expected.jsonl; NULL on error
 * (printed). */
trace_out *trace_open(const char *dir, const char *name);

void trace_replica(trace_out *t, const sched *s, int r);
void trace_op(trace_out *t, const sched *s, int i);
void trace_refused(trace_out *t, const sched *s, const step *st, int target);
void trace_deliver(trace_out *t, const sched *s, int r, const int *ops,
                   const int *relay, int n, int batch);
void trace_sync(trace_out *t, const sched *s, int from, int to, int conv);
void trace_restart(trace_out *t, const sched *s, int r);
void trace_check(trace_out *t, const sched *s);
/* At the end of the run (s still open). */
void trace_end(trace_out *t, const sched *s, int failed);

/* What was written, for the report. */
typedef struct trace_summary {
    char trace[4096], expected[4096];   /* paths; expected: .error or .jsonl */
    int lines, checks, error_line, approx, hidden;
} trace_summary;

/* Finishes the files. Returns 0, or -1 on a write error (printed). */
int trace_close(trace_out *t, trace_summary *sum);

#endif
