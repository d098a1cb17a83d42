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
 * The sections come in the order an application needs them: the version,
 * errors and limits, opening a replica, creating ops, reading the view,
 * receiving ops and delta sync, delivery status, network sync (client and
 * relay). The merge rules are in docs/design.md, the encodings and the
 * store's layout in docs/format.md, the session protocol in
 * docs/protocol.md.
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
 *    Input strings and buffers are borrowed for the call only (copied where
 *    kept), unless a comment says otherwise.
 *  - A failed call leaves the store exactly as it was (except the two partial
 *    outcomes of msglog_receive_batch(): MSGLOG_EPENDINGFULL and
 *    MSGLOG_EEQUIVOCAL).
 *  - A handle is not thread-safe: use it from one thread at a time. Do not
 *    open the same path twice in one process, and do not use a handle across
 *    fork().
 *  - Callbacks: when they run and what they may do is one rule, in
 *    "Network sync" below (paragraph "Callbacks").
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
/* Version                                                                   */

/* The version of this header, the same as the CMake project's
 * (tests/api/test_version.c checks that they agree). The shared library is
 * libmsglog.so.MAJOR: a new MAJOR breaks programs built against an older
 * one. */
#define MSGLOG_VERSION_MAJOR 0
#define MSGLOG_VERSION_MINOR 1
#define MSGLOG_VERSION_PATCH 0
#define MSGLOG_VERSION_STRING "0.1.0"

/*
 * The version of the library running, which may be newer than the header a
 * program was compiled with (MSGLOG_VERSION_STRING) when the shared library
 * was upgraded underneath it.
 *
 * @return "MAJOR.MINOR.PATCH", static (never freed), never NULL. No error
 *         code is returned.
 */
MSGLOG_API const char *msglog_version(void);

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
#define MSGLOG_EFULL     (-8)  /* disk full: the file system has no room left
                                  (ENOSPC, EDQUOT), or the store's map
                                  reached max_map_size; msglog_errmsg()
                                  says which                                */
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
#define MSGLOG_EBUSY    (-14)  /* the store is claimed by another process
                                  (msglog_claim()): msglog_errmsg() names
                                  its pid                                   */
#define MSGLOG_ENET     (-15)  /* the network failed: resolving, connecting,
                                  binding, a reset, a timeout, the peer
                                  ending the session (MSGLOG_EIO is the
                                  store and the operating system only)      */

/*
 * Static text for an error code.
 *
 * @param[in] err  any int: MSGLOG_OK or an MSGLOG_E* code
 * @return the text, never NULL, static (never freed); "unknown error" for a
 *         value that is no MSGLOG_* code. No error code is returned.
 */
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

/* Returns the wall clock in milliseconds since the Unix epoch (the hlc of a
 * new op is derived from it: docs/design.md, "Clock and order"). It is the
 * one callback outside network sync, and it runs synchronously: from inside
 * the calls that create ops (msglog_send() and its siblings), with the
 * handle's write transaction open, so it must not call into the handle. */
typedef uint64_t (*msglog_clock_fn)(void *ctx);

#define MSGLOG_OPTIONS_VERSION 2   /* 2 added no_page_check; 1 is still read */

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
    int no_page_check;       /* 0: msglog_open reads every page of the
                                store once and refuses one LMDB's pages are
                                damaged in (MSGLOG_ECORRUPT), before LMDB
                                reads any: LMDB trusts its pages and a
                                damaged one can crash the process. It costs
                                a pass over the data file (about 0.3 ms per
                                MB in the page cache, docs/reliability.md).
                                1: skip it, for a faster open of a large
                                store on a trusted disk (since version 2) */
} msglog_options;

#define MSGLOG_OPTIONS_INIT { MSGLOG_OPTIONS_VERSION, NULL, NULL, 0, 0, 0, 0, 0 }

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
 * @param[out] out       the new handle, owned by the caller: close it with
 *                       msglog_close(); must not be NULL
 * @param[in]  path      a directory, NUL-terminated, not NULL nor empty
 *                       (created when missing, with its missing parents,
 *                       unless replica is 0); borrowed for the call
 * @param[in]  replica   the replica id, in [1, 2^53); 0: the store's
 * @param[in]  user      the user id, UTF-8, copied; NULL: the store's (only
 *                       with replica 0)
 * @param[in]  user_len  its length, 1..MSGLOG_MAX_USER bytes; 0 with user
 *                       NULL
 * @param[in]  opts      NULL for defaults; read during the call (clock_ctx
 *                       must stay valid as long as the handle)
 * @return MSGLOG_OK; MSGLOG_EINVAL for a bad argument (out or path NULL, an
 *         empty path, a replica out of range, replica 0 with a user, a
 *         replica without one, a user too long or not valid UTF-8);
 *         MSGLOG_ENOTFOUND when opening by the store's identity and there is
 *         no store; MSGLOG_EMISMATCH when the store belongs to another
 *         replica or user; MSGLOG_EVERSION when opts->version is neither
 *         MSGLOG_OPTIONS_VERSION nor 1, or for a store written by an unknown format
 *         (stores of formats 1 and 2, made before records had checksums,
 *         included: there is no migration), or a data file LMDB does not
 *         recognise; MSGLOG_ECORRUPT when the store is damaged: its data file
 *         is shorter than its meta page says or a meta page is inconsistent,
 *         one of LMDB's pages is damaged (unless opts->no_page_check), a
 *         table is missing, its identity is damaged (a checksum fails),
 *         unreadable or invalid, or LMDB finds the file corrupt;
 *         MSGLOG_EFULL when map_size is too small to create a new store;
 *         MSGLOG_EIO (the directory cannot be made or opened, LMDB failed);
 *         MSGLOG_ENOMEM. On error *out is NULL (when out is not); there is
 *         no handle to ask msglog_errmsg(), msglog_open_errmsg() says why.
 */
MSGLOG_API int msglog_open(msglog **out, const char *path, uint64_t replica,
                const char *user, size_t user_len, const msglog_options *opts);

/*
 * The message of the last msglog_open() of this thread that failed ("" after
 * one that succeeded): "data.mdb is truncated: 8192 bytes, its meta page
 * needs 40960", "meta record user is damaged (checksum)".
 *
 * @return the text, never NULL, in thread-local storage owned by the
 *         library: valid until the next msglog_open() of the same thread.
 */
MSGLOG_API const char *msglog_open_errmsg(void);

