/* The delivery status of a message (crdt/status.c, status_of_message):
 * PENDING until the relay's vector covers the id, SENT until the delivered
 * vector covers it (and while no other member is known), DELIVERED, READ
 * once every member's read marker (crdt/conv.c) is at or after the message
 * in message order. Covers each status, members without markers, markers
 * exactly at and just before the message at each tie-break level, markers
 * of non-members, members and markers interleaved in bytewise order, and
 * random cases against a reference model. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crdt/conv.h"
#include "crdt/status.h"
#include "support/rng.h"

#define ID(r, s) ((op_id){ (r), (s) })
#define STR(lit) ((msglog_str){ (lit), sizeof(lit) - 1 })

/* The message under test: 5.3 at hlc 1000. */
#define HLC 1000
#define MSG ID(5, 3)

static const char *status_name(int s)
{
    switch (s) {
    case MSGLOG_STATUS_PENDING: return "PENDING";
    case MSGLOG_STATUS_SENT: return "SENT";
    case MSGLOG_STATUS_DELIVERED: return "DELIVERED";
    case MSGLOG_STATUS_READ: return "READ";
    default: return "?";
    }
}

#define ASSERT_STATUS(got, want)                                               \
    do {                                                                       \
        int g_ = (got), w_ = (want);                                           \
        cr_assert_eq(g_, w_, "status %s, want %s", status_name(g_), status_name(w_)); \
    } while (0)

/* Both vectors cover MSG (and hold other replicas around it). */
static const op_id covering[] = { { 1, 10 }, { 5, 3 }, { 9, 1 } };

static status_facts facts(const op_id *relay, size_t n_relay, const op_id *delivered,
                          size_t n_delivered, const msglog_str *members, size_t n_members)
{
    status_facts f = { relay, n_relay, delivered, n_delivered, members, n_members };
    return f;
}

static void mark(conv_state *c, const char *user, uint64_t hlc, op_id msg)
{
    cr_assert_eq(conv_read_apply(c, (const uint8_t *)user, strlen(user), hlc, msg), 0);
}

static int status(const status_facts *f, const conv_state *c)
{
    return status_of_message(f, c, HLC, MSG);
}

/* ---- each status ---------------------------------------------------------- */

Test(status, pending_until_the_relay_covers_the_id)
{
    msglog_str members[] = { STR("bob") };
    conv_state c = { 0 };
    mark(&c, "bob", HLC + 5, ID(1, 1));   /* read, and delivered: still pending */
    /* Relay vector empty. */
    status_facts f = facts(NULL, 0, covering, 3, members, 1);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_PENDING);
    /* The replica's entry one short. */
    op_id short_by_one[] = { { 1, 10 }, { 5, 2 }, { 9, 1 } };
    f = facts(short_by_one, 3, covering, 3, members, 1);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_PENDING);
    /* Only other replicas, high seqs. */
    op_id others[] = { { 4, 100 }, { 6, 100 } };
    f = facts(others, 2, covering, 3, members, 1);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_PENDING);
    /* Exactly the seq: no longer pending. */
    op_id exact[] = { { 5, 3 } };
    f = facts(exact, 1, covering, 3, members, 1);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_READ);
    conv_free(&c);
}

Test(status, sent_until_the_delivered_vector_covers_the_id)
{
    msglog_str members[] = { STR("bob") };
    conv_state c = { 0 };
    mark(&c, "bob", HLC + 5, ID(1, 1));
    status_facts f = facts(covering, 3, NULL, 0, members, 1);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_SENT);
    op_id short_by_one[] = { { 5, 2 } };
    f = facts(covering, 3, short_by_one, 1, members, 1);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_SENT);
    op_id ahead[] = { { 5, 4 } };
    f = facts(covering, 3, ahead, 1, members, 1);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_READ);
    conv_free(&c);
}

/* With no other member known, a committed message stays SENT even when the
 * delivered vector covers it and read markers exist. */
