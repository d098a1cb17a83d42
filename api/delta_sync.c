/* Delta sync without sockets: the receiver sends its version vectors, the
 * sender answers with the delivered ops the receiver lacks. One round trip.
 * Ops are read by (origin, seq) ranges (log/op_range.h): for each origin
 * only the suffix past the receiver's entry, a sequential cursor walk. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/grow.h"
#include "log/op_range.h"

static int read_begin(msglog *log, store_txn **t)
{
    int rc = store_txn_begin(log->st, 0, t);
    return rc ? ml_fail(log, rc, "cannot begin a read transaction") : MSGLOG_OK;
}

/* ---- request ------------------------------------------------------------ */

static void request_free(codec_sync_request *req)
{
    for (size_t i = 0; i < req->n_convs; i++)
        free(req->convs[i].vv);
    free(req->convs);
    memset(req, 0, sizeof *req);
}

/* Appends conversation `name` with this store's vector (empty when the
 * store does not know it). The name is borrowed. */
static int request_add(codec_sync_request *req, size_t *cap, store_txn *t, const uint8_t *name,
                       size_t len)
{
    codec_vv_conv *arr = grow_array(req->convs, cap, req->n_convs + 1, sizeof *arr);
    if (!arr)
        return MSGLOG_ENOMEM;
    req->convs = arr;
    conv_state c;
    int rc = conv_lookup(t, name, len, &c);
    if (rc && rc != MSGLOG_ENOTFOUND)
        return rc;
    codec_vv_conv *e = &arr[req->n_convs++];
    *e = (codec_vv_conv){ name, len, NULL, 0 };
    if (rc == MSGLOG_OK) {
        e->vv = c.delivered.e;      /* taken over from the state */
        e->n_vv = c.delivered.n;
        c.delivered.e = NULL;
        conv_free(&c);
    }
    return MSGLOG_OK;
}

typedef struct request_ctx {
    codec_sync_request *req;
    size_t cap;
    store_txn *t;
} request_ctx;

static int request_add_one(void *ctx, const uint8_t *name, size_t len)
{
    request_ctx *r = ctx;
    return request_add(r->req, &r->cap, r->t, name, len);
}

static int request_add_all(codec_sync_request *req, store_txn *t)
{
    request_ctx r = { req, 0, t };
    return conv_foreach(t, request_add_one, &r);
}

int msglog_sync_request(msglog *log, void **out, size_t *out_len, const char *conv,
                        size_t conv_len)
{
    if (!log || !out || !out_len || (conv && (conv_len == 0 || conv_len > MSGLOG_MAX_CONV)))
        return ml_fail(log, MSGLOG_EINVAL, "msglog_sync_request: bad argument");
    *out = NULL;
    *out_len = 0;
    codec_sync_request req = { .all_convs = conv == NULL };
    store_txn *t;
    int rc = read_begin(log, &t);
    if (rc)
        return rc;
    size_t cap = 0;
    rc = conv ? request_add(&req, &cap, t, (const uint8_t *)conv, conv_len)
              : request_add_all(&req, t);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!rc)
        rc = codec_sync_request_encode(&buf, &len, &req);
    request_free(&req);
    store_txn_abort(t);
    if (rc)
        return ml_fail(log, rc, "cannot build the sync request: %s", msglog_strerror(rc));
    *out = buf;
    *out_len = len;
    return ml_ok(log);
}

/* ---- response ----------------------------------------------------------- */

typedef struct oplist {
    codec_bytes *e;    /* borrowed from the read transaction */
    size_t n, cap;
} oplist;

static int oplist_push(void *ctx, const uint8_t *p, size_t len)
{
    oplist *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        codec_bytes *e = realloc(l->e, cap * sizeof *e);
        if (!e)
            return MSGLOG_ENOMEM;
        l->e = e;
        l->cap = cap;
    }
    l->e[l->n++] = (codec_bytes){ p, len };
    return MSGLOG_OK;
}

/* The versions of origin `replica` with seq in [from, to] that range r
 * reads (the delivered ones or the evidence), in seq order. */
