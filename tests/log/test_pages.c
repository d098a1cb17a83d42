/* LMDB's pages checked at open (log/pages.c): damage to a page's structure
 * (a node's offset, flags or value size; a branch's child) is refused by
 * store_open, before LMDB reads it. Without the check LMDB reads garbage as
 * a node: it crashes (SIGSEGV in its DUPSORT code, an aborting assertion),
 * or hands out a value running past the file. Each open runs in a child. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log/keys.h"
#include "log/store.h"
#include "msglog.h"
#include "support/child.h"
#include "support/damage.h"
#include "support/tlog.h"
#include "support/tmpdir.h"

#define MAP_SIZE ((size_t)64 << 20)
#define PSIZE 4096
#define SV(p, n) ((store_val){ (p), (n) })

static char *root, *dbpath;

static void setup(void)
{
    tlog_dirs("msglog-pages-", &root, &dbpath);
}

static void teardown(void)
{
    tlog_dirs_remove(&root, &dbpath);
}

TestSuite(pages, .init = setup, .fini = teardown);

/* Ops records 1.1 .. 1.n of conversation 1, 100 bytes each: several leaves
 * under a branch when n is large. */
static void write_ops(int n)
{
    store *s;
    TLOG_OK(store_open(&s, dbpath, &(store_config){ .map_size = MAP_SIZE, .create = 1 }, NULL));
    store_txn *t;
    TLOG_OK(store_txn_begin(s, 1, &t));
    uint8_t k[KEY_OP_LEN], v[100];
    for (int i = 1; i <= n; i++) {
        key_op(k, 1, (op_id){ 1, (uint64_t)i });
        memset(v, i, sizeof v);
        TLOG_OK(store_put(t, TBL_OPS, SV(k, sizeof k), SV(v, sizeof v)));
    }
    TLOG_OK(store_txn_commit(t));
    store_close(s);
}

/* Opens the store and reads every ops record: the open's code, its
 * message in msg. */
static int open_and_walk(void *ctx, void *msg, size_t len)
{
    (void)ctx;
    (void)len;
    store *s;
    int rc = store_open(&s, dbpath, &(store_config){ .map_size = MAP_SIZE, .create = 0 }, msg);
    if (rc)
        return rc;
    store_txn *t;
    store_cursor *c;
    store_val k, v;
    TLOG_OK(store_txn_begin(s, 0, &t));
    TLOG_OK(store_cursor_open(t, TBL_OPS, &c));
    for (rc = store_cursor_first(c, &k, &v); rc == MSGLOG_OK || rc == MSGLOG_ECORRUPT;)
        rc = store_cursor_next(c, &k, &v);
    store_cursor_close(c);
    store_txn_abort(t);
    store_close(s);
    return MSGLOG_OK;
}

/* The open refuses the store with a message holding `want`, and does not
 * crash. */
static void assert_refused(const char *want)
{
    char why[STORE_WHY_MAX];
    int sig;
    int rc = child_run(open_and_walk, NULL, why, sizeof why, 30, &sig);
    cr_assert_eq(sig, 0, "the open was killed by signal %d", sig);
    cr_assert_eq(rc, MSGLOG_ECORRUPT, "the damaged store opened");
    cr_assert(strstr(why, want) != NULL, "'%s' does not say '%s'", why, want);
}

/* The file offset of the node whose key is that of ops record 1.seq, in a
 * page of kind `flags` (P_LEAF 2, P_BRANCH 1), and the file. */
static uint64_t node_of(uint64_t seq, int flags, uint8_t **file)
{
    char *path = tmpdir_join(dbpath, "data.mdb");
    size_t n;
    cr_assert_eq(tmpdir_read_file(path, (void **)file, &n), 0);
    free(path);
    uint8_t k[KEY_OP_LEN];
    key_op(k, 1, (op_id){ 1, seq });
    for (size_t at = 8; at + sizeof k <= n; at++)
        if (memcmp(*file + at, k, sizeof k) == 0 && (*file)[at / PSIZE * PSIZE + 10] == flags &&
            (*file)[at - 2] == KEY_OP_LEN)
            return at - 8;   /* lo, hi, flags, key size, then the key */
    cr_assert_fail("no node of record 1.%llu in a page of kind %d", (unsigned long long)seq, flags);
    return 0;
}

Test(pages, a_sound_store_opens)
{
    write_ops(400);
    char why[STORE_WHY_MAX];
    int sig;
    cr_assert_eq(child_run(open_and_walk, NULL, why, sizeof why, 30, &sig), MSGLOG_OK, "%s", why);
}

/* The value size in the node's header, high bit flipped: 2 GiB. */
Test(pages, a_value_said_to_run_past_its_page_is_refused)
{
    write_ops(3);
    uint8_t *file;
    uint64_t node = node_of(2, 2, &file);
    free(file);
    cr_assert_eq(damage_flip_byte(dbpath, node + 3, 0x80), 0);
    assert_refused("of table ops is damaged (a value lies outside it)");
}

/* DUPSORT's flag on a node of a table without duplicates: LMDB follows it
 * to a cursor the table does not have (a NULL dereference). */
Test(pages, a_node_with_a_flag_our_tables_do_not_use_is_refused)
{
    write_ops(3);
    uint8_t *file;
    uint64_t node = node_of(2, 2, &file);
    free(file);
    cr_assert_eq(damage_flip_byte(dbpath, node + 4, 0x04), 0);   /* F_DUPDATA */
    assert_refused("of table ops is damaged (a node has flags no table of ours uses)");
}

/* A node offset in the page's index moved by 8 bytes: the node read is the
 * middle of another. */
Test(pages, a_node_offset_moved_is_refused)
{
    write_ops(3);
    uint8_t *file;
    uint64_t node = node_of(2, 2, &file);
    uint64_t page = node / PSIZE * PSIZE, ptr = 0;
    for (uint64_t i = page + 16; i < page + PSIZE && !ptr; i += 2)
        if (file[i] + 256u * file[i + 1] == node - page)
            ptr = i;
    free(file);
    cr_assert_neq(ptr, 0, "no offset of the node in its page");
    cr_assert_eq(damage_flip_byte(dbpath, ptr, 0x08), 0);
    assert_refused("of table ops is damaged");
}

/* A branch's child page number with a low bit flipped: another page, one
 * reached twice or of the wrong kind. */
Test(pages, a_child_page_number_damaged_is_refused)
{
    write_ops(400);
    uint8_t *file;
    uint64_t node = 0;
    for (uint64_t seq = 2; seq < 400 && !node; seq++) {   /* a separator key */
        char *path = tmpdir_join(dbpath, "data.mdb");
        uint8_t k[KEY_OP_LEN];
        size_t n;
        key_op(k, 1, (op_id){ 1, seq });
        cr_assert_eq(tmpdir_read_file(path, (void **)&file, &n), 0);
        free(path);
        for (size_t at = 8; at + sizeof k <= n && !node; at++)
            if (memcmp(file + at, k, sizeof k) == 0 && file[at / PSIZE * PSIZE + 10] == 1)
                node = at - 8;
        free(file);
    }
    cr_assert_neq(node, 0, "no branch page: the tree is one leaf");
    cr_assert_eq(damage_flip_byte(dbpath, node, 0x01), 0);   /* the child's number, low bit */
    assert_refused("of table ops is damaged");
}
