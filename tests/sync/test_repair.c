/* The store side of the repair exchange (sync/repair.c, docs/protocol.md 5):
 * two stores that share thousands of ops and differ in ways their vectors
 * cannot show. An in-memory driver runs the exchange to its end through the
 * session codec (every message is encoded, counted and decoded again) and
 * the test checks it finds exactly the versions each side lacks, in about
 * log16 rounds and few bytes. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "codec/session_codec.h"
#include "crdt/digest.h"
#include "log/keys.h"
#include "msglog.h"
#include "engine/engine.h"
#include "sync/repair.h"
#include "support/check.h"
#include "support/rng.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define T0 1700000000000ULL
#define CONV "c1"
#define C1 CONV, 2
#define UCONV ((const uint8_t *)CONV), 2
#define NH 3

static char *root;
static tclock clk[NH];
static msglog *h[NH];
static const char *names[NH] = { "a", "b", "c" };
static const char *users[NH] = { "alice", "bob", "carol" };

/* Every op made by build_shared, in creation order. */
static msglog_id *made;
static size_t n_made;

static void setup(void)
{
    /* in memory when possible: thousands of durable commits */
    root = tmpdir_make_fast("msglog-repair-");
    cr_assert_not_null(root);
    for (int i = 0; i < NH; i++) {
        clk[i].now = T0;
        CHECK_OK(tstore_open(&h[i], root, names[i], (uint64_t)i + 1, users[i], &clk[i]));
    }
    made = NULL;
    n_made = 0;
}

static void teardown(void)
{
    for (int i = 0; i < NH; i++) {
        msglog_close(h[i]);
        h[i] = NULL;
    }
    free(made);
    tmpdir_remove(root);
    free(root);
}

TestSuite(repair, .init = setup, .fini = teardown, .timeout = 600);

/* ---- building two stores that share a history -------------------------- */

static void note_made(msglog_id id)
{
    made = realloc(made, (n_made + 1) * sizeof *made);
    made[n_made++] = id;
}

/* One op by writer w: mostly sends, with edits, reactions and deletes of
 * its own messages so every kind and erased bodies are in the hashes. */
static void make_op(rng *r, int w, msglog_id *last_send)
{
    msglog_id id;
    char body[64];
    clk[w].now++;
    uint64_t roll = rng_below(r, 20);
    if (last_send->seq && roll == 0)
        CHECK_OK(msglog_delete(h[w], &id, C1, *last_send));
    else if (last_send->seq && roll < 3)
        CHECK_OK(msglog_edit(h[w], &id, C1, *last_send, "edited", 6));
    else if (last_send->seq && roll < 5)
        CHECK_OK(msglog_react(h[w], &id, C1, *last_send, "+1", 2));
    else {
        int n = snprintf(body, sizeof body, "message %zu of %s", n_made, users[w]);
        CHECK_OK(msglog_send(h[w], &id, C1, body, (size_t)n));
        *last_send = id;
    }
    note_made(id);
    if (roll == 0)
        last_send->seq = 0;   /* deleted: nothing more on it */
}

/* n ops by the first `writers` stores, synced among them every 64 ops,
 * then a and b brought to the same state. */
static void build_shared(size_t n, int writers, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed);
    msglog_id last[NH] = { { 0, 0 } };
    for (size_t i = 0; i < n; i++) {
        int w = (int)rng_below(&r, (uint64_t)writers);
        make_op(&r, w, &last[w]);
        if (writers > 1 && i % 64 == 63)
            for (int w = 0; w < writers; w++)
                check_sync(h[w], h[(w + 1) % writers], C1);
    }
    for (int w = 1; w < writers; w++)
        check_sync(h[w], h[0], C1);
    check_sync(h[0], h[1], C1);
}

/* ---- versions ----------------------------------------------------------- */

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

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

/* Another version of the same id, as an equivocating replica makes it:
 * another hlc changes the content of any kind. */
