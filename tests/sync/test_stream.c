/* The sender side of the session op stream (sync/stream.c, docs/protocol.md
 * 3.2-3.3): the batches carry exactly what a one-shot sync response would,
 * in causal order, within the budget, and never end with a message erased
 * but not deleted at the receiver unless the doc says they may. */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/digest.h"
#include "msglog.h"
#include "engine/engine.h"
#include "sync/stream.h"
#include "support/check.h"
#include "support/rng.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define T0 1700000000000ULL
#define C1 "c1", 2
#define NH 8
#define BIG ((size_t)1 << 30)
/* max_batch for a budget: 1 MiB, or the budget when larger */
#define MAXB(budget) ((budget) > ((size_t)1 << 20) ? (budget) : ((size_t)1 << 20))

static char *root;
static tclock clk[NH];
static msglog *h[NH];
static const char *names[NH] = { "a", "b", "c", "d", "e", "f", "g", "x" };

static void setup(void)
{
    root = tmpdir_make("msglog-stream-");
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
    if (root) {
        tmpdir_remove(root);
        free(root);
        root = NULL;
    }
}

TestSuite(stream, .init = setup, .fini = teardown);

static msglog *open_r(int i, uint64_t id, const char *user)
{
    CHECK_OK(tstore_open(&h[i], root, names[i], id, user, &clk[i]));
    return h[i];
}

static msglog_id send_in(int i, const char *body)
{
    msglog_id id;
    clk[i].now++;
    CHECK_OK(msglog_send(h[i], &id, C1, body, strlen(body)));
    return id;
}

/* ---- what a stream gives ------------------------------------------------ */

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

typedef struct batch {
    blob *ops;
    size_t n, bytes;
    int drained, forced;
} batch;

typedef struct pulled {
    batch *b;
    size_t n;
    op_id *peer;        /* the vector the stream was opened with */
    size_t n_peer;
} pulled;

static void pulled_free(pulled *x)
{
    for (size_t i = 0; i < x->n; i++) {
        for (size_t j = 0; j < x->b[i].n; j++)
            free(x->b[i].ops[j].p);
        free(x->b[i].ops);
    }
    free(x->b);
    free(x->peer);
}

/* `to`'s vector of c1 (empty when it does not hold it). */
static void peer_of(msglog *to, op_id **out, size_t *n)
{
    msglog_conv_info *info = NULL;
    int rc = msglog_conv_info_get(to, &info, C1);
    *out = NULL;
    *n = 0;
    if (rc == MSGLOG_ENOTFOUND)
        return;
    CHECK_OK(rc);
    *out = calloc(info->n_vv ? info->n_vv : 1, sizeof **out);
    for (size_t i = 0; i < info->n_vv; i++)
        (*out)[i] = (op_id){ info->vv[i].replica, info->vv[i].seq };
    *n = info->n_vv;
    msglog_free(info);
}

static void take_batch(pulled *x, const stream_batch *sb)
{
    x->b = realloc(x->b, (x->n + 1) * sizeof *x->b);
    batch *b = &x->b[x->n++];
    *b = (batch){ calloc(sb->n ? sb->n : 1, sizeof *b->ops), sb->n, sb->bytes, sb->drained,
                  sb->forced };
    size_t sum = 0;
    for (size_t i = 0; i < sb->n; i++) {
        b->ops[i].p = malloc(sb->ops[i].len);
        memcpy(b->ops[i].p, sb->ops[i].data, sb->ops[i].len);
        b->ops[i].n = sb->ops[i].len;
        sum += sb->ops[i].len;
    }
    cr_assert_eq(sum, sb->bytes, "bytes is the sum of the encodings");
}

/* One batch in a fresh read transaction, as a connection pulls it. */
static int next_in_txn(msglog *from, stream *s, pulled *x)
{
    store_txn *t;
    CHECK_OK(store_txn_begin(from->st, 0, &t));
    stream_batch sb;
    int rc = stream_next(s, t, &sb);
    if (rc == MSGLOG_OK && (sb.n || x->n == 0))
        take_batch(x, &sb);
    store_txn_abort(t);
    return rc == MSGLOG_OK && sb.drained ? 1 : rc;
}

/* Every batch of the stream from `from` to `to` (its vector of c1). */
static pulled pull(msglog *from, msglog *to, size_t budget, size_t max_batch)
{
    pulled x = { 0 };
    peer_of(to, &x.peer, &x.n_peer);
    stream *s;
    CHECK_OK(stream_open(&s, (const uint8_t *)"c1", 2, x.peer, x.n_peer, budget, max_batch));
    int rc, calls = 0;
    while ((rc = next_in_txn(from, s, &x)) == MSGLOG_OK)
        cr_assert_lt(++calls, 100000, "the stream never drains");
    cr_assert_eq(rc, 1, "stream_next -> %d (%s)", rc, msglog_strerror(rc));
    stream_close(s);
    for (size_t i = 0; i < x.n; i++)
        cr_assert(x.b[i].n > 0 || x.n == 1, "batch %zu is empty", i);
    return x;
}

