/* The relay side of network sync (include/msglog.h, "Network sync"): a TCP
 * listener, one relay session per accepted connection, and the fan-out of
 * docs/protocol.md section 6.
 *
 * Fan-out. Every commit of the relay's store (a device's batch, committed
 * inside that device's session_feed) reaches the handle's commit hook; the
 * sessions' hooks add the conversations whose STATUS may change (an ACK of
 * a device). Both only note the conversation: `work`, run from the loop
 * right after, pumps every connection whose device wants it and refreshes
 * its STATUS, then flushes. Ops are thus sent only after the commit that
 * made them durable returned, and an ACK is sent by the session only after
 * its own commit: nothing here reorders either.
 *
 * A connection that fails (protocol, storage, network) is closed alone; a
 * device that connects again replaces its older connection (ERROR
 * replaced); a connection that sends no HELLO within hello_timeout_ms is
 * dropped, and at most max_conns are served at a time (msglog_relay_options).
 * What connections hold is counted in one memory budget, shared by all
 * (net/budget.h); pacing it is net/conn.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/grow.h"
#include "net/conn.h"

#define READ_BUF 65536
#define BACKLOG 128
#define DEFAULT_MAX_CONNS 10000
#define DEFAULT_HELLO_TIMEOUT_MS 30000
#define SWEEP_MS 5000           /* at most; shorter for a shorter hello timeout */
#define DEFAULT_MEMORY_BUDGET ((size_t)1 << 30)

struct msglog_relay {
    msglog *log;
    uv_loop_t *loop;
    msglog_relay_options opts;   /* defaults filled in */
    uv_tcp_t listener;
    uv_timer_t work;          /* 0 ms: fan-out and replacements */
    uv_timer_t sweep;         /* connections without HELLO */
    int handles;              /* handles whose close callback is due */
    uint16_t port;
    uint8_t *rbuf;            /* one read buffer for every connection */
    net_conn *conns;          /* open connections, newest first */
    size_t n_conns;
    net_convs dirty;          /* conversations to fan out */
    int dirty_all;            /* a note was lost (memory): every one */
    session **hellos;         /* sessions whose HELLO came: replace older */
    size_t n_hellos, cap_hellos;
    int hellos_lost;          /* a note was lost: check every connection */
    int accept_stalled;       /* a connection is waiting to be accepted */
    int closing;
    net_budget budget;        /* opts.memory_budget, shared by connections */
};

static void work_fired(uv_timer_t *t);

static void schedule_work(msglog_relay *r)
{
    if (!r->closing && !uv_is_active((uv_handle_t *)&r->work))
        uv_timer_start(&r->work, work_fired, 0, 0);
}

/* ------------------------------------------------------------------------ */
/* Hooks: noted now, handled in `work`                                       */

static void note_conv(msglog_relay *r, const uint8_t *conv, size_t len)
{
    if (net_convs_add(&r->dirty, conv, len) != MSGLOG_OK)
        r->dirty_all = 1;
    schedule_work(r);
}

static void commit_hook(void *ctx, const uint8_t *conv, size_t len)
{
    note_conv(ctx, conv, len);
}

static void hook_conv(void *ctx, session *s, const uint8_t *conv, size_t len)
{
    (void)s;
    note_conv(ctx, conv, len);
}

static void hook_hello(void *ctx, session *s)
{
    msglog_relay *r = ctx;

    session **v = grow_array(r->hellos, &r->cap_hellos, r->n_hellos + 1, sizeof *v);
    if (!v) {
        r->hellos_lost = 1;
        schedule_work(r);
        return;
    }
    r->hellos = v;
    r->hellos[r->n_hellos++] = s;
    schedule_work(r);
}

/* ------------------------------------------------------------------------ */
/* Work                                                                      */

static int is_open(const net_conn *c)
{
    return !c->closing && c->s && session_phase(c->s) == SESSION_PHASE_OPEN;
}

/* Writes what c's session queued, then closes c if the session ended (its
 * ERROR goes out first). May unlink c from the list. */
static void flush_and_check(net_conn *c)
{
    if (net_conn_flush(c) == MSGLOG_OK)
        net_conn_check(c);
}

/* Closes the open connections of the replica of `keep`'s peer that are
 * older than `keep` (after it in the list, which is newest first). */
static void replace_older(net_conn *keep)
{
    uint64_t replica = session_peer_replica(keep->s);
    net_conn *c, *next;

    for (c = keep->next; c; c = next) {
        next = c->next;
        if (is_open(c) && session_peer_replica(c->s) == replica) {
            session_close_replaced(c->s, "replaced by a newer connection");
            flush_and_check(c);
        }
    }
}

/* The newest open connection of the replica of `c`'s peer. */
static net_conn *newest_of(msglog_relay *r, const net_conn *c)
{
    uint64_t replica = session_peer_replica(c->s);
    net_conn *n = r->conns;

    while (!(is_open(n) && session_peer_replica(n->s) == replica))
        n = n->next;
    return n;
}

/* A device that connects again replaces its older connections: the newest
 * connection of a replica wins, whichever HELLO came first. */
