/* compact_cmd.h - `msglog compact --dir DIR`. Returns a CLI_* exit code. */
#ifndef MSGLOG_TOOLS_COMPACT_CMD_H
#define MSGLOG_TOOLS_COMPACT_CMD_H

int compact_main(int argc, char **argv);

#endif
