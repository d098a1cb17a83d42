/*
 * Session protocol messages and framing (docs/protocol.md), format version 1.
 *
 *   frame   4-byte big-endian payload length N (0..SESSION_MAX_FRAME), then
 *           N bytes: one message below (N = 0: a keep-alive)
 *   HELLO   [1, 16, replica, user, budget, window, all_convs, [[conv, vv, digest], ...]]
 *   BATCH   [1, 17, batch_no, conv, more, [op bin, ...]]
 *   ACK     [1, 18, batch_no, conv, result, vv, digest]
 *   WANT    [1, 19, conv, [replica, seq, ...]]
 *   REPAIR  [1, 20, conv, [item, ...]]
 *             item [replica, lo, hi, count, fp] or [replica, lo, hi, [seq, hash, ...]]
 *   STATUS  [1, 21, conv, relay_vv, delivered_vv, [user, ...]]
 *   ERROR   [1, 22, code, reason]
 *
 * Every decoder is bounded (codec/bounded.h: the whole message is walked
 * before anything is allocated), accepts only the canonical form, so an
 * accepted message re-encodes to the same bytes, and zeroes its output on
 * error. Ownership of decoded messages: strings (conv, user, members, reason)
 * and op bytes BORROW from the decoded buffer, which must outlive the
 * message; tables, version vectors, digests and hashes are OWNED (malloc'd or
 * copied) and freed by the message's clear function. Encoders write a new
 * malloc'd buffer (caller frees) and refuse what the decoder would refuse.
 *
 * Errors (codec/op_codec.h): CODEC_ELIMIT a message over SESSION_MAX_FRAME
 * (checked first) or a count/length over a limit below; CODEC_EVERSION a
 * version other than 1; CODEC_EKIND a type other than the decoder's (both
 * judged from the head alone, as for ops); CODEC_ECORRUPT anything else;
 * CODEC_ENOMEM. Encoders: CODEC_EINVAL for what is not a valid message.
 */
#ifndef MSGLOG_CODEC_SESSION_H
#define MSGLOG_CODEC_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "codec/op_codec.h"

/* Message types; distinct from the one-shot sync's 1 and 2. */
#define SESSION_HELLO 16
#define SESSION_BATCH 17
#define SESSION_ACK 18
#define SESSION_WANT 19
#define SESSION_REPAIR 20
#define SESSION_STATUS 21
#define SESSION_ERROR 22

/* Framing. A frame's payload is at most SESSION_MAX_FRAME bytes. */
#define SESSION_FRAME_HEADER 4
#define SESSION_MAX_FRAME (4u * 1024 * 1024)

/* Limits the decoders enforce (CODEC_ELIMIT past them). */
#define SESSION_MAX_CONVS 100000      /* conversations in a HELLO */
#define SESSION_MAX_VV 65536          /* entries of one version vector */
#define SESSION_MAX_WINDOW 64         /* HELLO window: batches in flight */
#define SESSION_MAX_BATCH_OPS 100000  /* ops in one BATCH frame */
#define SESSION_MAX_OP_BYTES (1024 * 1024)   /* one op in a BATCH */
/* The shortest op that can decode (docs/format.md): a send with a 1-byte
 * conversation and user, hlc 0, no deps, an empty body. A session refuses
 * a batch holding a shorter bin, so SESSION_MAX_BATCH also bounds the
 * number of ops a batch stages. */
#define SESSION_MIN_OP_BYTES 12
#define SESSION_MAX_WANT 100000       /* ids in a WANT */
#define SESSION_MAX_ITEMS 4096        /* items in a REPAIR */
#define SESSION_MAX_LISTING 4096      /* versions in one listing item */
#define SESSION_MAX_MEMBERS 10000     /* users in a STATUS */
#define SESSION_MAX_REASON 255        /* bytes of an ERROR reason */

/* Protocol constants no single message can check (docs/protocol.md). */
#define SESSION_MAX_BATCH (64u * 1024 * 1024)  /* op bytes of one batch */
#define SESSION_REPAIR_LEAF 16       /* list a range holding this few */
#define SESSION_REPAIR_FANOUT 16     /* else split it in this many */

/* ACK results. */
#define SESSION_ACK_OK 0
#define SESSION_ACK_EQUIVOCAL 1      /* committed; evidence kept */
#define SESSION_ACK_DROPPED 2        /* committed; pending buffer full */

/* ERROR codes (a receiver accepts any code >= 1). */
#define SESSION_ERR_VERSION 1
#define SESSION_ERR_TYPE 2
#define SESSION_ERR_CORRUPT 3
#define SESSION_ERR_LIMIT 4
#define SESSION_ERR_PROTOCOL 5
#define SESSION_ERR_INTERNAL 6
#define SESSION_ERR_REPLACED 7
#define SESSION_ERR_REFUSED 8   /* an op the relay does not accept (its clock) */

/* codec_session_frame() result: the buffer does not hold a whole frame. */
#define CODEC_FRAME_MORE 1

/*
 * Looks for one frame at the start of buf[0..len), a prefix of a byte
 * stream. Never allocates and reads only the 4 header bytes.
 *   CODEC_OK          a whole frame: *frame_len = 4 + payload length, the
 *                     payload at buf + 4 (payload length 0: a keep-alive);
 *   CODEC_FRAME_MORE  not yet: *frame_len = the total bytes needed so far
 *                     (4 before the header is complete, then 4 + N);
 *   CODEC_ELIMIT      the header declares more than SESSION_MAX_FRAME:
 *                     *frame_len = 0, the stream is unusable;
 *   CODEC_EINVAL      frame_len NULL, or buf NULL with len > 0.
 */
