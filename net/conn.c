/* One TCP connection carrying one session: reads fed to the session, its
 * output copied and written, and the close (net/conn.h). */
#include "net/conn.h"

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

/* One write: the request and its own copy of the bytes. */
typedef struct wreq {
    uv_write_t req;
    size_t len;
    char data[];
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
    if ((*uv_err = uv_timer_init(loop, &c->linger)) != 0) {
        free(c);
        return NULL;
    }
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
    if (!(w = malloc(sizeof *w + len))) {
        *why = "out of memory for the output";
        return MSGLOG_ENOMEM;
    }
    w->len = len;
    memcpy(w->data, data, len);
    session_consume(c->s, len);
    buf = uv_buf_init(w->data, (unsigned)len);
    if ((r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, write_done)) != 0) {
        free(w);
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
    }
    return rc;
}

static void write_done(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    net_conn *c = req->handle->data;

    c->writes--;
    c->write_bytes -= w->len;
    free(w);
    if (c->closing || c->draining)
        return;
    if (status < 0) {
        char text[160];
        snprintf(text, sizeof text, "cannot write: %s", uv_strerror(status));
        net_conn_close(c, 0, MSGLOG_ENET, text);
    } else if (c->writes == 0 && c->ops->drained) {
        c->ops->drained(c);
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

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    net_conn *c = stream->data;
    int rc;

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
    rc = session_feed(c->s, (const uint8_t *)buf->base, (size_t)nread);
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
    set_keepalive(c);
    if ((r = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb)) != 0) {
        *why = uv_strerror(r);
        return MSGLOG_ENET;
    }
    c->reading = 1;
    return write_output(c, why);
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
