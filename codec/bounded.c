/* Bounded MessagePack reading (see bounded.h and docs/format.md). */
#include "codec/bounded.h"

#include <stdlib.h>

#include "codec/op_codec.h"

/* Big-endian unsigned integer of n (1, 2, 4 or 8) bytes. */
static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* ---------------------------------------------------------------------- */
/* The walk                                                                */

/* What one object's first bytes say: its header size, the payload that
 * follows inline (str/bin/ext bytes), and the objects it contains. */
typedef struct head {
    size_t hdr;          /* type byte + size fields */
    uint64_t payload;    /* bytes after the header */
    uint64_t children;   /* elements (maps: keys + values) */
    int container;
} head;

/* Sizes of the fixed-width types 0xc0..0xdf: header bytes before the
 * payload (or the whole object), and how many of them are a length. */
static const uint8_t fixed_hdr[32] = {
    /* c0 nil  c1 -   c2 f  c3 t  c4 bin8 c5 bin16 c6 bin32 c7 ext8 */
    1, 0, 1, 1, 2, 3, 5, 3,
    /* c8 ext16 c9 ext32 ca f32 cb f64 cc u8 cd u16 ce u32 cf u64 */
    4, 6, 5, 9, 2, 3, 5, 9,
    /* d0 i8 d1 i16 d2 i32 d3 i64 d4 fx1 d5 fx2 d6 fx4 d7 fx8 */
    2, 3, 5, 9, 3, 4, 6, 10,
    /* d8 fx16 d9 str8 da str16 db str32 dc arr16 dd arr32 de map16 df map32 */
    18, 2, 3, 5, 3, 5, 3, 5,
};
/* Width of the length field right after the type byte, 0 when none. */
static const uint8_t len_width[32] = {
    0, 0, 0, 0, 1, 2, 4, 1,
    2, 4, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 1, 2, 4, 2, 4, 2, 4,
};

static int read_head(const uint8_t *p, size_t avail, head *h)
{
    uint8_t b;

    if (avail == 0)
        return CODEC_ECORRUPT;
    b = p[0];
    *h = (head){ .hdr = 1 };
    if (b <= 0x7f || b >= 0xe0)
        return CODEC_OK;                       /* fixint */
    if (b <= 0x8f) {                           /* fixmap */
        h->children = 2u * (b & 0x0f);
        h->container = 1;
        return CODEC_OK;
    }
    if (b <= 0x9f) {                           /* fixarray */
        h->children = b & 0x0f;
        h->container = 1;
        return CODEC_OK;
    }
    if (b <= 0xbf) {                           /* fixstr */
        h->payload = b & 0x1f;
        return CODEC_OK;
    }
    if (b == 0xc1)
        return CODEC_ECORRUPT;                 /* never used */
    h->hdr = fixed_hdr[b - 0xc0];
    if (h->hdr > avail)
        return CODEC_ECORRUPT;
    uint8_t w = len_width[b - 0xc0];
    if (w == 0)
        return CODEC_OK;
    uint64_t n = be(p + 1, w);
    if (b >= 0xdc) {                           /* array16/32, map16/32 */
        h->children = b >= 0xde ? 2 * n : n;
        h->container = 1;
    } else {
        h->payload = n;                        /* str, bin, ext */
    }
    return CODEC_OK;
}

/*
 * Iterative, so hostile nesting cannot grow the C stack. left[d] is the
 * number of elements still owed by the container open at depth d (depth 0
 * is the single top-level object); owed is their sum, and every owed
 * element needs at least one byte, which bounds every declared count by
 * the input size before anything trusts it.
 */
int codec_bounded_span(const uint8_t *buf, size_t len, size_t *span)
{
    uint64_t left[CODEC_MAX_DEPTH + 1];
    uint64_t owed = 1;
    size_t d = 0, pos = 0;

    left[0] = 1;
    for (;;) {
        head h;

        while (left[d] == 0) {
            if (d == 0) {
                *span = pos;
                return CODEC_OK;
            }
            d--;
        }
        left[d]--;
        owed--;
        if (read_head(buf + pos, len - pos, &h) != CODEC_OK)
            return CODEC_ECORRUPT;
        if (h.payload > len - pos - h.hdr)
            return CODEC_ECORRUPT;
        pos += h.hdr + (size_t)h.payload;
        if (!h.container)
            continue;
        if (d == CODEC_MAX_DEPTH)
            return CODEC_ECORRUPT;
        owed += h.children;
        if (owed > len - pos)
            return CODEC_ECORRUPT;
        left[++d] = h.children;
    }
}

int codec_bounded_whole(const uint8_t *buf, size_t len)
{
    size_t span;

    if (buf == NULL || codec_bounded_span(buf, len, &span) != CODEC_OK)
        return CODEC_ECORRUPT;
    return span == len ? CODEC_OK : CODEC_ECORRUPT;
}

/* ---------------------------------------------------------------------- */
/* The reader                                                              */

static size_t left_in(const codec_rd *r)
{
    return (size_t)(r->end - r->p);
}

/* Reads the n-byte big-endian length after a type byte; `min` is the
 * smallest value this width may carry (smaller ones had a shorter form). */
static int take_len(codec_rd *r, size_t n, uint64_t min, uint64_t *v)
{
    if (left_in(r) < n)
        return CODEC_ECORRUPT;
    *v = be(r->p, n);
    r->p += n;
    return *v >= min ? CODEC_OK : CODEC_ECORRUPT;
}

