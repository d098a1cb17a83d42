/* What the transport (net/) needs of the handle, without the engine's
 * header: the commit watcher and the handle's error message. */
#include "sync/session.h"

#include <stdarg.h>
#include <stdio.h>

#include "engine/engine.h"

int session_commits_watched(const msglog *log)
{
    return log->on_commit != NULL;
}

void session_watch_commits(msglog *log, session_commit_fn fn, void *ctx)
{
    ml_set_commit_hook(log, fn, ctx);
}

void session_unwatch_commits(msglog *log, void *ctx)
{
    if (log && log->on_commit_ctx == ctx)
        ml_set_commit_hook(log, NULL, NULL);
}

int session_log_fail(msglog *log, int rc, const char *fmt, ...)
{
    if (!log)
        return rc;
    char msg[sizeof log->err];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ml_fail(log, rc, "%s", msg);
}

int session_log_ok(msglog *log)
{
    return ml_ok(log);
}
