/* The hybrid logical clock (crdt/hlc.h): hlc = max(t << 16, maxhlc + 1),
 * checked against the numbers of the conformance cases. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "crdt/hlc.h"
#include "support/rng.h"

#define T0 UINT64_C(1700000000000)
#define H0 UINT64_C(111411200000000000)   /* T0 << 16 */

Test(hlc, first_op_is_t_shifted)
{
    /* basic_send_sync / same_millisecond: 1.1 at t=1700000000000. */
    cr_assert_eq(hlc_next(T0, 0), H0);
    cr_assert_eq(H0, T0 * 65536);
}

Test(hlc, ahead_of_maxhlc_takes_the_clock)
{
    /* basic_send_sync: 2.1 at t=1700000000005 after seeing 1.1. */
    cr_assert_eq(hlc_next(UINT64_C(1700000000005), H0), UINT64_C(111411200000327680));
    /* Ahead by a single tick of the low bits still takes the clock. */
    cr_assert_eq(hlc_next(T0 + 1, (T0 << 16) + 0xffff), (T0 + 1) << 16);
    cr_assert_eq(hlc_next(T0 + 1, ((T0 + 1) << 16) - 1), (T0 + 1) << 16);
}

Test(hlc, equal_clock_bumps_maxhlc)
{
    /* same_millisecond: a second op in the same millisecond. */
    cr_assert_eq(hlc_next(T0, H0), H0 + 1);
    cr_assert_eq(hlc_next(T0, H0 + 1), H0 + 2);
    /* t << 16 exactly equal to maxhlc is "not ahead". */
    cr_assert_eq(hlc_next(T0, H0), H0 + 1);
}

Test(hlc, behind_clock_bumps_maxhlc)
{
    /* clock_set_back: 1.1 at 1700003600000, then 2.1 at 1700000000000 and
     * 2.2 at 1699913600000 (a day back). */
    uint64_t h11 = hlc_next(UINT64_C(1700003600000), 0);
    cr_assert_eq(h11, UINT64_C(111411435929600000));
    uint64_t h21 = hlc_next(UINT64_C(1700000000000), h11);
    cr_assert_eq(h21, UINT64_C(111411435929600001));
    uint64_t h22 = hlc_next(UINT64_C(1699913600000), h21);
    cr_assert_eq(h22, UINT64_C(111411435929600002));
}

Test(hlc, same_millisecond_case)
{
    /* same_millisecond: replicas 5 and 3 write at the same t; 3.2 after
     * seeing 5.1 and 5.2. */
    uint64_t h51 = hlc_next(T0, 0);
    uint64_t h52 = hlc_next(T0, h51);
    uint64_t h31 = hlc_next(T0, 0);
    cr_assert_eq(h51, UINT64_C(111411200000000000));
    cr_assert_eq(h52, UINT64_C(111411200000000001));
    cr_assert_eq(h31, UINT64_C(111411200000000000));
    uint64_t max = h52 > h31 ? h52 : h31;
    cr_assert_eq(hlc_next(T0, max), UINT64_C(111411200000000002));
}

Test(hlc, zero_clock)
{
    cr_assert_eq(hlc_next(0, 0), 1);   /* 0 << 16 is not > 0 */
    cr_assert_eq(hlc_next(0, 41), 42);
    cr_assert_eq(hlc_next(1, 0), 65536);
}

Test(hlc, largest_valid_clock)
{
    uint64_t tmax = HLC_MAX_MS - 1;   /* 2^47 - 1, the largest trace t */
    cr_assert_eq(HLC_MAX_MS, UINT64_C(140737488355328));
    cr_assert_eq(hlc_next(tmax, 0), UINT64_C(0x7fffffffffff0000));
    cr_assert_eq(hlc_next(tmax, UINT64_C(0x7fffffffffff0000)), UINT64_C(0x7fffffffffff0001));
}

/* Outside the trace range (t >= 2^47) the clock is held at the largest
 * reading rather than wrapped into the past. */
Test(hlc, clock_beyond_range_is_held)
{
    cr_assert_eq(hlc_next(HLC_MAX_MS, 0), UINT64_C(0x7fffffffffff0000));
    cr_assert_eq(hlc_next(HLC_MAX_MS + 12345, 0), UINT64_C(0x7fffffffffff0000));
    cr_assert_eq(hlc_next(UINT64_MAX, 0), UINT64_C(0x7fffffffffff0000));
    cr_assert_eq(hlc_next(UINT64_MAX, H0), UINT64_C(0x7fffffffffff0000));
}

/* Whatever maxhlc is, the next hlc must not go back in time: an op's hlc is
 * at least every hlc it has seen; at the top of the valid range it stays
 * there (never 2^63 or more, which every decoder refuses, never wrapped). */
Test(hlc, never_goes_back_or_past_the_limit)
{
    cr_assert_eq(HLC_LIMIT, UINT64_C(0x8000000000000000));
    cr_assert(hlc_valid(HLC_LIMIT - 1));
    cr_assert(!hlc_valid(HLC_LIMIT));
    cr_assert(!hlc_valid(UINT64_MAX));
    cr_assert_eq(hlc_next(T0, HLC_LIMIT - 2), HLC_LIMIT - 1);
    cr_assert_eq(hlc_next(T0, HLC_LIMIT - 1), HLC_LIMIT - 1);
    cr_assert_eq(hlc_next(UINT64_MAX, HLC_LIMIT - 1), HLC_LIMIT - 1);
}

/* The relay's bound: the largest hlc a clock reading now + ahead makes. */
Test(hlc, ceiling)
{
    cr_assert_eq(hlc_ceiling(T0, 0), H0 | 0xffff);
    cr_assert_eq(hlc_ceiling(T0, 600000), ((T0 + 600000) << 16) | 0xffff);
    cr_assert_gt(hlc_ceiling(T0, 600000), hlc_next(T0 + 600000, 0));
    cr_assert_lt(hlc_ceiling(T0, 600000), hlc_next(T0 + 600001, 0));
    cr_assert_eq(hlc_ceiling(HLC_MAX_MS - 1, 1), HLC_LIMIT - 1);
    cr_assert_eq(hlc_ceiling(UINT64_MAX, UINT64_MAX), HLC_LIMIT - 1);
}

/* The formula, against a direct computation, for random clocks and maxhlc
 * values both near and far from t << 16. */
Test(hlc, random_matches_formula)
{
    uint64_t seed = test_seed("hlc/random_matches_formula");
    rng g;
    rng_seed(&g, seed);
    for (int i = 0; i < 100000; i++) {
        uint64_t t = rng_below(&g, HLC_MAX_MS);
        uint64_t phys = t << 16;
        uint64_t max;
        switch (rng_below(&g, 4)) {
        case 0: max = phys; break;
        case 1: max = phys - rng_range(&g, 0, phys < 70000 ? phys : 70000); break;
        case 2: max = phys + rng_below(&g, 70000); break;
        default: max = rng_below(&g, HLC_LIMIT - 1); break;   /* < the largest valid */
        }
        uint64_t want = phys > max ? phys : max + 1;
        uint64_t got = hlc_next(t, max);
        cr_assert_eq(got, want, "seed %llu: hlc_next(%llu, %llu) = %llu, want %llu",
                     (unsigned long long)seed, (unsigned long long)t,
                     (unsigned long long)max, (unsigned long long)got,
                     (unsigned long long)want);
        cr_assert_gt(got, max);
        cr_assert_geq(got, phys);
    }
}
