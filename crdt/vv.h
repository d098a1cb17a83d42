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
/* 1 when v holds id: its entry for id.replica is at least id.seq. */
int vv_has(const vv *v, op_id id);
/* Sets replica's entry to seq (seq >= 1). 0, or -1 when out of memory. */
int vv_set(vv *v, uint64_t replica, uint64_t seq);
/* Makes dst a copy of src. 0, or -1 when out of memory. */
int vv_copy(vv *dst, const vv *src);
/* 1 when every entry of `need` is covered by `have`. */
int vv_covers(const vv *have, const vv *need);
/* dst becomes the entry-wise maximum of dst and the entries src[0..n).
 * 0, or -1 when out of memory. */
int vv_merge(vv *dst, const op_id *src, size_t n);
/* 1 when a and b hold the same entries. */
int vv_equal(const vv *a, const vv *b);
void vv_free(vv *v);

/* ---- vectors as plain entry arrays (as decoded from the wire or a store):
 * ascending replica, every seq >= 1 (codec_vv_valid checks that shape) --- */

/* 1 when a[0..na) and b[0..nb) hold the same entries. */
int vv_entries_equal(const op_id *a, size_t na, const op_id *b, size_t nb);
/* 1 when v holds id: its entry for id.replica is at least id.seq. */
int vv_entries_cover(const op_id *v, size_t n, op_id id);
/* The entry-wise maximum of a and b in a new array (*out NULL when both are
 * empty). 0, or -1 when out of memory. */
int vv_entries_max(const op_id *a, size_t na, const op_id *b, size_t nb, op_id **out, size_t *n);
/* a becomes the entry-wise minimum of a and b, where an entry missing from
 * either counts as 0 and is left out; returns a's new length. */
size_t vv_entries_min_into(op_id *a, size_t na, const op_id *b, size_t nb);

#endif