static blob other_version(const blob *legit, uint64_t k)
{
    op o;
    cr_assert_eq(codec_op_decode(&o, legit->p, legit->n), CODEC_OK);
    o.hlc += k;
    blob x;
    cr_assert_eq(codec_op_encode(&x.p, &x.n, &o, 0), CODEC_OK);
    codec_op_clear(&o);
    return x;
}

static repair_version version_of(const blob *b)
{
    op o;
    cr_assert_eq(codec_op_decode(&o, b->p, b->n), CODEC_OK);
    repair_version v = { o.id, { 0 } };
    digest_to_bytes(v.hash, digest_op_content(&o));
    codec_op_clear(&o);
    return v;
}

typedef struct vset {
    repair_version *e;
    size_t n;
} vset;

static void vset_add(vset *s, const repair_version *v, size_t n)
{
    if (n == 0)
        return;
    s->e = realloc(s->e, (s->n + n + 1) * sizeof *s->e);
    memcpy(s->e + s->n, v, n * sizeof *v);
    s->n += n;
}

static int version_cmp(const void *a, const void *b)
{
    const repair_version *x = a, *y = b;
    int c = op_id_cmp(x->id, y->id);
    return c ? c : memcmp(x->hash, y->hash, OP_HASH_LEN);
}

/* Asserts that the exchange found exactly `want` (in any order). */
static void check_found(vset *got, vset *want, const char *what)
{
    if (got->n > 1)
        qsort(got->e, got->n, sizeof *got->e, version_cmp);
    if (want->n > 1)
        qsort(want->e, want->n, sizeof *want->e, version_cmp);
    cr_assert_eq(got->n, want->n, "%s: found %zu versions, expected %zu", what, got->n, want->n);
    for (size_t i = 0; i < got->n; i++)
        cr_assert_eq(version_cmp(&got->e[i], &want->e[i]), 0, "%s: version %zu is %llu.%llu",
                     what, i, (unsigned long long)got->e[i].id.replica,
                     (unsigned long long)got->e[i].id.seq);
}

/* ---- the driver ---------------------------------------------------------- */

typedef struct outcome {
    vset lacks[2];          /* versions a (0) and b (1) lack */
    size_t rounds;          /* turns that sent REPAIR, the closing empty one included */
    size_t repair_msgs, repair_bytes, want_bytes;
} outcome;

static void outcome_free(outcome *o)
{
    free(o->lacks[0].e);
    free(o->lacks[1].e);
}

/* The encoded REPAIR messages one side sent in a turn. */
typedef struct turn {
    blob *msgs;
    size_t n;
} turn;

static void turn_free(turn *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->msgs[i].p);
    free(t->msgs);
    *t = (turn){ NULL, 0 };
}

/* Encodes a reply as the session layer would send it, counting bytes; the
 * WANT ids must be the distinct ids of self_lacks. */
static void send_reply(turn *t, repair_reply *r, outcome *o)
{
    for (size_t i = 0; i < r->n_msgs; i++) {
        blob b;
        cr_assert_eq(codec_repair_encode(&b.p, &b.n, &r->msgs[i]), CODEC_OK,
                     "every REPAIR returned encodes");
        t->msgs = realloc(t->msgs, (t->n + 1) * sizeof *t->msgs);
        t->msgs[t->n++] = b;
        o->repair_bytes += b.n;
        o->repair_msgs++;
    }
    size_t k = 0;
    for (size_t i = 0; i < r->n_wants; i++) {
        blob b;
        cr_assert_eq(codec_want_encode(&b.p, &b.n, &r->wants[i]), CODEC_OK);
        o->want_bytes += b.n;
        free(b.p);
        for (size_t j = 0; j < r->wants[i].n_ids; j++, k++) {
            while (k > 0 && k < r->n_self_lacks &&
                   op_id_cmp(r->self_lacks[k].id, r->self_lacks[k - 1].id) == 0)
                k++;
            cr_assert(k < r->n_self_lacks &&
                      op_id_cmp(r->wants[i].ids[j], r->self_lacks[k].id) == 0,
                      "WANT asks for the ids of self_lacks");
        }
    }
}

