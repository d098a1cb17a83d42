/* What evidence of equivocation costs the writes that come after it, counted
 * in LMDB records (docs/reliability.md, "Equivocation"): counts of work do
 * not depend on the machine, so this is a unit test, not a benchmark (the
 * times are bench/equiv.c's).
 *
 * This file defines the LMDB calls the store makes to read and write
 * records (mdb_get, mdb_put, mdb_del, mdb_cursor_get, mdb_cursor_put,
 * mdb_cursor_del) and forwards each to liblmdb (dlsym RTLD_NEXT): the
 * library's objects are linked into this executable, so their calls come
 * here first. A call counts as one record read (a get, a cursor position)
 * or written (a put, a delete), per table; calls LMDB makes to itself are
 * not counted. mdb_dbi_open tells which table a handle is.
 *
 * Two conversations, of SMALL and LARGE messages, each in two stores: one
 * plain, one that has received a second version of a send in the middle.
 * A write that brings no new version must cost the same in both stores and
 * at both sizes: a send, a react on the equivocated message, a received
 * edit of it. The new version itself rewrites the message states it
 * touches, not the conversation's. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dlfcn.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/digest.h"
#include "crdt/equivocation.h"
#include "msglog.h"
#include "support/check.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define T0 1700000000000ULL
#define CONV "c", 1
#define SMALL 100
#define LARGE 1000
#define MAX_DBI 64

/* ---- counting LMDB's record calls -------------------------------------- */

typedef struct counts {
    unsigned long reads, writes, msgs_writes;
} counts;

static counts now;
static int depth;                    /* LMDB calling its own API */
static char dbi_name[MAX_DBI][32];   /* the same numbers in every store */

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

static void count(MDB_dbi dbi, int write)
{
    if (depth != 1)
        return;
    if (!write) {
        now.reads++;
        return;
    }
    now.writes++;
    if (dbi < MAX_DBI && strcmp(dbi_name[dbi], "msgs") == 0)
        now.msgs_writes++;
}

int mdb_dbi_open(MDB_txn *txn, const char *name, unsigned int flags, MDB_dbi *dbi)
{
    int rc = REAL(mdb_dbi_open)(txn, name, flags, dbi);
    if (rc == 0 && name && *dbi < MAX_DBI)
        snprintf(dbi_name[*dbi], sizeof dbi_name[*dbi], "%s", name);
    return rc;
}

#define COUNTED(write, dbi, call)  \
    do {                           \
        depth++;                   \
        count((dbi), (write));     \
        int rc_ = (call);          \
        depth--;                   \
        return rc_;                \
    } while (0)

int mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
    COUNTED(0, dbi, REAL(mdb_get)(txn, dbi, key, data));
}

int mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned int flags)
{
    COUNTED(1, dbi, REAL(mdb_put)(txn, dbi, key, data, flags));
}

int mdb_del(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
    COUNTED(1, dbi, REAL(mdb_del)(txn, dbi, key, data));
}

int mdb_cursor_get(MDB_cursor *cur, MDB_val *key, MDB_val *data, MDB_cursor_op op)
{
    COUNTED(0, mdb_cursor_dbi(cur), REAL(mdb_cursor_get)(cur, key, data, op));
}

int mdb_cursor_put(MDB_cursor *cur, MDB_val *key, MDB_val *data, unsigned int flags)
{
    COUNTED(1, mdb_cursor_dbi(cur), REAL(mdb_cursor_put)(cur, key, data, flags));
}

int mdb_cursor_del(MDB_cursor *cur, unsigned int flags)
{
    COUNTED(1, mdb_cursor_dbi(cur), REAL(mdb_cursor_del)(cur, flags));
}

/* ---- the conversations -------------------------------------------------- */

static char *root;
static tclock clk;

static void setup(void)
{
    root = tmpdir_make_fast("msglog-equivcost-");
    cr_assert_not_null(root);
    clk.now = T0;
}

static void teardown(void)
{
    tmpdir_remove(root);
    free(root);
}

TestSuite(equiv_cost, .init = setup, .fini = teardown);

/* Alice's op (1, seq): a send of `body`, or an edit of `target` with it. */
static msglog_buf alice_op(uint64_t seq, const char *body, const msglog_id *target)
{
    op o = { .kind = target ? OP_EDIT : OP_SEND, .conv = (const uint8_t *)"c", .conv_len = 1,
             .id = { 1, seq }, .hlc = (T0 << 16) + seq, .user = (const uint8_t *)"alice",
             .user_len = 5, .body = (const uint8_t *)body, .body_len = strlen(body) };
    if (target)
        o.target = (op_id){ target->replica, target->seq };
    uint8_t *enc;
    size_t len;
    cr_assert_eq(codec_op_encode(&enc, &len, &o, 0), CODEC_OK);
    return (msglog_buf){ enc, len };
}

/* The content hash of op bytes, as the store compares them. */
static void hash_of(msglog_buf b, uint8_t out[OP_HASH_LEN])
{
    op o;
    cr_assert_eq(codec_op_decode(&o, b.data, b.len), CODEC_OK);
    digest_to_bytes(out, digest_op_content(&o));
    codec_op_clear(&o);
}

/* A second version of alice's send (1, seq), the one that counts (a lower
 * hash than the send's) when `counts`, else one that does not. */
