/* The merge rules on one message (crdt/message.c): last-writer-wins edits
 * with concurrent heads as a conflict, author-only edits and deletes,
 * delete-wins, add-wins reactions kept sorted by (key, user), and which
 * edit's text a view shows (msg_shown_edit). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crdt/message.h"
#include "support/rng.h"

#define ID(r, s) ((op_id){ (r), (s) })
#define TARGET ID(1, 1)   /* the message under test: alice's 1.1 */

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

static op edit_op(op_id id, uint64_t hlc, const char *user, op_id *refs, size_t n_refs)
{
    op o = base_op(OP_EDIT, id, hlc, user);
    o.body = (const uint8_t *)"new";
    o.body_len = 3;
    o.refs = refs;
    o.n_refs = n_refs;
    return o;
}

static op delete_op(op_id id, uint64_t hlc, const char *user)
{
    return base_op(OP_DELETE, id, hlc, user);
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

static void init_alice(msg_state *m)
{
    cr_assert_eq(msg_init(m, (const uint8_t *)"alice", 5), 0);
}

/* ---- assertions --------------------------------------------------------- */

/* The set `s` holds exactly want[0..n) (any order). */
static void assert_ids(const ids *s, const op_id *want, size_t n, const char *what)
{
    cr_assert_eq(s->n, n, "%s: %zu ids, want %zu", what, s->n, n);
    for (size_t i = 0; i < n; i++)
        cr_assert(ids_contains(s, want[i]), "%s: missing %llu.%llu", what,
                  (unsigned long long)want[i].replica, (unsigned long long)want[i].seq);
}

static void assert_best(const msg_state *m, op_id id, uint64_t hlc)
{
    cr_assert_eq(m->has_best, 1, "no best edit");
    cr_assert(op_id_cmp(m->best, id) == 0, "best is %llu.%llu, want %llu.%llu",
              (unsigned long long)m->best.replica, (unsigned long long)m->best.seq,
              (unsigned long long)id.replica, (unsigned long long)id.seq);
    cr_assert_eq(m->best_hlc, hlc);
}

static int live_reaction(const msg_state *m, const char *key, const char *user)
{
    return msg_reaction_find(m, (const uint8_t *)key, strlen(key), (const uint8_t *)user,
                             strlen(user)) != NULL;
}

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an < bn ? -1 : an > bn);
}

/* Reactions strictly ascending by (key, user) bytewise, each with a live
 * react. */
static void assert_reactions_sorted(const msg_state *m)
{
    for (size_t i = 0; i < m->n_reactions; i++) {
        cr_assert_gt(m->reactions[i].live.n, 0, "reaction %zu has no live react", i);
        if (i == 0)
            continue;
        const reaction *a = &m->reactions[i - 1], *b = &m->reactions[i];
        int c = bytes_cmp(a->key, a->key_len, b->key, b->key_len);
        if (c == 0)
            c = bytes_cmp(a->user, a->user_len, b->user, b->user_len);
        cr_assert_lt(c, 0, "reactions %zu and %zu out of order", i - 1, i);
    }
}

/* ---- init / author ------------------------------------------------------ */

Test(message, init_is_empty_and_copies_author)
{
    char author[] = "alice";
    msg_state m;
    cr_assert_eq(msg_init(&m, (const uint8_t *)author, 5), 0);
    author[0] = 'X';   /* the state holds its own copy */
    cr_assert_eq(m.author_len, 5);
    cr_assert_arr_eq(m.author, "alice", 5);
    cr_assert_eq(m.deleted, 0);
    cr_assert_eq(m.edited, 0);
    cr_assert_eq(m.has_best, 0);
    cr_assert_eq(m.heads.n, 0);
    cr_assert_eq(m.edits.n, 0);
    cr_assert_eq(m.n_reactions, 0);
    cr_assert_eq(msg_conflict(&m), 0);
    msg_free(&m);
    msg_free(NULL);
}

Test(message, is_author_compares_all_bytes)
{
    msg_state m;
    init_alice(&m);
    op o = base_op(OP_EDIT, ID(1, 2), 1, "alice");
    cr_assert_eq(msg_is_author(&m, &o), 1);
    o = base_op(OP_EDIT, ID(1, 2), 1, "alic");
    cr_assert_eq(msg_is_author(&m, &o), 0);
    o = base_op(OP_EDIT, ID(1, 2), 1, "alicee");
    cr_assert_eq(msg_is_author(&m, &o), 0);
    o = base_op(OP_EDIT, ID(1, 2), 1, "Alice");
    cr_assert_eq(msg_is_author(&m, &o), 0);
    /* An embedded NUL is part of the name. */
    o.user = (const uint8_t *)"alice\0x";
    o.user_len = 7;
    cr_assert_eq(msg_is_author(&m, &o), 0);
    msg_free(&m);
}

/* ---- edits ----------------------------------------------------------------- */

