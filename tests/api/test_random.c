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
 * Beside the stores runs a model of TRACE.md: which ops each replica holds
 * (delivered / pending) and, from that alone, the view each must show. After
 * most steps the touched replica's whole view (conversations, vv, pending,
 * read markers, every message with every field and reaction) is compared
 * with the model; digests are checked by their rule (same delivered set in a
 * conversation <=> same digest, at any replica and any time). At the end
 * every pair syncs both ways twice, and every replica must show the same
 * view as the model and as each other, with nothing pending, and no sync
 * response may carry the text of a deleted message or of its edits.
 *
 *   MSGLOG_SEED=<n>       replay exactly the schedule with seed n
 *   MSGLOG_SCHEDULES=<n>  run exactly n schedules (default: 2000, or as
 *                         many as fit in 45 s, whichever is fewer)
 *   MSGLOG_BASE_SEED=<n>  the base seed (default: from the time and pid)
 *   MSGLOG_VERBOSE=1      print every step
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "msglog.h"
#include "support/check.h"
#include "support/dump.h"
#include "support/rng.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define MAX_REP 8   /* the default run uses up to 5: MSGLOG_MAX_REPLICAS */
#define MAX_CONV 2
#define MAX_OPS 320
#define T0 1700000000000ULL

enum { K_SEND = 1, K_EDIT, K_DELETE, K_REACT, K_UNREACT, K_READ };
static const char *kind_name[] = {"?", "send", "edit", "delete", "react",
                                  "unreact", "read"};

typedef struct bstr {
    const char *p;
    size_t n;
} bstr;

static const bstr users[] = {{"alice", 5}, {"bob", 3}, {"carol", 5},
                             {"dave", 4}};
#define N_USERS 4
static const bstr keys[] = {{"+1", 2}, {"heart", 5}, {"\xf0\x9f\x8e\x89", 4},
                            {"a\0b", 3}};
#define N_KEYS 4
static const bstr conv_names[][MAX_CONV] = {
    {{"c1", 2}, {"c2", 2}},
    {{"room \xc3\xa9t\xc3\xa9", 10}, {"room", 4}},
    {{"z\0a", 3}, {"z", 1}},
};

/* What the schedules reached, summed over the run (printed at the end). */
static struct {
    uint64_t checks, conflicts, deleted, reactions, pending, ties, reads;
} seen;

/* An op as the model knows it. */
typedef struct mop {
    int kind, conv, origin, user;
    uint64_t seq, hlc;
    uint64_t deps[MAX_REP];   /* the origin's delivered vv at creation */
    int target;               /* op index of the target send; -1 for sends */
    char *body;               /* send/edit, NUL-terminated copy */
    size_t body_len;
    int marker;               /* unique text in the body, -1 if none */
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

typedef struct sched {
    uint64_t seed;
    rng r;
    char *root;
    int verbose;
    int n_rep, n_conv, names;
    mrep rep[MAX_REP];
    mop ops[MAX_OPS];
    int n_ops;
    int n_markers;
    dig *digs;
    size_t n_digs, cap_digs;
    int step;
    char reason[16384];
    /* stats */
    int n_deliver, n_sync, n_restart, n_refused;
} sched;

static int failf(sched *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->reason, sizeof s->reason, fmt, ap);
    va_end(ap);
    return -1;
}

#define TRY(x)                                                                \
    do {                                                                      \
        if ((x) != 0)                                                         \
            return -1;                                                        \
    } while (0)

