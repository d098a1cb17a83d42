/* A version vector on its own, as a stored record (sync/peers.c keeps the
 * vector each device acknowledged): the flat MessagePack array
 * [replica, seq, replica, seq, ...] that session messages carry, replicas
 * strictly ascending, every value >= 1, each in its smallest form. */
#ifndef MSGLOG_CODEC_VV_H
#define MSGLOG_CODEC_VV_H

#include <stddef.h>
#include <stdint.h>

#include "codec/op_codec.h"

/* 1 when v[0..n) is a version vector: replicas strictly ascending, every
 * replica and seq >= 1 (v may be NULL only when n is 0); 0 otherwise. The
 * one check of that shape for the codecs and the layers above. */
int codec_vv_valid(const op_id *v, size_t n);

/* Encodes v[0..n) into a new malloc'd buffer (caller frees). CODEC_EINVAL
 * for a zero value or replicas not strictly ascending, CODEC_ELIMIT over
 * max_entries, CODEC_ENOMEM. */
int codec_vv_encode(uint8_t **out, size_t *out_len, const op_id *v, size_t n,
                    size_t max_entries);

/* Decodes exactly one vector from buf[0..len): bounded before it allocates,
 * canonical only, no trailing bytes. *v is malloc'd (NULL when empty).
 * CODEC_ELIMIT over max_entries, CODEC_ECORRUPT, CODEC_ENOMEM; on error *v
 * is NULL and *n 0. */
int codec_vv_decode(op_id **v, size_t *n, const uint8_t *buf, size_t len, size_t max_entries);

#endif