static void do_replacements(msglog_relay *r)
{
    if (r->hellos_lost) {
        for (net_conn *c = r->conns; c; c = c->next)
            if (is_open(c))
                replace_older(c);
    }
    for (size_t i = 0; i < r->n_hellos; i++)
        for (net_conn *c = r->conns; c; c = c->next)
            if (c->s == r->hellos[i] && is_open(c)) {
                replace_older(newest_of(r, c));
                break;
            }
    r->n_hellos = 0;
    r->hellos_lost = 0;
}

/* Pumps and refreshes the STATUS of conv (NULL: any) on one connection. */
static void fan_out_one(net_conn *c, const uint8_t *conv, size_t len)
{
    int rc = session_pump(c->s, conv, len);

    if (rc == MSGLOG_OK && conv)
        rc = session_refresh_status(c->s, conv, len);
    if (rc != MSGLOG_OK && session_phase(c->s) != SESSION_PHASE_CLOSED)
        session_close_internal(c->s, msglog_strerror(rc));
}

static void fan_out(msglog_relay *r)
{
    net_conn *c, *next;

    for (c = r->conns; c; c = c->next) {
        if (!is_open(c))
            continue;
        if (r->dirty_all)
            fan_out_one(c, NULL, 0);
        for (size_t i = 0; i < r->dirty.n && is_open(c); i++) {
            const uint8_t *conv = (const uint8_t *)r->dirty.v[i].data;
            size_t len = r->dirty.v[i].len;
            if (session_wants(c->s, conv, len))
                fan_out_one(c, conv, len);
        }
    }
    net_convs_clear(&r->dirty);
    r->dirty_all = 0;
    /* Flushing may close connections (unlinking them): next is kept. */
    for (c = r->conns; c; c = next) {
        next = c->next;
        flush_and_check(c);
    }
}

static void work_fired(uv_timer_t *t)
{
    msglog_relay *r = t->data;

    if (r->closing)
        return;
    do_replacements(r);
    fan_out(r);
}

static void accepted(uv_stream_t *server, int status);

static void sweep_fired(uv_timer_t *t)
{
    msglog_relay *r = t->data;
    uint64_t now = uv_now(r->loop);
    net_conn *c, *next;

    if (r->accept_stalled) {
        r->accept_stalled = 0;
        accepted((uv_stream_t *)&r->listener, 0);
    }

    for (c = r->conns; c; c = next) {
        next = c->next;
        if (!c->closing && c->s && session_phase(c->s) == SESSION_PHASE_HELLO &&
            now - c->opened_at >= r->opts.hello_timeout_ms)
            net_conn_close(c, 0, MSGLOG_EIO, "no HELLO in time");
    }
}

/* ------------------------------------------------------------------------ */
/* Connections                                                               */

static void conn_closed(net_conn *c, int err, const char *why)
{
    msglog_relay *r = c->owner;

    (void)err;
    (void)why;
    if (c->prev)
        c->prev->next = c->next;
    else
        r->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    r->n_conns--;
}

static const net_conn_ops relay_ops = { NULL, NULL, conn_closed };

static void accepted(uv_stream_t *server, int status)
{
    msglog_relay *r = server->data;
    session_config cfg;
    session *s = NULL;
    const char *why = "";
    net_conn *c;
    int uv_err;

    if (status < 0 || r->closing)
        return;
    if (!(c = net_conn_new(r->loop, &relay_ops, r, r->rbuf, READ_BUF, &uv_err))) {
        /* libuv stops watching the listener until the pending connection
         * is accepted: the sweep tries again, or nobody would get in. */
        r->accept_stalled = 1;
        return;
    }
    c->peer = "the device";
    c->budget = &r->budget;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        net_conn_discard(c);
        return;
    }
    if (r->n_conns >= r->opts.max_conns) {
        net_conn_discard(c);   /* closes the accepted socket */
        return;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.role = SESSION_ROLE_RELAY;
    cfg.hooks.ctx = r;
    cfg.hooks.hello = hook_hello;
    cfg.hooks.committed = hook_conv;
    cfg.hooks.acked = hook_conv;
    if (session_new(&s, r->log, &cfg) != MSGLOG_OK) {
        net_conn_discard(c);
        return;
    }
    c->next = r->conns;
    if (r->conns)
        r->conns->prev = c;
    r->conns = c;
    r->n_conns++;
    if (net_conn_start(c, s, &why) != MSGLOG_OK)
        net_conn_close(c, 0, MSGLOG_EIO, why);
}

/* ------------------------------------------------------------------------ */
/* The API                                                                   */

static void free_relay(msglog_relay *r)
{
    net_convs_free(&r->dirty);
    free(r->hellos);
    free(r->rbuf);
    free(r);
}

static void handle_closed(uv_handle_t *h)
{
    msglog_relay *r = h->data;

    if (--r->handles == 0)
        free_relay(r);
}

