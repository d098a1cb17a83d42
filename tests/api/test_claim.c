/* msglog_claim: one process at a time may claim a store (a relay or a
 * watching client: include/msglog.h), others are refused with the holder's
 * pid and keep reading and writing; the claim goes with msglog_close() and
 * with the holder's death, SIGKILL included. Each other process is a fork
 * that opens its own handle after the fork; the two sides wait on each
 * other through pipes (support/handshake.h), never on a clock. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msglog.h"
#include "support/handshake.h"
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

/* A child that opens the store and claims it, says so, then closes the
 * handle when told (or waits there until killed). */
static pid_t start_holder(handshake *h)
{
    pid_t pid = handshake_fork(h);

    cr_assert_neq(pid, -1);
    if (pid == 0) {
        msglog *log = NULL;
        if (msglog_open(&log, root, 0, NULL, 0, NULL) != MSGLOG_OK || msglog_claim(log) != MSGLOG_OK)
            _exit(91);
        if (handshake_tell(h) != 0 || !handshake_heard(h))
            _exit(92);
        msglog_close(log);
        _exit(handshake_tell(h) == 0 ? 0 : 93);
    }
    cr_assert(handshake_heard(h), "the holder did not claim the store");
    return pid;
}

/* The message msglog_claim gives when `holder` has the claim. */
static void in_use_text(char *out, size_t n, long holder)
{
    snprintf(out, n, "the store in %s is in use by process %ld", root, holder);
}

static void expect_refused_by(msglog *log, pid_t holder)
{
    char want[512];

    cr_assert_eq(msglog_claim(log), MSGLOG_EBUSY);
    in_use_text(want, sizeof want, (long)holder);
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
    handshake h;
    pid_t holder = start_holder(&h);
    msglog *log = open_store();

    expect_refused_by(log, holder);
    expect_refused_by(log, holder);   /* a refusal changes nothing */
    cr_assert_eq(handshake_tell(&h), 0);
    cr_assert(handshake_heard(&h), "the holder did not close");
    expect_exit(holder, 0);
    cr_assert_eq(msglog_claim(log), MSGLOG_OK, "%s", msglog_errmsg(log));
    msglog_close(log);
}

Test(claim, the_kernel_drops_the_claim_of_a_killed_holder)
{
    handshake h;
    pid_t holder = start_holder(&h);
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
    handshake h;
    pid_t child = handshake_fork(&h);
    msglog_id id;

    cr_assert_neq(child, -1);
    if (child == 0) {
        msglog *log = NULL;
        msglog_conv_info *info = NULL;
        char want[512];
        if (!handshake_heard(&h) || msglog_open(&log, root, 0, NULL, 0, NULL) != MSGLOG_OK)
            _exit(91);
        if (msglog_send(log, &id, "c", 1, "from the child", 14) != MSGLOG_OK ||
            msglog_conv_info_get(log, &info, "c", 1) != MSGLOG_OK || info->n_messages != 2)
            _exit(92);
        msglog_free(info);
        in_use_text(want, sizeof want, (long)getppid());
        if (msglog_claim(log) != MSGLOG_EBUSY || strcmp(msglog_errmsg(log), want) != 0)
            _exit(93);
        msglog_close(log);
        _exit(0);
    }
    msglog *log = open_store();
    cr_assert_eq(msglog_claim(log), MSGLOG_OK, "%s", msglog_errmsg(log));
    cr_assert_eq(msglog_claim(log), MSGLOG_OK, "claiming again on the same handle");
    cr_assert_eq(msglog_send(log, &id, "c", 1, "from the holder", 15), MSGLOG_OK);
    cr_assert_eq(handshake_tell(&h), 0);
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
