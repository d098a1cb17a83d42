/* msglog_claim: one process at a time may claim a store (a relay or a
 * watching client: include/msglog.h), others are refused with the holder's
 * pid and keep reading and writing; the claim goes with msglog_close() and
 * with the holder's death, SIGKILL included. Each other process is a fork
 * that opens its own handle after the fork, and the two sides wait on each
 * other through pipes, never on a clock. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msglog.h"
#include "support/tmpdir.h"

static char *root;

static void setup(void)
{
    msglog *log = NULL;

    root = tmpdir_make("msglog-claim-");
    cr_assert_not_null(root);
    cr_assert_eq(msglog_open(&log, root, 1, "alice", 5, NULL), MSGLOG_OK);
    msglog_close(log);
}

static void teardown(void)
{
    tmpdir_remove(root);
    free(root);
}

TestSuite(claim, .init = setup, .fini = teardown);

static msglog *open_store(void)
{
    msglog *log = NULL;
    cr_assert_eq(msglog_open(&log, root, 0, NULL, 0, NULL), MSGLOG_OK);
    return log;
}

/* One byte through a pipe: the other side's "done" or "go on". */
static void tell(int fd)
{
    char b = 1;
    if (write(fd, &b, 1) != 1)
        _exit(90);
}

static int heard(int fd)
{
    char b;
    return read(fd, &b, 1) == 1;
}

/* A child that opens the store and claims it, says so on `up`, then closes
 * the handle when `down` says (or blocks there until killed). */
static pid_t start_holder(int up[2], int down[2])
{
    pid_t pid;

    cr_assert_eq(pipe(up), 0);
    cr_assert_eq(pipe(down), 0);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        msglog *log = NULL;
        if (msglog_open(&log, root, 0, NULL, 0, NULL) != MSGLOG_OK || msglog_claim(log) != MSGLOG_OK)
            _exit(91);
        tell(up[1]);
        if (!heard(down[0]))
            _exit(92);
        msglog_close(log);
        tell(up[1]);
        _exit(0);
    }
    cr_assert(heard(up[0]), "the holder did not claim the store");
    return pid;
}

static void expect_refused_by(msglog *log, pid_t holder)
{
    char want[512];

    cr_assert_eq(msglog_claim(log), MSGLOG_EBUSY);
    snprintf(want, sizeof want, "the store in %s is in use by process %ld", root, (long)holder);
    cr_assert_str_eq(msglog_errmsg(log), want);
}

static void expect_exit(pid_t pid, int code)
{
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == code, "child status 0x%x", status);
}

Test(claim, another_process_is_refused_with_the_holders_pid_until_it_closes)
{
    int up[2], down[2];
    pid_t holder = start_holder(up, down);
    msglog *log = open_store();

    expect_refused_by(log, holder);
    expect_refused_by(log, holder);   /* a refusal changes nothing */
    tell(down[1]);
    cr_assert(heard(up[0]), "the holder did not close");
    expect_exit(holder, 0);
    cr_assert_eq(msglog_claim(log), MSGLOG_OK, "%s", msglog_errmsg(log));
    msglog_close(log);
}

Test(claim, the_kernel_drops_the_claim_of_a_killed_holder)
{
    int up[2], down[2];
    pid_t holder = start_holder(up, down);
    msglog *log = open_store();
    int status;

    expect_refused_by(log, holder);
    cr_assert_eq(kill(holder, SIGKILL), 0);
    cr_assert_eq(waitpid(holder, &status, 0), holder);
    cr_assert(WIFSIGNALED(status));
    cr_assert_eq(msglog_claim(log), MSGLOG_OK, "%s", msglog_errmsg(log));
    msglog_close(log);
}

Test(claim, others_still_read_and_write_a_claimed_store)
{
    int go[2];
    pid_t child;
    msglog_id id;

    cr_assert_eq(pipe(go), 0);
    child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        msglog *log = NULL;
        msglog_conv_info *info = NULL;
        char want[512];
        if (!heard(go[0]) || msglog_open(&log, root, 0, NULL, 0, NULL) != MSGLOG_OK)
            _exit(91);
        if (msglog_send(log, &id, "c", 1, "from the child", 14) != MSGLOG_OK ||
            msglog_conv_info_get(log, &info, "c", 1) != MSGLOG_OK || info->n_messages != 2)
            _exit(92);
        msglog_free(info);
        snprintf(want, sizeof want, "the store in %s is in use by process %ld", root,
                 (long)getppid());
        if (msglog_claim(log) != MSGLOG_EBUSY || strcmp(msglog_errmsg(log), want) != 0)
            _exit(93);
        msglog_close(log);
        _exit(0);
    }
    msglog *log = open_store();
    cr_assert_eq(msglog_claim(log), MSGLOG_OK, "%s", msglog_errmsg(log));
    cr_assert_eq(msglog_claim(log), MSGLOG_OK, "claiming again on the same handle");
    cr_assert_eq(msglog_send(log, &id, "c", 1, "from the holder", 15), MSGLOG_OK);
    tell(go[1]);
    expect_exit(child, 0);
    msglog_close(log);
}

Test(claim, the_claim_file_holds_the_holders_pid)
{
    msglog *log = open_store();
    char *file = tmpdir_join(root, "claim.lock");
    char want[32];
    void *text = NULL;
    size_t len = 0;

    cr_assert_eq(msglog_claim(log), MSGLOG_OK);
    cr_assert_eq(tmpdir_read_file(file, &text, &len), 0);
    snprintf(want, sizeof want, "%ld\n", (long)getpid());
    cr_assert_eq(len, strlen(want));
    cr_assert_arr_eq(text, want, len);
    free(text);
    free(file);
    msglog_close(log);
}

Test(claim, null_handle)
{
    cr_assert_eq(msglog_claim(NULL), MSGLOG_EINVAL);
}
