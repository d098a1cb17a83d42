/* Strict UTF-8 validation (see utf8.h). */
#include "crdt/utf8.h"

#include <string.h>

/* Most chat text is ASCII: skip it eight bytes at a time. */
static size_t ascii_prefix(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, sizeof w);
        if (w & UINT64_C(0x8080808080808080))
            break;
        i += 8;
    }
    while (i < n && s[i] < 0x80)
        i++;
    return i;
}

static int is_cont(uint8_t b)
{
    return (b & 0xC0) == 0x80;
}

/*
 * Length of the well-formed multi-byte sequence at s[0..n), or 0. The
 * allowed range of the second byte is what excludes overlongs (E0, F0),
 * surrogates (ED) and code points above U+10FFFF (F4).
 */
static size_t seq_len(const uint8_t *s, size_t n)
{
    uint8_t b = s[0], lo = 0x80, hi = 0xBF;
    size_t len;

    if (b >= 0xC2 && b <= 0xDF)
        len = 2;
    else if (b >= 0xE0 && b <= 0xEF)
        len = 3;
    else if (b >= 0xF0 && b <= 0xF4)
        len = 4;
    else
        return 0;   /* 80..C1 (continuation, overlong lead), F5..FF */
    if (b == 0xE0)
        lo = 0xA0;
    else if (b == 0xED)
        hi = 0x9F;
    else if (b == 0xF0)
        lo = 0x90;
    else if (b == 0xF4)
        hi = 0x8F;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (!is_cont(s[i]))
            return 0;
    return len;
}

int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        i += ascii_prefix(s + i, n - i);
        if (i == n)
            break;
        size_t len = seq_len(s + i, n - i);
        if (len == 0)
            return 0;
        i += len;
    }
    return 1;
}
