/* Session protocol messages and framing (docs/protocol.md): golden bytes,
 * every error code, truncations, hostile headers, limits, canonical forms,
 * random round trips, allocation failures. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec/session_codec.h"
#include "support/mpw.h"

/* Allocation failure injection (as in test_sync_codec.c): while alloc_left
 * >= 0, allocations succeed alloc_left more times, then fail. alloc_biggest
 * records the largest single request, so a test can show that a hostile
 * declared size was never allocated from. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define NO_ALLOC_HOOK 1
#endif
#endif
#ifdef __SANITIZE_ADDRESS__
#define NO_ALLOC_HOOK 1
#endif
#if defined(__GLIBC__) && !defined(NO_ALLOC_HOOK)
#define ALLOC_HOOK 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t k, size_t n);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

/* volatile: GCC assumes its builtin malloc reads no user globals */
static volatile long alloc_left = -1;
static volatile long alloc_live;
static volatile size_t alloc_biggest;

static int alloc_fails(size_t n)
{
    if (n > alloc_biggest)
        alloc_biggest = n;
    if (alloc_left < 0)
        return 0;
    if (alloc_left > 0) {
        alloc_left--;
        return 0;
    }
    return 1;
}

static void *counted(void *p)
{
    if (p)
        alloc_live++;
    return p;
}

void *malloc(size_t n)
{
    return alloc_fails(n) ? NULL : counted(__libc_malloc(n));
}

void *calloc(size_t k, size_t n)
{
    return alloc_fails(k * n) ? NULL : counted(__libc_calloc(k, n));
}

void *realloc(void *p, size_t n)
{
    if (alloc_fails(n))
        return NULL;
    void *q = __libc_realloc(p, n);
    return p == NULL ? counted(q) : q;
}

void free(void *p)
{
    if (p)
        alloc_live--;
    __libc_free(p);
}

/* Valgrind may route the library's malloc calls past this one: then the
 * tests that rely on it are not run. */
static int alloc_hook_active(void)
{
    codec_want w = { (const uint8_t *)"x", 1, &(op_id){ 1, 1 }, 1 };
    uint8_t *out;
    size_t n;
    alloc_left = 0;
    int rc = codec_want_encode(&out, &n, &w);
    alloc_left = -1;
    if (rc == CODEC_OK)
        free(out);
    return rc == CODEC_ENOMEM;
}
#endif

/* ====================================================================== */
/* Golden encodings, format version 1: must not change without a bump.     */

#define D16 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, \
            0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f
#define GENERAL 0xa7, 'g', 'e', 'n', 'e', 'r', 'a', 'l'

/* [1, 16, 7, "alice", 65536, 4, false,
 *  [["general", [1, 5, 7, 2], bin16 00..0f]]] */
static const uint8_t golden_hello[] = {
    0x98, 0x01, 0x10,                       /* array of 8, v1, HELLO */
    0x07,                                   /* replica 7 */
    0xa5, 'a', 'l', 'i', 'c', 'e',          /* user */
    0xce, 0x00, 0x01, 0x00, 0x00,           /* budget 65536 (uint32) */
    0x04,                                   /* window 4 */
    0xc2,                                   /* all_convs false */
    0x91, 0x93, GENERAL,                    /* one conv: [conv, vv, digest] */
    0x94, 0x01, 0x05, 0x07, 0x02,           /* vv {1: 5, 7: 2} */
    0xc4, 0x10, D16,                        /* digest */
};
/* [1, 18, 3, "general", 0, [1, 5, 7, 2], bin16 00..0f] */
static const uint8_t golden_ack[] = {
    0x97, 0x01, 0x12,                       /* array of 7, v1, ACK */
    0x03,                                   /* batch 3 */
    GENERAL,
    0x00,                                   /* result: committed */
    0x94, 0x01, 0x05, 0x07, 0x02,           /* vv */
    0xc4, 0x10, D16,                        /* digest */
};
/* [1, 17, 1, "x", false, [bin 01 02 03]] */
static const uint8_t golden_batch[] = {
    0x96, 0x01, 0x11, 0x01, 0xa1, 'x', 0xc2, 0x91, 0xc4, 0x03, 1, 2, 3,
};
/* [1, 19, "x", [1, 2, 3, 4]] */
static const uint8_t golden_want[] = {
    0x94, 0x01, 0x13, 0xa1, 'x', 0x94, 0x01, 0x02, 0x03, 0x04,
};
#define AA16 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, \
             0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa
#define H11 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, \
            0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11
/* [1, 20, "x", [[1, 1, 9, 3, bin16 aa..], [2, 1, 2, [1, bin16 11..]]]] */
static const uint8_t golden_repair[] = {
    0x94, 0x01, 0x14, 0xa1, 'x', 0x92,
    0x95, 0x01, 0x01, 0x09, 0x03, 0xc4, 0x10, AA16,
    0x94, 0x02, 0x01, 0x02, 0x92, 0x01, 0xc4, 0x10, H11,
};
/* [1, 21, "x", [1, 2], [1, 1], ["bob"]] */
static const uint8_t golden_status[] = {
    0x96, 0x01, 0x15, 0xa1, 'x', 0x92, 0x01, 0x02, 0x92, 0x01, 0x01,
    0x91, 0xa3, 'b', 'o', 'b',
};
/* [1, 22, 4, "too big"] */
static const uint8_t golden_error[] = {
    0x94, 0x01, 0x16, 0x04, 0xa7, 't', 'o', 'o', ' ', 'b', 'i', 'g',
};

static const uint8_t digest16[16] = { D16 };
static const uint8_t fp_aa[16] = { AA16 };
static const uint8_t hash_11[16] = { H11 };
static op_id vv_1_5_7_2[] = { { 1, 5 }, { 7, 2 } };
static codec_hello_conv g_conv = { (const uint8_t *)"general", 7, vv_1_5_7_2,
                                   2, { D16 } };
static const uint8_t op_123[] = { 1, 2, 3 };
static codec_bytes g_ops[] = { { op_123, 3 } };
static op_id want_ids[] = { { 1, 2 }, { 3, 4 } };
static codec_version g_version = { 1, { H11 } };
static codec_repair_item g_items[] = {
    { 1, 1, 9, 0, 3, { AA16 }, NULL, 0 },
    { 2, 1, 2, 1, 0, { 0 }, &g_version, 1 },
};
static op_id st_relay[] = { { 1, 2 } }, st_deliv[] = { { 1, 1 } };
static codec_bytes st_members[] = { { (const uint8_t *)"bob", 3 } };

static codec_hello g_hello(void)
{
    return (codec_hello){ 7, (const uint8_t *)"alice", 5, 65536, 4, 0,
                          &g_conv, 1 };
}
static codec_ack g_ack(void)
{
    return (codec_ack){ 3, (const uint8_t *)"general", 7, SESSION_ACK_OK,
                        vv_1_5_7_2, 2, { D16 } };
}
static codec_batch g_batch(void)
{
    return (codec_batch){ 1, (const uint8_t *)"x", 1, 0, g_ops, 1 };
}
static codec_want g_want(void)
{
    return (codec_want){ (const uint8_t *)"x", 1, want_ids, 2 };
}
static codec_repair g_repair(void)
{
    return (codec_repair){ (const uint8_t *)"x", 1, g_items, 2 };
}
static codec_status g_status(void)
{
    return (codec_status){ (const uint8_t *)"x", 1, st_relay, 1, st_deliv, 1,
                           st_members, 1 };
}
static codec_error g_error(void)
{
    return (codec_error){ SESSION_ERR_LIMIT, (const uint8_t *)"too big", 7 };
}

/* ====================================================================== */
/* Helpers                                                                 */

static void w_head(wb *w, size_t fields, uint8_t type)
{
    w_arr(w, fields);
    w_byte(w, 0x01);
    w_byte(w, type);
}

