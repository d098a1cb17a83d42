#include "codec/state_codec.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "codec/bounded.h"

/* ---- encoding ---------------------------------------------------------- */

static void pack_ids(msgpack_packer *pk, const op_id *e, size_t n)
{
    msgpack_pack_array(pk, n * 2);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_uint64(pk, e[i].replica);
        msgpack_pack_uint64(pk, e[i].seq);
    }
}

static void pack_str(msgpack_packer *pk, const uint8_t *p, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, p, n);
}

/* msgpack-c's sbuffer aborts nothing but returns -1 from the write callback
 * on allocation failure; the packer then ignores it, so we check the buffer
 * state once at the end instead of after every pack call. */
typedef struct sink {
    msgpack_sbuffer sb;
    int failed;
} sink;

static int sink_write(void *data, const char *buf, size_t len)
{
    sink *s = data;
    if (s->failed || msgpack_sbuffer_write(&s->sb, buf, len) != 0) {
        s->failed = 1;
        return -1;
    }
    return 0;
}

static int sink_finish(sink *s, uint8_t **out, size_t *len)
{
    if (s->failed) {
        msgpack_sbuffer_destroy(&s->sb);
        return CODEC_ENOMEM;
    }
    *out = (uint8_t *)s->sb.data;
    *len = s->sb.size;
    return CODEC_OK;
}

int codec_conv_encode(uint8_t **out, size_t *len, const conv_state *c)
{
    sink s = { .failed = 0 };
    msgpack_sbuffer_init(&s.sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &s, sink_write);
    uint8_t dig[16];
    digest_to_bytes(dig, c->dig);

    msgpack_pack_array(&pk, 9);
    msgpack_pack_uint8(&pk, CODEC_STATE_VERSION);
    msgpack_pack_uint32(&pk, c->cid);
    pack_ids(&pk, c->delivered.e, c->delivered.n);
    pack_ids(&pk, c->own_ctx.e, c->own_ctx.n);
    msgpack_pack_uint64(&pk, c->maxhlc);
    msgpack_pack_uint64(&pk, c->pending);
    msgpack_pack_uint64(&pk, c->n_messages);
    msgpack_pack_bin(&pk, 16);
    msgpack_pack_bin_body(&pk, dig, 16);
    msgpack_pack_array(&pk, c->n_reads);
    for (size_t i = 0; i < c->n_reads; i++) {
        const read_marker *r = &c->reads[i];
        msgpack_pack_array(&pk, 4);
        pack_str(&pk, r->user, r->user_len);
        msgpack_pack_uint64(&pk, r->hlc);
        msgpack_pack_uint64(&pk, r->msg.replica);
        msgpack_pack_uint64(&pk, r->msg.seq);
    }
    return sink_finish(&s, out, len);
}

int codec_msg_encode(uint8_t **out, size_t *len, const msg_state *m)
{
    sink s = { .failed = 0 };
    msgpack_sbuffer_init(&s.sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &s, sink_write);

    msgpack_pack_array(&pk, 7);
    msgpack_pack_uint8(&pk, CODEC_STATE_VERSION);
    pack_str(&pk, m->author, m->author_len);
    msgpack_pack_uint8(&pk, (uint8_t)((m->deleted ? 1 : 0) | (m->edited ? 2 : 0)));
    if (m->has_best) {
        msgpack_pack_array(&pk, 3);
        msgpack_pack_uint64(&pk, m->best.replica);
        msgpack_pack_uint64(&pk, m->best.seq);
        msgpack_pack_uint64(&pk, m->best_hlc);
    } else {
        msgpack_pack_nil(&pk);
    }
    pack_ids(&pk, m->heads.e, m->heads.n);
    pack_ids(&pk, m->edits.e, m->edits.n);
    msgpack_pack_array(&pk, m->n_reactions);
    for (size_t i = 0; i < m->n_reactions; i++) {
        const reaction *r = &m->reactions[i];
        msgpack_pack_array(&pk, 3);
        pack_str(&pk, r->key, r->key_len);
        pack_str(&pk, r->user, r->user_len);
        pack_ids(&pk, r->live.e, r->live.n);
    }
    return sink_finish(&s, out, len);
}

/* ---- decoding ---------------------------------------------------------- */

static int read_vv(codec_rd *r, vv *out)
{
    op_id *e;
    size_t n;
    int rc = codec_rd_ids(r, SIZE_MAX, &e, &n);
    if (rc)
        return rc;
    out->e = e;
    out->n = out->cap = n;
    return 0;
}

static int read_idset(codec_rd *r, ids *out)
{
    return codec_rd_ids(r, SIZE_MAX, &out->e, &out->n);
}

static int dup_str(codec_rd *r, uint8_t **out, size_t *len)
{
    const uint8_t *p;
    int rc = codec_rd_str(r, &p, len);
    if (rc)
        return rc;
    *out = malloc(*len ? *len : 1);
    if (!*out)
        return CODEC_ENOMEM;
    memcpy(*out, p, *len);
    return 0;
}

static int read_version(codec_rd *r, size_t want_len)
{
    size_t n;
    uint64_t v;
    int rc = codec_rd_array(r, &n);
    if (!rc && n != want_len)
        rc = CODEC_ECORRUPT;
    if (!rc)
        rc = codec_rd_uint(r, &v);
    if (!rc && v != CODEC_STATE_VERSION)
        rc = CODEC_EVERSION;
    return rc;
}

