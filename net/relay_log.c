/* The relay's log: what each line says and at which level (relay_log.h). */
#include "net/relay_log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LOG_PRINTF(a, b)
#endif

void relay_log_init(relay_log *lg, const msglog_relay_options *o)
{
    memset(lg, 0, sizeof *lg);
    lg->fn = o->on_log;
    lg->ctx = o->log_ctx;
    lg->level = o->log_level ? o->log_level : MSGLOG_LOG_INFO;
}

/* Formats and passes on one line, unless nobody would see it. */
static void emit(relay_log *lg, msglog_log_level level, const char *fmt, ...) LOG_PRINTF(3, 4);
static void emit(relay_log *lg, msglog_log_level level, const char *fmt, ...)
{
    char line[768];
    va_list ap;

    if (!lg->fn || lg->stopping || level > lg->level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    lg->fn(lg->ctx, level, line);
}

void relay_log_listening(relay_log *lg, const char *host, uint16_t port, uint64_t replica)
{
    char addr[280];

    lg->listening = 1;
    if (!lg->fn)
        return;
    net_addr_text(addr, sizeof addr, host, port);
    snprintf(lg->where, sizeof lg->where, "%s (replica %" PRIu64 ")", addr, replica);
}

void relay_log_start(relay_log *lg)
{
    if (lg->started || !lg->listening)
        return;
    lg->started = 1;
    emit(lg, MSGLOG_LOG_INFO, "relay started: listening on %s", lg->where);
}

/* Numbers c and notes the peer's address, once, whatever the level: any
 * later line about c, of any level, names it. */
static void identify(relay_log *lg, net_conn *c)
{
    struct sockaddr_storage name;
    int len = sizeof name;
    char ip[64] = "?";
    unsigned port = 0;

    if (c->id)
        return;
    c->id = ++lg->next_id;
    if (!lg->fn || uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&name, &len) != 0)
        return;
    if (name.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&name, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in6 *)&name)->sin6_port);
    } else {
        uv_ip4_name((struct sockaddr_in *)&name, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in *)&name)->sin_port);
    }
    net_addr_text(c->peer_addr, sizeof c->peer_addr, ip, port);
}

void relay_log_opened(relay_log *lg, net_conn *c)
{
    identify(lg, c);
    emit(lg, MSGLOG_LOG_INFO, "conn %" PRIu64 " opened from %s", c->id, c->peer_addr);
}

void relay_log_refused(relay_log *lg, net_conn *c, const char *why)
{
    identify(lg, c);
    emit(lg, MSGLOG_LOG_WARN, "conn %" PRIu64 " refused (%s): %s", c->id, c->peer_addr, why);
}

void relay_log_hello(relay_log *lg, const net_conn *conns, const session *s)
{
    const uint8_t *user;
    size_t len;

    if (!lg->fn || MSGLOG_LOG_DEBUG > lg->level)
        return;     /* spares the search */
    while (conns && conns->s != s)
        conns = conns->next;
    user = session_peer_user(s, &len);
    emit(lg, MSGLOG_LOG_DEBUG, "conn %" PRIu64 " hello: replica %" PRIu64 " (user %.*s)",
         conns ? conns->id : 0, session_peer_replica(s), (int)len, user ? (const char *)user : "");
}

/* How much the end of c matters. */
static msglog_log_level close_level(const net_conn *c, int err)
{
    if (c->end.local_failure || err == MSGLOG_EFULL)
        return MSGLOG_LOG_ERROR;
    if (c->end.refused || err == MSGLOG_ELIMIT)
        return MSGLOG_LOG_WARN;
    return MSGLOG_LOG_INFO;
}

void relay_log_closed(relay_log *lg, const net_conn *c, int err, const char *why)
{
    char peer[120];
    const session_end *e = &c->end;
    const int sent = e->error_name && !e->error_received;

    if (lg->stopping) {
        lg->closed_at_stop++;
        return;
    }
    if (!lg->fn || close_level(c, err) > lg->level)
        return;
    if (e->peer_replica)
        snprintf(peer, sizeof peer, "%s, replica %" PRIu64, c->peer_addr, e->peer_replica);
    else
        snprintf(peer, sizeof peer, "%s", c->peer_addr);
    if (err == MSGLOG_EFULL)
        emit(lg, MSGLOG_LOG_ERROR, "disk full: conn %" PRIu64 " (%s): %s", c->id, peer, why);
    else if (e->local_failure && err == MSGLOG_EIO)
        emit(lg, MSGLOG_LOG_ERROR, "store failure: conn %" PRIu64 " (%s): %s", c->id, peer, why);
    emit(lg, close_level(c, err), "conn %" PRIu64 " closed (%s): %s%s%s%s", c->id, peer,
         sent ? "sent ERROR " : "", sent ? e->error_name : "", sent ? ": " : "", why);
}

void relay_log_stopping(relay_log *lg)
{
    lg->stopping = 1;
}

void relay_log_stopped(relay_log *lg)
{
    if (!lg->listening)
        return;
    lg->stopping = 0;
    relay_log_start(lg);
    emit(lg, MSGLOG_LOG_INFO, "relay stopped: %" PRIu64 " open connections closed",
         lg->closed_at_stop);
}
