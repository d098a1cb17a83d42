/* One TCP connection carrying one session (sync/session.h): what the client
 * (net/client.c) and the relay (net/relay.c) share. Internal to the library.
 *
 * Bytes read go to session_feed(); after every session call the owner calls
 * net_conn_flush(), which moves the session's output into a write request:
 * a small output is copied and consumed (the session's buffer is only
 * borrowed until its next call), a large one taken whole
 * (session_take_output), so that it is not held twice. The session bounds
 * its output by the peer's window; the bytes live until their write
 * completed.
 *
 * Pacing (docs/protocol.md 8, "Turns" and "Memory budget"), for the
 * connections given a budget (the relay's; a client's has none and takes
 * everything as it comes). The session is paced: each read or turn handles
 * at most one message that writes to the store or answers, then the
 * connection stops reading and takes its next turn from a uv_idle handle
 * on a later loop iteration, after every other connection had its own.
 * What the connection holds is counted in the budget: over its share it
 * stops reading and producing until its writes drain, and it is closed
 * with ERROR limit when its input alone fills the share (net/budget.h).
 *
 * Lifetime: net_conn_close() starts closing (once); `closed` is called from
 * it, synchronously, and is the last callback the owner gets. The session is
 * freed before net_conn_close() returns, so nothing touches the msglog
 * handle afterwards; the memory of the connection itself is freed by libuv
 * close callbacks, later. Threading: the loop's thread. */
#ifndef MSGLOG_NET_CONN_H
#define MSGLOG_NET_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/addr_limits.h"
#include "net/budget.h"
#include "sync/session.h"

typedef struct net_conn net_conn;

typedef struct net_conn_ops {
    /* Input was fed to the session and its output flushed; its phase or
     * up-to-date state may have changed. Not called once closing. */
    void (*fed)(net_conn *c);
    /* Every write handed to the socket so far completed. */
    void (*drained)(net_conn *c);
    /* The connection is closing: err is MSGLOG_OK for a close asked with
     * MSGLOG_OK, else the MSGLOG_E* code; why a text (never NULL). */
    void (*closed)(net_conn *c, int err, const char *why);
} net_conn_ops;

struct net_conn {
    uv_tcp_t tcp;
    uv_timer_t linger;        /* bounds a graceful close */
    uv_shutdown_t shutdown;
    session *s;               /* owned; NULL once closing */
    const net_conn_ops *ops;
    void *owner;
    const char *peer;         /* "the relay", "the device": for texts */
    addr_key addr;            /* relay: the peer's address, as its
                                 per-address cap counts it */
    net_conn *prev, *next;    /* the owner's list */
    uint64_t opened_at;       /* uv_now() when made */
    uint64_t read_at;         /* uv_now() when bytes last arrived (opened_at
                                 before any): the relay's idle timeout */
    uint64_t wrote_at;        /* uv_now() when a write last completed */
    uint8_t *rbuf;            /* read buffer, shared with the owner's other
                                 connections (a read is fed before the next) */
    size_t rbuf_len;
    char discard[512];        /* reads after a graceful close, which may
                                 outlive the owner and its rbuf */
    size_t writes;            /* write requests not completed */
    size_t write_bytes;       /* their bytes */
    uint64_t bytes_in;        /* read, all told */
    uint64_t bytes_out;       /* handed to uv_write, all told */
    uint64_t id;              /* the relay's number for its log; 0: none */
    char peer_addr[64];       /* the peer's "HOST:PORT" for logs; "" */
    session_end end;          /* how the session ended, kept when it is
                                 freed (net_conn_close) */
    int tcp_open;             /* tcp initialised (must be closed) */
    int reading;
    int draining;             /* net_conn_drain: writing is over */
    int closing;
    int handles;              /* handles whose close callback is due */
    uv_idle_t turn;           /* the next turn, on a later loop iteration */
    net_budget *budget;       /* set by the owner before net_conn_start;
                                 NULL: no limit */
    net_budget_member member; /* what it is counted for there */
    int in_budget;            /* counted among the budget's members */
    int evicted;              /* reclaimed: closed on its next turn */
    int turn_over;            /* did its turn: no more work this iteration */
    int paused;               /* reading stopped by pacing */
};

/* A connection on `loop` with tcp initialised (not connected, no session).
 * @return NULL when out of memory or uv_tcp_init failed (*uv_err says). */
net_conn *net_conn_new(uv_loop_t *loop, const net_conn_ops *ops, void *owner,
                       uint8_t *rbuf, size_t rbuf_len, int *uv_err);

/* Frees a connection that never got as far as net_conn_start (its handles
 * are closed; memory freed by their close callbacks). No callback. */
void net_conn_discard(net_conn *c);

/* Takes ownership of `s` (for a client, its HELLO is queued), turns on
 * keep-alive and no-delay, starts reading and flushes.
 * @return MSGLOG_OK, or an error after which the caller closes c. */
int net_conn_start(net_conn *c, session *s, const char **why);

/* Writes what the session has queued. On failure the connection is closed
 * (the `closed` callback has run) and the error returned. */
int net_conn_flush(net_conn *c);

/* Closes the connection. graceful: what was written is flushed first
 * (uv_shutdown, bounded by a linger timeout), else it is reset at once.
 * Idempotent. */
void net_conn_close(net_conn *c, int graceful, int err, const char *why);

/* Ends the connection once everything queued is written, but keeps feeding
 * what still arrives to the session (a STATUS sent right after the last ACK
 * is stored) until the peer ends its side, or LINGER_MS. What the session
 * queues meanwhile is dropped. Then closes with MSGLOG_OK (the `closed`
 * callback), whatever ended it; `fed` and `drained` are no longer called. */
void net_conn_drain(net_conn *c);

/* After an error from a session call, or when it became CLOSED: closes c,
 * gracefully so that the queued ERROR reaches the peer. @return 1 when c
 * was closed (or was already closing). */
int net_conn_check(net_conn *c);

/* A set of conversation names (owned copies), noted by hooks and handled
 * later from the loop. Linear: it holds what changed since the last pass. */
typedef struct net_convs {
    msglog_str *v;
    size_t n, cap;
} net_convs;

/* Adds conv when absent. @return MSGLOG_OK or MSGLOG_ENOMEM. */
int net_convs_add(net_convs *set, const uint8_t *conv, size_t len);
/* Empties the set (keeps its array). */
void net_convs_clear(net_convs *set);
void net_convs_free(net_convs *set);

/* The wall clock in ms since the Unix epoch. */
uint64_t net_wall_ms(void);

/* "HOST:PORT" for logs and details ("[::1]:9000" for IPv6). */
void net_addr_text(char *out, size_t n, const char *host, unsigned port);

#endif
