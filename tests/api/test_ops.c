/* Creating ops: ids, clock, every kind, and every way a call is refused.
 * The clock is injected, so hlc = max(t << 16, maxhlc + 1) is predictable. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "msglog.h"
#include "support/check.h"
#include "support/tstore.h"
#include "support/tmpdir.h"

#define T0 1700000000000ULL

static char *root;
static tclock clk_a, clk_b, clk_a2;
static msglog *alice, *bob, *alice2;

static void setup(void)
{
    root = tmpdir_make("msglog-ops-");
    cr_assert_not_null(root);
    clk_a.now = clk_b.now = clk_a2.now = T0;
    CHECK_OK(tstore_open(&alice, root, "alice", 1, "alice", &clk_a));
    CHECK_OK(tstore_open(&bob, root, "bob", 2, "bob", &clk_b));
    CHECK_OK(tstore_open(&alice2, root, "alice2", 3, "alice", &clk_a2));
}

static void teardown(void)
{
    msglog_close(alice);
    msglog_close(bob);
    msglog_close(alice2);
    alice = bob = alice2 = NULL;
    if (root != NULL) {
        tmpdir_remove(root);
        free(root);
        root = NULL;
    }
}

TestSuite(ops, .init = setup, .fini = teardown);

#define C1 "c1", 2

static msglog_id send_s(msglog *log, const char *conv, const char *body)
{
    msglog_id id = {0, 0};
    CHECK_OK(msglog_send(log, &id, conv, strlen(conv), body, strlen(body)));
    return id;
}

static uint64_t hlc_of(msglog *log, const char *conv, msglog_id id)
{
    msglog_page *p = check_get(log, conv, strlen(conv), id);
    uint64_t h = p->messages[0].hlc;
    msglog_free(p);
    return h;
}

static void assert_id(msglog_id id, uint64_t replica, uint64_t seq)
{
    cr_assert_eq(id.replica, replica, "id %llu.%llu, expected replica %llu",
                 (unsigned long long)id.replica, (unsigned long long)id.seq,
                 (unsigned long long)replica);
    cr_assert_eq(id.seq, seq, "id %llu.%llu, expected seq %llu",
                 (unsigned long long)id.replica, (unsigned long long)id.seq,
                 (unsigned long long)seq);
}

Test(ops, send_ids_and_hlc_follow_the_clock)
{
    msglog_id m1 = send_s(alice, "c1", "one");
    assert_id(m1, 1, 1);
    cr_assert_eq(hlc_of(alice, "c1", m1), T0 << 16);

    msglog_id m2 = send_s(alice, "c1", "same millisecond");
    assert_id(m2, 1, 2);
    cr_assert_eq(hlc_of(alice, "c1", m2), (T0 << 16) + 1);

    clk_a.now = T0 + 5;
    msglog_id m3 = send_s(alice, "c1", "later");
    assert_id(m3, 1, 3);
    cr_assert_eq(hlc_of(alice, "c1", m3), (T0 + 5) << 16);

    clk_a.now = T0 - 86400000;   /* the clock went back a day */
    msglog_id m4 = send_s(alice, "c1", "clock went back");
    assert_id(m4, 1, 4);
    cr_assert_eq(hlc_of(alice, "c1", m4), ((T0 + 5) << 16) + 1);

    /* Numbering and maxhlc are per conversation. */
    msglog_id o1 = send_s(alice, "c2", "other conversation");
    assert_id(o1, 1, 1);
    cr_assert_eq(hlc_of(alice, "c2", o1), (T0 - 86400000) << 16);

    cr_assert_geq(clk_a.reads, 5, "the injected clock is used");
}

Test(ops, received_ops_raise_the_clock)
{
    clk_b.now = T0 + 1000;
    msglog_id b1 = send_s(bob, "c1", "from the future");
    check_forward(bob, alice, C1, b1);
    msglog_id a1 = send_s(alice, "c1", "reply with a slow clock");
    assert_id(a1, 1, 1);
    cr_assert_eq(hlc_of(alice, "c1", a1), ((T0 + 1000) << 16) + 1);
    /* A conversation alice has not received into keeps its own clock. */
    msglog_id a2 = send_s(alice, "c9", "elsewhere");
    cr_assert_eq(hlc_of(alice, "c9", a2), T0 << 16);
}

