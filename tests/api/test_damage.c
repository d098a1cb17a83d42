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
    msglog_close(a);
    a = NULL;
    tmpdir_remove(root);
    free(root);
    root = NULL;
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
