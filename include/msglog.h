/*
 * msglog.h - the whole public API of msglog, the replication core of
 * offline-first chat.
 *
 * A replica is one device's durable copy of every conversation it takes part
 * in, kept in an LMDB environment at a path. Ops (send, edit, delete, react,
 * unreact, read) are created locally or received from peers as MessagePack
 * bytes, and merged deterministically: every replica that has delivered the
 * same ops shows the same view, whatever order they arrived in.
 *
 * Conventions (as in LMDB and libgit2):
 *  - Every function returns MSGLOG_OK (0) or a negative MSGLOG_E* code; the
 *    text of the last error is kept per handle (msglog_errmsg()).
 *  - Out-parameters come first. Memory returned through `out` is owned by the
 *    caller and released with msglog_free(); it stays valid until then.
 *  - Strings (conversation ids, user ids, reaction keys, bodies) are byte
 *    strings with an explicit length; they need not be NUL-terminated and may
 *    contain NUL. They must be valid UTF-8 (MSGLOG_EINVAL otherwise): every
 *    replica refuses ops with invalid UTF-8, so none may create one. Where the
 *    library returns a string, it is also NUL-terminated for convenience.
 *  - A failed call leaves the store exactly as it was.
 *  - A handle is not thread-safe: use it from one thread at a time. Do not
 *    open the same path twice in one process, and do not use a handle across
 *    fork().
 */
#ifndef MSGLOG_H
#define MSGLOG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden symbols; these are the exported ones. */
#if defined(MSGLOG_BUILDING) && defined(__GNUC__)
#define MSGLOG_API __attribute__((visibility("default")))
#else
#define MSGLOG_API
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

#define MSGLOG_OK          0
#define MSGLOG_EINVAL    (-1)  /* bad argument (NULL, empty, wrong length)   */
#define MSGLOG_ENOTFOUND (-2)  /* no such conversation, message or op        */
#define MSGLOG_EDENIED   (-3)  /* the merge rules forbid it: not the author,
                                  target deleted, no reaction to remove      */
#define MSGLOG_ELIMIT    (-4)  /* a size limit is exceeded                    */
#define MSGLOG_ECORRUPT  (-5)  /* bytes that are not a valid encoding        */
#define MSGLOG_EVERSION  (-6)  /* an encoding version this build does not know */
#define MSGLOG_EMISMATCH (-7)  /* the store belongs to another replica/user  */
#define MSGLOG_EFULL     (-8)  /* the store's map is full                    */
#define MSGLOG_ENOMEM    (-9)  /* out of memory                              */
#define MSGLOG_EIO      (-10)  /* the operating system or LMDB failed        */
#define MSGLOG_EKIND    (-11)  /* an op kind this build does not know         */
#define MSGLOG_EPENDINGFULL (-12) /* receive: the pending buffer is full; ops
                                  whose dependencies are missing were dropped
                                  (resend them later), all else committed    */
#define MSGLOG_EEQUIVOCAL (-13) /* receive: an op reuses an id already held
                                  with different content; it was kept as
                                  evidence, not applied as received (the
                                  rule: docs/reliability.md), all else
                                  committed                                 */

/* Static text for an error code (never NULL). */
MSGLOG_API const char *msglog_strerror(int err);

/* ------------------------------------------------------------------------ */
/* Limits, in bytes                                                          */

#define MSGLOG_MAX_CONV   255
#define MSGLOG_MAX_USER   255
#define MSGLOG_MAX_BODY   65536
#define MSGLOG_MAX_KEY    64

/* ------------------------------------------------------------------------ */
/* Opening a replica                                                         */

typedef struct msglog msglog;

/* An op id: the `seq`-th op of replica `replica` in its conversation (1-based). */
typedef struct msglog_id {
    uint64_t replica;
    uint64_t seq;
} msglog_id;

/* Returns the wall clock in milliseconds since the Unix epoch. */
typedef uint64_t (*msglog_clock_fn)(void *ctx);

#define MSGLOG_OPTIONS_VERSION 1