Test(ops, every_kind_takes_the_next_seq_and_a_tick)
{
    msglog_id out;
    msglog_id m = send_s(alice, "c1", "hello");
    assert_id(m, 1, 1);
    CHECK_OK(msglog_edit(alice, &out, C1, m, "hello!", 6));
    assert_id(out, 1, 2);
    CHECK_OK(msglog_react(alice, &out, C1, m, "+1", 2));
    assert_id(out, 1, 3);
    CHECK_OK(msglog_unreact(alice, &out, C1, m, "+1", 2));
    assert_id(out, 1, 4);
    CHECK_OK(msglog_mark_read(alice, &out, C1, m));
    assert_id(out, 1, 5);
    CHECK_OK(msglog_delete(alice, &out, C1, m));
    assert_id(out, 1, 6);
    /* All six ops were created at T0: each took the next hlc. */
    msglog_id m2 = send_s(alice, "c1", "after");
    assert_id(m2, 1, 7);
    cr_assert_eq(hlc_of(alice, "c1", m2), (T0 << 16) + 6);

    msglog_conv_info *info = check_info(alice, C1);
    cr_assert_eq(info->n_vv, 1);
    cr_assert_eq(info->vv[0].replica, 1);
    cr_assert_eq(info->vv[0].seq, 7);
    cr_assert_eq(info->n_messages, 2);
    cr_assert_eq(info->pending, 0);
    msglog_free(info);
}

Test(ops, edit_replaces_the_body)
{
    msglog_id m = send_s(alice, "c1", "typo");
    uint64_t h = hlc_of(alice, "c1", m);
    msglog_id e1, e2;
    clk_a.now = T0 + 1;
    CHECK_OK(msglog_edit(alice, &e1, C1, m, "fixed", 5));
    msglog_page *p = check_get(alice, C1, m);
    check_str(p->messages[0].body, "fixed", 5, "body after edit");
    cr_assert_eq(p->messages[0].edited, 1);
    cr_assert_eq(p->messages[0].deleted, 0);
    cr_assert_eq(p->messages[0].conflict, 0);
    cr_assert_eq(p->messages[0].hlc, h, "a message keeps its send's hlc");
    check_str(p->messages[0].author, "alice", 5, "author");
    msglog_free(p);

    clk_a.now = T0;   /* even with the clock behind, the newer edit wins */
    CHECK_OK(msglog_edit(alice, &e2, C1, m, "", 0));
    p = check_get(alice, C1, m);
    check_str(p->messages[0].body, "", 0, "body after edit to empty");
    cr_assert_eq(p->messages[0].edited, 1);
    cr_assert_eq(p->messages[0].conflict, 0, "sequential edits never conflict");
    msglog_free(p);

    /* The other device of the same user may edit too. */
    check_sync(alice, alice2, NULL, 0);
    msglog_id e3;
    CHECK_OK(msglog_edit(alice2, &e3, C1, m, "from the laptop", 15));
    assert_id(e3, 3, 1);
    p = check_get(alice2, C1, m);
    check_str(p->messages[0].body, "from the laptop", 15, "laptop edit");
    cr_assert_eq(p->messages[0].conflict, 0);
    msglog_free(p);
}

Test(ops, unedited_message_is_not_edited)
{
    msglog_id m = send_s(alice, "c1", "plain");
    msglog_page *p = check_get(alice, C1, m);
    check_str(p->messages[0].body, "plain", 5, "body");
    cr_assert_eq(p->messages[0].edited, 0);
    cr_assert_eq(p->messages[0].deleted, 0);
    cr_assert_eq(p->messages[0].conflict, 0);
    cr_assert_eq(p->messages[0].n_reactions, 0);
    msglog_free(p);
}

