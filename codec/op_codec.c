/*
 * Op encoding, format version 1 (docs/format.md, "Op encoding"):
 *
 *   [1, kind, conv, replica, seq, hlc, user, [r1, s1, ...deps], ...by kind]
 *
 *   SEND    body
 *   EDIT    target.replica, target.seq, body, [refs]
 *   DELETE  target.replica, target.seq
 *   REACT   target.replica, target.seq, key
 *   UNREACT target.replica, target.seq, key, [refs]
 *   READ    target.replica, target.seq
 *
 * body is a str, or a 16-byte bin (the body hash) once a delete erased it.
 * The encoder validates what the decoder would refuse, so anything encoded
 * decodes; the decoder accepts only canonical bytes, so decoding and
 * re-encoding gives the same bytes.
 */
#include "codec/op_codec.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "codec/bounded.h"
#include "codec/out.h"
#include "crdt/hlc.h"
#include "crdt/utf8.h"

/* Elements of the op array, by kind. */
static const uint8_t kind_fields[OP_KIND_MAX + 1] = {
    [OP_SEND] = 9, [OP_EDIT] = 12, [OP_DELETE] = 10,
    [OP_REACT] = 11, [OP_UNREACT] = 12, [OP_READ] = 10,
};

static int has_target(uint8_t kind)
{
    return kind != OP_SEND;
}

static int has_key(uint8_t kind)
{
    return kind == OP_REACT || kind == OP_UNREACT;
}

static int has_refs(uint8_t kind)
{
    return kind == OP_EDIT || kind == OP_UNREACT;
}

/* ---------------------------------------------------------------------- */
/* Checks shared by both directions                                        */

/* A conv/user/key/body string: CODEC_ELIMIT over max, else `bad` when it is
 * shorter than min or not UTF-8. The decoder passes CODEC_ECORRUPT as bad,
 * the encoder CODEC_EINVAL. */
static int check_text(const uint8_t *s, size_t n, size_t min, size_t max,
                      int bad)
{
    if (n > max)
        return CODEC_ELIMIT;
    if (n < min || (n > 0 && s == NULL) || !utf8_valid(s, n))
        return bad;
    return CODEC_OK;
}

/* ---------------------------------------------------------------------- */
/* Encoding                                                                */

static int check_ids(const op_id *ids, size_t n, size_t max)
{
    if (n > max)
        return CODEC_ELIMIT;
    if (n > 0 && ids == NULL)
        return CODEC_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (ids[i].replica == 0 || ids[i].seq == 0)
            return CODEC_EINVAL;
    return CODEC_OK;
}

/* Refuses what codec_op_decode would refuse. */
static int check_op(const op *o, int erased)
{
    int rc;

    if (o->kind < 1 || o->kind > OP_KIND_MAX)
        return CODEC_EKIND;
    if ((rc = check_text(o->conv, o->conv_len, 1, OP_MAX_CONV,
                         CODEC_EINVAL)) != CODEC_OK ||
        (rc = check_text(o->user, o->user_len, 1, OP_MAX_USER,
                         CODEC_EINVAL)) != CODEC_OK ||
        (rc = check_ids(o->deps, o->n_deps, OP_MAX_DEPS)) != CODEC_OK)
        return rc;
    if (o->id.replica == 0 || o->id.seq == 0 || !hlc_valid(o->hlc))
        return CODEC_EINVAL;
    if (has_target(o->kind) &&
        (o->target.replica == 0 || o->target.seq == 0))
        return CODEC_EINVAL;
    if (op_has_body(o->kind) && !erased &&
        (rc = check_text(o->body, o->body_len, 0, OP_MAX_BODY,
                         CODEC_EINVAL)) != CODEC_OK)
        return rc;
    if (has_key(o->kind) &&
        (rc = check_text(o->key, o->key_len, 1, OP_MAX_KEY,
                         CODEC_EINVAL)) != CODEC_OK)
        return rc;
    if (has_refs(o->kind))
        return check_ids(o->refs, o->n_refs, OP_MAX_REFS);
    return CODEC_OK;
}

