/* The peers table (TBL_PEERS): what a store remembers of its sync peers,
 * three records (docs/format.md, "The peers table"):
 *
 *   relay side   a device's user, and the vector a device acknowledged for
 *                each conversation it is subscribed to;
 *   client side  the STATUS the relay last told this device about a
 *                conversation (its vectors merged by sync/peers.c).
 *
 * Only the records live here: keys, layouts, the prefix scan, what a stored
 * record must be to count as valid. What they mean for a session (who is
 * subscribed, how vectors merge, the STATUS a device gets) is sync/peers.c.
 * Every function returns MSGLOG_OK or an MSGLOG_E* code and leaves the
 * transaction's fate to its caller; conversation names longer than
 * MSGLOG_MAX_CONV are MSGLOG_EINVAL (their key would not fit). */
#ifndef MSGLOG_LOG_PEERS_TABLE_H
#define MSGLOG_LOG_PEERS_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "codec/session_codec.h"
#include "crdt/op.h"
#include "log/store.h"

/* Stored vectors are bounded like the ones a STATUS carries, so any of them
 * can be sent. */
#define PEER_MAX_VV SESSION_MAX_VV

/* ---- relay side: devices ------------------------------------------------ */

/* The user recorded for device `replica`, borrowed from t (valid until the
 * next write in t). MSGLOG_ENOTFOUND when the device was never recorded,
 * MSGLOG_ECORRUPT when the stored user is empty or over MSGLOG_MAX_USER. */
int peer_user_get(store_txn *t, uint64_t replica, store_val *user);

/* Records user[0..len) as the user of device `replica`, replacing any. The
 * caller checks the user (1..MSGLOG_MAX_USER bytes); store_put's codes. */
int peer_user_put(store_txn *t, uint64_t replica, const uint8_t *user, size_t len);

/* ---- relay side: counts, for the caps (msglog_relay_options) ----------- */

/* How many devices ("u" records) the store holds, and how many
 * subscriptions ("s" records) device `replica` has: 0 when no count is
 * recorded. MSGLOG_ECORRUPT for a count record that is not 8 bytes. The
 * writer of the records keeps the counts (sync/peers.c). */
int peer_device_count_get(store_txn *t, uint64_t *n);
int peer_device_count_put(store_txn *t, uint64_t n);
int peer_sub_count_get(store_txn *t, uint64_t replica, uint64_t *n);
int peer_sub_count_put(store_txn *t, uint64_t replica, uint64_t n);

/* ---- relay side: acknowledged vectors (one per subscription) ------------ */

/* The vector device `replica` acknowledged for conv, in a new malloc'd array
 * *vv of *n entries (caller frees; NULL when empty). MSGLOG_ENOTFOUND when
 * the device is not subscribed to conv, MSGLOG_ECORRUPT when the record is
 * not one valid vector of at most PEER_MAX_VV entries, MSGLOG_ENOMEM. On any
 * error *vv is NULL and *n 0. */
int peer_acked_get(store_txn *t, const uint8_t *conv, size_t conv_len, uint64_t replica,
                   op_id **vv, size_t *n);

/* Stores vv[0..n) as the vector device `replica` acknowledged for conv
 * (which subscribes it), replacing any. vv is only read. MSGLOG_EINVAL for
 * what is not a version vector, MSGLOG_ELIMIT over PEER_MAX_VV entries,
 * MSGLOG_ENOMEM, or store_put's codes. */
int peer_acked_put(store_txn *t, const uint8_t *conv, size_t conv_len, uint64_t replica,
                   const op_id *vv, size_t n);

/* One device subscribed to a conversation: its user and the vector it
 * acknowledged, both borrowed from the transaction for this call only. The
 * vector comes undecoded (peer_acked_decode reads it), so a caller that
 * skips the device does not pay for decoding it. A non-zero return stops
 * the walk. fn must not write in the transaction being walked. */
typedef int (*peer_subscriber_fn)(void *ctx, store_val user, store_val acked);

/* Calls fn for every device subscribed to conv, in ascending replica order:
 * one seek, then one step and one user lookup per subscribed device (the
 * devices of other conversations are never visited). Returns fn's first
 * non-zero return, MSGLOG_ECORRUPT for a malformed key in the range or a
 * subscribed device with no valid user (peer_user_get), or the cursor's
 * codes; MSGLOG_OK when the walk completes (also when nobody is
 * subscribed). */
int peer_subscribers_foreach(store_txn *t, const uint8_t *conv, size_t conv_len,
                             peer_subscriber_fn fn, void *ctx);

/* Decodes an acknowledged vector handed to a peer_subscriber_fn into a new
 * malloc'd array, as peer_acked_get does (same codes; *vv NULL and *n 0 on
 * error). */
int peer_acked_decode(store_val acked, op_id **vv, size_t *n);

/* ---- client side: the relay's STATUS ------------------------------------ */

/* The STATUS recorded for conv, decoded into *out: out->conv and the member
 * names borrow from t (valid until the next write in t), its vectors and its
 * member table are owned (codec_status_clear frees them). MSGLOG_ENOTFOUND
 * when none is recorded, MSGLOG_ECORRUPT when the record does not decode or
 * names another conversation than its key, MSGLOG_ENOMEM. *out is zeroed on
 * any error. */
int peer_relay_status_get(store_txn *t, const uint8_t *conv, size_t conv_len, codec_status *out);

/* Records st as the STATUS of st->conv (the conversation it names is the
 * one it is filed under), replacing any. st is only read. codec_status_encode's
 * codes (MSGLOG_EINVAL for what is not a valid STATUS, MSGLOG_ENOMEM) or
 * store_put's. */
int peer_relay_status_put(store_txn *t, const codec_status *st);

#endif