Test(ops, delete_keeps_the_message_without_text)
{
    msglog_id m = send_s(alice, "c1", "oops");
    msglog_id m2 = send_s(alice, "c1", "stays");
    msglog_id out;
    CHECK_OK(msglog_edit(alice, &out, C1, m, "oops2", 5));
    CHECK_OK(msglog_react(alice, &out, C1, m, "+1", 2));
    check_forward(alice, bob, C1, (msglog_id){1, 1});
    check_sync(alice, bob, NULL, 0);
    CHECK_OK(msglog_react(bob, &out, C1, m, "eyes", 4));
    check_forward(bob, alice, C1, out);
    CHECK_OK(msglog_delete(alice, &out, C1, m));
    assert_id(out, 1, 5);

    msglog_page *p = check_get(alice, C1, m);
    const msglog_message *mm = &p->messages[0];
    cr_assert_eq(mm->deleted, 1);
    cr_assert_null(mm->body.data, "a deleted message has no body");
    cr_assert_eq(mm->n_reactions, 0, "a deleted message has no reactions");
    cr_assert_eq(mm->conflict, 0);
    cr_assert_eq(mm->edited, 1, "edited stays true after a delete");
    check_str(mm->author, "alice", 5, "author");
    msglog_free(p);

    msglog_conv_info *info = check_info(alice, C1);
    cr_assert_eq(info->n_messages, 2, "deleted messages are counted");
    msglog_free(info);

    p = check_get(alice, C1, m2);
    check_str(p->messages[0].body, "stays", 5, "other message");
    cr_assert_eq(p->messages[0].deleted, 0);
    msglog_free(p);
}

Test(ops, react_and_unreact)
{
    msglog_id m = send_s(alice, "c1", "party?");
    msglog_id r1, r2, u1;
    CHECK_OK(msglog_react(alice, &r1, C1, m, "+1", 2));
    CHECK_OK(msglog_react(alice, &r2, C1, m, "+1", 2));
    msglog_page *p = check_get(alice, C1, m);
    cr_assert_eq(p->messages[0].n_reactions, 1);
    check_str(p->messages[0].reactions[0].key, "+1", 2, "key");
    cr_assert_eq(p->messages[0].reactions[0].n_users, 1,
                 "one user listed once, however often they reacted");
    check_str(p->messages[0].reactions[0].users[0], "alice", 5, "user");
    msglog_free(p);

    /* One unreact observes both live reacts. */
    CHECK_OK(msglog_unreact(alice, &u1, C1, m, "+1", 2));
    p = check_get(alice, C1, m);
    cr_assert_eq(p->messages[0].n_reactions, 0);
    msglog_free(p);
    CHECK_REFUSED(alice, MSGLOG_EDENIED,
                  msglog_unreact(alice, &u1, C1, m, "+1", 2));

    /* React again after the unreact: live again. */
    CHECK_OK(msglog_react(alice, &r1, C1, m, "+1", 2));
    p = check_get(alice, C1, m);
    cr_assert_eq(p->messages[0].n_reactions, 1);
    msglog_free(p);
}

Test(ops, mark_read_keeps_the_greatest_message)
{
    msglog_id m1 = send_s(alice, "c1", "a");
    clk_a.now++;
    msglog_id m2 = send_s(alice, "c1", "b");
    clk_a.now++;
    msglog_id m3 = send_s(alice, "c1", "c");
    msglog_id out;
    CHECK_OK(msglog_mark_read(alice, &out, C1, m2));
    msglog_conv_info *info = check_info(alice, C1);
    cr_assert_eq(info->n_read, 1);
    check_str(info->read[0].user, "alice", 5, "reader");
    assert_id(info->read[0].message, 1, 2);
    msglog_free(info);

    CHECK_OK(msglog_mark_read(alice, &out, C1, m1));
    info = check_info(alice, C1);
    cr_assert_eq(info->n_read, 1);
    assert_id(info->read[0].message, m2.replica, m2.seq);
    msglog_free(info);

    CHECK_OK(msglog_mark_read(alice, &out, C1, m3));
    info = check_info(alice, C1);
    assert_id(info->read[0].message, m3.replica, m3.seq);
    msglog_free(info);
}

Test(ops, edit_or_delete_of_another_users_message_is_denied)
{
    msglog_id b1 = send_s(bob, "c1", "bob's words");
    check_forward(bob, alice, C1, b1);
    msglog_id out;
    CHECK_REFUSED(alice, MSGLOG_EDENIED,
                  msglog_edit(alice, &out, C1, b1, "alice's words", 13));
    CHECK_REFUSED(alice, MSGLOG_EDENIED, msglog_delete(alice, &out, C1, b1));
    /* Reacting and reading are fine for anyone. */
    CHECK_OK(msglog_react(alice, &out, C1, b1, "+1", 2));
    assert_id(out, 1, 1);
    CHECK_OK(msglog_mark_read(alice, &out, C1, b1));
    assert_id(out, 1, 2);
    /* bob's own devices may edit; bob's message is still bob's. */
    CHECK_OK(msglog_edit(bob, &out, C1, b1, "bob's new words", 15));
}

