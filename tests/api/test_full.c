/* A full store: the map grows by itself up to the configured maximum; past
 * it a write fails with MSGLOG_EFULL and leaves the store as it was; with a
 * larger maximum the same write succeeds. A full file system (ENOSPC, on a
 * 2 MiB tmpfs when the test may mount one) is MSGLOG_EFULL too, says "disk
 * full", and does not grow the map. */
#define _GNU_SOURCE   /* unshare */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>

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

/* Sends messages of `size` bytes until one fails; *rc is that failure.
 * @return how many were sent. */
static char body[60000];

static uint64_t send_until_failure(msglog *log, size_t size, int *rc)
{
    msglog_id id;
    uint64_t sent = 0;

    memset(body, 'x', size);
    while ((*rc = msglog_send(log, &id, "c", 1, body, size)) == MSGLOG_OK)
        sent++;
    return sent;
}

TestSuite(full, .init = setup, .fini = teardown);

Test(full, map_grows_then_fails_cleanly_then_retry_succeeds)
{
    const size_t start = 256 << 10, max = 1 << 20;
    msglog *log = open_with(start, max);
    msglog_id id;
    int rc;
    uint64_t sent = send_until_failure(log, 4000, &rc);
    cr_assert_eq(rc, MSGLOG_EFULL, "a full store answers MSGLOG_EFULL, got %d", rc);
    cr_assert(strstr(msglog_errmsg(log), "max_map_size (1048576 bytes)"),
              "the message names the limit: \"%s\"", msglog_errmsg(log));
    /* More than the initial map could hold: it grew. */
    cr_assert_gt(sent * 4000, start, "the map did not grow (%llu sends)",
                 (unsigned long long)sent);
    cr_assert_eq(n_messages(log), sent, "the failed send left something behind");
    msglog_close(log);

    log = open_with(max, 4 * max);
    cr_assert_eq(n_messages(log), sent);
    cr_assert_eq(msglog_send(log, &id, "c", 1, body, 4000), MSGLOG_OK);
    cr_assert_eq(id.seq, sent + 1);
    cr_assert_eq(n_messages(log), sent + 1);
    msglog_close(log);
}

/* ---- a full file system ------------------------------------------------- */

static char *mnt;

/* A 2 MiB tmpfs at a fresh directory, in a mount namespace of this test's
 * own process: nobody else sees it, and it goes with the process even when
 * a failed assertion skips the unmount. Skips the test when this process
 * may not do that (not root, no CAP_SYS_ADMIN, a container). */
static void mount_small_tmpfs(void)
{
    mnt = tmpdir_make("msglog-diskfull-");
    cr_assert_not_null(mnt);
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", mnt, "tmpfs", 0, "size=2m") != 0) {
        int e = errno;
        tmpdir_remove(mnt);
        free(mnt);
        mnt = NULL;
        cr_skip_test("cannot mount a tmpfs here: %s", strerror(e));
    }
}

static void unmount_small_tmpfs(void)
{
    if (!mnt)
        return;
    umount(mnt);
    tmpdir_remove(mnt);
    free(mnt);
    mnt = NULL;
}

/* A write that finds no room at all fails with ENOSPC; one that finds some
 * is cut short, which LMDB reports as EIO: with small and large messages,
 * both are a full disk. */
static void fill_the_disk(size_t size)
{
    char *dir = tmpdir_join(mnt, "store");
    msglog *log = NULL;
    cr_assert_eq(msglog_open(&log, dir, 1, "alice", 5, NULL), MSGLOG_OK);
    int rc;
    uint64_t sent = send_until_failure(log, size, &rc);
    cr_assert_eq(rc, MSGLOG_EFULL, "a full disk answers MSGLOG_EFULL, got %d (%s): %s", rc,
                 msglog_strerror(rc), msglog_errmsg(log));
    cr_assert(strstr(msglog_errmsg(log), "disk full"), "the message says disk full: \"%s\"",
              msglog_errmsg(log));
    cr_assert(strstr(msglog_strerror(rc), "disk full"), "strerror says disk full: \"%s\"",
              msglog_strerror(rc));
    cr_assert_gt(sent, 0);
    cr_assert_eq(n_messages(log), sent, "the failed send left something behind");
    msglog_close(log);

    /* Reopened, the store holds what was acknowledged. */
    cr_assert_eq(msglog_open(&log, dir, 0, NULL, 0, NULL), MSGLOG_OK);
    cr_assert_eq(n_messages(log), sent);
    msglog_close(log);
    free(dir);
}

Test(full, disk_full_with_small_writes_is_efull_and_says_disk_full,
     .init = mount_small_tmpfs, .fini = unmount_small_tmpfs)
{
    fill_the_disk(4000);
}

Test(full, disk_full_with_large_writes_is_efull_and_says_disk_full,
     .init = mount_small_tmpfs, .fini = unmount_small_tmpfs)
{
    fill_the_disk(60000);
}