static void assert_bytes_eq(const uint8_t *a, size_t an, const uint8_t *b,
                            size_t bn, const char *what)
{
    cr_assert_eq(an, bn, "%s: length %zu, want %zu", what, an, bn);
    if (an && memcmp(a, b, an) != 0)
        cr_assert_fail("%s: bytes differ", what);
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static uint8_t *copy_of(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    cr_assert_not_null(c, "%zu bytes", n);
    if (n)
        memcpy(c, p, n);
    return c;
}

/*
 * dec_<msg>(buf, n): decodes an exact-size private copy (a read past the end
 * shows under valgrind) and returns the code. On error the output must be all
 * zero; on success it must re-encode to the input, byte for byte.
 */
#define DEC_WRAP(name, T)                                                  \
    static int dec_##name(const uint8_t *buf, size_t n)                    \
    {                                                                      \
        uint8_t *c = copy_of(buf, n), *re = NULL;                          \
        size_t rn = 0;                                                     \
        T m;                                                               \
        memset(&m, 0xab, sizeof m);                                        \
        int rc = codec_##name##_decode(&m, c, n);                          \
        if (rc != CODEC_OK) {                                              \
            cr_assert(all_zero(&m, sizeof m), #name ": error %d left "     \
                      "output", rc);                                       \
        } else {                                                           \
            cr_assert_eq(codec_##name##_encode(&re, &rn, &m), CODEC_OK,    \
                         #name ": accepted but does not re-encode");       \
            assert_bytes_eq(re, rn, c, n, #name " re-encode");             \
            free(re);                                                      \
        }                                                                  \
        codec_##name##_clear(&m);                                          \
        cr_assert(all_zero(&m, sizeof m), #name ": clear");                \
        free(c);                                                           \
        return rc;                                                         \
    }

DEC_WRAP(hello, codec_hello)
DEC_WRAP(batch, codec_batch)
DEC_WRAP(ack, codec_ack)
DEC_WRAP(want, codec_want)
DEC_WRAP(repair, codec_repair)
DEC_WRAP(status, codec_status)
DEC_WRAP(error, codec_error)

typedef struct msg_kind {
    const char *name;
    uint8_t type;
    int (*dec)(const uint8_t *buf, size_t n);
    const uint8_t *golden;
    size_t golden_len;
} msg_kind;

static const msg_kind kinds[] = {
    { "hello", SESSION_HELLO, dec_hello, golden_hello, sizeof golden_hello },
    { "batch", SESSION_BATCH, dec_batch, golden_batch, sizeof golden_batch },
    { "ack", SESSION_ACK, dec_ack, golden_ack, sizeof golden_ack },
    { "want", SESSION_WANT, dec_want, golden_want, sizeof golden_want },
    { "repair", SESSION_REPAIR, dec_repair, golden_repair,
      sizeof golden_repair },
    { "status", SESSION_STATUS, dec_status, golden_status,
      sizeof golden_status },
    { "error", SESSION_ERROR, dec_error, golden_error, sizeof golden_error },
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

/* Decodes w's bytes with `dec`, then empties w. */
static int dec_wb(int (*dec)(const uint8_t *, size_t), wb *w)
{
    int rc = dec(w->p, w->n);
    free(w->p);
    *w = (wb){ 0 };
    return rc;
}

#define LIT(dec, lit) dec((const uint8_t *)(lit), sizeof(lit) - 1)

static int inside(const void *p, const uint8_t *buf, size_t n)
{
    return (const uint8_t *)p >= buf && (const uint8_t *)p < buf + n;
}

/* ====================================================================== */
/* Golden                                                                  */

Test(session_golden, hello)
{
    codec_hello m = g_hello(), d;
    uint8_t *out;
    size_t n;

    cr_assert_eq(codec_hello_encode(&out, &n, &m), CODEC_OK);
    assert_bytes_eq(out, n, golden_hello, sizeof golden_hello, "encode");
    free(out);
    cr_assert_eq(codec_hello_decode(&d, golden_hello, sizeof golden_hello),
                 CODEC_OK);
    cr_assert_eq(d.replica, 7);
    assert_bytes_eq(d.user, d.user_len, (const uint8_t *)"alice", 5, "user");
    cr_assert(inside(d.user, golden_hello, sizeof golden_hello), "borrowed");
    cr_assert_eq(d.budget, 65536);
    cr_assert_eq(d.window, 4);
    cr_assert_eq(d.all_convs, 0);
    cr_assert_eq(d.n_convs, 1);
    assert_bytes_eq(d.convs[0].conv, d.convs[0].conv_len,
                    (const uint8_t *)"general", 7, "conv");
    cr_assert(inside(d.convs[0].conv, golden_hello, sizeof golden_hello));
    cr_assert_eq(d.convs[0].n_vv, 2);
    cr_assert(d.convs[0].vv[0].replica == 1 && d.convs[0].vv[0].seq == 5 &&
              d.convs[0].vv[1].replica == 7 && d.convs[0].vv[1].seq == 2);
    cr_assert(!inside(d.convs[0].vv, golden_hello, sizeof golden_hello),
              "vv owned");
    assert_bytes_eq(d.convs[0].digest, 16, digest16, 16, "digest");
    codec_hello_clear(&d);
    codec_hello_clear(&d);
    codec_hello_clear(NULL);

    m.all_convs = 5;   /* any non-zero is true */
    m.n_convs = 0;
    cr_assert_eq(codec_hello_encode(&out, &n, &m), CODEC_OK);
    cr_assert_eq(out[16], 0xc3);
    cr_assert_eq(out[17], 0x90);
    cr_assert_eq(dec_hello(out, n), CODEC_OK);
    free(out);
}

Test(session_golden, ack)
{
    codec_ack m = g_ack(), d;
    uint8_t *out;
    size_t n;

    cr_assert_eq(codec_ack_encode(&out, &n, &m), CODEC_OK);
    assert_bytes_eq(out, n, golden_ack, sizeof golden_ack, "encode");
    free(out);
    cr_assert_eq(codec_ack_decode(&d, golden_ack, sizeof golden_ack),
                 CODEC_OK);
    cr_assert_eq(d.batch_no, 3);
    assert_bytes_eq(d.conv, d.conv_len, (const uint8_t *)"general", 7, "conv");
    cr_assert(inside(d.conv, golden_ack, sizeof golden_ack));
    cr_assert_eq(d.result, SESSION_ACK_OK);
    cr_assert_eq(d.n_vv, 2);
    cr_assert(d.vv[0].replica == 1 && d.vv[0].seq == 5 &&
              d.vv[1].replica == 7 && d.vv[1].seq == 2);
    assert_bytes_eq(d.digest, 16, digest16, 16, "digest");
    codec_ack_clear(&d);
    codec_ack_clear(NULL);
}

Test(session_golden, other_messages)
{
    codec_batch b = g_batch(), db;
    codec_want w = g_want(), dw;
    codec_repair r = g_repair(), dr;
    codec_status s = g_status(), ds;
    codec_error e = g_error(), de;
    uint8_t *out;
    size_t n;

    cr_assert_eq(codec_batch_encode(&out, &n, &b), CODEC_OK);
    assert_bytes_eq(out, n, golden_batch, sizeof golden_batch, "batch");
    free(out);
    cr_assert_eq(codec_batch_decode(&db, golden_batch, sizeof golden_batch),
                 CODEC_OK);
    cr_assert(db.batch_no == 1 && db.more == 0 && db.n_ops == 1);
    cr_assert_eq(db.ops[0].data, golden_batch + 10, "op bytes borrowed");
    assert_bytes_eq(db.ops[0].data, db.ops[0].len, op_123, 3, "op");
    codec_batch_clear(&db);

    cr_assert_eq(codec_want_encode(&out, &n, &w), CODEC_OK);
    assert_bytes_eq(out, n, golden_want, sizeof golden_want, "want");
    free(out);
    cr_assert_eq(codec_want_decode(&dw, golden_want, sizeof golden_want),
                 CODEC_OK);
    cr_assert(dw.n_ids == 2 && dw.ids[1].replica == 3 && dw.ids[1].seq == 4);
    codec_want_clear(&dw);

    cr_assert_eq(codec_repair_encode(&out, &n, &r), CODEC_OK);
    assert_bytes_eq(out, n, golden_repair, sizeof golden_repair, "repair");
    free(out);
    cr_assert_eq(codec_repair_decode(&dr, golden_repair,
                                     sizeof golden_repair), CODEC_OK);
    cr_assert_eq(dr.n_items, 2);
    cr_assert(!dr.items[0].listing && dr.items[0].replica == 1 &&
              dr.items[0].lo == 1 && dr.items[0].hi == 9 &&
              dr.items[0].count == 3);
    assert_bytes_eq(dr.items[0].fp, 16, fp_aa, 16, "fp");
    cr_assert(dr.items[1].listing && dr.items[1].n_versions == 1 &&
              dr.items[1].versions[0].seq == 1);
    assert_bytes_eq(dr.items[1].versions[0].hash, 16, hash_11, 16, "hash");
    codec_repair_clear(&dr);

    cr_assert_eq(codec_status_encode(&out, &n, &s), CODEC_OK);
    assert_bytes_eq(out, n, golden_status, sizeof golden_status, "status");
    free(out);
    cr_assert_eq(codec_status_decode(&ds, golden_status,
                                     sizeof golden_status), CODEC_OK);
    cr_assert(ds.n_relay_vv == 1 && ds.relay_vv[0].seq == 2 &&
              ds.n_delivered_vv == 1 && ds.delivered_vv[0].seq == 1);
    cr_assert_eq(ds.n_members, 1);
    assert_bytes_eq(ds.members[0].data, ds.members[0].len,
                    (const uint8_t *)"bob", 3, "member");
    codec_status_clear(&ds);

    cr_assert_eq(codec_error_encode(&out, &n, &e), CODEC_OK);
    assert_bytes_eq(out, n, golden_error, sizeof golden_error, "error");
    free(out);
    cr_assert_eq(codec_error_decode(&de, golden_error, sizeof golden_error),
                 CODEC_OK);
    cr_assert_eq(de.code, SESSION_ERR_LIMIT);
    assert_bytes_eq(de.reason, de.reason_len, (const uint8_t *)"too big", 7,
                    "reason");
    codec_error_clear(&de);
}

Test(session_golden, empty_lists_and_more_flag)
{
    codec_batch b = { 9, (const uint8_t *)"x", 1, 1, NULL, 0 };
    codec_repair r = { (const uint8_t *)"x", 1, NULL, 0 };
    codec_error e = { 7, NULL, 0 };
    uint8_t *out;
    size_t n;

    /* [1, 17, 9, "x", true, []]: a frame of a batch that goes on */
    cr_assert_eq(codec_batch_encode(&out, &n, &b), CODEC_OK);
    assert_bytes_eq(out, n,
                    (const uint8_t *)"\x96\x01\x11\x09\xa1x\xc3\x90", 8, "batch");
    free(out);
    /* [1, 20, "x", []]: every range matched */
    cr_assert_eq(codec_repair_encode(&out, &n, &r), CODEC_OK);
    assert_bytes_eq(out, n, (const uint8_t *)"\x94\x01\x14\xa1x\x90", 6,
                    "repair");
    free(out);
    /* [1, 22, 7, ""] */
    cr_assert_eq(codec_error_encode(&out, &n, &e), CODEC_OK);
    assert_bytes_eq(out, n, (const uint8_t *)"\x94\x01\x16\x07\xa0", 5,
                    "error");
    free(out);
    cr_assert_eq(LIT(dec_batch, "\x96\x01\x11\x09\xa1x\xc3\x90"), CODEC_OK);
    cr_assert_eq(LIT(dec_repair, "\x94\x01\x14\xa1x\x90"), CODEC_OK);
    cr_assert_eq(LIT(dec_error, "\x94\x01\x16\x07\xa0"), CODEC_OK);
    /* an empty listing: "I hold nothing in 3..4 of replica 2" */
    cr_assert_eq(LIT(dec_repair, "\x94\x01\x14\xa1x\x91\x94\x02\x03\x04\x90"),
                 CODEC_OK);
}

/* ====================================================================== */
/* Framing                                                                 */

Test(session_frame, golden_header_and_every_prefix)
{
    uint8_t hdr[4], stream[4 + sizeof golden_hello + 4 + sizeof golden_ack];
    size_t fl;

    cr_assert_eq(codec_session_frame_header(hdr, sizeof golden_hello),
                 CODEC_OK);
    assert_bytes_eq(hdr, 4, (const uint8_t *)"\x00\x00\x00\x32", 4, "50");
    memcpy(stream, hdr, 4);
    memcpy(stream + 4, golden_hello, sizeof golden_hello);
    cr_assert_eq(codec_session_frame_header(stream + 54, sizeof golden_ack),
                 CODEC_OK);
    memcpy(stream + 58, golden_ack, sizeof golden_ack);

    for (size_t k = 0; k < 54; k++) {
        cr_assert_eq(codec_session_frame(stream, k, &fl), CODEC_FRAME_MORE,
                     "prefix %zu", k);
        cr_assert_eq(fl, k < 4 ? 4u : 54u, "prefix %zu needs %zu", k, fl);
    }
    for (size_t k = 54; k <= sizeof stream; k++) {
        cr_assert_eq(codec_session_frame(stream, k, &fl), CODEC_OK);
        cr_assert_eq(fl, 54);
    }
    /* the second frame, after the first was consumed */
    cr_assert_eq(codec_session_frame(stream + 54, sizeof stream - 54, &fl),
                 CODEC_OK);
    cr_assert_eq(fl, 4 + sizeof golden_ack);
    cr_assert_eq(dec_ack(stream + 58, fl - 4), CODEC_OK);
    cr_assert_eq(dec_hello(stream + 4, 50), CODEC_OK);
}

Test(session_frame, keep_alive_and_bad_arguments)
{
    size_t fl = 99;
    uint8_t hdr[4] = { 9, 9, 9, 9 };

    cr_assert_eq(codec_session_frame((const uint8_t *)"\0\0\0\0", 4, &fl),
                 CODEC_OK);
    cr_assert_eq(fl, 4, "an empty payload is a keep-alive");
    cr_assert_eq(codec_session_frame(NULL, 0, &fl), CODEC_FRAME_MORE);
    cr_assert_eq(fl, 4);
    cr_assert_eq(codec_session_frame(NULL, 1, &fl), CODEC_EINVAL);
    cr_assert_eq(codec_session_frame(hdr, 4, NULL), CODEC_EINVAL);
    cr_assert_eq(codec_session_frame_header(hdr, 0), CODEC_OK);
    assert_bytes_eq(hdr, 4, (const uint8_t *)"\0\0\0\0", 4, "0");
}

Test(session_frame, maximum)
{
    uint8_t hdr[4];
    size_t fl;
    uint8_t *big = calloc(1, 4 + SESSION_MAX_FRAME);

    cr_assert_not_null(big);
    cr_assert_eq(codec_session_frame_header(hdr, SESSION_MAX_FRAME), CODEC_OK);
    assert_bytes_eq(hdr, 4, (const uint8_t *)"\x00\x40\x00\x00", 4, "4 MiB");
    memcpy(big, hdr, 4);
    cr_assert_eq(codec_session_frame(big, 4 + SESSION_MAX_FRAME - 1, &fl),
                 CODEC_FRAME_MORE);
    cr_assert_eq(fl, 4 + SESSION_MAX_FRAME);
    cr_assert_eq(codec_session_frame(big, 4 + SESSION_MAX_FRAME, &fl),
                 CODEC_OK);
    cr_assert_eq(fl, 4 + SESSION_MAX_FRAME);
    free(big);

    memset(hdr, 7, 4);
    cr_assert_eq(codec_session_frame_header(hdr, SESSION_MAX_FRAME + 1),
                 CODEC_ELIMIT);
    cr_assert_eq(hdr[0], 7, "untouched");
    /* too large is known from the 4 header bytes, nothing else */
    static const uint8_t over[][4] = {
        { 0x00, 0x40, 0x00, 0x01 }, { 0x7f, 0xff, 0xff, 0xff },
        { 0xff, 0xff, 0xff, 0xff }, { 0x01, 0x00, 0x00, 0x00 },
    };
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        fl = 99;
        cr_assert_eq(codec_session_frame(over[i], 4, &fl), CODEC_ELIMIT);
        cr_assert_eq(fl, 0);
        cr_assert_eq(codec_session_frame(over[i], 3, &fl), CODEC_FRAME_MORE);
    }
}

#ifdef ALLOC_HOOK
Test(session_frame, never_allocates)
{
    size_t fl;
    long live = alloc_live;

    if (!alloc_hook_active())
        return;
    alloc_left = 0;   /* any allocation would fail the call */
    int a = codec_session_frame((const uint8_t *)"\xff\xff\xff\xff", 4, &fl);
    int b = codec_session_frame((const uint8_t *)"\x00\x40\x00\x00", 4, &fl);
    int c = codec_session_frame(golden_hello, 3, &fl);
    alloc_left = -1;
    cr_assert_eq(a, CODEC_ELIMIT);
    cr_assert_eq(b, CODEC_FRAME_MORE);
    cr_assert_eq(c, CODEC_FRAME_MORE);
    cr_assert_eq(alloc_live, live);
}
#endif

/* ====================================================================== */
/* Type, version, truncation                                               */

Test(session_head, type_of_every_message)
{
    uint64_t t;

    for (size_t i = 0; i < N_KINDS; i++) {
        cr_assert_eq(codec_session_type(kinds[i].golden, kinds[i].golden_len,
                                        &t), CODEC_OK);
        cr_assert_eq(t, kinds[i].type, "%s", kinds[i].name);
    }
    cr_assert_eq(codec_session_type((const uint8_t *)"\x94\x01\x01\xc3\x90",
                                    5, &t), CODEC_EKIND, "a sync request");
    cr_assert_eq(t, 0);
    cr_assert_eq(codec_session_type((const uint8_t *)"\x92\x01\x17", 3, &t),
                 CODEC_EKIND, "23");
    cr_assert_eq(codec_session_type((const uint8_t *)"\x92\x01\x0f", 3, &t),
                 CODEC_EKIND, "15");
    cr_assert_eq(codec_session_type((const uint8_t *)"\x92\x02\x10", 3, &t),
                 CODEC_EVERSION);
    cr_assert_eq(codec_session_type((const uint8_t *)"\x92\x01\xa1x", 3, &t),
                 CODEC_ECORRUPT, "type as str");
    cr_assert_eq(codec_session_type((const uint8_t *)"\x91\x01", 2, &t),
                 CODEC_ECORRUPT, "no type");
    cr_assert_eq(codec_session_type(NULL, 0, &t), CODEC_ECORRUPT);
    cr_assert_eq(codec_session_type(golden_ack, sizeof golden_ack, NULL),
                 CODEC_EINVAL);
    cr_assert_eq(codec_session_type(golden_ack, SESSION_MAX_FRAME + 1, &t),
                 CODEC_ELIMIT, "judged from the length, nothing read");
}

Test(session_head, wrong_type_is_ekind_for_every_decoder)
{
    for (size_t i = 0; i < N_KINDS; i++)
        for (size_t j = 0; j < N_KINDS; j++)
            if (i != j)
                cr_assert_eq(kinds[j].dec(kinds[i].golden,
                                          kinds[i].golden_len),
                             CODEC_EKIND, "%s to %s", kinds[i].name,
                             kinds[j].name);
    for (size_t j = 0; j < N_KINDS; j++) {
        cr_assert_eq(LIT(kinds[j].dec, "\x94\x01\x01\xc3\x90"), CODEC_EKIND,
                     "sync request to %s", kinds[j].name);
        cr_assert_eq(LIT(kinds[j].dec, "\x93\x01\x02\x90"), CODEC_EKIND,
                     "sync response to %s", kinds[j].name);
        cr_assert_eq(LIT(kinds[j].dec,
                         "\x99\x01\x01\xa1g\x01\x01\x00\xa1u\x90\xa0"),
                     CODEC_EKIND, "an op to %s", kinds[j].name);
    }
}

Test(session_head, other_version_whole_or_cut_after_the_head)
{
    for (size_t i = 0; i < N_KINDS; i++) {
        uint8_t *c = copy_of(kinds[i].golden, kinds[i].golden_len);
        c[1] = 0x02;
        cr_assert_eq(kinds[i].dec(c, kinds[i].golden_len), CODEC_EVERSION,
                     "%s", kinds[i].name);
        /* the last byte cut: the head still fits, so still the version */
        cr_assert_eq(kinds[i].dec(c, kinds[i].golden_len - 1), CODEC_EVERSION,
                     "%s cut", kinds[i].name);
        c[1] = 0x00;
        cr_assert_eq(kinds[i].dec(c, kinds[i].golden_len), CODEC_EVERSION);
        c[1] = 0x01;
        c[2] = 0x7f;
        cr_assert_eq(kinds[i].dec(c, kinds[i].golden_len), CODEC_EKIND);
        free(c);
    }
    cr_assert_eq(LIT(dec_hello, "\x91\x02"), CODEC_EVERSION, "any shape");
    cr_assert_eq(LIT(dec_ack, "\xcc\x02"), CODEC_ECORRUPT, "not an array");
}

Test(session_head, truncated_at_every_byte)
{
    for (size_t i = 0; i < N_KINDS; i++) {
        cr_assert_eq(kinds[i].dec(kinds[i].golden, kinds[i].golden_len),
                     CODEC_OK, "%s whole", kinds[i].name);
        for (size_t k = 0; k < kinds[i].golden_len; k++)
            cr_assert_eq(kinds[i].dec(kinds[i].golden, k), CODEC_ECORRUPT,
                         "%s cut at %zu", kinds[i].name, k);
    }
}

Test(session_head, trailing_bytes_and_null)
{
    for (size_t i = 0; i < N_KINDS; i++) {
        wb w = { 0 };
        wb_put(&w, kinds[i].golden, kinds[i].golden_len);
        w_byte(&w, 0xc0);
        cr_assert_eq(dec_wb(kinds[i].dec, &w), CODEC_ECORRUPT, "%s",
                     kinds[i].name);
        cr_assert_eq(kinds[i].dec(NULL, 0), CODEC_ECORRUPT);
    }
    cr_assert_eq(codec_hello_decode(NULL, golden_hello, 50), CODEC_EINVAL);
    cr_assert_eq(codec_batch_decode(NULL, golden_batch, 13), CODEC_EINVAL);
    cr_assert_eq(codec_ack_decode(NULL, golden_ack, 36), CODEC_EINVAL);
    cr_assert_eq(codec_want_decode(NULL, golden_want, 10), CODEC_EINVAL);
    cr_assert_eq(codec_repair_decode(NULL, golden_repair, 10), CODEC_EINVAL);
    cr_assert_eq(codec_status_decode(NULL, golden_status, 10), CODEC_EINVAL);
    cr_assert_eq(codec_error_decode(NULL, golden_error, 10), CODEC_EINVAL);
}

/* ====================================================================== */
/* Shapes and canonical forms                                              */

#define HELLO_HEAD "\x98\x01\x10\x07\xa5" "alice" "\xce\x00\x01\x00\x00\x04\xc2"
#define DIG "\xc4\x10" "0123456789abcdef"

Test(session_shapes, hello)
{
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x90"), CODEC_OK);
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x92\x93\xa1" "a\x90" DIG
                     "\x93\xa1" "b\x90" DIG), CODEC_OK);
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x92\x93\xa1" "b\x90" DIG
                     "\x93\xa1" "a\x90" DIG), CODEC_ECORRUPT, "descending");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x92\x93\xa1" "a\x90" DIG
                     "\x93\xa1" "a\x90" DIG), CODEC_ECORRUPT, "duplicate");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x92\x93\xa2" "ab\x90" DIG
                     "\x93\xa1" "a\x90" DIG), CODEC_ECORRUPT, "prefix after");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x92\x93\xa1" "a\x90" DIG
                     "\x93\xa2" "ab\x90" DIG), CODEC_OK, "prefix first");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x91\x93\xa1" "a\x94\x07\x01\x01"
                     "\x01" DIG), CODEC_ECORRUPT, "vv not ascending");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x91\x93\xa1" "a\x94\x01\x01\x01"
                     "\x02" DIG), CODEC_ECORRUPT, "vv replica twice");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x91\x93\xa1" "a\x92\x01\x00" DIG),
                 CODEC_ECORRUPT, "seq 0");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x91\x93\xa1" "a\x91\x01" DIG),
                 CODEC_ECORRUPT, "odd vv");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x91\x93\xa1" "a\x90\xc4\x0f"
                     "0123456789abcde"), CODEC_ECORRUPT, "15-byte digest");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x91\x93\xa1" "a\x90\xa2" "01"),
                 CODEC_ECORRUPT, "digest as str");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x91\x93\xa1" "a\x90\xc5\x00\x10"
                     "0123456789abcdef"), CODEC_ECORRUPT, "bin16 form");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x91\x92\xa1" "a\x90"),
                 CODEC_ECORRUPT, "entry of 2");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x91\x93\xa0\x90" DIG),
                 CODEC_ECORRUPT, "empty conv");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\x91\x93\xa1\xff\x90" DIG),
                 CODEC_ECORRUPT, "invalid UTF-8 conv");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\xdc\x00\x00"), CODEC_ECORRUPT,
                 "array16 for 0");
    cr_assert_eq(LIT(dec_hello, HELLO_HEAD "\xc0"), CODEC_ECORRUPT, "nil");
    cr_assert_eq(LIT(dec_hello, "\x98\x01\x10\x00\xa5" "alice\x01\x04\xc2\x90"),
                 CODEC_ECORRUPT, "replica 0");
    cr_assert_eq(LIT(dec_hello, "\x98\x01\x10\xcc\x07\xa5" "alice\x01\x04\xc2"
                     "\x90"), CODEC_ECORRUPT, "uint8 for 7");
    cr_assert_eq(LIT(dec_hello, "\x98\x01\x10\xd0\x07\xa5" "alice\x01\x04\xc2"
                     "\x90"), CODEC_ECORRUPT, "int8 for 7");
    cr_assert_eq(LIT(dec_hello, "\x98\x01\x10\x07\xd9\x05" "alice\x01\x04\xc2"
                     "\x90"), CODEC_ECORRUPT, "str8 for 5 bytes");
    cr_assert_eq(LIT(dec_hello, "\x98\x01\x10\x07\xa0\x01\x04\xc2\x90"),
                 CODEC_ECORRUPT, "empty user");
    cr_assert_eq(LIT(dec_hello, "\x98\x01\x10\x07\xa2\xc0\x80\x01\x04\xc2\x90"),
                 CODEC_ECORRUPT, "overlong UTF-8 user");
    cr_assert_eq(LIT(dec_hello, "\x98\x01\x10\x07\xa1u\x00\x04\xc2\x90"),
                 CODEC_ECORRUPT, "budget 0");
    cr_assert_eq(LIT(dec_hello, "\x98\x01\x10\x07\xa1u\x01\x00\xc2\x90"),
                 CODEC_ECORRUPT, "window 0");
    cr_assert_eq(LIT(dec_hello, "\x98\x01\x10\x07\xa1u\x01\x01\x00\x90"),
                 CODEC_ECORRUPT, "int as bool");
    cr_assert_eq(LIT(dec_hello, "\x98\x01\x10\x07\xa1u\x01\x01\xc0\x90"),
                 CODEC_ECORRUPT, "nil as bool");
    cr_assert_eq(LIT(dec_hello, "\x97\x01\x10\x07\xa1u\x01\x01\xc2"),
                 CODEC_ECORRUPT, "7 elements");
    cr_assert_eq(LIT(dec_hello, "\x99\x01\x10\x07\xa1u\x01\x01\xc2\x90\x90"),
                 CODEC_ECORRUPT, "9 elements");
}

