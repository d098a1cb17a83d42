/* msglog_check (api/check.c, log/check*.c): a whole store has no problem;
 * a damaged record is reported once, by name; records whose checksums are
 * sound but that disagree with each other (written here through log/, as a
 * bug or a rollback of one table would leave them) are found by the index
 * and total checks; the check writes nothing. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "log/msg_walk.h"
#include "log/pending.h"
#include "msglog.h"
#include "support/check.h"
#include "support/damage.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define T0 1700000000000ULL
#define TEAM "team", 4

static char *root;
static tclock clk = { T0, 0 };
static msglog *a;

/* The problems of the last check, one a line. */
static char seen[4096];

static void collect(void *ctx, const char *problem)
{
    (void)ctx;
    size_t at = strlen(seen);
    snprintf(seen + at, sizeof seen - at, "%s\n", problem);
}

static msglog_id say(const char *conv, const char *body)
{
    msglog_id id;
    clk.now++;
    CHECK_OK(msglog_send(a, &id, conv, strlen(conv), body, strlen(body)));
    return id;
}

/* alice's store: team with three messages, an edit, a reaction, a read
 * marker and an op of bob's waiting for its predecessor; other with one. */
static void setup(void)
{
    root = tmpdir_make("msglog-check-");
    cr_assert_not_null(root);
    CHECK_OK(tstore_open(&a, root, "a", 1, "alice", &clk));
    msglog_id m1 = say("team", "first"), out;
    say("team", "second message");
    say("team", "third");
    say("other", "elsewhere");
    CHECK_OK(msglog_edit(a, &out, TEAM, m1, "first, edited", 13));
    CHECK_OK(msglog_react(a, &out, TEAM, m1, "+1", 2));
    CHECK_OK(msglog_mark_read(a, &out, TEAM, m1));
    msglog *b;
    tclock bclk = { T0, 0 };
    CHECK_OK(tstore_open(&b, root, "b", 2, "bob", &bclk));
    msglog_id b1, b2;
    CHECK_OK(msglog_send(b, &b1, TEAM, "bob's first", 11));
    CHECK_OK(msglog_send(b, &b2, TEAM, "bob's second", 12));
    void *p;
    size_t n;
    CHECK_OK(msglog_op_bytes(b, &p, &n, TEAM, b2));
    CHECK_OK(msglog_receive(a, p, n));   /* waits for b1 */
    msglog_free(p);
    msglog_close(b);
    seen[0] = '\0';
}

static void teardown(void)
{
    tstore_teardown(&a, &root);
}

TestSuite(check, .init = setup, .fini = teardown);

/* Runs the check: its code, with the problems in `seen`. */
static int check(uint64_t *n)
{
    seen[0] = '\0';
    return msglog_check(a, collect, NULL, n);
}

/* A write transaction on alice's store below the engine, and team's state. */
static store_txn *tamper(conv_state *team)
{
    store_txn *t;
    CHECK_OK(store_txn_begin(a->st, 1, &t));
    CHECK_OK(conv_lookup(t, (const uint8_t *)"team", 4, team));
    return t;
}

/* Commits what tamper() began, then checks: the number of problems, which
 * are in `seen`. */
static uint64_t commit_and_check(store_txn *t, conv_state *team)
{
    CHECK_OK(store_txn_commit(t));
    conv_free(team);
    uint64_t n = 0;
    cr_assert_eq(check(&n), MSGLOG_ECORRUPT);
    return n;
}

Test(check, a_whole_store_has_no_problem)
{
    uint64_t n = 99;
    msglog_conv_info *info;
    CHECK_OK(msglog_conv_info_get(a, &info, TEAM));
    cr_assert_eq(info->pending, 1, "the setup has a pending op");
    msglog_free(info);
    CHECK_OK(check(&n));
    cr_assert_eq(n, 0);
    cr_assert_str_eq(seen, "");
    CHECK_OK(msglog_check(a, NULL, NULL, NULL));
}

