/* The relay's log (msglog_relay_options.on_log, net/relay_log.c): one line
 * per event an operator needs, each at its level, made from the loop and
 * never from inside a msglog_* call, and not made at all below the
 * threshold. A relay and its peers on one local loop: devices are once-mode
 * clients, hostile peers plain blocking sockets (the kernel completes their
 * connect before the relay accepts). Waits are on log lines, bounded.
 *
 *   start_to_stop   started, opened, hello, closed, stopped
 *   threshold       below the level nothing is made; a bad level is refused;
 *                   0 is INFO
 *   max_conns       a connection past the limit is refused (warn)
 *   bad_frame       a frame over the limit: ERROR limit sent (warn)
 *   disk_full       a full store: "disk full" and the close (error) */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msglog.h"
#include "support/check.h"
#include "support/tmpdir.h"
#include "support/tstore.h"
#include "netloop.h"
#include "netpeers.h"

#define TEAM "team", 4
#define HOST "127.0.0.1"
#define WAIT_MS NETPEERS_WAIT_MS
#define MAX_LINES 64

typedef struct line {
    msglog_log_level level;
    char text[512];
} line;

static line lines[MAX_LINES];
static size_t n_lines;
static int in_call;         /* inside msglog_relay_new() or _close() */

static void on_log(void *ctx, msglog_log_level level, const char *text)
{
    (void)ctx;
    cr_assert(!in_call, "on_log from inside a msglog_* call: %s", text);
    cr_assert(level >= MSGLOG_LOG_ERROR && level <= MSGLOG_LOG_DEBUG, "level %d", level);
    cr_assert_lt(n_lines, MAX_LINES, "too many lines");
    lines[n_lines].level = level;
    snprintf(lines[n_lines].text, sizeof lines[n_lines].text, "%s", text);
    n_lines++;
}

static void setup(void)
{
    n_lines = 0;
    netloop_setup("msglog-relaylog-");
}

TestSuite(relay_log, .init = setup, .fini = netloop_teardown, .timeout = 40);

/* ---- lines ---------------------------------------------------------------- */

/* The first line that starts with `head`, or NULL. */
static const line *find_line(const char *head)
{
    for (size_t i = 0; i < n_lines; i++)
        if (strncmp(lines[i].text, head, strlen(head)) == 0)
            return &lines[i];
    return NULL;
}

static int pred_line(void *head)
{
    return find_line(head) != NULL;
}

/* Waits for the line starting with `head` and checks its level. */
static const line *expect_line(const char *head, msglog_log_level level)
{
    run_until(pred_line, (void *)head, WAIT_MS, head);
    const line *l = find_line(head);
    cr_assert_eq(l->level, level, "\"%s\": level %d, not %d", l->text, l->level, level);
    return l;
}

static void dump_lines(void)
{
    for (size_t i = 0; i < n_lines; i++)
        cr_log_info("line %zu (%d): %s", i, lines[i].level, lines[i].text);
}

/* ---- a relay and its peers ------------------------------------------------ */

static msglog_relay_options log_options(msglog_log_level level)
{
    msglog_relay_options o = MSGLOG_RELAY_OPTIONS_INIT;
    o.on_log = on_log;
    o.log_level = level;
    return o;
}

static msglog_relay *start_relay(msglog *log, const msglog_relay_options *o)
{
    msglog_relay *r = NULL;
    in_call = 1;
    int rc = msglog_relay_new(&r, log, &loop, HOST, 0, o);
    in_call = 0;
    cr_assert_eq(rc, MSGLOG_OK, "msglog_relay_new -> %d: %s", rc, msglog_errmsg(log));
    cr_assert_eq(n_lines, 0, "a line from inside msglog_relay_new");
    return r;
}

static void stop_relay(msglog_relay *r)
{
    size_t before = n_lines;
    in_call = 1;
    msglog_relay_close(r);
    in_call = 0;
    cr_assert_eq(n_lines, before, "a line from inside msglog_relay_close");
}

/* "conn N opened from 127.0.0.1:PORT" for the peer's port. */
static void opened_text(char *out, size_t n, int conn, const peer *p)
{
    snprintf(out, n, "conn %d opened from 127.0.0.1:%u", conn, p->port);
}

