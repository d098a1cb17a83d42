/* Version vectors (crdt/vv.c): get/set/copy/covers, entries kept sorted by
 * replica, vectors with many replicas. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "crdt/vv.h"
#include "support/rng.h"

/* Every entry ascending by replica, every seq >= 1. */
static void assert_sorted(const vv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        cr_assert_geq(v->e[i].seq, 1, "entry %zu has seq 0", i);
        if (i > 0)
            cr_assert_lt(v->e[i - 1].replica, v->e[i].replica,
                         "entries %zu and %zu out of order (%llu, %llu)", i - 1, i,
                         (unsigned long long)v->e[i - 1].replica,
                         (unsigned long long)v->e[i].replica);
    }
    cr_assert_leq(v->n, v->cap);
}

Test(vv, empty_get_is_zero)
{
    vv v = { 0 };
    cr_assert_eq(vv_get(&v, 0), 0);
    cr_assert_eq(vv_get(&v, 1), 0);
    cr_assert_eq(vv_get(&v, UINT64_MAX), 0);
    cr_assert_eq(v.n, 0);
    vv_free(&v);
}

Test(vv, set_then_get)
{
    vv v = { 0 };
    cr_assert_eq(vv_set(&v, 7, 3), 0);
    cr_assert_eq(vv_get(&v, 7), 3);
    cr_assert_eq(vv_get(&v, 6), 0);
    cr_assert_eq(vv_get(&v, 8), 0);
    cr_assert_eq(v.n, 1);
    vv_free(&v);
}

Test(vv, set_overwrites_in_place)
{
    vv v = { 0 };
    cr_assert_eq(vv_set(&v, 5, 1), 0);
    cr_assert_eq(vv_set(&v, 5, 9), 0);
    cr_assert_eq(v.n, 1);
    cr_assert_eq(vv_get(&v, 5), 9);
    /* vv_set is a plain assignment, it may also lower a seq. */
    cr_assert_eq(vv_set(&v, 5, 2), 0);
    cr_assert_eq(vv_get(&v, 5), 2);
    cr_assert_eq(v.n, 1);
    vv_free(&v);
}

Test(vv, insertion_keeps_order)
{
    vv v = { 0 };
    const uint64_t reps[] = { 50, 10, 90, 30, 70, 20, 80, 60, 40, 1, 100 };
    size_t n = sizeof reps / sizeof reps[0];
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(vv_set(&v, reps[i], reps[i] + 1), 0);
        assert_sorted(&v);
    }
    cr_assert_eq(v.n, n);
    const uint64_t want[] = { 1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100 };
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(v.e[i].replica, want[i]);
        cr_assert_eq(v.e[i].seq, want[i] + 1);
    }
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(vv_get(&v, reps[i]), reps[i] + 1);
    cr_assert_eq(vv_get(&v, 15), 0);
    cr_assert_eq(vv_get(&v, 101), 0);
    cr_assert_eq(vv_get(&v, 0), 0);
    vv_free(&v);
}

Test(vv, extreme_replica_ids)
{
    vv v = { 0 };
    cr_assert_eq(vv_set(&v, UINT64_MAX, 4), 0);
    cr_assert_eq(vv_set(&v, 0, 2), 0);
    cr_assert_eq(vv_set(&v, UINT64_MAX - 1, UINT64_MAX), 0);
    assert_sorted(&v);
    cr_assert_eq(v.e[0].replica, 0);
    cr_assert_eq(v.e[1].replica, UINT64_MAX - 1);
    cr_assert_eq(v.e[2].replica, UINT64_MAX);
    cr_assert_eq(vv_get(&v, UINT64_MAX), 4);
    cr_assert_eq(vv_get(&v, UINT64_MAX - 1), UINT64_MAX);
    cr_assert_eq(vv_get(&v, 0), 2);
    cr_assert_eq(vv_get(&v, 1), 0);
    vv_free(&v);
}