/*
 * A new random replica id, in [1, 2^53), from the system's random source:
 * what a new store should be given (msglog_open()), so that two devices
 * never pick the same id by accident, nor a store restored beside its
 * original unless copied.
 *
 * @return the id; 0 when the system has no random source to give.
 */
MSGLOG_API uint64_t msglog_new_replica_id(void);

/*
 * The identity of the open store: its replica id and its user. Each
 * out-parameter may be NULL.
 *
 * @param[in]  log       the handle
 * @param[out] replica   the replica id
 * @param[out] user      the user id, borrowed from the handle (valid until
 *                       msglog_close()), also NUL-terminated
 * @param[out] user_len  its length in bytes
 * @return MSGLOG_OK; MSGLOG_EINVAL when log is NULL.
 */
MSGLOG_API int msglog_identity(msglog *log, uint64_t *replica, const char **user,
                    size_t *user_len);

/*
 * Closes the store and frees the handle. Close its client or relay first
 * (msglog_client_close(), msglog_relay_close()). Pointers borrowed from the
 * handle (msglog_identity()'s user, msglog_errmsg()) die with it; memory
 * returned through `out` parameters stays valid until msglog_free().
 *
 * @param[in] log  the handle, or NULL (nothing is done)
 */
MSGLOG_API void msglog_close(msglog *log);

/*
 * Claims the store for this process: the claim of a process that keeps the
 * store in sync for a long time. msglog_relay_new() and a watch-mode
 * msglog_client_new() claim their store, so two relays, two watching
 * clients, or a relay and a watching client cannot run on one store (they
 * would each answer for the same replica and replace each other at the
 * relay). A claim keeps nobody else out: any process may still open, read
 * and write the store, sync it once, and send.
 *
 * It is an advisory lock (fcntl) on the file claim.lock in the store's
 * directory, which also holds the claiming process's pid. It lasts until
 * msglog_close(); the kernel drops it when the process ends, however it
 * ends (SIGKILL included). Claiming again on the same handle is MSGLOG_OK.
 *
 * @param[in] log  the handle
 * @return MSGLOG_OK; MSGLOG_EINVAL when log is NULL; MSGLOG_EBUSY when
 *         another process holds the claim: msglog_errmsg() reads "the
 *         store in DIR is in use by process N" (DIR as given to
 *         msglog_open()); MSGLOG_EIO when the file cannot be made or
 *         locked; MSGLOG_ENOMEM. A failure changes nothing.
 */
MSGLOG_API int msglog_claim(msglog *log);

/*
 * The message of the last error on this handle ("" when none).
 *
 * @param[in] log  the handle; NULL gives "no handle"
 * @return the text, never NULL, borrowed from the handle: valid until the
 *         next call on the handle.
 */
MSGLOG_API const char *msglog_errmsg(const msglog *log);

/*
 * Frees memory returned by the library through an `out` parameter (pages,
 * summaries, lists, op bytes, sync messages). Not for borrowed pointers.
 *
 * @param[in] p  that memory, or NULL (nothing is done)
 */
MSGLOG_API void msglog_free(void *p);

/* ------------------------------------------------------------------------ */
/* Creating ops                                                              */
/*
 * Each call creates one op at the current clock reading, delivers it locally
 * and commits it before returning; with a client or relay on the handle it
 * is then pushed from the loop (see "Network sync"). On success *out is the
 * new op's id. A refused call returns MSGLOG_ENOTFOUND (target not delivered
 * here), MSGLOG_EDENIED (not the author, target deleted, no live reaction to
 * remove) or MSGLOG_ELIMIT (a field too long, or empty where it may not be)
 * and changes nothing. The merge rules are those of docs/design.md.
 * `target` always names a message (the id of its send).
 *
 * Common to the six calls:
 *  - log must not be NULL (MSGLOG_EINVAL).
 *  - out may be NULL; it is written on success only.
 *  - conv, conv_len: the conversation id, 1..MSGLOG_MAX_CONV bytes of UTF-8.
 *    conv NULL with conv_len > 0, or invalid UTF-8, is MSGLOG_EINVAL;
 *    conv_len 0 or over MSGLOG_MAX_CONV is MSGLOG_ELIMIT.
 *  - MSGLOG_ELIMIT also when the new op would name more ids than an op may
 *    hold (4096 dependencies, or 4096 replaced edit heads or observed
 *    reactions): only in a conversation with thousands of concurrent writers.
 *  - Store failures: MSGLOG_EFULL when the disk is full (the message says
 *    "disk full"), or the map cannot grow (max_map_size reached; it is
 *    grown and the call retried before that), MSGLOG_EIO,
 *    MSGLOG_ECORRUPT (stored state that does not decode), MSGLOG_ENOMEM.
 */

/*
 * Sends a new message; its id (*out) is the `target` of later ops on it.
 * The conversation is created in this store when new.
 *
 * @param[in]  log       the handle
 * @param[out] out       the new message's id; may be NULL
 * @param[in]  conv      the conversation id
 * @param[in]  conv_len  its length in bytes
 * @param[in]  body      the text, UTF-8; may be NULL when body_len is 0
 * @param[in]  body_len  0..MSGLOG_MAX_BODY bytes
 * @return MSGLOG_OK; MSGLOG_EINVAL when log is NULL, conv or body is NULL
 *         with a non-zero length, or either is not valid UTF-8;
 *         MSGLOG_ELIMIT when conv_len is 0 or over MSGLOG_MAX_CONV, body_len
 *         over MSGLOG_MAX_BODY, or too many dependencies; MSGLOG_EFULL,
 *         MSGLOG_EIO, MSGLOG_ECORRUPT from the store; MSGLOG_ENOMEM.
 */
MSGLOG_API int msglog_send(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                const void *body, size_t body_len);
/*
 * Replaces the text of message `target`. Only its author (the same user,
 * from any of their replicas) may edit it, and not once deleted.
 *
 * @param[in]  log       the handle
 * @param[out] out       the edit op's id; may be NULL
 * @param[in]  conv      the conversation id
 * @param[in]  conv_len  its length in bytes
 * @param[in]  target    the message (the id of its send)
 * @param[in]  body      the new text, UTF-8; may be NULL when body_len is 0
 * @param[in]  body_len  0..MSGLOG_MAX_BODY bytes
 * @return MSGLOG_OK; MSGLOG_EINVAL as for msglog_send(); MSGLOG_ELIMIT as
 *         for msglog_send(), or more than 4096 concurrent edit heads;
 *         MSGLOG_ENOTFOUND when conv is not in this store or target is not
 *         a message delivered here; MSGLOG_EDENIED when this handle's user
 *         is not its author or it is deleted; MSGLOG_EFULL, MSGLOG_EIO,
 *         MSGLOG_ECORRUPT from the store; MSGLOG_ENOMEM.
 */
