/* Stored state records (codec/state_codec.c): conv_state and msg_state
 * round trips with every field, golden bytes, truncation at every length,
 * version and trailing-byte errors, random mutations. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec/op_codec.h"
#include "codec/state_codec.h"
#include "support/rng.h"

#define ID(r, s) ((op_id){ (r), (s) })

static uint8_t *dup_mem(const void *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    cr_assert_not_null(d);
    if (n)
        memcpy(d, p, n);
    return d;
}

/* ---- builders ---------------------------------------------------------- */

static void add_read(conv_state *c, const char *user, uint64_t hlc, op_id msg)
{
    c->reads = realloc(c->reads, (c->n_reads + 1) * sizeof *c->reads);
    cr_assert_not_null(c->reads);
    read_marker *r = &c->reads[c->n_reads++];
    r->user_len = strlen(user);
    r->user = dup_mem(user, r->user_len);
    r->hlc = hlc;
    r->msg = msg;
}

/* A conversation state with every field set to a distinctive value. */
static void full_conv(conv_state *c)
{
    memset(c, 0, sizeof *c);
    c->cid = UINT32_C(0xdeadbeef);
    cr_assert_eq(vv_set(&c->delivered, 1, 5), 0);
    cr_assert_eq(vv_set(&c->delivered, 2, UINT64_MAX), 0);
    cr_assert_eq(vv_set(&c->delivered, (UINT64_C(1) << 53) - 1, 1), 0);
    cr_assert_eq(vv_set(&c->own_ctx, 1, 4), 0);
    cr_assert_eq(vv_set(&c->own_ctx, 2, 300), 0);
    c->maxhlc = UINT64_C(111411200000000005);
    c->pending = 3;
    c->n_messages = 42;
    c->dig = (digest){ UINT64_C(0x0123456789abcdef), UINT64_C(0xfedcba9876543210) };
    add_read(c, "alice", 111411200000000000, ID(1, 1));
    add_read(c, "bob", UINT64_MAX, ID(UINT64_MAX, UINT64_MAX));
    add_read(c, "\xc3\xa9mile", 0, ID(2, 70000));
}

static void add_reaction(msg_state *m, const char *key, const char *user,
                         const op_id *live, size_t n)
{
    m->reactions = realloc(m->reactions, (m->n_reactions + 1) * sizeof *m->reactions);
    cr_assert_not_null(m->reactions);
    reaction *r = &m->reactions[m->n_reactions++];
    memset(r, 0, sizeof *r);
    r->key_len = strlen(key);
    r->key = dup_mem(key, r->key_len);
    r->user_len = strlen(user);
    r->user = dup_mem(user, r->user_len);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(ids_add(&r->live, live[i]), 0);
}

/* A message state with every field set. */
static void full_msg(msg_state *m, int deleted, int edited)
{
    cr_assert_eq(msg_init(m, (const uint8_t *)"alice", 5), 0);
    m->deleted = deleted;
    m->edited = edited;
    m->has_best = 1;
    m->best = ID(2, 3);
    m->best_hlc = UINT64_C(111411200000000009);
    cr_assert_eq(ids_add(&m->heads, ID(2, 3)), 0);
    cr_assert_eq(ids_add(&m->heads, ID(3, 1)), 0);
    cr_assert_eq(ids_add(&m->edits, ID(1, 2)), 0);
    cr_assert_eq(ids_add(&m->edits, ID(2, 3)), 0);
    cr_assert_eq(ids_add(&m->edits, ID(3, 1)), 0);
    cr_assert_eq(ids_add(&m->edits, ID(UINT64_MAX, 1)), 0);
    add_reaction(m, "+1", "bob", (op_id[]){ ID(4, 1), ID(5, 2) }, 2);
    add_reaction(m, "+1", "carol", (op_id[]){ ID(6, 1) }, 1);
    add_reaction(m, "\xf0\x9f\x91\x8d", "bob", (op_id[]){ ID(4, 9) }, 1);
}