Test(ops, other_device_of_same_user_may_edit_and_delete)
{
    msglog_id m = send_s(alice, "c1", "from phone");
    check_forward(alice, alice2, C1, m);
    msglog_id out;
    CHECK_OK(msglog_delete(alice2, &out, C1, m));
    assert_id(out, 3, 1);
    msglog_page *p = check_get(alice2, C1, m);
    cr_assert_eq(p->messages[0].deleted, 1);
    msglog_free(p);
}

Test(ops, target_not_delivered_is_not_found)
{
    msglog_id m = send_s(alice, "c1", "here");
    msglog_id e, out;
    CHECK_OK(msglog_edit(alice, &e, C1, m, "here!", 5));
    msglog_id nowhere = {1, 99}, other = {77, 1};

    /* No such message in this conversation. */
    for (int i = 0; i < 2; i++) {
        msglog_id t = i ? other : nowhere;
        CHECK_REFUSED(alice, MSGLOG_ENOTFOUND,
                      msglog_edit(alice, &out, C1, t, "x", 1));
        CHECK_REFUSED(alice, MSGLOG_ENOTFOUND, msglog_delete(alice, &out, C1, t));
        CHECK_REFUSED(alice, MSGLOG_ENOTFOUND,
                      msglog_react(alice, &out, C1, t, "+1", 2));
        CHECK_REFUSED(alice, MSGLOG_ENOTFOUND,
                      msglog_unreact(alice, &out, C1, t, "+1", 2));
        CHECK_REFUSED(alice, MSGLOG_ENOTFOUND,
                      msglog_mark_read(alice, &out, C1, t));
    }
    /* The id of an edit is not a message. */
    CHECK_REFUSED(alice, MSGLOG_ENOTFOUND, msglog_react(alice, &out, C1, e, "+1", 2));
    CHECK_REFUSED(alice, MSGLOG_ENOTFOUND, msglog_mark_read(alice, &out, C1, e));
    CHECK_REFUSED(alice, MSGLOG_ENOTFOUND,
                  msglog_edit(alice, &out, C1, e, "x", 1));
    /* The message exists, but in another conversation. */
    CHECK_REFUSED(alice, MSGLOG_ENOTFOUND,
                  msglog_react(alice, &out, "c2", 2, m, "+1", 2));
    CHECK_REFUSED(alice, MSGLOG_ENOTFOUND,
                  msglog_edit(alice, &out, "c2", 2, m, "x", 1));
    CHECK_REFUSED(alice, MSGLOG_ENOTFOUND,
                  msglog_mark_read(alice, &out, "c2", 2, m));
    CHECK_REFUSED(alice, MSGLOG_ENOTFOUND, msglog_delete(alice, &out, "c2", 2, m));

    /* A message that is only pending here is not delivered. */
    msglog_id b1 = send_s(bob, "c1", "b1");
    msglog_id b2 = send_s(bob, "c1", "b2");
    (void)b1;
    check_forward(bob, alice, C1, b2);
    msglog_conv_info *info = check_info(alice, C1);
    cr_assert_eq(info->pending, 1);
    msglog_free(info);
    CHECK_REFUSED(alice, MSGLOG_ENOTFOUND,
                  msglog_react(alice, &out, C1, b2, "+1", 2));
    CHECK_REFUSED(alice, MSGLOG_ENOTFOUND, msglog_mark_read(alice, &out, C1, b2));
    CHECK_REFUSED(alice, MSGLOG_ENOTFOUND, msglog_unreact(alice, &out, C1, b2, "+1", 2));

    /* Nothing was used up by the refusals. */
    CHECK_OK(msglog_react(alice, &out, C1, m, "+1", 2));
    assert_id(out, 1, 3);
}

