/* The store side of the repair exchange (docs/protocol.md, section 5): range
 * fingerprints over the op versions a store holds, and one side's answer to
 * a REPAIR. Pure: no sockets, no write transactions. Internal to the
 * library; a session layer encodes what it returns.
 *
 * The set reconciled is every version held of a *delivered* id, keyed
 * (replica, seq, content hash): the record in TBL_OPS and each kept version
 * in TBL_EQUIVOCAL whose id the vector covers. Kept versions of an id still
 * pending are left out, as the digest leaves them out (engine/equivocal.c,
 * rebuild), so the fingerprints of [r, 1, vv[r]] over the vector add up to
 * the conversation's digest exactly.
 *
 * A content hash is digest_op_content() of the decoded op (the digest's
 * hash, body by its hash), written as digest_to_bytes() gives it: the same
 * 16 bytes that key TBL_EQUIVOCAL, so listings are sorted by those bytes.
 *
 * One exchange, as the in-memory driver of tests/sync/test_repair.c runs it:
 *
 *   initiator  repair_open()     -> REPAIR messages
 *   responder  repair_respond()  for each message received -> REPAIR ...
 *   ...        each side answers each non-empty REPAIR it receives, until
 *              a side's answer is empty; an empty REPAIR is never answered.
 *
 * Every answer also carries, from the listings received, the versions the
 * peer lacks (to send in a BATCH: every version of their ids) and the WANT
 * messages for the versions this side lacks. */
#ifndef MSGLOG_SYNC_REPAIR_H
#define MSGLOG_SYNC_REPAIR_H

#include "codec/session_codec.h"
#include "crdt/digest.h"
#include "engine/engine.h"

/* The count of versions held in a range and the sum mod 2^128 of their
 * content hashes. */
typedef struct repair_fp {
    uint64_t count;
    digest sum;
} repair_fp;

/* One version: its id and content hash (digest_to_bytes form). */
typedef struct repair_version {
    op_id id;
    uint8_t hash[OP_HASH_LEN];
} repair_version;

/*
 * What one side sends after a step. Every table is owned (free with
 * repair_reply_clear()); the `conv` of every message BORROWS the conversation
 * bytes the step was given (repair_open's argument, or the received REPAIR's
 * conv, which borrows the received buffer): keep them until encoded.
 */
typedef struct repair_reply {
    /* REPAIR messages to send, in order, each within SESSION_MAX_ITEMS (and
     * SESSION_MAX_LISTING per listing). One empty message when every item
     * received matched or was a listing: it tells the peer this answer has
     * no more ranges. None after an empty REPAIR, which is not answered,
     * and none from repair_open for a conversation with an empty vector. */
    codec_repair *msgs;
    size_t n_msgs;
    /* WANT messages for the ids of self_lacks, each within SESSION_MAX_WANT
     * ids, strictly ascending. */
    codec_want *wants;
    size_t n_wants;
    /* Versions held here that a received listing lacks: the peer gets every
     * version of these ids in a BATCH. Ascending by (replica, seq, hash). */
    repair_version *peer_lacks;
    size_t n_peer_lacks;
    /* Versions a received listing holds and this side does not. Ascending. */
    repair_version *self_lacks;
    size_t n_self_lacks;
} repair_reply;

/*
 * The fingerprint of the versions held in conversation `c` (as loaded by
 * conv_lookup in t) with ids (replica, lo..hi).
 * @return MSGLOG_OK; MSGLOG_EINVAL for a NULL argument, replica 0, lo 0 or
 *         lo > hi; MSGLOG_ECORRUPT for a stored record that does not decode;
 *         MSGLOG_ENOMEM; store errors.
 */
int repair_fingerprint(store_txn *t, const conv_state *c, uint64_t replica, uint64_t lo,
                       uint64_t hi, repair_fp *out);

/*
 * The initiator's first step (5.1): one fingerprint item [r, 1, vv[r]] per
 * replica of its vector, read in t.
 * @return MSGLOG_OK; MSGLOG_ENOTFOUND when the store does not hold `conv`;
 *         MSGLOG_EINVAL for a bad argument; errors of repair_fingerprint.
 *         On error *out is zeroed and owns nothing.
 */
int repair_open(repair_reply *out, store_txn *t, const uint8_t *conv, size_t conv_len);

/*
 * This side's answer to one received REPAIR (5.2, 5.3), read in t: for each
 * fingerprint item that differs from this side's count and sum, a listing of
 * the versions held here when there are at most SESSION_REPAIR_LEAF of them
 * or the range is a single seq, else fingerprints of its split into at most
 * SESSION_REPAIR_FANOUT ranges of equal width (widths differing by at most
 * one); for each listing, the versions each side lacks in its range.
 * @return MSGLOG_OK; MSGLOG_ENOTFOUND when the store does not hold in->conv;
 *         MSGLOG_EINVAL when `in` breaks the message's rules (a zero replica
 *         or lo, lo > hi, items not ascending and disjoint, a listing's
 *         versions outside its range or not strictly ascending, over the
 *         limits); MSGLOG_ELIMIT when one seq holds more than
 *         SESSION_MAX_LISTING versions here (no message can list them);
 *         errors of repair_fingerprint. On error *out is zeroed.
 */
int repair_respond(repair_reply *out, store_txn *t, const codec_repair *in);

/* Frees everything a reply owns and zeroes it. NULL-safe. */
void repair_reply_clear(repair_reply *r);

#endif