/* ---- comparisons -------------------------------------------------------- */

static void assert_idlist(const op_id *a, size_t an, const op_id *b, size_t bn, const char *what)
{
    cr_assert_eq(an, bn, "%s: %zu entries vs %zu", what, an, bn);
    for (size_t i = 0; i < an; i++)
        cr_assert(op_id_cmp(a[i], b[i]) == 0, "%s[%zu]: %llu.%llu vs %llu.%llu", what, i,
                  (unsigned long long)a[i].replica, (unsigned long long)a[i].seq,
                  (unsigned long long)b[i].replica, (unsigned long long)b[i].seq);
}

static void assert_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
                         const char *what)
{
    cr_assert_eq(an, bn, "%s: length %zu vs %zu", what, an, bn);
    cr_assert(an == 0 || memcmp(a, b, an) == 0, "%s differs", what);
}

static void assert_conv_eq(const conv_state *a, const conv_state *b)
{
    cr_assert_eq(a->cid, b->cid);
    assert_idlist(a->delivered.e, a->delivered.n, b->delivered.e, b->delivered.n, "delivered");
    assert_idlist(a->own_ctx.e, a->own_ctx.n, b->own_ctx.e, b->own_ctx.n, "own_ctx");
    cr_assert_eq(a->maxhlc, b->maxhlc);
    cr_assert_eq(a->pending, b->pending);
    cr_assert_eq(a->n_messages, b->n_messages);
    cr_assert_eq(a->dig.lo, b->dig.lo);
    cr_assert_eq(a->dig.hi, b->dig.hi);
    cr_assert_eq(a->n_reads, b->n_reads);
    for (size_t i = 0; i < a->n_reads; i++) {
        assert_bytes(a->reads[i].user, a->reads[i].user_len, b->reads[i].user,
                     b->reads[i].user_len, "read user");
        cr_assert_eq(a->reads[i].hlc, b->reads[i].hlc);
        cr_assert(op_id_cmp(a->reads[i].msg, b->reads[i].msg) == 0, "read %zu msg", i);
    }
}

static void assert_msg_eq(const msg_state *a, const msg_state *b)
{
    assert_bytes(a->author, a->author_len, b->author, b->author_len, "author");
    cr_assert_eq(!!a->deleted, !!b->deleted);
    cr_assert_eq(!!a->edited, !!b->edited);
    cr_assert_eq(!!a->has_best, !!b->has_best);
    if (a->has_best) {
        cr_assert(op_id_cmp(a->best, b->best) == 0, "best");
        cr_assert_eq(a->best_hlc, b->best_hlc);
    }
    assert_idlist(a->heads.e, a->heads.n, b->heads.e, b->heads.n, "heads");
    assert_idlist(a->edits.e, a->edits.n, b->edits.e, b->edits.n, "edits");
    cr_assert_eq(a->n_reactions, b->n_reactions);
    for (size_t i = 0; i < a->n_reactions; i++) {
        const reaction *x = &a->reactions[i], *y = &b->reactions[i];
        assert_bytes(x->key, x->key_len, y->key, y->key_len, "reaction key");
        assert_bytes(x->user, x->user_len, y->user, y->user_len, "reaction user");
        assert_idlist(x->live.e, x->live.n, y->live.e, y->live.n, "reaction live");
    }
}

/* A decode that failed owns nothing and is zeroed. */
static void assert_conv_empty(const conv_state *c)
{
    cr_assert_null(c->delivered.e);
    cr_assert_null(c->own_ctx.e);
    cr_assert_null(c->reads);
    cr_assert_eq(c->n_reads, 0);
    cr_assert_eq(c->delivered.n, 0);
}

static void assert_msg_empty(const msg_state *m)
{
    cr_assert_null(m->author);
    cr_assert_null(m->heads.e);
    cr_assert_null(m->edits.e);
    cr_assert_null(m->reactions);
    cr_assert_eq(m->n_reactions, 0);
}

/* ---- round trips ------------------------------------------------------- */

