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
 * replaced); a connection that sends no HELLO within hello_timeout_ms, or
 * nothing for idle_timeout_ms after it, is closed with ERROR limit, and at
 * most max_conns are served at a time, at most max_conns_per_addr from one
 * address (msglog_relay_options); a connection past a cap is refused at
 * accept with ERROR limit, except that a full relay makes room for an
 * address holding fewer than the busiest one (make_room). What connections
 * hold is counted in one memory budget, shared by all (net/budget.h); pacing
 * it is net/conn.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crdt/grow.h"
#include "net/addr_limits.h"
#include "net/conn.h"
#include "net/relay_log.h"
#include "net/relay_stats.h"

#define READ_BUF 65536
#define BACKLOG 128
#define DEFAULT_MAX_CONNS 10000
#define DEFAULT_HELLO_TIMEOUT_MS 30000
#define DEFAULT_MAX_CLOCK_AHEAD_MS 600000
#define DEFAULT_IDLE_TIMEOUT_MS 60000
/* Enough for the devices of a household or a small office behind one NAT;
 * a larger site raises it. */
#define DEFAULT_MAX_CONNS_PER_ADDR 64
/* As many as one session can carry (SESSION_MAX_CONVS): a device that
 * syncs every conversation of a large relay is subscribed to each it
 * acknowledges, and a lower default would lock it out where the session
 * would serve it. Naming conversations costs nothing whatever the cap (only
 * those the relay holds are stored), so it bounds writes and ACKs. */
#define DEFAULT_MAX_SUBS_PER_DEVICE 100000
/* At most a few tens of MB of device records (a user name each). */
#define DEFAULT_MAX_DEVICES 100000
/* A refused connection's input already received is dropped before the
 * close (so the close is a FIN that lets its ERROR be read, not a reset);
 * this much at most, the rest may reset. */
#define REFUSE_DRAIN 65536
/* The sweep runs at least this often, and at least twice per timeout, so
 * a connection is closed at most half a timeout late. */
#define SWEEP_MS 5000
#define DEFAULT_MEMORY_BUDGET ((size_t)1 << 30)

struct msglog_relay {
    msglog *log;
    uv_loop_t *loop;
    msglog_relay_options opts;   /* defaults filled in */
    uv_tcp_t listener;
    uv_timer_t work;          /* 0 ms: fan-out and replacements */
    uv_timer_t sweep;         /* connections past a timeout */
    int handles;              /* handles whose close callback is due */
    uint16_t port;
    uint8_t *rbuf;            /* one read buffer for every connection */
    net_conn *conns;          /* open connections, newest first */
    size_t n_conns;
    addr_table addrs;         /* the open connections of each address */
    net_convs dirty;          /* conversations to fan out */
    int dirty_all;            /* a note was lost (memory): every one */
    session **hellos;         /* sessions whose HELLO came: replace older */
    size_t n_hellos, cap_hellos;
    int hellos_lost;          /* a note was lost: check every connection */
    int accept_stalled;       /* a connection is waiting to be accepted */
    int closing;
    relay_log logger;         /* the operator's log (on_log) */
    relay_stats stats;        /* msglog_relay_stats_get */
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
    ((msglog_relay *)ctx)->stats.commits++;
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

    relay_log_hello(&r->logger, r->conns, s);
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
    relay_log_start(&r->logger);
    do_replacements(r);
    fan_out(r);
}

static void accepted(uv_stream_t *server, int status);

/* Why c is closed for silence, written into text; NULL when it is not.
 * Before HELLO the HELLO timeout counts from the accept, whatever arrived;
 * after it the idle timeout counts from the last bytes received, so a
 * client's keep-alives keep it open (and only bytes a peer sends count: a
 * peer that makes the relay write to it is not busy for that). */
