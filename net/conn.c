/* One TCP connection carrying one session: reads fed to the session, its
 * output written, pacing, and the close (net/conn.h). */
#include "net/conn.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/grow.h"
#include "msglog.h"

/* How long a graceful close waits for the peer to take our last bytes and
 * end its side, before resetting the connection. */
#define LINGER_MS 2000
/* TCP keep-alive: first probe after this many seconds of silence, then
 * every KEEPALIVE_INTERVAL_S, the connection dropped after KEEPALIVE_COUNT
 * unanswered probes: a dead relay is noticed within about a minute. */
#define KEEPALIVE_IDLE_S 30
#define KEEPALIVE_INTERVAL_S 10
#define KEEPALIVE_COUNT 3
/* The most bytes handed to libuv and not yet written before the connection
 * is closed as "not reading". The session bounds its batches in flight
 * (16 MiB) but not ACKs, STATUS or one batch forced to 64 MiB by the erasure
 * rule (docs/protocol.md 3.3); a peer that stays connected and stops reading
 * still answers keep-alives, so without this its queue grows without end. */
#define MAX_UNWRITTEN (128u * 1024 * 1024)

/* Outputs up to this size are copied into their write request; larger ones
 * are taken from the session as they are (a copy would hold them twice). */
#define COPY_MAX (64u * 1024)

/* One write: the request and its bytes, its own copy (copy[]) or the
 * session's buffer taken whole. */
typedef struct wreq {
    uv_write_t req;
    size_t len;
    char *data;
    char copy[];
} wreq;

uint64_t net_wall_ms(void)
{
    uv_timeval64_t tv;

    if (uv_gettimeofday(&tv) != 0)
        return 0;
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

void net_addr_text(char *out, size_t n, const char *host, unsigned port)
{
    if (strchr(host, ':'))
        snprintf(out, n, "[%s]:%u", host, port);
    else
        snprintf(out, n, "%s:%u", host, port);
}

static void handle_closed(uv_handle_t *h)
{
    net_conn *c = h->data;

    if (--c->handles == 0)
        free(c);
}

/* Closes both handles; the memory goes with the last close callback. */
static void hard_close(net_conn *c)
{
    if (c->tcp_open) {
        c->tcp_open = 0;
        c->handles++;
        uv_close((uv_handle_t *)&c->tcp, handle_closed);
    }
    if (!uv_is_closing((uv_handle_t *)&c->linger)) {
        c->handles++;
        uv_close((uv_handle_t *)&c->linger, handle_closed);
    }
    if (!uv_is_closing((uv_handle_t *)&c->turn)) {
        c->handles++;
        uv_close((uv_handle_t *)&c->turn, handle_closed);
    }
}

net_conn *net_conn_new(uv_loop_t *loop, const net_conn_ops *ops, void *owner,
                       uint8_t *rbuf, size_t rbuf_len, int *uv_err)
{
    net_conn *c = calloc(1, sizeof *c);

    *uv_err = UV_ENOMEM;
    if (!c)
        return NULL;
    c->ops = ops;
    c->owner = owner;
    c->peer = "the peer";
    c->rbuf = rbuf;
    c->rbuf_len = rbuf_len;
    c->opened_at = c->read_at = uv_now(loop);
    c->tcp.data = c;
    c->linger.data = c;
    c->turn.data = c;
    if ((*uv_err = uv_timer_init(loop, &c->linger)) != 0) {
        free(c);
        return NULL;
    }
    uv_idle_init(loop, &c->turn);   /* cannot fail */
    if ((*uv_err = uv_tcp_init(loop, &c->tcp)) != 0) {
        c->closing = 1;
        hard_close(c);
        return NULL;
    }
    c->tcp_open = 1;
    return c;
}

void net_conn_discard(net_conn *c)
{
    if (!c || c->closing)
        return;
    c->closing = 1;
    hard_close(c);
}

static void write_done(uv_write_t *req, int status);
static void pace(net_conn *c);

static void wreq_free(wreq *w)
{
    if (w->data != w->copy)
        free(w->data);
    free(w);
}

/* Copies the session's output into one write request. */
static int write_output(net_conn *c, const char **why)
{
    const uint8_t *data;
    size_t len;
    wreq *w;
    uv_buf_t buf;
    int r;

    session_output(c->s, &data, &len);
    if (len == 0)
        return MSGLOG_OK;
    if (c->write_bytes + len > MAX_UNWRITTEN) {
        *why = "the peer does not read what is sent";
        return MSGLOG_ELIMIT;
    }
    if (!(w = malloc(sizeof *w + (len <= COPY_MAX ? len : 0)))) {
        *why = "out of memory for the output";
        return MSGLOG_ENOMEM;
    }
    w->len = len;
    w->data = w->copy;
    if (len <= COPY_MAX) {
        memcpy(w->copy, data, len);
        session_consume(c->s, len);
    } else {
        w->data = (char *)session_take_output(c->s, &len);
    }
    buf = uv_buf_init(w->data, (unsigned)len);
    if ((r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, write_done)) != 0) {
        wreq_free(w);
        *why = uv_strerror(r);
        return MSGLOG_ENET;
    }
    c->writes++;
    c->write_bytes += len;
    c->bytes_out += len;
    return MSGLOG_OK;
}