/* Encode, decode, compare; re-encode gives the same bytes. */
static void conv_round_trip(const conv_state *c)
{
    uint8_t *buf, *buf2;
    size_t len, len2;
    cr_assert_eq(codec_conv_encode(&buf, &len, c), CODEC_OK);
    conv_state d;
    int rc = codec_conv_decode(&d, buf, len);
    cr_assert_eq(rc, CODEC_OK, "decode -> %d", rc);
    assert_conv_eq(c, &d);
    cr_assert_eq(codec_conv_encode(&buf2, &len2, &d), CODEC_OK);
    cr_assert_eq(len2, len);
    cr_assert_arr_eq(buf2, buf, len);
    free(buf);
    free(buf2);
    conv_free(&d);
}

static void msg_round_trip(const msg_state *m)
{
    uint8_t *buf, *buf2;
    size_t len, len2;
    cr_assert_eq(codec_msg_encode(&buf, &len, m), CODEC_OK);
    msg_state d;
    int rc = codec_msg_decode(&d, buf, len);
    cr_assert_eq(rc, CODEC_OK, "decode -> %d", rc);
    assert_msg_eq(m, &d);
    cr_assert_eq(codec_msg_encode(&buf2, &len2, &d), CODEC_OK);
    cr_assert_eq(len2, len);
    cr_assert_arr_eq(buf2, buf, len);
    free(buf);
    free(buf2);
    msg_free(&d);
}

Test(state_codec, conv_round_trip_full)
{
    conv_state c;
    full_conv(&c);
    conv_round_trip(&c);
    conv_free(&c);
}

Test(state_codec, conv_round_trip_empty)
{
    conv_state c = { 0 };
    conv_round_trip(&c);
    c.cid = UINT32_MAX;
    conv_round_trip(&c);
}

Test(state_codec, msg_round_trip_full_every_flag)
{
    for (int f = 0; f < 4; f++) {
        msg_state m;
        full_msg(&m, f & 1, (f >> 1) & 1);
        msg_round_trip(&m);
        msg_free(&m);
    }
}

Test(state_codec, msg_round_trip_minimal)
{
    msg_state m;
    cr_assert_eq(msg_init(&m, (const uint8_t *)"a", 1), 0);
    msg_round_trip(&m);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(codec_msg_encode(&buf, &len, &m), CODEC_OK);
    msg_state d;
    cr_assert_eq(codec_msg_decode(&d, buf, len), CODEC_OK);
    cr_assert_eq(d.has_best, 0);
    cr_assert_null(d.heads.e);
    cr_assert_null(d.reactions);
    free(buf);
    msg_free(&d);
    msg_free(&m);
}

/* A state built through the merge rules survives a round trip. */
Test(state_codec, msg_round_trip_from_merge_rules)
{
    msg_state m;
    cr_assert_eq(msg_init(&m, (const uint8_t *)"alice", 5), 0);
    op e = { .kind = OP_EDIT, .id = ID(1, 2), .hlc = 77, .user = (const uint8_t *)"alice",
             .user_len = 5, .target = ID(1, 1) };
    cr_assert_eq(msg_apply_edit(&m, &e), 0);
    op r = { .kind = OP_REACT, .id = ID(2, 1), .hlc = 78, .user = (const uint8_t *)"bob",
             .user_len = 3, .target = ID(1, 1), .key = (const uint8_t *)"ok", .key_len = 2 };
    cr_assert_eq(msg_apply_react(&m, &r), 0);
    msg_round_trip(&m);
    msg_free(&m);
}

/* ---- golden bytes ------------------------------------------------------- */

/* Format version 1 of the stored records. These bytes must not change
 * without a CODEC_STATE_VERSION bump: stores on disk hold them. */
