/* The public network API (include/msglog.h, "Network sync"; docs/protocol.md
 * section 8) in one process: a relay and clients on one local libuv loop,
 * over 127.0.0.1 on a port the relay picks. Each test is bounded in time
 * (a guard timer on the loop, a bound on every wait, the suite's timeout)
 * and ends with every handle closed (uv_loop_close() returns 0) and every
 * store closed.
 *
 *   once      sync once: states, result, what the relay holds, statuses
 *   watch     two watching devices: a write pushed, received, delivered, read
 *   relay_restart   the relay goes away and comes back on the same port
 *   refused / silent   connection refused, and a listener that never answers
 *   claimed   a relay or a watching client on a store another process claimed
 *   args      argument checks */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "msglog.h"
#include "support/check.h"
#include "support/handshake.h"
#include "support/tmpdir.h"
#include "support/tstore.h"
#include "netloop.h"

#define TEAM "team", 4
#define HOST "127.0.0.1"
#define WAIT_MS 10000       /* one wait */
#define MAX_EVS 256

static void setup(void)
{
    netloop_setup("msglog-netclient-");
}

TestSuite(net_client, .init = setup, .fini = netloop_teardown, .timeout = 40);

/* ---- stores ---------------------------------------------------------------- */

static msglog *open_store(const char *name, uint64_t replica, const char *user)
{
    msglog *log = NULL;
    CHECK_OK(tstore_open(&log, root, name, replica, user, NULL));   /* real clock */
    return log;
}

static msglog_id say(msglog *log, const char *who, int i)
{
    char body[64];
    msglog_id id;
    snprintf(body, sizeof body, "%s says %d", who, i);
    CHECK_OK(msglog_send(log, &id, TEAM, body, strlen(body)));
    return id;
}

static uint64_t n_messages(msglog *log)
{
    msglog_conv_info *info = NULL;
    uint64_t n;
    int rc = msglog_conv_info_get(log, &info, TEAM);
    if (rc == MSGLOG_ENOTFOUND)
        return 0;
    cr_assert_eq(rc, MSGLOG_OK, "msglog_conv_info_get -> %d", rc);
    n = info->n_messages;
    msglog_free(info);
    return n;
}

static int status_of(msglog *log, msglog_id id)
{
    int st = -1;
    CHECK_OK(msglog_delivery_status(log, &st, TEAM, id));
    return st;
}

static const char *state_name(msglog_conn_state s)
{
    switch (s) {
    case MSGLOG_CONN_OFFLINE: return "OFFLINE";
    case MSGLOG_CONN_CONNECTING: return "CONNECTING";
    case MSGLOG_CONN_SYNCING: return "SYNCING";
    case MSGLOG_CONN_UP_TO_DATE: return "UP_TO_DATE";
    case MSGLOG_CONN_BACKOFF: return "BACKOFF";
    }
    return "?";
}

/* ---- a device: a store, a client, and what its callbacks saw ------------- */

typedef struct ev {
    msglog_conn_state state;
    uint64_t retry_at;
    int last_error;
    char detail[200];
    uint64_t wall;          /* wall clock when on_state was called */
    uint64_t mono;          /* uv_hrtime() in ms, the same moment */
} ev;

typedef struct device {
    const char *name;
    msglog *log;
    msglog_client *client;
    ev evs[MAX_EVS];
    size_t n_evs;           /* recorded (at most MAX_EVS) */
    size_t n_calls;         /* on_state calls */
    size_t base;            /* n_calls at the last start */
    msglog_conn_state state;   /* the last one told */
    size_t n_backoff;
    size_t n_up;
    /* on_received / on_status */
    size_t n_received, n_status, n_other_conv;
    int track;              /* 1: look at `tracked` from the callbacks */
    msglog_id tracked;
    int tracked_here;       /* on_received: `tracked` was delivered here */
    int status_in_cb;       /* on_status: the highest status of `tracked` */
    int status_in_recv;     /* on_received: the same */
} device;

static void on_state(void *ctx, const msglog_conn_info *info)
{
    device *d = ctx;
    cr_assert_not_null(info->detail, "%s: detail is NULL", d->name);
    if (d->n_evs < MAX_EVS) {
        ev *e = &d->evs[d->n_evs++];
        e->state = info->state;
        e->retry_at = info->retry_at_ms;
        e->last_error = info->last_error;
        snprintf(e->detail, sizeof e->detail, "%s", info->detail);
        e->wall = wall_ms();
        e->mono = mono_ms();
    }
    d->n_calls++;
    d->state = info->state;
    if (info->state == MSGLOG_CONN_BACKOFF)
        d->n_backoff++;
    if (info->state == MSGLOG_CONN_UP_TO_DATE)
        d->n_up++;
    if (info->state != MSGLOG_CONN_BACKOFF)
        cr_assert_eq(info->retry_at_ms, 0, "%s: retry_at_ms %" PRIu64 " in state %s", d->name,
                     info->retry_at_ms, state_name(info->state));
}

static int is_team(const char *conv, size_t len)
{
    return len == 4 && memcmp(conv, "team", 4) == 0;
}

static void on_received(void *ctx, const char *conv, size_t len)
{
    device *d = ctx;
    if (!is_team(conv, len)) {
        d->n_other_conv++;
        return;
    }
    d->n_received++;
    if (d->track) {
        msglog_page *p = NULL;
        int st = -1;
        if (msglog_message_get(d->log, &p, TEAM, d->tracked) == MSGLOG_OK)
            d->tracked_here = 1;
        msglog_free(p);
        if (msglog_delivery_status(d->log, &st, TEAM, d->tracked) == MSGLOG_OK &&
            st > d->status_in_recv)
            d->status_in_recv = st;
    }
}

