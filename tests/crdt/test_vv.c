/* Version vectors (crdt/vv.c): get/set/copy/covers, entries kept sorted by
 * replica, vectors with many replicas; has/merge/equal and the functions on
 * plain entry arrays (equal, cover, max, min), also against a reference. */
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

/* ---- vv_has, vv_merge, vv_equal and the entry-array functions ------------- */

#define ID(r, s) ((op_id){ (r), (s) })

/* Sets v to exactly the entries e[0..n). */
static void vv_from(vv *v, const op_id *e, size_t n)
{
    v->n = 0;
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(vv_set(v, e[i].replica, e[i].seq), 0);
}

/* got[0..n) is exactly want[0..nw). */
static void assert_entries(const op_id *got, size_t n, const op_id *want, size_t nw,
                           const char *what)
{
    cr_assert_eq(n, nw, "%s: %zu entries, want %zu", what, n, nw);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(got[i].replica, want[i].replica, "%s: entry %zu replica %llu, want %llu",
                     what, i, (unsigned long long)got[i].replica,
                     (unsigned long long)want[i].replica);
        cr_assert_eq(got[i].seq, want[i].seq, "%s: entry %zu seq %llu, want %llu", what, i,
                     (unsigned long long)got[i].seq, (unsigned long long)want[i].seq);
    }
}

Test(vv, has)
{
    vv v = { 0 };
    cr_assert_eq(vv_has(&v, ID(5, 1)), 0);
    cr_assert_eq(vv_set(&v, 5, 3), 0);
    cr_assert_eq(vv_set(&v, UINT64_MAX, UINT64_MAX), 0);
    cr_assert_eq(vv_has(&v, ID(5, 1)), 1);
    cr_assert_eq(vv_has(&v, ID(5, 3)), 1);
    cr_assert_eq(vv_has(&v, ID(5, 4)), 0);
    cr_assert_eq(vv_has(&v, ID(5, UINT64_MAX)), 0);
    cr_assert_eq(vv_has(&v, ID(4, 1)), 0);
    cr_assert_eq(vv_has(&v, ID(6, 1)), 0);
    cr_assert_eq(vv_has(&v, ID(UINT64_MAX, UINT64_MAX)), 1);
    cr_assert_eq(vv_has(&v, ID(UINT64_MAX - 1, 1)), 0);
    vv_free(&v);
}

Test(vv, merge_is_the_entrywise_maximum)
{
    vv d = { 0 };
    vv_from(&d, (op_id[]){ ID(1, 5), ID(3, 2), ID(7, 7) }, 3);
    /* Lower, new, higher, equal and new-at-the-end entries. */
    op_id src[] = { ID(1, 3), ID(2, 4), ID(3, 7), ID(7, 7), ID(9, 1) };
    cr_assert_eq(vv_merge(&d, src, 5), 0);
    assert_sorted(&d);
    assert_entries(d.e, d.n, (op_id[]){ ID(1, 5), ID(2, 4), ID(3, 7), ID(7, 7), ID(9, 1) }, 5,
                   "merged");
    /* Again: idempotent. */
    cr_assert_eq(vv_merge(&d, src, 5), 0);
    assert_entries(d.e, d.n, (op_id[]){ ID(1, 5), ID(2, 4), ID(3, 7), ID(7, 7), ID(9, 1) }, 5,
                   "merged twice");
    /* Nothing to merge. */
    cr_assert_eq(vv_merge(&d, NULL, 0), 0);
    cr_assert_eq(d.n, 5);
    /* A new entry before all others. */
    cr_assert_eq(vv_merge(&d, (op_id[]){ ID(0, 2) }, 1), 0);
    assert_entries(d.e, d.n,
                   (op_id[]){ ID(0, 2), ID(1, 5), ID(2, 4), ID(3, 7), ID(7, 7), ID(9, 1) }, 6,
                   "merged at the front");
    vv_free(&d);
    /* Into an empty vector: a copy. */
    vv e = { 0 };
    cr_assert_eq(vv_merge(&e, src, 5), 0);
    assert_entries(e.e, e.n, src, 5, "into empty");
    vv_free(&e);
}

