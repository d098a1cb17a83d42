/* What LMDB does not check before it maps a data file: that the file is as
 * long as its meta page says, and that its two meta pages agree. LMDB maps
 * the file and trusts it: a page past the end of a truncated file is read
 * through the map and raises SIGBUS, and a meta page damaged in its txnid
 * makes LMDB open the previous snapshot without a word. store_open() runs
 * this on an existing data.mdb before mdb_env_open().
 *
 * The meta pages are pages 0 and 1 (LMDB 0.9, 64-bit, little-endian:
 * docs/format.md, "The data file"). Commit N writes its meta to page N % 2,
 * so a store that committed holds txnids N and N - 1, each on the page of
 * its parity; LMDB uses the one with the higher txnid. */
#ifndef MSGLOG_LOG_DATAFILE_H
#define MSGLOG_LOG_DATAFILE_H

#include <stddef.h>
#include <stdint.h>

#include "log/pages.h"

#define DATAFILE_WHY_MAX 384

/* Checks the data file `path` (".../data.mdb"), which exists. MSGLOG_OK;
 * MSGLOG_ECORRUPT when it is shorter than the newest meta page needs
 * ("data.mdb is truncated: 8192 bytes, its meta page needs 53248") or its
 * meta pages are damaged or disagree; MSGLOG_EVERSION when neither meta
 * page is one of LMDB's version 1 (not a data file this build reads);
 * MSGLOG_EIO when it cannot be read. `why` (DATAFILE_WHY_MAX bytes) says
 * what is wrong, "" on success. */
int datafile_check(const char *path, char *why);

/* The snapshot of commit `txnid` of the data file open as fd, as its meta
 * page describes it (out->map and out->file_pages are the caller's to
 * set). MSGLOG_OK; MSGLOG_ENOTFOUND when neither meta page is that commit's
 * (a later one overwrote it); MSGLOG_EIO. */
int datafile_snapshot(int fd, uint64_t txnid, pages_snapshot *out);

#endif
