/* Byte strings in bytewise order, a prefix first: the order of read markers
 * (crdt/conv.c), of a session's conversations and a STATUS's members
 * (codec/, sync/, net/). Header only: every layer may use it. */
#ifndef MSGLOG_CRDT_BYTES_H
#define MSGLOG_CRDT_BYTES_H

#include <stddef.h>
#include <string.h>

/* <0, 0 or >0 as a[0..an) sorts before, equal to or after b[0..bn). */
static inline int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

#endif
