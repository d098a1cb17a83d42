/*
 * Session protocol messages and framing (session_codec.h, docs/protocol.md).
 *
 * Same discipline as the op and sync codecs: version and type from the head
 * alone, then a bounded walk of the whole message before any allocation,
 * then the fields in order with only canonical forms accepted. On top of
 * that, every list whose order carries no meaning (vectors, conversations,
 * ids, members, repair items) must be strictly ascending, so a message has
 * exactly one encoding and a duplicate entry cannot be smuggled in.
 */
#include "codec/session_codec.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "codec/bounded.h"
#include "codec/out.h"
#include "codec/vv_codec.h"
#include "crdt/bytes.h"
#include "crdt/utf8.h"

/* ====================================================================== */
/* Framing                                                                 */

int codec_session_frame(const uint8_t *buf, size_t len, size_t *frame_len)
{
    if (frame_len == NULL || (buf == NULL && len > 0))
        return CODEC_EINVAL;
    *frame_len = SESSION_FRAME_HEADER;
    if (len < SESSION_FRAME_HEADER)
        return CODEC_FRAME_MORE;
    uint32_t n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
                 (uint32_t)buf[2] << 8 | buf[3];
    if (n > SESSION_MAX_FRAME) {
        *frame_len = 0;
        return CODEC_ELIMIT;
    }
    *frame_len = SESSION_FRAME_HEADER + (size_t)n;
    return len < *frame_len ? CODEC_FRAME_MORE : CODEC_OK;
}

int codec_session_frame_header(uint8_t out[SESSION_FRAME_HEADER],
                               size_t payload_len)
{
    if (payload_len > SESSION_MAX_FRAME)
        return CODEC_ELIMIT;
    for (int i = 0; i < SESSION_FRAME_HEADER; i++)
        out[i] = (uint8_t)(payload_len >> (8 * (SESSION_FRAME_HEADER - 1 - i)));
    return CODEC_OK;
}

/* ====================================================================== */
/* Shared checks (encode side reports CODEC_EINVAL, decode side            */
/* CODEC_ECORRUPT, for the same fault: `bad` says which)                   */

/* A str field of 1..max bytes (0..max when `empty_ok`), valid UTF-8. */
static int check_str(const uint8_t *s, size_t n, size_t max, int empty_ok,
                     int bad)
{
    if (n > max)
        return CODEC_ELIMIT;
    if ((n == 0 && !empty_ok) || (n > 0 && s == NULL) || !utf8_valid(s, n))
        return bad;
    return CODEC_OK;
}

/* Conversations and members are in bytes_cmp order (crdt/bytes.h): the
 * order of msglog_conversations(). */

/* An id list: ids >= 1, strictly ascending by (replica, seq). */
static int check_ids(const op_id *v, size_t n, int bad)
{
    if (n > 0 && v == NULL)
        return bad;
    for (size_t i = 0; i < n; i++) {
        if (v[i].replica == 0 || v[i].seq == 0)
            return bad;
        if (i > 0 && op_id_cmp(v[i - 1], v[i]) >= 0)
            return bad;
    }
    return CODEC_OK;
}

/* A version vector: at most SESSION_MAX_VV entries, codec_vv_valid (ids
 * >= 1, strictly ascending by replica alone). */
static int check_vv(const op_id *v, size_t n, int bad)
{
    if (n > SESSION_MAX_VV)
        return CODEC_ELIMIT;
    return codec_vv_valid(v, n) ? CODEC_OK : bad;
}

/* ====================================================================== */
/* Encoding                                                                */

/* The output buffer refuses to grow past SESSION_MAX_FRAME, so an encoder
 * handed an oversized message fails with CODEC_ELIMIT without first
 * building it whole. */
typedef struct capped_out {
    codec_out out;
    int too_big;
} capped_out;

static int capped_write(void *data, const char *buf, size_t len)
{
    capped_out *c = data;

    if (c->too_big || len > SESSION_MAX_FRAME - c->out.len) {
        c->too_big = 1;
        return -1;
    }
    return codec_out_write(&c->out, buf, len);
}

typedef void (*pack_fn)(msgpack_packer *pk, const void *m);