static int read_marker_entry(codec_rd *r, read_marker *m)
{
    size_t n;
    int rc = codec_rd_array(r, &n);
    if (!rc && n != 4)
        rc = CODEC_ECORRUPT;
    if (!rc)
        rc = dup_str(r, &m->user, &m->user_len);
    if (!rc)
        rc = codec_rd_uint(r, &m->hlc);
    if (!rc)
        rc = codec_rd_uint(r, &m->msg.replica);
    if (!rc)
        rc = codec_rd_uint(r, &m->msg.seq);
    return rc;
}

static int read_reads(codec_rd *r, conv_state *c)
{
    size_t n;
    int rc = codec_rd_array(r, &n);
    if (rc || n == 0)
        return rc;
    c->reads = calloc(n, sizeof *c->reads);
    if (!c->reads)
        return CODEC_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        c->n_reads = i + 1;
        rc = read_marker_entry(r, &c->reads[i]);
    }
    return rc;
}

int codec_conv_decode(conv_state *c, const uint8_t *buf, size_t len)
{
    memset(c, 0, sizeof *c);
    codec_rd r;
    codec_rd_init(&r, buf, len);
    uint64_t cid = 0;
    const uint8_t *dig;
    size_t dig_len;
    int rc = read_version(&r, 9);
    if (!rc)
        rc = codec_rd_uint(&r, &cid);
    if (!rc && cid > UINT32_MAX)
        rc = CODEC_ECORRUPT;
    c->cid = (uint32_t)cid;
    if (!rc)
        rc = read_vv(&r, &c->delivered);
    if (!rc)
        rc = read_vv(&r, &c->own_ctx);
    if (!rc)
        rc = codec_rd_uint(&r, &c->maxhlc);
    if (!rc)
        rc = codec_rd_uint(&r, &c->pending);
    if (!rc)
        rc = codec_rd_uint(&r, &c->n_messages);
    if (!rc)
        rc = codec_rd_bin(&r, &dig, &dig_len);
    if (!rc && dig_len != 16)
        rc = CODEC_ECORRUPT;
    if (!rc)
        c->dig = digest_from_bytes(dig);
    if (!rc)
        rc = read_reads(&r, c);
    if (!rc)
        rc = (r.p == r.end ? CODEC_OK : CODEC_ECORRUPT);
    if (rc)
        conv_free(c);
    /* A stored record over a limit is simply a corrupt record. */
    return rc == CODEC_ELIMIT ? CODEC_ECORRUPT : rc;
}

static int read_best(codec_rd *r, msg_state *m)
{
    if (r->p < r->end && *r->p == 0xc0) {   /* nil: no best edit */
        r->p++;
        return 0;
    }
    size_t n;
    int rc = codec_rd_array(r, &n);
    if (!rc && n != 3)
        rc = CODEC_ECORRUPT;
    if (!rc)
        rc = codec_rd_uint(r, &m->best.replica);
    if (!rc)
        rc = codec_rd_uint(r, &m->best.seq);
    if (!rc)
        rc = codec_rd_uint(r, &m->best_hlc);
    m->has_best = !rc;
    return rc;
}

static int read_reaction(codec_rd *r, reaction *x)
{
    size_t n;
    int rc = codec_rd_array(r, &n);
    if (!rc && n != 3)
        rc = CODEC_ECORRUPT;
    if (!rc)
        rc = dup_str(r, &x->key, &x->key_len);
    if (!rc)
        rc = dup_str(r, &x->user, &x->user_len);
    if (!rc)
        rc = read_idset(r, &x->live);
    return rc;
}

static int read_reactions(codec_rd *r, msg_state *m)
{
    size_t n;
    int rc = codec_rd_array(r, &n);
    if (rc || n == 0)
        return rc;
    m->reactions = calloc(n, sizeof *m->reactions);
    if (!m->reactions)
        return CODEC_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        m->n_reactions = i + 1;
        rc = read_reaction(r, &m->reactions[i]);
    }
    return rc;
}

int codec_msg_decode(msg_state *m, const uint8_t *buf, size_t len)
{
    memset(m, 0, sizeof *m);
    codec_rd r;
    codec_rd_init(&r, buf, len);
    uint64_t flags = 0;
    int rc = read_version(&r, 7);
    if (!rc)
        rc = dup_str(&r, &m->author, &m->author_len);
    if (!rc)
        rc = codec_rd_uint(&r, &flags);
    if (!rc && flags > 3)   /* bit 0 deleted, bit 1 edited: one encoding only */
        rc = CODEC_ECORRUPT;
    m->deleted = (flags & 1) != 0;
    m->edited = (flags & 2) != 0;
    if (!rc)
        rc = read_best(&r, m);
    if (!rc)
        rc = read_idset(&r, &m->heads);
    if (!rc)
        rc = read_idset(&r, &m->edits);
    if (!rc)
        rc = read_reactions(&r, m);
    if (!rc)
        rc = (r.p == r.end ? CODEC_OK : CODEC_ECORRUPT);
    if (rc)
        msg_free(m);
    return rc == CODEC_ELIMIT ? CODEC_ECORRUPT : rc;
}
