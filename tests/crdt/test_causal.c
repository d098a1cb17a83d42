/* Causal readiness (crdt/causal.c): each kind of dependency (predecessor,
 * listed deps, target, refs) and the exact id a pending op waits on. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "crdt/causal.h"

#define ID(r, s) ((op_id){ (r), (s) })
#define SENTINEL ID(0xdead, 0xbeef)

static void have_set(vv *v, uint64_t r, uint64_t s)
{
    cr_assert_eq(vv_set(v, r, s), 0);
}

/* Asserts not ready, waiting on exactly `want`. */
static void assert_waits(const op *o, const vv *have, op_id want)
{
    op_id wait = SENTINEL;
    cr_assert_eq(causal_ready(o, have, &wait), 0, "op %llu.%llu should not be ready",
                 (unsigned long long)o->id.replica, (unsigned long long)o->id.seq);
    cr_assert(op_id_cmp(wait, want) == 0, "waits on %llu.%llu, want %llu.%llu",
              (unsigned long long)wait.replica, (unsigned long long)wait.seq,
              (unsigned long long)want.replica, (unsigned long long)want.seq);
}

static void assert_ready(const op *o, const vv *have)
{
    op_id wait = SENTINEL;
    cr_assert_eq(causal_ready(o, have, &wait), 1, "op %llu.%llu should be ready",
                 (unsigned long long)o->id.replica, (unsigned long long)o->id.seq);
    /* A ready op leaves *wait alone. */
    cr_assert(op_id_cmp(wait, SENTINEL) == 0);
}

Test(causal, first_send_is_ready_on_empty)
{
    vv have = { 0 };
    op o = { .kind = OP_SEND, .id = ID(1, 1) };
    assert_ready(&o, &have);
    vv_free(&have);
}

Test(causal, predecessor)
{
    vv have = { 0 };
    op o = { .kind = OP_SEND, .id = ID(3, 5) };
    assert_waits(&o, &have, ID(3, 4));
    have_set(&have, 3, 3);
    assert_waits(&o, &have, ID(3, 4));
    have_set(&have, 7, 100);          /* another replica does not help */
    assert_waits(&o, &have, ID(3, 4));
    have_set(&have, 3, 4);
    assert_ready(&o, &have);
    /* Already beyond it (a duplicate): still "ready" by this test alone. */
    have_set(&have, 3, 9);
    assert_ready(&o, &have);
    vv_free(&have);
}

Test(causal, deps)
{
    vv have = { 0 };
    op_id deps[] = { ID(2, 3), ID(5, 1) };
    op o = { .kind = OP_SEND, .id = ID(1, 1), .deps = deps, .n_deps = 2 };
    assert_waits(&o, &have, ID(2, 3));
    have_set(&have, 2, 2);
    assert_waits(&o, &have, ID(2, 3));
    have_set(&have, 2, 3);
    assert_waits(&o, &have, ID(5, 1));
    have_set(&have, 5, 1);
    assert_ready(&o, &have);
    vv_free(&have);
}

/* The predecessor is checked before the deps. */
Test(causal, predecessor_before_deps)
{
    vv have = { 0 };
    op_id deps[] = { ID(2, 1) };
    op o = { .kind = OP_SEND, .id = ID(1, 2), .deps = deps, .n_deps = 1 };
    assert_waits(&o, &have, ID(1, 1));
    have_set(&have, 2, 1);
    assert_waits(&o, &have, ID(1, 1));
    have_set(&have, 1, 1);
    assert_ready(&o, &have);
    vv_free(&have);
}

Test(causal, target_for_every_kind_but_send)
{
    const uint8_t kinds[] = { OP_EDIT, OP_DELETE, OP_REACT, OP_UNREACT, OP_READ };
    for (size_t k = 0; k < sizeof kinds; k++) {
        vv have = { 0 };
        op o = { .kind = kinds[k], .id = ID(1, 1), .target = ID(4, 2) };
        assert_waits(&o, &have, ID(4, 2));
        have_set(&have, 4, 1);
        assert_waits(&o, &have, ID(4, 2));
        have_set(&have, 4, 2);
        assert_ready(&o, &have);
        vv_free(&have);
    }
}

