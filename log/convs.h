/* Conversation records: TBL_CONVS (name -> cid) and TBL_CONV_STATE (cid ->
 * state), and the cid counter in TBL_META. */
#ifndef MSGLOG_LOG_CONVS_H
#define MSGLOG_LOG_CONVS_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/conv.h"
#include "log/store.h"

/* Calls fn for every conversation name in bytewise order, stopping at the
 * first non-zero return (which it returns). Names borrow from t. */
int conv_foreach(store_txn *t, int (*fn)(void *ctx, const uint8_t *name, size_t len), void *ctx);
/* Whether the store holds conversation `name`: MSGLOG_OK when it does,
 * MSGLOG_ENOTFOUND when not (one lookup, nothing decoded). */
int conv_exists(store_txn *t, const uint8_t *name, size_t len);
/* Looks up conversation `name` in any transaction: its cid and state.
 * MSGLOG_ENOTFOUND when the store does not know it. */
int conv_lookup(store_txn *t, const uint8_t *name, size_t len, conv_state *out);
/* Numbers a new conversation `name` (cids in creation order) and gives it
 * an empty state in *out. */
int conv_create(store_txn *t, const uint8_t *name, size_t len, conv_state *out);
/* Writes a conversation's state under its cid. */
int conv_state_put(store_txn *t, const conv_state *c);

#endif
