/*
 * op_cmds.c - `msglog send`, `read`, `edit`, `delete`, `react`, `unreact`:
 * each opens the store, makes one op with the public API (committed before
 * the call returns) and prints the new op's id, REPLICA.SEQ. A refusal of
 * the merge rules (not the author, a deleted target, no reaction to remove)
 * is the library's error, printed with its reason; exit 1.
 */
#include "op_cmds.h"

#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "replay.h"   /* the CLI_* exit codes */

static const char send_usage[] =
    "usage: msglog send --dir DIR CONV TEXT\n"
    "  Writes message TEXT to conversation CONV and prints its id,\n"
    "  REPLICA.SEQ. It reaches the relay at the next `msglog sync` (or at\n"
    "  once when a `msglog sync --watch` runs on DIR). Put -- before a TEXT\n"
    "  that starts with '-'.\n";

static const char read_usage[] =
    "usage: msglog read --dir DIR CONV REPLICA.SEQ\n"
    "  Marks message REPLICA.SEQ of CONV, and everything before it, as read\n"
    "  by this store's user, and prints the id of the read marker.\n";

static const char edit_usage[] =
    "usage: msglog edit --dir DIR CONV REPLICA.SEQ TEXT\n"
    "  Replaces the text of message REPLICA.SEQ with TEXT and prints the\n"
    "  edit's id. Only the message's author (from any of their devices) may\n"
    "  edit it, and not once it is deleted.\n";

static const char delete_usage[] =
    "usage: msglog delete --dir DIR CONV REPLICA.SEQ\n"
    "  Deletes message REPLICA.SEQ (its author only) and prints the delete's\n"
    "  id. The text of the message and of its edits is erased from the store,\n"
    "  and from every store the delete reaches.\n";

static const char react_usage[] =
    "usage: msglog react --dir DIR CONV REPLICA.SEQ KEY\n"
    "  Adds reaction KEY (1..64 bytes, e.g. an emoji) of this store's user to\n"
    "  message REPLICA.SEQ and prints the reaction's id.\n";

static const char unreact_usage[] =
    "usage: msglog unreact --dir DIR CONV REPLICA.SEQ KEY\n"
    "  Removes this store's user's reaction KEY from message REPLICA.SEQ\n"
    "  and prints the id of the removal. There must be one to remove.\n";

/* Prints the id of the op a command just made (rc its result), or the
 * library's error; closes the store. */
static int print_new_op(const char *cmd, msglog *log, int rc, msglog_id id, const char *what)
{
    if (rc != MSGLOG_OK) {
        rc = cli_lib_error(cmd, log, what, rc);
    } else {
        char text[CLI_ID_MAX];
        cli_id_text(text, id);
        puts(text);
        rc = CLI_OK;
    }
    msglog_close(log);
    return rc;
}

/* The common start of the commands that name a message: --dir, CONV,
 * REPLICA.SEQ and `extra` more positionals; the store opened. */
static int open_on_message(const char *cmd, const char *usage, int argc, char **argv,
                           size_t extra, const char **pos, msglog **log, msglog_id *target)
{
    int rc = cli_open_conv(cmd, usage, argc, argv, NULL, pos, 2 + extra, log);

    if (rc != CLI_OK)
        return rc;
    if (cli_parse_id(pos[1], target) != 0) {
        msglog_close(*log);
        *log = NULL;
        return cli_usage_error(cmd, usage, "'%s' is not a message id REPLICA.SEQ", pos[1]);
    }
    return CLI_OK;
}

/* The exit code of a command's start that did not reach the op. */
static int start_failed(int rc)
{
    return rc == CLI_HELP ? CLI_OK : rc;
}

int send_main(int argc, char **argv)
{
    const char *pos[2];
    msglog *log = NULL;
    msglog_id id;
    int rc = cli_open_conv("send", send_usage, argc, argv, NULL, pos, 2, &log);

    if (rc != CLI_OK)
        return start_failed(rc);
    rc = msglog_send(log, &id, pos[0], strlen(pos[0]), pos[1], strlen(pos[1]));
    return print_new_op("send", log, rc, id, "cannot send");
}

/* msglog_mark_read and msglog_delete: an op on a message and nothing else. */
typedef int (*op_on_message_fn)(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                                msglog_id target);

static int run_on_message(const char *cmd, const char *usage, int argc, char **argv,
                          op_on_message_fn make, const char *what)
{
    const char *pos[2];
    msglog *log = NULL;
    msglog_id target, id;
    int rc = open_on_message(cmd, usage, argc, argv, 0, pos, &log, &target);

    if (rc != CLI_OK)
        return start_failed(rc);
    rc = make(log, &id, pos[0], strlen(pos[0]), target);
    return print_new_op(cmd, log, rc, id, what);
}

int read_main(int argc, char **argv)
{
    return run_on_message("read", read_usage, argc, argv, msglog_mark_read,
                          "cannot mark it read");
}

int delete_main(int argc, char **argv)
{
    return run_on_message("delete", delete_usage, argc, argv, msglog_delete, "cannot delete");
}

/* msglog_edit, msglog_react and msglog_unreact: an op on a message that
 * carries one more string (a text or a reaction key). */
typedef int (*op_with_text_fn)(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                               msglog_id target, const char *s, size_t len);

static int run_with_text(const char *cmd, const char *usage, int argc, char **argv,
                         op_with_text_fn make, const char *what)
{
    const char *pos[3];
    msglog *log = NULL;
    msglog_id target, id;
    int rc = open_on_message(cmd, usage, argc, argv, 1, pos, &log, &target);

    if (rc != CLI_OK)
        return start_failed(rc);
    rc = make(log, &id, pos[0], strlen(pos[0]), target, pos[2], strlen(pos[2]));
    return print_new_op(cmd, log, rc, id, what);
}

/* msglog_edit takes its text as bytes (const void *). */
static int edit_text(msglog *log, msglog_id *out, const char *conv, size_t conv_len,
                     msglog_id target, const char *text, size_t len)
{
    return msglog_edit(log, out, conv, conv_len, target, text, len);
}

int edit_main(int argc, char **argv)
{
    return run_with_text("edit", edit_usage, argc, argv, edit_text, "cannot edit");
}

int react_main(int argc, char **argv)
{
    return run_with_text("react", react_usage, argc, argv, msglog_react, "cannot react");
}

int unreact_main(int argc, char **argv)
{
    return run_with_text("unreact", unreact_usage, argc, argv, msglog_unreact,
                         "cannot remove the reaction");
}
