/* A full store: the map grows by itself up to the configured maximum; past
 * it a write fails with MSGLOG_EFULL and leaves the store as it was; with a
 * larger maximum the same write succeeds. */
#include <criterion/criterion.h>
#include <string.h>

#include "msglog.h"
#include "support/tmpdir.h"

static char *root;

static void setup(void)
{
    root = tmpdir_make("msglog-full-");
    cr_assert_not_null(root);
}

static void teardown(void)
{
    tmpdir_remove(root);
    free(root);
}

static msglog *open_with(size_t map, size_t max)
{
    msglog_options o = MSGLOG_OPTIONS_INIT;
    o.map_size = map;
    o.max_map_size = max;
    msglog *log = NULL;
    cr_assert_eq(msglog_open(&log, root, 1, "alice", 5, &o), MSGLOG_OK);
    return log;
}

static uint64_t n_messages(msglog *log)
{
    msglog_conv_info *info;
    cr_assert_eq(msglog_conv_info_get(log, &info, "c", 1), MSGLOG_OK);
    uint64_t n = info->n_messages;
    msglog_free(info);
    return n;
}

TestSuite(full, .init = setup, .fini = teardown);

Test(full, map_grows_then_fails_cleanly_then_retry_succeeds)
{
    const size_t start = 256 << 10, max = 1 << 20;
    msglog *log = open_with(start, max);
    static char body[4000];
    memset(body, 'x', sizeof body);
    msglog_id id;
    int rc;
    uint64_t sent = 0;
    while ((rc = msglog_send(log, &id, "c", 1, body, sizeof body)) == MSGLOG_OK)
        sent++;
    cr_assert_eq(rc, MSGLOG_EFULL, "a full store answers MSGLOG_EFULL, got %d", rc);
    cr_assert_str_neq(msglog_errmsg(log), "");
    /* More than the initial map could hold: it grew. */
    cr_assert_gt(sent * sizeof body, start, "the map did not grow (%llu sends)",
                 (unsigned long long)sent);
    cr_assert_eq(n_messages(log), sent, "the failed send left something behind");
    msglog_close(log);

    log = open_with(max, 4 * max);
    cr_assert_eq(n_messages(log), sent);
    cr_assert_eq(msglog_send(log, &id, "c", 1, body, sizeof body), MSGLOG_OK);
    cr_assert_eq(id.seq, sent + 1);
    cr_assert_eq(n_messages(log), sent + 1);
    msglog_close(log);
}