Test(ops, ops_on_a_deleted_message_are_denied_but_read_works)
{
    msglog_id m = send_s(alice, "c1", "gone soon");
    msglog_id out;
    CHECK_OK(msglog_react(alice, &out, C1, m, "+1", 2));
    CHECK_OK(msglog_delete(alice, &out, C1, m));
    assert_id(out, 1, 3);
    CHECK_REFUSED(alice, MSGLOG_EDENIED,
                  msglog_edit(alice, &out, C1, m, "revive", 6));
    CHECK_REFUSED(alice, MSGLOG_EDENIED, msglog_delete(alice, &out, C1, m));
    CHECK_REFUSED(alice, MSGLOG_EDENIED,
                  msglog_react(alice, &out, C1, m, "eyes", 4));
    CHECK_REFUSED(alice, MSGLOG_EDENIED,
                  msglog_unreact(alice, &out, C1, m, "+1", 2));
    CHECK_OK(msglog_mark_read(alice, &out, C1, m));
    assert_id(out, 1, 4);
    msglog_conv_info *info = check_info(alice, C1);
    cr_assert_eq(info->n_read, 1);
    assert_id(info->read[0].message, m.replica, m.seq);
    msglog_free(info);

    /* The same on a replica that received the delete. */
    check_sync(alice, bob, NULL, 0);
    CHECK_REFUSED(bob, MSGLOG_EDENIED, msglog_react(bob, &out, C1, m, "eyes", 4));
    CHECK_REFUSED(bob, MSGLOG_EDENIED, msglog_unreact(bob, &out, C1, m, "+1", 2));
    CHECK_OK(msglog_mark_read(bob, &out, C1, m));
    assert_id(out, 2, 1);
}

Test(ops, unreact_without_a_live_reaction_is_denied)
{
    msglog_id m = send_s(alice, "c1", "m");
    msglog_id out;
    CHECK_REFUSED(alice, MSGLOG_EDENIED,
                  msglog_unreact(alice, &out, C1, m, "+1", 2));
    CHECK_OK(msglog_react(alice, &out, C1, m, "+1", 2));
    CHECK_REFUSED(alice, MSGLOG_EDENIED,
                  msglog_unreact(alice, &out, C1, m, "+2", 2));
    CHECK_REFUSED(alice, MSGLOG_EDENIED,
                  msglog_unreact(alice, &out, C1, m, "+", 1));
    CHECK_REFUSED(alice, MSGLOG_EDENIED,
                  msglog_unreact(alice, &out, C1, m, "+1x", 3));

    /* bob's reaction is not alice's. */
    check_sync(alice, bob, NULL, 0);
    CHECK_OK(msglog_react(bob, &out, C1, m, "eyes", 4));
    check_sync(bob, alice, NULL, 0);
    CHECK_REFUSED(alice, MSGLOG_EDENIED,
                  msglog_unreact(alice, &out, C1, m, "eyes", 4));
    /* but the same user's reaction from another device is. */
    check_sync(bob, alice2, NULL, 0);
    CHECK_OK(msglog_unreact(alice2, &out, C1, m, "+1", 2));
    assert_id(out, 3, 1);
}

Test(ops, body_limits)
{
    char *big = malloc(MSGLOG_MAX_BODY + 1);
    cr_assert_not_null(big);
    for (size_t i = 0; i < MSGLOG_MAX_BODY + 1; i++)
        big[i] = (char)('a' + i % 26);
    msglog_id m, out;
    CHECK_REFUSED(alice, MSGLOG_ELIMIT,
                  msglog_send(alice, &out, C1, big, MSGLOG_MAX_BODY + 1));
    CHECK_OK(msglog_send(alice, &m, C1, big, MSGLOG_MAX_BODY));
    assert_id(m, 1, 1);
    cr_assert_eq(hlc_of(alice, "c1", m), T0 << 16,
                 "the refused send took no tick");
    msglog_page *p = check_get(alice, C1, m);
    check_str(p->messages[0].body, big, MSGLOG_MAX_BODY, "max body");
    msglog_free(p);

    CHECK_REFUSED(alice, MSGLOG_ELIMIT,
                  msglog_edit(alice, &out, C1, m, big, MSGLOG_MAX_BODY + 1));
    CHECK_OK(msglog_edit(alice, &out, C1, m, big + 1, MSGLOG_MAX_BODY));
    assert_id(out, 1, 2);
    p = check_get(alice, C1, m);
    check_str(p->messages[0].body, big + 1, MSGLOG_MAX_BODY, "max edit body");
    msglog_free(p);

    /* The largest body travels to a peer intact. */
    check_sync(alice, bob, NULL, 0);
    p = check_get(bob, C1, m);
    check_str(p->messages[0].body, big + 1, MSGLOG_MAX_BODY, "max body at bob");
    msglog_free(p);
    free(big);
}

