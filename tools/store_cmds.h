/* store_cmds.h - the commands that read or make a local store: init,
 * convs, show. argv[0] is the command name; each returns a CLI_* exit
 * code. */
#ifndef MSGLOG_TOOLS_STORE_CMDS_H
#define MSGLOG_TOOLS_STORE_CMDS_H

int init_main(int argc, char **argv);
int convs_main(int argc, char **argv);
int show_main(int argc, char **argv);

#endif /* MSGLOG_TOOLS_STORE_CMDS_H */
