/* msglog_claim: the store's claim for a long-running network role
 * (log/claim.h holds the mechanics). */
#include "engine/engine.h"

#include <string.h>

#include "log/claim.h"

int msglog_claim(msglog *log)
{
    const char *dir;
    long holder;
    int rc, err;

    if (!log)
        return MSGLOG_EINVAL;
    if (log->claim_fd >= 0)
        return ml_ok(log);
    dir = store_path(log->st);
    rc = claim_take(dir, &log->claim_fd, &holder, &err);
    if (rc == MSGLOG_EBUSY && holder)
        return ml_fail(log, rc, "the store in %s is in use by process %ld", dir, holder);
    if (rc == MSGLOG_EBUSY)
        return ml_fail(log, rc, "the store in %s is in use by another process", dir);
    if (rc == MSGLOG_EIO)
        return ml_fail(log, rc, "cannot claim the store in %s: %s", dir, strerror(err));
    return rc ? ml_fail(log, rc, "cannot claim the store in %s: %s", dir, ml_strerror(rc))
              : ml_ok(log);
}
