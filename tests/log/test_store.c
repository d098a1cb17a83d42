/* The LMDB wrapper (log/store.c) and big-endian keys (log/keys.h): tables,
 * transactions, cursors in numeric key order, reopening, a full map. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log/keys.h"
#include "log/store.h"
#include "msglog.h"
#include "support/rng.h"
#include "support/tmpdir.h"

#define ID(r, s) ((op_id){ (r), (s) })
#define MAP_SIZE ((size_t)16 << 20)
#define SV(p, n) ((store_val){ (p), (n) })
#define SVS(lit) ((store_val){ (lit), sizeof(lit) - 1 })

/* Each test gets a fresh directory `root`; the store lives in root/db (which
 * store_open creates). */
static char *root;
static char *dbpath;

static void setup(void)
{
    root = tmpdir_make("msglog-store-");
    cr_assert_not_null(root);
    dbpath = tmpdir_join(root, "db");
    cr_assert_not_null(dbpath);
}

static void teardown(void)
{
    if (root)
        tmpdir_remove(root);
    free(dbpath);
    free(root);
    dbpath = root = NULL;
}

TestSuite(store, .init = setup, .fini = teardown);

#define OK(call)                                                             \
    do {                                                                     \
        int rc_ = (call);                                                    \
        cr_assert_eq(rc_, MSGLOG_OK, "%s -> %d", #call, rc_);                \
    } while (0)

static store *open_store(size_t map)
{
    store *s;
    OK(store_open(&s, dbpath, &(store_config){ .map_size = map, .create = 1 }, NULL));
    cr_assert_not_null(s);
    return s;
}

static store_txn *begin(store *s, int write)
{
    store_txn *t;
    OK(store_txn_begin(s, write, &t));
    cr_assert_not_null(t);
    return t;
}

/* Asserts table `tbl` maps key to exactly want[0..wn). */
static void assert_get(store_txn *t, int tbl, store_val key, const void *want, size_t wn)
{
    store_val v;
    int rc = store_get(t, tbl, key, &v);
    cr_assert_eq(rc, MSGLOG_OK, "get in table %d -> %d", tbl, rc);
    cr_assert_eq(v.len, wn, "table %d: value of %zu bytes, want %zu", tbl, v.len, wn);
    cr_assert(wn == 0 || memcmp(v.data, want, wn) == 0, "table %d: value differs", tbl);
}

static void assert_absent(store_txn *t, int tbl, store_val key)
{
    store_val v;
    int rc = store_get(t, tbl, key, &v);
    cr_assert_eq(rc, MSGLOG_ENOTFOUND, "get in table %d -> %d, want ENOTFOUND", tbl, rc);
}

/* ---- keys.h ------------------------------------------------------------ */

Test(keys, big_endian_layout)
{
    uint8_t k[KEY_OP_LEN];
    key_op(k, UINT32_C(0x01020304), ID(UINT64_C(0x1112131415161718), UINT64_C(0x2122232425262728)));
    static const uint8_t want[KEY_OP_LEN] = {
        0x01, 0x02, 0x03, 0x04, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
        0x17, 0x18, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
    };
    cr_assert_arr_eq(k, want, KEY_OP_LEN);
    cr_assert_eq(key_get_u32(k), UINT32_C(0x01020304));
    cr_assert_eq(key_get_u64(k + 4), UINT64_C(0x1112131415161718));
    cr_assert_eq(key_get_u64(k + 12), UINT64_C(0x2122232425262728));

    uint8_t m[KEY_MSG_LEN];
    key_msg(m, 9, UINT64_C(111411200000000000), ID(3, 4));
    cr_assert_eq(key_get_u32(m), 9);
    cr_assert_eq(key_get_u64(m + 4), UINT64_C(111411200000000000));
    cr_assert_eq(key_get_u64(m + 12), 3);
    cr_assert_eq(key_get_u64(m + 20), 4);

    uint8_t p[KEY_PENDING_LEN];
    key_pending(p, UINT32_MAX, ID(1, 2), ID(UINT64_MAX, 5));
    cr_assert_eq(key_get_u32(p), UINT32_MAX);
    cr_assert_eq(key_get_u64(p + 4), 1);
    cr_assert_eq(key_get_u64(p + 12), 2);
    cr_assert_eq(key_get_u64(p + 20), UINT64_MAX);
    cr_assert_eq(key_get_u64(p + 28), 5);
}

/* memcmp order of keys equals numeric tuple order. */
Test(keys, bytewise_order_is_numeric_order)
{
    uint64_t seed = test_seed("keys/bytewise_order_is_numeric_order");
    rng g;
    rng_seed(&g, seed);
    static const uint64_t edge[] = { 0, 1, 255, 256, 65535, 65536, UINT64_C(1) << 32,
                                     (UINT64_C(1) << 63) - 1, UINT64_C(1) << 63, UINT64_MAX };
    for (int i = 0; i < 20000; i++) {
        uint32_t ca = (uint32_t)rng_below(&g, 3), cb = (uint32_t)rng_below(&g, 3);
        op_id a = ID(edge[rng_below(&g, 10)], edge[rng_below(&g, 10)]);
        op_id b = ID(edge[rng_below(&g, 10)], edge[rng_below(&g, 10)]);
        if (rng_chance(&g, 50)) {
            a.seq = rng_next(&g);
            b.replica = rng_next(&g);
        }
        uint8_t ka[KEY_OP_LEN], kb[KEY_OP_LEN];
        key_op(ka, ca, a);
        key_op(kb, cb, b);
        int want = ca != cb ? (ca < cb ? -1 : 1) : op_id_cmp(a, b);
        int got = memcmp(ka, kb, KEY_OP_LEN);
        got = got < 0 ? -1 : got > 0;
        cr_assert_eq(got, want, "seed %llu i %d", (unsigned long long)seed, i);
    }
}

/* ---- open / tables ------------------------------------------------------ */

Test(store, open_creates_directory)
{
    struct stat st;
    cr_assert_neq(stat(dbpath, &st), 0);
    store *s = open_store(MAP_SIZE);
    cr_assert_eq(stat(dbpath, &st), 0);
    cr_assert(S_ISDIR(st.st_mode));
    store_close(s);
    store_close(NULL);
}

Test(store, open_on_a_file_fails)
{
    FILE *f = fopen(dbpath, "w");
    cr_assert_not_null(f);
    fputs("not a directory", f);
    fclose(f);
    store *s = (store *)1;
    int rc = store_open(&s, dbpath, &(store_config){ .map_size = MAP_SIZE, .create = 1 }, NULL);
    cr_assert_eq(rc, MSGLOG_EIO, "-> %d", rc);
    cr_assert_null(s);
}

/* A new store's missing parent directories are made (mkdir -p); one that
 * cannot be (a file in the way) is MSGLOG_EIO naming it. */
Test(store, missing_parents_are_made)
{
    char *deep = tmpdir_join(dbpath, "a/b/c"), why[STORE_WHY_MAX];
    store *s = NULL;
    int rc = store_open(&s, deep, &(store_config){ .map_size = MAP_SIZE, .create = 1 }, why);
    cr_assert_eq(rc, MSGLOG_OK, "-> %d: %s", rc, why);
    store_close(s);
    free(deep);
}

Test(store, a_file_in_the_way_of_the_directories_is_named)
{
    char *file = tmpdir_join(dbpath, "file"), *under = tmpdir_join(dbpath, "file/store"),
         why[STORE_WHY_MAX];
    mkdir(dbpath, 0700);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fclose(f);
    store *s = (store *)1;
    int rc = store_open(&s, under, &(store_config){ .map_size = MAP_SIZE, .create = 1 }, why);
    cr_assert_eq(rc, MSGLOG_EIO, "-> %d", rc);
    cr_assert_null(s);
    cr_assert(strstr(why, "cannot make the directory") && strstr(why, "file/store"), "%s", why);
    free(file);
    free(under);
}

Test(store, put_get_del_each_table)
{
    store *s = open_store(MAP_SIZE);
    store_txn *t = begin(s, 1);
    /* The same key in every table, a different value in each. */
    for (int tbl = 0; tbl < TBL_COUNT; tbl++) {
        char val[32];
        int n = snprintf(val, sizeof val, "value-of-table-%d", tbl);
        OK(store_put(t, tbl, SVS("k"), SV(val, (size_t)n)));
    }
    for (int tbl = 0; tbl < TBL_COUNT; tbl++) {
        char val[32];
        int n = snprintf(val, sizeof val, "value-of-table-%d", tbl);
        assert_get(t, tbl, SVS("k"), val, (size_t)n);
        assert_absent(t, tbl, SVS("K"));
        assert_absent(t, tbl, SVS("k2"));
    }
    /* Deleting in one table leaves the others. */
    OK(store_del(t, TBL_OPS, SVS("k")));
    assert_absent(t, TBL_OPS, SVS("k"));
    assert_get(t, TBL_MSGS, SVS("k"), "value-of-table-4", 16);
    cr_assert_eq(store_del(t, TBL_OPS, SVS("k")), MSGLOG_ENOTFOUND);
    cr_assert_eq(store_del(t, TBL_META, SVS("nope")), MSGLOG_ENOTFOUND);
    /* Overwrite replaces, including with a shorter and an empty value. */
    OK(store_put(t, TBL_META, SVS("k"), SVS("x")));
    assert_get(t, TBL_META, SVS("k"), "x", 1);
    OK(store_put(t, TBL_META, SVS("k"), SV("", 0)));
    assert_get(t, TBL_META, SVS("k"), "", 0);
    OK(store_txn_commit(t));

    t = begin(s, 0);
    assert_absent(t, TBL_OPS, SVS("k"));
    assert_get(t, TBL_META, SVS("k"), "", 0);
    for (int tbl = 1; tbl < TBL_COUNT; tbl++) {
        if (tbl == TBL_OPS)
            continue;
        char val[32];
        int n = snprintf(val, sizeof val, "value-of-table-%d", tbl);
        assert_get(t, tbl, SVS("k"), val, (size_t)n);
    }
    store_txn_abort(t);
    store_close(s);
}

Test(store, binary_keys_and_large_values)
{
    store *s = open_store(MAP_SIZE);
    store_txn *t = begin(s, 1);
    const uint8_t k[] = { 0x00, 0xff, 0x00, 0x80 };
    size_t big = 200000;   /* overflow pages */
    uint8_t *v = malloc(big);
    cr_assert_not_null(v);
    for (size_t i = 0; i < big; i++)
        v[i] = (uint8_t)(i * 31 + 7);
    OK(store_put(t, TBL_OPS, SV(k, sizeof k), SV(v, big)));
    OK(store_txn_commit(t));
    t = begin(s, 0);
    assert_get(t, TBL_OPS, SV(k, sizeof k), v, big);
    assert_absent(t, TBL_OPS, SV(k, 3));   /* a prefix is another key */
    store_txn_abort(t);
    free(v);
    store_close(s);
}

/* ---- transactions --------------------------------------------------------- */

Test(store, abort_discards_writes)
{
    store *s = open_store(MAP_SIZE);
    store_txn *t = begin(s, 1);
    OK(store_put(t, TBL_META, SVS("kept"), SVS("1")));
    OK(store_txn_commit(t));

    t = begin(s, 1);
    OK(store_put(t, TBL_META, SVS("lost"), SVS("2")));
    OK(store_put(t, TBL_META, SVS("kept"), SVS("changed")));
    OK(store_del(t, TBL_META, SVS("kept")));
    assert_get(t, TBL_META, SVS("lost"), "2", 1);   /* visible inside */
    assert_absent(t, TBL_META, SVS("kept"));
    store_txn_abort(t);

    t = begin(s, 0);
    assert_absent(t, TBL_META, SVS("lost"));
    assert_get(t, TBL_META, SVS("kept"), "1", 1);
    store_txn_abort(t);
    store_txn_abort(NULL);
    store_close(s);
}

Test(store, commit_makes_writes_visible_to_later_txns_only)
{
    store *s = open_store(MAP_SIZE);
    store_txn *r0 = begin(s, 0);   /* a snapshot from before */
    store_txn *t = begin(s, 1);
    OK(store_put(t, TBL_CONVS, SVS("c1"), SVS("\x00\x00\x00\x01")));
    OK(store_txn_commit(t));
    assert_absent(r0, TBL_CONVS, SVS("c1"));
    store_txn_abort(r0);
    store_txn *r1 = begin(s, 0);
    assert_get(r1, TBL_CONVS, SVS("c1"), "\x00\x00\x00\x01", 4);
    store_txn_abort(r1);
    store_close(s);
}

Test(store, put_in_read_txn_is_refused)
{
    store *s = open_store(MAP_SIZE);
    store_txn *r = begin(s, 0);
    int rc = store_put(r, TBL_META, SVS("k"), SVS("v"));
    cr_assert_lt(rc, 0, "put in a read txn -> %d", rc);
    rc = store_del(r, TBL_META, SVS("k"));
    cr_assert_lt(rc, 0);
    store_txn_abort(r);
    r = begin(s, 0);
    assert_absent(r, TBL_META, SVS("k"));
    store_txn_abort(r);
    store_close(s);
}

Test(store, reopen_keeps_data)
{
    store *s = open_store(MAP_SIZE);
    store_txn *t = begin(s, 1);
    for (uint32_t i = 0; i < 500; i++) {
        uint8_t k[KEY_OP_LEN];
        key_op(k, 1, ID(i % 7 + 1, i + 1));
        OK(store_put(t, TBL_OPS, SV(k, sizeof k), SV(&i, sizeof i)));
    }
    OK(store_put(t, TBL_META, SVS("replica"), SVS("42")));
    OK(store_txn_commit(t));
    t = begin(s, 1);
    OK(store_put(t, TBL_META, SVS("uncommitted"), SVS("x")));
    store_txn_abort(t);
    store_close(s);

    s = open_store(MAP_SIZE);
    t = begin(s, 0);
    assert_get(t, TBL_META, SVS("replica"), "42", 2);
    assert_absent(t, TBL_META, SVS("uncommitted"));
    for (uint32_t i = 0; i < 500; i++) {
        uint8_t k[KEY_OP_LEN];
        key_op(k, 1, ID(i % 7 + 1, i + 1));
        assert_get(t, TBL_OPS, SV(k, sizeof k), &i, sizeof i);
    }
    store_txn_abort(t);
    store_close(s);
}

Test(store, strerror_is_text)
{
    const char *m = store_strerror(-30792);   /* MDB_MAP_FULL */
    cr_assert_not_null(m);
    cr_assert_gt(strlen(m), 0);
    cr_assert_not_null(store_strerror(0));
}

/* ---- cursors ------------------------------------------------------------ */

Test(store, cursor_on_empty_table)
{
    store *s = open_store(MAP_SIZE);
    store_txn *t = begin(s, 0);
    store_cursor *c;
    OK(store_cursor_open(t, TBL_MSGS, &c));
    store_val k, v;
    cr_assert_eq(store_cursor_first(c, &k, &v), MSGLOG_ENOTFOUND);
    cr_assert_eq(store_cursor_last(c, &k, &v), MSGLOG_ENOTFOUND);
    cr_assert_eq(store_cursor_seek(c, SVS("a"), &k, &v), MSGLOG_ENOTFOUND);
    store_cursor_close(c);
    store_cursor_close(NULL);
    store_txn_abort(t);
    store_close(s);
}

typedef struct okey {
    uint32_t cid;
    op_id id;
} okey;

static int okey_cmp(const void *a, const void *b)
{
    const okey *x = a, *y = b;
    if (x->cid != y->cid)
        return x->cid < y->cid ? -1 : 1;
    return op_id_cmp(x->id, y->id);
}

static void assert_okey(store_val k, store_val v, const okey *want, size_t idx)
{
    cr_assert_eq(k.len, KEY_OP_LEN, "key %zu length %zu", idx, k.len);
    const uint8_t *p = k.data;
    uint32_t cid = key_get_u32(p);
    op_id id = ID(key_get_u64(p + 4), key_get_u64(p + 12));
    cr_assert(cid == want->cid && op_id_cmp(id, want->id) == 0,
              "position %zu: (%u, %llu, %llu), want (%u, %llu, %llu)", idx, cid,
              (unsigned long long)id.replica, (unsigned long long)id.seq, want->cid,
              (unsigned long long)want->id.replica, (unsigned long long)want->id.seq);
    /* The value is the key's index in sorted order. */
    cr_assert_eq(v.len, sizeof(uint32_t));
    uint32_t got;
    memcpy(&got, v.data, sizeof got);
    cr_assert_eq(got, (uint32_t)idx);
}

/* Keys put in random order come back in numeric (cid, replica, seq) order,
 * forwards and backwards, and seek finds the first key >= its argument. */
Test(store, cursor_walks_numeric_order)
{
    enum { N = 600 };
    uint64_t seed = test_seed("store/cursor_walks_numeric_order");
    rng g;
    rng_seed(&g, seed);
    static const uint64_t edge[] = { 1, 2, 255, 256, 257, 65535, 65536, UINT64_C(1) << 32,
                                     (UINT64_C(1) << 53) - 1, UINT64_MAX };
    static okey keys[N];
    size_t n = 0;
    while (n < N) {
        okey k = { (uint32_t)(rng_chance(&g, 10) ? UINT32_MAX - rng_below(&g, 2)
                                                 : rng_below(&g, 300)),
                   ID(edge[rng_below(&g, 10)],
                      rng_chance(&g, 50) ? edge[rng_below(&g, 10)] : rng_range(&g, 1, 1000)) };
        int dup = 0;
        for (size_t i = 0; i < n && !dup; i++)
            dup = okey_cmp(&keys[i], &k) == 0;
        if (!dup)
            keys[n++] = k;
    }
    /* Sorted copy gives each key its expected position. */
    static okey sorted[N];
    memcpy(sorted, keys, sizeof keys);
    qsort(sorted, N, sizeof *sorted, okey_cmp);

    store *s = open_store(MAP_SIZE);
    store_txn *t = begin(s, 1);
    for (size_t i = 0; i < N; i++) {
        size_t pos = (okey *)bsearch(&keys[i], sorted, N, sizeof *sorted, okey_cmp) - sorted;
        uint32_t val = (uint32_t)pos;
        uint8_t kb[KEY_OP_LEN];
        key_op(kb, keys[i].cid, keys[i].id);
        OK(store_put(t, TBL_OPS, SV(kb, sizeof kb), SV(&val, sizeof val)));
    }
    OK(store_txn_commit(t));

    t = begin(s, 0);
    store_cursor *c;
    OK(store_cursor_open(t, TBL_OPS, &c));
    store_val k, v;
    /* Forwards. */
    OK(store_cursor_first(c, &k, &v));
    assert_okey(k, v, &sorted[0], 0);
    for (size_t i = 1; i < N; i++) {
        OK(store_cursor_next(c, &k, &v));
        assert_okey(k, v, &sorted[i], i);
    }
    cr_assert_eq(store_cursor_next(c, &k, &v), MSGLOG_ENOTFOUND);
    /* Backwards. */
    OK(store_cursor_last(c, &k, &v));
    assert_okey(k, v, &sorted[N - 1], N - 1);
    for (size_t i = N - 1; i-- > 0;) {
        OK(store_cursor_prev(c, &k, &v));
        assert_okey(k, v, &sorted[i], i);
    }
    cr_assert_eq(store_cursor_prev(c, &k, &v), MSGLOG_ENOTFOUND);
    /* Seek: to an exact key, and to just past a key. */
    for (int q = 0; q < 300; q++) {
        size_t i = rng_below(&g, N);
        uint8_t kb[KEY_OP_LEN];
        key_op(kb, sorted[i].cid, sorted[i].id);
        OK(store_cursor_seek(c, SV(kb, sizeof kb), &k, &v));
        assert_okey(k, v, &sorted[i], i);
        if (sorted[i].id.seq == UINT64_MAX)
            continue;
        okey past = { sorted[i].cid, ID(sorted[i].id.replica, sorted[i].id.seq + 1) };
        key_op(kb, past.cid, past.id);
        int rc = store_cursor_seek(c, SV(kb, sizeof kb), &k, &v);
        /* Nothing lies strictly between sorted[i] and past, so the first
         * key >= past is sorted[i + 1], whether or not it equals past. */
        size_t j = i + 1;
        if (j < N) {
            OK(rc);
            assert_okey(k, v, &sorted[j], j);
            if (j + 1 < N) {   /* next continues from there */
                OK(store_cursor_next(c, &k, &v));
                assert_okey(k, v, &sorted[j + 1], j + 1);
            }
        } else {
            cr_assert_eq(rc, MSGLOG_ENOTFOUND);
        }
    }
    /* A prefix seek (just the cid) lands on that cid's first key. */
    uint8_t cidkey[4];
    key_put_u32(cidkey, sorted[N / 2].cid);
    OK(store_cursor_seek(c, SV(cidkey, 4), &k, &v));
    size_t first = N / 2;
    while (first > 0 && sorted[first - 1].cid == sorted[N / 2].cid)
        first--;
    assert_okey(k, v, &sorted[first], first);
    /* Past everything. */
    uint8_t top[KEY_OP_LEN + 1];
    memset(top, 0xff, sizeof top);
    cr_assert_eq(store_cursor_seek(c, SV(top, sizeof top), &k, &v), MSGLOG_ENOTFOUND);
    /* NULL out-params are allowed. */
    OK(store_cursor_first(c, NULL, NULL));
    store_cursor_close(c);
    store_txn_abort(t);
    store_close(s);
}

/* TBL_MSGS keys walk in message order (cid, hlc, replica, seq). */
Test(store, msg_keys_walk_in_message_order)
{
    store *s = open_store(MAP_SIZE);
    store_txn *t = begin(s, 1);
    /* (hlc, replica, seq) in message order, as in same_millisecond. */
    static const struct { uint64_t hlc; op_id id; } order[] = {
        { 111411200000000000, { 3, 1 } },
        { 111411200000000000, { 5, 1 } },
        { 111411200000000001, { 5, 2 } },
        { 111411200000000002, { 3, 2 } },
        { 111411200000065536, { 1, 1 } },
        { UINT64_MAX, { 0, 0 } },
    };
    size_t n = sizeof order / sizeof order[0];
    for (size_t i = n; i-- > 0;) {
        uint8_t k[KEY_MSG_LEN];
        key_msg(k, 2, order[i].hlc, order[i].id);
        OK(store_put(t, TBL_MSGS, SV(k, sizeof k), SV(&i, sizeof i)));
    }
    /* Another conversation on both sides. */
    uint8_t k1[KEY_MSG_LEN], k3[KEY_MSG_LEN];
    key_msg(k1, 1, UINT64_MAX, ID(UINT64_MAX, UINT64_MAX));
    key_msg(k3, 3, 0, ID(0, 1));
    OK(store_put(t, TBL_MSGS, SV(k1, sizeof k1), SVS("c1")));
    OK(store_put(t, TBL_MSGS, SV(k3, sizeof k3), SVS("c3")));

    store_cursor *c;
    OK(store_cursor_open(t, TBL_MSGS, &c));
    store_val k, v;
    uint8_t start[4];
    key_put_u32(start, 2);
    OK(store_cursor_seek(c, SV(start, 4), &k, &v));
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            OK(store_cursor_next(c, &k, &v));
        cr_assert_eq(k.len, KEY_MSG_LEN);
        cr_assert_eq(key_get_u32(k.data), 2);
        size_t got;
        memcpy(&got, v.data, sizeof got);
        cr_assert_eq(got, i, "position %zu holds entry %zu", i, got);
    }
    OK(store_cursor_next(c, &k, &v));
    cr_assert_eq(key_get_u32(k.data), 3);
    OK(store_cursor_prev(c, &k, &v));
    OK(store_cursor_prev(c, &k, &v));
    size_t got;
    memcpy(&got, v.data, sizeof got);
    cr_assert_eq(got, n - 2);
    store_cursor_close(c);
    OK(store_txn_commit(t));
    store_close(s);
}

