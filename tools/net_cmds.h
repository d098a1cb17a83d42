/* net_cmds.h - `msglog relay` and `msglog sync` (network sync over TCP).
 * argv[0] is the command name; each returns a CLI_* exit code. */
#ifndef MSGLOG_TOOLS_NET_CMDS_H
#define MSGLOG_TOOLS_NET_CMDS_H

int relay_main(int argc, char **argv);
int sync_main(int argc, char **argv);

#endif /* MSGLOG_TOOLS_NET_CMDS_H */
