/* Framed records (log/frame.c, through log/store.c): every value carries a
 * checksum of its key and payload, checked on every read. Damage is made
 * the way an attacker with file access makes it: bits flipped in data.mdb
 * between two opens. Each test fails without the protection it names: the
 * damaged bytes come back. (Damage to LMDB's own pages: test_pages.c.) */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/checksum.h"
#include "log/keys.h"
#include "log/store.h"
#include "msglog.h"
#include "support/damage.h"
#include "support/tlog.h"
#include "support/tmpdir.h"

#define MAP_SIZE ((size_t)16 << 20)
#define SV(p, n) ((store_val){ (p), (n) })
#define SVS(lit) ((store_val){ (lit), sizeof(lit) - 1 })

static char *root, *dbpath;
static store *s;

static void setup(void)
{
    tlog_dirs("msglog-frame-", &root, &dbpath);
}

static void teardown(void)
{
    store_close(s);
    s = NULL;
    tlog_dirs_remove(&root, &dbpath);
}

TestSuite(frame, .init = setup, .fini = teardown);

static store_txn *begin(int write)
{
    store_txn *t;
    TLOG_OK(store_txn_begin(s, write, &t));
    return t;
}

/* Closes the store, XORs mask into byte `at` of the one copy of needle in
 * the file, and opens the store again. */
static void flip_and_reopen(const void *needle, size_t len, size_t at, uint8_t mask)
{
    store_close(s);
    s = NULL;
    cr_assert_eq(damage_flip_text(dbpath, needle, len, at, mask), 1);
    TLOG_OK(store_open(&s, dbpath, &(store_config){ .map_size = MAP_SIZE, .create = 1 }, NULL));
}

/* The ops key of (cid, replica, seq). */
static store_val op_key(uint8_t k[KEY_OP_LEN], uint32_t cid, uint64_t r, uint64_t seq)
{
    key_op(k, cid, (op_id){ r, seq });
    return SV(k, KEY_OP_LEN);
}

/* Conversation "team" as cid 1, and ops records 5.1, 5.2, 5.3 of it whose
 * values are the texts given. */
static void write_three(const char *v1, const char *v2, const char *v3)
{
    TLOG_OK(store_open(&s, dbpath, &(store_config){ .map_size = MAP_SIZE, .create = 1 }, NULL));
    store_txn *t = begin(1);
    uint8_t cid[4], k[KEY_OP_LEN];
    key_put_u32(cid, 1);
    TLOG_OK(store_put(t, TBL_CONVS, SVS("team"), SV(cid, 4)));
    const char *v[3] = { v1, v2, v3 };
    for (int i = 0; i < 3; i++)
        TLOG_OK(store_put(t, TBL_OPS, op_key(k, 1, 5, (uint64_t)i + 1), SV(v[i], strlen(v[i]))));
    TLOG_OK(store_txn_commit(t));
}

/* A read transaction and a cursor on the first ops record. */
static store_cursor *ops_at_first(store_txn **t, store_val *k, store_val *v)
{
    store_cursor *c;
    *t = begin(0);
    TLOG_OK(store_cursor_open(*t, TBL_OPS, &c));
    TLOG_OK(store_cursor_first(c, k, v));
    return c;
}

Test(frame, a_value_is_its_payload_and_a_checksum_of_key_and_payload)
{
    write_three("one", "two", "three");
    store_txn *t = begin(0);
    uint8_t k[KEY_OP_LEN];
    store_val key = op_key(k, 1, 5, 2), v;
    TLOG_OK(store_get(t, TBL_OPS, key, &v));
    cr_assert_eq(v.len, 3);
    cr_assert_arr_eq(v.data, "two", 3);
    TLOG_OK(store_get_raw(t, TBL_OPS, key, &v));
    cr_assert_eq(v.len, 3 + 8);
    cr_assert_eq(key_get_u64((const uint8_t *)v.data + 3), checksum_record(k, sizeof k, "two", 3));
    store_txn_abort(t);
}

Test(frame, a_flipped_bit_in_a_value_is_found_and_named)
{
    write_three("first value", "the damaged value", "third value");
    flip_and_reopen("damaged", 7, 2, 0x04);
    store_txn *t = begin(0);
    uint8_t k[KEY_OP_LEN];
    store_val v;
    cr_assert_eq(store_get(t, TBL_OPS, op_key(k, 1, 5, 2), &v), MSGLOG_ECORRUPT);
    cr_assert_str_eq(store_damage(s), "ops record 5.2 of conversation team is damaged (checksum)");
    TLOG_OK(store_get(t, TBL_OPS, op_key(k, 1, 5, 1), &v));
    store_txn_abort(t);
    /* A new transaction starts without the old news. */
    t = begin(0);
    cr_assert_str_eq(store_damage(s), "");
    store_txn_abort(t);
}

/* A cursor stays on a damaged record, so a walk can go on past it. */
Test(frame, a_cursor_reports_a_damaged_record_and_steps_past_it)
{
    write_three("first value", "the damaged value", "third value");
    flip_and_reopen("damaged", 7, 0, 0x01);
    store_txn *t;
    store_val k, v;
    store_cursor *c = ops_at_first(&t, &k, &v);
    cr_assert_arr_eq(v.data, "first value", v.len);
    cr_assert_eq(store_cursor_next(c, &k, &v), MSGLOG_ECORRUPT);
    TLOG_OK(store_cursor_next(c, &k, &v));
    cr_assert_arr_eq(v.data, "third value", v.len);
    cr_assert_eq(key_get_u64((const uint8_t *)k.data + 12), 3);
    cr_assert_eq(store_cursor_next(c, &k, &v), MSGLOG_ENOTFOUND);
    store_cursor_close(c);
    store_txn_abort(t);
}

/* The key is covered too: a flipped key bit moves the record elsewhere in
 * the key space, and the walk that meets it there refuses it. */
Test(frame, a_flipped_bit_in_a_key_is_found)
{
    write_three("one", "two", "three");
    uint8_t k[KEY_OP_LEN];
    op_key(k, 1, 5, 3);
    flip_and_reopen(k, sizeof k, KEY_OP_LEN - 1, 0x40);
    store_txn *t;
    store_val key, v;
    store_cursor *c = ops_at_first(&t, &key, &v);
    TLOG_OK(store_cursor_next(c, &key, &v));
    cr_assert_eq(store_cursor_next(c, &key, &v), MSGLOG_ECORRUPT);
    cr_assert_str_eq(store_damage(s),
                     "ops record 5.67 of conversation team is damaged (checksum)");
    store_cursor_close(c);
    store_txn_abort(t);
}

/* Damage in a record of the conversation table itself: the name shown is
 * the conversation's number then. */
Test(frame, a_record_of_an_unnamed_conversation_shows_its_number)
{
    TLOG_OK(store_open(&s, dbpath, &(store_config){ .map_size = MAP_SIZE, .create = 1 }, NULL));
    store_txn *t = begin(1);
    uint8_t k[KEY_OP_LEN];
    TLOG_OK(store_put(t, TBL_OPS, op_key(k, 7, 1, 1), SVS("a value with no name")));
    TLOG_OK(store_txn_commit(t));
    flip_and_reopen("no name", 7, 0, 0x01);
    t = begin(0);
    store_val v;
    cr_assert_eq(store_get(t, TBL_OPS, SV(k, sizeof k), &v), MSGLOG_ECORRUPT);
    cr_assert_str_eq(store_damage(s), "ops record 1.1 of conversation #7 is damaged (checksum)");
    store_txn_abort(t);
}
