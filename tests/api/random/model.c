/*
 * The model of the merge rules (docs/design.md): which ops each replica holds, delivered or pending,
 * and from that alone the view it must show. Written for clarity, not speed:
 * every question is answered by a scan over all ops.
 */
#include "random/sched.h"

#include <stdlib.h>
#include <string.h>

const char *const kind_name[] = {"?", "send", "edit", "delete", "react",
                                 "unreact", "read"};

const bstr users[N_USERS] = {{"alice", 5}, {"bob", 3}, {"carol", 5},
                             {"dave", 4}};
const bstr keys[N_KEYS] = {{"+1", 2}, {"heart", 5}, {"\xf0\x9f\x8e\x89", 4},
                           {"a\0b", 3}};
const bstr conv_names[N_NAMES][MAX_CONV] = {
    {{"c1", 2}, {"c2", 2}},
    {{"room \xc3\xa9t\xc3\xa9", 10}, {"room", 4}},
    {{"z\0a", 3}, {"z", 1}},
};

int bstr_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c != 0)
        return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

bstr conv_name(const sched *s, int c)
{
    return conv_names[s->names][c];
}

int m_delivered(const sched *s, int r, int i)
{
    const mop *o = &s->ops[i];
    return s->rep[r].vv[o->conv][o->origin] >= o->seq;
}