static int append_range(op_range *r, uint64_t replica, uint64_t from, uint64_t to, oplist *l)
{
    const uint8_t *enc;
    size_t len;
    int rc = op_range_seek(r, replica, from, to);
    while (rc == MSGLOG_OK) {
        rc = op_range_encoding(r, &enc, &len);
        if (!rc)
            rc = oplist_push(l, enc, len);
        if (!rc)
            rc = op_range_next(r);
    }
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

/* Everything delivered here in `name` that `theirs` does not cover, and
 * the other versions of those ids when the conversation holds evidence
 * (each origin's right after its delivered ones). */
static int append_missing(store_txn *t, const uint8_t *name, size_t len,
                          const codec_vv_conv *theirs, oplist *l)
{
    conv_state c;
    int rc = conv_lookup(t, name, len, &c);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
    vv have = { 0 };
    for (size_t i = 0; theirs && i < theirs->n_vv && !rc; i++)
        if (vv_set(&have, theirs->vv[i].replica, theirs->vv[i].seq) != 0)
            rc = MSGLOG_ENOMEM;
    op_range ops = { 0 }, ev = { 0 };
    int evidence = 0;
    if (!rc)
        rc = equiv_held(t, c.cid, &evidence);
    if (!rc)
        rc = op_range_open(&ops, t, OP_RANGE_OPS, c.cid);
    if (!rc && evidence)
        rc = op_range_open(&ev, t, OP_RANGE_EVIDENCE, c.cid);
    for (size_t i = 0; i < c.delivered.n && !rc; i++) {
        op_id e = c.delivered.e[i];
        uint64_t from = vv_get(&have, e.replica) + 1;
        if (from <= e.seq)
            rc = append_range(&ops, e.replica, from, e.seq, l);
        if (!rc && from <= e.seq && evidence)
            rc = append_range(&ev, e.replica, from, e.seq, l);
    }
    op_range_close(&ev);
    op_range_close(&ops);
    vv_free(&have);
    conv_free(&c);
    return rc;
}

static int conv_name_cmp(const void *a, const void *b)
{
    const codec_vv_conv *x = a, *y = b;
    int c = memcmp(x->conv, y->conv, x->conv_len < y->conv_len ? x->conv_len : y->conv_len);
    return c ? c : (x->conv_len > y->conv_len) - (x->conv_len < y->conv_len);
}

typedef struct answer_ctx {
    store_txn *t;
    const codec_sync_request *req;   /* convs sorted by name */
    oplist *l;
} answer_ctx;

static int answer_one(void *ctx, const uint8_t *name, size_t len)
{
    answer_ctx *a = ctx;
    codec_vv_conv probe = { name, len, NULL, 0 };
    const codec_vv_conv *theirs = a->req->n_convs ?
        bsearch(&probe, a->req->convs, a->req->n_convs, sizeof *a->req->convs, conv_name_cmp) : NULL;
    return append_missing(a->t, name, len, theirs, a->l);
}

static int append_all(store_txn *t, codec_sync_request *req, oplist *l)
{
    if (req->n_convs)
        qsort(req->convs, req->n_convs, sizeof *req->convs, conv_name_cmp);
    answer_ctx a = { t, req, l };
    return conv_foreach(t, answer_one, &a);
}

int msglog_sync_response(msglog *log, void **out, size_t *out_len, const void *request,
                         size_t request_len)
{
    if (!log || !out || !out_len || (!request && request_len))
        return ml_fail(log, MSGLOG_EINVAL, "msglog_sync_response: bad argument");
    *out = NULL;
    *out_len = 0;
    codec_sync_request req;
    int rc = codec_sync_request_decode(&req, request, request_len);
    if (rc)
        return ml_codec_fail(log, rc, "sync request");
    store_txn *t;
    oplist l = { 0 };
    rc = read_begin(log, &t);
    if (!rc && req.all_convs)
        rc = append_all(t, &req, &l);
    for (size_t i = 0; !rc && !req.all_convs && i < req.n_convs; i++)
        rc = append_missing(t, req.convs[i].conv, req.convs[i].conv_len, &req.convs[i], &l);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!rc)
        rc = codec_sync_response_encode(&buf, &len, l.e, l.n);
    store_txn_abort(t);
    free(l.e);
    codec_sync_request_clear(&req);
    if (rc)
        return ml_fail(log, rc, "cannot build the sync response: %s", msglog_strerror(rc));
    *out = buf;
    *out_len = len;
    return ml_ok(log);
}

int msglog_sync_apply(msglog *log, const void *response, size_t response_len)
{
    if (!log || (!response && response_len))
        return ml_fail(log, MSGLOG_EINVAL, "msglog_sync_apply: bad argument");
    codec_bytes *ops;
    size_t n;
    int rc = codec_sync_response_decode(&ops, &n, response, response_len);
    if (rc)
        return ml_codec_fail(log, rc, "sync response");
    /* codec_bytes and msglog_buf have the same shape; copy to stay honest. */
    msglog_buf *bufs = malloc((n ? n : 1) * sizeof *bufs);
    if (!bufs) {
        free(ops);
        return ml_fail(log, MSGLOG_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        bufs[i] = (msglog_buf){ ops[i].data, ops[i].len };
    free(ops);
    rc = msglog_receive_batch(log, bufs, n);
    free(bufs);
    return rc;
}
