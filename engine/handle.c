/* The handle's error plumbing and map growth, for every layer above log/. */
#include "engine/engine.h"

#include <stdarg.h>
#include <stdio.h>

const char *ml_strerror(int err)
{
    switch (err) {
    case MSGLOG_OK: return "success";
    case MSGLOG_EINVAL: return "invalid argument";
    case MSGLOG_ENOTFOUND: return "not found";
    case MSGLOG_EDENIED: return "refused by the merge rules";
    case MSGLOG_ELIMIT: return "size limit exceeded";
    case MSGLOG_ECORRUPT: return "corrupt or malformed encoding";
    case MSGLOG_EVERSION: return "unknown format version";
    case MSGLOG_EMISMATCH: return "store belongs to another replica or user";
    case MSGLOG_EFULL: return "disk full, or the store reached max_map_size";
    case MSGLOG_ENOMEM: return "out of memory";
    case MSGLOG_EIO: return "I/O or storage error";
    case MSGLOG_EKIND: return "unknown op kind";
    case MSGLOG_EPENDINGFULL: return "pending buffer full: ops waiting for dependencies were dropped";
    case MSGLOG_EEQUIVOCAL: return "an op reuses an id with different content: refused";
    case MSGLOG_EBUSY: return "the store is in use by another process";
    case MSGLOG_ENET: return "network failure";
    default: return "unknown error";
    }
}

int ml_fail(msglog *log, int rc, const char *fmt, ...)
{
    if (!log)
        return rc;
    const char *damage = log->st ? store_damage(log->st) : "";
    if (rc == MSGLOG_ECORRUPT && damage[0]) {   /* what is damaged says more */
        snprintf(log->err, sizeof log->err, "%s", damage);
        store_damage_clear(log->st);
        return rc;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(log->err, sizeof log->err, fmt, ap);
    va_end(ap);
    return rc;
}

int ml_grow_map(msglog *log)
{
    int rc = store_grow(log->st, log->max_map_size);
    if (rc)
        return ml_fail(log, MSGLOG_EFULL, "disk full: the store's map reached max_map_size (%zu bytes)",
                       log->max_map_size);
    return MSGLOG_OK;
}

int ml_ok(msglog *log)
{
    log->err[0] = '\0';
    return MSGLOG_OK;
}

int ml_codec_fail(msglog *log, int rc, const char *what)
{
    return ml_fail(log, rc, "%s: %s", what, ml_strerror(rc));
}

int ml_retry_grown(msglog *log, int (*attempt)(msglog *log, void *ctx), void *ctx)
{
    int rc;
    do {
        log->err[0] = '\0';
        rc = attempt(log, ctx);
    } while (rc == MSGLOG_EFULL && !store_full_is_disk(log->st) &&
             (rc = ml_grow_map(log)) == MSGLOG_OK);
    /* A bigger map would not help a full file system. */
    if (rc == MSGLOG_EFULL && store_full_is_disk(log->st))
        return ml_fail(log, rc, "disk full: no room left on the store's file system "
                       "(nothing was written)");
    return rc;
}
