#include "log/freelist.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/lmdb_layout.h"

#define MAX_DEPTH 32           /* LMDB's cursor stack */
#define MAX_RANGE (UINT64_C(1) << 24)   /* pages past the end worth looking for */

typedef struct walk {
    const freelist_file *f;
    uint64_t from, to;
    uint8_t *seen;             /* a byte per page of [from, to]: listed as free */
    uint64_t budget;           /* reads left: a cycle in a damaged tree ends */
} walk;

/* Reads n bytes at byte `at` of page pg: 0, or -1 when they are not all
 * in the file. */
static int read_at(walk *w, uint64_t pg, uint64_t at, uint8_t *buf, uint64_t n)
{
    const freelist_file *f = w->f;
    if (pg >= f->pages || w->budget == 0)
        return -1;
    w->budget--;
    uint64_t off = pg * f->psize + at;
    return (uint64_t)pread(f->fd, buf, n, (off_t)off) == n ? 0 : -1;
}

/* Marks the pages an IDL [count, pgno...] of len bytes lists. */
static int take_idl(walk *w, const uint8_t *p, uint64_t len)
{
    if (len < 8 || lmdb_le(p, 8) > len / 8 - 1)
        return -1;
    for (uint64_t i = 1, n = lmdb_le(p, 8); i <= n; i++) {
        uint64_t pg = lmdb_le(p + 8 * i, 8);
        if (pg >= w->from && pg <= w->to)
            w->seen[pg - w->from] = 1;
    }
    return 0;
}

/* A leaf node's value on overflow pages starting at pg: dsize bytes after
 * the first page's header. */
static int take_overflow(walk *w, uint64_t pg, uint64_t dsize)
{
    uint8_t head[PAGE_HEAD];
    if (read_at(w, pg, 0, head, sizeof head) != 0 || !(lmdb_le(head + AT_PAGE_FLAGS, 2) & P_OVERFLOW))
        return -1;
    uint64_t span = lmdb_le(head + AT_OVERFLOW_PAGES, 4);
    if (span == 0 || span > w->f->pages - pg || dsize > span * w->f->psize - PAGE_HEAD)
        return -1;
    uint8_t *data = malloc(dsize ? dsize : 1);
    int rc = data ? read_at(w, pg, PAGE_HEAD, data, dsize) : -1;
    if (rc == 0)
        rc = take_idl(w, data, dsize);
    free(data);
    return rc;
}

static int walk_page(walk *w, uint64_t pg, int depth);

/* The node at byte `at` of page p (psize bytes): a child to walk, or a
 * value to take. */
static int walk_node(walk *w, const uint8_t *p, uint16_t flags, uint64_t at, int depth)
{
    uint32_t psize = w->f->psize;
    if (at < PAGE_HEAD || at > psize - NODE_HEAD)
        return -1;
    const uint8_t *n = p + at;
    uint64_t lo = lmdb_le(n, 2), hi = lmdb_le(n + 2, 2), nflags = lmdb_le(n + 4, 2), ksize = lmdb_le(n + 6, 2);
    if (flags & P_BRANCH)
        return walk_page(w, lo | hi << 16 | nflags << 32, depth + 1);
    uint64_t dsize = lo | hi << 16, data_at = at + NODE_HEAD + ksize;
    if (nflags & F_BIGDATA)
        return data_at + 8 <= psize ? take_overflow(w, lmdb_le(p + data_at, 8), dsize) : -1;
    return data_at + dsize <= psize ? take_idl(w, p + data_at, dsize) : -1;
}

static int walk_page(walk *w, uint64_t pg, int depth)
{
    uint32_t psize = w->f->psize;
    uint8_t *p = depth <= MAX_DEPTH ? malloc(psize) : NULL;
    int rc = p ? read_at(w, pg, 0, p, psize) : -1;
    uint16_t flags = rc ? 0 : (uint16_t)lmdb_le(p + AT_PAGE_FLAGS, 2);
    uint64_t lower = rc ? 0 : lmdb_le(p + AT_LOWER, 2);
    if (rc == 0 && (!(flags & (P_BRANCH | P_LEAF)) || lower < PAGE_HEAD || lower > psize))
        rc = -1;
    for (uint64_t i = 0; rc == 0 && i < (lower - PAGE_HEAD) / 2; i++)
        rc = walk_node(w, p, flags, lmdb_le(p + PAGE_HEAD + 2 * i, 2), depth);
    free(p);
    return rc;
}

int freelist_covers(const freelist_file *f, uint64_t root, uint64_t from, uint64_t to)
{
    if (from > to)
        return 1;
    if (root == UINT64_MAX || to - from >= MAX_RANGE)
        return 0;
    walk w = { f, from, to, calloc(to - from + 1, 1), 4 * f->pages + 16 };
    int covers = w.seen && walk_page(&w, root, 0) == 0;
    for (uint64_t i = 0; covers && i <= to - from; i++)
        covers = w.seen[i];
    free(w.seen);
    return covers;
}