static msglog *open_store(const char *name, uint64_t replica, const char *user)
{
    msglog *log = NULL;
    CHECK_OK(tstore_open(&log, root, name, replica, user, NULL));
    return log;
}

static void say(msglog *log, int i, size_t size)
{
    static char body[8192];
    msglog_id id;
    cr_assert_leq(size, sizeof body);
    memset(body, 'a' + i % 26, size);
    CHECK_OK(msglog_send(log, &id, TEAM, body, size));
}

/* ======================================================================== */

Test(relay_log, start_to_stop)
{
    msglog *rlog = open_store("relay", 1, "relay");
    msglog *alice = open_store("alice", 10, "alice");
    msglog_relay_options o = log_options(MSGLOG_LOG_DEBUG);
    msglog_relay *r = start_relay(rlog, &o);
    uint16_t port = msglog_relay_port(r);
    char want[256];

    snprintf(want, sizeof want, "relay started: listening on 127.0.0.1:%u (replica 1)",
             (unsigned)port);
    cr_assert_str_eq(expect_line("relay started", MSGLOG_LOG_INFO)->text, want);
    for (int i = 0; i < 5; i++)
        say(alice, i, 100);
    cr_assert_eq(sync_once(alice, port), MSGLOG_OK);
    expect_line("conn 1 opened from 127.0.0.1:", MSGLOG_LOG_INFO);
    cr_assert_str_eq(expect_line("conn 1 hello", MSGLOG_LOG_DEBUG)->text,
                     "conn 1 hello: replica 10 (user alice)");
    {
        const line *l = expect_line("conn 1 closed", MSGLOG_LOG_INFO);
        cr_assert(strstr(l->text, ", replica 10): the device closed the connection"), "%s",
                  l->text);
    }
    /* A peer still connected when the relay stops is counted, not logged
     * one by one (the close runs inside msglog_relay_close). */
    peer p = connect_peer(port);
    opened_text(want, sizeof want, 2, &p);
    expect_line(want, MSGLOG_LOG_INFO);
    stop_relay(r);
    cr_assert_str_eq(expect_line("relay stopped", MSGLOG_LOG_INFO)->text,
                     "relay stopped: 1 open connections closed");
    cr_assert_null(find_line("conn 2 closed"));
    dump_lines();
    close(p.fd);
    msglog_close(alice);
    msglog_close(rlog);
    finish_loop();
}

Test(relay_log, threshold)
{
    static const uint8_t huge_frame[4] = { 0xff, 0xff, 0xff, 0xff };
    msglog *rlog = open_store("relay", 1, "relay");
    msglog *alice = open_store("alice", 10, "alice");
    msglog_relay *r = (msglog_relay *)&loop;
    msglog_relay_options o = log_options(MSGLOG_LOG_DEBUG + 1);

    cr_assert_eq(msglog_relay_new(&r, rlog, &loop, HOST, 0, &o), MSGLOG_EINVAL);
    cr_assert_null(r);
    cr_assert(strstr(msglog_errmsg(rlog), "log_level"), "%s", msglog_errmsg(rlog));

    /* WARN: a sync (info and debug lines only) makes none; a refusal does. */
    o = log_options(MSGLOG_LOG_WARN);
    r = start_relay(rlog, &o);
    say(alice, 0, 100);
    cr_assert_eq(sync_once(alice, msglog_relay_port(r)), MSGLOG_OK);
    peer p = connect_peer(msglog_relay_port(r));
    cr_assert_eq(write(p.fd, huge_frame, 4), 4);
    expect_line("conn 2 closed", MSGLOG_LOG_WARN);
    stop_relay(r);
    close(p.fd);
    msglog_close(alice);
    msglog_close(rlog);
    finish_loop();   /* the stop line would have come by now: it is info */
    dump_lines();
    cr_assert_eq(n_lines, 1, "only the warning was made");
}

