/* Remote ops that break the rules (docs/reliability.md, hostile ops): equivocation and a
 * flood of ops whose dependencies never arrive. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/digest.h"
#include "crdt/equivocation.h"
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

static msglog *open_capped(const char *name, uint64_t replica, uint64_t ops, uint64_t bytes_cap);

/* The same op id as a delete of `target`: an equivocating replica's other
 * version of an edit. */
static bytes as_delete(const bytes *legit, msglog_id target)
{
    op o;
    cr_assert_eq(codec_op_decode(&o, legit->p, legit->n), CODEC_OK);
    o.kind = OP_DELETE;
    o.target = (op_id){ target.replica, target.seq };
    o.body = NULL;
    o.body_len = 0;
    free(o.refs);
    o.refs = NULL;
    o.n_refs = 0;
    bytes x;
    cr_assert_eq(codec_op_encode(&x.p, &x.n, &o, 0), CODEC_OK);
    codec_op_clear(&o);
    return x;
}

static void receive_expect(msglog *log, const bytes *x, int expect)
{
    int rc = msglog_receive(log, x->p, x->n);
    cr_assert_eq(rc, expect, "receive -> %d (%s), expected %d", rc, msglog_strerror(rc), expect);
}

/* Both stores show the same view, vector and digest. */
static void check_same(msglog *x, msglog *y, const char *what)
{
    char *vx = check_snapshot(x);
    check_unchanged(y, vx, what);
    free(vx);
}

static int store_has_text(const char *name, const char *text)
{
    char *path = tmpdir_join(root, name), file[4096];
    snprintf(file, sizeof file, "%s/data.mdb", path);
    free(path);
    void *data = NULL;
    size_t n = 0;
    cr_assert_eq(tmpdir_read_file(file, &data, &n), 0, "cannot read %s", file);
    int found = check_contains(data, n, text, strlen(text));
    free(data);
    return found;
}

Test(hostile, equivocation_in_either_order_ends_the_same)
{
    msglog_id m = send_text(a, "the real text");
    bytes real = bytes_of(a, m);
    bytes fake = with_body(&real, "a different text");
    /* b sees the real version first, c the fake one. */
    CHECK_OK(msglog_receive(b, real.p, real.n));
    receive_expect(b, &fake, MSGLOG_EEQUIVOCAL);
    cr_assert_str_neq(msglog_errmsg(b), "");
    CHECK_OK(msglog_receive(c, fake.p, fake.n));
    receive_expect(c, &real, MSGLOG_EEQUIVOCAL);
    check_same(b, c, "the same two versions in the other order");
    msglog_page *pb = check_get(b, C1, m);
    cr_assert(pb->messages[0].body.len == 13 || pb->messages[0].body.len == 16,
              "the message shows neither version");
    msglog_free(pb);
    /* Either version again is a plain duplicate now. */
    CHECK_OK(msglog_receive(b, real.p, real.n));
    CHECK_OK(msglog_receive(b, fake.p, fake.n));
    check_same(b, c, "duplicates of both versions");
    msglog_free(real.p);
    free(fake.p);
}

static int shown_equivocated(msglog *log, msglog_id m)
{
    msglog_page *p = check_get(log, C1, m);
    int e = p->messages[0].equivocated;
    msglog_free(p);
    return e;
}

/* A rewrite by equivocation is never silent: the view marks the message
 * whose send, or one of whose edits, is held in two versions, on every
 * replica holding both, and only that message. */
