/* A streaming MessagePack reader over a byte buffer for the shapes msglog
 * stores (unsigned ints, str, bin, arrays, nil). It never allocates from a
 * declared size: every length is checked against the bytes left first, so
 * hostile input cannot make it reserve memory it does not hold. Used for the
 * stored state records, where building msgpack-c object trees would cost
 * more than the records themselves. Strings borrow from the buffer. */
#ifndef MSGLOG_CODEC_READER_H
#define MSGLOG_CODEC_READER_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/op.h"

typedef struct reader {
    const uint8_t *p;
    const uint8_t *end;
} reader;

static inline void reader_init(reader *r, const uint8_t *buf, size_t len)
{
    r->p = buf;
    r->end = buf + len;
}

int reader_uint(reader *r, uint64_t *out);
/* An array header; the count is at most the bytes left. */
int reader_array(reader *r, size_t *count);
int reader_str(reader *r, const uint8_t **p, size_t *len, size_t max);
int reader_bin(reader *r, const uint8_t **p, size_t *len, size_t max);
/* 1 (and consumed) when the next value is nil. */
int reader_nil(reader *r);
/* A flat [r1, s1, r2, s2, ...] array into a malloc'd id array (NULL when
 * empty), at most max_pairs pairs. */
int reader_ids(reader *r, op_id **out, size_t *n, size_t max_pairs);
/* CODEC_ECORRUPT when bytes are left over. */
int reader_end(const reader *r);

#endif