/* A send has no target: whatever the field holds is not a dependency. */
Test(causal, send_ignores_target_field)
{
    vv have = { 0 };
    op o = { .kind = OP_SEND, .id = ID(1, 1), .target = ID(9, 9) };
    assert_ready(&o, &have);
    vv_free(&have);
}

Test(causal, refs)
{
    vv have = { 0 };
    op_id refs[] = { ID(1, 2), ID(6, 3) };
    op o = { .kind = OP_EDIT, .id = ID(1, 4), .target = ID(1, 1),
             .refs = refs, .n_refs = 2 };
    have_set(&have, 1, 3);           /* predecessor, target and refs[0] */
    assert_waits(&o, &have, ID(6, 3));
    have_set(&have, 6, 2);
    assert_waits(&o, &have, ID(6, 3));
    have_set(&have, 6, 3);
    assert_ready(&o, &have);
    vv_free(&have);

    /* An unreact's observed reacts are dependencies too. */
    vv h2 = { 0 };
    op_id seen[] = { ID(8, 1) };
    op u = { .kind = OP_UNREACT, .id = ID(2, 1), .target = ID(3, 1),
             .refs = seen, .n_refs = 1 };
    have_set(&h2, 3, 1);
    assert_waits(&u, &h2, ID(8, 1));
    have_set(&h2, 8, 1);
    assert_ready(&u, &h2);
    vv_free(&h2);
}

/* With everything missing, the first missing in the order predecessor,
 * deps, target, refs is reported; filling them in one by one walks that
 * order. */
Test(causal, wait_order_all_kinds)
{
    vv have = { 0 };
    op_id deps[] = { ID(20, 2), ID(21, 1) };
    op_id refs[] = { ID(40, 1), ID(41, 5) };
    op o = { .kind = OP_EDIT, .id = ID(10, 3), .deps = deps, .n_deps = 2,
             .target = ID(30, 7), .refs = refs, .n_refs = 2 };
    assert_waits(&o, &have, ID(10, 2));
    have_set(&have, 10, 2);
    assert_waits(&o, &have, ID(20, 2));
    have_set(&have, 20, 2);
    assert_waits(&o, &have, ID(21, 1));
    have_set(&have, 21, 1);
    assert_waits(&o, &have, ID(30, 7));
    have_set(&have, 30, 7);
    assert_waits(&o, &have, ID(40, 1));
    have_set(&have, 40, 1);
    assert_waits(&o, &have, ID(41, 5));
    have_set(&have, 41, 4);
    assert_waits(&o, &have, ID(41, 5));
    have_set(&have, 41, 5);
    assert_ready(&o, &have);
    vv_free(&have);
}

/* Later deps missing while an earlier one is present: the missing one is
 * reported, not the first listed. */
Test(causal, wait_names_the_missing_dep)
{
    vv have = { 0 };
    op_id deps[] = { ID(2, 1), ID(3, 4), ID(4, 1) };
    op o = { .kind = OP_SEND, .id = ID(1, 1), .deps = deps, .n_deps = 3 };
    have_set(&have, 2, 1);
    have_set(&have, 4, 1);
    assert_waits(&o, &have, ID(3, 4));
    vv_free(&have);
}

/* An op whose target is its own predecessor's origin, as in a normal edit by
 * the author: one delivered op satisfies several dependency kinds at once. */
Test(causal, overlapping_dependencies)
{
    vv have = { 0 };
    op_id refs[] = { ID(1, 2) };
    op_id deps[] = { ID(1, 2) };
    op o = { .kind = OP_EDIT, .id = ID(1, 3), .target = ID(1, 1),
             .deps = deps, .n_deps = 1, .refs = refs, .n_refs = 1 };
    have_set(&have, 1, 1);
    assert_waits(&o, &have, ID(1, 2));
    have_set(&have, 1, 2);
    assert_ready(&o, &have);
    vv_free(&have);
}
