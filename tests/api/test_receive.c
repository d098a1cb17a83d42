/* Receiving ops: duplicates, causal order (pending), atomic batches, bad
 * bytes, and restarts with pending ops. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "msglog.h"
#include "support/check.h"
#include "support/rng.h"
#include "support/tstore.h"
#include "support/tmpdir.h"

#define T0 1700000000000ULL
#define C1 "c1", 2

static char *root;
static tclock clk_a, clk_b, clk_c;
static msglog *a, *b, *c;

static void setup(void)
{
    root = tmpdir_make("msglog-recv-");
    cr_assert_not_null(root);
    clk_a.now = clk_b.now = clk_c.now = T0;
    CHECK_OK(tstore_open(&a, root, "a", 1, "alice", &clk_a));
    CHECK_OK(tstore_open(&b, root, "b", 2, "bob", &clk_b));
    CHECK_OK(tstore_open(&c, root, "c", 3, "carol", &clk_c));
}

static void teardown(void)
{
    msglog_close(a);
    msglog_close(b);
    msglog_close(c);
    a = b = c = NULL;
    if (root != NULL) {
        tmpdir_remove(root);
        free(root);
        root = NULL;
    }
}

TestSuite(receive, .init = setup, .fini = teardown);

typedef struct bytes {
    void *p;
    size_t n;
} bytes;

static bytes op_bytes(msglog *log, const char *conv, size_t conv_len,
                      msglog_id id)
{
    bytes x = {NULL, 0};
    CHECK_OK(msglog_op_bytes(log, &x.p, &x.n, conv, conv_len, id));
    cr_assert_not_null(x.p);
    cr_assert_gt(x.n, 0);
    return x;
}

static msglog_id send_s(msglog *log, const char *body)
{
    msglog_id id;
    CHECK_OK(msglog_send(log, &id, C1, body, strlen(body)));
    return id;
}

static void assert_same_view(msglog *x, msglog *y, const char *what)
{
    char *sx = check_snapshot(x), *sy = check_snapshot(y);
    char diff[4096];
    if (dump_diff(diff, sizeof diff, sx, sy))
        cr_assert_fail("%s: views differ: %s", what, diff);
    free(sx);
    free(sy);
}

static int is_decode_error(int rc)
{
    return rc == MSGLOG_ECORRUPT || rc == MSGLOG_EVERSION ||
           rc == MSGLOG_EKIND || rc == MSGLOG_ELIMIT;
}

Test(receive, delivers_and_ignores_duplicates)
{
    msglog_id m = send_s(a, "hello"), e;
    CHECK_OK(msglog_edit(a, &e, C1, m, "hello!", 6));
    bytes x = op_bytes(a, C1, m), y = op_bytes(a, C1, e);
    CHECK_OK(msglog_receive(b, x.p, x.n));
    CHECK_OK(msglog_receive(b, y.p, y.n));
    assert_same_view(a, b, "after delivery");
    char *before = check_snapshot(b);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(msglog_receive(b, x.p, x.n));
        CHECK_OK(msglog_receive(b, y.p, y.n));
    }
    check_unchanged(b, before, "duplicates");
    /* An op received by its own origin is a duplicate too. */
    char *sa = check_snapshot(a);
    CHECK_OK(msglog_receive(a, x.p, x.n));
    check_unchanged(a, sa, "own op");
    free(sa);
    free(before);
    msglog_free(x.p);
    msglog_free(y.p);
}

