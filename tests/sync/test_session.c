/* The session engine without sockets (sync/session.c, docs/protocol.md 3):
 * two sessions wired back to back, bytes moved in random chunks, the
 * connection cut at every byte offset, frames duplicated or reordered.
 * Random parts print their seed (MSGLOG_SEED replays one). */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msglog.h"
#include "engine/engine.h"
#include "codec/op_codec.h"
#include "codec/session_codec.h"
#include "sync/session.h"
#include "support/check.h"
#include "support/rng.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define T0 1700000000000ULL

typedef struct blob_t {
    uint8_t *p;
    size_t n;
} blob_t;
#define TEAM "team", 4

static char *root;
static tclock clk[4];
static msglog *relay, *alice, *laptop, *bob;

static void setup(void)
{
    root = tmpdir_make("msglog-session-");
    cr_assert_not_null(root);
    for (int i = 0; i < 4; i++)
        clk[i].now = T0;
    CHECK_OK(tstore_open(&relay, root, "relay", 1, "relay", &clk[0]));
    CHECK_OK(tstore_open(&alice, root, "alice", 10, "alice", &clk[1]));
    CHECK_OK(tstore_open(&laptop, root, "laptop", 11, "alice", &clk[2]));
    CHECK_OK(tstore_open(&bob, root, "bob", 20, "bob", &clk[3]));
}

static void teardown(void)
{
    msglog_close(relay);
    msglog_close(alice);
    msglog_close(laptop);
    msglog_close(bob);
    relay = alice = laptop = bob = NULL;
    tmpdir_remove(root);
    free(root);
    root = NULL;
}

TestSuite(session, .init = setup, .fini = teardown);

static msglog_id say(msglog *log, tclock *c, const char *fmt, int i)
{
    char body[96];
    snprintf(body, sizeof body, fmt, i);
    msglog_id id;
    c->now++;
    CHECK_OK(msglog_send(log, &id, TEAM, body, strlen(body)));
    return id;
}

/* ---- a connection: two sessions and the bytes between them -------------- */

typedef struct link {
    session *c, *r;          /* client side, relay side */
    uint64_t moved;          /* bytes moved both ways */
    uint64_t cut_at;         /* 0: never; else drop the link at this byte */
    int cut;
} link;

static session_config client_cfg(size_t budget)
{
    session_config cfg = { 0 };
    cfg.role = SESSION_ROLE_CLIENT;
    cfg.budget = budget;
    cfg.window = 3;
    cfg.all_convs = 1;
    return cfg;
}

static void link_open_to(link *l, msglog *client, msglog *server, size_t budget)
{
    memset(l, 0, sizeof *l);
    session_config cc = client_cfg(budget);
    session_config rc = { 0 };
    rc.role = SESSION_ROLE_RELAY;
    rc.budget = budget;
    rc.window = 3;
    CHECK_OK(session_new(&l->c, client, &cc));
    CHECK_OK(session_new(&l->r, server, &rc));
}

static void link_open(link *l, msglog *client, size_t budget)
{
    link_open_to(l, client, relay, budget);
}

static void link_close(link *l)
{
    session_free(l->c);
    session_free(l->r);
    l->c = l->r = NULL;
}

/* Moves up to `chunk` bytes from one session to the other; returns how many. */
static size_t move(link *l, session *from, session *to, size_t chunk)
{
    const uint8_t *p;
    size_t n;
    session_output(from, &p, &n);
    if (n > chunk)
        n = chunk;
    if (l->cut_at && l->moved + n >= l->cut_at) {
        n = (size_t)(l->cut_at - l->moved);
        l->cut = 1;
    }
    if (n == 0)
        return 0;
    uint8_t *copy = malloc(n);    /* the output is borrowed until the next call */
    memcpy(copy, p, n);
    session_consume(from, n);
    session_feed(to, copy, n);
    free(copy);
    l->moved += n;
    return n;
}

/* Moves bytes both ways in chunks of 1..max_chunk until nothing moves, the
 * link is cut or a side closed. */
static void run(link *l, rng *g, size_t max_chunk)
{
    for (int idle = 0; idle < 2 && !l->cut;) {
        size_t a = move(l, l->c, l->r, 1 + rng_below(g, max_chunk));
        size_t b = l->cut ? 0 : move(l, l->r, l->c, 1 + rng_below(g, max_chunk));
        idle = a || b ? 0 : idle + 1;
        if (session_phase(l->c) == SESSION_PHASE_CLOSED && session_phase(l->r) == SESSION_PHASE_CLOSED)
            break;
    }
}