Test(session_shapes, batch_ack_want)
{
    cr_assert_eq(LIT(dec_batch, "\x96\x01\x11\x00\xa1x\xc2\x90"),
                 CODEC_ECORRUPT, "batch 0");
    cr_assert_eq(LIT(dec_batch, "\x96\x01\x11\x01\xa1x\x00\x90"),
                 CODEC_ECORRUPT, "more as int");
    cr_assert_eq(LIT(dec_batch, "\x96\x01\x11\x01\xc4\x01x\xc2\x90"),
                 CODEC_ECORRUPT, "conv as bin");
    cr_assert_eq(LIT(dec_batch, "\x96\x01\x11\x01\xa1x\xc2\x91\xa1x"),
                 CODEC_ECORRUPT, "op as str");
    cr_assert_eq(LIT(dec_batch, "\x96\x01\x11\x01\xa1x\xc2\x91\xc5\x00\x01x"),
                 CODEC_ECORRUPT, "bin16 for 1 byte");
    cr_assert_eq(LIT(dec_batch, "\x96\x01\x11\x01\xa1x\xc2\x92\xc4\x01x\xc0"),
                 CODEC_ECORRUPT, "nil after a good op");
    cr_assert_eq(LIT(dec_batch, "\x95\x01\x11\x01\xa1x\xc2"), CODEC_ECORRUPT);

    cr_assert_eq(LIT(dec_ack, "\x97\x01\x12\x01\xa1x\x01\x90" DIG), CODEC_OK);
    cr_assert_eq(LIT(dec_ack, "\x97\x01\x12\x01\xa1x\x02\x90" DIG), CODEC_OK);
    cr_assert_eq(LIT(dec_ack, "\x97\x01\x12\x01\xa1x\x03\x90" DIG),
                 CODEC_ECORRUPT, "result 3");
    cr_assert_eq(LIT(dec_ack, "\x97\x01\x12\x00\xa1x\x00\x90" DIG),
                 CODEC_ECORRUPT, "batch 0");
    cr_assert_eq(LIT(dec_ack, "\x97\x01\x12\x01\xa1x\xff\x90" DIG),
                 CODEC_ECORRUPT, "negative result");
    cr_assert_eq(LIT(dec_ack, "\x97\x01\x12\x01\xa1x\x00\x94\x02\x01\x01\x01"
                     DIG), CODEC_ECORRUPT, "vv descending");
    cr_assert_eq(LIT(dec_ack, "\x97\x01\x12\x01\xa1x\x00\x90\xc0"),
                 CODEC_ECORRUPT, "nil digest");

    cr_assert_eq(LIT(dec_want, "\x94\x01\x13\xa1x\x90"), CODEC_ECORRUPT,
                 "no id");
    cr_assert_eq(LIT(dec_want, "\x94\x01\x13\xa1x\x94\x01\x02\x01\x02"),
                 CODEC_ECORRUPT, "twice");
    cr_assert_eq(LIT(dec_want, "\x94\x01\x13\xa1x\x94\x01\x03\x01\x02"),
                 CODEC_ECORRUPT, "descending seq");
    cr_assert_eq(LIT(dec_want, "\x94\x01\x13\xa1x\x94\x01\x02\x01\x03"),
                 CODEC_OK, "same replica, ascending seq");
    cr_assert_eq(LIT(dec_want, "\x94\x01\x13\xa1x\x92\x00\x01"),
                 CODEC_ECORRUPT, "replica 0");
    cr_assert_eq(LIT(dec_want, "\x94\x01\x13\xa1x\x93\x01\x01\x02"),
                 CODEC_ECORRUPT, "odd");
}

