/* What a store remembers about its sync peers (docs/protocol.md, sections 6
 * and 7), in the store's peers table (log/peers_table.h), each write
 * in its own committed write transaction (a full map is grown and the write
 * retried). Errors are MSGLOG_E* codes with the handle's message set; a
 * stored record that does not decode is MSGLOG_ECORRUPT. Internal to the
 * library; sync/session.c calls it.
 *
 * Relay side, per device (replica id): its user, and for each conversation
 * it is subscribed to, the version vector it acknowledged. From those, the
 * STATUS a device of user U gets for conversation C.
 *
 * Client side, per conversation: what the relay has committed (from ACKs and
 * STATUS) and what every other member's devices acknowledged (STATUS), kept
 * as the entry-wise maximum of everything received, so a status never goes
 * back; and the members of the last STATUS. msglog_delivery_status() (the
 * public API) reads them. */
#ifndef MSGLOG_SYNC_PEERS_H
#define MSGLOG_SYNC_PEERS_H

#include "engine/engine.h"

/* What a STATUS carries (all owned; free with peers_status_clear). */
typedef struct peers_status {
    op_id *relay_vv;          /* ascending replica */
    size_t n_relay_vv;
    op_id *delivered_vv;      /* ascending replica */
    size_t n_delivered_vv;
    msglog_str *members;      /* strictly ascending bytewise; each data
                                 malloc'd and NUL-terminated */
    size_t n_members;
    size_t members_cap;       /* allocated entries (grow_array) */
} peers_status;

void peers_status_clear(peers_status *st);
/* 1 when both carry the same vectors and members. */
int peers_status_equal(const peers_status *a, const peers_status *b);

/* ---- relay side ------------------------------------------------------- */

/* What devices may make a relay store (msglog_relay_options): a write that
 * would go past a cap is refused whole with MSGLOG_ELIMIT. 0 in a field, or
 * a NULL pointer for the whole, is no cap. The counts are kept whatever
 * the caps. */
typedef struct peers_limits {
    uint64_t max_subs;        /* subscriptions stored per device */
    uint64_t max_devices;     /* device records in the store */
} peers_limits;

/* Records device `replica` of `user` (the user of a replica never changes:
 * MSGLOG_EMISMATCH when it was recorded with another); a new device past
 * lim->max_devices is MSGLOG_ELIMIT. */
int peers_device_seen(msglog *log, const peers_limits *lim, uint64_t replica,
                      const uint8_t *user, size_t user_len);

/* One conversation of a HELLO: its name and the device's vector. */
typedef struct peers_conv_vv {
    const uint8_t *conv;
    size_t conv_len;
    const op_id *vv;
    size_t n_vv;
} peers_conv_vv;

/* A device's HELLO, in one write transaction: peers_device_seen, then
 * peers_device_acked for each conversation it lists that this store holds
 * (which subscribes it). A conversation the store does not hold costs
 * nothing: naming one proves nothing, and the device subscribes to it when
 * it writes into it or acknowledges it. Past a cap (or on any error)
 * nothing is written. */
int peers_device_hello(msglog *log, const peers_limits *lim, uint64_t replica,
                       const uint8_t *user, size_t user_len, const peers_conv_vv *convs,
                       size_t n_convs);

/* Subscribes the device to conv (its acknowledged vector starts empty);
 * nothing when already subscribed. The device must have been seen
 * (MSGLOG_ENOTFOUND otherwise); a new subscription past lim->max_subs is
 * MSGLOG_ELIMIT. */
int peers_subscribe(msglog *log, const peers_limits *lim, uint64_t replica, const uint8_t *conv,
                    size_t conv_len);

/* Whether peers_subscribe would be refused for the cap, read only:
 * MSGLOG_OK when the device is subscribed to conv or below lim->max_subs,
 * MSGLOG_ELIMIT when not (so a batch can be refused before it commits). */
int peers_may_subscribe(msglog *log, const peers_limits *lim, uint64_t replica,
                        const uint8_t *conv, size_t conv_len);

/* The device acknowledged vv for conv: its acknowledged vector becomes the
 * entry-wise maximum of the stored one and vv (subscribing it if needed, as
 * peers_subscribe; the device must have been seen). vv ascending, ids >= 1
 * (MSGLOG_EINVAL). */
int peers_device_acked(msglog *log, const peers_limits *lim, uint64_t replica,
                       const uint8_t *conv, size_t conv_len, const op_id *vv, size_t n_vv);

/* The STATUS for a device of `user` about conv: relay_vv the store's own
 * vector of conv (empty when it does not hold it), members the users other
 * than `user` with a device subscribed to conv, delivered_vv the entry-wise
 * minimum of the acknowledged vectors of all those devices (an entry missing
 * from one vector counts as 0 and is left out; empty when there are no
 * members). */
int peers_status_for(msglog *log, const uint8_t *conv, size_t conv_len, const uint8_t *user,
                     size_t user_len, peers_status *out);

/* ---- client side ------------------------------------------------------ */

/* The relay acknowledged vv for conv (an ACK of this device's batch). */
int peers_relay_acked(msglog *log, const uint8_t *conv, size_t conv_len, const op_id *vv,
                      size_t n_vv);

/* A STATUS arrived: vectors merged by entry-wise maximum, members replaced.
 * st must be what a STATUS may carry (MSGLOG_EINVAL otherwise). */
int peers_status_store(msglog *log, const uint8_t *conv, size_t conv_len,
                       const peers_status *st);

#endif