/* Packs [1, type, ...] with `fn` into a new buffer. */
static int pack_msg(uint8_t **out, size_t *out_len, uint64_t type, size_t hint,
                    pack_fn fn, const void *m, size_t fields)
{
    capped_out c = { .too_big = 0 };
    msgpack_packer pk;

    codec_out_init(&c.out, hint < SESSION_MAX_FRAME ? hint : SESSION_MAX_FRAME);
    msgpack_packer_init(&pk, &c, capped_write);
    msgpack_pack_array(&pk, fields);
    msgpack_pack_uint64(&pk, CODEC_FORMAT_VERSION);
    msgpack_pack_uint64(&pk, type);
    fn(&pk, m);
    int rc = codec_out_finish(&c.out, out, out_len);
    if (rc == CODEC_OK && c.too_big) {
        free(*out);
        *out = NULL;
        *out_len = 0;
        return CODEC_ELIMIT;
    }
    return rc;
}

/* Saturating size estimate for the first allocation. */
static size_t hint_add(size_t h, size_t items, size_t each)
{
    if (h >= SESSION_MAX_FRAME ||
        (each && items > (SESSION_MAX_FRAME - h) / each))
        return SESSION_MAX_FRAME;
    return h + items * each;
}

static void pack_str(msgpack_packer *pk, const uint8_t *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_hash(msgpack_packer *pk, const uint8_t h[OP_HASH_LEN])
{
    msgpack_pack_bin(pk, OP_HASH_LEN);
    msgpack_pack_bin_body(pk, h, OP_HASH_LEN);
}

static void pack_ids(msgpack_packer *pk, const op_id *v, size_t n)
{
    msgpack_pack_array(pk, 2 * n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_uint64(pk, v[i].replica);
        msgpack_pack_uint64(pk, v[i].seq);
    }
}

static void pack_bool(msgpack_packer *pk, int v)
{
    if (v)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

/* Validates the output arguments and `m`, then packs. */
#define ENCODE(out, out_len, m, check, type, hint, fn, fields)             \
    do {                                                                   \
        int rc_;                                                           \
        if ((out) == NULL || (out_len) == NULL)                            \
            return CODEC_EINVAL;                                           \
        *(out) = NULL;                                                     \
        *(out_len) = 0;                                                    \
        if ((m) == NULL)                                                   \
            return CODEC_EINVAL;                                           \
        if ((rc_ = (check)) != CODEC_OK)                                   \
            return rc_;                                                    \
        return pack_msg(out, out_len, type, hint, fn, m, fields);          \
    } while (0)

/* ====================================================================== */
/* Decoding                                                                */

/* Opens a message of type `want` with `fields` elements: the size, then
 * version and type from the head alone, then the whole message is walked
 * before anything is allocated. */
static int open_msg(codec_rd *r, const uint8_t *buf, size_t len, uint64_t want,
                    size_t fields)
{
    size_t n;
    uint64_t type;
    int rc;

    if (len > SESSION_MAX_FRAME)
        return CODEC_ELIMIT;
    if (buf == NULL)
        return CODEC_ECORRUPT;
    codec_rd_init(r, buf, len);
    if ((rc = codec_frame_head(r, &n, &type)) != CODEC_OK)
        return rc;
    if (type != want)
        return CODEC_EKIND;
    if (n != fields || codec_bounded_whole(buf, len) != CODEC_OK)
        return CODEC_ECORRUPT;
    return CODEC_OK;
}

static int end_msg(const codec_rd *r)
{
    return r->p == r->end ? CODEC_OK : CODEC_ECORRUPT;
}

static int rd_str(codec_rd *r, const uint8_t **s, size_t *n, size_t max,
                  int empty_ok)
{
    if (codec_rd_str(r, s, n) != CODEC_OK)
        return CODEC_ECORRUPT;
    return check_str(*s, *n, max, empty_ok, CODEC_ECORRUPT);
}

static int rd_conv(codec_rd *r, const uint8_t **s, size_t *n)
{
    return rd_str(r, s, n, OP_MAX_CONV, 0);
}

static int rd_hash(codec_rd *r, uint8_t h[OP_HASH_LEN])
{
    const uint8_t *p;
    size_t n;

    if (codec_rd_bin(r, &p, &n) != CODEC_OK || n != OP_HASH_LEN)
        return CODEC_ECORRUPT;
    memcpy(h, p, OP_HASH_LEN);
    return CODEC_OK;
}

/* A flat id list into *v (owned by the caller's message even on error, so
 * its clear frees it), then its order checked. */
static int rd_ids(codec_rd *r, size_t max, op_id **v, size_t *n)
{
    int rc = codec_rd_ids(r, max, v, n);
    return rc != CODEC_OK ? rc : check_ids(*v, *n, CODEC_ECORRUPT);
}

/* The same for a version vector (codec_rd_ids already bounds it to
 * SESSION_MAX_VV, so check_vv's limit cannot fire here). */
static int rd_vv(codec_rd *r, op_id **v, size_t *n)
{
    int rc = codec_rd_ids(r, SESSION_MAX_VV, v, n);
    return rc != CODEC_OK ? rc : check_vv(*v, *n, CODEC_ECORRUPT);
}

/* A uint in 1..max: zero is corrupt, over max a limit. */
static int rd_bounded(codec_rd *r, uint64_t max, uint64_t *v)
{
    if (codec_rd_id(r, v) != CODEC_OK)
        return CODEC_ECORRUPT;
    return *v > max ? CODEC_ELIMIT : CODEC_OK;
}

/* An array header of at most `max` elements. */
static int rd_list(codec_rd *r, size_t max, size_t *n)
{
    if (codec_rd_array(r, n) != CODEC_OK)
        return CODEC_ECORRUPT;
    return *n > max ? CODEC_ELIMIT : CODEC_OK;
}

/* Zeroes *out, decodes, and on error clears it again. */
#define DECODE(out, buf, len, decode, clear)                               \
    do {                                                                   \
        int rc_;                                                           \
        if ((out) == NULL)                                                 \
            return CODEC_EINVAL;                                           \
        memset((out), 0, sizeof *(out));                                   \
        if ((rc_ = decode((out), (buf), (len))) != CODEC_OK)               \
            clear(out);                                                    \
        return rc_;                                                        \
    } while (0)

int codec_session_type(const uint8_t *buf, size_t len, uint64_t *type)
{
    codec_rd r;
    size_t n;
    int rc;

    if (type == NULL)
        return CODEC_EINVAL;
    *type = 0;
    if (len > SESSION_MAX_FRAME)
        return CODEC_ELIMIT;
    if (buf == NULL)
        return CODEC_ECORRUPT;
    codec_rd_init(&r, buf, len);
    if ((rc = codec_frame_head(&r, &n, type)) != CODEC_OK) {
        *type = 0;
        return rc;
    }
    if (*type < SESSION_HELLO || *type > SESSION_ERROR) {
        *type = 0;
        return CODEC_EKIND;
    }
    return CODEC_OK;
}

/* ====================================================================== */
/* HELLO                                                                   */

static int check_hello(const codec_hello *m)
{
    int rc;

    if (m->replica == 0 || m->budget == 0 || m->window == 0)
        return CODEC_EINVAL;
    if (m->budget > SESSION_MAX_FRAME || m->window > SESSION_MAX_WINDOW ||
        m->n_convs > SESSION_MAX_CONVS)
        return CODEC_ELIMIT;
    if ((rc = check_str(m->user, m->user_len, OP_MAX_USER, 0, CODEC_EINVAL)))
        return rc;
    if (m->n_convs > 0 && m->convs == NULL)
        return CODEC_EINVAL;
    for (size_t i = 0; i < m->n_convs; i++) {
        const codec_hello_conv *c = &m->convs[i];
        if ((rc = check_str(c->conv, c->conv_len, OP_MAX_CONV, 0,
                            CODEC_EINVAL)) ||
            (rc = check_vv(c->vv, c->n_vv, CODEC_EINVAL)))
            return rc;
        if (i > 0 && bytes_cmp(c[-1].conv, c[-1].conv_len, c->conv,
                               c->conv_len) >= 0)
            return CODEC_EINVAL;
    }
    return CODEC_OK;
}

static void pack_hello(msgpack_packer *pk, const void *v)
{
    const codec_hello *m = v;

    msgpack_pack_uint64(pk, m->replica);
    pack_str(pk, m->user, m->user_len);
    msgpack_pack_uint64(pk, m->budget);
    msgpack_pack_uint64(pk, m->window);
    pack_bool(pk, m->all_convs);
    msgpack_pack_array(pk, m->n_convs);
    for (size_t i = 0; i < m->n_convs; i++) {
        msgpack_pack_array(pk, 3);
        pack_str(pk, m->convs[i].conv, m->convs[i].conv_len);
        pack_ids(pk, m->convs[i].vv, m->convs[i].n_vv);
        pack_hash(pk, m->convs[i].digest);
    }
}

static size_t hello_hint(const codec_hello *m)
{
    size_t h = 64 + m->user_len;
    for (size_t i = 0; i < m->n_convs; i++)
        h = hint_add(h, 1, 32 + m->convs[i].conv_len + 18 * m->convs[i].n_vv);
    return h;
}

int codec_hello_encode(uint8_t **out, size_t *out_len, const codec_hello *m)
{
    ENCODE(out, out_len, m, check_hello(m), SESSION_HELLO, hello_hint(m),
           pack_hello, 8);
}

static int read_hello_conv(codec_rd *r, codec_hello_conv *c)
{
    size_t n;
    int rc;

    if (codec_rd_array(r, &n) != CODEC_OK || n != 3)
        return CODEC_ECORRUPT;
    if ((rc = rd_conv(r, &c->conv, &c->conv_len)) ||
        (rc = rd_vv(r, &c->vv, &c->n_vv)))
        return rc;
    return rd_hash(r, c->digest);
}

static int decode_hello(codec_hello *m, const uint8_t *buf, size_t len)
{
    codec_rd r;
    size_t n;
    int rc;

    if ((rc = open_msg(&r, buf, len, SESSION_HELLO, 8)))
        return rc;
    if (codec_rd_id(&r, &m->replica) != CODEC_OK)
        return CODEC_ECORRUPT;
    if ((rc = rd_str(&r, &m->user, &m->user_len, OP_MAX_USER, 0)) ||
        (rc = rd_bounded(&r, SESSION_MAX_FRAME, &m->budget)) ||
        (rc = rd_bounded(&r, SESSION_MAX_WINDOW, &m->window)))
        return rc;
    if (codec_rd_bool(&r, &m->all_convs) != CODEC_OK)
        return CODEC_ECORRUPT;
    if ((rc = rd_list(&r, SESSION_MAX_CONVS, &n)))
        return rc;
    if (n > 0 && (m->convs = calloc(n, sizeof *m->convs)) == NULL)
        return CODEC_ENOMEM;
    m->n_convs = n;   /* entries not yet read are zero: clear() frees all */
    for (size_t i = 0; i < n; i++) {
        const codec_hello_conv *c = &m->convs[i];
        if ((rc = read_hello_conv(&r, &m->convs[i])))
            return rc;
        if (i > 0 && bytes_cmp(c[-1].conv, c[-1].conv_len, c->conv,
                               c->conv_len) >= 0)
            return CODEC_ECORRUPT;
    }
    return end_msg(&r);
}

int codec_hello_decode(codec_hello *out, const uint8_t *buf, size_t len)
{
    DECODE(out, buf, len, decode_hello, codec_hello_clear);
}

void codec_hello_clear(codec_hello *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; m->convs && i < m->n_convs; i++)
        free(m->convs[i].vv);
    free(m->convs);
    memset(m, 0, sizeof *m);
}

/* ====================================================================== */
/* BATCH                                                                   */

static int check_batch(const codec_batch *m)
{
    int rc;

    if (m->batch_no == 0)
        return CODEC_EINVAL;
    if ((rc = check_str(m->conv, m->conv_len, OP_MAX_CONV, 0, CODEC_EINVAL)))
        return rc;
    if (m->n_ops > SESSION_MAX_BATCH_OPS)
        return CODEC_ELIMIT;
    if (m->n_ops > 0 && m->ops == NULL)
        return CODEC_EINVAL;
    for (size_t i = 0; i < m->n_ops; i++) {
        if (m->ops[i].len > SESSION_MAX_OP_BYTES)
            return CODEC_ELIMIT;
        if (m->ops[i].len > 0 && m->ops[i].data == NULL)
            return CODEC_EINVAL;
    }
    return CODEC_OK;
}

static void pack_batch(msgpack_packer *pk, const void *v)
{
    const codec_batch *m = v;

    msgpack_pack_uint64(pk, m->batch_no);
    pack_str(pk, m->conv, m->conv_len);
    pack_bool(pk, m->more);
    msgpack_pack_array(pk, m->n_ops);
    for (size_t i = 0; i < m->n_ops; i++) {
        msgpack_pack_bin(pk, m->ops[i].len);
        msgpack_pack_bin_body(pk, m->ops[i].data, m->ops[i].len);
    }
}

static size_t batch_hint(const codec_batch *m)
{
    size_t h = 32 + m->conv_len;
    for (size_t i = 0; i < m->n_ops; i++)
        h = hint_add(h, 1, 5 + m->ops[i].len);
    return h;
}

int codec_batch_encode(uint8_t **out, size_t *out_len, const codec_batch *m)
{
    ENCODE(out, out_len, m, check_batch(m), SESSION_BATCH, batch_hint(m),
           pack_batch, 6);
}

static int decode_batch(codec_batch *m, const uint8_t *buf, size_t len)
{
    codec_rd r;
    size_t n;
    int rc;

    if ((rc = open_msg(&r, buf, len, SESSION_BATCH, 6)))
        return rc;
    if (codec_rd_id(&r, &m->batch_no) != CODEC_OK)
        return CODEC_ECORRUPT;
    if ((rc = rd_conv(&r, &m->conv, &m->conv_len)))
        return rc;
    if (codec_rd_bool(&r, &m->more) != CODEC_OK)
        return CODEC_ECORRUPT;
    if ((rc = rd_list(&r, SESSION_MAX_BATCH_OPS, &n)))
        return rc;
    if (n > 0 && (m->ops = malloc(n * sizeof *m->ops)) == NULL)
        return CODEC_ENOMEM;
    m->n_ops = n;
    for (size_t i = 0; i < n; i++) {
        if (codec_rd_bin(&r, &m->ops[i].data, &m->ops[i].len) != CODEC_OK)
            return CODEC_ECORRUPT;
        if (m->ops[i].len > SESSION_MAX_OP_BYTES)
            return CODEC_ELIMIT;
    }
    return end_msg(&r);
}

int codec_batch_decode(codec_batch *out, const uint8_t *buf, size_t len)
{
    DECODE(out, buf, len, decode_batch, codec_batch_clear);
}

void codec_batch_clear(codec_batch *m)
{
    if (m == NULL)
        return;
    free(m->ops);
    memset(m, 0, sizeof *m);
}

/* ====================================================================== */
/* ACK                                                                     */

static int check_ack(const codec_ack *m)
{
    int rc;

    if (m->batch_no == 0 || m->result > SESSION_ACK_DROPPED)
        return CODEC_EINVAL;
    if ((rc = check_str(m->conv, m->conv_len, OP_MAX_CONV, 0, CODEC_EINVAL)))
        return rc;
    return check_vv(m->vv, m->n_vv, CODEC_EINVAL);
}

static void pack_ack(msgpack_packer *pk, const void *v)
{
    const codec_ack *m = v;

    msgpack_pack_uint64(pk, m->batch_no);
    pack_str(pk, m->conv, m->conv_len);
    msgpack_pack_uint64(pk, m->result);
    pack_ids(pk, m->vv, m->n_vv);
    pack_hash(pk, m->digest);
}

int codec_ack_encode(uint8_t **out, size_t *out_len, const codec_ack *m)
{
    ENCODE(out, out_len, m, check_ack(m), SESSION_ACK,
           hint_add(64 + m->conv_len, m->n_vv, 18),
           pack_ack, 7);
}

static int decode_ack(codec_ack *m, const uint8_t *buf, size_t len)
{
    codec_rd r;
    int rc;

    if ((rc = open_msg(&r, buf, len, SESSION_ACK, 7)))
        return rc;
    if (codec_rd_id(&r, &m->batch_no) != CODEC_OK)
        return CODEC_ECORRUPT;
    if ((rc = rd_conv(&r, &m->conv, &m->conv_len)))
        return rc;
    if (codec_rd_uint(&r, &m->result) != CODEC_OK ||
        m->result > SESSION_ACK_DROPPED)
        return CODEC_ECORRUPT;
    if ((rc = rd_vv(&r, &m->vv, &m->n_vv)) || (rc = rd_hash(&r, m->digest)))
        return rc;
    return end_msg(&r);
}

int codec_ack_decode(codec_ack *out, const uint8_t *buf, size_t len)
{
    DECODE(out, buf, len, decode_ack, codec_ack_clear);
}

void codec_ack_clear(codec_ack *m)
{
    if (m == NULL)
        return;
    free(m->vv);
    memset(m, 0, sizeof *m);
}

/* ====================================================================== */
/* WANT                                                                    */

static int check_want(const codec_want *m)
{
    int rc;

    if ((rc = check_str(m->conv, m->conv_len, OP_MAX_CONV, 0, CODEC_EINVAL)))
        return rc;
    if (m->n_ids > SESSION_MAX_WANT)
        return CODEC_ELIMIT;
    if (m->n_ids == 0)
        return CODEC_EINVAL;
    return check_ids(m->ids, m->n_ids, CODEC_EINVAL);
}

static void pack_want(msgpack_packer *pk, const void *v)
{
    const codec_want *m = v;

    pack_str(pk, m->conv, m->conv_len);
    pack_ids(pk, m->ids, m->n_ids);
}

int codec_want_encode(uint8_t **out, size_t *out_len, const codec_want *m)
{
    ENCODE(out, out_len, m, check_want(m), SESSION_WANT,
           hint_add(16 + m->conv_len, m->n_ids, 18),
           pack_want, 4);
}

static int decode_want(codec_want *m, const uint8_t *buf, size_t len)
{
    codec_rd r;
    int rc;

    if ((rc = open_msg(&r, buf, len, SESSION_WANT, 4)))
        return rc;
    if ((rc = rd_conv(&r, &m->conv, &m->conv_len)) ||
        (rc = rd_ids(&r, SESSION_MAX_WANT, &m->ids, &m->n_ids)))
        return rc;
    if (m->n_ids == 0)
        return CODEC_ECORRUPT;
    return end_msg(&r);
}

int codec_want_decode(codec_want *out, const uint8_t *buf, size_t len)
{
    DECODE(out, buf, len, decode_want, codec_want_clear);
}

void codec_want_clear(codec_want *m)
{
    if (m == NULL)
        return;
    free(m->ids);
    memset(m, 0, sizeof *m);
}

/* ====================================================================== */
/* REPAIR                                                                  */

static int version_cmp(const codec_version *a, const codec_version *b)
{
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return memcmp(a->hash, b->hash, OP_HASH_LEN);
}

/* Item i's range is valid and after item i-1's; a listing's versions lie
 * in the range, strictly ascending. */
static int item_valid(const codec_repair_item *it, size_t i)
{
    if (it->replica == 0 || it->lo == 0 || it->lo > it->hi)
        return 0;
    if (i > 0 && op_id_cmp((op_id){ it[-1].replica, it[-1].hi },
                           (op_id){ it->replica, it->lo }) >= 0)
        return 0;
    if (!it->listing)
        return 1;
    if (it->n_versions > 0 && it->versions == NULL)
        return 0;
    for (size_t k = 0; k < it->n_versions; k++) {
        const codec_version *v = &it->versions[k];
        if (v->seq < it->lo || v->seq > it->hi ||
            (k > 0 && version_cmp(v - 1, v) >= 0))
            return 0;
    }
    return 1;
}

static int check_repair(const codec_repair *m)
{
    int rc;

    if ((rc = check_str(m->conv, m->conv_len, OP_MAX_CONV, 0, CODEC_EINVAL)))
        return rc;
    if (m->n_items > SESSION_MAX_ITEMS)
        return CODEC_ELIMIT;
    if (m->n_items > 0 && m->items == NULL)
        return CODEC_EINVAL;
    for (size_t i = 0; i < m->n_items; i++) {
        if (m->items[i].listing && m->items[i].n_versions > SESSION_MAX_LISTING)
            return CODEC_ELIMIT;
        if (!item_valid(&m->items[i], i))
            return CODEC_EINVAL;
    }
    return CODEC_OK;
}

static void pack_item(msgpack_packer *pk, const codec_repair_item *it)
{
    msgpack_pack_array(pk, it->listing ? 4 : 5);
    msgpack_pack_uint64(pk, it->replica);
    msgpack_pack_uint64(pk, it->lo);
    msgpack_pack_uint64(pk, it->hi);
    if (!it->listing) {
        msgpack_pack_uint64(pk, it->count);
        pack_hash(pk, it->fp);
        return;
    }
    msgpack_pack_array(pk, 2 * it->n_versions);
    for (size_t k = 0; k < it->n_versions; k++) {
        msgpack_pack_uint64(pk, it->versions[k].seq);
        pack_hash(pk, it->versions[k].hash);
    }
}

static void pack_repair(msgpack_packer *pk, const void *v)
{
    const codec_repair *m = v;

    pack_str(pk, m->conv, m->conv_len);
    msgpack_pack_array(pk, m->n_items);
    for (size_t i = 0; i < m->n_items; i++)
        pack_item(pk, &m->items[i]);
}

static size_t repair_hint(const codec_repair *m)
{
    size_t h = 16 + m->conv_len;
    for (size_t i = 0; i < m->n_items; i++)
        h = hint_add(h, 1 + m->items[i].n_versions, 48);
    return h;
}

int codec_repair_encode(uint8_t **out, size_t *out_len, const codec_repair *m)
{
    ENCODE(out, out_len, m, check_repair(m), SESSION_REPAIR, repair_hint(m),
           pack_repair, 4);
}

static int read_listing(codec_rd *r, codec_repair_item *it)
{
    size_t n;

    if (codec_rd_array(r, &n) != CODEC_OK)
        return CODEC_ECORRUPT;
    if (n > 2 * (size_t)SESSION_MAX_LISTING)
        return CODEC_ELIMIT;
    if (n % 2 != 0)
        return CODEC_ECORRUPT;
    if (n > 0 && (it->versions = malloc(n / 2 * sizeof *it->versions)) == NULL)
        return CODEC_ENOMEM;
    it->n_versions = n / 2;
    for (size_t k = 0; k < n / 2; k++)
        if (codec_rd_id(r, &it->versions[k].seq) != CODEC_OK ||
            rd_hash(r, it->versions[k].hash) != CODEC_OK)
            return CODEC_ECORRUPT;
    return CODEC_OK;
}

static int read_item(codec_rd *r, codec_repair_item *it)
{
    size_t n;

    if (codec_rd_array(r, &n) != CODEC_OK || (n != 4 && n != 5) ||
        codec_rd_id(r, &it->replica) != CODEC_OK ||
        codec_rd_id(r, &it->lo) != CODEC_OK ||
        codec_rd_id(r, &it->hi) != CODEC_OK)
        return CODEC_ECORRUPT;
    it->listing = n == 4;
    if (it->listing)
        return read_listing(r, it);
    if (codec_rd_uint(r, &it->count) != CODEC_OK)
        return CODEC_ECORRUPT;
    return rd_hash(r, it->fp);
}

static int decode_repair(codec_repair *m, const uint8_t *buf, size_t len)
{
    codec_rd r;
    size_t n;
    int rc;

    if ((rc = open_msg(&r, buf, len, SESSION_REPAIR, 4)))
        return rc;
    if ((rc = rd_conv(&r, &m->conv, &m->conv_len)) ||
        (rc = rd_list(&r, SESSION_MAX_ITEMS, &n)))
        return rc;
    if (n > 0 && (m->items = calloc(n, sizeof *m->items)) == NULL)
        return CODEC_ENOMEM;
    m->n_items = n;
    for (size_t i = 0; i < n; i++) {
        if ((rc = read_item(&r, &m->items[i])))
            return rc;
        if (!item_valid(&m->items[i], i))
            return CODEC_ECORRUPT;
    }
    return end_msg(&r);
}

int codec_repair_decode(codec_repair *out, const uint8_t *buf, size_t len)
{
    DECODE(out, buf, len, decode_repair, codec_repair_clear);
}

void codec_repair_clear(codec_repair *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; m->items && i < m->n_items; i++)
        free(m->items[i].versions);
    free(m->items);
    memset(m, 0, sizeof *m);
}

