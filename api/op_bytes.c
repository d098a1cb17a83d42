/* The stored encoding of one op, for handing to a peer. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "log/keys.h"

int msglog_op_bytes(msglog *log, void **out, size_t *out_len, const char *conv,
                    size_t conv_len, msglog_id id)
{
    if (!log || !out || !out_len)
        return ml_fail(log, MSGLOG_EINVAL, "msglog_op_bytes: bad argument");
    *out = NULL;
    *out_len = 0;
    if (!conv || conv_len == 0 || conv_len > MSGLOG_MAX_CONV)
        return ml_fail(log, MSGLOG_EINVAL, "bad conversation id");
    store_txn *t;
    int rc = store_txn_begin(log->st, 0, &t);
    if (rc)
        return ml_fail(log, rc, "cannot begin a read transaction");
    conv_state c;
    rc = conv_lookup(t, (const uint8_t *)conv, conv_len, &c);
    op_id oid = { id.replica, id.seq };
    store_val v = { NULL, 0 };
    if (!rc) {
        uint8_t kind;
        uint64_t hlc;
        rc = oprec_get(t, c.cid, oid, &kind, &hlc, (const uint8_t **)&v.data, &v.len);
        if (rc == MSGLOG_ENOTFOUND)
            rc = pending_get(t, c.cid, oid, &v);
        conv_free(&c);
    }
    void *copy = NULL;
    if (!rc && !(copy = malloc(v.len ? v.len : 1)))
        rc = MSGLOG_ENOMEM;
    if (!rc) {
        memcpy(copy, v.data, v.len);
        *out = copy;
        *out_len = v.len;
    }
    store_txn_abort(t);
    if (rc == MSGLOG_ENOTFOUND)
        return ml_fail(log, rc, "op %llu.%llu is not in this store",
                       (unsigned long long)id.replica, (unsigned long long)id.seq);
    return rc ? ml_fail(log, rc, "reading the op failed: %s", msglog_strerror(rc)) : ml_ok(log);
}
