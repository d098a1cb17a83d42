/* msglog_receive and msglog_receive_batch: decode all, then take them in one
 * write transaction, so a batch is applied whole or not at all. */
#include "engine/engine.h"

#include <stdlib.h>

#include "codec/op_codec.h"
#include "crdt/order.h"

/* Causal order implies hlc order (an op's hlc exceeds every hlc it has
 * seen), so taking a batch sorted by hlc delivers most ops directly instead
 * of parking them in the pending buffer. */
typedef struct incoming {
    op o;
    const uint8_t *enc;
    size_t len;
} incoming;

static int by_hlc(const void *a, const void *b)
{
    const incoming *x = a, *y = b;
    return order_cmp(x->o.hlc, x->o.id, y->o.hlc, y->o.id);
}

static void incoming_free(incoming *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        codec_op_clear(&in[i].o);
    free(in);
}

static int decode_all(msglog *log, const msglog_buf *ops, size_t n, incoming **out)
{
    incoming *in = calloc(n ? n : 1, sizeof *in);
    if (!in)
        return ml_fail(log, MSGLOG_ENOMEM, "out of memory decoding %zu ops", n);
    for (size_t i = 0; i < n; i++) {
        if (!ops[i].data && ops[i].len) {
            incoming_free(in, i);
            return ml_fail(log, MSGLOG_EINVAL, "op %zu of the batch has no data", i);
        }
        int rc = codec_op_decode(&in[i].o, ops[i].data, ops[i].len);
        if (rc) {
            incoming_free(in, i);
            return ml_fail(log, rc, "op %zu of the batch: %s", i, msglog_strerror(rc));
        }
        in[i].enc = ops[i].data;
        in[i].len = ops[i].len;
    }
    *out = in;
    return MSGLOG_OK;
}

typedef struct arrival {
    incoming *in;
    size_t n;
} arrival;

/* One attempt: every op in one write transaction. */
static int receive_once(msglog *log, void *ctx)
{
    incoming *in = ((arrival *)ctx)->in;
    size_t n = ((arrival *)ctx)->n;
    wctx w;
    int rc = wctx_begin(log, &w);
    for (size_t i = 0; i < n && !rc; i++)
        rc = receive_one(&w, &in[i].o, in[i].enc, in[i].len);
    if (rc) {
        wctx_abort(&w);
        return ml_fail(log, rc, "receiving ops failed: %s", msglog_strerror(rc));
    }
    size_t equivocal = w.equivocal, dropped = w.dropped;
    rc = engine_commit(&w);
    if (rc)
        return rc;
    if (equivocal)
        return ml_fail(log, MSGLOG_EEQUIVOCAL,
                       "%zu op(s) reuse an id held with different content and were refused; "
                       "%zu dropped for a full pending buffer; the rest is committed",
                       equivocal, dropped);
    if (dropped)
        return ml_fail(log, MSGLOG_EPENDINGFULL,
                       "the pending buffer is full: %zu op(s) waiting for dependencies were dropped; "
                       "the rest is committed", dropped);
    return MSGLOG_OK;
}

int msglog_receive_batch(msglog *log, const msglog_buf *ops, size_t n_ops)
{
    if (!log || (!ops && n_ops))
        return ml_fail(log, MSGLOG_EINVAL, "msglog_receive_batch: NULL argument");
    incoming *in = NULL;
    int rc = decode_all(log, ops, n_ops, &in);
    if (rc)
        return rc;
    qsort(in, n_ops, sizeof *in, by_hlc);
    arrival a = { in, n_ops };
    rc = ml_retry_grown(log, receive_once, &a);
    incoming_free(in, n_ops);
    return rc ? rc : ml_ok(log);
}

int msglog_receive(msglog *log, const void *op_bytes, size_t op_len)
{
    msglog_buf one = { op_bytes, op_len };
    return msglog_receive_batch(log, &one, 1);
}