Test(receive, out_of_order_waits_as_pending)
{
    msglog_id m1 = send_s(a, "one");
    msglog_id m2 = send_s(a, "two");
    msglog_id m3 = send_s(a, "three");
    bytes x1 = op_bytes(a, C1, m1), x2 = op_bytes(a, C1, m2),
          x3 = op_bytes(a, C1, m3);
    CHECK_OK(msglog_receive(b, x3.p, x3.n));
    msglog_conv_info *info = check_info(b, C1);
    cr_assert_eq(info->pending, 1);
    cr_assert_eq(info->n_vv, 0);
    cr_assert_eq(info->n_messages, 0);
    uint8_t empty_digest[16];
    memcpy(empty_digest, info->digest, 16);
    msglog_free(info);
    CHECK_OK(msglog_receive(b, x3.p, x3.n));
    info = check_info(b, C1);
    cr_assert_eq(info->pending, 1, "a duplicate pending op counts once");
    msglog_free(info);
    CHECK_OK(msglog_receive(b, x2.p, x2.n));
    info = check_info(b, C1);
    cr_assert_eq(info->pending, 2);
    cr_assert_eq(memcmp(info->digest, empty_digest, 16), 0,
                 "pending ops are not in the digest");
    msglog_free(info);
    msglog_page *p = NULL;
    msglog_cursor from = {1, 0, {0, 0}};
    CHECK_OK(msglog_messages(b, &p, C1, MSGLOG_FORWARD, from, 10));
    cr_assert_eq(p->n, 0, "nothing delivered yet");
    msglog_free(p);
    cr_assert_eq(msglog_message_get(b, &p, C1, m3), MSGLOG_ENOTFOUND);

    CHECK_OK(msglog_receive(b, x1.p, x1.n));
    info = check_info(b, C1);
    cr_assert_eq(info->pending, 0);
    cr_assert_eq(info->n_messages, 3);
    cr_assert_eq(info->n_vv, 1);
    cr_assert_eq(info->vv[0].seq, 3);
    cr_assert_neq(memcmp(info->digest, empty_digest, 16), 0);
    msglog_free(info);
    assert_same_view(a, b, "after the gap was filled");
    msglog_free(x1.p);
    msglog_free(x2.p);
    msglog_free(x3.p);
}

Test(receive, waits_for_ops_of_other_replicas)
{
    /* bob replies after seeing alice's message: carol gets the reply first. */
    msglog_id m = send_s(a, "question");
    bytes xm = op_bytes(a, C1, m);
    CHECK_OK(msglog_receive(b, xm.p, xm.n));
    msglog_id r = send_s(b, "answer"), out;
    CHECK_OK(msglog_react(b, &out, C1, m, "+1", 2));
    bytes xr = op_bytes(b, C1, r), xo = op_bytes(b, C1, out);
    CHECK_OK(msglog_receive(c, xo.p, xo.n));
    CHECK_OK(msglog_receive(c, xr.p, xr.n));
    msglog_conv_info *info = check_info(c, C1);
    cr_assert_eq(info->pending, 2, "bob's ops wait for alice's message");
    cr_assert_eq(info->n_messages, 0);
    msglog_free(info);
    CHECK_OK(msglog_receive(c, xm.p, xm.n));
    info = check_info(c, C1);
    cr_assert_eq(info->pending, 0);
    cr_assert_eq(info->n_messages, 2);
    msglog_free(info);
    assert_same_view(b, c, "causal delivery");
    msglog_free(xm.p);
    msglog_free(xr.p);
    msglog_free(xo.p);
}

Test(receive, forwarded_bytes_of_a_relay)
{
    /* bob holds alice's ops (one pending): his op_bytes can be relayed. */
    msglog_id m1 = send_s(a, "one");
    msglog_id m2 = send_s(a, "two");
    bytes x2 = op_bytes(a, C1, m2);
    CHECK_OK(msglog_receive(b, x2.p, x2.n));
    bytes r2 = op_bytes(b, C1, m2);   /* pending at bob */
    CHECK_OK(msglog_receive(c, r2.p, r2.n));
    bytes x1 = op_bytes(a, C1, m1);
    CHECK_OK(msglog_receive(b, x1.p, x1.n));
    bytes r1 = op_bytes(b, C1, m1);
    CHECK_OK(msglog_receive(c, r1.p, r1.n));
    assert_same_view(a, c, "relayed ops");
    msglog_free(x1.p);
    msglog_free(x2.p);
    msglog_free(r1.p);
    msglog_free(r2.p);
}

Test(receive, batch_in_any_order_with_duplicates)
{
    msglog_id ids[6];
    ids[0] = send_s(a, "one");
    CHECK_OK(msglog_edit(a, &ids[1], C1, ids[0], "one!", 4));
    ids[2] = send_s(a, "two");
    CHECK_OK(msglog_react(a, &ids[3], C1, ids[2], "+1", 2));
    CHECK_OK(msglog_mark_read(a, &ids[4], C1, ids[2]));
    CHECK_OK(msglog_unreact(a, &ids[5], C1, ids[2], "+1", 2));
    bytes x[6];
    for (int i = 0; i < 6; i++)
        x[i] = op_bytes(a, C1, ids[i]);
    const int order[] = {5, 3, 3, 0, 4, 1, 2, 5, 0};
    msglog_buf bufs[9];
    for (int i = 0; i < 9; i++) {
        bufs[i].data = x[order[i]].p;
        bufs[i].len = x[order[i]].n;
    }
    CHECK_OK(msglog_receive_batch(b, bufs, 9));
    assert_same_view(a, b, "batch");
    msglog_conv_info *info = check_info(b, C1);
    cr_assert_eq(info->pending, 0);
    msglog_free(info);
    char *before = check_snapshot(b);
    CHECK_OK(msglog_receive_batch(b, bufs, 9));
    check_unchanged(b, before, "the same batch again");
    free(before);
    for (int i = 0; i < 6; i++)
        msglog_free(x[i].p);
}