/* One side's turn: answers every non-empty REPAIR the other side sent. */
static void answer_turn(store_txn *t, int side, const turn *in, turn *out, outcome *o)
{
    for (size_t i = 0; i < in->n; i++) {
        codec_repair m;
        cr_assert_eq(codec_repair_decode(&m, in->msgs[i].p, in->msgs[i].n), CODEC_OK);
        if (m.n_items == 0) {   /* an empty REPAIR closes; it is not answered */
            codec_repair_clear(&m);
            continue;
        }
        repair_reply r;
        CHECK_OK(repair_respond(&r, t, &m));
        vset_add(&o->lacks[side], r.self_lacks, r.n_self_lacks);
        vset_add(&o->lacks[1 - side], r.peer_lacks, r.n_peer_lacks);
        send_reply(out, &r, o);
        repair_reply_clear(&r);
        codec_repair_clear(&m);
    }
}

/* Runs the exchange between x (initiator) and y in one read transaction
 * each, to its end. */
static void run_exchange(msglog *x, msglog *y, outcome *o)
{
    store_txn *t[2];
    memset(o, 0, sizeof *o);
    CHECK_OK(store_txn_begin(x->st, 0, &t[0]));
    CHECK_OK(store_txn_begin(y->st, 0, &t[1]));
    repair_reply first;
    CHECK_OK(repair_open(&first, t[0], UCONV));
    turn cur = { NULL, 0 };
    send_reply(&cur, &first, o);
    repair_reply_clear(&first);
    for (int side = 1; cur.n; side = 1 - side) {
        turn next = { NULL, 0 };
        o->rounds++;
        cr_assert(o->rounds < 40, "the exchange must end");
        answer_turn(t[side], side, &cur, &next, o);
        turn_free(&cur);
        cur = next;
    }
    store_txn_abort(t[0]);
    store_txn_abort(t[1]);
}

/* ---- fingerprints ------------------------------------------------------- */

/* The sum of the fingerprints of [r, 1, vv[r]] over the vector, and the
 * digest, of one store. */
static void whole_vector(msglog *log, repair_fp *sum, digest *dig)
{
    store_txn *t;
    conv_state c;
    CHECK_OK(store_txn_begin(log->st, 0, &t));
    CHECK_OK(conv_lookup(t, UCONV, &c));
    *sum = (repair_fp){ 0, { 0, 0 } };
    for (size_t i = 0; i < c.delivered.n; i++) {
        repair_fp fp;
        CHECK_OK(repair_fingerprint(t, &c, c.delivered.e[i].replica, 1, c.delivered.e[i].seq, &fp));
        sum->count += fp.count;
        digest_add(&sum->sum, fp.sum);
    }
    *dig = c.dig;
    conv_free(&c);
    store_txn_abort(t);
}

static void check_fp_is_digest(msglog *log, uint64_t versions, const char *what)
{
    repair_fp fp;
    digest dig;
    whole_vector(log, &fp, &dig);
    cr_assert(fp.sum.lo == dig.lo && fp.sum.hi == dig.hi,
              "%s: the fingerprint of the whole vector is the digest", what);
    if (versions)
        cr_assert_eq(fp.count, versions, "%s: %llu versions counted", what,
                     (unsigned long long)fp.count);
}

static void print_outcome(const char *what, const outcome *o)
{
    printf("repair %-44s rounds %zu, REPAIR %zu msgs %zu bytes, WANT %zu bytes\n", what,
           o->rounds, o->repair_msgs, o->repair_bytes, o->want_bytes);
}

/* ---- the exchange ------------------------------------------------------- */

