/* One side of a session (docs/protocol.md, section 3): the protocol engine
 * without I/O. The transport (net/) moves bytes: it feeds what the socket
 * read into session_feed(), writes what session_output() returns, and tells
 * the session about local commits with session_pump(). Everything the
 * protocol decides happens here, so the in-process tests can cut a
 * connection at every byte without sockets. Internal to the library.
 *
 * Roles. The CLIENT (a device) connects and sends HELLO first; the RELAY
 * answers with its own HELLO, then both stream. The relay side also keeps
 * the per-device records of section 6 (sync/peers.c) and sends STATUS; the
 * client side stores what ACK and STATUS say for delivery status (7).
 *
 * This header is all the transport sees of the library's inside: sessions,
 * the commit watcher, and the handle's last-error message.
 *
 * Threading: one thread, the handle's (as every msglog call). */
#ifndef MSGLOG_SYNC_SESSION_H
#define MSGLOG_SYNC_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "msglog.h"

typedef struct session session;

#define SESSION_ROLE_CLIENT 0
#define SESSION_ROLE_RELAY 1

/* Where a session is (session_phase()). */
#define SESSION_PHASE_HELLO 0     /* waiting for the peer's HELLO */
#define SESSION_PHASE_OPEN 1      /* streaming */
#define SESSION_PHASE_CLOSED 2    /* an ERROR was sent or received, or a
                                     protocol violation: flush the output,
                                     then close the connection */

/* Called by the session; every hook may be NULL. `conv` borrows. */
typedef struct session_hooks {
    void *ctx;
    /* The peer's HELLO was accepted (relay: to close an older connection of
     * the same replica, ERROR replaced). */
    void (*hello)(void *ctx, session *s);
    /* A batch from the peer committed ops of conv (relay: fan out). */
    void (*committed)(void *ctx, session *s, const uint8_t *conv, size_t conv_len);
    /* The peer acknowledged a batch of conv (relay: its STATUS to others
     * may change; client: delivery statuses may change). */
    void (*acked)(void *ctx, session *s, const uint8_t *conv, size_t conv_len);
    /* Client: a STATUS for conv was stored. */
    void (*status)(void *ctx, session *s, const uint8_t *conv, size_t conv_len);
} session_hooks;

typedef struct session_config {
    int role;                  /* SESSION_ROLE_* */
    size_t budget;             /* the batch budget asked of the peer; 0: 256 KiB */
    unsigned window;           /* batches the peer may have in flight; 0: 8 */
    /* Client only: conversations of interest (borrowed during session_new);
     * all_convs also asks for every conversation the relay holds. With
     * n_convs 0 and all_convs 1, the client lists every conversation its
     * store holds. */
    const msglog_str *convs;
    size_t n_convs;
    int all_convs;
    /* Relay only: a batch holding an op whose hlc is more than this many ms
     * ahead of the store's clock (msglog_options.clock) is refused whole with
     * ERROR refused (docs/design.md, "Clock and order"); 0: no bound. */
    uint64_t max_clock_ahead_ms;
    /* Relay only: what one device may make the store keep (sync/peers.h,
     * msglog_relay_options); 0: no cap. A HELLO listing more conversations
     * than max_subs is refused as well (it could not be served). */
    uint64_t max_subs;
    uint64_t max_devices;
    session_hooks hooks;
} session_config;

/*
 * A new session on an open handle (which must outlive it). A client session
 * has its HELLO queued in the output at once.
 * @return MSGLOG_OK; MSGLOG_EINVAL; MSGLOG_ENOMEM; store errors.
 */
int session_new(session **out, msglog *log, const session_config *cfg);

/* NULL-safe. Drops staged (uncommitted) frames: nothing committed is lost. */
void session_free(session *s);

/*
 * Takes bytes read from the connection (any split: a frame may arrive a
 * byte at a time). Whole frames are handled at once: a finished batch is
 * committed with msglog_receive_batch and its ACK queued only after the
 * commit returned.
 * @return MSGLOG_OK; on a protocol violation or a storage failure an ERROR
 *         is queued, the phase becomes CLOSED and the MSGLOG_E* code is
 *         returned (session_error() tells more). After CLOSED, input is
 *         ignored.
 */
int session_feed(session *s, const uint8_t *data, size_t len);

/* The connection ended (EOF, reset): staged frames are dropped, the phase
 * becomes CLOSED. */
void session_disconnected(session *s);

/*
 * Continues every stream within the peer's window: after the peer's HELLO,
 * after an ACK (done inside session_feed), and after local commits (own
 * writes, or another session's batch at a relay) - the transport calls it
 * then. `conv` names the conversation that changed (NULL: any), so that a
 * conversation the session does not stream yet is opened when the peer is
 * interested in it.
 */
int session_pump(session *s, const uint8_t *conv, size_t conv_len);

/* Relay: queues a STATUS for conv to this session's device when what it
 * would carry changed since the last one sent. */
int session_refresh_status(session *s, const uint8_t *conv, size_t conv_len);

/*
 * The bytes waiting to be written (borrowed until the next call on s), and
 * session_consume() once n of them were handed to the socket.
 */
void session_output(const session *s, const uint8_t **data, size_t *len);
void session_consume(session *s, size_t n);
/* Takes all the bytes waiting to be written, as a malloc'd buffer of
 * exactly *len bytes the caller frees (NULL when none): a large output is
 * handed to the socket as it is instead of being copied. */
uint8_t *session_take_output(session *s, size_t *len);

/* Queues a keep-alive, an empty frame (docs/protocol.md 1), which the peer's
 * session ignores: the client sends one now and then so that a relay's idle
 * timeout does not close a connection that has nothing to say.
 * @return MSGLOG_OK; MSGLOG_ENOMEM. */
