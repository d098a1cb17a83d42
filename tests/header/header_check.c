/* Compiled with -std=c99 -pedantic -Werror: the public header must stand on
 * its own, in strict C, without any dependency's header. */
#include <msglog.h>

int msglog_header_check(void);
int msglog_header_check(void)
{
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    return (int)opts.version;
}
