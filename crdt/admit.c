#include "crdt/admit.h"

int msg_admits(const msg_state *m, const op *o)
{
    if ((o->kind == OP_EDIT || o->kind == OP_DELETE) && !msg_is_author(m, o))
        return ADMIT_NOT_AUTHOR;
    if (o->kind != OP_READ && m->deleted)
        return ADMIT_DELETED;
    if (o->kind == OP_UNREACT &&
        !msg_reaction_find(m, o->key, o->key_len, o->user, o->user_len))
        return ADMIT_NO_REACTION;
    return ADMIT_OK;
}
