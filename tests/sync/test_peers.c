/* sync/peers.c: the relay's per-device records and the STATUS computed from
 * them, the client's record of ACK and STATUS, and the public delivery
 * status built on it (docs/protocol.md, sections 6 and 7). */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/session_codec.h"
#include "log/keys.h"
#include "msglog.h"
#include "engine/engine.h"
#include "sync/peers.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

/* Allocation failure injection, as tests/faults/test_alloc_fail.c does it:
 * this executable defines malloc, calloc and realloc (forwarding to glibc),
 * inert unless a test arms it. Under valgrind, pass
 * --soname-synonyms=somalloc=nouserintercepts for the injection to work. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static __thread struct {
    int armed;
    uint64_t fail_at;   /* the allocation that fails, 1-based */
    uint64_t calls;
    uint64_t hits;
} inj;

static int inj_fail_now(void)
{
    if (!inj.armed || ++inj.calls != inj.fail_at)
        return 0;
    inj.hits++;
    errno = ENOMEM;
    return 1;
}

void *malloc(size_t n)
{
    return inj_fail_now() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    return inj_fail_now() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    return inj_fail_now() ? NULL : __libc_realloc(p, n);
}

static char *root;

static void setup(void)
{
    root = tmpdir_make_fast("msglog-peers-");
    cr_assert_not_null(root);
}

static void teardown(void)
{
    if (root != NULL) {
        tmpdir_remove(root);
        free(root);
        root = NULL;
    }
}

TestSuite(peers, .init = setup, .fini = teardown);

