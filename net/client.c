/* The client side of network sync (include/msglog.h, "Network sync"): one
 * connection at a time to a relay, a session on it, the connection state
 * and its callback, and reconnection with backoff in watch mode.
 *
 *   OFFLINE --start--> CONNECTING --HELLO--> SYNCING <--> UP_TO_DATE
 *                          ^                    |             |
 *                          |   (watch) failure: v             v
 *                          +---- timer ---- BACKOFF <---------+
 *   once mode: UP_TO_DATE and every write done -> OFFLINE (result OK);
 *              a failure or the timeout         -> OFFLINE (result error)
 *
 * Everything noted from inside a msglog call (the handle's commit hook) or
 * a session call (its hooks) is handled later from the loop, in `work`: the
 * session is pumped for conversations written locally, and the
 * application's callbacks run there, never from inside a library call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/bytes.h"
#include "net/conn.h"

#define READ_BUF 65536
#define DEFAULT_BACKOFF_MIN 250
#define DEFAULT_BACKOFF_MAX 30000
/* The backoff starts over only after a connection stayed up to date this
 * long: a relay that drops every connection right after the sync (or two
 * processes of one replica replacing each other) is retried ever slower. */
#define STABLE_MS 10000
/* A keep-alive this often while connected: a quarter of the relay's
 * default idle timeout (net/relay.c), so three can be lost or late. */
#define DEFAULT_KEEPALIVE_MS 15000
#define DEFAULT_HANDSHAKE_TIMEOUT_MS 30000

/* One resolve or connect in flight; `gen` tells whether the attempt it
 * belongs to is still the current one. */
typedef struct client_req {
    union {
        uv_getaddrinfo_t gai;
        uv_connect_t connect;
    } u;
    msglog_client *c;
    unsigned gen;
} client_req;

struct msglog_client {
    msglog *log;
    uv_loop_t *loop;
    char *host;
    uint16_t port;
    char where[272];          /* "host:port" for texts (host <= 255) */
    int watch;
    msglog_str *convs;        /* owned copies */
    size_t n_convs;
    uint32_t budget, window, backoff_min, backoff_max, timeout_ms, poll_ms, keepalive_ms;
    uint32_t handshake_timeout_ms;
    msglog_conn_fn on_state;
    msglog_conv_fn on_status, on_received;
    void *ctx;

    uv_timer_t retry;         /* BACKOFF: the next attempt */
    uv_timer_t deadline;      /* once mode: timeout_ms */
    uv_timer_t work;          /* 0 ms: deferred pumps and callbacks */
    uv_timer_t poll;          /* poll_ms: other processes' writes */
    uv_timer_t keepalive;     /* keepalive_ms: an empty frame to the relay */
    uv_timer_t handshake;     /* handshake_timeout_ms: an attempt's bound */
    int handles;              /* timers whose close callback is due */
    int reqs;                 /* client_req in flight */
    unsigned gen;             /* the current attempt */
    struct addrinfo *ai, *ai_next;   /* addresses left to try */

    net_conn *conn;           /* the current connection, NULL when none */
    uint8_t *rbuf;

    net_convs pump;           /* written locally: pump these */
    int pump_all;             /* a note was lost (memory): pump everything */
    net_convs status;         /* on_status to call */
    net_convs received;       /* on_received to call */
    /* poll_ms: each conversation's digest when last looked at, ascending
     * bytewise (the order of msglog_conversations()). */
    struct conv_digest *snap;
    size_t n_snap;

    msglog_conn_state state;
    uint64_t retry_at;
    int last_error;
    char detail[320];
    char conn_err[320];       /* the last address's connect error */
    /* What on_state was last told, to call it on changes only. */
    msglog_conn_state told_state;
    uint64_t told_retry_at;
    int told_error;

    int result;               /* once mode, when finished */
    int finished;
    uint32_t delay;           /* backoff: the current d (0: none yet) */
    uint64_t up_at;           /* uv_now() when this connection first was
                                 UP_TO_DATE; 0: not yet */
    uint64_t rng;
    int closing;
    int in_callback;
};

typedef struct conv_digest {
    char *name;
    size_t len;
    uint8_t digest[16];
} conv_digest;

/* ------------------------------------------------------------------------ */
/* State and callbacks                                                       */