Test(message, single_edit)
{
    msg_state m;
    init_alice(&m);
    op e = edit_op(ID(1, 2), 500, "alice", NULL, 0);
    cr_assert_eq(msg_apply_edit(&m, &e), 0);
    cr_assert_eq(m.edited, 1);
    assert_best(&m, ID(1, 2), 500);
    assert_ids(&m.heads, (op_id[]){ ID(1, 2) }, 1, "heads");
    assert_ids(&m.edits, (op_id[]){ ID(1, 2) }, 1, "edits");
    cr_assert_eq(msg_conflict(&m), 0);
    msg_free(&m);
}

Test(message, sequential_edits_replace_the_head)
{
    msg_state m;
    init_alice(&m);
    op e1 = edit_op(ID(1, 2), 500, "alice", NULL, 0);
    op_id r2[] = { ID(1, 2) };
    op e2 = edit_op(ID(1, 3), 600, "alice", r2, 1);
    op_id r3[] = { ID(1, 3) };
    op e3 = edit_op(ID(2, 1), 700, "alice", r3, 1);   /* alice's other device */
    cr_assert_eq(msg_apply_edit(&m, &e1), 0);
    cr_assert_eq(msg_apply_edit(&m, &e2), 0);
    assert_ids(&m.heads, (op_id[]){ ID(1, 3) }, 1, "heads after e2");
    cr_assert_eq(msg_apply_edit(&m, &e3), 0);
    assert_ids(&m.heads, (op_id[]){ ID(2, 1) }, 1, "heads after e3");
    assert_ids(&m.edits, (op_id[]){ ID(1, 2), ID(1, 3), ID(2, 1) }, 3, "edits");
    assert_best(&m, ID(2, 1), 700);
    cr_assert_eq(msg_conflict(&m), 0);
    msg_free(&m);
}

/* LWW by hlc first, whatever the order of application. */
Test(message, lww_by_hlc)
{
    for (int order = 0; order < 2; order++) {
        msg_state m;
        init_alice(&m);
        /* The greater hlc wins even though its replica and seq are smaller. */
        op lo = edit_op(ID(9, 9), 1000, "alice", NULL, 0);
        op hi = edit_op(ID(2, 1), 1001, "alice", NULL, 0);
        cr_assert_eq(msg_apply_edit(&m, order ? &hi : &lo), 0);
        cr_assert_eq(msg_apply_edit(&m, order ? &lo : &hi), 0);
        assert_best(&m, ID(2, 1), 1001);
        msg_free(&m);
    }
}

/* Equal hlc: the greater replica wins, then the greater seq. */
Test(message, lww_ties_by_replica_then_seq)
{
    for (int order = 0; order < 2; order++) {
        msg_state m;
        init_alice(&m);
        op a = edit_op(ID(3, 1), 1000, "alice", NULL, 0);
        op b = edit_op(ID(4, 1), 1000, "alice", NULL, 0);
        cr_assert_eq(msg_apply_edit(&m, order ? &a : &b), 0);
        cr_assert_eq(msg_apply_edit(&m, order ? &b : &a), 0);
        assert_best(&m, ID(4, 1), 1000);
        msg_free(&m);
    }
    for (int order = 0; order < 2; order++) {
        msg_state m;
        init_alice(&m);
        op a = edit_op(ID(3, 7), 1000, "alice", NULL, 0);
        op b = edit_op(ID(3, 8), 1000, "alice", NULL, 0);
        cr_assert_eq(msg_apply_edit(&m, order ? &a : &b), 0);
        cr_assert_eq(msg_apply_edit(&m, order ? &b : &a), 0);
        assert_best(&m, ID(3, 8), 1000);
        msg_free(&m);
    }
    /* The replica is compared before the seq. */
    for (int order = 0; order < 2; order++) {
        msg_state m;
        init_alice(&m);
        op a = edit_op(ID(3, 100), 1000, "alice", NULL, 0);
        op b = edit_op(ID(4, 1), 1000, "alice", NULL, 0);
        cr_assert_eq(msg_apply_edit(&m, order ? &a : &b), 0);
        cr_assert_eq(msg_apply_edit(&m, order ? &b : &a), 0);
        assert_best(&m, ID(4, 1), 1000);
        msg_free(&m);
    }
}