int session_keepalive(session *s);

int session_phase(const session *s);
/* Open, nothing in flight either way, every stream to the peer drained and
 * acknowledged, and this side holds everything the peer's latest known
 * vectors say it has (HELLO, ACKs). */
int session_up_to_date(const session *s);
/* The peer's replica and user (after its HELLO; 0 / NULL before). */
uint64_t session_peer_replica(const session *s);
const uint8_t *session_peer_user(const session *s, size_t *len);
/* Whether the peer asked for `conv` (listed, all_convs, or sent a batch of it). */
int session_wants(const session *s, const uint8_t *conv, size_t conv_len);
/* The error that closed the session (MSGLOG_OK when none) and its text. */
int session_error(const session *s);
const char *session_errmsg(const session *s);
/* How a session ended, for the transport's logs. */
typedef struct session_end {
    uint64_t peer_replica;   /* the peer's replica; 0 before its HELLO */
    const char *error_name;  /* the ERROR that ended it, by its code's name
                                (session_error_name); NULL: none (still
                                open, or the connection was lost) */
    int error_received;      /* 1: the peer sent it; 0: this side did */
    int refused;             /* this side refused the peer's input: ERROR
                                version, type, corrupt, limit or protocol */
    int local_failure;       /* this side failed (its store, its memory):
                                ERROR internal sent */
} session_end;

/* NULL-safe (all zero). */
session_end session_end_of(const session *s);
/* The name of an ERROR code ("version", "type", "corrupt", "limit",
 * "protocol", "internal", "replaced"; "unknown" otherwise), static. */
const char *session_error_name(uint64_t code);

/* Conversations whose digest check (docs/protocol.md 4) found equal
 * vectors with different digests in this session, each of which started a
 * repair (client side). */
uint64_t session_digest_mismatches(const session *s);

/* Queues ERROR `code` (SESSION_ERR_*) and closes. */
void session_close_with(session *s, uint64_t code, const char *reason);
/* The same with ERROR replaced (relay: a newer connection of the replica),
 * ERROR internal (the transport failed locally) and ERROR limit (relay: a
 * connection cap or timeout, or a connection that needs more memory than its
 * share; session_error() is then MSGLOG_ELIMIT). */
void session_close_replaced(session *s, const char *reason);
void session_close_internal(session *s, const char *reason);
void session_close_limit(session *s, const char *reason);

/* ---- pacing (docs/protocol.md 8, "Turns" and "Memory budget") ----------- */

/* How many more bytes the transport lets the session hold now; 0: none. */
typedef size_t (*session_room_fn)(void *ctx);

/*
 * Turns pacing on (a transport serving many peers on one loop calls it once,
 * after session_new). Then:
 *  - session_feed() and session_continue() handle at most one message that
 *    writes to the store or answers the peer (a batch's last frame, an ACK,
 *    a HELLO, a WANT, a REPAIR) per call; the rest of the input stays in the
 *    session's buffer (session_busy()) for a later call, so that one peer
 *    cannot keep the loop to itself (session_turn_over());
 *  - streams, WANT answers and STATUS are produced only while room(ctx) is
 *    above 0, batches are filled only up to what it returns, and what is
 *    left waits for session_continue().
 * Without it (the in-process tests), each call handles all it is given.
 */
void session_set_pacing(session *s, session_room_fn room, void *ctx);

/* Whether work waits for session_continue(): whole frames not handled yet,
 * a WANT answer not finished (session_input_waiting(): work that takes
 * what the peer sent), or streams or STATUS stopped for room. */
int session_busy(const session *s);
int session_input_waiting(const session *s);

/* Whether the last session_feed() or session_continue() of a paced session
 * did its one turn of work: the transport lets the other connections go
 * before it calls this one again. */
int session_turn_over(const session *s);

/* One more turn: continues a WANT answer, then STATUS and streams stopped
 * for room, then handles waiting frames. @return as session_feed(). */
int session_continue(session *s);

/* What the session holds for its peer, in bytes. Input: the read buffer's,
 * the staged batch's (and its table of lengths), the ids of a WANT being
 * answered and the table of batches in flight (what reading the peer's
 * frames gives back). Output: bytes not yet taken by session_consume()
 * (what writing gives back). Buffers may be allocated up to twice that
 * (they grow by doubling), and an emptied one keeps at most 64 KiB. */
size_t session_held_input(const session *s);
size_t session_held_output(const session *s);

/* ---- what the transport needs of the handle ----------------------------- */

/* Called after a write transaction committed, once per conversation it
 * touched. It must not call into the handle (the call that committed has
 * not returned yet): it notes the conversation and schedules work. */
typedef void (*session_commit_fn)(void *ctx, const uint8_t *conv, size_t conv_len);

/* Whether the handle has a commit watcher (a client or a relay). */
int session_commits_watched(const msglog *log);
/* Makes fn(ctx, ...) the handle's one commit watcher, replacing any. */
void session_watch_commits(msglog *log, session_commit_fn fn, void *ctx);
/* Removes the watcher when it is ctx's; NULL-safe. */
void session_unwatch_commits(msglog *log, void *ctx);

#if defined(__GNUC__)
#define SESSION_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SESSION_PRINTF(a, b)
#endif
/* Records the handle's message for rc (msglog_errmsg) and returns rc;
 * log may be NULL. */
int session_log_fail(msglog *log, int rc, const char *fmt, ...) SESSION_PRINTF(3, 4);
/* Clears the handle's message; returns MSGLOG_OK. */
int session_log_ok(msglog *log);

#endif