int m_holds(const sched *s, int r, int i)
{
    return m_delivered(s, r, i) || s->rep[r].pending[i];
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

void m_receive(sched *s, int r, int i)
{
    mrep *p = &s->rep[r];
    if (m_holds(s, r, i))
        return;
    p->pending[i] = 1;
    p->holds[s->ops[i].conv] = 1;
    m_settle(s, r);
}

/* `to` pulls every op delivered at `from` (in conv, or all when conv < 0). */
void m_sync(sched *s, int from, int to, int conv)
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

int m_deleted(const sched *s, int r, int msg)
{
    for (int i = 0; i < s->n_ops; i++)
        if (s->ops[i].kind == K_DELETE && s->ops[i].target == msg &&
            m_delivered(s, r, i))
            return 1;
    return 0;
}

/* Every replica has every op delivered: what a full sync must reach. */
int m_all_delivered(const sched *s)
{
    for (int r = 0; r < s->n_rep; r++)
        for (int i = 0; i < s->n_ops; i++)
            if (!m_delivered(s, r, i))
                return 0;
    return 1;
}

static int has_ref(const mop *o, int i)
{
    for (int k = 0; k < o->n_refs; k++)
        if (o->refs[k] == i)
            return 1;
    return 0;
}

/* Edits of msg delivered at r that no delivered edit replaces. */
int m_heads(const sched *s, int r, int msg, int *out)
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

int model_fault;

/* Live reacts of user u with key k on msg at r. */
int m_live(const sched *s, int r, int msg, int u, int k, int *out)
{
    int n = 0;
    for (int i = 0; i < s->n_ops; i++) {
        const mop *a = &s->ops[i];
        if (a->kind != K_REACT || a->target != msg || a->user != u ||
            a->key != k || !m_delivered(s, r, i))
            continue;
        int observed = 0;
        for (int j = 0; j < s->n_ops && !observed; j++) {
            const mop *b = &s->ops[j];
            if (b->kind == K_UNREACT && b->target == msg && b->user == u &&
                b->key == k && m_delivered(s, r, j) &&
                (has_ref(b, i) || model_fault))
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

uint64_t m_maxhlc(const sched *s, int r, int c)
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

/* Insertion sort by message order (small n). */
static void sort_by_order(const sched *s, int *v, int n)
{
    for (int i = 1; i < n; i++) {
        int x = v[i], j = i - 1;
        while (j >= 0 && m_order(s, v[j], x) > 0) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

/* ------------------------------------------------------------------------ */
/* The view                                                                  */

int key_order[N_KEYS], user_order[N_USERS];

static void sort_bstr_index(const bstr *v, int *order, int n)
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && bstr_cmp(v[order[j - 1]].p, v[order[j - 1]].n,
                                          v[order[j]].p, v[order[j]].n) > 0;
             j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
}

/* Keys and users in bytewise order, as the library lists them. */
void init_orders(void)
{
    sort_bstr_index(keys, key_order, N_KEYS);
    sort_bstr_index(users, user_order, N_USERS);
}

static msglog_str mstr(bstr b)
{
    msglog_str x = {b.p, b.n};
    return x;
}

static void view_vv(mview *v, const sched *s, int r, int c)
{
    int idx[MAX_REP], nv = 0;
    for (int q = 0; q < s->n_rep; q++)
        if (s->rep[r].vv[c][q] > 0)
            idx[nv++] = q;
    for (int i = 1; i < nv; i++)
        for (int j = i; j > 0 && s->rep[idx[j - 1]].id > s->rep[idx[j]].id; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    for (int i = 0; i < nv; i++) {
        v->vv[i].replica = s->rep[idx[i]].id;
        v->vv[i].seq = s->rep[r].vv[c][idx[i]];
    }
    v->info.n_vv = (size_t)nv;
    v->info.vv = v->vv;
}

static void view_reads(mview *v, const sched *s, int r, int c)
{
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
            v->marks[nr].user = mstr(users[u]);
            v->marks[nr].message.replica = s->rep[s->ops[best].origin].id;
            v->marks[nr].message.seq = s->ops[best].seq;
            nr++;
        }
    }
    v->info.n_read = (size_t)nr;
    v->info.read = v->marks;
}

/* Body, edited, deleted, conflict of message msg at r. */
static void view_state(msglog_message *m, const sched *s, int r, int msg)
{
    const mop *o = &s->ops[msg];
    m->id.replica = s->rep[o->origin].id;
    m->id.seq = o->seq;
    m->hlc = o->hlc;
    m->author = mstr(users[o->user]);
    m->deleted = m_deleted(s, r, msg);
    int best = -1;
    for (int i = 0; i < s->n_ops; i++) {
        const mop *e = &s->ops[i];
        if (e->kind != K_EDIT || e->target != msg || !m_delivered(s, r, i))
            continue;
        m->edited = 1;
        if (best < 0 || m_order(s, i, best) > 0)
            best = i;
    }
    int heads[MAX_OPS];
    m->conflict = !m->deleted && m_heads(s, r, msg, heads) >= 2;
    if (m->deleted) {
        m->body.data = NULL;
        m->body.len = 0;
    } else {
        const mop *b = best >= 0 ? &s->ops[best] : o;
        m->body.data = b->body;
        m->body.len = b->body_len;
    }
}

/* The live reactions of message msg at r, appended to v's arrays. */
static void view_reactions(mview *v, msglog_message *m, size_t *nreact,
                           size_t *nuser, const sched *s, int r, int msg)
{
    m->reactions = &v->reacts[*nreact];
    if (m->deleted)
        return;
    for (int kk = 0; kk < N_KEYS; kk++) {
        int key = key_order[kk];
        msglog_reaction *rx = &v->reacts[*nreact];
        rx->users = &v->rusers[*nuser];
        rx->n_users = 0;
        for (int uu = 0; uu < N_USERS; uu++) {
            int u = user_order[uu];
            if (m_live(s, r, msg, u, key, NULL) > 0)
                v->rusers[*nuser + rx->n_users++] = mstr(users[u]);
        }
        if (rx->n_users > 0) {
            rx->key = mstr(keys[key]);
            *nuser += rx->n_users;
            (*nreact)++;
            m->n_reactions++;
        }
    }
}

int mview_build(mview *v, const sched *s, int r, int c)
{
    memset(v, 0, sizeof *v);
    view_vv(v, s, r, c);
    for (int i = 0; i < s->n_ops; i++)
        if (s->rep[r].pending[i] && s->ops[i].conv == c)
            v->info.pending++;
    view_reads(v, s, r, c);

    int msgs[MAX_OPS], nm = 0;
    for (int i = 0; i < s->n_ops; i++)
        if (s->ops[i].kind == K_SEND && s->ops[i].conv == c && m_delivered(s, r, i))
            msgs[nm++] = i;
    sort_by_order(s, msgs, nm);
    v->info.n_messages = (uint64_t)nm;
    v->n = (size_t)nm;
    v->msgs = calloc((size_t)nm + 1, sizeof *v->msgs);
    v->reacts = calloc((size_t)nm * N_KEYS + 1, sizeof *v->reacts);
    v->rusers = calloc((size_t)nm * N_KEYS * N_USERS + 1, sizeof *v->rusers);
    if (v->msgs == NULL || v->reacts == NULL || v->rusers == NULL) {
        mview_free(v);
        return -1;
    }
    size_t nreact = 0, nuser = 0;
    for (int k = 0; k < nm; k++) {
        view_state(&v->msgs[k], s, r, msgs[k]);
        view_reactions(v, &v->msgs[k], &nreact, &nuser, s, r, msgs[k]);
    }
    return 0;
}

void mview_free(mview *v)
{
    free(v->msgs);
    free(v->reacts);
    free(v->rusers);
    v->msgs = NULL;
    v->reacts = NULL;
    v->rusers = NULL;
}
