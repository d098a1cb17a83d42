#include "support/tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *tmpdir_make(const char *prefix)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    return tmpdir_make_in(base, prefix);
}

char *tmpdir_make_fast(const char *prefix)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0') {
        struct stat st;
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
                       access("/dev/shm", W_OK | X_OK) == 0
                   ? "/dev/shm"
                   : "/tmp";
    }
    return tmpdir_make_in(base, prefix);
}

char *tmpdir_make_in(const char *base, const char *prefix)
{
    size_t n = strlen(base) + strlen(prefix) + 16;
    char *path = malloc(n);
    if (path == NULL)
        return NULL;
    snprintf(path, n, "%s/%sXXXXXX", base, prefix);
    if (mkdtemp(path) == NULL) {
        int e = errno;
        free(path);
        errno = e;
        return NULL;
    }
    return path;
}

char *tmpdir_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int tmpdir_remove(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);

    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *child = tmpdir_join(path, e->d_name);
        if (child == NULL) {
            rc = -1;
            break;
        }
        if (tmpdir_remove(child) != 0)
            rc = -1;
        free(child);
    }
    closedir(d);
    if (rmdir(path) != 0)
        rc = -1;
    return rc;
}

int tmpdir_read_file(const char *path, void **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    if (buf == NULL) {
        fclose(f);
        return -1;
    }
    for (;;) {
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}