static void on_status(void *ctx, const char *conv, size_t len)
{
    device *d = ctx;
    if (!is_team(conv, len)) {
        d->n_other_conv++;
        return;
    }
    d->n_status++;
    if (d->track) {
        int st = -1;
        if (msglog_delivery_status(d->log, &st, TEAM, d->tracked) == MSGLOG_OK &&
            st > d->status_in_cb)
            d->status_in_cb = st;
    }
}

static void device_init(device *d, const char *name, uint64_t replica, const char *user)
{
    memset(d, 0, sizeof *d);
    d->name = name;
    d->log = open_store(name, replica, user);
    d->state = MSGLOG_CONN_OFFLINE;
    d->status_in_cb = d->status_in_recv = -1;
}

static msglog_client_options device_options(device *d, uint16_t port, int watch)
{
    msglog_client_options o = MSGLOG_CLIENT_OPTIONS_INIT;
    o.host = HOST;
    o.port = port;
    o.watch = watch;
    o.on_state = on_state;
    o.on_received = on_received;
    o.on_status = on_status;
    o.ctx = d;
    return o;
}

static void device_connect(device *d, const msglog_client_options *o)
{
    int rc = msglog_client_new(&d->client, d->log, &loop, o);
    cr_assert_eq(rc, MSGLOG_OK, "%s: msglog_client_new -> %d: %s", d->name, rc,
                 msglog_errmsg(d->log));
    CHECK_OK(msglog_client_start(d->client));
}

/* Closes the client (if any) and the store: the handle may be closed right
 * after msglog_client_close(), before the loop runs again. */
static void device_close(device *d)
{
    msglog_client_close(d->client);
    d->client = NULL;
    msglog_close(d->log);
    d->log = NULL;
}

static void dump_evs(const device *d, char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < d->n_evs && k + 1 < n; i++) {
        int w = snprintf(out + k, n - k, " %s(%d%s%s)", state_name(d->evs[i].state),
                         d->evs[i].last_error, d->evs[i].detail[0] ? ": " : "",
                         d->evs[i].detail);
        if (w < 0)
            break;
        k += (size_t)w;
    }
}

static msglog_relay *relay_open(msglog *log, uint16_t port)
{
    msglog_relay *r = NULL;
    int rc = msglog_relay_new(&r, log, &loop, HOST, port, NULL);
    cr_assert_eq(rc, MSGLOG_OK, "msglog_relay_new(port %u) -> %d: %s", (unsigned)port, rc,
                 msglog_errmsg(log));
    cr_assert_neq(msglog_relay_port(r), 0);
    if (port)
        cr_assert_eq(msglog_relay_port(r), port);
    return r;
}

/* ---- predicates ------------------------------------------------------------ */

static int pred_offline_done(void *arg)
{
    device *d = arg;
    return d->n_calls >= d->base + 2 && d->state == MSGLOG_CONN_OFFLINE;
}

static int pred_up(void *arg)
{
    device *d = arg;
    return d->state == MSGLOG_CONN_UP_TO_DATE;
}

static int pred_backoff(void *arg)
{
    device *d = arg;
    return d->state == MSGLOG_CONN_BACKOFF;
}

/* ======================================================================== */
/* 1. Sync once                                                              */
/* ======================================================================== */

