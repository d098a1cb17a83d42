/* Linux: /proc/self/maps lists each mapping as
 *   start-end perms offset major:minor inode path
 * and LMDB's is the one of the data file's device and inode at offset 0. */
#include "log/mapping.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "msglog.h"

int mapping_find(int fd, const uint8_t **base, size_t *len)
{
    struct stat st;
    FILE *f = fstat(fd, &st) == 0 ? fopen("/proc/self/maps", "r") : NULL;
    if (!f)
        return MSGLOG_ENOTFOUND;
    char line[4352];
    int rc = MSGLOG_ENOTFOUND;
    while (rc != MSGLOG_OK && fgets(line, sizeof line, f)) {
        uintmax_t start, end, offset, inode;
        unsigned major, minor;
        if (sscanf(line, "%jx-%jx %*s %jx %x:%x %ju", &start, &end, &offset, &major, &minor,
                   &inode) == 6 &&
            offset == 0 && inode == (uintmax_t)st.st_ino && major == major(st.st_dev) &&
            minor == minor(st.st_dev)) {
            *base = (const uint8_t *)(uintptr_t)start;
            *len = (size_t)(end - start);
            rc = MSGLOG_OK;
        }
    }
    fclose(f);
    return rc;
}
