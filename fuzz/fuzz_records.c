/*
 * libFuzzer target: the stored-record decoders of codec/state_codec.c,
 * codec_conv_decode (table conv_state) and codec_msg_decode (table msgs), on
 * arbitrary bytes. A store's pages can be damaged on disk, so these decoders
 * must hold against any bytes, like the decoders of received ones.
 *
 * Every input goes to both decoders (no selector byte). Invariants, beyond
 * "no crash, no leak, no UB, no allocation over -malloc_limit_mb":
 *  - the result is 0, CODEC_ECORRUPT, CODEC_EVERSION or CODEC_ENOMEM
 *    (state_codec.h), and on error the output struct is all zero;
 *  - no input decodes as both records (their arrays have 9 and 7 elements);
 *  - a decoded record owns its memory: strings and id arrays are non-NULL
 *    when non-empty and never point into the input; ids are >= 1; flags,
 *    has_best are 0 or 1; a version vector's cap equals its length;
 *  - re-encoding succeeds and gives back the input byte for byte (a
 *    message's flags over 3 are refused, so every accepted record has one
 *    encoding);
 *  - decoding the re-encoding succeeds and gives the same record, field by
 *    field, and encoding that gives the same bytes again (a fixed point);
 *  - conv_free / msg_free leave the struct all zero.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "codec/state_codec.h"

#define FAIL(...) do { fprintf(stderr, "fuzz_records: " __VA_ARGS__); \
                       fputc('\n', stderr); abort(); } while (0)

static int is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static int known_result(int rc)
{
    return rc == CODEC_OK || rc == CODEC_ECORRUPT || rc == CODEC_EVERSION ||
           rc == CODEC_ENOMEM;
}

/* Owned memory never aliases the input, which the store frees on commit. */
static void check_owned(const void *p, size_t n, const uint8_t *in, size_t len,
                        const char *what)
{
    const uint8_t *b = p;
    if (n > 0 && b == NULL)
        FAIL("%s: %zu bytes, NULL pointer", what, n);
    if (b != NULL && b < in + len && b + n > in)
        FAIL("%s points into the input", what);
}

static void check_ids(const op_id *e, size_t n, const uint8_t *in, size_t len,
                      const char *what)
{
    check_owned(e, n * sizeof *e, in, len, what);
    for (size_t i = 0; i < n; i++)
        if (e[i].replica == 0 || e[i].seq == 0)
            FAIL("%s[%zu] has a zero", what, i);
}

static int bytes_eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static int ids_eq(const op_id *a, size_t an, const op_id *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an * sizeof *a) == 0);
}

/* ---- conversation state --------------------------------------------- */

static void conv_check_shape(const conv_state *c, const uint8_t *in, size_t len)
{
    check_ids(c->delivered.e, c->delivered.n, in, len, "delivered");
    check_ids(c->own_ctx.e, c->own_ctx.n, in, len, "own_ctx");
    if (c->delivered.cap != c->delivered.n || c->own_ctx.cap != c->own_ctx.n)
        FAIL("a vector's cap differs from its length");
    check_owned(c->reads, c->n_reads * sizeof *c->reads, in, len, "reads");
    for (size_t i = 0; i < c->n_reads; i++)
        check_owned(c->reads[i].user, c->reads[i].user_len, in, len, "read user");
}

static int conv_eq(const conv_state *a, const conv_state *b)
{
    if (a->cid != b->cid || a->maxhlc != b->maxhlc || a->pending != b->pending ||
        a->n_messages != b->n_messages || a->dig.lo != b->dig.lo ||
        a->dig.hi != b->dig.hi || a->n_reads != b->n_reads ||
        !ids_eq(a->delivered.e, a->delivered.n, b->delivered.e, b->delivered.n) ||
        !ids_eq(a->own_ctx.e, a->own_ctx.n, b->own_ctx.e, b->own_ctx.n))
        return 0;
    for (size_t i = 0; i < a->n_reads; i++) {
        const read_marker *x = &a->reads[i], *y = &b->reads[i];
        if (!bytes_eq(x->user, x->user_len, y->user, y->user_len) ||
            x->hlc != y->hlc || op_id_cmp(x->msg, y->msg) != 0)
            return 0;
    }
    return 1;
}