Test(store, cursor_del)
{
    store *s = open_store(MAP_SIZE);
    store_txn *t = begin(s, 1);
    for (uint32_t i = 1; i <= 10; i++) {
        uint8_t k[KEY_PENDING_LEN];
        key_pending(k, 1, ID(2, i % 3 + 1), ID(5, i));
        OK(store_put(t, TBL_PENDING, SV(k, sizeof k), SV(&i, sizeof i)));
    }
    OK(store_txn_commit(t));

    /* Delete every entry waiting on 2.2 (i % 3 == 1: 1, 4, 7, 10). */
    t = begin(s, 1);
    store_cursor *c;
    OK(store_cursor_open(t, TBL_PENDING, &c));
    uint8_t w[20];
    key_put_u32(w, 1);
    key_put_u64(w + 4, 2);
    key_put_u64(w + 12, 2);
    store_val k, v;
    int rc = store_cursor_seek(c, SV(w, sizeof w), &k, &v);
    int deleted = 0;
    while (rc == MSGLOG_OK && k.len == KEY_PENDING_LEN && memcmp(k.data, w, sizeof w) == 0) {
        uint32_t val;
        memcpy(&val, v.data, sizeof val);
        cr_assert_eq(val % 3, 1, "entry %u waits on 2.%u", val, val % 3 + 1);
        cr_assert_eq(key_get_u64((const uint8_t *)k.data + 28), val);
        OK(store_cursor_del(c));
        deleted++;
        /* After a delete, LMDB's cursor sits on the following entry;
         * MDB_GET_CURRENT is not wrapped, so re-seek. */
        rc = store_cursor_seek(c, SV(w, sizeof w), &k, &v);
    }
    cr_assert_eq(deleted, 4);
    store_cursor_close(c);
    OK(store_txn_commit(t));

    t = begin(s, 0);
    OK(store_cursor_open(t, TBL_PENDING, &c));
    int left = 0;
    for (rc = store_cursor_first(c, &k, &v); rc == MSGLOG_OK; rc = store_cursor_next(c, &k, &v)) {
        uint32_t val;
        memcpy(&val, v.data, sizeof val);
        cr_assert_neq(val % 3, 1, "entry %u survived", val);
        left++;
    }
    cr_assert_eq(rc, MSGLOG_ENOTFOUND);
    cr_assert_eq(left, 6);
    store_cursor_close(c);
    store_txn_abort(t);
    store_close(s);
}

