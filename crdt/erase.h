/* Erasing an op's text (docs/design.md, "Merge rules", Erasure): a delete
 * removes the text of its message and of every edit of it. The erased op
 * keeps the body's hash, so its hash and the conversation digest do not
 * change. */
#ifndef MSGLOG_CRDT_ERASE_H
#define MSGLOG_CRDT_ERASE_H

#include "crdt/op.h"

/* Puts o in erased form: body_hash filled from the text, the text dropped
 * (body NULL, length 0), erased set. An op without a body, or already
 * erased, is left as it is. */
void op_erase(op *o);

#endif
