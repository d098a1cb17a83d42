/* The sender side of a session's op stream (docs/protocol.md, 3.2 and 3.3):
 * the ops a peer lacks in one conversation, in stream order, cut into
 * batches by the peer's byte budget and the erasure rule. Pure: no sockets,
 * no write transactions. Internal to the library.
 *
 * A stream is a resumable cursor, not an iterator holding a transaction.
 * A session lives for minutes or hours while the peer acknowledges batches
 * within its window, and an LMDB reader pins every page of its snapshot for
 * as long as it lives: the pages writers free meanwhile cannot be reused and
 * the file grows. A long-lived snapshot would also miss the ops committed
 * during the session, which the stream must carry on with (3.5). So the
 * caller begins a read transaction per batch, hands it to stream_next(),
 * frames the batch and ends the transaction; between calls the stream holds
 * only its position:
 *
 *   - per origin R, the highest seq of TBL_OPS it has emitted (at first the
 *     peer's entry): the "sent vector" of 3.2, since an origin's ops are
 *     emitted in seq order;
 *   - per origin R, the next key of TBL_EQUIVOCAL to emit (seq | hash);
 *   - the erasure rule's memory (messages open or closed since the stream
 *     was last drained).
 *
 * Memory: the position is O(origins); a call adds one LMDB cursor per origin
 * and table and the batch's table of (pointer, length). The erasure memory
 * grows with the messages erased or deleted between two drains (a catch-up
 * from scratch keeps one entry per deleted message until it is drained);
 * docs/protocol.md's rule needs it, see stream.c. Nothing is proportional
 * to the whole missing set: the merge reads one head per origin. */
#ifndef MSGLOG_SYNC_STREAM_H
#define MSGLOG_SYNC_STREAM_H

#include "codec/op_codec.h"
#include "engine/engine.h"

typedef struct stream stream;

typedef struct stream_batch {
    /* Op encodings: the table belongs to the stream (valid until the next
     * stream_next or stream_close), each entry borrows from the read
     * transaction given to stream_next (valid until it ends). */
    codec_bytes *ops;
    size_t n;
    size_t bytes;   /* sum of the encodings' lengths */
    int drained;    /* the stream holds nothing more in this snapshot */
    int forced;     /* cut at max_batch while a message was open: the peer
                       may show it erased but not deleted until a later
                       batch (docs/protocol.md, end of 3.3) */
} stream_batch;

/*
 * Opens the stream of conversation `conv` (1..OP_MAX_CONV bytes, copied) to
 * a peer whose vector is `peer` (n_peer entries, replicas strictly
 * ascending, every value >= 1, as HELLO carries it; copied).
 * `budget` (>= 1): the op bytes a batch is filled up to (HELLO's budget);
 * an op larger than it goes alone. `max_batch` (>= budget): the most a batch
 * may reach when the erasure rule keeps it open (SESSION_MAX_BATCH in a
 * session).
 * @return MSGLOG_OK; MSGLOG_EINVAL for a bad argument; MSGLOG_ENOMEM.
 */
int stream_open(stream **out, const uint8_t *conv, size_t conv_len, const op_id *peer,
                size_t n_peer, size_t budget, size_t max_batch);

/*
 * The next batch, read in `t` (a read transaction the caller begins before
 * and ends after framing the batch). An empty batch with `drained` set means
 * the peer has everything; a later call, in a newer transaction, carries on
 * with what was committed meanwhile.
 * @return MSGLOG_OK; MSGLOG_ENOTFOUND when the store does not hold the
 *         conversation (the stream is unchanged); MSGLOG_ECORRUPT,
 *         MSGLOG_ENOMEM, store errors. After any error but ENOTFOUND the
 *         stream is unusable (its position may have moved past ops the
 *         failed batch did not return): close it and open a new one from
 *         the peer's acknowledged vector, as a reconnect does (3.4).
 */
int stream_next(stream *s, store_txn *t, stream_batch *out);

/*
 * The peer is known to hold the ops of vector `have` (its ACK, or ops it
 * sent us: a delivered set holds every earlier op of each origin): the
 * stream skips the TBL_OPS versions they cover instead of echoing them.
 * Kept versions (evidence) of those ids still go. Between two stream_next
 * calls only. @return MSGLOG_OK; MSGLOG_ENOMEM.
 */
int stream_peer_has(stream *s, const op_id *have, size_t n);

/*
 * Changes the budget later batches are filled up to (>= 1; at most the
 * max_batch given to stream_open). A relay fills batches only up to the room
 * the transport has left for the connection (docs/protocol.md 8, "Memory
 * budget"), which changes from batch to batch. Between two stream_next calls.
 */
void stream_set_budget(stream *s, size_t budget);

/* NULL-safe. */
void stream_close(stream *s);

#endif