/* ---- the checks --------------------------------------------------------- */

static int blob_cmp(const void *a, const void *b)
{
    const blob *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return memcmp(x->p, y->p, x->n);
}

/* The ops of every batch, as one list (borrowed). */
static blob *all_ops(const pulled *x, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < x->n; i++)
        *n += x->b[i].n;
    blob *all = calloc(*n ? *n : 1, sizeof *all);
    size_t k = 0;
    for (size_t i = 0; i < x->n; i++)
        for (size_t j = 0; j < x->b[i].n; j++)
            all[k++] = x->b[i].ops[j];
    return all;
}

/* The union of the batches is the one-shot response to `to`'s request. */
static void check_same_as_sync(msglog *from, msglog *to, const pulled *x)
{
    void *req = NULL, *resp = NULL;
    size_t req_len = 0, resp_len = 0;
    CHECK_OK(msglog_sync_request(to, &req, &req_len, C1));
    CHECK_OK(msglog_sync_response(from, &resp, &resp_len, req, req_len));
    codec_bytes *ops;
    size_t n_sync, n;
    cr_assert_eq(codec_sync_response_decode(&ops, &n_sync, resp, resp_len), CODEC_OK);
    blob *want = calloc(n_sync ? n_sync : 1, sizeof *want);
    for (size_t i = 0; i < n_sync; i++)
        want[i] = (blob){ (uint8_t *)ops[i].data, ops[i].len };
    blob *got = all_ops(x, &n);
    cr_assert_eq(n, n_sync, "the stream has %zu ops, the one-shot response %zu", n, n_sync);
    qsort(want, n, sizeof *want, blob_cmp);
    qsort(got, n, sizeof *got, blob_cmp);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(blob_cmp(&want[i], &got[i]), 0, "op %zu of the sorted sets differs", i);
    free(want);
    free(got);
    free(ops);
    msglog_free(req);
    msglog_free(resp);
}

typedef struct seen {
    op_id *e;
    size_t n;
} seen;

static int seen_has(const seen *s, const op_id *peer, size_t n_peer, op_id id)
{
    for (size_t i = 0; i < n_peer; i++)
        if (peer[i].replica == id.replica && id.seq <= peer[i].seq)
            return 1;
    for (size_t i = 0; i < s->n; i++)
        if (op_id_cmp(s->e[i], id) == 0)
            return 1;
    return 0;
}

static void need(const seen *s, const pulled *x, op_id id, const op *o, const char *what)
{
    cr_assert(seen_has(s, x->peer, x->n_peer, id),
              "op %" PRIu64 ".%" PRIu64 " comes before its %s %" PRIu64 ".%" PRIu64,
              o->id.replica, o->id.seq, what, id.replica, id.seq);
}

/* The doc's order, (hlc, replica, seq), and every dependency (predecessor,
 * deps, target, refs) covered by the peer or earlier in the stream. */
static void check_order(const pulled *x)
{
    size_t n;
    blob *all = all_ops(x, &n);
    seen s = { calloc(n ? n : 1, sizeof(op_id)), 0 };
    uint64_t last_hlc = 0;
    op_id last = { 0, 0 };
    for (size_t i = 0; i < n; i++) {
        op o;
        cr_assert_eq(codec_op_decode(&o, all[i].p, all[i].n), CODEC_OK);
        if (seen_has(&s, NULL, 0, o.id)) {
            /* Another version of an id already sent: the receiver keeps it
             * as evidence whatever its hlc and deps (sync/stream.c). */
            codec_op_clear(&o);
            continue;
        }
        cr_assert(o.hlc > last_hlc || (o.hlc == last_hlc && op_id_cmp(o.id, last) >= 0),
                  "op %zu is out of (hlc, replica, seq) order", i);
        if (o.id.seq > 1)
            need(&s, x, (op_id){ o.id.replica, o.id.seq - 1 }, &o, "predecessor");
        for (size_t j = 0; j < o.n_deps; j++)
            need(&s, x, o.deps[j], &o, "dep");
        if (o.kind != OP_SEND)
            need(&s, x, o.target, &o, "target");
        for (size_t j = 0; j < o.n_refs; j++)
            need(&s, x, o.refs[j], &o, "ref");
        last_hlc = o.hlc;
        last = o.id;
        s.e[s.n++] = o.id;
        codec_op_clear(&o);
    }
    free(s.e);
    free(all);
}

static uint8_t kind_of(const blob *b)
{
    op o;
    cr_assert_eq(codec_op_decode(&o, b->p, b->n), CODEC_OK);
    uint8_t k = o.kind;
    codec_op_clear(&o);
    return k;
}

