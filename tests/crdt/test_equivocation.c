/* Which version of an equivocated id counts (crdt/equivocation.h,
 * version_counts_over): a candidate counts over the held version only when
 * its content hash is strictly lower bytewise (unsigned bytes, the first
 * differing byte decides); an equal hash does not count; and folding over a
 * random set of versions in any order ends on exactly the minimum. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crdt/equivocation.h"
#include "support/rng.h"

typedef struct hash {
    uint8_t b[OP_HASH_LEN];
} hash;

static hash filled(uint8_t v)
{
    hash h;
    memset(h.b, v, OP_HASH_LEN);
    return h;
}

/* The reference: lexicographic over unsigned bytes, written out. */
static int ref_cmp(const hash *a, const hash *b)
{
    for (int i = 0; i < OP_HASH_LEN; i++)
        if (a->b[i] != b->b[i])
            return a->b[i] < b->b[i] ? -1 : 1;
    return 0;
}

Test(equivocation, strictly_lower_counts)
{
    hash lo = filled(0x10), hi = filled(0x20);
    cr_assert_eq(version_counts_over(lo.b, hi.b), 1);
    cr_assert_eq(version_counts_over(hi.b, lo.b), 0);
    hash zero = filled(0), ones = filled(0xff);
    cr_assert_eq(version_counts_over(zero.b, ones.b), 1);
    cr_assert_eq(version_counts_over(ones.b, zero.b), 0);
}

Test(equivocation, equal_does_not_count)
{
    static const uint8_t fills[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
    for (size_t i = 0; i < sizeof fills; i++) {
        hash a = filled(fills[i]), b = filled(fills[i]);
        cr_assert_eq(version_counts_over(a.b, b.b), 0, "fill %#x", fills[i]);
        cr_assert_eq(version_counts_over(a.b, a.b), 0, "fill %#x, same buffer", fills[i]);
    }
    hash mixed;
    for (int i = 0; i < OP_HASH_LEN; i++)
        mixed.b[i] = (uint8_t)(i * 37 + 5);
    hash copy = mixed;
    cr_assert_eq(version_counts_over(mixed.b, copy.b), 0);
    cr_assert_eq(version_counts_over(copy.b, mixed.b), 0);
}

/* At every position: equal before it, the candidate one lower there and
 * higher at every byte after it still counts; one higher there does not,
 * whatever follows. */
Test(equivocation, first_differing_byte_decides)
{
    for (int pos = 0; pos < OP_HASH_LEN; pos++) {
        hash held = filled(0x80), cand = filled(0x80);
        cand.b[pos] = 0x7f;
        for (int k = pos + 1; k < OP_HASH_LEN; k++) {
            cand.b[k] = 0xff;
            held.b[k] = 0x00;
        }
        cr_assert_eq(version_counts_over(cand.b, held.b), 1, "lower at byte %d", pos);
        cr_assert_eq(version_counts_over(held.b, cand.b), 0, "higher at byte %d", pos);
    }
}

/* Bytes are unsigned: 0x7f is lower than 0x80 (a signed char comparison
 * would say the opposite). */
Test(equivocation, bytes_are_unsigned)
{
    hash a = filled(0), b = filled(0);
    a.b[0] = 0x7f;
    b.b[0] = 0x80;
    cr_assert_eq(version_counts_over(a.b, b.b), 1);
    cr_assert_eq(version_counts_over(b.b, a.b), 0);
    /* Only the last byte differs. */
    hash c = filled(0xff), d = filled(0xff);
    c.b[OP_HASH_LEN - 1] = 0xfe;
    cr_assert_eq(version_counts_over(c.b, d.b), 1);
    cr_assert_eq(version_counts_over(d.b, c.b), 0);
}

/* A random set of versions, many sharing long prefixes and some equal,
 * offered in shuffled orders: the fold keeps exactly the minimum. */
Test(equivocation, fold_picks_the_minimum_in_any_order)
{
    enum { ROUNDS = 500, MAXV = 12, SHUFFLES = 8 };
    uint64_t seed = test_seed("equivocation/fold_picks_the_minimum_in_any_order");
    rng g;
    rng_seed(&g, seed);
    int min_not_first = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int n = (int)rng_range(&g, 2, MAXV);
        hash v[MAXV];
        hash base;
        for (int i = 0; i < OP_HASH_LEN; i++)
            base.b[i] = (uint8_t)rng_next(&g);
        for (int i = 0; i < n; i++) {
            v[i] = base;
            if (i > 0 && rng_chance(&g, 10)) {
                v[i] = v[rng_below(&g, (uint64_t)i)];   /* an equal hash */
                continue;
            }
            /* Differ from the base from a random position on. */
            int from = (int)rng_below(&g, OP_HASH_LEN);
            for (int k = from; k < OP_HASH_LEN; k++)
                v[i].b[k] = (uint8_t)rng_next(&g);
        }
        int min = 0;
        for (int i = 1; i < n; i++)
            if (ref_cmp(&v[i], &v[min]) < 0)
                min = i;
        for (int s = 0; s < SHUFFLES; s++) {
            int order[MAXV];
            for (int i = 0; i < n; i++)
                order[i] = i;
            rng_shuffle_int(&g, order, n);
            const hash *held = &v[order[0]];
            for (int i = 1; i < n; i++)
                if (version_counts_over(v[order[i]].b, held->b))
                    held = &v[order[i]];
            cr_assert_eq(ref_cmp(held, &v[min]), 0,
                         "seed %llu round %d shuffle %d: fold did not end on the minimum",
                         (unsigned long long)seed, round, s);
            min_not_first += ref_cmp(&v[order[0]], &v[min]) != 0;
        }
        /* Pairwise: the candidate counts exactly when the reference says
         * it is lower. */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                cr_assert_eq(version_counts_over(v[i].b, v[j].b), ref_cmp(&v[i], &v[j]) < 0,
                             "seed %llu round %d: versions %d over %d", (unsigned long long)seed,
                             round, i, j);
    }
    /* The minimum was usually not offered first, so the fold had to move. */
    cr_assert_gt(min_not_first, ROUNDS, "seed %llu", (unsigned long long)seed);
}
