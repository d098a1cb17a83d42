/*
 * Sync messages, format version 1 (docs/format.md, "Sync messages"):
 *
 *   request   [1, 1, all_convs (bool), [[conv, [r1, s1, ...]], ...]]
 *   response  [1, 2, [bin, bin, ...]]     each bin one op encoding
 *
 * Decoding frames only; the ops inside a response are decoded one by one by
 * the receiver (codec_op_decode), so a bad op is reported as that op's error.
 */
#include "codec/op_codec.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "codec/bounded.h"
#include "codec/out.h"
#include "crdt/utf8.h"

#define SYNC_REQUEST 1
#define SYNC_RESPONSE 2

/* Caps on what one message may make the decoder allocate, besides the
 * bytes it holds. */
#define SYNC_MAX_CONVS 100000
#define SYNC_MAX_OPS 10000000
#define SYNC_MAX_OP_BYTES (1024 * 1024)

/* msgpack arrays count in uint32. */
#define SYNC_MAX_ARRAY UINT32_MAX

/* ---------------------------------------------------------------------- */
/* Request                                                                 */

static int check_conv(const uint8_t *s, size_t n, int bad)
{
    if (n > OP_MAX_CONV)
        return CODEC_ELIMIT;
    if (n == 0 || s == NULL || !utf8_valid(s, n))
        return bad;
    return CODEC_OK;
}

static int check_request(const codec_sync_request *req)
{
    int rc;

    if (req->n_convs > SYNC_MAX_CONVS)
        return CODEC_ELIMIT;
    if (req->n_convs > 0 && req->convs == NULL)
        return CODEC_EINVAL;
    for (size_t i = 0; i < req->n_convs; i++) {
        const codec_vv_conv *c = &req->convs[i];
        if ((rc = check_conv(c->conv, c->conv_len, CODEC_EINVAL)) != CODEC_OK)
            return rc;
        if (c->n_vv > SYNC_MAX_ARRAY / 2)
            return CODEC_ELIMIT;
        if (c->n_vv > 0 && c->vv == NULL)
            return CODEC_EINVAL;
        for (size_t j = 0; j < c->n_vv; j++)
            if (c->vv[j].replica == 0 || c->vv[j].seq == 0)
                return CODEC_EINVAL;
    }
    return CODEC_OK;
}

static size_t request_hint(const codec_sync_request *req)
{
    size_t n = 16;
    for (size_t i = 0; i < req->n_convs; i++)
        n += 11 + req->convs[i].conv_len + 18 * req->convs[i].n_vv;
    return n;
}

static void pack_request(msgpack_packer *pk, const codec_sync_request *req)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint64(pk, CODEC_FORMAT_VERSION);
    msgpack_pack_uint64(pk, SYNC_REQUEST);
    if (req->all_convs)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    msgpack_pack_array(pk, req->n_convs);
    for (size_t i = 0; i < req->n_convs; i++) {
        const codec_vv_conv *c = &req->convs[i];
        msgpack_pack_array(pk, 2);
        msgpack_pack_str(pk, c->conv_len);
        msgpack_pack_str_body(pk, c->conv, c->conv_len);
        msgpack_pack_array(pk, 2 * c->n_vv);
        for (size_t j = 0; j < c->n_vv; j++) {
            msgpack_pack_uint64(pk, c->vv[j].replica);
            msgpack_pack_uint64(pk, c->vv[j].seq);
        }
    }
}

int codec_sync_request_encode(uint8_t **out, size_t *out_len,
                              const codec_sync_request *req)
{
    codec_out buf;
    msgpack_packer pk;
    int rc;

    if (out == NULL || out_len == NULL || req == NULL)
        return CODEC_EINVAL;
    *out = NULL;
    *out_len = 0;
    if ((rc = check_request(req)) != CODEC_OK)
        return rc;
    codec_out_init(&buf, request_hint(req));
    msgpack_packer_init(&pk, &buf, codec_out_write);
    pack_request(&pk, req);
    return codec_out_finish(&buf, out, out_len);
}

/* One [conv, vv] entry. */
static int read_vv_conv(codec_rd *r, codec_vv_conv *c)
{
    size_t n;
    int rc;

    if (codec_rd_array(r, &n) != CODEC_OK || n != 2 ||
        codec_rd_str(r, &c->conv, &c->conv_len) != CODEC_OK)
        return CODEC_ECORRUPT;
    if ((rc = check_conv(c->conv, c->conv_len, CODEC_ECORRUPT)) != CODEC_OK)
        return rc;
    /* No cap besides the bytes: a conversation may have many replicas. */
    return codec_rd_ids(r, SIZE_MAX, &c->vv, &c->n_vv);
}

/* Opens a sync frame of the wanted type: version and type from the head
 * alone, then the whole frame is walked before anything is allocated. */
static int open_frame(codec_rd *r, const uint8_t *buf, size_t len,
                      uint64_t want, size_t fields)
{
    size_t n;
    uint64_t type;
    int rc;

    if (buf == NULL)
        return CODEC_ECORRUPT;
    codec_rd_init(r, buf, len);
    if ((rc = codec_frame_head(r, &n, &type)) != CODEC_OK)
        return rc;
    if (type != want || n != fields ||
        codec_bounded_whole(buf, len) != CODEC_OK)
        return CODEC_ECORRUPT;
    return CODEC_OK;
}

