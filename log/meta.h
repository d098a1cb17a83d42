/* The meta table (TBL_META): the store's format and identity, and the
 * pending buffer's totals. */
#ifndef MSGLOG_LOG_META_H
#define MSGLOG_LOG_META_H

#include <stddef.h>
#include <stdint.h>

#include "log/store.h"

/* A u64 (8 bytes, big-endian) under `name`: "format", "replica". */
int meta_get_u64(store_txn *t, const char *name, uint64_t *out);
int meta_put_u64(store_txn *t, const char *name, uint64_t x);
/* The store's format (meta "format"). Stores of format 1 and 2 hold it
 * unframed, as every record then (log/frame.h came with format 3): read
 * as it is, so that an old store is refused for its format, not taken for
 * a damaged one. MSGLOG_ENOTFOUND when the store has none. */
int meta_get_format(store_txn *t, uint64_t *format);
/* The store owner's user name (borrowed from t). */
int meta_get_user(store_txn *t, store_val *user);
int meta_put_user(store_txn *t, const uint8_t *user, size_t len);
/* The pending buffer's op count and bytes over all conversations; both 0
 * when never written. */
int meta_get_pending_totals(store_txn *t, uint64_t *ops, uint64_t *bytes);
int meta_put_pending_totals(store_txn *t, uint64_t ops, uint64_t bytes);

#endif