Test(repair, identical_stores_match_in_one_round_trip)
{
    build_shared(3000, 3, 1);
    check_fp_is_digest(h[0], n_made, "a");
    check_fp_is_digest(h[1], n_made, "b");
    outcome o;
    run_exchange(h[0], h[1], &o);
    print_outcome("identical, 3,000 ops", &o);
    cr_assert_eq(o.rounds, 2, "the opening and its empty answer");
    cr_assert_eq(o.lacks[0].n + o.lacks[1].n, 0);
    cr_assert_eq(o.want_bytes, 0);
    cr_assert_lt(o.repair_bytes, 200, "three fingerprints and an empty answer");
    outcome_free(&o);
}

Test(repair, each_side_holding_another_version_of_one_id)
{
    build_shared(3000, 3, 2);
    /* c writes one more op after a and b are in sync; a gets it, b gets
     * another version of it. */
    clk[2].now++;
    check_sync(h[0], h[2], C1);
    msglog_id last;
    CHECK_OK(msglog_send(h[2], &last, C1, "the real one", 12));
    blob real = bytes_of(h[2], last), fake = other_version(&real, 7);
    CHECK_OK(msglog_receive(h[0], real.p, real.n));
    CHECK_OK(msglog_receive(h[1], fake.p, fake.n));
    check_fp_is_digest(h[0], n_made + 1, "a");
    check_fp_is_digest(h[1], n_made + 1, "b");
    outcome o;
    run_exchange(h[0], h[1], &o);
    print_outcome("one id, two versions, 3,001 ops", &o);
    repair_version vr = version_of(&real), vf = version_of(&fake);
    vset want_a = { &vf, 1 }, want_b = { &vr, 1 };
    check_found(&o.lacks[0], &want_a, "a lacks the fake");
    check_found(&o.lacks[1], &want_b, "b lacks the real one");
    cr_assert_gt(o.want_bytes, 0, "one side wants what the listing showed");
    outcome_free(&o);
    /* Each side receives what it lacked (as the BATCH and the answer to
     * WANT bring it): the digests agree and a new exchange finds nothing. */
    cr_assert_eq(msglog_receive(h[0], fake.p, fake.n), MSGLOG_EEQUIVOCAL);
    cr_assert_eq(msglog_receive(h[1], real.p, real.n), MSGLOG_EEQUIVOCAL);
    check_fp_is_digest(h[0], n_made + 2, "a, both versions");
    check_fp_is_digest(h[1], n_made + 2, "b, both versions");
    run_exchange(h[0], h[1], &o);
    cr_assert_eq(o.rounds, 2);
    cr_assert_eq(o.lacks[0].n + o.lacks[1].n, 0);
    outcome_free(&o);
    free(real.p);
    free(fake.p);
}

Test(repair, kept_versions_of_pending_ids_are_not_held)
{
    build_shared(300, 3, 11);
    /* c's next two ops: a gets only the second, which waits for the first,
     * and another version of it, kept while the id is pending. The digest
     * leaves both out, and so must the fingerprints. */
    check_sync(h[0], h[2], C1);
    msglog_id y, x;
    clk[2].now++;
    CHECK_OK(msglog_send(h[2], &y, C1, "first", 5));
    clk[2].now++;
    CHECK_OK(msglog_send(h[2], &x, C1, "second", 6));
    blob bx = bytes_of(h[2], x), fake = other_version(&bx, 3);
    CHECK_OK(msglog_receive(h[0], bx.p, bx.n));
    int rc = msglog_receive(h[0], fake.p, fake.n);
    cr_assert(rc == MSGLOG_EEQUIVOCAL || rc == MSGLOG_OK, "receive -> %d", rc);
    msglog_conv_info *info = check_info(h[0], C1);
    cr_assert_eq(info->pending, 1);
    msglog_free(info);
    check_fp_is_digest(h[0], n_made, "a with a pending id");
    /* A peer with a longer vector may ask past a's: still not held. */
    store_txn *t;
    conv_state c;
    repair_fp upto, past;
    CHECK_OK(store_txn_begin(h[0]->st, 0, &t));
    CHECK_OK(conv_lookup(t, UCONV, &c));
    CHECK_OK(repair_fingerprint(t, &c, 3, 1, vv_get(&c.delivered, 3), &upto));
    CHECK_OK(repair_fingerprint(t, &c, 3, 1, UINT64_MAX, &past));
    cr_assert(upto.count == past.count && upto.sum.lo == past.sum.lo, "nothing past the vector");
    conv_free(&c);
    store_txn_abort(t);
    outcome o;
    run_exchange(h[0], h[1], &o);
    cr_assert_eq(o.rounds, 2, "nothing below the vectors differs");
    outcome_free(&o);
    free(bx.p);
    free(fake.p);
}

