/* A hand-written canonical MessagePack writer for the codec tests: it
 * builds valid and deliberately malformed frames byte by byte, independently
 * of msgpack-c and of the library's own encoders (which refuse bad input). */
#ifndef TEST_MPW_H
#define TEST_MPW_H

#include <stddef.h>
#include <stdint.h>

typedef struct wb {
    uint8_t *p;
    size_t n, cap;
} wb;

/* Appends n raw bytes (asserting the allocation). */
void wb_put(wb *w, const void *b, size_t n);
void wb_free(wb *w);
/* Appends a string literal's bytes, without its NUL. */
#define W(w, lit) wb_put(w, lit, sizeof(lit) - 1)

void w_byte(wb *w, uint8_t b);
/* v as `width` big-endian bytes. */
void w_be(wb *w, uint64_t v, int width);
/* The smallest form of each (the only one the decoders accept). */
void w_uint(wb *w, uint64_t v);
void w_str(wb *w, const void *s, size_t n);
void w_bin(wb *w, const void *s, size_t n);
void w_arr(wb *w, size_t n);

#endif
