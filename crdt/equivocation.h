/* Which version of an equivocated id counts (docs/design.md,
 * "Equivocation"): when a replica issues two different ops with one id, every store
 * keeps both, and the one with the lowest content hash (crdt/digest.h) is
 * the one delivered, whatever order they arrived in; the others are kept
 * as evidence. */
#ifndef MSGLOG_CRDT_EQUIVOCATION_H
#define MSGLOG_CRDT_EQUIVOCATION_H

#include <string.h>

#include "crdt/op.h"

/* 1 when the version with content hash `candidate` counts over the one
 * with hash `held`: bytewise lower. */
static inline int version_counts_over(const uint8_t candidate[OP_HASH_LEN],
                                      const uint8_t held[OP_HASH_LEN])
{
    return memcmp(candidate, held, OP_HASH_LEN) < 0;
}

#endif
