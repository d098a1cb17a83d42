/* Compacting a store in place (msglog_compact). */
#ifndef MSGLOG_LOG_COMPACT_H
#define MSGLOG_LOG_COMPACT_H

#include <stdint.h>

#include "log/store.h"

/*
 * Rewrites the store *s holding only its live pages, and swaps it in: the
 * store is copied with LMDB's compacting copy into DIR/compact.tmp (the
 * file mode of data.mdb kept), synced, opened and checked there like any
 * store (cfg, create 0), then renamed over data.mdb. The free pages of the
 * old file, which may still hold text a delete erased, go with it. *s is
 * then the new store, opened with cfg.
 *
 * It needs the store alone: while another process has it open (LMDB's lock
 * file says so), MSGLOG_EBUSY with why naming the process, and nothing is
 * done; while it runs, a process opening the store waits for it.
 * @return MSGLOG_OK (*before and *after the data file's sizes);
 *         MSGLOG_EBUSY; MSGLOG_EFULL (no room for the copy); MSGLOG_EIO
 *         (why says which step); the codes of store_open() for the copy.
 *         Until the rename the old store is untouched and *s still open;
 *         after it, a failure to reopen leaves *s NULL (the new file is in
 *         place and whole).
 */
int store_compact(store **s, const store_config *cfg, uint64_t *before, uint64_t *after,
                  char *why);

#endif
