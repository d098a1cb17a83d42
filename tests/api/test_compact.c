/* msglog_compact (api/compact.c, log/compact.c): the store rewritten with
 * its live pages only, the view unchanged, erased text gone from the file,
 * the file's mode kept; refused while another process has the store open. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msglog.h"
#include "support/check.h"
#include "support/handshake.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define TEAM "team", 4
#define SECRET "the door code is 4711"

static char *root, *dir;
static tclock clk = { 1700000000000ULL, 0 };

static void setup(void)
{
    root = tmpdir_make("msglog-compact-");
    cr_assert_not_null(root);
    dir = tmpdir_join(root, "a");
}

static void teardown(void)
{
    tmpdir_remove(root);
    free(root);
    free(dir);
}

TestSuite(compact, .init = setup, .fini = teardown);

static int file_has(const char *text)
{
    char file[4096];
    void *data = NULL;
    size_t n = 0;
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    cr_assert_eq(tmpdir_read_file(file, &data, &n), 0);
    int found = check_contains(data, n, text, strlen(text));
    free(data);
    return found;
}

/* 300 messages, one of them deleted (its text erased from the records, but
 * still in a page LMDB freed); after the compaction the view is the same,
 * the file smaller or equal, the text nowhere in it, its mode kept. */
Test(compact, keeps_the_view_and_drops_the_free_pages)
{
    msglog *log;
    msglog_id secret, id;
    CHECK_OK(tstore_open(&log, root, "a", 1, "alice", &clk));
    CHECK_OK(msglog_send(log, &secret, TEAM, SECRET, strlen(SECRET)));
    for (int i = 0; i < 300; i++) {
        char body[64];
        snprintf(body, sizeof body, "message %d", i);
        clk.now++;
        CHECK_OK(msglog_send(log, &id, TEAM, body, strlen(body)));
    }
    CHECK_OK(msglog_delete(log, &id, TEAM, secret));
    cr_assert(file_has(SECRET), "the erased text is still in a free page before");
    char data[4096];
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    cr_assert_eq(chmod(data, 0600), 0);
    char *view = check_snapshot(log);

    uint64_t before = 0, after = 0;
    CHECK_OK(msglog_compact(log, &before, &after));
    cr_assert_gt(before, 0);
    cr_assert_leq(after, before, "%llu -> %llu bytes", (unsigned long long)before,
                  (unsigned long long)after);
    cr_assert(!file_has(SECRET), "the erased text is gone after");
    struct stat st;
    cr_assert_eq(stat(data, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    check_unchanged(log, view, "the compaction");
    CHECK_OK(msglog_send(log, &id, TEAM, "after", 5));   /* the handle writes on */
    msglog_close(log);
    CHECK_OK(tstore_open(&log, root, "a", 1, "alice", &clk));
    uint64_t problems = 0;
    CHECK_OK(msglog_check(log, NULL, NULL, &problems));
    msglog_close(log);
    free(view);
}

/* Another process has the store open: MSGLOG_EBUSY naming it, nothing
 * done, and the store works on. */
Test(compact, refused_while_another_process_has_the_store)
{
    msglog *log;
    msglog_id id;
    CHECK_OK(tstore_open(&log, root, "a", 1, "alice", &clk));
    CHECK_OK(msglog_send(log, &id, TEAM, "hi", 2));
    handshake h;
    pid_t child = handshake_fork(&h);
    cr_assert_geq(child, 0);
    if (child == 0) {
        msglog *other = NULL;
        int rc = msglog_open(&other, dir, 0, NULL, 0, NULL);
        handshake_tell(&h);              /* open */
        handshake_heard(&h);             /* the parent tried */
        msglog_close(other);
        _exit(rc == MSGLOG_OK ? 0 : 1);
    }
    cr_assert(handshake_heard(&h), "the child opened the store");
    char *view = check_snapshot(log);
    cr_assert_eq(msglog_compact(log, NULL, NULL), MSGLOG_EBUSY);
    char pid[32];
    snprintf(pid, sizeof pid, "process %ld", (long)child);
    cr_assert(strstr(msglog_errmsg(log), pid), "%s", msglog_errmsg(log));
    handshake_tell(&h);
    int status;
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    check_unchanged(log, view, "a refused compaction");
    CHECK_OK(msglog_send(log, &id, TEAM, "still writing", 13));
    CHECK_OK(msglog_compact(log, NULL, NULL));   /* alone now */
    msglog_close(log);
    free(view);
    cr_assert_eq(msglog_compact(NULL, NULL, NULL), MSGLOG_EINVAL);
}
