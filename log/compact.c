/* Compacting a store in place: LMDB's compacting copy, checked, then
 * renamed over the data file (log/compact.h). */
#include "log/compact.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/store_env.h"
#include "msglog.h"

#define TMP_DIR "compact.tmp"

/* Paths of the store's directory. */
typedef struct paths {
    char dir[4096], data[4200], lock[4200], tmp[4200], tmp_data[4300], tmp_lock[4300];
} paths;

static int make_paths(paths *p, const char *dir)
{
    if (snprintf(p->dir, sizeof p->dir, "%s", dir) >= (int)sizeof p->dir)
        return -1;
    snprintf(p->data, sizeof p->data, "%s/data.mdb", dir);
    snprintf(p->lock, sizeof p->lock, "%s/lock.mdb", dir);
    snprintf(p->tmp, sizeof p->tmp, "%s/" TMP_DIR, dir);
    snprintf(p->tmp_data, sizeof p->tmp_data, "%s/data.mdb", p->tmp);
    snprintf(p->tmp_lock, sizeof p->tmp_lock, "%s/lock.mdb", p->tmp);
    return 0;
}

static int fail(char *why, int rc, const char *what, const char *path)
{
    snprintf(why, STORE_WHY_MAX, "%s %.200s: %.100s", what, path, strerror(errno));
    return rc;
}

/* Takes LMDB's own lock byte of the store for writing. Every process that
 * has the store open holds it shared (LMDB's first-opener test), so this
 * fails while another one does, and a process opening it waits until this
 * process's locks on the file go, at the close of its environment. Our own
 * shared lock is simply upgraded (fcntl locks are per process). */
static int take_alone(const paths *p, int *fd, char *why)
{
    struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

    if ((*fd = open(p->lock, O_RDWR | O_CLOEXEC)) < 0)
        return fail(why, MSGLOG_EIO, "cannot open", p->lock);
    if (fcntl(*fd, F_SETLK, &l) == 0)
        return MSGLOG_OK;
    l.l_type = F_WRLCK;
    if (fcntl(*fd, F_GETLK, &l) == 0 && l.l_type != F_UNLCK)
        snprintf(why, STORE_WHY_MAX, "the store in %.200s is open in process %ld: compacting "
                 "needs it alone", p->dir, (long)l.l_pid);
    else
        snprintf(why, STORE_WHY_MAX, "the store in %.200s is open in another process: compacting "
                 "needs it alone", p->dir);
    return MSGLOG_EBUSY;
}

static void remove_tmp(const paths *p)
{
    unlink(p->tmp_data);
    unlink(p->tmp_lock);
    rmdir(p->tmp);
}

static int sync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    int rc = fd < 0 || fsync(fd) != 0 ? -1 : 0;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The compacted copy in p->tmp, with data.mdb's mode, synced, and opened
 * and checked as a store. */
static int make_copy(store *s, const paths *p, const store_config *cfg, char *why)
{
    struct stat st;
    if (stat(p->data, &st) != 0)
        return fail(why, MSGLOG_EIO, "cannot stat", p->data);
    remove_tmp(p);   /* what a compaction that died left */
    if (mkdir(p->tmp, 0700) != 0)
        return fail(why, MSGLOG_EIO, "cannot make", p->tmp);
    int rc = mdb_env_copy2(store_env(s), p->tmp, MDB_CP_COMPACT);
    if (rc) {
        errno = rc;
        return fail(why, rc == ENOSPC || rc == EDQUOT ? MSGLOG_EFULL : MSGLOG_EIO,
                    "cannot copy the store into", p->tmp);
    }
    if (chmod(p->tmp_data, st.st_mode & 07777) != 0 || sync_path(p->tmp_data, O_RDONLY) != 0)
        return fail(why, MSGLOG_EIO, "cannot set up", p->tmp_data);
    store_config check = *cfg;
    check.create = 0;
    check.init = NULL;
    store *copy = NULL;
    rc = store_open(&copy, p->tmp, &check, why);
    store_close(copy);
    return rc;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Closes *s and opens the store in dir again. Needed after any step that
 * opened lock.mdb beside LMDB: closing that descriptor drops every fcntl
 * lock this process holds on the file, LMDB's own included. */
static int reopen(store **s, const char *dir, const store_config *cfg, int fd, char *why)
{
    store_config again = *cfg;
    again.create = 0;
    store_close(*s);     /* the old file's map; this process's locks go */
    *s = NULL;
    if (fd >= 0)
        close(fd);
    return store_open(s, dir, &again, why);
}

int store_compact(store **s, const store_config *cfg, uint64_t *before, uint64_t *after,
                  char *why)
{
    paths p;
    int fd = -1;
    why[0] = '\0';
    if (make_paths(&p, store_path(*s)) != 0) {
        snprintf(why, STORE_WHY_MAX, "the store's path is too long");
        return MSGLOG_EIO;
    }
    *before = *after = file_size(p.data);
    int rc = take_alone(&p, &fd, why);
    if (!rc)
        rc = make_copy(*s, &p, cfg, why);
    if (!rc && rename(p.tmp_data, p.data) != 0)
        rc = fail(why, MSGLOG_EIO, "cannot rename the copy over", p.data);
    if (!rc)
        sync_path(p.dir, O_RDONLY | O_DIRECTORY);
    remove_tmp(&p);
    char again[STORE_WHY_MAX];
    int reopened = reopen(s, p.dir, cfg, fd, rc ? again : why);
    *after = file_size(p.data);
    return rc ? rc : reopened;
}
