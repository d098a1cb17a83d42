/* Geometric growth of arrays (crdt/grow.c): room is made by doubling, at
 * least 4 elements, nothing moves when there is room, and a size that would
 * overflow is refused with the array left as it was. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "crdt/grow.h"

Test(grow, first_room_is_at_least_four)
{
    size_t cap = 0;
    int *a = grow_array(NULL, &cap, 1, sizeof *a);
    cr_assert_not_null(a);
    cr_assert_eq(cap, 4);
    free(a);
}

Test(grow, no_realloc_while_there_is_room)
{
    size_t cap = 0;
    int *a = grow_array(NULL, &cap, 3, sizeof *a);
    cr_assert_not_null(a);
    for (size_t need = 1; need <= cap; need++)
        cr_assert_eq(grow_array(a, &cap, need, sizeof *a), a, "moved at need %zu", need);
    cr_assert_eq(cap, 4);
    free(a);
}

Test(grow, doubles_and_keeps_the_contents)
{
    size_t cap = 0, reallocs = 0;
    uint64_t *a = NULL;
    for (size_t n = 0; n < 10000; n++) {
        size_t before = cap;
        uint64_t *p = grow_array(a, &cap, n + 1, sizeof *p);
        cr_assert_not_null(p);
        if (cap != before) {
            reallocs++;
            cr_assert_geq(cap, 2 * before, "capacity %zu -> %zu: not doubled", before, cap);
        }
        a = p;
        a[n] = n * 2654435761u;
    }
    for (size_t n = 0; n < 10000; n++)
        cr_assert_eq(a[n], n * 2654435761u, "element %zu lost", n);
    /* 4, 8, ..., 16384: 13 reallocations for 10,000 appends, not 10,000. */
    cr_assert_eq(reallocs, 13);
    free(a);
}

Test(grow, a_big_need_is_met_at_once)
{
    size_t cap = 4;
    char *a = grow_array(malloc(4), &cap, 1000, 1);
    cr_assert_not_null(a);
    cr_assert_eq(cap, 1000);
    free(a);
}

Test(grow, overflow_is_refused_and_leaves_the_array)
{
    size_t cap = 4;
    uint64_t *a = malloc(4 * sizeof *a);
    cr_assert_not_null(a);
    a[3] = 7;
    cr_assert_null(grow_array(a, &cap, SIZE_MAX / 4, sizeof *a));
    cr_assert_eq(cap, 4, "capacity changed on failure");
    cr_assert_eq(a[3], 7);
    free(a);
}
