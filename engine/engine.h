/* The delivery engine's private header, shared by the layers above it (api/,
 * sync/): the handle, its error plumbing, and the write context (one LMDB
 * write transaction plus the conversation states it has loaded, written back
 * once at commit) with what runs inside it: delivery, the pending buffer,
 * equivocation. net/ does not include it (it has sync/session.h). */
#ifndef MSGLOG_ENGINE_ENGINE_H
#define MSGLOG_ENGINE_ENGINE_H

#include "msglog.h"

#include "crdt/conv.h"
#include "crdt/message.h"
#include "crdt/op.h"
#include "log/convs.h"
#include "log/records.h"
#include "log/store.h"

/* Replica ids are below 2^53: exact as a JSON number (the replay output). */
#define REPLICA_ID_LIMIT ((uint64_t)1 << 53)

#if defined(__GNUC__)
#define ML_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ML_PRINTF(a, b)
#endif

/* Called after a write transaction committed, once per conversation it
 * touched. It must not call into the handle (the call that committed has
 * not returned yet): it notes the conversation and schedules work. */
typedef void (*ml_commit_fn)(void *ctx, const uint8_t *conv, size_t conv_len);

struct msglog {
    store *st;
    uint64_t replica;
    uint8_t user[MSGLOG_MAX_USER + 1];   /* NUL-terminated as well */
    size_t user_len;
    msglog_clock_fn clock;
    void *clock_ctx;
    size_t map_size;         /* the map's first size (msglog_options) */
    size_t max_map_size;
    uint64_t max_pending_ops;
    uint64_t max_pending_bytes;
    int no_page_check;       /* msglog_options.no_page_check */
    char err[512];
    ml_commit_fn on_commit;     /* NULL: none (sync/session.h's watchers) */
    void *on_commit_ctx;
    int claim_fd;               /* msglog_claim()'s file (log/claim.h); -1: none */
};

/* The text of an MSGLOG_E* code (msglog_strerror's). */
const char *ml_strerror(int err);
/* Records the message for `rc` on the handle and returns rc. For
 * MSGLOG_ECORRUPT after a read found a damaged record, the message is the
 * record's name instead (store_damage: "ops record 3.17 of conversation
 * team is damaged (checksum)"). */
int ml_fail(msglog *log, int rc, const char *fmt, ...) ML_PRINTF(3, 4);
/* Doubles the LMDB map, up to the configured maximum, after a write failed
 * with MSGLOG_EFULL (no transaction may be open). MSGLOG_OK when the caller
 * should retry, MSGLOG_EFULL when the maximum is reached. */
int ml_grow_map(msglog *log);
/* Clears the last error; returns MSGLOG_OK. */
int ml_ok(msglog *log);
/* Runs attempt(log, ctx), a whole write transaction, with the last error
 * cleared; when it fails with MSGLOG_EFULL for a full map, the map is grown
 * (ml_grow_map) and it runs again, until it succeeds, fails otherwise, or
 * the map is at its maximum. A full disk is not retried: its message says
 * "disk full". Returns the last attempt's code (or ml_grow_map's). */
int ml_retry_grown(msglog *log, int (*attempt)(msglog *log, void *ctx), void *ctx);
/* Sets (fn NULL: clears) the one commit hook of the handle. */
void ml_set_commit_hook(msglog *log, ml_commit_fn fn, void *ctx);

/* One conversation loaded in a write context, with what the transaction
 * did to it that the equivocation rule settles at commit (equivocal.c). */
typedef struct conv_slot {
    uint8_t name[MSGLOG_MAX_CONV];
    size_t name_len;
    conv_state st;
    int evidence;     /* holds evidence: 1 yes, 0 no, -1 not looked up yet */
    ids versions;     /* ids whose versions changed, or delivered with kept versions
                         (pushed, repeats allowed: ids_sort_unique at commit) */
    int deleted;      /* a delete took effect while the conversation holds evidence */
} conv_slot;

typedef struct wctx {
    msglog *log;
    store_txn *txn;
    conv_slot **convs;
    size_t n_convs, convs_cap;
    /* The pending buffer's size over all conversations (for its cap),
     * loaded on first use and written back at commit. */
    int totals_loaded;
    uint64_t pending_ops;
    uint64_t pending_bytes;
    /* Single ops refused in this transaction (see msglog_receive_batch). */
    size_t dropped;
    size_t equivocal;
} wctx;

int wctx_begin(msglog *log, wctx *w);
/* Writes the loaded conversation states and commits; frees the context. */
int wctx_commit(wctx *w);
/* What every engine write ends with: settles the equivocations of every
 * conversation w touched (equiv_settle), then wctx_commit. */
int engine_commit(wctx *w);
void wctx_abort(wctx *w);
/* The state of conversation `name`, loaded once per context. With `create`,
 * a conversation the store does not know is made; without, that is
 * MSGLOG_ENOTFOUND. */
int wctx_conv(wctx *w, const uint8_t *name, size_t len, int create, conv_state **out);
/* The slot holding c (a state wctx_conv returned), or NULL. */
conv_slot *wctx_slot(wctx *w, const conv_state *c);

