/* A store whose data file was damaged (a bit flipped on disk): whatever
 * reads a damaged record gets MSGLOG_ECORRUPT with a message naming the
 * table, the conversation and the record, and never the damaged bytes;
 * the other conversations stay readable and syncable. The records' checksums
 * are log/frame.c's; docs/reliability.md, "A store that refuses damage". */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msglog.h"
#include "support/check.h"
#include "support/child.h"
#include "support/damage.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define T0 1700000000000ULL
#define TEAM "team", 4
#define OTHER "other", 5

static char *root;
static tclock clk = { T0, 0 };
static msglog *a;

static void setup(void)
{
    root = tmpdir_make("msglog-damage-");
    cr_assert_not_null(root);
    CHECK_OK(tstore_open(&a, root, "a", 1, "alice", &clk));
}

static void teardown(void)
{
    tstore_teardown(&a, &root);
}

TestSuite(damage, .init = setup, .fini = teardown);

static msglog_id send_text(const char *conv, const char *body)
{
    msglog_id id;
    clk.now++;
    CHECK_OK(msglog_send(a, &id, conv, strlen(conv), body, strlen(body)));
    return id;
}

/* Closes a, flips the lowest bit of the first byte of `text` wherever the
 * file holds it (a letter stays a letter: the text stays valid UTF-8), and
 * reopens a. */
static void flip_in_file(const char *text)
{
    msglog_close(a);
    a = NULL;
    char *dir = tmpdir_join(root, "a");
    cr_assert_gt(damage_flip_text(dir, text, strlen(text), 0, 0x01), 0, "'%s' is not in the file", text);
    free(dir);
    CHECK_OK(tstore_open(&a, root, "a", 1, "alice", &clk));
}

/* A page of the whole of conv: its return code. */
static int read_all(msglog *log, const char *conv, size_t conv_len)
{
    msglog_page *page = NULL;
    msglog_cursor from = { 1, 0, { 0, 0 } };
    int rc = msglog_messages(log, &page, conv, conv_len, MSGLOG_FORWARD, from, 1000);
    msglog_free(page);
    return rc;
}

static void assert_errmsg_has(msglog *log, const char *want)
{
    cr_assert(strstr(msglog_errmsg(log), want) != NULL, "errmsg '%s' does not say '%s'",
              msglog_errmsg(log), want);
}

Test(damage, a_damaged_text_is_refused_not_shown)
{
    for (int i = 0; i < 10; i++)
        send_text("team", "an ordinary message");
    msglog_id hit = send_text("team", "the one that gets damaged");
    send_text("other", "a message elsewhere");
    flip_in_file("the one that gets damaged");

    cr_assert_eq(read_all(a, TEAM), MSGLOG_ECORRUPT, "the damaged text was shown");
    assert_errmsg_has(a, "ops record 1.11 of conversation team is damaged (checksum)");
    msglog_page *page = NULL;
    cr_assert_eq(msglog_message_get(a, &page, TEAM, hit), MSGLOG_ECORRUPT);
    cr_assert_null(page);
    void *bytes = NULL;
    size_t n = 0;
    cr_assert_eq(msglog_op_bytes(a, &bytes, &n, TEAM, hit), MSGLOG_ECORRUPT);
    cr_assert_null(bytes);
    /* The other conversation is untouched. */
    CHECK_OK(read_all(a, OTHER));
    msglog_id first = { 1, 1 };
    CHECK_OK(msglog_message_get(a, &page, TEAM, first));
    msglog_free(page);
}

/* The delta sync sends nothing of a damaged conversation, and the other
 * conversations still sync. */
