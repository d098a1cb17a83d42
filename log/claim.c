/* The claim of a store directory (log/claim.h). */
#include "log/claim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msglog.h"

#define CLAIM_FILE "/claim.lock"
/* A holder can release between our refused lock and our question who holds
 * it: try again a few times before calling it busy. */
#define CLAIM_TRIES 3

static struct flock whole_file(short type)
{
    struct flock fl;

    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    return fl;
}

/* Our pid into the claimed file, for people looking. @return 0 or -1. */
static int write_pid(int fd)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());

    return ftruncate(fd, 0) == 0 && pwrite(fd, text, (size_t)n, 0) == n ? 0 : -1;
}

/* The pid written in the file (0 when none): the holder, for a kernel that
 * does not tell (another pid namespace). */
static long read_pid(int fd)
{
    char text[32];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);

    if (n <= 0)
        return 0;
    text[n] = '\0';
    return strtol(text, NULL, 10);
}

/* The pid of the process holding fd's file locked; 0 when nobody does. */
static long lock_holder(int fd)
{
    struct flock fl = whole_file(F_WRLCK);

    if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK)
        return 0;
    return fl.l_pid > 0 ? (long)fl.l_pid : read_pid(fd);
}

static int open_claim_file(const char *dir, int *err)
{
    size_t n = strlen(dir);
    char *path = malloc(n + sizeof CLAIM_FILE);
    int fd;

    if (!path) {
        *err = ENOMEM;
        return -1;
    }
    memcpy(path, dir, n);
    memcpy(path + n, CLAIM_FILE, sizeof CLAIM_FILE);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    *err = errno;
    free(path);
    return fd;
}

int claim_take(const char *dir, int *fd, long *holder, int *err)
{
    *fd = -1;
    *holder = 0;
    *err = 0;
    int f = open_claim_file(dir, err);
    if (f < 0)
        return *err == ENOMEM ? MSGLOG_ENOMEM : MSGLOG_EIO;
    for (int i = 0; i < CLAIM_TRIES; i++) {
        struct flock fl = whole_file(F_WRLCK);
        if (fcntl(f, F_SETLK, &fl) == 0) {
            /* Best effort: the lock is the claim, and a full disk must not
             * keep a relay from starting. */
            (void)write_pid(f);
            *fd = f;
            return MSGLOG_OK;
        }
        if (errno != EACCES && errno != EAGAIN) {
            *err = errno;
            close(f);
            return MSGLOG_EIO;
        }
        if ((*holder = lock_holder(f)) != 0)
            break;
    }
    close(f);
    return MSGLOG_EBUSY;
}

void claim_release(int fd)
{
    if (fd >= 0)
        close(fd);
}