/* Loads the pending buffer's totals into w (once per transaction). */
int wctx_pending_totals(wctx *w);
/* Adjusts them (signed deltas). */
void wctx_pending_note(wctx *w, int64_t ops, int64_t bytes);

/* ---- delivery (apply.c) and the pending buffer (pending.c) -------------- */
/* Delivers a ready op: merge rules, op record, vector, digest. `enc` is the
 * op's encoding as received. */
int apply_deliver(wctx *w, conv_state *c, op *o, const uint8_t *enc, size_t len);
/* The merge rules of one op on the stored states (messages, read markers),
 * without its own record, vector or digest: delivery, the kept deletes and
 * the rebuild of a message (equivocal.c, equiv_rebuild.c) share it.
 * *erase_op tells whether the op must be stored without its text (an edit
 * of a deleted message). */
int apply_effect(wctx *w, conv_state *c, op *o, int *erase_op);
/* Takes one received op: ignores it when already delivered or pending,
 * delivers it (and whatever that makes ready) or keeps it pending. */
int receive_one(wctx *w, op *o, const uint8_t *enc, size_t len);
/* Delivers a ready op and whatever it makes ready in the pending buffer. */
int deliver_and_wake(wctx *w, conv_state *c, op *o, const uint8_t *enc, size_t len);
int pending_has(wctx *w, const conv_state *c, op_id id);
/* The bytes of pending op `id` (borrowed). MSGLOG_ENOTFOUND when absent. */
int pending_get(store_txn *t, uint32_t cid, op_id id, store_val *v);
int pending_add(wctx *w, conv_state *c, op_id wait, const op *o, const uint8_t *enc, size_t len);
/* pending_add, with the text of an edit erased first when its target is
 * already deleted here (a delete erases everything of its message). */
int pending_park(wctx *w, conv_state *c, op_id wait, op *o, const uint8_t *enc, size_t len);
/* Takes pending op `id` out of the buffer and keeps it as evidence. */
int pending_demote(wctx *w, conv_state *c, op_id id);
/* Delivers every pending op that the delivery of `id` made ready. */
int pending_wake(wctx *w, conv_state *c, op_id id);
/* Rewrites pending edits of `target` in erased form. */
int pending_erase_edits(wctx *w, conv_state *c, op_id target);

/* Rewrites the stored record of `o` (which must not borrow it) erased, the
 * old one zeroed in place first. */
int apply_store_erased(wctx *w, uint32_t cid, op *o);

/* ---- erasing text (erase.c) --------------------------------------------- */
/* Puts o in erased form (op_erase) and encodes it: *enc is malloc'd. */
int erase_encode(op *o, uint8_t **enc, size_t *len);
/* The erased encoding of stored op bytes in *out (malloc'd), or NULL when
 * they hold no text (erased already, or a kind without a body). *head gets
 * the op's kind, hlc, id and target: enc may be zeroed once this returns. */
int erase_stored_bytes(const uint8_t *enc, size_t len, uint8_t **out, size_t *out_len, op *head);

/* ---- equivocation (equivocal.c, equiv_rebuild.c) ------------------------ */
/* Keeps `o`, a version of an id held with other content, as evidence;
 * *is_new is 0 when this version was already kept. h is o's hash, added to
 * the digest when the id is delivered. */
int equiv_keep(wctx *w, conv_state *c, const op *o, digest h, const uint8_t *enc, size_t len,
               int *is_new);
/* Removes version h of `id` from the evidence when it is kept there (it is
 * about to be delivered); *was_kept tells whether it was. */
int equiv_take(wctx *w, conv_state *c, op_id id, digest h, int *was_kept);
/* Whether the conversation holds evidence. */
int equiv_held(store_txn *t, uint32_t cid, int *held);
/* After `id` was delivered from the pending buffer or by rule 6: the
 * versions kept of it while it waited enter the digest, and the commit
 * settles which counts. */
int equiv_note_delivered(wctx *w, conv_state *c, op_id id);
/* After a delete took effect: the commit erases the kept versions of
 * deleted messages. */
int equiv_note_deleted(wctx *w, conv_state *c);
/* Settles what the transaction did to the versions held in s's
 * conversation (called for every conversation a write transaction touched,
 * before its commit): delivers ready versions of pending ids, makes the
 * lowest hash count, rebuilds what that changed, erases kept texts of
 * deleted messages. Costs nothing when the transaction kept no version,
 * delivered no id with kept versions, deleted nothing and has no pending
 * op. */
int equiv_settle(wctx *w, conv_slot *s);
/* Rebuilds the message states of `msgs` (sorted, no repeats:
 * ids_sort_unique) from their ops (records and kept deletes) and, with
 * `markers`, every read marker from every read; the vector, digest and
 * message count stay (equiv_rebuild.c). */
int equiv_rebuild(wctx *w, conv_state *c, const ids *msgs, int markers);

/* Maps a codec error to a handle error with a message. */
int ml_codec_fail(msglog *log, int rc, const char *what);

#endif