int codec_rd_uint(codec_rd *r, uint64_t *v)
{
    if (left_in(r) == 0)
        return CODEC_ECORRUPT;
    uint8_t b = *r->p++;
    switch (b) {
    case 0xcc: return take_len(r, 1, 0x80, v);
    case 0xcd: return take_len(r, 2, 0x100, v);
    case 0xce: return take_len(r, 4, 0x10000, v);
    case 0xcf: return take_len(r, 8, UINT64_C(0x100000000), v);
    default:
        if (b > 0x7f)
            return CODEC_ECORRUPT;
        *v = b;
        return CODEC_OK;
    }
}

int codec_rd_id(codec_rd *r, uint64_t *v)
{
    int rc = codec_rd_uint(r, v);
    if (rc != CODEC_OK)
        return rc;
    return *v >= 1 ? CODEC_OK : CODEC_ECORRUPT;
}

int codec_rd_array(codec_rd *r, size_t *n)
{
    uint64_t v;
    int rc;

    if (left_in(r) == 0)
        return CODEC_ECORRUPT;
    uint8_t b = *r->p++;
    if (b >= 0x90 && b <= 0x9f) {
        v = b & 0x0f;
        rc = CODEC_OK;
    } else if (b == 0xdc) {
        rc = take_len(r, 2, 16, &v);
    } else if (b == 0xdd) {
        rc = take_len(r, 4, 0x10000, &v);
    } else {
        return CODEC_ECORRUPT;
    }
    /* Each element is at least a byte: keeps *n safe to allocate from even
     * when the caller did not walk the frame first. */
    if (rc != CODEC_OK || v > left_in(r))
        return CODEC_ECORRUPT;
    *n = (size_t)v;
    return CODEC_OK;
}

/* The payload of a str or bin whose length is already known. */
static int take_bytes(codec_rd *r, uint64_t n, const uint8_t **s, size_t *len)
{
    if (n > left_in(r))
        return CODEC_ECORRUPT;
    *s = r->p;
    *len = (size_t)n;
    r->p += n;
    return CODEC_OK;
}

int codec_rd_str(codec_rd *r, const uint8_t **s, size_t *n)
{
    uint64_t v;
    int rc;

    if (left_in(r) == 0)
        return CODEC_ECORRUPT;
    uint8_t b = *r->p++;
    if (b >= 0xa0 && b <= 0xbf) {
        v = b & 0x1f;
        rc = CODEC_OK;
    } else if (b == 0xd9) {
        rc = take_len(r, 1, 32, &v);
    } else if (b == 0xda) {
        rc = take_len(r, 2, 0x100, &v);
    } else if (b == 0xdb) {
        rc = take_len(r, 4, 0x10000, &v);
    } else {
        return CODEC_ECORRUPT;
    }
    return rc != CODEC_OK ? rc : take_bytes(r, v, s, n);
}

int codec_rd_bin(codec_rd *r, const uint8_t **s, size_t *n)
{
    uint64_t v;
    int rc;

    if (left_in(r) == 0)
        return CODEC_ECORRUPT;
    switch (*r->p++) {
    case 0xc4: rc = take_len(r, 1, 0, &v); break;
    case 0xc5: rc = take_len(r, 2, 0x100, &v); break;
    case 0xc6: rc = take_len(r, 4, 0x10000, &v); break;
    default: return CODEC_ECORRUPT;
    }
    return rc != CODEC_OK ? rc : take_bytes(r, v, s, n);
}

int codec_rd_ids(codec_rd *r, size_t max_pairs, op_id **ids, size_t *n)
{
    size_t count;

    *ids = NULL;
    *n = 0;
    if (codec_rd_array(r, &count) != CODEC_OK)
        return CODEC_ECORRUPT;
    if (max_pairs <= SIZE_MAX / 2 && count > 2 * max_pairs)
        return CODEC_ELIMIT;
    if (count % 2 != 0)
        return CODEC_ECORRUPT;
    if (count == 0)
        return CODEC_OK;
    /* count <= the bytes left (codec_rd_array): bounded by the input */
    op_id *a = malloc(count / 2 * sizeof *a);
    if (a == NULL)
        return CODEC_ENOMEM;
    for (size_t i = 0; i < count / 2; i++) {
        if (codec_rd_id(r, &a[i].replica) != CODEC_OK ||
            codec_rd_id(r, &a[i].seq) != CODEC_OK) {
            free(a);
            return CODEC_ECORRUPT;
        }
    }
    *ids = a;
    *n = count / 2;
    return CODEC_OK;
}

int codec_rd_bool(codec_rd *r, int *v)
{
    if (left_in(r) == 0 || (*r->p != 0xc2 && *r->p != 0xc3))
        return CODEC_ECORRUPT;
    *v = *r->p++ == 0xc3;
    return CODEC_OK;
}

int codec_rd_next_is_bin(const codec_rd *r)
{
    return left_in(r) > 0 && *r->p >= 0xc4 && *r->p <= 0xc6;
}

int codec_frame_head(codec_rd *r, size_t *n, uint64_t *type)
{
    uint64_t version;

    if (codec_rd_array(r, n) != CODEC_OK || *n < 1)
        return CODEC_ECORRUPT;
    if (codec_rd_uint(r, &version) != CODEC_OK)
        return CODEC_ECORRUPT;
    if (version != CODEC_FORMAT_VERSION)
        return CODEC_EVERSION;
    if (*n < 2 || codec_rd_uint(r, type) != CODEC_OK)
        return CODEC_ECORRUPT;
    return CODEC_OK;
}
