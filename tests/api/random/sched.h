/*
 * The seeded random convergence test (tests/api/test_random.c), in parts.
 *
 * A schedule is data: a `plan` (its replicas and a list of steps) drawn from
 * a seed by gen.c while it runs, then run again by exec.c with any subset of
 * its steps, so that shrink.c can cut a failing plan down and trace_out.c can
 * write what is left as a replay trace (docs/cli.md). Steps name ops by the id
 * of the step that created them, never by position, so removing a step
 * changes nothing else; a step that has become impossible (an edit of a
 * message whose send was removed, a delivery of nothing) is skipped, always
 * the same way, by rules that read only the model.
 *
 * Beside the stores runs a model of the merge rules (model.c): which ops each
 * replica holds (delivered / pending) and, from that alone, the view each
 * must show. verify.c compares the library with it.
 */
#ifndef RANDOM_SCHED_H
#define RANDOM_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "msglog.h"
#include "support/rng.h"
#include "support/tstore.h"

#define MAX_REP 8   /* the default run uses up to 5: MSGLOG_MAX_REPLICAS */
#define MAX_CONV 2
#define MAX_OPS 320
#define MAX_PICKS 8
/* Random steps, each maybe followed by a check, then the final phase. */
#define MAX_STEPS 512
#define T0 1700000000000ULL

enum { K_SEND = 1, K_EDIT, K_DELETE, K_REACT, K_UNREACT, K_READ };
extern const char *const kind_name[];

typedef struct bstr {
    const char *p;
    size_t n;
} bstr;

#define N_USERS 4
#define N_KEYS 4
#define N_NAMES 3
extern const bstr users[N_USERS];
extern const bstr keys[N_KEYS];
extern const bstr conv_names[N_NAMES][MAX_CONV];

/* ------------------------------------------------------------------------ */
/* Plans                                                                     */

enum {
    S_CREATE = 1, /* a legal op at r */
    S_ILLEGAL,    /* an op the rules forbid at r: must be refused */
    S_DELIVER,    /* r receives ops (origin or relayed bytes, maybe a batch) */
    S_SYNC,       /* r pulls from `from` (conv, or all when conv < 0) */
    S_RESTART,    /* r closes and reopens its store */
    S_CHECK,      /* r's whole view against the model */
    S_FINAL       /* after the full sync: identical views, erased texts */
};
extern const char *const step_name[];

/* The illegal ops (S_ILLEGAL's `op`). */
enum { I_EDIT_OTHER, I_DELETE_OTHER, I_REACT_DELETED, I_UNREACT_NONE };

typedef struct step {
    int id;        /* its index when drawn; other steps name it by this */
    int kind;      /* S_* */
    int r;         /* replica index: who acts, receives or pulls */
    int from;      /* S_SYNC: who answers */
    int conv;      /* S_CREATE send, S_ILLEGAL, S_SYNC (-1: all) */
    int op;        /* S_CREATE: K_*; S_ILLEGAL: I_* */
    int target;    /* step id of the target's send; -1 for a send */
    int key;       /* react / unreact: index into keys[] */
    uint64_t t;    /* S_CREATE: the clock reading */
    const char *body;   /* send / edit; owned by the plan's arena */
    size_t body_len;
    int marker;    /* the unique text in the body, -1 if none */
    int n_picks;   /* S_DELIVER */
    int pick[MAX_PICKS];   /* step ids of the ops' creates */
    int relay[MAX_PICKS];  /* replica whose copy is sent, -1: the origin's */
    int batch;     /* one msglog_receive_batch() call */
} step;

/* Bodies, kept for as long as any plan that points at them. */
typedef struct arena {
    char **p;
    int n, cap;
} arena;

typedef struct plan {
    uint64_t seed;
    int n_rep, n_conv, names;
    uint64_t id[MAX_REP];
    int user[MAX_REP];
    uint64_t clock0[MAX_REP];   /* first clock readings (drawing only) */
    step *steps;
    int n, cap;
    int drawn;       /* exactly as drawn from the seed: nothing removed */
    arena *bodies;
} plan;

int plan_add(plan *p, const step *st);
/* A copy sharing p's arena; 0 or -1 (no memory). */
int plan_copy(plan *out, const plan *p);
void plan_free_steps(plan *p);
/* Keeps a malloc'd body in the arena; returns it, or NULL (freeing it). */
char *arena_keep(arena *a, char *body);
void arena_free(arena *a);

/* ------------------------------------------------------------------------ */
/* A run                                                                     */

