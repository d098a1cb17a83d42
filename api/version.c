/* The version of the library itself, compiled in here: a program reads the
 * library it runs with, not the header it was built against. */
#include <msglog.h>

const char *msglog_version(void)
{
    return MSGLOG_VERSION_STRING;
}
