#include "crdt/digest.h"

#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

void digest_body_hash(uint8_t out[OP_HASH_LEN], const uint8_t *body, size_t len)
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(body, len));
    memcpy(out, c.digest, OP_HASH_LEN);
}

/* Fields are hashed in a fixed little-endian layout, each variable-length
 * one preceded by its length, so no two different ops share an input. */
typedef struct hbuf {
    uint8_t b[1024];
    size_t n;
    XXH3_state_t *st;
} hbuf;

static void flush(hbuf *h)
{
    XXH3_128bits_update(h->st, h->b, h->n);
    h->n = 0;
}

static void put_bytes(hbuf *h, const void *p, size_t len)
{
    if (h->n + len > sizeof h->b) {
        flush(h);
        if (len > sizeof h->b) {
            XXH3_128bits_update(h->st, p, len);
            return;
        }
    }
    memcpy(h->b + h->n, p, len);
    h->n += len;
}

static void put_u64(hbuf *h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put_bytes(h, b, 8);
}

static void put_str(hbuf *h, const uint8_t *p, size_t len)
{
    put_u64(h, len);
    if (len)
        put_bytes(h, p, len);
}

static void put_ids(hbuf *h, const op_id *ids, size_t n)
{
    put_u64(h, n);
    for (size_t i = 0; i < n; i++) {
        put_u64(h, ids[i].replica);
        put_u64(h, ids[i].seq);
    }
}

digest digest_op_hash(const op *o)
{
    XXH3_state_t st;
    hbuf h = { .n = 0, .st = &st };
    XXH3_128bits_reset(&st);
    put_u64(&h, o->kind);
    put_str(&h, o->conv, o->conv_len);
    put_u64(&h, o->id.replica);
    put_u64(&h, o->id.seq);
    put_u64(&h, o->hlc);
    put_str(&h, o->user, o->user_len);
    put_ids(&h, o->deps, o->n_deps);
    if (o->kind != OP_SEND) {
        put_u64(&h, o->target.replica);
        put_u64(&h, o->target.seq);
    }
    if (op_has_body(o->kind))
        put_bytes(&h, o->body_hash, OP_HASH_LEN);
    if (o->kind == OP_REACT || o->kind == OP_UNREACT)
        put_str(&h, o->key, o->key_len);
    put_ids(&h, o->refs, o->n_refs);
    flush(&h);
    XXH128_hash_t x = XXH3_128bits_digest(&st);
    return (digest){ x.low64, x.high64 };
}

void digest_add(digest *d, digest h)
{
    uint64_t lo = d->lo + h.lo;
    d->hi += h.hi + (lo < d->lo);
    d->lo = lo;
}

void digest_to_bytes(uint8_t out[16], digest d)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(d.hi >> (56 - 8 * i));
        out[8 + i] = (uint8_t)(d.lo >> (56 - 8 * i));
    }
}

digest digest_from_bytes(const uint8_t in[16])
{
    digest d = { 0, 0 };
    for (int i = 0; i < 8; i++) {
        d.hi = (d.hi << 8) | in[i];
        d.lo = (d.lo << 8) | in[8 + i];
    }
    return d;
}

digest digest_op_content(op *o)
{
    if (op_has_body(o->kind) && !o->erased)
        digest_body_hash(o->body_hash, o->body, o->body_len);
    return digest_op_hash(o);
}