Test(message, concurrent_edits_conflict_then_resolve)
{
    msg_state m;
    init_alice(&m);
    /* Two devices of alice edit without seeing each other. */
    op a = edit_op(ID(1, 2), 1000, "alice", NULL, 0);
    op b = edit_op(ID(2, 1), 999, "alice", NULL, 0);
    cr_assert_eq(msg_apply_edit(&m, &a), 0);
    cr_assert_eq(msg_conflict(&m), 0);
    cr_assert_eq(msg_apply_edit(&m, &b), 0);
    assert_ids(&m.heads, (op_id[]){ ID(1, 2), ID(2, 1) }, 2, "heads");
    cr_assert_eq(msg_conflict(&m), 1);
    assert_best(&m, ID(1, 2), 1000);   /* LWW still picks one body */

    /* An edit replacing only one head leaves the conflict. */
    op_id r1[] = { ID(2, 1) };
    op c = edit_op(ID(2, 2), 1001, "alice", r1, 1);
    cr_assert_eq(msg_apply_edit(&m, &c), 0);
    assert_ids(&m.heads, (op_id[]){ ID(1, 2), ID(2, 2) }, 2, "heads after c");
    cr_assert_eq(msg_conflict(&m), 1);

    /* One that replaces both heads resolves it. */
    op_id r2[] = { ID(1, 2), ID(2, 2) };
    op d = edit_op(ID(1, 3), 1002, "alice", r2, 2);
    cr_assert_eq(msg_apply_edit(&m, &d), 0);
    assert_ids(&m.heads, (op_id[]){ ID(1, 3) }, 1, "heads after d");
    cr_assert_eq(msg_conflict(&m), 0);
    assert_best(&m, ID(1, 3), 1002);
    cr_assert_eq(m.edits.n, 4);
    msg_free(&m);
}

Test(message, three_way_conflict)
{
    msg_state m;
    init_alice(&m);
    for (uint64_t r = 1; r <= 3; r++) {
        op e = edit_op(ID(r, 5), 1000 + r, "alice", NULL, 0);
        cr_assert_eq(msg_apply_edit(&m, &e), 0);
    }
    cr_assert_eq(m.heads.n, 3);
    cr_assert_eq(msg_conflict(&m), 1);
    op_id all[] = { ID(1, 5), ID(2, 5), ID(3, 5) };
    op r = edit_op(ID(1, 6), 2000, "alice", all, 3);
    cr_assert_eq(msg_apply_edit(&m, &r), 0);
    assert_ids(&m.heads, (op_id[]){ ID(1, 6) }, 1, "heads");
    cr_assert_eq(msg_conflict(&m), 0);
    msg_free(&m);
}

Test(message, edit_by_non_author_is_ignored_but_recorded)
{
    msg_state m;
    init_alice(&m);
    op bad = edit_op(ID(2, 1), 5000, "bob", NULL, 0);
    cr_assert_eq(msg_apply_edit(&m, &bad), 0);
    cr_assert_eq(m.edited, 0);
    cr_assert_eq(m.has_best, 0);
    cr_assert_eq(m.heads.n, 0);
    assert_ids(&m.edits, (op_id[]){ ID(2, 1) }, 1, "edits");   /* for erasure */

    /* After a valid edit, a later invalid one does not win or add a head. */
    op good = edit_op(ID(1, 2), 1000, "alice", NULL, 0);
    cr_assert_eq(msg_apply_edit(&m, &good), 0);
    op_id refs[] = { ID(1, 2) };
    op bad2 = edit_op(ID(2, 2), 9000, "bob", refs, 1);   /* even "replacing" it */
    cr_assert_eq(msg_apply_edit(&m, &bad2), 0);
    assert_best(&m, ID(1, 2), 1000);
    assert_ids(&m.heads, (op_id[]){ ID(1, 2) }, 1, "heads");
    assert_ids(&m.edits, (op_id[]){ ID(2, 1), ID(1, 2), ID(2, 2) }, 3, "edits");
    cr_assert_eq(m.edited, 1);
    cr_assert_eq(msg_conflict(&m), 0);
    msg_free(&m);
}

Test(message, duplicate_edit_is_idempotent)
{
    msg_state m;
    init_alice(&m);
    op a = edit_op(ID(1, 2), 1000, "alice", NULL, 0);
    cr_assert_eq(msg_apply_edit(&m, &a), 0);
    cr_assert_eq(msg_apply_edit(&m, &a), 0);
    cr_assert_eq(m.heads.n, 1);
    cr_assert_eq(m.edits.n, 1);
    cr_assert_eq(msg_conflict(&m), 0);
    msg_free(&m);
}

/* ---- deletes ----------------------------------------------------------- */

Test(message, delete_by_author)
{
    msg_state m;
    init_alice(&m);
    op r = react_op(ID(2, 1), "bob", "+1");
    cr_assert_eq(msg_apply_react(&m, &r), 0);
    cr_assert_eq(m.n_reactions, 1);
    op d = delete_op(ID(1, 2), 1000, "alice");
    cr_assert_eq(msg_apply_delete(&m, &d), 1);
    cr_assert_eq(m.deleted, 1);
    cr_assert_eq(m.n_reactions, 0);
    cr_assert_null(m.reactions);
    cr_assert_eq(live_reaction(&m, "+1", "bob"), 0);
    /* Twice: nothing new. */
    cr_assert_eq(msg_apply_delete(&m, &d), 0);
    op d2 = delete_op(ID(3, 1), 1001, "alice");   /* another device */
    cr_assert_eq(msg_apply_delete(&m, &d2), 0);
    cr_assert_eq(m.deleted, 1);
    msg_free(&m);
}

