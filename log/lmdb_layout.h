/* LMDB 0.9's on-disk layout (mdb.c: MDB_page, MDB_meta, MDB_node; 64-bit;
 * integers in the host's byte order, as LMDB writes them), for the readers that look at data.mdb with pread()
 * before LMDB does: log/datafile.c (the meta pages), log/freelist.c (the
 * free list), log/pages.c (every page). Byte offsets from the start of a
 * page. */
#ifndef MSGLOG_LOG_LMDB_LAYOUT_H
#define MSGLOG_LOG_LMDB_LAYOUT_H

#include <stdint.h>
#include <string.h>

#define PAGE_HEAD 16           /* pgno (8), pad (2), flags (2), lower/upper or pages (4) */
#define AT_PAGE_FLAGS 10       /* u16 */
#define AT_LOWER 12            /* u16, branch and leaf pages: end of the node offsets */
#define AT_OVERFLOW_PAGES 12   /* u32, overflow pages: how many pages it spans */
#define P_BRANCH 0x01
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define P_META 0x08
#define NODE_HEAD 8            /* lo (2), hi (2), flags (2), key size (2) */
#define F_BIGDATA 0x01         /* a leaf node's data is on overflow pages */
#define NO_PAGE UINT64_MAX     /* P_INVALID: an empty tree has no root */

/* A meta page: MDB_meta after the page header. */
#define META_BYTES 152         /* page header (16) and MDB_meta (136) */
#define AT_MAGIC 16            /* u32, 0xBEEFC0DE */
#define AT_VERSION 20          /* u32, 1 */
#define AT_PSIZE 40            /* u32, mm_dbs[FREE_DBI].md_pad: the page size */
#define AT_FREE_DEPTH 46       /* u16, mm_dbs[FREE_DBI].md_depth */
#define AT_FREE_ROOT 80        /* u64, mm_dbs[FREE_DBI].md_root */
#define AT_MAIN_DEPTH 94       /* u16, mm_dbs[MAIN_DBI].md_depth */
#define AT_MAIN_ROOT 128       /* u64, mm_dbs[MAIN_DBI].md_root */
#define AT_LAST_PG 136         /* u64, the last page in use */
#define AT_TXNID 144           /* u64, the commit that wrote this page */
#define MDB_MAGIC 0xBEEFC0DEu

/* An unsigned integer of 2, 4 or 8 bytes at p (any alignment). */
static inline uint64_t lmdb_le(const uint8_t *p, int bytes)
{
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (bytes) {
    case 2:
        memcpy(&u16, p, 2);
        return u16;
    case 4:
        memcpy(&u32, p, 4);
        return u32;
    default:
        memcpy(&u64, p, 8);
        return u64;
    }
}

#endif
