/* Running part of a test in a child process: damage that used to crash a
 * process (SIGBUS, SIGSEGV, an abort inside LMDB) must be seen as such,
 * not end the test run. */
#ifndef TEST_CHILD_H
#define TEST_CHILD_H

#include <stddef.h>

/* Runs fn(ctx, out, out_len) in a forked child, bounded by `seconds` of
 * alarm against a hang. Returns what fn returned (an int in -128..127,
 * MSGLOG_* codes fit) and copies what it wrote into out (up to out_len
 * bytes; out may be NULL with out_len 0). *signal_out is the signal that
 * ended the child, or 0 when fn returned: then the return value means
 * something. */
int child_run(int (*fn)(void *ctx, void *out, size_t out_len), void *ctx, void *out,
              size_t out_len, unsigned seconds, int *signal_out);

#endif
