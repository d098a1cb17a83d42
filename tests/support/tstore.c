#include "support/tstore.h"

#include <stdlib.h>
#include <string.h>

#include "support/tmpdir.h"

uint64_t tclock_read(void *ctx)
{
    tclock *c = ctx;
    c->reads++;
    return c->now;
}

int tstore_open(msglog **out, const char *root, const char *name,
               uint64_t replica, const char *user, tclock *clk)
{
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = TSTORE_MAP_SIZE;
    if (clk != NULL) {
        opts.clock = tclock_read;
        opts.clock_ctx = clk;
    }
    char *path = tmpdir_join(root, name);
    if (path == NULL) {
        *out = NULL;
        return MSGLOG_ENOMEM;
    }
    int rc = msglog_open(out, path, replica, user, strlen(user), &opts);
    free(path);
    return rc;
}

void tstore_teardown(msglog **log, char **root)
{
    msglog_close(*log);
    *log = NULL;
    if (*root)
        tmpdir_remove(*root);
    free(*root);
    *root = NULL;
}
