/* msglog_write_batch (api/create.c): many local ops in one durable commit,
 * each exactly as its own call would make it, all or nothing. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msglog.h"
#include "support/check.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define T0 1700000000000ULL
#define TEAM "team", 4

static char *root;
static tclock clk_one, clk_batch;
static msglog *one, *batch, *other;

static void setup(void)
{
    root = tmpdir_make("msglog-write-batch-");
    cr_assert_not_null(root);
    clk_one.now = clk_batch.now = T0;
    CHECK_OK(tstore_open(&one, root, "one", 1, "alice", &clk_one));
    CHECK_OK(tstore_open(&batch, root, "batch", 1, "alice", &clk_batch));
    CHECK_OK(tstore_open(&other, root, "other", 2, "bob", &clk_one));
}

static void teardown(void)
{
    msglog_close(one);
    msglog_close(batch);
    msglog_close(other);
    tmpdir_remove(root);
    free(root);
}

TestSuite(write_batch, .init = setup, .fini = teardown);

static msglog_write entry(int kind, msglog_id target, const char *text)
{
    msglog_write w = { kind, "team", 4, target, text, text ? strlen(text) : 0 };
    return w;
}

/* 200 sends, then an edit, a react, an unreact, a read and a delete naming
 * them: the batch store ends exactly like the store that made the same ops
 * one call at a time (same ids, hlcs, texts, digest). */
Test(write_batch, a_batch_is_the_calls_in_one_commit)
{
    enum { N = 200 };
    static char bodies[N][16];
    msglog_write w[N + 5];
    msglog_id ids[N + 5], id;
    for (int i = 0; i < N; i++) {
        snprintf(bodies[i], sizeof bodies[i], "message %d", i);
        w[i] = entry(MSGLOG_WRITE_SEND, (msglog_id){ 0, 0 }, bodies[i]);
        CHECK_OK(msglog_send(one, &id, TEAM, bodies[i], strlen(bodies[i])));
    }
    msglog_id m7 = { 1, 8 }, m9 = { 1, 10 };
    w[N] = entry(MSGLOG_WRITE_EDIT, m7, "message 7, edited");
    w[N + 1] = entry(MSGLOG_WRITE_REACT, m9, "+1");
    w[N + 2] = entry(MSGLOG_WRITE_UNREACT, m9, "+1");
    w[N + 3] = entry(MSGLOG_WRITE_READ, m9, NULL);
    w[N + 4] = entry(MSGLOG_WRITE_DELETE, m7, NULL);
    CHECK_OK(msglog_edit(one, &id, TEAM, m7, "message 7, edited", 17));
    CHECK_OK(msglog_react(one, &id, TEAM, m9, "+1", 2));
    CHECK_OK(msglog_unreact(one, &id, TEAM, m9, "+1", 2));
    CHECK_OK(msglog_mark_read(one, &id, TEAM, m9));
    CHECK_OK(msglog_delete(one, &id, TEAM, m7));

    size_t failed = 99;
    CHECK_OK(msglog_write_batch(batch, ids, w, N + 5, &failed));
    cr_assert_eq(failed, 0);
    for (int i = 0; i < N + 5; i++)
        cr_assert(ids[i].replica == 1 && ids[i].seq == (uint64_t)i + 1, "entry %d got %llu.%llu", i,
                  (unsigned long long)ids[i].replica, (unsigned long long)ids[i].seq);
    char *a = check_snapshot(one);
    check_unchanged(batch, a, "the batch against the calls one by one");
    free(a);
    cr_assert_eq(clk_batch.reads, clk_one.reads, "one clock reading per op, as the calls");
}

/* One refused entry (here the fourth: bob may not edit alice's message)
 * and nothing of the batch is committed; `failed` names it. */
Test(write_batch, one_refused_entry_commits_nothing)
{
    msglog_id m;
    CHECK_OK(msglog_send(one, &m, TEAM, "alice's", 7));
    void *bytes;
    size_t len;
    CHECK_OK(msglog_op_bytes(one, &bytes, &len, TEAM, m));
    CHECK_OK(msglog_receive(other, bytes, len));
    msglog_free(bytes);
    msglog_write w[] = { entry(MSGLOG_WRITE_SEND, (msglog_id){ 0, 0 }, "a"),
                         entry(MSGLOG_WRITE_REACT, m, "+1"),
                         entry(MSGLOG_WRITE_SEND, (msglog_id){ 0, 0 }, "b"),
                         entry(MSGLOG_WRITE_EDIT, m, "forged"),
                         entry(MSGLOG_WRITE_SEND, (msglog_id){ 0, 0 }, "c") };
    size_t failed = 0;
    CHECK_REFUSED(other, MSGLOG_EDENIED, msglog_write_batch(other, NULL, w, 5, &failed));
    cr_assert_eq(failed, 3, "the edit is named: %zu", failed);

    msglog_write bad[] = { entry(MSGLOG_WRITE_SEND, (msglog_id){ 0, 0 }, "fine"),
                           entry(77, m, "x") };
    CHECK_REFUSED(other, MSGLOG_EINVAL, msglog_write_batch(other, NULL, bad, 2, &failed));
    cr_assert_eq(failed, 1);
    msglog_write too_long = entry(MSGLOG_WRITE_REACT, m, "");
    CHECK_REFUSED(other, MSGLOG_ELIMIT, msglog_write_batch(other, NULL, &too_long, 1, &failed));
    cr_assert_eq(failed, 0);
    CHECK_REFUSED(other, MSGLOG_EINVAL, msglog_write_batch(other, NULL, NULL, 1, NULL));
    CHECK_OK(msglog_write_batch(other, NULL, NULL, 0, NULL));
}

/* An entry may name a message an earlier entry of the same batch sends. */
Test(write_batch, an_entry_may_target_an_earlier_send)
{
    msglog_write w[] = { entry(MSGLOG_WRITE_SEND, (msglog_id){ 0, 0 }, "typo"),
                         entry(MSGLOG_WRITE_EDIT, (msglog_id){ 1, 1 }, "fixed") };
    msglog_id ids[2];
    CHECK_OK(msglog_write_batch(batch, ids, w, 2, NULL));
    msglog_page *p = check_get(batch, TEAM, ids[0]);
    cr_assert_eq(p->messages[0].body.len, 5);
    cr_assert_eq(memcmp(p->messages[0].body.data, "fixed", 5), 0);
    msglog_free(p);
}
