/*
 * cutproxy: a TCP proxy for the network tests (tests/net/README.md) that can
 * drop a connection after exactly N forwarded bytes.
 *
 *   cutproxy --listen HOST:PORT --to HOST:PORT [--cut N[,N2,...]]
 *            [--pause N[,N2,...]] [--stats FILE]
 *
 * The first stdout line is "port P" (flushed) once it listens; PORT 0 picks a
 * free port. Accepted connection i (0-based) is forwarded both ways. With
 * --cut, connection i is cut once N_i bytes, both directions together, have
 * been forwarded (the last entry applies to every later connection; 0 never
 * cuts): a read that would go past N_i is forwarded only up to it, then both
 * sides get FIN after those bytes, and whatever arrives later is read and
 * thrown away until both sides end or LINGER_MS pass. FIN rather than RST,
 * because an RST can make the kernel drop bytes still queued on either side,
 * and the tests rely on "exactly N bytes went through". --pause is the same
 * count without the cut: connection i stops reading both sides once N_i bytes
 * have been forwarded and written, prints "paused conn I at N" (flushed), and
 * forwards nothing more until SIGUSR1 releases every paused connection. A
 * test places a kill at an exact byte of a session that way: wait for the
 * line, kill a process, send SIGUSR1. --stats appends one line per closed
 * connection:
 *
 *   conn I up CLIENT_TO_SERVER_BYTES down SERVER_TO_CLIENT_BYTES cut 0|1
 *
 * Memory is bounded: each direction owns one BUF_SIZE buffer and stops
 * reading its source while the write of that buffer is pending, so a slow
 * receiver slows the sender down through TCP instead of growing a queue.
 * SIGTERM or SIGINT: close everything (stats lines included) and exit 0.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BUF_SIZE 65536
#define LINGER_MS 1000
#define MAX_CUTS 4096

/* A list of byte counts from the command line: --cut or --pause. */
typedef struct {
    uint64_t at[MAX_CUTS];
    size_t n;
} byte_list;

typedef struct conn conn;

/* One direction: bytes read from `from` are written to `to`. */
typedef struct {
    conn *c;
    uv_tcp_t *from;
    uv_tcp_t *to;
    uv_write_t wr;
    uv_shutdown_t sd;
    size_t wr_len;    /* bytes of the pending write */
    int writing;      /* a write of buf is pending: `from` is not read */
    int eof;          /* `from` ended (or failed, while draining) */
    int shut;         /* shutdown of `to` requested */
    int shut_done;
    uint64_t bytes;   /* forwarded: writes that completed */
    size_t held_off;  /* bytes of buf read past a pause point: */
    size_t held_len;  /* forwarded when the pause is released */
    char buf[BUF_SIZE];
} dir;

struct conn {
    uv_tcp_t client;  /* the accepted socket */
    uv_tcp_t server;  /* our connection to --to */
    uv_connect_t connect;
    uv_timer_t linger;
    dir up;           /* client -> server */
    dir down;         /* server -> client */
    uint64_t index;
    uint64_t limit;   /* 0: never cut */
    uint64_t reserved; /* bytes handed to writes, both directions */
    uint64_t pause_at; /* 0: never pauses (again) */
    int cut;
    int paused;       /* reading stopped at pause_at until SIGUSR1 */
    int pause_told;   /* the "paused" line was printed */
    int draining;
    int closing;
    int handles;      /* open libuv handles; freed at 0 */
    conn *prev, *next;
};

static uv_loop_t *loop;
static uv_tcp_t listener;
static uv_signal_t sigterm, sigint, sigusr1;
static struct sockaddr_storage target;
static byte_list cuts, pauses;
static const char *stats_path;
static uint64_t n_accepted;
static conn *conns;
static int stopping;

static void conn_close(conn *c);