/* ---- a full map ----------------------------------------------------------- */

/* With a tiny map, writes end in MSGLOG_EFULL (from a put or from the
 * commit); the committed data stays intact, the store reopens, and with a
 * larger map it takes writes again. */
Test(store, full_map)
{
    const size_t tiny = (size_t)64 << 10;
    store *s = open_store(tiny);
    uint8_t val[1000];
    uint32_t committed = 0, next = 0;
    int full = 0;
    for (int round = 0; round < 1000 && !full; round++) {
        store_txn *t = begin(s, 1);
        uint32_t first = next;
        int rc = MSGLOG_OK;
        for (int i = 0; i < 4 && rc == MSGLOG_OK; i++) {
            uint8_t k[KEY_OP_LEN];
            key_op(k, 1, ID(1, next + 1));
            memset(val, (int)(next & 0xff), sizeof val);
            rc = store_put(t, TBL_OPS, SV(k, sizeof k), SV(val, sizeof val));
            if (rc == MSGLOG_OK)
                next++;
        }
        if (rc != MSGLOG_OK) {
            cr_assert_eq(rc, MSGLOG_EFULL, "put -> %d, want EFULL", rc);
            store_txn_abort(t);
            full = 1;
        } else {
            rc = store_txn_commit(t);
            if (rc == MSGLOG_OK) {
                committed = next;
            } else {
                cr_assert_eq(rc, MSGLOG_EFULL, "commit -> %d, want EFULL", rc);
                full = 1;
            }
        }
        if (full)
            next = first;
    }
    cr_assert(full, "a 64 KiB map never filled");
    cr_assert_gt(committed, 0, "nothing fit in the map");
    fprintf(stderr, "store/full_map: %u values of 1000 bytes committed before EFULL\n",
            committed);

    /* Still usable: everything committed reads back, nothing else. */
    store_txn *t = begin(s, 0);
    for (uint32_t i = 0; i < committed; i++) {
        uint8_t k[KEY_OP_LEN];
        key_op(k, 1, ID(1, i + 1));
        memset(val, (int)(i & 0xff), sizeof val);
        assert_get(t, TBL_OPS, SV(k, sizeof k), val, sizeof val);
    }
    uint8_t kx[KEY_OP_LEN];
    key_op(kx, 1, ID(1, committed + 1));
    assert_absent(t, TBL_OPS, SV(kx, sizeof kx));
    store_txn_abort(t);
    store_close(s);

    /* Reopens with the same tiny map and the data intact. */
    s = open_store(tiny);
    t = begin(s, 0);
    for (uint32_t i = 0; i < committed; i++) {
        uint8_t k[KEY_OP_LEN];
        key_op(k, 1, ID(1, i + 1));
        memset(val, (int)(i & 0xff), sizeof val);
        assert_get(t, TBL_OPS, SV(k, sizeof k), val, sizeof val);
    }
    assert_absent(t, TBL_OPS, SV(kx, sizeof kx));
    store_txn_abort(t);
    /* Reopened with a larger map, writes fit again. */
    store_close(s);
    s = open_store(MAP_SIZE);
    t = begin(s, 1);
    OK(store_put(t, TBL_OPS, SV(kx, sizeof kx), SV(val, sizeof val)));
    OK(store_txn_commit(t));
    t = begin(s, 0);
    assert_get(t, TBL_OPS, SV(kx, sizeof kx), val, sizeof val);
    uint8_t k0[KEY_OP_LEN];
    key_op(k0, 1, ID(1, 1));
    memset(val, 0, sizeof val);
    assert_get(t, TBL_OPS, SV(k0, sizeof k0), val, sizeof val);
    store_txn_abort(t);
    store_close(s);
}