int net_conn_flush(net_conn *c)
{
    const char *why = "";
    int rc;

    if (c->closing || !c->s)
        return MSGLOG_OK;
    if (c->draining) {
        const uint8_t *data;
        size_t len;
        session_output(c->s, &data, &len);
        session_consume(c->s, len);
        return MSGLOG_OK;
    }
    rc = write_output(c, &why);
    if (rc != MSGLOG_OK) {
        char text[160];
        snprintf(text, sizeof text, "cannot write: %s", why);
        net_conn_close(c, 0, rc, text);
        return rc;
    }
    pace(c);
    return c->closing ? MSGLOG_ELIMIT : MSGLOG_OK;
}

static void write_done(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    net_conn *c = req->handle->data;

    c->writes--;
    c->wrote_at = uv_now(req->handle->loop);
    c->write_bytes -= w->len;
    wreq_free(w);
    if (c->closing || c->draining)
        return;
    if (status < 0) {
        char text[160];
        snprintf(text, sizeof text, "cannot write: %s", uv_strerror(status));
        net_conn_close(c, 0, MSGLOG_ENET, text);
    } else {
        if (c->writes == 0 && c->ops->drained)
            c->ops->drained(c);
        pace(c);
    }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    net_conn *c = h->data;

    (void)suggested;
    if (c->closing)
        *buf = uv_buf_init(c->discard, sizeof c->discard);
    else
        *buf = uv_buf_init((char *)c->rbuf, (unsigned)c->rbuf_len);
}

/* After a graceful close: the peer's remaining bytes are read and thrown
 * away until it ends its side (or the linger timer fires), so that closing
 * with unread input does not reset the connection and drop our last bytes
 * at the peer. */
static void linger_read(net_conn *c, ssize_t nread)
{
    if (nread < 0) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
        hard_close(c);
    }
}

/* After a session call: its output written, its errors acted on, the
 * owner told, and the next read or turn decided. */
static void after_session(net_conn *c, int rc)
{
    c->turn_over = session_turn_over(c->s);
    if (net_conn_flush(c) != MSGLOG_OK)
        return;
    if (rc != MSGLOG_OK && session_phase(c->s) != SESSION_PHASE_CLOSED) {
        net_conn_close(c, 1, rc, msglog_strerror(rc));
        return;
    }
    if (net_conn_check(c))
        return;
    if (c->ops->fed)
        c->ops->fed(c);
    pace(c);
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    net_conn *c = stream->data;

    if (nread > 0)
        c->read_at = uv_now(stream->loop);
    c->bytes_in += nread > 0 ? (uint64_t)nread : 0;
    if (c->closing) {
        linger_read(c, nread);
        return;
    }
    if (c->draining) {
        if (nread > 0) {
            session_feed(c->s, (const uint8_t *)buf->base, (size_t)nread);
            net_conn_flush(c);   /* drops the output */
        }
        if (nread < 0 || session_phase(c->s) == SESSION_PHASE_CLOSED)
            net_conn_close(c, 0, MSGLOG_OK, "finished");
        return;
    }
    if (nread < 0) {
        char text[160];

        session_disconnected(c->s);
        if (nread == UV_EOF)
            snprintf(text, sizeof text, "%s closed the connection", c->peer);
        else
            snprintf(text, sizeof text, "connection lost: %s", uv_strerror((int)nread));
        net_conn_close(c, 0, MSGLOG_ENET, text);
        return;
    }
    if (nread == 0)
        return;
    after_session(c, session_feed(c->s, (const uint8_t *)buf->base, (size_t)nread));
}

/* ------------------------------------------------------------------------ */
/* Pacing: turns and the memory budget (net/conn.h)                          */