/* An upper bound of the encoding: 9 bytes per uint, 5 per str header. */
static size_t size_hint(const op *o)
{
    size_t n = 5 + 9 * 8 + 3 * 5 + o->conv_len + o->user_len;

    n += 18 * o->n_deps;
    if (op_has_body(o->kind))
        n += 5 + (o->body_len > OP_HASH_LEN ? o->body_len : OP_HASH_LEN);
    if (has_key(o->kind))
        n += 5 + o->key_len;
    if (has_refs(o->kind))
        n += 5 + 18 * o->n_refs;
    return n;
}

static void pack_str(msgpack_packer *pk, const uint8_t *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Flat [r1, s1, r2, s2, ...]. */
static void pack_ids(msgpack_packer *pk, const op_id *ids, size_t n)
{
    msgpack_pack_array(pk, 2 * n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_uint64(pk, ids[i].replica);
        msgpack_pack_uint64(pk, ids[i].seq);
    }
}

static void pack_body(msgpack_packer *pk, const op *o, int erased)
{
    if (erased) {
        msgpack_pack_bin(pk, OP_HASH_LEN);
        msgpack_pack_bin_body(pk, o->body_hash, OP_HASH_LEN);
    } else {
        pack_str(pk, o->body, o->body_len);
    }
}

/* Write errors are sticky in codec_out and checked once by the caller. */
static void pack_op(msgpack_packer *pk, const op *o, int erased)
{
    msgpack_pack_array(pk, kind_fields[o->kind]);
    msgpack_pack_uint64(pk, CODEC_FORMAT_VERSION);
    msgpack_pack_uint64(pk, o->kind);
    pack_str(pk, o->conv, o->conv_len);
    msgpack_pack_uint64(pk, o->id.replica);
    msgpack_pack_uint64(pk, o->id.seq);
    msgpack_pack_uint64(pk, o->hlc);
    pack_str(pk, o->user, o->user_len);
    pack_ids(pk, o->deps, o->n_deps);
    if (o->kind == OP_SEND) {
        pack_body(pk, o, erased);
        return;
    }
    msgpack_pack_uint64(pk, o->target.replica);
    msgpack_pack_uint64(pk, o->target.seq);
    if (o->kind == OP_EDIT)
        pack_body(pk, o, erased);
    if (has_key(o->kind))
        pack_str(pk, o->key, o->key_len);
    if (has_refs(o->kind))
        pack_ids(pk, o->refs, o->n_refs);
}

int codec_op_encode(uint8_t **out, size_t *out_len, const op *o, int erase)
{
    codec_out buf;
    msgpack_packer pk;
    int rc;

    if (out == NULL || out_len == NULL || o == NULL)
        return CODEC_EINVAL;
    *out = NULL;
    *out_len = 0;
    erase = erase || o->erased;
    if ((rc = check_op(o, erase)) != CODEC_OK)
        return rc;
    codec_out_init(&buf, size_hint(o));
    msgpack_packer_init(&pk, &buf, codec_out_write);
    pack_op(&pk, o, erase);
    return codec_out_finish(&buf, out, out_len);
}

/* ---------------------------------------------------------------------- */
/* Decoding                                                                */

static int read_text(codec_rd *r, size_t max, const uint8_t **s, size_t *n)
{
    if (codec_rd_str(r, s, n) != CODEC_OK)
        return CODEC_ECORRUPT;
    return check_text(*s, *n, 1, max, CODEC_ECORRUPT);
}

static int read_target(codec_rd *r, op_id *id)
{
    if (codec_rd_id(r, &id->replica) != CODEC_OK ||
        codec_rd_id(r, &id->seq) != CODEC_OK)
        return CODEC_ECORRUPT;
    return CODEC_OK;
}

/* The text, or its hash when erased. */
static int read_body(codec_rd *r, op *o)
{
    const uint8_t *s;
    size_t n;

    if (codec_rd_next_is_bin(r)) {
        if (codec_rd_bin(r, &s, &n) != CODEC_OK || n != OP_HASH_LEN)
            return CODEC_ECORRUPT;
        memcpy(o->body_hash, s, OP_HASH_LEN);
        o->erased = 1;
        return CODEC_OK;
    }
    if (codec_rd_str(r, &s, &n) != CODEC_OK)
        return CODEC_ECORRUPT;
    o->body = s;
    o->body_len = n;
    return check_text(s, n, 0, OP_MAX_BODY, CODEC_ECORRUPT);
}

/* Elements [2..7], common to every kind. */
static int read_common(codec_rd *r, op *o)
{
    int rc;

    if ((rc = read_text(r, OP_MAX_CONV, &o->conv, &o->conv_len)) != CODEC_OK)
        return rc;
    if (codec_rd_id(r, &o->id.replica) != CODEC_OK ||
        codec_rd_id(r, &o->id.seq) != CODEC_OK ||
        codec_rd_uint(r, &o->hlc) != CODEC_OK || !hlc_valid(o->hlc))
        return CODEC_ECORRUPT;
    if ((rc = read_text(r, OP_MAX_USER, &o->user, &o->user_len)) != CODEC_OK)
        return rc;
    return codec_rd_ids(r, OP_MAX_DEPS, &o->deps, &o->n_deps);
}

/* Elements [8..], in the order pack_op writes them. */
static int read_by_kind(codec_rd *r, op *o)
{
    int rc;

    if (o->kind == OP_SEND)
        return read_body(r, o);
    if ((rc = read_target(r, &o->target)) != CODEC_OK)
        return rc;
    if (o->kind == OP_EDIT && (rc = read_body(r, o)) != CODEC_OK)
        return rc;
    if (has_key(o->kind) &&
        (rc = read_text(r, OP_MAX_KEY, &o->key, &o->key_len)) != CODEC_OK)
        return rc;
    if (has_refs(o->kind))
        return codec_rd_ids(r, OP_MAX_REFS, &o->refs, &o->n_refs);
    return CODEC_OK;
}

/* Version and kind are judged from the head alone, so a frame of a newer
 * format or kind is reported as such even when its shape is unknown. */
static int decode(op *o, const uint8_t *buf, size_t len)
{
    codec_rd r;
    size_t n;
    uint64_t kind;
    int rc;

    codec_rd_init(&r, buf, len);
    if ((rc = codec_frame_head(&r, &n, &kind)) != CODEC_OK)
        return rc;
    if (kind < 1 || kind > OP_KIND_MAX)
        return CODEC_EKIND;
    if (codec_bounded_whole(buf, len) != CODEC_OK ||
        n != kind_fields[kind])
        return CODEC_ECORRUPT;
    o->kind = (uint8_t)kind;
    if ((rc = read_common(&r, o)) != CODEC_OK ||
        (rc = read_by_kind(&r, o)) != CODEC_OK)
        return rc;
    /* The walk already proved it; kept so a reader bug cannot pass. */
    return r.p == r.end ? CODEC_OK : CODEC_ECORRUPT;
}

int codec_op_decode(op *out, const uint8_t *buf, size_t len)
{
    int rc;

    if (out == NULL)
        return CODEC_EINVAL;
    memset(out, 0, sizeof *out);
    if (buf == NULL)
        return CODEC_ECORRUPT;
    rc = decode(out, buf, len);
    if (rc != CODEC_OK)
        codec_op_clear(out);
    return rc;
}

void codec_op_clear(op *o)
{
    if (o == NULL)
        return;
    free(o->deps);
    free(o->refs);
    memset(o, 0, sizeof *o);
}