static uint64_t seed_of(void)
{
    const char *e = getenv("MSGLOG_SEED");
    uint64_t seed = e ? strtoull(e, NULL, 10) : (uint64_t)time(NULL) * 2654435761u;
    fprintf(stderr, "session test seed %" PRIu64 " (MSGLOG_SEED=%" PRIu64 " replays it)\n",
            seed, seed);
    return seed;
}

static void assert_same(msglog *a, msglog *b, const char *what)
{
    char *x = check_snapshot(a), *y = check_snapshot(b);
    cr_assert_str_eq(x, y, "%s: the two stores differ", what);
    free(x);
    free(y);
}

static uint64_t n_messages(msglog *log)
{
    msglog_conv_info *ci;
    CHECK_OK(msglog_conv_info_get(log, &ci, TEAM));
    uint64_t n = ci->n_messages;
    cr_assert_eq(ci->pending, 0, "nothing pending");
    msglog_free(ci);
    return n;
}

/* ---- tests -------------------------------------------------------------- */

Test(session, both_directions_converge_in_small_batches)
{
    rng g;
    rng_seed(&g, seed_of());
    for (int i = 0; i < 120; i++)
        say(alice, &clk[1], "from alice %d", i);
    for (int i = 0; i < 80; i++)
        say(relay, &clk[0], "from the relay %d", i);
    link l;
    link_open(&l, alice, 300);
    run(&l, &g, 700);
    cr_assert_eq(session_phase(l.c), SESSION_PHASE_OPEN, "client: %s", session_errmsg(l.c));
    cr_assert_eq(session_phase(l.r), SESSION_PHASE_OPEN, "relay: %s", session_errmsg(l.r));
    cr_assert(session_up_to_date(l.c), "the client is up to date");
    cr_assert(session_up_to_date(l.r), "the relay is up to date");
    cr_assert_eq(session_digest_mismatches(l.c), 0);
    assert_same(alice, relay, "after one session");
    cr_assert_eq(n_messages(alice), 200);
    link_close(&l);
}

Test(session, a_second_session_sends_nothing_already_held)
{
    rng g;
    rng_seed(&g, seed_of());
    for (int i = 0; i < 50; i++)
        say(alice, &clk[1], "m %d", i);
    link l;
    link_open(&l, alice, 1000);
    run(&l, &g, 4096);
    uint64_t full = l.moved;
    link_close(&l);
    link_open(&l, alice, 1000);
    run(&l, &g, 4096);
    cr_assert(session_up_to_date(l.c));
    cr_assert_lt(l.moved, full / 4, "a session with nothing to do moved %" PRIu64
                 " bytes, the full one %" PRIu64, l.moved, full);
    link_close(&l);
}

static void write_start(msglog *a, tclock *ca, msglog *r, tclock *cr)
{
    for (int i = 0; i < 12; i++)
        say(a, ca, "alice says %d", i);
    for (int i = 0; i < 8; i++)
        say(r, cr, "relay says %d", i);
}

/* Cuts the first connection after k bytes, for k spread over the whole
 * exchange; a second connection must finish the job with nothing lost or
 * duplicated. Every trial starts from two fresh stores. */
Test(session, a_cut_anywhere_loses_nothing, .timeout = 600)
{
    rng g;
    rng_seed(&g, seed_of());
    write_start(alice, &clk[1], relay, &clk[0]);
    link l;
    link_open(&l, alice, 120);
    run(&l, &g, 64);
    uint64_t full = l.moved;
    link_close(&l);
    cr_assert_gt(full, 200);
    int trials = 0;
    for (uint64_t k = 1; k < full; k += 1 + k / 48, trials++) {
        char name[64];
        msglog *a, *r;
        tclock ca = { T0, 0 }, cr = { T0, 0 };
        snprintf(name, sizeof name, "a%" PRIu64, k);
        CHECK_OK(tstore_open(&a, root, name, 10, "alice", &ca));
        snprintf(name, sizeof name, "r%" PRIu64, k);
        CHECK_OK(tstore_open(&r, root, name, 1, "relay", &cr));
        write_start(a, &ca, r, &cr);
        link_open_to(&l, a, r, 120);
        l.cut_at = k;
        run(&l, &g, 1 + rng_below(&g, 64));
        link_close(&l);
        link_open_to(&l, a, r, 120);
        run(&l, &g, 64);
        cr_assert(session_up_to_date(l.c), "cut at %" PRIu64 ": not up to date (%s / %s)", k,
                  session_errmsg(l.c), session_errmsg(l.r));
        cr_assert_eq(session_digest_mismatches(l.c), 0);
        link_close(&l);
        assert_same(a, r, "after a cut and a resume");
        cr_assert_eq(n_messages(a), 20, "cut at %" PRIu64, k);
        msglog_close(a);
        msglog_close(r);
    }
    fprintf(stderr, "cut trials: %d over an exchange of %" PRIu64 " bytes\n", trials, full);
}