static void stats_line(const conn *c)
{
    if (!stats_path)
        return;
    /* Opened per line so a driver can read the file at any moment, and so
     * each line is one write. */
    FILE *f = fopen(stats_path, "a");
    if (!f) {
        fprintf(stderr, "cutproxy: cannot open %s\n", stats_path);
        return;
    }
    fprintf(f, "conn %llu up %llu down %llu cut %d\n", (unsigned long long)c->index,
            (unsigned long long)c->up.bytes, (unsigned long long)c->down.bytes, c->cut);
    fclose(f);
}

static void on_handle_closed(uv_handle_t *h)
{
    conn *c = h->data;
    if (--c->handles == 0)
        free(c);
}

static void conn_close(conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    stats_line(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    /* Pending writes and shutdowns get UV_ECANCELED before the close
     * callbacks, so nothing touches c after the last one frees it. Read
     * callbacks stop at uv_close, so the handles' data can become c. */
    c->client.data = c;
    c->server.data = c;
    uv_close((uv_handle_t *)&c->client, on_handle_closed);
    uv_close((uv_handle_t *)&c->server, on_handle_closed);
    uv_close((uv_handle_t *)&c->linger, on_handle_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    dir *d = ((uv_stream_t *)h)->data;
    /* Only called while reading, and reading stops while buf is written. */
    *buf = uv_buf_init(d->buf, BUF_SIZE);
}

static void on_linger(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    dir *d = req->data;
    conn *c = d->c;
    if (c->closing)
        return;
    d->shut_done = 1;
    if (!c->draining && c->up.eof && c->down.eof && c->up.shut_done && c->down.shut_done)
        conn_close(c);
}

static void shutdown_to(dir *d)
{
    if (d->shut)
        return;
    d->shut = 1;
    d->sd.data = d;
    if (uv_shutdown(&d->sd, (uv_stream_t *)d->to, on_shutdown) != 0)
        d->shut_done = 1;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Once every byte up to the pause point was written: says so, once. */
static void maybe_tell_paused(conn *c)
{
    if (c->pause_told || c->up.writing || c->down.writing)
        return;
    c->pause_told = 1;
    printf("paused conn %llu at %llu\n", (unsigned long long)c->index,
           (unsigned long long)(c->up.bytes + c->down.bytes));
    fflush(stdout);
}

static void on_write(uv_write_t *req, int status);

/* Hands buf[off, off + n) to a write of `to`; `from` is not read meanwhile. */
static int write_buf(dir *d, size_t off, size_t n)
{
    d->writing = 1;
    d->wr_len = n;
    d->wr.data = d;
    d->c->reserved += n;
    uv_buf_t b = uv_buf_init(d->buf + off, (unsigned)n);
    return uv_write(&d->wr, (uv_stream_t *)d->to, &b, 1, on_write);
}

/* After a pause: forwards what was read past the pause point, or reads the
 * source again, unless it ended or a write is pending. */
static void resume_dir(dir *d)
{
    if (d->writing)
        return;
    if (d->held_len) {
        size_t n = d->held_len;
        d->held_len = 0;
        if (write_buf(d, d->held_off, n) != 0)
            conn_close(d->c);
        return;
    }
    if (d->eof) {
        shutdown_to(d);
        return;
    }
    if (uv_read_start((uv_stream_t *)d->from, on_alloc, on_read) != 0)
        conn_close(d->c);
}

/* After the cut: every forwarded byte has been handed to the kernel, so send
 * FIN after it on both sides, then read and discard until both sides end. */
static void maybe_drain(conn *c)
{
    if (c->draining || c->up.writing || c->down.writing)
        return;
    c->draining = 1;
    shutdown_to(&c->up);
    shutdown_to(&c->down);
    if (c->up.eof && c->down.eof) {
        conn_close(c);
        return;
    }
    if (!c->up.eof && uv_read_start((uv_stream_t *)c->up.from, on_alloc, on_read) != 0)
        c->up.eof = 1;
    if (!c->down.eof && uv_read_start((uv_stream_t *)c->down.from, on_alloc, on_read) != 0)
        c->down.eof = 1;
    if (c->up.eof && c->down.eof)
        conn_close(c);
    else
        uv_timer_start(&c->linger, on_linger, LINGER_MS, 0);
}

static void on_write(uv_write_t *req, int status)
{
    dir *d = req->data;
    conn *c = d->c;
    if (c->closing)
        return;
    d->writing = 0;
    if (status < 0) {
        conn_close(c);
        return;
    }
    d->bytes += d->wr_len;
    if (c->cut) {
        maybe_drain(c);
        return;
    }
    if (c->paused) {
        maybe_tell_paused(c);
        return;
    }
    if (d->eof) {
        shutdown_to(d);
        return;
    }
    if (uv_read_start((uv_stream_t *)d->from, on_alloc, on_read) != 0)
        conn_close(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    dir *d = s->data;
    conn *c = d->c;
    if (c->closing || nread == 0)
        return;
    if (c->draining) {
        if (nread < 0) {
            d->eof = 1;
            uv_read_stop(s);
            if (c->up.eof && c->down.eof)
                conn_close(c);
        }
        return;
    }
    if (nread == UV_EOF) {
        /* Half-close: pass the FIN on once the pending write is done. */
        d->eof = 1;
        uv_read_stop(s);
        if (!d->writing)
            shutdown_to(d);
        return;
    }
    if (nread < 0) {
        conn_close(c);
        return;
    }
    size_t n = (size_t)nread;
    if (c->limit && n > c->limit - c->reserved)
        n = (size_t)(c->limit - c->reserved);   /* the rest is cut off */
    if (c->pause_at && n > c->pause_at - c->reserved) {
        /* The rest waits in buf for the release. */
        size_t upto = (size_t)(c->pause_at - c->reserved);
        d->held_off = upto;
        d->held_len = n - upto;
        n = upto;
    }
    if (n > 0)
        uv_read_stop(s);
    if (n > 0 && write_buf(d, 0, n) != 0) {
        conn_close(c);
        return;
    }
    if (c->limit && c->reserved == c->limit && !c->cut) {
        c->cut = 1;
        uv_read_stop((uv_stream_t *)c->up.from);
        uv_read_stop((uv_stream_t *)c->down.from);
        maybe_drain(c);
        return;
    }
    if (c->pause_at && c->reserved == c->pause_at && !c->paused) {
        c->paused = 1;
        uv_read_stop((uv_stream_t *)c->up.from);
        uv_read_stop((uv_stream_t *)c->down.from);
        maybe_tell_paused(c);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    conn *c = req->data;
    if (c->closing)
        return;
    if (status < 0) {
        fprintf(stderr, "cutproxy: conn %llu: connect: %s\n", (unsigned long long)c->index,
                uv_strerror(status));
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->server, 1);
    if (uv_read_start((uv_stream_t *)&c->client, on_alloc, on_read) != 0 ||
        uv_read_start((uv_stream_t *)&c->server, on_alloc, on_read) != 0)
        conn_close(c);
}

static void dir_init(dir *d, conn *c, uv_tcp_t *from, uv_tcp_t *to)
{
    d->c = c;
    d->from = from;
    d->to = to;
    from->data = d;
}

/* Entry i of the list; the last one for later connections; 0 when empty. */
static uint64_t byte_list_for(const byte_list *l, uint64_t i)
{
    if (l->n == 0)
        return 0;
    return l->at[i < l->n ? i : l->n - 1];
}

static void on_accept(uv_stream_t *server, int status)
{
    if (status < 0) {
        fprintf(stderr, "cutproxy: accept: %s\n", uv_strerror(status));
        return;
    }
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "cutproxy: out of memory\n");
        return;
    }
    uv_tcp_init(loop, &c->client);
    uv_tcp_init(loop, &c->server);
    uv_timer_init(loop, &c->linger);
    c->handles = 3;
    c->client.data = c->server.data = c->linger.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->client) != 0) {
        /* Nothing accepted: not a connection, no stats line. */
        c->closing = 1;
        uv_close((uv_handle_t *)&c->client, on_handle_closed);
        uv_close((uv_handle_t *)&c->server, on_handle_closed);
        uv_close((uv_handle_t *)&c->linger, on_handle_closed);
        return;
    }
    dir_init(&c->up, c, &c->client, &c->server);
    dir_init(&c->down, c, &c->server, &c->client);
    c->index = n_accepted++;
    c->limit = byte_list_for(&cuts, c->index);
    c->pause_at = byte_list_for(&pauses, c->index);
    c->next = conns;
    if (conns)
        conns->prev = c;
    conns = c;
    uv_tcp_nodelay(&c->client, 1);
    c->connect.data = c;
    int rc = uv_tcp_connect(&c->connect, &c->server, (const struct sockaddr *)&target, on_connect);
    if (rc != 0) {
        fprintf(stderr, "cutproxy: connect: %s\n", uv_strerror(rc));
        conn_close(c);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    if (stopping)
        return;
    stopping = 1;
    while (conns)
        conn_close(conns);
    uv_close((uv_handle_t *)&listener, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigusr1, NULL);
}

/* SIGUSR1: every paused connection forwards again (and never pauses again). */
static void on_release(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    conn *next;
    for (conn *c = conns; c; c = next) {
        next = c->next;   /* resume_dir may close c */
        if (!c->paused || c->cut)
            continue;
        c->paused = 0;
        c->pause_at = 0;
        resume_dir(&c->up);
        if (!c->closing)
            resume_dir(&c->down);
    }
}

/* "1.2.3.4:P" or "[::1]:P". */
static int parse_addr(const char *text, struct sockaddr_storage *out)
{
    char host[256];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host)
        return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port > 65535)
        return -1;
    memset(out, 0, sizeof *out);
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        return uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)out) == 0 ? 0 : -1;
    }
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)out) == 0 ? 0 : -1;
}

