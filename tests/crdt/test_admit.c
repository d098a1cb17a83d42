/* Whether a replica may create an op on a message (crdt/admit.c,
 * msg_admits): edits and deletes only by the author (checked before
 * anything else), nothing but a read marker on a deleted message, an
 * unreact only of a live reaction of the same (user, key); reacts and reads
 * by anyone on a live message. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "crdt/admit.h"
#include "crdt/message.h"

#define ID(r, s) ((op_id){ (r), (s) })
#define TARGET ID(1, 1)   /* the message under test: alice's 1.1 */

static const char *verdict_name(int v)
{
    switch (v) {
    case ADMIT_OK: return "OK";
    case ADMIT_NOT_AUTHOR: return "NOT_AUTHOR";
    case ADMIT_DELETED: return "DELETED";
    case ADMIT_NO_REACTION: return "NO_REACTION";
    default: return "?";
    }
}

#define ASSERT_ADMITS(m, o, want)                                             \
    do {                                                                      \
        op o_ = (o);                                                          \
        int g_ = msg_admits((m), &o_), w_ = (want);                           \
        cr_assert_eq(g_, w_, "%s: %s, want %s", #o, verdict_name(g_),         \
                     verdict_name(w_));                                       \
    } while (0)

/* ---- op builders (strings are literals, so they outlive the ops) ------- */

static op base_op(uint8_t kind, op_id id, uint64_t hlc, const char *user)
{
    op o = { 0 };
    o.kind = kind;
    o.conv = (const uint8_t *)"c1";
    o.conv_len = 2;
    o.id = id;
    o.hlc = hlc;
    o.user = (const uint8_t *)user;
    o.user_len = strlen(user);
    o.target = TARGET;
    return o;
}

static op edit_by(const char *user)
{
    op o = base_op(OP_EDIT, ID(7, 1), 500, user);
    o.body = (const uint8_t *)"new";
    o.body_len = 3;
    return o;
}

static op delete_by(const char *user)
{
    return base_op(OP_DELETE, ID(7, 2), 600, user);
}

static op read_by(const char *user)
{
    return base_op(OP_READ, ID(7, 3), 700, user);
}

static op react_op(op_id id, const char *user, const char *key)
{
    op o = base_op(OP_REACT, id, 100 + id.seq, user);
    o.key = (const uint8_t *)key;
    o.key_len = strlen(key);
    return o;
}

static op unreact_op(op_id id, const char *user, const char *key, op_id *refs, size_t n_refs)
{
    op o = base_op(OP_UNREACT, id, 200 + id.seq, user);
    o.key = (const uint8_t *)key;
    o.key_len = strlen(key);
    o.refs = refs;
    o.n_refs = n_refs;
    return o;
}

static op react_by(const char *user, const char *key)
{
    return react_op(ID(8, 1), user, key);
}

static op unreact_by(const char *user, const char *key)
{
    return unreact_op(ID(8, 9), user, key, NULL, 0);
}

static void init_alice(msg_state *m)
{
    cr_assert_eq(msg_init(m, (const uint8_t *)"alice", 5), 0);
}

static void delete_it(msg_state *m)
{
    op d = delete_by("alice");
    cr_assert_eq(msg_apply_delete(m, &d), 1);
    cr_assert_eq(m->deleted, 1);
}

/* ---- author -------------------------------------------------------------- */

Test(admit, author_may_edit_and_delete)
{
    msg_state m;
    init_alice(&m);
    ASSERT_ADMITS(&m, edit_by("alice"), ADMIT_OK);
    ASSERT_ADMITS(&m, delete_by("alice"), ADMIT_OK);
    msg_free(&m);
}

Test(admit, edit_or_delete_by_non_author)
{
    msg_state m;
    init_alice(&m);
    ASSERT_ADMITS(&m, edit_by("bob"), ADMIT_NOT_AUTHOR);
    ASSERT_ADMITS(&m, delete_by("bob"), ADMIT_NOT_AUTHOR);
    /* Names near the author's are other users. */
    ASSERT_ADMITS(&m, edit_by("alic"), ADMIT_NOT_AUTHOR);
    ASSERT_ADMITS(&m, edit_by("alicee"), ADMIT_NOT_AUTHOR);
    ASSERT_ADMITS(&m, delete_by("Alice"), ADMIT_NOT_AUTHOR);
    ASSERT_ADMITS(&m, delete_by(""), ADMIT_NOT_AUTHOR);
    msg_free(&m);
}

/* The author check comes before the deleted check. */
Test(admit, not_author_is_checked_before_deleted)
{
    msg_state m;
    init_alice(&m);
    delete_it(&m);
    ASSERT_ADMITS(&m, edit_by("bob"), ADMIT_NOT_AUTHOR);
    ASSERT_ADMITS(&m, delete_by("bob"), ADMIT_NOT_AUTHOR);
    msg_free(&m);
}

/* ---- deleted ---------------------------------------------------------- */

Test(admit, nothing_but_a_read_on_a_deleted_message)
{
    msg_state m;
    init_alice(&m);
    delete_it(&m);
    ASSERT_ADMITS(&m, edit_by("alice"), ADMIT_DELETED);
    ASSERT_ADMITS(&m, delete_by("alice"), ADMIT_DELETED);
    ASSERT_ADMITS(&m, react_by("alice", "+1"), ADMIT_DELETED);
    ASSERT_ADMITS(&m, react_by("bob", "+1"), ADMIT_DELETED);
    /* Deleted before "no such reaction". */
    ASSERT_ADMITS(&m, unreact_by("bob", "+1"), ADMIT_DELETED);
    ASSERT_ADMITS(&m, read_by("alice"), ADMIT_OK);
    ASSERT_ADMITS(&m, read_by("bob"), ADMIT_OK);
    msg_free(&m);
}