typedef struct msglog_options {
    unsigned version;        /* MSGLOG_OPTIONS_VERSION */
    msglog_clock_fn clock;   /* NULL: the system clock */
    void *clock_ctx;         /* passed to clock */
    size_t map_size;         /* initial LMDB map size in bytes; 0: 1 GiB */
    size_t max_map_size;     /* the map doubles up to this when full, then
                                writes fail with MSGLOG_EFULL; 0: 64 GiB
                                (never less than map_size) */
    uint64_t max_pending_ops;   /* cap of the pending buffer, all
                                   conversations together; 0: 100,000 */
    uint64_t max_pending_bytes; /* the same in encoded bytes; 0: 64 MiB */
} msglog_options;

#define MSGLOG_OPTIONS_INIT { MSGLOG_OPTIONS_VERSION, NULL, NULL, 0, 0, 0, 0 }

/*
 * Opens (creating when missing) the store in directory `path` for replica
 * `replica` of user `user`. The replica id and user are written into a new
 * store and checked on every later open.
 *
 * With replica 0 and user NULL (user_len 0), opens an EXISTING store with
 * the identity it holds (msglog_identity() tells it), and never creates
 * anything: a directory that holds no store is MSGLOG_ENOTFOUND and is left
 * as it was (a missing directory is not created).
 *
 * @param[out] out      the new handle; close it with msglog_close()
 * @param[in]  path     a directory (created when missing)
 * @param[in]  replica  the replica id, in [1, 2^53); 0: the store's
 * @param[in]  user     the user id, 1..MSGLOG_MAX_USER bytes; NULL: the
 *                      store's (only with replica 0)
 * @param[in]  opts     NULL for defaults
 * @return MSGLOG_OK; MSGLOG_EINVAL for a bad argument (replica 0 with a user,
 *         or a replica without one, included); MSGLOG_ENOTFOUND when opening
 *         by the store's identity and there is no store; MSGLOG_EMISMATCH
 *         when the store belongs to another replica or user; MSGLOG_EVERSION
 *         for a store written by an unknown format; MSGLOG_ECORRUPT when its
 *         identity is unreadable; MSGLOG_EIO; MSGLOG_ENOMEM.
 *         On error *out is NULL.
 */
MSGLOG_API int msglog_open(msglog **out, const char *path, uint64_t replica,
                const char *user, size_t user_len, const msglog_options *opts);

/*
 * The identity of the open store: its replica id and its user. Each
 * out-parameter may be NULL.
 *
 * @param[out] replica   the replica id
 * @param[out] user      the user id, borrowed from the handle (valid until
 *                       msglog_close()), also NUL-terminated
 * @param[out] user_len  its length in bytes
 * @return MSGLOG_OK; MSGLOG_EINVAL when log is NULL.
 */
MSGLOG_API int msglog_identity(msglog *log, uint64_t *replica, const char **user,
                    size_t *user_len);

/* Closes the store and frees the handle. NULL is accepted. */
MSGLOG_API void msglog_close(msglog *log);

/* The message of the last error on this handle ("" when none). Borrowed:
 * valid until the next call on the handle. */
MSGLOG_API const char *msglog_errmsg(const msglog *log);

/* Frees memory returned by the library. NULL is accepted. */
MSGLOG_API void msglog_free(void *p);

/* ------------------------------------------------------------------------ */
/* Creating ops                                                              */
/*
 * Each call creates one op at the current clock reading, delivers it locally
 * and commits it before returning. On success *out is the new op's id. A
 * refused call returns MSGLOG_ENOTFOUND (target not delivered here),
 * MSGLOG_EDENIED (not the author, target deleted, no live reaction to remove)
 * or MSGLOG_ELIMIT (a field too long) and changes nothing.
 * `target` always names a message (the id of its send).
 */
MSGLOG_API int msglog_send(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                const void *body, size_t body_len);
MSGLOG_API int msglog_edit(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                msglog_id target, const void *body, size_t body_len);
MSGLOG_API int msglog_delete(msglog *log, msglog_id *out, const char *conv,
                  size_t conv_len, msglog_id target);
MSGLOG_API int msglog_react(msglog *log, msglog_id *out, const char *conv,
                 size_t conv_len, msglog_id target, const char *key,
                 size_t key_len);
MSGLOG_API int msglog_unreact(msglog *log, msglog_id *out, const char *conv,
                   size_t conv_len, msglog_id target, const char *key,
                   size_t key_len);
MSGLOG_API int msglog_mark_read(msglog *log, msglog_id *out, const char *conv,
                     size_t conv_len, msglog_id target);