/* Within the budget, except a lone op, or a batch the erasure rule kept
 * open: that one ends at the delete that closed the last open message, or
 * drains the stream, or was cut at max_batch. */
static void check_budget(const pulled *x, size_t budget, size_t max_batch, int strict)
{
    for (size_t i = 0; i < x->n; i++) {
        const batch *b = &x->b[i];
        if (b->bytes <= budget || b->n == 1)
            continue;
        cr_assert(!strict, "batch %zu: %zu bytes over the budget %zu", i, b->bytes, budget);
        cr_assert_leq(b->bytes, max_batch, "batch %zu over max_batch", i);
        cr_assert(b->drained || b->forced || kind_of(&b->ops[b->n - 1]) == OP_DELETE,
                  "batch %zu is over the budget and does not end at a delete", i);
    }
}

/* No message shows an erased text without being deleted. */
static int transient_messages(msglog *log)
{
    msglog_page *p = NULL;
    msglog_cursor from = { 1, 0, { 0, 0 } };
    int rc = msglog_messages(log, &p, C1, MSGLOG_FORWARD, from, 100000);
    if (rc == MSGLOG_ENOTFOUND)
        return 0;
    CHECK_OK(rc);
    int bad = 0;
    for (size_t i = 0; i < p->n; i++)
        bad += p->messages[i].body.data == NULL && !p->messages[i].deleted;
    msglog_free(p);
    return bad;
}

static int apply_batch(msglog *to, const batch *b)
{
    msglog_buf *bufs = calloc(b->n ? b->n : 1, sizeof *bufs);
    for (size_t i = 0; i < b->n; i++)
        bufs[i] = (msglog_buf){ b->ops[i].p, b->ops[i].n };
    int rc = msglog_receive_batch(to, bufs, b->n);
    free(bufs);
    cr_assert(rc == MSGLOG_OK || rc == MSGLOG_EEQUIVOCAL, "receive_batch -> %d (%s)", rc,
              msglog_strerror(rc));
    return rc;
}

/* Applies the batches one at a time: after each, nothing pending and no
 * message erased but not deleted. Returns how many gave EEQUIVOCAL. */
static int apply_checked(msglog *to, const pulled *x)
{
    int equivocal = 0;
    for (size_t i = 0; i < x->n; i++) {
        equivocal += apply_batch(to, &x->b[i]) == MSGLOG_EEQUIVOCAL;
        if (x->b[i].n == 0)
            continue;
        msglog_conv_info *info = check_info(to, C1);
        cr_assert_eq(info->pending, 0, "after batch %zu of %zu, %" PRIu64 " op(s) pending", i,
                     x->n, info->pending);
        msglog_free(info);
        cr_assert_eq(transient_messages(to), 0,
                     "after batch %zu a message shows no text but is not deleted", i);
    }
    return equivocal;
}

static void check_same_view(msglog *x, msglog *y, const char *what)
{
    char *vx = NULL, *vy = NULL, diff[4096];
    CHECK_OK(dump_conv(&vx, x, C1));
    CHECK_OK(dump_conv(&vy, y, C1));
    if (dump_diff(diff, sizeof diff, vx, vy))
        cr_assert_fail("%s: views differ: %s", what, diff);
    free(vx);
    free(vy);
}

/* Everything at once: pull from `from` to `to`, check, apply, compare. */
static pulled stream_and_apply(msglog *from, msglog *to, size_t budget, size_t max_batch,
                               int strict)
{
    pulled x = pull(from, to, budget, max_batch);
    check_same_as_sync(from, to, &x);
    check_order(&x);
    check_budget(&x, budget, max_batch, strict);
    apply_checked(to, &x);
    check_same_view(from, to, "after the whole stream");
    return x;
}

/* ---- equivocation ------------------------------------------------------- */

static blob bytes_of(msglog *log, msglog_id id)
{
    void *p;
    blob b;
    CHECK_OK(msglog_op_bytes(log, &p, &b.n, C1, id));
    b.p = malloc(b.n);
    memcpy(b.p, p, b.n);
    msglog_free(p);
    return b;
}

/* Another version of an op: a new body, or a delete of `target`. */
static blob other_version(const blob *legit, const char *body, const msglog_id *target)
{
    op o;
    cr_assert_eq(codec_op_decode(&o, legit->p, legit->n), CODEC_OK);
    if (target) {
        o.kind = OP_DELETE;
        o.target = (op_id){ target->replica, target->seq };
        free(o.refs);
        o.refs = NULL;
        o.n_refs = 0;
    } else {
        o.body = (const uint8_t *)body;
        o.body_len = strlen(body);
    }
    blob x;
    cr_assert_eq(codec_op_encode(&x.p, &x.n, &o, 0), CODEC_OK);
    codec_op_clear(&o);
    return x;
}

