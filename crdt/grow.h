/* Growing an array geometrically: every array the library appends to one
 * element at a time makes room through grow_array(), so n appends cost O(n)
 * element copies in all, not O(n^2). Used by every layer. */
#ifndef MSGLOG_CRDT_GROW_H
#define MSGLOG_CRDT_GROW_H

#include <stddef.h>

/*
 * Makes room for `need` elements of `size` bytes in arr, whose capacity is
 * *cap elements: returns arr when it has room, else the array reallocated
 * to at least twice its capacity (and at least 4 elements) with *cap
 * updated. NULL when out of memory or when the size would overflow; arr is
 * then unchanged and still owned by the caller. A *cap below the array's
 * real size is safe (it only costs a realloc): a zeroed struct starts at 0.
 */
void *grow_array(void *arr, size_t *cap, size_t need, size_t size);

#endif
