/* Shrinking a failing plan to a small one that still fails (shrink.c). */
#ifndef RANDOM_SHRINK_H
#define RANDOM_SHRINK_H

#include "random/sched.h"

typedef struct shrink_stats {
    int steps_before;     /* up to and with the failing step */
    int steps_after;
    int replicas_before, replicas_after;
    int runs;             /* plans run */
    int timed_out;        /* stopped by the budget: smaller, maybe not minimal */
    double secs;
} shrink_stats;

/* The failures a shrunk plan may end in instead of one in a step of this
 * kind: the same kind, with a check and the final checks as one. */
int failure_class(int kind);

/* Cuts p (which failed in step fail_at of kind fail_kind) down to a plan
 * that still fails the same way, spending at most about budget_s seconds. */
void shrink_plan(plan *p, int fail_kind, int fail_at, double budget_s,
                 shrink_stats *st);

#endif
