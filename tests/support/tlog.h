/* What the tests of log/ share: a directory for their store, and the
 * assertion that a log/ call returned MSGLOG_OK (log/ has no strerror). */
#ifndef TEST_TLOG_H
#define TEST_TLOG_H

#include <criterion/criterion.h>

#include "msglog.h"

#define TLOG_OK(call)                                                        \
    do {                                                                     \
        int rc_ = (call);                                                    \
        cr_assert_eq(rc_, MSGLOG_OK, "%s -> %d", #call, rc_);                \
    } while (0)

/* A fresh directory *root (named <prefix>XXXXXX under $TMPDIR or /tmp)
 * and the store's path in it, *dbpath = <root>/db (not made). */
void tlog_dirs(const char *prefix, char **root, char **dbpath);

/* Removes *root with everything in it and frees both paths. */
void tlog_dirs_remove(char **root, char **dbpath);

#endif
