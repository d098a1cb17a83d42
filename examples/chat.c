/*
 * chat - a small terminal chat client on msglog's network API.
 *
 *   chat --dir DIR --connect HOST:PORT CONV
 *
 * Every line read from standard input is sent to conversation CONV; the
 * messages of others are printed as they arrive; the connection's state
 * and the delivery marks of this device's messages (… pending, ✓ sent,
 * ✓✓ delivered, read) are printed as they change. At the end of the input
 * it waits until everything it wrote is at the relay, then exits 0.
 *
 * One thread: the libuv loop owns the msglog handle, reads standard input
 * and runs the client, so every msglog call is made on that thread (the
 * rule of msglog.h, "Threading"). ui_thread.c shows how another thread
 * hands its work to the loop. Create DIR first with `msglog init`.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "msglog.h"

#define MAX_OWN 4096          /* messages this run tracks the marks of */

static const char *const marks[] = { "\xe2\x80\xa6 pending", "\xe2\x9c\x93 sent",
                                     "\xe2\x9c\x93\xe2\x9c\x93 delivered", "read" };

typedef struct chat {
    uv_loop_t loop;
    uv_pipe_t in;             /* standard input (a pipe, a file or a tty) */
    msglog *log;
    msglog_client *client;
    const char *conv;
    uint64_t replica;
    msglog_cursor seen;       /* the newest message printed so far */
    msglog_id own[MAX_OWN];   /* this run's messages and their marks */
    int own_status[MAX_OWN];
    size_t n_own;
    char line[MSGLOG_MAX_BODY + 1];
    size_t line_len;
    int input_done, failed;
} chat;

static void print_message(const chat *ch, const msglog_message *m)
{
    int own = m->id.replica == ch->replica;
    printf("%llu.%llu %s%.*s: %.*s%s\n", (unsigned long long)m->id.replica,
           (unsigned long long)m->id.seq, own ? "you, " : "", (int)m->author.len,
           m->author.data, m->body.data ? (int)m->body.len : 9,
           m->body.data ? m->body.data : "(deleted)", m->edited ? "  (edited)" : "");
}

/* Prints the messages after the newest one printed so far. (A message
 * whose clock reading is older than that one, from a device that was
 * offline, is inserted before it in message order and not printed here: a
 * real client re-renders its window instead.) */
static void print_new_messages(chat *ch)
{
    for (;;) {
        msglog_page *page = NULL;
        if (msglog_messages(ch->log, &page, ch->conv, strlen(ch->conv), MSGLOG_FORWARD, ch->seen,
                            50) != MSGLOG_OK)
            return;
        for (size_t i = 0; i < page->n; i++) {
            if (page->messages[i].id.replica != ch->replica)
                print_message(ch, &page->messages[i]);
            ch->seen = (msglog_cursor){ 0, page->messages[i].hlc, page->messages[i].id };
        }
        size_t n = page->n;
        msglog_free(page);
        if (n < 50)
            return;
    }
}

/* Prints each own message whose mark changed; 1 when all are at least sent. */
static int update_marks(chat *ch)
{
    int all_sent = 1;
    for (size_t i = 0; i < ch->n_own; i++) {
        int st = ch->own_status[i];
        if (msglog_delivery_status(ch->log, &st, ch->conv, strlen(ch->conv), ch->own[i]) ==
                MSGLOG_OK && st != ch->own_status[i]) {
            ch->own_status[i] = st;
            printf("%llu.%llu %s\n", (unsigned long long)ch->own[i].replica,
                   (unsigned long long)ch->own[i].seq, marks[st]);
        }
        all_sent &= ch->own_status[i] >= MSGLOG_STATUS_SENT;
    }
    return all_sent;
}

/* At the end of the input, once the relay has everything: stop. */
static void maybe_finish(chat *ch)
{
    msglog_conn_info info;
    if (!ch->input_done || !ch->client)
        return;
    msglog_client_state(ch->client, &info);
    if (info.state == MSGLOG_CONN_UP_TO_DATE && update_marks(ch)) {
        /* Up to date: the store holds all the relay has, even what an
         * on_received call still due (dropped by the close) would show. */
        print_new_messages(ch);
        /* Cleared first: closing from outside a callback reports OFFLINE to
         * on_state from inside the call, which comes back here. */
        msglog_client *c = ch->client;
        ch->client = NULL;
        msglog_client_close(c);
    }
}

static void on_state(void *ctx, const msglog_conn_info *info)
{
    chat *ch = ctx;
    static const char *const names[] = { "offline", "connecting", "syncing", "up to date",
                                         "backing off" };
    printf("* %s%s%s\n", names[info->state], info->detail[0] ? ": " : "", info->detail);
    maybe_finish(ch);
}

