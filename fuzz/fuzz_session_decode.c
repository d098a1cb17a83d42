/*
 * libFuzzer target: the session protocol's frame reader, type peek and all
 * seven message decoders on every input (there is no selector byte: a message
 * handed to the wrong decoder must be refused cleanly too).
 *
 *  - codec_session_frame: a documented result; CODEC_OK only with a frame
 *    that fits in the input and a payload within SESSION_MAX_FRAME, whose
 *    length is the header's; CODEC_FRAME_MORE asks for more than the input.
 *  - codec_session_type: a documented result; a decoder accepts the input
 *    only when the peek gave its type.
 *  - each decoder: a documented result; on error the output is all zero;
 *    on success it re-encodes to the input byte for byte, borrowed strings
 *    and op bytes lie inside the input, and the shape the header promises
 *    holds (limits, ids >= 1).
 *
 * Plus, as for every target: no crash, leak, UB, or allocation over
 * -malloc_limit_mb.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/session_codec.h"

#define FAIL(...) do { fprintf(stderr, "fuzz_session_decode: " __VA_ARGS__); \
                       fputc('\n', stderr); abort(); } while (0)

static const uint8_t *in_buf;
static size_t in_len;
static uint64_t peeked;   /* codec_session_type's answer, 0 on error */

static int known_error(int rc)
{
    return rc == CODEC_ECORRUPT || rc == CODEC_EVERSION ||
           rc == CODEC_EKIND || rc == CODEC_ELIMIT || rc == CODEC_ENOMEM;
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void check_inside(const uint8_t *p, size_t n, const char *what)
{
    if (n == 0)
        return;
    if (p < in_buf || p > in_buf + in_len || n > (size_t)(in_buf + in_len - p))
        FAIL("%s: borrowed bytes outside the input", what);
}

static void check_vv(const op_id *v, size_t n, const char *what)
{
    if (n > SESSION_MAX_VV)
        FAIL("%s: %zu entries", what, n);
    for (size_t i = 0; i < n; i++)
        if (v[i].replica == 0 || v[i].seq == 0 ||
            (i && v[i - 1].replica >= v[i].replica))
            FAIL("%s: entry %zu breaks the vector rules", what, i);
}

static void check_conv(const uint8_t *c, size_t n, const char *what)
{
    if (n < 1 || n > OP_MAX_CONV)
        FAIL("%s: conversation of %zu bytes", what, n);
    check_inside(c, n, what);
}

/* Shared tail of every decode: the result contract, then re-encoding. */
static int settle(const char *what, int rc, uint64_t type, const void *m,
                  size_t size)
{
    if (rc != CODEC_OK) {
        if (!known_error(rc))
            FAIL("%s: undocumented result %d", what, rc);
        if (!all_zero(m, size))
            FAIL("%s: error %d left output behind", what, rc);
        return 0;
    }
    if (peeked != type)
        FAIL("%s: accepted, but the type peek said %llu", what,
             (unsigned long long)peeked);
    return 1;
}

static void same_bytes(const char *what, int rc, uint8_t *enc, size_t n)
{
    if (rc != CODEC_OK)
        FAIL("%s: accepted but does not re-encode: %d", what, rc);
    if (n != in_len || memcmp(enc, in_buf, n) != 0)
        FAIL("%s: re-encoding differs: %zu bytes in, %zu out", what, in_len, n);
    free(enc);
}

static void hello(void)
{
    codec_hello m;
    uint8_t *enc;
    size_t n;
    int rc = codec_hello_decode(&m, in_buf, in_len);
    if (settle("hello", rc, SESSION_HELLO, &m, sizeof m)) {
        if (m.replica == 0 || m.budget == 0 || m.budget > SESSION_MAX_FRAME ||
            m.window == 0 || m.window > SESSION_MAX_WINDOW ||
            m.n_convs > SESSION_MAX_CONVS || m.user_len == 0 ||
            m.user_len > OP_MAX_USER)
            FAIL("hello: shape");
        check_inside(m.user, m.user_len, "hello user");
        for (size_t i = 0; i < m.n_convs; i++) {
            check_conv(m.convs[i].conv, m.convs[i].conv_len, "hello");
            check_vv(m.convs[i].vv, m.convs[i].n_vv, "hello vv");
        }
        rc = codec_hello_encode(&enc, &n, &m);
        same_bytes("hello", rc, enc, n);
    }
    codec_hello_clear(&m);
}

static void batch(void)
{
    codec_batch m;
    uint8_t *enc;
    size_t n;
    int rc = codec_batch_decode(&m, in_buf, in_len);
    if (settle("batch", rc, SESSION_BATCH, &m, sizeof m)) {
        if (m.batch_no == 0 || m.n_ops > SESSION_MAX_BATCH_OPS)
            FAIL("batch: shape");
        check_conv(m.conv, m.conv_len, "batch");
        for (size_t i = 0; i < m.n_ops; i++) {
            if (m.ops[i].len > SESSION_MAX_OP_BYTES)
                FAIL("batch: op %zu of %zu bytes", i, m.ops[i].len);
            check_inside(m.ops[i].data, m.ops[i].len, "batch op");
        }
        rc = codec_batch_encode(&enc, &n, &m);
        same_bytes("batch", rc, enc, n);
    }
    codec_batch_clear(&m);
}

static void ack(void)
{
    codec_ack m;
    uint8_t *enc;
    size_t n;
    int rc = codec_ack_decode(&m, in_buf, in_len);
    if (settle("ack", rc, SESSION_ACK, &m, sizeof m)) {
        if (m.batch_no == 0 || m.result > SESSION_ACK_DROPPED)
            FAIL("ack: shape");
        check_conv(m.conv, m.conv_len, "ack");
        check_vv(m.vv, m.n_vv, "ack vv");
        rc = codec_ack_encode(&enc, &n, &m);
        same_bytes("ack", rc, enc, n);
    }
    codec_ack_clear(&m);
}

static void want(void)
{
    codec_want m;
    uint8_t *enc;
    size_t n;
    int rc = codec_want_decode(&m, in_buf, in_len);
    if (settle("want", rc, SESSION_WANT, &m, sizeof m)) {
        if (m.n_ids == 0 || m.n_ids > SESSION_MAX_WANT)
            FAIL("want: %zu ids", m.n_ids);
        check_conv(m.conv, m.conv_len, "want");
        for (size_t i = 0; i < m.n_ids; i++)
            if (m.ids[i].replica == 0 || m.ids[i].seq == 0 ||
                (i && op_id_cmp(m.ids[i - 1], m.ids[i]) >= 0))
                FAIL("want: id %zu", i);
        rc = codec_want_encode(&enc, &n, &m);
        same_bytes("want", rc, enc, n);
    }
    codec_want_clear(&m);
}

static void repair(void)
{
    codec_repair m;
    uint8_t *enc;
    size_t n;
    int rc = codec_repair_decode(&m, in_buf, in_len);
    if (settle("repair", rc, SESSION_REPAIR, &m, sizeof m)) {
        if (m.n_items > SESSION_MAX_ITEMS)
            FAIL("repair: %zu items", m.n_items);
        check_conv(m.conv, m.conv_len, "repair");
        for (size_t i = 0; i < m.n_items; i++) {
            const codec_repair_item *it = &m.items[i];
            if (it->replica == 0 || it->lo == 0 || it->lo > it->hi ||
                it->n_versions > SESSION_MAX_LISTING ||
                (!it->listing && it->n_versions))
                FAIL("repair: item %zu", i);
            for (size_t k = 0; k < it->n_versions; k++)
                if (it->versions[k].seq < it->lo ||
                    it->versions[k].seq > it->hi)
                    FAIL("repair: item %zu version %zu out of range", i, k);
        }
        rc = codec_repair_encode(&enc, &n, &m);
        same_bytes("repair", rc, enc, n);
    }
    codec_repair_clear(&m);
}

static void status(void)
{
    codec_status m;
    uint8_t *enc;
    size_t n;
    int rc = codec_status_decode(&m, in_buf, in_len);
    if (settle("status", rc, SESSION_STATUS, &m, sizeof m)) {
        check_conv(m.conv, m.conv_len, "status");
        check_vv(m.relay_vv, m.n_relay_vv, "status relay_vv");
        check_vv(m.delivered_vv, m.n_delivered_vv, "status delivered_vv");
        if (m.n_members > SESSION_MAX_MEMBERS)
            FAIL("status: %zu members", m.n_members);
        for (size_t i = 0; i < m.n_members; i++) {
            if (m.members[i].len == 0 || m.members[i].len > OP_MAX_USER)
                FAIL("status: member %zu", i);
            check_inside(m.members[i].data, m.members[i].len, "member");
        }
        rc = codec_status_encode(&enc, &n, &m);
        same_bytes("status", rc, enc, n);
    }
    codec_status_clear(&m);
}

static void error_msg(void)
{
    codec_error m;
    uint8_t *enc;
    size_t n;
    int rc = codec_error_decode(&m, in_buf, in_len);
    if (settle("error", rc, SESSION_ERROR, &m, sizeof m)) {
        if (m.code == 0 || m.reason_len > SESSION_MAX_REASON)
            FAIL("error: shape");
        check_inside(m.reason, m.reason_len, "reason");
        rc = codec_error_encode(&enc, &n, &m);
        same_bytes("error", rc, enc, n);
    }
    codec_error_clear(&m);
}

static void frame(void)
{
    size_t fl = 12345;
    int rc = codec_session_frame(in_buf, in_len, &fl);
    uint64_t n = in_len >= 4 ? (uint64_t)in_buf[0] << 24 | in_buf[1] << 16 |
                                   in_buf[2] << 8 | in_buf[3]
                             : 0;
    switch (rc) {
    case CODEC_OK:
        if (n > SESSION_MAX_FRAME || fl != 4 + n || fl > in_len)
            FAIL("frame: OK with %zu of %zu bytes", fl, in_len);
        break;
    case CODEC_FRAME_MORE:
        if (fl <= in_len || (in_len >= 4 && fl != 4 + n))
            FAIL("frame: wants %zu with %zu there", fl, in_len);
        break;
    case CODEC_ELIMIT:
        if (in_len < 4 || n <= SESSION_MAX_FRAME || fl != 0)
            FAIL("frame: ELIMIT for %llu", (unsigned long long)n);
        break;
    default:
        FAIL("frame: undocumented result %d", rc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    in_buf = data;
    in_len = size;
    int rc = codec_session_type(data, size, &peeked);
    if (rc != CODEC_OK && (!known_error(rc) || peeked != 0))
        FAIL("type: result %d, type %llu", rc, (unsigned long long)peeked);
    frame();
    hello();
    batch();
    ack();
    want();
    repair();
    status();
    error_msg();
    return 0;
}