int codec_session_frame(const uint8_t *buf, size_t len, size_t *frame_len);

/* Writes the header of a frame of `payload_len` bytes. CODEC_ELIMIT over
 * SESSION_MAX_FRAME (out untouched). */
int codec_session_frame_header(uint8_t out[SESSION_FRAME_HEADER],
                               size_t payload_len);

/*
 * The type of the message in buf[0..len), from its head alone (no walk), so
 * a receiver can pick the decoder: CODEC_OK and *type in 16..22,
 * CODEC_EKIND for another type, CODEC_EVERSION, CODEC_ECORRUPT, or
 * CODEC_ELIMIT over SESSION_MAX_FRAME.
 */
int codec_session_type(const uint8_t *buf, size_t len, uint64_t *type);

/* ---- HELLO ------------------------------------------------------------ */

typedef struct codec_hello_conv {
    const uint8_t *conv;          /* borrowed */
    size_t conv_len;
    op_id *vv;                    /* owned; ascending replica */
    size_t n_vv;
    uint8_t digest[OP_HASH_LEN];
} codec_hello_conv;

typedef struct codec_hello {
    uint64_t replica;
    const uint8_t *user;          /* borrowed */
    size_t user_len;
    uint64_t budget;              /* 1..SESSION_MAX_FRAME */
    uint64_t window;              /* 1..SESSION_MAX_WINDOW */
    int all_convs;
    codec_hello_conv *convs;      /* owned; strictly ascending by bytes */
    size_t n_convs;
} codec_hello;

int codec_hello_encode(uint8_t **out, size_t *out_len, const codec_hello *m);
int codec_hello_decode(codec_hello *out, const uint8_t *buf, size_t len);
void codec_hello_clear(codec_hello *m);

/* ---- BATCH ------------------------------------------------------------ */

typedef struct codec_batch {
    uint64_t batch_no;            /* >= 1 */
    const uint8_t *conv;          /* borrowed */
    size_t conv_len;
    int more;                     /* 1: more frames of this batch follow */
    codec_bytes *ops;             /* owned table; entries borrowed */
    size_t n_ops;
} codec_batch;

int codec_batch_encode(uint8_t **out, size_t *out_len, const codec_batch *m);
int codec_batch_decode(codec_batch *out, const uint8_t *buf, size_t len);
void codec_batch_clear(codec_batch *m);

/* ---- ACK -------------------------------------------------------------- */

typedef struct codec_ack {
    uint64_t batch_no;            /* >= 1 */
    const uint8_t *conv;          /* borrowed */
    size_t conv_len;
    uint64_t result;              /* SESSION_ACK_* */
    op_id *vv;                    /* owned */
    size_t n_vv;
    uint8_t digest[OP_HASH_LEN];
} codec_ack;

int codec_ack_encode(uint8_t **out, size_t *out_len, const codec_ack *m);
int codec_ack_decode(codec_ack *out, const uint8_t *buf, size_t len);
void codec_ack_clear(codec_ack *m);

/* ---- WANT ------------------------------------------------------------- */

typedef struct codec_want {
    const uint8_t *conv;          /* borrowed */
    size_t conv_len;
    op_id *ids;                   /* owned; strictly ascending, at least 1 */
    size_t n_ids;
} codec_want;

int codec_want_encode(uint8_t **out, size_t *out_len, const codec_want *m);
int codec_want_decode(codec_want *out, const uint8_t *buf, size_t len);
void codec_want_clear(codec_want *m);

/* ---- REPAIR ----------------------------------------------------------- */

typedef struct codec_version {
    uint64_t seq;
    uint8_t hash[OP_HASH_LEN];
} codec_version;

typedef struct codec_repair_item {
    uint64_t replica;
    uint64_t lo, hi;              /* 1 <= lo <= hi */
    int listing;                  /* 0: count and fp; 1: versions */
    uint64_t count;
    uint8_t fp[OP_HASH_LEN];
    codec_version *versions;      /* owned; ascending (seq, hash) */
    size_t n_versions;
} codec_repair_item;

typedef struct codec_repair {
    const uint8_t *conv;          /* borrowed */
    size_t conv_len;
    codec_repair_item *items;     /* owned; ascending, disjoint */
    size_t n_items;
} codec_repair;

int codec_repair_encode(uint8_t **out, size_t *out_len, const codec_repair *m);
int codec_repair_decode(codec_repair *out, const uint8_t *buf, size_t len);
void codec_repair_clear(codec_repair *m);

/* ---- STATUS ----------------------------------------------------------- */

typedef struct codec_status {
    const uint8_t *conv;          /* borrowed */
    size_t conv_len;
    op_id *relay_vv;              /* owned */
    size_t n_relay_vv;
    op_id *delivered_vv;          /* owned */
    size_t n_delivered_vv;
    codec_bytes *members;         /* owned table; entries borrowed */
    size_t n_members;
} codec_status;

int codec_status_encode(uint8_t **out, size_t *out_len, const codec_status *m);
int codec_status_decode(codec_status *out, const uint8_t *buf, size_t len);
void codec_status_clear(codec_status *m);

/* ---- ERROR ------------------------------------------------------------ */

typedef struct codec_error {
    uint64_t code;                /* >= 1, SESSION_ERR_* */
    const uint8_t *reason;        /* borrowed; may be empty */
    size_t reason_len;
} codec_error;

int codec_error_encode(uint8_t **out, size_t *out_len, const codec_error *m);
int codec_error_decode(codec_error *out, const uint8_t *buf, size_t len);
/* Nothing is owned; zeroes *m (for symmetry). */
void codec_error_clear(codec_error *m);

#endif