Test(receive, batch_with_one_bad_op_changes_nothing)
{
    msglog_id m1 = send_s(a, "one");
    msglog_id m2 = send_s(a, "two");
    bytes x1 = op_bytes(a, C1, m1), x2 = op_bytes(a, C1, m2);
    /* b already holds something, so "unchanged" is a real statement. */
    msglog_id own = send_s(b, "bob's own");
    (void)own;
    static const unsigned char garbage[] = {0xc1, 0xff, 0x00, 0x13, 0x37};
    unsigned char *trunc = malloc(x2.n);
    memcpy(trunc, x2.p, x2.n);
    msglog_buf bad1[3] = {{x1.p, x1.n}, {x2.p, x2.n}, {garbage, sizeof garbage}};
    msglog_buf bad2[3] = {{garbage, sizeof garbage}, {x1.p, x1.n}, {x2.p, x2.n}};
    msglog_buf bad3[2] = {{x1.p, x1.n}, {trunc, x2.n - 1}};
    char *before = check_snapshot(b);
    int rc = msglog_receive_batch(b, bad1, 3);
    cr_assert_eq(rc, MSGLOG_ECORRUPT, "garbage last: %d", rc);
    check_unchanged(b, before, "a batch with garbage last");
    rc = msglog_receive_batch(b, bad2, 3);
    cr_assert_eq(rc, MSGLOG_ECORRUPT, "garbage first: %d", rc);
    check_unchanged(b, before, "a batch with garbage first");
    rc = msglog_receive_batch(b, bad3, 2);
    cr_assert_eq(rc, MSGLOG_ECORRUPT, "a truncated op: %d", rc);
    check_unchanged(b, before, "a batch with a truncated op");
    free(before);
    /* Nothing was half-taken: the good ops alone are still new. */
    msglog_buf good[2] = {{x2.p, x2.n}, {x1.p, x1.n}};
    CHECK_OK(msglog_receive_batch(b, good, 2));
    msglog_conv_info *info = check_info(b, C1);
    cr_assert_eq(info->n_messages, 3);
    cr_assert_eq(info->pending, 0);
    msglog_free(info);
    free(trunc);
    msglog_free(x1.p);
    msglog_free(x2.p);
}

Test(receive, bad_bytes_are_refused_and_change_nothing)
{
    msglog_id m = send_s(a, "a message with some text"), e;
    CHECK_OK(msglog_edit(a, &e, C1, m, "edited text", 11));
    bytes xm = op_bytes(a, C1, m), xe = op_bytes(a, C1, e);
    send_s(b, "bob was here");
    char *before = check_snapshot(b);

    /* Every proper prefix of a valid op. */
    bytes all[2] = {xm, xe};
    for (int k = 0; k < 2; k++) {
        for (size_t len = 1; len < all[k].n; len++) {
            unsigned char *cut = malloc(len);
            memcpy(cut, all[k].p, len);
            int rc = msglog_receive(b, cut, len);
            free(cut);
            cr_assert_eq(rc, MSGLOG_ECORRUPT, "op %d cut to %zu of %zu bytes: %d",
                         k, len, all[k].n, rc);
        }
        check_unchanged(b, before, "truncated ops");
    }
    /* Nothing at all. */
    int rc = msglog_receive(b, "", 0);
    cr_assert(rc == MSGLOG_ECORRUPT || rc == MSGLOG_EINVAL, "empty op: %d", rc);
    /* Trailing bytes after a valid op. */
    unsigned char *longer = malloc(xm.n + 1);
    memcpy(longer, xm.p, xm.n);
    longer[xm.n] = 0xc0;
    rc = msglog_receive(b, longer, xm.n + 1);
    cr_assert_eq(rc, MSGLOG_ECORRUPT, "trailing byte: %d", rc);
    free(longer);
    /* Declared sizes far beyond the buffer (msgpack-c would allocate). */
    static const unsigned char huge_arr[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char huge_map[] = {0xdf, 0x04, 0x00, 0x00, 0x00};
    static const unsigned char huge_str[] = {0xdb, 0x7f, 0xff, 0xff, 0xff, 'x'};
    static const unsigned char nil[] = {0xc0};
    static const unsigned char deep[64] = {
        0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
        0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
        0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
        0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
        0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
        0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91};
    const struct {
        const void *p;
        size_t n;
    } junk[] = {{huge_arr, sizeof huge_arr}, {huge_map, sizeof huge_map},
                {huge_str, sizeof huge_str}, {nil, sizeof nil},
                {deep, sizeof deep}, {"hello world", 11}};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        rc = msglog_receive(b, junk[i].p, junk[i].n);
        cr_assert_eq(rc, MSGLOG_ECORRUPT, "junk %zu: %d", i, rc);
    }
    /* Random bytes. */
    rng r;
    rng_seed(&r, 99);
    unsigned char buf[64];
    for (int i = 0; i < 500; i++) {
        size_t len = 1 + (size_t)rng_below(&r, sizeof buf);
        for (size_t j = 0; j < len; j++)
            buf[j] = (unsigned char)rng_next(&r);
        rc = msglog_receive(b, buf, len);
        cr_assert(is_decode_error(rc), "random bytes accepted (i=%d): %d", i, rc);
    }
    check_unchanged(b, before, "bad bytes");
    msglog_str *convs = NULL;
    size_t n = 0;
    CHECK_OK(msglog_conversations(b, &convs, &n));
    cr_assert_eq(n, 1, "no conversation appeared from bad bytes");
    msglog_free(convs);
    free(before);
    msglog_free(xm.p);
    msglog_free(xe.p);
}