static const uint8_t golden_conv[] = {
    0x99, 0x01, 0x07,                               /* [9, v1, cid 7 */
    0x94, 0x01, 0x03, 0x02, 0x01,                   /* delivered 1:3 2:1 */
    0x92, 0x01, 0x02,                               /* own_ctx 1:2 */
    0xcd, 0x01, 0x2c,                               /* maxhlc 300 */
    0x00, 0x05,                                     /* pending 0, 5 messages */
    0xc4, 0x10,                                     /* digest bin16: hi, lo BE */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x91, 0x94, 0xa3, 0x62, 0x6f, 0x62, 0xcc, 0xc8, 0x01, 0x01,  /* [["bob",200,1,1]] */
};

static const uint8_t golden_msg[] = {
    0x97, 0x01,                                     /* [7, v1 */
    0xa5, 0x61, 0x6c, 0x69, 0x63, 0x65,             /* "alice" */
    0x02,                                           /* flags: edited */
    0x93, 0x01, 0x02, 0xcd, 0x01, 0x2c,             /* best [1, 2, 300] */
    0x92, 0x01, 0x02,                               /* heads 1.2 */
    0x94, 0x01, 0x02, 0x02, 0x01,                   /* edits 1.2 2.1 */
    0x91, 0x93, 0xa2, 0x2b, 0x31, 0xa3, 0x62, 0x6f, 0x62, 0x92, 0x03, 0x01,
                                                    /* [["+1","bob",[3,1]]] */
};

Test(state_codec, golden_conv)
{
    conv_state c = { 0 };
    c.cid = 7;
    cr_assert_eq(vv_set(&c.delivered, 1, 3), 0);
    cr_assert_eq(vv_set(&c.delivered, 2, 1), 0);
    cr_assert_eq(vv_set(&c.own_ctx, 1, 2), 0);
    c.maxhlc = 300;
    c.n_messages = 5;
    c.dig = (digest){ 2, 1 };
    add_read(&c, "bob", 200, ID(1, 1));
    uint8_t *buf;
    size_t len;
    cr_assert_eq(codec_conv_encode(&buf, &len, &c), CODEC_OK);
    cr_assert_eq(len, sizeof golden_conv, "encoded %zu bytes, golden %zu", len, sizeof golden_conv);
    cr_assert_arr_eq(buf, golden_conv, len);
    conv_state d;
    cr_assert_eq(codec_conv_decode(&d, golden_conv, sizeof golden_conv), CODEC_OK);
    assert_conv_eq(&c, &d);
    free(buf);
    conv_free(&d);
    conv_free(&c);
}

Test(state_codec, golden_msg)
{
    msg_state m;
    cr_assert_eq(msg_init(&m, (const uint8_t *)"alice", 5), 0);
    m.edited = 1;
    m.has_best = 1;
    m.best = ID(1, 2);
    m.best_hlc = 300;
    cr_assert_eq(ids_add(&m.heads, ID(1, 2)), 0);
    cr_assert_eq(ids_add(&m.edits, ID(1, 2)), 0);
    cr_assert_eq(ids_add(&m.edits, ID(2, 1)), 0);
    add_reaction(&m, "+1", "bob", (op_id[]){ ID(3, 1) }, 1);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(codec_msg_encode(&buf, &len, &m), CODEC_OK);
    cr_assert_eq(len, sizeof golden_msg, "encoded %zu bytes, golden %zu", len, sizeof golden_msg);
    cr_assert_arr_eq(buf, golden_msg, len);
    msg_state d;
    cr_assert_eq(codec_msg_decode(&d, golden_msg, sizeof golden_msg), CODEC_OK);
    assert_msg_eq(&m, &d);
    free(buf);
    msg_free(&d);
    msg_free(&m);
}

/* ---- errors ----------------------------------------------------------- */

/* Every proper prefix is refused, from an exact-size heap copy so that a
 * read past the end shows under valgrind, and leaves nothing owned. */
Test(state_codec, conv_truncated_at_every_length)
{
    conv_state c;
    full_conv(&c);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(codec_conv_encode(&buf, &len, &c), CODEC_OK);
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = dup_mem(buf, n);
        conv_state d;
        int rc = codec_conv_decode(&d, cut, n);
        cr_assert_eq(rc, CODEC_ECORRUPT, "prefix of %zu/%zu bytes -> %d", n, len, rc);
        assert_conv_empty(&d);
        free(cut);
    }
    free(buf);
    conv_free(&c);
}

