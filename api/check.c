/* msglog_check: the whole store read and checked (log/check.h), in one
 * read transaction. */
#include "engine/engine.h"

#include "log/check.h"

int msglog_check(msglog *log, msglog_problem_fn fn, void *ctx, uint64_t *n_problems)
{
    if (n_problems)
        *n_problems = 0;
    if (!log)
        return MSGLOG_EINVAL;
    store_txn *t;
    int rc = store_txn_begin(log->st, 0, &t);
    if (rc)
        return ml_fail(log, rc, "cannot begin a read transaction");
    check_report r = { fn, ctx, 0 };
    rc = check_store(t, &r);
    store_txn_abort(t);
    store_damage_clear(log->st);   /* every damaged record was reported */
    if (n_problems)
        *n_problems = r.n;
    if (rc)
        return ml_fail(log, rc, "the check could not finish: %s", msglog_strerror(rc));
    if (r.n)
        return ml_fail(log, MSGLOG_ECORRUPT, "the store is damaged: %llu problem%s found",
                       (unsigned long long)r.n, r.n == 1 ? "" : "s");
    return ml_ok(log);
}