Test(net_client, once)
{
    device a;
    msglog *rlog = open_store("relay", 1, "relay");
    msglog_relay *relay = relay_open(rlog, 0);
    msglog_id ids[30];
    msglog_conv_info *ai, *ri;
    msglog_conn_info st;
    char seq[2048];
    int saw_up = 0;

    device_init(&a, "alice", 10, "alice");
    for (int i = 0; i < 30; i++)
        ids[i] = say(a.log, "alice", i);
    for (int i = 0; i < 30; i++)
        cr_assert_eq(status_of(a.log, ids[i]), MSGLOG_STATUS_PENDING);
    cr_assert_eq(n_messages(rlog), 0);

    msglog_client_options o = device_options(&a, msglog_relay_port(relay), 0);
    uint64_t t0 = mono_ms();
    device_connect(&a, &o);
    cr_assert_eq(msglog_client_result(a.client), MSGLOG_EINVAL, "result before it finished");
    run_until(pred_offline_done, &a, WAIT_MS, "alice's sync to end OFFLINE");
    uint64_t took = mono_ms() - t0;

    dump_evs(&a, seq, sizeof seq);
    cr_assert_eq(a.evs[0].state, MSGLOG_CONN_CONNECTING, "states:%s", seq);
    for (size_t i = 0; i < a.n_evs; i++) {
        cr_assert_neq(a.evs[i].state, MSGLOG_CONN_BACKOFF, "states:%s", seq);
        if (a.evs[i].state == MSGLOG_CONN_UP_TO_DATE)
            saw_up = 1;
        if (i + 1 < a.n_evs)
            cr_assert_neq(a.evs[i].state, MSGLOG_CONN_OFFLINE, "OFFLINE before the end:%s", seq);
    }
    cr_assert(saw_up, "never UP_TO_DATE:%s", seq);
    cr_assert_eq(a.evs[a.n_evs - 1].state, MSGLOG_CONN_OFFLINE, "states:%s", seq);
    cr_assert_eq(a.evs[a.n_evs - 1].last_error, MSGLOG_OK, "states:%s", seq);
    cr_assert_eq(msglog_client_result(a.client), MSGLOG_OK, "states:%s", seq);
    msglog_client_state(a.client, &st);
    cr_assert_eq(st.state, MSGLOG_CONN_OFFLINE);
    cr_assert_eq(st.retry_at_ms, 0);
    cr_assert_eq(st.last_error, MSGLOG_OK);
    cr_assert_str_empty(st.detail);
    cr_assert_lt(took, 5000, "a sync of 30 messages took %" PRIu64 " ms", took);

    /* The relay holds the 30 messages, exactly what alice has. */
    ri = check_info(rlog, TEAM);
    ai = check_info(a.log, TEAM);
    cr_assert_eq(ri->n_messages, 30);
    cr_assert_eq(ri->pending, 0);
    cr_assert_eq(ri->n_vv, 1);
    cr_assert_eq(ri->vv[0].replica, 10);
    cr_assert_eq(ri->vv[0].seq, 30);
    cr_assert_arr_eq(ri->digest, ai->digest, 16, "the relay's digest differs from alice's");
    msglog_free(ri);
    msglog_free(ai);
    for (int i = 0; i < 30; i++)
        cr_assert_eq(status_of(a.log, ids[i]), MSGLOG_STATUS_SENT, "message %d", i);
    cr_assert_geq(a.n_status, 1, "on_status was never called for team");
    cr_assert_eq(a.n_other_conv, 0);

    /* Once mode may start again: one more message, one more sync. */
    msglog_id extra = say(a.log, "alice", 30);
    size_t before = a.n_calls;
    a.base = a.n_calls;
    CHECK_OK(msglog_client_start(a.client));
    cr_assert_eq(msglog_client_start(a.client), MSGLOG_EINVAL, "started twice");
    run_until(pred_offline_done, &a, WAIT_MS, "the second sync to end OFFLINE");
    cr_assert_gt(a.n_calls, before);
    cr_assert_eq(a.evs[before].state, MSGLOG_CONN_CONNECTING);
    cr_assert_eq(msglog_client_result(a.client), MSGLOG_OK);
    cr_assert_eq(n_messages(rlog), 31);
    cr_assert_eq(status_of(a.log, extra), MSGLOG_STATUS_SENT);

    device_close(&a);
    msglog_relay_close(relay);
    msglog_close(rlog);
    finish_loop();
}

/* ======================================================================== */
/* 2. Watch: pushed, received, delivered, read                               */
/* ======================================================================== */

typedef struct pair {
    device *a, *b;
    msglog *rlog;
    uint64_t want;
} pair;

static int pred_both_synced(void *arg)
{
    pair *p = arg;
    return p->a->state == MSGLOG_CONN_UP_TO_DATE && p->b->state == MSGLOG_CONN_UP_TO_DATE &&
           n_messages(p->a->log) == p->want && n_messages(p->b->log) == p->want &&
           n_messages(p->rlog) == p->want;
}

static int pred_tracked_here(void *arg)
{
    device *d = arg;
    return d->tracked_here;
}

static int pred_cb_delivered(void *arg)
{
    device *d = arg;
    return d->status_in_cb >= MSGLOG_STATUS_DELIVERED;
}

static int pred_read(void *arg)
{
    device *d = arg;
    return d->status_in_cb >= MSGLOG_STATUS_READ || d->status_in_recv >= MSGLOG_STATUS_READ;
}

Test(net_client, watch)
{
    device a, b;
    msglog *rlog = open_store("relay", 1, "relay");
    msglog_relay *relay = relay_open(rlog, 0);
    uint16_t port = msglog_relay_port(relay);
    pair p;
    char seq[2048];

    device_init(&a, "alice", 10, "alice");
    device_init(&b, "bob", 20, "bob");
    for (int i = 0; i < 10; i++)
        say(a.log, "alice", i);
    for (int i = 0; i < 20; i++)
        say(b.log, "bob", i);

    msglog_client_options oa = device_options(&a, port, 1);
    msglog_client_options ob = device_options(&b, port, 1);
    device_connect(&a, &oa);
    device_connect(&b, &ob);
    cr_assert_eq(msglog_client_result(a.client), MSGLOG_EINVAL, "result in watch mode");

    p.a = &a;
    p.b = &b;
    p.rlog = rlog;
    p.want = 30;
    run_until(pred_both_synced, &p, WAIT_MS, "alice, bob and the relay to hold 30 messages");
    dump_evs(&a, seq, sizeof seq);
    cr_assert_eq(a.evs[0].state, MSGLOG_CONN_CONNECTING, "alice:%s", seq);
    cr_assert_eq(a.n_backoff, 0, "alice:%s", seq);
    cr_assert_eq(b.n_backoff, 0);
    cr_assert_geq(b.n_received, 1, "bob was never told about alice's first 10");

    /* A write while connected is pushed with no other call. */
    b.n_received = 0;
    a.n_status = 0;
    msglog_id m = say(a.log, "alice", 100);
    b.track = 1;
    b.tracked = m;
    a.track = 1;
    a.tracked = m;
    run_until(pred_tracked_here, &b, WAIT_MS, "bob's on_received with alice's new message");
    cr_assert_geq(b.n_received, 1);
    {
        msglog_page *pg = check_get(b.log, TEAM, m);
        cr_assert_eq(pg->n, 1);
        check_str(pg->messages[0].author, "alice", 5, "author");
        check_str(pg->messages[0].body, "alice says 100", 14, "body");
        msglog_free(pg);
    }

    /* Bob's device acknowledged it: alice is told (on_status) and sees it
     * delivered. */
    run_until(pred_cb_delivered, &a, WAIT_MS, "alice's on_status with the message delivered");
    cr_assert_eq(a.status_in_cb, MSGLOG_STATUS_DELIVERED);
    cr_assert_eq(status_of(a.log, m), MSGLOG_STATUS_DELIVERED);

    /* Bob reads it: alice sees it read. */
    size_t status_before = a.n_status;
    msglog_id r;
    CHECK_OK(msglog_mark_read(b.log, &r, TEAM, m));
    run_until(pred_read, &a, WAIT_MS, "alice to see the message read");
    cr_assert_eq(status_of(a.log, m), MSGLOG_STATUS_READ);
    cr_assert_gt(a.n_status, status_before, "on_status was not called after the read");
    cr_assert_eq(a.status_in_cb, MSGLOG_STATUS_READ,
                 "on_status never saw READ (on_received saw %d)", a.status_in_recv);
    cr_assert_eq(a.n_other_conv + b.n_other_conv, 0);
    cr_assert_eq(a.n_backoff + b.n_backoff, 0);

    device_close(&a);
    device_close(&b);
    msglog_relay_close(relay);
    msglog_close(rlog);
    finish_loop();
}

