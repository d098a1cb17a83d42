/* Where LMDB mapped the data file in this process, so that store.c can
 * refuse a value or key that a damaged page makes point past the end of
 * the file: reading there would raise SIGBUS (past the file, inside the
 * map) or SIGSEGV (past the map), and LMDB itself does not check it. LMDB
 * does not say where its map is (MDB_envinfo.me_mapaddr is only the fixed
 * address of MDB_FIXEDMAP), so this asks the kernel. */
#ifndef MSGLOG_LOG_MAPPING_H
#define MSGLOG_LOG_MAPPING_H

#include <stddef.h>
#include <stdint.h>

/* The mapping of offset 0 of the file open as fd: *base and *len.
 * MSGLOG_OK, or MSGLOG_ENOTFOUND when there is none or the system cannot
 * tell (no /proc/self/maps): the caller then checks lengths only. */
int mapping_find(int fd, const uint8_t **base, size_t *len);

#endif