static void logv(sched *s, const char *fmt, ...)
{
    if (!s->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  [%d] ", s->step);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static int bstr_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c != 0)
        return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

static bstr conv_name(const sched *s, int c)
{
    return conv_names[s->names][c];
}

/* ------------------------------------------------------------------------ */
/* The model                                                                 */

static int m_delivered(const sched *s, int r, int i)
{
    const mop *o = &s->ops[i];
    return s->rep[r].vv[o->conv][o->origin] >= o->seq;
}

static int m_ready(const sched *s, int r, int i)
{
    const mop *o = &s->ops[i];
    const uint64_t *vv = s->rep[r].vv[o->conv];
    if (vv[o->origin] != o->seq - 1)
        return 0;
    for (int q = 0; q < s->n_rep; q++)
        if (vv[q] < o->deps[q])
            return 0;
    return 1;
}

static void m_settle(sched *s, int r)
{
    mrep *p = &s->rep[r];
    int changed = 1;
    while (changed) {
        changed = 0;
        for (int i = 0; i < s->n_ops; i++)
            if (p->pending[i] && m_ready(s, r, i)) {
                p->pending[i] = 0;
                p->vv[s->ops[i].conv][s->ops[i].origin] = s->ops[i].seq;
                changed = 1;
            }
    }
}

static void m_receive(sched *s, int r, int i)
{
    mrep *p = &s->rep[r];
    if (m_delivered(s, r, i) || p->pending[i])
        return;
    p->pending[i] = 1;
    p->holds[s->ops[i].conv] = 1;
    m_settle(s, r);
}

/* `to` pulls every op delivered at `from` (in conv, or all when conv < 0). */
static void m_sync(sched *s, int from, int to, int conv)
{
    for (int i = 0; i < s->n_ops; i++) {
        const mop *o = &s->ops[i];
        if (conv >= 0 && o->conv != conv)
            continue;
        if (m_delivered(s, from, i) && !m_delivered(s, to, i))
            m_receive(s, to, i);
    }
    m_settle(s, to);
}

static int m_deleted(const sched *s, int r, int msg)
{
    for (int i = 0; i < s->n_ops; i++)
        if (s->ops[i].kind == K_DELETE && s->ops[i].target == msg &&
            m_delivered(s, r, i))
            return 1;
    return 0;
}

/* Deleted anywhere the final state will know of: used for erasure checks. */
static int m_deleted_at_all(const sched *s, int msg)
{
    for (int i = 0; i < s->n_ops; i++)
        if (s->ops[i].kind == K_DELETE && s->ops[i].target == msg)
            return 1;
    return 0;
}

static int has_ref(const mop *o, int i)
{
    for (int k = 0; k < o->n_refs; k++)
        if (o->refs[k] == i)
            return 1;
    return 0;
}

/* Edits of msg delivered at r that no delivered edit replaces. */
static int m_heads(const sched *s, int r, int msg, int *out)
{
    int n = 0;
    for (int i = 0; i < s->n_ops; i++) {
        const mop *e = &s->ops[i];
        if (e->kind != K_EDIT || e->target != msg || !m_delivered(s, r, i))
            continue;
        int replaced = 0;
        for (int j = 0; j < s->n_ops && !replaced; j++) {
            const mop *f = &s->ops[j];
            if (f->kind == K_EDIT && f->target == msg && m_delivered(s, r, j) &&
                has_ref(f, i))
                replaced = 1;
        }
        if (!replaced)
            out[n++] = i;
    }
    return n;
}

/* Live reacts of user u with key k on msg at r. */
static int m_live(const sched *s, int r, int msg, int u, int k, int *out)
{
    int n = 0;
    for (int i = 0; i < s->n_ops; i++) {
        const mop *a = &s->ops[i];
        if (a->kind != K_REACT)
            continue;
        if (a->kind != K_REACT || a->target != msg || a->user != u ||
            a->key != k || !m_delivered(s, r, i))
            continue;
        int observed = 0;
        for (int j = 0; j < s->n_ops && !observed; j++) {
            const mop *b = &s->ops[j];
            if (b->kind == K_UNREACT && b->target == msg && b->user == u &&
                b->key == k && m_delivered(s, r, j) && has_ref(b, i))
                observed = 1;
        }
        if (!observed) {
            if (out != NULL)
                out[n] = i;
            n++;
        }
    }
    return n;
}

static uint64_t m_maxhlc(const sched *s, int r, int c)
{
    uint64_t m = 0;
    for (int i = 0; i < s->n_ops; i++)
        if (s->ops[i].conv == c && m_delivered(s, r, i) && s->ops[i].hlc > m)
            m = s->ops[i].hlc;
    return m;
}

/* Message order: (hlc, replica id, seq). */
static int m_order(const sched *s, int a, int b)
{
    const mop *x = &s->ops[a], *y = &s->ops[b];
    if (x->hlc != y->hlc)
        return x->hlc < y->hlc ? -1 : 1;
    uint64_t xr = s->rep[x->origin].id, yr = s->rep[y->origin].id;
    if (xr != yr)
        return xr < yr ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return 0;
}

static int cmp_ctx_sort(sched *s, int *v, int n)
{
    /* insertion sort by message order (small n) */
    for (int i = 1; i < n; i++) {
        int x = v[i], j = i - 1;
        while (j >= 0 && m_order(s, v[j], x) > 0) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Expected view, formatted by the same code as the library's (dump.c)       */

static int key_order[N_KEYS], user_order[N_USERS];

static void init_orders(void)
{
    for (int i = 0; i < N_KEYS; i++)
        key_order[i] = i;
    for (int i = 0; i < N_USERS; i++)
        user_order[i] = i;
    for (int i = 1; i < N_KEYS; i++)
        for (int j = i; j > 0 &&
                        bstr_cmp(keys[key_order[j - 1]].p, keys[key_order[j - 1]].n,
                                 keys[key_order[j]].p, keys[key_order[j]].n) > 0;
             j--) {
            int t = key_order[j];
            key_order[j] = key_order[j - 1];
            key_order[j - 1] = t;
        }
    for (int i = 1; i < N_USERS; i++)
        for (int j = i; j > 0 &&
                        bstr_cmp(users[user_order[j - 1]].p, users[user_order[j - 1]].n,
                                 users[user_order[j]].p, users[user_order[j]].n) > 0;
             j--) {
            int t = user_order[j];
            user_order[j] = user_order[j - 1];
            user_order[j - 1] = t;
        }
}

static msglog_str mstr(bstr b)
{
    msglog_str x = {b.p, b.n};
    return x;
}

/* The model's text for conv c at replica r, with the library's digest. */
static char *m_expect(sched *s, int r, int c, const uint8_t digest[16])
{
    mrep *p = &s->rep[r];
    msglog_conv_info info;
    memset(&info, 0, sizeof info);
    msglog_vv_entry vv[MAX_REP];
    int idx[MAX_REP], nv = 0;
    for (int q = 0; q < s->n_rep; q++)
        if (p->vv[c][q] > 0)
            idx[nv++] = q;
    for (int i = 1; i < nv; i++)
        for (int j = i; j > 0 && s->rep[idx[j - 1]].id > s->rep[idx[j]].id; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    for (int i = 0; i < nv; i++) {
        vv[i].replica = s->rep[idx[i]].id;
        vv[i].seq = p->vv[c][idx[i]];
    }
    info.n_vv = (size_t)nv;
    info.vv = vv;
    for (int i = 0; i < s->n_ops; i++)
        if (p->pending[i] && s->ops[i].conv == c)
            info.pending++;
    memcpy(info.digest, digest, 16);

    static int msgs[MAX_OPS];
    int nm = 0;
    for (int i = 0; i < s->n_ops; i++)
        if (s->ops[i].kind == K_SEND && s->ops[i].conv == c && m_delivered(s, r, i))
            msgs[nm++] = i;
    cmp_ctx_sort(s, msgs, nm);
    info.n_messages = (uint64_t)nm;
    seen.checks++;
    seen.pending += info.pending > 0;
    for (int k = 1; k < nm; k++)
        seen.ties += s->ops[msgs[k]].hlc == s->ops[msgs[k - 1]].hlc;

    msglog_read_marker marks[N_USERS];
    int nr = 0;
    for (int uu = 0; uu < N_USERS; uu++) {
        int u = user_order[uu], best = -1;
        for (int i = 0; i < s->n_ops; i++) {
            const mop *o = &s->ops[i];
            if (o->kind == K_READ && o->conv == c && o->user == u &&
                m_delivered(s, r, i) && (best < 0 || m_order(s, o->target, best) > 0))
                best = o->target;
        }
        if (best >= 0) {
            marks[nr].user = mstr(users[u]);
            marks[nr].message.replica = s->rep[s->ops[best].origin].id;
            marks[nr].message.seq = s->ops[best].seq;
            nr++;
        }
    }
    info.n_read = (size_t)nr;
    seen.reads += nr > 0;
    info.read = marks;

    msglog_message *mm = calloc((size_t)nm + 1, sizeof *mm);
    msglog_reaction *reacts = calloc((size_t)nm * N_KEYS + 1, sizeof *reacts);
    msglog_str *rusers = calloc((size_t)nm * N_KEYS * N_USERS + 1, sizeof *rusers);
    if (mm == NULL || reacts == NULL || rusers == NULL) {
        free(mm);
        free(reacts);
        free(rusers);
        return NULL;
    }
    size_t nreact = 0, nuser = 0;
    for (int k = 0; k < nm; k++) {
        const mop *o = &s->ops[msgs[k]];
        msglog_message *m = &mm[k];
        m->id.replica = s->rep[o->origin].id;
        m->id.seq = o->seq;
        m->hlc = o->hlc;
        m->author = mstr(users[o->user]);
        m->deleted = m_deleted(s, r, msgs[k]);
        int best = -1;
        for (int i = 0; i < s->n_ops; i++) {
            const mop *e = &s->ops[i];
            if (e->kind != K_EDIT || e->target != msgs[k] || !m_delivered(s, r, i))
                continue;
            m->edited = 1;
            if (best < 0 || m_order(s, i, best) > 0)
                best = i;
        }
        int heads[MAX_OPS];
        m->conflict = !m->deleted && m_heads(s, r, msgs[k], heads) >= 2;
        if (m->deleted) {
            m->body.data = NULL;
            m->body.len = 0;
        } else {
            const mop *b = best >= 0 ? &s->ops[best] : o;
            m->body.data = b->body;
            m->body.len = b->body_len;
        }
        m->reactions = &reacts[nreact];
        if (!m->deleted) {
            for (int kk = 0; kk < N_KEYS; kk++) {
                int key = key_order[kk];
                msglog_reaction *rx = &reacts[nreact];
                rx->users = &rusers[nuser];
                for (int uu = 0; uu < N_USERS; uu++) {
                    int u = user_order[uu];
                    if (m_live(s, r, msgs[k], u, key, NULL) > 0)
                        rusers[nuser + rx->n_users++] = mstr(users[u]);
                }
                if (rx->n_users > 0) {
                    rx->key = mstr(keys[key]);
                    nuser += rx->n_users;
                    nreact++;
                    m->n_reactions++;
                }
            }
        }
    }
    for (int k = 0; k < nm; k++) {
        seen.conflicts += mm[k].conflict;
        seen.deleted += mm[k].deleted;
        seen.reactions += mm[k].n_reactions > 0;
    }
    bstr cn = conv_name(s, c);
    char *text = dump_format(cn.p, cn.n, &info, mm, (size_t)nm);
    free(mm);
    free(reacts);
    free(rusers);
    return text;
}

/* ------------------------------------------------------------------------ */
/* Checking a replica against the model                                      */

static void vv_text(const sched *s, const uint64_t *vv, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int q = 0; q < s->n_rep && n < cap; q++)
        n += (size_t)snprintf(out + n, cap - n, "%s%" PRIu64 ":%" PRIu64,
                              q ? " " : "", s->rep[q].id, vv[q]);
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

static int check_replica(sched *s, int r)
{
    mrep *p = &s->rep[r];
    /* The conversation list. */
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

    for (int c = 0; c < s->n_conv; c++) {
        bstr cn = conv_name(s, c);
        msglog_conv_info *info = NULL;
        rc = msglog_conv_info_get(p->log, &info, cn.p, cn.n);
        if (!p->holds[c]) {
            msglog_free(info);
            if (rc != MSGLOG_ENOTFOUND)
                return failf(s, "replica %d: conv %d holds no op but conv_info "
                             "-> %d", r, c, rc);
            continue;
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
        TRY(check_digest(s, r, c, d));
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Steps                                                                     */

static void tick_clock(sched *s, tclock *k)
{
    uint64_t roll = rng_below(&s->r, 100);
    if (roll < 45)
        k->now += rng_range(&s->r, 1, 3);
    else if (roll < 60)
        ; /* the same reading again */
    else if (roll < 75)
        k->now -= rng_range(&s->r, 1, 20);
    else if (roll < 85)
        k->now += rng_range(&s->r, 20, 500);
    else
        k->now = T0 + rng_below(&s->r, 40); /* near everyone else */
}

static char *make_body(sched *s, size_t *len, int *marker)
{
    uint64_t roll = rng_below(&s->r, 100);
    if (roll < 5) {
        *len = 0;
        *marker = -1;
        char *b = malloc(1);
        if (b != NULL)
            b[0] = '\0';
        return b;
    }
    size_t filler = roll < 10 ? (size_t)rng_range(&s->r, 500, 3000)
                              : (size_t)rng_below(&s->r, 24);
    char *b = malloc(32 + filler * 4 + 1);
    if (b == NULL)
        return NULL;
    *marker = s->n_markers++;
    size_t n = (size_t)sprintf(b, "<<M%05d>>", *marker);
    for (size_t i = 0; i < filler; i++) {
        uint64_t c = rng_below(&s->r, 40);
        if (c == 0)
            b[n++] = '\0';
        else if (c == 1) {
            memcpy(b + n, "\xc3\xa9", 2);
            n += 2;
        } else if (c == 2) {
            memcpy(b + n, "\xf0\x9f\x98\x80", 4);
            n += 4;
        } else
            b[n++] = (char)('a' + rng_below(&s->r, 26));
    }
    b[n] = '\0';
    *len = n;
    return b;
}

static void marker_text(int marker, char out[16])
{
    snprintf(out, 16, "<<M%05d>>", marker);
}

/* Picks a legal op at replica r and creates it, in the library and model. */
static int step_create(sched *s, int r)
{
    mrep *p = &s->rep[r];
    int c = (int)rng_below(&s->r, (uint64_t)s->n_conv);
    bstr cn = conv_name(s, c);
    static int all[MAX_OPS], mine[MAX_OPS], live[MAX_OPS];
    static int un_msg[MAX_OPS * N_KEYS], un_key[MAX_OPS * N_KEYS];
    int n_all = 0, n_live = 0, n_mine = 0, n_un = 0;
    for (int i = 0; i < s->n_ops; i++) {
        const mop *o = &s->ops[i];
        if (o->kind != K_SEND || o->conv != c || !m_delivered(s, r, i))
            continue;
        all[n_all++] = i;
        if (m_deleted(s, r, i))
            continue;
        live[n_live++] = i;
        if (o->user == p->user)
            mine[n_mine++] = i;
        for (int k = 0; k < N_KEYS; k++)
            if (m_live(s, r, i, p->user, k, NULL) > 0) {
                un_msg[n_un] = i;
                un_key[n_un++] = k;
            }
    }
    /* Weights per kind; kinds without a legal target drop out. */
    int w[7] = {0, 30, n_mine ? 15 : 0, n_mine ? 6 : 0, n_live ? 18 : 0,
                n_un ? 14 : 0, n_all ? 10 : 0};
    int total = 0;
    for (int k = 1; k <= 6; k++)
        total += w[k];
    int roll = (int)rng_below(&s->r, (uint64_t)total), kind = 1;
    for (kind = 1; kind <= 6; kind++) {
        if (roll < w[kind])
            break;
        roll -= w[kind];
    }

    if (s->n_ops >= MAX_OPS)
        return 0;
    mop *o = &s->ops[s->n_ops];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->conv = c;
    o->origin = r;
    o->user = p->user;
    o->target = -1;
    o->marker = -1;
    o->key = -1;
    switch (kind) {
    case K_SEND:
        break;
    case K_EDIT:
    case K_DELETE:
        o->target = mine[rng_below(&s->r, (uint64_t)n_mine)];
        break;
    case K_REACT:
        o->target = live[rng_below(&s->r, (uint64_t)n_live)];
        o->key = (int)rng_below(&s->r, N_KEYS);
        break;
    case K_UNREACT: {
        int k = (int)rng_below(&s->r, (uint64_t)n_un);
        o->target = un_msg[k];
        o->key = un_key[k];
        break;
    }
    case K_READ:
        o->target = all[rng_below(&s->r, (uint64_t)n_all)];
        break;
    }
    if (kind == K_SEND || kind == K_EDIT) {
        o->body = make_body(s, &o->body_len, &o->marker);
        if (o->body == NULL)
            return failf(s, "out of memory");
    }
    if (kind == K_EDIT || kind == K_UNREACT) {
        o->refs = malloc(MAX_OPS * sizeof *o->refs);
        if (o->refs == NULL)
            return failf(s, "out of memory");
        o->n_refs = kind == K_EDIT
                        ? m_heads(s, r, o->target, o->refs)
                        : m_live(s, r, o->target, p->user, o->key, o->refs);
    }
    tick_clock(s, &p->clk);
    uint64_t t16 = p->clk.now << 16, mh = m_maxhlc(s, r, c);
    o->hlc = t16 > mh ? t16 : mh + 1;
    o->seq = p->vv[c][r] + 1;
    memcpy(o->deps, p->vv[c], sizeof o->deps);

    msglog_id tid = {0, 0}, id = {0, 0};
    if (o->target >= 0) {
        tid.replica = s->rep[s->ops[o->target].origin].id;
        tid.seq = s->ops[o->target].seq;
    }
    const bstr *key = o->key >= 0 ? &keys[o->key] : NULL;
    int rc = -100;
    switch (kind) {
    case K_SEND:
        rc = msglog_send(p->log, &id, cn.p, cn.n, o->body, o->body_len);
        break;
    case K_EDIT:
        rc = msglog_edit(p->log, &id, cn.p, cn.n, tid, o->body, o->body_len);
        break;
    case K_DELETE:
        rc = msglog_delete(p->log, &id, cn.p, cn.n, tid);
        break;
    case K_REACT:
        rc = msglog_react(p->log, &id, cn.p, cn.n, tid, key->p, key->n);
        break;
    case K_UNREACT:
        rc = msglog_unreact(p->log, &id, cn.p, cn.n, tid, key->p, key->n);
        break;
    case K_READ:
        rc = msglog_mark_read(p->log, &id, cn.p, cn.n, tid);
        break;
    }
    logv(s, "replica %d creates %s %" PRIu64 ".%" PRIu64 " in conv %d (t=%" PRIu64
         ", hlc=%" PRIu64 ") target %" PRIu64 ".%" PRIu64 " -> %d",
         r, kind_name[kind], p->id, o->seq, c, p->clk.now, o->hlc, tid.replica,
         tid.seq, rc);
    if (rc != MSGLOG_OK) {
        free(o->body);
        free(o->refs);
        return failf(s, "replica %d (id %" PRIu64 "): legal %s on %" PRIu64
                     ".%" PRIu64 " in conv %d refused: %d (%s)", r, p->id,
                     kind_name[kind], tid.replica, tid.seq, c, rc,
                     msglog_errmsg(p->log));
    }
    s->n_ops++;
    if (id.replica != p->id || id.seq != o->seq)
        return failf(s, "replica %d: %s got id %" PRIu64 ".%" PRIu64
                     ", model %" PRIu64 ".%" PRIu64, r, kind_name[kind],
                     id.replica, id.seq, p->id, o->seq);
    p->vv[c][r] = o->seq;
    p->holds[c] = 1;
    rc = msglog_op_bytes(p->log, &o->bytes, &o->n_bytes, cn.p, cn.n, id);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: op_bytes of its new op -> %d (%s)", r, rc,
                     msglog_errmsg(p->log));
    return 0;
}

/* Tries an op the rules forbid; it must be refused and change nothing. */
static int step_illegal(sched *s, int r)
{
    mrep *p = &s->rep[r];
    int c = (int)rng_below(&s->r, (uint64_t)s->n_conv);
    bstr cn = conv_name(s, c);
    static int cand[MAX_OPS];
    int n = 0, what = (int)rng_below(&s->r, 3);
    for (int i = 0; i < s->n_ops; i++) {
        const mop *o = &s->ops[i];
        if (o->kind != K_SEND || o->conv != c || !m_delivered(s, r, i))
            continue;
        int del = m_deleted(s, r, i);
        if ((what == 0 && o->user != p->user && !del) || (what == 1 && del) ||
            (what == 2 && !del))
            cand[n++] = i;
    }
    if (n == 0)
        return 0;
    int t = cand[rng_below(&s->r, (uint64_t)n)];
    msglog_id tid = {s->rep[s->ops[t].origin].id, s->ops[t].seq}, id;
    int key = (int)rng_below(&s->r, N_KEYS);
    if (what == 2 && m_live(s, r, t, p->user, key, NULL) > 0)
        return 0;
    char *before = NULL;
    int rc = dump_store(&before, p->log);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: dump -> %d", r, rc);
    const char *name;
    if (what == 0) {
        name = rng_chance(&s->r, 50) ? "edit of another user's message"
                                     : "delete of another user's message";
        rc = name[0] == 'e' ? msglog_edit(p->log, &id, cn.p, cn.n, tid, "x", 1)
                            : msglog_delete(p->log, &id, cn.p, cn.n, tid);
    } else if (what == 1) {
        name = "react on a deleted message";
        rc = msglog_react(p->log, &id, cn.p, cn.n, tid, keys[key].p, keys[key].n);
    } else {
        name = "unreact without a live reaction";
        rc = msglog_unreact(p->log, &id, cn.p, cn.n, tid, keys[key].p, keys[key].n);
    }
    logv(s, "replica %d tries %s on %" PRIu64 ".%" PRIu64 " -> %d", r, name,
         tid.replica, tid.seq, rc);
    s->n_refused++;
    if (rc != MSGLOG_EDENIED) {
        free(before);
        return failf(s, "replica %d (id %" PRIu64 "): %s on %" PRIu64 ".%" PRIu64
                     " -> %d, expected MSGLOG_EDENIED", r, p->id, name,
                     tid.replica, tid.seq, rc);
    }
    char *after = NULL;
    rc = dump_store(&after, p->log);
    char diff[4096];
    int differ = rc == MSGLOG_OK && dump_diff(diff, sizeof diff, before, after);
    free(before);
    free(after);
    if (rc != MSGLOG_OK)
        return failf(s, "replica %d: dump -> %d", r, rc);
    if (differ)
        return failf(s, "replica %d: refused %s changed the view: %s", r, name,
                     diff);
    return 0;
}

/* The bytes op i has at a replica that holds it (delivered or pending) and
 * whose copy still has its text: relayed bytes instead of the origin's.
 * NULL with *holder untouched when no replica qualifies; NULL with *holder
 * set when that replica's msglog_op_bytes() failed. */
static void *relay_bytes(sched *s, int i, size_t *len, int *holder)
{
    const mop *o = &s->ops[i];
    int cand[MAX_REP], n = 0;
    for (int q = 0; q < s->n_rep; q++) {
        if (!m_delivered(s, q, i) && !s->rep[q].pending[i])
            continue;
        /* A holder that deleted the message sends it erased (not what the
         * origin created; TRACE.md does not say what such bytes show). */
        int msg = o->kind == K_SEND ? i : o->kind == K_EDIT ? o->target : -1;
        if (msg >= 0 && m_deleted(s, q, msg))
            continue;
        cand[n++] = q;
    }
    if (n == 0)
        return NULL;
    int q = cand[rng_below(&s->r, (uint64_t)n)];
    bstr cn = conv_name(s, o->conv);
    msglog_id id = {s->rep[o->origin].id, o->seq};
    void *b = NULL;
    *holder = q;
    if (msglog_op_bytes(s->rep[q].log, &b, len, cn.p, cn.n, id) != MSGLOG_OK)
        return NULL;
    return b;
}

static int step_deliver(sched *s, int r)
{
    if (s->n_ops == 0)
        return 0;
    mrep *p = &s->rep[r];
    int k = (int)rng_range(&s->r, 1, 7), pick[8] = {0};
    msglog_buf bufs[8];
    void *relayed[8] = {NULL};
    for (int i = 0; i < k; i++) {
        /* Favour recent ops, so that gaps are common. */
        uint64_t span = (uint64_t)s->n_ops;
        if (rng_chance(&s->r, 60) && span > 12)
            span = 12;
        pick[i] = s->n_ops - 1 - (int)rng_below(&s->r, span);
        if (i > 0 && rng_chance(&s->r, 15))
            pick[i] = pick[rng_below(&s->r, (uint64_t)i)];   /* duplicate */
        bufs[i].data = s->ops[pick[i]].bytes;
        bufs[i].len = s->ops[pick[i]].n_bytes;
        if (rng_chance(&s->r, 30)) {
            int holder = -1;
            size_t len = 0;
            relayed[i] = relay_bytes(s, pick[i], &len, &holder);
            if (relayed[i] != NULL) {
                bufs[i].data = relayed[i];
                bufs[i].len = len;
            } else if (holder >= 0) {
                for (int j = 0; j < i; j++)
                    msglog_free(relayed[j]);
                return failf(s, "replica %d: op_bytes of a held op failed", holder);
            }
        }
    }
    s->n_deliver++;
    int batch = rng_chance(&s->r, 35), rc = MSGLOG_OK, at = -1;
    logv(s, "replica %d receives %d ops%s (first %s of %d)", r, k,
         batch ? " as one batch" : "", kind_name[s->ops[pick[0]].kind],
         s->ops[pick[0]].origin);
    if (batch) {
        rc = msglog_receive_batch(p->log, bufs, (size_t)k);
        if (rc == MSGLOG_OK)
            for (int i = 0; i < k; i++)
                m_receive(s, r, pick[i]);
    } else {
        for (int i = 0; i < k && rc == MSGLOG_OK; i++) {
            rc = msglog_receive(p->log, bufs[i].data, bufs[i].len);
            if (rc == MSGLOG_OK)
                m_receive(s, r, pick[i]);
            else
                at = i;
        }
    }
    int was_relayed = at >= 0 && relayed[at] != NULL;
    for (int i = 0; i < k; i++)
        msglog_free(relayed[i]);
    if (rc != MSGLOG_OK) {
        if (batch)
            return failf(s, "replica %d: receive_batch of %d ops -> %d (%s)", r,
                         k, rc, msglog_errmsg(p->log));
        const mop *o = &s->ops[pick[at]];
        return failf(s, "replica %d: receive of %s %" PRIu64 ".%" PRIu64
                     "%s -> %d (%s)", r, kind_name[o->kind],
                     s->rep[o->origin].id, o->seq,
                     was_relayed ? " (relayed)" : "", rc, msglog_errmsg(p->log));
    }
    return 0;
}

/* No text of a message deleted at `holder` (or of its edits) in buf. */
static int check_erased(sched *s, int holder, const void *buf, size_t len,
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
        if (check_contains(buf, len, mk, strlen(mk)))
            return failf(s, "%s of replica %d carries the text of %s %" PRIu64
                         ".%" PRIu64 " (%s) though the message is deleted there",
                         what, holder, kind_name[o->kind], s->rep[o->origin].id,
                         o->seq, mk);
    }
    return 0;
}

static int do_sync(sched *s, int from, int to, int conv)
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
    m_sync(s, from, to, conv);
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
/* One schedule                                                              */

/* Replicas per schedule: 3 to 5 by default, up to 8 in the long mode. */
static int max_replicas(void)
{
    const char *v = getenv("MSGLOG_MAX_REPLICAS");
    int n = v ? atoi(v) : 5;
    return n < 3 ? 3 : n > MAX_REP ? MAX_REP : n;
}

static int run_steps(sched *s)
{
    rng *g = &s->r;
    s->n_rep = (int)rng_range(g, 3, max_replicas());
    s->n_conv = (int)rng_range(g, 1, MAX_CONV);
    s->names = (int)rng_below(g, sizeof conv_names / sizeof conv_names[0]);
    /* Users: two replicas of alice, the rest random (so more sharing is
     * possible), in a random order. */
    int us[MAX_REP] = {0, 0, 1, 2};
    for (int i = 3; i < s->n_rep; i++)
        us[i] = (int)rng_below(g, N_USERS);
    rng_shuffle_int(g, us, s->n_rep);
    for (int i = 0; i < s->n_rep; i++) {
        mrep *p = &s->rep[i];
        memset(p, 0, sizeof *p);
        p->user = us[i];
        for (;;) {
            p->id = rng_chance(g, 50) ? rng_range(g, 1, 9)
                                      : rng_range(g, 1, ((uint64_t)1 << 53) - 1);
            int dup = 0;
            for (int j = 0; j < i; j++)
                dup |= s->rep[j].id == p->id;
            if (!dup)
                break;
        }
        p->clk.now = T0 + rng_below(g, 30);
        snprintf(p->name, sizeof p->name, "r%d", i);
        int rc = tstore_open(&p->log, s->root, p->name, p->id, users[p->user].p,
                             &p->clk);
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

    int n_steps = (int)rng_range(g, 20, 120);
    for (s->step = 0; s->step < n_steps; s->step++) {
        int r = (int)rng_below(g, (uint64_t)s->n_rep);
        uint64_t roll = rng_below(g, 100);
        if (roll < 50) {
            TRY(step_create(s, r));
        } else if (roll < 53) {
            TRY(step_illegal(s, r));
        } else if (roll < 72) {
            TRY(step_deliver(s, r));
        } else if (roll < 88) {
            int from = (int)rng_below(g, (uint64_t)s->n_rep - 1);
            if (from >= r)
                from++;
            int conv = rng_chance(g, 50) ? -1 : (int)rng_below(g, (uint64_t)s->n_conv);
            logv(s, "replica %d pulls from %d (%s)", r, from,
                 conv < 0 ? "all" : conv ? "conv 1" : "conv 0");
            s->n_sync++;
            TRY(do_sync(s, from, r, conv));
        } else if (roll < 93) {
            logv(s, "replica %d restarts", r);
            s->n_restart++;
            TRY(reopen(s, r));
        }
        if (rng_chance(g, 70))
            TRY(check_replica(s, r));
    }

    /* Everyone syncs with everyone, both ways, twice. */
    s->step = -1;
    logv(s, "full sync");
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < s->n_rep; i++)
            for (int j = 0; j < s->n_rep; j++)
                if (i != j)
                    TRY(do_sync(s, j, i, -1));
    for (int i = 0; i < s->n_rep; i++)
        for (int k = 0; k < s->n_ops; k++)
            if (s->rep[i].pending[k] || !m_delivered(s, i, k))
                return failf(s, "model: replica %d lacks op %d after the full "
                             "sync (test bug)", i, k);
    if (rng_chance(g, 30))
        for (int i = 0; i < s->n_rep; i++)
            TRY(reopen(s, i));
    for (int i = 0; i < s->n_rep; i++)
        TRY(check_replica(s, i));

    /* Identical views, digests and vvs everywhere, nothing pending. */
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

    /* Erased texts: what each replica would send a newcomer, and the bytes
     * of each op it holds. Live texts must be there (control). */
    msglog *fresh = NULL;
    rc = tstore_open(&fresh, s->root, "fresh", ((uint64_t)1 << 53) - 2,
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
    for (int i = 0; i < s->n_rep && rc == MSGLOG_OK; i++) {
        void *resp = NULL;
        size_t resp_n = 0;
        rc = msglog_sync_response(s->rep[i].log, &resp, &resp_n, req, req_n);
        if (rc != MSGLOG_OK) {
            msglog_free(req);
            return failf(s, "replica %d: sync_response -> %d", i, rc);
        }
        int bad = check_erased(s, i, resp, resp_n, "the full sync response");
        for (int k = 0; k < s->n_ops && !bad; k++) {
            const mop *o = &s->ops[k];
            if (o->marker < 0)
                continue;
            int msg = o->kind == K_SEND ? k : o->target;
            if (m_deleted_at_all(s, msg))
                continue;
            char mk[16];
            marker_text(o->marker, mk);
            if (!check_contains(resp, resp_n, mk, strlen(mk)))
                bad = failf(s, "the full sync response of replica %d lacks the "
                            "text of live %s %" PRIu64 ".%" PRIu64, i,
                            kind_name[o->kind], s->rep[o->origin].id, o->seq);
        }
        msglog_free(resp);
        for (int k = 0; k < s->n_ops && !bad; k++) {
            const mop *o = &s->ops[k];
            if (o->marker < 0)
                continue;
            bstr cn = conv_name(s, o->conv);
            msglog_id id = {s->rep[o->origin].id, o->seq};
            void *b = NULL;
            size_t bn = 0;
            rc = msglog_op_bytes(s->rep[i].log, &b, &bn, cn.p, cn.n, id);
            if (rc != MSGLOG_OK) {
                bad = failf(s, "replica %d: op_bytes(%" PRIu64 ".%" PRIu64
                            ") -> %d", i, id.replica, id.seq, rc);
                break;
            }
            bad = check_erased(s, i, b, bn, "op bytes");
            msglog_free(b);
        }
        if (bad) {
            msglog_free(req);
            return -1;
        }
    }
    msglog_free(req);
    return 0;
}

static int run_schedule(uint64_t seed, int verbose, double *secs)
{
    sched *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    s->seed = seed;
    s->verbose = verbose;
    rng_seed(&s->r, seed);
    s->root = tmpdir_make_fast("msglog-random-");
    cr_assert_not_null(s->root);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = run_steps(s);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc != 0)
        fprintf(stderr, "random: FAILED seed=%" PRIu64 " at step %d: %s\n"
                "random: replay with MSGLOG_SEED=%" PRIu64 " (MSGLOG_VERBOSE=1 "
                "prints every step)\n", seed, s->step, s->reason, seed);
    else if (verbose)
        fprintf(stderr, "random: seed=%" PRIu64 " ok: %d ops, %d deliveries, "
                "%d syncs, %d restarts, %d refused\n", seed, s->n_ops,
                s->n_deliver, s->n_sync, s->n_restart, s->n_refused);
    for (int i = 0; i < s->n_rep; i++)
        msglog_close(s->rep[i].log);
    for (int i = 0; i < s->n_ops; i++) {
        free(s->ops[i].body);
        free(s->ops[i].refs);
        msglog_free(s->ops[i].bytes);
    }
    free(s->digs);
    tmpdir_remove(s->root);
    free(s->root);
    free(s);
    return rc;
}

static uint64_t env_u64(const char *name, int *set)
{
    const char *v = getenv(name);
    *set = v != NULL && *v != '\0';
    return *set ? strtoull(v, NULL, 0) : 0;
}

Test(random, convergence, .timeout = 900)
{
    init_orders();
    int set_seed, set_n, set_base, set_verbose;
    uint64_t one = env_u64("MSGLOG_SEED", &set_seed);
    uint64_t count = env_u64("MSGLOG_SCHEDULES", &set_n);
    uint64_t base = env_u64("MSGLOG_BASE_SEED", &set_base);
    int verbose = env_u64("MSGLOG_VERBOSE", &set_verbose) != 0;
    const double budget = 45.0;   /* seconds, only without MSGLOG_SCHEDULES */
    if (!set_n)
        count = 2000;
    if (!set_base) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        base = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^
               ((uint64_t)getpid() << 32);
    }
    double total = 0, secs;
    if (set_seed) {
        fprintf(stderr, "random: replaying seed %" PRIu64 "\n", one);
        int rc = run_schedule(one, verbose, &secs);
        cr_assert_eq(rc, 0, "schedule with seed %" PRIu64 " failed", one);
        return;
    }
    fprintf(stderr, "random: base seed %" PRIu64 " (MSGLOG_BASE_SEED), %s%" PRIu64
            " schedules\n", base, set_n ? "" : "up to ", count);
    uint64_t state = base, failed = 0, first_failed = 0, i;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (i = 0; i < count; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!set_n && (double)(now.tv_sec - start.tv_sec) > budget)
            break;
        uint64_t seed = rng_splitmix64(&state);
        if (run_schedule(seed, verbose, &secs) != 0) {
            if (failed++ == 0)
                first_failed = seed;
        }
        total += secs;
    }
    count = i;
    fprintf(stderr, "random: %" PRIu64 " schedules, %" PRIu64 " failed, %.1f s\n",
            count, failed, total);
    fprintf(stderr, "random: %" PRIu64 " conversation checks; seen: %" PRIu64
            " with pending ops, %" PRIu64 " with read markers, %" PRIu64
            " equal-hlc neighbours, %" PRIu64 " conflicted, %" PRIu64
            " deleted, %" PRIu64 " reacted messages\n", seen.checks, seen.pending,
            seen.reads, seen.ties, seen.conflicts, seen.deleted, seen.reactions);
    cr_assert_eq(failed, 0, "%" PRIu64 " of %" PRIu64 " schedules failed; first "
                 "seed %" PRIu64, failed, count, first_failed);
}