/* a holds `k` extra versions of ids of the shared history, chosen at random;
 * returns them. */
static vset extra_versions(msglog *log, size_t k, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed);
    vset v = { NULL, 0 };
    msglog_buf *in = calloc(k, sizeof *in);
    blob *fakes = calloc(k, sizeof *fakes);
    for (size_t i = 0; i < k; i++) {
        blob legit = bytes_of(log, made[rng_below(&r, n_made)]);
        fakes[i] = other_version(&legit, 1 + i);
        in[i] = (msglog_buf){ fakes[i].p, fakes[i].n };
        repair_version x = version_of(&fakes[i]);
        vset_add(&v, &x, 1);
        free(legit.p);
    }
    cr_assert_eq(msglog_receive_batch(log, in, k), MSGLOG_EEQUIVOCAL);
    for (size_t i = 0; i < k; i++)
        free(fakes[i].p);
    free(fakes);
    free(in);
    return v;
}

Test(repair, one_side_holding_an_extra_kept_version)
{
    build_shared(3000, 3, 3);
    vset extra = extra_versions(h[0], 1, 33);
    check_fp_is_digest(h[0], n_made + 1, "a with evidence");
    outcome o;
    run_exchange(h[1], h[0], &o);   /* b starts: the side lacking it */
    print_outcome("one extra kept version, 3,001 versions", &o);
    vset none = { NULL, 0 };
    check_found(&o.lacks[1], &none, "a lacks nothing");
    check_found(&o.lacks[0], &extra, "b lacks the kept version");
    outcome_free(&o);
    free(extra.e);
}

Test(repair, many_differences_spread_over_the_ranges)
{
    build_shared(3000, 3, 4);
    vset extra = extra_versions(h[0], 40, 44);
    check_fp_is_digest(h[0], n_made + 40, "a with 40 kept versions");
    outcome o;
    run_exchange(h[0], h[1], &o);
    print_outcome("40 extra kept versions, 3,040 versions", &o);
    vset none = { NULL, 0 };
    check_found(&o.lacks[0], &none, "a lacks nothing");
    check_found(&o.lacks[1], &extra, "b lacks the 40");
    outcome_free(&o);
    free(extra.e);
}

Test(repair, many_versions_of_one_id_are_listed_whole)
{
    build_shared(200, 1, 5);
    /* 20 extra versions of one id: more than a leaf, in a range of one seq
     * that cannot be split. */
    msglog_id x = made[100];
    blob legit = bytes_of(h[0], x);
    vset extra = { NULL, 0 };
    for (uint64_t k = 1; k <= 20; k++) {
        blob f = other_version(&legit, k);
        cr_assert_eq(msglog_receive(h[0], f.p, f.n), MSGLOG_EEQUIVOCAL);
        repair_version v = version_of(&f);
        vset_add(&extra, &v, 1);
        free(f.p);
    }
    check_fp_is_digest(h[0], n_made + 20, "a with 20 versions of one id");
    outcome o;
    run_exchange(h[1], h[0], &o);
    print_outcome("21 versions of one id, 220 versions", &o);
    vset none = { NULL, 0 };
    check_found(&o.lacks[1], &none, "a lacks nothing");
    check_found(&o.lacks[0], &extra, "b lacks the 20");
    outcome_free(&o);
    free(extra.e);
    free(legit.p);
}

