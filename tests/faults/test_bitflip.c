/* Single bits flipped in a store's data file, one flip per copy, at random
 * places (docs/reliability.md, "A store that refuses damage"). For each
 * copy a child process opens the store, reads every conversation (what
 * `msglog show` shows), runs msglog_check, and syncs the store to two
 * fresh stores, by the delta sync and by a session. Required, for every
 * copy:
 *
 *   - no crash: the child ends by itself, with no signal;
 *   - no silent change: the view read is byte for byte the original's, or
 *     something reported the damage (the open or a read refused the store
 *     with MSGLOG_ECORRUPT, or msglog_check found a problem);
 *   - nothing damaged reaches a peer: every text the fresh stores show is
 *     one the original store was written with (each text carries its own
 *     check: see text_of / text_valid).
 *
 * It prints the counts: flips, unchanged (the view was the original's and
 * nothing was reported), detected, silent, crashes, texts leaked to a
 * peer. The seed is printed; MSGLOG_SEED replays a run, MSGLOG_FLIPS sets
 * the number of copies (default 300), and MSGLOG_FLIP_KEEP=DIR keeps a copy
 * of the original store in DIR (to look at one flip with a debugger: the
 * original is the same bytes in every run). MSGLOG_FLIP_NO_PAGE_CHECK=1
 * opens the copies with msglog_options.no_page_check, to measure what the
 * check of LMDB's pages at open (log/pages.h) prevents: crashes are then
 * counted, not failed. */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msglog.h"
#include "support/check.h"
#include "support/child.h"
#include "support/damage.h"
#include "support/dump.h"
#include "support/rng.h"
#include "support/session_pair.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define T0 1700000000000ULL
#define FILLER "written once, read back exactly or refused, never changed in silence"
#define CHILD_SECONDS 60   /* an upper bound against a hang, never reached */

static char *root;

static void setup(void)
{
    root = tmpdir_make_fast("msglog-bitflip-");
    cr_assert_not_null(root);
}

static void teardown(void)
{
    tmpdir_remove(root);
    free(root);
}

TestSuite(bitflip, .init = setup, .fini = teardown);

/* ---- texts that carry their own check ------------------------------------ */

static uint32_t mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    return x ^ (x >> 16);
}

/* Text number n of kind k ('m' a message, 'e' an edit). */
static void text_of(char out[128], char k, unsigned n)
{
    snprintf(out, 128, "%c%05u-%08x %s", k, n, mix(n * 2u + (k == 'e')), FILLER);
}

/* Whether s[0..len) is one of the texts text_of makes. */
static int text_valid(const char *s, size_t len)
{
    char k;
    unsigned n;
    char want[128];
    if (len < 2 || sscanf(s, "%c%5u", &k, &n) != 2 || (k != 'm' && k != 'e'))
        return 0;
    text_of(want, k, n);
    return len == strlen(want) && memcmp(s, want, len) == 0;
}

/* ---- the store the copies are made of ----------------------------------- */

static msglog *open_at(const char *name, uint64_t replica, const char *user, tclock *clk)
{
    msglog *log;
    CHECK_OK(tstore_open(&log, root, name, replica, user, clk));
    return log;
}

/* alice and bob write 300 messages in team and 60 in other, edit, react,
 * mark read and delete some, and sync; alice's store is the original. */
static void write_original(void)
{
    tclock ca = { T0, 0 }, cb = { T0, 0 };
    msglog *a = open_at("alice", 1, "alice", &ca), *b = open_at("bob", 2, "bob", &cb);
    char text[128];
    for (unsigned n = 0; n < 360; n++) {
        msglog *w = n % 3 == 2 ? b : a;
        tclock *c = w == a ? &ca : &cb;
        const char *conv = n % 6 == 5 ? "other" : "team";
        msglog_id id, out;
        c->now += 1;
        text_of(text, 'm', n);
        CHECK_OK(msglog_send(w, &id, conv, strlen(conv), text, strlen(text)));
        if (n % 10 == 0) {
            text_of(text, 'e', n);
            CHECK_OK(msglog_edit(w, &out, conv, strlen(conv), id, text, strlen(text)));
        }
        if (n % 7 == 0)
            CHECK_OK(msglog_react(w, &out, conv, strlen(conv), id, "+1", 2));
        if (n % 25 == 0)
            CHECK_OK(msglog_delete(w, &out, conv, strlen(conv), id));
        if (n % 40 == 39) {
            check_sync(a, b, NULL, 0);
            check_sync(b, a, NULL, 0);
            CHECK_OK(msglog_mark_read(a, &out, conv, strlen(conv), id));
        }
    }
    check_sync(b, a, NULL, 0);
    check_whole(a, "the original");
    msglog_close(a);
    msglog_close(b);
}

