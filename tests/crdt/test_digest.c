/* Op hashes and the conversation digest (crdt/digest.c): every field counts,
 * erasure does not, the sum is order independent, bytes round trip, and a
 * golden value pins the hash layout. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "crdt/digest.h"
#include "support/rng.h"

#define ID(r, s) ((op_id){ (r), (s) })
#define TXT(field, lit) .field = (const uint8_t *)(lit), .field##_len = sizeof(lit) - 1

static int dig_eq(digest a, digest b)
{
    return a.lo == b.lo && a.hi == b.hi;
}

#define ASSERT_DIG_EQ(a, b, ...) cr_assert(dig_eq((a), (b)), __VA_ARGS__)
#define ASSERT_DIG_NEQ(a, b, ...) cr_assert(!dig_eq((a), (b)), __VA_ARGS__)

static op_id base_deps[] = { { 2, 3 }, { 4, 1 } };
static op_id base_refs[] = { { 1, 2 } };

/* An edit with every field an edit hashes set to something non-trivial. */
static op base_edit(void)
{
    op o = {
        .kind = OP_EDIT,
        TXT(conv, "general"),
        .id = ID(1, 3),
        .hlc = UINT64_C(111411200000000005),
        TXT(user, "alice"),
        .deps = base_deps,
        .n_deps = 2,
        .target = ID(1, 1),
        TXT(body, "hello again"),
        .refs = base_refs,
        .n_refs = 1,
    };
    digest_body_hash(o.body_hash, o.body, o.body_len);
    return o;
}

/* A react with every field a react hashes set. */
static op base_react(void)
{
    op o = {
        .kind = OP_REACT,
        TXT(conv, "general"),
        .id = ID(7, 2),
        .hlc = 4242,
        TXT(user, "bob"),
        .deps = base_deps,
        .n_deps = 2,
        .target = ID(1, 1),
        TXT(key, "+1"),
    };
    return o;
}

Test(digest, same_op_same_hash)
{
    op a = base_edit();
    op b = base_edit();
    /* Equal content in different memory. */
    op_id deps2[] = { { 2, 3 }, { 4, 1 } };
    op_id refs2[] = { { 1, 2 } };
    uint8_t conv2[] = "general", user2[] = "alice";
    b.deps = deps2;
    b.refs = refs2;
    b.conv = conv2;
    b.user = user2;
    ASSERT_DIG_EQ(digest_op_hash(&a), digest_op_hash(&b), "equal ops hash differently");
    ASSERT_DIG_EQ(digest_op_hash(&a), digest_op_hash(&a), "not deterministic");
    op r = base_react();
    ASSERT_DIG_EQ(digest_op_hash(&r), digest_op_hash(&r), "not deterministic");
}

/* Each mutation of the base edit must change its hash. */
Test(digest, every_edit_field_counts)
{
    op base = base_edit();
    digest h0 = digest_op_hash(&base);
    op o;
    op_id deps_a[] = { { 2, 3 } };                 /* one fewer */
    op_id deps_b[] = { { 2, 4 }, { 4, 1 } };       /* a seq grew */
    op_id deps_c[] = { { 4, 1 }, { 2, 3 } };       /* order */
    op_id deps_d[] = { { 3, 3 }, { 4, 1 } };       /* a replica */
    op_id refs_a[] = { { 1, 2 }, { 5, 1 } };
    op_id refs_b[] = { { 2, 1 } };

#define MUTATE(what, stmt)                                                     \
    do {                                                                       \
        o = base;                                                              \
        stmt;                                                                  \
        ASSERT_DIG_NEQ(digest_op_hash(&o), h0, "changing %s left the hash", what); \
    } while (0)

    MUTATE("kind", o.kind = OP_SEND);
    MUTATE("kind", o.kind = OP_DELETE);
    MUTATE("kind", o.kind = OP_READ);
    MUTATE("conv", o.conv = (const uint8_t *)"generam");
    MUTATE("conv length", o.conv_len = 6);
    MUTATE("id.replica", o.id.replica = 2);
    MUTATE("id.seq", o.id.seq = 4);
    MUTATE("id swapped", o.id = ID(3, 1));
    MUTATE("hlc", o.hlc += 1);
    MUTATE("hlc high bit", o.hlc ^= UINT64_C(1) << 63);
    MUTATE("user", o.user = (const uint8_t *)"alicf");
    MUTATE("user length", o.user_len = 4);
    MUTATE("deps removed", o.n_deps = 0);
    MUTATE("deps shorter", (o.deps = deps_a, o.n_deps = 1));
    MUTATE("deps seq", o.deps = deps_b);
    MUTATE("deps order", o.deps = deps_c);
    MUTATE("deps replica", o.deps = deps_d);
    MUTATE("target.replica", o.target.replica = 2);
    MUTATE("target.seq", o.target.seq = 2);
    MUTATE("body hash first byte", o.body_hash[0] ^= 1);
    MUTATE("body hash last byte", o.body_hash[OP_HASH_LEN - 1] ^= 0x80);
    MUTATE("refs removed", o.n_refs = 0);
    MUTATE("refs added", (o.refs = refs_a, o.n_refs = 2));
    MUTATE("refs changed", o.refs = refs_b);
}

