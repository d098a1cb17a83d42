/* Erasing an op's text (crdt/erase.c, op_erase): a send or an edit loses its
 * body (NULL, length 0), is marked erased and keeps the hash of the old text
 * (digest_body_hash), so its op hash (digest_op_hash / digest_op_content) is
 * the same before and after; erasing twice changes nothing; ops of kinds
 * without a body are left byte for byte as they were; an empty body is
 * erased like any other. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "crdt/digest.h"
#include "crdt/erase.h"

#define ID(r, s) ((op_id){ (r), (s) })

static op_id some_deps[] = { { 2, 3 }, { 4, 1 } };
static op_id some_refs[] = { { 1, 2 } };

/* An op with every field set to something recognisable (zeroed as a whole
 * first, so that copies can be compared byte for byte). body_hash is filled
 * with a pattern that is no body's hash: op_erase must compute it itself. */
static void make_op(op *o, uint8_t kind, const char *body, size_t body_len)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->conv = (const uint8_t *)"general";
    o->conv_len = 7;
    o->id = ID(1, 3);
    o->hlc = UINT64_C(111411200000000005);
    o->user = (const uint8_t *)"alice";
    o->user_len = 5;
    o->deps = some_deps;
    o->n_deps = 2;
    if (kind != OP_SEND)
        o->target = ID(1, 1);
    o->body = (const uint8_t *)body;
    o->body_len = body_len;
    memset(o->body_hash, 0xA5, OP_HASH_LEN);
    if (kind == OP_REACT || kind == OP_UNREACT) {
        o->key = (const uint8_t *)"+1";
        o->key_len = 2;
    }
    if (kind == OP_EDIT || kind == OP_UNREACT) {
        o->refs = some_refs;
        o->n_refs = 1;
    }
}

static int dig_eq(digest a, digest b)
{
    return a.lo == b.lo && a.hi == b.hi;
}

/* Every field but the body's is as in `before`. */
static void assert_rest_unchanged(const op *o, const op *before)
{
    cr_assert_eq(o->kind, before->kind);
    cr_assert_eq(o->conv, before->conv);
    cr_assert_eq(o->conv_len, before->conv_len);
    cr_assert(op_id_cmp(o->id, before->id) == 0, "id changed");
    cr_assert_eq(o->hlc, before->hlc);
    cr_assert_eq(o->user, before->user);
    cr_assert_eq(o->user_len, before->user_len);
    cr_assert_eq(o->deps, before->deps);
    cr_assert_eq(o->n_deps, before->n_deps);
    cr_assert(op_id_cmp(o->target, before->target) == 0, "target changed");
    cr_assert_eq(o->key, before->key);
    cr_assert_eq(o->key_len, before->key_len);
    cr_assert_eq(o->refs, before->refs);
    cr_assert_eq(o->n_refs, before->n_refs);
}

/* Erases a fresh op of `kind` holding body[0..len) and checks the erased
 * form and the unchanged op hash. */
static void check_erase_with_body(uint8_t kind, const char *body, size_t len)
{
    op o, before;
    make_op(&o, kind, body, len);
    uint8_t want[OP_HASH_LEN];
    digest_body_hash(want, (const uint8_t *)body, len);
    cr_assert(memcmp(want, o.body_hash, OP_HASH_LEN) != 0,
              "the pattern happens to be the body's hash");
    /* The hash of the op with its text (this also fills body_hash). */
    op with_text = o;
    digest h = digest_op_content(&with_text);
    memcpy(&before, &o, sizeof o);

    op_erase(&o);
    cr_assert_eq(o.erased, 1, "kind %d: not marked erased", kind);
    cr_assert_null(o.body, "kind %d: body kept", kind);
    cr_assert_eq(o.body_len, 0, "kind %d: body_len %zu", kind, o.body_len);
    cr_assert_arr_eq(o.body_hash, want, OP_HASH_LEN,
                     "kind %d: body_hash is not the old text's hash", kind);
    assert_rest_unchanged(&o, &before);

    cr_assert(dig_eq(digest_op_hash(&o), h), "kind %d: op hash changed by erasing", kind);
    cr_assert(dig_eq(digest_op_content(&o), h), "kind %d: op content hash changed", kind);
    cr_assert_eq(o.erased, 1);
    cr_assert_null(o.body);
}

