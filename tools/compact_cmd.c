/*
 * compact_cmd.c - `msglog compact --dir DIR`: rewrites the store with its
 * live pages only (msglog_compact), which also drops the free pages that may
 * still hold text a delete erased. Public API only.
 */
#include "compact_cmd.h"

#include <inttypes.h>
#include <stdio.h>

#include "cli_util.h"
#include "msglog.h"
#include "replay.h"   /* the CLI_* exit codes */

static const char compact_usage[] =
    "usage: msglog compact --dir DIR\n"
    "  Rewrites the store in DIR holding only its live pages, and prints the\n"
    "  data file's size before and after. The free pages go, and with them\n"
    "  whatever text deletes erased but the file still held. The store must\n"
    "  not be open elsewhere (stop its relay or `sync --watch` first): exit 1\n"
    "  with the process that has it. Its file mode is kept.\n";

int compact_main(int argc, char **argv)
{
    const char *dir = NULL, *pos[1];
    size_t n_pos;
    cli_opt opts[] = { { "dir", &dir, NULL, NULL, NULL }, { NULL, NULL, NULL, NULL, NULL } };
    int rc = cli_parse("compact", argc, argv, opts, pos, 0, &n_pos, compact_usage);

    if (rc != CLI_OK)
        return rc == CLI_HELP ? CLI_OK : rc;
    if (!dir)
        return cli_usage_error("compact", compact_usage, "--dir is required");
    msglog *log = NULL;
    if ((rc = cli_open_store(&log, "compact", dir)) != CLI_OK)
        return rc;
    uint64_t before = 0, after = 0;
    rc = msglog_compact(log, &before, &after);
    if (rc != MSGLOG_OK)
        rc = cli_lib_error("compact", log, "cannot compact", rc);
    else
        printf("%s: data.mdb %" PRIu64 " -> %" PRIu64 " bytes\n", dir, before, after);
    msglog_close(log);
    return rc == MSGLOG_OK ? CLI_OK : rc;
}