MSGLOG_API int msglog_edit(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                msglog_id target, const void *body, size_t body_len);
/*
 * Deletes message `target`: its text and every edit's text are erased from
 * the store. Only its author may delete it, and only once.
 *
 * @param[in]  log       the handle
 * @param[out] out       the delete op's id; may be NULL
 * @param[in]  conv      the conversation id
 * @param[in]  conv_len  its length in bytes
 * @param[in]  target    the message (the id of its send)
 * @return MSGLOG_OK; MSGLOG_EINVAL when log is NULL, conv is NULL with a
 *         non-zero length or not valid UTF-8; MSGLOG_ELIMIT when conv_len is
 *         0 or over MSGLOG_MAX_CONV, or too many dependencies;
 *         MSGLOG_ENOTFOUND when conv is not in this store or target is not
 *         a message delivered here; MSGLOG_EDENIED when this handle's user
 *         is not its author or it is already deleted; MSGLOG_EFULL,
 *         MSGLOG_EIO, MSGLOG_ECORRUPT from the store; MSGLOG_ENOMEM.
 */
MSGLOG_API int msglog_delete(msglog *log, msglog_id *out, const char *conv,
                  size_t conv_len, msglog_id target);
/*
 * Adds this handle's user's reaction `key` to message `target` (anyone may
 * react, not to a deleted message; reacting again with the same key is not
 * an error).
 *
 * @param[in]  log       the handle
 * @param[out] out       the react op's id; may be NULL
 * @param[in]  conv      the conversation id
 * @param[in]  conv_len  its length in bytes
 * @param[in]  target    the message (the id of its send)
 * @param[in]  key       the reaction key (an emoji, a name), UTF-8
 * @param[in]  key_len   1..MSGLOG_MAX_KEY bytes
 * @return MSGLOG_OK; MSGLOG_EINVAL when log is NULL, conv or key is NULL
 *         with a non-zero length, or either is not valid UTF-8;
 *         MSGLOG_ELIMIT when conv_len or key_len is 0 or over its maximum,
 *         or too many dependencies; MSGLOG_ENOTFOUND when conv is not in
 *         this store or target is not a message delivered here;
 *         MSGLOG_EDENIED when the message is deleted; MSGLOG_EFULL,
 *         MSGLOG_EIO, MSGLOG_ECORRUPT from the store; MSGLOG_ENOMEM.
 */
MSGLOG_API int msglog_react(msglog *log, msglog_id *out, const char *conv,
                 size_t conv_len, msglog_id target, const char *key,
                 size_t key_len);
/*
 * Removes this handle's user's reaction `key` from message `target`: the
 * reacts of it this replica has seen (a concurrent react elsewhere stays).
 *
 * @param[in]  log       the handle
 * @param[out] out       the unreact op's id; may be NULL
 * @param[in]  conv      the conversation id
 * @param[in]  conv_len  its length in bytes
 * @param[in]  target    the message (the id of its send)
 * @param[in]  key       the reaction key, UTF-8
 * @param[in]  key_len   1..MSGLOG_MAX_KEY bytes
 * @return MSGLOG_OK; MSGLOG_EINVAL and MSGLOG_ELIMIT as for msglog_react()
 *         (MSGLOG_ELIMIT also for more than 4096 live reacts to remove);
 *         MSGLOG_ENOTFOUND when conv is not in this store or target is not
 *         a message delivered here; MSGLOG_EDENIED when the message is
 *         deleted or this user has no live reaction with that key on it;
 *         MSGLOG_EFULL, MSGLOG_EIO, MSGLOG_ECORRUPT from the store;
 *         MSGLOG_ENOMEM.
 */
MSGLOG_API int msglog_unreact(msglog *log, msglog_id *out, const char *conv,
                   size_t conv_len, msglog_id target, const char *key,
                   size_t key_len);
/*
 * Moves this handle's user's read marker of the conversation to message
 * `target` (msglog_conv_info_get()). A marker never moves back: marking an
 * older message still creates the op, without effect. Deleted messages may
 * be marked.
 *
 * @param[in]  log       the handle
 * @param[out] out       the read op's id; may be NULL
 * @param[in]  conv      the conversation id
 * @param[in]  conv_len  its length in bytes
 * @param[in]  target    the message (the id of its send)
 * @return MSGLOG_OK; MSGLOG_EINVAL when log is NULL, conv is NULL with a
 *         non-zero length or not valid UTF-8; MSGLOG_ELIMIT when conv_len is
 *         0 or over MSGLOG_MAX_CONV, or too many dependencies;
 *         MSGLOG_ENOTFOUND when conv is not in this store or target is not
 *         a message delivered here; MSGLOG_EFULL, MSGLOG_EIO,
 *         MSGLOG_ECORRUPT from the store; MSGLOG_ENOMEM.
 */
MSGLOG_API int msglog_mark_read(msglog *log, msglog_id *out, const char *conv,
                     size_t conv_len, msglog_id target);

/*
 * The encoded bytes of op `id` of conversation `conv` as this store holds it
 * (delivered or pending), for handing to a peer's msglog_receive(). Texts
 * erased by a delete stay erased in the encoding (docs/format.md, "Op
 * encoding").
 *
 * @param[in]  log       the handle
 * @param[out] out       a copy of the bytes, owned by the caller: free it
 *                       with msglog_free(); NULL on error
 * @param[out] out_len   their length; 0 on error
 * @param[in]  conv      the conversation id
 * @param[in]  conv_len  its length, 1..MSGLOG_MAX_CONV bytes
 * @param[in]  id        the op (any kind, not only a send)
 * @return MSGLOG_OK; MSGLOG_EINVAL when log, out or out_len is NULL, or conv
 *         is NULL, empty or over MSGLOG_MAX_CONV bytes; MSGLOG_ENOTFOUND
 *         when conv is not in this store or it holds no op `id` of it;
 *         MSGLOG_EIO, MSGLOG_ECORRUPT from the store; MSGLOG_ENOMEM.
 */
MSGLOG_API int msglog_op_bytes(msglog *log, void **out, size_t *out_len,
                    const char *conv, size_t conv_len, msglog_id id);

