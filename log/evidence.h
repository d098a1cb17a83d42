/* Evidence of equivocation (TBL_EQUIVOCAL, docs/format.md): the versions of
 * an op id held with other content than the one in TBL_OPS, each keyed by
 * its id and content hash and stored like an op record (kind, hlc, op
 * encoding). Keys sort by (cid, replica, seq, hash), so a conversation's
 * evidence, an origin's seq range and the versions of one id are each one
 * run of keys, the versions of an id in hash order. Which version counts is
 * crdt/equivocation.h's rule, applied in engine/equivocal.c. */
#ifndef MSGLOG_LOG_EVIDENCE_H
#define MSGLOG_LOG_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/digest.h"
#include "crdt/op.h"
#include "log/store.h"

/* One kept version. From evidence_foreach, enc borrows from the store
 * (valid until the next write in the transaction); a caller that keeps the
 * entry longer points enc at its own copy. */
typedef struct evidence_rec {
    op_id id;
    uint8_t hash[OP_HASH_LEN];   /* content hash, as the key holds it */
    uint8_t kind;
    uint64_t hlc;
    const uint8_t *enc;          /* the op encoding */
    size_t len;
} evidence_rec;

/* Keeps version o (content hash h, encoding enc) unless that version is
 * kept already; *is_new tells which. Returns MSGLOG_OK or the store's code. */
int evidence_keep(store_txn *t, uint32_t cid, const op *o, digest h, const uint8_t *enc,
                  size_t len, int *is_new);
/* Removes version h of `id` when it is kept, zeroed before it is deleted
 * (it may hold text); *was_kept tells whether it was. MSGLOG_OK when it was
 * not kept. */
int evidence_take(store_txn *t, uint32_t cid, op_id id, digest h, int *was_kept);
/* *held: whether conversation cid keeps any version (one cursor seek).
 * Returns MSGLOG_OK or the store's code. */
int evidence_held(store_txn *t, uint32_t cid, int *held);
/* *held: whether any other version of `id` is kept (one cursor seek).
 * Returns MSGLOG_OK or the store's code. */
int evidence_held_for(store_txn *t, uint32_t cid, op_id id, int *held);
/* Calls fn for every kept version of conversation cid in key order (by id,
 * then hash), stopping at the first non-zero return, which it returns.
 * The entry and its encoding are borrowed for the call only: fn must not
 * write to t. MSGLOG_ECORRUPT for a record shorter than its head. */
int evidence_foreach(store_txn *t, uint32_t cid, int (*fn)(void *ctx, const evidence_rec *e),
                     void *ctx);
/* Swaps kept version e with the record of its id in TBL_OPS: e becomes the
 * record, and the record it replaces (content hash ops_hash) is kept under
 * that hash. Both old places are zeroed before they are deleted or
 * replaced. MSGLOG_ECORRUPT when the id has no record. e's bytes must not
 * borrow from t. */
int evidence_swap_in(store_txn *t, uint32_t cid, const evidence_rec *e,
                     const uint8_t ops_hash[OP_HASH_LEN]);
/* Replaces kept version e with other bytes of the same op (its erased
 * form), the old ones zeroed first; kind and hlc stay e's. enc must not
 * borrow from t. */
int evidence_rewrite(store_txn *t, uint32_t cid, const evidence_rec *e, const uint8_t *enc,
                     size_t len);

#endif
