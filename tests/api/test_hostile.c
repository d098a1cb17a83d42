/* Remote ops that break the rules (issue 3, section 3): equivocation and a
 * flood of ops whose dependencies never arrive. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "msglog.h"
#include "support/check.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define T0 1700000000000ULL
#define C1 "c1", 2

static char *root;
static tclock clk;
static msglog *a, *b, *c;

static void setup(void)
{
    root = tmpdir_make("msglog-hostile-");
    cr_assert_not_null(root);
    clk.now = T0;
    CHECK_OK(tstore_open(&a, root, "a", 1, "alice", &clk));
    CHECK_OK(tstore_open(&b, root, "b", 2, "bob", &clk));
    CHECK_OK(tstore_open(&c, root, "c", 3, "carol", &clk));
}

static void teardown(void)
{
    msglog_close(a);
    msglog_close(b);
    msglog_close(c);
    tmpdir_remove(root);
    free(root);
}

TestSuite(hostile, .init = setup, .fini = teardown);

typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static bytes bytes_of(msglog *log, msglog_id id)
{
    bytes x;
    void *p;
    CHECK_OK(msglog_op_bytes(log, &p, &x.n, C1, id));
    x.p = p;
    return x;
}

static msglog_id send_text(msglog *log, const char *text)
{
    msglog_id id;
    clk.now++;
    CHECK_OK(msglog_send(log, &id, C1, text, strlen(text)));
    return id;
}

/* The same op id with another body: what an equivocating replica sends. */
static bytes with_body(const bytes *legit, const char *body)
{
    op o;
    cr_assert_eq(codec_op_decode(&o, legit->p, legit->n), CODEC_OK);
    o.body = (const uint8_t *)body;
    o.body_len = strlen(body);
    bytes x;
    cr_assert_eq(codec_op_encode(&x.p, &x.n, &o, 0), CODEC_OK);
    codec_op_clear(&o);
    return x;
}

Test(hostile, equivocation_is_refused_and_changes_nothing)
{
    msglog_id m = send_text(a, "the real text");
    bytes real = bytes_of(a, m);
    bytes fake = with_body(&real, "a different text");
    CHECK_OK(msglog_receive(b, real.p, real.n));
    char *before = check_snapshot(b);
    cr_assert_eq(msglog_receive(b, fake.p, fake.n), MSGLOG_EEQUIVOCAL);
    cr_assert_str_neq(msglog_errmsg(b), "");
    check_unchanged(b, before, "an equivocating op");
    free(before);
    /* The same bytes again are a plain duplicate. */
    CHECK_OK(msglog_receive(b, real.p, real.n));
    msglog_free(real.p);
    free(fake.p);
}

Test(hostile, equivocation_in_a_batch_does_not_block_valid_ops)
{
    msglog_id m1 = send_text(a, "first");
    msglog_id m2 = send_text(a, "second");
    bytes x1 = bytes_of(a, m1), x2 = bytes_of(a, m2);
    bytes fake1 = with_body(&x1, "forged first");
    CHECK_OK(msglog_receive(b, x1.p, x1.n));
    msglog_buf batch[2] = { { fake1.p, fake1.n }, { x2.p, x2.n } };
    cr_assert_eq(msglog_receive_batch(b, batch, 2), MSGLOG_EEQUIVOCAL);
    msglog_conv_info *info = check_info(b, C1);
    cr_assert_eq(info->n_messages, 2, "the valid op of the batch was not applied");
    msglog_free(info);
    msglog_page *p = check_get(b, C1, m1);
    check_str(p->messages[0].body, "first", 5, "the first version stays");
    msglog_free(p);
    msglog_free(x1.p);
    msglog_free(x2.p);
    free(fake1.p);
}

Test(hostile, an_erased_copy_is_the_same_op_not_an_equivocation)
{
    msglog_id m = send_text(a, "soon gone");
    bytes original = bytes_of(a, m);
    CHECK_OK(msglog_receive(b, original.p, original.n));
    msglog_id d;
    clk.now++;
    CHECK_OK(msglog_delete(a, &d, C1, m));
    bytes erased = bytes_of(a, m);
    cr_assert_neq(erased.n, original.n, "the send was not erased");
    CHECK_OK(msglog_receive(b, erased.p, erased.n));
    msglog_free(original.p);
    msglog_free(erased.p);
}