Test(digest, every_react_field_counts)
{
    op base = base_react();
    digest h0 = digest_op_hash(&base);
    op o;
    op_id refs[] = { { 7, 1 } };
    MUTATE("kind react->unreact", o.kind = OP_UNREACT);
    MUTATE("key", o.key = (const uint8_t *)"+2");
    MUTATE("key length", o.key_len = 1);
    MUTATE("target", o.target = ID(1, 2));
    MUTATE("user", o.user = (const uint8_t *)"bom");
    MUTATE("refs", (o.refs = refs, o.n_refs = 1));

    /* The unreact's own refs count too. */
    op u = base;
    u.kind = OP_UNREACT;
    u.refs = refs;
    u.n_refs = 1;
    digest hu = digest_op_hash(&u);
    op_id refs2[] = { { 7, 3 } };
    op u2 = u;
    u2.refs = refs2;
    ASSERT_DIG_NEQ(digest_op_hash(&u2), hu, "unreact refs ignored");
}

Test(digest, send_body_hash_counts)
{
    op s = base_edit();
    s.kind = OP_SEND;
    s.n_refs = 0;
    digest h0 = digest_op_hash(&s);
    op o;
    op base = s;
    MUTATE("send body hash", o.body_hash[7] ^= 0x10);
    MUTATE("send conv", o.conv_len = 3);
}

/* Fields a kind does not carry are not part of its hash, so a decoder that
 * leaves them at whatever value does not change the digest. */
Test(digest, fields_outside_the_kind_are_ignored)
{
    op s = base_edit();
    s.kind = OP_SEND;
    s.n_refs = 0;
    digest h = digest_op_hash(&s);
    op t = s;
    t.target = ID(99, 99);            /* a send has no target */
    t.key = (const uint8_t *)"x";     /* nor a key */
    t.key_len = 1;
    ASSERT_DIG_EQ(digest_op_hash(&t), h, "send hash depends on target/key");

    op d = base_edit();
    d.kind = OP_DELETE;
    d.n_refs = 0;
    digest hd = digest_op_hash(&d);
    op d2 = d;
    memset(d2.body_hash, 0xab, OP_HASH_LEN);   /* a delete has no body */
    d2.key = (const uint8_t *)"y";
    d2.key_len = 1;
    ASSERT_DIG_EQ(digest_op_hash(&d2), hd, "delete hash depends on body/key");
}

/* The body enters only through its hash: the erased form (text gone, hash
 * kept) hashes like the original. */
Test(digest, erased_hashes_like_original)
{
    op a = base_edit();
    op b = a;
    b.body = NULL;
    b.body_len = 0;
    b.erased = 1;
    ASSERT_DIG_EQ(digest_op_hash(&a), digest_op_hash(&b), "erasure changed the op hash");

    op s = base_edit();
    s.kind = OP_SEND;
    s.n_refs = 0;
    op se = s;
    se.body = NULL;
    se.body_len = 0;
    se.erased = 1;
    ASSERT_DIG_EQ(digest_op_hash(&s), digest_op_hash(&se), "erasure changed the send hash");
}