Test(relay_log, default_threshold_is_info)
{
    msglog *rlog = open_store("relay", 1, "relay");
    msglog *alice = open_store("alice", 10, "alice");
    msglog_relay_options o = log_options(0);
    msglog_relay *r = start_relay(rlog, &o);

    say(alice, 0, 100);
    cr_assert_eq(sync_once(alice, msglog_relay_port(r)), MSGLOG_OK);
    expect_line("conn 1 closed", MSGLOG_LOG_INFO);
    cr_assert_null(find_line("conn 1 hello"));
    stop_relay(r);
    expect_line("relay stopped", MSGLOG_LOG_INFO);
    msglog_close(alice);
    msglog_close(rlog);
    finish_loop();
}

Test(relay_log, max_conns)
{
    msglog *rlog = open_store("relay", 1, "relay");
    msglog_relay_options o = log_options(MSGLOG_LOG_INFO);
    char want[256];

    o.max_conns = 1;
    msglog_relay *r = start_relay(rlog, &o);
    peer a = connect_peer(msglog_relay_port(r));
    opened_text(want, sizeof want, 1, &a);
    expect_line(want, MSGLOG_LOG_INFO);
    peer b = connect_peer(msglog_relay_port(r));
    snprintf(want, sizeof want, "conn 2 refused (127.0.0.1:%u): the relay is full (1 connections)",
             b.port);
    cr_assert_str_eq(expect_line("conn 2 refused", MSGLOG_LOG_WARN)->text, want);
    cr_assert_null(find_line("conn 2 opened"));
    stop_relay(r);
    expect_line("relay stopped", MSGLOG_LOG_INFO);
    close(a.fd);
    close(b.fd);
    msglog_close(rlog);
    finish_loop();
}

Test(relay_log, bad_frame)
{
    static const uint8_t huge_frame[4] = { 0xff, 0xff, 0xff, 0xff };
    msglog *rlog = open_store("relay", 1, "relay");
    msglog_relay_options o = log_options(MSGLOG_LOG_INFO);
    msglog_relay *r = start_relay(rlog, &o);
    peer p = connect_peer(msglog_relay_port(r));
    char want[256];

    cr_assert_eq(write(p.fd, huge_frame, 4), 4);
    snprintf(want, sizeof want, "conn 1 closed (127.0.0.1:%u): sent ERROR limit: a frame over "
             "4194304 bytes (is the peer a msglog relay or device?)", p.port);
    cr_assert_str_eq(expect_line("conn 1 closed", MSGLOG_LOG_WARN)->text, want);
    stop_relay(r);
    expect_line("relay stopped", MSGLOG_LOG_INFO);
    close(p.fd);
    msglog_close(rlog);
    finish_loop();
}

Test(relay_log, disk_full)
{
    msglog_options so = MSGLOG_OPTIONS_INIT;
    msglog *rlog = NULL;
    char *dir = tmpdir_join(root, "relay");
    msglog *alice = open_store("alice", 10, "alice");

    so.map_size = 256 << 10;
    so.max_map_size = 1 << 20;
    CHECK_OK(msglog_open(&rlog, dir, 1, "relay", 5, &so));
    for (int i = 0; i < 400; i++)
        say(alice, i, 4000);
    msglog_relay_options o = log_options(MSGLOG_LOG_INFO);
    msglog_relay *r = start_relay(rlog, &o);
    cr_assert_neq(sync_once(alice, msglog_relay_port(r)), MSGLOG_OK, "1.6 MB fit in 1 MiB");
    const line *full = expect_line("disk full: conn 1 (127.0.0.1:", MSGLOG_LOG_ERROR);
    cr_assert(strstr(full->text, ", replica 10): batch "), "%s", full->text);
    cr_assert(strstr(full->text, "not committed: disk full: the store's map reached "
                                 "max_map_size (1048576 bytes)"), "%s", full->text);
    const line *closed = expect_line("conn 1 closed", MSGLOG_LOG_ERROR);
    cr_assert(strstr(closed->text, "sent ERROR internal: batch "), "%s", closed->text);
    stop_relay(r);
    expect_line("relay stopped", MSGLOG_LOG_INFO);
    dump_lines();
    msglog_close(alice);
    msglog_close(rlog);
    free(dir);
    finish_loop();
}