Test(damage, a_damaged_text_is_never_sent)
{
    send_text("team", "first");
    send_text("team", "the one that gets damaged");
    send_text("other", "a message elsewhere");
    flip_in_file("the one that gets damaged");
    msglog *b;
    tclock bclk = { T0, 0 };
    CHECK_OK(tstore_open(&b, root, "b", 2, "bob", &bclk));
    void *req, *resp = NULL;
    size_t req_len, resp_len = 0;

    CHECK_OK(msglog_sync_request(b, &req, &req_len, TEAM));
    cr_assert_eq(msglog_sync_response(a, &resp, &resp_len, req, req_len), MSGLOG_ECORRUPT);
    cr_assert_null(resp);
    assert_errmsg_has(a, "ops record 1.2 of conversation team is damaged (checksum)");
    msglog_free(req);

    CHECK_OK(msglog_sync_request(b, &req, &req_len, NULL, 0));
    cr_assert_eq(msglog_sync_response(a, &resp, &resp_len, req, req_len), MSGLOG_ECORRUPT);
    msglog_free(req);

    check_sync(a, b, OTHER);
    CHECK_OK(read_all(b, OTHER));
    cr_assert_eq(read_all(b, TEAM), MSGLOG_ENOTFOUND);
    msglog_close(b);
}

/* The store's own identity (meta) is checked at open. */
Test(damage, a_damaged_identity_is_refused_at_open)
{
    msglog_close(a);
    a = NULL;
    char *dir = tmpdir_join(root, "a");
    /* "alice" is the meta record "user" (and the author of no op yet). */
    cr_assert_eq(damage_flip_text(dir, "alice", 5, 0, 0x01), 1);
    msglog *log = NULL;
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = TSTORE_MAP_SIZE;
    cr_assert_eq(msglog_open(&log, dir, 0, NULL, 0, &opts), MSGLOG_ECORRUPT);
    cr_assert_null(log);
    cr_assert(strstr(msglog_open_errmsg(), "meta record user is damaged (checksum)") != NULL,
              "open's message: '%s'", msglog_open_errmsg());
    free(dir);
}

/* ---- LMDB's pages --------------------------------------------------------- */

/* Opens the store in dir with no_page_check as given (version 2 options),
 * or with version 1 options when version1: the open's code. */
static int open_with(const char *dir, int no_page_check, int version1)
{
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = TSTORE_MAP_SIZE;
    opts.no_page_check = no_page_check;
    if (version1)
        opts.version = 1;
    msglog *log = NULL;
    int rc = msglog_open(&log, dir, 0, NULL, 0, &opts);
    msglog_close(log);
    return rc;
}

static int open_default_child(void *ctx, void *out, size_t len)
{
    (void)out;
    (void)len;
    return open_with(ctx, 0, 0);
}

/* A node of an ops record given DUPSORT's flag, which made LMDB crash at
 * the first read of it: refused at open by default (and by version 1
 * options), opened when the caller asks for no page check (then nothing
 * reads that record here). */
Test(damage, pages_are_checked_at_open_unless_asked_not_to)
{
    send_text("team", "a message");
    msglog_close(a);
    a = NULL;
    char *dir = tmpdir_join(root, "a");
    /* The ops record 1.1 of conversation 1: node header, then the key. */
    const uint8_t key[20] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 };
    const uint8_t node[8 + sizeof key] = { 0, 0, 0, 0, 0, 0, sizeof key, 0 };
    uint8_t *file;
    size_t n;
    char *path = tmpdir_join(dir, "data.mdb");
    cr_assert_eq(tmpdir_read_file(path, (void **)&file, &n), 0);
    size_t at = 0;
    for (size_t i = 8; i + sizeof key <= n && !at; i++)
        if (memcmp(file + i, key, sizeof key) == 0 && memcmp(file + i - 4, node + 4, 4) == 0)
            at = i - 8;
    free(file);
    free(path);
    cr_assert_neq(at, 0, "the node of ops record 1.1 is not in the file");
    cr_assert_eq(damage_flip_byte(dir, at + 4, 0x04), 0);   /* F_DUPDATA */
    int sig;
    cr_assert_eq(child_run(open_default_child, dir, NULL, 0, 60, &sig), MSGLOG_ECORRUPT);
    cr_assert_eq(sig, 0);
    cr_assert_eq(open_with(dir, 0, 1), MSGLOG_ECORRUPT, "version 1 options check pages too");
    CHECK_OK(open_with(dir, 1, 0));
    /* Opened so, the store's check still walks the pages first. */
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = TSTORE_MAP_SIZE;
    opts.no_page_check = 1;
    msglog *log;
    CHECK_OK(msglog_open(&log, dir, 0, NULL, 0, &opts));
    uint64_t problems = 0;
    cr_assert_eq(msglog_check(log, NULL, NULL, &problems), MSGLOG_ECORRUPT);
    cr_assert_eq(problems, 1);
    msglog_close(log);
    free(dir);
}