static void receive_blob(msglog *log, const blob *b, int expect)
{
    int rc = msglog_receive(log, b->p, b->n);
    cr_assert_eq(rc, expect, "receive -> %d (%s)", rc, msglog_strerror(rc));
}

/* ---- histories ---------------------------------------------------------- */

static msglog_id pick(rng *r, const msglog_id *ids, size_t n)
{
    return ids[rng_below(r, n)];
}

/* A random history of alice (0), bob (1) and alice's second device (2) in
 * c1, syncing now and then; every refusal (editing a deleted message, a
 * message not here yet) is part of the game. With `cut`, handle slot 3
 * pulls from alice at step 60. Ends with alice holding everything. */
static void random_history(uint64_t seed, int steps, int cut)
{
    rng r;
    rng_seed(&r, seed);
    msglog_id ids[512];
    size_t n = 0;
    char body[400];
    for (int step = 0; step < steps; step++) {
        int who = (int)rng_below(&r, 3);
        clk[who].now += rng_range(&r, 1, 50);
        msglog_id out, t = n ? pick(&r, ids, n) : (msglog_id){ 1, 1 };
        unsigned act = (unsigned)rng_below(&r, 100);
        size_t len = (size_t)rng_below(&r, sizeof body - 1);
        memset(body, 'a' + (int)rng_below(&r, 26), len);
        if (act < 40 || n == 0) {
            CHECK_OK(msglog_send(h[who], &out, C1, body, len));
            if (n < 512)
                ids[n++] = out;
        } else if (act < 55) {
            msglog_edit(h[who], &out, C1, t, body, len);
        } else if (act < 65) {
            msglog_delete(h[who], &out, C1, t);
        } else if (act < 78) {
            msglog_react(h[who], &out, C1, t, rng_chance(&r, 50) ? "+1" : "ok", 2);
        } else if (act < 84) {
            msglog_unreact(h[who], &out, C1, t, "+1", 2);
        } else if (act < 90) {
            msglog_mark_read(h[who], &out, C1, t);
        } else {
            int other = (int)((who + 1 + rng_below(&r, 2)) % 3);
            check_sync(h[other], h[who], C1);
        }
        if (cut && step == 60)
            check_sync(h[0], h[3], C1);
    }
    check_sync(h[1], h[0], C1);
    check_sync(h[2], h[0], C1);
}

static void open_trio(void)
{
    open_r(0, 1, "alice");
    open_r(1, 2, "bob");
    open_r(2, 3, "alice");
}

static void pulled_free_all(pulled *x)
{
    pulled_free(x);
    memset(x, 0, sizeof *x);
}

/* ---- tests -------------------------------------------------------------- */

Test(stream, a_fresh_peer_gets_the_one_shot_set_in_causal_batches)
{
    const uint64_t seeds[] = { 1, 2, 3 };
    const size_t budgets[] = { 1, 200, 1000, 4096, BIG };
    for (size_t s = 0; s < 3; s++) {
        teardown();
        setup();
        open_trio();
        cr_log_info("seed %" PRIu64, seeds[s]);
        random_history(seeds[s], 250, 0);
        for (size_t b = 0; b < 5; b++) {
            msglog_close(h[3]);
            char name[32];
            snprintf(name, sizeof name, "fresh-%zu", b);
            CHECK_OK(tstore_open(&h[3], root, name, 10 + b, "dave", &clk[3]));
            pulled x = stream_and_apply(h[0], h[3], budgets[b], MAXB(budgets[b]), 0);
            if (budgets[b] == 1)
                for (size_t i = 0; i < x.n; i++)
                    cr_assert(x.b[i].n == 1 || x.b[i].drained || x.b[i].forced ||
                                  kind_of(&x.b[i].ops[x.b[i].n - 1]) == OP_DELETE,
                              "budget 1: one op per batch unless a message is open");
            if (budgets[b] == BIG)
                cr_assert_eq(x.n, 1, "an unlimited budget gives one batch");
            pulled_free_all(&x);
        }
    }
}

Test(stream, a_peer_holding_part_of_the_ops_gets_only_the_rest)
{
    open_trio();
    open_r(3, 10, "dave");
    random_history(7, 200, 1);
    msglog_conv_info *before = check_info(h[3], C1);
    cr_assert_gt(before->n_vv, 0, "dave holds part of the conversation");
    msglog_free(before);
    pulled x = stream_and_apply(h[0], h[3], 300, 1 << 20, 0);
    size_t n;
    blob *all = all_ops(&x, &n);
    for (size_t i = 0; i < n; i++) {
        op o;
        cr_assert_eq(codec_op_decode(&o, all[i].p, all[i].n), CODEC_OK);
        for (size_t j = 0; j < x.n_peer; j++)
            cr_assert(o.id.replica != x.peer[j].replica || o.id.seq > x.peer[j].seq,
                      "op %" PRIu64 ".%" PRIu64 " is covered by the peer", o.id.replica,
                      o.id.seq);
        codec_op_clear(&o);
    }
    free(all);
    pulled_free(&x);
}

