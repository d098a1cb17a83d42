/* Per-conversation state (crdt/conv.c): read markers, deps of a new op,
 * recording delivered ops. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crdt/conv.h"
#include "support/rng.h"

#define ID(r, s) ((op_id){ (r), (s) })

static void read_apply(conv_state *c, const char *user, uint64_t hlc, op_id msg)
{
    cr_assert_eq(conv_read_apply(c, (const uint8_t *)user, strlen(user), hlc, msg), 0);
}

/* The marker of `user`, which must exist. */
static const read_marker *marker(const conv_state *c, const char *user)
{
    size_t n = strlen(user);
    for (size_t i = 0; i < c->n_reads; i++)
        if (c->reads[i].user_len == n && memcmp(c->reads[i].user, user, n) == 0)
            return &c->reads[i];
    cr_assert_fail("no read marker for %s", user);
    return NULL;
}

static void assert_marker(const conv_state *c, const char *user, uint64_t hlc, op_id msg)
{
    const read_marker *r = marker(c, user);
    cr_assert_eq(r->hlc, hlc, "%s: hlc %llu, want %llu", user, (unsigned long long)r->hlc,
                 (unsigned long long)hlc);
    cr_assert(op_id_cmp(r->msg, msg) == 0, "%s: at %llu.%llu, want %llu.%llu", user,
              (unsigned long long)r->msg.replica, (unsigned long long)r->msg.seq,
              (unsigned long long)msg.replica, (unsigned long long)msg.seq);
}

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an < bn ? -1 : an > bn);
}

static void assert_reads_sorted(const conv_state *c)
{
    for (size_t i = 1; i < c->n_reads; i++)
        cr_assert_lt(bytes_cmp(c->reads[i - 1].user, c->reads[i - 1].user_len,
                               c->reads[i].user, c->reads[i].user_len), 0,
                     "read markers %zu and %zu out of order", i - 1, i);
}

/* ---- read markers ---------------------------------------------------- */

Test(conv, first_read_sets_marker)
{
    conv_state c = { 0 };
    char user[] = "bob";
    cr_assert_eq(conv_read_apply(&c, (const uint8_t *)user, 3, 500, ID(1, 1)), 0);
    user[0] = 'X';   /* the marker owns a copy */
    cr_assert_eq(c.n_reads, 1);
    assert_marker(&c, "bob", 500, ID(1, 1));
    conv_free(&c);
    cr_assert_eq(c.n_reads, 0);
    cr_assert_null(c.reads);
    conv_free(NULL);
}

Test(conv, marker_keeps_the_max_by_hlc)
{
    conv_state c = { 0 };
    read_apply(&c, "bob", 500, ID(9, 9));
    read_apply(&c, "bob", 499, ID(9, 10));   /* earlier message: ignored */
    assert_marker(&c, "bob", 500, ID(9, 9));
    read_apply(&c, "bob", 501, ID(1, 1));    /* later hlc wins over id */
    assert_marker(&c, "bob", 501, ID(1, 1));
    read_apply(&c, "bob", 100, ID(100, 100));
    assert_marker(&c, "bob", 501, ID(1, 1));
    cr_assert_eq(c.n_reads, 1);
    conv_free(&c);
}

Test(conv, marker_ties_by_replica_then_seq)
{
    conv_state c = { 0 };
    read_apply(&c, "bob", 500, ID(3, 5));
    read_apply(&c, "bob", 500, ID(2, 9));    /* smaller replica: ignored */
    assert_marker(&c, "bob", 500, ID(3, 5));
    read_apply(&c, "bob", 500, ID(3, 4));    /* same replica, smaller seq */
    assert_marker(&c, "bob", 500, ID(3, 5));
    read_apply(&c, "bob", 500, ID(3, 5));    /* the same message */
    assert_marker(&c, "bob", 500, ID(3, 5));
    read_apply(&c, "bob", 500, ID(3, 6));
    assert_marker(&c, "bob", 500, ID(3, 6));
    read_apply(&c, "bob", 500, ID(4, 1));
    assert_marker(&c, "bob", 500, ID(4, 1));
    conv_free(&c);
}

Test(conv, markers_per_user_sorted)
{
    conv_state c = { 0 };
    /* Prefixes, case, a byte >= 0x80. */
    static const char *const order_in[] = { "bob", "\xc3\xa9mile", "al", "alice", "Zed", "b" };
    static const char *const sorted[] = { "Zed", "al", "alice", "b", "bob", "\xc3\xa9mile" };
    for (uint64_t i = 0; i < 6; i++) {
        read_apply(&c, order_in[i], 1000 + i, ID(1, i + 1));
        assert_reads_sorted(&c);
    }
    cr_assert_eq(c.n_reads, 6);
    for (size_t i = 0; i < 6; i++) {
        cr_assert_eq(c.reads[i].user_len, strlen(sorted[i]));
        cr_assert_arr_eq(c.reads[i].user, sorted[i], c.reads[i].user_len, "entry %zu", i);
    }
    /* Each user's marker is its own. */
    assert_marker(&c, "bob", 1000, ID(1, 1));
    assert_marker(&c, "al", 1002, ID(1, 3));
    assert_marker(&c, "alice", 1003, ID(1, 4));
    /* Moving one does not move the others. */
    read_apply(&c, "al", 2000, ID(2, 1));
    assert_marker(&c, "al", 2000, ID(2, 1));
    assert_marker(&c, "alice", 1003, ID(1, 4));
    assert_marker(&c, "b", 1005, ID(1, 6));
    cr_assert_eq(c.n_reads, 6);
    conv_free(&c);
}