/* The output the connection holds: the session's buffer and the writes
 * libuv has not completed (their bytes and their requests). */
static size_t held_output(const net_conn *c)
{
    return session_held_output(c->s) + c->write_bytes + c->writes * sizeof(wreq);
}

/* The session's room: what the connection may still add within its share. */
static size_t conn_room(void *ctx)
{
    net_conn *c = ctx;

    return net_budget_room(c->budget, session_held_input(c->s) + held_output(c));
}

static void set_reading(net_conn *c, int on)
{
    if (on == c->reading)
        return;
    if (on && uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0)
        return;
    if (!on)
        uv_read_stop((uv_stream_t *)&c->tcp);
    else if (c->paused)
        c->read_at = uv_now(c->tcp.loop);   /* its idle clock starts over */
    c->reading = on;
    c->paused = !on;
}

static void turn_fired(uv_idle_t *h);

static void set_turn(net_conn *c, int on)
{
    if (on)
        uv_idle_start(&c->turn, turn_fired);
    else
        uv_idle_stop(&c->turn);
}

/* net_budget_reclaim's choice: closed from its own turn, not from inside
 * whatever another connection's call is iterating over. */
static void evict(net_budget_member *m, void *ctx)
{
    net_conn *c = (net_conn *)((char *)m - offsetof(net_conn, member));

    (void)ctx;
    c->evicted = 1;
    set_turn(c, 1);
}

/* Counts what c holds, then reads, takes turns, waits for its writes, or
 * closes it, as the budget and the session's waiting work say. After every
 * session call and every write completion; nothing for an unpaced
 * connection (a client's), which always reads. */
static void pace(net_conn *c)
{
    if (!c->budget || c->closing || c->draining || !c->s || c->evicted)
        return;
    size_t in = session_held_input(c->s), out = held_output(c);
    int busy = session_busy(c->s);
    net_budget_hold(c->budget, &c->member, in + out);
    net_budget_reclaim(c->budget, evict, NULL);
    if (c->evicted) {
        set_reading(c, 0);
        return;
    }
    net_pace p = net_budget_judge(c->budget, in, out, session_input_waiting(c->s));
    if (p == NET_PACE_CLOSE) {
        char text[200];
        snprintf(text, sizeof text, "a batch or frame of %zu bytes, over this connection's share "
                 "(%zu bytes) of the relay's memory budget", in, net_budget_share(c->budget));
        session_close_limit(c->s, text);
        net_conn_check(c);   /* the ERROR is flushed, then the connection closed */
        return;
    }
    int work = p == NET_PACE_GO || p == NET_PACE_WORK;
    set_turn(c, work && (busy || c->turn_over));
    set_reading(c, p == NET_PACE_GO && !busy && !c->turn_over);
}

/* A later loop iteration: this connection's next turn. */
static void turn_fired(uv_idle_t *h)
{
    net_conn *c = h->data;

    c->turn_over = 0;
    if (c->closing || c->draining || !c->s) {
        uv_idle_stop(h);
        return;
    }
    if (c->evicted) {
        /* At once: what its peer has not read is freed now, and an ERROR
         * would wait behind it anyway. */
        char text[200];
        snprintf(text, sizeof text, "holding %zu bytes, over twice its share (%zu bytes) of the "
                 "relay's memory budget, which the others need", c->member.held,
                 net_budget_share(c->budget));
        net_conn_close(c, 0, MSGLOG_ELIMIT, text);
        return;
    }
    if (!session_busy(c->s)) {
        pace(c);    /* reads again */
        return;
    }
    after_session(c, session_continue(c->s));
}

/* Keep-alive with short probes where the system lets us set them. */
static void set_keepalive(net_conn *c)
{
    uv_os_fd_t fd;

    uv_tcp_keepalive(&c->tcp, 1, KEEPALIVE_IDLE_S);
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0)
        return;
#if defined(TCP_KEEPINTVL) && defined(TCP_KEEPCNT)
    {
        int v = KEEPALIVE_INTERVAL_S;
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof v);
        v = KEEPALIVE_COUNT;
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof v);
    }
#endif
}

int net_conn_start(net_conn *c, session *s, const char **why)
{
    int r;

    c->s = s;
    if (c->budget) {    /* a loop serving many peers: the relay's */
        session_set_pacing(s, conn_room, c);
        net_budget_join(c->budget, &c->member);
        c->in_budget = 1;
    }
    set_keepalive(c);
    if ((r = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb)) != 0) {
        *why = uv_strerror(r);
        return MSGLOG_ENET;
    }
    c->reading = 1;
    if ((r = write_output(c, why)) == MSGLOG_OK)
        pace(c);
    return r;
}

