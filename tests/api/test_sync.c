/* Delta sync between replicas: request -> response -> apply. One way, per
 * conversation or all, idempotent, only what is missing, and erased texts
 * stay erased (in responses, op bytes and store files). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msglog.h"
#include "support/check.h"
#include "support/tstore.h"
#include "support/tmpdir.h"

#define T0 1700000000000ULL
#define C1 "c1", 2
#define NH 5

static char *root;
static tclock clk[NH];
static msglog *h[NH];
static const char *names[NH] = {"a", "b", "c", "d", "e"};

static void setup(void)
{
    root = tmpdir_make("msglog-sync-");
    cr_assert_not_null(root);
    for (int i = 0; i < NH; i++) {
        clk[i].now = T0;
        h[i] = NULL;
    }
}

static void teardown(void)
{
    for (int i = 0; i < NH; i++) {
        msglog_close(h[i]);
        h[i] = NULL;
    }
    if (root != NULL) {
        tmpdir_remove(root);
        free(root);
        root = NULL;
    }
}

TestSuite(sync, .init = setup, .fini = teardown);

static msglog *open_r(int i, uint64_t id, const char *user)
{
    CHECK_OK(tstore_open(&h[i], root, names[i], id, user, &clk[i]));
    return h[i];
}

static msglog_id send_in(msglog *log, const char *conv, const char *body)
{
    msglog_id id;
    CHECK_OK(msglog_send(log, &id, conv, strlen(conv), body, strlen(body)));
    return id;
}

static void assert_same(msglog *x, msglog *y, const char *what)
{
    char *sx = check_snapshot(x), *sy = check_snapshot(y);
    char diff[4096];
    if (dump_diff(diff, sizeof diff, sx, sy))
        cr_assert_fail("%s: views differ: %s", what, diff);
    free(sx);
    free(sy);
}

/* The response `from` gives to `to`'s request (conv NULL: all). */
static void response_for(msglog *from, msglog *to, const char *conv,
                         void **resp, size_t *resp_len)
{
    void *req = NULL;
    size_t req_len = 0;
    CHECK_OK(msglog_sync_request(to, &req, &req_len, conv,
                                 conv ? strlen(conv) : 0));
    cr_assert_not_null(req);
    CHECK_OK(msglog_sync_response(from, resp, resp_len, req, req_len));
    cr_assert_not_null(*resp);
    msglog_free(req);
}

static int has_text(const void *p, size_t n, const char *text)
{
    return check_contains(p, n, text, strlen(text));
}

/* Does the store file of handle slot i contain `text`? */
static int file_has_text(int i, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/data.mdb", root, names[i]);
    void *data = NULL;
    size_t n = 0;
    cr_assert_eq(tmpdir_read_file(path, &data, &n), 0, "cannot read %s", path);
    int found = has_text(data, n, text);
    free(data);
    return found;
}

Test(sync, one_way_pulls_everything)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *b = open_r(1, 2, "bob");
    msglog_id m = send_in(a, "c1", "hello"), out;
    send_in(a, "c2", "other");
    CHECK_OK(msglog_edit(a, &out, C1, m, "hello!", 6));
    CHECK_OK(msglog_react(a, &out, C1, m, "+1", 2));
    CHECK_OK(msglog_mark_read(a, &out, C1, m));
    msglog_id bm = send_in(b, "c3", "bob's own");
    char *sa = check_snapshot(a);
    check_sync(a, b, NULL, 0);
    check_unchanged(a, sa, "being pulled from (one-way)");
    free(sa);
    /* b now shows c1 and c2 exactly as a does, and keeps c3. */
    const char *convs[2] = {"c1", "c2"};
    for (int i = 0; i < 2; i++) {
        char *x = NULL, *y = NULL;
        CHECK_OK(dump_conv(&x, a, convs[i], 2));
        CHECK_OK(dump_conv(&y, b, convs[i], 2));
        cr_assert_str_eq(x, y);
        free(x);
        free(y);
    }
    msglog_page *p = check_get(b, "c3", 2, bm);
    msglog_free(p);
    msglog_conv_info *info = NULL;
    cr_assert_eq(msglog_conv_info_get(a, &info, "c3", 2), MSGLOG_ENOTFOUND,
                 "the sender learnt nothing");
}

