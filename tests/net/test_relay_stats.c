/* The relay's counters (msglog_relay_stats_get, net/relay_stats.c): the
 * commit rate's arithmetic on given times, then what a relay on a local
 * loop counts of a device's sync and of a plain socket. Waits are on the
 * counters themselves, bounded. */
#include <criterion/criterion.h>

#include <string.h>
#include <unistd.h>

#include "msglog.h"
#include "net/relay_stats.h"
#include "support/check.h"
#include "support/tstore.h"
#include "netloop.h"
#include "netpeers.h"

#define TEAM "team", 4
#define HOST "127.0.0.1"
#define WAIT_MS NETPEERS_WAIT_MS

static void setup(void)
{
    netloop_setup("msglog-relaystats-");
}

TestSuite(relay_stats, .init = setup, .fini = netloop_teardown, .timeout = 40);

/* The rate covers the time since the tick before the last (one to two tick
 * periods), or since the start before two ticks. */
Test(relay_stats, commit_rate_over_the_last_ticks)
{
    relay_stats st;

    relay_stats_init(&st, 1000);
    cr_assert_eq(relay_stats_rate(&st, 1000), 0.0, "no time, no rate");
    st.commits += 10;
    cr_assert_float_eq(relay_stats_rate(&st, 3000), 5.0, 1e-9, "10 in 2 s since the start");
    relay_stats_tick(&st, 6000);
    st.commits += 20;
    cr_assert_float_eq(relay_stats_rate(&st, 11000), 3.0, 1e-9, "30 in 10 s, one tick");
    relay_stats_tick(&st, 11000);
    st.commits += 4;
    /* From the tick at 6000: 24 in 8 s. */
    cr_assert_float_eq(relay_stats_rate(&st, 14000), 3.0, 1e-9);
    relay_stats_tick(&st, 16000);
    relay_stats_tick(&st, 21000);
    cr_assert_float_eq(relay_stats_rate(&st, 21000), 0.0, 1e-9, "idle for two ticks");
}

typedef struct want_stats {
    msglog_relay *r;
    uint64_t connections, bytes_in;
} want_stats;

static msglog_relay_stats stats_of(msglog_relay *r)
{
    msglog_relay_stats st;
    CHECK_OK(msglog_relay_stats_get(r, &st));
    cr_assert_eq(st.memory_budget, (uint64_t)1 << 30, "the default budget");
    cr_assert_leq(st.memory_budget_used, st.memory_budget);
    return st;
}

static int pred_stats(void *arg)
{
    want_stats *w = arg;
    msglog_relay_stats st = stats_of(w->r);
    return st.connections == w->connections && st.bytes_in >= w->bytes_in;
}

Test(relay_stats, counts)
{
    msglog *rlog = NULL, *alice = NULL;
    msglog_relay *r = NULL;
    msglog_relay_stats st;
    msglog_id id;

    CHECK_OK(tstore_open(&rlog, root, "relay", 1, "relay", NULL));
    CHECK_OK(tstore_open(&alice, root, "alice", 10, "alice", NULL));
    for (int i = 0; i < 30; i++)
        CHECK_OK(msglog_send(alice, &id, TEAM, "hello there", 11));
    CHECK_OK(msglog_relay_new(&r, rlog, &loop, HOST, 0, NULL));
    st = stats_of(r);
    cr_assert(st.connections == 0 && st.connections_total == 0 && st.conversations == 0 &&
              st.bytes_in == 0 && st.bytes_out == 0 && st.commits == 0 &&
              st.unwritten_bytes == 0, "a new relay has counted nothing");

    cr_assert_eq(sync_once(alice, msglog_relay_port(r)), MSGLOG_OK);
    want_stats w = { r, 0, 0 };
    run_until(pred_stats, &w, WAIT_MS, "the device's connection to close");
    st = stats_of(r);
    cr_assert_eq(st.connections_total, 1);
    cr_assert_eq(st.conversations, 1);
    cr_assert_gt(st.bytes_in, 30 * 11, "alice's 30 messages came in: %llu bytes",
                 (unsigned long long)st.bytes_in);
    cr_assert_gt(st.bytes_out, 0, "HELLO, ACK and STATUS went out");
    cr_assert_geq(st.commits, 1, "the batch was committed");
    /* The rate's window moves with the clock: its arithmetic is tested
     * above, on given times. */

    /* A peer that connects, then sends a keep-alive frame: counted. */
    peer p = connect_peer(msglog_relay_port(r));
    w.connections = 1;
    w.bytes_in = st.bytes_in;
    run_until(pred_stats, &w, WAIT_MS, "one open connection");
    cr_assert_eq(stats_of(r).connections_total, 2);
    cr_assert_eq(write(p.fd, "\0\0\0\0", 4), 4);
    w.bytes_in += 4;
    run_until(pred_stats, &w, WAIT_MS, "4 more bytes in");

    cr_assert_eq(msglog_relay_stats_get(NULL, &st), MSGLOG_EINVAL);
    cr_assert_eq(msglog_relay_stats_get(r, NULL), MSGLOG_EINVAL);
    msglog_relay_close(r);
    close(p.fd);
    msglog_close(alice);
    msglog_close(rlog);
    finish_loop();
}
