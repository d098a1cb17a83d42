/* Small unordered sets of op ids (edit heads, live reacts, a message's edits).
 * They hold a handful of entries, so linear scans are the fast choice; the
 * sorted form at the end is for large ones. */
#ifndef MSGLOG_CRDT_IDS_H
#define MSGLOG_CRDT_IDS_H

#include "crdt/op.h"

typedef struct ids {
    op_id *e;
    size_t n;
    size_t cap;   /* allocated entries (grow_array); 0 in a zeroed set */
} ids;

int ids_contains(const ids *s, op_id id);
/* Adds id unless present. 0, or -1 when out of memory. */
int ids_add(ids *s, op_id id);
/* Removes id when present. */
void ids_remove(ids *s, op_id id);
void ids_free(ids *s);

/* For sets too large for linear scans (the ids one commit settles, the
 * messages it rebuilds): append with ids_push, repeats allowed, then
 * ids_sort_unique once, then look up with ids_has_sorted. */
int ids_push(ids *s, op_id id);   /* 0, or -1 when out of memory */
/* Sorts by op_id_cmp and drops repeats. */
void ids_sort_unique(ids *s);
/* Whether sorted s holds id (binary search). */
int ids_has_sorted(const ids *s, op_id id);

#endif