Test(state_codec, msg_truncated_at_every_length)
{
    for (int withbest = 0; withbest < 2; withbest++) {
        msg_state m;
        full_msg(&m, 0, 1);
        m.has_best = withbest;
        uint8_t *buf;
        size_t len;
        cr_assert_eq(codec_msg_encode(&buf, &len, &m), CODEC_OK);
        for (size_t n = 0; n < len; n++) {
            uint8_t *cut = dup_mem(buf, n);
            msg_state d;
            int rc = codec_msg_decode(&d, cut, n);
            cr_assert_eq(rc, CODEC_ECORRUPT, "prefix of %zu/%zu bytes -> %d", n, len, rc);
            assert_msg_empty(&d);
            free(cut);
        }
        free(buf);
        msg_free(&m);
    }
}

Test(state_codec, wrong_version)
{
    conv_state c;
    full_conv(&c);
    msg_state m;
    full_msg(&m, 1, 1);
    uint8_t *cb, *mb;
    size_t cl, ml;
    cr_assert_eq(codec_conv_encode(&cb, &cl, &c), CODEC_OK);
    cr_assert_eq(codec_msg_encode(&mb, &ml, &m), CODEC_OK);
    /* Byte 1 is the version (a positive fixint after the array header). */
    cr_assert_eq(cb[1], CODEC_STATE_VERSION);
    cr_assert_eq(mb[1], CODEC_STATE_VERSION);
    static const uint8_t versions[] = { 0x00, 0x02, 0x7f };
    for (size_t i = 0; i < sizeof versions; i++) {
        cb[1] = versions[i];
        mb[1] = versions[i];
        conv_state d;
        msg_state e;
        cr_assert_eq(codec_conv_decode(&d, cb, cl), CODEC_EVERSION, "version %d", versions[i]);
        assert_conv_empty(&d);
        cr_assert_eq(codec_msg_decode(&e, mb, ml), CODEC_EVERSION, "version %d", versions[i]);
        assert_msg_empty(&e);
    }
    /* Only the smallest integer form is accepted (codec/bounded.h): a
     * version written wide is refused, whatever its value. */
    uint8_t *wide = malloc(cl + 1);
    cr_assert_not_null(wide);
    wide[0] = cb[0];
    wide[1] = 0xcc;
    wide[2] = 0x02;
    memcpy(wide + 3, cb + 2, cl - 2);
    conv_state d;
    cr_assert_eq(codec_conv_decode(&d, wide, cl + 1), CODEC_ECORRUPT);
    assert_conv_empty(&d);
    wide[2] = CODEC_STATE_VERSION;
    cr_assert_eq(codec_conv_decode(&d, wide, cl + 1), CODEC_ECORRUPT);
    assert_conv_empty(&d);
    free(wide);
    free(cb);
    free(mb);
    conv_free(&c);
    msg_free(&m);
}

Test(state_codec, trailing_byte)
{
    conv_state c;
    full_conv(&c);
    msg_state m;
    full_msg(&m, 0, 1);
    uint8_t *cb, *mb;
    size_t cl, ml;
    cr_assert_eq(codec_conv_encode(&cb, &cl, &c), CODEC_OK);
    cr_assert_eq(codec_msg_encode(&mb, &ml, &m), CODEC_OK);
    static const uint8_t extra[] = { 0x00, 0xc0, 0x90 };
    for (size_t i = 0; i < sizeof extra; i++) {
        uint8_t *cx = malloc(cl + 1), *mx = malloc(ml + 1);
        cr_assert(cx && mx);
        memcpy(cx, cb, cl);
        memcpy(mx, mb, ml);
        cx[cl] = extra[i];
        mx[ml] = extra[i];
        conv_state d;
        msg_state e;
        cr_assert_eq(codec_conv_decode(&d, cx, cl + 1), CODEC_ECORRUPT);
        assert_conv_empty(&d);
        cr_assert_eq(codec_msg_decode(&e, mx, ml + 1), CODEC_ECORRUPT);
        assert_msg_empty(&e);
        free(cx);
        free(mx);
    }
    free(cb);
    free(mb);
    conv_free(&c);
    msg_free(&m);
}

