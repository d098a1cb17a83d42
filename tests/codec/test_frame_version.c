/* Which error a frame of another format version gets, complete or truncated
 * (docs/format.md, "Decoding rules and errors"). The version is judged from
 * the head alone (codec_frame_head: the array header, then element 0), and
 * codec_rd_array refuses a declared element count larger than the bytes
 * after the header before element 0 is read. So for any prefix of a
 * version-2 frame: CODEC_EVERSION when the header and element 0 are whole and
 * the declared count fits in the bytes after the header (always true of a
 * complete frame: every element takes a byte), else CODEC_ECORRUPT. The op
 * decoder and both sync decoders share that head, so each frame goes to all
 * three. Stored records (state_codec.c) check their element count before
 * their version, so only a record of the expected length reports a version. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "codec/state_codec.h"

/* Each decoder gets an exact-size heap copy, so a read past the end shows
 * under valgrind or ASan. */
static uint8_t *copy(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    cr_assert_not_null(c);
    if (n)
        memcpy(c, p, n);
    return c;
}

static int dec_op(const uint8_t *p, size_t n)
{
    uint8_t *c = copy(p, n);
    op o;
    int rc = codec_op_decode(&o, c, n);
    codec_op_clear(&o);
    free(c);
    return rc;
}

static int dec_request(const uint8_t *p, size_t n)
{
    uint8_t *c = copy(p, n);
    codec_sync_request req;
    int rc = codec_sync_request_decode(&req, c, n);
    codec_sync_request_clear(&req);
    free(c);
    return rc;
}

static int dec_response(const uint8_t *p, size_t n)
{
    uint8_t *c = copy(p, n);
    codec_bytes *ops;
    size_t n_ops;
    int rc = codec_sync_response_decode(&ops, &n_ops, c, n);
    free(ops);
    free(c);
    return rc;
}

typedef struct frame {
    const char *name;
    const uint8_t *b;
    size_t n;
    size_t hdr;       /* bytes of the array header */
    size_t count;     /* the element count it declares */
    size_t version;   /* bytes of element 0 */
} frame;

#define FRAME(name, lit, hdr, count, version) \
    { name, (const uint8_t *)(lit), sizeof(lit) - 1, hdr, count, version }

/* Version-2 frames: the golden send of docs/format.md with its version
 * byte changed, a request and a response likewise, an array16 head, a
 * version written as uint8, and a shape no version 1 frame has. */
static const frame frames[] = {
    FRAME("send", "\x99\x02\x01\xa7general\x01\x01\xcf\x00\x00\x01\x8b\xcf\xe5\x68\x00"
                  "\xa5" "alice\x90\xa5hello", 1, 9, 1),
    FRAME("request", "\x94\x02\x01\xc2\x91\x92\xa7general\x92\x01\x05", 1, 4, 1),
    FRAME("response", "\x93\x02\x02\x92\xc4\x03\x01\x02\x03\xc4\x01\xff", 1, 3, 1),
    FRAME("array16 head", "\xdc\x00\x10\x02\xc0\xc0\xc0\xc0\xc0\xc0\xc0\xc0\xc0\xc0\xc0"
                          "\xc0\xc0\xc0\xc0", 3, 16, 1),
    FRAME("version 255", "\x93\xcc\xff\x81\xa1k\xc3\xa0", 1, 3, 2),
    FRAME("other shape", "\x92\x02\x81\xa1k\xcb\x00\x00\x00\x00\x00\x00\x00\x00", 1, 2, 1),
};

/* The rule, from the frame's layout alone. */
static int expected(const frame *f, size_t n)
{
    if (n < f->hdr + f->version || f->count > n - f->hdr)
        return CODEC_ECORRUPT;
    return CODEC_EVERSION;
}