Test(vv, copy_is_deep_and_equal)
{
    vv a = { 0 }, b = { 0 };
    for (uint64_t r = 1; r <= 20; r++)
        cr_assert_eq(vv_set(&a, r * 3, r), 0);
    cr_assert_eq(vv_copy(&b, &a), 0);
    cr_assert_eq(b.n, a.n);
    cr_assert_neq(b.e, a.e);
    for (size_t i = 0; i < a.n; i++) {
        cr_assert_eq(b.e[i].replica, a.e[i].replica);
        cr_assert_eq(b.e[i].seq, a.e[i].seq);
    }
    /* Independent afterwards. */
    cr_assert_eq(vv_set(&a, 3, 100), 0);
    cr_assert_eq(vv_set(&a, 1000, 1), 0);
    cr_assert_eq(vv_get(&b, 3), 1);
    cr_assert_eq(vv_get(&b, 1000), 0);
    cr_assert_eq(b.n, 20);
    vv_free(&a);
    vv_free(&b);
}

Test(vv, copy_over_a_bigger_vector_shrinks_it)
{
    vv a = { 0 }, b = { 0 };
    for (uint64_t r = 1; r <= 30; r++)
        cr_assert_eq(vv_set(&b, r, r), 0);
    cr_assert_eq(vv_set(&a, 2, 5), 0);
    cr_assert_eq(vv_copy(&b, &a), 0);
    cr_assert_eq(b.n, 1);
    cr_assert_eq(vv_get(&b, 2), 5);
    cr_assert_eq(vv_get(&b, 1), 0);
    cr_assert_eq(vv_get(&b, 30), 0);
    vv_free(&a);
    vv_free(&b);
}

Test(vv, copy_of_empty)
{
    vv a = { 0 }, b = { 0 };
    cr_assert_eq(vv_set(&b, 4, 4), 0);
    cr_assert_eq(vv_copy(&b, &a), 0);
    cr_assert_eq(b.n, 0);
    cr_assert_eq(vv_get(&b, 4), 0);
    vv c = { 0 };
    cr_assert_eq(vv_copy(&c, &a), 0);
    cr_assert_eq(c.n, 0);
    vv_free(&a);
    vv_free(&b);
    vv_free(&c);
}

Test(vv, covers)
{
    vv have = { 0 }, need = { 0 };
    /* Everything covers the empty vector, including the empty vector. */
    cr_assert_eq(vv_covers(&have, &need), 1);
    cr_assert_eq(vv_set(&need, 2, 3), 0);
    cr_assert_eq(vv_covers(&have, &need), 0);
    cr_assert_eq(vv_covers(&need, &have), 1);
    cr_assert_eq(vv_set(&have, 2, 2), 0);
    cr_assert_eq(vv_covers(&have, &need), 0);
    cr_assert_eq(vv_set(&have, 2, 3), 0);
    cr_assert_eq(vv_covers(&have, &need), 1);
    cr_assert_eq(vv_covers(&need, &have), 1);   /* equal */
    cr_assert_eq(vv_set(&have, 2, 4), 0);
    cr_assert_eq(vv_covers(&have, &need), 1);
    cr_assert_eq(vv_covers(&need, &have), 0);
    /* An entry `have` lacks entirely. */
    cr_assert_eq(vv_set(&need, 9, 1), 0);
    cr_assert_eq(vv_covers(&have, &need), 0);
    cr_assert_eq(vv_set(&have, 1, 10), 0);   /* unrelated entry does not help */
    cr_assert_eq(vv_covers(&have, &need), 0);
    cr_assert_eq(vv_set(&have, 9, 1), 0);
    cr_assert_eq(vv_covers(&have, &need), 1);
    /* Concurrent vectors: neither covers the other. */
    vv x = { 0 }, y = { 0 };
    cr_assert_eq(vv_set(&x, 1, 2), 0);
    cr_assert_eq(vv_set(&x, 2, 1), 0);
    cr_assert_eq(vv_set(&y, 1, 1), 0);
    cr_assert_eq(vv_set(&y, 2, 2), 0);
    cr_assert_eq(vv_covers(&x, &y), 0);
    cr_assert_eq(vv_covers(&y, &x), 0);
    vv_free(&x);
    vv_free(&y);
    vv_free(&have);
    vv_free(&need);
}