/* ======================================================================== */
/* 3. The relay goes away and comes back on the same port                    */
/* ======================================================================== */

typedef struct relay_wait {
    device *d;
    msglog *rlog;
    uint64_t want;
    size_t n_backoff;
} relay_wait;

static int pred_n_backoff(void *arg)
{
    relay_wait *w = arg;
    return w->d->n_backoff >= w->n_backoff;
}

static int pred_back_up(void *arg)
{
    relay_wait *w = arg;
    return w->d->state == MSGLOG_CONN_UP_TO_DATE && n_messages(w->rlog) == w->want;
}

Test(net_client, relay_restart)
{
    enum { BMIN = 100, BMAX = 400 };
    device a;
    msglog *rlog = open_store("relay", 1, "relay");
    msglog_relay *relay = relay_open(rlog, 0);
    uint16_t port = msglog_relay_port(relay);
    relay_wait w;
    char seq[4096];

    device_init(&a, "alice", 10, "alice");
    for (int i = 0; i < 5; i++)
        say(a.log, "alice", i);
    msglog_client_options o = device_options(&a, port, 1);
    o.backoff_min_ms = BMIN;
    o.backoff_max_ms = BMAX;
    device_connect(&a, &o);
    run_until(pred_up, &a, WAIT_MS, "alice UP_TO_DATE");
    w.d = &a;
    w.rlog = rlog;
    w.want = 5;
    run_until(pred_back_up, &w, WAIT_MS, "the relay to hold alice's 5 messages");

    /* The relay goes away. */
    size_t first = a.n_evs;
    uint64_t t0 = wall_ms();
    msglog_relay_close(relay);
    relay = NULL;
    run_until(pred_backoff, &a, WAIT_MS, "alice in BACKOFF");
    dump_evs(&a, seq, sizeof seq);
    {
        const ev *e = NULL;
        for (size_t i = first; i < a.n_evs; i++)
            if (a.evs[i].state == MSGLOG_CONN_BACKOFF) {
                e = &a.evs[i];
                break;
            }
        cr_assert_not_null(e, "states:%s", seq);
        cr_assert_geq(e->retry_at, t0 + BMIN / 2, "retry_at %" PRIu64 " is %" PRId64
                      " ms after the close:%s", e->retry_at, (int64_t)(e->retry_at - t0), seq);
        cr_assert_leq(e->retry_at, e->wall + BMAX, "retry_at %" PRIu64 " is %" PRId64
                      " ms after the callback:%s", e->retry_at, (int64_t)(e->retry_at - e->wall),
                      seq);
        cr_assert_gt(e->retry_at, e->wall, "retry_at is not in the future:%s", seq);
        cr_assert_neq(e->last_error, MSGLOG_OK, "states:%s", seq);
        cr_assert_str_not_empty(e->detail, "states:%s", seq);
        cr_log_info("after the relay closed: last_error %d, detail \"%s\"", e->last_error,
                    e->detail);
    }
    {
        msglog_conn_info st;
        msglog_client_state(a.client, &st);
        if (st.state == MSGLOG_CONN_BACKOFF) {
            cr_assert_neq(st.retry_at_ms, 0);
            cr_assert_neq(st.last_error, MSGLOG_OK);
            cr_assert_str_not_empty(st.detail);
        }
    }

    /* Written while the relay is away: the next HELLO covers it. */
    say(a.log, "alice", 5);

    /* A second failed attempt (the port refuses): the old listener is gone. */
    w.n_backoff = a.n_backoff + 1;
    run_until(pred_n_backoff, &w, WAIT_MS, "a second BACKOFF (connection refused)");
    dump_evs(&a, seq, sizeof seq);
    for (size_t i = first; i < a.n_evs; i++) {
        const ev *e = &a.evs[i];
        cr_assert(e->state == MSGLOG_CONN_BACKOFF || e->state == MSGLOG_CONN_CONNECTING,
                  "state %s while the relay is away:%s", state_name(e->state), seq);
        if (e->state == MSGLOG_CONN_BACKOFF) {
            cr_assert_gt(e->retry_at, e->wall, "retry_at not in the future:%s", seq);
            cr_assert_leq(e->retry_at, e->wall + BMAX, "retry_at beyond backoff_max:%s", seq);
            cr_assert_neq(e->last_error, MSGLOG_OK, "%s", seq);
            cr_assert_str_not_empty(e->detail, "%s", seq);
        }
    }

    /* A new relay on the same port (same store): alice comes back alone. */
    {
        uint64_t until = mono_ms() + 3000;
        int rc;
        for (;;) {
            rc = msglog_relay_new(&relay, rlog, &loop, HOST, port, NULL);
            if (rc == MSGLOG_OK || mono_ms() >= until)
                break;
            run_for(20);   /* failed relay_new: its handles close on the loop */
        }
        cr_assert_eq(rc, MSGLOG_OK, "a relay on port %u again -> %d: %s", (unsigned)port, rc,
                     msglog_errmsg(rlog));
        cr_assert_eq(msglog_relay_port(relay), port);
    }
    w.want = 6;
    run_until(pred_back_up, &w, WAIT_MS, "alice UP_TO_DATE with the new relay");
    {
        msglog_conn_info st;
        msglog_client_state(a.client, &st);
        cr_assert_eq(st.state, MSGLOG_CONN_UP_TO_DATE);
        cr_assert_eq(st.retry_at_ms, 0);
        cr_assert_eq(st.last_error, MSGLOG_OK, "last_error not cleared: %d", st.last_error);
        cr_assert_str_empty(st.detail);
    }
    dump_evs(&a, seq, sizeof seq);
    for (size_t i = first; i < a.n_evs; i++)
        cr_assert_neq(a.evs[i].state, MSGLOG_CONN_OFFLINE, "OFFLINE in watch mode:%s", seq);

    device_close(&a);
    msglog_relay_close(relay);
    msglog_close(rlog);
    finish_loop();
}

