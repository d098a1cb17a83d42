/*
 * Drawing a plan from its seed. Each step is drawn from the state the
 * earlier ones led to (only legal targets, recent ops favoured), recorded,
 * then run by exec.c exactly as a replay of the plan would run it: the run
 * that drew a plan and any later run of it are the same run.
 *
 * Each schedule opens 3-5 replicas (up to 8 in the long mode, some sharing
 * a user) and runs a random mix of legal ops, a few illegal ones, partial
 * deliveries (subsets, duplicates, any order, single or batched, origin or
 * relayed bytes), partial one-way syncs, restarts and clock readings that
 * jump, repeat and go backwards, with checks of the touched replica after
 * most steps; then everyone syncs with everyone, both ways, twice.
 */
#include "random/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Replicas per schedule: 3 to 5 by default, up to 8 in the long mode. */
static int max_replicas(void)
{
    const char *v = getenv("MSGLOG_MAX_REPLICAS");
    int n = v ? atoi(v) : 5;
    return n < 3 ? 3 : n > MAX_REP ? MAX_REP : n;
}

int gen_setup(sched *s)
{
    rng *g = &s->r;
    plan *p = s->pl;
    p->n_rep = (int)rng_range(g, 3, max_replicas());
    p->n_conv = (int)rng_range(g, 1, MAX_CONV);
    p->names = (int)rng_below(g, N_NAMES);
    /* Users: two replicas of alice, the rest random (so more sharing is
     * possible), in a random order. */
    int us[MAX_REP] = {0, 0, 1, 2};
    for (int i = 3; i < p->n_rep; i++)
        us[i] = (int)rng_below(g, N_USERS);
    rng_shuffle_int(g, us, p->n_rep);
    for (int i = 0; i < p->n_rep; i++) {
        p->user[i] = us[i];
        for (;;) {
            p->id[i] = rng_chance(g, 50) ? rng_range(g, 1, 9)
                                         : rng_range(g, 1, ((uint64_t)1 << 53) - 1);
            int dup = 0;
            for (int j = 0; j < i; j++)
                dup |= p->id[j] == p->id[i];
            if (!dup)
                break;
        }
        p->clock0[i] = T0 + rng_below(g, 30);
    }
    return 0;
}

/* Records st as the plan's next step and runs it. */
static int take(sched *s, step *st)
{
    st->id = s->pl->n;
    if (plan_add(s->pl, st) != 0)
        return failf(s, "plan: more than %d steps or out of memory (test bug)",
                     MAX_STEPS);
    s->at = s->pl->n - 1;
    s->kind = st->kind;
    return exec_step(s, &s->pl->steps[s->at]);
}

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

/* A body: empty, or a unique marker (to find the text in bytes later)
 * followed by filler with NULs and multi-byte characters. */