#define REP "\x94\x01\x14\xa1x"

Test(session_shapes, repair)
{
    cr_assert_eq(LIT(dec_repair, REP "\x92\x95\x01\x01\x05\x00" DIG
                     "\x95\x01\x06\x09\x00" DIG), CODEC_OK, "adjacent");
    cr_assert_eq(LIT(dec_repair, REP "\x92\x95\x01\x01\x05\x00" DIG
                     "\x95\x01\x05\x09\x00" DIG), CODEC_ECORRUPT, "overlap");
    cr_assert_eq(LIT(dec_repair, REP "\x92\x95\x02\x01\x05\x00" DIG
                     "\x95\x01\x06\x09\x00" DIG), CODEC_ECORRUPT,
                 "replicas descending");
    cr_assert_eq(LIT(dec_repair, REP "\x92\x95\x01\x01\x05\x00" DIG
                     "\x95\x02\x01\x01\x00" DIG), CODEC_OK, "next replica");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x95\x01\x05\x04\x00" DIG),
                 CODEC_ECORRUPT, "lo > hi");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x95\x01\x00\x04\x00" DIG),
                 CODEC_ECORRUPT, "lo 0");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x95\x00\x01\x04\x00" DIG),
                 CODEC_ECORRUPT, "replica 0");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x95\x01\x01\x04\xcc\x05" DIG),
                 CODEC_ECORRUPT, "non-minimal count");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x96\x01\x01\x04\x00" DIG "\x00"),
                 CODEC_ECORRUPT, "item of 6");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x93\x01\x01\x04"),
                 CODEC_ECORRUPT, "item of 3");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x94\x01\x02\x04\x94\x02" DIG
                     "\x03" DIG), CODEC_OK, "listing");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x94\x01\x02\x04\x94\x02" DIG
                     "\x02" DIG), CODEC_ECORRUPT, "same version twice");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x94\x01\x02\x04\x94\x02"
                     "\xc4\x10" "1111111111111111\x02\xc4\x10"
                     "2222222222222222"), CODEC_OK, "two versions of one id");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x94\x01\x02\x04\x94\x02"
                     "\xc4\x10" "2222222222222222\x02\xc4\x10"
                     "1111111111111111"), CODEC_ECORRUPT, "hashes descending");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x94\x01\x02\x04\x92\x01" DIG),
                 CODEC_ECORRUPT, "seq below lo");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x94\x01\x02\x04\x92\x05" DIG),
                 CODEC_ECORRUPT, "seq above hi");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x94\x01\x02\x04\x91\x02"),
                 CODEC_ECORRUPT, "odd listing");
    cr_assert_eq(LIT(dec_repair, REP "\x91\x94\x01\x02\x04\x92\x02\x02"),
                 CODEC_ECORRUPT, "hash as uint");
}