/* ======================================================================== */
/* 4. Connection refused; a listener that never answers                      */
/* ======================================================================== */

static uint16_t bound_port(uv_tcp_t *t)
{
    struct sockaddr_storage name;
    int len = sizeof name;
    cr_assert_eq(uv_tcp_getsockname(t, (struct sockaddr *)&name, &len), 0);
    return ntohs(((struct sockaddr_in *)&name)->sin_port);
}

Test(net_client, refused)
{
    device a;
    uv_tcp_t hold;        /* bound, never listening: connecting is refused */
    struct sockaddr_in addr;
    char where[64], seq[2048];

    cr_assert_eq(uv_ip4_addr(HOST, 0, &addr), 0);
    cr_assert_eq(uv_tcp_init(&loop, &hold), 0);
    cr_assert_eq(uv_tcp_bind(&hold, (const struct sockaddr *)&addr, 0), 0);
    uint16_t port = bound_port(&hold);
    snprintf(where, sizeof where, "%s:%u", HOST, (unsigned)port);

    device_init(&a, "alice", 10, "alice");
    say(a.log, "alice", 0);
    msglog_client_options o = device_options(&a, port, 0);
    device_connect(&a, &o);
    run_until(pred_offline_done, &a, WAIT_MS, "the refused sync to end OFFLINE");
    dump_evs(&a, seq, sizeof seq);
    cr_assert_eq(a.evs[0].state, MSGLOG_CONN_CONNECTING, "states:%s", seq);
    for (size_t i = 0; i < a.n_evs; i++)
        cr_assert(a.evs[i].state == MSGLOG_CONN_CONNECTING ||
                  (i + 1 == a.n_evs && a.evs[i].state == MSGLOG_CONN_OFFLINE), "states:%s", seq);
    cr_assert_eq(msglog_client_result(a.client), MSGLOG_ENET, "states:%s", seq);
    {
        const ev *e = &a.evs[a.n_evs - 1];
        msglog_conn_info st;
        cr_assert_eq(e->last_error, MSGLOG_ENET, "states:%s", seq);
        cr_assert(strstr(e->detail, where) != NULL, "detail \"%s\" does not name %s", e->detail,
                  where);
        cr_log_info("refused: \"%s\"", e->detail);
        msglog_client_state(a.client, &st);
        cr_assert_eq(st.state, MSGLOG_CONN_OFFLINE);
        cr_assert_eq(st.last_error, MSGLOG_ENET);
        cr_assert(strstr(st.detail, where) != NULL, "detail \"%s\"", st.detail);
    }
    cr_assert_eq(a.n_received + a.n_status, 0);

    device_close(&a);
    uv_close((uv_handle_t *)&hold, NULL);
    finish_loop();
}

/* A listener that accepts and never says anything. */
typedef struct silent {
    uv_tcp_t listener;
    uv_tcp_t *conns[16];
    int n_conns;
} silent;

static void silent_accept(uv_stream_t *server, int status)
{
    silent *s = server->data;
    uv_tcp_t *t;
    cr_assert_eq(status, 0);
    cr_assert_lt(s->n_conns, 16);
    t = malloc(sizeof *t);
    cr_assert_not_null(t);
    cr_assert_eq(uv_tcp_init(server->loop, t), 0);
    cr_assert_eq(uv_accept(server, (uv_stream_t *)t), 0);
    s->conns[s->n_conns++] = t;
}

static void free_on_close(uv_handle_t *h)
{
    free(h);
}

