/*
 * Bounded MessagePack reading, used by every decoder in codec/.
 *
 * msgpack-c's C unpacker allocates from declared sizes before the bytes
 * exist (`dd ff ff ff ff` asks for ~100 GB), so codec/ never hands it
 * received bytes. Instead:
 *
 *   1. codec_frame_head() reads the first bytes of a frame [version, type,
 *      ...] so an unknown version or kind is reported as such, whatever the
 *      rest looks like;
 *   2. codec_bounded_span() walks exactly one object without allocating,
 *      checking every declared size against the bytes that are really there
 *      and capping the nesting depth;
 *   3. the codec_rd_* reader then takes the fields one by one. It accepts
 *      only the smallest (canonical) encoding of each value - the one
 *      msgpack-c's packer writes - so an accepted byte string is the unique
 *      encoding of what it holds and re-encodes byte-identically.
 *
 * Strings and bins are returned as pointers into the input (zero-copy).
 * Every function returns CODEC_OK or CODEC_ECORRUPT unless said otherwise.
 */
#ifndef MSGLOG_CODEC_BOUNDED_H
#define MSGLOG_CODEC_BOUNDED_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/op.h"

/* Containers nested deeper than this are refused. The deepest valid frame
 * (a sync request) nests 3 levels. */
#define CODEC_MAX_DEPTH 8

/*
 * Walks the single msgpack object at buf[0..len) and sets *span to the number
 * of bytes it takes. Checks, before trusting any declared size: every array
 * or map count (maps count twice) fits in the bytes left, counting the
 * elements still owed by enclosing containers, each at least one byte;
 * str/bin/ext lengths fit in the bytes left; nesting <= CODEC_MAX_DEPTH;
 * no reserved type byte (0xc1). Never allocates.
 */
int codec_bounded_span(const uint8_t *buf, size_t len, size_t *span);

/* A cursor over bytes being decoded. */
typedef struct codec_rd {
    const uint8_t *p;
    const uint8_t *end;
} codec_rd;

static inline void codec_rd_init(codec_rd *r, const uint8_t *buf, size_t len)
{
    r->p = buf;
    r->end = buf + len;
}

/* A positive integer (fixint, uint8..uint64). Negative ints, floats, bools
 * and non-minimal forms are refused. */
int codec_rd_uint(codec_rd *r, uint64_t *v);
/* As codec_rd_uint, and the value must be >= 1 (ids, seqs). */
int codec_rd_id(codec_rd *r, uint64_t *v);
/* An array header; *n is its element count (already checked against the
 * bytes left, so it is safe to allocate from). */
int codec_rd_array(codec_rd *r, size_t *n);
int codec_rd_str(codec_rd *r, const uint8_t **s, size_t *n);
int codec_rd_bin(codec_rd *r, const uint8_t **s, size_t *n);
int codec_rd_bool(codec_rd *r, int *v);
/* A flat [r1, s1, r2, s2, ...] array of ids (each >= 1) into a new malloc'd
 * array (NULL when empty). CODEC_ELIMIT over max_pairs pairs, CODEC_ENOMEM,
 * CODEC_ECORRUPT for an odd length or anything else. */
int codec_rd_ids(codec_rd *r, size_t max_pairs, op_id **ids, size_t *n);
/* 1 when the next value is a bin (any width), else 0. */
int codec_rd_next_is_bin(const codec_rd *r);

/*
 * Reads the head of a versioned frame, the array [version, type, ...] every
 * op and sync message is: *n its element count, *type its second element.
 * Returns CODEC_EVERSION when the version is a uint other than
 * CODEC_FORMAT_VERSION, CODEC_ECORRUPT when the head is not an array of at
 * least 2 uints. Only the head is looked at: call codec_bounded_span() next.
 */
int codec_frame_head(codec_rd *r, size_t *n, uint64_t *type);

/* codec_bounded_span() over all of buf, refusing trailing bytes. */
int codec_bounded_whole(const uint8_t *buf, size_t len);

#endif