Test(sync, per_conversation)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *b = open_r(1, 2, "bob");
    send_in(a, "c1", "in c1");
    send_in(a, "c2", "in c2");
    check_sync(a, b, "c2", 2);
    msglog_str *convs = NULL;
    size_t n = 0;
    CHECK_OK(msglog_conversations(b, &convs, &n));
    cr_assert_eq(n, 1);
    check_str(convs[0], "c2", 2, "only the requested conversation");
    msglog_free(convs);
    msglog_conv_info *info = NULL;
    cr_assert_eq(msglog_conv_info_get(b, &info, "c1", 2), MSGLOG_ENOTFOUND);

    /* A conversation the sender does not hold: nothing arrives. */
    char *sb_ = check_snapshot(b);
    check_sync(a, b, "zz", 2);
    check_unchanged(b, sb_, "sync of a conversation the sender lacks");
    free(sb_);

    check_sync(a, b, NULL, 0);
    assert_same(a, b, "after syncing everything");
}

Test(sync, second_sync_changes_nothing_and_sends_no_text)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *b = open_r(1, 2, "bob");
    send_in(a, "c1", "TEXT-ONE-a1b2");
    send_in(a, "c2", "TEXT-TWO-c3d4");
    void *r1 = NULL;
    size_t n1 = 0;
    response_for(a, b, NULL, &r1, &n1);
    cr_assert(has_text(r1, n1, "TEXT-ONE-a1b2"));
    cr_assert(has_text(r1, n1, "TEXT-TWO-c3d4"));
    CHECK_OK(msglog_sync_apply(b, r1, n1));
    char *sb_ = check_snapshot(b);
    /* Applying the same response again is a no-op. */
    CHECK_OK(msglog_sync_apply(b, r1, n1));
    check_unchanged(b, sb_, "the same response applied twice");
    void *r2 = NULL;
    size_t n2 = 0;
    response_for(a, b, NULL, &r2, &n2);
    cr_assert(!has_text(r2, n2, "TEXT-ONE-a1b2"),
              "a response to an up-to-date peer carries no op");
    cr_assert(!has_text(r2, n2, "TEXT-TWO-c3d4"));
    cr_assert_lt(n2, n1);
    CHECK_OK(msglog_sync_apply(b, r2, n2));
    check_unchanged(b, sb_, "second sync");
    free(sb_);
    msglog_free(r1);
    msglog_free(r2);
}

Test(sync, response_holds_only_what_is_missing)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *b = open_r(1, 2, "bob");
    msglog *c = open_r(2, 3, "carol");
    msglog_id m1 = send_in(a, "c1", "HAVE-IT-already");
    send_in(a, "c1", "MISSING-one");
    check_forward(a, b, C1, m1);
    msglog_id cm = send_in(c, "c1", "CAROLS-message");
    check_forward(c, b, C1, cm);
    void *r = NULL;
    size_t n = 0;
    response_for(a, b, "c1", &r, &n);
    cr_assert(!has_text(r, n, "HAVE-IT-already"));
    cr_assert(has_text(r, n, "MISSING-one"));
    CHECK_OK(msglog_sync_apply(b, r, n));
    msglog_free(r);
    msglog_conv_info *info = check_info(b, C1);
    cr_assert_eq(info->n_messages, 3);
    msglog_free(info);
    /* And back: a lacks only carol's message. */
    response_for(b, a, NULL, &r, &n);
    cr_assert(has_text(r, n, "CAROLS-message"));
    cr_assert(!has_text(r, n, "HAVE-IT-already"));
    cr_assert(!has_text(r, n, "MISSING-one"));
    CHECK_OK(msglog_sync_apply(a, r, n));
    msglog_free(r);
    assert_same(a, b, "both ways");
}