Test(digest, body_hash_depends_on_every_byte)
{
    uint8_t h1[OP_HASH_LEN], h2[OP_HASH_LEN], h3[OP_HASH_LEN], h4[OP_HASH_LEN];
    digest_body_hash(h1, (const uint8_t *)"hello", 5);
    digest_body_hash(h2, (const uint8_t *)"hellp", 5);
    digest_body_hash(h3, (const uint8_t *)"hell", 4);
    digest_body_hash(h4, (const uint8_t *)"hello", 5);
    cr_assert(memcmp(h1, h2, OP_HASH_LEN) != 0);
    cr_assert(memcmp(h1, h3, OP_HASH_LEN) != 0);
    cr_assert(memcmp(h1, h4, OP_HASH_LEN) == 0);
    /* Empty body is allowed (TRACE: body 0..65536 bytes). */
    uint8_t he[OP_HASH_LEN], he2[OP_HASH_LEN];
    digest_body_hash(he, NULL, 0);
    digest_body_hash(he2, (const uint8_t *)"", 0);
    cr_assert(memcmp(he, he2, OP_HASH_LEN) == 0);
    cr_assert(memcmp(he, h1, OP_HASH_LEN) != 0);
}

/* ---- golden values ---------------------------------------------------- */

/* These values must not change without a format version bump: replicas
 * store digests and compare them across versions. */
/* XXH3-128 of "hello again", canonical (big-endian) bytes. */
static const uint8_t golden_body_hash_hello[OP_HASH_LEN] = {
    0xfa, 0x3a, 0xd8, 0x46, 0xc5, 0xfa, 0x8f, 0x60,
    0xce, 0x56, 0x2e, 0x6b, 0x33, 0xec, 0xea, 0x7a,
};

Test(digest, golden_body_hash)
{
    uint8_t h[OP_HASH_LEN];
    digest_body_hash(h, (const uint8_t *)"hello again", 11);
    for (int i = 0; i < OP_HASH_LEN; i++)
        cr_assert_eq(h[i], golden_body_hash_hello[i], "byte %d: 0x%02x, golden 0x%02x", i,
                     h[i], golden_body_hash_hello[i]);
}

/* The hashes of base_edit() and base_react(). Must not change without a
 * format version bump. */
#define GOLDEN_EDIT_LO UINT64_C(0xc0966647b44beb53)
#define GOLDEN_EDIT_HI UINT64_C(0x43960cde2ac7d250)
#define GOLDEN_REACT_LO UINT64_C(0x1882da9ce8ade9d5)
#define GOLDEN_REACT_HI UINT64_C(0x4dfd276f0e2d1ffa)

Test(digest, golden_op_hash)
{
    op o = base_edit();
    digest h = digest_op_hash(&o);
    cr_assert_eq(h.lo, GOLDEN_EDIT_LO, "lo 0x%016llx", (unsigned long long)h.lo);
    cr_assert_eq(h.hi, GOLDEN_EDIT_HI, "hi 0x%016llx", (unsigned long long)h.hi);
    op r = base_react();
    digest hr = digest_op_hash(&r);
    cr_assert_eq(hr.lo, GOLDEN_REACT_LO, "lo 0x%016llx", (unsigned long long)hr.lo);
    cr_assert_eq(hr.hi, GOLDEN_REACT_HI, "hi 0x%016llx", (unsigned long long)hr.hi);
}

/* ---- the documented layout, for large ops ------------------------------ */

/* An independent serialisation of the layout digest.c documents (fixed
 * little-endian u64s, length-prefixed strings and id lists), hashed in one
 * call: checks the internal buffering across its flush boundary. */
typedef struct lay {
    uint8_t *b;
    size_t n, cap;
} lay;

static void lay_bytes(lay *l, const void *p, size_t n)
{
    if (l->n + n > l->cap) {
        l->cap = (l->n + n) * 2;
        l->b = realloc(l->b, l->cap);
        cr_assert_not_null(l->b);
    }
    if (n)
        memcpy(l->b + l->n, p, n);
    l->n += n;
}

static void lay_u64(lay *l, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    lay_bytes(l, b, 8);
}

static void lay_ids(lay *l, const op_id *e, size_t n)
{
    lay_u64(l, n);
    for (size_t i = 0; i < n; i++) {
        lay_u64(l, e[i].replica);
        lay_u64(l, e[i].seq);
    }
}

