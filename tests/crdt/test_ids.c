/* Small op id sets (crdt/ids.c) and op_id_cmp (crdt/op.h). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "crdt/ids.h"
#include "support/rng.h"

#define ID(r, s) ((op_id){ (r), (s) })

Test(op_id, cmp_orders_by_replica_then_seq)
{
    cr_assert_eq(op_id_cmp(ID(1, 1), ID(1, 1)), 0);
    cr_assert_eq(op_id_cmp(ID(1, 2), ID(1, 3)), -1);
    cr_assert_eq(op_id_cmp(ID(1, 3), ID(1, 2)), 1);
    /* Replica dominates seq. */
    cr_assert_eq(op_id_cmp(ID(1, 100), ID(2, 1)), -1);
    cr_assert_eq(op_id_cmp(ID(2, 1), ID(1, 100)), 1);
    /* No overflow from subtraction on extreme values. */
    cr_assert_eq(op_id_cmp(ID(0, 0), ID(UINT64_MAX, 0)), -1);
    cr_assert_eq(op_id_cmp(ID(UINT64_MAX, 0), ID(0, 0)), 1);
    cr_assert_eq(op_id_cmp(ID(5, 0), ID(5, UINT64_MAX)), -1);
    cr_assert_eq(op_id_cmp(ID(5, UINT64_MAX), ID(5, 0)), 1);
    cr_assert_eq(op_id_cmp(ID(UINT64_MAX, UINT64_MAX), ID(UINT64_MAX, UINT64_MAX)), 0);
}

Test(op_id, has_body)
{
    cr_assert_eq(op_has_body(OP_SEND), 1);
    cr_assert_eq(op_has_body(OP_EDIT), 1);
    cr_assert_eq(op_has_body(OP_DELETE), 0);
    cr_assert_eq(op_has_body(OP_REACT), 0);
    cr_assert_eq(op_has_body(OP_UNREACT), 0);
    cr_assert_eq(op_has_body(OP_READ), 0);
    cr_assert_eq(op_has_body(0), 0);
}

Test(ids, empty)
{
    ids s = { 0 };
    cr_assert_eq(ids_contains(&s, ID(1, 1)), 0);
    ids_remove(&s, ID(1, 1));   /* removing from empty is a no-op */
    cr_assert_eq(s.n, 0);
    ids_free(&s);
    cr_assert_null(s.e);
}

Test(ids, add_contains)
{
    ids s = { 0 };
    cr_assert_eq(ids_add(&s, ID(1, 2)), 0);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(ids_contains(&s, ID(1, 2)), 1);
    /* Neither component alone matches. */
    cr_assert_eq(ids_contains(&s, ID(2, 1)), 0);
    cr_assert_eq(ids_contains(&s, ID(1, 1)), 0);
    cr_assert_eq(ids_contains(&s, ID(2, 2)), 0);
    cr_assert_eq(ids_add(&s, ID(2, 1)), 0);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(ids_contains(&s, ID(1, 2)), 1);
    cr_assert_eq(ids_contains(&s, ID(2, 1)), 1);
    ids_free(&s);
}

Test(ids, add_is_idempotent)
{
    ids s = { 0 };
    for (int i = 0; i < 5; i++)
        cr_assert_eq(ids_add(&s, ID(7, 7)), 0);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.e[0].replica, 7);
    cr_assert_eq(s.e[0].seq, 7);
    ids_free(&s);
}

Test(ids, remove)
{
    ids s = { 0 };
    for (uint64_t i = 1; i <= 5; i++)
        cr_assert_eq(ids_add(&s, ID(i, i * 10)), 0);
    ids_remove(&s, ID(3, 30));
    cr_assert_eq(s.n, 4);
    cr_assert_eq(ids_contains(&s, ID(3, 30)), 0);
    for (uint64_t i = 1; i <= 5; i++)
        if (i != 3)
            cr_assert_eq(ids_contains(&s, ID(i, i * 10)), 1, "lost %llu", (unsigned long long)i);
    /* Absent id: nothing changes. */
    ids_remove(&s, ID(3, 30));
    ids_remove(&s, ID(1, 20));
    cr_assert_eq(s.n, 4);
    /* First and last. */
    ids_remove(&s, ID(1, 10));
    ids_remove(&s, ID(5, 50));
    cr_assert_eq(s.n, 2);
    cr_assert_eq(ids_contains(&s, ID(2, 20)), 1);
    cr_assert_eq(ids_contains(&s, ID(4, 40)), 1);
    ids_remove(&s, ID(2, 20));
    ids_remove(&s, ID(4, 40));
    cr_assert_eq(s.n, 0);
    /* Re-adding after emptying works. */
    cr_assert_eq(ids_add(&s, ID(4, 40)), 0);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(ids_contains(&s, ID(4, 40)), 1);
    ids_free(&s);
    cr_assert_eq(s.n, 0);
    cr_assert_null(s.e);
}

/* Random adds and removes against a membership table. */
Test(ids, random_against_reference)
{
    enum { R = 8, S = 8 };
    uint64_t seed = test_seed("ids/random_against_reference");
    rng g;
    rng_seed(&g, seed);
    int ref[R][S] = { { 0 } };
    ids s = { 0 };
    for (int step = 0; step < 5000; step++) {
        uint64_t r = rng_below(&g, R), q = rng_below(&g, S);
        if (rng_chance(&g, 55)) {
            cr_assert_eq(ids_add(&s, ID(r, q)), 0);
            ref[r][q] = 1;
        } else {
            ids_remove(&s, ID(r, q));
            ref[r][q] = 0;
        }
        size_t count = 0;
        for (int i = 0; i < R; i++)
            for (int j = 0; j < S; j++) {
                count += (size_t)ref[i][j];
                cr_assert_eq(ids_contains(&s, ID((uint64_t)i, (uint64_t)j)), ref[i][j],
                             "seed %llu step %d: (%d,%d)", (unsigned long long)seed, step, i, j);
            }
        cr_assert_eq(s.n, count, "seed %llu step %d", (unsigned long long)seed, step);
    }
    ids_free(&s);
}

/* The sorted form: repeats pushed, one of each left, in order, found by
 * binary search. */
Test(ids, push_then_sort_unique_then_find)
{
    ids s = { 0 };
    op_id in[] = { ID(3, 1), ID(1, 2), ID(3, 1), ID(1, 1), ID(2, 9), ID(1, 2) };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        cr_assert_eq(ids_push(&s, in[i]), 0);
    cr_assert_eq(s.n, 6);
    ids_sort_unique(&s);
    op_id want[] = { ID(1, 1), ID(1, 2), ID(2, 9), ID(3, 1) };
    cr_assert_eq(s.n, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(op_id_cmp(s.e[i], want[i]), 0, "entry %zu", i);
        cr_assert_eq(ids_has_sorted(&s, want[i]), 1);
    }
    cr_assert_eq(ids_has_sorted(&s, ID(2, 1)), 0);
    cr_assert_eq(ids_has_sorted(&s, ID(4, 0)), 0);
    ids_free(&s);
    ids empty = { 0 };
    ids_sort_unique(&empty);
    cr_assert_eq(ids_has_sorted(&empty, ID(1, 1)), 0);
}