/* Moves the client's whole output to the relay frame by frame, feeding the
 * `victim`-th frame twice (dup) or after the next one (reorder). */
static void feed_mangled(link *l, int victim, int reorder)
{
    const uint8_t *p;
    size_t n, at = 0;
    session_output(l->c, &p, &n);
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    session_consume(l->c, n);
    size_t held_at = 0, held_len = 0;
    for (int i = 0; at < n; i++) {
        size_t len;
        cr_assert_eq(codec_session_frame(copy + at, n - at, &len), 0);
        if (i == victim && reorder) {
            held_at = at;
            held_len = len;
        } else {
            session_feed(l->r, copy + at, len);
            if (i == victim)
                session_feed(l->r, copy + at, len);
            if (held_len) {
                session_feed(l->r, copy + held_at, held_len);
                held_len = 0;
            }
        }
        at += len;
    }
    free(copy);
}

/* A batch frame sent twice, or two frames swapped, is a protocol error: the
 * relay closes the session, and the next session converges. */
Test(session, duplicated_and_reordered_frames_are_refused_then_resumed)
{
    rng g;
    rng_seed(&g, seed_of());
    for (int reorder = 0; reorder < 2; reorder++) {
        for (int i = 0; i < 20; i++)         /* new to the relay */
            say(alice, &clk[1], "dup %d", i);
        link l;
        link_open(&l, alice, 200);
        feed_mangled(&l, -1, 0);                  /* the HELLO */
        move(&l, l.r, l.c, 1 << 20);              /* the relay's HELLO */
        feed_mangled(&l, 1, reorder);             /* batch frames */
        cr_assert_eq(session_phase(l.r), SESSION_PHASE_CLOSED, "the relay closed");
        cr_assert_eq(session_error(l.r), MSGLOG_ECORRUPT);
        move(&l, l.r, l.c, 1 << 20);              /* its ERROR */
        cr_assert_eq(session_phase(l.c), SESSION_PHASE_CLOSED, "the client closed");
        link_close(&l);
        link_open(&l, alice, 200);
        run(&l, &g, 4096);
        cr_assert(session_up_to_date(l.c), "reorder %d: %s", reorder, session_errmsg(l.c));
        link_close(&l);
    }
    assert_same(alice, relay, "after duplicates and reorders");
    cr_assert_eq(n_messages(relay), 40);
}

/* ---- repair ------------------------------------------------------------- */

static blob_t bytes_of(msglog *log, msglog_id id)
{
    void *p;
    blob_t b;
    CHECK_OK(msglog_op_bytes(log, &p, &b.n, TEAM, id));
    b.p = malloc(b.n);
    memcpy(b.p, p, b.n);
    msglog_free(p);
    return b;
}

/* Another version of the same id, as an equivocating replica makes it. */
static blob_t other_version(const blob_t *legit)
{
    op o;
    cr_assert_eq(codec_op_decode(&o, legit->p, legit->n), CODEC_OK);
    o.hlc += 7;
    blob_t x;
    cr_assert_eq(codec_op_encode(&x.p, &x.n, &o, 0), CODEC_OK);
    codec_op_clear(&o);
    return x;
}

/* Each side holds another version of one id, and both vectors cover it, so
 * no stream carries it: the digest check finds the difference, the repair
 * exchange sends each side the version it lacks, and the digests agree. */