static digest reference_hash(const op *o)
{
    lay l = { 0 };
    lay_u64(&l, o->kind);
    lay_u64(&l, o->conv_len);
    lay_bytes(&l, o->conv, o->conv_len);
    lay_u64(&l, o->id.replica);
    lay_u64(&l, o->id.seq);
    lay_u64(&l, o->hlc);
    lay_u64(&l, o->user_len);
    lay_bytes(&l, o->user, o->user_len);
    lay_ids(&l, o->deps, o->n_deps);
    if (o->kind != OP_SEND) {
        lay_u64(&l, o->target.replica);
        lay_u64(&l, o->target.seq);
    }
    if (o->kind == OP_SEND || o->kind == OP_EDIT)
        lay_bytes(&l, o->body_hash, OP_HASH_LEN);
    if (o->kind == OP_REACT || o->kind == OP_UNREACT) {
        lay_u64(&l, o->key_len);
        lay_bytes(&l, o->key, o->key_len);
    }
    lay_ids(&l, o->refs, o->n_refs);
    XXH128_hash_t x = XXH3_128bits(l.b, l.n);
    free(l.b);
    return (digest){ x.low64, x.high64 };
}

Test(digest, layout_matches_reference_for_large_ops)
{
    uint64_t seed = test_seed("digest/layout_matches_reference_for_large_ops");
    rng g;
    rng_seed(&g, seed);
    static op_id deps[OP_MAX_DEPS], refs[OP_MAX_REFS];
    static uint8_t conv[OP_MAX_CONV], user[OP_MAX_USER], key[OP_MAX_KEY];
    for (int iter = 0; iter < 200; iter++) {
        op o = { 0 };
        o.kind = (uint8_t)rng_range(&g, 1, OP_KIND_MAX);
        for (size_t i = 0; i < sizeof conv; i++)
            conv[i] = (uint8_t)rng_next(&g);
        for (size_t i = 0; i < sizeof user; i++)
            user[i] = (uint8_t)rng_next(&g);
        for (size_t i = 0; i < sizeof key; i++)
            key[i] = (uint8_t)rng_next(&g);
        o.conv = conv;
        o.conv_len = rng_range(&g, 1, OP_MAX_CONV);
        o.user = user;
        o.user_len = rng_range(&g, 1, OP_MAX_USER);
        o.id = ID(rng_next(&g), rng_next(&g));
        o.hlc = rng_next(&g);
        /* Small and large lists: large ones cross the 1 KiB buffer. */
        o.n_deps = rng_chance(&g, 50) ? rng_below(&g, 8) : rng_below(&g, OP_MAX_DEPS + 1);
        for (size_t i = 0; i < o.n_deps; i++)
            deps[i] = ID(rng_next(&g), rng_next(&g));
        o.deps = deps;
        o.target = ID(rng_next(&g), rng_next(&g));
        for (int i = 0; i < OP_HASH_LEN; i++)
            o.body_hash[i] = (uint8_t)rng_next(&g);
        o.key = key;
        o.key_len = rng_range(&g, 1, OP_MAX_KEY);
        o.n_refs = rng_chance(&g, 50) ? rng_below(&g, 8) : rng_below(&g, OP_MAX_REFS + 1);
        for (size_t i = 0; i < o.n_refs; i++)
            refs[i] = ID(rng_next(&g), rng_next(&g));
        o.refs = refs;
        digest got = digest_op_hash(&o);
        digest want = reference_hash(&o);
        ASSERT_DIG_EQ(got, want, "seed %llu iter %d kind %d deps %zu refs %zu",
                      (unsigned long long)seed, iter, o.kind, o.n_deps, o.n_refs);
    }
}

/* ---- the sum ------------------------------------------------------------ */