static const char *overdue(const msglog_relay *r, const net_conn *c, uint64_t now, char *text,
                           size_t n)
{
    int phase = session_phase(c->s);
    /* While the relay itself stopped reading a connection (its share is
     * full), what its peer sends cannot arrive: the peer reading what the
     * relay writes is then its sign of life. */
    uint64_t alive_at = c->paused && c->wrote_at > c->read_at ? c->wrote_at : c->read_at;

    if (phase == SESSION_PHASE_HELLO && now - c->opened_at >= r->opts.hello_timeout_ms)
        snprintf(text, n, "no HELLO within %.1f s", r->opts.hello_timeout_ms / 1000.0);
    else if (phase == SESSION_PHASE_OPEN && now - alive_at >= r->opts.idle_timeout_ms)
        snprintf(text, n, "idle: nothing received for %.1f s", r->opts.idle_timeout_ms / 1000.0);
    else
        return NULL;
    return text;
}

static void sweep_fired(uv_timer_t *t)
{
    msglog_relay *r = t->data;
    uint64_t now = uv_now(r->loop);
    net_conn *c, *next;
    char text[80];

    relay_stats_tick(&r->stats, now);
    if (r->accept_stalled) {
        r->accept_stalled = 0;
        accepted((uv_stream_t *)&r->listener, 0);
    }

    /* Closing unlinks c: next is kept. */
    for (c = r->conns; c; c = next) {
        next = c->next;
        if (!c->closing && c->s && overdue(r, c, now, text, sizeof text)) {
            session_close_limit(c->s, text);
            flush_and_check(c);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Connections                                                               */

static void conn_closed(net_conn *c, int err, const char *why)
{
    msglog_relay *r = c->owner;

    relay_log_closed(&r->logger, c, err, why);
    relay_stats_closed(&r->stats, c);
    if (c->prev)
        c->prev->next = c->next;
    else
        r->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    r->n_conns--;
    addr_remove(&r->addrs, &c->addr);
}

static const net_conn_ops relay_ops = { NULL, NULL, conn_closed };

/* The connection of address k from which nothing arrived for the longest
 * (the oldest of those, on a tie), or NULL when k holds none. */
static net_conn *most_idle_of(msglog_relay *r, const addr_key *k)
{
    net_conn *best = NULL;

    for (net_conn *c = r->conns; c; c = c->next)
        if (c->s && addr_key_equal(&c->addr, k) && (!best || c->read_at <= best->read_at))
            best = c;
    return best;
}

/*
 * A full relay makes room for a connection from address k when the
 * busiest address holds at least two more than k: its most idle
 * connection is closed (ERROR limit). So an attacker holding the whole
 * pool from a few addresses cannot keep out a device from another one;
 * every address can get down to its fair share, and two addresses never
 * take a place back and forth (each would hold as many as the other).
 * @return 1 when there is room now.
 */
static int make_room(msglog_relay *r, const addr_key *k)
{
    size_t most;
    addr_key busiest = addr_busiest(&r->addrs, &most);
    net_conn *victim;

    if (most < addr_count(&r->addrs, k) + 2 || !(victim = most_idle_of(r, &busiest)))
        return 0;
    session_close_limit(victim->s, "the relay is full: this connection makes room for "
                                   "a device of another address");
    flush_and_check(victim);     /* unlinked and uncounted now */
    return r->n_conns < r->opts.max_conns;
}

/* Why c may not be served, written into text; NULL when it may. */
static const char *refusal(msglog_relay *r, const net_conn *c, char *text, size_t n)
{
    char from[64];

    if (addr_count(&r->addrs, &c->addr) >= r->opts.max_conns_per_addr) {
        addr_key_text(&c->addr, from, sizeof from);
        snprintf(text, n, "too many connections from %s (at most %zu)", from,
                 r->opts.max_conns_per_addr);
    } else if (r->n_conns >= r->opts.max_conns && !make_room(r, &c->addr)) {
        snprintf(text, n, "the relay is full (%zu connections)", r->opts.max_conns);
    } else {
        return NULL;
    }
    return text;
}

/* Ends a connection that is not served: its ERROR limit is written at once
 * and it is closed, so it holds nothing but its socket, and that only
 * until libuv has closed it. What it already sent is read and dropped
 * first: closing with unread input would be a reset, which may destroy the
 * ERROR before the peer reads it. */
static void refuse(net_conn *c, session *s, const char *why)
{
    const uint8_t *out;
    size_t len, drained = 0;
    uv_os_fd_t fd;
    char junk[4096];
    ssize_t got;

    session_close_limit(s, why);
    session_output(s, &out, &len);
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
        while (drained < REFUSE_DRAIN && (got = recv(fd, junk, sizeof junk, MSG_DONTWAIT)) > 0)
            drained += (size_t)got;
    uv_buf_t buf = uv_buf_init((char *)out, (unsigned)len);
    uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);   /* a fresh socket takes it whole */
    session_free(s);
    net_conn_discard(c);
}

static int relay_session(msglog_relay *r, session **s)
{
    session_config cfg;

    memset(&cfg, 0, sizeof cfg);
    cfg.role = SESSION_ROLE_RELAY;
    cfg.max_subs = r->opts.max_subs_per_device;
    cfg.max_devices = r->opts.max_devices;
    cfg.max_clock_ahead_ms = r->opts.max_clock_ahead_ms;
    cfg.hooks.ctx = r;
    cfg.hooks.hello = hook_hello;
    cfg.hooks.committed = hook_conv;
    cfg.hooks.acked = hook_conv;
    return session_new(s, r->log, &cfg);
}

/* The peer's address into c->addr. @return 0, or a libuv error. */
static int take_peer_addr(net_conn *c)
{
    struct sockaddr_storage name;
    int len = sizeof name;
    int e = uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&name, &len);

    if (e == 0)
        c->addr = addr_key_of((struct sockaddr *)&name);
    return e;
}

/* Serves c with s: counted, linked first in the list, reading. */
static void serve(msglog_relay *r, net_conn *c, session *s)
{
    const char *why = "";

    if (addr_add(&r->addrs, &c->addr) != MSGLOG_OK) {
        refuse(c, s, "the relay is out of memory");
        return;
    }
    c->next = r->conns;
    if (r->conns)
        r->conns->prev = c;
    r->conns = c;
    r->n_conns++;
    relay_log_opened(&r->logger, c);
    if (net_conn_start(c, s, &why) != MSGLOG_OK)
        net_conn_close(c, 0, MSGLOG_ENET, why);
}

static void accepted(uv_stream_t *server, int status)
{
    msglog_relay *r = server->data;
    session *s = NULL;
    const char *why;
    char text[160];
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
    r->stats.accepted++;
    if (take_peer_addr(c) != 0 || relay_session(r, &s) != MSGLOG_OK) {
        relay_log_refused(&r->logger, c, "cannot set up its session (out of memory)");
        net_conn_discard(c);   /* closes the accepted socket */
        return;
    }
    if ((why = refusal(r, c, text, sizeof text))) {
        relay_log_refused(&r->logger, c, why);
        refuse(c, s, why);
    } else {
        serve(r, c, s);
    }
}

/* ------------------------------------------------------------------------ */
/* The API                                                                   */

static void free_relay(msglog_relay *r)
{
    addr_table_free(&r->addrs);
    net_convs_free(&r->dirty);
    free(r->hellos);
    free(r->rbuf);
    free(r);
}

static void handle_closed(uv_handle_t *h)
{
    msglog_relay *r = h->data;

    if (--r->handles == 0) {
        relay_log_stopped(&r->logger);
        free_relay(r);
    }
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
        return session_log_fail(r->log, MSGLOG_ENET, "cannot resolve %s: %s", host, uv_strerror(e));
    e = uv_tcp_bind(&r->listener, ai->ai_addr, 0);
    uv_freeaddrinfo(ai);
    if (e == 0)
        e = uv_listen((uv_stream_t *)&r->listener, BACKLOG, accepted);
    if (e == 0)
        e = uv_tcp_getsockname(&r->listener, (struct sockaddr *)&name, &namelen);
    if (e != 0)
        return session_log_fail(r->log, MSGLOG_ENET, "cannot listen on %s: %s", where, uv_strerror(e));
    if (name.ss_family == AF_INET6)
        r->port = ntohs(((struct sockaddr_in6 *)&name)->sin6_port);
    else
        r->port = ntohs(((struct sockaddr_in *)&name)->sin_port);
    return MSGLOG_OK;
}

static uint64_t own_replica(msglog *log)
{
    uint64_t replica = 0;
    msglog_identity(log, &replica, NULL, NULL);
    return replica;
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
    if (!o.max_clock_ahead_ms)
        o.max_clock_ahead_ms = DEFAULT_MAX_CLOCK_AHEAD_MS;
    if (!o.idle_timeout_ms)
        o.idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
    if (!o.max_conns_per_addr)
        o.max_conns_per_addr = DEFAULT_MAX_CONNS_PER_ADDR;
    if (!o.max_subs_per_device)
        o.max_subs_per_device = DEFAULT_MAX_SUBS_PER_DEVICE;
    if (!o.max_devices)
        o.max_devices = DEFAULT_MAX_DEVICES;
    if (!o.memory_budget)
        o.memory_budget = DEFAULT_MEMORY_BUDGET;
    return o;
}

static uint64_t sweep_interval(const msglog_relay_options *o)
{
    uint64_t half = (o->hello_timeout_ms < o->idle_timeout_ms ? o->hello_timeout_ms
                                                                : o->idle_timeout_ms) / 2;
    if (half == 0)
        half = 1;
    return half < SWEEP_MS ? half : SWEEP_MS;
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
    if (opts && ((int)opts->log_level < 0 || opts->log_level > MSGLOG_LOG_DEBUG))
        return session_log_fail(log, MSGLOG_EINVAL, "msglog_relay_new: log_level %d is not a "
                       "MSGLOG_LOG_* level", (int)opts->log_level);
    if (session_commits_watched(log))
        return session_log_fail(log, MSGLOG_EINVAL, "msglog_relay_new: this handle already has a "
                       "client or a relay");
    if ((rc = msglog_claim(log)) != MSGLOG_OK)
        return rc;    /* another relay or watching client runs on the store */
    if ((r = calloc(1, sizeof *r)))
        r->opts = relay_options(opts);
    if (!r || !(r->rbuf = malloc(READ_BUF)) ||
        addr_table_init(&r->addrs, r->opts.max_conns) != MSGLOG_OK) {
        if (r)
            free(r->rbuf);
        free(r);
        return session_log_fail(log, MSGLOG_ENOMEM, "msglog_relay_new: out of memory");
    }
    r->log = log;
    r->loop = loop;
    relay_log_init(&r->logger, &r->opts);
    relay_stats_init(&r->stats, uv_now(loop));
    net_budget_init(&r->budget, r->opts.memory_budget);
    r->work.data = r->sweep.data = r->listener.data = r;
    uv_timer_init(loop, &r->work);
    uv_timer_init(loop, &r->sweep);
    if ((e = uv_tcp_init(loop, &r->listener)) != 0) {
        r->closing = 1;
        close_handles(r, 0);
        return session_log_fail(log, MSGLOG_ENET, "msglog_relay_new: %s", uv_strerror(e));
    }
    if ((rc = listen_on(r, host, port)) != MSGLOG_OK) {
        r->closing = 1;
        close_handles(r, 1);
        return rc;
    }
    sweep = sweep_interval(&r->opts);
    uv_timer_start(&r->sweep, sweep_fired, sweep, sweep);
    session_watch_commits(log, commit_hook, r);
    relay_log_listening(&r->logger, host, r->port, own_replica(log));
    schedule_work(r);    /* the start line, from the loop */
    *out = r;
    return session_log_ok(log);
}

uint16_t msglog_relay_port(const msglog_relay *r)
{
    return r ? r->port : 0;
}

int msglog_relay_stats_get(const msglog_relay *r, msglog_relay_stats *out)
{
    if (!r || !out)
        return session_log_fail(r ? r->log : NULL, MSGLOG_EINVAL,
                                "msglog_relay_stats_get: r and out are required");
    relay_stats_fill(&r->stats, r->conns, uv_now(r->loop), out);
    out->memory_budget_used = r->budget.held;
    out->memory_budget = r->budget.limit;
    int rc = relay_stats_conversations(r->log, &out->conversations);
    if (rc != MSGLOG_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

void msglog_relay_close(msglog_relay *r)
{
    if (!r || r->closing)
        return;
    r->closing = 1;
    relay_log_stopping(&r->logger);
    session_unwatch_commits(r->log, r);
    while (r->conns)
        net_conn_close(r->conns, 1, MSGLOG_OK, "relay closing");
    close_handles(r, 1);
}