Test(erase, send_is_erased_and_keeps_its_hash)
{
    check_erase_with_body(OP_SEND, "hello world", 11);
}

Test(erase, edit_is_erased_and_keeps_its_hash)
{
    check_erase_with_body(OP_EDIT, "hello again", 11);
}

/* The hash covers the whole length, an embedded NUL and bytes >= 0x80
 * included: a strlen would stop at the NUL. */
Test(erase, hash_covers_every_byte)
{
    static const char body[] = "ab\0c\xff\x80";
    size_t len = sizeof body - 1;
    check_erase_with_body(OP_SEND, body, len);
    op o;
    make_op(&o, OP_SEND, body, len);
    op_erase(&o);
    uint8_t prefix[OP_HASH_LEN];
    digest_body_hash(prefix, (const uint8_t *)body, 2);
    cr_assert(memcmp(o.body_hash, prefix, OP_HASH_LEN) != 0, "hash of the text before the NUL");
}

/* Two ops differing only in their text still differ after erasing. */
Test(erase, different_texts_stay_different)
{
    op a, b;
    make_op(&a, OP_EDIT, "yes", 3);
    make_op(&b, OP_EDIT, "no", 2);
    digest ha = digest_op_content(&a), hb = digest_op_content(&b);
    cr_assert(!dig_eq(ha, hb));
    op_erase(&a);
    op_erase(&b);
    cr_assert(!dig_eq(digest_op_hash(&a), digest_op_hash(&b)));
    cr_assert(dig_eq(digest_op_hash(&a), ha));
    cr_assert(dig_eq(digest_op_hash(&b), hb));
}

Test(erase, empty_body)
{
    check_erase_with_body(OP_SEND, "", 0);
    check_erase_with_body(OP_EDIT, "", 0);
    /* A NULL body of length 0 as well. */
    check_erase_with_body(OP_EDIT, NULL, 0);
}

Test(erase, twice_changes_nothing)
{
    static const uint8_t kinds[] = { OP_SEND, OP_EDIT };
    for (size_t k = 0; k < 2; k++) {
        op o, once;
        make_op(&o, kinds[k], "some text", 9);
        op_erase(&o);
        cr_assert_eq(o.erased, 1);
        memcpy(&once, &o, sizeof o);
        op_erase(&o);
        cr_assert_eq(memcmp(&o, &once, sizeof o), 0, "kind %d: second erase changed the op",
                     kinds[k]);
    }
}

/* An op that arrives already erased (only body_hash known) keeps the hash
 * it carries: nothing is recomputed from the missing text. */
Test(erase, already_erased_is_left_alone)
{
    op o, before;
    make_op(&o, OP_SEND, NULL, 0);
    o.erased = 1;
    memset(o.body_hash, 0x3C, OP_HASH_LEN);
    memcpy(&before, &o, sizeof o);
    op_erase(&o);
    cr_assert_eq(memcmp(&o, &before, sizeof o), 0, "an erased op was changed");
    uint8_t want[OP_HASH_LEN];
    memset(want, 0x3C, OP_HASH_LEN);
    cr_assert_arr_eq(o.body_hash, want, OP_HASH_LEN);
}

/* Kinds without a body are not touched, even when (as a malformed op would)
 * they carry a body pointer, length and hash. */
Test(erase, kinds_without_body_are_unchanged)
{
    static const uint8_t kinds[] = { OP_DELETE, OP_REACT, OP_UNREACT, OP_READ };
    for (size_t k = 0; k < sizeof kinds; k++) {
        for (int with_body = 0; with_body < 2; with_body++) {
            op o, before;
            make_op(&o, kinds[k], with_body ? "stray" : NULL, with_body ? 5 : 0);
            memcpy(&before, &o, sizeof o);
            op_erase(&o);
            cr_assert_eq(memcmp(&o, &before, sizeof o), 0,
                         "kind %d (body %d): changed by op_erase", kinds[k], with_body);
            cr_assert_eq(o.erased, 0, "kind %d marked erased", kinds[k]);
        }
    }
}