static int parse_byte_list(const char *text, byte_list *l)
{
    const char *p = text;
    for (;;) {
        char *end;
        if (l->n == MAX_CUTS || *p < '0' || *p > '9')
            return -1;
        l->at[l->n++] = strtoull(p, &end, 10);
        if (*end == '\0')
            return 0;
        if (*end != ',')
            return -1;
        p = end + 1;
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: cutproxy --listen HOST:PORT --to HOST:PORT"
                    " [--cut N[,N2,...]] [--pause N[,N2,...]] [--stats FILE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *listen_at = NULL, *to = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "--listen") == 0)
            listen_at = argv[++i];
        else if (strcmp(argv[i], "--to") == 0)
            to = argv[++i];
        else if (strcmp(argv[i], "--cut") == 0) {
            if (parse_byte_list(argv[++i], &cuts) != 0)
                return usage();
        } else if (strcmp(argv[i], "--pause") == 0) {
            if (parse_byte_list(argv[++i], &pauses) != 0)
                return usage();
        } else if (strcmp(argv[i], "--stats") == 0)
            stats_path = argv[++i];
        else
            return usage();
    }
    struct sockaddr_storage bind_addr;
    if (!listen_at || !to || parse_addr(listen_at, &bind_addr) != 0 ||
        parse_addr(to, &target) != 0)
        return usage();

    /* A write to a peer the test killed is an error to handle, not death. */
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    uv_tcp_init(loop, &listener);
    int rc = uv_tcp_bind(&listener, (const struct sockaddr *)&bind_addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&listener, 128, on_accept);
    if (rc != 0) {
        fprintf(stderr, "cutproxy: listen on %s: %s\n", listen_at, uv_strerror(rc));
        return 1;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&listener, (struct sockaddr *)&bound, &len);
    int port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    /* The handlers are in place before anyone is told the port. */
    uv_signal_init(loop, &sigterm);
    uv_signal_init(loop, &sigint);
    uv_signal_init(loop, &sigusr1);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigusr1, on_release, SIGUSR1);
    printf("port %d\n", port);
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return 0;
}
