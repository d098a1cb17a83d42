/* main.c - the `msglog` command: dispatches to replay and demo. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "demo.h"
#include "replay.h"

static const char help_text[] =
    "usage: msglog COMMAND [ARGS]\n"
    "\n"
    "msglog is the replication core of an offline-first chat: every device\n"
    "keeps its conversations in a local store and merges ops from others.\n"
    "\n"
    "commands:\n"
    "  replay TRACE [--dir DIR]\n"
    "      Run a replay trace (JSON Lines, see docs/cli.md) against real\n"
    "      stores, one per replica, and print the view of every replica at\n"
    "      each \"check\" event as one JSON line per conversation.\n"
    "      TRACE '-' reads standard input.\n"
    "      --dir DIR  keep the stores in DIR/replica-<id> (DIR is created\n"
    "                 when missing and must not hold stores of an earlier\n"
    "                 replay); default: a temporary directory, removed at\n"
    "                 exit.\n"
    "  demo\n"
    "      A scripted story: alice on two devices and bob go offline, write,\n"
    "      edit one message concurrently, react and delete, then reconnect\n"
    "      and converge. Runs in a temporary directory.\n"
    "  help, --help, -h\n"
    "      Print this help.\n"
    "\n"
    "exit status:\n"
    "  0  success (demo: the replicas converged)\n"
    "  1  a failure of the library, the system or the output (demo: the\n"
    "     replicas did not converge)\n"
    "  2  a bad command line, or an invalid trace; the message on stderr\n"
    "     reads \"msglog: TRACE:line N: reason\"\n";

static int usage_error(const char *fmt, const char *arg)
{
    fputs("msglog: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nusage: msglog replay TRACE [--dir DIR] | msglog demo | "
          "msglog --help\n", stderr);
    return CLI_INVALID;
}

static int is_help(const char *arg)
{
    return strcmp(arg, "help") == 0 || strcmp(arg, "--help") == 0 ||
           strcmp(arg, "-h") == 0;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("no command given%s", "");
    if (is_help(argv[1])) {
        fputs(help_text, stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "replay") == 0)
        return replay_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "demo") == 0)
        return demo_main(argc - 1, argv + 1);
    return usage_error("unknown command '%s'", argv[1]);
}

int main(int argc, char **argv)
{
    int rc = dispatch(argc, argv);

    /* Output that never reached its file (a full disk, a closed pipe) is a
     * failure even when every command above succeeded. */
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == CLI_OK) {
        fprintf(stderr, "msglog: cannot write the output: %s\n",
                strerror(errno));
        rc = CLI_FAIL;
    }
    return rc;
}
