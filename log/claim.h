/* The claim of a store directory: an advisory lock that one process at a
 * time holds on DIR/claim.lock, with its pid written in the file for people
 * to read (the file keeps the last holder's pid after it is released). It is how the long-running network roles (a relay, a watching
 * client) keep a second one off the same store, while every other process
 * still opens, reads and writes it (LMDB is multi-process).
 *
 * POSIX record locks (fcntl): the kernel drops the lock when its process
 * ends, however (SIGKILL included), and when the process closes the file;
 * they belong to a process, so a second claim from the same process would
 * succeed (a process must not open one store twice anyway). */
#ifndef MSGLOG_LOG_CLAIM_H
#define MSGLOG_LOG_CLAIM_H

/*
 * Claims directory `dir`.
 * @param[out] fd      the open, locked file: hold it, release with
 *                     claim_release(); -1 on failure
 * @param[out] holder  on MSGLOG_EBUSY, the pid of the process holding the
 *                     claim (0 when it cannot be told)
 * @param[out] err     on MSGLOG_EIO, the errno
 * @return MSGLOG_OK; MSGLOG_EBUSY when another process holds it;
 *         MSGLOG_EIO (the file cannot be made, opened or locked);
 *         MSGLOG_ENOMEM.
 */
int claim_take(const char *dir, int *fd, long *holder, int *err);

/* Releases the claim taken as fd; -1 does nothing. */
void claim_release(int fd);

#endif