/*
 * Many local ops in one durable commit: what LMDB's transaction or SQLite's
 * BEGIN give, for an import or a burst of writes (one commit costs a disk
 * flush; 20,000 msglog_send() calls make 20,000). `kind` says which call an
 * entry stands for, with that call's fields and rules. An entry may target
 * a message an earlier entry of the batch sends: its id is this store's
 * replica and the next seq of the conversation, in entry order (the ids the
 * batch returns). bench_local in `make bench` measures the difference.
 */
#define MSGLOG_WRITE_SEND    1   /* text: the body */
#define MSGLOG_WRITE_EDIT    2   /* target; text: the new body */
#define MSGLOG_WRITE_DELETE  3   /* target */
#define MSGLOG_WRITE_REACT   4   /* target; text: the reaction key */
#define MSGLOG_WRITE_UNREACT 5   /* target; text: the reaction key */
#define MSGLOG_WRITE_READ    6   /* target */

typedef struct msglog_write {
    int kind;                  /* MSGLOG_WRITE_* */
    const char *conv;          /* the conversation id, as for msglog_send() */
    size_t conv_len;
    msglog_id target;          /* the message (the id of its send); not SEND */
    const void *text;          /* SEND, EDIT: the body; REACT, UNREACT: the
                                  key; ignored for the others */
    size_t text_len;
} msglog_write;

/*
 * Creates the n ops of `w`, in order, in one write transaction and one
 * durable commit, each as the single call of its kind would (clock, rules,
 * limits). All or nothing: when one entry is refused, nothing is committed.
 *
 * @param[in]  log     the handle
 * @param[out] ids     n ids, written on success (ids[i] for w[i]); may be
 *                     NULL
 * @param[in]  w       n entries, borrowed for the call; NULL only when n is 0
 * @param[in]  n       their number, at most MSGLOG_MAX_WRITE_BATCH; 0
 *                     commits nothing and returns MSGLOG_OK
 * @param[out] failed  on a refusal, the index of the entry refused; may be
 *                     NULL
 * @return MSGLOG_OK; MSGLOG_EINVAL when log is NULL, w is NULL with n > 0,
 *         or an entry's kind is not MSGLOG_WRITE_*; otherwise what the
 *         entry's own call returns (msglog_send() and its siblings), for
 *         the first entry refused, with nothing committed.
 */
#define MSGLOG_MAX_WRITE_BATCH 100000
MSGLOG_API int msglog_write_batch(msglog *log, msglog_id *ids, const msglog_write *w, size_t n,
                       size_t *failed);

/* ------------------------------------------------------------------------ */
/* Reading the view                                                          */
/*
 * Each call that reads the store does so in one LMDB read transaction: a
 * consistent snapshot. The results are copies, one allocation each, owned
 * by the caller and freed with one msglog_free(); they stay valid after
 * later writes and after msglog_close(). Failures of the store: MSGLOG_EIO,
 * MSGLOG_ECORRUPT (stored state that does not decode).
 */

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
    int equivocated;           /* its send or one of its edits reached this
                                  store in two versions with different
                                  content (the sending device wrote one id
                                  twice: a fault or an attack): the text shown
                                  is the one the rule picks
                                  (docs/reliability.md, "Equivocation") and
                                  may differ from what was shown before, so
                                  an application should say so */
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
 * not the conversation. Continue with a cursor made from the last message
 * (its hlc and id); the position need not hold a message any more.
 *
 * @param[in]  log       the handle
 * @param[out] out       the page, owned by the caller: free it with
 *                       msglog_free() (also when empty); NULL on error
 * @param[in]  conv      the conversation id
 * @param[in]  conv_len  its length, 1..MSGLOG_MAX_CONV bytes
 * @param[in]  dir       MSGLOG_FORWARD or MSGLOG_BACKWARD
 * @param[in]  from      where to start
 * @param[in]  limit     the most messages to return; 0: an empty page
 * @return MSGLOG_OK (possibly an empty page); MSGLOG_EINVAL when log or out
 *         is NULL, dir is neither direction, or conv is NULL, empty or over
 *         MSGLOG_MAX_CONV bytes; MSGLOG_ENOTFOUND for an unknown
 *         conversation; MSGLOG_EIO, MSGLOG_ECORRUPT from the store;
 *         MSGLOG_ENOMEM.
 */
MSGLOG_API int msglog_messages(msglog *log, msglog_page **out, const char *conv,
                    size_t conv_len, int dir, msglog_cursor from, size_t limit);

/*
 * One message by id, as a page of one.
 *
 * @param[in]  log       the handle
 * @param[out] out       the page (n is 1), owned by the caller: free it with
 *                       msglog_free(); NULL on error
 * @param[in]  conv      the conversation id
 * @param[in]  conv_len  its length, 1..MSGLOG_MAX_CONV bytes
 * @param[in]  id        the message (the id of its send)
 * @return MSGLOG_OK; MSGLOG_EINVAL when log or out is NULL, or conv is NULL,
 *         empty or over MSGLOG_MAX_CONV bytes; MSGLOG_ENOTFOUND for an
 *         unknown conversation, or when id is not a message delivered here
 *         (pending, or the id of another kind of op); MSGLOG_EIO,
 *         MSGLOG_ECORRUPT from the store; MSGLOG_ENOMEM.
 */
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

/*
 * The summary of conversation `conv`: its version vector, pending count,
 * message count, digest and read markers.
 *
 * @param[in]  log       the handle
 * @param[out] out       the summary, owned by the caller: free it with
 *                       msglog_free(); NULL on error
 * @param[in]  conv      the conversation id
 * @param[in]  conv_len  its length, 1..MSGLOG_MAX_CONV bytes
 * @return MSGLOG_OK; MSGLOG_EINVAL when log or out is NULL, or conv is NULL,
 *         empty or over MSGLOG_MAX_CONV bytes; MSGLOG_ENOTFOUND when the
 *         store holds no op of conv; MSGLOG_EIO, MSGLOG_ECORRUPT from the
 *         store; MSGLOG_ENOMEM.
 */
MSGLOG_API int msglog_conv_info_get(msglog *log, msglog_conv_info **out,
                         const char *conv, size_t conv_len);

/*
 * The conversations this store holds at least one op of (delivered or
 * pending), in ascending bytewise order.
 *
 * @param[in]  log    the handle
 * @param[out] out    *n_out entries in one allocation, owned by the caller:
 *                    free it with msglog_free() (also when empty); NULL on
 *                    error
 * @param[out] n_out  the number of entries; 0 on error
 * @return MSGLOG_OK; MSGLOG_EINVAL when log, out or n_out is NULL;
 *         MSGLOG_EIO, MSGLOG_ECORRUPT from the store; MSGLOG_ENOMEM.
 */
