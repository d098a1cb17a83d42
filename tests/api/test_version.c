/* The version in msglog.h, the one msglog_version() returns and the CMake
 * project's (MSGLOG_PROJECT_VERSION, from tests/CMakeLists.txt) are one
 * version: the .pc file, the CMake package and the SONAME are made from the
 * project's, programs read the header's. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <msglog.h>

Test(version, header_matches_project)
{
    char parts[64];
    snprintf(parts, sizeof parts, "%d.%d.%d", MSGLOG_VERSION_MAJOR,
             MSGLOG_VERSION_MINOR, MSGLOG_VERSION_PATCH);
    cr_assert_str_eq(MSGLOG_VERSION_STRING, MSGLOG_PROJECT_VERSION,
                     "include/msglog.h and project(msglog VERSION) disagree");
    cr_assert_str_eq(parts, MSGLOG_VERSION_STRING,
                     "MAJOR.MINOR.PATCH and MSGLOG_VERSION_STRING disagree");
}

Test(version, library_reports_it)
{
    cr_assert_str_eq(msglog_version(), MSGLOG_VERSION_STRING);
}