#define U(s) ((const uint8_t *)(s)), strlen(s)
#define OK(log, call) \
    do { \
        int rc_ = (call); \
        cr_assert_eq(rc_, MSGLOG_OK, "%s: %d (%s)", #call, rc_, msglog_errmsg(log)); \
    } while (0)

static msglog *open_store(const char *name, uint64_t replica, const char *user)
{
    msglog *log = NULL;
    int rc = tstore_open(&log, root, name, replica, user, NULL);
    cr_assert_eq(rc, MSGLOG_OK, "open %s: %d", name, rc);
    return log;
}

static msglog *reopen(msglog *log, const char *name, uint64_t replica, const char *user)
{
    msglog_close(log);
    return open_store(name, replica, user);
}

static void assert_vec(const op_id *v, size_t n, const op_id *want, size_t n_want, const char *what)
{
    cr_assert_eq(n, n_want, "%s: %zu entries, want %zu", what, n, n_want);
    for (size_t i = 0; i < n; i++)
        cr_assert(v[i].replica == want[i].replica && v[i].seq == want[i].seq,
                  "%s[%zu] = %llu:%llu, want %llu:%llu", what, i,
                  (unsigned long long)v[i].replica, (unsigned long long)v[i].seq,
                  (unsigned long long)want[i].replica, (unsigned long long)want[i].seq);
}

static void assert_members(const peers_status *st, const char *const *want, size_t n)
{
    cr_assert_eq(st->n_members, n, "members: %zu, want %zu", st->n_members, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(st->members[i].len, strlen(want[i]));
        cr_assert_str_eq(st->members[i].data, want[i], "NUL-terminated copy");
    }
}

static peers_status status_for(msglog *relay, const char *conv, const char *user)
{
    peers_status st;
    OK(relay, peers_status_for(relay, U(conv), U(user), &st));
    return st;
}

/* ---- relay side --------------------------------------------------------- */

Test(peers, device_user_is_fixed_and_survives_reopen)
{
    msglog *r = open_store("relay", 1, "relay");
    OK(r, peers_device_seen(r, NULL, 10, U("alice")));
    OK(r, peers_device_seen(r, NULL, 10, U("alice")));   /* seen again: nothing */
    r = reopen(r, "relay", 1, "relay");
    cr_assert_eq(peers_device_seen(r, NULL, 10, U("bob")), MSGLOG_EMISMATCH);
    cr_assert_gt(strlen(msglog_errmsg(r)), 0);
    cr_assert_eq(peers_device_seen(r, NULL, 10, U("alic")), MSGLOG_EMISMATCH, "a prefix is another user");
    OK(r, peers_device_seen(r, NULL, 10, U("alice")));
    cr_assert_eq(peers_device_seen(r, NULL, 0, U("alice")), MSGLOG_EINVAL);
    cr_assert_eq(peers_device_seen(r, NULL, 11, (const uint8_t *)"", 0), MSGLOG_EINVAL);
    cr_assert_eq(peers_device_seen(r, NULL, 11, (const uint8_t *)"\xff", 1), MSGLOG_EINVAL, "not UTF-8");
    msglog_close(r);
}

Test(peers, subscribe_needs_a_seen_device)
{
    msglog *r = open_store("relay", 1, "relay");
    cr_assert_eq(peers_subscribe(r, NULL, 10, U("c")), MSGLOG_ENOTFOUND);
    cr_assert_gt(strlen(msglog_errmsg(r)), 0);
    op_id vv[] = { { 1, 1 } };
    cr_assert_eq(peers_device_acked(r, NULL, 10, U("c"), vv, 1), MSGLOG_ENOTFOUND);
    OK(r, peers_device_seen(r, NULL, 10, U("alice")));
    OK(r, peers_subscribe(r, NULL, 10, U("c")));
    peers_status st = status_for(r, "c", "bob");
    const char *alice[] = { "alice" };
    assert_members(&st, alice, 1);
    cr_assert_eq(st.n_delivered_vv, 0, "a new subscription acknowledged nothing");
    peers_status_clear(&st);
    msglog_close(r);
}

Test(peers, acked_vectors_merge_by_maximum_and_never_go_down)
{
    msglog *r = open_store("relay", 1, "relay");
    OK(r, peers_device_seen(r, NULL, 10, U("alice")));
    op_id a[] = { { 1, 5 }, { 2, 3 } };
    op_id b[] = { { 1, 2 }, { 3, 1 } };
    OK(r, peers_device_acked(r, NULL, 10, U("c"), a, 2));
    OK(r, peers_device_acked(r, NULL, 10, U("c"), b, 2));
    OK(r, peers_subscribe(r, NULL, 10, U("c")));      /* already subscribed: nothing */
    OK(r, peers_device_acked(r, NULL, 10, U("c"), NULL, 0));
    r = reopen(r, "relay", 1, "relay");
    peers_status st = status_for(r, "c", "bob");
    op_id want[] = { { 1, 5 }, { 2, 3 }, { 3, 1 } };
    assert_vec(st.delivered_vv, st.n_delivered_vv, want, 3, "delivered");
    peers_status_clear(&st);

    op_id bad[] = { { 2, 1 }, { 1, 1 } };
    cr_assert_eq(peers_device_acked(r, NULL, 10, U("c"), bad, 2), MSGLOG_EINVAL, "not ascending");
    op_id zero[] = { { 1, 0 } };
    cr_assert_eq(peers_device_acked(r, NULL, 10, U("c"), zero, 1), MSGLOG_EINVAL, "seq 0");
    cr_assert_eq(peers_device_acked(r, NULL, 10, (const uint8_t *)"", 0, a, 2), MSGLOG_EINVAL);
    msglog_close(r);
}

/* alice has devices 10 and 11, bob device 20; the relay holds ops of "c". */
static msglog *three_devices(void)
{
    msglog *r = open_store("relay", 1, "relay");
    msglog_id id;
    OK(r, msglog_send(r, &id, "c", 1, "x", 1));
    OK(r, msglog_send(r, &id, "c", 1, "y", 1));
    OK(r, peers_device_seen(r, NULL, 10, U("alice")));
    OK(r, peers_device_seen(r, NULL, 11, U("alice")));
    OK(r, peers_device_seen(r, NULL, 20, U("bob")));
    op_id v10[] = { { 1, 2 }, { 10, 4 }, { 11, 1 } };
    op_id v11[] = { { 1, 1 }, { 10, 6 }, { 20, 3 } };
    op_id v20[] = { { 1, 2 }, { 10, 5 }, { 11, 2 }, { 20, 3 } };
    OK(r, peers_device_acked(r, NULL, 10, U("c"), v10, 3));
    OK(r, peers_device_acked(r, NULL, 11, U("c"), v11, 3));
    OK(r, peers_device_acked(r, NULL, 20, U("c"), v20, 4));
    return r;
}

Test(peers, status_for_takes_the_minimum_over_other_users_devices)
{
    msglog *r = three_devices();
    r = reopen(r, "relay", 1, "relay");
    op_id relay[] = { { 1, 2 } };

    /* For bob: alice's two devices; entries missing from one are left out. */
    peers_status st = status_for(r, "c", "bob");
    const char *alice[] = { "alice" };
    assert_members(&st, alice, 1);
    op_id for_bob[] = { { 1, 1 }, { 10, 4 } };
    assert_vec(st.delivered_vv, st.n_delivered_vv, for_bob, 2, "delivered for bob");
    assert_vec(st.relay_vv, st.n_relay_vv, relay, 1, "relay_vv");
    peers_status_clear(&st);

    /* For alice: bob's device only, her own devices excluded. */
    st = status_for(r, "c", "alice");
    const char *bob[] = { "bob" };
    assert_members(&st, bob, 1);
    op_id v20[] = { { 1, 2 }, { 10, 5 }, { 11, 2 }, { 20, 3 } };
    assert_vec(st.delivered_vv, st.n_delivered_vv, v20, 4, "delivered for alice");
    peers_status_clear(&st);

    /* For someone else: all three. */
    st = status_for(r, "c", "carol");
    const char *both[] = { "alice", "bob" };
    assert_members(&st, both, 2);
    assert_vec(st.delivered_vv, st.n_delivered_vv, for_bob, 2, "delivered for carol");
    peers_status_clear(&st);
    msglog_close(r);
}

/* The relay's store holding a message in each conversation named. */
static void hold(msglog *r, const char *const *convs, size_t n)
{
    msglog_id id;
    for (size_t i = 0; i < n; i++)
        OK(r, msglog_send(r, &id, convs[i], strlen(convs[i]), "x", 1));
}

/* How many records of the peers table have keys starting with `kind`. */
static size_t records_of(msglog *r, char kind)
{
    store_txn *t;
    store_cursor *cur;
    store_val k, v;
    size_t n = 0;
    cr_assert_eq(store_txn_begin(r->st, 0, &t), MSGLOG_OK);
    cr_assert_eq(store_cursor_open(t, TBL_PEERS, &cur), MSGLOG_OK);
    for (int rc = store_cursor_first(cur, &k, &v); rc == MSGLOG_OK; rc = store_cursor_next(cur, &k, &v))
        n += k.len > 0 && ((const char *)k.data)[0] == kind;
    store_cursor_close(cur);
    store_txn_abort(t);
    return n;
}

Test(peers, a_hello_records_the_device_and_its_conversations_at_once)
{
    msglog *r = open_store("relay", 1, "relay");
    const char *held[] = { "a", "b", "c", "d" };
    hold(r, held, 4);
    op_id va[] = { { 10, 3 } }, vb[] = { { 10, 1 }, { 20, 2 } };
    peers_conv_vv convs[] = { { U("a"), va, 1 }, { U("b"), vb, 2 }, { U("c"), NULL, 0 } };
    OK(r, peers_device_hello(r, NULL, 10, U("alice"), convs, 3));
    r = reopen(r, "relay", 1, "relay");
    const char *alice[] = { "alice" };
    peers_status st = status_for(r, "b", "bob");
    assert_members(&st, alice, 1);
    assert_vec(st.delivered_vv, st.n_delivered_vv, vb, 2, "delivered of b");
    peers_status_clear(&st);
    st = status_for(r, "c", "bob");
    assert_members(&st, alice, 1);          /* listed empty: subscribed */
    peers_status_clear(&st);
    /* Another user for the same replica: refused whole, nothing recorded. */
    peers_conv_vv other[] = { { U("d"), NULL, 0 } };
    cr_assert_eq(peers_device_hello(r, NULL, 10, U("mallory"), other, 1), MSGLOG_EMISMATCH);
    st = status_for(r, "d", "bob");
    cr_assert_eq(st.n_members, 0, "the refused HELLO subscribed nothing");
    peers_status_clear(&st);
    msglog_close(r);
}

/* Naming a conversation proves nothing: a HELLO listing a thousand the
 * relay does not hold stores the device and its one real subscription. */
Test(peers, a_hello_stores_nothing_for_conversations_the_relay_does_not_hold)
{
    msglog *r = open_store("relay", 1, "relay");
    const char *held[] = { "m-0500" };
    hold(r, held, 1);
    peers_conv_vv convs[1000];
    char names[1000][8];
    for (int i = 0; i < 1000; i++) {
        snprintf(names[i], sizeof names[i], "m-%04d", i);
        convs[i] = (peers_conv_vv){ U(names[i]), NULL, 0 };
    }
    OK(r, peers_device_hello(r, NULL, 10, U("mallory"), convs, 1000));
    cr_assert_eq(records_of(r, 's'), 1, "one subscription: the held conversation");
    cr_assert_eq(records_of(r, 'u'), 1);
    peers_status st = status_for(r, "m-0001", "bob");
    cr_assert_eq(st.n_members, 0, "not a member of what it only named");
    peers_status_clear(&st);
    const char *mallory[] = { "mallory" };
    st = status_for(r, "m-0500", "bob");
    assert_members(&st, mallory, 1);
    peers_status_clear(&st);
    msglog_close(r);
}

Test(peers, subscriptions_per_device_are_capped)
{
    msglog *r = open_store("relay", 1, "relay");
    const char *held[] = { "a", "b", "c" };
    hold(r, held, 3);
    peers_limits lim = { 2, 0 };
    peers_conv_vv three[] = { { U("a"), NULL, 0 }, { U("b"), NULL, 0 }, { U("c"), NULL, 0 } };
    cr_assert_eq(peers_device_hello(r, &lim, 10, U("alice"), three, 3), MSGLOG_ELIMIT);
    cr_assert_gt(strlen(msglog_errmsg(r)), 0);
    cr_assert_eq(records_of(r, 's') + records_of(r, 'u'), 0, "the refused HELLO wrote nothing");
    OK(r, peers_device_hello(r, &lim, 10, U("alice"), three, 2));
    r = reopen(r, "relay", 1, "relay");
    cr_assert_eq(peers_may_subscribe(r, &lim, 10, U("c")), MSGLOG_ELIMIT);
    OK(r, peers_may_subscribe(r, &lim, 10, U("a")));
    OK(r, peers_may_subscribe(r, NULL, 10, U("c")));
    cr_assert_eq(peers_subscribe(r, &lim, 10, U("c")), MSGLOG_ELIMIT);
    op_id v[] = { { 1, 1 } };
    cr_assert_eq(peers_device_acked(r, &lim, 10, U("c"), v, 1), MSGLOG_ELIMIT);
    OK(r, peers_device_acked(r, &lim, 10, U("a"), v, 1));   /* subscribed: not a new one */
    cr_assert_eq(records_of(r, 's'), 2);
    OK(r, peers_device_seen(r, &lim, 11, U("alice")));
    OK(r, peers_subscribe(r, &lim, 11, U("c")));            /* the cap is per device */
    msglog_close(r);
}

Test(peers, device_records_are_capped)
{
    msglog *r = open_store("relay", 1, "relay");
    peers_limits lim = { 0, 2 };
    OK(r, peers_device_seen(r, &lim, 10, U("alice")));
    OK(r, peers_device_hello(r, &lim, 20, U("bob"), NULL, 0));
    r = reopen(r, "relay", 1, "relay");
    cr_assert_eq(peers_device_seen(r, &lim, 30, U("carol")), MSGLOG_ELIMIT);
    cr_assert_gt(strlen(msglog_errmsg(r)), 0);
    cr_assert_eq(peers_device_hello(r, &lim, 31, U("carol"), NULL, 0), MSGLOG_ELIMIT);
    OK(r, peers_device_seen(r, &lim, 10, U("alice")));       /* known: not a new one */
    cr_assert_eq(records_of(r, 'u'), 2);
    OK(r, peers_device_seen(r, NULL, 30, U("carol")));       /* counted without a cap too */
    cr_assert_eq(peers_device_seen(r, &lim, 32, U("dave")), MSGLOG_ELIMIT);
    msglog_close(r);
}

Test(peers, status_without_members_or_conversation)
{
    msglog *r = three_devices();
    /* Only alice's devices are subscribed to "d", which the relay does not
     * hold: for alice no members, nothing delivered, no relay vector. */
    OK(r, peers_subscribe(r, NULL, 10, U("d")));
    op_id v[] = { { 10, 1 } };
    OK(r, peers_device_acked(r, NULL, 11, U("d"), v, 1));
    peers_status st = status_for(r, "d", "alice");
    cr_assert_eq(st.n_members, 0);
    cr_assert_eq(st.n_delivered_vv, 0);
    cr_assert_eq(st.n_relay_vv, 0);
    peers_status_clear(&st);
    st = status_for(r, "nobody-here", "alice");
    cr_assert_eq(st.n_members + st.n_delivered_vv + st.n_relay_vv, 0);
    peers_status_clear(&st);
    cr_assert_eq(peers_status_for(r, (const uint8_t *)"", 0, U("alice"), &st), MSGLOG_EINVAL);
    msglog_close(r);
}

Test(peers, conversations_sharing_a_prefix_stay_apart)
{
    msglog *r = open_store("relay", 1, "relay");
    OK(r, peers_device_seen(r, NULL, 10, U("alice")));
    OK(r, peers_device_seen(r, NULL, 20, U("bob")));
    OK(r, peers_device_seen(r, NULL, 30, U("carol")));
    op_id va[] = { { 5, 1 } }, vab[] = { { 5, 9 } }, vb[] = { { 5, 4 } };
    OK(r, peers_device_acked(r, NULL, 10, U("ab"), vab, 1));
    OK(r, peers_device_acked(r, NULL, 20, U("a"), va, 1));
    OK(r, peers_device_acked(r, NULL, 30, U("b"), vb, 1));
    OK(r, peers_subscribe(r, NULL, 30, U("a\x01")));

    peers_status st = status_for(r, "a", "zed");
    const char *bob[] = { "bob" };
    assert_members(&st, bob, 1);
    assert_vec(st.delivered_vv, st.n_delivered_vv, va, 1, "a");
    peers_status_clear(&st);
    st = status_for(r, "ab", "zed");
    const char *alice[] = { "alice" };
    assert_members(&st, alice, 1);
    assert_vec(st.delivered_vv, st.n_delivered_vv, vab, 1, "ab");
    peers_status_clear(&st);
    msglog_close(r);
}

Test(peers, corrupt_records_are_reported)
{
    msglog *r = three_devices();
    /* Overwrite device 11's vector of "c" with bytes that are no vector. */
    uint8_t key[2 + 1 + 8] = { 's', 1, 'c' };
    key_put_u64(key + 3, 11);
    store_txn *t;
    cr_assert_eq(store_txn_begin(r->st, 1, &t), MSGLOG_OK);
    cr_assert_eq(store_put(t, TBL_PEERS, (store_val){ key, sizeof key },
                           (store_val){ "\x93\x01\x02\x03", 4 }), MSGLOG_OK);
    cr_assert_eq(store_txn_commit(t), MSGLOG_OK);
    peers_status st;
    cr_assert_eq(peers_status_for(r, U("c"), U("bob"), &st), MSGLOG_ECORRUPT);
    cr_assert_eq(st.n_members + st.n_delivered_vv + st.n_relay_vv, 0, "cleared on error");
    op_id v[] = { { 1, 1 } };
    cr_assert_eq(peers_device_acked(r, NULL, 11, U("c"), v, 1), MSGLOG_ECORRUPT);
    cr_assert_gt(strlen(msglog_errmsg(r)), 0);

    /* A vector out of order is corrupt too, as is a subscribed device never seen. */
    cr_assert_eq(store_txn_begin(r->st, 1, &t), MSGLOG_OK);
    cr_assert_eq(store_put(t, TBL_PEERS, (store_val){ key, sizeof key },
                           (store_val){ "\x94\x02\x01\x01\x01", 5 }), MSGLOG_OK);
    cr_assert_eq(store_txn_commit(t), MSGLOG_OK);
    cr_assert_eq(peers_status_for(r, U("c"), U("bob"), &st), MSGLOG_ECORRUPT);
    cr_assert_eq(store_txn_begin(r->st, 1, &t), MSGLOG_OK);
    cr_assert_eq(store_put(t, TBL_PEERS, (store_val){ key, sizeof key },
                           (store_val){ "\x90", 1 }), MSGLOG_OK);
    uint8_t ukey[9] = { 'u' };
    key_put_u64(ukey + 1, 11);
    cr_assert_eq(store_del(t, TBL_PEERS, (store_val){ ukey, sizeof ukey }), MSGLOG_OK);
    cr_assert_eq(store_txn_commit(t), MSGLOG_OK);
    cr_assert_eq(peers_status_for(r, U("c"), U("bob"), &st), MSGLOG_ECORRUPT);
    msglog_close(r);
}

/* The full map is grown and the write retried: many small records from a
 * map far too small for them. */
Test(peers, writes_grow_a_full_map)
{
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = 64 << 10;
    opts.max_map_size = 64 << 20;
    char *path = tmpdir_join(root, "small");
    msglog *r = NULL;
    cr_assert_eq(msglog_open(&r, path, 1, "relay", 5, &opts), MSGLOG_OK);
    free(path);
    char user[64];
    for (uint64_t d = 1; d <= 3000; d++) {
        int n = snprintf(user, sizeof user, "user-%llu-with-a-longer-name", (unsigned long long)d);
        OK(r, peers_device_seen(r, NULL, d, (const uint8_t *)user, (size_t)n));
        op_id v[] = { { 1, d }, { d + 1, 7 } };
        OK(r, peers_device_acked(r, NULL, d, U("conversation"), v, 2));
    }
    peers_status st = status_for(r, "conversation", "nobody");
    cr_assert_eq(st.n_members, 3000);
    cr_assert_eq(st.n_delivered_vv, 1, "only replica 1 is in every vector");
    cr_assert_eq(st.delivered_vv[0].seq, 1);
    peers_status_clear(&st);
    msglog_close(r);
}

/* At the maximum map size a write fails whole with MSGLOG_EFULL. */
Test(peers, a_full_map_at_its_maximum_refuses_the_write_whole)
{
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = 64 << 10;
    opts.max_map_size = 64 << 10;
    char *path = tmpdir_join(root, "small");
    msglog *r = NULL;
    cr_assert_eq(msglog_open(&r, path, 1, "relay", 5, &opts), MSGLOG_OK);
    char user[200];
    memset(user, 'u', sizeof user);
    uint64_t d = 1;
    int rc = MSGLOG_OK;
    for (; d <= 100000 && rc == MSGLOG_OK; d++) {
        user[0] = (char)('a' + d % 26);
        rc = peers_device_seen(r, NULL, d, (const uint8_t *)user, sizeof user);
    }
    cr_assert_eq(rc, MSGLOG_EFULL, "a 64 KiB map fills up: %d", rc);
    cr_assert_gt(strlen(msglog_errmsg(r)), 0);
    uint64_t failed = d - 1;
    msglog_close(r);
    opts.max_map_size = 64 << 20;
    cr_assert_eq(msglog_open(&r, path, 1, "relay", 5, &opts), MSGLOG_OK);
    free(path);
    cr_assert_eq(peers_subscribe(r, NULL, failed, U("c")), MSGLOG_ENOTFOUND, "the failed write left nothing");
    OK(r, peers_subscribe(r, NULL, failed - 1, U("c")));
    msglog_close(r);
}

/* ---- client side -------------------------------------------------------- */

/* The client record of conv as stored, decoded. */
static int load_record(msglog *log, const char *conv, codec_status *m, uint8_t **copy)
{
    uint8_t key[1 + MSGLOG_MAX_CONV] = { 'r' };
    memcpy(key + 1, conv, strlen(conv));
    store_txn *t;
    store_val v;
    cr_assert_eq(store_txn_begin(log->st, 0, &t), MSGLOG_OK);
    int rc = store_get(t, TBL_PEERS, (store_val){ key, 1 + strlen(conv) }, &v);
    if (rc == MSGLOG_OK) {
        *copy = malloc(v.len);
        memcpy(*copy, v.data, v.len);
        rc = codec_status_decode(m, *copy, v.len);
    }
    store_txn_abort(t);
    return rc;
}

static peers_status make_status(const op_id *relay, size_t nr, const op_id *del, size_t nd,
                                const char *const *members, size_t nm)
{
    peers_status st = { (op_id *)relay, nr, (op_id *)del, nd, NULL, nm, 0 };
    st.members = calloc(nm ? nm : 1, sizeof *st.members);
    for (size_t i = 0; i < nm; i++)
        st.members[i] = (msglog_str){ members[i], strlen(members[i]) };
    return st;
}

Test(peers, client_record_merges_and_survives_reopen)
{
    msglog *a = open_store("a", 7, "alice");
    op_id ack1[] = { { 7, 3 } };
    OK(a, peers_relay_acked(a, U("c"), ack1, 1));
    op_id relay[] = { { 7, 2 }, { 9, 4 } };
    op_id del[] = { { 7, 1 } };
    const char *m1[] = { "bob", "carol" };
    peers_status st = make_status(relay, 2, del, 1, m1, 2);
    OK(a, peers_status_store(a, U("c"), &st));
    free(st.members);
    a = reopen(a, "a", 7, "alice");

    codec_status rec;
    uint8_t *buf = NULL;
    cr_assert_eq(load_record(a, "c", &rec, &buf), MSGLOG_OK);
    op_id want_relay[] = { { 7, 3 }, { 9, 4 } };
    assert_vec(rec.relay_vv, rec.n_relay_vv, want_relay, 2, "relay_vv");
    assert_vec(rec.delivered_vv, rec.n_delivered_vv, del, 1, "delivered_vv");
    cr_assert_eq(rec.n_members, 2);
    codec_status_clear(&rec);
    free(buf);

    /* Lower vectors change nothing; the members are replaced. */
    op_id low[] = { { 7, 1 } };
    const char *m2[] = { "dave" };
    st = make_status(low, 1, NULL, 0, m2, 1);
    OK(a, peers_status_store(a, U("c"), &st));
    free(st.members);
    OK(a, peers_relay_acked(a, U("c"), low, 1));
    cr_assert_eq(load_record(a, "c", &rec, &buf), MSGLOG_OK);
    assert_vec(rec.relay_vv, rec.n_relay_vv, want_relay, 2, "relay_vv kept");
    assert_vec(rec.delivered_vv, rec.n_delivered_vv, del, 1, "delivered_vv kept");
    cr_assert_eq(rec.n_members, 1);
    cr_assert_eq(memcmp(rec.members[0].data, "dave", 4), 0);
    codec_status_clear(&rec);
    free(buf);
    cr_assert_eq(load_record(a, "other", &rec, &buf), MSGLOG_ENOTFOUND);
    msglog_close(a);
}

Test(peers, client_refuses_a_malformed_status)
{
    msglog *a = open_store("a", 7, "alice");
    const char *unsorted[] = { "carol", "bob" };
    peers_status st = make_status(NULL, 0, NULL, 0, unsorted, 2);
    cr_assert_eq(peers_status_store(a, U("c"), &st), MSGLOG_EINVAL);
    free(st.members);
    const char *dup[] = { "bob", "bob" };
    st = make_status(NULL, 0, NULL, 0, dup, 2);
    cr_assert_eq(peers_status_store(a, U("c"), &st), MSGLOG_EINVAL);
    free(st.members);
    op_id bad[] = { { 3, 1 }, { 3, 2 } };
    st = make_status(bad, 2, NULL, 0, NULL, 0);
    cr_assert_eq(peers_status_store(a, U("c"), &st), MSGLOG_EINVAL);
    cr_assert_eq(peers_relay_acked(a, U("c"), bad, 2), MSGLOG_EINVAL);
    free(st.members);
    codec_status rec;
    uint8_t *buf = NULL;
    cr_assert_eq(load_record(a, "c", &rec, &buf), MSGLOG_ENOTFOUND, "nothing stored");
    msglog_close(a);
}

Test(peers, status_equal_and_clear)
{
    op_id v[] = { { 1, 2 } };
    const char *m[] = { "bob" };
    peers_status x = make_status(v, 1, v, 1, m, 1);
    peers_status y = make_status(v, 1, v, 1, m, 1);
    cr_assert(peers_status_equal(&x, &y));
    y.n_delivered_vv = 0;
    cr_assert_not(peers_status_equal(&x, &y));
    y.n_delivered_vv = 1;
    y.members[0] = (msglog_str){ "bo", 2 };
    cr_assert_not(peers_status_equal(&x, &y));
    free(x.members);
    free(y.members);
    peers_status_clear(NULL);
    peers_status empty = { 0 };
    peers_status_clear(&empty);
}

/* ---- delivery status ---------------------------------------------------- */

static void move_op(msglog *from, msglog *to, const char *conv, msglog_id id)
{
    void *bytes;
    size_t len;
    OK(from, msglog_op_bytes(from, &bytes, &len, conv, strlen(conv), id));
    OK(to, msglog_receive(to, bytes, len));
    msglog_free(bytes);
}

static int status_of(msglog *log, msglog_id id)
{
    int s = -1;
    OK(log, msglog_delivery_status(log, &s, "c", 1, id));
    return s;
}

static void store_status(msglog *a, const op_id *relay, size_t nr, const op_id *del, size_t nd,
                         const char *const *members, size_t nm)
{
    peers_status st = make_status(relay, nr, del, nd, members, nm);
    OK(a, peers_status_store(a, U("c"), &st));
    free(st.members);
}

Test(peers, delivery_status_from_pending_to_read)
{
    tclock ca = { 1000, 0 }, cb = { 1000, 0 };
    msglog *a = NULL, *b = NULL;
    cr_assert_eq(tstore_open(&a, root, "a", 7, "alice", &ca), MSGLOG_OK);
    cr_assert_eq(tstore_open(&b, root, "b", 9, "bob", &cb), MSGLOG_OK);
    msglog_id x1, x2, r1, r2;
    OK(a, msglog_send(a, &x1, "c", 1, "one", 3));
    ca.now += 10;
    OK(a, msglog_send(a, &x2, "c", 1, "two", 3));
    cr_assert_eq(status_of(a, x1), MSGLOG_STATUS_PENDING, "no ACK or STATUS yet");

    op_id ack[] = { { 7, 1 } };
    OK(a, peers_relay_acked(a, U("c"), ack, 1));
    cr_assert_eq(status_of(a, x1), MSGLOG_STATUS_SENT);
    cr_assert_eq(status_of(a, x2), MSGLOG_STATUS_PENDING, "the ACK covers x1 only");

    const char *bob[] = { "bob" };
    op_id both[] = { { 7, 2 } };
    store_status(a, both, 1, NULL, 0, NULL, 0);
    cr_assert_eq(status_of(a, x2), MSGLOG_STATUS_SENT, "relay_vv of STATUS counts too");
    store_status(a, both, 1, ack, 1, NULL, 0);
    cr_assert_eq(status_of(a, x1), MSGLOG_STATUS_SENT, "delivered to nobody is not delivered");
    store_status(a, both, 1, ack, 1, bob, 1);
    cr_assert_eq(status_of(a, x1), MSGLOG_STATUS_DELIVERED);
    store_status(a, both, 1, ack, 1, NULL, 0);
    cr_assert_eq(status_of(a, x1), MSGLOG_STATUS_DELIVERED,
                 "a STATUS naming nobody (another relay, a reset one) keeps the members");
    cr_assert_eq(status_of(a, x2), MSGLOG_STATUS_SENT);
    store_status(a, both, 1, both, 1, bob, 1);
    cr_assert_eq(status_of(a, x2), MSGLOG_STATUS_DELIVERED);

    /* bob reads x1 on his replica; the read op comes back to alice. */
    move_op(a, b, "c", x1);
    move_op(a, b, "c", x2);
    OK(b, msglog_mark_read(b, &r1, "c", 1, x1));
    cr_assert_eq(status_of(a, x1), MSGLOG_STATUS_DELIVERED, "the read has not arrived");
    move_op(b, a, "c", r1);
    cr_assert_eq(status_of(a, x1), MSGLOG_STATUS_READ);
    cr_assert_eq(status_of(a, x2), MSGLOG_STATUS_DELIVERED, "x2 is after bob's marker");

    /* A second member without a marker holds "read" back. */
    const char *two[] = { "bob", "carol" };
    store_status(a, NULL, 0, NULL, 0, two, 2);
    cr_assert_eq(status_of(a, x1), MSGLOG_STATUS_DELIVERED);
    store_status(a, NULL, 0, NULL, 0, bob, 1);
    cr_assert_eq(status_of(a, x1), MSGLOG_STATUS_READ, "lower vectors lower nothing");

    OK(b, msglog_mark_read(b, &r2, "c", 1, x2));
    move_op(b, a, "c", r2);
    a = reopen(a, "a", 7, "alice");
    cr_assert_eq(status_of(a, x1), MSGLOG_STATUS_READ, "a marker past x1 still covers it");
    cr_assert_eq(status_of(a, x2), MSGLOG_STATUS_READ);

    /* A read op is not a message; unknown ids and conversations neither. */
    int s = -1;
    cr_assert_eq(msglog_delivery_status(a, &s, "c", 1, r1), MSGLOG_ENOTFOUND);
    cr_assert_eq(msglog_delivery_status(a, &s, "c", 1, (msglog_id){ 7, 99 }), MSGLOG_ENOTFOUND);
    cr_assert_gt(strlen(msglog_errmsg(a)), 0);
    cr_assert_eq(msglog_delivery_status(a, &s, "zz", 2, x1), MSGLOG_ENOTFOUND);
    cr_assert_eq(s, -1, "set on success only");
    cr_assert_eq(msglog_delivery_status(a, NULL, "c", 1, x1), MSGLOG_EINVAL);
    cr_assert_eq(msglog_delivery_status(a, &s, NULL, 1, x1), MSGLOG_EINVAL);
    cr_assert_eq(msglog_delivery_status(a, &s, "c", 0, x1), MSGLOG_EINVAL);
    cr_assert_eq(msglog_delivery_status(NULL, &s, "c", 1, x1), MSGLOG_EINVAL);
    msglog_close(a);
    msglog_close(b);
}

Test(peers, delivery_status_of_a_corrupt_record)
{
    msglog *a = open_store("a", 7, "alice");
    msglog_id x;
    OK(a, msglog_send(a, &x, "c", 1, "one", 3));
    op_id ack[] = { { 7, 1 } };
    OK(a, peers_relay_acked(a, U("c"), ack, 1));
    /* A well-formed STATUS filed under another conversation's key. */
    codec_status m = { (const uint8_t *)"d", 1, ack, 1, NULL, 0, NULL, 0 };
    uint8_t *buf;
    size_t len;
    cr_assert_eq(codec_status_encode(&buf, &len, &m), CODEC_OK);
    store_txn *t;
    cr_assert_eq(store_txn_begin(a->st, 1, &t), MSGLOG_OK);
    cr_assert_eq(store_put(t, TBL_PEERS, (store_val){ "rc", 2 }, (store_val){ buf, len }),
                 MSGLOG_OK);
    cr_assert_eq(store_txn_commit(t), MSGLOG_OK);
    free(buf);
    int s;
    cr_assert_eq(msglog_delivery_status(a, &s, "c", 1, x), MSGLOG_ECORRUPT);
    cr_assert_eq(peers_relay_acked(a, U("c"), ack, 1), MSGLOG_ECORRUPT);
    cr_assert_eq(store_txn_begin(a->st, 1, &t), MSGLOG_OK);
    cr_assert_eq(store_put(t, TBL_PEERS, (store_val){ "rc", 2 }, (store_val){ "\xc1", 1 }),
                 MSGLOG_OK);
    cr_assert_eq(store_txn_commit(t), MSGLOG_OK);
    cr_assert_eq(msglog_delivery_status(a, &s, "c", 1, x), MSGLOG_ECORRUPT);
    msglog_close(a);
}

/* ---- every allocation failing in turn ----------------------------------- */

typedef int (*fallible)(msglog *log, void *ctx);

/* Runs call with its 1st, 2nd, ... allocation failing until it meets no
 * failure: each failed run returns an error (or absorbs it) and leaves the
 * store fit for the next; the calls are idempotent, so the last run's
 * result is the reference one. Returns the number of runs that failed. */
static uint64_t fail_each_allocation(msglog *log, fallible call, void *ctx, const char *what)
{
    for (uint64_t n = 1;; n++) {
        inj.fail_at = n;
        inj.calls = inj.hits = 0;
        inj.armed = 1;
        int rc = call(log, ctx);
        inj.armed = 0;
        if (inj.hits == 0) {
            cr_assert_eq(rc, MSGLOG_OK, "%s without failure: %d (%s)", what, rc, msglog_errmsg(log));
            return n - 1;
        }
        cr_assert_leq(rc, MSGLOG_OK, "%s, allocation %llu: %d", what, (unsigned long long)n, rc);
    }
}

static int call_seen(msglog *log, void *ctx)
{
    (void)ctx;
    return peers_device_seen(log, NULL, 12, U("carol"));
}

static int call_acked(msglog *log, void *ctx)
{
    (void)ctx;
    op_id v[] = { { 1, 2 }, { 12, 1 }, { 40, 9 } };
    return peers_device_acked(log, NULL, 12, U("c"), v, 3);
}

/* peers_status_for, its result checked when it succeeds. */
static int call_status_for(msglog *log, void *ctx)
{
    const peers_status *want = ctx;
    peers_status st;
    int rc = peers_status_for(log, U("c"), U("zed"), &st);
    if (rc == MSGLOG_OK)
        cr_assert(peers_status_equal(&st, want), "the STATUS under failures");
    else
        cr_assert_eq(st.n_members + st.n_relay_vv + st.n_delivered_vv, 0);
    peers_status_clear(&st);
    return rc;
}

static int call_relay_acked(msglog *log, void *ctx)
{
    (void)ctx;
    op_id v[] = { { 7, 1 } };
    return peers_relay_acked(log, U("c"), v, 1);
}

static int call_status_store(msglog *log, void *ctx)
{
    return peers_status_store(log, U("c"), ctx);
}

static int call_delivery_status(msglog *log, void *ctx)
{
    const int *want = ctx;
    int s = -1;
    int rc = msglog_delivery_status(log, &s, "c", 1, (msglog_id){ 7, 1 });
    cr_assert(rc != MSGLOG_OK || s == *want, "status %d, want %d", s, *want);
    return rc;
}

Test(peers, every_allocation_failure_is_an_error_or_absorbed)
{
    msglog *r = three_devices();
    uint64_t failed = fail_each_allocation(r, call_seen, NULL, "peers_device_seen");
    failed += fail_each_allocation(r, call_acked, NULL, "peers_device_acked");
    peers_status want;
    OK(r, peers_status_for(r, U("c"), U("zed"), &want));
    cr_assert_eq(want.n_members, 2 + 1, "alice, bob and carol");
    failed += fail_each_allocation(r, call_status_for, &want, "peers_status_for");
    peers_status_clear(&want);
    msglog_close(r);

    msglog *a = open_store("a", 7, "alice");
    msglog_id x;
    OK(a, msglog_send(a, &x, "c", 1, "one", 3));
    failed += fail_each_allocation(a, call_relay_acked, NULL, "peers_relay_acked");
    op_id v[] = { { 7, 1 } };
    const char *m[] = { "bob", "carol" };
    peers_status st = make_status(v, 1, v, 1, m, 2);
    failed += fail_each_allocation(a, call_status_store, &st, "peers_status_store");
    free(st.members);
    int delivered = MSGLOG_STATUS_DELIVERED;
    failed += fail_each_allocation(a, call_delivery_status, &delivered, "msglog_delivery_status");
    msglog_close(a);
    /* Inert under valgrind without nouserintercepts: nothing then fails. */
    cr_log_info("%llu runs met an allocation failure", (unsigned long long)failed);
}
