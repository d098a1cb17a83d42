/*
 * libFuzzer target: the op decoder (codec_op_decode) on arbitrary bytes.
 *
 * Invariants, beyond "no crash, no leak, no UB, no allocation over
 * -malloc_limit_mb":
 *  - the result is one of the decoder's documented codes, and on error the
 *    output op is zeroed (owns nothing);
 *  - an accepted input is canonical: codec_op_encode() of the decoded op
 *    succeeds and gives back the input byte for byte (docs/format.md, "One
 *    encoding per op");
 *  - the decoded op keeps the documented shape: erased iff the body is NULL
 *    for a send or edit, fields within their limits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"

#define FAIL(...) do { fprintf(stderr, "fuzz_op_decode: " __VA_ARGS__); \
                       fputc('\n', stderr); abort(); } while (0)

static int is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void check_shape(const op *o)
{
    if (o->kind < 1 || o->kind > OP_KIND_MAX)
        FAIL("decoded kind %u", o->kind);
    if (o->conv_len < 1 || o->conv_len > OP_MAX_CONV || !o->conv)
        FAIL("conversation length %zu", o->conv_len);
    if (o->user_len < 1 || o->user_len > OP_MAX_USER || !o->user)
        FAIL("user length %zu", o->user_len);
    if (o->id.replica == 0 || o->id.seq == 0)
        FAIL("zero op id");
    if (o->n_deps > OP_MAX_DEPS || (o->n_deps && !o->deps))
        FAIL("%zu deps", o->n_deps);
    if (o->n_refs > OP_MAX_REFS || (o->n_refs && !o->refs))
        FAIL("%zu refs", o->n_refs);
    if (op_has_body(o->kind)) {
        if (o->erased ? o->body != NULL || o->body_len != 0
                      : o->body == NULL || o->body_len > OP_MAX_BODY)
            FAIL("body: erased %d, body %p, len %zu", o->erased,
                 (const void *)o->body, o->body_len);
    } else if (o->erased || o->body) {
        FAIL("kind %u has a body", o->kind);
    }
    if (o->kind != OP_SEND && (o->target.replica == 0 || o->target.seq == 0))
        FAIL("zero target");
    if ((o->kind == OP_REACT || o->kind == OP_UNREACT) &&
        (o->key_len < 1 || o->key_len > OP_MAX_KEY || !o->key))
        FAIL("key length %zu", o->key_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    op o;
    int rc = codec_op_decode(&o, data, size);
    switch (rc) {
    case CODEC_OK:
        break;
    case CODEC_ECORRUPT:
    case CODEC_EVERSION:
    case CODEC_ELIMIT:
    case CODEC_EKIND:
    case CODEC_ENOMEM:
        if (!is_zero(&o, sizeof o))
            FAIL("error %d left the op non-zero", rc);
        codec_op_clear(&o);
        return 0;
    default:
        FAIL("undocumented result %d", rc);
    }

    check_shape(&o);
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    rc = codec_op_encode(&enc, &enc_len, &o, 0);
    if (rc != CODEC_OK)
        FAIL("decoded op does not re-encode: %d", rc);
    if (enc_len != size || memcmp(enc, data, size) != 0)
        FAIL("re-encoding differs: %zu bytes in, %zu out", size, enc_len);
    free(enc);
    codec_op_clear(&o);
    if (!is_zero(&o, sizeof o))
        FAIL("codec_op_clear left the op non-zero");
    return 0;
}
