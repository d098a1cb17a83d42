/* The relay's memory budget (net/budget.c): shares, room, what a
 * connection may do, and reclaiming what outgrew a shrunk share. */
#include <criterion/criterion.h>

#include <stdint.h>

#include "net/budget.h"

#define MiB ((size_t)1 << 20)

Test(budget, the_share_is_the_budget_divided_among_the_members)
{
    net_budget b;
    net_budget_member m[4];
    net_budget_init(&b, 12 * MiB);
    cr_assert_eq(net_budget_share(&b), 12 * MiB, "alone, all of it");
    for (int i = 0; i < 4; i++)
        net_budget_join(&b, &m[i]);
    cr_assert_eq(net_budget_share(&b), 3 * MiB);
    net_budget_hold(&b, &m[0], 2 * MiB);
    net_budget_hold(&b, &m[1], 5 * MiB);
    cr_assert_eq(b.held, 7 * MiB);
    cr_assert_eq(net_budget_room(&b, 2 * MiB), 1 * MiB);
    cr_assert_eq(net_budget_room(&b, 5 * MiB), 0, "over: no room");
    net_budget_hold(&b, &m[1], 1 * MiB);
    cr_assert_eq(b.held, 3 * MiB);
    net_budget_leave(&b, &m[0]);
    cr_assert_eq(b.held, 1 * MiB, "a member leaving gives back what it held");
    cr_assert_eq(net_budget_share(&b), 4 * MiB);
    cr_assert_eq(net_budget_share(NULL), SIZE_MAX, "no budget, no limit");
    cr_assert_eq(net_budget_room(NULL, 100 * MiB), SIZE_MAX - 100 * MiB);
}

Test(budget, under_the_share_it_goes_over_it_it_waits_or_is_closed)
{
    net_budget b;
    net_budget_member m;
    net_budget_init(&b, 4 * MiB);
    net_budget_join(&b, &m);
    cr_assert_eq(net_budget_judge(&b, 1 * MiB, 1 * MiB, 0), NET_PACE_GO);
    cr_assert_eq(net_budget_judge(&b, 1 * MiB, 3 * MiB, 1), NET_PACE_SLOW,
                 "over, with writes to complete: wait for them");
    cr_assert_eq(net_budget_judge(&b, 4 * MiB, 0, 1), NET_PACE_WORK,
                 "over, nothing to drain, frames waiting: work on them");
    cr_assert_eq(net_budget_judge(&b, 4 * MiB, 0, 0), NET_PACE_CLOSE,
                 "its input alone fills the share and it needs more: no way on");
    cr_assert_eq(net_budget_judge(NULL, SIZE_MAX / 2, SIZE_MAX / 4, 0), NET_PACE_GO);
}

static int evicted[8];

static void evict(net_budget_member *m, void *ctx)
{
    net_budget_member *base = ctx;
    evicted[m - base] = 1;
}

/* Members that took a large share while they were few are reclaimed when
 * others join and the budget is exceeded, but only those holding more than
 * twice their new share, and once per join. */
Test(budget, reclaim_takes_back_what_outgrew_a_shrunk_share)
{
    net_budget b;
    net_budget_member m[8];
    net_budget_init(&b, 16 * MiB);
    net_budget_join(&b, &m[0]);
    net_budget_hold(&b, &m[0], 12 * MiB);         /* alone: within its share */
    net_budget_reclaim(&b, evict, m);
    cr_assert_eq(evicted[0], 0, "within the budget, nothing is reclaimed");
    net_budget_join(&b, &m[1]);
    net_budget_hold(&b, &m[1], 6 * MiB);          /* 18 MiB: over the budget */
    net_budget_reclaim(&b, evict, m);
    cr_assert_eq(evicted[0], 0, "12 MiB is not over twice a share of 8 MiB");
    net_budget_join(&b, &m[2]);                   /* shares of 5.3 MiB */
    net_budget_reclaim(&b, evict, m);
    cr_assert_eq(evicted[0], 1, "12 MiB is over twice 5.3 MiB");
    cr_assert_eq(evicted[1], 0, "6 MiB is not");
    cr_assert_eq(evicted[2], 0);
    evicted[0] = 0;
    net_budget_reclaim(&b, evict, m);
    cr_assert_eq(evicted[0], 0, "one pass per join");
}
