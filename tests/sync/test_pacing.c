/* A paced session (sync/session.h, session_set_pacing; docs/protocol.md 8,
 * "Turns" and "Memory budget"): one message that commits or answers per
 * call, and streams, WANT answers and STATUS only while the transport has
 * room, continued by session_continue(). No sockets: the room is a number
 * the test sets, less what the session's output holds. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msglog.h"
#include "codec/session_codec.h"
#include "sync/session.h"
#include "support/check.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define T0 1700000000000ULL

static char *root;
static tclock clk[2];
static msglog *relay, *alice;

static void setup(void)
{
    root = tmpdir_make("msglog-pacing-");
    cr_assert_not_null(root);
    clk[0].now = clk[1].now = T0;
    CHECK_OK(tstore_open(&relay, root, "relay", 1, "relay", &clk[0]));
    CHECK_OK(tstore_open(&alice, root, "alice", 10, "alice", &clk[1]));
}

static void teardown(void)
{
    msglog_close(relay);
    msglog_close(alice);
    relay = alice = NULL;
    tmpdir_remove(root);
    free(root);
    root = NULL;
}

TestSuite(pacing, .init = setup, .fini = teardown);

/* The transport's side: `limit` bytes for this session, less its output. */
typedef struct room_t {
    session *s;
    size_t limit;
} room_t;

static size_t room_of(void *ctx)
{
    room_t *r = ctx;
    size_t held = session_held_output(r->s);
    return held < r->limit ? r->limit - held : 0;
}

static void write_msgs(msglog *log, tclock *c, const char *conv, int n, size_t size)
{
    char *body = malloc(size + 1);
    cr_assert_not_null(body);
    for (int i = 0; i < n; i++) {
        snprintf(body, size + 1, "%0*d", (int)size, i);
        c->now++;
        CHECK_OK(msglog_send(log, NULL, conv, strlen(conv), body, size));
    }
    free(body);
}

static session *new_session(msglog *log, int role, size_t budget, int all_convs)
{
    session_config cfg = { 0 };
    cfg.role = role;
    cfg.budget = budget;
    cfg.all_convs = all_convs;
    session *s;
    CHECK_OK(session_new(&s, log, &cfg));
    return s;
}

/* A device's session (alice's, listing every conversation or none) and
 * the relay's, paced with `limit` bytes of room unless `paced` is 0. */
typedef struct pair_t {
    session *c, *r;
    room_t room;
} pair_t;

static void pair_open(pair_t *p, int all_convs, size_t relay_budget, int paced, size_t limit)
{
    p->c = new_session(alice, SESSION_ROLE_CLIENT, 0, all_convs);
    p->r = new_session(relay, SESSION_ROLE_RELAY, relay_budget, 0);
    p->room = (room_t){ p->r, limit };
    if (paced)
        session_set_pacing(p->r, room_of, &p->room);
}

static void pair_close(pair_t *p)
{
    session_free(p->c);
    session_free(p->r);
}

/* Moves all of from's output into to, in one feed. */
static void move_all(session *from, session *to)
{
    const uint8_t *p;
    size_t n;
    session_output(from, &p, &n);
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    session_consume(from, n);
    CHECK_OK(session_feed(to, copy, n));
    free(copy);
}

/* What a session's output holds: messages by type, op bins in batches. */
typedef struct tally {
    int by_type[32];
    size_t ops, bytes;
    uint64_t last_type;
    size_t last_items;
} tally;

static void count_output(session *s, tally *t)
{
    const uint8_t *p;
    size_t n, flen;
    session_output(s, &p, &n);
    t->bytes += n;
    for (size_t at = 0; at < n; at += flen) {
        cr_assert_eq(codec_session_frame(p + at, n - at, &flen), CODEC_OK);
        const uint8_t *m = p + at + SESSION_FRAME_HEADER;
        size_t len = flen - SESSION_FRAME_HEADER;
        uint64_t type;
        cr_assert_eq(codec_session_type(m, len, &type), CODEC_OK);
        t->by_type[type - 16]++;
        t->last_type = type;
        if (type == SESSION_BATCH) {
            codec_batch b;
            cr_assert_eq(codec_batch_decode(&b, m, len), CODEC_OK);
            t->ops += b.n_ops;
            codec_batch_clear(&b);
        } else if (type == SESSION_REPAIR) {
            codec_repair r;
            cr_assert_eq(codec_repair_decode(&r, m, len), CODEC_OK);
            t->last_items = r.n_items;
            codec_repair_clear(&r);
        }
    }
    session_consume(s, n);     /* as if written */
}

static uint64_t messages_in(msglog *log, const char *conv)
{
    msglog_conv_info *ci;
    if (msglog_conv_info_get(log, &ci, conv, strlen(conv)) == MSGLOG_ENOTFOUND)
        return 0;
    uint64_t n = ci->n_messages;
    msglog_free(ci);
    return n;
}

/* A device's batches arrive in one read: the relay commits one per call
 * and leaves the rest for its next turns, so one connection's flood cannot
 * keep the loop from the others. */
Test(pacing, one_commit_per_turn)
{
    write_msgs(alice, &clk[1], "team", 3, 100);
    pair_t p;
    pair_open(&p, 1, 64, 1, SIZE_MAX);               /* one op a batch */
    session *r = p.r;
    move_all(p.c, r);                                /* HELLO */
    cr_assert(session_turn_over(r), "a HELLO is a turn's work");
    move_all(r, p.c);                                /* the relay's HELLO */
    move_all(p.c, r);                                /* three batches at once */
    tally t = { 0 };
    for (int turn = 1; turn <= 3; turn++) {
        cr_assert_eq(messages_in(relay, "team"), (uint64_t)turn, "turn %d", turn);
        cr_assert(session_turn_over(r));
        count_output(r, &t);
        cr_assert_eq(t.by_type[SESSION_ACK - 16], turn, "one ACK a turn");
        cr_assert_eq(session_busy(r), turn < 3, "more waits after turn %d", turn);
        if (turn < 3)
            CHECK_OK(session_continue(r));
    }
    pair_close(&p);
}

