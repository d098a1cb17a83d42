/* Causal readiness: when a received op may be delivered. */
#ifndef MSGLOG_CRDT_CAUSAL_H
#define MSGLOG_CRDT_CAUSAL_H

#include "crdt/op.h"
#include "crdt/vv.h"

/*
 * 1 when `o` can be delivered on top of the delivered set `have`: its
 * predecessor (replica, seq - 1), its listed deps, its target and its refs
 * are all delivered. Otherwise 0 and *wait is the first missing op: because
 * each origin's ops are delivered in seq order, `o` cannot become ready
 * before exactly that op is delivered, so a pending op waits on one id.
 *
 * Target and refs count as dependencies so that an op naming something
 * outside its causal context (only a faulty peer makes one) is applied at
 * the same point on every replica.
 */
int causal_ready(const op *o, const vv *have, op_id *wait);

#endif
