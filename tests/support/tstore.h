/* Opening test stores with an injected clock. */
#ifndef TEST_TSTORE_H
#define TEST_TSTORE_H

#include <stdint.h>

#include "msglog.h"

/* A manual clock: every reading returns `now` (milliseconds); `reads`
 * counts the readings. */
typedef struct tclock {
    uint64_t now;
    uint64_t reads;
} tclock;

uint64_t tclock_read(void *ctx);

/* Small map for test stores. */
#define TSTORE_MAP_SIZE ((size_t)64 << 20)

/* Opens (creating) the store "<root>/<name>" for `replica` of `user` with
 * clock `clk` (NULL: the system clock) and a 64 MiB map. Returns the
 * msglog_open() code. */
int tstore_open(msglog **out, const char *root, const char *name,
               uint64_t replica, const char *user, tclock *clk);

/* Closes *log and removes the directory *root (both may be NULL), and sets
 * both to NULL: the teardown of a suite with one store under one root. */
void tstore_teardown(msglog **log, char **root);

#endif