MSGLOG_API int msglog_conversations(msglog *log, msglog_str **out, size_t *n_out);

/*
 * Formats a digest as 32 lowercase hex digits plus NUL. Cannot fail.
 *
 * @param[out] out     33 bytes, not NULL
 * @param[in]  digest  16 bytes (msglog_conv_info.digest), not NULL
 */
MSGLOG_API void msglog_digest_hex(char out[33], const uint8_t digest[16]);

/* ------------------------------------------------------------------------ */
/* Checking the store                                                        */

/* Called by msglog_check() with one problem: a line of text (no newline)
 * naming what is wrong, borrowed for the call. It runs inside the check's
 * read transaction: it must not call into the handle. */
typedef void (*msglog_problem_fn)(void *ctx, const char *problem);

/*
 * Reads and checks the whole store: every page of LMDB's first, as
 * msglog_open() does unless opts->no_page_check (a damaged page is then the
 * one problem reported: reading records over it could crash LMDB); every
 * record of every table (its checksum, its key, its decoding, keys in
 * order, as many as LMDB counts),
 * every record that points at another (a message and its send, pending ops
 * and their indexes, evidence and its id, a conversation's name and its
 * state), and every conversation's vector, message and pending counts,
 * digest and read markers recomputed from its records. Each problem is
 * reported once, as a line naming the table, the conversation and the
 * record where it can: "ops record 3.17 of conversation team is damaged
 * (checksum)", "conversation team is damaged (its vector is [3:17], its ops
 * are [3:16])". It goes on past every problem it can. Nothing is written.
 * Damage that makes the store fail to open is msglog_open()'s to report
 * (msglog_open_errmsg()). Cost: one pass over the store, decoding every op.
 *
 * @param[in]  log         the handle
 * @param[in]  fn          called once per problem; may be NULL (count only)
 * @param[in]  ctx         passed to fn
 * @param[out] n_problems  the number of problems found; may be NULL
 * @return MSGLOG_OK when the store is whole; MSGLOG_ECORRUPT when it found
 *         problems (all were reported to fn); MSGLOG_EINVAL when log is
 *         NULL; MSGLOG_EIO, MSGLOG_ENOMEM when the check could not finish
 *         (the problems found before were reported).
 */
MSGLOG_API int msglog_check(msglog *log, msglog_problem_fn fn, void *ctx,
                            uint64_t *n_problems);

/*
 * Compacts the store in place: it is rewritten holding only its live pages
 * (LMDB's compacting copy into DIR/compact.tmp, with data.mdb's file mode,
 * synced and checked as a store), then the copy is renamed over data.mdb.
 * The free pages of the old file go with it, and with them whatever text a
 * delete erased from the records but LMDB had not overwritten yet. The
 * handle stays open on the new file.
 *
 * It needs the store alone: not while a client or relay runs on the handle
 * (MSGLOG_EINVAL), nor while another process has it open (MSGLOG_EBUSY,
 * msglog_errmsg() names the process; nothing is done). A process that opens
 * the store meanwhile waits for the compaction to end.
 *
 * @param[in]  log     the handle
 * @param[out] before  the data file's size before, in bytes; may be NULL
 * @param[out] after   and after; may be NULL
 * @return MSGLOG_OK; MSGLOG_EINVAL (log NULL, a client or relay on it);
 *         MSGLOG_EBUSY; MSGLOG_EFULL (no room for the copy); MSGLOG_EIO,
 *         MSGLOG_ECORRUPT (the copy does not check: the store is damaged,
 *         see msglog_check()). On a failure before the rename the store is
 *         as it was. After it (only the reopening of the new file can fail
 *         then), the handle has no store: close it and open the store again.
 */
MSGLOG_API int msglog_compact(msglog *log, uint64_t *before, uint64_t *after);

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
 *
 * msglog_receive() is msglog_receive_batch() of one op.
 *
 * @param[in] log     the handle
 * @param[in] ops     n_ops buffers, each one op's encoding (docs/format.md,
 *                    "Op encoding"), borrowed for the call (what is kept is
 *                    copied); NULL only when n_ops is 0
 * @param[in] n_ops   their number; 0 commits nothing and returns MSGLOG_OK
 * @param[in] op      (msglog_receive) one op's encoding, borrowed
 * @param[in] op_len  its length in bytes
 * @return MSGLOG_OK; MSGLOG_EINVAL when log is NULL, ops is NULL with n_ops
 *         > 0, or a buffer's data is NULL with a non-zero length;
 *         MSGLOG_ECORRUPT, MSGLOG_EVERSION, MSGLOG_EKIND or MSGLOG_ELIMIT
 *         when an op does not decode (the first such op's reason; nothing
 *         changed); MSGLOG_EEQUIVOCAL and MSGLOG_EPENDINGFULL as above, the
 *         rest committed (when both happened, MSGLOG_EEQUIVOCAL, and
 *         msglog_errmsg() counts both); MSGLOG_EFULL, MSGLOG_EIO,
 *         MSGLOG_ECORRUPT from the store, MSGLOG_ENOMEM (nothing changed).
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
 * exactly the delivered ops the receiver lacks, with erased texts erased
 * (docs/format.md, "Sync messages").
 */

/*
 * A request for conversation `conv`, or for every conversation when conv is
 * NULL (the sender then answers with every conversation it holds). A
 * conversation this store does not know is asked for whole.
 *
 * @param[in]  log       the handle
 * @param[out] out       the request, owned by the caller: free it with
 *                       msglog_free(); NULL on error
 * @param[out] out_len   its length; 0 on error
 * @param[in]  conv      the conversation id, or NULL for all
 * @param[in]  conv_len  its length, 1..MSGLOG_MAX_CONV bytes (ignored when
 *                       conv is NULL)
 * @return MSGLOG_OK; MSGLOG_EINVAL when log, out or out_len is NULL, or conv
 *         is given with conv_len 0 or over MSGLOG_MAX_CONV, or is not valid
 *         UTF-8; MSGLOG_ELIMIT when asking for all and the store holds more
 *         than 100,000 conversations; MSGLOG_EIO, MSGLOG_ECORRUPT from the
 *         store; MSGLOG_ENOMEM.
 */