/* A version lost below the vector, as a damaged store would be: its TBL_OPS
 * record deleted directly (the conversation state, digest included, is
 * left as it was). */
static void lose(msglog *log, msglog_id id)
{
    store_txn *t;
    conv_state c;
    uint8_t key[KEY_OP_LEN];
    CHECK_OK(store_txn_begin(log->st, 1, &t));
    CHECK_OK(conv_lookup(t, UCONV, &c));
    key_op(key, c.cid, (op_id){ id.replica, id.seq });
    CHECK_OK(store_del(t, TBL_OPS, (store_val){ key, sizeof key }));
    conv_free(&c);
    CHECK_OK(store_txn_commit(t));
}

Test(repair, ops_lost_below_the_vector_are_found)
{
    build_shared(3000, 3, 6);
    rng r;
    rng_seed(&r, 66);
    vset lost = { NULL, 0 };
    for (int i = 0; i < 25; i++) {
        msglog_id id = made[rng_below(&r, n_made)];
        int seen = 0;
        for (size_t j = 0; j < lost.n; j++)
            seen |= lost.e[j].id.replica == id.replica && lost.e[j].id.seq == id.seq;
        if (seen)
            continue;
        blob b = bytes_of(h[0], id);
        repair_version v = version_of(&b);
        vset_add(&lost, &v, 1);
        free(b.p);
        lose(h[0], id);
    }
    repair_fp fp;
    digest dig;
    whole_vector(h[0], &fp, &dig);
    cr_assert(fp.sum.lo != dig.lo || fp.sum.hi != dig.hi, "the digest still counts them");
    cr_assert_eq(fp.count, n_made - lost.n);
    outcome o;
    run_exchange(h[0], h[1], &o);
    printf("repair (%zu ops lost on a)\n", lost.n);
    print_outcome("ops lost below the vector, 3,000 ops", &o);
    vset none = { NULL, 0 };
    check_found(&o.lacks[0], &lost, "a lacks the lost ops");
    check_found(&o.lacks[1], &none, "b lacks nothing");
    outcome_free(&o);
    free(lost.e);
}

/* ---- cost --------------------------------------------------------------- */

/* The bytes of the whole conversation, as a full sync response carries it. */
static size_t conversation_bytes(msglog *from, msglog *to)
{
    void *req, *resp;
    size_t req_len, resp_len;
    CHECK_OK(msglog_sync_request(to, &req, &req_len, C1));
    CHECK_OK(msglog_sync_response(from, &resp, &resp_len, req, req_len));
    CHECK_OK(msglog_sync_apply(to, resp, resp_len));
    msglog_free(req);
    msglog_free(resp);
    return resp_len;
}

/* One writer makes n ops; b copies them; a gets one extra version. */
static void one_difference(size_t n, uint64_t seed, outcome *o, size_t *conv_bytes)
{
    rng r;
    rng_seed(&r, seed);
    msglog_id last = { 0, 0 };
    for (size_t i = 0; i < n; i++)
        make_op(&r, 0, &last);
    *conv_bytes = conversation_bytes(h[0], h[1]);
    vset extra = extra_versions(h[0], 1, seed);
    run_exchange(h[0], h[1], o);
    vset none = { NULL, 0 };
    check_found(&o->lacks[0], &none, "a lacks nothing");
    check_found(&o->lacks[1], &extra, "b lacks the one");
    free(extra.e);
}

