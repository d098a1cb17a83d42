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
 * @param[out] out      the new handle; close it with msglog_close()
 * @param[in]  path     a directory (created when missing)
 * @param[in]  replica  the replica id, in [1, 2^53)
 * @param[in]  user     the user id, 1..MSGLOG_MAX_USER bytes
 * @param[in]  opts     NULL for defaults
 * @return MSGLOG_OK; MSGLOG_EINVAL for a bad argument; MSGLOG_EMISMATCH when
 *         the store belongs to another replica or user; MSGLOG_EVERSION for a
 *         store written by an unknown format; MSGLOG_EIO; MSGLOG_ENOMEM.
 *         On error *out is NULL.
 */
MSGLOG_API int msglog_open(msglog **out, const char *path, uint64_t replica,
                const char *user, size_t user_len, const msglog_options *opts);

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

#ifdef __cplusplus
}
#endif
#endif /* MSGLOG_H */