Test(sync, pending_ops_are_not_sent_and_gaps_are_filled)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *b = open_r(1, 2, "bob");
    msglog *c = open_r(2, 3, "carol");
    send_in(c, "c1", "c-first");
    msglog_id c2 = send_in(c, "c1", "PENDING-ONLY-text");
    check_forward(c, a, C1, c2);       /* pending at a */
    send_in(a, "c1", "a-own");
    void *r = NULL;
    size_t n = 0;
    response_for(a, b, NULL, &r, &n);
    cr_assert(!has_text(r, n, "PENDING-ONLY-text"),
              "a response carries delivered ops only");
    CHECK_OK(msglog_sync_apply(b, r, n));
    msglog_free(r);
    msglog_conv_info *info = check_info(b, C1);
    cr_assert_eq(info->pending, 0);
    cr_assert_eq(info->n_messages, 1);
    msglog_free(info);
    /* a's gap is filled by a sync from c. */
    check_sync(c, a, NULL, 0);
    info = check_info(a, C1);
    cr_assert_eq(info->pending, 0);
    cr_assert_eq(info->n_messages, 3);
    msglog_free(info);
}

Test(sync, both_ways_converge)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *b = open_r(1, 2, "bob");
    msglog_id am = send_in(a, "c1", "from a"), out;
    msglog_id bm = send_in(b, "c1", "from b");
    send_in(b, "c2", "b in c2");
    check_sync(a, b, NULL, 0);
    CHECK_OK(msglog_react(b, &out, C1, am, "+1", 2));
    CHECK_OK(msglog_mark_read(a, &out, C1, am));
    check_sync(b, a, NULL, 0);
    check_sync(a, b, NULL, 0);
    assert_same(a, b, "after syncing both ways");
    msglog_page *p = check_get(a, C1, bm);
    msglog_free(p);
}

Test(sync, deleted_texts_never_leave_the_replica)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *c = open_r(2, 3, "carol");
    msglog_id m = send_in(a, "c1", "SECRET-BODY-1x9q"), e, d;
    CHECK_OK(msglog_edit(a, &e, C1, m, "SECRET-EDIT-2k7w", 16));
    send_in(a, "c1", "VISIBLE-TEXT-5p3z");
    CHECK_OK(msglog_delete(a, &d, C1, m));

    void *r = NULL;
    size_t n = 0;
    response_for(a, c, NULL, &r, &n);
    cr_assert(!has_text(r, n, "SECRET-BODY-1x9q"), "deleted body in response");
    cr_assert(!has_text(r, n, "SECRET-EDIT-2k7w"), "edit of a deleted message in response");
    cr_assert(has_text(r, n, "VISIBLE-TEXT-5p3z"));
    CHECK_OK(msglog_sync_apply(c, r, n));
    msglog_free(r);

    msglog_id both[2] = {m, e};
    for (int i = 0; i < 2; i++) {
        void *x = NULL;
        size_t xn = 0;
        CHECK_OK(msglog_op_bytes(a, &x, &xn, C1, both[i]));
        cr_assert(!has_text(x, xn, "SECRET-BODY-1x9q"), "op_bytes of %d", i);
        cr_assert(!has_text(x, xn, "SECRET-EDIT-2k7w"), "op_bytes of %d", i);
        msglog_free(x);
        CHECK_OK(msglog_op_bytes(c, &x, &xn, C1, both[i]));
        cr_assert(!has_text(x, xn, "SECRET-BODY-1x9q"));
        cr_assert(!has_text(x, xn, "SECRET-EDIT-2k7w"));
        msglog_free(x);
    }
    msglog_page *p = check_get(c, C1, m);
    cr_assert_eq(p->messages[0].deleted, 1);
    cr_assert_eq(p->messages[0].edited, 1);
    cr_assert_null(p->messages[0].body.data);
    msglog_free(p);
    assert_same(a, c, "after the sync");

    /* c received the message, its edit and its delete in one sync (one
     * transaction), so the texts were never written to its store. Only such
     * a store is checked: a store that held the text in an earlier
     * committed transaction may keep old copies in LMDB free pages (and in
     * unused space of rewritten pages) until they are reused, which the
     * library cannot be asked to scrub. The visible text is the control
     * that the file is searchable at all. */
    msglog_close(h[2]);
    h[2] = NULL;
    cr_assert(file_has_text(2, "VISIBLE-TEXT-5p3z"),
              "control: live text should be in the store file");
    cr_assert(!file_has_text(2, "SECRET-BODY-1x9q"));
    cr_assert(!file_has_text(2, "SECRET-EDIT-2k7w"));
}