Test(hostile, the_view_marks_an_equivocated_message)
{
    msglog_id m1 = send_text(a, "I owe bob $5"), m2 = send_text(a, "see you at 9"), e;
    clk.now++;
    CHECK_OK(msglog_edit(a, &e, C1, m2, "see you at 10", 13));
    bytes s1 = bytes_of(a, m1), s2 = bytes_of(a, m2), ed = bytes_of(a, e);
    bytes fake_send = with_body(&s1, "I owe bob $5000"), fake_edit = with_body(&ed, "never");
    msglog_buf honest[] = { { s1.p, s1.n }, { s2.p, s2.n }, { ed.p, ed.n } };
    CHECK_OK(msglog_receive_batch(b, honest, 3));
    CHECK_OK(msglog_receive_batch(c, honest, 3));
    cr_assert(!shown_equivocated(b, m1) && !shown_equivocated(b, m2), "one version each: no mark");
    receive_expect(b, &fake_send, MSGLOG_EEQUIVOCAL);
    cr_assert(shown_equivocated(b, m1), "the send has two versions");
    cr_assert(!shown_equivocated(b, m2), "the other message is not marked");
    receive_expect(c, &fake_edit, MSGLOG_EEQUIVOCAL);
    cr_assert(shown_equivocated(c, m2), "an edit of it has two versions");
    cr_assert(!shown_equivocated(c, m1));
    msglog_page *page;
    CHECK_OK(msglog_messages(b, &page, C1, MSGLOG_FORWARD, (msglog_cursor){ 1, 0, { 0, 0 } }, 10));
    cr_assert_eq(page->n, 2);
    cr_assert(page->messages[0].equivocated && !page->messages[1].equivocated,
              "the page marks the same message as the single read");
    msglog_free(page);
    msglog_free(s1.p);
    msglog_free(s2.p);
    msglog_free(ed.p);
    free(fake_send.p);
    free(fake_edit.p);
}

Test(hostile, a_peer_lacking_the_id_gets_every_version_by_sync)
{
    msglog_id m = send_text(a, "real");
    bytes real = bytes_of(a, m);
    bytes fake = with_body(&real, "fake");
    CHECK_OK(msglog_receive(b, fake.p, fake.n));
    receive_expect(b, &real, MSGLOG_EEQUIVOCAL);
    /* c pulls from b: both versions travel, and c ends where b is. */
    void *req = NULL, *resp = NULL;
    size_t req_len = 0, resp_len = 0;
    CHECK_OK(msglog_sync_request(c, &req, &req_len, C1));
    CHECK_OK(msglog_sync_response(b, &resp, &resp_len, req, req_len));
    cr_assert_eq(msglog_sync_apply(c, resp, resp_len), MSGLOG_EEQUIVOCAL);
    check_same(b, c, "a sync from a replica holding both versions");
    msglog_free(req);
    msglog_free(resp);
    msglog_free(real.p);
    free(fake.p);
}

Test(hostile, a_delete_among_the_versions_deletes_in_any_order)
{
    msglog_id m = send_text(a, "original words"), e;
    bytes send = bytes_of(a, m);
    clk.now++;
    CHECK_OK(msglog_edit(a, &e, C1, m, "edited words", 12));
    bytes edit = bytes_of(a, e);
    bytes del = as_delete(&edit, m);   /* the same id as the edit */
    CHECK_OK(msglog_receive(b, send.p, send.n));
    CHECK_OK(msglog_receive(b, edit.p, edit.n));
    receive_expect(b, &del, MSGLOG_EEQUIVOCAL);
    CHECK_OK(msglog_receive(c, send.p, send.n));
    CHECK_OK(msglog_receive(c, del.p, del.n));
    receive_expect(c, &edit, MSGLOG_EEQUIVOCAL);
    check_same(b, c, "an edit and a delete with one id, in either order");
    msglog_page *p = check_get(b, C1, m);
    cr_assert(p->messages[0].deleted, "a delete version must delete");
    cr_assert_null(p->messages[0].body.data);
    msglog_free(p);
    /* Erased, the kept versions included: checked on stores that got it all
     * in one transaction (text that reached the file in an earlier one may
     * survive in LMDB's free pages, docs/design.md). */
    msglog *d = open_capped("d", 4, 1000, 1 << 20), *e2 = open_capped("e", 5, 1000, 1 << 20);
    msglog_buf in_d[3] = { { send.p, send.n }, { edit.p, edit.n }, { del.p, del.n } };
    msglog_buf in_e[3] = { { del.p, del.n }, { edit.p, edit.n }, { send.p, send.n } };
    cr_assert_eq(msglog_receive_batch(d, in_d, 3), MSGLOG_EEQUIVOCAL);
    cr_assert_eq(msglog_receive_batch(e2, in_e, 3), MSGLOG_EEQUIVOCAL);
    check_same(b, d, "one batch");
    check_same(b, e2, "one batch in another order");
    msglog_close(d);
    msglog_close(e2);
    const char *stores[] = { "d", "e" }, *texts[] = { "original words", "edited words" };
    for (int i = 0; i < 4; i++)
        cr_assert(!store_has_text(stores[i / 2], texts[i % 2]), "store %s still holds '%s'",
                  stores[i / 2], texts[i % 2]);
    msglog_close(c);
    CHECK_OK(tstore_open(&c, root, "c", 3, "carol", &clk));
    check_same(b, c, "a reopen");
    msglog_free(send.p);
    msglog_free(edit.p);
    free(del.p);
}