Test(digest, add_carries_and_wraps)
{
    digest d = { UINT64_MAX, 0 };
    digest_add(&d, (digest){ 1, 0 });
    cr_assert_eq(d.lo, 0);
    cr_assert_eq(d.hi, 1);

    d = (digest){ UINT64_MAX, 5 };
    digest_add(&d, (digest){ UINT64_MAX, 7 });
    cr_assert_eq(d.lo, UINT64_MAX - 1);
    cr_assert_eq(d.hi, 13);

    /* mod 2^128 */
    d = (digest){ UINT64_MAX, UINT64_MAX };
    digest_add(&d, (digest){ 1, 0 });
    cr_assert_eq(d.lo, 0);
    cr_assert_eq(d.hi, 0);

    d = (digest){ 0, UINT64_MAX };
    digest_add(&d, (digest){ 3, 2 });
    cr_assert_eq(d.lo, 3);
    cr_assert_eq(d.hi, 1);

    /* Zero is the identity. */
    d = (digest){ 123, 456 };
    digest_add(&d, (digest){ 0, 0 });
    cr_assert_eq(d.lo, 123);
    cr_assert_eq(d.hi, 456);
}

Test(digest, add_is_order_independent)
{
    enum { N = 257, SHUFFLES = 20 };
    uint64_t seed = test_seed("digest/add_is_order_independent");
    rng g;
    rng_seed(&g, seed);
    static digest hs[N];
    /* Real op hashes, plus values near the carry boundary. */
    for (int i = 0; i < N; i++) {
        if (i % 4 == 0) {
            hs[i] = (digest){ UINT64_MAX - rng_below(&g, 4), rng_next(&g) };
        } else {
            op o = base_react();
            o.id = ID(rng_range(&g, 1, 50), rng_range(&g, 1, 1000));
            o.hlc = rng_next(&g);
            hs[i] = digest_op_hash(&o);
        }
    }
    /* The sum in the natural order. */
    digest want = { 0, 0 };
    for (int i = 0; i < N; i++)
        digest_add(&want, hs[i]);
    int order[N];
    for (int i = 0; i < N; i++)
        order[i] = i;
    for (int s = 0; s < SHUFFLES; s++) {
        rng_shuffle_int(&g, order, N);
        digest d = { 0, 0 };
        for (int i = 0; i < N; i++)
            digest_add(&d, hs[order[i]]);
        ASSERT_DIG_EQ(d, want, "seed %llu shuffle %d: 0x%016llx%016llx vs 0x%016llx%016llx",
                      (unsigned long long)seed, s, (unsigned long long)d.hi,
                      (unsigned long long)d.lo, (unsigned long long)want.hi,
                      (unsigned long long)want.lo);
    }
    /* Against an independent sum: hi words plus the carries of lo words. */
    uint64_t lo = 0, hi = 0;
    for (int i = 0; i < N; i++) {
        uint64_t nlo = lo + hs[i].lo;
        hi += hs[i].hi + (nlo < lo ? 1 : 0);
        lo = nlo;
    }
    cr_assert_eq(want.lo, lo);
    cr_assert_eq(want.hi, hi);
    /* Dropping any one element changes the sum (hashes are not zero). */
    digest partial = { 0, 0 };
    for (int i = 1; i < N; i++)
        digest_add(&partial, hs[i]);
    ASSERT_DIG_NEQ(partial, want, "seed %llu", (unsigned long long)seed);
}

/* ---- bytes ---------------------------------------------------------- */

Test(digest, to_bytes_is_big_endian_hi_then_lo)
{
    digest d = { UINT64_C(0x1112131415161718), UINT64_C(0x0102030405060708) };
    uint8_t b[16];
    digest_to_bytes(b, d);
    const uint8_t want[16] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                               0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18 };
    cr_assert_arr_eq(b, want, 16);
    digest back = digest_from_bytes(b);
    cr_assert_eq(back.lo, d.lo);
    cr_assert_eq(back.hi, d.hi);
}

Test(digest, bytes_round_trip_random)
{
    uint64_t seed = test_seed("digest/bytes_round_trip_random");
    rng g;
    rng_seed(&g, seed);
    for (int i = 0; i < 10000; i++) {
        digest d = { rng_next(&g), rng_next(&g) };
        if (i == 0)
            d = (digest){ 0, 0 };
        if (i == 1)
            d = (digest){ UINT64_MAX, UINT64_MAX };
        uint8_t b[16];
        digest_to_bytes(b, d);
        digest back = digest_from_bytes(b);
        ASSERT_DIG_EQ(back, d, "seed %llu i %d", (unsigned long long)seed, i);
        /* And bytes -> digest -> bytes. */
        uint8_t b2[16];
        digest_to_bytes(b2, back);
        cr_assert_arr_eq(b, b2, 16);
    }
}
