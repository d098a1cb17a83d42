/* Whether a replica may create an op on an existing message (docs/design.md,
 * "Creating ops"): the local half of the merge rules. A refused op is never
 * created, so peers never see it. */
#ifndef MSGLOG_CRDT_ADMIT_H
#define MSGLOG_CRDT_ADMIT_H

#include "crdt/message.h"
#include "crdt/op.h"

enum admit_result {
    ADMIT_OK = 0,
    ADMIT_NOT_AUTHOR,    /* an edit or delete by someone other than the author */
    ADMIT_DELETED,       /* anything but a read marker on a deleted message */
    ADMIT_NO_REACTION,   /* an unreact of no live reaction of (user, key) */
};

/* The verdict on o (kind OP_EDIT, OP_DELETE, OP_REACT, OP_UNREACT or
 * OP_READ, by o->user) targeting message m, in that order of checks. */
int msg_admits(const msg_state *m, const op *o);

#endif