Test(message, delete_by_non_author_is_ignored)
{
    msg_state m;
    init_alice(&m);
    op r = react_op(ID(2, 1), "bob", "+1");
    cr_assert_eq(msg_apply_react(&m, &r), 0);
    op d = delete_op(ID(2, 2), 1000, "bob");
    cr_assert_eq(msg_apply_delete(&m, &d), 0);
    cr_assert_eq(m.deleted, 0);
    cr_assert_eq(m.n_reactions, 1);
    cr_assert_eq(live_reaction(&m, "+1", "bob"), 1);
    /* The author can still delete it afterwards. */
    op d2 = delete_op(ID(1, 2), 1001, "alice");
    cr_assert_eq(msg_apply_delete(&m, &d2), 1);
    cr_assert_eq(m.deleted, 1);
    msg_free(&m);
}

Test(message, no_conflict_once_deleted)
{
    msg_state m;
    init_alice(&m);
    op a = edit_op(ID(1, 2), 1000, "alice", NULL, 0);
    op b = edit_op(ID(2, 1), 1000, "alice", NULL, 0);
    cr_assert_eq(msg_apply_edit(&m, &a), 0);
    cr_assert_eq(msg_apply_edit(&m, &b), 0);
    cr_assert_eq(msg_conflict(&m), 1);
    op d = delete_op(ID(1, 3), 1001, "alice");
    cr_assert_eq(msg_apply_delete(&m, &d), 1);
    cr_assert_eq(msg_conflict(&m), 0);
    /* A concurrent edit arriving after the delete does not bring it back. */
    op c = edit_op(ID(3, 1), 900, "alice", NULL, 0);
    cr_assert_eq(msg_apply_edit(&m, &c), 0);
    cr_assert_eq(m.deleted, 1);
    cr_assert_eq(msg_conflict(&m), 0);
    cr_assert(ids_contains(&m.edits, ID(3, 1)));   /* still known, for erasure */
    msg_free(&m);
}

/* Delete wins over every edit, whatever the order. */
Test(message, delete_wins_in_any_order)
{
    for (int order = 0; order < 2; order++) {
        msg_state m;
        init_alice(&m);
        op e = edit_op(ID(2, 1), 5000, "alice", NULL, 0);
        op d = delete_op(ID(1, 2), 1000, "alice");
        if (order) {
            cr_assert_eq(msg_apply_delete(&m, &d), 1);
            cr_assert_eq(msg_apply_edit(&m, &e), 0);
        } else {
            cr_assert_eq(msg_apply_edit(&m, &e), 0);
            cr_assert_eq(msg_apply_delete(&m, &d), 1);
        }
        cr_assert_eq(m.deleted, 1, "order %d", order);
        cr_assert(ids_contains(&m.edits, ID(2, 1)));
        msg_free(&m);
    }
}

/* ---- reactions ------------------------------------------------------- */

Test(message, react_then_find)
{
    msg_state m;
    init_alice(&m);
    op r = react_op(ID(2, 1), "bob", "+1");
    cr_assert_eq(msg_apply_react(&m, &r), 0);
    const reaction *x = msg_reaction_find(&m, (const uint8_t *)"+1", 2,
                                          (const uint8_t *)"bob", 3);
    cr_assert_not_null(x);
    cr_assert_eq(x->key_len, 2);
    cr_assert_arr_eq(x->key, "+1", 2);
    cr_assert_eq(x->user_len, 3);
    cr_assert_arr_eq(x->user, "bob", 3);
    assert_ids(&x->live, (op_id[]){ ID(2, 1) }, 1, "live");
    /* Near misses are not found. */
    cr_assert_eq(live_reaction(&m, "+1", "bo"), 0);
    cr_assert_eq(live_reaction(&m, "+1", "bobb"), 0);
    cr_assert_eq(live_reaction(&m, "+", "bob"), 0);
    cr_assert_eq(live_reaction(&m, "+1", "alice"), 0);
    cr_assert_eq(live_reaction(&m, "-1", "bob"), 0);
    /* A second react of the same (key, user) joins the same entry. */
    op r2 = react_op(ID(3, 1), "bob", "+1");
    cr_assert_eq(msg_apply_react(&m, &r2), 0);
    cr_assert_eq(m.n_reactions, 1);
    assert_ids(&m.reactions[0].live, (op_id[]){ ID(2, 1), ID(3, 1) }, 2, "live");
    /* Duplicate delivery changes nothing. */
    cr_assert_eq(msg_apply_react(&m, &r2), 0);
    cr_assert_eq(m.reactions[0].live.n, 2);
    msg_free(&m);
}