Test(session, a_digest_mismatch_is_repaired)
{
    rng g;
    rng_seed(&g, seed_of());
    for (int i = 0; i < 300; i++)
        say(bob, &clk[3], "shared %d", i);
    link l;
    link_open(&l, bob, 4096);
    run(&l, &g, 4096);
    link_close(&l);
    link_open(&l, alice, 4096);
    run(&l, &g, 4096);
    link_close(&l);
    msglog_id last = say(bob, &clk[3], "the real one %d", 0);
    blob_t real = bytes_of(bob, last), fake = other_version(&real);
    CHECK_OK(msglog_receive(alice, real.p, real.n));
    CHECK_OK(msglog_receive(relay, fake.p, fake.n));
    link_open(&l, alice, 4096);
    run(&l, &g, 4096);
    cr_assert_eq(session_digest_mismatches(l.c), 1, "the check found the difference (%" PRIu64 ")", session_digest_mismatches(l.c));
    cr_assert(session_up_to_date(l.c), "%s / %s", session_errmsg(l.c), session_errmsg(l.r));
    uint64_t repair_bytes = l.moved;
    link_close(&l);
    assert_same(alice, relay, "after the repair");
    link_open(&l, alice, 4096);
    run(&l, &g, 4096);
    cr_assert_eq(session_digest_mismatches(l.c), 0, "the digests agree now");
    link_close(&l);
    fprintf(stderr, "repair of one id in 301 ops: %" PRIu64 " bytes in the session\n",
            repair_bytes);
    free(real.p);
    free(fake.p);
}

/* ---- a relay with three devices ---------------------------------------- */

/* What net/relay.c does after each commit or ACK, for every connection:
 * continue the stream and refresh the STATUS of the conversation. */
static void hub_step(link *links, int n)
{
    for (int i = 0; i < n; i++) {
        if (!links[i].r || session_phase(links[i].r) != SESSION_PHASE_OPEN)
            continue;
        CHECK_OK(session_pump(links[i].r, (const uint8_t *)"team", 4));
        CHECK_OK(session_refresh_status(links[i].r, (const uint8_t *)"team", 4));
    }
}

/* Moves bytes on every open link, with the hub's steps in between, until
 * nothing moves. */
static void run_all(link *links, int n, rng *g)
{
    for (int idle = 0; idle < 2;) {
        size_t moved = 0;
        for (int i = 0; i < n; i++) {
            if (!links[i].c)
                continue;
            moved += move(&links[i], links[i].c, links[i].r, 1 + rng_below(g, 2048));
            moved += move(&links[i], links[i].r, links[i].c, 1 + rng_below(g, 2048));
        }
        hub_step(links, n);
        idle = moved ? 0 : idle + 1;
    }
}

static int status_of(msglog *log, msglog_id id)
{
    int st = -1;
    CHECK_OK(msglog_delivery_status(log, &st, TEAM, id));
    return st;
}

Test(session, statuses_follow_acks_and_read_markers)
{
    rng g;
    rng_seed(&g, seed_of());
    link links[3] = { 0 };
    msglog_id x = say(alice, &clk[1], "hello %d", 1);
    cr_assert_eq(status_of(alice, x), MSGLOG_STATUS_PENDING);
    link_open(&links[0], alice, 4096);
    run_all(links, 3, &g);
    cr_assert_eq(status_of(alice, x), MSGLOG_STATUS_SENT, "the relay committed it");
    link_open(&links[1], laptop, 4096);    /* alice's other device */
    run_all(links, 3, &g);
    cr_assert_eq(status_of(alice, x), MSGLOG_STATUS_SENT, "alice's own devices do not count");
    link_open(&links[2], bob, 4096);
    run_all(links, 3, &g);
    cr_assert_eq(status_of(alice, x), MSGLOG_STATUS_DELIVERED, "bob's device acknowledged it");
    cr_assert_eq(status_of(laptop, x), MSGLOG_STATUS_DELIVERED, "the laptop sees it too");
    msglog_id r;
    clk[3].now++;
    CHECK_OK(msglog_mark_read(bob, &r, TEAM, x));
    CHECK_OK(session_pump(links[2].c, (const uint8_t *)"team", 4));   /* the commit hook's job */
    run_all(links, 3, &g);
    cr_assert_eq(status_of(alice, x), MSGLOG_STATUS_READ, "bob read it");
    /* Live: a message written while connected reaches the others. */
    msglog_id y = say(laptop, &clk[2], "from the laptop %d", 2);
    CHECK_OK(session_pump(links[1].c, (const uint8_t *)"team", 4));
    run_all(links, 3, &g);
    cr_assert_eq(status_of(laptop, y), MSGLOG_STATUS_DELIVERED);
    for (int i = 0; i < 3; i++) {
        cr_assert(session_up_to_date(links[i].c), "device %d: %s", i, session_errmsg(links[i].c));
        link_close(&links[i]);
    }
    assert_same(alice, bob, "alice and bob");
    assert_same(alice, laptop, "alice's devices");
    assert_same(alice, relay, "alice and the relay");
    cr_assert_eq(n_messages(bob), 2);
}