/* A listener that accepts and never answers: the client gives up after
 * `timeout` ms, through the whole run's timeout_ms (handshake 0) or the
 * attempt's own handshake_timeout_ms, with MSGLOG_ENET. */
static void expect_silence_ends(uint32_t timeout_ms, uint32_t handshake_ms, uint32_t timeout,
                                const char *detail)
{
    device a;
    silent s;
    struct sockaddr_in addr;
    char seq[2048];

    memset(&s, 0, sizeof s);
    cr_assert_eq(uv_ip4_addr(HOST, 0, &addr), 0);
    cr_assert_eq(uv_tcp_init(&loop, &s.listener), 0);
    s.listener.data = &s;
    cr_assert_eq(uv_tcp_bind(&s.listener, (const struct sockaddr *)&addr, 0), 0);
    cr_assert_eq(uv_listen((uv_stream_t *)&s.listener, 8, silent_accept), 0);
    uint16_t port = bound_port(&s.listener);

    device_init(&a, "alice", 10, "alice");
    say(a.log, "alice", 0);
    msglog_client_options o = device_options(&a, port, 0);
    o.timeout_ms = timeout_ms;
    o.handshake_timeout_ms = handshake_ms;
    uv_update_time(&loop);
    uint64_t t0 = mono_ms();
    device_connect(&a, &o);
    run_until(pred_offline_done, &a, WAIT_MS, "the silent sync to time out");
    const ev *e = &a.evs[a.n_evs - 1];
    uint64_t took = e->mono - t0;
    dump_evs(&a, seq, sizeof seq);
    cr_assert_eq(s.n_conns, 1, "the listener accepted %d connections", s.n_conns);
    cr_assert_eq(msglog_client_result(a.client), MSGLOG_ENET, "states:%s", seq);
    cr_assert_eq(e->last_error, MSGLOG_ENET, "states:%s", seq);
    cr_assert(strstr(e->detail, detail), "detail \"%s\"", e->detail);
    for (size_t i = 0; i + 1 < a.n_evs; i++)
        cr_assert_eq(a.evs[i].state, MSGLOG_CONN_CONNECTING, "states:%s", seq);
    cr_assert_geq(took + 5, timeout, "gave up after %" PRIu64 " ms", took);
    /* How much later it gave up depends on the machine's load: the wait's
     * own bound (WAIT_MS) is the only upper one. */
    cr_assert_lt(took, WAIT_MS, "gave up after %" PRIu64 " ms", took);
    cr_log_info("silent: gave up after %" PRIu64 " ms: \"%s\"", took, e->detail);

    device_close(&a);
    uv_close((uv_handle_t *)&s.listener, NULL);
    for (int i = 0; i < s.n_conns; i++)
        uv_close((uv_handle_t *)s.conns[i], free_on_close);
    finish_loop();
}

Test(net_client, silent)
{
    expect_silence_ends(300, 0, 300, "timed out");
}

/* Without a timeout of its own, the handshake's bounds the attempt. */
Test(net_client, silent_handshake)
{
    expect_silence_ends(0, 300, 300, "did not answer");
}

/* A device that connects again (here: a second store of the same replica)
 * replaces its older connection: the older one is closed with "replaced"
 * and backs off, the newer one syncs. */
static int pred_replaced(void *arg)
{
    device *d = arg;
    for (size_t i = 0; i < d->n_evs; i++)
        if (d->evs[i].state == MSGLOG_CONN_BACKOFF && strstr(d->evs[i].detail, "replaced"))
            return 1;
    return 0;
}

Test(net_client, replaced)
{
    device old, young;
    char seq[2048];
    msglog *rlog = open_store("relay", 1, "relay");
    msglog_relay *r = relay_open(rlog, 0);

    device_init(&old, "phone", 10, "alice");
    device_init(&young, "phone-again", 10, "alice");
    msglog_client_options o = device_options(&old, msglog_relay_port(r), 1);
    device_connect(&old, &o);
    run_until(pred_up, &old, WAIT_MS, "the first connection to be up to date");
    o = device_options(&young, msglog_relay_port(r), 0);
    device_connect(&young, &o);
    run_until(pred_replaced, &old, WAIT_MS, "the older connection to be replaced");
    msglog_client_close(old.client);   /* else it comes back and replaces the newer */
    old.client = NULL;
    run_until(pred_offline_done, &young, WAIT_MS, "the newer connection to finish its sync");
    dump_evs(&young, seq, sizeof seq);
    cr_assert_eq(msglog_client_result(young.client), MSGLOG_OK, "newer: %s", seq);

    device_close(&old);
    device_close(&young);
    msglog_relay_close(r);
    msglog_close(rlog);
    finish_loop();
}

/* ======================================================================== */
/* 5. Argument checks                                                        */
/* ======================================================================== */

static void client_einval(msglog *log, const msglog_client_options *o, const char *what)
{
    msglog_client *c = (msglog_client *)&loop;
    int rc = msglog_client_new(&c, log, &loop, o);
    cr_assert_eq(rc, MSGLOG_EINVAL, "%s: msglog_client_new -> %d", what, rc);
    cr_assert_null(c, "%s: *out not reset to NULL", what);
    cr_assert_str_not_empty(msglog_errmsg(log), "%s: no error text", what);
}

/* ======================================================================== */
/* 5. A store another process claimed                                        */
/* ======================================================================== */

/* A child that claims the stores "relay" and "alice", says so, and closes
 * them when told. It makes the stores itself: the parent opens nothing
 * before the fork. */
