#include "crdt/erase.h"

#include "crdt/digest.h"

void op_erase(op *o)
{
    if (!op_has_body(o->kind) || o->erased)
        return;
    digest_body_hash(o->body_hash, o->body, o->body_len);
    o->body = NULL;
    o->body_len = 0;
    o->erased = 1;
}
