/* What a relay counts for its operator (msglog_relay_stats_get). Internal
 * to the library. Counters are bumped by single statements in net/relay.c;
 * a connection's bytes live in its net_conn while it is open and are added
 * here when it closes. */
#ifndef MSGLOG_NET_RELAY_STATS_H
#define MSGLOG_NET_RELAY_STATS_H

#include <stdint.h>

#include "net/conn.h"

typedef struct relay_stats {
    uint64_t started_at;          /* uv_now() at msglog_relay_new */
    uint64_t accepted;            /* connections accepted */
    uint64_t commits;             /* commit hook calls */
    uint64_t closed_in, closed_out;   /* bytes of the connections closed */
    /* The commit rate is taken over the time since the tick before the
     * last (the relay's sweep ticks): one to two tick periods. */
    uint64_t prev_at, prev_commits;
    uint64_t last_at, last_commits;
} relay_stats;

void relay_stats_init(relay_stats *st, uint64_t now);
/* The sweep ran at `now`. */
void relay_stats_tick(relay_stats *st, uint64_t now);
/* Connection c is closing: its bytes join the totals. */
void relay_stats_closed(relay_stats *st, const net_conn *c);
/* Commits per second at `now` (0 when no time has passed). */
double relay_stats_rate(const relay_stats *st, uint64_t now);
/* *out from st and the open connections `conns` (a list), at `now`; the
 * conversations are counted by relay_stats_conversations. */
void relay_stats_fill(const relay_stats *st, const net_conn *conns, uint64_t now,
                      msglog_relay_stats *out);
/* The conversations log holds. @return MSGLOG_OK or the store's error. */
int relay_stats_conversations(msglog *log, uint64_t *out);

#endif
