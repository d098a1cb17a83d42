#include "crdt/causal.h"

static int missing(const vv *have, op_id need, op_id *wait)
{
    if (vv_get(have, need.replica) >= need.seq)
        return 0;
    /* Each origin's ops arrive in seq order, so `need` itself being
     * delivered is the moment to look again. */
    *wait = need;
    return 1;
}

int causal_ready(const op *o, const vv *have, op_id *wait)
{
    if (o->id.seq > 1 && missing(have, (op_id){ o->id.replica, o->id.seq - 1 }, wait))
        return 0;
    for (size_t i = 0; i < o->n_deps; i++)
        if (missing(have, o->deps[i], wait))
            return 0;
    if (o->kind != OP_SEND && missing(have, o->target, wait))
        return 0;
    for (size_t i = 0; i < o->n_refs; i++)
        if (missing(have, o->refs[i], wait))
            return 0;
    return 1;
}
