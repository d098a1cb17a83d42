#include "support/damage.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/tmpdir.h"

/* "<dir>/data.mdb" in a static buffer. */
static const char *data_file(const char *dir)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    return path;
}

int64_t damage_file_size(const char *dir)
{
    struct stat st;
    return stat(data_file(dir), &st) == 0 ? (int64_t)st.st_size : -1;
}

int damage_truncate(const char *dir, uint64_t size)
{
    return truncate(data_file(dir), (off_t)size) == 0 ? 0 : -1;
}

int damage_flip_byte(const char *dir, uint64_t offset, uint8_t mask)
{
    int fd = open(data_file(dir), O_RDWR);
    if (fd < 0)
        return -1;
    uint8_t b;
    int ok = pread(fd, &b, 1, (off_t)offset) == 1;
    b ^= mask;
    ok = ok && pwrite(fd, &b, 1, (off_t)offset) == 1;
    return close(fd) == 0 && ok ? 0 : -1;
}

int damage_flip_text(const char *dir, const void *needle, size_t len, size_t at, uint8_t mask)
{
    void *data;
    size_t n;
    if (len == 0 || at >= len || tmpdir_read_file(data_file(dir), &data, &n) != 0)
        return -1;
    int found = 0;
    for (size_t i = 0; i + len <= n; i++) {
        if (memcmp((const uint8_t *)data + i, needle, len) != 0)
            continue;
        if (damage_flip_byte(dir, i + at, mask) != 0) {
            found = -1;
            break;
        }
        found++;
    }
    free(data);
    return found;
}

int damage_copy_store(const char *from, const char *to)
{
    void *data;
    size_t n;
    char src[4096];
    snprintf(src, sizeof src, "%s", data_file(from));
    if ((mkdir(to, 0700) != 0 && access(to, F_OK) != 0) || tmpdir_read_file(src, &data, &n) != 0)
        return -1;
    FILE *f = fopen(data_file(to), "wb");
    int ok = f && fwrite(data, 1, n, f) == n;
    ok = f && fclose(f) == 0 && ok;
    free(data);
    return ok ? 0 : -1;
}