Test(message, unreact_observing_removes)
{
    msg_state m;
    init_alice(&m);
    op r = react_op(ID(2, 1), "bob", "+1");
    cr_assert_eq(msg_apply_react(&m, &r), 0);
    op_id seen[] = { ID(2, 1) };
    op u = unreact_op(ID(2, 2), "bob", "+1", seen, 1);
    cr_assert_eq(msg_apply_unreact(&m, &u), 0);
    cr_assert_eq(live_reaction(&m, "+1", "bob"), 0);
    cr_assert_eq(m.n_reactions, 0);
    /* Reacting again after that is live again. */
    op r3 = react_op(ID(2, 3), "bob", "+1");
    cr_assert_eq(msg_apply_react(&m, &r3), 0);
    cr_assert_eq(live_reaction(&m, "+1", "bob"), 1);
    /* An unreact that observed nothing (empty refs) removes nothing. */
    op u0 = unreact_op(ID(2, 4), "bob", "+1", NULL, 0);
    cr_assert_eq(msg_apply_unreact(&m, &u0), 0);
    cr_assert_eq(live_reaction(&m, "+1", "bob"), 1);
    msg_free(&m);
}

/* Add-wins: a react the unreact did not observe survives it, whichever
 * arrives first. */
Test(message, concurrent_react_survives_unreact)
{
    for (int order = 0; order < 2; order++) {
        msg_state m;
        init_alice(&m);
        op r1 = react_op(ID(2, 1), "bob", "+1");      /* bob's phone */
        op r2 = react_op(ID(3, 1), "bob", "+1");      /* bob's laptop, concurrent */
        op_id seen[] = { ID(2, 1) };
        op u = unreact_op(ID(2, 2), "bob", "+1", seen, 1);
        cr_assert_eq(msg_apply_react(&m, &r1), 0);
        if (order) {
            cr_assert_eq(msg_apply_react(&m, &r2), 0);
            cr_assert_eq(msg_apply_unreact(&m, &u), 0);
        } else {
            cr_assert_eq(msg_apply_unreact(&m, &u), 0);
            cr_assert_eq(live_reaction(&m, "+1", "bob"), 0);
            cr_assert_eq(msg_apply_react(&m, &r2), 0);
        }
        cr_assert_eq(live_reaction(&m, "+1", "bob"), 1, "order %d", order);
        cr_assert_eq(m.n_reactions, 1);
        assert_ids(&m.reactions[0].live, (op_id[]){ ID(3, 1) }, 1, "live");
        msg_free(&m);
    }
}

/* An unreact only affects its own user's reaction with its own key, even if
 * its refs name other reacts. */
Test(message, unreact_refs_cannot_touch_others)
{
    msg_state m;
    init_alice(&m);
    op rb = react_op(ID(2, 1), "bob", "+1");
    op rc = react_op(ID(4, 1), "carol", "+1");
    op rb2 = react_op(ID(2, 2), "bob", "heart");
    cr_assert_eq(msg_apply_react(&m, &rb), 0);
    cr_assert_eq(msg_apply_react(&m, &rc), 0);
    cr_assert_eq(msg_apply_react(&m, &rb2), 0);
    /* Carol's unreact of +1 names bob's reacts as well as her own. */
    op_id refs[] = { ID(2, 1), ID(2, 2), ID(4, 1) };
    op u = unreact_op(ID(4, 2), "carol", "+1", refs, 3);
    cr_assert_eq(msg_apply_unreact(&m, &u), 0);
    cr_assert_eq(live_reaction(&m, "+1", "carol"), 0);
    cr_assert_eq(live_reaction(&m, "+1", "bob"), 1);
    cr_assert_eq(live_reaction(&m, "heart", "bob"), 1);
    /* Carol's unreact naming only bob's ids, while she has no live +1. */
    op_id refs2[] = { ID(2, 1) };
    op u2 = unreact_op(ID(4, 3), "carol", "+1", refs2, 1);
    cr_assert_eq(msg_apply_unreact(&m, &u2), 0);
    cr_assert_eq(live_reaction(&m, "+1", "bob"), 1);
    /* Bob's unreact of "heart" naming his +1 react leaves +1. */
    op_id refs3[] = { ID(2, 1) };
    op u3 = unreact_op(ID(2, 3), "bob", "heart", refs3, 1);
    cr_assert_eq(msg_apply_unreact(&m, &u3), 0);
    cr_assert_eq(live_reaction(&m, "+1", "bob"), 1);
    cr_assert_eq(live_reaction(&m, "heart", "bob"), 1);
    cr_assert_eq(m.n_reactions, 2);
    assert_reactions_sorted(&m);
    msg_free(&m);
}

Test(message, reactions_after_delete_are_ignored)
{
    msg_state m;
    init_alice(&m);
    op d = delete_op(ID(1, 2), 1000, "alice");
    cr_assert_eq(msg_apply_delete(&m, &d), 1);
    op r = react_op(ID(2, 1), "bob", "+1");
    cr_assert_eq(msg_apply_react(&m, &r), 0);
    cr_assert_eq(m.n_reactions, 0);
    cr_assert_eq(live_reaction(&m, "+1", "bob"), 0);
    op_id seen[] = { ID(2, 1) };
    op u = unreact_op(ID(2, 2), "bob", "+1", seen, 1);
    cr_assert_eq(msg_apply_unreact(&m, &u), 0);
    cr_assert_eq(m.n_reactions, 0);
    msg_free(&m);
}