/* An op as the model knows it. */
typedef struct mop {
    int step;                 /* the id of the step that created it */
    int kind, conv, origin, user;
    uint64_t t, seq, hlc;      /* t: the clock reading it was made at */
    uint64_t deps[MAX_REP];   /* the origin's delivered vv at creation */
    int target;               /* op index of the target send; -1 for sends */
    const char *body;         /* send/edit, the step's */
    size_t body_len;
    int marker;
    int key;
    int *refs;                /* edit: replaced heads; unreact: observed reacts */
    int n_refs;
    void *bytes;              /* msglog_op_bytes right after creation */
    size_t n_bytes;
} mop;

typedef struct mrep {
    uint64_t id;
    int user;
    msglog *log;
    tclock clk;
    char name[16];
    uint64_t vv[MAX_CONV][MAX_REP];
    unsigned char pending[MAX_OPS];
    unsigned char holds[MAX_CONV];
} mrep;

typedef struct dig {
    int conv;
    uint64_t vv[MAX_REP];
    uint8_t d[16];
} dig;

struct trace_out;

typedef struct sched {
    plan *pl;
    rng r;                    /* drawing only */
    char *root;
    int verbose;
    int n_rep, n_conv, names;
    mrep rep[MAX_REP];
    mop ops[MAX_OPS];
    int n_ops;
    int n_markers;            /* drawing only */
    int op_of[MAX_STEPS];     /* step id -> op index, -1: none */
    dig *digs;
    size_t n_digs, cap_digs;
    int at;                   /* index of the step under way, -1 before */
    int kind;                 /* its kind */
    int fail_kind, fail_at;   /* where the run failed */
    int fail_hidden;          /* in bytes or effects a replay cannot see */
    char reason[16384];
    struct trace_out *trace;  /* NULL unless writing a replay trace */
    int n_deliver, n_sync, n_restart, n_refused;
} sched;

int failf(sched *s, const char *fmt, ...);
void logv(sched *s, const char *fmt, ...);
int bstr_cmp(const char *a, size_t an, const char *b, size_t bn);
bstr conv_name(const sched *s, int c);
void marker_text(int marker, char out[16]);

#define TRY(x)                                                                \
    do {                                                                      \
        if ((x) != 0)                                                         \
            return -1;                                                        \
    } while (0)

/* model.c */
void init_orders(void);
/* Only for the shrinker's own test: 1 makes the model wrong on purpose (an
 * unreact removes every react of its user and key, observed or not). */
extern int model_fault;
extern int key_order[N_KEYS], user_order[N_USERS];
int m_delivered(const sched *s, int r, int i);
int m_holds(const sched *s, int r, int i);
void m_receive(sched *s, int r, int i);
void m_sync(sched *s, int from, int to, int conv);
int m_deleted(const sched *s, int r, int msg);
int m_heads(const sched *s, int r, int msg, int *out);
int m_live(const sched *s, int r, int msg, int u, int k, int *out);
uint64_t m_maxhlc(const sched *s, int r, int c);
int m_all_delivered(const sched *s);

/* The view the model says replica r shows of conv c, in the library's own
 * types (strings borrow from the schedule). */
typedef struct mview {
    msglog_conv_info info;
    msglog_vv_entry vv[MAX_REP];
    msglog_read_marker marks[N_USERS];
    msglog_message *msgs;
    size_t n;
    msglog_reaction *reacts;
    msglog_str *rusers;
} mview;
int mview_build(mview *v, const sched *s, int r, int c);
void mview_free(mview *v);

/* verify.c */
int check_replica(sched *s, int r);
int check_erased(sched *s, int holder, const void *buf, size_t len,
                 const char *what);
void seen_print(void);

/* exec.c */
int sched_open(sched *s);
int exec_step(sched *s, const step *st);
int relay_ok(const sched *s, int q, int i);

/* gen.c: draws the plan's replicas, then its steps, running each. */
int gen_setup(sched *s);
int gen_steps(sched *s);

/* One whole run of a plan in a fresh directory. With `draw`, the plan
 * (empty) is drawn from p->seed as it runs; else its steps are run. */
typedef struct outcome {
    int failed;
    int kind, at;         /* the failing step's kind and index */
    int hidden;           /* failed in what a replay trace cannot show */
    char *reason;         /* malloc'd, NULL when it passed */
    double secs;
    int n_ops, n_deliver, n_sync, n_restart, n_refused;
} outcome;
int plan_run(plan *p, int draw, int verbose, struct trace_out *trace,
             outcome *out);
void outcome_clear(outcome *o);

#endif
