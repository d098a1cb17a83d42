/* A forked child and its parent waiting on each other through pipes, never
 * on a clock: each side tells the other one byte ("done", "go on") and
 * waits for the other's. */
#ifndef TEST_HANDSHAKE_H
#define TEST_HANDSHAKE_H

#include <sys/types.h>

/* This side's ends of the two pipes. */
typedef struct handshake {
    int rd, wr;
} handshake;

/* Forks. Each side keeps only its own ends, so the death of one side ends
 * the other's wait (handshake_heard returns 0) instead of hanging it.
 * @return fork()'s result: the child's pid in the parent, 0 in the child,
 *         -1 when it failed (errno set). */
pid_t handshake_fork(handshake *h);

/* Tells the other side. @return 0, or -1 when it is gone. */
int handshake_tell(const handshake *h);

/* Waits for the other side's word. @return 1, or 0 when it ended first. */
int handshake_heard(const handshake *h);

#endif
