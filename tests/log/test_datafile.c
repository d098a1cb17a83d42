/* The data file's check before LMDB maps it (log/datafile.c): the file
 * must be as long as its newest meta page says, unless what is missing are
 * free pages LMDB never wrote (log/freelist.c), and the two meta pages must
 * be two successive commits. Without the check a truncated file is SIGBUS
 * at the first read, and a meta page damaged in its txnid makes LMDB open
 * the previous snapshot without a word. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/store.h"
#include "msglog.h"
#include "support/child.h"
#include "support/damage.h"
#include "support/tlog.h"
#include "support/tmpdir.h"

#define MAP_SIZE ((size_t)64 << 20)
#define SV(p, n) ((store_val){ (p), (n) })

static char *root, *dbpath;

static void setup(void)
{
    tlog_dirs("msglog-datafile-", &root, &dbpath);
}

static void teardown(void)
{
    tlog_dirs_remove(&root, &dbpath);
}

TestSuite(datafile, .init = setup, .fini = teardown);

/* A meta page's fields as this test reads them (LMDB 0.9, 64-bit). */
typedef struct meta_page {
    uint64_t last_pg, txnid;
} meta_page;

static uint64_t le64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

static meta_page read_meta(int slot)
{
    char *file = tmpdir_join(dbpath, "data.mdb");
    int fd = open(file, O_RDONLY);
    uint8_t p[152];
    cr_assert_eq(pread(fd, p, sizeof p, (off_t)slot * 4096), (ssize_t)sizeof p);
    close(fd);
    free(file);
    return (meta_page){ le64(p + 136), le64(p + 144) };
}

/* Opens the store and reads every table's first record: the open's code,
 * its message in msg. */
static int open_and_read(void *ctx, void *msg, size_t len)
{
    (void)ctx;
    (void)len;
    store *s;
    int rc = store_open(&s, dbpath, &(store_config){ .map_size = MAP_SIZE, .create = 0 }, msg);
    if (rc != MSGLOG_OK)
        return rc;
    store_txn *t;
    rc = store_txn_begin(s, 0, &t);
    for (int tbl = 0; rc == MSGLOG_OK && tbl < TBL_COUNT; tbl++) {
        store_cursor *c;
        store_val k, v;
        rc = store_cursor_open(t, tbl, &c);
        if (!rc && (rc = store_cursor_first(c, &k, &v)) == MSGLOG_ENOTFOUND)
            rc = MSGLOG_OK;
        store_cursor_close(c);
    }
    store_txn_abort(t);
    store_close(s);
    return rc;
}

/* open_and_read in a child: without the checks a damaged file kills the
 * process, which fails the test here. */
static int open_in_child(char *why)
{
    int sig;
    int rc = child_run(open_and_read, NULL, why, STORE_WHY_MAX, 30, &sig);
    cr_assert_eq(sig, 0, "the open was killed by signal %d", sig);
    return rc;
}

/* A store of many pages: 290 records of 300 bytes in 29 commits, and then
 * one of 20,000 bytes, which grows the file in the last commit. */
static void write_store(void)
{
    store *s;
    TLOG_OK(store_open(&s, dbpath, &(store_config){ .map_size = MAP_SIZE, .create = 1 }, NULL));
    static uint8_t val[20000];
    for (int c = 0; c < 30; c++) {
        store_txn *t;
        TLOG_OK(store_txn_begin(s, 1, &t));
        for (int i = 0; i < (c < 29 ? 10 : 1); i++) {
            uint8_t k[4] = { 0, 0, (uint8_t)c, (uint8_t)i };
            memset(val, c * 10 + i, sizeof val);
            TLOG_OK(store_put(t, TBL_OPS, SV(k, 4), SV(val, c < 29 ? 300 : sizeof val)));
        }
        TLOG_OK(store_txn_commit(t));
    }
    store_close(s);
}

/* The store in `whole` cut to `size` bytes, opened. */
static void assert_truncated(const char *whole, int64_t size)
{
    cr_assert_eq(damage_copy_store(whole, dbpath), 0);
    cr_assert_eq(damage_truncate(dbpath, (uint64_t)size), 0);
    char why[STORE_WHY_MAX], want[64];
    cr_assert_eq(open_in_child(why), MSGLOG_ECORRUPT, "size %lld opened", (long long)size);
    snprintf(want, sizeof want, "data.mdb is truncated: %lld bytes, ", (long long)size);
    cr_assert(strncmp(why, want, strlen(want)) == 0, "size %lld: '%s'", (long long)size, why);
}

/* Every page boundary below the real size, the middle of every page, and
 * the edges of the meta pages. */
Test(datafile, a_truncated_file_is_refused_at_every_size)
{
    write_store();
    int64_t real = damage_file_size(dbpath);
    cr_assert_gt(real, 10 * 4096);
    char *copy = tmpdir_join(root, "whole");
    cr_assert_eq(damage_copy_store(dbpath, copy), 0);
    for (int64_t size = 0; size < real; size += 2048)
        assert_truncated(copy, size);
    const int64_t edges[] = { 1, 151, 152, 4095, 4097, 4096 + 151, 4096 + 152, 8191, 8193 };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        assert_truncated(copy, edges[i]);
    assert_truncated(copy, real - 1);
    cr_assert_eq(damage_copy_store(copy, dbpath), 0);
    char why[STORE_WHY_MAX];
    TLOG_OK(open_in_child(why));
    free(copy);
}

