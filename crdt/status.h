/* The delivery status of a message written on this device (docs/protocol.md,
 * section 7), decided from what the relay reported: a pure rule, so that it
 * is the same wherever it is asked. */
#ifndef MSGLOG_CRDT_STATUS_H
#define MSGLOG_CRDT_STATUS_H

#include <stddef.h>

#include "crdt/conv.h"
#include "msglog.h"   /* MSGLOG_STATUS_*, msglog_str */

/* What the relay's ACKs and STATUS said of one conversation. */
typedef struct status_facts {
    const op_id *relay_vv;       /* what the relay committed */
    size_t n_relay_vv;
    const op_id *delivered_vv;   /* what every subscribed device acknowledged */
    size_t n_delivered_vv;
    const msglog_str *members;   /* the other members, strictly ascending bytewise */
    size_t n_members;
} status_facts;

/* MSGLOG_STATUS_PENDING until the relay holds message `id` (at `hlc` in
 * message order), SENT until every subscribed device holds it (and while no
 * other member is known), READ once every other member's read marker in c
 * is at or after it, DELIVERED before that. */
int status_of_message(const status_facts *f, const conv_state *c, uint64_t hlc, op_id id);

#endif
