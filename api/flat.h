/* Results handed to the caller are one allocation each (freed with one
 * msglog_free()). They are built in two passes over the same code: a
 * measuring pass that only adds up sizes, then a writing pass into a block
 * of exactly that size. */
#ifndef MSGLOG_API_FLAT_H
#define MSGLOG_API_FLAT_H

#include <stddef.h>
#include <stdint.h>

#include "msglog.h"

typedef struct flat {
    uint8_t *base;    /* NULL while measuring */
    size_t off;
} flat;

/* `size` bytes aligned for any struct; NULL while measuring. */
void *flat_alloc(flat *f, size_t size);
/* A copy of the bytes plus a NUL. While measuring, a str with data NULL. */
msglog_str flat_str(flat *f, const void *p, size_t len);
/* Allocates the block for the size measured so far and starts writing. */
int flat_start_writing(flat *f);

#endif