/* ====================================================================== */
/* STATUS                                                                  */

static int check_members(const codec_bytes *u, size_t n, int bad)
{
    int rc;

    if (n > SESSION_MAX_MEMBERS)
        return CODEC_ELIMIT;
    if (n > 0 && u == NULL)
        return bad;
    for (size_t i = 0; i < n; i++) {
        if ((rc = check_str(u[i].data, u[i].len, OP_MAX_USER, 0, bad)))
            return rc;
        if (i > 0 && bytes_cmp(u[i - 1].data, u[i - 1].len, u[i].data,
                               u[i].len) >= 0)
            return bad;
    }
    return CODEC_OK;
}

static int check_status(const codec_status *m)
{
    int rc;

    if ((rc = check_str(m->conv, m->conv_len, OP_MAX_CONV, 0, CODEC_EINVAL)) ||
        (rc = check_vv(m->relay_vv, m->n_relay_vv, CODEC_EINVAL)) ||
        (rc = check_vv(m->delivered_vv, m->n_delivered_vv, CODEC_EINVAL)))
        return rc;
    return check_members(m->members, m->n_members, CODEC_EINVAL);
}

static void pack_status(msgpack_packer *pk, const void *v)
{
    const codec_status *m = v;

    pack_str(pk, m->conv, m->conv_len);
    pack_ids(pk, m->relay_vv, m->n_relay_vv);
    pack_ids(pk, m->delivered_vv, m->n_delivered_vv);
    msgpack_pack_array(pk, m->n_members);
    for (size_t i = 0; i < m->n_members; i++)
        pack_str(pk, m->members[i].data, m->members[i].len);
}

