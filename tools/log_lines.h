/* log_lines.h - the relay's log as the CLI writes it: one line per event on
 * stderr, "TIMESTAMP LEVEL TEXT" with the time in UTC, ISO 8601 to the
 * millisecond (docs/cli.md, "Relay log"), and the STATS line of SIGUSR1. */
#ifndef MSGLOG_TOOLS_LOG_LINES_H
#define MSGLOG_TOOLS_LOG_LINES_H

#include "msglog.h"

/* "error", "warn", "info", "debug" to a level. @return 0, or -1. */
int log_level_parse(const char *s, msglog_log_level *out);

/* msglog_relay_options.on_log: writes the line to stderr (ctx unused). */
void log_line(void *ctx, msglog_log_level level, const char *text);

/* The STATS line of st, at level info whatever --log-level says: the
 * operator asked for it. */
void log_stats(const msglog_relay_stats *st);

#endif /* MSGLOG_TOOLS_LOG_LINES_H */