static msglog *open_capped(const char *name, uint64_t replica, uint64_t ops, uint64_t bytes_cap)
{
    msglog_options o = MSGLOG_OPTIONS_INIT;
    o.clock = tclock_read;
    o.clock_ctx = &clk;
    o.map_size = TSTORE_MAP_SIZE;
    o.max_pending_ops = ops;
    o.max_pending_bytes = bytes_cap;
    char *path = tmpdir_join(root, name);
    msglog *log = NULL;
    CHECK_OK(msglog_open(&log, path, replica, "dave", 4, &o));
    free(path);
    return log;
}

Test(hostile, pending_flood_is_capped_and_valid_traffic_flows)
{
    msglog *d = open_capped("d", 4, 5, 0);
    msglog_id ids[12];
    for (int i = 0; i < 12; i++)
        ids[i] = send_text(a, "flood");
    msglog_id other = send_text(c, "carol is fine");
    /* Ops 2..12 of alice without op 1: they can only wait. */
    msglog_buf batch[12];
    bytes xs[12];
    for (int i = 1; i < 12; i++) {
        xs[i] = bytes_of(a, ids[i]);
        batch[i - 1] = (msglog_buf){ xs[i].p, xs[i].n };
    }
    bytes xo = bytes_of(c, other);
    batch[11] = (msglog_buf){ xo.p, xo.n };
    cr_assert_eq(msglog_receive_batch(d, batch, 12), MSGLOG_EPENDINGFULL);
    msglog_conv_info *info = check_info(d, C1);
    cr_assert_eq(info->pending, 5, "pending beyond its cap: %llu", (unsigned long long)info->pending);
    cr_assert_eq(info->n_messages, 1, "the ready op of the batch was not applied");
    msglog_free(info);
    /* Op 1 arrives: the 5 kept ops follow it; the dropped ones come again. */
    xs[0] = bytes_of(a, ids[0]);
    CHECK_OK(msglog_receive(d, xs[0].p, xs[0].n));
    info = check_info(d, C1);
    cr_assert_eq(info->pending, 0);
    cr_assert_eq(info->n_messages, 7);
    msglog_free(info);
    CHECK_OK(msglog_receive_batch(d, batch, 11));
    info = check_info(d, C1);
    cr_assert_eq(info->n_messages, 13);
    msglog_free(info);
    for (int i = 0; i < 12; i++)
        msglog_free(xs[i].p);
    msglog_free(xo.p);
    msglog_close(d);
}

Test(hostile, pending_bytes_cap_and_no_conversation_flood)
{
    msglog *d = open_capped("d", 4, 0, 600);
    /* Ops that wait, each in a new conversation: past the byte cap they are
     * dropped before their conversation is made. */
    int refused = 0;
    for (int i = 0; i < 40; i++) {
        char conv[16];
        snprintf(conv, sizeof conv, "flood-%d", i);
        msglog_id m1, m2;
        clk.now++;
        CHECK_OK(msglog_send(a, &m1, conv, strlen(conv), "x", 1));
        CHECK_OK(msglog_send(a, &m2, conv, strlen(conv), "waiting for its predecessor", 27));
        void *p;
        size_t n;
        CHECK_OK(msglog_op_bytes(a, &p, &n, conv, strlen(conv), m2));
        int rc = msglog_receive(d, p, n);
        cr_assert(rc == MSGLOG_OK || rc == MSGLOG_EPENDINGFULL, "rc %d", rc);
        refused += rc == MSGLOG_EPENDINGFULL;
        msglog_free(p);
    }
    msglog_str *convs;
    size_t n_convs;
    CHECK_OK(msglog_conversations(d, &convs, &n_convs));
    cr_assert_gt(refused, 0);
    cr_assert_eq(n_convs, 40 - (size_t)refused, "conversations made for dropped ops");
    cr_assert_lt(n_convs, 40);
    msglog_free(convs);
    msglog_close(d);
}