static char *make_body(sched *s, size_t *len, int *marker)
{
    uint64_t roll = rng_below(&s->r, 100);
    if (roll < 5) {
        *len = 0;
        *marker = -1;
        return calloc(1, 1);
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

/* The messages of conv c at r that each kind of op may target. */
typedef struct targets {
    int all[MAX_OPS], mine[MAX_OPS], live[MAX_OPS];
    int un_msg[MAX_OPS * N_KEYS], un_key[MAX_OPS * N_KEYS];
    int n_all, n_live, n_mine, n_un;
} targets;

static void find_targets(const sched *s, int r, int c, targets *t)
{
    int user = s->rep[r].user;
    t->n_all = t->n_live = t->n_mine = t->n_un = 0;
    for (int i = 0; i < s->n_ops; i++) {
        const mop *o = &s->ops[i];
        if (o->kind != K_SEND || o->conv != c || !m_delivered(s, r, i))
            continue;
        t->all[t->n_all++] = i;
        if (m_deleted(s, r, i))
            continue;
        t->live[t->n_live++] = i;
        if (o->user == user)
            t->mine[t->n_mine++] = i;
        for (int k = 0; k < N_KEYS; k++)
            if (m_live(s, r, i, user, k, NULL) > 0) {
                t->un_msg[t->n_un] = i;
                t->un_key[t->n_un++] = k;
            }
    }
}

/* A kind of op; kinds without a legal target drop out. */
static int draw_kind(sched *s, const targets *t)
{
    int w[7] = {0, 30, t->n_mine ? 15 : 0, t->n_mine ? 6 : 0,
                t->n_live ? 18 : 0, t->n_un ? 14 : 0, t->n_all ? 10 : 0};
    int total = 0;
    for (int k = 1; k <= 6; k++)
        total += w[k];
    int roll = (int)rng_below(&s->r, (uint64_t)total), kind;
    for (kind = 1; kind < 6; kind++) {
        if (roll < w[kind])
            break;
        roll -= w[kind];
    }
    return kind;
}

static int pick(sched *s, const int *v, int n)
{
    return v[rng_below(&s->r, (uint64_t)n)];
}

/* A legal op at replica r. */
static int gen_create(sched *s, int r)
{
    static targets t;
    int c = (int)rng_below(&s->r, (uint64_t)s->n_conv);
    find_targets(s, r, c, &t);
    step st = {.kind = S_CREATE, .r = r, .conv = c, .target = -1, .key = -1,
               .marker = -1};
    st.op = draw_kind(s, &t);
    if (s->n_ops >= MAX_OPS)
        return 0;
    int msg = -1;
    if (st.op == K_EDIT || st.op == K_DELETE)
        msg = pick(s, t.mine, t.n_mine);
    else if (st.op == K_REACT) {
        msg = pick(s, t.live, t.n_live);
        st.key = (int)rng_below(&s->r, N_KEYS);
    } else if (st.op == K_UNREACT) {
        int k = (int)rng_below(&s->r, (uint64_t)t.n_un);
        msg = t.un_msg[k];
        st.key = t.un_key[k];
    } else if (st.op == K_READ)
        msg = pick(s, t.all, t.n_all);
    st.target = msg >= 0 ? s->ops[msg].step : -1;
    if (st.op == K_SEND || st.op == K_EDIT) {
        char *b = make_body(s, &st.body_len, &st.marker);
        if ((st.body = arena_keep(s->pl->bodies, b)) == NULL)
            return failf(s, "out of memory");
    }
    tick_clock(s, &s->rep[r].clk);
    st.t = s->rep[r].clk.now;
    return take(s, &st);
}

/* An op the rules forbid at replica r, when there is a target for it. */
static int gen_illegal(sched *s, int r)
{
    static int cand[MAX_OPS];
    int c = (int)rng_below(&s->r, (uint64_t)s->n_conv);
    int n = 0, what = (int)rng_below(&s->r, 3), user = s->rep[r].user;
    for (int i = 0; i < s->n_ops; i++) {
        const mop *o = &s->ops[i];
        if (o->kind != K_SEND || o->conv != c || !m_delivered(s, r, i))
            continue;
        int del = m_deleted(s, r, i);
        if ((what == 0 && o->user != user && !del) || (what == 1 && del) ||
            (what == 2 && !del))
            cand[n++] = i;
    }
    if (n == 0)
        return 0;
    int t = pick(s, cand, n);
    step st = {.kind = S_ILLEGAL, .r = r, .conv = c, .target = s->ops[t].step};
    st.key = (int)rng_below(&s->r, N_KEYS);
    if (what == 2 && m_live(s, r, t, user, st.key, NULL) > 0)
        return 0;
    if (what == 0)
        st.op = rng_chance(&s->r, 50) ? I_EDIT_OTHER : I_DELETE_OTHER;
    else
        st.op = what == 1 ? I_REACT_DELETED : I_UNREACT_NONE;
    return take(s, &st);
}

/* A holder that may relay op i, or -1 when none may. */
static int draw_relay(sched *s, int i)
{
    int cand[MAX_REP], n = 0;
    for (int q = 0; q < s->n_rep; q++)
        if (relay_ok(s, q, i))
            cand[n++] = q;
    return n ? pick(s, cand, n) : -1;
}

/* 1 to 7 ops, recent ones favoured so that gaps are common, some twice. */
static int gen_deliver(sched *s, int r)
{
    if (s->n_ops == 0)
        return 0;
    step st = {.kind = S_DELIVER, .r = r, .target = -1};
    st.n_picks = (int)rng_range(&s->r, 1, 7);
    int ops[MAX_PICKS];
    for (int k = 0; k < st.n_picks; k++) {
        uint64_t span = (uint64_t)s->n_ops;
        if (rng_chance(&s->r, 60) && span > 12)
            span = 12;
        ops[k] = s->n_ops - 1 - (int)rng_below(&s->r, span);
        if (k > 0 && rng_chance(&s->r, 15))
            ops[k] = ops[rng_below(&s->r, (uint64_t)k)];   /* duplicate */
        st.pick[k] = s->ops[ops[k]].step;
        st.relay[k] = rng_chance(&s->r, 30) ? draw_relay(s, ops[k]) : -1;
    }
    st.batch = rng_chance(&s->r, 35);
    return take(s, &st);
}

static int gen_sync(sched *s, int r)
{
    step st = {.kind = S_SYNC, .r = r, .target = -1};
    st.from = (int)rng_below(&s->r, (uint64_t)s->n_rep - 1);
    if (st.from >= r)
        st.from++;
    st.conv = rng_chance(&s->r, 50)
                  ? -1
                  : (int)rng_below(&s->r, (uint64_t)s->n_conv);
    return take(s, &st);
}

static int gen_simple(sched *s, int kind, int r)
{
    step st = {.kind = kind, .r = r, .target = -1};
    return take(s, &st);
}

/* Everyone syncs with everyone, both ways, twice; maybe everyone restarts;
 * every replica is checked; then the final checks. */
static int gen_final(sched *s)
{
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < s->n_rep; i++)
            for (int j = 0; j < s->n_rep; j++)
                if (i != j) {
                    step st = {.kind = S_SYNC, .r = i, .from = j, .conv = -1,
                               .target = -1};
                    TRY(take(s, &st));
                }
    if (rng_chance(&s->r, 30))
        for (int i = 0; i < s->n_rep; i++)
            TRY(gen_simple(s, S_RESTART, i));
    for (int i = 0; i < s->n_rep; i++)
        TRY(gen_simple(s, S_CHECK, i));
    return gen_simple(s, S_FINAL, 0);
}

int gen_steps(sched *s)
{
    rng *g = &s->r;
    int n_steps = (int)rng_range(g, 20, 120);
    for (int k = 0; k < n_steps; k++) {
        int r = (int)rng_below(g, (uint64_t)s->n_rep);
        uint64_t roll = rng_below(g, 100);
        if (roll < 50)
            TRY(gen_create(s, r));
        else if (roll < 53)
            TRY(gen_illegal(s, r));
        else if (roll < 72)
            TRY(gen_deliver(s, r));
        else if (roll < 88)
            TRY(gen_sync(s, r));
        else if (roll < 93)
            TRY(gen_simple(s, S_RESTART, r));
        if (rng_chance(g, 70))
            TRY(gen_simple(s, S_CHECK, r));
    }
    return gen_final(s);
}
