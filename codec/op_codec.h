/* MessagePack encoding of ops and sync messages (see docs/format.md).
 * msgpack-c is included by codec/ only. */
#ifndef MSGLOG_CODEC_OP_H
#define MSGLOG_CODEC_OP_H

#include <stddef.h>
#include <stdint.h>

#include "codec/errors.h"
#include "crdt/op.h"

#define CODEC_FORMAT_VERSION 1

/*
 * Encodes `o` into a new malloc'd buffer (*out, *out_len), caller frees.
 * When `erase` is set, or o->erased is set, the body is written in erased
 * form (its hash instead of the text) - o->body_hash must then be filled.
 * Refuses what codec_op_decode would refuse: CODEC_EKIND, CODEC_ELIMIT,
 * CODEC_EINVAL; or CODEC_ENOMEM. On error *out is NULL and *out_len 0.
 */
int codec_op_encode(uint8_t **out, size_t *out_len, const op *o, int erase);

/*
 * Decodes exactly one op from buf[0..len). Strict: bounded before anything
 * is allocated, every type checked, no trailing bytes, limits enforced, and
 * only the canonical (smallest) form of each value accepted, so re-encoding
 * gives back buf byte for byte. Byte fields of *out borrow from buf;
 * deps/refs are malloc'd. On error *out is zeroed and owns nothing.
 */
int codec_op_decode(op *out, const uint8_t *buf, size_t len);

/* Frees what codec_op_decode allocated and zeroes *o. NULL-safe. */
void codec_op_clear(op *o);

/* Sync request: the receiver's version vector per conversation. */
typedef struct codec_vv_conv {
    const uint8_t *conv;     /* borrowed */
    size_t conv_len;
    op_id *vv;               /* (replica, highest seq delivered) */
    size_t n_vv;
} codec_vv_conv;

typedef struct codec_sync_request {
    int all_convs;           /* 1: the sender answers for every conversation */
    codec_vv_conv *convs;
    size_t n_convs;
} codec_sync_request;

int codec_sync_request_encode(uint8_t **out, size_t *out_len,
                              const codec_sync_request *req);
/* Bounded decoding; convs and their vv arrays are malloc'd, strings borrow
 * from buf. */
int codec_sync_request_decode(codec_sync_request *out, const uint8_t *buf,
                              size_t len);
void codec_sync_request_clear(codec_sync_request *req);

/* Sync response: a list of encoded ops (each an op encoding as above). */
typedef struct codec_bytes {
    const uint8_t *data;
    size_t len;
} codec_bytes;

int codec_sync_response_encode(uint8_t **out, size_t *out_len,
                               const codec_bytes *ops, size_t n_ops);
/* *ops is malloc'd (free it), entries borrow from buf. Each entry is only
 * framed here, not decoded. */
int codec_sync_response_decode(codec_bytes **ops, size_t *n_ops,
                               const uint8_t *buf, size_t len);

#endif