Test(message, reactions_sorted_bytewise)
{
    msg_state m;
    init_alice(&m);
    /* Keys with shared prefixes, a byte >= 0x80 (must sort after ASCII:
     * unsigned comparison), users with shared prefixes. */
    static const char *const keys[] = { "b", "\xf0\x9f\x91\x8d", "+1", "a", "ab", "a" };
    static const char *const users[] = { "bob", "al", "alice", "carol", "al", "alice" };
    static const char *const want_key[] = { "+1", "a", "a", "ab", "b", "\xf0\x9f\x91\x8d" };
    static const char *const want_user[] = { "alice", "alice", "carol", "al", "bob", "al" };
    for (uint64_t i = 0; i < 6; i++) {
        op r = react_op(ID(10 + i, 1), users[i], keys[i]);
        cr_assert_eq(msg_apply_react(&m, &r), 0);
        assert_reactions_sorted(&m);
    }
    cr_assert_eq(m.n_reactions, 6);
    for (size_t i = 0; i < 6; i++) {
        const reaction *x = &m.reactions[i];
        cr_assert_eq(x->key_len, strlen(want_key[i]), "entry %zu key", i);
        cr_assert_arr_eq(x->key, want_key[i], x->key_len, "entry %zu key", i);
        cr_assert_eq(x->user_len, strlen(want_user[i]), "entry %zu user", i);
        cr_assert_arr_eq(x->user, want_user[i], x->user_len, "entry %zu user", i);
    }
    /* Removing a middle entry keeps the order and the others findable. */
    op_id seen[] = { ID(13, 1) };   /* carol's "a" */
    op u = unreact_op(ID(13, 2), "carol", "a", seen, 1);
    cr_assert_eq(msg_apply_unreact(&m, &u), 0);
    cr_assert_eq(m.n_reactions, 5);
    assert_reactions_sorted(&m);
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(live_reaction(&m, want_key[i], want_user[i]), i != 2, "entry %zu", i);
    msg_free(&m);
}

/* Random react/unreact histories against a reference model of add-wins:
 * live(user, key) = reacts delivered minus reacts observed by a delivered
 * unreact of that user and key. Every op is generated by a replica that has
 * seen everything before it (a single causal chain), plus concurrent reacts
 * the unreacts never observe. */
Test(message, random_reactions_against_model)
{
    enum { USERS = 3, KEYS = 3, STEPS = 400, MAXR = 2 * STEPS };
    static const char *const users[USERS] = { "bob", "carol", "al" };
    static const char *const keys[KEYS] = { "+1", "a", "\xe2\x9d\xa4" };
    uint64_t seed = test_seed("message/random_reactions_against_model");
    rng g;
    rng_seed(&g, seed);
    struct { op_id id; int user, key, live; } reacts[MAXR];
    size_t nr = 0;
    msg_state m;
    init_alice(&m);
    uint64_t seq[USERS] = { 0 };
    for (int step = 0; step < STEPS; step++) {
        int u = (int)rng_below(&g, USERS), k = (int)rng_below(&g, KEYS);
        if (rng_chance(&g, 60)) {
            /* User u's replica is 10 + u; a few go through a second device
             * (20 + u) to make concurrent reacts. */
            uint64_t rep = rng_chance(&g, 20) ? 20 + (uint64_t)u : 10 + (uint64_t)u;
            op_id id = ID(rep, ++seq[u]);
            op r = react_op(id, users[u], keys[k]);
            cr_assert_eq(msg_apply_react(&m, &r), 0);
            reacts[nr].id = id;
            reacts[nr].user = u;
            reacts[nr].key = k;
            reacts[nr].live = 1;
            nr++;
        } else {
            /* An unreact observes the live reacts of (u, k), and sometimes
             * also names reacts of other users or keys (a faulty peer). */
            op_id refs[MAXR];
            size_t n = 0;
            for (size_t i = 0; i < nr; i++) {
                int mine = reacts[i].user == u && reacts[i].key == k;
                if ((mine && reacts[i].live) || (!mine && rng_chance(&g, 5)))
                    refs[n++] = reacts[i].id;
            }
            op x = unreact_op(ID(10 + (uint64_t)u, ++seq[u]), users[u], keys[k], refs, n);
            cr_assert_eq(msg_apply_unreact(&m, &x), 0);
            for (size_t i = 0; i < nr; i++)
                if (reacts[i].user == u && reacts[i].key == k)
                    reacts[i].live = 0;
        }
        assert_reactions_sorted(&m);
        size_t entries = 0;
        for (int uu = 0; uu < USERS; uu++)
            for (int kk = 0; kk < KEYS; kk++) {
                size_t want = 0;
                for (size_t i = 0; i < nr; i++)
                    want += reacts[i].user == uu && reacts[i].key == kk && reacts[i].live;
                const reaction *x = msg_reaction_find(
                    &m, (const uint8_t *)keys[kk], strlen(keys[kk]),
                    (const uint8_t *)users[uu], strlen(users[uu]));
                size_t got = x ? x->live.n : 0;
                cr_assert_eq(got, want, "seed %llu step %d: %s/%s has %zu live reacts, want %zu",
                             (unsigned long long)seed, step, users[uu], keys[kk], got, want);
                entries += want > 0;
            }
        cr_assert_eq(m.n_reactions, entries, "seed %llu step %d", (unsigned long long)seed, step);
    }
    msg_free(&m);
}