/* A reaction live before the delete does not make an unreact admissible
 * after it. */
Test(admit, unreact_of_a_reaction_from_before_the_delete)
{
    msg_state m;
    init_alice(&m);
    op r = react_op(ID(2, 1), "bob", "+1");
    cr_assert_eq(msg_apply_react(&m, &r), 0);
    ASSERT_ADMITS(&m, unreact_by("bob", "+1"), ADMIT_OK);
    delete_it(&m);
    ASSERT_ADMITS(&m, unreact_by("bob", "+1"), ADMIT_DELETED);
    msg_free(&m);
}

/* A delete by someone else changes nothing. */
Test(admit, non_author_delete_leaves_the_message_live)
{
    msg_state m;
    init_alice(&m);
    op d = delete_by("bob");
    cr_assert_eq(msg_apply_delete(&m, &d), 0);
    ASSERT_ADMITS(&m, edit_by("alice"), ADMIT_OK);
    ASSERT_ADMITS(&m, react_by("carol", "+1"), ADMIT_OK);
    msg_free(&m);
}

/* ---- reactions -------------------------------------------------------------- */

Test(admit, react_by_anyone_on_a_live_message)
{
    msg_state m;
    init_alice(&m);
    ASSERT_ADMITS(&m, react_by("alice", "+1"), ADMIT_OK);
    ASSERT_ADMITS(&m, react_by("bob", "+1"), ADMIT_OK);
    ASSERT_ADMITS(&m, react_by("carol", "\xe2\x9d\xa4"), ADMIT_OK);
    /* Again, while the same reaction is already live. */
    op r = react_op(ID(2, 1), "bob", "+1");
    cr_assert_eq(msg_apply_react(&m, &r), 0);
    ASSERT_ADMITS(&m, react_by("bob", "+1"), ADMIT_OK);
    msg_free(&m);
}

Test(admit, unreact_without_a_live_reaction)
{
    msg_state m;
    init_alice(&m);
    ASSERT_ADMITS(&m, unreact_by("bob", "+1"), ADMIT_NO_REACTION);
    op r = react_op(ID(2, 1), "bob", "+1");
    cr_assert_eq(msg_apply_react(&m, &r), 0);
    ASSERT_ADMITS(&m, unreact_by("bob", "+1"), ADMIT_OK);
    /* Another user, another key, near-miss names and keys. */
    ASSERT_ADMITS(&m, unreact_by("carol", "+1"), ADMIT_NO_REACTION);
    ASSERT_ADMITS(&m, unreact_by("alice", "+1"), ADMIT_NO_REACTION);
    ASSERT_ADMITS(&m, unreact_by("bob", "heart"), ADMIT_NO_REACTION);
    ASSERT_ADMITS(&m, unreact_by("bo", "+1"), ADMIT_NO_REACTION);
    ASSERT_ADMITS(&m, unreact_by("bob", "+"), ADMIT_NO_REACTION);
    ASSERT_ADMITS(&m, unreact_by("bob", "+1x"), ADMIT_NO_REACTION);
    msg_free(&m);
}

Test(admit, unreact_after_the_reaction_was_unreacted)
{
    msg_state m;
    init_alice(&m);
    op r1 = react_op(ID(2, 1), "bob", "+1");
    op r2 = react_op(ID(3, 1), "bob", "+1");   /* bob's other device */
    cr_assert_eq(msg_apply_react(&m, &r1), 0);
    cr_assert_eq(msg_apply_react(&m, &r2), 0);
    /* An unreact that observed only one react: the other keeps it live. */
    op_id seen1[] = { ID(2, 1) };
    op u1 = unreact_op(ID(2, 2), "bob", "+1", seen1, 1);
    cr_assert_eq(msg_apply_unreact(&m, &u1), 0);
    ASSERT_ADMITS(&m, unreact_by("bob", "+1"), ADMIT_OK);
    op_id seen2[] = { ID(3, 1) };
    op u2 = unreact_op(ID(3, 2), "bob", "+1", seen2, 1);
    cr_assert_eq(msg_apply_unreact(&m, &u2), 0);
    ASSERT_ADMITS(&m, unreact_by("bob", "+1"), ADMIT_NO_REACTION);
    /* Reacting again makes it admissible again. */
    op r3 = react_op(ID(2, 3), "bob", "+1");
    cr_assert_eq(msg_apply_react(&m, &r3), 0);
    ASSERT_ADMITS(&m, unreact_by("bob", "+1"), ADMIT_OK);
    msg_free(&m);
}

/* ---- reads ---------------------------------------------------------------- */

Test(admit, read_by_anyone_on_a_live_message)
{
    msg_state m;
    init_alice(&m);
    ASSERT_ADMITS(&m, read_by("alice"), ADMIT_OK);
    ASSERT_ADMITS(&m, read_by("bob"), ADMIT_OK);
    msg_free(&m);
}

/* Edits by others recorded on the message (for erasure) do not change who
 * may edit. */
Test(admit, recorded_non_author_edit_changes_nothing)
{
    msg_state m;
    init_alice(&m);
    op bad = edit_by("bob");
    cr_assert_eq(msg_apply_edit(&m, &bad), 0);
    ASSERT_ADMITS(&m, edit_by("bob"), ADMIT_NOT_AUTHOR);
    ASSERT_ADMITS(&m, edit_by("alice"), ADMIT_OK);
    msg_free(&m);
}