Test(receive, restart_keeps_pending_and_view)
{
    msglog_id m1 = send_s(a, "one");
    msglog_id m2 = send_s(a, "two"), out;
    CHECK_OK(msglog_react(a, &out, C1, m2, "+1", 2));
    bytes x1 = op_bytes(a, C1, m1), x2 = op_bytes(a, C1, m2),
          x3 = op_bytes(a, C1, out);
    msglog_id own = send_s(b, "own");
    (void)own;
    CHECK_OK(msglog_receive(b, x3.p, x3.n));
    CHECK_OK(msglog_receive(b, x2.p, x2.n));
    char *before = check_snapshot(b);
    msglog_close(b);
    b = NULL;
    CHECK_OK(tstore_open(&b, root, "b", 2, "bob", &clk_b));
    check_unchanged(b, before, "restart");
    free(before);
    msglog_conv_info *info = check_info(b, C1);
    cr_assert_eq(info->pending, 2);
    msglog_free(info);
    /* A pending op still is a duplicate after the restart. */
    CHECK_OK(msglog_receive(b, x3.p, x3.n));
    info = check_info(b, C1);
    cr_assert_eq(info->pending, 2);
    msglog_free(info);
    CHECK_OK(msglog_receive(b, x1.p, x1.n));
    info = check_info(b, C1);
    cr_assert_eq(info->pending, 0);
    cr_assert_eq(info->n_messages, 3);
    msglog_free(info);
    msglog_page *p = check_get(b, C1, m2);
    cr_assert_eq(p->messages[0].n_reactions, 1);
    msglog_free(p);
    /* Pending ops of the restarted store can be relayed. */
    before = check_snapshot(b);
    msglog_close(b);
    b = NULL;
    CHECK_OK(tstore_open(&b, root, "b", 2, "bob", &clk_b));
    check_unchanged(b, before, "second restart");
    free(before);
    msglog_free(x1.p);
    msglog_free(x2.p);
    msglog_free(x3.p);
}

Test(receive, ops_of_several_conversations)
{
    msglog_id m, n2;
    CHECK_OK(msglog_send(a, &m, "x", 1, "in x", 4));
    CHECK_OK(msglog_send(a, &n2, "y", 1, "in y", 4));
    bytes xm = op_bytes(a, "x", 1, m), xn = op_bytes(a, "y", 1, n2);
    msglog_buf bufs[2] = {{xn.p, xn.n}, {xm.p, xm.n}};
    CHECK_OK(msglog_receive_batch(b, bufs, 2));
    msglog_str *convs = NULL;
    size_t n = 0;
    CHECK_OK(msglog_conversations(b, &convs, &n));
    cr_assert_eq(n, 2);
    check_str(convs[0], "x", 1, "conv");
    check_str(convs[1], "y", 1, "conv");
    msglog_free(convs);
    assert_same_view(a, b, "two conversations");
    msglog_free(xm.p);
    msglog_free(xn.p);
}

