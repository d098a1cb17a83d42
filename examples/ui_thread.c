/*
 * ui_thread - another thread works with the store while the loop syncs it.
 *
 *   ui_thread --dir DIR --connect HOST:PORT CONV N
 *
 * A msglog handle is not thread-safe, and while a client runs every call on
 * the handle must be made on the loop's thread (msglog.h, "Threading"). So
 * the UI thread (here, main after start-up) never touches the handle: it
 * puts requests on a queue and wakes the loop with uv_async_send(); the
 * loop thread runs them and answers through a condition variable. The UI
 * thread writes N messages and reads the message count back after each;
 * the program exits 0 once the relay holds all N (each message sent).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "msglog.h"

/* One request from the UI thread, answered by the loop thread. */
typedef struct request {
    enum { REQ_SEND, REQ_COUNT, REQ_QUIT } kind;
    char text[128];
    int rc;                   /* the answer: an MSGLOG_* code */
    uint64_t count;           /* REQ_COUNT: messages in the conversation */
    int done;
    struct request *next;
} request;

typedef struct app {
    uv_loop_t loop;
    uv_async_t wake;          /* the one handle other threads may touch */
    msglog *log;
    msglog_client *client;
    const char *conv;
    pthread_mutex_t lock;     /* guards queue and every request's done */
    pthread_cond_t answered;
    request *queue;
    msglog_id *sent;          /* the loop thread's own record */
    size_t n_sent, want;
    int quit;
} app;

/* ---- the loop thread ------------------------------------------------------ */

static void run_request(app *a, request *r)
{
    msglog_conv_info *info;
    switch (r->kind) {
    case REQ_SEND:
        r->rc = msglog_send(a->log, &a->sent[a->n_sent], a->conv, strlen(a->conv), r->text,
                            strlen(r->text));
        a->n_sent += r->rc == MSGLOG_OK;
        break;
    case REQ_COUNT:
        r->rc = msglog_conv_info_get(a->log, &info, a->conv, strlen(a->conv));
        r->count = r->rc == MSGLOG_OK ? info->n_messages : 0;
        if (r->rc == MSGLOG_OK)
            msglog_free(info);
        break;
    case REQ_QUIT:
        a->quit = 1;
        r->rc = MSGLOG_OK;
        break;
    }
}

/* Stops once the UI thread is done and the relay has every message. */
static void maybe_stop(app *a)
{
    if (!a->quit || !a->client)
        return;
    for (size_t i = 0; i < a->n_sent; i++) {
        int st = MSGLOG_STATUS_PENDING;
        msglog_delivery_status(a->log, &st, a->conv, strlen(a->conv), a->sent[i]);
        if (st < MSGLOG_STATUS_SENT)
            return;
    }
    msglog_client *c = a->client;
    a->client = NULL;
    msglog_client_close(c);
    uv_close((uv_handle_t *)&a->wake, NULL);
}

/* uv_async_send() may wake the loop once for many sends: drain the queue. */
static void woken(uv_async_t *h)
{
    app *a = h->data;
    pthread_mutex_lock(&a->lock);
    request *todo = a->queue;
    a->queue = NULL;
    pthread_mutex_unlock(&a->lock);
    for (request *r = todo, *next; r; r = next) {
        next = r->next;
        run_request(a, r);
        pthread_mutex_lock(&a->lock);
        r->done = 1;
        pthread_cond_broadcast(&a->answered);
        pthread_mutex_unlock(&a->lock);
    }
    maybe_stop(a);
}

static void on_status(void *ctx, const char *conv, size_t len)
{
    (void)conv;
    (void)len;
    maybe_stop(ctx);
}