/* ---- one damaged copy, in a child --------------------------------------- */

typedef struct outcome {
    int open_rc;           /* msglog_open of the copy */
    int show_rc;           /* reading every conversation */
    int shown_same;        /* what was read is the original's view */
    int check_rc;          /* msglog_check */
    int leaked;            /* a fresh store synced from the copy shows a text it never had */
    char why[200];         /* the first thing reported */
} outcome;

/* Whether every text log shows is an original one. */
static int texts_sound(msglog *log)
{
    msglog_str *convs = NULL;
    size_t n = 0;
    int sound = msglog_conversations(log, &convs, &n) == MSGLOG_OK;
    for (size_t i = 0; sound && i < n; i++) {
        msglog_page *page = NULL;
        msglog_cursor from = { 1, 0, { 0, 0 } };
        if (msglog_messages(log, &page, convs[i].data, convs[i].len, MSGLOG_FORWARD, from,
                            100000) != MSGLOG_OK)
            continue;
        for (size_t m = 0; m < page->n; m++) {
            const msglog_str *body = &page->messages[m].body;
            sound = sound && (!body->data || text_valid(body->data, body->len));
        }
        msglog_free(page);
    }
    msglog_free(convs);
    return sound;
}

/* The copy synced to two fresh stores (delta sync of every conversation,
 * and a session): whether either shows a text the copy never had. */
static int leaks(msglog *copy, const char *dir)
{
    char path[4096], cerr[SESSION_PAIR_ERR_MAX], rerr[SESSION_PAIR_ERR_MAX];
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = TSTORE_MAP_SIZE;
    msglog *f = NULL, *g = NULL;
    snprintf(path, sizeof path, "%s/peer-delta", dir);
    int leaked = msglog_open(&f, path, 90, "peer", 4, &opts) != MSGLOG_OK;
    snprintf(path, sizeof path, "%s/peer-session", dir);
    leaked |= msglog_open(&g, path, 91, "peer", 4, &opts) != MSGLOG_OK;
    void *req = NULL, *resp = NULL;
    size_t req_len, resp_len;
    if (!leaked && msglog_sync_request(f, &req, &req_len, NULL, 0) == MSGLOG_OK &&
        msglog_sync_response(copy, &resp, &resp_len, req, req_len) == MSGLOG_OK)
        msglog_sync_apply(f, resp, resp_len);
    msglog_free(req);
    msglog_free(resp);
    if (!leaked)
        session_pair_sync(g, copy, NULL, cerr, rerr);
    leaked = leaked || !texts_sound(f) || !texts_sound(g);
    msglog_close(f);
    msglog_close(g);
    return leaked;
}

static void keep_first(void *ctx, const char *problem)
{
    outcome *o = ctx;
    if (!o->why[0])
        snprintf(o->why, sizeof o->why, "check: %s", problem);
}

/* MSGLOG_FLIP_NO_PAGE_CHECK: the pages are not checked at open. */
static int no_page_check(void)
{
    const char *e = getenv("MSGLOG_FLIP_NO_PAGE_CHECK");
    return e && *e && strcmp(e, "0") != 0;
}

static outcome try_copy(const char *dir, const char *original_view)
{
    outcome o = { 0 };
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = TSTORE_MAP_SIZE;
    opts.no_page_check = no_page_check();
    msglog *log = NULL;
    o.open_rc = msglog_open(&log, dir, 0, NULL, 0, &opts);
    if (o.open_rc != MSGLOG_OK) {
        snprintf(o.why, sizeof o.why, "open: %s", msglog_open_errmsg());
        return o;
    }
    char *view = NULL;
    o.show_rc = dump_store(&view, log);
    o.shown_same = o.show_rc == MSGLOG_OK && strcmp(view, original_view) == 0;
    if (o.show_rc != MSGLOG_OK)
        snprintf(o.why, sizeof o.why, "show: %s", msglog_errmsg(log));
    free(view);
    o.check_rc = msglog_check(log, keep_first, &o, NULL);
    o.leaked = leaks(log, dir);
    msglog_close(log);
    return o;
}