/* ---- a truncated data file ---------------------------------------------- */

/* What opening a truncated store gave, as the child's exit code. */
enum { CUT_REFUSED, CUT_WHOLE, CUT_WRONG };

/* Opens the store in dir by alice's identity, then by its own, and reads
 * everything in whatever opened (a truncated file used to kill the process
 * with SIGBUS): both refuse it with MSGLOG_ECORRUPT and a message starting
 * with `want`, or both open it and show `whole`, the view of the store
 * before the cut (the cut took free pages only: log/freelist.h). */
static int open_truncated(const char *dir, const char *want, const char *whole)
{
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = TSTORE_MAP_SIZE;
    int refused = 0, opened = 0;
    for (int by_identity = 0; by_identity < 2; by_identity++) {
        msglog *log = NULL;
        int rc = by_identity ? msglog_open(&log, dir, 0, NULL, 0, &opts)
                             : msglog_open(&log, dir, 1, "alice", 5, &opts);
        if (rc == MSGLOG_OK) {
            char *view = check_snapshot(log);
            opened += strcmp(view, whole) == 0;
            free(view);
        }
        refused += rc == MSGLOG_ECORRUPT && strncmp(msglog_open_errmsg(), want, strlen(want)) == 0;
        msglog_close(log);
    }
    return refused == 2 ? CUT_REFUSED : opened == 2 ? CUT_WHOLE : CUT_WRONG;
}

typedef struct cut {
    const char *dir, *whole;
    char want[64];
} cut;

static int open_truncated_child(void *ctx, void *out, size_t len)
{
    (void)out;
    (void)len;
    const cut *c = ctx;
    return open_truncated(c->dir, c->want, c->whole);
}

/* open_truncated in a child: its result, or a failed assertion when the
 * child was killed. */
static int open_truncated_in_child(const char *dir, int64_t size, const char *whole)
{
    cut c = { dir, whole, "" };
    snprintf(c.want, sizeof c.want, "data.mdb is truncated: %lld bytes, ", (long long)size);
    int sig;
    int got = child_run(open_truncated_child, &c, NULL, 0, 60, &sig);
    cr_assert_eq(sig, 0, "size %lld: killed by signal %d", (long long)size, sig);
    return got;
}

/* Every page boundary below the real size and the middle of every page:
 * both ways of opening refuse the file and say why, and leave it as it
 * is; only a cut that takes nothing but free pages at the end opens, and
 * shows everything. */
Test(damage, a_truncated_store_is_refused_at_every_size)
{
    for (int i = 0; i < 40; i++)
        send_text("team", "a message long enough to fill a few pages of the data file");
    char *view = check_snapshot(a);
    msglog_close(a);
    a = NULL;
    char *dir = tmpdir_join(root, "a"), *whole = tmpdir_join(root, "whole");
    cr_assert_eq(damage_copy_store(dir, whole), 0);
    int64_t real = damage_file_size(dir);
    int refused = 0, sizes = 0, opened_below = 0;
    for (int64_t size = 0; size < real; size += 2048, sizes++) {
        cr_assert_eq(damage_copy_store(whole, dir), 0);
        cr_assert_eq(damage_truncate(dir, (uint64_t)size), 0);
        int got = open_truncated_in_child(dir, size, view);
        cr_assert_neq(got, CUT_WRONG, "size %lld: neither refused as truncated nor whole",
                      (long long)size);
        cr_assert_eq(damage_file_size(dir), size, "the open changed the file");
        cr_assert(got == CUT_WHOLE || !opened_below, "size %lld refused, a smaller one opened",
                  (long long)size);
        opened_below |= got == CUT_WHOLE;
        refused += got == CUT_REFUSED;
    }
    fprintf(stderr, "truncated: %d of %d sizes below %lld bytes refused, the others cut free "
            "pages only\n", refused, sizes, (long long)real);
    cr_assert_geq(refused, sizes * 9 / 10);
    free(view);
    free(dir);
    free(whole);
}
