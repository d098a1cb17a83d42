/* Walking a conversation's message states (TBL_MSGS) in message order or
 * its reverse. The table is keyed cid|hlc|replica|seq, so message order is
 * key order: a page from either end or from a position is one seek plus one
 * cursor step per message, whatever the size of the conversation. */
#ifndef MSGLOG_LOG_MSG_WALK_H
#define MSGLOG_LOG_MSG_WALK_H

#include <stdint.h>

#include "crdt/message.h"
#include "crdt/op.h"
#include "log/store.h"

typedef struct msg_walk {
    store_cursor *cur;
    uint32_t cid;
    int backward;
    int from_end;        /* start at an end, not after a position */
    uint64_t from_hlc;   /* else strictly after (backward: before) this */
    op_id from_id;
    int started;
} msg_walk;

/* Opens a walk of conversation cid: forward from its first message, or
 * backward from its last, when from_end; else from the message after
 * (backward: before) position (from_hlc, from_id), which need not exist. */
int msg_walk_open(msg_walk *w, store_txn *t, uint32_t cid, int backward, int from_end,
                  uint64_t from_hlc, op_id from_id);
/* The next message: MSGLOG_OK with its position and its decoded state in
 * *m (owned: msg_free), MSGLOG_ENOTFOUND past the last one, or an error
 * (MSGLOG_ECORRUPT for a state that does not decode). */
int msg_walk_next(msg_walk *w, uint64_t *hlc, op_id *id, msg_state *m);
void msg_walk_close(msg_walk *w);

#endif
