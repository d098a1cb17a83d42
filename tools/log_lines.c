/* log_lines.c - the relay's log lines on stderr (log_lines.h). */
#include "log_lines.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

static const char *const level_names[] = { "?", "error", "warn", "info", "debug" };

int log_level_parse(const char *s, msglog_log_level *out)
{
    for (int l = MSGLOG_LOG_ERROR; l <= MSGLOG_LOG_DEBUG; l++)
        if (strcmp(s, level_names[l]) == 0) {
            *out = (msglog_log_level)l;
            return 0;
        }
    return -1;
}

/* "2026-12-02T15:17:03.412Z": now, UTC. */
static void timestamp(char *out, size_t n)
{
    uv_timeval64_t tv;
    struct tm tm;
    time_t secs;

    if (uv_gettimeofday(&tv) != 0)
        tv.tv_sec = tv.tv_usec = 0;
    secs = (time_t)tv.tv_sec;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(out, n, "%" PRId64, (int64_t)tv.tv_sec);
        return;
    }
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000 % 1000));
}

void log_line(void *ctx, msglog_log_level level, const char *text)
{
    char ts[96], line[1024];
    int n;

    (void)ctx;
    timestamp(ts, sizeof ts);
    n = snprintf(line, sizeof line, "%s %s %s\n", ts,
                 level >= MSGLOG_LOG_ERROR && level <= MSGLOG_LOG_DEBUG ? level_names[level] : "?",
                 text);
    if (n < 0)
        return;
    if (n >= (int)sizeof line) {
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    /* One write(2) per line: a line is never split or mixed with others,
     * and a reader waiting for it sees all of it at once. */
    if (write(STDERR_FILENO, line, (size_t)n) != n)
        return;   /* nowhere else to say it */
}

void log_stats(const msglog_relay_stats *st)
{
    char text[512];

    snprintf(text, sizeof text,
             "STATS connections=%" PRIu64 " connections_total=%" PRIu64 " conversations=%" PRIu64
             " bytes_in=%" PRIu64 " bytes_out=%" PRIu64 " commits=%" PRIu64
             " commits_per_sec=%.2f unwritten_bytes=%" PRIu64 " memory_budget_used=%" PRIu64
             " memory_budget=%" PRIu64 " uptime_s=%.3f",
             st->connections, st->connections_total, st->conversations, st->bytes_in,
             st->bytes_out, st->commits, st->commits_per_sec, st->unwritten_bytes,
             st->memory_budget_used, st->memory_budget, (double)st->uptime_ms / 1000.0);
    log_line(NULL, MSGLOG_LOG_INFO, text);
}
