/* store_cmds.h - the commands on one local store: init, send, read, show.
 * argv[0] is the command name; each returns a CLI_* exit code. */
#ifndef MSGLOG_TOOLS_STORE_CMDS_H
#define MSGLOG_TOOLS_STORE_CMDS_H

int init_main(int argc, char **argv);
int send_main(int argc, char **argv);
int read_main(int argc, char **argv);
int show_main(int argc, char **argv);

#endif /* MSGLOG_TOOLS_STORE_CMDS_H */
