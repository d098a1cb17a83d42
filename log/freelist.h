/* LMDB's free list, read from the data file with pread(), never through a
 * map: so that a data file shorter than its meta page says can be told
 * apart from a truncated one. LMDB makes such files itself: a value
 * allocated at the end of the file and freed in the same transaction goes
 * to the free list and is never written ("the file may be shorter if the
 * freeDB lists the final pages", mdb.c). Every page past the end of the
 * file must then be a free one.
 *
 * The free list is a B-tree of LMDB 0.9 pages (64-bit, little-endian):
 * keys are txnids, each value the list of page numbers that commit freed,
 * [count, pgno, ...] as u64s, inline in its leaf or on overflow pages
 * (docs/format.md, "The data file"). Every read is bounded by the page and
 * by the file; what does not parse is "not covered". */
#ifndef MSGLOG_LOG_FREELIST_H
#define MSGLOG_LOG_FREELIST_H

#include <stdint.h>

/* The data file as the free list walk reads it. */
typedef struct freelist_file {
    int fd;
    uint32_t psize;        /* page size */
    uint64_t pages;        /* whole pages the file holds */
} freelist_file;

/* 1 when every page of [from, to] is listed in the free list whose root is
 * page `root` (UINT64_MAX: an empty list, which lists nothing), 0 when one
 * is not or the list cannot be read whole from the file. */
int freelist_covers(const freelist_file *f, uint64_t root, uint64_t from, uint64_t to);

#endif
