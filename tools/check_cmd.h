/* check_cmd.h - `msglog check`: the whole store checked (msglog_check). */
#ifndef MSGLOG_TOOLS_CHECK_CMD_H
#define MSGLOG_TOOLS_CHECK_CMD_H

int check_main(int argc, char **argv);

#endif /* MSGLOG_TOOLS_CHECK_CMD_H */
