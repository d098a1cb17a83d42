/* The replay trace of a run and the model's expected output (trace_out.h). */
#include "random/trace_out.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/trace_writer.h"

/* A digest class: one delivered set, i.e. a conversation and a vv. All
 * empty sets are one class, whatever the conversation (conv -1). */
typedef struct dclass {
    int conv;
    uint64_t vv[MAX_REP];
} dclass;

struct trace_out {
    FILE *f, *x;   /* the trace, the expected output */
    trace_summary sum;
    char error_path[4096];
    int last_check;   /* the last trace line is a check */
    dclass *cls;
    int n_cls, cap_cls;
    int oom;
};

trace_out *trace_open(const char *dir, const char *name)
{
    trace_out *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    snprintf(t->sum.trace, sizeof t->sum.trace, "%s/%s.trace.jsonl", dir, name);
    snprintf(t->sum.expected, sizeof t->sum.expected, "%s/%s.expected.jsonl",
             dir, name);
    snprintf(t->error_path, sizeof t->error_path, "%s/%s.error", dir, name);
    t->f = fopen(t->sum.trace, "w");
    t->x = fopen(t->sum.expected, "w");
    if (t->f == NULL || t->x == NULL) {
        fprintf(stderr, "random: cannot write %s: %s\n",
                t->f ? t->sum.expected : t->sum.trace, strerror(errno));
        if (t->f)
            fclose(t->f);
        if (t->x)
            fclose(t->x);
        free(t);
        return NULL;
    }
    return t;
}

/* Starts a trace line; the caller ends it with "}\n". */
static void line(trace_out *t, const char *ev)
{
    t->sum.lines++;
    t->last_check = 0;
    fprintf(t->f, "{\"ev\":\"%s\"", ev);
}

static void str_field(trace_out *t, const char *name, bstr v)
{
    fprintf(t->f, ",\"%s\":", name);
    tw_json_str(t->f, v.p, v.n);
}

static uint64_t rid(const sched *s, int r)
{
    return s->rep[r].id;
}

void trace_replica(trace_out *t, const sched *s, int r)
{
    if (t == NULL)
        return;
    line(t, "replica");
    fprintf(t->f, ",\"id\":%" PRIu64, rid(s, r));
    str_field(t, "user", users[s->rep[r].user]);
    fputs("}\n", t->f);
}

/* Labels name ops by their index in the run: o1, o2, ... */
static void label_field(trace_out *t, const char *name, int i)
{
    fprintf(t->f, ",\"%s\":\"o%d\"", name, i + 1);
}

void trace_op(trace_out *t, const sched *s, int i)
{
    if (t == NULL)
        return;
    const mop *o = &s->ops[i];
    line(t, kind_name[o->kind]);
    fprintf(t->f, ",\"at\":%" PRIu64 ",\"t\":%" PRIu64, rid(s, o->origin), o->t);
    label_field(t, "label", i);
    if (o->kind == K_SEND)
        str_field(t, "conv", conv_name(s, o->conv));
    else
        label_field(t, "target", o->target);
    if (o->kind == K_SEND || o->kind == K_EDIT)
        str_field(t, "body", (bstr){o->body, o->body_len});
    if (o->kind == K_REACT || o->kind == K_UNREACT)
        str_field(t, "key", keys[o->key]);
    fputs("}\n", t->f);
}

void trace_refused(trace_out *t, const sched *s, const step *st, int target)
{
    static const char *const ev[] = {"edit", "delete", "react", "unreact"};
    if (t == NULL)
        return;
    line(t, ev[st->op]);
    t->sum.error_line = t->sum.lines;
    fprintf(t->f, ",\"at\":%" PRIu64 ",\"t\":%" PRIu64 ",\"label\":\"refused\"",
            rid(s, st->r), s->rep[st->r].clk.now);
    label_field(t, "target", target);
    if (st->op == I_EDIT_OTHER)
        str_field(t, "body", (bstr){"x", 1});
    if (st->op == I_REACT_DELETED || st->op == I_UNREACT_NONE)
        str_field(t, "key", keys[st->key]);
    fputs(",\"note\":\"must be refused\"}\n", t->f);
}

/* What the run did that the trace's `deliver` does not: a batch, copies
 * relayed by other replicas. */
static void deliver_note(trace_out *t, const sched *s, const int *ops,
                         const int *relay, int n, int batch)
{
    int any = batch;
    for (int k = 0; k < n; k++)
        any |= relay[k] >= 0;
    if (!any)
        return;
    t->sum.approx++;
    fputs(",\"note\":\"in the test:", t->f);
    const char *sep = " ";
    if (batch) {
        fputs(" one receive_batch call", t->f);
        sep = "; ";
    }
    for (int k = 0; k < n; k++)
        if (relay[k] >= 0) {
            fprintf(t->f, "%so%d as relayed by %" PRIu64, sep, ops[k] + 1,
                    rid(s, relay[k]));
            sep = "; ";
        }
    fputc('"', t->f);
}

void trace_deliver(trace_out *t, const sched *s, int r, const int *ops,
                   const int *relay, int n, int batch)
{
    if (t == NULL)
        return;
    line(t, "deliver");
    fprintf(t->f, ",\"to\":%" PRIu64 ",\"ops\":[", rid(s, r));
    for (int k = 0; k < n; k++)
        fprintf(t->f, "%s\"o%d\"", k ? "," : "", ops[k] + 1);
    fputc(']', t->f);
    deliver_note(t, s, ops, relay, n, batch);
    fputs("}\n", t->f);
}