/*
 * The encoded bytes of op `id` of conversation `conv` as this store holds it
 * (delivered or pending), for handing to a peer's msglog_receive(). Texts
 * erased by a delete stay erased in the encoding.
 *
 * @param[out] out, out_len  a buffer the caller frees with msglog_free()
 * @return MSGLOG_OK; MSGLOG_ENOTFOUND.
 */
MSGLOG_API int msglog_op_bytes(msglog *log, void **out, size_t *out_len,
                    const char *conv, size_t conv_len, msglog_id id);

/* ------------------------------------------------------------------------ */
/* Receiving ops                                                             */

typedef struct msglog_buf {
    const void *data;
    size_t len;
} msglog_buf;

/*
 * Receives encoded ops from the network, in one LMDB transaction. Ops already
 * delivered or pending are ignored; ops whose dependencies are missing wait
 * as pending; everything that is ready is applied, in any order received.
 * A batch that holds one undecodable op is refused whole (MSGLOG_ECORRUPT,
 * MSGLOG_EVERSION, MSGLOG_EKIND, MSGLOG_ELIMIT) and changes nothing; so does
 * any storage failure. Two outcomes touch single ops only, so that one bad
 * peer cannot block valid traffic: an op that reuses an id already held with
 * different content (equivocation, which only a faulty replica makes) is not
 * applied as received but kept as evidence: of all versions of an id, the one
 * with the lowest content hash counts and any delete among them deletes, on
 * every replica whatever the order (docs/reliability.md); and an op that
 * would have to wait while the pending buffer is at its cap is dropped. The
 * rest of the batch is committed and the call returns MSGLOG_EEQUIVOCAL or
 * MSGLOG_EPENDINGFULL.
 */
MSGLOG_API int msglog_receive(msglog *log, const void *op, size_t op_len);
MSGLOG_API int msglog_receive_batch(msglog *log, const msglog_buf *ops, size_t n_ops);

/* ------------------------------------------------------------------------ */
/* Delta sync (no sockets: the caller moves the bytes)                       */
/*
 *   receiver: msglog_sync_request()  -> request bytes  -> sender
 *   sender:   msglog_sync_response() -> response bytes -> receiver
 *   receiver: msglog_sync_apply()
 *
 * The request carries the receiver's version vectors; the response carries
 * exactly the delivered ops the receiver lacks, with erased texts erased.
 */

/* A request for conversation `conv`, or for every conversation when conv is
 * NULL. *out is freed with msglog_free(). */
MSGLOG_API int msglog_sync_request(msglog *log, void **out, size_t *out_len,
                        const char *conv, size_t conv_len);
/* The answer to a request. *out is freed with msglog_free(). */
MSGLOG_API int msglog_sync_response(msglog *log, void **out, size_t *out_len,
                         const void *request, size_t request_len);
/* Applies a response as one msglog_receive_batch(). */
MSGLOG_API int msglog_sync_apply(msglog *log, const void *response, size_t response_len);

/* ------------------------------------------------------------------------ */
/* Reading the view                                                          */

typedef struct msglog_str {
    const char *data;   /* NUL-terminated as well */
    size_t len;
} msglog_str;

typedef struct msglog_reaction {
    msglog_str key;
    size_t n_users;
    const msglog_str *users;   /* sorted bytewise ascending */
} msglog_reaction;

typedef struct msglog_message {
    msglog_id id;              /* the id of its send */
    uint64_t hlc;
    msglog_str author;
    msglog_str body;           /* data NULL when deleted; also NULL in the rare
                                  case of a text erased by a delete that has
                                  not reached this replica yet (its erased
                                  bytes were relayed ahead of the delete) */
    int edited;                /* at least one valid edit */
    int deleted;
    int conflict;              /* two or more concurrent edit heads */
    size_t n_reactions;        /* sorted by key, bytewise */
    const msglog_reaction *reactions;
} msglog_message;

/* A page of messages; one allocation, freed with msglog_free(). */
typedef struct msglog_page {
    size_t n;
    msglog_message *messages;  /* in the order they were walked */
} msglog_page;

#define MSGLOG_FORWARD  0   /* oldest to newest */
#define MSGLOG_BACKWARD 1   /* newest to oldest */

