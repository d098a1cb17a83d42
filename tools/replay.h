/*
 * replay.h - `msglog replay TRACE [--dir DIR]`: runs a conformance trace
 * (docs/cli.md) against real stores, and the scratch-directory helpers that
 * `msglog demo` shares with it.
 */
#ifndef MSGLOG_TOOLS_REPLAY_H
#define MSGLOG_TOOLS_REPLAY_H

/* Exit codes of every msglog command. */
#define CLI_OK 0       /* done; for demo: the replicas converged */
#define CLI_FAIL 1     /* the library, the system or the output failed */
#define CLI_INVALID 2  /* bad command line, or an invalid trace */

/* argv[0] is "replay". @return a CLI_* exit code. */
int replay_main(int argc, char **argv);

/*
 * Creates a fresh private directory "$TMPDIR/msglog-<what>-XXXXXX"
 * (TMPDIR defaults to /tmp). @return a string to free(), or NULL after
 * printing why on stderr.
 */
char *replay_tmpdir_create(const char *what);

/* Removes `path` and everything under it (no symlink is followed).
 * @return 0, or -1 after printing why on stderr. */
int replay_tmpdir_remove(const char *path);

#endif /* MSGLOG_TOOLS_REPLAY_H */
