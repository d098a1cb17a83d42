/* Small unordered sets of op ids (edit heads, live reacts, a message's edits).
 * They hold a handful of entries, so linear scans are the fast choice. */
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

#endif
