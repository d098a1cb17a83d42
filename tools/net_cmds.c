/*
 * net_cmds.c - `msglog relay` and `msglog sync`: network sync through the
 * public API (msglog_relay_*, msglog_client_*) on a libuv loop.
 *
 * Both stop cleanly on SIGINT or SIGTERM (uv_signal): the relay or client
 * is closed, the loop runs until every handle is closed, then the store.
 * The relay logs to stderr (log_lines.c) and writes a STATS line on
 * SIGUSR1.
 */
#include "net_cmds.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cli_util.h"
#include "log_lines.h"
#include "msglog.h"
#include "replay.h"

/* How often `sync` looks for messages written to its store by another
 * process (`msglog send` while `msglog sync --watch` runs). */
#define SYNC_POLL_MS 200

typedef struct net_run {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    uv_signal_t sigusr1;      /* relay: STATS */
    int stats_on;             /* sigusr1 is initialised */
    msglog_relay *relay;
    msglog_client *client;
    int stopped;              /* a signal came */
    int watch;
    char where[300];
} net_run;

static void stop(net_run *n)
{
    if (n->stopped)
        return;
    n->stopped = 1;
    msglog_relay_close(n->relay);
    n->relay = NULL;
    msglog_client_close(n->client);
    n->client = NULL;
    uv_close((uv_handle_t *)&n->sigint, NULL);
    uv_close((uv_handle_t *)&n->sigterm, NULL);
    if (n->stats_on)
        uv_close((uv_handle_t *)&n->sigusr1, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    stop(h->data);
}

/* The loop with SIGINT and SIGTERM handled. The signal handles do not keep
 * the loop alive: a sync that finished ends it. @return 0, or -1. */
static int run_init(net_run *n, const char *cmd)
{
    int e;

    /* A write to a connection the peer already closed must fail with
     * EPIPE, not kill the process (libuv writes with write(2)). */
    signal(SIGPIPE, SIG_IGN);
    e = uv_loop_init(&n->loop);

    if (e != 0) {
        fprintf(stderr, "msglog: %s: cannot make the event loop: %s\n", cmd, uv_strerror(e));
        return -1;
    }
    n->sigint.data = n->sigterm.data = n;
    uv_signal_init(&n->loop, &n->sigint);
    uv_signal_init(&n->loop, &n->sigterm);
    uv_signal_start(&n->sigint, on_signal, SIGINT);
    uv_signal_start(&n->sigterm, on_signal, SIGTERM);
    uv_unref((uv_handle_t *)&n->sigint);
    uv_unref((uv_handle_t *)&n->sigterm);
    return 0;
}

static void on_stats_signal(uv_signal_t *h, int signum)
{
    net_run *n = h->data;
    msglog_relay_stats st;

    (void)signum;
    if (!n->relay)
        return;
    if (msglog_relay_stats_get(n->relay, &st) == MSGLOG_OK)
        log_stats(&st);
    else
        log_line(NULL, MSGLOG_LOG_ERROR, "STATS: the store cannot be read");
}

/* SIGUSR1 writes a STATS line; like the others it does not keep the loop
 * alive. Installed before the relay listens, so that a script that saw
 * "listening" may send it. */
static void stats_signal_start(net_run *n)
{
    n->sigusr1.data = n;
    uv_signal_init(&n->loop, &n->sigusr1);
    uv_signal_start(&n->sigusr1, on_stats_signal, SIGUSR1);
    uv_unref((uv_handle_t *)&n->sigusr1);
    n->stats_on = 1;
}

/* Closes whatever is left and runs the loop until every handle closed. */
static void run_finish(net_run *n)
{
    if (!n->stopped)
        stop(n);
    uv_run(&n->loop, UV_RUN_DEFAULT);
    uv_loop_close(&n->loop);
}

/* ------------------------------------------------------------------------ */
/* relay                                                                     */

static const char relay_usage[] =
    "usage: msglog relay --listen HOST:PORT --dir DIR [--replica N] [--user U] [LIMITS]\n"
    "                    [--memory-budget BYTES] [--log-level LEVEL]\n"
    "  Runs a relay on the store in DIR: it accepts devices (`msglog sync`),\n"
    "  keeps what they send, pushes every new message to every connected\n"
    "  device of the conversation, and tracks what each device has, for\n"
    "  delivery status. PORT 0 picks a free port. When listening it prints\n"
    "  \"listening HOST:PORT\" on stdout. It runs until SIGINT or SIGTERM.\n"
    "  A new DIR gets a store of replica N (default 1) of user U (default\n"
    "  \"relay\"); for an existing store, --replica and --user, when given,\n"
    "  must match it. Only one relay or `sync --watch` may run on a store:\n"
    "  another one exits 1 (\"the store in DIR is in use by process N\").\n"
    "  --log-level LEVEL  what it logs on stderr, one line per event,\n"
    "                     \"TIMESTAMP LEVEL TEXT\" (UTC): error (disk full,\n"
    "                     store failures), warn (refused peers: protocol\n"
    "                     errors, limits), info (start, stop, connections;\n"
    "                     the default) or debug (and each HELLO)\n"
    "  SIGUSR1 writes a STATS line (connections, conversations, bytes in\n"
    "  and out, commits and commits per second, unwritten bytes).\n"
    "  --memory-budget BYTES  what the relay holds for its devices, all\n"
    "                   together (batches being received, output not yet\n"
    "                   written); each of n connections gets BYTES / n and is\n"
    "                   slowed, or closed with ERROR limit, beyond it. A\n"
    "                   suffix K, M or G counts KiB, MiB, GiB. Default 1G.\n"
    "  LIMITS (a connection past one is closed with ERROR limit):\n"
    "  --max-conns N           connections at a time, all devices (10000)\n"
    "  --max-conns-per-addr N  connections at a time from one IPv4 address or\n"
    "                          IPv6 /64 (64); the newest beyond is refused\n"
    "  --max-subs N            conversations one device may be subscribed to\n"
    "                          (100000); naming one the relay does not hold\n"
    "                          in a HELLO costs nothing\n"
    "  --max-devices N         device records the store keeps (100000)\n"
    "  --hello-timeout SECS    a connection must send HELLO within SECS (30)\n"
    "  --idle-timeout SECS     after HELLO, closed when nothing arrives for\n"
    "                          SECS (60); `msglog sync` sends keep-alives\n"
    "  --max-clock-ahead SECS  a batch holding an op whose clock reading is\n"
    "                          more than SECS ahead of the relay's clock is\n"
    "                          refused with ERROR refused (600): one far-future\n"
    "                          op would make every later op of its\n"
    "                          conversation follow it\n";

/* The limit options as given (NULL: the library's default). */
typedef struct relay_limit_args {
    const char *max_conns, *max_conns_per_addr, *hello_timeout, *idle_timeout, *max_subs,
        *max_devices, *max_clock_ahead;
} relay_limit_args;

/* Parses a duration in seconds (a fraction allowed) into ms, at most what
 * fits a uint32_t. @return 0, or -1. */
static int parse_seconds(const char *s, uint32_t *ms)
{
    char *end;
    double secs = strtod(s, &end);

    if (end == s || *end || !(secs > 0) || secs > 4000000.0)
        return -1;
    *ms = (uint32_t)(secs * 1000.0 + 0.5);
    if (*ms == 0)
        *ms = 1;
    return 0;
}

/* --NAME S, a count >= 1, into *out when given. @return 0, or -1. */
static int limit_count(const char *name, const char *s, uint64_t *out)
{
    if (!s || cli_parse_u64(s, 1, UINT32_MAX, out) == 0)
        return 0;
    cli_usage_error("relay", relay_usage, "--%s takes an integer in [1, %" PRIu32 "], not '%s'",
                    name, UINT32_MAX, s);
    return -1;
}

/* --NAME S, in seconds, into *ms when given. @return 0, or -1. */
static int limit_seconds(const char *name, const char *s, uint32_t *ms)
{
    if (!s || parse_seconds(s, ms) == 0)
        return 0;
    cli_usage_error("relay", relay_usage, "--%s takes a positive number of seconds, not '%s'",
                    name, s);
    return -1;
}

/* The relay's options from the limit arguments. @return CLI_OK or CLI_INVALID. */
static int relay_limits(const relay_limit_args *a, msglog_relay_options *o)
{
    uint64_t max_conns = 0, per_addr = 0;
    uint32_t ahead_ms = 0;

    if (limit_count("max-conns", a->max_conns, &max_conns) != 0 ||
        limit_count("max-conns-per-addr", a->max_conns_per_addr, &per_addr) != 0 ||
        limit_count("max-subs", a->max_subs, &o->max_subs_per_device) != 0 ||
        limit_count("max-devices", a->max_devices, &o->max_devices) != 0 ||
        limit_seconds("hello-timeout", a->hello_timeout, &o->hello_timeout_ms) != 0 ||
        limit_seconds("idle-timeout", a->idle_timeout, &o->idle_timeout_ms) != 0 ||
        limit_seconds("max-clock-ahead", a->max_clock_ahead, &ahead_ms) != 0)
        return CLI_INVALID;
    o->max_clock_ahead_ms = ahead_ms;
    o->max_conns = (size_t)max_conns;
    o->max_conns_per_addr = (size_t)per_addr;
    return CLI_OK;
}

/* Large buffers (batches, a WANT's answer) are mapped for themselves and
 * given back to the system when freed. glibc raises this threshold after
 * the first large free, and then serves them from the heap, which keeps
 * what peers made the relay hold long after it was freed: the relay's
 * memory would follow its peaks, not its budget (docs/reliability.md). */
static void release_large_buffers(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

/* Opens the relay's store, creating it when DIR holds none. */
static int relay_open(msglog **log, const char *dir, const char *replica_s, const char *user)
{
    uint64_t replica = 1, have_r = 0;
    const char *have_u = "";
    int rc;

    if (replica_s && cli_parse_u64(replica_s, 1, (UINT64_C(1) << 53) - 1, &replica) != 0)
        return cli_usage_error("relay", relay_usage,
                               "--replica must be an integer in [1, 2^53), not '%s'", replica_s);
    if (user && (!*user || strlen(user) > MSGLOG_MAX_USER))
        return cli_usage_error("relay", relay_usage, "--user must be 1..%d bytes",
                               MSGLOG_MAX_USER);
    rc = msglog_open(log, dir, 0, NULL, 0, NULL);
    if (rc == MSGLOG_ENOTFOUND) {
        if (!user)
            user = "relay";
        rc = msglog_open(log, dir, replica, user, strlen(user), NULL);
        return rc == MSGLOG_OK ? CLI_OK
                               : cli_open_error("relay", dir, "cannot create the store in", rc);
    }
    if (rc != MSGLOG_OK)
        return cli_open_error("relay", dir, "cannot open the store in", rc);
    msglog_identity(*log, &have_r, &have_u, NULL);
    if ((replica_s && have_r != replica) || (user && strcmp(user, have_u) != 0)) {
        fprintf(stderr, "msglog: relay: %s holds the store of replica %" PRIu64
                " of user '%s', not the one given\n", dir, have_r, have_u);
        msglog_close(*log);
        *log = NULL;
        return CLI_FAIL;
    }
    return CLI_OK;
}

int relay_main(int argc, char **argv)
{
    const char *listen = NULL, *dir = NULL, *replica_s = NULL, *user = NULL, *level_s = NULL;
    const char *pos[1];
    relay_limit_args lim = { NULL, NULL, NULL, NULL, NULL, NULL, NULL };
    msglog_relay_options ro = MSGLOG_RELAY_OPTIONS_INIT;
    const char *budget_s = NULL;
    size_t n_pos;
    cli_opt opts[] = { { "listen", &listen, NULL, NULL, NULL },
                       { "dir", &dir, NULL, NULL, NULL },
                       { "replica", &replica_s, NULL, NULL, NULL },
                       { "user", &user, NULL, NULL, NULL },
                       { "max-conns", &lim.max_conns, NULL, NULL, NULL },
                       { "max-conns-per-addr", &lim.max_conns_per_addr, NULL, NULL, NULL },
                       { "max-subs", &lim.max_subs, NULL, NULL, NULL },
                       { "max-devices", &lim.max_devices, NULL, NULL, NULL },
                       { "hello-timeout", &lim.hello_timeout, NULL, NULL, NULL },
                       { "idle-timeout", &lim.idle_timeout, NULL, NULL, NULL },
                       { "max-clock-ahead", &lim.max_clock_ahead, NULL, NULL, NULL },
                       { "log-level", &level_s, NULL, NULL, NULL },
                       { "memory-budget", &budget_s, NULL, NULL, NULL },
                       { NULL, NULL, NULL, NULL, NULL } };
    uint64_t budget = 0;
    char host[256];
    uint16_t port;
    msglog *log = NULL;
    net_run n;
    int rc = cli_parse("relay", argc, argv, opts, pos, 0, &n_pos, relay_usage);

    if (rc != CLI_OK)
        return rc == CLI_HELP ? CLI_OK : rc;
    if (!listen || !dir)
        return cli_usage_error("relay", relay_usage, "--listen and --dir are required");
    if (cli_parse_hostport(listen, host, sizeof host, &port, 1) != 0)
        return cli_usage_error("relay", relay_usage,
                               "--listen takes HOST:PORT (IPv6: [ADDR]:PORT), not '%s'", listen);
    if ((rc = relay_limits(&lim, &ro)) != CLI_OK)
        return rc;
    ro.log_level = MSGLOG_LOG_INFO;
    if (level_s && log_level_parse(level_s, &ro.log_level) != 0)
        return cli_usage_error("relay", relay_usage,
                               "--log-level takes error, warn, info or debug, not '%s'", level_s);
    ro.on_log = log_line;
    if (budget_s && cli_parse_size(budget_s, 1, SIZE_MAX, &budget) != 0)
        return cli_usage_error("relay", relay_usage,
                               "--memory-budget takes a byte count (suffix K, M or G), not '%s'",
                               budget_s);
    ro.memory_budget = (size_t)budget;
    release_large_buffers();
    if ((rc = relay_open(&log, dir, replica_s, user)) != CLI_OK)
        return rc;
    memset(&n, 0, sizeof n);
    if (run_init(&n, "relay") != 0) {
        msglog_close(log);
        return CLI_FAIL;
    }
    stats_signal_start(&n);
    rc = msglog_relay_new(&n.relay, log, &n.loop, host, port, &ro);
    if (rc != MSGLOG_OK) {
        rc = cli_lib_error("relay", log, "cannot start", rc);
    } else {
        char where[300];
        if (strchr(host, ':'))
            snprintf(where, sizeof where, "[%s]:%u", host, (unsigned)msglog_relay_port(n.relay));
        else
            snprintf(where, sizeof where, "%s:%u", host, (unsigned)msglog_relay_port(n.relay));
        printf("listening %s\n", where);
        fflush(stdout);
        uv_run(&n.loop, UV_RUN_DEFAULT);
        rc = CLI_OK;
    }
    run_finish(&n);
    msglog_close(log);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* sync                                                                      */

static const char sync_usage[] =
    "usage: msglog sync --connect HOST:PORT --dir DIR [--watch] [--timeout SECONDS]\n"
    "                   [--keepalive SECONDS] [--conv CONV]...\n"
    "  Syncs the store in DIR with the relay at HOST:PORT: sends what the\n"
    "  relay lacks, receives what it has, and updates delivery statuses.\n"
    "  Each change of the connection state is printed on stderr (connecting,\n"
    "  syncing, up to date, backing off, offline).\n"
    "  --watch          stay connected: new messages are pushed both ways as\n"
    "                   they are written (also by `msglog send` on DIR), and a\n"
    "                   lost connection is retried with exponential backoff;\n"
    "                   runs until SIGINT or SIGTERM (exit 0). One relay or\n"
    "                   --watch per store: another exits 1 (\"the store in\n"
    "                   DIR is in use by process N\")\n"
    "  --timeout SECS   without --watch: give up after SECS seconds\n"
    "  --keepalive SECS while connected, send a keep-alive every SECS (15), so\n"
    "                   the relay's idle timeout (60) does not close the link\n"
    "  --conv CONV      sync only CONV (repeatable); default: every\n"
    "                   conversation the store or the relay holds\n"
    "  Exit status without --watch: 0 once up to date, 1 otherwise.\n";

/* "12:03:04.567" of a wall clock in ms, local time. */
static void clock_text(char *out, size_t n, uint64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    if (!localtime_r(&secs, &tm)) {
        snprintf(out, n, "%" PRIu64 " ms", ms);
        return;
    }
    snprintf(out, n, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned)(ms % 1000));
}

static uint64_t wall_ms(void)
{
    uv_timeval64_t tv;

    if (uv_gettimeofday(&tv) != 0)
        return 0;
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void on_state(void *ctx, const msglog_conn_info *info)
{
    net_run *n = ctx;
    const char *detail = info->detail && *info->detail ? info->detail : NULL;

    switch (info->state) {
    case MSGLOG_CONN_CONNECTING:
        fprintf(stderr, "connecting to %s\n", n->where);
        break;
    case MSGLOG_CONN_SYNCING:
        fputs("syncing\n", stderr);
        break;
    case MSGLOG_CONN_UP_TO_DATE:
        fputs("up to date\n", stderr);
        break;
    case MSGLOG_CONN_BACKOFF: {
        char at[32];
        uint64_t now = wall_ms();
        double in = info->retry_at_ms > now ? (double)(info->retry_at_ms - now) / 1000.0 : 0.0;
        clock_text(at, sizeof at, info->retry_at_ms);
        fprintf(stderr, "backing off until %s (reconnect in %.1f s)%s%s\n", at, in,
                detail ? ": " : "", detail ? detail : "");
        break;
    }
    case MSGLOG_CONN_OFFLINE:
    default:
        if (info->last_error != MSGLOG_OK && detail)
            fprintf(stderr, "offline: %s\n", detail);
        else
            fputs("offline\n", stderr);
        break;
    }
}

int sync_main(int argc, char **argv)
{
    const char *connect = NULL, *dir = NULL, *timeout_s = NULL, *keepalive_s = NULL, *pos[1];
    const char **conv_args = calloc((size_t)argc + 1, sizeof *conv_args);
    msglog_str *convs = calloc((size_t)argc + 1, sizeof *convs);
    size_t n_convs = 0, n_pos;
    int watch = 0;
    cli_opt opts[] = { { "connect", &connect, NULL, NULL, NULL },
                       { "dir", &dir, NULL, NULL, NULL },
                       { "watch", NULL, &watch, NULL, NULL },
                       { "timeout", &timeout_s, NULL, NULL, NULL },
                       { "keepalive", &keepalive_s, NULL, NULL, NULL },
                       { "conv", NULL, NULL, conv_args, &n_convs },
                       { NULL, NULL, NULL, NULL, NULL } };
    msglog_client_options co = MSGLOG_CLIENT_OPTIONS_INIT;
    char host[256];
    msglog *log = NULL;
    net_run n;
    int rc;

    if (!conv_args || !convs) {
        fputs("msglog: sync: out of memory\n", stderr);
        free(conv_args);
        free(convs);
        return CLI_FAIL;
    }
    rc = cli_parse("sync", argc, argv, opts, pos, 0, &n_pos, sync_usage);
    if (rc != CLI_OK)
        goto out;
    rc = CLI_INVALID;
    if (!connect || !dir) {
        cli_usage_error("sync", sync_usage, "--connect and --dir are required");
        goto out;
    }
    if (cli_parse_hostport(connect, host, sizeof host, &co.port, 0) != 0) {
        cli_usage_error("sync", sync_usage,
                        "--connect takes HOST:PORT (IPv6: [ADDR]:PORT), PORT 1..65535, not '%s'",
                        connect);
        goto out;
    }
    if (timeout_s && watch) {
        cli_usage_error("sync", sync_usage, "--timeout is for a single sync, not --watch");
        goto out;
    }
    if (timeout_s && parse_seconds(timeout_s, &co.timeout_ms) != 0) {
        cli_usage_error("sync", sync_usage, "--timeout takes a positive number of seconds, "
                        "not '%s'", timeout_s);
        goto out;
    }
    if (keepalive_s && parse_seconds(keepalive_s, &co.keepalive_ms) != 0) {
        cli_usage_error("sync", sync_usage, "--keepalive takes a positive number of seconds, "
                        "not '%s'", keepalive_s);
        goto out;
    }
    for (size_t i = 0; i < n_convs; i++) {
        convs[i].data = conv_args[i];
        convs[i].len = strlen(conv_args[i]);
        if (convs[i].len == 0 || convs[i].len > MSGLOG_MAX_CONV) {
            cli_usage_error("sync", sync_usage, "--conv must be 1..%d bytes", MSGLOG_MAX_CONV);
            goto out;
        }
    }
    if ((rc = cli_open_store(&log, "sync", dir)) != CLI_OK)
        goto out;
    memset(&n, 0, sizeof n);
    n.watch = watch;
    if (strchr(host, ':'))
        snprintf(n.where, sizeof n.where, "[%s]:%u", host, (unsigned)co.port);
    else
        snprintf(n.where, sizeof n.where, "%s:%u", host, (unsigned)co.port);
    if (run_init(&n, "sync") != 0) {
        rc = CLI_FAIL;
        goto out;
    }
    co.host = host;
    co.watch = watch;
    co.convs = convs;
    co.n_convs = n_convs;
    co.poll_ms = SYNC_POLL_MS;
    co.on_state = on_state;
    co.ctx = &n;
    rc = msglog_client_new(&n.client, log, &n.loop, &co);
    if (rc == MSGLOG_OK)
        rc = msglog_client_start(n.client);
    if (rc != MSGLOG_OK) {
        rc = cli_lib_error("sync", log, "cannot start", rc);
    } else {
        uv_run(&n.loop, UV_RUN_DEFAULT);
        if (watch)
            rc = CLI_OK;    /* only a signal ends it */
        else
            rc = !n.stopped && msglog_client_result(n.client) == MSGLOG_OK ? CLI_OK : CLI_FAIL;
        if (!watch && n.stopped)
            fputs("msglog: sync: interrupted before it was up to date\n", stderr);
    }
    run_finish(&n);
out:
    msglog_close(log);
    free(conv_args);
    free(convs);
    return rc == CLI_HELP ? CLI_OK : rc;
}