static size_t status_hint(const codec_status *m)
{
    size_t h = hint_add(32 + m->conv_len, m->n_relay_vv + m->n_delivered_vv, 18);
    for (size_t i = 0; i < m->n_members; i++)
        h = hint_add(h, 1, 3 + m->members[i].len);
    return h;
}

int codec_status_encode(uint8_t **out, size_t *out_len, const codec_status *m)
{
    ENCODE(out, out_len, m, check_status(m), SESSION_STATUS, status_hint(m),
           pack_status, 6);
}

static int decode_status(codec_status *m, const uint8_t *buf, size_t len)
{
    codec_rd r;
    size_t n;
    int rc;

    if ((rc = open_msg(&r, buf, len, SESSION_STATUS, 6)))
        return rc;
    if ((rc = rd_conv(&r, &m->conv, &m->conv_len)) ||
        (rc = rd_vv(&r, &m->relay_vv, &m->n_relay_vv)) ||
        (rc = rd_vv(&r, &m->delivered_vv, &m->n_delivered_vv)) ||
        (rc = rd_list(&r, SESSION_MAX_MEMBERS, &n)))
        return rc;
    if (n > 0 && (m->members = malloc(n * sizeof *m->members)) == NULL)
        return CODEC_ENOMEM;
    m->n_members = n;
    for (size_t i = 0; i < n; i++)
        if (codec_rd_str(&r, &m->members[i].data, &m->members[i].len))
            return CODEC_ECORRUPT;
    if ((rc = check_members(m->members, n, CODEC_ECORRUPT)))
        return rc;
    return end_msg(&r);
}