Test(ops, conversation_id_limits)
{
    char conv[300];
    memset(conv, 'c', sizeof conv);
    msglog_id m, out;
    CHECK_REFUSED2(alice, MSGLOG_EINVAL, MSGLOG_ELIMIT,
                   msglog_send(alice, &out, "", 0, "x", 1));
    CHECK_REFUSED(alice, MSGLOG_ELIMIT,
                  msglog_send(alice, &out, conv, MSGLOG_MAX_CONV + 1, "x", 1));
    CHECK_OK(msglog_send(alice, &m, conv, MSGLOG_MAX_CONV, "x", 1));
    assert_id(m, 1, 1);
    /* The same limits for every other kind. */
    CHECK_REFUSED(alice, MSGLOG_ELIMIT,
                  msglog_edit(alice, &out, conv, MSGLOG_MAX_CONV + 1, m, "y", 1));
    CHECK_REFUSED(alice, MSGLOG_ELIMIT,
                  msglog_delete(alice, &out, conv, MSGLOG_MAX_CONV + 1, m));
    CHECK_REFUSED(alice, MSGLOG_ELIMIT,
                  msglog_react(alice, &out, conv, MSGLOG_MAX_CONV + 1, m, "k", 1));
    CHECK_REFUSED(alice, MSGLOG_ELIMIT,
                  msglog_unreact(alice, &out, conv, MSGLOG_MAX_CONV + 1, m, "k", 1));
    CHECK_REFUSED(alice, MSGLOG_ELIMIT,
                  msglog_mark_read(alice, &out, conv, MSGLOG_MAX_CONV + 1, m));
    CHECK_REFUSED2(alice, MSGLOG_EINVAL, MSGLOG_ELIMIT,
                   msglog_edit(alice, &out, "", 0, m, "y", 1));
    CHECK_REFUSED2(alice, MSGLOG_EINVAL, MSGLOG_ELIMIT,
                   msglog_mark_read(alice, &out, "", 0, m));

    msglog_str *convs = NULL;
    size_t n = 0;
    CHECK_OK(msglog_conversations(alice, &convs, &n));
    cr_assert_eq(n, 1);
    check_str(convs[0], conv, MSGLOG_MAX_CONV, "the longest conversation id");
    msglog_free(convs);
    CHECK_OK(msglog_edit(alice, &out, conv, MSGLOG_MAX_CONV, m, "y", 1));
    assert_id(out, 1, 2);
}

Test(ops, reaction_key_limits)
{
    char key[100];
    memset(key, 'k', sizeof key);
    msglog_id m = send_s(alice, "c1", "m"), out;
    CHECK_REFUSED2(alice, MSGLOG_EINVAL, MSGLOG_ELIMIT,
                   msglog_react(alice, &out, C1, m, "", 0));
    CHECK_REFUSED(alice, MSGLOG_ELIMIT,
                  msglog_react(alice, &out, C1, m, key, MSGLOG_MAX_KEY + 1));
    CHECK_OK(msglog_react(alice, &out, C1, m, key, MSGLOG_MAX_KEY));
    assert_id(out, 1, 2);
    msglog_page *p = check_get(alice, C1, m);
    cr_assert_eq(p->messages[0].n_reactions, 1);
    check_str(p->messages[0].reactions[0].key, key, MSGLOG_MAX_KEY, "key");
    msglog_free(p);
    CHECK_REFUSED2(alice, MSGLOG_EINVAL, MSGLOG_ELIMIT,
                   msglog_unreact(alice, &out, C1, m, "", 0));
    CHECK_REFUSED(alice, MSGLOG_ELIMIT,
                  msglog_unreact(alice, &out, C1, m, key, MSGLOG_MAX_KEY + 1));
    CHECK_OK(msglog_unreact(alice, &out, C1, m, key, MSGLOG_MAX_KEY));
    assert_id(out, 1, 3);
}