/* Hand-made records with one thing wrong each. */
Test(state_codec, conv_malformed)
{
    static const struct {
        const char *what;
        uint8_t b[64];
        size_t n;
    } cases[] = {
        { "8 elements", { 0x98, 0x01, 0x07, 0x90, 0x90, 0x00, 0x00, 0x00, 0xc4, 0x10 }, 10 },
        { "not an array", { 0x81, 0x01, 0x07 }, 3 },
        { "cid over 32 bits",
          { 0x99, 0x01, 0xcf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x90, 0x90,
            0x00, 0x00, 0x00, 0xc4, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0x90 },
          35 },
        { "odd vv array",
          { 0x99, 0x01, 0x07, 0x91, 0x01, 0x90, 0x00, 0x00, 0x00, 0xc4, 0x10, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x90 },
          28 },
        { "digest of 15 bytes",
          { 0x99, 0x01, 0x07, 0x90, 0x90, 0x00, 0x00, 0x00, 0xc4, 0x0f, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0x90 },
          26 },
        { "digest as str",
          { 0x99, 0x01, 0x07, 0x90, 0x90, 0x00, 0x00, 0x00, 0xb0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0x90 },
          26 },
        { "negative int",
          { 0x99, 0x01, 0x07, 0x90, 0x90, 0xff, 0x00, 0x00, 0xc4, 0x10, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0x90 },
          27 },
        { "read marker of 3",
          { 0x99, 0x01, 0x07, 0x90, 0x90, 0x00, 0x00, 0x00, 0xc4, 0x10, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0x91, 0x93, 0xa1, 0x62, 0x01, 0x01 },
          32 },
        { "array count beyond the bytes",
          { 0x99, 0x01, 0x07, 0xdd, 0xff, 0xff, 0xff, 0xff }, 8 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *b = dup_mem(cases[i].b, cases[i].n);
        conv_state d;
        int rc = codec_conv_decode(&d, b, cases[i].n);
        cr_assert_eq(rc, CODEC_ECORRUPT, "%s -> %d", cases[i].what, rc);
        assert_conv_empty(&d);
        free(b);
    }
    /* The well-formed version of those records decodes. */
    static const uint8_t ok[] = { 0x99, 0x01, 0x07, 0x90, 0x90, 0x00, 0x00, 0x00, 0xc4, 0x10,
                                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x90 };
    conv_state d;
    cr_assert_eq(codec_conv_decode(&d, ok, sizeof ok), CODEC_OK);
    cr_assert_eq(d.cid, 7);
    conv_free(&d);
}

/* The header promises 0, CODEC_ECORRUPT, CODEC_EVERSION or CODEC_ENOMEM: a
 * digest longer than 16 bytes is a corrupt record like a shorter one. */
Test(state_codec, conv_digest_too_long_is_corrupt)
{
    static const uint8_t b17[] = { 0x99, 0x01, 0x07, 0x90, 0x90, 0x00, 0x00, 0x00, 0xc4, 0x11,
                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x90 };
    conv_state d;
    int rc = codec_conv_decode(&d, b17, sizeof b17);
    cr_assert_eq(rc, CODEC_ECORRUPT, "17-byte digest -> %d", rc);
    assert_conv_empty(&d);
}

Test(state_codec, msg_malformed)
{
    static const struct {
        const char *what;
        uint8_t b[32];
        size_t n;
    } cases[] = {
        { "6 elements", { 0x96, 0x01, 0xa1, 0x61, 0x00, 0xc0, 0x90, 0x90 }, 8 },
        { "author as bin", { 0x97, 0x01, 0xc4, 0x01, 0x61, 0x00, 0xc0, 0x90, 0x90, 0x90 }, 10 },
        { "flags 4", { 0x97, 0x01, 0xa1, 0x61, 0x04, 0xc0, 0x90, 0x90, 0x90 }, 9 },
        { "flags as uint8 255", { 0x97, 0x01, 0xa1, 0x61, 0xcc, 0xff, 0xc0, 0x90, 0x90, 0x90 }, 10 },
        { "best of 2", { 0x97, 0x01, 0xa1, 0x61, 0x00, 0x92, 0x01, 0x02, 0x90, 0x90, 0x90 }, 11 },
        { "best as int", { 0x97, 0x01, 0xa1, 0x61, 0x00, 0x05, 0x90, 0x90, 0x90 }, 9 },
        { "odd heads", { 0x97, 0x01, 0xa1, 0x61, 0x00, 0xc0, 0x93, 0x01, 0x02, 0x03, 0x90, 0x90 }, 12 },
        { "reaction of 2",
          { 0x97, 0x01, 0xa1, 0x61, 0x00, 0xc0, 0x90, 0x90, 0x91, 0x92, 0xa1, 0x6b, 0xa1, 0x75 },
          14 },
        { "reaction live odd",
          { 0x97, 0x01, 0xa1, 0x61, 0x00, 0xc0, 0x90, 0x90, 0x91, 0x93, 0xa1, 0x6b, 0xa1, 0x75,
            0x91, 0x01 },
          16 },
        { "second reaction broken",
          { 0x97, 0x01, 0xa1, 0x61, 0x00, 0xc0, 0x90, 0x90, 0x92, 0x93, 0xa1, 0x6b, 0xa1, 0x75,
            0x92, 0x01, 0x01, 0x93, 0xa1, 0x6b, 0xa1, 0x76, 0x01 },
          23 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *b = dup_mem(cases[i].b, cases[i].n);
        msg_state d;
        int rc = codec_msg_decode(&d, b, cases[i].n);
        cr_assert_eq(rc, CODEC_ECORRUPT, "%s -> %d", cases[i].what, rc);
        assert_msg_empty(&d);
        free(b);
    }
    static const uint8_t ok[] = { 0x97, 0x01, 0xa1, 0x61, 0x00, 0xc0, 0x90, 0x90, 0x91, 0x93,
                                  0xa1, 0x6b, 0xa1, 0x75, 0x92, 0x01, 0x01 };
    msg_state d;
    cr_assert_eq(codec_msg_decode(&d, ok, sizeof ok), CODEC_OK);
    cr_assert_eq(d.n_reactions, 1);
    cr_assert_eq(d.reactions[0].live.n, 1);
    msg_free(&d);
}

/* ---- random ------------------------------------------------------------- */

static void rand_bytes_str(rng *g, char *out, size_t max)
{
    size_t n = rng_range(g, 1, max);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)rng_range(g, 0x21, 0x7e);
    out[n] = 0;
}

/* Ids in stored records are >= 1, like every op id. */
static uint64_t rand_id(rng *g);

static uint64_t rand_u64(rng *g)
{
    /* Mix small and large values: each msgpack width. */
    switch (rng_below(g, 4)) {
    case 0: return rng_below(g, 128);
    case 1: return rng_below(g, 65536);
    case 2: return rng_below(g, UINT64_C(1) << 32);
    default: return rng_next(g);
    }
}

static uint64_t rand_id(rng *g)
{
    uint64_t v = rand_u64(g);
    return v ? v : 1;
}

static void rand_conv(rng *g, conv_state *c)
{
    memset(c, 0, sizeof *c);
    c->cid = (uint32_t)rand_u64(g);
    size_t n = rng_below(g, 40);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(vv_set(&c->delivered, rand_id(g), rng_range(g, 1, UINT64_MAX)), 0);
    n = rng_below(g, 5);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(vv_set(&c->own_ctx, rand_id(g), rng_range(g, 1, UINT64_MAX)), 0);
    c->maxhlc = rand_u64(g);
    c->pending = rand_u64(g);
    c->n_messages = rand_u64(g);
    c->dig = (digest){ rng_next(g), rng_next(g) };
    n = rng_below(g, 6);
    for (size_t i = 0; i < n; i++) {
        char u[300];
        rand_bytes_str(g, u, rng_chance(g, 10) ? 255 : 8);
        add_read(c, u, rand_u64(g), ID(rand_id(g), rand_id(g)));
    }
}

static void rand_msg(rng *g, msg_state *m)
{
    char a[300];
    rand_bytes_str(g, a, rng_chance(g, 10) ? 255 : 8);
    cr_assert_eq(msg_init(m, (const uint8_t *)a, strlen(a)), 0);
    m->deleted = rng_chance(g, 30);
    m->edited = rng_chance(g, 50);
    m->has_best = rng_chance(g, 50);
    if (m->has_best) {
        m->best = ID(rand_id(g), rand_id(g));
        m->best_hlc = rand_u64(g);
    }
    size_t n = rng_below(g, 4);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(ids_add(&m->heads, ID(rand_id(g), rand_id(g))), 0);
    n = rng_below(g, 20);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(ids_add(&m->edits, ID(rand_id(g), rand_id(g))), 0);
    n = rng_below(g, 5);
    for (size_t i = 0; i < n; i++) {
        char k[80], u[300];
        rand_bytes_str(g, k, 64);
        rand_bytes_str(g, u, 8);
        op_id live[3];
        size_t nl = rng_range(g, 1, 3);
        for (size_t j = 0; j < nl; j++)
            live[j] = ID(rand_id(g), rand_id(g));
        add_reaction(m, k, u, live, nl);
    }
}

Test(state_codec, random_round_trips)
{
    uint64_t seed = test_seed("state_codec/random_round_trips");
    rng g;
    rng_seed(&g, seed);
    for (int i = 0; i < 300; i++) {
        conv_state c;
        rand_conv(&g, &c);
        conv_round_trip(&c);
        conv_free(&c);
        msg_state m;
        rand_msg(&g, &m);
        msg_round_trip(&m);
        msg_free(&m);
    }
}

/* Single-byte mutations of valid records: the decoder either refuses with a
 * documented code, leaving nothing owned, or decodes something that encodes
 * again. Run under valgrind for leaks and bad reads. */
Test(state_codec, random_mutations)
{
    uint64_t seed = test_seed("state_codec/random_mutations");
    rng g;
    rng_seed(&g, seed);
    for (int i = 0; i < 300; i++) {
        int is_conv = (int)rng_below(&g, 2);
        uint8_t *buf;
        size_t len;
        if (is_conv) {
            conv_state c;
            rand_conv(&g, &c);
            cr_assert_eq(codec_conv_encode(&buf, &len, &c), CODEC_OK);
            conv_free(&c);
        } else {
            msg_state m;
            rand_msg(&g, &m);
            cr_assert_eq(codec_msg_encode(&buf, &len, &m), CODEC_OK);
            msg_free(&m);
        }
        for (int k = 0; k < 8; k++) {
            uint8_t *mut = dup_mem(buf, len);
            size_t at = rng_below(&g, len);
            mut[at] = (uint8_t)rng_next(&g);
            int rc;
            if (is_conv) {
                conv_state d;
                rc = codec_conv_decode(&d, mut, len);
                if (rc == CODEC_OK)
                    conv_free(&d);
                else
                    assert_conv_empty(&d);
            } else {
                msg_state d;
                rc = codec_msg_decode(&d, mut, len);
                if (rc == CODEC_OK)
                    msg_free(&d);
                else
                    assert_msg_empty(&d);
            }
            cr_assert(rc == CODEC_OK || rc == CODEC_ECORRUPT || rc == CODEC_EVERSION,
                      "seed %llu iter %d: byte %zu -> 0x%02x gives %d",
                      (unsigned long long)seed, i, at, mut[at], rc);
            free(mut);
        }
        free(buf);
    }
}