Test(hostile, a_version_waiting_as_pending_is_settled_on_delivery)
{
    msglog_id m1 = send_text(a, "first");
    msglog_id m2 = send_text(a, "second");
    bytes x1 = bytes_of(a, m1), x2 = bytes_of(a, m2);
    bytes fake2 = with_body(&x2, "forged second");
    /* c holds both versions of m2 while m1 is missing; b gets m1 first. */
    CHECK_OK(msglog_receive(c, x2.p, x2.n));
    receive_expect(c, &fake2, MSGLOG_EEQUIVOCAL);
    CHECK_OK(msglog_receive(c, x1.p, x1.n));
    CHECK_OK(msglog_receive(b, x1.p, x1.n));
    CHECK_OK(msglog_receive(b, fake2.p, fake2.n));
    receive_expect(b, &x2, MSGLOG_EEQUIVOCAL);
    check_same(b, c, "versions held pending, then delivered");
    msglog_free(x1.p);
    msglog_free(x2.p);
    free(fake2.p);
}

/* Another version of an op that also waits for an op nobody has. */
static bytes waiting_version(const bytes *legit, const char *body)
{
    op o;
    cr_assert_eq(codec_op_decode(&o, legit->p, legit->n), CODEC_OK);
    o.body = (const uint8_t *)body;
    o.body_len = strlen(body);
    op_id *deps = malloc((o.n_deps + 1) * sizeof *deps);
    cr_assert_not_null(deps);
    for (size_t i = 0; i < o.n_deps; i++)
        deps[i] = o.deps[i];
    deps[o.n_deps] = (op_id){ 99, 1 };
    free(o.deps);
    o.deps = deps;
    o.n_deps++;
    bytes x;
    cr_assert_eq(codec_op_encode(&x.p, &x.n, &o, 0), CODEC_OK);
    codec_op_clear(&o);
    return x;
}

static void check_nothing_pending(msglog *log)
{
    msglog_conv_info *info = check_info(log, C1);
    cr_assert_eq(info->pending, 0, "%llu ops still pending", (unsigned long long)info->pending);
    msglog_free(info);
}

/* Found while building the session stream: a version whose dependencies
 * never come, held pending, must not keep the id (and its origin's later
 * ops) from the version that is ready. */
Test(hostile, a_waiting_version_does_not_hold_up_a_ready_one)
{
    msglog_id m1 = send_text(a, "first");
    msglog_id m2 = send_text(a, "second");
    bytes x1 = bytes_of(a, m1), x2 = bytes_of(a, m2);
    bytes stuck = waiting_version(&x1, "waits for ever");
    CHECK_OK(msglog_receive(c, stuck.p, stuck.n));
    receive_expect(c, &x1, MSGLOG_EEQUIVOCAL);
    CHECK_OK(msglog_receive(c, x2.p, x2.n));
    check_nothing_pending(c);
    CHECK_OK(msglog_receive(b, x1.p, x1.n));
    CHECK_OK(msglog_receive(b, x2.p, x2.n));
    receive_expect(b, &stuck, MSGLOG_EEQUIVOCAL);
    check_same(b, c, "a ready version after one that waits for ever");
    msglog_free(x1.p);
    msglog_free(x2.p);
    free(stuck.p);
}