/* LMDB's own short files: a value put at the end of the file and deleted
 * in the same transaction, while the free list is in use, leaves its pages
 * free and never written. Such a file is whole. */
Test(datafile, a_file_short_of_free_pages_only_opens)
{
    store *s;
    TLOG_OK(store_open(&s, dbpath, &(store_config){ .map_size = MAP_SIZE, .create = 1 }, NULL));
    store_txn *t;
    static uint8_t big[3 << 20];
    TLOG_OK(store_txn_begin(s, 1, &t));
    for (int i = 0; i < 2000; i++) {
        uint8_t k[4] = { 0, 0, (uint8_t)(i >> 8), (uint8_t)i };
        TLOG_OK(store_put(t, TBL_OPS, SV(k, 4), SV(big, 100)));
    }
    TLOG_OK(store_txn_commit(t));
    for (int round = 0; round < 3; round++) {   /* free pages, then let them age */
        TLOG_OK(store_txn_begin(s, 1, &t));
        for (int i = round * 500; i < round * 500 + 500; i++) {
            uint8_t k[4] = { 0, 0, (uint8_t)(i >> 8), (uint8_t)i };
            TLOG_OK(store_del(t, TBL_OPS, SV(k, 4)));
        }
        TLOG_OK(store_txn_commit(t));
    }
    TLOG_OK(store_txn_begin(s, 1, &t));
    TLOG_OK(store_put(t, TBL_OPS, SV("big", 3), SV(big, sizeof big)));
    TLOG_OK(store_del(t, TBL_OPS, SV("big", 3)));
    TLOG_OK(store_txn_commit(t));
    store_close(s);
    meta_page m0 = read_meta(0), m1 = read_meta(1);
    uint64_t need = ((m0.txnid > m1.txnid ? m0 : m1).last_pg + 1) * 4096;
    cr_assert_lt((uint64_t)damage_file_size(dbpath), need, "the file is as long as its meta says: "
                 "this test no longer makes the case it is about");
    char why[STORE_WHY_MAX];
    TLOG_OK(open_in_child(why));
}

/* Flips bit `bit` of the txnid on meta page `slot`, and the open says. */
static int open_with_txnid_bit(int slot, int bit, char *why)
{
    cr_assert_eq(damage_flip_byte(dbpath, (uint64_t)slot * 4096 + 144 + bit / 8,
                                  (uint8_t)(1u << (bit % 8))), 0);
    return open_in_child(why);
}

/* Commit N writes meta page N % 2, and LMDB takes the page with the higher
 * txnid: a txnid flipped lower in the newest page, or higher in the older
 * one, makes it open the previous snapshot without a word. The two pages
 * must be successive commits, each on the page of its parity, and the
 * older must use no more pages than the newer. */
Test(datafile, a_damaged_txnid_is_refused)
{
    write_store();
    meta_page m0 = read_meta(0), m1 = read_meta(1);
    int newest = m1.txnid > m0.txnid, older = !newest;
    cr_assert_gt((newest ? m1 : m0).last_pg, (newest ? m0 : m1).last_pg,
                 "the last commit did not grow the file: this test needs it to");
    char why[STORE_WHY_MAX];
    cr_assert_eq(open_with_txnid_bit(newest, 2, why), MSGLOG_ECORRUPT);   /* N -+ 4 */
    cr_assert(strstr(why, "are not two successive commits") != NULL, "'%s'", why);
    TLOG_OK(open_with_txnid_bit(newest, 2, why));
    cr_assert_eq(open_with_txnid_bit(newest, 0, why), MSGLOG_ECORRUPT);   /* the other parity */
    cr_assert(strstr(why, "is damaged (its txnid is not of this page)") != NULL, "'%s'", why);
    TLOG_OK(open_with_txnid_bit(newest, 0, why));
    cr_assert_eq(open_with_txnid_bit(older, 9, why), MSGLOG_ECORRUPT);    /* the older, newest */
    TLOG_OK(open_with_txnid_bit(older, 9, why));
    /* N - 2 (bit 1 of an odd N) is the one flip that looks like a real
     * pair of commits: what gives it away is the pages the newer used. */
    cr_assert_eq((newest ? m1 : m0).txnid & 2, 2);
    cr_assert_eq(open_with_txnid_bit(newest, 1, why), MSGLOG_ECORRUPT);
    cr_assert(strstr(why, "the older commit uses more pages") != NULL, "'%s'", why);
}

/* One meta page that is none is damage; two is not an LMDB file. */
Test(datafile, a_damaged_magic_is_damage_and_two_are_no_store)
{
    write_store();
    char why[STORE_WHY_MAX];
    cr_assert_eq(damage_flip_byte(dbpath, 16, 0x01), 0);   /* meta 0's magic */
    cr_assert_eq(open_in_child(why), MSGLOG_ECORRUPT);
    cr_assert_str_eq(why, "data.mdb's meta page 0 is damaged (not a meta page)");
    cr_assert_eq(damage_flip_byte(dbpath, 4096 + 16, 0x01), 0);
    cr_assert_eq(open_in_child(why), MSGLOG_EVERSION);
    cr_assert_eq(damage_flip_byte(dbpath, 16, 0x01), 0);
    cr_assert_eq(open_in_child(why), MSGLOG_ECORRUPT);
    cr_assert_str_eq(why, "data.mdb's meta page 1 is damaged (not a meta page)");
}