static pid_t start_claimer(handshake *h)
{
    pid_t pid = handshake_fork(h);

    cr_assert_neq(pid, -1);
    if (pid == 0) {
        msglog *r = NULL, *a = NULL;
        if (tstore_open(&r, root, "relay", 1, "relay", NULL) != MSGLOG_OK ||
            tstore_open(&a, root, "alice", 10, "alice", NULL) != MSGLOG_OK ||
            msglog_claim(r) != MSGLOG_OK || msglog_claim(a) != MSGLOG_OK)
            _exit(91);
        if (handshake_tell(h) != 0 || !handshake_heard(h))
            _exit(92);
        msglog_close(r);
        msglog_close(a);
        _exit(0);
    }
    cr_assert(handshake_heard(h), "the claimer did not claim");
    return pid;
}

static void expect_in_use(msglog *log, int rc, const char *name, pid_t holder)
{
    char want[512];

    cr_assert_eq(rc, MSGLOG_EBUSY, "%s on a claimed store -> %d", name, rc);
    snprintf(want, sizeof want, "the store in %s/%s is in use by process %ld", root, name,
             (long)holder);
    cr_assert_str_eq(msglog_errmsg(log), want);
}

Test(net_client, claimed)
{
    handshake h;
    int status;
    pid_t holder = start_claimer(&h);
    msglog *rlog = open_store("relay", 1, "relay");
    msglog_relay *r = (msglog_relay *)&loop;
    msglog_client *c = (msglog_client *)&loop;
    device a;

    device_init(&a, "alice", 10, "alice");
    /* Refused before listening: no port taken, nothing left on the loop. */
    expect_in_use(rlog, msglog_relay_new(&r, rlog, &loop, HOST, 0, NULL), "relay", holder);
    cr_assert_null(r);
    {
        msglog_client_options o = device_options(&a, 9, 1);
        expect_in_use(a.log, msglog_client_new(&c, a.log, &loop, &o), "alice", holder);
        cr_assert_null(c);
        /* Syncing once needs no claim. */
        o.watch = 0;
        CHECK_OK(msglog_client_new(&c, a.log, &loop, &o));
        msglog_client_close(c);
    }
    cr_assert_eq(handshake_tell(&h), 0);
    cr_assert_eq(waitpid(holder, &status, 0), holder);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "claimer status 0x%x", status);

    /* Released: both start. */
    r = relay_open(rlog, 0);
    {
        msglog_client_options o = device_options(&a, msglog_relay_port(r), 1);
        device_connect(&a, &o);
    }
    run_until(pred_up, &a, WAIT_MS, "alice UP_TO_DATE");
    device_close(&a);
    msglog_relay_close(r);
    msglog_close(rlog);
    finish_loop();
}