Test(repair, rounds_grow_with_log16_of_the_size)
{
    static const size_t sizes[] = { 200, 3000, 60000 };
    size_t prev_rounds = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        if (i > 0) {   /* a fresh pair for each size */
            teardown();
            setup();
        }
        outcome o;
        size_t conv_bytes;
        one_difference(sizes[i], 70 + i, &o, &conv_bytes);
        char what[64];
        snprintf(what, sizeof what, "one difference in %zu ops (%zu B)", sizes[i], conv_bytes);
        print_outcome(what, &o);
        /* open, a split per factor 16 above a leaf, the listing, the empty
         * answer */
        size_t splits = 0;
        for (size_t leaf = SESSION_REPAIR_LEAF; leaf < sizes[i]; leaf *= SESSION_REPAIR_FANOUT)
            splits++;
        cr_assert_leq(o.rounds, splits + 3, "%zu ops: %zu rounds", sizes[i], o.rounds);
        cr_assert_geq(o.rounds, prev_rounds, "more ops never take fewer rounds");
        /* a few fingerprints per level: far below the conversation */
        cr_assert_lt(o.repair_bytes, 800 * o.rounds, "%zu ops: %zu bytes", sizes[i],
                     o.repair_bytes);
        if (sizes[i] >= 3000)
            cr_assert_lt(o.repair_bytes * 20, conv_bytes,
                         "%zu ops: under 5%% of the conversation", sizes[i]);
        prev_rounds = o.rounds;
        outcome_free(&o);
    }
}

/* ---- errors ------------------------------------------------------------- */

/* Responds with b's store to a hand-built message. */
static int respond_to(const codec_repair *m, repair_reply *r)
{
    store_txn *t;
    CHECK_OK(store_txn_begin(h[1]->st, 0, &t));
    int rc = repair_respond(r, t, m);
    store_txn_abort(t);
    return rc;
}

static void check_zeroed(const repair_reply *r)
{
    cr_assert(r->msgs == NULL && r->n_msgs == 0 && r->wants == NULL && r->n_wants == 0 &&
              r->peer_lacks == NULL && r->self_lacks == NULL, "a failed step returns nothing");
}

Test(repair, unknown_conversation)
{
    build_shared(50, 2, 8);
    store_txn *t;
    repair_reply r;
    CHECK_OK(store_txn_begin(h[1]->st, 0, &t));
    cr_assert_eq(repair_open(&r, t, (const uint8_t *)"zz", 2), MSGLOG_ENOTFOUND);
    check_zeroed(&r);
    store_txn_abort(t);
    codec_repair_item it = { .replica = 1, .lo = 1, .hi = 5 };
    codec_repair m = { (const uint8_t *)"zz", 2, &it, 1 };
    cr_assert_eq(respond_to(&m, &r), MSGLOG_ENOTFOUND);
    check_zeroed(&r);
}