Test(stream, nothing_when_the_peer_has_everything)
{
    open_trio();
    open_r(3, 10, "dave");
    random_history(11, 80, 0);
    check_sync(h[0], h[3], C1);
    pulled x = pull(h[0], h[3], 100, 1 << 20);
    cr_assert_eq(x.n, 1);
    cr_assert_eq(x.b[0].n, 0, "the peer has everything: no op");
    cr_assert(x.b[0].drained);
    pulled_free(&x);
    /* A peer ahead of the sender (replicas the sender never saw) too. */
    msglog_id m;
    CHECK_OK(msglog_send(h[3], &m, C1, "dave's own", 10));
    x = pull(h[0], h[3], 100, 1 << 20);
    cr_assert_eq(x.b[0].n, 0);
    pulled_free(&x);
}

Test(stream, the_stream_carries_on_with_ops_committed_after_it_drained)
{
    open_r(0, 1, "alice");
    open_r(3, 10, "dave");
    for (int i = 0; i < 5; i++)
        send_in(0, "before the stream drained");
    op_id *peer;
    size_t n_peer;
    peer_of(h[3], &peer, &n_peer);
    stream *s;
    CHECK_OK(stream_open(&s, (const uint8_t *)"c1", 2, peer, n_peer, 100, 1 << 20));
    pulled x = { 0 };
    int rc;
    while ((rc = next_in_txn(h[0], s, &x)) == MSGLOG_OK)
        ;
    cr_assert_eq(rc, 1);
    size_t first = x.n;
    msglog_id late = send_in(0, "after it drained");
    cr_assert_eq(next_in_txn(h[0], s, &x), 1, "one more batch, and drained again");
    cr_assert_eq(x.n, first + 1);
    cr_assert_eq(x.b[first].n, 1, "only the new op");
    op o;
    cr_assert_eq(codec_op_decode(&o, x.b[first].ops[0].p, x.b[first].ops[0].n), CODEC_OK);
    cr_assert(o.id.replica == late.replica && o.id.seq == late.seq);
    codec_op_clear(&o);
    stream_close(s);
    free(peer);
    x.peer = NULL;
    for (size_t i = 0; i < x.n; i++)
        apply_batch(h[3], &x.b[i]);
    check_same_view(h[0], h[3], "the stream and its continuation");
    pulled_free(&x);
}

/* Alice sends `m`, fillers, deletes m, more fillers; a fresh peer. */
static msglog_id erased_early(void)
{
    open_r(0, 1, "alice");
    open_r(3, 10, "dave");
    char filler[101];
    memset(filler, 'f', 100);
    filler[100] = 0;
    msglog_id m = send_in(0, "the secret text");
    for (int i = 0; i < 10; i++)
        send_in(0, filler);
    msglog_id d;
    clk[0].now++;
    CHECK_OK(msglog_delete(h[0], &d, C1, m));
    for (int i = 0; i < 5; i++)
        send_in(0, filler);
    return m;
}

Test(stream, an_erased_send_keeps_its_batch_open_until_the_delete)
{
    erased_early();
    pulled x = stream_and_apply(h[0], h[3], 150, 1 << 20, 0);
    cr_assert_eq(x.b[0].n, 12, "the erased send, 10 fillers and the delete in one batch");
    cr_assert_gt(x.b[0].bytes, 150);
    cr_assert_eq(kind_of(&x.b[0].ops[11]), OP_DELETE);
    cr_assert(!x.b[0].forced);
    for (size_t i = 1; i < x.n; i++)
        cr_assert_leq(x.b[i].bytes, 150, "once closed, batches keep the budget again");
    pulled_free(&x);
}

Test(stream, an_open_span_over_max_batch_is_cut_with_the_documented_transient)
{
    msglog_id m = erased_early();
    pulled x = pull(h[0], h[3], 150, 600);
    check_same_as_sync(h[0], h[3], &x);
    check_order(&x);
    cr_assert(x.b[0].forced, "cut at max_batch with the message open");
    cr_assert_leq(x.b[0].bytes, 600);
    apply_batch(h[3], &x.b[0]);
    msglog_page *p = check_get(h[3], C1, m);
    cr_assert(p->messages[0].body.data == NULL && !p->messages[0].deleted,
              "the doc's transient state: no text, not deleted");
    msglog_free(p);
    for (size_t i = 1; i < x.n; i++)
        apply_batch(h[3], &x.b[i]);
    cr_assert_eq(transient_messages(h[3]), 0);
    check_same_view(h[0], h[3], "after the cut stream");
    pulled_free(&x);
}

/* Alice's two devices: 0 deletes m while 2 edits it; the edit reaches 0
 * erased. */