/* Reading again when pacing had stopped it: a closing or finishing
 * connection reads its peer's last bytes until the end of stream. */
static void resume_reading(net_conn *c)
{
    if (c->paused && c->tcp_open && uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0) {
        c->reading = 1;
        c->paused = 0;
    }
}

static void linger_expired(uv_timer_t *t)
{
    hard_close(t->data);
}

static void shutdown_done(uv_shutdown_t *req, int status)
{
    net_conn *c = req->handle->data;

    /* Everything we wrote went out (or cannot): now wait for the peer's end
     * of stream in linger_read, unless we are no longer reading. */
    if (status < 0 || !c->reading)
        hard_close(c);
}

static void drain_expired(uv_timer_t *t)
{
    net_conn_close(t->data, 0, MSGLOG_OK, "finished");
}

static void drain_shutdown_done(uv_shutdown_t *req, int status)
{
    net_conn *c = req->handle->data;

    if (status < 0 && !c->closing)
        net_conn_close(c, 0, MSGLOG_OK, "finished");
}

void net_conn_drain(net_conn *c)
{
    const char *ignored;

    if (c->closing || c->draining)
        return;
    c->draining = 1;    /* from here, any end is a finish */
    uv_idle_stop(&c->turn);
    resume_reading(c);
    if (!c->s || !c->reading || write_output(c, &ignored) != MSGLOG_OK) {
        net_conn_close(c, 0, MSGLOG_OK, "finished");
        return;
    }
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, drain_shutdown_done) != 0) {
        net_conn_close(c, 0, MSGLOG_OK, "finished");
        return;
    }
    uv_timer_start(&c->linger, drain_expired, LINGER_MS, 0);
}

void net_conn_close(net_conn *c, int graceful, int err, const char *why)
{
    char text[256];

    if (!c || c->closing)
        return;
    snprintf(text, sizeof text, "%s", why ? why : "");
    c->closing = 1;
    uv_idle_stop(&c->turn);
    if (c->in_budget) {
        net_budget_leave(c->budget, &c->member);
        c->in_budget = 0;
    }
    if (graceful)
        resume_reading(c);
    if (c->s) {
        const char *ignored;
        if (graceful && write_output(c, &ignored) != MSGLOG_OK)
            graceful = 0;
        c->end = session_end_of(c->s);
        session_free(c->s);
        c->s = NULL;
    }
    if (c->ops->closed)
        c->ops->closed(c, err, text);
    if (graceful && !c->draining && c->tcp_open && c->reading &&
        uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, shutdown_done) == 0) {
        uv_timer_start(&c->linger, linger_expired, LINGER_MS, 0);
        return;
    }
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
    hard_close(c);
}

int net_conn_check(net_conn *c)
{
    if (c->closing || !c->s)
        return 1;
    if (session_phase(c->s) != SESSION_PHASE_CLOSED)
        return 0;
    {
        int err = session_error(c->s);
        const char *msg = session_errmsg(c->s);
        net_conn_close(c, 1, err != MSGLOG_OK ? err : MSGLOG_ENET,
                       msg && *msg ? msg : "the session was closed");
    }
    return 1;
}

int net_convs_add(net_convs *set, const uint8_t *conv, size_t len)
{
    char *copy;

    for (size_t i = 0; i < set->n; i++)
        if (set->v[i].len == len && memcmp(set->v[i].data, conv, len) == 0)
            return MSGLOG_OK;
    msglog_str *v = grow_array(set->v, &set->cap, set->n + 1, sizeof *v);
    if (!v)
        return MSGLOG_ENOMEM;
    set->v = v;
    if (!(copy = malloc(len + 1)))
        return MSGLOG_ENOMEM;
    memcpy(copy, conv, len);
    copy[len] = '\0';
    set->v[set->n].data = copy;
    set->v[set->n].len = len;
    set->n++;
    return MSGLOG_OK;
}

void net_convs_clear(net_convs *set)
{
    for (size_t i = 0; i < set->n; i++)
        free((char *)set->v[i].data);
    set->n = 0;
}

void net_convs_free(net_convs *set)
{
    net_convs_clear(set);
    free(set->v);
    set->v = NULL;
    set->cap = 0;
}
