/* The total message order (docs/design.md, "Clock and order"): by hybrid
 * logical clock, then origin replica, then seq. Every replica sorts messages,
 * read markers and a batch's ops by it, so it is written once, here. */
#ifndef MSGLOG_CRDT_ORDER_H
#define MSGLOG_CRDT_ORDER_H

#include <stdint.h>

#include "crdt/op.h"

/* <0, 0 or >0 as (ha, a) comes before, is, or comes after (hb, b). */
static inline int order_cmp(uint64_t ha, op_id a, uint64_t hb, op_id b)
{
    if (ha != hb)
        return ha < hb ? -1 : 1;
    return op_id_cmp(a, b);
}

#endif
