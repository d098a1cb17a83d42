/*
 * libFuzzer target: both sync message decoders on every input (a request
 * handed to the response decoder, and the reverse, must be refused cleanly,
 * so there is no selector byte: each input goes to both).
 *
 *  - codec_sync_request_decode: on success re-encoded with
 *    codec_sync_request_encode and compared byte for byte with the input;
 *    the decoded shape is checked (conversations 1..255 bytes, no zero in a
 *    version vector); on error the output is zeroed.
 *  - codec_sync_response_decode: on success re-encoded with
 *    codec_sync_response_encode and compared; every entry lies inside the
 *    input; each entry is then handed to codec_op_decode, and an accepted op
 *    must re-encode to the entry's bytes.
 *
 * Plus, as for every target: no crash, leak, UB, or allocation over
 * -malloc_limit_mb.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"

#define FAIL(...) do { fprintf(stderr, "fuzz_sync_decode: " __VA_ARGS__); \
                       fputc('\n', stderr); abort(); } while (0)

static int known_error(int rc)
{
    return rc == CODEC_ECORRUPT || rc == CODEC_EVERSION ||
           rc == CODEC_ELIMIT || rc == CODEC_ENOMEM;
}

static int inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
    return p >= buf && p <= buf + len && n <= (size_t)(buf + len - p);
}

static void request(const uint8_t *data, size_t size)
{
    codec_sync_request req;
    int rc = codec_sync_request_decode(&req, data, size);
    if (rc != CODEC_OK) {
        if (!known_error(rc))
            FAIL("request: undocumented result %d", rc);
        if (req.convs || req.n_convs || req.all_convs)
            FAIL("request: error %d left output behind", rc);
        codec_sync_request_clear(&req);
        return;
    }
    if (req.all_convs != 0 && req.all_convs != 1)
        FAIL("request: all_convs %d", req.all_convs);
    for (size_t i = 0; i < req.n_convs; i++) {
        const codec_vv_conv *c = &req.convs[i];
        if (c->conv_len < 1 || c->conv_len > OP_MAX_CONV ||
            !inside(c->conv, c->conv_len, data, size))
            FAIL("request: conversation %zu of length %zu", i, c->conv_len);
        for (size_t j = 0; j < c->n_vv; j++)
            if (c->vv[j].replica == 0 || c->vv[j].seq == 0)
                FAIL("request: zero in the vector of conversation %zu", i);
    }
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    rc = codec_sync_request_encode(&enc, &enc_len, &req);
    if (rc != CODEC_OK)
        FAIL("request: decoded request does not re-encode: %d", rc);
    if (enc_len != size || memcmp(enc, data, size) != 0)
        FAIL("request: re-encoding differs: %zu bytes in, %zu out", size, enc_len);
    free(enc);
    codec_sync_request_clear(&req);
}

static void one_op(const codec_bytes *e)
{
    op o;
    if (codec_op_decode(&o, e->data, e->len) != CODEC_OK)
        return;
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    int rc = codec_op_encode(&enc, &enc_len, &o, 0);
    if (rc != CODEC_OK)
        FAIL("response: an accepted entry does not re-encode: %d", rc);
    if (enc_len != e->len || memcmp(enc, e->data, e->len) != 0)
        FAIL("response: an entry re-encodes differently");
    free(enc);
    codec_op_clear(&o);
}

static void response(const uint8_t *data, size_t size)
{
    codec_bytes *ops = (codec_bytes *)1;
    size_t n = 1234;
    int rc = codec_sync_response_decode(&ops, &n, data, size);
    if (rc != CODEC_OK) {
        if (!known_error(rc))
            FAIL("response: undocumented result %d", rc);
        if (ops != NULL || n != 0)
            FAIL("response: error %d left output behind", rc);
        return;
    }
    if (n && !ops)
        FAIL("response: %zu entries, no table", n);
    for (size_t i = 0; i < n; i++)
        if (!inside(ops[i].data, ops[i].len, data, size))
            FAIL("response: entry %zu outside the input", i);
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    rc = codec_sync_response_encode(&enc, &enc_len, ops, n);
    if (rc != CODEC_OK)
        FAIL("response: decoded response does not re-encode: %d", rc);
    if (enc_len != size || memcmp(enc, data, size) != 0)
        FAIL("response: re-encoding differs: %zu bytes in, %zu out", size, enc_len);
    free(enc);
    for (size_t i = 0; i < n; i++)
        one_op(&ops[i]);
    free(ops);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    request(data, size);
    response(data, size);
    return 0;
}