/* Where a page starts: the position after (forward) or before (backward)
 * a message, or an end of the conversation when `from_end` is set. */
typedef struct msglog_cursor {
    int from_end;       /* 1: start at the oldest (forward) / newest (backward) */
    uint64_t hlc;       /* else: the message to continue after/before */
    msglog_id id;
} msglog_cursor;

/*
 * Up to `limit` messages of `conv` in message order (hlc, replica, seq),
 * walking in direction `dir` from `from`. Cost is proportional to the page,
 * not the conversation. Continue with a cursor made from the last message.
 * @return MSGLOG_OK (possibly an empty page); MSGLOG_ENOTFOUND for an unknown
 *         conversation.
 */
MSGLOG_API int msglog_messages(msglog *log, msglog_page **out, const char *conv,
                    size_t conv_len, int dir, msglog_cursor from, size_t limit);

/* One message by id, as a page of one. MSGLOG_ENOTFOUND when it is not
 * delivered here. */
MSGLOG_API int msglog_message_get(msglog *log, msglog_page **out, const char *conv,
                       size_t conv_len, msglog_id id);

typedef struct msglog_read_marker {
    msglog_str user;
    msglog_id message;
} msglog_read_marker;

typedef struct msglog_vv_entry {
    uint64_t replica;
    uint64_t seq;
} msglog_vv_entry;

/* A conversation's summary; one allocation, freed with msglog_free(). */
typedef struct msglog_conv_info {
    size_t n_vv;
    msglog_vv_entry *vv;          /* ascending replica, only seq >= 1 */
    uint64_t pending;             /* distinct ops waiting for dependencies */
    uint64_t n_messages;          /* delivered messages, deleted included */
    uint8_t digest[16];           /* order-independent summary of delivered ops */
    size_t n_read;
    msglog_read_marker *read;     /* sorted by user, bytewise */
} msglog_conv_info;

/* @return MSGLOG_OK; MSGLOG_ENOTFOUND when the store holds no op of conv. */
MSGLOG_API int msglog_conv_info_get(msglog *log, msglog_conv_info **out,
                         const char *conv, size_t conv_len);

/* The conversations this store holds at least one op of (delivered or
 * pending), in ascending bytewise order. One allocation: *out points at
 * *n_out entries; free it with msglog_free(). */
MSGLOG_API int msglog_conversations(msglog *log, msglog_str **out, size_t *n_out);

/* Formats a digest as 32 lowercase hex digits plus NUL. */
MSGLOG_API void msglog_digest_hex(char out[33], const uint8_t digest[16]);

/* ------------------------------------------------------------------------ */
/* Delivery status                                                           */
/*
 * How far a message this device wrote has got, from what the relay told
 * this device (its ACKs and STATUS messages, kept in the store, so the
 * answer survives a restart) and the read markers delivered here
 * (docs/protocol.md, section 7). Each status implies the ones before it.
 */

#define MSGLOG_STATUS_PENDING   0  /* only on this device: the relay has not
                                      committed it */
#define MSGLOG_STATUS_SENT      1  /* committed by the relay */
#define MSGLOG_STATUS_DELIVERED 2  /* acknowledged by every subscribed device
                                      of every other member */
#define MSGLOG_STATUS_READ      3  /* every other member's read marker is at
                                      or past it */

/*
 * The delivery status of message `id` (the id of its send) of `conv`.
 *
 * Pending until the relay's acknowledged vector covers the id (always, as
 * long as this device has had no ACK or STATUS from a relay for conv); sent;
 * delivered when the last STATUS's delivered vector covers it and that
 * STATUS names at least one other member; read when, besides, every member
 * it names has a read marker (msglog_conv_info_get()) at or after the
 * message in message order (hlc, replica, seq). The vectors only grow (a
 * member's new device that has acknowledged nothing does not turn delivered
 * back into sent), and a STATUS naming no member keeps the members stored
 * (a new or reset relay does not either); but the members are those of the
 * last STATUS naming any: a new member who has not read the message yet
 * makes "read" "delivered" again.
 * Meant for messages this device wrote; for others' messages the same rules
 * apply to what the relay said.
 *
 * @param[out] out   one of MSGLOG_STATUS_*; set on success only
 * @return MSGLOG_OK; MSGLOG_EINVAL for a bad argument; MSGLOG_ENOTFOUND when
 *         the message is not delivered here; MSGLOG_ECORRUPT; MSGLOG_EIO;
 *         MSGLOG_ENOMEM.
 */
