/* Op records (TBL_OPS) and message states (TBL_MSGS): the record layouts of
 * docs/format.md, their keys, and the decoding of stored bytes. */
#ifndef MSGLOG_LOG_RECORDS_H
#define MSGLOG_LOG_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/message.h"
#include "crdt/op.h"
#include "log/store.h"

/* ---- op records in TBL_OPS: kind(1) | hlc(8, BE) | op encoding ---------- */
#define OPREC_HEAD 9
int oprec_put(store_txn *t, uint32_t cid, const op *o, const uint8_t *enc, size_t len);
/* Writes a record of that shape under any key of any table. */
int oprec_write(store_txn *t, int tbl, store_val key, uint8_t kind, uint64_t hlc,
                const uint8_t *enc, size_t len);
/* Zeroes a stored op record in place before it is rewritten erased. */
int oprec_scrub(store_txn *t, uint32_t cid, op_id id);
/* Borrowed encoding (valid until the next write in t). */
int oprec_get(store_txn *t, uint32_t cid, op_id id, uint8_t *kind, uint64_t *hlc,
              const uint8_t **enc, size_t *len);
/* Splits a record value (any table holding that shape): MSGLOG_ECORRUPT
 * when it is shorter than its head. The encoding borrows from v. */
int oprec_parse(store_val v, uint8_t *kind, uint64_t *hlc, const uint8_t **enc, size_t *len);
/* Calls fn for every op record of conversation cid in key order (replica,
 * seq), stopping at the first non-zero return, which it returns. The
 * encoding is borrowed for the call only: fn must not write to t.
 * MSGLOG_ECORRUPT for a record shorter than its head. */
int oprec_foreach(store_txn *t, uint32_t cid,
                  int (*fn)(void *ctx, op_id id, uint8_t kind, uint64_t hlc,
                            const uint8_t *enc, size_t len),
                  void *ctx);

/* ---- message states in TBL_MSGS ---------------------------------------- */
/* Loads the message whose send is `id`: MSGLOG_ENOTFOUND when no delivered
 * send has that id. *hlc is its position in message order. */
int msgrec_load(store_txn *t, uint32_t cid, op_id id, uint64_t *hlc, msg_state *m);
int msgrec_store(store_txn *t, uint32_t cid, uint64_t hlc, op_id id, const msg_state *m);
/* Deletes the message state at (hlc, id), when there is one (a message
 * whose send is replaced by another version: engine/equiv_rebuild.c).
 * Returns MSGLOG_OK or the store's code. */
int msgrec_delete(store_txn *t, uint32_t cid, uint64_t hlc, op_id id);

/* Decodes op bytes the store holds: a failure is MSGLOG_ECORRUPT, except
 * running out of memory (MSGLOG_ENOMEM). */
int stored_op_decode(op *o, const uint8_t *enc, size_t len);

#endif
