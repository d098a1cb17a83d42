/* A session (sync/session.c) over a store with a damaged record: the side
 * that holds it ends the session with an ERROR naming the record, and its
 * peer never receives the damaged bytes, whichever side is damaged. The
 * records' checksums are log/frame.c's; docs/reliability.md, "A store that
 * refuses damage". Two sessions are wired back to back without sockets
 * (support/session_pair.c). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msglog.h"
#include "support/check.h"
#include "support/damage.h"
#include "support/session_pair.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define T0 1700000000000ULL
#define DAMAGED "the text that gets damaged"
#define SHOWN_DAMAGED "uhe text that gets damaged"   /* its first bit flipped */

static char *root;
static tclock clk = { T0, 0 };

static void setup(void)
{
    root = tmpdir_make("msglog-sync-damage-");
    cr_assert_not_null(root);
}

static void teardown(void)
{
    tmpdir_remove(root);
    free(root);
    root = NULL;
}

TestSuite(sync_damage, .init = setup, .fini = teardown);

static msglog *open_store(const char *name, uint64_t replica, const char *user)
{
    msglog *log;
    CHECK_OK(tstore_open(&log, root, name, replica, user, &clk));
    return log;
}

static void say(msglog *log, const char *conv, const char *body)
{
    clk.now++;
    CHECK_OK(msglog_send(log, NULL, conv, strlen(conv), body, strlen(body)));
}

/* Store `name` of (replica, user) with ten messages in "other" and, in
 * "team", one that is then damaged on disk between ten others; reopened. */
static msglog *damaged_store(const char *name, uint64_t replica, const char *user)
{
    msglog *log = open_store(name, replica, user);
    for (int i = 0; i < 10; i++)
        say(log, "other", "a message of another conversation");
    for (int i = 0; i < 10; i++)
        say(log, "team", "an ordinary message");
    say(log, "team", DAMAGED);
    say(log, "team", "one after it");
    msglog_close(log);
    char *dir = tmpdir_join(root, name);
    cr_assert_gt(damage_flip_text(dir, DAMAGED, strlen(DAMAGED), 0, 0x01), 0);
    free(dir);
    return open_store(name, replica, user);
}

/* Whether any message of conv in log shows `text`. */
static int shows(msglog *log, const char *conv, const char *text)
{
    msglog_page *page = NULL;
    msglog_cursor from = { 1, 0, { 0, 0 } };
    if (msglog_messages(log, &page, conv, strlen(conv), MSGLOG_FORWARD, from, 1000) != MSGLOG_OK)
        return 0;
    int found = 0;
    for (size_t i = 0; i < page->n; i++)
        found |= page->messages[i].body.data && strcmp(page->messages[i].body.data, text) == 0;
    msglog_free(page);
    return found;
}

static int file_holds(const char *name, const char *text)
{
    char *dir = tmpdir_join(root, name), file[4096];
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    free(dir);
    void *data;
    size_t n;
    cr_assert_eq(tmpdir_read_file(file, &data, &n), 0);
    int found = check_contains(data, n, text, strlen(text));
    free(data);
    return found;
}

/* The damaged op is the 11th of its replica in team (seqs count per
 * conversation). */
#define RECORD(replica) "ops record " #replica ".11 of conversation team is damaged (checksum)"

/* A session of every conversation between device and relay, one of whose
 * stores is damaged: both sides end it with an error naming `record`, and
 * the data file of the other side, `receiver`, holds no damaged text. */
static void assert_refused(msglog *device, msglog *relay, const char *record, const char *receiver)
{
    char cerr[SESSION_PAIR_ERR_MAX], rerr[SESSION_PAIR_ERR_MAX];
    CHECK_OK(session_pair_sync(device, relay, NULL, cerr, rerr));
    cr_assert(strstr(cerr, record) != NULL, "the device's error: '%s'", cerr);
    cr_assert(strstr(rerr, record) != NULL, "the relay's error: '%s'", rerr);
    cr_assert(!file_holds(receiver, SHOWN_DAMAGED), "the damaged text reached %s", receiver);
}

Test(sync_damage, a_relay_never_sends_a_damaged_record)
{
    msglog *relay = damaged_store("relay", 1, "relay");
    msglog *device = open_store("device", 10, "alice");
    assert_refused(device, relay, RECORD(1), "device");
    cr_assert(!shows(device, "team", SHOWN_DAMAGED));
    /* The other conversation still syncs on its own. */
    char cerr[SESSION_PAIR_ERR_MAX], rerr[SESSION_PAIR_ERR_MAX];
    CHECK_OK(session_pair_sync(device, relay, "other", cerr, rerr));
    cr_assert_str_eq(cerr, "");
    cr_assert_str_eq(rerr, "");
    cr_assert(shows(device, "other", "a message of another conversation"));
    msglog_close(device);
    msglog_close(relay);
}

Test(sync_damage, a_device_never_sends_a_damaged_record)
{
    msglog *device = damaged_store("device", 10, "alice");
    msglog *relay = open_store("relay", 1, "relay");
    assert_refused(device, relay, RECORD(10), "relay");
    msglog_close(relay);
    msglog_close(device);
}
