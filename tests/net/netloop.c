/* The libuv loop of the in-process network tests (netloop.h). */
#include "netloop.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/tmpdir.h"

uv_loop_t loop;
char *root;
static uv_timer_t guard;    /* fails the test after NETLOOP_GUARD_MS */
static uv_timer_t waiter;   /* ends one wait */
static int wait_over;

static void guard_fired(uv_timer_t *t)
{
    (void)t;
    cr_assert_fail("the test took more than %d ms (guard timer)", NETLOOP_GUARD_MS);
}

static void waiter_fired(uv_timer_t *t)
{
    (void)t;
    wait_over = 1;
}

uint64_t wall_ms(void)
{
    uv_timeval64_t tv;
    cr_assert_eq(uv_gettimeofday(&tv), 0);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000;
}

void run_until(int (*pred)(void *), void *arg, uint64_t ms, const char *what)
{
    if (pred(arg))
        return;
    wait_over = 0;
    uv_update_time(&loop);
    uv_timer_start(&waiter, waiter_fired, ms, 0);
    while (!pred(arg) && !wait_over)
        uv_run(&loop, UV_RUN_ONCE);
    uv_timer_stop(&waiter);
    cr_assert(pred(arg), "timed out after %" PRIu64 " ms waiting for %s", ms, what);
}

void run_for(uint64_t ms)
{
    wait_over = 0;
    uv_update_time(&loop);
    uv_timer_start(&waiter, waiter_fired, ms, 0);
    while (!wait_over)
        uv_run(&loop, UV_RUN_ONCE);
}

void netloop_setup(const char *prefix)
{
    root = tmpdir_make_fast(prefix);
    cr_assert_not_null(root);
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(uv_timer_init(&loop, &guard), 0);
    cr_assert_eq(uv_timer_init(&loop, &waiter), 0);
    uv_timer_start(&guard, guard_fired, NETLOOP_GUARD_MS, 0);
    /* The guard alone does not keep uv_run(UV_RUN_DEFAULT) going. */
    uv_unref((uv_handle_t *)&guard);
}

void netloop_teardown(void)
{
    if (root) {
        tmpdir_remove(root);
        free(root);
        root = NULL;
    }
}

static void walk_cb(uv_handle_t *h, void *arg)
{
    char *out = arg;
    size_t n = strlen(out);
    if (h == (uv_handle_t *)&guard || h == (uv_handle_t *)&waiter)
        return;
    snprintf(out + n, 512 - n, " %s%s", uv_handle_type_name(uv_handle_get_type(h)),
             uv_is_closing(h) ? "(closing)" : "");
}

void finish_loop(void)
{
    char left[512] = "";

    uv_timer_stop(&waiter);
    uv_run(&loop, UV_RUN_DEFAULT);   /* returns once only the guard is left */
    uv_walk(&loop, walk_cb, left);
    cr_assert_str_empty(left, "handles left on the loop:%s", left);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_close((uv_handle_t *)&waiter, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0, "uv_loop_close: handles are still open");
}