MSGLOG_API int msglog_sync_request(msglog *log, void **out, size_t *out_len,
                        const char *conv, size_t conv_len);
/*
 * The answer to a request: the delivered ops of this store the requester
 * lacks (and the other versions kept as evidence of equivocated ids).
 *
 * @param[in]  log          the handle
 * @param[out] out          the response, owned by the caller: free it with
 *                          msglog_free(); NULL on error
 * @param[out] out_len      its length; 0 on error
 * @param[in]  request      a peer's msglog_sync_request() bytes, borrowed;
 *                          NULL only with request_len 0
 * @param[in]  request_len  their length
 * @return MSGLOG_OK; MSGLOG_EINVAL when log, out or out_len is NULL, or
 *         request is NULL with a non-zero length; MSGLOG_ECORRUPT when the
 *         request does not decode; MSGLOG_EVERSION for an unknown format
 *         version; MSGLOG_ELIMIT when the request is over a limit (more
 *         than 100,000 conversations, an id over MSGLOG_MAX_CONV bytes) or
 *         the response would hold more than 10,000,000 ops; MSGLOG_EIO,
 *         MSGLOG_ECORRUPT from the store; MSGLOG_ENOMEM.
 */
MSGLOG_API int msglog_sync_response(msglog *log, void **out, size_t *out_len,
                         const void *request, size_t request_len);
/*
 * Applies a response as one msglog_receive_batch().
 *
 * @param[in] log           the handle
 * @param[in] response      a peer's msglog_sync_response() bytes, borrowed;
 *                          NULL only with response_len 0
 * @param[in] response_len  their length
 * @return MSGLOG_OK; MSGLOG_EINVAL when log is NULL or response is NULL with
 *         a non-zero length; MSGLOG_ECORRUPT, MSGLOG_EVERSION or
 *         MSGLOG_ELIMIT (more than 10,000,000 ops, one over 1 MiB) when the
 *         response itself does not decode (nothing changed); MSGLOG_ENOMEM;
 *         otherwise whatever msglog_receive_batch() returns for its ops.
 */
MSGLOG_API int msglog_sync_apply(msglog *log, const void *response, size_t response_len);

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
 * @param[in]  log       the handle
 * @param[out] out       one of MSGLOG_STATUS_*; set on success only
 * @param[in]  conv      the conversation id
 * @param[in]  conv_len  its length, 1..MSGLOG_MAX_CONV bytes
 * @param[in]  id        the message (the id of its send)
 * @return MSGLOG_OK; MSGLOG_EINVAL when log or out is NULL, or conv is NULL,
 *         empty or over MSGLOG_MAX_CONV bytes; MSGLOG_ENOTFOUND when the
 *         conversation is unknown or the message is not delivered here;
 *         MSGLOG_ECORRUPT (a stored state or STATUS that does not decode),
 *         MSGLOG_EIO from the store; MSGLOG_ENOMEM.
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
 * siblings) is pushed with no further call: the hook only notes the
 * conversation, and the push runs from the loop after the write returned.
 *
 * Callbacks (the rule every comment below follows): the client's callbacks
 * (on_state, on_status, on_received) and the relay's one (on_log) run from
 * the loop, never from inside a msglog_* call, with one exception:
 *  - msglog_client_close() calls on_state once, with OFFLINE, from inside
 *    the call, when that is news to on_state (not for a client never
 *    started, nor for a once-mode client whose end was already reported);
 *    and not at all when msglog_client_close() is itself called from inside
 *    one of that client's callbacks. So `ctx` must still be valid when
 *    msglog_client_close() is called.
 * No other call runs one: not msglog_client_new() or msglog_client_start()
 * (an attempt that fails at once is reported from the loop), not the
 * relay's functions (the relay's start line comes from the loop after
 * msglog_relay_new(), its stop line from the loop after
 * msglog_relay_close()), not writes to the store.
 * Inside a callback the application may read and write the store through
 * the handle, call msglog_client_state() and msglog_client_result(), and
 * call msglog_client_close() on the callback's own client: no callback of
 * that client follows (on_received and on_status calls still due are
 * dropped, on_state is not told OFFLINE), and the handle may be closed right
 * after, as outside a callback. While the client is open, a callback must
 * not close the handle. Inside on_log the application may read the store
 * and call msglog_relay_stats_get(); it must not close the relay or the
 * handle. (msglog_options.clock, the one callback outside network sync,
 * runs synchronously: see msglog_clock_fn.)
 *
 * Errors: MSGLOG_EINVAL for a bad argument, MSGLOG_ENOMEM, MSGLOG_ENET for
 * the network (resolving, connecting, binding, a reset, a timeout, the peer
 * ending the session), never MSGLOG_EIO, which is the store's; a protocol
 * or storage failure of the session keeps its own code (MSGLOG_ECORRUPT,
 * MSGLOG_EVERSION, MSGLOG_EKIND, MSGLOG_ELIMIT, MSGLOG_EMISMATCH,
 * MSGLOG_EFULL...). The text of a failure of
 * msglog_client_new() or msglog_relay_new() is in msglog_errmsg(log); a
 * connection's is in msglog_conn_info.detail.
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

/* The connection state changed (state, retry_at_ms or last_error). Called
 * from the loop, and once from inside msglog_client_close() (see
 * "Callbacks" above); info is borrowed for the call. */
typedef void (*msglog_conn_fn)(void *ctx, const msglog_conn_info *info);
/* Something about conversation `conv` (borrowed for the call) changed.
 * Called from the loop only. */
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
    uint32_t timeout_ms;       /* once mode: give up (MSGLOG_ENET) when not
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
    uint32_t keepalive_ms;     /* while connected, a keep-alive (an empty
                                  frame, 4 bytes) every keepalive_ms, so
                                  that the relay's idle timeout
                                  (msglog_relay_options.idle_timeout_ms)
                                  does not close a quiet connection; keep it
                                  well below that timeout; 0: 15000 */
    uint32_t handshake_timeout_ms; /* an attempt (resolving, connecting,
                                  the relay's HELLO) that has not reached
                                  SYNCING after this long fails with
                                  MSGLOG_ENET ("the relay did not answer"):
                                  a host that accepts and never answers
                                  must not hold a client for ever (watch
                                  mode backs off and tries again);
                                  0: 30000 */
} msglog_client_options;

#define MSGLOG_CLIENT_OPTIONS_INIT \
    { MSGLOG_CLIENT_OPTIONS_VERSION, NULL, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, \
      NULL, 0, 0 }