MSGLOG_API int msglog_delivery_status(msglog *log, int *out, const char *conv,
                           size_t conv_len, msglog_id id);

/* ------------------------------------------------------------------------ */
/* Network sync                                                              */
/*
 * A client keeps this store in sync with a relay over TCP (the session
 * protocol of docs/protocol.md); a relay serves any number of clients and
 * pushes each new op to every connected device subscribed to its
 * conversation. Both run on a libuv loop that the application owns and
 * drives (uv_run). This header does not include uv.h: pass a `uv_loop_t *`
 * (a `struct uv_loop_s *`).
 *
 * Signals: the process must ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)), as
 * any libuv program that writes to sockets: a write to a connection the
 * peer has just closed raises it, and its default action ends the process.
 *
 * Threading: every function below, every callback, and every other call on
 * the msglog handle are made on the loop's thread. At most one client or
 * relay per handle: it installs the handle's commit hook, through which
 * whatever the application writes while connected (msglog_send() and its
 * siblings) is pushed with no further call. Callbacks run from the loop,
 * never from inside a msglog_* call, so they may read the store and may
 * call msglog_client_close().
 *
 * Errors: MSGLOG_EINVAL for a bad argument, MSGLOG_ENOMEM, MSGLOG_EIO for
 * the network (resolving, connecting, a reset, a timeout); a protocol or
 * storage failure of the session keeps its own code (MSGLOG_ECORRUPT,
 * MSGLOG_EFULL...). The text of a failure of msglog_client_new() or
 * msglog_relay_new() is in msglog_errmsg(log); a connection's is in
 * msglog_conn_info.detail.
 */
struct uv_loop_s;

typedef enum msglog_conn_state {
    MSGLOG_CONN_OFFLINE,     /* not connected and not trying: not started,
                                closed, or once mode finished or failed */
    MSGLOG_CONN_CONNECTING,  /* resolving, connecting, waiting for HELLO */
    MSGLOG_CONN_SYNCING,     /* connected; ops still to send or receive */
    MSGLOG_CONN_UP_TO_DATE,  /* connected; each side holds all the other
                                has, everything sent is acknowledged */
    MSGLOG_CONN_BACKOFF      /* watch mode: the connection failed; the next
                                attempt is at retry_at_ms */
} msglog_conn_state;

typedef struct msglog_conn_info {
    msglog_conn_state state;
    uint64_t retry_at_ms;    /* BACKOFF: wall clock of the next attempt, ms
                                since the Unix epoch; otherwise 0 */
    int last_error;          /* the failure that ended the last connection
                                or attempt (MSGLOG_OK: none); cleared when a
                                connection is established (HELLO exchanged) */
    const char *detail;      /* its text, "" when none ("connection
                                refused", "the relay closed the
                                connection"...). Borrowed: valid during the
                                callback, or until the loop runs again */
} msglog_conn_info;

/* The connection state changed (state, retry_at_ms or last_error). */
typedef void (*msglog_conn_fn)(void *ctx, const msglog_conn_info *info);
/* Something about conversation `conv` (borrowed for the call) changed. */
typedef void (*msglog_conv_fn)(void *ctx, const char *conv, size_t conv_len);

typedef struct msglog_client msglog_client;

#define MSGLOG_CLIENT_OPTIONS_VERSION 1