Test(sync, delete_erases_texts_that_arrived_before_and_after_it)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *a2 = open_r(1, 4, "alice");
    msglog *d = open_r(3, 5, "dave");
    msglog *fresh = open_r(4, 6, "erin");
    msglog_id m = send_in(a, "c1", "EARLY-BODY-7h2m"), e1, e2, del;
    CHECK_OK(msglog_edit(a, &e1, C1, m, "EARLY-EDIT-3j8n", 15));
    check_sync(a, a2, NULL, 0);
    /* d receives the texts one by one (ops as created, with text). */
    check_forward(a, d, C1, m);
    check_forward(a, d, C1, e1);
    /* a deletes; concurrently the laptop edits the message. */
    CHECK_OK(msglog_delete(a, &del, C1, m));
    CHECK_OK(msglog_edit(a2, &e2, C1, m, "LATE-EDIT-9k4r", 14));
    void *late = NULL;
    size_t late_n = 0;
    CHECK_OK(msglog_op_bytes(a2, &late, &late_n, C1, e2));
    cr_assert(has_text(late, late_n, "LATE-EDIT-9k4r"));
    CHECK_OK(msglog_receive(a, late, late_n));   /* after the delete */
    check_forward(a, d, C1, del);
    CHECK_OK(msglog_receive(d, late, late_n));
    msglog_free(late);

    const char *secrets[3] = {"EARLY-BODY-7h2m", "EARLY-EDIT-3j8n",
                              "LATE-EDIT-9k4r"};
    msglog *holders[2] = {a, d};
    msglog_id ops[3] = {m, e1, e2};
    for (int k = 0; k < 2; k++) {
        void *r = NULL;
        size_t n = 0;
        response_for(holders[k], fresh, NULL, &r, &n);
        for (int s = 0; s < 3; s++)
            cr_assert(!has_text(r, n, secrets[s]),
                      "replica %d sends %s after the delete", k, secrets[s]);
        msglog_free(r);
        for (int i = 0; i < 3; i++) {
            void *x = NULL;
            size_t xn = 0;
            CHECK_OK(msglog_op_bytes(holders[k], &x, &xn, C1, ops[i]));
            for (int s = 0; s < 3; s++)
                cr_assert(!has_text(x, xn, secrets[s]),
                          "op_bytes of op %d at replica %d has %s", i, k,
                          secrets[s]);
            msglog_free(x);
        }
        msglog_page *p = check_get(holders[k], C1, m);
        cr_assert_eq(p->messages[0].deleted, 1);
        cr_assert_null(p->messages[0].body.data);
        cr_assert_eq(p->messages[0].edited, 1);
        cr_assert_eq(p->messages[0].conflict, 0);
        msglog_free(p);
    }
    /* ...and the erasure survives a restart. */
    msglog_close(h[3]);
    h[3] = NULL;
    d = open_r(3, 5, "dave");
    void *r = NULL;
    size_t n = 0;
    response_for(d, fresh, NULL, &r, &n);
    for (int s = 0; s < 3; s++)
        cr_assert(!has_text(r, n, secrets[s]), "after restart: %s", secrets[s]);
    msglog_free(r);
    check_sync(a, a2, NULL, 0);
    check_sync(d, fresh, NULL, 0);
    assert_same(a, d, "a and d");
    assert_same(a, fresh, "a and a fresh replica");
}