/* ---- random: three devices, writes, cuts and reconnects ----------------- */

/* The newest message of `log` and whether `user` wrote it; MSGLOG_ENOTFOUND
 * when it holds none. */
static int newest(msglog *log, const char *user, msglog_id *id, int *own)
{
    msglog_page *p;
    msglog_cursor end = { 1, 0, { 0, 0 } };
    int rc = msglog_messages(log, &p, TEAM, MSGLOG_BACKWARD, end, 1);
    if (rc == MSGLOG_ENOTFOUND)
        return rc;
    CHECK_OK(rc);
    rc = p->n ? MSGLOG_OK : MSGLOG_ENOTFOUND;
    if (p->n) {
        *id = p->messages[0].id;
        *own = strcmp(p->messages[0].author.data, user) == 0;
    }
    msglog_free(p);
    return rc;
}

/* One random op: mostly sends; edits, deletes, reactions and read markers
 * on the newest message the device has. Refusals (a deleted target) are
 * part of the game. */
static void random_op(msglog *log, tclock *c, const char *user, rng *g, int n)
{
    msglog_id id, out;
    int own;
    unsigned k = (unsigned)rng_below(g, 10);
    c->now += 1 + rng_below(g, 3);
    if (k < 5 || newest(log, user, &id, &own) != MSGLOG_OK) {
        say(log, c, "random %d", n);
        return;
    }
    int rc;
    if (k == 5 && own)
        rc = msglog_edit(log, &out, TEAM, id, "edited", 6);
    else if (k == 6 && own)
        rc = msglog_delete(log, &out, TEAM, id);
    else if (k < 9)
        rc = msglog_react(log, &out, TEAM, id, "+1", 2);
    else
        rc = msglog_mark_read(log, &out, TEAM, id);
    cr_assert(rc == MSGLOG_OK || rc == MSGLOG_EDENIED, "op %u -> %d", k, rc);
}

Test(session, random_writes_cuts_and_reconnects_converge, .timeout = 600)
{
    rng g;
    rng_seed(&g, seed_of());
    msglog *dev[3] = { alice, laptop, bob };
    const char *user[3] = { "alice", "alice", "bob" };
    link links[3] = { 0 };
    for (int round = 0; round < 60; round++) {
        for (int d = 0; d < 3; d++) {
            for (int n = (int)rng_below(&g, 4); n > 0; n--)
                random_op(dev[d], &clk[1 + d], user[d], &g, round);
            if (links[d].c)
                CHECK_OK(session_pump(links[d].c, (const uint8_t *)"team", 4));
            if (links[d].c && (links[d].cut || rng_chance(&g, 20)))
                link_close(&links[d]);          /* cut, or the device went away */
            if (!links[d].c && rng_chance(&g, 60)) {
                link_open(&links[d], dev[d], 64 + rng_below(&g, 512));
                links[d].cut_at = rng_chance(&g, 50) ? 1 + rng_below(&g, 3000) : 0;
            }
        }
        run_all(links, 3, &g);
        for (int d = 0; d < 3; d++)
            if (links[d].c && !links[d].cut)
                cr_assert_neq(session_phase(links[d].c), SESSION_PHASE_CLOSED, "round %d: %s",
                              round, session_errmsg(links[d].c));
    }
    for (int d = 0; d < 3; d++) {
        link_close(&links[d]);
        link_open(&links[d], dev[d], 4096);
    }
    run_all(links, 3, &g);
    for (int d = 0; d < 3; d++) {
        cr_assert(session_up_to_date(links[d].c), "device %d: %s", d, session_errmsg(links[d].c));
        cr_assert_eq(session_digest_mismatches(links[d].c), 0);
        link_close(&links[d]);
    }
    assert_same(alice, relay, "alice and the relay");
    assert_same(laptop, relay, "the laptop and the relay");
    assert_same(bob, relay, "bob and the relay");
    /* The relay's device records and the devices' STATUS records too. */
    check_whole(relay, "the relay");
    for (int d = 0; d < 3; d++)
        check_whole(dev[d], "a device");
}

/* ---- regressions found by fuzz_session ---------------------------------- */

/* Frames an encoded message and feeds it to s. @return what feeding the
 * message's bytes returned. */