/*
 * A client of the relay at opts->host:opts->port, OFFLINE until
 * msglog_client_start(). `log` and `loop` must outlive it. Calls no
 * callback. In watch mode it claims the store first (msglog_claim()): one
 * watching client or relay per store; a once-mode client claims nothing.
 *
 * @param[out] out   the new client, owned by the caller: release it with
 *                   msglog_client_close(); must not be NULL
 * @param[in]  log   the handle; it must have no client or relay
 * @param[in]  loop  the libuv loop (a `uv_loop_t *`) it runs on
 * @param[in]  opts  the options, read during the call (host and convs are
 *                   copied; the callbacks and ctx are kept)
 * @return MSGLOG_OK; MSGLOG_EINVAL when out, log, loop or opts is NULL, for
 *         a bad option (opts->version not MSGLOG_CLIENT_OPTIONS_VERSION;
 *         host NULL, empty or over 255 bytes; port 0; convs NULL with
 *         n_convs > 0, or an id NULL, empty or over MSGLOG_MAX_CONV bytes;
 *         budget over 4 MiB; window over 64; backoff_min_ms above a non-zero
 *         backoff_max_ms), or when the handle already has a client or relay;
 *         in watch mode, MSGLOG_EBUSY when another process claimed the store
 *         (a relay or a watching client: msglog_claim(), which this calls);
 *         MSGLOG_ENOMEM. On error *out is NULL (when out is not) and
 *         msglog_errmsg(log) says why (when log is not NULL); nothing is
 *         left for the loop to close.
 */
MSGLOG_API int msglog_client_new(msglog_client **out, msglog *log, struct uv_loop_s *loop,
                      const msglog_client_options *opts);

/*
 * Starts connecting (CONNECTING). Allowed while OFFLINE, so a once-mode
 * client may be started again (its result and timeout start over). Calls no
 * callback: CONNECTING, and a failure of the attempt (resolving,
 * connecting), are reported to on_state from the loop, not by this return.
 *
 * @param[in] c  the client
 * @return MSGLOG_OK; MSGLOG_EINVAL when c is NULL, is closing, or is not
 *         OFFLINE (already started, and in once mode not finished yet).
 */
MSGLOG_API int msglog_client_start(msglog_client *c);

/*
 * The current state. Calls no callback.
 *
 * @param[in]  c    the client, not NULL
 * @param[out] out  filled in, not NULL; out->detail borrows from the client
 *                  (valid until the loop runs again)
 */
MSGLOG_API void msglog_client_state(const msglog_client *c, msglog_conn_info *out);

/*
 * The result of a once-mode run, after it went OFFLINE.
 *
 * @param[in] c  the client, or NULL
 * @return MSGLOG_OK when the store reached up to date with the relay;
 *         MSGLOG_EINVAL when c is NULL, in watch mode, or while it has not
 *         finished (not started, or still running); else the error that
 *         ended it: MSGLOG_ENET (the network, the relay ending the session,
 *         timeout_ms), MSGLOG_ENOMEM, or the code of a protocol or storage
 *         failure of the session (see "Errors" above).
 */
MSGLOG_API int msglog_client_result(const msglog_client *c);

/*
 * Disconnects and releases the client. Asynchronous: its libuv handles are
 * closed and the memory is freed once the loop has run their close
 * callbacks (run the loop before uv_loop_close()). It no longer uses the
 * msglog handle once this returns, so the handle may be closed right after.
 * on_state may be called one last time, with OFFLINE, from inside this
 * call: only when OFFLINE is news to it, and never when this call is made
 * from inside one of the client's own callbacks (see "Callbacks" above). No
 * other callback follows. The client must not be used once this returns.
 *
 * @param[in] c  the client, or NULL (nothing is done)
 */
MSGLOG_API void msglog_client_close(msglog_client *c);

typedef struct msglog_relay msglog_relay;

#define MSGLOG_RELAY_OPTIONS_VERSION 1

/* How much a line of a relay's log matters. */
typedef enum msglog_log_level {
    MSGLOG_LOG_ERROR = 1,   /* the relay failed at its work: disk full, a
                               store failure that ended a connection */
    MSGLOG_LOG_WARN = 2,    /* a peer was refused: a protocol error, a
                               limit hit (connections, a frame, no HELLO in
                               time, a peer that does not read) */
    MSGLOG_LOG_INFO = 3,    /* start, stop, a connection opened or closed
                               for an ordinary reason (EOF, reset,
                               replaced, an ERROR from the peer) */
    MSGLOG_LOG_DEBUG = 4    /* a connection's HELLO: its replica and user */
} msglog_log_level;

/* One line of a relay's log (docs/cli.md, "Relay log", lists them): `line`
 * is NUL-terminated, without a newline or timestamp, and borrowed for the
 * call. Called from the loop only (see "Callbacks" above). */
typedef void (*msglog_log_fn)(void *ctx, msglog_log_level level, const char *line);

/* The limits of a relay. Every resource a peer can make the relay hold has
 * one; 0 in a field picks its default. A connection closed for a limit gets
 * ERROR limit first (docs/protocol.md, section 8). The last fields are the
 * relay's log. */