Test(conv, random_markers_against_model)
{
    enum { USERS = 5 };
    static const char *const users[USERS] = { "u3", "u1", "u10", "u2", "u" };
    uint64_t seed = test_seed("conv/random_markers_against_model");
    rng g;
    rng_seed(&g, seed);
    int have[USERS] = { 0 };
    uint64_t hlc[USERS];
    op_id msg[USERS];
    conv_state c = { 0 };
    for (int step = 0; step < 2000; step++) {
        int u = (int)rng_below(&g, USERS);
        uint64_t h = rng_range(&g, 1, 8);
        op_id m = ID(rng_range(&g, 1, 3), rng_range(&g, 1, 3));
        read_apply(&c, users[u], h, m);
        if (!have[u] || h > hlc[u] || (h == hlc[u] && op_id_cmp(m, msg[u]) > 0)) {
            have[u] = 1;
            hlc[u] = h;
            msg[u] = m;
        }
        assert_reads_sorted(&c);
        size_t n = 0;
        for (int i = 0; i < USERS; i++)
            if (have[i]) {
                n++;
                assert_marker(&c, users[i], hlc[i], msg[i]);
            }
        cr_assert_eq(c.n_reads, n, "seed %llu step %d", (unsigned long long)seed, step);
    }
    conv_free(&c);
}

/* ---- deps of a new op ---------------------------------------------------- */

Test(conv, new_deps_empty)
{
    conv_state c = { 0 };
    op_id *deps = (op_id *)&c;   /* must be overwritten */
    size_t n = 99;
    cr_assert_eq(conv_new_deps(&c, 1, &deps, &n), 0);
    cr_assert_null(deps);
    cr_assert_eq(n, 0);
    conv_free(&c);
}

