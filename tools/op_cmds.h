/* op_cmds.h - the commands that write one op to a local store: send, read
 * (mark as read), edit, delete, react, unreact. argv[0] is the command name;
 * each returns a CLI_* exit code. */
#ifndef MSGLOG_TOOLS_OP_CMDS_H
#define MSGLOG_TOOLS_OP_CMDS_H

int send_main(int argc, char **argv);
int read_main(int argc, char **argv);
int edit_main(int argc, char **argv);
int delete_main(int argc, char **argv);
int react_main(int argc, char **argv);
int unreact_main(int argc, char **argv);

#endif /* MSGLOG_TOOLS_OP_CMDS_H */