/* Concurrent edits applied in every order give the same state. */
Test(message, concurrent_edits_commute)
{
    op_id r3[] = { ID(1, 2) };
    op e[4] = {
        edit_op(ID(1, 2), 1000, "alice", NULL, 0),
        edit_op(ID(2, 1), 1000, "alice", NULL, 0),
        edit_op(ID(3, 1), 999, "alice", NULL, 0),
        edit_op(ID(1, 3), 1001, "alice", r3, 1),   /* after e[0] */
    };
    /* All orders of the 4 in which e[0] precedes e[3] (causal delivery). */
    int runs = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 4; c++)
                for (int d = 0; d < 4; d++) {
                    int p[4] = { a, b, c, d };
                    int seen = 0, ok = 1, pos0 = -1, pos3 = -1;
                    for (int i = 0; i < 4; i++) {
                        if (seen & (1 << p[i]))
                            ok = 0;
                        seen |= 1 << p[i];
                        if (p[i] == 0)
                            pos0 = i;
                        if (p[i] == 3)
                            pos3 = i;
                    }
                    if (!ok || pos3 < pos0)
                        continue;
                    msg_state m;
                    init_alice(&m);
                    for (int i = 0; i < 4; i++)
                        cr_assert_eq(msg_apply_edit(&m, &e[p[i]]), 0);
                    assert_best(&m, ID(1, 3), 1001);
                    assert_ids(&m.heads, (op_id[]){ ID(1, 3), ID(2, 1), ID(3, 1) }, 3, "heads");
                    cr_assert_eq(m.edits.n, 4);
                    cr_assert_eq(msg_conflict(&m), 1);
                    msg_free(&m);
                    runs++;
                }
    cr_assert_eq(runs, 12);
}

/* ---- the shown edit ------------------------------------------------------ */

/* Asserts msg_shown_edit shows edit `id`. */
static void assert_shown(const msg_state *m, op_id id)
{
    op_id got = ID(0, 0);
    cr_assert_eq(msg_shown_edit(m, &got), 1, "no edit shown, want %llu.%llu",
                 (unsigned long long)id.replica, (unsigned long long)id.seq);
    cr_assert(op_id_cmp(got, id) == 0, "shown %llu.%llu, want %llu.%llu",
              (unsigned long long)got.replica, (unsigned long long)got.seq,
              (unsigned long long)id.replica, (unsigned long long)id.seq);
}

static void assert_shows_send(const msg_state *m)
{
    op_id got = ID(0, 0);
    cr_assert_eq(msg_shown_edit(m, &got), 0, "edit %llu.%llu shown, want the send's text",
                 (unsigned long long)got.replica, (unsigned long long)got.seq);
}

/* No edit: the send's text; after edits: the one with the greatest (hlc,
 * replica, seq), whatever the order they came in. */
Test(message, shown_edit_is_the_best)
{
    msg_state m;
    init_alice(&m);
    assert_shows_send(&m);
    op e1 = edit_op(ID(1, 2), 1000, "alice", NULL, 0);
    cr_assert_eq(msg_apply_edit(&m, &e1), 0);
    assert_shown(&m, ID(1, 2));
    /* Concurrent edits, the greatest applied first: hlc decides, then the
     * replica, then the seq. */
    op_id r1[] = { ID(1, 2) };
    op e2 = edit_op(ID(2, 5), 2000, "alice", r1, 1);
    op e3 = edit_op(ID(3, 1), 1999, "alice", r1, 1);   /* lower hlc, greater replica */
    op e4 = edit_op(ID(2, 4), 2000, "alice", r1, 1);   /* same hlc and replica, lower seq */
    op e5 = edit_op(ID(1, 9), 2000, "alice", r1, 1);   /* same hlc, lower replica */
    cr_assert_eq(msg_apply_edit(&m, &e2), 0);
    cr_assert_eq(msg_apply_edit(&m, &e3), 0);
    cr_assert_eq(msg_apply_edit(&m, &e4), 0);
    cr_assert_eq(msg_apply_edit(&m, &e5), 0);
    assert_shown(&m, ID(2, 5));
    /* A later one takes over. */
    op_id r2[] = { ID(2, 5), ID(3, 1), ID(2, 4), ID(1, 9) };
    op e6 = edit_op(ID(1, 10), 2001, "alice", r2, 4);
    cr_assert_eq(msg_apply_edit(&m, &e6), 0);
    assert_shown(&m, ID(1, 10));
    msg_free(&m);

    /* The same concurrent edits, the greatest last. */
    init_alice(&m);
    cr_assert_eq(msg_apply_edit(&m, &e1), 0);
    cr_assert_eq(msg_apply_edit(&m, &e5), 0);
    assert_shown(&m, ID(1, 9));
    cr_assert_eq(msg_apply_edit(&m, &e3), 0);
    assert_shown(&m, ID(1, 9));
    cr_assert_eq(msg_apply_edit(&m, &e4), 0);
    assert_shown(&m, ID(2, 4));
    cr_assert_eq(msg_apply_edit(&m, &e2), 0);
    assert_shown(&m, ID(2, 5));
    msg_free(&m);
}

