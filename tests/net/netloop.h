/* The libuv loop the in-process network tests run on (tests/net/test_*.c):
 * one loop, a guard timer that fails the test after NETLOOP_GUARD_MS, and
 * waits bounded by a timer, never placed by one. */
#ifndef TEST_NETLOOP_H
#define TEST_NETLOOP_H

#include <stdint.h>
#include <uv.h>

#define NETLOOP_GUARD_MS 20000     /* the whole test, teardown included */

extern uv_loop_t loop;
extern char *root;       /* the test's own directory */

/* Makes root (a fresh directory named prefix...), ignores SIGPIPE, makes
 * the loop and starts the guard: a suite's .init. */
void netloop_setup(const char *prefix);

/* Removes root: a suite's .fini. After a failed assertion the loop is left
 * as it was: the worker process ends with the test. */
void netloop_teardown(void);

/* Runs the loop until pred(arg) holds; fails the test after `ms`. */
void run_until(int (*pred)(void *), void *arg, uint64_t ms, const char *what);

/* Runs the loop for `ms` whatever happens. */
void run_for(uint64_t ms);

/* Call after every client and relay was closed: runs their close callbacks
 * (within the guard) and asserts that nothing is left on the loop. */
void finish_loop(void);

/* The wall clock, and a monotonic one, in ms. */
uint64_t wall_ms(void);
uint64_t mono_ms(void);

#endif