/* The same when the ready version itself had to wait when it came: it is
 * delivered once its dependencies are there. */
Test(hostile, a_kept_version_is_delivered_when_it_becomes_ready)
{
    msglog_id m1 = send_text(a, "first");
    msglog_id m2 = send_text(a, "second");
    msglog_id m3 = send_text(a, "third");
    bytes x1 = bytes_of(a, m1), x2 = bytes_of(a, m2), x3 = bytes_of(a, m3);
    bytes stuck = waiting_version(&x2, "waits for ever");
    CHECK_OK(msglog_receive(c, stuck.p, stuck.n));
    receive_expect(c, &x2, MSGLOG_EEQUIVOCAL);   /* both wait for m1 now */
    CHECK_OK(msglog_receive(c, x3.p, x3.n));
    CHECK_OK(msglog_receive(c, x1.p, x1.n));
    check_nothing_pending(c);
    msglog_buf all[4] = { { x1.p, x1.n }, { x2.p, x2.n }, { x3.p, x3.n }, { stuck.p, stuck.n } };
    cr_assert_eq(msglog_receive_batch(b, all, 4), MSGLOG_EEQUIVOCAL);
    check_nothing_pending(b);
    check_same(b, c, "versions that waited, in another order");
    msglog_free(x1.p);
    msglog_free(x2.p);
    msglog_free(x3.p);
    free(stuck.p);
}

/* Found by fuzz_receive: two versions of an op that can only wait, in a
 * conversation with nothing delivered (a rebuild with no ops to replay). */
Test(hostile, versions_of_an_op_in_a_conversation_with_only_pending_ops)
{
    send_text(a, "first");
    msglog_id m2 = send_text(a, "second");
    bytes x2 = bytes_of(a, m2);
    bytes fake2 = with_body(&x2, "forged");
    CHECK_OK(msglog_receive(b, x2.p, x2.n));
    receive_expect(b, &fake2, MSGLOG_EEQUIVOCAL);
    msglog_conv_info *info = check_info(b, C1);
    cr_assert_eq(info->pending, 1);
    cr_assert_eq(info->n_messages, 0);
    msglog_free(info);
    msglog_free(x2.p);
    free(fake2.p);
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
    msglog_buf other[3] = { { x2.p, x2.n }, { x1.p, x1.n }, { fake1.p, fake1.n } };
    cr_assert_eq(msglog_receive_batch(c, other, 3), MSGLOG_EEQUIVOCAL);
    check_same(b, c, "the same ops in other batches");
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

Test(hostile, another_version_of_an_own_op)
{
    msglog_id m = send_text(a, "mine");
    bytes real = bytes_of(a, m);
    bytes fake = with_body(&real, "not mine");
    receive_expect(a, &fake, MSGLOG_EEQUIVOCAL);
    msglog_page *p = check_get(a, C1, m);
    msglog_free(p);
    msglog_free(real.p);
    free(fake.p);
}

/* ---- versions made against different pasts: the order of a replay ------ */

/* Encodes an op of conversation c1 (refs may be NULL). */
static bytes crafted(uint8_t kind, op_id id, uint64_t hlc, const char *user, op_id target,
                     const char *text, op_id *refs, size_t n_refs)
{
    op o = { .kind = kind, .conv = (const uint8_t *)"c1", .conv_len = 2, .id = id, .hlc = hlc,
             .user = (const uint8_t *)user, .user_len = strlen(user), .target = target,
             .refs = refs, .n_refs = n_refs };
    if (kind == OP_SEND || kind == OP_EDIT) {
        o.body = (const uint8_t *)text;
        o.body_len = strlen(text);
    } else if (kind == OP_REACT || kind == OP_UNREACT) {
        o.key = (const uint8_t *)text;
        o.key_len = strlen(text);
    }
    bytes x;
    cr_assert_eq(codec_op_encode(&x.p, &x.n, &o, 0), CODEC_OK);
    return x;
}

static void hash_of(const bytes *x, uint8_t out[OP_HASH_LEN])
{
    op o;
    cr_assert_eq(codec_op_decode(&o, x->p, x->n), CODEC_OK);
    digest_to_bytes(out, digest_op_content(&o));
    codec_op_clear(&o);
}

/* Two versions of one id, both of `kind` (an edit or a react) on `target`:
 * *early at early_hlc, and *late at late_hlc (plus k for a react, whose key
 * stays; body "v<k>" for an edit) for the first k that makes it count over
 * *early. */
static void two_versions(uint8_t kind, op_id id, const char *user, op_id target, uint64_t early_hlc,
                         uint64_t late_hlc, bytes *early, bytes *late)
{
    const char *text = kind == OP_REACT ? "+1" : "early";
    *early = crafted(kind, id, early_hlc, user, target, text, NULL, 0);
    uint8_t he[OP_HASH_LEN], hl[OP_HASH_LEN];
    hash_of(early, he);
    for (int k = 0;; k++) {
        char body[16];
        snprintf(body, sizeof body, "v%d", k);
        /* A react's key must stay: its hlc alone makes it another version. */
        *late = crafted(kind, id, late_hlc + (kind == OP_REACT ? (uint64_t)k : 0), user, target,
                        kind == OP_REACT ? "+1" : body, NULL, 0);
        hash_of(late, hl);
        if (version_counts_over(hl, he))
            return;
        free(late->p);
    }
}

static void receive_all(msglog *log, bytes *const *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = msglog_receive(log, ops[i]->p, ops[i]->n);
        cr_assert(rc == MSGLOG_OK || rc == MSGLOG_EEQUIVOCAL, "receive -> %d", rc);
    }
}

