#include "support/tlog.h"

#include <stdlib.h>

#include "support/tmpdir.h"

void tlog_dirs(const char *prefix, char **root, char **dbpath)
{
    *root = tmpdir_make(prefix);
    cr_assert_not_null(*root);
    *dbpath = tmpdir_join(*root, "db");
    cr_assert_not_null(*dbpath);
}

void tlog_dirs_remove(char **root, char **dbpath)
{
    if (*root)
        tmpdir_remove(*root);
    free(*root);
    free(*dbpath);
    *root = *dbpath = NULL;
}