static int feed_msg(session *s, uint8_t *msg, size_t len, int enc_rc)
{
    cr_assert_eq(enc_rc, CODEC_OK);
    uint8_t head[SESSION_FRAME_HEADER];
    cr_assert_eq(codec_session_frame_header(head, len), CODEC_OK);
    session_feed(s, head, sizeof head);
    int rc = session_feed(s, msg, len);
    free(msg);
    return rc;
}

/* Feeds s BATCH 1 of conv holding ops. */
static void feed_batch(session *s, const char *conv, codec_bytes *ops, size_t n, int more)
{
    codec_batch b = { 1, (const uint8_t *)conv, strlen(conv), more, ops, n };
    uint8_t *msg;
    size_t len;
    int rc = codec_batch_encode(&msg, &len, &b);
    feed_msg(s, msg, len, rc);
}

/* A BATCH labelled "team" carrying an op of another conversation would be
 * committed under its own conversation but acknowledged, subscribed and
 * fanned out under "team": refused whole, nothing committed. */
Test(session, a_batch_with_an_op_of_another_conversation_is_refused)
{
    msglog_id id;
    CHECK_OK(msglog_send(bob, &id, "other", 5, "hidden", 6));
    blob_t op;
    void *p;
    CHECK_OK(msglog_op_bytes(bob, &p, &op.n, "other", 5, id));
    op.p = p;
    link l;
    link_open(&l, bob, 4096);
    move(&l, l.c, l.r, 1 << 20);                 /* bob's HELLO */
    codec_bytes ops[] = { { op.p, op.n } };
    feed_batch(l.r, "team", ops, 1, 0);
    cr_assert_eq(session_phase(l.r), SESSION_PHASE_CLOSED);
    cr_assert_eq(session_error(l.r), MSGLOG_ECORRUPT, "%s", session_errmsg(l.r));
    msglog_conv_info *ci;
    cr_assert_eq(msglog_conv_info_get(relay, &ci, "other", 5), MSGLOG_ENOTFOUND,
                 "nothing of the other conversation was committed");
    link_close(&l);
    msglog_free(p);
}

/* One op from a device whose clock is far ahead (or a forger's op at the
 * top of the hlc range) would, through a relay, make every later op of the
 * conversation everywhere follow it. A relay with a bound refuses the batch
 * holding it with ERROR refused and stores nothing of it; an op within the
 * bound is accepted. */
static void relay_link_bounded(link *l, msglog *client, uint64_t ahead_ms)
{
    memset(l, 0, sizeof *l);
    session_config cc = client_cfg(4096), rc = { 0 };
    rc.role = SESSION_ROLE_RELAY;
    rc.max_clock_ahead_ms = ahead_ms;
    CHECK_OK(session_new(&l->c, client, &cc));
    CHECK_OK(session_new(&l->r, relay, &rc));
    move(l, l->c, l->r, 1 << 20);                /* the client's HELLO */
}

static int feed_one_op(session *r, msglog *from, msglog_id id)
{
    void *p;
    size_t n;
    CHECK_OK(msglog_op_bytes(from, &p, &n, TEAM, id));
    codec_bytes ops[] = { { p, n } };
    feed_batch(r, "team", ops, 1, 0);
    msglog_free(p);
    return session_phase(r) == SESSION_PHASE_CLOSED ? session_error(r) : MSGLOG_OK;
}

Test(session, a_relay_refuses_an_op_from_far_ahead)
{
    link l;
    clk[3].now = T0 + 3600 * 1000;               /* bob's clock: an hour ahead */
    msglog_id late = say(bob, &clk[3], "from the future %d", 1);
    relay_link_bounded(&l, bob, 600 * 1000);
    cr_assert_eq(feed_one_op(l.r, bob, late), MSGLOG_EDENIED);
    cr_assert(strstr(session_errmsg(l.r), "3600 s ahead"), "%s", session_errmsg(l.r));
    const uint8_t *out;
    size_t n;
    session_output(l.r, &out, &n);
    cr_assert_gt(n, 0, "an ERROR is queued for the device");
    msglog_conv_info *ci;
    cr_assert_eq(msglog_conv_info_get(relay, &ci, TEAM), MSGLOG_ENOTFOUND, "nothing stored");
    link_close(&l);

    clk[2].now = T0 + 5 * 60 * 1000;             /* the laptop: 5 minutes ahead */
    msglog_id fine = say(laptop, &clk[2], "slightly ahead %d", 2);
    relay_link_bounded(&l, laptop, 600 * 1000);
    cr_assert_eq(feed_one_op(l.r, laptop, fine), MSGLOG_OK, "%s", session_errmsg(l.r));
    cr_assert_eq(n_messages(relay), 1);
    link_close(&l);

    relay_link_bounded(&l, bob, 0);              /* no bound: the merge rule alone */
    cr_assert_eq(feed_one_op(l.r, bob, late), MSGLOG_OK, "%s", session_errmsg(l.r));
    cr_assert_eq(n_messages(relay), 2);
    link_close(&l);
}