Test(frame_version, every_prefix_of_a_version_2_frame)
{
    for (size_t i = 0; i < sizeof frames / sizeof *frames; i++) {
        const frame *f = &frames[i];
        for (size_t n = 0; n <= f->n; n++) {
            int want = expected(f, n);
            cr_assert_eq(dec_op(f->b, n), want, "%s, %zu/%zu bytes: op", f->name, n, f->n);
            cr_assert_eq(dec_request(f->b, n), want, "%s, %zu/%zu bytes: request", f->name,
                         n, f->n);
            cr_assert_eq(dec_response(f->b, n), want, "%s, %zu/%zu bytes: response", f->name,
                         n, f->n);
        }
        cr_assert_eq(expected(f, f->n), CODEC_EVERSION, "%s: complete", f->name);
    }
}

/* The cases docs/format.md names. */
Test(frame_version, truncated_examples)
{
    /* 9 elements declared, 2 bytes after the header: corrupt, never read as
     * a version (the seed hostile-version-2-truncated). */
    cr_assert_eq(dec_op((const uint8_t *)"\x99\x02\x01", 3), CODEC_ECORRUPT);
    cr_assert_eq(dec_request((const uint8_t *)"\x94\x02\x01", 3), CODEC_ECORRUPT);
    cr_assert_eq(dec_response((const uint8_t *)"\x93\x02\x02", 3), CODEC_ECORRUPT);
    /* The golden send of version 2 without its last byte: the count still
     * fits, so the version decides. */
    const frame *send = &frames[0];
    cr_assert_eq(dec_op(send->b, send->n - 1), CODEC_EVERSION);
    /* An unknown kind is judged from the head in the same way. */
    static const uint8_t kind7[] = "\x99\x01\x07\xc0\xc0\xc0\xc0\xc0\xc0\xc0";
    cr_assert_eq(dec_op(kind7, sizeof kind7 - 1), CODEC_EKIND);
    cr_assert_eq(dec_op(kind7, sizeof kind7 - 2), CODEC_ECORRUPT);
}

static int dec_conv(const uint8_t *p, size_t n)
{
    uint8_t *c = copy(p, n);
    conv_state s;
    int rc = codec_conv_decode(&s, c, n);
    conv_free(&s);
    free(c);
    return rc;
}

static int dec_msg(const uint8_t *p, size_t n)
{
    uint8_t *c = copy(p, n);
    msg_state s;
    int rc = codec_msg_decode(&s, c, n);
    msg_free(&s);
    free(c);
    return rc;
}

#define CONV_V2 "\x99\x02\x07\x90\x90\x00\x00\x00\xc4\x10" "0123456789abcdef\x90"
#define MSG_V2 "\x97\x02\xa1\x61\x00\xc0\x90\x90\x90"

Test(frame_version, stored_records)
{
    static const uint8_t conv[] = CONV_V2, msg[] = MSG_V2;
    /* Every prefix: the same rule as frames, with the record's own count. */
    for (size_t n = 0; n <= sizeof conv - 1; n++)
        cr_assert_eq(dec_conv(conv, n), n >= 2 && 9 <= n - 1 ? CODEC_EVERSION : CODEC_ECORRUPT,
                     "conv record, %zu bytes", n);
    for (size_t n = 0; n <= sizeof msg - 1; n++)
        cr_assert_eq(dec_msg(msg, n), n >= 2 && 7 <= n - 1 ? CODEC_EVERSION : CODEC_ECORRUPT,
                     "msg record, %zu bytes", n);
    /* Another element count is corrupt whatever the version. */
    static const uint8_t conv10[] = "\x9a\x02\x07\x90\x90\x00\x00\x00\xc4\x10"
                                    "0123456789abcdef\x90\xc0";
    static const uint8_t msg6[] = "\x96\x02\xa1\x61\x00\xc0\x90\x90";
    cr_assert_eq(dec_conv(conv10, sizeof conv10 - 1), CODEC_ECORRUPT);
    cr_assert_eq(dec_msg(msg6, sizeof msg6 - 1), CODEC_ECORRUPT);
}