static msglog_id concurrent_edit(uint64_t edit_at, msglog_id *m_out)
{
    open_r(0, 1, "alice");
    open_r(2, 3, "alice");
    *m_out = send_in(0, "words to be deleted");
    check_sync(h[0], h[2], C1);
    msglog_id d, e;
    clk[0].now += 10;
    CHECK_OK(msglog_delete(h[0], &d, C1, *m_out));
    clk[2].now = edit_at;
    CHECK_OK(msglog_edit(h[2], &e, C1, *m_out, "edited words", 12));
    return e;
}

Test(stream, an_erased_edit_whose_delete_the_peer_has_waits_for_the_drain)
{
    msglog_id m;
    concurrent_edit(T0 + 5, &m);
    open_r(3, 10, "dave");
    check_sync(h[0], h[3], C1);   /* dave: the erased send and the delete */
    check_sync(h[2], h[0], C1);   /* alice: the edit, stored erased */
    for (int i = 0; i < 6; i++)
        send_in(0, "filler filler filler filler filler filler filler filler");
    pulled x = stream_and_apply(h[0], h[3], 100, 1 << 20, 0);
    /* docs/protocol.md 3.3: the delete is not in the stream, so m stays
     * open until the stream is drained: one batch, over the budget. */
    cr_assert_eq(x.n, 1, "the fallback puts the rest of the stream in one batch");
    cr_assert_eq(x.b[0].n, 7);
    cr_assert(x.b[0].drained && x.b[0].bytes > 100);
    pulled_free(&x);
}

/* The delete of m comes before a concurrent erased edit of m in the stream:
 * m is closed for good, so the edit's batch keeps the budget. With
 * `peer_has_send` the erased send is not in the stream and the delete
 * closes a message that was never open. */
static void closed_by_an_earlier_delete(int peer_has_send)
{
    msglog_id m;
    concurrent_edit(T0 + 100000, &m);   /* the edit's hlc is after the delete's */
    open_r(3, 10, "dave");
    if (peer_has_send)
        check_forward(h[0], h[3], C1, m);
    char filler[101];
    memset(filler, 'f', 100);
    filler[100] = 0;
    for (int i = 0; i < 4; i++)
        send_in(0, filler);
    check_sync(h[2], h[0], C1);
    clk[0].now = T0 + 200000;
    for (int i = 0; i < 4; i++)
        send_in(0, filler);
    pulled x = stream_and_apply(h[0], h[3], 150, 1 << 20, 0);
    cr_assert_eq(x.b[0].n, peer_has_send ? 1 : 2, "the erased send and its delete");
    cr_assert_eq(kind_of(&x.b[0].ops[x.b[0].n - 1]), OP_DELETE);
    int found = 0;
    for (size_t i = 1; i < x.n; i++) {
        cr_assert_leq(x.b[i].bytes, 150, "batch %zu: m was closed by its delete", i);
        for (size_t j = 0; j < x.b[i].n; j++)
            found += kind_of(&x.b[i].ops[j]) == OP_EDIT;
    }
    cr_assert_eq(found, 1, "the erased edit is in a later batch");
    pulled_free(&x);
}

/* Draining closes what the fallback left open: what is committed later is
 * cut by the budget again. */
Test(stream, a_drained_stream_starts_over_with_nothing_open)
{
    msglog_id m;
    concurrent_edit(T0 + 5, &m);
    open_r(3, 10, "dave");
    check_sync(h[0], h[3], C1);
    check_sync(h[2], h[0], C1);
    op_id *peer;
    size_t n_peer;
    peer_of(h[3], &peer, &n_peer);
    stream *s;
    CHECK_OK(stream_open(&s, (const uint8_t *)"c1", 2, peer, n_peer, 100, 1 << 20));
    pulled x = { 0 };
    cr_assert_eq(next_in_txn(h[0], s, &x), 1, "the erased edit alone, drained");
    for (int i = 0; i < 3; i++)
        send_in(0, "filler filler filler filler filler filler filler filler filler filler");
    int rc;
    while ((rc = next_in_txn(h[0], s, &x)) == MSGLOG_OK)
        ;
    cr_assert_eq(rc, 1);
    cr_assert_eq(x.n, 4, "the edit, then one filler per batch");
    for (size_t i = 0; i < x.n; i++)
        cr_assert_eq(x.b[i].n, 1);
    stream_close(s);
    free(peer);
    pulled_free(&x);
}

Test(stream, an_erased_edit_after_its_delete_in_the_stream_opens_nothing)
{
    closed_by_an_earlier_delete(0);
}

Test(stream, a_delete_closes_a_message_whose_send_the_peer_has)
{
    closed_by_an_earlier_delete(1);
}

/* Bob's react on m rewritten as a delete: delivered, but bob is not the
 * author, so it deletes nothing and must not close m. */