Test(session_shapes, status_error)
{
    cr_assert_eq(LIT(dec_status, "\x96\x01\x15\xa1x\x90\x90\x92\xa1" "a\xa1"
                     "b"), CODEC_OK);
    cr_assert_eq(LIT(dec_status, "\x96\x01\x15\xa1x\x90\x90\x92\xa1" "b\xa1"
                     "a"), CODEC_ECORRUPT, "members descending");
    cr_assert_eq(LIT(dec_status, "\x96\x01\x15\xa1x\x90\x90\x92\xa1" "a\xa1"
                     "a"), CODEC_ECORRUPT, "member twice");
    cr_assert_eq(LIT(dec_status, "\x96\x01\x15\xa1x\x90\x90\x91\xa0"),
                 CODEC_ECORRUPT, "empty member");
    cr_assert_eq(LIT(dec_status, "\x96\x01\x15\xa1x\x90\x90\x91\xa1\x80"),
                 CODEC_ECORRUPT, "invalid UTF-8 member");
    cr_assert_eq(LIT(dec_status, "\x96\x01\x15\xa1x\x90\x92\x01\x00\x90"),
                 CODEC_ECORRUPT, "zero in delivered_vv");
    cr_assert_eq(LIT(dec_status, "\x96\x01\x15\xa1x\x92\x00\x01\x90\x90"),
                 CODEC_ECORRUPT, "zero in relay_vv");

    cr_assert_eq(LIT(dec_error, "\x94\x01\x16\x00\xa0"), CODEC_ECORRUPT,
                 "code 0");
    cr_assert_eq(LIT(dec_error, "\x94\x01\x16\xcd\x03\xe8\xa0"), CODEC_OK,
                 "unknown code accepted");
    cr_assert_eq(LIT(dec_error, "\x94\x01\x16\x01\xa1\xff"), CODEC_ECORRUPT,
                 "invalid UTF-8 reason");
    cr_assert_eq(LIT(dec_error, "\x94\x01\x16\x01\xc4\x00"), CODEC_ECORRUPT,
                 "reason as bin");
}

Test(session_shapes, deep_nesting)
{
    wb w = { 0 };
    W(&w, REP "\x91");
    for (int i = 0; i < 20; i++)
        W(&w, "\x91");
    W(&w, "\x90");
    cr_assert_eq(dec_wb(dec_repair, &w), CODEC_ECORRUPT);
}

/* ====================================================================== */
/* Hostile headers: huge declared sizes are refused before any allocation  */

static const struct {
    const char *b;
    size_t n;
} hostile[] = {
    { "\xdd\xff\xff\xff\xff", 5 }, { "\xdc\xff\xff", 3 },
    { "\xdb\xff\xff\xff\xff", 5 }, { "\xc6\xff\xff\xff\xff", 5 },
    { "\xdf\xff\xff\xff\xff", 5 }, { "\xdd\x04\x00\x00\x00", 5 },
    { "\xda\xff\xff", 3 }, { "\xc5\x10\x00", 3 },
};

/* Every place of every message where a size is declared. */
static const struct {
    int (*dec)(const uint8_t *, size_t);
    const char *pre;
    size_t pre_n;
} slots[] = {
#define SLOT(d, lit) { d, lit, sizeof(lit) - 1 }
    SLOT(dec_hello, ""),
    SLOT(dec_hello, "\x98\x01\x10"),
    SLOT(dec_hello, "\x98\x01\x10\x07"),
    SLOT(dec_hello, HELLO_HEAD),
    SLOT(dec_hello, HELLO_HEAD "\x91"),
    SLOT(dec_hello, HELLO_HEAD "\x91\x93"),
    SLOT(dec_hello, HELLO_HEAD "\x91\x93\xa1x"),
    SLOT(dec_hello, HELLO_HEAD "\x91\x93\xa1x\x90"),
    SLOT(dec_batch, "\x96\x01\x11\x01"),
    SLOT(dec_batch, "\x96\x01\x11\x01\xa1x\xc2"),
    SLOT(dec_batch, "\x96\x01\x11\x01\xa1x\xc2\x91"),
    SLOT(dec_ack, "\x97\x01\x12\x01"),
    SLOT(dec_ack, "\x97\x01\x12\x01\xa1x\x00"),
    SLOT(dec_ack, "\x97\x01\x12\x01\xa1x\x00\x90"),
    SLOT(dec_want, "\x94\x01\x13"),
    SLOT(dec_want, "\x94\x01\x13\xa1x"),
    SLOT(dec_repair, REP),
    SLOT(dec_repair, REP "\x91"),
    SLOT(dec_repair, REP "\x91\x94\x01\x01\x02"),
    SLOT(dec_repair, REP "\x91\x95\x01\x01\x02\x00"),
    SLOT(dec_status, "\x96\x01\x15\xa1x"),
    SLOT(dec_status, "\x96\x01\x15\xa1x\x90"),
    SLOT(dec_status, "\x96\x01\x15\xa1x\x90\x90"),
    SLOT(dec_status, "\x96\x01\x15\xa1x\x90\x90\x91"),
    SLOT(dec_error, "\x94\x01\x16\x01"),
#undef SLOT
};

Test(session_hostile, huge_declared_sizes)
{
#ifdef ALLOC_HOOK
    int hook = alloc_hook_active();
#endif
    for (size_t s = 0; s < sizeof slots / sizeof slots[0]; s++) {
        for (size_t h = 0; h < sizeof hostile / sizeof hostile[0]; h++) {
            wb w = { 0 };
            wb_put(&w, slots[s].pre, slots[s].pre_n);
            wb_put(&w, hostile[h].b, hostile[h].n);
            W(&w, "\x90\x90");   /* a little more, still far too short */
            uint8_t *c = copy_of(w.p, w.n);
            size_t n = w.n;
            free(w.p);
#ifdef ALLOC_HOOK
            alloc_biggest = 0;
#endif
            int rc = slots[s].dec(c, n);
            cr_assert_eq(rc, CODEC_ECORRUPT, "slot %zu header %zu: %d", s, h,
                         rc);
#ifdef ALLOC_HOOK
            /* the wrapper's own copy is n bytes; nothing bigger than a few
             * hundred bytes may be asked for */
            if (hook)
                cr_assert(alloc_biggest <= 512, "slot %zu header %zu: "
                          "allocated %zu", s, h, (size_t)alloc_biggest);
#endif
            free(c);
        }
    }
}

/* ====================================================================== */
/* Limits: at the maximum, and one past it                                 */

/* A name of `len` bytes, unique per i, ascending with i. */
static void name_of(char *buf, size_t i, size_t len)
{
    char tmp[16];
    snprintf(tmp, sizeof tmp, "%08zu", i);
    memset(buf, 'n', len);
    memcpy(buf, tmp, len < 8 ? len : 8);
}

Test(session_limits, strings)
{
    char s[300];
    wb w = { 0 };
    memset(s, 'c', sizeof s);

    for (size_t n = 255; n <= 256; n++) {
        int want = n == 255 ? CODEC_OK : CODEC_ELIMIT;
        /* conv */
        w_head(&w, 4, SESSION_WANT);
        w_str(&w, s, n);
        W(&w, "\x92\x01\x01");
        cr_assert_eq(dec_wb(dec_want, &w), want, "conv %zu", n);
        /* user */
        w_head(&w, 8, SESSION_HELLO);
        w_uint(&w, 1);
        w_str(&w, s, n);
        W(&w, "\x01\x01\xc2\x90");
        cr_assert_eq(dec_wb(dec_hello, &w), want, "user %zu", n);
        /* member */
        w_head(&w, 6, SESSION_STATUS);
        W(&w, "\xa1x\x90\x90\x91");
        w_str(&w, s, n);
        cr_assert_eq(dec_wb(dec_status, &w), want, "member %zu", n);
        /* reason */
        w_head(&w, 4, SESSION_ERROR);
        w_uint(&w, 1);
        w_str(&w, s, n);
        cr_assert_eq(dec_wb(dec_error, &w), want, "reason %zu", n);
    }
}

