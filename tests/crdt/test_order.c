/* The total message order (crdt/order.h, order_cmp): by hlc, then origin
 * replica, then seq; equal tuples compare equal, each tie-break level
 * decides only when the levels above it are equal, extreme values compare
 * without overflow or truncation, and on random triples the order agrees
 * with a plain lexicographic comparison of the tuples, is antisymmetric and
 * transitive. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "crdt/order.h"
#include "support/rng.h"

#define ID(r, s) ((op_id){ (r), (s) })

/* -1, 0 or 1: the header promises only the sign. */
static int sign(int c)
{
    return (c > 0) - (c < 0);
}

static int ord(uint64_t ha, op_id a, uint64_t hb, op_id b)
{
    return sign(order_cmp(ha, a, hb, b));
}

/* The reference: the tuples (hlc, replica, seq) compared lexicographically. */
typedef struct tuple {
    uint64_t hlc, replica, seq;
} tuple;

static int ref_cmp(tuple a, tuple b)
{
    uint64_t x[3] = { a.hlc, a.replica, a.seq }, y[3] = { b.hlc, b.replica, b.seq };
    for (int i = 0; i < 3; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

static int tuple_ord(tuple a, tuple b)
{
    return ord(a.hlc, ID(a.replica, a.seq), b.hlc, ID(b.replica, b.seq));
}

/* Asserts a comes strictly before b, in both directions of the call. */
static void assert_before(uint64_t ha, op_id a, uint64_t hb, op_id b, const char *what)
{
    cr_assert_eq(ord(ha, a, hb, b), -1, "%s: a should come before b", what);
    cr_assert_eq(ord(hb, b, ha, a), 1, "%s: b should come after a", what);
}

/* ---- equality ------------------------------------------------------------ */

Test(order, equal_tuples_compare_equal)
{
    cr_assert_eq(order_cmp(0, ID(0, 0), 0, ID(0, 0)), 0);
    cr_assert_eq(order_cmp(1000, ID(3, 7), 1000, ID(3, 7)), 0);
    cr_assert_eq(order_cmp(UINT64_MAX, ID(UINT64_MAX, UINT64_MAX), UINT64_MAX,
                           ID(UINT64_MAX, UINT64_MAX)), 0);
    /* The same numbers in different positions are not the same tuple. */
    cr_assert_neq(order_cmp(1, ID(2, 3), 3, ID(2, 1)), 0);
    cr_assert_neq(order_cmp(1, ID(2, 3), 1, ID(3, 2)), 0);
}

/* ---- each level ------------------------------------------------------------ */

/* The hlc decides, even when replica and seq both point the other way. */
Test(order, hlc_decides_first)
{
    assert_before(1000, ID(9, 9), 1001, ID(1, 1), "hlc over replica and seq");
    assert_before(1000, ID(UINT64_MAX, UINT64_MAX), 1001, ID(0, 0), "hlc over extremes");
    assert_before(0, ID(5, 5), 1, ID(5, 5), "hlc alone");
}

/* Equal hlc: the replica decides, even when the seq points the other way. */
Test(order, replica_breaks_hlc_ties)
{
    assert_before(1000, ID(3, 100), 1000, ID(4, 1), "replica over seq");
    assert_before(1000, ID(3, UINT64_MAX), 1000, ID(4, 0), "replica over extreme seq");
    assert_before(7, ID(0, 1), 7, ID(1, 1), "replica alone");
}

/* Equal hlc and replica: the seq decides. */
Test(order, seq_breaks_replica_ties)
{
    assert_before(1000, ID(3, 7), 1000, ID(3, 8), "seq");
    assert_before(0, ID(0, 0), 0, ID(0, 1), "seq from 0");
    assert_before(UINT64_MAX, ID(UINT64_MAX, UINT64_MAX - 1), UINT64_MAX,
                  ID(UINT64_MAX, UINT64_MAX), "seq at the top");
}

/* ---- extreme values --------------------------------------------------------- */

/* Differences of 2^63 or more, or with zero low 32 bits, would come out with
 * the wrong sign or as equal if the comparison subtracted or truncated. */
Test(order, extremes_do_not_overflow)
{
    static const uint64_t pairs[][2] = {
        { 0, UINT64_MAX },
        { 0, 1 },
        { UINT64_MAX - 1, UINT64_MAX },
        { 0, UINT64_C(1) << 63 },
        { 1, (UINT64_C(1) << 63) + 2 },
        { (UINT64_C(1) << 63) - 1, UINT64_C(1) << 63 },
        { 0, UINT64_C(1) << 32 },              /* low 32 bits of the difference: 0 */
        { 5, (UINT64_C(1) << 32) + 5 },
        { UINT64_C(0xffffffff), UINT64_C(0x100000000) },
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        uint64_t lo = pairs[i][0], hi = pairs[i][1];
        char what[64];
        snprintf(what, sizeof what, "pair %zu at hlc", i);
        assert_before(lo, ID(1, 1), hi, ID(1, 1), what);
        snprintf(what, sizeof what, "pair %zu at replica", i);
        assert_before(42, ID(lo, 1), 42, ID(hi, 1), what);
        snprintf(what, sizeof what, "pair %zu at seq", i);
        assert_before(42, ID(1, lo), 42, ID(1, hi), what);
        cr_assert_eq(order_cmp(hi, ID(hi, hi), hi, ID(hi, hi)), 0, "pair %zu equal", i);
    }
}

/* ---- random triples against the reference ------------------------------------ */

/* Values from a few small numbers (many ties), the extremes and anything. */
static uint64_t pick(rng *g)
{
    static const uint64_t special[] = {
        0, 1, 2, UINT64_MAX - 1, UINT64_MAX, UINT64_C(1) << 63, (UINT64_C(1) << 63) - 1,
        UINT64_C(1) << 32,
    };
    switch (rng_below(g, 3)) {
    case 0:
        return rng_below(g, 3);
    case 1:
        return special[rng_below(g, sizeof special / sizeof special[0])];
    default:
        return rng_next(g);
    }
}

static tuple pick_tuple(rng *g)
{
    tuple t = { pick(g), pick(g), pick(g) };
    return t;
}

Test(order, random_triples_against_reference)
{
    enum { ROUNDS = 20000 };
    uint64_t seed = test_seed("order/random_triples_against_reference");
    rng g;
    rng_seed(&g, seed);
    int seen[3] = { 0 };   /* how often each outcome came up, over x vs y */
    for (int round = 0; round < ROUNDS; round++) {
        tuple t[3] = { pick_tuple(&g), pick_tuple(&g), pick_tuple(&g) };
        /* Sometimes make a tuple share levels with another to exercise the
         * tie-breaks. */
        if (rng_chance(&g, 30))
            t[1].hlc = t[0].hlc;
        if (rng_chance(&g, 30))
            t[1].replica = t[0].replica;
        if (rng_chance(&g, 10))
            t[2] = t[rng_below(&g, 2)];
        for (int i = 0; i < 3; i++) {
            cr_assert_eq(tuple_ord(t[i], t[i]), 0, "seed %llu round %d: tuple %d not equal to itself",
                         (unsigned long long)seed, round, i);
            for (int j = 0; j < 3; j++) {
                int got = tuple_ord(t[i], t[j]), want = ref_cmp(t[i], t[j]);
                cr_assert_eq(got, want, "seed %llu round %d: (%d vs %d) gave %d, want %d",
                             (unsigned long long)seed, round, i, j, got, want);
                cr_assert_eq(got, -tuple_ord(t[j], t[i]),
                             "seed %llu round %d: not antisymmetric (%d vs %d)",
                             (unsigned long long)seed, round, i, j);
            }
        }
        seen[tuple_ord(t[0], t[1]) + 1]++;
        /* Transitivity over every arrangement of the three. */
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                for (int c = 0; c < 3; c++) {
                    int ab = tuple_ord(t[a], t[b]), bc = tuple_ord(t[b], t[c]);
                    int ac = tuple_ord(t[a], t[c]);
                    if (ab <= 0 && bc <= 0) {
                        cr_assert_leq(ac, 0, "seed %llu round %d: %d<=%d<=%d but %d>%d",
                                      (unsigned long long)seed, round, a, b, c, a, c);
                        if (ab < 0 || bc < 0)
                            cr_assert_lt(ac, 0, "seed %llu round %d: %d<%d not strict",
                                         (unsigned long long)seed, round, a, c);
                    }
                }
    }
    /* The generator reached every outcome, so the checks above had
     * something to check. */
    for (int k = 0; k < 3; k++)
        cr_assert_gt(seen[k], 0, "seed %llu: outcome %d never came up", (unsigned long long)seed,
                     k - 1);
}
