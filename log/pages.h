/* Every page of a snapshot checked before LMDB reads one. LMDB 0.9 trusts
 * its pages: a node offset, flag or child page number damaged on disk makes
 * it read garbage as a node and crash inside mdb_cursor_get or mdb_get
 * (a NULL dereference when a garbage node looks like a DUPSORT one, an
 * assertion that aborts when a branch leads to a branch where a leaf must
 * be, a read past the end of the file). So store_open() walks every tree
 * of the snapshot it opens itself, through the map, and lets LMDB read a
 * page only once every page is known sound. Committed pages never change
 * (copy-on-write), and the pages later commits add are written by LMDB, so
 * one walk per open is enough.
 *
 * Sound means (LMDB 0.9's layout, log/lmdb_layout.h): every page reached is
 * inside the file and below the last page, holds its own number, is of the
 * kind its place needs (branches above, leaves at the tree's depth,
 * overflow pages where a value says) and reached once; its node offsets,
 * keys and values lie inside it, keys ascend (in each page and across the
 * tree, separators between the keys they separate), its nodes have only the flags
 * our tables use (named tables in the main tree, big values on overflow
 * pages); and every page is either in a tree or on the free list, which is
 * LMDB's own audit. Cost: one pass over the pages in use, about 1 ms per
 * 25 MB with the file in the page cache (docs/reliability.md). */
#ifndef MSGLOG_LOG_PAGES_H
#define MSGLOG_LOG_PAGES_H

#include <stddef.h>
#include <stdint.h>

/* The snapshot to walk: the map of its file and its meta page's fields. */
typedef struct pages_snapshot {
    const uint8_t *map;     /* the data file, mapped */
    uint64_t file_pages;    /* whole pages the file holds */
    uint32_t psize;
    uint64_t last_pg;
    uint64_t main_root, free_root;   /* UINT64_MAX: an empty tree */
    uint16_t main_depth, free_depth;
} pages_snapshot;

#define PAGES_WHY_MAX 256

/* MSGLOG_OK when every page is sound; MSGLOG_ECORRUPT with what is not in
 * why ("page 36 of table ops is damaged (a node lies outside it)");
 * MSGLOG_ENOMEM. */
int pages_verify(const pages_snapshot *snap, char *why);

#endif