Test(session_limits, budget_and_window)
{
    static const struct {
        uint64_t budget, window;
        int want;
    } cases[] = {
        { 1, 1, CODEC_OK },
        { SESSION_MAX_FRAME, SESSION_MAX_WINDOW, CODEC_OK },
        { SESSION_MAX_FRAME + 1, 1, CODEC_ELIMIT },
        { UINT64_MAX, 1, CODEC_ELIMIT },
        { 1, SESSION_MAX_WINDOW + 1, CODEC_ELIMIT },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wb w = { 0 };
        codec_hello m = g_hello();
        uint8_t *out;
        size_t n;

        w_head(&w, 8, SESSION_HELLO);
        W(&w, "\x01\xa1u");
        w_uint(&w, cases[i].budget);
        w_uint(&w, cases[i].window);
        W(&w, "\xc2\x90");
        cr_assert_eq(dec_wb(dec_hello, &w), cases[i].want, "case %zu", i);
        m.budget = cases[i].budget;
        m.window = cases[i].window;
        cr_assert_eq(codec_hello_encode(&out, &n, &m), cases[i].want);
        if (cases[i].want == CODEC_OK)
            free(out);
        else
            cr_assert_null(out);
    }
}

/* Hello with `count` conversations, or one conversation whose vector has
 * `count` entries. */
static void hello_of(wb *w, size_t convs, size_t vv)
{
    char name[8];
    w_head(w, 8, SESSION_HELLO);
    W(w, "\x01\xa1u\x01\x01\xc2");
    w_arr(w, convs);
    for (size_t i = 0; i < convs; i++) {
        name_of(name, i, 8);
        w_arr(w, 3);
        w_str(w, name, 8);
        w_arr(w, 2 * vv);
        for (size_t j = 0; j < vv; j++)
            w_uint(w, j + 1), w_uint(w, 1);
        W(w, DIG);
    }
}

Test(session_limits, hello_counts)
{
    wb w = { 0 };

    hello_of(&w, SESSION_MAX_CONVS, 0);
    cr_assert_lt(w.n, SESSION_MAX_FRAME);
    cr_assert_eq(dec_wb(dec_hello, &w), CODEC_OK, "100000 conversations");
    hello_of(&w, SESSION_MAX_CONVS + 1, 0);
    cr_assert_eq(dec_wb(dec_hello, &w), CODEC_ELIMIT, "100001");
    hello_of(&w, 1, SESSION_MAX_VV);
    cr_assert_eq(dec_wb(dec_hello, &w), CODEC_OK, "65536 replicas");
    hello_of(&w, 1, SESSION_MAX_VV + 1);
    cr_assert_eq(dec_wb(dec_hello, &w), CODEC_ELIMIT, "65537");
}

Test(session_limits, encoder_counts)
{
    codec_hello h = g_hello();
    codec_ack a = g_ack();
    codec_want wt = g_want();
    codec_repair r = g_repair();
    codec_status s = g_status();
    codec_batch b = g_batch();
    codec_repair_item big_listing = { 1, 1, 1, 1, 0, { 0 }, &g_version,
                                      SESSION_MAX_LISTING + 1 };
    uint8_t *out;
    size_t n;

    h.n_convs = SESSION_MAX_CONVS + 1;
    cr_assert_eq(codec_hello_encode(&out, &n, &h), CODEC_ELIMIT);
    h = g_hello();
    codec_hello_conv c = g_conv;
    c.n_vv = SESSION_MAX_VV + 1;
    h.convs = &c;
    cr_assert_eq(codec_hello_encode(&out, &n, &h), CODEC_ELIMIT);
    a.n_vv = SESSION_MAX_VV + 1;
    cr_assert_eq(codec_ack_encode(&out, &n, &a), CODEC_ELIMIT);
    wt.n_ids = SESSION_MAX_WANT + 1;
    cr_assert_eq(codec_want_encode(&out, &n, &wt), CODEC_ELIMIT);
    r.n_items = SESSION_MAX_ITEMS + 1;
    cr_assert_eq(codec_repair_encode(&out, &n, &r), CODEC_ELIMIT);
    r.items = &big_listing;
    r.n_items = 1;
    cr_assert_eq(codec_repair_encode(&out, &n, &r), CODEC_ELIMIT);
    s.n_members = SESSION_MAX_MEMBERS + 1;
    cr_assert_eq(codec_status_encode(&out, &n, &s), CODEC_ELIMIT);
    s = g_status();
    s.n_delivered_vv = SESSION_MAX_VV + 1;
    cr_assert_eq(codec_status_encode(&out, &n, &s), CODEC_ELIMIT);
    b.n_ops = SESSION_MAX_BATCH_OPS + 1;
    cr_assert_eq(codec_batch_encode(&out, &n, &b), CODEC_ELIMIT);
    cr_assert_null(out);
    cr_assert_eq(n, 0);
}

Test(session_limits, list_counts)
{
    wb w = { 0 };

    for (size_t count = SESSION_MAX_BATCH_OPS; count <= SESSION_MAX_BATCH_OPS + 1;
         count++) {
        w_head(&w, 6, SESSION_BATCH);
        W(&w, "\x01\xa1x\xc2");
        w_arr(&w, count);
        for (size_t i = 0; i < count; i++)
            W(&w, "\xc4\x00");
        cr_assert_eq(dec_wb(dec_batch, &w), count == SESSION_MAX_BATCH_OPS ?
                     CODEC_OK : CODEC_ELIMIT, "ops %zu", count);
    }
    for (size_t count = SESSION_MAX_WANT; count <= SESSION_MAX_WANT + 1;
         count++) {
        w_head(&w, 4, SESSION_WANT);
        W(&w, "\xa1x");
        w_arr(&w, 2 * count);
        for (size_t i = 0; i < count; i++)
            w_uint(&w, 1), w_uint(&w, i + 1);
        cr_assert_eq(dec_wb(dec_want, &w), count == SESSION_MAX_WANT ?
                     CODEC_OK : CODEC_ELIMIT, "want %zu", count);
    }
    for (size_t count = SESSION_MAX_ITEMS; count <= SESSION_MAX_ITEMS + 1;
         count++) {
        w_head(&w, 4, SESSION_REPAIR);
        W(&w, "\xa1x");
        w_arr(&w, count);
        for (size_t i = 0; i < count; i++) {
            W(&w, "\x95\x01");
            w_uint(&w, i + 1), w_uint(&w, i + 1);
            W(&w, "\x00" DIG);
        }
        cr_assert_eq(dec_wb(dec_repair, &w), count == SESSION_MAX_ITEMS ?
                     CODEC_OK : CODEC_ELIMIT, "items %zu", count);
    }
    for (size_t count = SESSION_MAX_LISTING; count <= SESSION_MAX_LISTING + 1;
         count++) {
        w_head(&w, 4, SESSION_REPAIR);
        W(&w, "\xa1x\x91\x94\x01\x01");
        w_uint(&w, count);
        w_arr(&w, 2 * count);
        for (size_t i = 0; i < count; i++) {
            w_uint(&w, i + 1);
            W(&w, DIG);
        }
        cr_assert_eq(dec_wb(dec_repair, &w), count == SESSION_MAX_LISTING ?
                     CODEC_OK : CODEC_ELIMIT, "listing %zu", count);
    }
    for (size_t count = SESSION_MAX_MEMBERS; count <= SESSION_MAX_MEMBERS + 1;
         count++) {
        char name[8];
        w_head(&w, 6, SESSION_STATUS);
        W(&w, "\xa1x\x90\x90");
        w_arr(&w, count);
        for (size_t i = 0; i < count; i++) {
            name_of(name, i, 8);
            w_str(&w, name, 8);
        }
        cr_assert_eq(dec_wb(dec_status, &w), count == SESSION_MAX_MEMBERS ?
                     CODEC_OK : CODEC_ELIMIT, "members %zu", count);
    }
    for (size_t count = SESSION_MAX_VV; count <= SESSION_MAX_VV + 1; count++) {
        w_head(&w, 7, SESSION_ACK);
        W(&w, "\x01\xa1x\x00");
        w_arr(&w, 2 * count);
        for (size_t i = 0; i < count; i++)
            w_uint(&w, i + 1), w_uint(&w, 1);
        W(&w, DIG);
        cr_assert_eq(dec_wb(dec_ack, &w), count == SESSION_MAX_VV ?
                     CODEC_OK : CODEC_ELIMIT, "ack vv %zu", count);
    }
}

/* A batch of 4 ops of the given sizes; returns the message length. */
static size_t batch_of(wb *w, const size_t len[4], const uint8_t *fill)
{
    w_head(w, 6, SESSION_BATCH);
    W(w, "\x01\xa1x\xc2\x94");
    for (int i = 0; i < 4; i++)
        w_bin(w, fill, len[i]);
    return w->n;
}

Test(session_limits, op_size_and_message_size)
{
    uint8_t *fill = calloc(1, SESSION_MAX_OP_BYTES + 1);
    wb w = { 0 };
    codec_bytes ops[4];
    codec_batch b = { 1, (const uint8_t *)"x", 1, 0, ops, 4 };
    uint8_t *out;
    size_t n;

    cr_assert_not_null(fill);
    /* one op at 1 MiB, then 1 MiB + 1 */
    size_t one[4] = { SESSION_MAX_OP_BYTES, 0, 0, 0 };
    batch_of(&w, one, fill);
    cr_assert_eq(dec_wb(dec_batch, &w), CODEC_OK, "1 MiB op");
    one[0]++;
    batch_of(&w, one, fill);
    cr_assert_eq(dec_wb(dec_batch, &w), CODEC_ELIMIT, "1 MiB + 1 op");
    for (int i = 0; i < 4; i++)
        ops[i] = (codec_bytes){ fill, one[i] };
    cr_assert_eq(codec_batch_encode(&out, &n, &b), CODEC_ELIMIT);
    cr_assert_null(out);

    /* 8 header bytes + 4 x (5 + 1048569) = exactly SESSION_MAX_FRAME */
    size_t fit[4] = { 1048569, 1048569, 1048569, 1048569 };
    cr_assert_eq(batch_of(&w, fit, fill), SESSION_MAX_FRAME);
    cr_assert_eq(dec_wb(dec_batch, &w), CODEC_OK, "message of 4 MiB");
    for (int i = 0; i < 4; i++)
        ops[i] = (codec_bytes){ fill, fit[i] };
    cr_assert_eq(codec_batch_encode(&out, &n, &b), CODEC_OK);
    cr_assert_eq(n, SESSION_MAX_FRAME);
    free(out);

    fit[3]++;
    cr_assert_eq(batch_of(&w, fit, fill), SESSION_MAX_FRAME + 1);
    cr_assert_eq(dec_wb(dec_batch, &w), CODEC_ELIMIT, "4 MiB + 1");
    ops[3].len++;
    cr_assert_eq(codec_batch_encode(&out, &n, &b), CODEC_ELIMIT,
                 "the encoder refuses what would not fit in a frame");
    cr_assert_null(out);
    cr_assert_eq(n, 0);
    free(fill);
}