void trace_sync(trace_out *t, const sched *s, int from, int to, int conv)
{
    if (t == NULL)
        return;
    line(t, "sync");
    fprintf(t->f, ",\"from\":%" PRIu64 ",\"to\":%" PRIu64, rid(s, from),
            rid(s, to));
    if (conv >= 0)
        str_field(t, "conv", conv_name(s, conv));
    fputs("}\n", t->f);
}

void trace_restart(trace_out *t, const sched *s, int r)
{
    if (t == NULL)
        return;
    line(t, "restart");
    fprintf(t->f, ",\"at\":%" PRIu64 "}\n", rid(s, r));
}

/* ------------------------------------------------------------------------ */
/* Expected output                                                           */

static int same_class(const dclass *a, const dclass *b)
{
    return a->conv == b->conv && memcmp(a->vv, b->vv, sizeof a->vv) == 0;
}

/* The class number of the set conv c holds delivered at r. */
static int digest_class(trace_out *t, const sched *s, int r, int c)
{
    static const uint64_t zero[MAX_REP];
    dclass k;
    memcpy(k.vv, s->rep[r].vv[c], sizeof k.vv);
    k.conv = memcmp(k.vv, zero, sizeof zero) == 0 ? -1 : c;
    for (int i = 0; i < t->n_cls; i++)
        if (same_class(&t->cls[i], &k))
            return i;
    if (t->n_cls == t->cap_cls) {
        int cap = t->cap_cls ? t->cap_cls * 2 : 32;
        dclass *v = realloc(t->cls, (size_t)cap * sizeof *v);
        if (v == NULL) {
            t->oom = 1;
            return -1;
        }
        t->cls = v;
        t->cap_cls = cap;
    }
    t->cls[t->n_cls] = k;
    return t->n_cls++;
}

/* Replica indices by ascending id: the order a check prints them in. */
static void by_id(const sched *s, int *order)
{
    for (int i = 0; i < s->n_rep; i++)
        order[i] = i;
    for (int i = 1; i < s->n_rep; i++)
        for (int j = i; j > 0 && rid(s, order[j - 1]) > rid(s, order[j]); j--) {
            int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
}

/* The conversations r holds, in bytewise order of their names. */
static int held_convs(const sched *s, int r, int *out)
{
    int n = 0;
    for (int c = 0; c < s->n_conv; c++)
        if (s->rep[r].holds[c])
            out[n++] = c;
    if (n == 2 && bstr_cmp(conv_name(s, out[0]).p, conv_name(s, out[0]).n,
                           conv_name(s, out[1]).p, conv_name(s, out[1]).n) > 0) {
        int x = out[0];
        out[0] = out[1];
        out[1] = x;
    }
    return n;
}

static void expect_conv(trace_out *t, const sched *s, int r, int c)
{
    mview v;
    char digest[16];
    snprintf(digest, sizeof digest, "D%d", digest_class(t, s, r, c));
    if (mview_build(&v, s, r, c) != 0) {
        t->oom = 1;
        return;
    }
    bstr cn = conv_name(s, c);
    tw_view_line(t->x, rid(s, r), cn.p, cn.n, &v.info, v.msgs, v.n, digest);
    mview_free(&v);
}

void trace_check(trace_out *t, const sched *s)
{
    if (t == NULL)
        return;
    line(t, "check");
    fputs("}\n", t->f);
    t->last_check = 1;
    t->sum.checks++;
    int order[MAX_REP], convs[MAX_CONV];
    by_id(s, order);
    for (int i = 0; i < s->n_rep; i++) {
        int n = held_convs(s, order[i], convs);
        for (int k = 0; k < n; k++)
            expect_conv(t, s, order[i], convs[k]);
    }
}

/* The trace ends with a check, unless it ends with an op that must be
 * refused (an error case): after a failing step that is not a check, the
 * check expects the state the step must have led to. */
void trace_end(trace_out *t, const sched *s, int failed)
{
    if (t == NULL)
        return;
    t->sum.hidden = failed && s->fail_hidden;
    if (!t->last_check && t->sum.error_line == 0)
        trace_check(t, s);
}

/* An error case has NAME.error (the line) and no NAME.expected.jsonl. */
static int write_error_case(trace_out *t)
{
    if (unlink(t->sum.expected) != 0)
        return -1;
    snprintf(t->sum.expected, sizeof t->sum.expected, "%s", t->error_path);
    FILE *e = fopen(t->error_path, "w");
    if (e == NULL)
        return -1;
    fprintf(e, "%d\n", t->sum.error_line);
    return fclose(e);
}

int trace_close(trace_out *t, trace_summary *sum)
{
    int rc = ferror(t->f) || ferror(t->x) || t->oom ? -1 : 0;
    if (fclose(t->f) != 0 || fclose(t->x) != 0)
        rc = -1;
    if (rc == 0 && t->sum.error_line > 0)
        rc = write_error_case(t);
    else if (rc == 0 && unlink(t->error_path) != 0 && errno != ENOENT)
        rc = -1;   /* a stale .error would turn the case into an error case */
    if (rc != 0)
        fprintf(stderr, "random: writing %s failed\n", t->sum.trace);
    *sum = t->sum;
    free(t->cls);
    free(t);
    return rc;
}
