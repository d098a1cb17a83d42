/* The codec tests' MessagePack writer (see mpw.h). */
#include "support/mpw.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

void wb_put(wb *w, const void *b, size_t n)
{
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->n + n)
            cap *= 2;
        w->p = realloc(w->p, cap);
        cr_assert_not_null(w->p);
        w->cap = cap;
    }
    if (n)
        memcpy(w->p + w->n, b, n);
    w->n += n;
}

void wb_free(wb *w)
{
    free(w->p);
    *w = (wb){ 0 };
}

void w_byte(wb *w, uint8_t b)
{
    wb_put(w, &b, 1);
}

void w_be(wb *w, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--)
        w_byte(w, (uint8_t)(v >> (8 * i)));
}

void w_uint(wb *w, uint64_t v)
{
    if (v < 0x80)
        w_byte(w, (uint8_t)v);
    else if (v < 0x100)
        w_byte(w, 0xcc), w_be(w, v, 1);
    else if (v < 0x10000)
        w_byte(w, 0xcd), w_be(w, v, 2);
    else if (v < UINT64_C(0x100000000))
        w_byte(w, 0xce), w_be(w, v, 4);
    else
        w_byte(w, 0xcf), w_be(w, v, 8);
}

void w_str(wb *w, const void *s, size_t n)
{
    if (n < 32)
        w_byte(w, (uint8_t)(0xa0 | n));
    else if (n < 0x100)
        w_byte(w, 0xd9), w_be(w, n, 1);
    else if (n < 0x10000)
        w_byte(w, 0xda), w_be(w, n, 2);
    else
        w_byte(w, 0xdb), w_be(w, n, 4);
    wb_put(w, s, n);
}

void w_bin(wb *w, const void *s, size_t n)
{
    if (n < 0x100)
        w_byte(w, 0xc4), w_be(w, n, 1);
    else if (n < 0x10000)
        w_byte(w, 0xc5), w_be(w, n, 2);
    else
        w_byte(w, 0xc6), w_be(w, n, 4);
    wb_put(w, s, n);
}

void w_arr(wb *w, size_t n)
{
    if (n < 16)
        w_byte(w, (uint8_t)(0x90 | n));
    else if (n < 0x10000)
        w_byte(w, 0xdc), w_be(w, n, 2);
    else
        w_byte(w, 0xdd), w_be(w, n, 4);
}
