#include "codec/reader.h"

#include <stdlib.h>

#include "codec/op_codec.h"

static int take(reader *r, size_t n, const uint8_t **p)
{
    if ((size_t)(r->end - r->p) < n)
        return CODEC_ECORRUPT;
    *p = r->p;
    r->p += n;
    return 0;
}

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Reads a big-endian length of n bytes. */
static int take_be(reader *r, size_t n, uint64_t *v)
{
    const uint8_t *p;
    int rc = take(r, n, &p);
    if (!rc)
        *v = be(p, n);
    return rc;
}

static int peek(const reader *r, uint8_t *b)
{
    if (r->p >= r->end)
        return CODEC_ECORRUPT;
    *b = *r->p;
    return 0;
}

int reader_uint(reader *r, uint64_t *out)
{
    uint8_t b;
    int rc = peek(r, &b);
    if (rc)
        return rc;
    r->p++;
    if (b <= 0x7f) {
        *out = b;
        return 0;
    }
    switch (b) {
    case 0xcc: return take_be(r, 1, out);
    case 0xcd: return take_be(r, 2, out);
    case 0xce: return take_be(r, 4, out);
    case 0xcf: return take_be(r, 8, out);
    default: return CODEC_ECORRUPT;
    }
}

int reader_array(reader *r, size_t *count)
{
    uint8_t b;
    uint64_t n;
    int rc = peek(r, &b);
    if (rc)
        return rc;
    r->p++;
    if ((b & 0xf0) == 0x90)
        n = b & 0x0f;
    else if (b == 0xdc)
        rc = take_be(r, 2, &n);
    else if (b == 0xdd)
        rc = take_be(r, 4, &n);
    else
        rc = CODEC_ECORRUPT;
    /* Every element takes at least one byte. */
    if (!rc && n > (uint64_t)(r->end - r->p))
        rc = CODEC_ECORRUPT;
    if (!rc)
        *count = (size_t)n;
    return rc;
}

static int bytes_body(reader *r, uint64_t n, size_t max, const uint8_t **p, size_t *len)
{
    if (n > max)
        return CODEC_ELIMIT;
    int rc = take(r, (size_t)n, p);
    if (!rc)
        *len = (size_t)n;
    return rc;
}

int reader_str(reader *r, const uint8_t **p, size_t *len, size_t max)
{
    uint8_t b;
    uint64_t n;
    int rc = peek(r, &b);
    if (rc)
        return rc;
    r->p++;
    if ((b & 0xe0) == 0xa0)
        n = b & 0x1f;
    else if (b >= 0xd9 && b <= 0xdb)
        rc = take_be(r, (size_t)1 << (b - 0xd9), &n);
    else
        rc = CODEC_ECORRUPT;
    return rc ? rc : bytes_body(r, n, max, p, len);
}

int reader_bin(reader *r, const uint8_t **p, size_t *len, size_t max)
{
    uint8_t b;
    uint64_t n;
    int rc = peek(r, &b);
    if (rc)
        return rc;
    if (b < 0xc4 || b > 0xc6)
        return CODEC_ECORRUPT;
    r->p++;
    rc = take_be(r, (size_t)1 << (b - 0xc4), &n);
    return rc ? rc : bytes_body(r, n, max, p, len);
}

int reader_nil(reader *r)
{
    if (r->p < r->end && *r->p == 0xc0) {
        r->p++;
        return 1;
    }
    return 0;
}

int reader_ids(reader *r, op_id **out, size_t *n, size_t max_pairs)
{
    size_t count;
    *out = NULL;
    *n = 0;
    int rc = reader_array(r, &count);
    if (rc)
        return rc;
    if (count % 2)
        return CODEC_ECORRUPT;
    if (count / 2 > max_pairs)
        return CODEC_ELIMIT;
    if (count == 0)
        return 0;
    op_id *ids = malloc(count / 2 * sizeof *ids);
    if (!ids)
        return CODEC_ENOMEM;
    for (size_t i = 0; i < count / 2 && !rc; i++) {
        rc = reader_uint(r, &ids[i].replica);
        if (!rc)
            rc = reader_uint(r, &ids[i].seq);
    }
    if (rc) {
        free(ids);
        return rc;
    }
    *out = ids;
    *n = count / 2;
    return 0;
}

int reader_end(const reader *r)
{
    return r->p == r->end ? 0 : CODEC_ECORRUPT;
}
