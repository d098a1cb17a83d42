/*
 * Reader slots held by dead processes are reclaimed (mdb_reader_check).
 *
 * The public API never keeps an LMDB read transaction open between calls
 * (every read call begins and aborts its own, and with MDB_NOTLS an abort
 * frees the slot), so a process can only die holding a reader slot while it
 * is inside a read call. These tests make that moment last: a child opens
 * the store through the internal log/store.h, begins a read transaction
 * (store_txn_begin(s, 0, ...)), reads, and is SIGKILLed while holding it.
 *
 * A stale slot matters only while some other process keeps the environment
 * open: the first process to open an environment nobody else has open
 * resets the reader table anyway. So a "bystander" child keeps the store
 * open throughout (an app process, say), and the reclaim must come from
 * msglog_open(), which calls mdb_reader_check().
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log/store.h"
#include "msglog.h"
#include "support/check.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

static char *root, *path;

static void setup(void)
{
    root = tmpdir_make_fast("msglog-readers-");
    cr_assert_not_null(root);
    path = tmpdir_join(root, "s");
    msglog *log;
    CHECK_OK(tstore_open(&log, root, "s", 1, "alice", NULL));
    for (int i = 0; i < 20; i++) {
        msglog_id id;
        CHECK_OK(msglog_send(log, &id, "c", 1, "hello", 5));
    }
    msglog_close(log);
}

static void teardown(void)
{
    tmpdir_remove(root);
    free(root);
    free(path);
}

TestSuite(readers, .init = setup, .fini = teardown, .timeout = 120);

/* ------------------------------------------------------------------------ */
/* Children                                                                  */

/* Takes a reader slot and holds it: opens the store, begins a read
 * transaction, reads, says 'r' (or 'f' when it could not) and waits to be
 * killed. */
static pid_t spawn_reader(void)
{
    int pp[2];
    cr_assert_eq(pipe(pp), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(pp[0]);
        alarm(60);
        store *s;
        store_txn *t;
        store_val v;
        char ok = 'f';
        if (store_open(&s, path, &(store_config){ .map_size = TSTORE_MAP_SIZE, .create = 0 }, NULL) == MSGLOG_OK &&
            store_txn_begin(s, 0, &t) == MSGLOG_OK &&
            store_get(t, TBL_META, (store_val){"replica", 7}, &v) == MSGLOG_OK)
            ok = 'r';
        if (write(pp[1], &ok, 1) != 1)
            _exit(2);
        for (;;)
            pause();
    }
    close(pp[1]);
    char c = 0;
    ssize_t n;
    while ((n = read(pp[0], &c, 1)) < 0 && errno == EINTR)
        ;
    close(pp[0]);
    cr_assert_eq(c, 'r', "the reader child could not take a read transaction");
    return pid;
}