/* Alice's message (1,1); two versions of `id`, both of `kind` on it, the
 * one that counts at a later hlc than op `by` of `by_kind`, which names id
 * in its refs (as its author saw it). b gets the counting version before
 * `by`, c gets it last (and rebuilds the message then): both must end the
 * same. Returns c's message. */
static msglog_page *named_before_it_counts(uint8_t kind, op_id id, uint8_t by_kind, op_id by,
                                          const char *user, const char *text)
{
    const uint64_t h = T0 << 16;
    op_id msg = { 1, 1 };
    bytes send = crafted(OP_SEND, msg, h, "alice", (op_id){ 0, 0 }, "hello", NULL, 0);
    bytes early, late;
    two_versions(kind, id, user, msg, h + 100, h + 300, &early, &late);
    bytes named = crafted(by_kind, by, h + 200, user, msg, text, &id, 1);
    receive_all(b, (bytes *const[]){ &send, &late, &named, &early }, 4);
    receive_all(c, (bytes *const[]){ &send, &early, &named, &late }, 4);
    check_same(b, c, "the counting version first or last");
    free(send.p);
    free(early.p);
    free(late.p);
    free(named.p);
    return check_get(c, C1, (msglog_id){ msg.replica, msg.seq });
}

/* Alice's edit (1,2) has two versions; the one that counts has a later hlc
 * than her next edit (1,3), which replaced (1,2) as she saw it. In message
 * order (1,3) comes first, yet it still replaced (1,2): one head, no
 * conflict, whichever order the versions came in. */
Test(hostile, an_edit_replaces_an_equivocated_edit_in_any_order)
{
    msglog_page *p = named_before_it_counts(OP_EDIT, (op_id){ 1, 2 }, OP_EDIT, (op_id){ 1, 3 },
                                            "alice", "replaced");
    cr_assert_eq(p->messages[0].conflict, 0, "(1,3) replaced (1,2): one head");
    msglog_free(p);
}

/* The same for a react with two versions and an unreact that observed it
 * but comes earlier in message order than the version that counts. */
Test(hostile, an_unreact_removes_an_equivocated_react_in_any_order)
{
    msglog_page *p = named_before_it_counts(OP_REACT, (op_id){ 2, 1 }, OP_UNREACT, (op_id){ 2, 2 },
                                            "bob", "+1");
    cr_assert_eq(p->messages[0].n_reactions, 0, "the unreact observed (2,1)");
    msglog_free(p);
}