Test(vv, equal)
{
    vv a = { 0 }, b = { 0 };
    cr_assert_eq(vv_equal(&a, &b), 1);
    /* Built in different orders, different capacities. */
    vv_from(&a, (op_id[]){ ID(1, 1), ID(4, 2), ID(9, 3) }, 3);
    vv_from(&b, (op_id[]){ ID(9, 3), ID(1, 1), ID(4, 2) }, 3);
    cr_assert_eq(vv_equal(&a, &b), 1);
    cr_assert_eq(vv_equal(&b, &a), 1);
    /* One seq differs. */
    cr_assert_eq(vv_set(&b, 4, 3), 0);
    cr_assert_eq(vv_equal(&a, &b), 0);
    cr_assert_eq(vv_set(&b, 4, 2), 0);
    cr_assert_eq(vv_equal(&a, &b), 1);
    /* One more entry. */
    cr_assert_eq(vv_set(&b, 10, 1), 0);
    cr_assert_eq(vv_equal(&a, &b), 0);
    cr_assert_eq(vv_equal(&b, &a), 0);
    /* Same seqs under different replicas. */
    vv c = { 0 }, d = { 0 };
    vv_from(&c, (op_id[]){ ID(1, 1), ID(4, 2) }, 2);
    vv_from(&d, (op_id[]){ ID(1, 1), ID(5, 2) }, 2);
    cr_assert_eq(vv_equal(&c, &d), 0);
    /* Empty against non-empty. */
    vv z = { 0 };
    cr_assert_eq(vv_equal(&z, &c), 0);
    cr_assert_eq(vv_equal(&c, &z), 0);
    vv_free(&a);
    vv_free(&b);
    vv_free(&c);
    vv_free(&d);
}

Test(vv, entries_equal)
{
    op_id a[] = { ID(1, 1), ID(4, 2), ID(9, 3) };
    op_id b[] = { ID(1, 1), ID(4, 2), ID(9, 3) };
    op_id c[] = { ID(1, 1), ID(4, 2), ID(9, 4) };
    op_id d[] = { ID(1, 1), ID(5, 2), ID(9, 3) };
    cr_assert_eq(vv_entries_equal(NULL, 0, NULL, 0), 1);
    cr_assert_eq(vv_entries_equal(a, 0, c, 0), 1);   /* empty, whatever the pointers */
    cr_assert_eq(vv_entries_equal(a, 3, b, 3), 1);
    cr_assert_eq(vv_entries_equal(a, 3, a, 3), 1);
    cr_assert_eq(vv_entries_equal(a, 3, c, 3), 0);
    cr_assert_eq(vv_entries_equal(a, 3, d, 3), 0);
    /* A prefix is not equal. */
    cr_assert_eq(vv_entries_equal(a, 2, b, 3), 0);
    cr_assert_eq(vv_entries_equal(a, 3, b, 2), 0);
    cr_assert_eq(vv_entries_equal(a, 2, c, 2), 1);
    cr_assert_eq(vv_entries_equal(NULL, 0, a, 1), 0);
    cr_assert_eq(vv_entries_equal(a, 1, NULL, 0), 0);
}

Test(vv, entries_cover)
{
    cr_assert_eq(vv_entries_cover(NULL, 0, ID(1, 1)), 0);
    op_id v[] = { ID(0, 2), ID(3, 5), ID(8, 1), ID(UINT64_MAX, 4) };
    size_t n = 4;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(vv_entries_cover(v, n, ID(v[i].replica, 1)), 1, "entry %zu seq 1", i);
        cr_assert_eq(vv_entries_cover(v, n, v[i]), 1, "entry %zu exactly", i);
        cr_assert_eq(vv_entries_cover(v, n, ID(v[i].replica, v[i].seq + 1)), 0,
                     "entry %zu one past", i);
    }
    /* Replicas between, before and after the entries. */
    cr_assert_eq(vv_entries_cover(v, n, ID(1, 1)), 0);
    cr_assert_eq(vv_entries_cover(v, n, ID(5, 1)), 0);
    cr_assert_eq(vv_entries_cover(v, n, ID(9, 1)), 0);
    cr_assert_eq(vv_entries_cover(v, n, ID(UINT64_MAX - 1, 1)), 0);
    /* A prefix of the array only. */
    cr_assert_eq(vv_entries_cover(v, 2, ID(8, 1)), 0);
    cr_assert_eq(vv_entries_cover(v, 2, ID(3, 5)), 1);
}