Test(repair, bad_ranges_are_refused)
{
    build_shared(50, 2, 9);
    repair_reply r;
    codec_version two[2] = { { 3, { 1 } }, { 3, { 0 } } };   /* not ascending */
    codec_version out_of_range = { 9, { 0 } };
    codec_repair_item bad[][2] = {
        { { .replica = 0, .lo = 1, .hi = 5 } },
        { { .replica = 1, .lo = 0, .hi = 5 } },
        { { .replica = 1, .lo = 6, .hi = 5 } },
        { { .replica = 1, .lo = 1, .hi = 5 }, { .replica = 1, .lo = 5, .hi = 9 } },   /* overlap */
        { { .replica = 2, .lo = 1, .hi = 5 }, { .replica = 1, .lo = 7, .hi = 9 } },   /* order */
        { { .replica = 1, .lo = 1, .hi = 5, .listing = 1, .versions = two, .n_versions = 2 } },
        { { .replica = 1, .lo = 1, .hi = 5, .listing = 1, .versions = &out_of_range,
            .n_versions = 1 } },
        { { .replica = 1, .lo = 1, .hi = 5, .listing = 1, .versions = NULL, .n_versions = 1 } },
    };
    size_t n_items[] = { 1, 1, 1, 2, 2, 1, 1, 1 };
    for (size_t i = 0; i < sizeof n_items / sizeof *n_items; i++) {
        codec_repair m = { UCONV, bad[i], n_items[i] };
        cr_assert_eq(respond_to(&m, &r), MSGLOG_EINVAL, "bad message %zu", i);
        check_zeroed(&r);
    }
    codec_repair no_items = { UCONV, NULL, 1 }, no_conv = { NULL, 0, NULL, 0 };
    cr_assert_eq(respond_to(&no_items, &r), MSGLOG_EINVAL);
    cr_assert_eq(respond_to(&no_conv, &r), MSGLOG_EINVAL);
    store_txn *t;
    conv_state c;
    repair_fp fp;
    CHECK_OK(store_txn_begin(h[1]->st, 0, &t));
    CHECK_OK(conv_lookup(t, UCONV, &c));
    cr_assert_eq(repair_fingerprint(t, &c, 0, 1, 5, &fp), MSGLOG_EINVAL);
    cr_assert_eq(repair_fingerprint(t, &c, 1, 0, 5, &fp), MSGLOG_EINVAL);
    cr_assert_eq(repair_fingerprint(t, &c, 1, 6, 5, &fp), MSGLOG_EINVAL);
    cr_assert_eq(repair_fingerprint(t, &c, 1, 1, 5, NULL), MSGLOG_EINVAL);
    cr_assert_eq(repair_open(&r, t, (const uint8_t *)CONV, 0), MSGLOG_EINVAL);
    cr_assert_eq(repair_open(NULL, t, UCONV), MSGLOG_EINVAL);
    /* A range past the vector, up to the largest seq, holds nothing. */
    CHECK_OK(repair_fingerprint(t, &c, 1, UINT64_MAX - 3, UINT64_MAX, &fp));
    cr_assert_eq(fp.count, 0);
    conv_free(&c);
    store_txn_abort(t);
}

Test(repair, empty_repair_is_not_answered_and_a_listing_closes_its_range)
{
    build_shared(300, 2, 10);
    repair_reply r;
    codec_repair empty = { UCONV, NULL, 0 };
    CHECK_OK(respond_to(&empty, &r));
    cr_assert_eq(r.n_msgs, 0, "an empty REPAIR gets no answer");
    repair_reply_clear(&r);
    /* A peer listing nothing over the whole of a replica's range: b sends
     * every version it holds there, answers with no range, wants nothing. */
    store_txn *t;
    conv_state c;
    repair_fp fp;
    CHECK_OK(store_txn_begin(h[1]->st, 0, &t));
    CHECK_OK(conv_lookup(t, UCONV, &c));
    uint64_t top = vv_get(&c.delivered, 1);
    CHECK_OK(repair_fingerprint(t, &c, 1, 1, top, &fp));
    conv_free(&c);
    store_txn_abort(t);
    codec_repair_item it = { .replica = 1, .lo = 1, .hi = UINT64_MAX, .listing = 1 };
    codec_repair all = { UCONV, &it, 1 };
    CHECK_OK(respond_to(&all, &r));
    cr_assert_eq(r.n_peer_lacks, fp.count);
    cr_assert_eq(r.n_self_lacks + r.n_wants, 0);
    cr_assert_eq(r.n_msgs, 1);
    cr_assert_eq(r.msgs[0].n_items, 0, "a listing is not answered with ranges");
    digest sum = { 0, 0 };
    for (size_t i = 0; i < r.n_peer_lacks; i++) {
        cr_assert(i == 0 || version_cmp(&r.peer_lacks[i - 1], &r.peer_lacks[i]) < 0);
        digest_add(&sum, digest_from_bytes(r.peer_lacks[i].hash));
    }
    cr_assert(sum.lo == fp.sum.lo && sum.hi == fp.sum.hi, "the versions make the fingerprint");
    repair_reply_clear(&r);
}
