/* The relay's counters (relay_stats.h). */
#include "net/relay_stats.h"

#include <string.h>

void relay_stats_init(relay_stats *st, uint64_t now)
{
    memset(st, 0, sizeof *st);
    st->started_at = st->prev_at = st->last_at = now;
}

void relay_stats_tick(relay_stats *st, uint64_t now)
{
    st->prev_at = st->last_at;
    st->prev_commits = st->last_commits;
    st->last_at = now;
    st->last_commits = st->commits;
}

void relay_stats_closed(relay_stats *st, const net_conn *c)
{
    st->closed_in += c->bytes_in;
    st->closed_out += c->bytes_out;
}

double relay_stats_rate(const relay_stats *st, uint64_t now)
{
    if (now <= st->prev_at)
        return 0.0;
    return (double)(st->commits - st->prev_commits) * 1000.0 / (double)(now - st->prev_at);
}

void relay_stats_fill(const relay_stats *st, const net_conn *conns, uint64_t now,
                      msglog_relay_stats *out)
{
    memset(out, 0, sizeof *out);
    out->uptime_ms = now - st->started_at;
    out->connections_total = st->accepted;
    out->bytes_in = st->closed_in;
    out->bytes_out = st->closed_out;
    out->commits = st->commits;
    out->commits_per_sec = relay_stats_rate(st, now);
    for (const net_conn *c = conns; c; c = c->next) {
        out->connections++;
        out->bytes_in += c->bytes_in;
        out->bytes_out += c->bytes_out;
        out->unwritten_bytes += c->write_bytes;
    }
}

int relay_stats_conversations(msglog *log, uint64_t *out)
{
    msglog_str *convs = NULL;
    size_t n = 0;
    int rc = msglog_conversations(log, &convs, &n);

    *out = rc == MSGLOG_OK ? n : 0;
    msglog_free(convs);
    return rc;
}