Test(vv, entries_max_both_empty)
{
    op_id dummy = ID(1, 1);
    op_id *out = &dummy;
    size_t n = 99;
    cr_assert_eq(vv_entries_max(NULL, 0, NULL, 0, &out, &n), 0);
    cr_assert_null(out);
    cr_assert_eq(n, 0);
}

Test(vv, entries_max)
{
    op_id a[] = { ID(1, 5), ID(3, 2), ID(7, 7) };
    op_id b[] = { ID(0, 1), ID(2, 4), ID(3, 9), ID(7, 6), ID(UINT64_MAX, 1) };
    op_id *out = NULL;
    size_t n = 0;
    /* Overlapping: the greater seq of each shared replica, all others. */
    cr_assert_eq(vv_entries_max(a, 3, b, 5, &out, &n), 0);
    op_id want[] = { ID(0, 1), ID(1, 5), ID(2, 4), ID(3, 9), ID(7, 7), ID(UINT64_MAX, 1) };
    assert_entries(out, n, want, 6, "max(a, b)");
    free(out);
    cr_assert_eq(vv_entries_max(b, 5, a, 3, &out, &n), 0);
    assert_entries(out, n, want, 6, "max(b, a)");
    free(out);
    /* Disjoint replicas, interleaved. */
    op_id c[] = { ID(1, 1), ID(5, 5) };
    op_id d[] = { ID(2, 2), ID(4, 4), ID(6, 6) };
    cr_assert_eq(vv_entries_max(c, 2, d, 3, &out, &n), 0);
    assert_entries(out, n, (op_id[]){ ID(1, 1), ID(2, 2), ID(4, 4), ID(5, 5), ID(6, 6) }, 5,
                   "disjoint");
    free(out);
    /* One side empty: a new copy of the other. */
    cr_assert_eq(vv_entries_max(a, 3, NULL, 0, &out, &n), 0);
    assert_entries(out, n, a, 3, "max(a, empty)");
    cr_assert_neq(out, a);
    free(out);
    cr_assert_eq(vv_entries_max(NULL, 0, b, 5, &out, &n), 0);
    assert_entries(out, n, b, 5, "max(empty, b)");
    cr_assert_neq(out, b);
    free(out);
    /* Identical. */
    cr_assert_eq(vv_entries_max(a, 3, a, 3, &out, &n), 0);
    assert_entries(out, n, a, 3, "max(a, a)");
    free(out);
    /* The inputs are unchanged. */
    assert_entries(a, 3, (op_id[]){ ID(1, 5), ID(3, 2), ID(7, 7) }, 3, "a after");
}

Test(vv, entries_min_into)
{
    /* Overlapping: shared replicas get the smaller seq, the others are left
     * out. */
    op_id a[] = { ID(0, 3), ID(1, 5), ID(3, 2), ID(7, 7), ID(UINT64_MAX, 2) };
    op_id b[] = { ID(1, 3), ID(2, 4), ID(3, 9), ID(7, 7), ID(UINT64_MAX, 1) };
    size_t n = vv_entries_min_into(a, 5, b, 5);
    assert_entries(a, n, (op_id[]){ ID(1, 3), ID(3, 2), ID(7, 7), ID(UINT64_MAX, 1) }, 4,
                   "min");
    assert_entries(b, 5, (op_id[]){ ID(1, 3), ID(2, 4), ID(3, 9), ID(7, 7), ID(UINT64_MAX, 1) },
                   5, "b after");
    /* Disjoint: nothing left. */
    op_id c[] = { ID(1, 1), ID(5, 5) };
    op_id d[] = { ID(2, 2), ID(4, 4), ID(6, 6) };
    cr_assert_eq(vv_entries_min_into(c, 2, d, 3), 0);
    /* Either side empty. */
    op_id e[] = { ID(1, 1), ID(2, 2) };
    cr_assert_eq(vv_entries_min_into(e, 2, NULL, 0), 0);
    cr_assert_eq(vv_entries_min_into(NULL, 0, d, 3), 0);
    /* Identical: unchanged. */
    op_id f[] = { ID(1, 4), ID(2, 8) };
    op_id g[] = { ID(1, 4), ID(2, 8) };
    n = vv_entries_min_into(f, 2, g, 2);
    assert_entries(f, n, g, 2, "min(f, f)");
    /* b a superset of a with greater seqs: a unchanged. */
    op_id h[] = { ID(3, 1), ID(5, 2) };
    op_id k[] = { ID(1, 9), ID(3, 9), ID(4, 9), ID(5, 9), ID(6, 9) };
    n = vv_entries_min_into(h, 2, k, 5);
    assert_entries(h, n, (op_id[]){ ID(3, 1), ID(5, 2) }, 2, "min(h, superset)");
}

