/*
 * cli_util.h - what the store and network commands (store_cmds.c,
 * net_cmds.c) share: option parsing, argument formats, opening a store.
 * Every function that fails prints "msglog: CMD: reason" on stderr.
 */
#ifndef MSGLOG_TOOLS_CLI_UTIL_H
#define MSGLOG_TOOLS_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "msglog.h"

/* One option of a command: "--name VALUE" (or "--name=VALUE") when `value`
 * is set, a flag otherwise. A `list` option may repeat: its values are
 * collected in list[0..*n_list) (room for argc entries is the caller's). */
typedef struct cli_opt {
    const char *name;          /* without the dashes */
    const char **value;        /* NULL: a flag */
    int *flag;                 /* for flags: set to 1 */
    const char **list;         /* a repeatable option */
    size_t *n_list;
} cli_opt;

#define CLI_HELP (-1)   /* cli_parse: --help was printed; exit 0 */

/*
 * Parses argv[1..argc) (argv[0] is the command) into options and up to
 * max_pos positional arguments; "--" ends the options (a message text may
 * start with "-"). --help / -h prints `usage` on stdout.
 * @return CLI_OK; CLI_HELP; CLI_INVALID after printing the error and usage.
 */
int cli_parse(const char *cmd, int argc, char **argv, const cli_opt *opts,
              const char **pos, size_t max_pos, size_t *n_pos, const char *usage);

/* Prints "msglog: CMD: <fmt...>" and the usage line; @return CLI_INVALID. */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...);

/* Prints "msglog: CMD: what: errmsg (strerror)"; @return CLI_FAIL. */
int cli_lib_error(const char *cmd, msglog *log, const char *what, int rc);

/* Parses a decimal integer in [min, max]. @return 0, or -1. */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses a byte count, a decimal integer with an optional K, M or G suffix
 * (KiB, MiB, GiB), in [min, max]. @return 0, or -1. */
int cli_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses "REPLICA.SEQ" (both >= 1; "REPLICA:SEQ" too, the form earlier
 * versions printed). @return 0, or -1. */
int cli_parse_id(const char *s, msglog_id *out);

/* Formats an id as "REPLICA.SEQ", the one form the CLI prints (the
 * replay contract's too). */
#define CLI_ID_MAX 48
void cli_id_text(char out[CLI_ID_MAX], msglog_id id);

/* Parses "HOST:PORT" or "[V6ADDR]:PORT" into host (n bytes of room) and
 * port (0 allowed when allow_zero). @return 0, or -1. */
int cli_parse_hostport(const char *s, char *host, size_t n, uint16_t *port, int allow_zero);

/* Prints "msglog: CMD: what DIR: <msglog_open_errmsg> (strerror)" for a
 * failed msglog_open; @return CLI_FAIL. */
int cli_open_error(const char *cmd, const char *dir, const char *what, int rc);

/* Opens the existing store in dir with its own identity. A directory that
 * holds no store is an error that says to run `msglog init`.
 * @return CLI_OK, or CLI_FAIL after printing why. */
int cli_open_store(msglog **out, const char *cmd, const char *dir);

/* Parses --dir, the options of `extra` (NULL, or at most CLI_MAX_OPTS
 * ending with a NULL name) and exactly `want` positionals, the first a
 * conversation id, then opens the store in DIR.
 * @return CLI_OK; CLI_HELP; CLI_INVALID or CLI_FAIL after printing why. */
#define CLI_MAX_OPTS 8
int cli_open_conv(const char *cmd, const char *usage, int argc, char **argv,
                  const cli_opt *extra, const char **pos, size_t want, msglog **log);

#endif /* MSGLOG_TOOLS_CLI_UTIL_H */