static void close_handles(msglog_relay *r, int listener)
{
    uv_handle_t *hs[3];
    int n = 0;

    hs[n++] = (uv_handle_t *)&r->work;
    hs[n++] = (uv_handle_t *)&r->sweep;
    if (listener)
        hs[n++] = (uv_handle_t *)&r->listener;
    r->handles = n;
    for (int i = 0; i < n; i++)
        uv_close(hs[i], handle_closed);
}

/* Binds and listens on the first address `host` resolves to. */
static int listen_on(msglog_relay *r, const char *host, uint16_t port)
{
    struct addrinfo hints, *ai = NULL;
    struct sockaddr_storage name;
    int namelen = sizeof name;
    char where[300], portstr[8];
    int e;

    net_addr_text(where, sizeof where, host, port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
    {
        uv_getaddrinfo_t req;
        e = uv_getaddrinfo(r->loop, &req, NULL, host, portstr, &hints);
        ai = req.addrinfo;
    }
    if (e != 0)
        return session_log_fail(r->log, MSGLOG_EIO, "cannot resolve %s: %s", host, uv_strerror(e));
    e = uv_tcp_bind(&r->listener, ai->ai_addr, 0);
    uv_freeaddrinfo(ai);
    if (e == 0)
        e = uv_listen((uv_stream_t *)&r->listener, BACKLOG, accepted);
    if (e == 0)
        e = uv_tcp_getsockname(&r->listener, (struct sockaddr *)&name, &namelen);
    if (e != 0)
        return session_log_fail(r->log, MSGLOG_EIO, "cannot listen on %s: %s", where, uv_strerror(e));
    if (name.ss_family == AF_INET6)
        r->port = ntohs(((struct sockaddr_in6 *)&name)->sin6_port);
    else
        r->port = ntohs(((struct sockaddr_in *)&name)->sin_port);
    return MSGLOG_OK;
}

/* opts with every 0 replaced by its default. */
static msglog_relay_options relay_options(const msglog_relay_options *opts)
{
    msglog_relay_options o = MSGLOG_RELAY_OPTIONS_INIT;

    if (opts)
        o = *opts;
    if (!o.max_conns)
        o.max_conns = DEFAULT_MAX_CONNS;
    if (!o.hello_timeout_ms)
        o.hello_timeout_ms = DEFAULT_HELLO_TIMEOUT_MS;
    if (!o.memory_budget)
        o.memory_budget = DEFAULT_MEMORY_BUDGET;
    return o;
}

int msglog_relay_new(msglog_relay **out, msglog *log, struct uv_loop_s *loop,
                     const char *host, uint16_t port, const msglog_relay_options *opts)
{
    msglog_relay *r;
    uint64_t sweep;
    int rc, e;

    if (!out)
        return session_log_fail(log, MSGLOG_EINVAL, "msglog_relay_new: out is NULL");
    *out = NULL;
    if (!log || !loop || !host || !*host || strlen(host) > 255)
        return session_log_fail(log, MSGLOG_EINVAL, "msglog_relay_new: log, loop and a host "
                       "(1..255 bytes) are required");
    if (opts && opts->version != MSGLOG_RELAY_OPTIONS_VERSION)
        return session_log_fail(log, MSGLOG_EVERSION, "msglog_relay_new: options version %u, "
                       "this library knows %u", opts->version, MSGLOG_RELAY_OPTIONS_VERSION);
    if (session_commits_watched(log))
        return session_log_fail(log, MSGLOG_EINVAL, "msglog_relay_new: this handle already has a "
                       "client or a relay");
    if (!(r = calloc(1, sizeof *r)) || !(r->rbuf = malloc(READ_BUF))) {
        free(r);
        return session_log_fail(log, MSGLOG_ENOMEM, "msglog_relay_new: out of memory");
    }
    r->log = log;
    r->loop = loop;
    r->opts = relay_options(opts);
    net_budget_init(&r->budget, r->opts.memory_budget);
    r->work.data = r->sweep.data = r->listener.data = r;
    uv_timer_init(loop, &r->work);
    uv_timer_init(loop, &r->sweep);
    if ((e = uv_tcp_init(loop, &r->listener)) != 0) {
        r->closing = 1;
        close_handles(r, 0);
        return session_log_fail(log, MSGLOG_EIO, "msglog_relay_new: %s", uv_strerror(e));
    }
    if ((rc = listen_on(r, host, port)) != MSGLOG_OK) {
        r->closing = 1;
        close_handles(r, 1);
        return rc;
    }
    sweep = r->opts.hello_timeout_ms < SWEEP_MS ? r->opts.hello_timeout_ms : SWEEP_MS;
    uv_timer_start(&r->sweep, sweep_fired, sweep, sweep);
    session_watch_commits(log, commit_hook, r);
    *out = r;
    return session_log_ok(log);
}

uint16_t msglog_relay_port(const msglog_relay *r)
{
    return r ? r->port : 0;
}

void msglog_relay_close(msglog_relay *r)
{
    if (!r || r->closing)
        return;
    r->closing = 1;
    session_unwatch_commits(r->log, r);
    while (r->conns)
        net_conn_close(r->conns, 1, MSGLOG_OK, "relay closing");
    close_handles(r, 1);
}
