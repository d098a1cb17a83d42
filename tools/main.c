/* main.c - the `msglog` command: dispatches to its commands. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check_cmd.h"
#include "compact_cmd.h"
#include "demo.h"
#include "msglog.h"
#include "net_cmds.h"
#include "op_cmds.h"
#include "replay.h"
#include "store_cmds.h"

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
    "  init --dir DIR --user U [--replica N]\n"
    "      Create the store of a device of user U in DIR, with a random\n"
    "      replica id (or N).\n"
    "  send --dir DIR CONV TEXT\n"
    "      Write a message; prints its id REPLICA.SEQ.\n"
    "  read --dir DIR CONV REPLICA.SEQ\n"
    "      Mark a message (and what comes before it) as read.\n"
    "  edit --dir DIR CONV REPLICA.SEQ TEXT\n"
    "  delete --dir DIR CONV REPLICA.SEQ\n"
    "  react --dir DIR CONV REPLICA.SEQ KEY\n"
    "  unreact --dir DIR CONV REPLICA.SEQ KEY\n"
    "      Edit or delete one of this user's messages; add or remove a\n"
    "      reaction. Each prints the new op's id.\n"
    "  convs --dir DIR [--json]\n"
    "      List the conversations the store holds.\n"
    "  show --dir DIR CONV [--json] [--limit N] [--before ID | --after ID]\n"
    "      Print a conversation, or a page of it, with the delivery status\n"
    "      of the messages this store wrote (\xe2\x80\xa6 pending, \xe2\x9c\x93 sent, "
    "\xe2\x9c\x93\xe2\x9c\x93 delivered, read).\n"
    "  relay --listen HOST:PORT --dir DIR [--replica N] [--user U] [LIMITS]\n"
    "        [--log-level LEVEL]\n"
    "      Run a relay until SIGINT or SIGTERM (LIMITS, --memory-budget: relay\n"
    "      --help); it logs to stderr, and SIGUSR1 writes a STATS line.\n"
    "  check --dir DIR\n"
    "      Read the whole store and print each problem found, one a line\n"
    "      (exit 1 when there is one).\n"
    "  compact --dir DIR\n"
    "      Rewrite the store with its live pages only (the free pages, and any\n"
    "      erased text they still hold, go).\n"
    "  sync --connect HOST:PORT --dir DIR [--watch] [--timeout SECONDS]\n"
    "       [--keepalive SECONDS] [--conv CONV]...\n"
    "      Sync DIR with a relay once, or stay connected with --watch.\n"
    "  COMMAND --help\n"
    "      The details of a command (init, send, read, edit, delete, react,\n"
    "      unreact, convs, show, check, compact, relay, sync).\n"
    "  help, --help, -h\n"
    "      Print this help.\n"
    "  version, --version\n"
    "      Print the version of the library: msglog MAJOR.MINOR.PATCH.\n"
    "\n"
    "exit status:\n"
    "  0  success (demo: the replicas converged; sync: up to date)\n"
    "  1  a failure of the library, the system or the output (demo: the\n"
    "     replicas did not converge; sync: not up to date; relay and\n"
    "     sync --watch: the store is in use by another of them)\n"
    "  2  a bad command line, or an invalid trace; the message on stderr\n"
    "     reads \"msglog: TRACE:line N: reason\"\n";

static int usage_error(const char *fmt, const char *arg)
{
    fputs("msglog: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nusage: msglog COMMAND [ARGS] (commands: init, send, read, edit, delete, react, "
          "unreact, convs, show, check, compact, relay, sync, replay, demo); msglog --help\n",
          stderr);
    return CLI_INVALID;
}

static int is_help(const char *arg)
{
    return strcmp(arg, "help") == 0 || strcmp(arg, "--help") == 0 ||
           strcmp(arg, "-h") == 0;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    { "init", init_main },       { "send", send_main },     { "read", read_main },
    { "edit", edit_main },       { "delete", delete_main }, { "react", react_main },
    { "unreact", unreact_main }, { "convs", convs_main },   { "show", show_main },
    { "check", check_main },     { "compact", compact_main }, { "relay", relay_main },
    { "sync", sync_main },
};

static int dispatch(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("no command given%s", "");
    if (is_help(argv[1])) {
        fputs(help_text, stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("msglog %s\n", msglog_version());
        return CLI_OK;
    }
    if (strcmp(argv[1], "replay") == 0)
        return replay_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "demo") == 0)
        return demo_main(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
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