Test(conv, new_deps_only_grown_entries)
{
    conv_state c = { 0 };
    cr_assert_eq(vv_set(&c.delivered, 1, 5), 0);   /* self */
    cr_assert_eq(vv_set(&c.delivered, 2, 3), 0);   /* unchanged since own op */
    cr_assert_eq(vv_set(&c.delivered, 3, 7), 0);   /* grew 4 -> 7 */
    cr_assert_eq(vv_set(&c.delivered, 4, 1), 0);   /* new replica */
    cr_assert_eq(vv_set(&c.own_ctx, 1, 4), 0);
    cr_assert_eq(vv_set(&c.own_ctx, 2, 3), 0);
    cr_assert_eq(vv_set(&c.own_ctx, 3, 4), 0);
    op_id *deps;
    size_t n;
    cr_assert_eq(conv_new_deps(&c, 1, &deps, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_not_null(deps);
    cr_assert(op_id_cmp(deps[0], ID(3, 7)) == 0, "deps[0] %llu.%llu",
              (unsigned long long)deps[0].replica, (unsigned long long)deps[0].seq);
    cr_assert(op_id_cmp(deps[1], ID(4, 1)) == 0, "deps[1] %llu.%llu",
              (unsigned long long)deps[1].replica, (unsigned long long)deps[1].seq);
    free(deps);
    conv_free(&c);
}

Test(conv, new_deps_never_self)
{
    conv_state c = { 0 };
    /* The own entry is ahead of own_ctx (absent there): it is covered by
     * the predecessor rule, so it is never listed. */
    cr_assert_eq(vv_set(&c.delivered, 7, 10), 0);
    op_id *deps;
    size_t n;
    cr_assert_eq(conv_new_deps(&c, 7, &deps, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_null(deps);
    /* Another replica asking sees replica 7 as a dep. */
    cr_assert_eq(conv_new_deps(&c, 8, &deps, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert(op_id_cmp(deps[0], ID(7, 10)) == 0);
    free(deps);
    conv_free(&c);
}

Test(conv, new_deps_none_when_nothing_grew)
{
    conv_state c = { 0 };
    for (uint64_t r = 1; r <= 5; r++) {
        cr_assert_eq(vv_set(&c.delivered, r, r * 2), 0);
        cr_assert_eq(vv_set(&c.own_ctx, r, r * 2), 0);
    }
    op_id *deps;
    size_t n;
    cr_assert_eq(conv_new_deps(&c, 3, &deps, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_null(deps);
    conv_free(&c);
}

/* Random vectors: the deps are exactly {(r, s) in delivered : r != self,
 * s > own_ctx[r]}, ascending by replica. */
Test(conv, new_deps_random)
{
    uint64_t seed = test_seed("conv/new_deps_random");
    rng g;
    rng_seed(&g, seed);
    for (int iter = 0; iter < 500; iter++) {
        conv_state c = { 0 };
        uint64_t self = rng_range(&g, 1, 20);
        for (uint64_t r = 1; r <= 20; r++) {
            if (rng_chance(&g, 30))
                continue;
            uint64_t s = rng_range(&g, 1, 10);
            cr_assert_eq(vv_set(&c.delivered, r, s), 0);
            if (rng_chance(&g, 60)) {
                uint64_t o = rng_range(&g, 1, s);
                cr_assert_eq(vv_set(&c.own_ctx, r, o), 0);
            }
        }
        op_id *deps;
        size_t n;
        cr_assert_eq(conv_new_deps(&c, self, &deps, &n), 0);
        size_t k = 0;
        for (size_t i = 0; i < c.delivered.n; i++) {
            op_id e = c.delivered.e[i];
            if (e.replica == self || e.seq <= vv_get(&c.own_ctx, e.replica))
                continue;
            cr_assert_lt(k, n, "seed %llu iter %d: too few deps", (unsigned long long)seed, iter);
            cr_assert(op_id_cmp(deps[k], e) == 0, "seed %llu iter %d: dep %zu",
                      (unsigned long long)seed, iter, k);
            k++;
        }
        cr_assert_eq(k, n, "seed %llu iter %d: %zu deps, want %zu", (unsigned long long)seed,
                     iter, n, k);
        if (n == 0)
            cr_assert_null(deps);
        free(deps);
        conv_free(&c);
    }
}

/* ---- delivered ----------------------------------------------------------- */

Test(conv, note_delivered)
{
    conv_state c = { 0 };
    op a = { .kind = OP_SEND, .id = ID(1, 1), .hlc = 500 };
    op b = { .kind = OP_SEND, .id = ID(2, 1), .hlc = 400 };   /* lower hlc */
    op a2 = { .kind = OP_EDIT, .id = ID(1, 2), .hlc = 501, .target = ID(1, 1) };
    digest ha = { UINT64_MAX, 1 }, hb = { 2, 3 }, ha2 = { 10, UINT64_MAX };
    cr_assert_eq(conv_note_delivered(&c, &a, ha), 0);
    cr_assert_eq(vv_get(&c.delivered, 1), 1);
    cr_assert_eq(c.maxhlc, 500);
    cr_assert_eq(c.dig.lo, UINT64_MAX);
    cr_assert_eq(c.dig.hi, 1);
    cr_assert_eq(conv_note_delivered(&c, &b, hb), 0);
    cr_assert_eq(vv_get(&c.delivered, 2), 1);
    cr_assert_eq(c.maxhlc, 500);   /* kept */
    cr_assert_eq(c.dig.lo, 1);     /* carry */
    cr_assert_eq(c.dig.hi, 5);
    cr_assert_eq(conv_note_delivered(&c, &a2, ha2), 0);
    cr_assert_eq(vv_get(&c.delivered, 1), 2);
    cr_assert_eq(c.maxhlc, 501);
    cr_assert_eq(c.dig.lo, 11);
    cr_assert_eq(c.dig.hi, 4);     /* 5 + UINT64_MAX mod 2^64 */
    cr_assert_eq(c.delivered.n, 2);
    /* Nothing else moves. */
    cr_assert_eq(c.own_ctx.n, 0);
    cr_assert_eq(c.pending, 0);
    cr_assert_eq(c.n_reads, 0);
    conv_free(&c);
}

/* The digest after delivering a set of ops does not depend on the order. */
Test(conv, note_delivered_digest_order_independent)
{
    op ops[3] = {
        { .kind = OP_SEND, .id = ID(1, 1), .hlc = 10 },
        { .kind = OP_SEND, .id = ID(2, 1), .hlc = 11 },
        { .kind = OP_SEND, .id = ID(3, 1), .hlc = 12 },
    };
    digest h[3];
    for (int i = 0; i < 3; i++) {
        digest_body_hash(ops[i].body_hash, (const uint8_t *)"x", 1);
        ops[i].conv = (const uint8_t *)"c";
        ops[i].conv_len = 1;
        ops[i].user = (const uint8_t *)"u";
        ops[i].user_len = 1;
        h[i] = digest_op_hash(&ops[i]);
    }
    static const int orders[6][3] = {
        { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
    };
    digest first = { 0, 0 };
    for (int k = 0; k < 6; k++) {
        conv_state c = { 0 };
        for (int i = 0; i < 3; i++)
            cr_assert_eq(conv_note_delivered(&c, &ops[orders[k][i]], h[orders[k][i]]), 0);
        if (k == 0)
            first = c.dig;
        cr_assert_eq(c.dig.lo, first.lo, "order %d", k);
        cr_assert_eq(c.dig.hi, first.hi, "order %d", k);
        cr_assert_eq(c.maxhlc, 12);
        cr_assert_eq(c.delivered.n, 3);
        conv_free(&c);
    }
    cr_assert(first.lo != 0 || first.hi != 0);
}