Test(ops, refused_calls_take_no_seq_and_no_tick)
{
    msglog_id m = send_s(alice, "c1", "m"), out;
    msglog_id b1 = send_s(bob, "c1", "bob");
    check_forward(bob, alice, C1, b1);
    char big[MSGLOG_MAX_BODY + 1];
    memset(big, 'x', sizeof big);
    CHECK_REFUSED(alice, MSGLOG_ELIMIT, msglog_send(alice, &out, C1, big, sizeof big));
    CHECK_REFUSED(alice, MSGLOG_EDENIED, msglog_edit(alice, &out, C1, b1, "x", 1));
    CHECK_REFUSED(alice, MSGLOG_EDENIED, msglog_unreact(alice, &out, C1, m, "k", 1));
    CHECK_REFUSED(alice, MSGLOG_ENOTFOUND,
                  msglog_react(alice, &out, C1, (msglog_id){5, 5}, "k", 1));
    /* maxhlc is bob's T0<<16 (ties with m): the next op takes T0<<16 + 1. */
    msglog_id m2 = send_s(alice, "c1", "next");
    assert_id(m2, 1, 2);
    cr_assert_eq(hlc_of(alice, "c1", m2), (T0 << 16) + 1);
}

Test(ops, bodies_keys_and_conversations_with_nul_bytes)
{
    const char body[] = "a\0b\0\0c\0";
    const size_t blen = sizeof body - 1;   /* 7 bytes, 4 of them NUL */
    const char conv[] = "c\0d";
    const char key[] = "k\0!";
    msglog_id m, out;
    CHECK_OK(msglog_send(alice, &m, conv, 3, body, blen));
    msglog_page *p = check_get(alice, conv, 3, m);
    check_str(p->messages[0].body, body, blen, "body with NULs");
    msglog_free(p);
    CHECK_OK(msglog_react(alice, &out, conv, 3, m, key, 3));

    /* "c" and "c\0d" are different conversations. */
    msglog_conv_info *info = NULL;
    cr_assert_eq(msglog_conv_info_get(alice, &info, "c", 1), MSGLOG_ENOTFOUND);
    cr_assert_eq(msglog_message_get(alice, &p, "c", 1, m), MSGLOG_ENOTFOUND);

    const char edit[] = "\0\0edited\0";
    CHECK_OK(msglog_edit(alice, &out, conv, 3, m, edit, sizeof edit - 1));
    check_forward(alice, bob, conv, 3, (msglog_id){1, 1});
    check_forward(alice, bob, conv, 3, (msglog_id){1, 2});
    check_forward(alice, bob, conv, 3, out);
    check_sync(alice, alice2, NULL, 0);
    msglog *logs[3] = {alice, bob, alice2};
    for (int i = 0; i < 3; i++) {
        p = check_get(logs[i], conv, 3, m);
        check_str(p->messages[0].body, edit, sizeof edit - 1, "edited body");
        cr_assert_eq(p->messages[0].n_reactions, 1);
        check_str(p->messages[0].reactions[0].key, key, 3, "key with NUL");
        msglog_free(p);
        msglog_str *convs = NULL;
        size_t n = 0;
        CHECK_OK(msglog_conversations(logs[i], &convs, &n));
        cr_assert_eq(n, 1);
        check_str(convs[0], conv, 3, "conversation with NUL");
        msglog_free(convs);
    }
}

Test(ops, empty_body_is_not_a_missing_body)
{
    msglog_id m = send_s(alice, "c1", "");
    msglog_page *p = check_get(alice, C1, m);
    cr_assert_not_null(p->messages[0].body.data, "empty, not deleted");
    check_str(p->messages[0].body, "", 0, "empty body");
    cr_assert_eq(p->messages[0].deleted, 0);
    msglog_free(p);
    check_sync(alice, bob, NULL, 0);
    p = check_get(bob, C1, m);
    cr_assert_not_null(p->messages[0].body.data);
    check_str(p->messages[0].body, "", 0, "empty body at bob");
    msglog_free(p);
}

Test(ops, op_bytes_of_unknown_op_is_not_found)
{
    msglog_id m = send_s(alice, "c1", "m");
    void *b = NULL;
    size_t n = 0;
    cr_assert_eq(msglog_op_bytes(alice, &b, &n, C1, (msglog_id){1, 2}),
                 MSGLOG_ENOTFOUND);
    cr_assert_eq(msglog_op_bytes(alice, &b, &n, "c2", 2, m), MSGLOG_ENOTFOUND);
    cr_assert_eq(msglog_op_bytes(alice, &b, &n, C1, (msglog_id){2, 1}),
                 MSGLOG_ENOTFOUND);
    CHECK_OK(msglog_op_bytes(alice, &b, &n, C1, m));
    cr_assert_gt(n, 0);
    msglog_free(b);
}