/* Random vectors over a few replicas against dense reference arrays: max,
 * min, merge, has and cover agree with the plain entry-wise rules. */
Test(vv, entries_max_min_random)
{
    enum { REPS = 24, ROUNDS = 2000 };
    uint64_t seed = test_seed("vv/entries_max_min_random");
    rng g;
    rng_seed(&g, seed);
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t ra[REPS] = { 0 }, rb[REPS] = { 0 };
        op_id a[REPS], b[REPS];
        size_t na = 0, nb = 0;
        unsigned density = (unsigned)rng_below(&g, 101);
        for (uint64_t r = 0; r < REPS; r++) {
            if (rng_chance(&g, density)) {
                ra[r] = rng_range(&g, 1, 6);
                a[na++] = ID(r * 1000, ra[r]);
            }
            if (rng_chance(&g, density)) {
                rb[r] = rng_range(&g, 1, 6);
                b[nb++] = ID(r * 1000, rb[r]);
            }
        }
        op_id want_max[REPS], want_min[REPS];
        size_t nmax = 0, nmin = 0;
        for (uint64_t r = 0; r < REPS; r++) {
            uint64_t hi = ra[r] > rb[r] ? ra[r] : rb[r];
            uint64_t lo = ra[r] < rb[r] ? ra[r] : rb[r];
            if (hi)
                want_max[nmax++] = ID(r * 1000, hi);
            if (lo)
                want_min[nmin++] = ID(r * 1000, lo);
        }
        char what[96];
        snprintf(what, sizeof what, "seed %llu round %d max", (unsigned long long)seed, round);
        op_id *out = NULL;
        size_t n = 0;
        cr_assert_eq(vv_entries_max(a, na, b, nb, &out, &n), 0);
        assert_entries(out, n, want_max, nmax, what);
        cr_assert_eq(out == NULL, nmax == 0, "%s: NULL iff empty", what);

        /* vv_merge of b into a vector of a gives the same. */
        vv v = { 0 };
        vv_from(&v, a, na);
        cr_assert_eq(vv_merge(&v, b, nb), 0);
        snprintf(what, sizeof what, "seed %llu round %d merge", (unsigned long long)seed, round);
        assert_entries(v.e, v.n, want_max, nmax, what);
        assert_sorted(&v);
        cr_assert_eq(vv_entries_equal(v.e, v.n, out, n), 1, "%s", what);

        /* has / cover against the reference, on ids around each entry. */
        for (int t = 0; t < 8; t++) {
            uint64_t r = rng_below(&g, REPS);
            op_id id = ID(r * 1000 + (rng_chance(&g, 10) ? 1 : 0), rng_range(&g, 1, 7));
            int want = id.replica == r * 1000 && ra[r] >= id.seq;
            cr_assert_eq(vv_entries_cover(a, na, id), want, "seed %llu round %d cover",
                         (unsigned long long)seed, round);
            uint64_t hi = ra[r] > rb[r] ? ra[r] : rb[r];
            cr_assert_eq(vv_has(&v, id), id.replica == r * 1000 && hi >= id.seq,
                         "seed %llu round %d has", (unsigned long long)seed, round);
        }
        vv_free(&v);
        free(out);

        size_t k = vv_entries_min_into(a, na, b, nb);
        snprintf(what, sizeof what, "seed %llu round %d min", (unsigned long long)seed, round);
        assert_entries(a, k, want_min, nmin, what);
    }
}