static void on_received(void *ctx, const char *conv, size_t len)
{
    (void)conv;
    (void)len;
    print_new_messages(ctx);
}

static void on_status(void *ctx, const char *conv, size_t len)
{
    (void)conv;
    (void)len;
    update_marks(ctx);
    maybe_finish(ctx);
}

static void send_line(chat *ch)
{
    msglog_id id;
    int rc = msglog_send(ch->log, &id, ch->conv, strlen(ch->conv), ch->line, ch->line_len);
    if (rc != MSGLOG_OK) {
        fprintf(stderr, "chat: cannot send: %s (%s)\n", msglog_errmsg(ch->log),
                msglog_strerror(rc));
        return;
    }
    printf("%llu.%llu you: %.*s  %s\n", (unsigned long long)id.replica,
           (unsigned long long)id.seq, (int)ch->line_len, ch->line, marks[0]);
    if (ch->n_own < MAX_OWN) {
        ch->own[ch->n_own] = id;
        ch->own_status[ch->n_own++] = MSGLOG_STATUS_PENDING;
    }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char chunk[65536];
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(chunk, sizeof chunk);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    chat *ch = s->data;
    for (ssize_t i = 0; i < n; i++) {
        if (buf->base[i] != '\n') {
            if (ch->line_len < MSGLOG_MAX_BODY)
                ch->line[ch->line_len++] = buf->base[i];
            continue;
        }
        if (ch->line_len)
            send_line(ch);
        ch->line_len = 0;
    }
    if (n < 0) {   /* the end of the input (or a read error) */
        if (ch->line_len)
            send_line(ch);
        ch->input_done = 1;
        uv_close((uv_handle_t *)&ch->in, NULL);
        maybe_finish(ch);
    }
}

static int parse_args(int argc, char **argv, const char **dir, char *host, size_t n,
                      uint16_t *port, const char **conv)
{
    const char *connect = NULL;
    *dir = *conv = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            *dir = argv[++i];
        else if (!strcmp(argv[i], "--connect") && i + 1 < argc)
            connect = argv[++i];
        else
            *conv = argv[i];
    }
    const char *colon = connect ? strrchr(connect, ':') : NULL;
    if (!*dir || !*conv || !colon || (size_t)(colon - connect) >= n)
        return -1;
    memcpy(host, connect, (size_t)(colon - connect));
    host[colon - connect] = '\0';
    *port = (uint16_t)atoi(colon + 1);
    return *port ? 0 : -1;
}

static int start(chat *ch, const char *host, uint16_t port)
{
    msglog_str conv = { ch->conv, strlen(ch->conv) };
    msglog_client_options o = MSGLOG_CLIENT_OPTIONS_INIT;
    o.host = host;
    o.port = port;
    o.watch = 1;
    o.convs = &conv;
    o.n_convs = 1;
    o.on_state = on_state;
    o.on_status = on_status;
    o.on_received = on_received;
    o.ctx = ch;
    if (msglog_client_new(&ch->client, ch->log, &ch->loop, &o) != MSGLOG_OK ||
        msglog_client_start(ch->client) != MSGLOG_OK)
        return -1;
    ch->in.data = ch;
    if (uv_pipe_init(&ch->loop, &ch->in, 0) != 0 || uv_pipe_open(&ch->in, 0) != 0 ||
        uv_read_start((uv_stream_t *)&ch->in, alloc_cb, read_cb) != 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    static chat ch;
    const char *dir;
    char host[256];
    uint16_t port;

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);   /* msglog.h, "Signals" */
    if (parse_args(argc, argv, &dir, host, sizeof host, &port, &ch.conv) != 0) {
        fprintf(stderr, "usage: chat --dir DIR --connect HOST:PORT CONV\n");
        return 2;
    }
    int rc = msglog_open(&ch.log, dir, 0, NULL, 0, NULL);
    if (rc != MSGLOG_OK) {
        fprintf(stderr, "chat: cannot open the store in %s (%s); create it with msglog init\n",
                dir, msglog_strerror(rc));
        return 1;
    }
    msglog_identity(ch.log, &ch.replica, NULL, NULL);
    ch.seen.from_end = 1;
    uv_loop_init(&ch.loop);
    if (start(&ch, host, port) != 0) {
        fprintf(stderr, "chat: cannot start: %s\n", msglog_errmsg(ch.log));
        ch.failed = 1;
        msglog_client_close(ch.client);
        ch.client = NULL;
        if (!uv_is_closing((uv_handle_t *)&ch.in))
            uv_close((uv_handle_t *)&ch.in, NULL);
    }
    print_new_messages(&ch);
    uv_run(&ch.loop, UV_RUN_DEFAULT);   /* until the client and stdin closed */
    uv_loop_close(&ch.loop);
    msglog_close(ch.log);
    return ch.failed;
}
