/* The pending buffer's records: received ops waiting on one missing op id.
 *
 * Three tables, all keyed big-endian so a prefix is a contiguous range:
 *   TBL_PENDING       cid|wait|id   -> op encoding
 *   TBL_PENDING_IDS   cid|id        -> wait
 *   TBL_PENDING_EDITS cid|target|id -> wait   (edits only)
 * An op is keyed by what it waits on, so delivering X looks only under
 * cid|X: waking costs O(ops waiting on X), never a scan of the buffer. The
 * id index answers "is this op pending?" and names its wait; the edit index
 * finds the pending edits of a message when it is deleted, in O(its pending
 * edits). When to park, wake or erase is the engine's (engine/pending.c). */
#ifndef MSGLOG_LOG_PENDING_H
#define MSGLOG_LOG_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/op.h"
#include "log/store.h"

/* ---- lookups ------------------------------------------------------------ */
/* MSGLOG_OK when op `id` is pending in conversation cid, MSGLOG_ENOTFOUND
 * when not, or the store's error. */
int pendrec_has(store_txn *t, uint32_t cid, op_id id);
/* What pending op `id` waits on, from the id index. MSGLOG_ENOTFOUND when
 * it is not pending, MSGLOG_ECORRUPT when the entry is malformed. */
int pendrec_wait(store_txn *t, uint32_t cid, op_id id, op_id *wait);
/* The bytes of pending op `id` parked under `wait` (borrowed from t, valid
 * until its next write). MSGLOG_ENOTFOUND when absent. */
int pendrec_get_at(store_txn *t, uint32_t cid, op_id wait, op_id id, const uint8_t **enc,
                   size_t *len);
/* pendrec_wait then pendrec_get_at: the bytes of pending op `id`, borrowed. */
int pendrec_get(store_txn *t, uint32_t cid, op_id id, const uint8_t **enc, size_t *len);

/* ---- writes ------------------------------------------------------------- */
/* Parks op `o` (bytes enc, copied into the store) under `wait`: the entry,
 * its id index entry and, for an edit, its edit index entry, in that order. */
int pendrec_put(store_txn *t, uint32_t cid, op_id wait, const op *o, const uint8_t *enc,
                size_t len);
/* Removes the id index and edit index entries of `o`, whose entry is gone
 * from TBL_PENDING already. A missing index entry is MSGLOG_ECORRUPT:
 * every entry is indexed. */
int pendrec_unindex(store_txn *t, uint32_t cid, const op *o);
/* Removes pending op `id` parked under `wait`: its bytes zeroed in place
 * and deleted (they may hold text), its id index entry and, when `o` (its
 * decoded form, read by value only) is an edit, its edit index entry. A
 * missing entry is MSGLOG_ECORRUPT. */
int pendrec_remove(store_txn *t, uint32_t cid, op_id wait, op_id id, const op *o);
/* Replaces the bytes of pending op `id` parked under `wait` with enc
 * (copied), the old bytes zeroed in place first (log/store.h says why). */
int pendrec_rewrite(store_txn *t, uint32_t cid, op_id wait, op_id id, const uint8_t *enc,
                    size_t len);

/* ---- scans -------------------------------------------------------------- */
/* Takes every op waiting on `wait` out of TBL_PENDING, in key order: fn
 * sees each one's bytes (borrowed, only during the call: they are zeroed
 * and deleted right after), and a non-zero return stops the scan and is
 * returned. The indexes are left to pendrec_unindex, once fn has decoded
 * the ids. MSGLOG_OK when the scan ran to its end. */
int pendrec_take_waiting(store_txn *t, uint32_t cid, op_id wait,
                         int (*fn)(void *ctx, const uint8_t *enc, size_t len), void *ctx);
/* Calls fn with the wait and id of every pending edit of message `target`,
 * in id order, stopping at the first non-zero return (which it returns,
 * except MSGLOG_ENOTFOUND, which ends the scan as MSGLOG_OK). fn may write
 * TBL_PENDING (pendrec_rewrite): the scan walks another table. */
int pendrec_foreach_edit(store_txn *t, uint32_t cid, op_id target,
                         int (*fn)(void *ctx, op_id wait, op_id id), void *ctx);

#endif