/* A WANT of ids the store does not hold is answered with an empty batch
 * and an empty REPAIR; consuming nothing from an empty output is fine. */
Test(session, a_want_of_nothing_gets_an_empty_answer)
{
    link l;
    link_open(&l, bob, 4096);
    session_consume(l.r, 0);
    move(&l, l.c, l.r, 1 << 20);
    move(&l, l.r, l.c, 1 << 20);
    op_id want[] = { { 9, 9 } };
    codec_want w = { (const uint8_t *)"general", 7, want, 1 };
    uint8_t *msg;
    size_t len;
    int rc = codec_want_encode(&msg, &len, &w);
    feed_msg(l.r, msg, len, rc);
    cr_assert_eq(session_phase(l.r), SESSION_PHASE_OPEN, "%s", session_errmsg(l.r));
    const uint8_t *out;
    size_t n, flen;
    session_output(l.r, &out, &n);
    uint64_t type;
    cr_assert_eq(codec_session_frame(out, n, &flen), CODEC_OK);
    cr_assert_eq(codec_session_type(out + 4, flen - 4, &type), CODEC_OK);
    cr_assert_eq(type, SESSION_BATCH, "first the (empty) batch");
    cr_assert_eq(codec_session_frame(out + flen, n - flen, &len), CODEC_OK);
    cr_assert_eq(codec_session_type(out + flen + 4, len - 4, &type), CODEC_OK);
    cr_assert_eq(type, SESSION_REPAIR, "then the empty REPAIR that ends the answer");
    link_close(&l);
}

/* Empty op bins cost no op bytes: a batch that never ends, made of them,
 * would grow the staging without limit. Refused at once. */
Test(session, a_batch_of_empty_ops_is_refused)
{
    link l;
    link_open(&l, bob, 4096);
    move(&l, l.c, l.r, 1 << 20);                 /* bob's HELLO */
    codec_bytes ops[] = { { (const uint8_t *)"", 0 }, { (const uint8_t *)"", 0 } };
    feed_batch(l.r, "team", ops, 2, 1);
    cr_assert_eq(session_phase(l.r), SESSION_PHASE_CLOSED);
    cr_assert_eq(session_error(l.r), MSGLOG_ECORRUPT, "%s", session_errmsg(l.r));
    link_close(&l);
}

/* A peer that sends WANTs and never reads the answers: once more than
 * 16 MiB of output waits, the next WANT is refused with ERROR limit, so
 * the queue stops near 16 MiB plus one answer. */
Test(session, wants_from_a_peer_that_does_not_read_are_refused)
{
    enum { N = 100, BODY = 60000 };
    char *body = malloc(BODY);
    cr_assert_not_null(body);
    memset(body, 'x', BODY);
    op_id want[N];
    for (int i = 0; i < N; i++) {
        msglog_id id;
        clk[0].now++;
        CHECK_OK(msglog_send(relay, &id, "big", 3, body, BODY));
        want[i] = (op_id){ id.replica, id.seq };
    }
    free(body);
    link l;
    link_open(&l, bob, 4096);
    move(&l, l.c, l.r, 1 << 20);
    move(&l, l.r, l.c, 1 << 20);
    session_consume(l.r, SIZE_MAX);              /* what bob's HELLO started */
    codec_want w = { (const uint8_t *)"big", 3, want, N };
    int asked = 0;
    while (session_phase(l.r) == SESSION_PHASE_OPEN && asked < 20) {
        uint8_t *msg;
        size_t len;
        int rc = codec_want_encode(&msg, &len, &w);
        feed_msg(l.r, msg, len, rc);
        asked++;
    }
    cr_assert_eq(session_phase(l.r), SESSION_PHASE_CLOSED, "still open after %d WANTs", asked);
    cr_assert_eq(session_error(l.r), MSGLOG_ELIMIT, "%s", session_errmsg(l.r));
    const uint8_t *out;
    size_t n;
    session_output(l.r, &out, &n);
    cr_assert_lt(n, 16u * 1024 * 1024 + 2 * N * BODY, "%zu bytes queued after %d WANTs", n, asked);
    cr_assert_gt(asked, 2, "the first answers were given");
    link_close(&l);
}