typedef struct msglog_relay_options {
    unsigned version;            /* MSGLOG_RELAY_OPTIONS_VERSION */
    size_t max_conns;            /* connections served at a time, all
                                    peers together. When all are taken, a
                                    new one from an address that holds at
                                    least two fewer than the address
                                    holding the most takes the place of
                                    that address's most idle connection
                                    (closed with ERROR limit); otherwise
                                    it is refused (ERROR limit); 0: 10,000 */
    uint32_t hello_timeout_ms;   /* a connection that sent no HELLO this
                                    long after it was accepted is closed;
                                    0: 30,000 */
    uint64_t max_clock_ahead_ms; /* a batch holding an op whose clock
                                    reading (hlc) is further ahead of the
                                    relay's clock than this is refused with
                                    ERROR refused, nothing of it stored: one
                                    far-future op would make every later op
                                    of its conversation follow it;
                                    0: 600,000 (10 minutes) */
    uint32_t idle_timeout_ms;    /* after HELLO, a connection from which no
                                    byte arrived this long is closed; a
                                    client sends a keep-alive every
                                    msglog_client_options.keepalive_ms
                                    (default 15,000), so keep this several
                                    times longer; 0: 60,000 */
    size_t max_conns_per_addr;   /* connections from one address at a time
                                    (an IPv4 address, or an IPv6 /64): the
                                    newest beyond it is refused (ERROR
                                    limit) while the others are served, so
                                    one host cannot take the whole of
                                    max_conns; 0: 64 */
    uint64_t max_subs_per_device; /* conversations one device (replica) is
                                    subscribed to in the store. A device
                                    subscribes to a conversation the relay
                                    holds by listing it in its HELLO, to
                                    any by writing into it or acknowledging
                                    it; naming one the relay does not hold
                                    stores nothing. A HELLO listing more,
                                    or a batch or ACK that would subscribe
                                    past it, is refused (ERROR limit) and
                                    stores nothing; 0: 100,000, as many as
                                    one session carries, so that a device
                                    syncing every conversation of a large
                                    relay is not refused by it */
    uint64_t max_devices;        /* device records the store keeps (one per
                                    replica id that sent a HELLO, which
                                    proves nothing yet); a HELLO of a new
                                    replica past it is refused (ERROR
                                    limit), known devices still connect;
                                    0: 100,000 */
    size_t memory_budget;        /* bytes the relay holds for its peers,
                                    all connections together: batches being
                                    received, output not yet written (also
                                    what the kernel has not taken), WANT
                                    answers being sent. Each of n open
                                    connections has budget / n; over it, the
                                    relay stops reading from it and sending
                                    to it until its peer has read; a
                                    connection whose batch alone does not
                                    fit its share is closed with ERROR
                                    limit (docs/protocol.md 8). Give about
                                    1 MiB per connection at least; 0:
                                    1 GiB */
    msglog_log_fn on_log;        /* NULL: no log */
    msglog_log_level log_level;  /* lines of this level and more severe
                                    are made; less severe ones cost no
                                    formatting; 0: MSGLOG_LOG_INFO */
    void *log_ctx;               /* passed to on_log; must stay valid until
                                    the loop has run after
                                    msglog_relay_close() (the stop line) */
} msglog_relay_options;

#define MSGLOG_RELAY_OPTIONS_INIT \
    { MSGLOG_RELAY_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, NULL }

/*
 * A relay serving the store `log` on host:port (an address or a name,
 * resolved synchronously: a name may block the loop's thread; it binds to
 * the first address found; port 0 picks a free port, see
 * msglog_relay_port()). It is listening when this returns. `log` and `loop`
 * must outlive it. A failing connection only closes that connection. It
 * claims the store before listening (msglog_claim()): one relay or watching
 * client per store. What peers make the relay hold is bounded by
 * opts->memory_budget, and each connection gets one commit or answer per
 * loop iteration, so that no peer can starve the others (docs/protocol.md
 * 8).
 *
 * @param[out] out   the new relay, owned by the caller: release it with
 *                   msglog_relay_close(); must not be NULL
 * @param[in]  log   the handle; it must have no client or relay
 * @param[in]  loop  the libuv loop (a `uv_loop_t *`) it runs on
 * @param[in]  host  NUL-terminated, 1..255 bytes, borrowed for the call
 * @param[in]  port  the port; 0: any free one
 * @param[in]  opts  NULL for defaults; read during the call
 * @return MSGLOG_OK; MSGLOG_EINVAL when out, log, loop or host is NULL, host
 *         is empty or over 255 bytes, log_level is above MSGLOG_LOG_DEBUG,
 *         or the handle already has a client or relay; MSGLOG_EVERSION when opts->version is not
 *         MSGLOG_RELAY_OPTIONS_VERSION; MSGLOG_EBUSY when another process
 *         claimed the store (msglog_errmsg(): "the store in DIR is in use by
 *         process N"); MSGLOG_ENOMEM; MSGLOG_ENET (resolving, binding,
 *         listening).
 *         On error *out is NULL (when out is not) and msglog_errmsg(log)
 *         says why (when log is not NULL); after MSGLOG_ENET the libuv
 *         handles it made are being closed, so the loop must run (once)
 *         before uv_loop_close().
 */
MSGLOG_API int msglog_relay_new(msglog_relay **out, msglog *log, struct uv_loop_s *loop,
                     const char *host, uint16_t port, const msglog_relay_options *opts);

/*
 * The port the relay listens on.
 *
 * @param[in] r  the relay, or NULL
 * @return the port (the one picked when it was made with port 0); 0 when r
 *         is NULL. No error code is returned.
 */
MSGLOG_API uint16_t msglog_relay_port(const msglog_relay *r);

/* What a relay counts, for its operator (docs/cli.md, "STATS"). */
typedef struct msglog_relay_stats {
    uint64_t uptime_ms;          /* since msglog_relay_new() */
    uint64_t connections;        /* open now, with or without HELLO */
    uint64_t connections_total;  /* accepted since the start (refused ones
                                    included) */
    uint64_t conversations;      /* conversations the store holds */
    uint64_t bytes_in;           /* read from every connection, all time */
    uint64_t bytes_out;          /* handed to the sockets, all time */
    uint64_t commits;            /* write transactions of the store since
                                    the start, one per conversation each
                                    touched (a device's batch is one) */
    double commits_per_sec;      /* over the last 5 to 10 s (the hello
                                    timeout, when shorter, shortens it) */
    uint64_t unwritten_bytes;    /* handed to the sockets, not yet written */
    uint64_t memory_budget_used; /* what connections hold of the memory
                                    budget now (net/budget.h's count) */
    uint64_t memory_budget;      /* the budget (msglog_relay_options) */
} msglog_relay_stats;

/*
 * The relay's counters now. Reads the store (the conversation count: one
 * pass over its conversations, so call it when asked, not per event).
 *
 * @param[in]  r    the relay
 * @param[out] out  filled in; all zero on error
 * @return MSGLOG_OK; MSGLOG_EINVAL when r or out is NULL; MSGLOG_EIO,
 *         MSGLOG_ENOMEM from the store (msglog_errmsg() of the relay's
 *         handle says why).
 */
MSGLOG_API int msglog_relay_stats_get(const msglog_relay *r, msglog_relay_stats *out);

/*
 * Stops listening, closes every connection, and releases the relay,
 * asynchronously as msglog_client_close() (the handle may be closed right
 * after; run the loop before uv_loop_close()). Calls no callback: on_log's
 * stop line, which counts the connections this closed (they get no close
 * line each), comes from the loop once the relay's handles are closed.
 *
 * @param[in] r  the relay, or NULL (nothing is done)
 */
MSGLOG_API void msglog_relay_close(msglog_relay *r);

#ifdef __cplusplus
}
#endif
#endif /* MSGLOG_H */