Test(receive, op_bytes_are_stable)
{
    /* The bytes of an op do not depend on who holds it (no erasure here). */
    msglog_id m = send_s(a, "same bytes everywhere");
    bytes x = op_bytes(a, C1, m);
    CHECK_OK(msglog_receive(b, x.p, x.n));
    bytes y = op_bytes(b, C1, m);
    cr_assert_eq(x.n, y.n);
    cr_assert_eq(memcmp(x.p, y.p, x.n), 0);
    msglog_close(b);
    b = NULL;
    CHECK_OK(tstore_open(&b, root, "b", 2, "bob", &clk_b));
    bytes z = op_bytes(b, C1, m);
    cr_assert_eq(x.n, z.n);
    cr_assert_eq(memcmp(x.p, z.p, x.n), 0);
    msglog_free(x.p);
    msglog_free(y.p);
    msglog_free(z.p);
}

/* A forged op from the network: mallory's own valid ops, re-encoded through
 * the codec (the only way to make one: no correct replica creates it) as
 * an edit and a delete of alice's message. docs/design.md ("Validity"): such ops are delivered,
 * count in the vv, and change nothing - the same way on every replica. */
static bytes forge(const bytes *legit, uint8_t kind, const char *body)
{
    op o;
    int rc = codec_op_decode(&o, legit->p, legit->n);
    cr_assert_eq(rc, CODEC_OK, "decoding a valid op: %d", rc);
    o.kind = kind;
    o.key = NULL;
    o.key_len = 0;
    o.body = (const uint8_t *)body;
    o.body_len = body ? strlen(body) : 0;
    o.erased = 0;
    uint8_t *enc = NULL;
    size_t len = 0;
    rc = codec_op_encode(&enc, &len, &o, 0);
    cr_assert_eq(rc, CODEC_OK, "re-encoding: %d", rc);
    codec_op_clear(&o);
    bytes x = {enc, len};
    return x;
}

Test(receive, forged_edit_and_delete_by_non_author_change_nothing)
{
    msglog *mal = NULL;
    tclock clk_m = {T0, 0};
    CHECK_OK(tstore_open(&mal, root, "mallory", 9, "mallory", &clk_m));
    msglog_id m = send_s(a, "alice's words"), r1, r2;
    bytes xm = op_bytes(a, C1, m);
    CHECK_OK(msglog_receive(mal, xm.p, xm.n));
    CHECK_OK(msglog_react(mal, &r1, C1, m, "+1", 2));
    CHECK_OK(msglog_react(mal, &r2, C1, m, "+2", 2));
    bytes l1 = op_bytes(mal, C1, r1), l2 = op_bytes(mal, C1, r2);
    bytes fe = forge(&l1, OP_EDIT, "mallory's words");
    bytes fd = forge(&l2, OP_DELETE, NULL);
    msglog_close(mal);

    CHECK_OK(msglog_receive(b, xm.p, xm.n));
    CHECK_OK(msglog_receive(b, fd.p, fd.n));   /* pending until fe */
    CHECK_OK(msglog_receive(b, fe.p, fe.n));
    msglog_conv_info *info = check_info(b, C1);
    cr_assert_eq(info->pending, 0);
    cr_assert_eq(info->n_vv, 2);
    cr_assert_eq(info->vv[1].replica, 9);
    cr_assert_eq(info->vv[1].seq, 2, "forged ops count in the vv");
    cr_assert_eq(info->n_messages, 1);
    msglog_free(info);
    msglog_page *p = check_get(b, C1, m);
    check_str(p->messages[0].body, "alice's words", 13, "body unchanged");
    cr_assert_eq(p->messages[0].edited, 0, "a forged edit is not an edit");
    cr_assert_eq(p->messages[0].deleted, 0, "a forged delete deletes nothing");
    cr_assert_eq(p->messages[0].conflict, 0);
    msglog_free(p);
    /* alice may still edit; another replica that gets everything by sync
     * agrees exactly. */
    msglog_id e;
    CHECK_OK(msglog_receive(a, fe.p, fe.n));
    CHECK_OK(msglog_receive(a, fd.p, fd.n));
    CHECK_OK(msglog_edit(a, &e, C1, m, "alice's new words", 17));
    check_sync(a, b, NULL, 0);
    check_sync(b, c, NULL, 0);
    assert_same_view(a, b, "a and b");
    assert_same_view(a, c, "a and c");
    p = check_get(c, C1, m);
    check_str(p->messages[0].body, "alice's new words", 17, "real edit");
    cr_assert_eq(p->messages[0].conflict, 0, "the forged edit is no head");
    msglog_free(p);
    free(fe.p);
    free(fd.p);
    msglog_free(l1.p);
    msglog_free(l2.p);
    msglog_free(xm.p);
}