typedef struct msglog_client_options {
    unsigned version;          /* MSGLOG_CLIENT_OPTIONS_VERSION */
    const char *host;          /* the relay: a name or an address (copied) */
    uint16_t port;             /* 1..65535 */
    int watch;                 /* 0: sync once, then go OFFLINE; 1: stay
                                  connected, reconnect after a failure */
    const msglog_str *convs;   /* the conversations to sync (copied) */
    size_t n_convs;            /* 0: every conversation either side holds */
    uint32_t budget;           /* bytes per batch asked of the relay; 0:
                                  256 KiB (at most 4 MiB) */
    uint32_t window;           /* batches the relay may have in flight;
                                  0: 8 (at most 64) */
    uint32_t backoff_min_ms;   /* first delay after a failure; 0: 250 */
    uint32_t backoff_max_ms;   /* the delay doubles up to this; 0: 30000.
                                  Each wait is uniform in [d/2, d]; d starts
                                  over when the connection that failed had
                                  been UP_TO_DATE for 10 s or more */
    uint32_t timeout_ms;       /* once mode: give up (MSGLOG_EIO) when not
                                  done after this long; 0: never */
    uint32_t poll_ms;          /* ops written to this store by another
                                  process (no commit hook sees them) are
                                  looked for every poll_ms while connected
                                  (each look reads every conversation's
                                  summary); 0: never (this handle's own
                                  writes are always pushed at once) */
    msglog_conn_fn on_state;   /* NULL: none */
    msglog_conv_fn on_status;  /* delivery statuses of messages of conv may
                                  have changed (an ACK or STATUS of the
                                  relay): ask msglog_delivery_status() */
    msglog_conv_fn on_received; /* the relay's ops of conv were committed:
                                  the view of conv may have changed */
    void *ctx;                 /* passed to the callbacks */
} msglog_client_options;

#define MSGLOG_CLIENT_OPTIONS_INIT \
    { MSGLOG_CLIENT_OPTIONS_VERSION, NULL, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, \
      NULL }

/*
 * A client of the relay at opts->host:opts->port, OFFLINE until
 * msglog_client_start(). `log` and `loop` must outlive it.
 *
 * @param[out] out  the new client; release it with msglog_client_close()
 * @return MSGLOG_OK; MSGLOG_EINVAL (a bad option, or the handle already has
 *         a client or relay); MSGLOG_ENOMEM; MSGLOG_EIO. On error *out is
 *         NULL and msglog_errmsg(log) says why.
 */
MSGLOG_API int msglog_client_new(msglog_client **out, msglog *log, struct uv_loop_s *loop,
                      const msglog_client_options *opts);

/* Starts connecting (CONNECTING). Allowed while OFFLINE, so a once-mode
 * client may be started again. @return MSGLOG_OK; MSGLOG_EINVAL when it is
 * not OFFLINE or is closing. */
MSGLOG_API int msglog_client_start(msglog_client *c);

/* The current state; out->detail borrows from the client (valid until the
 * loop runs again). */
MSGLOG_API void msglog_client_state(const msglog_client *c, msglog_conn_info *out);

/* Once mode, after it went OFFLINE: MSGLOG_OK when the store reached up to
 * date with the relay, else the error (also MSGLOG_EINVAL while it has not
 * finished, or in watch mode). */
MSGLOG_API int msglog_client_result(const msglog_client *c);

/*
 * Disconnects and releases the client. Asynchronous: its libuv handles are
 * closed and the memory is freed once the loop has run their close
 * callbacks (run the loop before uv_loop_close()). It no longer uses the
 * msglog handle once this returns, so the handle may be closed right after.
 * on_state may be called one last time, with OFFLINE, from inside this
 * call; no other callback follows. NULL is accepted.
 */
MSGLOG_API void msglog_client_close(msglog_client *c);

typedef struct msglog_relay msglog_relay;

/*
 * A relay serving the store `log` on host:port (an address or a name; port
 * 0 picks a free port, see msglog_relay_port()). It is listening when this
 * returns. `log` and `loop` must outlive it. A failing connection only
 * closes that connection.
 *
 * @param[out] out  the new relay; release it with msglog_relay_close()
 * @return MSGLOG_OK; MSGLOG_EINVAL (a bad argument, or the handle already has
 *         a client or relay); MSGLOG_ENOMEM; MSGLOG_EIO (resolving, binding,
 *         listening). On error *out is NULL and msglog_errmsg(log) says why;
 *         the libuv handles it made are closed, so the loop must run (once)
 *         before uv_loop_close().
 */
MSGLOG_API int msglog_relay_new(msglog_relay **out, msglog *log, struct uv_loop_s *loop,
                     const char *host, uint16_t port);

/* The port the relay listens on. */
MSGLOG_API uint16_t msglog_relay_port(const msglog_relay *r);

/* Stops listening, closes every connection, and releases the relay,
 * asynchronously as msglog_client_close() (the handle may be closed right
 * after). NULL is accepted. */
MSGLOG_API void msglog_relay_close(msglog_relay *r);

#ifdef __cplusplus
}
#endif
#endif /* MSGLOG_H */