/* Every frame naming a new conversation adds one to the session: past
 * SESSION_MAX_CONVS the session ends with ERROR limit. (WANTs of unknown
 * conversations are the cheapest way there: each gets an empty answer.) */
Test(session, a_peer_naming_too_many_conversations_is_refused, .timeout = 120)
{
    link l;
    link_open(&l, bob, 4096);
    move(&l, l.c, l.r, 1 << 20);
    move(&l, l.r, l.c, 1 << 20);
    op_id want[] = { { 9, 9 } };
    char name[16];
    int asked = 0, fed = MSGLOG_OK;
    while (session_phase(l.r) == SESSION_PHASE_OPEN && asked < SESSION_MAX_CONVS + 10) {
        snprintf(name, sizeof name, "c%07d", asked++);   /* increasing: appended */
        codec_want w = { (const uint8_t *)name, strlen(name), want, 1 };
        uint8_t *msg;
        size_t len;
        int rc = codec_want_encode(&msg, &len, &w);
        fed = feed_msg(l.r, msg, len, rc);
        session_consume(l.r, SIZE_MAX);
    }
    cr_assert_eq(fed, MSGLOG_ELIMIT, "the call that closed it returned %d", fed);
    cr_assert_eq(session_phase(l.r), SESSION_PHASE_CLOSED, "still open after %d WANTs", asked);
    cr_assert_eq(session_error(l.r), MSGLOG_ELIMIT, "%s", session_errmsg(l.r));
    cr_assert_gt(asked, SESSION_MAX_CONVS - 10, "closed after %d", asked);
    link_close(&l);
}

/* ---- how a session ended, for the transport's logs ---------------------- */

static void replaced_or_internal(int internal)
{
    link l;
    link_open(&l, alice, 4096);
    if (internal)
        session_close_internal(l.r, "the store failed");
    else
        session_close_replaced(l.r, "replaced by a newer connection");
    session_end e = session_end_of(l.r);
    cr_assert_str_eq(e.error_name, internal ? "internal" : "replaced");
    cr_assert(!e.error_received && !e.refused);
    cr_assert_eq(e.local_failure, internal);
    link_close(&l);
}

/* session_end_of tells which ERROR ended a session, which way it went, and
 * who the peer was. */
Test(session, the_end_of_a_session_says_which_error_went_which_way)
{
    static const uint8_t huge_frame[4] = { 0xff, 0xff, 0xff, 0xff };
    link l;
    link_open(&l, alice, 4096);
    session_end e = session_end_of(l.r);
    cr_assert_null(e.error_name, "no ERROR yet");
    cr_assert_eq(e.peer_replica, 0, "no HELLO yet");
    move(&l, l.c, l.r, 1 << 20);                 /* alice's HELLO */
    move(&l, l.r, l.c, 1 << 20);                 /* the relay's */
    cr_assert_eq(session_end_of(l.r).peer_replica, 10);
    cr_assert_null(session_end_of(l.r).error_name, "open: no ERROR");

    session_feed(l.r, huge_frame, sizeof huge_frame);   /* the relay refuses it */
    e = session_end_of(l.r);
    cr_assert_str_eq(e.error_name, "limit");
    cr_assert(!e.error_received && e.refused && !e.local_failure);
    cr_assert_eq(e.peer_replica, 10);
    move(&l, l.r, l.c, 1 << 20);                 /* its ERROR reaches alice */
    e = session_end_of(l.c);
    cr_assert_str_eq(e.error_name, "limit");
    cr_assert(e.error_received && !e.refused && !e.local_failure);
    cr_assert_eq(e.peer_replica, 1);
    cr_assert(strstr(session_errmsg(l.c), "the peer ended the session with ERROR limit: a frame over"),
              "alice's text names the ERROR: \"%s\"", session_errmsg(l.c));
    link_close(&l);

    replaced_or_internal(0);
    replaced_or_internal(1);
    cr_assert_null(session_end_of(NULL).error_name);
    cr_assert_str_eq(session_error_name(SESSION_ERR_PROTOCOL), "protocol");
    cr_assert_str_eq(session_error_name(99), "unknown");
}
