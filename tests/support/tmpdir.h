/* Temporary directory trees for tests. */
#ifndef TEST_TMPDIR_H
#define TEST_TMPDIR_H

#include <stddef.h>

/* Creates a fresh directory under $TMPDIR (or /tmp) named <prefix>XXXXXX.
 * Returns a malloc'd path (free it), or NULL with errno set. */
char *tmpdir_make(const char *prefix);

/* The same under `base`. */
char *tmpdir_make_in(const char *base, const char *prefix);

/* The same under $TMPDIR when set, else in memory (/dev/shm) when there is
 * one, else /tmp: for tests that commit a lot and do not test durability. */
char *tmpdir_make_fast(const char *prefix);

/* "<dir>/<name>" in a malloc'd string (free it); NULL when out of memory. */
char *tmpdir_join(const char *dir, const char *name);

/* Removes `path` and everything below it (symlinks are not followed).
 * Returns 0, or -1 with errno set; a missing path is not an error. */
int tmpdir_remove(const char *path);

/* Reads a whole file into a malloc'd buffer (*out, *len). Returns 0 or -1. */
int tmpdir_read_file(const char *path, void **out, size_t *len);

#endif