/* Tells on_state when something it reports changed. */
static void report(msglog_client *c)
{
    msglog_conn_info info;

    if (c->state == c->told_state && c->retry_at == c->told_retry_at &&
        c->last_error == c->told_error)
        return;
    c->told_state = c->state;
    c->told_retry_at = c->retry_at;
    c->told_error = c->last_error;
    if (!c->on_state || c->in_callback)
        return;
    msglog_client_state(c, &info);
    c->in_callback = 1;
    c->on_state(c->ctx, &info);
    c->in_callback = 0;
}

static void work_fired(uv_timer_t *t);

static void schedule_work(msglog_client *c)
{
    if (!c->closing && !uv_is_active((uv_handle_t *)&c->work))
        uv_timer_start(&c->work, work_fired, 0, 0);
}

static uint64_t next_random(msglog_client *c)
{
    /* xorshift64*: jitter only, nothing depends on its quality. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * UINT64_C(2685821657736338717);
}

static void attempt(msglog_client *c);
static void handshake_expired(uv_timer_t *t);

static void retry_fired(uv_timer_t *t)
{
    msglog_client *c = t->data;

    c->retry_at = 0;
    attempt(c);
    report(c);
}

static void finish_once(msglog_client *c, int result)
{
    uv_timer_stop(&c->deadline);
    c->result = result;
    c->finished = 1;
    c->state = MSGLOG_CONN_OFFLINE;
    c->retry_at = 0;
}

/* The current attempt or connection failed (the connection, if any, is
 * already gone). Watch mode backs off, once mode is finished. */
static void failed(msglog_client *c, int err, const char *why)
{
    c->gen++;
    uv_timer_stop(&c->poll);
    uv_timer_stop(&c->keepalive);
    uv_timer_stop(&c->handshake);
    if (c->ai) {
        uv_freeaddrinfo(c->ai);
        c->ai = c->ai_next = NULL;
    }
    c->last_error = err;
    if (why != c->detail)
        snprintf(c->detail, sizeof c->detail, "%s", why);
    if (!c->watch) {
        finish_once(c, err);
        return;
    }
    if (c->up_at && uv_now(c->loop) - c->up_at >= STABLE_MS)
        c->delay = 0;
    c->up_at = 0;
    {
        uint64_t wait, span;

        if (c->delay == 0)
            c->delay = c->backoff_min;
        else
            c->delay = c->delay > c->backoff_max / 2 ? c->backoff_max : c->delay * 2;
        span = c->delay - c->delay / 2;
        wait = c->delay / 2 + next_random(c) % (span + 1);
        c->state = MSGLOG_CONN_BACKOFF;
        c->retry_at = net_wall_ms() + wait;
        uv_timer_start(&c->retry, retry_fired, wait, 0);
    }
}

/* Drops the current connection from our side: no `closed` report. */
static void drop_conn(msglog_client *c, int graceful, int err, const char *why)
{
    net_conn *conn = c->conn;

    if (!conn)
        return;
    c->conn = NULL;
    net_conn_close(conn, graceful, err, why);
}

/* Re-reads the session after anything happened on it. */
static void evaluate(msglog_client *c)
{
    session *s;
    int phase;

    if (c->closing || !c->conn || c->conn->closing || c->conn->draining || !(s = c->conn->s))
        return;
    phase = session_phase(s);
    if (phase != SESSION_PHASE_OPEN)
        return;
    if (c->state == MSGLOG_CONN_CONNECTING) {
        uv_timer_stop(&c->handshake);
        c->last_error = MSGLOG_OK;
        c->detail[0] = '\0';
        if (c->pump.n || c->pump_all)
            schedule_work(c);
    }
    if (!session_up_to_date(s)) {
        c->state = MSGLOG_CONN_SYNCING;
        return;
    }
    c->state = MSGLOG_CONN_UP_TO_DATE;
    if (!c->up_at)
        c->up_at = uv_now(c->loop);
    if (!c->watch && c->conn->writes == 0) {
        /* Done: what the relay still sends (a STATUS after our last ACK)
         * is taken until it ends the connection; then OFFLINE. */
        uv_timer_stop(&c->poll);
        uv_timer_stop(&c->keepalive);
        uv_timer_stop(&c->deadline);
        net_conn_drain(c->conn);
    }
}

/* ------------------------------------------------------------------------ */
/* Hooks: noted now, handled in `work`                                       */

static void commit_hook(void *ctx, const uint8_t *conv, size_t len)
{
    msglog_client *c = ctx;

    if (c->closing || !c->conn)
        return;     /* the next session's HELLO covers it */
    if (net_convs_add(&c->pump, conv, len) != MSGLOG_OK)
        c->pump_all = 1;
    schedule_work(c);
}

static void note(msglog_client *c, net_convs *set, const uint8_t *conv, size_t len)
{
    /* Without memory, one callback is lost; the next change of the same
     * conversation calls it again. */
    (void)net_convs_add(set, conv, len);
    schedule_work(c);
}

static void hook_committed(void *ctx, session *s, const uint8_t *conv, size_t len)
{
    msglog_client *c = ctx;
    (void)s;
    if (c->on_received)
        note(c, &c->received, conv, len);
}

static void hook_status(void *ctx, session *s, const uint8_t *conv, size_t len)
{
    msglog_client *c = ctx;
    (void)s;
    if (c->on_status)
        note(c, &c->status, conv, len);
}

/* Calls fn for every conversation of the set, then empties it; stops when
 * a callback closed the client (the set is freed with the client). */
static int call_each(msglog_client *c, net_convs *set, msglog_conv_fn fn)
{
    for (size_t i = 0; i < set->n && !c->closing; i++) {
        c->in_callback = 1;
        fn(c->ctx, set->v[i].data, set->v[i].len);
        c->in_callback = 0;
    }
    if (c->closing)
        return -1;
    net_convs_clear(set);
    return 0;
}

static void pump_noted(msglog_client *c)
{
    net_conn *conn = c->conn;
    int rc = MSGLOG_OK;

    if (!conn || !conn->s || conn->draining || session_phase(conn->s) != SESSION_PHASE_OPEN)
        return;     /* HELLO not there yet: pumped when it is */
    if (c->pump_all) {
        rc = session_pump(conn->s, NULL, 0);
        c->pump_all = 0;
    }
    for (size_t i = 0; rc == MSGLOG_OK && i < c->pump.n; i++)
        rc = session_pump(conn->s, (const uint8_t *)c->pump.v[i].data, c->pump.v[i].len);
    net_convs_clear(&c->pump);
    if (net_conn_flush(conn) != MSGLOG_OK || net_conn_check(conn))
        return;
    if (rc != MSGLOG_OK)
        net_conn_close(conn, 1, rc, msglog_errmsg(c->log));
}

static void work_fired(uv_timer_t *t)
{
    msglog_client *c = t->data;

    if (c->closing)
        return;
    if (c->conn)
        pump_noted(c);
    else
        net_convs_clear(&c->pump);
    if (c->closing)
        return;
    evaluate(c);
    report(c);
    if (c->closing || call_each(c, &c->received, c->on_received) != 0)
        return;
    call_each(c, &c->status, c->on_status);
}

/* ------------------------------------------------------------------------ */
/* Polling for other processes' writes                                       */

static int wanted(const msglog_client *c, const msglog_str *conv)
{
    if (c->n_convs == 0)
        return 1;
    for (size_t i = 0; i < c->n_convs; i++)
        if (bytes_cmp(c->convs[i].data, c->convs[i].len, conv->data, conv->len) == 0)
            return 1;
    return 0;
}

static void snap_free(conv_digest *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/*
 * Takes each conversation's digest; with `pump`, pumps those whose digest
 * differs from the last look (new ones included). Nothing is lost when this
 * fails: the next look compares with the older snapshot again.
 */
static void snapshot(msglog_client *c, int pump)
{
    msglog_str *convs = NULL;
    size_t n = 0, k = 0, j = 0;
    conv_digest *v;
    session *s = pump && c->conn ? c->conn->s : NULL;

    if (msglog_conversations(c->log, &convs, &n) != MSGLOG_OK)
        return;
    if (!(v = calloc(n ? n : 1, sizeof *v))) {
        msglog_free(convs);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        msglog_conv_info *info = NULL;
        int changed;

        if (!wanted(c, &convs[i]) ||
            msglog_conv_info_get(c->log, &info, convs[i].data, convs[i].len) != MSGLOG_OK)
            continue;
        while (j < c->n_snap && bytes_cmp(c->snap[j].name, c->snap[j].len, convs[i].data,
                                         convs[i].len) < 0)
            j++;
        changed = j >= c->n_snap ||
                  bytes_cmp(c->snap[j].name, c->snap[j].len, convs[i].data, convs[i].len) != 0 ||
                  memcmp(c->snap[j].digest, info->digest, 16) != 0;
        if (!(v[k].name = malloc(convs[i].len + 1))) {
            msglog_free(info);
            continue;
        }
        memcpy(v[k].name, convs[i].data, convs[i].len + 1);
        v[k].len = convs[i].len;
        memcpy(v[k].digest, info->digest, 16);
        k++;
        msglog_free(info);
        if (changed && s && session_pump(s, (const uint8_t *)convs[i].data, convs[i].len) !=
                                MSGLOG_OK)
            s = NULL;   /* the session failed: net_conn_check closes it */
    }
    msglog_free(convs);
    snap_free(c->snap, c->n_snap);
    c->snap = v;
    c->n_snap = k;
}

static void poll_fired(uv_timer_t *t)
{
    msglog_client *c = t->data;

    if (c->closing || !c->conn || !c->conn->s || session_phase(c->conn->s) != SESSION_PHASE_OPEN)
        return;
    snapshot(c, 1);
    if (net_conn_flush(c->conn) != MSGLOG_OK || net_conn_check(c->conn)) {
        report(c);
        return;
    }
    evaluate(c);
    report(c);
}

/* The relay closes a connection that sends nothing for its idle timeout;
 * a client with nothing to say (watching, or waiting for a long download)
 * says this. */
static void keepalive_fired(uv_timer_t *t)
{
    msglog_client *c = t->data;
    net_conn *conn = c->conn;

    if (c->closing || !conn || !conn->s || conn->draining)
        return;
    if (session_keepalive(conn->s) != MSGLOG_OK)
        return;     /* out of memory: the next one may do */
    if (net_conn_flush(conn) != MSGLOG_OK)
        report(c);
}

/* ------------------------------------------------------------------------ */
/* The connection                                                            */

static void conn_fed(net_conn *conn)
{
    msglog_client *c = conn->owner;

    evaluate(c);
    report(c);
}

static void conn_closed(net_conn *conn, int err, const char *why)
{
    msglog_client *c = conn->owner;

    if (c->conn != conn)
        return;     /* we dropped it ourselves */
    c->conn = NULL;
    if (conn->draining) {
        finish_once(c, MSGLOG_OK);
    } else {
        failed(c, err == MSGLOG_OK ? MSGLOG_ENET : err, why);
    }
    report(c);
}

static const net_conn_ops client_ops = { conn_fed, conn_fed, conn_closed };

static void maybe_free(msglog_client *c);

static client_req *req_new(msglog_client *c)
{
    client_req *r = malloc(sizeof *r);

    if (r) {
        r->c = c;
        r->gen = c->gen;
        c->reqs++;
    }
    return r;
}

/* @return 1 when the request's attempt is over (and frees it). */
static int req_done(client_req *r)
{
    msglog_client *c = r->c;
    int stale = c->closing || r->gen != c->gen;

    c->reqs--;
    free(r);
    if (c->closing)
        maybe_free(c);
    return stale;
}

static void try_next_address(msglog_client *c);

static void start_session(msglog_client *c)
{
    session_config cfg;
    session *s = NULL;
    const char *why = "";
    int rc;

    memset(&cfg, 0, sizeof cfg);
    cfg.role = SESSION_ROLE_CLIENT;
    cfg.budget = c->budget;
    cfg.window = c->window;
    cfg.convs = c->convs;
    cfg.n_convs = c->n_convs;
    cfg.all_convs = c->n_convs == 0;
    cfg.hooks.ctx = c;
    cfg.hooks.committed = hook_committed;
    cfg.hooks.acked = hook_status;
    cfg.hooks.status = hook_status;
    if (c->poll_ms) {
        /* What the HELLO will cover; later changes are looked for. */
        snapshot(c, 0);
        uv_timer_start(&c->poll, poll_fired, c->poll_ms, c->poll_ms);
    }
    uv_timer_start(&c->keepalive, keepalive_fired, c->keepalive_ms, c->keepalive_ms);
    rc = session_new(&s, c->log, &cfg);
    if (rc != MSGLOG_OK) {
        char text[256];
        snprintf(text, sizeof text, "cannot start the session: %s", msglog_errmsg(c->log));
        drop_conn(c, 0, rc, text);
        failed(c, rc, text);
        return;
    }
    rc = net_conn_start(c->conn, s, &why);
    if (rc != MSGLOG_OK) {
        char text[256];
        snprintf(text, sizeof text, "cannot use the connection: %s", why);
        drop_conn(c, 0, rc, text);
        failed(c, rc, text);
    }
}

static void connected(uv_connect_t *req, int status)
{
    client_req *r = (client_req *)req;
    msglog_client *c = r->c;

    if (req_done(r))
        return;
    if (status < 0) {
        net_conn_discard(c->conn);
        c->conn = NULL;
        snprintf(c->conn_err, sizeof c->conn_err, "cannot connect to %s: %s", c->where,
                 uv_strerror(status));
        try_next_address(c);
    } else {
        uv_freeaddrinfo(c->ai);
        c->ai = c->ai_next = NULL;
        start_session(c);
    }
    report(c);
}

/* Connects to the next resolved address; when none is left, the attempt
 * failed with the error of the last one. */
static void try_next_address(msglog_client *c)
{
    struct addrinfo *ai = c->ai_next;
    client_req *r;
    int uv_err;

    while (ai && ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
        ai = ai->ai_next;
    if (!ai) {
        failed(c, MSGLOG_ENET, c->conn_err);
        return;
    }
    c->ai_next = ai->ai_next;
    if (!(c->conn = net_conn_new(c->loop, &client_ops, c, c->rbuf, READ_BUF, &uv_err))) {
        failed(c, uv_err == UV_ENOMEM ? MSGLOG_ENOMEM : MSGLOG_ENET, uv_strerror(uv_err));
        return;
    }
    c->conn->peer = "the relay";
    if (!(r = req_new(c))) {
        net_conn_discard(c->conn);
        c->conn = NULL;
        failed(c, MSGLOG_ENOMEM, "out of memory");
        return;
    }
    uv_err = uv_tcp_connect(&r->u.connect, &c->conn->tcp, ai->ai_addr, connected);
    if (uv_err != 0) {
        c->reqs--;
        free(r);
        net_conn_discard(c->conn);
        c->conn = NULL;
        snprintf(c->conn_err, sizeof c->conn_err, "cannot connect to %s: %s", c->where,
                 uv_strerror(uv_err));
        try_next_address(c);
    }
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    client_req *r = (client_req *)req;
    msglog_client *c = r->c;

    if (req_done(r)) {
        uv_freeaddrinfo(res);
        return;
    }
    if (status < 0) {
        char text[256];
        snprintf(text, sizeof text, "cannot resolve %s: %s", c->host, uv_strerror(status));
        failed(c, MSGLOG_ENET, text);
    } else {
        c->ai = c->ai_next = res;
        snprintf(c->conn_err, sizeof c->conn_err, "cannot connect to %s: no address", c->where);
        try_next_address(c);
    }
    report(c);
}

/* A new attempt: resolve, then connect to each address in turn. */
static void attempt(msglog_client *c)
{
    struct addrinfo hints;
    char port[8];
    client_req *r;
    int uv_err;

    c->gen++;
    c->up_at = 0;
    c->state = MSGLOG_CONN_CONNECTING;
    c->retry_at = 0;
    uv_timer_start(&c->handshake, handshake_expired, c->handshake_timeout_ms, 0);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof port, "%u", (unsigned)c->port);
    if (!(r = req_new(c))) {
        failed(c, MSGLOG_ENOMEM, "out of memory");
        return;
    }
    uv_err = uv_getaddrinfo(c->loop, &r->u.gai, resolved, c->host, port, &hints);
    if (uv_err != 0) {
        char text[256];
        c->reqs--;
        free(r);
        snprintf(text, sizeof text, "cannot resolve %s: %s", c->host, uv_strerror(uv_err));
        failed(c, MSGLOG_ENET, text);
    }
}

/* The attempt did not reach SYNCING in time: a host that accepts and never
 * answers (or a connect that hangs) fails like any other network error. */
static void handshake_expired(uv_timer_t *t)
{
    msglog_client *c = t->data;
    char text[96];

    if (c->closing || c->finished || c->state != MSGLOG_CONN_CONNECTING)
        return;
    snprintf(text, sizeof text, "the relay did not answer within %.1f s",
             c->handshake_timeout_ms / 1000.0);
    drop_conn(c, 0, MSGLOG_ENET, text);
    failed(c, MSGLOG_ENET, text);
    report(c);
}

static void deadline_fired(uv_timer_t *t)
{
    msglog_client *c = t->data;
    char text[80];

    if (c->closing || c->finished)
        return;
    snprintf(text, sizeof text, "timed out after %.1f s", c->timeout_ms / 1000.0);
    drop_conn(c, 0, MSGLOG_ENET, text);
    failed(c, MSGLOG_ENET, text);
    report(c);
}

/* ------------------------------------------------------------------------ */
/* The API                                                                   */

static void free_client(msglog_client *c)
{
    for (size_t i = 0; i < c->n_convs; i++)
        free((char *)c->convs[i].data);
    free(c->convs);
    free(c->host);
    free(c->rbuf);
    net_convs_free(&c->pump);
    net_convs_free(&c->status);
    net_convs_free(&c->received);
    snap_free(c->snap, c->n_snap);
    if (c->ai)
        uv_freeaddrinfo(c->ai);
    free(c);
}

static void maybe_free(msglog_client *c)
{
    if (c->handles == 0 && c->reqs == 0)
        free_client(c);
}

static void timer_closed(uv_handle_t *h)
{
    msglog_client *c = h->data;

    c->handles--;
    maybe_free(c);
}

static int invalid(msglog *log, const char *what)
{
    return session_log_fail(log, MSGLOG_EINVAL, "msglog_client_new: %s", what);
}

static int check_options(msglog *log, const msglog_client_options *o)
{
    if (o->version != MSGLOG_CLIENT_OPTIONS_VERSION)
        return invalid(log, "unknown options version (use MSGLOG_CLIENT_OPTIONS_INIT)");
    if (!o->host || !*o->host || strlen(o->host) > 255)
        return invalid(log, "host must be 1..255 bytes");
    if (o->port == 0)
        return invalid(log, "port must be 1..65535");
    if (o->n_convs && !o->convs)
        return invalid(log, "convs is NULL");
    for (size_t i = 0; i < o->n_convs; i++)
        if (!o->convs[i].data || o->convs[i].len == 0 || o->convs[i].len > MSGLOG_MAX_CONV)
            return invalid(log, "a conversation id must be 1..255 bytes");
    if (o->budget > 4u * 1024 * 1024)
        return invalid(log, "budget must be at most 4 MiB");
    if (o->window > 64)
        return invalid(log, "window must be at most 64");
    if (o->backoff_min_ms && o->backoff_max_ms && o->backoff_min_ms > o->backoff_max_ms)
        return invalid(log, "backoff_min_ms is above backoff_max_ms");
    return MSGLOG_OK;
}

static int copy_options(msglog_client *c, const msglog_client_options *o)
{
    if (!(c->host = strdup(o->host)) || !(c->rbuf = malloc(READ_BUF)))
        return MSGLOG_ENOMEM;
    if (o->n_convs && !(c->convs = calloc(o->n_convs, sizeof *c->convs)))
        return MSGLOG_ENOMEM;
    for (size_t i = 0; i < o->n_convs; i++) {
        char *d = malloc(o->convs[i].len + 1);
        if (!d)
            return MSGLOG_ENOMEM;
        memcpy(d, o->convs[i].data, o->convs[i].len);
        d[o->convs[i].len] = '\0';
        c->convs[i].data = d;
        c->convs[i].len = o->convs[i].len;
        c->n_convs++;
    }
    c->port = o->port;
    net_addr_text(c->where, sizeof c->where, c->host, c->port);
    c->watch = o->watch != 0;
    c->budget = o->budget;
    c->window = o->window;
    c->backoff_min = o->backoff_min_ms ? o->backoff_min_ms : DEFAULT_BACKOFF_MIN;
    c->backoff_max = o->backoff_max_ms ? o->backoff_max_ms : DEFAULT_BACKOFF_MAX;
    if (c->backoff_min > c->backoff_max)
        c->backoff_min = c->backoff_max;
    c->timeout_ms = o->timeout_ms;
    c->poll_ms = o->poll_ms;
    c->keepalive_ms = o->keepalive_ms ? o->keepalive_ms : DEFAULT_KEEPALIVE_MS;
    c->handshake_timeout_ms = o->handshake_timeout_ms ? o->handshake_timeout_ms
                                                      : DEFAULT_HANDSHAKE_TIMEOUT_MS;
    c->on_state = o->on_state;
    c->on_status = o->on_status;
    c->on_received = o->on_received;
    c->ctx = o->ctx;
    return MSGLOG_OK;
}

int msglog_client_new(msglog_client **out, msglog *log, struct uv_loop_s *loop,
                      const msglog_client_options *opts)
{
    msglog_client *c;
    int rc;

    if (!out)
        return session_log_fail(log, MSGLOG_EINVAL, "msglog_client_new: out is NULL");
    *out = NULL;
    if (!log || !loop || !opts)
        return session_log_fail(log, MSGLOG_EINVAL, "msglog_client_new: log, loop and opts are required");
    if ((rc = check_options(log, opts)) != MSGLOG_OK)
        return rc;
    if (session_commits_watched(log))
        return invalid(log, "this handle already has a client or a relay");
    if (opts->watch && (rc = msglog_claim(log)) != MSGLOG_OK)
        return rc;    /* another relay or watching client runs on the store */
    if (!(c = calloc(1, sizeof *c)))
        return session_log_fail(log, MSGLOG_ENOMEM, "msglog_client_new: out of memory");
    c->log = log;
    c->loop = loop;
    if ((rc = copy_options(c, opts)) != MSGLOG_OK) {
        free_client(c);
        return session_log_fail(log, rc, "msglog_client_new: out of memory");
    }
    c->state = c->told_state = MSGLOG_CONN_OFFLINE;
    c->result = MSGLOG_EINVAL;
    c->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)c ^ UINT64_C(0x9e3779b97f4a7c15);
    if (c->rng == 0)
        c->rng = 1;
    c->retry.data = c->deadline.data = c->work.data = c->poll.data = c->keepalive.data = c;
    c->handshake.data = c;
    uv_timer_init(loop, &c->poll);
    uv_timer_init(loop, &c->keepalive);
    uv_timer_init(loop, &c->handshake);
    uv_timer_init(loop, &c->retry);
    uv_timer_init(loop, &c->deadline);
    uv_timer_init(loop, &c->work);
    session_watch_commits(log, commit_hook, c);
    *out = c;
    return session_log_ok(log);
}

int msglog_client_start(msglog_client *c)
{
    if (!c || c->closing || c->state != MSGLOG_CONN_OFFLINE || c->conn)
        return MSGLOG_EINVAL;
    c->finished = 0;
    c->result = MSGLOG_EINVAL;
    c->delay = 0;
    c->last_error = MSGLOG_OK;
    c->detail[0] = '\0';
    if (!c->watch && c->timeout_ms)
        uv_timer_start(&c->deadline, deadline_fired, c->timeout_ms, 0);
    attempt(c);
    /* on_state is told from the loop, not from inside this call. */
    schedule_work(c);
    return MSGLOG_OK;
}

void msglog_client_state(const msglog_client *c, msglog_conn_info *out)
{
    out->state = c->state;
    out->retry_at_ms = c->state == MSGLOG_CONN_BACKOFF ? c->retry_at : 0;
    out->last_error = c->last_error;
    out->detail = c->detail;
}

int msglog_client_result(const msglog_client *c)
{
    if (!c || c->watch || !c->finished)
        return MSGLOG_EINVAL;
    return c->result;
}

void msglog_client_close(msglog_client *c)
{
    uv_timer_t *timers[6];

    if (!c || c->closing)
        return;
    c->closing = 1;
    c->gen++;
    session_unwatch_commits(c->log, c);
    drop_conn(c, 1, MSGLOG_OK, "closed");
    if (c->ai) {
        uv_freeaddrinfo(c->ai);
        c->ai = c->ai_next = NULL;
    }
    c->state = MSGLOG_CONN_OFFLINE;
    c->retry_at = 0;
    report(c);
    timers[0] = &c->retry;
    timers[1] = &c->deadline;
    timers[2] = &c->work;
    timers[3] = &c->poll;
    timers[4] = &c->keepalive;
    timers[5] = &c->handshake;
    for (int i = 0; i < 6; i++) {
        c->handles++;
        uv_close((uv_handle_t *)timers[i], timer_closed);
    }
}