/* A deleted message shows no edit, before or after further edits. */
Test(message, shown_edit_none_after_delete)
{
    msg_state m;
    init_alice(&m);
    op e = edit_op(ID(1, 2), 1000, "alice", NULL, 0);
    cr_assert_eq(msg_apply_edit(&m, &e), 0);
    assert_shown(&m, ID(1, 2));
    /* A delete by someone else changes nothing. */
    op bad = delete_op(ID(2, 1), 1001, "bob");
    cr_assert_eq(msg_apply_delete(&m, &bad), 0);
    assert_shown(&m, ID(1, 2));
    op d = delete_op(ID(1, 3), 1002, "alice");
    cr_assert_eq(msg_apply_delete(&m, &d), 1);
    assert_shows_send(&m);
    op late = edit_op(ID(3, 1), 5000, "alice", NULL, 0);
    cr_assert_eq(msg_apply_edit(&m, &late), 0);
    assert_shows_send(&m);
    msg_free(&m);
}

/* Edits by others than the author are never shown. */
Test(message, shown_edit_ignores_non_author)
{
    msg_state m;
    init_alice(&m);
    op bad = edit_op(ID(2, 1), 5000, "bob", NULL, 0);
    cr_assert_eq(msg_apply_edit(&m, &bad), 0);
    assert_shows_send(&m);
    op good = edit_op(ID(1, 2), 1000, "alice", NULL, 0);
    cr_assert_eq(msg_apply_edit(&m, &good), 0);
    assert_shown(&m, ID(1, 2));
    op_id refs[] = { ID(1, 2) };
    op bad2 = edit_op(ID(9, 9), 9000, "alicee", refs, 1);
    cr_assert_eq(msg_apply_edit(&m, &bad2), 0);
    assert_shown(&m, ID(1, 2));
    msg_free(&m);
}

/* ---- refs applied again after a replay out of causal order --------------- */

/* An edit applied before the edit it replaced leaves that one a head; the
 * refs applied once more remove it, as delivery in causal order would. */
Test(message, refs_again_remove_a_head_replaced_out_of_order)
{
    msg_state m;
    init_alice(&m);
    op e1 = edit_op(ID(1, 2), 700, "alice", NULL, 0);
    op_id r2[] = { ID(1, 2) };
    op e2 = edit_op(ID(1, 3), 600, "alice", r2, 1);   /* replaces e1, lower hlc */
    cr_assert_eq(msg_apply_edit(&m, &e2), 0);
    cr_assert_eq(msg_apply_edit(&m, &e1), 0);
    assert_ids(&m.heads, (op_id[]){ ID(1, 2), ID(1, 3) }, 2, "heads in that order");
    cr_assert_eq(msg_apply_refs(&m, &e1), 0);
    cr_assert_eq(msg_apply_refs(&m, &e2), 0);
    assert_ids(&m.heads, (op_id[]){ ID(1, 3) }, 1, "heads after the refs again");
    assert_best(&m, ID(1, 2), 700);
    /* A non-author's refs still remove nothing. */
    op_id r3[] = { ID(1, 3) };
    op mallory = edit_op(ID(3, 1), 800, "mallory", r3, 1);
    cr_assert_eq(msg_apply_refs(&m, &mallory), 0);
    assert_ids(&m.heads, (op_id[]){ ID(1, 3) }, 1, "heads after a non-author's refs");
    msg_free(&m);
}

/* An unreact applied before the react it observed leaves it live; applied
 * again it removes it. A react it did not observe stays. */
Test(message, refs_again_remove_a_react_observed_out_of_order)
{
    msg_state m;
    init_alice(&m);
    op_id seen[] = { ID(2, 1) };
    op u = unreact_op(ID(2, 2), "bob", "+1", seen, 1);
    op r = react_op(ID(2, 1), "bob", "+1");
    op other = react_op(ID(2, 3), "bob", "+1");
    cr_assert_eq(msg_apply_unreact(&m, &u), 0);
    cr_assert_eq(msg_apply_react(&m, &r), 0);
    cr_assert_eq(msg_apply_react(&m, &other), 0);
    cr_assert_eq(msg_apply_refs(&m, &r), 0);
    cr_assert_eq(msg_apply_refs(&m, &u), 0);
    const reaction *x = msg_reaction_find(&m, (const uint8_t *)"+1", 2, (const uint8_t *)"bob", 3);
    cr_assert_not_null(x);
    assert_ids(&x->live, (op_id[]){ ID(2, 3) }, 1, "live reacts");
    msg_free(&m);
}