Test(stream, a_delete_by_another_user_does_not_close_a_message)
{
    open_r(0, 1, "alice");
    open_r(1, 2, "bob");
    open_r(3, 10, "dave");
    msglog_id m = send_in(0, "alice's words"), r, d;
    check_sync(h[0], h[1], C1);
    clk[1].now += 5;
    CHECK_OK(msglog_react(h[1], &r, C1, m, "+1", 2));
    void *p;
    blob react;
    CHECK_OK(msglog_op_bytes(h[1], &p, &react.n, C1, r));
    react.p = p;
    blob forged = other_version(&react, NULL, &m);
    receive_blob(h[0], &forged, MSGLOG_OK);
    char filler[101];
    memset(filler, 'f', 100);
    filler[100] = 0;
    for (int i = 0; i < 4; i++)
        send_in(0, filler);
    clk[0].now++;
    CHECK_OK(msglog_delete(h[0], &d, C1, m));
    pulled x = stream_and_apply(h[0], h[3], 150, 1 << 20, 0);
    cr_assert_eq(x.b[0].n, 7, "open from the erased send to alice's delete");
    msglog_free(p);
    free(forged.p);
    pulled_free(&x);
}

Test(stream, evidence_versions_travel_with_their_ids)
{
    open_r(0, 1, "alice");
    open_r(1, 2, "bob");
    msglog_id m1 = send_in(0, "first"), m2 = send_in(0, "second"), e;
    clk[0].now++;
    CHECK_OK(msglog_edit(h[0], &e, C1, m1, "first, edited", 13));
    msglog_id m3 = send_in(0, "third");
    blob x1 = bytes_of(h[0], m1), x2 = bytes_of(h[0], m2), xe = bytes_of(h[0], e);
    blob x3 = bytes_of(h[0], m3);
    blob fake2 = other_version(&x2, "a forged second", NULL);
    blob del1 = other_version(&xe, NULL, &m1);   /* the edit's id as a delete */
    receive_blob(h[1], &x1, MSGLOG_OK);
    receive_blob(h[1], &x2, MSGLOG_OK);
    receive_blob(h[1], &fake2, MSGLOG_EEQUIVOCAL);
    receive_blob(h[1], &xe, MSGLOG_OK);
    receive_blob(h[1], &del1, MSGLOG_EEQUIVOCAL);
    receive_blob(h[1], &x3, MSGLOG_OK);
    for (int i = 0; i < 4; i++)
        send_in(1, "bob writes on");
    const size_t budgets[] = { 1, 120, BIG };
    for (int b = 0; b < 3; b++) {
        char name[16];
        snprintf(name, sizeof name, "ev%d", b);
        CHECK_OK(tstore_open(&h[3 + b], root, name, 20 + b, "carol", &clk[3]));
        pulled x = pull(h[1], h[3 + b], budgets[b], MAXB(budgets[b]));
        check_same_as_sync(h[1], h[3 + b], &x);
        check_order(&x);
        check_budget(&x, budgets[b], MAXB(budgets[b]), 0);
        size_t n;
        blob *all = all_ops(&x, &n);
        int has_fake = 0, has_del = 0;
        for (size_t i = 0; i < n; i++) {
            has_fake += blob_cmp(&all[i], &fake2) == 0;
            has_del += blob_cmp(&all[i], &del1) == 0;
        }
        free(all);
        cr_assert(has_fake && has_del, "both evidence versions travel");
        cr_assert_gt(apply_checked(h[3 + b], &x), 0, "the receiver learns of the equivocation");
        check_same_view(h[1], h[3 + b], "a stream from a replica holding evidence");
        pulled_free(&x);
    }
    free(x1.p);
    free(x2.p);
    free(xe.p);
    free(x3.p);
    free(fake2.p);
    free(del1.p);
}

static digest hash_of(const blob *b)
{
    op o;
    cr_assert_eq(codec_op_decode(&o, b->p, b->n), CODEC_OK);
    if (!o.erased)
        digest_body_hash(o.body_hash, o.body, o.body_len);
    digest d = digest_op_hash(&o);
    codec_op_clear(&o);
    return d;
}

static int hash_cmp(digest x, digest y)
{
    uint8_t a[16], b[16];
    digest_to_bytes(a, x);
    digest_to_bytes(b, y);
    return memcmp(a, b, 16);
}

/* A version that does not count (higher hash), with a lower hlc and a dep
 * nobody has delivered: sent first, the receiver would hold its id pending
 * for good; sent after the version that counts, it is kept as evidence. */