static int decode_request(codec_sync_request *req, const uint8_t *buf,
                          size_t len)
{
    codec_rd r;
    size_t n;
    int rc;

    if ((rc = open_frame(&r, buf, len, SYNC_REQUEST, 4)) != CODEC_OK)
        return rc;
    if (codec_rd_bool(&r, &req->all_convs) != CODEC_OK ||
        codec_rd_array(&r, &n) != CODEC_OK)
        return CODEC_ECORRUPT;
    if (n > SYNC_MAX_CONVS)
        return CODEC_ELIMIT;
    if (n == 0)
        return CODEC_OK;
    req->convs = calloc(n, sizeof *req->convs);
    if (req->convs == NULL)
        return CODEC_ENOMEM;
    req->n_convs = n;   /* entries not yet read are zero: clear() frees all */
    for (size_t i = 0; i < n; i++)
        if ((rc = read_vv_conv(&r, &req->convs[i])) != CODEC_OK)
            return rc;
    return r.p == r.end ? CODEC_OK : CODEC_ECORRUPT;
}

int codec_sync_request_decode(codec_sync_request *out, const uint8_t *buf,
                              size_t len)
{
    int rc;

    if (out == NULL)
        return CODEC_EINVAL;
    memset(out, 0, sizeof *out);
    rc = decode_request(out, buf, len);
    if (rc != CODEC_OK)
        codec_sync_request_clear(out);
    return rc;
}

void codec_sync_request_clear(codec_sync_request *req)
{
    if (req == NULL)
        return;
    for (size_t i = 0; i < req->n_convs; i++)
        free(req->convs[i].vv);
    free(req->convs);
    memset(req, 0, sizeof *req);
}

/* ---------------------------------------------------------------------- */
/* Response                                                                */

static int check_ops(const codec_bytes *ops, size_t n_ops)
{
    if (n_ops > SYNC_MAX_OPS)
        return CODEC_ELIMIT;
    if (n_ops > 0 && ops == NULL)
        return CODEC_EINVAL;
    for (size_t i = 0; i < n_ops; i++) {
        if (ops[i].len > SYNC_MAX_OP_BYTES)
            return CODEC_ELIMIT;
        if (ops[i].len > 0 && ops[i].data == NULL)
            return CODEC_EINVAL;
    }
    return CODEC_OK;
}

int codec_sync_response_encode(uint8_t **out, size_t *out_len,
                               const codec_bytes *ops, size_t n_ops)
{
    codec_out buf;
    msgpack_packer pk;
    size_t hint = 16;
    int rc;

    if (out == NULL || out_len == NULL)
        return CODEC_EINVAL;
    *out = NULL;
    *out_len = 0;
    if ((rc = check_ops(ops, n_ops)) != CODEC_OK)
        return rc;
    /* Saturates rather than wraps where size_t is 32 bits; growth then
     * fails cleanly with CODEC_ENOMEM. */
    for (size_t i = 0; i < n_ops && hint != SIZE_MAX; i++)
        hint = ops[i].len + 5 > SIZE_MAX - hint ? SIZE_MAX
                                                : hint + 5 + ops[i].len;
    codec_out_init(&buf, hint);
    msgpack_packer_init(&pk, &buf, codec_out_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint64(&pk, CODEC_FORMAT_VERSION);
    msgpack_pack_uint64(&pk, SYNC_RESPONSE);
    msgpack_pack_array(&pk, n_ops);
    for (size_t i = 0; i < n_ops; i++) {
        msgpack_pack_bin(&pk, ops[i].len);
        msgpack_pack_bin_body(&pk, ops[i].data, ops[i].len);
    }
    return codec_out_finish(&buf, out, out_len);
}

static int decode_response(codec_bytes **ops, size_t *n_ops,
                           const uint8_t *buf, size_t len)
{
    codec_rd r;
    size_t n;
    int rc;

    if ((rc = open_frame(&r, buf, len, SYNC_RESPONSE, 3)) != CODEC_OK)
        return rc;
    if (codec_rd_array(&r, &n) != CODEC_OK)
        return CODEC_ECORRUPT;
    if (n > SYNC_MAX_OPS)
        return CODEC_ELIMIT;
    if (n == 0)
        return CODEC_OK;
    codec_bytes *a = malloc(n * sizeof *a);
    if (a == NULL)
        return CODEC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        rc = codec_rd_bin(&r, &a[i].data, &a[i].len);
        if (rc == CODEC_OK && a[i].len > SYNC_MAX_OP_BYTES)
            rc = CODEC_ELIMIT;
        if (rc != CODEC_OK) {
            free(a);
            return rc;
        }
    }
    if (r.p != r.end) {
        free(a);
        return CODEC_ECORRUPT;
    }
    *ops = a;
    *n_ops = n;
    return CODEC_OK;
}

int codec_sync_response_decode(codec_bytes **ops, size_t *n_ops,
                               const uint8_t *buf, size_t len)
{
    if (ops == NULL || n_ops == NULL)
        return CODEC_EINVAL;
    *ops = NULL;
    *n_ops = 0;
    return decode_response(ops, n_ops, buf, len);
}