Test(status, sent_while_no_members)
{
    conv_state c = { 0 };
    status_facts f = facts(covering, 3, covering, 3, NULL, 0);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_SENT);
    mark(&c, "bob", HLC + 5, ID(1, 1));
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_SENT);
    /* The same facts with bob as a member: READ. */
    msglog_str members[] = { STR("bob") };
    f = facts(covering, 3, covering, 3, members, 1);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_READ);
    conv_free(&c);
}

Test(status, delivered_without_markers)
{
    msglog_str members[] = { STR("bob"), STR("carol") };
    conv_state c = { 0 };
    status_facts f = facts(covering, 3, covering, 3, members, 2);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_DELIVERED);
    conv_free(&c);
}

Test(status, read_by_every_member)
{
    msglog_str members[] = { STR("bob"), STR("carol") };
    conv_state c = { 0 };
    mark(&c, "bob", HLC + 1, ID(1, 1));
    mark(&c, "carol", HLC + 100, ID(9, 9));
    status_facts f = facts(covering, 3, covering, 3, members, 2);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_READ);
    conv_free(&c);
}

/* ---- markers ----------------------------------------------------------------- */

Test(status, member_without_a_marker_is_not_read)
{
    msglog_str members[] = { STR("bob"), STR("carol") };
    status_facts f = facts(covering, 3, covering, 3, members, 2);
    /* Only bob read. */
    conv_state c = { 0 };
    mark(&c, "bob", HLC + 1, ID(1, 1));
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_DELIVERED);
    conv_free(&c);
    /* Only carol read. */
    conv_state d = { 0 };
    mark(&d, "carol", HLC + 1, ID(1, 1));
    ASSERT_STATUS(status(&f, &d), MSGLOG_STATUS_DELIVERED);
    mark(&d, "bob", HLC, MSG);
    ASSERT_STATUS(status(&f, &d), MSGLOG_STATUS_READ);
    conv_free(&d);
}

/* A marker exactly at the message is READ; one just after it at each level
 * too; one just before it at each level (the lower levels pointing the other
 * way) is not. */
Test(status, marker_at_and_around_the_message)
{
    msglog_str members[] = { STR("bob") };
    status_facts f = facts(covering, 3, covering, 3, members, 1);
    static const struct {
        uint64_t hlc;
        op_id msg;
        int want;
        const char *what;
    } cases[] = {
        { HLC, { 5, 3 }, MSGLOG_STATUS_READ, "exactly at" },
        { HLC - 1, { 9, 9 }, MSGLOG_STATUS_DELIVERED, "hlc just before" },
        { HLC, { 4, 9 }, MSGLOG_STATUS_DELIVERED, "replica just before" },
        { HLC, { 5, 2 }, MSGLOG_STATUS_DELIVERED, "seq just before" },
        { HLC + 1, { 1, 1 }, MSGLOG_STATUS_READ, "hlc just after" },
        { HLC, { 6, 1 }, MSGLOG_STATUS_READ, "replica just after" },
        { HLC, { 5, 4 }, MSGLOG_STATUS_READ, "seq just after" },
        { 0, { 0, 0 }, MSGLOG_STATUS_DELIVERED, "at the very start" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conv_state c = { 0 };
        mark(&c, "bob", cases[i].hlc, cases[i].msg);
        int got = status(&f, &c);
        cr_assert_eq(got, cases[i].want, "%s: %s, want %s", cases[i].what, status_name(got),
                     status_name(cases[i].want));
        conv_free(&c);
    }
}

/* Markers of users who are not members do not count, for or against; names
 * that only share a prefix with a member are other users. */
Test(status, markers_of_non_members_are_ignored)
{
    msglog_str members[] = { STR("bob") };
    status_facts f = facts(covering, 3, covering, 3, members, 1);
    conv_state c = { 0 };
    mark(&c, "bo", HLC + 1, ID(1, 1));
    mark(&c, "bobb", HLC + 1, ID(1, 1));
    mark(&c, "alice", HLC + 1, ID(1, 1));
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_DELIVERED);
    mark(&c, "bob", HLC, MSG);
    mark(&c, "zed", 1, ID(1, 1));   /* a non-member far behind */
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_READ);
    conv_free(&c);
}