Test(ops, ops_survive_a_restart)
{
    msglog_id m = send_s(alice, "c1", "persist"), out;
    CHECK_OK(msglog_edit(alice, &out, C1, m, "persisted", 9));
    CHECK_OK(msglog_react(alice, &out, C1, m, "+1", 2));
    CHECK_OK(msglog_mark_read(alice, &out, C1, m));
    char *before = check_snapshot(alice);
    msglog_close(alice);
    alice = NULL;
    CHECK_OK(tstore_open(&alice, root, "alice", 1, "alice", &clk_a));
    check_unchanged(alice, before, "restart");
    free(before);
    /* The clock state (maxhlc) and numbering survive too. */
    msglog_id m2 = send_s(alice, "c1", "after restart");
    assert_id(m2, 1, 5);
    cr_assert_eq(hlc_of(alice, "c1", m2), (T0 << 16) + 4);
}

/* The header calls strings "byte strings"; the library may insist on UTF-8.
 * Either way the answer must be consistent: taken and returned exactly, or
 * refused with MSGLOG_EINVAL and nothing changed. */
static void bytes_or_einval(msglog *log, const char *what, int rc,
                            const char *before)
{
    if (rc == MSGLOG_OK)
        return;
    cr_assert_eq(rc, MSGLOG_EINVAL, "%s: %d (%s)", what, rc,
                 msglog_strerror(rc));
    check_unchanged(log, before, what);
}

Test(ops, text_that_is_not_utf8)
{
    msglog_id m = send_s(alice, "c1", "valid"), out;
    char *before = check_snapshot(alice);
    int rc = msglog_send(alice, &out, C1, "\xff\xfe", 2);
    bytes_or_einval(alice, "body \\xff\\xfe", rc, before);
    if (rc == MSGLOG_OK) {
        msglog_page *p = check_get(alice, C1, out);
        check_str(p->messages[0].body, "\xff\xfe", 2, "raw body");
        msglog_free(p);
    }
    free(before);
    before = check_snapshot(alice);
    rc = msglog_send(alice, &out, "\xc0\x80", 2, "x", 1);
    bytes_or_einval(alice, "overlong conversation id", rc, before);
    free(before);
    before = check_snapshot(alice);
    rc = msglog_react(alice, &out, C1, m, "\xed\xa0\x80", 3);
    bytes_or_einval(alice, "surrogate key", rc, before);
    free(before);
}

Test(ops, full_store_refuses_cleanly_and_recovers_after_growing)
{
    msglog *small = NULL;
    tclock ck = {T0, 0};
    char *path = tmpdir_join(root, "small");
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.clock = tclock_read;
    opts.clock_ctx = &ck;
    opts.map_size = (size_t)512 << 10;
    opts.max_map_size = opts.map_size;   /* no growth: see api/test_full.c */
    CHECK_OK(msglog_open(&small, path, 11, "alice", 5, &opts));
    static char body[20000];
    memset(body, 'f', sizeof body);
    int rc = MSGLOG_OK;
    uint64_t sent = 0;
    msglog_id out;
    char *before = NULL;
    for (int i = 0; i < 2000; i++) {
        free(before);
        before = check_snapshot(small);
        ck.now++;
        rc = msglog_send(small, &out, C1, body, sizeof body);
        if (rc != MSGLOG_OK)
            break;
        sent++;
    }
    cr_assert_eq(rc, MSGLOG_EFULL, "a 512 KiB store fills up: %d (%s)", rc,
                 msglog_errmsg(small));
    cr_assert_gt(sent, 0);
    cr_assert_gt(strlen(msglog_errmsg(small)), 0);
    check_unchanged(small, before, "the refused send");
    free(before);
    msglog_close(small);

    opts.map_size = TSTORE_MAP_SIZE;
    opts.max_map_size = TSTORE_MAP_SIZE;
    CHECK_OK(msglog_open(&small, path, 11, "alice", 5, &opts));
    CHECK_OK(msglog_send(small, &out, C1, body, sizeof body));
    assert_id(out, 11, sent + 1);
    msglog_conv_info *info = check_info(small, C1);
    cr_assert_eq(info->n_messages, sent + 1);
    msglog_free(info);
    msglog_close(small);
    free(path);
}