static msglog_buf other_version(uint64_t seq, int counts)
{
    char body[32];
    snprintf(body, sizeof body, "message %llu", (unsigned long long)seq);
    msglog_buf real = alice_op(seq, body, NULL);
    uint8_t real_hash[OP_HASH_LEN], hash[OP_HASH_LEN];
    hash_of(real, real_hash);
    free((void *)real.data);
    for (int i = 0;; i++) {
        snprintf(body, sizeof body, "another text %d", i);
        msglog_buf b = alice_op(seq, body, NULL);
        hash_of(b, hash);
        if (version_counts_over(hash, real_hash) == counts)
            return b;
        free((void *)b.data);
    }
}

/* A store of bob's holding alice's conversation of n messages. */
static msglog *conversation(const char *name, size_t n)
{
    msglog *log;
    CHECK_OK(tstore_open(&log, root, name, 2, "bob", &clk));
    msglog_buf *ops = calloc(n, sizeof *ops);
    cr_assert_not_null(ops);
    char body[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(body, sizeof body, "message %zu", i + 1);
        ops[i] = alice_op(i + 1, body, NULL);
    }
    CHECK_OK(msglog_receive_batch(log, ops, n));
    for (size_t i = 0; i < n; i++)
        free((void *)ops[i].data);
    free(ops);
    return log;
}

/* The counts of what `what` did to the store. */
#define MEASURE(out, what)    \
    do {                      \
        now = (counts){ 0 };  \
        what;                 \
        (out) = now;          \
    } while (0)

/* What each write cost one store. */
typedef struct costs {
    counts other_version, send, react, edit;
} costs;

/* The three writes on a conversation of n messages, after a second version
 * of message n / 2 when `equivocate`: 1, one that does not count; 2, one
 * that does. */
static costs writes_into(size_t n, int equivocate)
{
    char name[32];
    snprintf(name, sizeof name, "%s%d_%zu", equivocate ? "evidence" : "plain", equivocate, n);
    msglog *log = conversation(name, n);
    msglog_id mid = { 1, n / 2 };
    costs c = { 0 };
    if (equivocate) {
        msglog_buf other = other_version(mid.seq, equivocate == 2);
        int rc;
        MEASURE(c.other_version, rc = msglog_receive(log, other.data, other.len));
        cr_assert_eq(rc, MSGLOG_EEQUIVOCAL);
        free((void *)other.data);
    }
    msglog_id id;
    MEASURE(c.send, CHECK_OK(msglog_send(log, &id, CONV, "hi", 2)));
    MEASURE(c.react, CHECK_OK(msglog_react(log, &id, CONV, mid, "ok", 2)));
    msglog_buf edit = alice_op(n + 1, "edited", &mid);
    MEASURE(c.edit, CHECK_OK(msglog_receive(log, edit.data, edit.len)));
    free((void *)edit.data);
    msglog_close(log);
    return c;
}

static void print(const char *what, size_t n, counts p, counts e)
{
    fprintf(stderr, "%-14s %5zu messages: plain %lu reads %lu writes, evidence %lu reads %lu writes "
                    "(%lu message states)\n",
            what, n, p.reads, p.writes, e.reads, e.writes, e.msgs_writes);
}

static void same_cost(const char *what, counts plain_small, counts ev_small, counts plain_large,
                      counts ev_large)
{
    print(what, SMALL, plain_small, ev_small);
    print(what, LARGE, plain_large, ev_large);
    cr_expect_eq(ev_large.reads, ev_small.reads, "%s: records read grow with the conversation", what);
    cr_expect_eq(ev_large.writes, ev_small.writes, "%s: records written grow with the conversation",
                 what);
    cr_expect_eq(ev_small.reads, plain_small.reads, "%s: evidence costs reads", what);
    cr_expect_eq(ev_small.writes, plain_small.writes, "%s: evidence costs writes", what);
}

Test(equiv_cost, writes_after_an_equivocation_cost_what_they_cost_without)
{
    costs ps = writes_into(SMALL, 0), pl = writes_into(LARGE, 0);
    for (int kind = 1; kind <= 2; kind++) {
        fprintf(stderr, "after a version that %s:\n", kind == 2 ? "counts" : "does not count");
        costs es = writes_into(SMALL, kind), el = writes_into(LARGE, kind);
        same_cost("send", ps.send, es.send, pl.send, el.send);
        same_cost("react", ps.react, es.react, pl.react, el.react);
        same_cost("received edit", ps.edit, es.edit, pl.edit, el.edit);
    }
}

/* The version that counts changes: the message states it touches are
 * rewritten (the equivocated message), whatever the conversation's size.
 * Its reads walk the conversation's op records, once (engine/equiv_rebuild.c
 * says why): SMALL + some, LARGE + the same. */
Test(equiv_cost, a_new_version_rewrites_the_messages_it_touches)
{
    for (int kind = 1; kind <= 2; kind++) {
        counts small = writes_into(SMALL, kind).other_version;
        counts large = writes_into(LARGE, kind).other_version;
        fprintf(stderr, "a version that %s: %d messages %lu reads %lu writes (%lu message states); "
                        "%d messages %lu reads %lu writes (%lu message states)\n",
                kind == 2 ? "counts" : "does not count", SMALL, small.reads, small.writes,
                small.msgs_writes, LARGE, large.reads, large.writes, large.msgs_writes);
        cr_expect_eq(large.writes, small.writes,
                     "the new version's records written grow with the conversation");
        cr_expect_leq(small.msgs_writes, 3, "more message states written than it touches");
        if (kind == 1)
            cr_expect_eq(large.reads, small.reads, "a version that does not count reads the conversation");
        else
            cr_expect_leq(large.reads - small.reads, LARGE - SMALL,
                          "more than one walk of the op records");
    }
}