/* Members bob and carol among markers for alice, bob, carol and dave (both
 * lists in bytewise order): only bob's and carol's markers decide. */
Test(status, members_and_markers_interleaved)
{
    msglog_str members[] = { STR("bob"), STR("carol") };
    status_facts f = facts(covering, 3, covering, 3, members, 2);
    static const char *const users[] = { "alice", "bob", "carol", "dave" };
    /* For each user in turn, that user's marker is behind the message and
     * every other is ahead of it. */
    for (int behind = -1; behind < 4; behind++) {
        conv_state c = { 0 };
        for (int u = 0; u < 4; u++) {
            if (u == behind)
                mark(&c, users[u], HLC - 1, MSG);
            else
                mark(&c, users[u], HLC + 1, MSG);
        }
        int want = behind == 1 || behind == 2 ? MSGLOG_STATUS_DELIVERED : MSGLOG_STATUS_READ;
        int got = status(&f, &c);
        cr_assert_eq(got, want, "%s behind: %s, want %s", behind < 0 ? "nobody" : users[behind],
                     status_name(got), status_name(want));
        conv_free(&c);
    }
    /* Markers only for the non-members around them. */
    conv_state c = { 0 };
    mark(&c, "alice", HLC + 1, MSG);
    mark(&c, "dave", HLC + 1, MSG);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_DELIVERED);
    /* A marker between the members, not for carol. */
    mark(&c, "bob", HLC + 1, MSG);
    mark(&c, "bobby", HLC + 1, MSG);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_DELIVERED);
    mark(&c, "carol", HLC, MSG);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_READ);
    conv_free(&c);
}

/* Bytewise means unsigned bytes, a prefix first: "al" < "alice" < "bob" <
 * "zoe" < "\xc3\xa9ve" (e acute). */
Test(status, bytewise_order_with_prefixes_and_high_bytes)
{
    msglog_str members[] = { STR("al"), STR("alice"), STR("\xc3\xa9ve") };
    status_facts f = facts(covering, 3, covering, 3, members, 3);
    conv_state c = { 0 };
    mark(&c, "\xc3\xa9ve", HLC + 1, MSG);
    mark(&c, "zoe", HLC + 1, MSG);
    mark(&c, "alice", HLC + 1, MSG);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_DELIVERED);   /* "al" missing */
    mark(&c, "bob", HLC + 1, MSG);
    mark(&c, "al", HLC, MSG);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_READ);
    conv_free(&c);
    /* The last member is the one missing. */
    conv_state d = { 0 };
    mark(&d, "al", HLC + 1, MSG);
    mark(&d, "alice", HLC + 1, MSG);
    mark(&d, "zoe", HLC + 1, MSG);
    ASSERT_STATUS(status(&f, &d), MSGLOG_STATUS_DELIVERED);
    conv_free(&d);
}

/* A marker only moves forward (conv_read_apply), so a later read of an
 * earlier message does not undo READ. */
Test(status, marker_does_not_move_back)
{
    msglog_str members[] = { STR("bob") };
    status_facts f = facts(covering, 3, covering, 3, members, 1);
    conv_state c = { 0 };
    mark(&c, "bob", HLC, MSG);
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_READ);
    mark(&c, "bob", HLC - 10, ID(1, 1));
    ASSERT_STATUS(status(&f, &c), MSGLOG_STATUS_READ);
    conv_free(&c);
}

/* ---- random cases against a reference model ----------------------------------- */

enum { POOL = 8, REPS = 4 };
/* Ascending bytewise. */
static const char *const pool[POOL] = { "a", "al", "alice", "bob", "bobby", "carol", "dave",
                                        "\xc3\xa9ve" };