Test(stream, an_evidence_version_never_goes_before_its_id)
{
    open_r(0, 1, "alice");
    open_r(1, 2, "bob");
    open_r(3, 10, "dave");
    send_in(0, "first");
    msglog_id m2 = send_in(0, "second");
    send_in(0, "third");
    blob legit = bytes_of(h[0], m2), forged = { NULL, 0 };
    digest hl = hash_of(&legit);
    op o;
    cr_assert_eq(codec_op_decode(&o, legit.p, legit.n), CODEC_OK);
    op_id deps[1] = { { 77, 5 } };
    o.deps = deps;
    o.n_deps = 1;
    o.hlc--;
    char body[32];
    for (int i = 0; !forged.p || hash_cmp(hash_of(&forged), hl) < 0; i++) {
        free(forged.p);
        snprintf(body, sizeof body, "forged %d", i);
        o.body = (const uint8_t *)body;
        o.body_len = strlen(body);
        cr_assert_eq(codec_op_encode(&forged.p, &forged.n, &o, 0), CODEC_OK);
    }
    o.deps = NULL;
    o.n_deps = 0;
    codec_op_clear(&o);
    check_sync(h[0], h[1], C1);
    receive_blob(h[1], &forged, MSGLOG_EEQUIVOCAL);
    pulled x = pull(h[1], h[3], 1, 1 << 20);
    size_t n, at_legit = 0, at_forged = 0;
    blob *all = all_ops(&x, &n);
    for (size_t i = 0; i < n; i++) {
        if (blob_cmp(&all[i], &legit) == 0)
            at_legit = i + 1;
        if (blob_cmp(&all[i], &forged) == 0)
            at_forged = i + 1;
    }
    free(all);
    cr_assert(at_legit && at_forged && at_legit < at_forged,
              "the version that counts goes first (%zu, %zu)", at_legit, at_forged);
    check_same_as_sync(h[1], h[3], &x);
    check_order(&x);
    cr_assert_gt(apply_checked(h[3], &x), 0);
    check_same_view(h[1], h[3], "evidence with a dependency nobody has");
    pulled_free(&x);
    free(legit.p);
    free(forged.p);
}

/* ---- errors ------------------------------------------------------------- */

Test(stream, an_unknown_conversation_is_not_found_and_leaves_the_stream_usable)
{
    open_r(0, 1, "alice");
    stream *s;
    CHECK_OK(stream_open(&s, (const uint8_t *)"c1", 2, NULL, 0, 100, 1000));
    store_txn *t;
    stream_batch b;
    CHECK_OK(store_txn_begin(h[0]->st, 0, &t));
    cr_assert_eq(stream_next(s, t, &b), MSGLOG_ENOTFOUND);
    cr_assert_eq(b.n, 0);
    store_txn_abort(t);
    send_in(0, "now it exists");
    CHECK_OK(store_txn_begin(h[0]->st, 0, &t));
    CHECK_OK(stream_next(s, t, &b));
    cr_assert_eq(b.n, 1);
    cr_assert(b.drained);
    store_txn_abort(t);
    stream_close(s);
    stream_close(NULL);
}

Test(stream, bad_arguments_are_refused)
{
    stream *s = NULL;
    const uint8_t *c = (const uint8_t *)"c1";
    op_id ok[2] = { { 1, 3 }, { 2, 1 } }, unsorted[2] = { { 2, 1 }, { 1, 3 } };
    op_id dup[2] = { { 1, 1 }, { 1, 2 } }, zero[1] = { { 1, 0 } }, norep[1] = { { 0, 1 } };
    uint8_t long_conv[OP_MAX_CONV + 1];
    memset(long_conv, 'x', sizeof long_conv);
    cr_assert_eq(stream_open(NULL, c, 2, ok, 2, 10, 10), MSGLOG_EINVAL);
    cr_assert_eq(stream_open(&s, NULL, 2, ok, 2, 10, 10), MSGLOG_EINVAL);
    cr_assert_eq(stream_open(&s, c, 0, ok, 2, 10, 10), MSGLOG_EINVAL);
    cr_assert_eq(stream_open(&s, long_conv, sizeof long_conv, ok, 2, 10, 10), MSGLOG_EINVAL);
    cr_assert_eq(stream_open(&s, c, 2, NULL, 2, 10, 10), MSGLOG_EINVAL);
    cr_assert_eq(stream_open(&s, c, 2, unsorted, 2, 10, 10), MSGLOG_EINVAL);
    cr_assert_eq(stream_open(&s, c, 2, dup, 2, 10, 10), MSGLOG_EINVAL);
    cr_assert_eq(stream_open(&s, c, 2, zero, 1, 10, 10), MSGLOG_EINVAL);
    cr_assert_eq(stream_open(&s, c, 2, norep, 1, 10, 10), MSGLOG_EINVAL);
    cr_assert_eq(stream_open(&s, c, 2, ok, 2, 0, 10), MSGLOG_EINVAL);
    cr_assert_eq(stream_open(&s, c, 2, ok, 2, 11, 10), MSGLOG_EINVAL);
    cr_assert_null(s);
    CHECK_OK(stream_open(&s, long_conv, OP_MAX_CONV, ok, 2, 10, 10));
    stream_batch b;
    cr_assert_eq(stream_next(s, NULL, &b), MSGLOG_EINVAL);
    stream_close(s);
}
