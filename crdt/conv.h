/* Per-conversation replica state: what is delivered (version vector, max
 * hlc, digest, counts), this replica's causal context at its last op, and
 * the read markers. Pure data; log/ stores it, engine/ keeps it cached for the
 * length of one transaction. */
#ifndef MSGLOG_CRDT_CONV_H
#define MSGLOG_CRDT_CONV_H

#include "crdt/digest.h"
#include "crdt/vv.h"

typedef struct read_marker {
    uint8_t *user;
    size_t user_len;
    uint64_t hlc;          /* the marked message's position in message order */
    op_id msg;
} read_marker;

typedef struct conv_state {
    uint32_t cid;          /* the store's number for the conversation */
    vv delivered;
    vv own_ctx;            /* `delivered` when this replica made its last op */
    uint64_t maxhlc;
    uint64_t pending;
    uint64_t n_messages;
    digest dig;
    read_marker *reads;    /* sorted by user, bytewise */
    size_t n_reads;
    size_t reads_cap;      /* allocated markers (grow_array) */
} conv_state;

void conv_free(conv_state *c);

/* Moves user's read marker to (hlc, msg) when that is later in message
 * order. 0, or -1 when out of memory. */
int conv_read_apply(conv_state *c, const uint8_t *user, size_t user_len,
                    uint64_t hlc, op_id msg);

/* The deps of a new op by replica `self`: the entries of `delivered` that
 * grew since this replica's last op (its previous op covers the rest).
 * *out is malloc'd (NULL when empty). 0, or -1 when out of memory. */
int conv_new_deps(const conv_state *c, uint64_t self, op_id **out, size_t *n);

/* Records one delivered op in the vector, max hlc and digest. */
int conv_note_delivered(conv_state *c, const op *o, digest h);

#endif
