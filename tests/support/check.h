/* Assertion helpers shared by the API tests (Criterion). */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "msglog.h"
#include "support/dump.h"

/* Asserts that `call` returns MSGLOG_OK, printing the code and text. */
#define CHECK_OK(call)                                                        \
    do {                                                                      \
        int rc_ = (call);                                                     \
        cr_assert_eq(rc_, MSGLOG_OK, "%s -> %d (%s)", #call, rc_,             \
                     msglog_strerror(rc_));                                   \
    } while (0)

/* The whole view of a store, as text (asserting success). */
char *check_snapshot(msglog *log);

/* Asserts that the store's view is still `before` (frees nothing). */
void check_unchanged(msglog *log, const char *before, const char *what);

/* Asserts that `call` on `log` returns `expect` and leaves the view as it
 * was. */
#define CHECK_REFUSED(log, expect, call)                                      \
    do {                                                                      \
        char *before_ = check_snapshot(log);                                  \
        int rc_ = (call);                                                     \
        cr_assert_eq(rc_, (expect), "%s -> %d (%s), expected %d (%s)", #call, \
                     rc_, msglog_strerror(rc_), (int)(expect),                \
                     msglog_strerror(expect));                                \
        check_unchanged(log, before_, #call);                                 \
        free(before_);                                                        \
    } while (0)

/* Like CHECK_REFUSED, for codes where either of two is right. */
#define CHECK_REFUSED2(log, e1, e2, call)                                     \
    do {                                                                      \
        char *before_ = check_snapshot(log);                                  \
        int rc_ = (call);                                                     \
        cr_assert(rc_ == (e1) || rc_ == (e2),                                 \
                  "%s -> %d (%s), expected %d or %d", #call, rc_,             \
                  msglog_strerror(rc_), (int)(e1), (int)(e2));                \
        check_unchanged(log, before_, #call);                                 \
        free(before_);                                                        \
    } while (0)

/* Asserts that msglog_check finds nothing wrong with the store, printing
 * the first problem when it does. */
void check_whole(msglog *log, const char *what);

/* Moves op `id` of `conv` from one store to another (op_bytes + receive). */
void check_forward(msglog *from, msglog *to, const char *conv, size_t conv_len,
                   msglog_id id);

/* One full one-way sync: `to` pulls from `from` (conv NULL: all). */
void check_sync(msglog *from, msglog *to, const char *conv, size_t conv_len);

/* The message `id` of conv (asserting it is there); free with msglog_free. */
msglog_page *check_get(msglog *log, const char *conv, size_t conv_len,
                       msglog_id id);

/* Conv info (asserting success); free with msglog_free. */
msglog_conv_info *check_info(msglog *log, const char *conv, size_t conv_len);

/* Asserts a msglog_str equals the given bytes (and is NUL-terminated). */
void check_str(msglog_str s, const void *want, size_t want_len,
               const char *what);

/* Does buffer hay contain the bytes of needle? */
int check_contains(const void *hay, size_t hay_len, const void *needle,
                   size_t needle_len);

#endif