/* The seed of a random test: env MSGLOG_SEED, else the time; printed so a
 * failure can be rerun. */
static uint64_t test_seed(const char *name)
{
    const char *env = getenv("MSGLOG_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 0)
                                : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    fprintf(stderr, "%s: seed %llu (rerun with MSGLOG_SEED=%llu)\n", name,
            (unsigned long long)seed, (unsigned long long)seed);
    return seed;
}

/* Thousands of replicas set in random order, some several times, against a
 * plain reference table. */
Test(vv, many_replicas_random)
{
    enum { N = 3000 };
    uint64_t seed = test_seed("vv/many_replicas_random");
    rng g;
    rng_seed(&g, seed);
    static uint64_t ref_rep[N], ref_seq[N];
    size_t nref = 0;
    vv v = { 0 };
    for (int step = 0; step < 3 * N; step++) {
        uint64_t r;
        if (nref && rng_below(&g, 3) == 0)
            r = ref_rep[rng_below(&g, nref)];
        else
            r = rng_below(&g, 100000);
        uint64_t s = rng_range(&g, 1, 1000);
        size_t i = 0;
        while (i < nref && ref_rep[i] != r)
            i++;
        if (i == nref) {
            if (nref == N)
                continue;
            ref_rep[nref++] = r;
        }
        ref_seq[i] = s;
        cr_assert_eq(vv_set(&v, r, s), 0, "seed %llu", (unsigned long long)seed);
    }
    cr_assert_eq(v.n, nref, "seed %llu: %zu entries, want %zu",
                 (unsigned long long)seed, v.n, nref);
    assert_sorted(&v);
    for (size_t i = 0; i < nref; i++)
        cr_assert_eq(vv_get(&v, ref_rep[i]), ref_seq[i], "seed %llu replica %llu",
                     (unsigned long long)seed, (unsigned long long)ref_rep[i]);
    vv c = { 0 };
    cr_assert_eq(vv_copy(&c, &v), 0);
    cr_assert_eq(vv_covers(&c, &v), 1);
    cr_assert_eq(vv_covers(&v, &c), 1);
    /* Lowering one entry of the copy breaks coverage one way only. */
    size_t k = rng_below(&g, c.n);
    uint64_t rk = c.e[k].replica;
    if (c.e[k].seq > 1) {
        cr_assert_eq(vv_set(&c, rk, c.e[k].seq - 1), 0);
        cr_assert_eq(vv_covers(&c, &v), 0);
        cr_assert_eq(vv_covers(&v, &c), 1);
    }
    vv_free(&c);
    vv_free(&v);
}

/* Descending insertion is the worst case for the memmove path. */
Test(vv, many_replicas_descending)
{
    vv v = { 0 };
    for (uint64_t r = 5000; r >= 1; r--)
        cr_assert_eq(vv_set(&v, r, r * 2), 0);
    cr_assert_eq(v.n, 5000);
    assert_sorted(&v);
    for (uint64_t r = 1; r <= 5000; r++)
        cr_assert_eq(vv_get(&v, r), r * 2);
    cr_assert_eq(vv_get(&v, 5001), 0);
    vv_free(&v);
}

Test(vv, free_resets_and_is_null_safe)
{
    vv v = { 0 };
    cr_assert_eq(vv_set(&v, 1, 1), 0);
    vv_free(&v);
    cr_assert_null(v.e);
    cr_assert_eq(v.n, 0);
    cr_assert_eq(v.cap, 0);
    vv_free(&v);   /* twice */
    vv_free(NULL);
    /* Usable again after free. */
    cr_assert_eq(vv_set(&v, 3, 3), 0);
    cr_assert_eq(vv_get(&v, 3), 3);
    vv_free(&v);
}