typedef struct tuple {
    uint64_t hlc, replica, seq;
} tuple;

static int tuple_cmp(tuple a, tuple b)
{
    if (a.hlc != b.hlc)
        return a.hlc < b.hlc ? -1 : 1;
    if (a.replica != b.replica)
        return a.replica < b.replica ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

/* A random vector over replicas 1..REPS (dense reference in want[1..REPS],
 * 0 for absent), as a sorted entry array. */
static size_t random_vv(rng *g, op_id *out, uint64_t want[REPS + 1])
{
    size_t n = 0;
    for (uint64_t r = 1; r <= REPS; r++) {
        want[r] = rng_chance(g, 70) ? rng_range(g, 1, 4) : 0;
        if (want[r])
            out[n++] = ID(r, want[r]);
    }
    return n;
}

Test(status, random_against_model)
{
    enum { ROUNDS = 3000 };
    uint64_t seed = test_seed("status/random_against_model");
    rng g;
    rng_seed(&g, seed);
    for (size_t i = 1; i < POOL; i++)
        cr_assert_lt(strcmp(pool[i - 1], pool[i]), 0, "pool not ascending at %zu", i);
    int seen[4] = { 0 };
    for (int round = 0; round < ROUNDS; round++) {
        op_id relay[REPS], delivered[REPS];
        uint64_t relay_ref[REPS + 1], delivered_ref[REPS + 1];
        size_t n_relay = random_vv(&g, relay, relay_ref);
        size_t n_delivered = random_vv(&g, delivered, delivered_ref);
        msglog_str members[POOL];
        int is_member[POOL];
        size_t n_members = 0;
        for (int u = 0; u < POOL; u++) {
            is_member[u] = rng_chance(&g, 40);
            if (is_member[u])
                members[n_members++] = (msglog_str){ pool[u], strlen(pool[u]) };
        }
        tuple m = { rng_range(&g, 1, 3), rng_range(&g, 1, REPS), rng_range(&g, 1, 4) };
        /* Markers: several reads per user, in random order; the model keeps
         * the greatest. */
        conv_state c = { 0 };
        int has_marker[POOL] = { 0 };
        tuple marker[POOL];
        int reads = (int)rng_below(&g, 3 * POOL);
        for (int k = 0; k < reads; k++) {
            int u = (int)rng_below(&g, POOL);
            tuple t = { rng_range(&g, 0, 4), rng_range(&g, 0, REPS + 1), rng_range(&g, 0, 5) };
            mark(&c, pool[u], t.hlc, ID(t.replica, t.seq));
            if (!has_marker[u] || tuple_cmp(t, marker[u]) > 0)
                marker[u] = t;
            has_marker[u] = 1;
        }
        int want;
        if (relay_ref[m.replica] < m.seq) {
            want = MSGLOG_STATUS_PENDING;
        } else if (n_members == 0 || delivered_ref[m.replica] < m.seq) {
            want = MSGLOG_STATUS_SENT;
        } else {
            want = MSGLOG_STATUS_READ;
            for (int u = 0; u < POOL; u++)
                if (is_member[u] && (!has_marker[u] || tuple_cmp(marker[u], m) < 0))
                    want = MSGLOG_STATUS_DELIVERED;
        }
        status_facts f = facts(relay, n_relay, delivered, n_delivered, members, n_members);
        int got = status_of_message(&f, &c, m.hlc, ID(m.replica, m.seq));
        cr_assert_eq(got, want, "seed %llu round %d: %s, want %s", (unsigned long long)seed,
                     round, status_name(got), status_name(want));
        seen[want]++;
        conv_free(&c);
    }
    /* Every status came up, so each branch of the model was compared. */
    for (int s = 0; s < 4; s++)
        cr_assert_gt(seen[s], 0, "seed %llu: %s never came up", (unsigned long long)seed,
                     status_name(s));
}
