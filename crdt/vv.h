/* Version vectors: for each replica, the highest seq delivered.
 * Kept as an array sorted by replica id; conversations have few replicas,
 * so a sorted array beats a hash table in both speed and size. */
#ifndef MSGLOG_CRDT_VV_H
#define MSGLOG_CRDT_VV_H

#include "crdt/op.h"

typedef struct vv {
    op_id *e;        /* entries (replica, seq), ascending replica, seq >= 1 */
    size_t n;
    size_t cap;
} vv;

/* The seq of `replica` (0 when absent). */
uint64_t vv_get(const vv *v, uint64_t replica);
/* Sets replica's entry to seq (seq >= 1). 0, or -1 when out of memory. */
int vv_set(vv *v, uint64_t replica, uint64_t seq);
/* Makes dst a copy of src. 0, or -1 when out of memory. */
int vv_copy(vv *dst, const vv *src);
/* 1 when every entry of `need` is covered by `have`. */
int vv_covers(const vv *have, const vv *need);
void vv_free(vv *v);

#endif
