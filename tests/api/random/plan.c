/* Plans as data, and one whole run of a plan in a fresh directory. */
#include "random/sched.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "random/trace_out.h"
#include "support/tmpdir.h"

int plan_add(plan *p, const step *st)
{
    if (p->n == MAX_STEPS)
        return -1;
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 64;
        step *v = realloc(p->steps, (size_t)cap * sizeof *v);
        if (v == NULL)
            return -1;
        p->steps = v;
        p->cap = cap;
    }
    p->steps[p->n++] = *st;
    return 0;
}

int plan_copy(plan *out, const plan *p)
{
    *out = *p;
    out->steps = malloc(((size_t)p->n + 1) * sizeof *out->steps);
    if (out->steps == NULL)
        return -1;
    memcpy(out->steps, p->steps, (size_t)p->n * sizeof *out->steps);
    out->cap = p->n;
    return 0;
}

void plan_free_steps(plan *p)
{
    free(p->steps);
    p->steps = NULL;
    p->n = p->cap = 0;
}

char *arena_keep(arena *a, char *body)
{
    if (body == NULL)
        return NULL;
    if (a->n == a->cap) {
        int cap = a->cap ? a->cap * 2 : 64;
        char **v = realloc(a->p, (size_t)cap * sizeof *v);
        if (v == NULL) {
            free(body);
            return NULL;
        }
        a->p = v;
        a->cap = cap;
    }
    a->p[a->n++] = body;
    return body;
}

void arena_free(arena *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->p[i]);
    free(a->p);
    memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------------------------ */

static int run_steps(sched *s, int draw)
{
    if (draw) {
        rng_seed(&s->r, s->pl->seed);
        TRY(gen_setup(s));
        TRY(sched_open(s));
        return gen_steps(s);
    }
    TRY(sched_open(s));
    for (int i = 0; i < s->pl->n; i++) {
        s->at = i;
        s->kind = s->pl->steps[i].kind;
        TRY(exec_step(s, &s->pl->steps[i]));
    }
    return 0;
}

static void sched_free(sched *s)
{
    for (int i = 0; i < s->n_rep; i++)
        msglog_close(s->rep[i].log);
    for (int i = 0; i < s->n_ops; i++) {
        free(s->ops[i].refs);
        msglog_free(s->ops[i].bytes);
    }
    free(s->digs);
    if (s->root != NULL)
        tmpdir_remove(s->root);
    free(s->root);
    free(s);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) +
           (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int plan_run(plan *p, int draw, int verbose, trace_out *trace, outcome *out)
{
    memset(out, 0, sizeof *out);
    sched *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    s->pl = p;
    s->verbose = verbose;
    s->trace = trace;
    s->at = -1;
    for (int i = 0; i < MAX_STEPS; i++)
        s->op_of[i] = -1;
    if (draw)
        p->drawn = 1;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s->root = tmpdir_make_fast("msglog-random-");
    int rc = s->root == NULL ? failf(s, "cannot make a directory")
                             : run_steps(s, draw);
    out->secs = seconds_since(&t0);
    trace_end(trace, s, rc != 0);
    out->failed = rc != 0;
    out->kind = s->fail_kind;
    out->at = s->fail_at;
    out->hidden = s->fail_hidden;
    out->reason = rc != 0 ? strdup(s->reason) : NULL;
    out->n_ops = s->n_ops;
    out->n_deliver = s->n_deliver;
    out->n_sync = s->n_sync;
    out->n_restart = s->n_restart;
    out->n_refused = s->n_refused;
    sched_free(s);
    return 0;
}

void outcome_clear(outcome *o)
{
    free(o->reason);
    o->reason = NULL;
}
