/*
 * check_cmd.c - `msglog check --dir DIR`: reads the whole store and prints
 * what is wrong with it, one line per problem on stdout (msglog_check).
 * A store that does not even open is one problem: why it does not.
 * Public API only.
 */
#include "check_cmd.h"

#include <inttypes.h>
#include <stdio.h>

#include "cli_util.h"
#include "msglog.h"
#include "replay.h"

static const char check_usage[] =
    "usage: msglog check --dir DIR\n"
    "  Reads the whole store and prints each problem it finds on one line:\n"
    "  a record whose checksum fails or that does not decode, a record that\n"
    "  points at another that is missing or disagrees, a conversation whose\n"
    "  vector, counts or digest are not those of its ops. A store that does\n"
    "  not open prints why (a truncated data file...). Nothing is written.\n"
    "  Exit status 0 when the store is whole, 1 when it is damaged.\n";

static void print_problem(void *ctx, const char *problem)
{
    (void)ctx;
    puts(problem);
}

int check_main(int argc, char **argv)
{
    const char *dir = NULL, *pos[1];
    size_t n_pos;
    cli_opt opts[] = { { "dir", &dir, NULL, NULL, NULL }, { NULL, NULL, NULL, NULL, NULL } };
    int rc = cli_parse("check", argc, argv, opts, pos, 0, &n_pos, check_usage);

    if (rc != CLI_OK)
        return rc == CLI_HELP ? CLI_OK : rc;
    if (!dir)
        return cli_usage_error("check", check_usage, "--dir is required");
    msglog *log = NULL;
    rc = msglog_open(&log, dir, 0, NULL, 0, NULL);
    if (rc != MSGLOG_OK) {
        puts(*msglog_open_errmsg() ? msglog_open_errmsg() : msglog_strerror(rc));
        return CLI_FAIL;
    }
    uint64_t n = 0;
    rc = msglog_check(log, print_problem, NULL, &n);
    if (rc != MSGLOG_OK && rc != MSGLOG_ECORRUPT)
        cli_lib_error("check", log, "the check did not finish", rc);
    else if (n)
        fprintf(stderr, "msglog: check: %s: %" PRIu64 " problem%s\n", dir, n, n == 1 ? "" : "s");
    msglog_close(log);
    return rc == MSGLOG_OK ? CLI_OK : CLI_FAIL;
}