/* Returns 1 when the input decoded as a conversation state. */
static int conv(const uint8_t *data, size_t size)
{
    conv_state c;
    int rc = codec_conv_decode(&c, data, size);
    if (!known_result(rc))
        FAIL("conv: undocumented result %d", rc);
    if (rc != CODEC_OK) {
        if (!is_zero(&c, sizeof c))
            FAIL("conv: error %d left the state non-zero", rc);
        return 0;
    }
    conv_check_shape(&c, data, size);

    uint8_t *enc, *enc2;
    size_t enc_len, enc2_len;
    if ((rc = codec_conv_encode(&enc, &enc_len, &c)) != CODEC_OK)
        FAIL("conv: decoded state does not re-encode: %d", rc);
    if (!bytes_eq(enc, enc_len, data, size))
        FAIL("conv: re-encoding differs: %zu bytes in, %zu out", size, enc_len);
    conv_state d;
    if ((rc = codec_conv_decode(&d, enc, enc_len)) != CODEC_OK)
        FAIL("conv: the re-encoding does not decode: %d", rc);
    if (!conv_eq(&c, &d))
        FAIL("conv: decoding the re-encoding gives another state");
    if ((rc = codec_conv_encode(&enc2, &enc2_len, &d)) != CODEC_OK ||
        !bytes_eq(enc2, enc2_len, enc, enc_len))
        FAIL("conv: the second encoding differs from the first (%d)", rc);
    free(enc);
    free(enc2);
    conv_free(&d);
    conv_free(&c);
    if (!is_zero(&c, sizeof c))
        FAIL("conv_free left the state non-zero");
    return 1;
}

/* ---- message state ---------------------------------------------------- */

static void msg_check_shape(const msg_state *m, const uint8_t *in, size_t len)
{
    /* dup_str allocates a byte even for an empty string. */
    if (m->author == NULL)
        FAIL("msg: no author buffer");
    check_owned(m->author, m->author_len, in, len, "author");
    if ((m->deleted & ~1) || (m->edited & ~1) || (m->has_best & ~1))
        FAIL("msg: deleted %d, edited %d, has_best %d", m->deleted, m->edited,
             m->has_best);
    if (!m->has_best && (m->best.replica || m->best.seq || m->best_hlc))
        FAIL("msg: no best edit, but best fields set");
    check_ids(m->heads.e, m->heads.n, in, len, "heads");
    check_ids(m->edits.e, m->edits.n, in, len, "edits");
    check_owned(m->reactions, m->n_reactions * sizeof *m->reactions, in, len,
                "reactions");
    for (size_t i = 0; i < m->n_reactions; i++) {
        const reaction *r = &m->reactions[i];
        if (r->key == NULL || r->user == NULL)
            FAIL("msg: reaction %zu without key or user buffer", i);
        check_owned(r->key, r->key_len, in, len, "reaction key");
        check_owned(r->user, r->user_len, in, len, "reaction user");
        check_ids(r->live.e, r->live.n, in, len, "reaction live");
    }
}

static int msg_eq(const msg_state *a, const msg_state *b)
{
    if (!bytes_eq(a->author, a->author_len, b->author, b->author_len) ||
        a->deleted != b->deleted || a->edited != b->edited ||
        a->has_best != b->has_best || op_id_cmp(a->best, b->best) != 0 ||
        a->best_hlc != b->best_hlc || a->n_reactions != b->n_reactions ||
        !ids_eq(a->heads.e, a->heads.n, b->heads.e, b->heads.n) ||
        !ids_eq(a->edits.e, a->edits.n, b->edits.e, b->edits.n))
        return 0;
    for (size_t i = 0; i < a->n_reactions; i++) {
        const reaction *x = &a->reactions[i], *y = &b->reactions[i];
        if (!bytes_eq(x->key, x->key_len, y->key, y->key_len) ||
            !bytes_eq(x->user, x->user_len, y->user, y->user_len) ||
            !ids_eq(x->live.e, x->live.n, y->live.e, y->live.n))
            return 0;
    }
    return 1;
}

static int msg(const uint8_t *data, size_t size)
{
    msg_state m;
    int rc = codec_msg_decode(&m, data, size);
    if (!known_result(rc))
        FAIL("msg: undocumented result %d", rc);
    if (rc != CODEC_OK) {
        if (!is_zero(&m, sizeof m))
            FAIL("msg: error %d left the state non-zero", rc);
        return 0;
    }
    msg_check_shape(&m, data, size);

    uint8_t *enc, *enc2;
    size_t enc_len, enc2_len;
    if ((rc = codec_msg_encode(&enc, &enc_len, &m)) != CODEC_OK)
        FAIL("msg: decoded state does not re-encode: %d", rc);
    if (!bytes_eq(enc, enc_len, data, size))
        FAIL("msg: re-encoding differs: %zu bytes in, %zu out", size, enc_len);
    msg_state d;
    if ((rc = codec_msg_decode(&d, enc, enc_len)) != CODEC_OK)
        FAIL("msg: the re-encoding does not decode: %d", rc);
    if (!msg_eq(&m, &d))
        FAIL("msg: decoding the re-encoding gives another state");
    if ((rc = codec_msg_encode(&enc2, &enc2_len, &d)) != CODEC_OK ||
        !bytes_eq(enc2, enc2_len, enc, enc_len))
        FAIL("msg: the second encoding differs from the first (%d)", rc);
    free(enc);
    free(enc2);
    msg_free(&d);
    msg_free(&m);
    if (!is_zero(&m, sizeof m))
        FAIL("msg_free left the state non-zero");
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* `&`, not `&&`: both decoders see every input. */
    if (conv(data, size) & msg(data, size))
        FAIL("the input decodes as both records");
    return 0;
}