static void *loop_thread(void *arg)
{
    app *a = arg;
    uv_run(&a->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* ---- the UI thread -------------------------------------------------------- */

/* Queues r for the loop thread and waits for its answer. */
static int ask(app *a, request *r)
{
    r->done = 0;
    pthread_mutex_lock(&a->lock);
    r->next = a->queue;          /* one request at a time: order is kept */
    a->queue = r;
    pthread_mutex_unlock(&a->lock);
    uv_async_send(&a->wake);
    pthread_mutex_lock(&a->lock);
    while (!r->done)
        pthread_cond_wait(&a->answered, &a->lock);
    pthread_mutex_unlock(&a->lock);
    return r->rc;
}

/* Writes the messages, reading the count back after each; then tells the
 * loop thread to finish (also after a failure, so that it ends). */
static int ui(app *a)
{
    request r;
    int failed = 0;
    memset(&r, 0, sizeof r);
    for (size_t i = 0; !failed && i < a->want; i++) {
        r.kind = REQ_SEND;
        snprintf(r.text, sizeof r.text, "message %zu from the UI thread", i + 1);
        if (ask(a, &r) != MSGLOG_OK) {
            fprintf(stderr, "ui_thread: send failed: %s\n", msglog_strerror(r.rc));
            failed = 1;
            break;
        }
        r.kind = REQ_COUNT;
        if (ask(a, &r) != MSGLOG_OK || r.count < i + 1) {
            fprintf(stderr, "ui_thread: the count does not show the message\n");
            failed = 1;
        }
    }
    if (!failed)
        printf("%zu messages written by the UI thread; the conversation holds %llu\n", a->want,
               (unsigned long long)r.count);
    r.kind = REQ_QUIT;
    ask(a, &r);
    return failed;
}

/* ---- start-up -------------------------------------------------------------- */

static int start_client(app *a, const char *connect)
{
    char host[256];
    const char *colon = strrchr(connect, ':');
    if (!colon || (size_t)(colon - connect) >= sizeof host)
        return -1;
    memcpy(host, connect, (size_t)(colon - connect));
    host[colon - connect] = '\0';
    msglog_str conv = { a->conv, strlen(a->conv) };
    msglog_client_options o = MSGLOG_CLIENT_OPTIONS_INIT;
    o.host = host;
    o.port = (uint16_t)atoi(colon + 1);
    o.watch = 1;
    o.convs = &conv;
    o.n_convs = 1;
    o.on_status = on_status;
    o.ctx = a;
    if (msglog_client_new(&a->client, a->log, &a->loop, &o) != MSGLOG_OK)
        return -1;
    return msglog_client_start(a->client) == MSGLOG_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    static app a;
    pthread_t loop;

    signal(SIGPIPE, SIG_IGN);
    if (argc != 7 || strcmp(argv[1], "--dir") || strcmp(argv[3], "--connect")) {
        fprintf(stderr, "usage: ui_thread --dir DIR --connect HOST:PORT CONV N\n");
        return 2;
    }
    a.conv = argv[5];
    a.want = (size_t)strtoul(argv[6], NULL, 10);
    if (!(a.sent = calloc(a.want ? a.want : 1, sizeof *a.sent)) ||
        msglog_open(&a.log, argv[2], 0, NULL, 0, NULL) != MSGLOG_OK) {
        fprintf(stderr, "ui_thread: cannot open the store in %s\n", argv[2]);
        return 1;
    }
    pthread_mutex_init(&a.lock, NULL);
    pthread_cond_init(&a.answered, NULL);
    uv_loop_init(&a.loop);
    a.wake.data = &a;
    uv_async_init(&a.loop, &a.wake, woken);
    if (start_client(&a, argv[4]) != 0) {
        fprintf(stderr, "ui_thread: cannot start the client: %s\n", msglog_errmsg(a.log));
        return 1;
    }
    /* From here on only the loop thread calls into msglog. */
    pthread_create(&loop, NULL, loop_thread, &a);
    int rc = ui(&a);
    pthread_join(loop, NULL);
    uv_loop_close(&a.loop);
    msglog_close(a.log);
    free(a.sent);
    return rc;
}