Test(sync, message_and_delete_in_one_batch_never_store_the_text)
{
    /* The ops as created carry the text; the receiver takes the message and
     * its delete in one transaction, so it must never store the text (see
     * deleted_texts_never_leave_the_replica for why only this case is
     * checked on the file). */
    msglog *a = open_r(0, 1, "alice");
    msglog *e = open_r(4, 6, "erin");
    msglog_id m = send_in(a, "c1", "BATCH-SECRET-4t6y"), ed, del;
    CHECK_OK(msglog_edit(a, &ed, C1, m, "BATCH-EDIT-8u1i", 15));
    msglog_id live = send_in(a, "c1", "BATCH-LIVE-2o5p");
    void *x[4];
    size_t xn[4];
    CHECK_OK(msglog_op_bytes(a, &x[0], &xn[0], C1, m));
    CHECK_OK(msglog_op_bytes(a, &x[1], &xn[1], C1, ed));
    CHECK_OK(msglog_op_bytes(a, &x[2], &xn[2], C1, live));
    CHECK_OK(msglog_delete(a, &del, C1, m));
    CHECK_OK(msglog_op_bytes(a, &x[3], &xn[3], C1, del));
    cr_assert(has_text(x[0], xn[0], "BATCH-SECRET-4t6y"));
    msglog_buf bufs[4];
    for (int i = 0; i < 4; i++) {
        bufs[i].data = x[i];
        bufs[i].len = xn[i];
    }
    CHECK_OK(msglog_receive_batch(e, bufs, 4));
    for (int i = 0; i < 4; i++)
        msglog_free(x[i]);
    msglog_page *p = check_get(e, C1, m);
    cr_assert_eq(p->messages[0].deleted, 1);
    msglog_free(p);
    msglog_close(h[4]);
    h[4] = NULL;
    cr_assert(file_has_text(4, "BATCH-LIVE-2o5p"), "control");
    cr_assert(!file_has_text(4, "BATCH-SECRET-4t6y"),
              "the body of a message deleted in the same batch is in data.mdb");
    cr_assert(!file_has_text(4, "BATCH-EDIT-8u1i"),
              "the edit of a message deleted in the same batch is in data.mdb");
}

Test(sync, large_message_and_delete_in_one_batch_never_store_the_text)
{
    /* The same with texts big enough for LMDB overflow pages. */
    msglog *a = open_r(0, 1, "alice");
    msglog *e = open_r(4, 6, "erin");
    size_t n = 6000;
    char *big = malloc(n + 1), *big2 = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        big[i] = (char)('a' + (i * 7) % 26);
        big2[i] = (char)('A' + (i * 11) % 26);
    }
    memcpy(big + 1000, "HUGE-SECRET-0q2w", 16);
    memcpy(big2 + 3000, "HUGE-EDIT-9e8r", 14);
    big[n] = big2[n] = '\0';
    msglog_id m, ed, del, live;
    CHECK_OK(msglog_send(a, &m, C1, big, n));
    CHECK_OK(msglog_edit(a, &ed, C1, m, big2, n));
    memcpy(big + 1000, "HUGE-LIVE-5t7y00", 16);
    CHECK_OK(msglog_send(a, &live, C1, big, n));
    void *x[4];
    size_t xn[4];
    CHECK_OK(msglog_op_bytes(a, &x[0], &xn[0], C1, m));
    CHECK_OK(msglog_op_bytes(a, &x[1], &xn[1], C1, ed));
    CHECK_OK(msglog_op_bytes(a, &x[2], &xn[2], C1, live));
    CHECK_OK(msglog_delete(a, &del, C1, m));
    CHECK_OK(msglog_op_bytes(a, &x[3], &xn[3], C1, del));
    msglog_buf bufs[4];
    for (int i = 0; i < 4; i++) {
        bufs[i].data = x[i];
        bufs[i].len = xn[i];
    }
    CHECK_OK(msglog_receive_batch(e, bufs, 4));
    for (int i = 0; i < 4; i++)
        msglog_free(x[i]);
    free(big);
    free(big2);
    msglog_close(h[4]);
    h[4] = NULL;
    cr_assert(file_has_text(4, "HUGE-LIVE-5t7y00"), "control");
    cr_expect(!file_has_text(4, "HUGE-SECRET-0q2w"),
              "the body of a message deleted in the same batch is in data.mdb");
    cr_expect(!file_has_text(4, "HUGE-EDIT-9e8r"),
              "the edit of a message deleted in the same batch is in data.mdb");
}