Test(check, a_damaged_record_is_reported_once_by_name)
{
    msglog_close(a);
    char *dir = tmpdir_join(root, "a");
    cr_assert_gt(damage_flip_text(dir, "second message", 14, 0, 0x01), 0);
    free(dir);
    CHECK_OK(tstore_open(&a, root, "a", 1, "alice", &clk));
    uint64_t n = 0;
    cr_assert_eq(check(&n), MSGLOG_ECORRUPT);
    cr_assert_eq(n, 1, "problems:\n%s", seen);
    cr_assert_str_eq(seen, "ops record 1.2 of conversation team is damaged (checksum)\n");
    cr_assert(strstr(msglog_errmsg(a), "1 problem found") != NULL, "%s", msglog_errmsg(a));
}

/* Deletes every message state of conversation cid (what a lost table
 * would look like). */
static void delete_message_states(store_txn *t, uint32_t cid)
{
    enum { MAX = 16 };
    uint64_t hlc[MAX];
    op_id id[MAX];
    size_t n = 0;
    msg_walk w;
    msg_state m;
    int rc = msg_walk_open(&w, t, cid, 0, 1, 0, (op_id){ 0, 0 });
    while (!rc && n < MAX && (rc = msg_walk_next(&w, &hlc[n], &id[n], &m)) == MSGLOG_OK) {
        msg_free(&m);
        n++;
    }
    msg_walk_close(&w);
    cr_assert(rc == MSGLOG_ENOTFOUND || n == MAX, "walking the message states: %d", rc);
    for (size_t i = 0; i < n; i++)
        CHECK_OK(msgrec_delete(t, cid, hlc[i], id[i]));
}

/* The message states of team gone (a table rolled back, say): the counts
 * no longer agree. */
Test(check, messages_missing_from_their_table_are_found)
{
    conv_state team;
    store_txn *t = tamper(&team);
    delete_message_states(t, team.cid);
    commit_and_check(t, &team);
    cr_assert_str_eq(seen, "conversation team is damaged (it counts 3 messages, its ops hold 3 "
                           "sends, its message states 0)\n");
}

/* A state whose vector and digest are not its ops'. */
Test(check, a_state_that_is_not_its_ops_is_found)
{
    conv_state team;
    store_txn *t = tamper(&team);
    team.dig.lo ^= 1;
    CHECK_OK(vv_set(&team.delivered, 1, 7));
    CHECK_OK(conv_state_put(t, &team));
    cr_assert_eq(commit_and_check(t, &team), 2, "problems:\n%s", seen);
    cr_assert(strstr(seen, "conversation team is damaged (its vector is [1:7], its ops are "
                           "[1:6])\n") != NULL, "problems:\n%s", seen);
    cr_assert(strstr(seen, "conversation team is damaged (its digest is not the sum of its ops' "
                           "hashes)\n") != NULL, "problems:\n%s", seen);
}

/* A pending op whose id index entry is gone. */
Test(check, a_pending_op_missing_from_its_index_is_found)
{
    conv_state team;
    store_txn *t = tamper(&team);
    op bob2 = { .kind = OP_SEND, .id = { 2, 2 } };
    CHECK_OK(pendrec_unindex(t, team.cid, &bob2));
    commit_and_check(t, &team);
    cr_assert_str_eq(seen, "pending record 2.2 of conversation team is damaged (its id index "
                           "entry is missing or another)\n");
}

/* Reading every record writes none. */
Test(check, the_check_writes_nothing)
{
    msglog_close(a);
    char *file = tmpdir_join(root, "a/data.mdb");
    void *before, *after;
    size_t nb, na;
    cr_assert_eq(tmpdir_read_file(file, &before, &nb), 0);
    CHECK_OK(tstore_open(&a, root, "a", 1, "alice", &clk));
    CHECK_OK(check(NULL));
    msglog_close(a);
    a = NULL;
    cr_assert_eq(tmpdir_read_file(file, &after, &na), 0);
    cr_assert(nb == na && memcmp(before, after, nb) == 0, "data.mdb changed");
    free(before);
    free(after);
    free(file);
}