/* A WANT of a whole conversation is answered a little at a time: each call
 * adds at most the room (and one op), and session_continue() goes on as
 * the output is taken, to the same answer an unpaced session gives. */
Test(pacing, a_want_is_answered_as_the_output_is_taken)
{
    enum { N = 60, BODY = 1000, LIMIT = 8192 };
    write_msgs(relay, &clk[0], "big", N, BODY);
    pair_t p;
    pair_open(&p, 0, 0, 1, LIMIT);                   /* alice lists nothing */
    session *r = p.r;
    move_all(p.c, r);
    move_all(r, p.c);
    op_id want[N];
    for (int i = 0; i < N; i++)
        want[i] = (op_id){ 1, (uint64_t)i + 1 };
    codec_want w = { (const uint8_t *)"big", 3, want, N };
    uint8_t *msg, head[SESSION_FRAME_HEADER];
    size_t len;
    CHECK_OK(codec_want_encode(&msg, &len, &w));
    CHECK_OK(codec_session_frame_header(head, len));
    CHECK_OK(session_feed(r, head, sizeof head));
    CHECK_OK(session_feed(r, msg, len));
    free(msg);
    tally t = { 0 };
    int calls = 1;
    for (;;) {
        size_t before = t.bytes;
        count_output(r, &t);
        cr_assert_leq(t.bytes - before, LIMIT + BODY + 256, "call %d queued %zu bytes", calls,
                      t.bytes - before);
        if (!session_busy(r))
            break;
        cr_assert_lt(calls, 10 * N, "the answer does not end");
        CHECK_OK(session_continue(r));
        calls++;
    }
    cr_assert_gt(calls, 3, "answered in several calls (%d)", calls);
    cr_assert_eq(t.ops, (size_t)N, "every version sent once");
    cr_assert_eq(t.last_type, SESSION_REPAIR, "the empty REPAIR comes last");
    cr_assert_eq(t.last_items, 0);
    pair_close(&p);
}

/* Without room, a device's HELLO gets the relay's HELLO but no batch and
 * no STATUS; both come with session_continue() once there is room. */
Test(pacing, streams_and_status_wait_for_room)
{
    write_msgs(relay, &clk[0], "big", 20, 500);
    pair_t p;
    pair_open(&p, 1, 0, 1, 0);
    session *r = p.r;
    move_all(p.c, r);
    tally t = { 0 };
    count_output(r, &t);
    cr_assert_eq(t.by_type[SESSION_HELLO - 16], 1);
    cr_assert_eq(t.by_type[SESSION_BATCH - 16], 0, "no room, no batch");
    cr_assert_eq(t.by_type[SESSION_STATUS - 16], 0, "no room, no STATUS");
    cr_assert(session_busy(r), "what waits for room is work to come");
    CHECK_OK(session_continue(r));
    count_output(r, &t);
    cr_assert_eq(t.by_type[SESSION_BATCH - 16], 0, "still no room");
    p.room.limit = SIZE_MAX;
    CHECK_OK(session_continue(r));
    count_output(r, &t);
    cr_assert_gt(t.by_type[SESSION_BATCH - 16], 0);
    cr_assert_eq(t.by_type[SESSION_STATUS - 16], 1);
    cr_assert_eq(t.ops, 20u);
    cr_assert(!session_busy(r));
    pair_close(&p);
}

/* Unpaced (no session_set_pacing), every call handles all it is given. */
Test(pacing, an_unpaced_session_takes_everything_at_once)
{
    write_msgs(alice, &clk[1], "team", 3, 100);
    pair_t p;
    pair_open(&p, 1, 64, 0, 0);
    move_all(p.c, p.r);
    move_all(p.r, p.c);
    move_all(p.c, p.r);
    cr_assert_eq(messages_in(relay, "team"), 3u);
    cr_assert(!session_busy(p.r));
    cr_assert(!session_turn_over(p.r));
    pair_close(&p);
}

/* The budget a paced relay asks devices for: a quarter of its room, so a
 * staged batch and the next frame fit the connection's share; never below
 * 16 KiB, never above what it was configured with. */
Test(pacing, a_paced_relay_asks_for_batches_that_fit_its_room)
{
    size_t limits[] = { 512u << 10, 16u << 10, SIZE_MAX };
    uint64_t asked[] = { 128u << 10, 16u << 10, 256u << 10 };
    for (int i = 0; i < 3; i++) {
        pair_t p;
        pair_open(&p, 0, 0, 1, limits[i]);           /* configured: 256 KiB */
        move_all(p.c, p.r);
        const uint8_t *out;
        size_t n, flen;
        session_output(p.r, &out, &n);
        cr_assert_eq(codec_session_frame(out, n, &flen), CODEC_OK);
        codec_hello h;
        cr_assert_eq(codec_hello_decode(&h, out + SESSION_FRAME_HEADER, flen - SESSION_FRAME_HEADER),
                     CODEC_OK);
        cr_assert_eq(h.budget, asked[i], "room %zu: asked %llu", limits[i],
                     (unsigned long long)h.budget);
        codec_hello_clear(&h);
        pair_close(&p);
    }
}