Test(net_client, args)
{
    msglog *log = open_store("alice", 10, "alice");
    msglog *rlog = open_store("relay", 1, "relay");
    msglog *other = open_store("other", 30, "carol");
    msglog_client *c = NULL, *c2 = (msglog_client *)&loop;
    msglog_relay *r = NULL, *r2 = (msglog_relay *)&loop;
    msglog_client_options ok = MSGLOG_CLIENT_OPTIONS_INIT, o;
    char long_host[300];
    char long_conv[MSGLOG_MAX_CONV + 2];
    msglog_str convs[2];
    int rc;

    ok.host = HOST;
    ok.port = 9;
    ok.watch = 1;

    /* NULLs */
    cr_assert_eq(msglog_client_new(NULL, log, &loop, &ok), MSGLOG_EINVAL);
    cr_assert_eq(msglog_client_new(&c2, NULL, &loop, &ok), MSGLOG_EINVAL);
    cr_assert_null(c2);
    c2 = (msglog_client *)&loop;
    cr_assert_eq(msglog_client_new(&c2, log, NULL, &ok), MSGLOG_EINVAL);
    cr_assert_null(c2);
    c2 = (msglog_client *)&loop;
    cr_assert_eq(msglog_client_new(&c2, log, &loop, NULL), MSGLOG_EINVAL);
    cr_assert_null(c2);

    /* Bad options */
    o = ok; o.version = 0;                client_einval(log, &o, "version 0");
    o = ok; o.version = 2;                client_einval(log, &o, "version 2");
    o = ok; o.host = NULL;                client_einval(log, &o, "host NULL");
    o = ok; o.host = "";                  client_einval(log, &o, "host empty");
    memset(long_host, 'h', 256);
    long_host[256] = '\0';
    o = ok; o.host = long_host;           client_einval(log, &o, "host 256 bytes");
    o = ok; o.port = 0;                   client_einval(log, &o, "port 0");
    o = ok; o.n_convs = 1;                client_einval(log, &o, "convs NULL");
    convs[0] = (msglog_str){ "team", 4 };
    convs[1] = (msglog_str){ "", 0 };
    o = ok; o.convs = convs; o.n_convs = 2;  client_einval(log, &o, "an empty conv");
    convs[1] = (msglog_str){ NULL, 3 };
    o = ok; o.convs = convs; o.n_convs = 2;  client_einval(log, &o, "a NULL conv");
    memset(long_conv, 'c', sizeof long_conv);
    convs[1] = (msglog_str){ long_conv, MSGLOG_MAX_CONV + 1 };
    o = ok; o.convs = convs; o.n_convs = 2;  client_einval(log, &o, "a conv of 256 bytes");
    o = ok; o.budget = 4u * 1024 * 1024 + 1; client_einval(log, &o, "budget over 4 MiB");
    o = ok; o.window = 65;                client_einval(log, &o, "window 65");
    o = ok; o.backoff_min_ms = 500; o.backoff_max_ms = 100;
    client_einval(log, &o, "backoff_min above backoff_max");

    /* The limits themselves are fine. */
    o = ok;
    memset(long_host, 'h', 255);
    long_host[255] = '\0';
    o.host = long_host;
    o.port = 65535;
    convs[1] = (msglog_str){ long_conv, MSGLOG_MAX_CONV };
    o.convs = convs;
    o.n_convs = 2;
    o.budget = 4u * 1024 * 1024;
    o.window = 64;
    o.backoff_min_ms = o.backoff_max_ms = 100;
    CHECK_OK(msglog_client_new(&c, log, &loop, &o));
    cr_assert_not_null(c);

    /* One client or relay per handle. */
    c2 = (msglog_client *)&loop;
    rc = msglog_client_new(&c2, log, &loop, &ok);
    cr_assert_eq(rc, MSGLOG_EINVAL, "a second client on the handle -> %d", rc);
    cr_assert_null(c2);
    cr_assert_str_not_empty(msglog_errmsg(log));
    r2 = (msglog_relay *)&loop;
    rc = msglog_relay_new(&r2, log, &loop, HOST, 0, NULL);
    cr_assert_eq(rc, MSGLOG_EINVAL, "a relay on a handle with a client -> %d", rc);
    cr_assert_null(r2);

    /* Not started: OFFLINE, no result. */
    {
        msglog_conn_info st;
        msglog_client_state(c, &st);
        cr_assert_eq(st.state, MSGLOG_CONN_OFFLINE);
        cr_assert_eq(st.last_error, MSGLOG_OK);
        cr_assert_eq(msglog_client_result(c), MSGLOG_EINVAL);
    }
    cr_assert_eq(msglog_client_start(NULL), MSGLOG_EINVAL);
    cr_assert_eq(msglog_client_result(NULL), MSGLOG_EINVAL);

    /* Closed: the handle takes a new client. */
    msglog_client_close(c);
    c = NULL;
    CHECK_OK(msglog_client_new(&c, log, &loop, &ok));
    CHECK_OK(msglog_client_start(c));
    cr_assert_eq(msglog_client_start(c), MSGLOG_EINVAL, "started twice");
    cr_assert_eq(msglog_client_result(c), MSGLOG_EINVAL, "result in watch mode");
    msglog_client_close(c);
    c = NULL;
    msglog_client_close(NULL);

    /* Relays */
    r2 = (msglog_relay *)&loop;
    cr_assert_eq(msglog_relay_new(NULL, rlog, &loop, HOST, 0, NULL), MSGLOG_EINVAL);
    cr_assert_eq(msglog_relay_new(&r2, NULL, &loop, HOST, 0, NULL), MSGLOG_EINVAL);
    cr_assert_null(r2);
    r2 = (msglog_relay *)&loop;
    cr_assert_eq(msglog_relay_new(&r2, rlog, NULL, HOST, 0, NULL), MSGLOG_EINVAL);
    cr_assert_null(r2);
    cr_assert_eq(msglog_relay_new(&r2, rlog, &loop, NULL, 0, NULL), MSGLOG_EINVAL);
    cr_assert_eq(msglog_relay_new(&r2, rlog, &loop, "", 0, NULL), MSGLOG_EINVAL);
    memset(long_host, 'h', 256);
    long_host[256] = '\0';
    cr_assert_eq(msglog_relay_new(&r2, rlog, &loop, long_host, 0, NULL), MSGLOG_EINVAL);
    {
        msglog_relay_options bad = MSGLOG_RELAY_OPTIONS_INIT;
        bad.version = MSGLOG_RELAY_OPTIONS_VERSION + 1;
        cr_assert_eq(msglog_relay_new(&r2, rlog, &loop, HOST, 0, &bad), MSGLOG_EVERSION);
        cr_assert_null(r2);
    }
    r = relay_open(rlog, 0);
    r2 = (msglog_relay *)&loop;
    rc = msglog_relay_new(&r2, rlog, &loop, HOST, 0, NULL);
    cr_assert_eq(rc, MSGLOG_EINVAL, "a second relay on the handle -> %d", rc);
    cr_assert_null(r2);
    c2 = (msglog_client *)&loop;
    rc = msglog_client_new(&c2, rlog, &loop, &ok);
    cr_assert_eq(rc, MSGLOG_EINVAL, "a client on a handle with a relay -> %d", rc);
    cr_assert_null(c2);
    /* A port in use: MSGLOG_ENET, its handles closed on the loop. */
    r2 = (msglog_relay *)&loop;
    rc = msglog_relay_new(&r2, other, &loop, HOST, msglog_relay_port(r), NULL);
    cr_assert_eq(rc, MSGLOG_ENET, "a relay on a port in use -> %d", rc);
    cr_assert_null(r2);
    cr_assert_str_not_empty(msglog_errmsg(other));
    cr_log_info("port in use: \"%s\"", msglog_errmsg(other));
    cr_assert_eq(msglog_relay_port(NULL), 0);
    msglog_relay_close(r);
    msglog_relay_close(NULL);

    msglog_close(log);
    msglog_close(rlog);
    msglog_close(other);
    finish_loop();
}