typedef struct copy_ctx {
    const char *dir, *view;
} copy_ctx;

static int try_copy_child(void *ctx, void *out, size_t len)
{
    const copy_ctx *c = ctx;
    outcome o = try_copy(c->dir, c->view);
    memcpy(out, &o, len);
    return 0;
}

/* Runs try_copy in a child; *signal_out is the signal that killed it, or 0. */
static outcome try_in_child(const char *dir, const char *original_view, int *signal_out)
{
    copy_ctx c = { dir, original_view };
    outcome o = { 0 };
    child_run(try_copy_child, &c, &o, sizeof o, CHILD_SECONDS, signal_out);
    return o;
}

/* ---- the run ------------------------------------------------------------ */

typedef struct tally {
    unsigned flips, unchanged, detected, silent, crashes, leaked;
} tally;

/* One copy with byte `at` XORed with `mask`, tried and counted. */
static void one_flip(tally *t, const char *original, const char *copy, const char *view,
                     uint64_t at, uint8_t mask)
{
    tmpdir_remove(copy);
    cr_assert_eq(damage_copy_store(original, copy), 0);
    cr_assert_eq(damage_flip_byte(copy, at, mask), 0);
    int sig;
    outcome o = try_in_child(copy, view, &sig);
    int reported = o.open_rc == MSGLOG_ECORRUPT || o.show_rc == MSGLOG_ECORRUPT ||
                   o.check_rc == MSGLOG_ECORRUPT;
    t->flips++;
    if (sig) {
        t->crashes++;
        fprintf(stderr, "bitflip: byte %" PRIu64 " ^ 0x%02x: killed by signal %d\n", at, mask, sig);
    } else if (reported) {
        t->detected++;
    } else if (o.open_rc == MSGLOG_OK && o.shown_same) {
        t->unchanged++;
    } else {
        t->silent++;
        fprintf(stderr, "bitflip: byte %" PRIu64 " ^ 0x%02x: changed silently (open %d, show %d, "
                "check %d)\n", at, mask, o.open_rc, o.show_rc, o.check_rc);
    }
    if (o.leaked) {
        t->leaked++;
        fprintf(stderr, "bitflip: byte %" PRIu64 " ^ 0x%02x: a damaged text reached a peer\n", at,
                mask);
    }
}

Test(bitflip, single_bit_flips_crash_nothing_and_change_nothing_silently, .timeout = 3600)
{
    uint64_t seed = test_seed("bitflip");
    const char *e = getenv("MSGLOG_FLIPS");
    unsigned flips = e && *e ? (unsigned)strtoul(e, NULL, 10) : 300;
    write_original();
    char *original = tmpdir_join(root, "alice"), *copy = tmpdir_join(root, "copy");
    msglog *a;
    tclock clk = { T0, 0 };
    CHECK_OK(tstore_open(&a, root, "alice", 1, "alice", &clk));
    char *view;
    CHECK_OK(dump_store(&view, a));
    msglog_close(a);
    uint64_t size = (uint64_t)damage_file_size(original);
    const char *keep = getenv("MSGLOG_FLIP_KEEP");
    if (keep && *keep)
        cr_assert_eq(damage_copy_store(original, keep), 0);
    rng g;
    rng_seed(&g, seed);
    tally t = { 0 };
    for (unsigned i = 0; i < flips; i++) {
        uint64_t at = rng_below(&g, size);
        one_flip(&t, original, copy, view, at, (uint8_t)(1u << rng_below(&g, 8)));
    }
    fprintf(stderr, "bitflip: seed %" PRIu64 ", data.mdb of %" PRIu64 " bytes: %u flips, %u "
            "unchanged, %u detected, %u silent, %u crashes, %u damaged texts reached a peer\n",
            seed, size, t.flips, t.unchanged, t.detected, t.silent, t.crashes, t.leaked);
    if (no_page_check())
        fprintf(stderr, "bitflip: LMDB's pages were not checked at open "
                "(MSGLOG_FLIP_NO_PAGE_CHECK): crashes counted, not failed\n");
    else
        cr_assert_eq(t.crashes, 0);
    cr_assert_eq(t.silent, 0);
    cr_assert_eq(t.leaked, 0);
    free(view);
    free(original);
    free(copy);
}