/* ====================================================================== */
/* Encoders refuse what would not decode                                   */

/* Takes the outputs by address: the call must be evaluated first. */
static int enc_rc(int rc, uint8_t **out, size_t *n)
{
    cr_assert(rc == CODEC_OK || (*out == NULL && *n == 0),
              "error left output");
    free(*out);
    *out = (uint8_t *)1;   /* the next call must reset it */
    *n = 1;
    return rc;
}

#define ENC(name, m) \
    enc_rc(codec_##name##_encode(&out, &n, &(m)), &out, &n)

Test(session_encode_errors, refused)
{
    uint8_t *out = (uint8_t *)1;
    size_t n = 1;
    op_id desc[] = { { 2, 1 }, { 1, 1 } }, zero[] = { { 1, 0 } };
    codec_hello h = g_hello();
    codec_hello_conv convs[2] = { g_conv, g_conv };

    cr_assert_eq(codec_hello_encode(NULL, &n, &h), CODEC_EINVAL);
    cr_assert_eq(codec_hello_encode(&out, NULL, &h), CODEC_EINVAL);
    cr_assert_eq(codec_hello_encode(&out, &n, NULL), CODEC_EINVAL);
    cr_assert(out == NULL && n == 0);
    h.replica = 0;
    cr_assert_eq(ENC(hello, h), CODEC_EINVAL);
    h = g_hello(), h.user_len = 0;
    cr_assert_eq(ENC(hello, h), CODEC_EINVAL);
    h = g_hello(), h.user = (const uint8_t *)"\xff", h.user_len = 1;
    cr_assert_eq(ENC(hello, h), CODEC_EINVAL);
    h = g_hello(), h.budget = 0;
    cr_assert_eq(ENC(hello, h), CODEC_EINVAL);
    h = g_hello(), h.window = 0;
    cr_assert_eq(ENC(hello, h), CODEC_EINVAL);
    h = g_hello(), h.convs = convs, h.n_convs = 2;
    cr_assert_eq(ENC(hello, h), CODEC_EINVAL, "duplicate conversation");
    convs[1].conv_len = 8, convs[1].conv = (const uint8_t *)"generalz";
    cr_assert_eq(ENC(hello, h), CODEC_OK);
    convs[0].vv = desc;
    cr_assert_eq(ENC(hello, h), CODEC_EINVAL, "vv descending");
    convs[0].vv = zero, convs[0].n_vv = 1;
    cr_assert_eq(ENC(hello, h), CODEC_EINVAL, "zero seq");
    convs[0].vv = NULL;
    cr_assert_eq(ENC(hello, h), CODEC_EINVAL, "NULL vv");
    h.convs = NULL;
    cr_assert_eq(ENC(hello, h), CODEC_EINVAL, "NULL convs");

    codec_batch b = g_batch();
    b.batch_no = 0;
    cr_assert_eq(ENC(batch, b), CODEC_EINVAL);
    b = g_batch(), b.conv = NULL;
    cr_assert_eq(ENC(batch, b), CODEC_EINVAL);
    b = g_batch(), b.ops = NULL;
    cr_assert_eq(ENC(batch, b), CODEC_EINVAL);
    codec_bytes null_op = { NULL, 3 };
    b = g_batch(), b.ops = &null_op;
    cr_assert_eq(ENC(batch, b), CODEC_EINVAL);

    codec_ack a = g_ack();
    a.result = 3;
    cr_assert_eq(ENC(ack, a), CODEC_EINVAL);
    a = g_ack(), a.batch_no = 0;
    cr_assert_eq(ENC(ack, a), CODEC_EINVAL);
    a = g_ack(), a.vv = desc;
    cr_assert_eq(ENC(ack, a), CODEC_EINVAL);

    codec_want w = g_want();
    w.n_ids = 0;
    cr_assert_eq(ENC(want, w), CODEC_EINVAL, "empty");
    op_id twice[] = { { 1, 2 }, { 1, 2 } };
    w = g_want(), w.ids = twice;
    cr_assert_eq(ENC(want, w), CODEC_EINVAL, "twice");
    w = g_want(), w.conv_len = OP_MAX_CONV + 1;
    cr_assert_eq(ENC(want, w), CODEC_ELIMIT);

    codec_repair_item items[2] = { g_items[0], g_items[1] };
    codec_repair r = { (const uint8_t *)"x", 1, items, 2 };
    cr_assert_eq(ENC(repair, r), CODEC_OK);
    items[1].replica = 1;   /* 1..2 overlaps 1..9 */
    cr_assert_eq(ENC(repair, r), CODEC_EINVAL);
    items[1] = g_items[1], items[1].lo = 3;   /* lo > hi */
    cr_assert_eq(ENC(repair, r), CODEC_EINVAL);
    codec_version v_out = { 5, { 0 } };
    items[1] = g_items[1], items[1].versions = &v_out;
    cr_assert_eq(ENC(repair, r), CODEC_EINVAL, "version outside the range");
    items[1] = g_items[1], items[1].versions = NULL;
    cr_assert_eq(ENC(repair, r), CODEC_EINVAL);
    items[1] = g_items[1], items[0].lo = 0;
    cr_assert_eq(ENC(repair, r), CODEC_EINVAL);

    codec_status s = g_status();
    codec_bytes mem[2] = { { (const uint8_t *)"b", 1 },
                           { (const uint8_t *)"a", 1 } };
    s.members = mem, s.n_members = 2;
    cr_assert_eq(ENC(status, s), CODEC_EINVAL, "members descending");
    mem[1].len = 0;
    cr_assert_eq(ENC(status, s), CODEC_EINVAL, "empty member");
    s = g_status(), s.relay_vv = zero;
    cr_assert_eq(ENC(status, s), CODEC_EINVAL);

    codec_error e = g_error();
    e.code = 0;
    cr_assert_eq(ENC(error, e), CODEC_EINVAL);
    e = g_error(), e.reason = NULL;
    cr_assert_eq(ENC(error, e), CODEC_EINVAL);
    e = g_error(), e.reason = (const uint8_t *)"\xc0\xaf", e.reason_len = 2;
    cr_assert_eq(ENC(error, e), CODEC_EINVAL);
    e = g_error(), e.reason_len = SESSION_MAX_REASON + 1;
    cr_assert_eq(ENC(error, e), CODEC_ELIMIT);
}

/* ====================================================================== */
/* Seeded random round trips                                               */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

/* Small values mostly, every width sometimes. */
static uint64_t rnd_step(void)
{
    uint64_t v = rnd() >> (rnd_below(4) ? 60 : rnd_below(64));
    return v ? v : 1;
}

static uint64_t seed_from_env(void)
{
    const char *s = getenv("MSGLOG_SEED");
    uint64_t seed = s && *s ? strtoull(s, NULL, 0)
                            : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    cr_log_info("seed %llu (rerun with MSGLOG_SEED=%llu)",
                (unsigned long long)seed, (unsigned long long)seed);
    fprintf(stderr, "test_session_codec: MSGLOG_SEED=%llu\n",
            (unsigned long long)seed);
    return seed;
}

/* A value above `cur` that leaves room for `left` more after it: small steps
 * mostly, any width sometimes. */
static uint64_t next_after(uint64_t cur, size_t left)
{
    uint64_t room = (UINT64_MAX - cur) / (left + 1);
    return cur + 1 + rnd_step() % (room ? room : 1);
}

/* n ids, strictly ascending by replica (vector) or by (replica, seq). */
static op_id *rnd_ids(size_t n, int by_replica)
{
    op_id *v = malloc((n ? n : 1) * sizeof *v);
    uint64_t r = 0, s = 0;
    cr_assert_not_null(v);
    for (size_t i = 0; i < n; i++) {
        if (by_replica || r == 0 || rnd_below(3) == 0 || s == UINT64_MAX) {
            r = next_after(r, n - i);
            s = 0;
        }
        s = by_replica ? next_after(0, 0) : next_after(s, 0);
        v[i] = (op_id){ r, s };
    }
    return v;
}

static uint8_t pool[70000];

static void rnd_hash(uint8_t h[16])
{
    for (int i = 0; i < 16; i++)
        h[i] = (uint8_t)rnd();
}

static size_t rnd_count(size_t small, size_t big)
{
    return rnd_below(4) ? rnd_below(small + 1) : rnd_below(big + 1);
}

/* Encodes, decodes (the wrapper re-encodes and compares the bytes: with one
 * encoding per message, equal bytes mean an equal message), and checks a
 * sample of cuts. */
static void round_trip(int rc, uint8_t **outp, size_t *lenp,
                       int (*dec)(const uint8_t *, size_t), uint64_t seed,
                       int it)
{
    uint8_t *out = *outp;
    size_t len = *lenp;

    cr_assert_eq(rc, CODEC_OK, "seed %llu it %d: encode %d",
                 (unsigned long long)seed, it, rc);
    cr_assert_eq(dec(out, len), CODEC_OK, "seed %llu it %d",
                 (unsigned long long)seed, it);
    for (size_t k = 0; k < len; k++)
        if (rnd_below(len) < 8)
            cr_assert_eq(dec(out, k), CODEC_ECORRUPT, "seed %llu it %d cut %zu",
                         (unsigned long long)seed, it, k);
    free(out);
}

Test(session_random, every_message)
{
    uint64_t seed = seed_from_env();
    rng_state = seed;
    for (size_t i = 0; i < sizeof pool; i++)
        pool[i] = (uint8_t)(' ' + rnd_below(95));

    for (int it = 0; it < 200; it++) {
        uint8_t *out;
        size_t len;

        /* HELLO */
        size_t nc = rnd_count(4, 200);
        codec_hello_conv *convs = calloc(nc ? nc : 1, sizeof *convs);
        char (*names)[255] = malloc((nc ? nc : 1) * 255);
        cr_assert(convs && names);
        for (size_t i = 0; i < nc; i++) {
            size_t l = 8 + rnd_below(248);
            name_of(names[i], i, l);
            memcpy(names[i] + 8, pool + rnd_below(1000), l - 8);
            convs[i] = (codec_hello_conv){ (const uint8_t *)names[i], l, NULL,
                                           rnd_count(3, 500), { 0 } };
            convs[i].vv = rnd_ids(convs[i].n_vv, 1);
            rnd_hash(convs[i].digest);
        }
        codec_hello h = { rnd_step(), pool + rnd_below(1000),
                          1 + rnd_below(255), 1 + rnd_below(SESSION_MAX_FRAME),
                          1 + rnd_below(SESSION_MAX_WINDOW),
                          (int)rnd_below(2), convs, nc };
        round_trip(codec_hello_encode(&out, &len, &h), &out, &len, dec_hello,
                   seed, it);
        for (size_t i = 0; i < nc; i++)
            free(convs[i].vv);
        free(convs);
        free(names);

        /* BATCH */
        size_t no = rnd_count(5, 300);
        codec_bytes *ops = malloc((no ? no : 1) * sizeof *ops);
        cr_assert_not_null(ops);
        for (size_t i = 0; i < no; i++) {
            size_t l = rnd_below(100) ? rnd_below(300) : rnd_below(70000);
            ops[i] = (codec_bytes){ pool + rnd_below(sizeof pool - l + 1), l };
        }
        codec_batch b = { rnd_step(), pool, 1 + rnd_below(255),
                          (int)rnd_below(2), ops, no };
        round_trip(codec_batch_encode(&out, &len, &b), &out, &len, dec_batch,
                   seed, it);
        free(ops);

        /* ACK */
        codec_ack a = { rnd_step(), pool + 7, 1 + rnd_below(255),
                        rnd_below(3), NULL, rnd_count(4, 1000), { 0 } };
        a.vv = rnd_ids(a.n_vv, 1);
        rnd_hash(a.digest);
        round_trip(codec_ack_encode(&out, &len, &a), &out, &len, dec_ack, seed,
                   it);
        free(a.vv);

        /* WANT */
        codec_want w = { pool + 3, 1 + rnd_below(255), NULL,
                         1 + rnd_count(4, 1000) };
        w.ids = rnd_ids(w.n_ids, 0);
        round_trip(codec_want_encode(&out, &len, &w), &out, &len, dec_want, seed,
                   it);
        free(w.ids);

        /* REPAIR */
        size_t ni = rnd_count(4, 100);
        codec_repair_item *items = calloc(ni ? ni : 1, sizeof *items);
        cr_assert_not_null(items);
        uint64_t rep = 1, next = 1;
        for (size_t i = 0; i < ni; i++) {
            codec_repair_item *x = &items[i];
            if (rnd_below(3) == 0)
                rep += 1 + rnd_below(1000), next = 1;
            x->replica = rep;
            x->lo = next + rnd_below(5);
            x->hi = x->lo + rnd_below(100);
            x->listing = (int)rnd_below(2);
            x->count = rnd_step();
            rnd_hash(x->fp);
            x->n_versions = x->listing ? rnd_count(3, 40) : 0;
            x->versions = calloc(x->n_versions + 1, sizeof *x->versions);
            cr_assert_not_null(x->versions);
            for (size_t k = 0; k < x->n_versions; k++) {
                codec_version *v = &x->versions[k];
                /* now and then a second version of the previous id: its
                 * hash must be greater, so take the previous one, top byte
                 * raised; else the next seqs */
                if (k > 0 && rnd_below(4) == 0 && v[-1].hash[0] < 0xff) {
                    *v = v[-1];
                    v->hash[0]++;
                } else {
                    v->seq = (k ? v[-1].seq : x->lo) + rnd_below(3);
                    if (k > 0 && v->seq == v[-1].seq)
                        v->seq++;
                    rnd_hash(v->hash);
                }
            }
            if (x->n_versions && x->versions[x->n_versions - 1].seq > x->hi)
                x->hi = x->versions[x->n_versions - 1].seq;
            next = x->hi + 1;
        }
        codec_repair r = { pool + 11, 1 + rnd_below(255), items, ni };
        round_trip(codec_repair_encode(&out, &len, &r), &out, &len, dec_repair,
                   seed, it);
        for (size_t i = 0; i < ni; i++)
            free(items[i].versions);
        free(items);

        /* STATUS */
        size_t nm = rnd_count(4, 300);
        codec_bytes *mem = malloc((nm ? nm : 1) * sizeof *mem);
        char (*users)[255] = malloc((nm ? nm : 1) * 255);
        cr_assert(mem && users);
        for (size_t i = 0; i < nm; i++) {
            size_t l = 8 + rnd_below(248);
            name_of(users[i], i, l);
            mem[i] = (codec_bytes){ (const uint8_t *)users[i], l };
        }
        codec_status s = { pool + 5, 1 + rnd_below(255), NULL,
                           rnd_count(4, 300), NULL, rnd_count(4, 300), mem,
                           nm };
        s.relay_vv = rnd_ids(s.n_relay_vv, 1);
        s.delivered_vv = rnd_ids(s.n_delivered_vv, 1);
        round_trip(codec_status_encode(&out, &len, &s), &out, &len, dec_status,
                   seed, it);
        free(s.relay_vv);
        free(s.delivered_vv);
        free(mem);
        free(users);

        /* ERROR */
        codec_error e = { rnd_step(), pool + 9, rnd_below(256) };
        round_trip(codec_error_encode(&out, &len, &e), &out, &len, dec_error,
                   seed, it);
    }
}

/* ====================================================================== */
/* Allocation failures                                                     */

#ifdef ALLOC_HOOK
/* Runs `call` with allocation k failing, k = 0, 1, ... until it succeeds;
 * each failure must be CODEC_ENOMEM and leak nothing. Returns the number of
 * failures. */
/* Runs `call` with allocation k failing, k = 0, 1, ... until it succeeds;
 * each failure must be CODEC_ENOMEM and leak nothing. Adds the number of
 * failures to `total`, then runs `undo` on the success. */
#define EVERY_ALLOC_FAILS(total, call, undo)                               \
    do {                                                                   \
        for (long k_ = 0;; k_++, (total)++) {                              \
            long live_ = alloc_live;                                       \
            alloc_left = k_;                                               \
            int rc_ = (call);                                              \
            alloc_left = -1;                                               \
            if (rc_ == CODEC_OK)                                           \
                break;                                                     \
            cr_assert_eq(rc_, CODEC_ENOMEM, "%s: %d", #call, rc_);         \
            cr_assert_eq(alloc_live, live_, "%s: leak after allocation "   \
                         "%ld", #call, k_);                                \
        }                                                                  \
        undo;                                                              \
    } while (0)

Test(session_nomem, every_allocation_fails_in_turn)
{
    uint8_t *out = NULL;
    size_t n;
    codec_hello h = g_hello(), dh;
    codec_batch b = g_batch(), db;
    codec_ack a = g_ack(), da;
    codec_want w = g_want(), dw;
    codec_repair r = g_repair(), dr;
    codec_status s = g_status(), ds;
    codec_error e = g_error(), de;
    int total = 0;

    if (!alloc_hook_active()) {
        cr_log_info("malloc is not ours (valgrind?): not run");
        return;
    }
    /* encoders: one buffer each */
    EVERY_ALLOC_FAILS(total, codec_hello_encode(&out, &n, &h), free(out));
    EVERY_ALLOC_FAILS(total, codec_batch_encode(&out, &n, &b), free(out));
    EVERY_ALLOC_FAILS(total, codec_ack_encode(&out, &n, &a), free(out));
    EVERY_ALLOC_FAILS(total, codec_want_encode(&out, &n, &w), free(out));
    EVERY_ALLOC_FAILS(total, codec_repair_encode(&out, &n, &r), free(out));
    EVERY_ALLOC_FAILS(total, codec_status_encode(&out, &n, &s), free(out));
    EVERY_ALLOC_FAILS(total, codec_error_encode(&out, &n, &e), free(out));
    cr_assert_eq(total, 7);
    /* decoders: hello 2 (table, vv), batch 1, ack 1, want 1, repair 2
     * (items, listing), status 3 (two vectors, members), error 0 */
    total = 0;
    EVERY_ALLOC_FAILS(total, codec_hello_decode(&dh, golden_hello,
                               sizeof golden_hello), codec_hello_clear(&dh));
    EVERY_ALLOC_FAILS(total, codec_batch_decode(&db, golden_batch,
                               sizeof golden_batch), codec_batch_clear(&db));
    EVERY_ALLOC_FAILS(total, codec_ack_decode(&da, golden_ack,
                               sizeof golden_ack), codec_ack_clear(&da));
    EVERY_ALLOC_FAILS(total, codec_want_decode(&dw, golden_want,
                               sizeof golden_want), codec_want_clear(&dw));
    EVERY_ALLOC_FAILS(total, codec_repair_decode(&dr, golden_repair,
                               sizeof golden_repair), codec_repair_clear(&dr));
    EVERY_ALLOC_FAILS(total, codec_status_decode(&ds, golden_status,
                               sizeof golden_status), codec_status_clear(&ds));
    EVERY_ALLOC_FAILS(total, codec_error_decode(&de, golden_error,
                               sizeof golden_error), codec_error_clear(&de));
    cr_assert_eq(total, 10);
}
#endif
