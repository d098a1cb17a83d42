/* msglog_compact: the store rewritten with its live pages only
 * (log/compact.h), under the handle's own options. */
#include "engine/engine.h"

#include "log/compact.h"

int msglog_compact(msglog *log, uint64_t *before, uint64_t *after)
{
    uint64_t b = 0, a = 0;
    if (!log)
        return MSGLOG_EINVAL;
    if (log->on_commit)
        return ml_fail(log, MSGLOG_EINVAL, "msglog_compact: close the client or relay of this "
                       "handle first");
    if (!log->st)
        return ml_fail(log, MSGLOG_EINVAL, "msglog_compact: the handle has no store (an earlier "
                       "compaction failed to reopen it)");
    char why[STORE_WHY_MAX];
    store_config cfg = { log->map_size, 0, NULL, NULL, log->no_page_check };
    int rc = store_compact(&log->st, &cfg, &b, &a, why);
    if (before)
        *before = b;
    if (after)
        *after = a;
    if (rc)
        return ml_fail(log, rc, "%s", why[0] ? why : msglog_strerror(rc));
    return ml_ok(log);
}
