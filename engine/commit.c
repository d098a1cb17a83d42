/* Committing a write of the delivery engine: the equivocation rule settles
 * what the transaction did to the versions of every conversation it
 * touched (engine/equivocal.c), then the write context writes the states
 * back and commits. The write context itself knows no rule. */
#include "engine/engine.h"

int engine_commit(wctx *w)
{
    int rc = MSGLOG_OK;
    for (size_t i = 0; i < w->n_convs && !rc; i++)
        rc = equiv_settle(w, w->convs[i]);
    if (rc) {
        wctx_abort(w);
        return ml_fail(w->log, rc, "cannot write a conversation's state");
    }
    return wctx_commit(w);
}