static void kill_wait(pid_t pid)
{
    kill(pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        cr_assert_eq(errno, EINTR);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/* The bystander: keeps the store open through msglog and obeys one-byte
 * commands: 'w' makes WRITES sends and answers 'd'; 'r' reads the
 * conversation's summary and answers the return code; 'q' closes and
 * exits. */
#define WRITES 150

typedef struct bystander {
    pid_t pid;
    int to, from;
} bystander;

static bystander spawn_bystander(void)
{
    int down[2], up[2];
    cr_assert_eq(pipe(down), 0);
    cr_assert_eq(pipe(up), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        alarm(60);
        msglog *log;
        signed char ans = (signed char)tstore_open(&log, root, "s", 1, "alice", NULL);
        if (write(up[1], &ans, 1) != 1 || ans != 0)
            _exit(2);
        char cmd;
        while (read(down[0], &cmd, 1) == 1) {
            if (cmd == 'w') {
                int rc = MSGLOG_OK;
                for (int i = 0; i < WRITES && rc == MSGLOG_OK; i++) {
                    msglog_id id;
                    rc = msglog_send(log, &id, "c", 1, "from the bystander", 18);
                }
                ans = rc == MSGLOG_OK ? 'd' : (signed char)rc;
            } else if (cmd == 'r') {
                msglog_conv_info *info = NULL;
                ans = (signed char)msglog_conv_info_get(log, &info, "c", 1);
                msglog_free(info);
            } else {
                break;
            }
            if (write(up[1], &ans, 1) != 1)
                _exit(2);
        }
        msglog_close(log);
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    bystander b = {pid, down[1], up[0]};
    signed char ans = 1;
    cr_assert_eq(read(b.from, &ans, 1), 1);
    cr_assert_eq(ans, 0, "the bystander could not open the store: %d", ans);
    return b;
}

static signed char ask(bystander *b, char cmd)
{
    cr_assert_eq(write(b->to, &cmd, 1), 1);
    signed char ans = 0;
    cr_assert_eq(read(b->from, &ans, 1), 1, "the bystander died");
    return ans;
}

static void bystander_quit(bystander *b)
{
    char q = 'q';
    cr_assert_eq(write(b->to, &q, 1), 1);
    int st;
    cr_assert_eq(waitpid(b->pid, &st, 0), b->pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(b->to);
    close(b->from);
}

/* ------------------------------------------------------------------------ */
/* Looking at the reader table (raw LMDB, while this process has the store
 * not open otherwise)                                                       */

typedef struct readers_seen {
    pid_t want;
    int found, lines;
} readers_seen;

static int reader_line(const char *msg, void *ctx)
{
    readers_seen *rs = ctx;
    /* "    pid     thread     txnid" */
    long pid = 0;
    if (sscanf(msg, " %ld", &pid) == 1) {
        rs->lines++;
        if (pid == (long)rs->want)
            rs->found++;
    }
    return 0;
}

/* How many slots of process `pid` the reader table lists (0 when it is
 * not listed); *maxreaders the table's size. */
static int slots_of(pid_t pid, int *maxreaders)
{
    MDB_env *env;
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_set_maxdbs(env, 16), 0);
    cr_assert_eq(mdb_env_set_mapsize(env, TSTORE_MAP_SIZE), 0);
    int rc = mdb_env_open(env, path, MDB_NOTLS | MDB_RDONLY, 0600);
    cr_assert_eq(rc, 0, "mdb_env_open: %s", mdb_strerror(rc));
    readers_seen rs = {pid, 0, 0};
    mdb_reader_list(env, reader_line, &rs);
    if (maxreaders) {
        unsigned m;
        mdb_env_get_maxreaders(env, &m);
        *maxreaders = (int)m;
    }
    mdb_env_close(env);
    return rs.found;
}

static off_t file_size(void)
{
    char *p = tmpdir_join(path, "data.mdb");
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    free(p);
    return st.st_size;
}

/* ------------------------------------------------------------------------ */

Test(readers, dead_reader_is_reclaimed_by_open)
{
    bystander b = spawn_bystander();
    pid_t r = spawn_reader();
    kill_wait(r);
    cr_assert_eq(slots_of(r, NULL), 1, "the dead reader holds its slot");

    /* Control: the bystander, which opened before the reader died and so
     * never checked the table, writes; the stale snapshot pins every page
     * freed since, so the file grows with every commit. */
    off_t s0 = file_size();
    cr_assert_eq(ask(&b, 'w'), 'd');
    off_t pinned = file_size() - s0;

    /* msglog_open reclaims the slot */
    msglog *log;
    CHECK_OK(tstore_open(&log, root, "s", 1, "alice", NULL));
    msglog_close(log);
    cr_assert_eq(slots_of(r, NULL), 0, "msglog_open left the dead reader's slot");

    /* Writes work, and now reuse freed pages: the same work grows the file
     * by a fraction of what it did while the slot was pinned. */
    CHECK_OK(tstore_open(&log, root, "s", 1, "alice", NULL));
    off_t s1 = file_size();
    for (int i = 0; i < WRITES; i++) {
        msglog_id id;
        CHECK_OK(msglog_send(log, &id, "c", 1, "from the bystander", 18));
    }
    off_t reclaimed = file_size() - s1;
    msglog_conv_info *info = check_info(log, "c", 1);
    cr_assert_eq(info->n_messages, 20 + 2 * WRITES);
    msglog_free(info);
    msglog_close(log);
    /* and the bystander, which never ran the check itself, benefits too */
    off_t s2 = file_size();
    cr_assert_eq(ask(&b, 'w'), 'd');
    off_t bystander_after = file_size() - s2;
    fprintf(stderr, "readers: %d sends grow data.mdb by %lld KiB with a dead reader's "
            "slot pinned, by %lld KiB (%lld KiB from the bystander) after msglog_open "
            "reclaimed it\n", WRITES, (long long)pinned / 1024,
            (long long)reclaimed / 1024, (long long)bystander_after / 1024);
    cr_assert_gt(pinned, 256 * 1024, "the control did not show pinning (%lld bytes): "
                 "the test would not see a stale slot", (long long)pinned);
    cr_assert_lt(reclaimed * 4, pinned, "after the reclaim the file still grows like "
                 "with the slot pinned (%lld vs %lld bytes)", (long long)reclaimed,
                 (long long)pinned);
    cr_assert_lt(bystander_after * 4, pinned);
    bystander_quit(&b);
}

Test(readers, full_table_of_dead_readers_is_reclaimed_by_open)
{
    int maxreaders = 0;
    slots_of(0, &maxreaders);
    cr_assert(maxreaders > 0 && maxreaders <= 1024, "maxreaders %d", maxreaders);
    bystander b = spawn_bystander();
    /* Every slot taken by a live reader, then all of them die. (Each
     * reader's own open checks the table, but its peers are alive then.) */
    pid_t *pids = calloc((size_t)maxreaders, sizeof *pids);
    cr_assert_not_null(pids);
    for (int i = 0; i < maxreaders; i++)
        pids[i] = spawn_reader();
    for (int i = 0; i < maxreaders; i++)
        kill_wait(pids[i]);
    cr_assert_eq(slots_of(pids[0], NULL), 1);
    /* the bystander cannot read any more: no slot is free */
    signed char rc = ask(&b, 'r');
    cr_assert_lt(rc, 0, "a read with a full table of dead readers succeeded");

    msglog *log;
    CHECK_OK(tstore_open(&log, root, "s", 1, "alice", NULL));
    msglog_conv_info *info = check_info(log, "c", 1);
    cr_assert_eq(info->n_messages, 20);
    msglog_free(info);
    msglog_id id;
    CHECK_OK(msglog_send(log, &id, "c", 1, "after the reclaim", 17));
    msglog_close(log);
    int left = 0;
    for (int i = 0; i < maxreaders; i++)
        left += slots_of(pids[i], NULL);
    cr_assert_eq(left, 0, "%d dead readers still hold slots", left);
    cr_assert_eq(ask(&b, 'r'), MSGLOG_OK, "the bystander reads again");
    fprintf(stderr, "readers: %d dead readers filled the table (a read failed: %d); "
            "msglog_open reclaimed all of them\n", maxreaders, rc);
    free(pids);
    bystander_quit(&b);
}
