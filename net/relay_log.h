/* The relay's log (msglog_relay_options.on_log): one line per event an
 * operator needs, at its level (docs/cli.md, "Relay log", lists them).
 * Internal to the library.
 *
 * Each function is one call at its place in net/relay.c and costs a
 * comparison when the callback is unset or the line's level is below the
 * threshold: nothing is formatted then (but for the peer's address, taken
 * at accept whenever there is a callback: a later warning or error about
 * the connection names it). Lines are made from the loop only
 * (the header's callback rule): the start line waits for the loop's first
 * pass, and while msglog_relay_close() runs, connections closing are
 * counted for the stop line, made by the last handle's close callback. */
#ifndef MSGLOG_NET_RELAY_LOG_H
#define MSGLOG_NET_RELAY_LOG_H

#include <stdint.h>

#include "net/conn.h"

typedef struct relay_log {
    msglog_log_fn fn;          /* NULL: no log */
    void *ctx;
    msglog_log_level level;
    char where[300];           /* "HOST:PORT (replica N)" listened on */
    uint64_t next_id;          /* the last connection number given */
    int listening;             /* msglog_relay_new succeeded */
    int started;               /* the start line was made */
    int stopping;              /* inside msglog_relay_close: count closes */
    uint64_t closed_at_stop;
} relay_log;

/* From the options (their level checked by the caller); no line. */
void relay_log_init(relay_log *lg, const msglog_relay_options *o);

/* The relay listens on host:port for replica: noted for the start line. */
void relay_log_listening(relay_log *lg, const char *host, uint16_t port, uint64_t replica);

/* The start line, once, from the loop. */
void relay_log_start(relay_log *lg);

/* Connection c was accepted and is served: numbers it and notes its
 * address for the lines that follow. */
void relay_log_opened(relay_log *lg, net_conn *c);

/* Connection c was accepted and turned away at once: a limit (why says
 * which) or memory. */
void relay_log_refused(relay_log *lg, net_conn *c, const char *why);

/* The HELLO of session s came (debug): s's connection is found in conns. */
void relay_log_hello(relay_log *lg, const net_conn *conns, const session *s);

/* Connection c closed with err (MSGLOG_E*) and why: the close line, after
 * a "disk full" or "store failure" line when that was the cause. */
void relay_log_closed(relay_log *lg, const net_conn *c, int err, const char *why);

/* msglog_relay_close() begins: no callback until relay_log_stopped. */
void relay_log_stopping(relay_log *lg);

/* The relay's last handle closed (from the loop): the stop line. */
void relay_log_stopped(relay_log *lg);

#endif