int codec_status_decode(codec_status *out, const uint8_t *buf, size_t len)
{
    DECODE(out, buf, len, decode_status, codec_status_clear);
}

void codec_status_clear(codec_status *m)
{
    if (m == NULL)
        return;
    free(m->relay_vv);
    free(m->delivered_vv);
    free(m->members);
    memset(m, 0, sizeof *m);
}

/* ====================================================================== */
/* ERROR                                                                   */

static int check_error(const codec_error *m)
{
    if (m->code == 0)
        return CODEC_EINVAL;
    return check_str(m->reason, m->reason_len, SESSION_MAX_REASON, 1,
                     CODEC_EINVAL);
}

static void pack_error(msgpack_packer *pk, const void *v)
{
    const codec_error *m = v;

    msgpack_pack_uint64(pk, m->code);
    pack_str(pk, m->reason, m->reason_len);
}

int codec_error_encode(uint8_t **out, size_t *out_len, const codec_error *m)
{
    ENCODE(out, out_len, m, check_error(m), SESSION_ERROR,
           32 + SESSION_MAX_REASON, pack_error, 4);
}

static int decode_error(codec_error *m, const uint8_t *buf, size_t len)
{
    codec_rd r;
    int rc;

    if ((rc = open_msg(&r, buf, len, SESSION_ERROR, 4)))
        return rc;
    if (codec_rd_id(&r, &m->code) != CODEC_OK)
        return CODEC_ECORRUPT;
    if ((rc = rd_str(&r, &m->reason, &m->reason_len, SESSION_MAX_REASON, 1)))
        return rc;
    return end_msg(&r);
}

int codec_error_decode(codec_error *out, const uint8_t *buf, size_t len)
{
    DECODE(out, buf, len, decode_error, codec_error_clear);
}

void codec_error_clear(codec_error *m)
{
    if (m != NULL)
        memset(m, 0, sizeof *m);
}