Test(sync, bad_requests_and_responses_change_nothing)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *b = open_r(1, 2, "bob");
    send_in(a, "c1", "one");
    send_in(a, "c1", "two");
    send_in(a, "c2", "three");
    send_in(b, "c1", "bob's");
    char *sa = check_snapshot(a), *sb_ = check_snapshot(b);
    static const unsigned char junk[] = {0xc1, 0x00, 0xff};
    void *out = NULL;
    size_t out_n = 0;
    int rc = msglog_sync_response(a, &out, &out_n, junk, sizeof junk);
    cr_assert_lt(rc, 0, "garbage request answered");
    rc = msglog_sync_apply(b, junk, sizeof junk);
    cr_assert_lt(rc, 0, "garbage response applied");

    void *req = NULL, *resp = NULL;
    size_t req_n = 0, resp_n = 0;
    CHECK_OK(msglog_sync_request(b, &req, &req_n, NULL, 0));
    for (size_t len = 0; len < req_n; len++) {
        rc = msglog_sync_response(a, &out, &out_n, req, len);
        cr_assert_lt(rc, 0, "request cut to %zu of %zu bytes answered", len,
                     req_n);
    }
    CHECK_OK(msglog_sync_response(a, &resp, &resp_n, req, req_n));
    for (size_t len = 0; len < resp_n; len++) {
        rc = msglog_sync_apply(b, resp, len);
        cr_assert_lt(rc, 0, "response cut to %zu of %zu bytes applied", len,
                     resp_n);
    }
    /* One byte more is not a valid response either. */
    unsigned char *longer = malloc(resp_n + 1);
    memcpy(longer, resp, resp_n);
    longer[resp_n] = 0xc0;
    rc = msglog_sync_apply(b, longer, resp_n + 1);
    cr_assert_lt(rc, 0, "response with a trailing byte applied");
    free(longer);
    check_unchanged(a, sa, "bad requests");
    check_unchanged(b, sb_, "bad responses");
    /* A request is not a response. */
    rc = msglog_sync_apply(b, req, req_n);
    if (rc == MSGLOG_OK)
        check_unchanged(b, sb_, "a request applied as a response");
    CHECK_OK(msglog_sync_apply(b, resp, resp_n));
    msglog_free(req);
    msglog_free(resp);
    free(sa);
    free(sb_);
    check_sync(b, a, NULL, 0);
    assert_same(a, b, "after the good sync");
}

Test(sync, survives_restarts)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *b = open_r(1, 2, "bob");
    msglog_id m = send_in(a, "c1", "before restart"), out;
    check_sync(a, b, NULL, 0);
    msglog_close(h[1]);
    h[1] = NULL;
    CHECK_OK(msglog_react(a, &out, C1, m, "+1", 2));
    b = open_r(1, 2, "bob");
    check_sync(a, b, NULL, 0);
    msglog_close(h[0]);
    h[0] = NULL;
    a = open_r(0, 1, "alice");
    assert_same(a, b, "after restarts");
}
