#include "log/pages.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/lmdb_layout.h"
#include "msglog.h"

#define MAX_DEPTH 32            /* LMDB's cursor stack */
#define MAX_KEY 511             /* LMDB's largest key */
#define DB_RECORD 48            /* MDB_db: a named tree's record in the main tree */
#define DB_FLAGS 4              /* u16 */
#define DB_DEPTH 6              /* u16 */
#define DB_ROOT 40              /* u64 */
#define F_SUBDATA 0x02
#define SEEN_USED 1
#define SEEN_FREE 2

enum tree { TREE_MAIN, TREE_TABLE, TREE_FREE };

/* A key in the map, or none. */
typedef struct key_at {
    const uint8_t *p;           /* NULL: none */
    uint64_t len;
} key_at;

/* Where the walk of one tree is in its key order: the last leaf key, and
 * the separator the next leaf key may not be below. */
typedef struct key_order {
    key_at last, floor;
} key_order;

typedef struct walker {
    const pages_snapshot *s;
    uint8_t *seen;              /* a byte per page 0..last_pg */
    char *why;
    char tree_name[48];         /* the tree being walked, for the message */
    key_order order;
} walker;

static int bad(walker *w, uint64_t pgno, const char *what)
{
    snprintf(w->why, PAGES_WHY_MAX, "page %" PRIu64 " of %s is damaged (%s)", pgno, w->tree_name,
             what);
    return MSGLOG_ECORRUPT;
}

/* Pages pgno .. pgno + span - 1, marked in use: NULL after reporting when
 * they are not all pages of the file that nothing reached before. */
static const uint8_t *take(walker *w, uint64_t pgno, uint64_t span, int *rc)
{
    const pages_snapshot *s = w->s;
    *rc = MSGLOG_OK;
    if (pgno < 2 || span == 0 || pgno > s->last_pg || span > s->last_pg - pgno + 1) {
        *rc = bad(w, pgno, "a page number past the last page");
        return NULL;
    }
    if (pgno + span > s->file_pages) {
        *rc = bad(w, pgno, "a page past the end of the file");
        return NULL;
    }
    for (uint64_t i = 0; i < span; i++) {
        if (w->seen[pgno + i]) {
            *rc = bad(w, pgno + i, "a page reached twice");
            return NULL;
        }
        w->seen[pgno + i] = SEEN_USED;
    }
    return s->map + pgno * s->psize;
}

/* The header of page p, number pgno, which must be of kind `flags`. */
static int check_head(walker *w, const uint8_t *p, uint64_t pgno, uint16_t flags)
{
    uint16_t kind = (uint16_t)lmdb_le(p + AT_PAGE_FLAGS, 2) & (P_BRANCH | P_LEAF | P_OVERFLOW | P_META);
    if (lmdb_le(p, 8) != pgno)
        return bad(w, pgno, "it holds another page number");
    if (kind != flags)
        return bad(w, pgno, "it is not the kind of page its place needs");
    return MSGLOG_OK;
}

static int walk(walker *w, uint64_t pgno, unsigned levels, enum tree t);

/* A big value of dsize bytes on overflow pages from pgno. The run may be
 * longer than the value needs: LMDB keeps a value's pages when a smaller
 * one replaces it. */
static int take_overflow(walker *w, uint64_t pgno, uint64_t dsize)
{
    uint64_t need = (PAGE_HEAD - 1 + dsize) / w->s->psize + 1;   /* LMDB's OVPAGES */
    int rc;
    const uint8_t *p = take(w, pgno, 1, &rc);
    if (!p)
        return rc;
    if ((rc = check_head(w, p, pgno, P_OVERFLOW)) != MSGLOG_OK)
        return rc;
    uint64_t span = lmdb_le(p + AT_OVERFLOW_PAGES, 4);
    if (span < need)
        return bad(w, pgno, "its page count is short of its value");
    return span > 1 && !take(w, pgno + 1, span - 1, &rc) ? rc : MSGLOG_OK;
}

/* The pages a free list record lists (an IDL: count, then page numbers),
 * marked free: none may be in use, or past the last page. They may be past
 * the end of the file (log/freelist.h), so they are never read. */
static int take_free(walker *w, uint64_t pgno, const uint8_t *idl, uint64_t len)
{
    uint64_t n = len >= 8 ? lmdb_le(idl, 8) : 0;
    if (len < 8 || n != len / 8 - 1 || len % 8)
        return bad(w, pgno, "a free list record is not a list of pages");
    for (uint64_t i = 1; i <= n; i++) {
        uint64_t free_pg = lmdb_le(idl + 8 * i, 8);
        if (free_pg < 2 || free_pg > w->s->last_pg || w->seen[free_pg])
            return bad(w, pgno, "it lists a page that is not free");
        w->seen[free_pg] = SEEN_FREE;
    }
    return MSGLOG_OK;
}

/* A named table's record in the main tree: walked as its own tree. */
static int take_table(walker *w, uint64_t pgno, const uint8_t *key, uint64_t ksize,
                      const uint8_t *db, uint64_t dsize)
{
    if (dsize != DB_RECORD || lmdb_le(db + DB_FLAGS, 2) != 0)
        return bad(w, pgno, "a table record is not one of ours");
    char outer[sizeof w->tree_name];
    key_order outer_order = w->order;
    memcpy(outer, w->tree_name, sizeof outer);
    w->order = (key_order){ { NULL, 0 }, { NULL, 0 } };
    snprintf(w->tree_name, sizeof w->tree_name, "table %.*s", (int)(ksize < 32 ? ksize : 32),
             (const char *)key);
    uint64_t root = lmdb_le(db + DB_ROOT, 8), depth = lmdb_le(db + DB_DEPTH, 2);
    int rc = root == NO_PAGE ? MSGLOG_OK
             : depth < 1 || depth > MAX_DEPTH ? bad(w, pgno, "a table's depth")
                                             : walk(w, root, (unsigned)depth, TREE_TABLE);
    memcpy(w->tree_name, outer, sizeof outer);
    w->order = outer_order;
    return rc;
}

/* A leaf node's value (data at `at`, dsize bytes, or on overflow pages). */
static int take_value(walker *w, uint64_t pgno, const uint8_t *p, uint64_t at, uint64_t nflags,
                      const uint8_t *key, uint64_t ksize, uint64_t dsize, enum tree t)
{
    uint32_t psize = w->s->psize;
    if (t == TREE_MAIN)
        return nflags != F_SUBDATA || at + dsize > psize
                   ? bad(w, pgno, "a node of the main tree is no table")
                   : take_table(w, pgno, key, ksize, p + at, dsize);
    if (nflags & ~(uint64_t)F_BIGDATA)
        return bad(w, pgno, "a node has flags no table of ours uses");
    if (nflags & F_BIGDATA) {
        if (at + 8 > psize)
            return bad(w, pgno, "a node lies outside it");
        int rc = take_overflow(w, lmdb_le(p + at, 8), dsize);
        if (rc || t != TREE_FREE)
            return rc;
        return take_free(w, pgno, w->s->map + lmdb_le(p + at, 8) * psize + PAGE_HEAD, dsize);
    }
    if (at + dsize > psize)
        return bad(w, pgno, "a value lies outside it");
    return t == TREE_FREE ? take_free(w, pgno, p + at, dsize) : MSGLOG_OK;
}

/* Whether key a sorts after b as LMDB compares our keys (memcmp, then the
 * shorter first). */
static int key_after(key_at a, key_at b)
{
    int d = memcmp(a.p, b.p, a.len < b.len ? a.len : b.len);
    return d > 0 || (d == 0 && a.len > b.len);
}

/* A B-tree's order, which LMDB's searches rely on: separators ascend in
 * their page, each is above every key before it and at most the first key
 * after it, and leaf keys ascend across the whole tree. The free list's keys
 * are txnids in native order: not checked. A branch's first key is empty:
 * it stands for everything below the second. */
static int check_order(walker *w, uint64_t pgno, int branch, uint64_t i, key_at key,
                       key_at *prev_sep)
{
    key_order *o = &w->order;
    if (branch && i == 0)
        return MSGLOG_OK;
    if (branch) {
        if ((prev_sep->p && !key_after(key, *prev_sep)) || (o->last.p && !key_after(key, o->last)))
            return bad(w, pgno, "a separator is out of order");
        *prev_sep = o->floor = key;
        return MSGLOG_OK;
    }
    if ((o->last.p && !key_after(key, o->last)) || (o->floor.p && key_after(o->floor, key)))
        return bad(w, pgno, "its keys are out of order");
    o->last = key;
    o->floor = (key_at){ NULL, 0 };
    return MSGLOG_OK;
}

/* Node i of page p: inside it, and in order. */
static int take_node(walker *w, uint64_t pgno, const uint8_t *p, uint64_t i, unsigned levels,
                     enum tree t, key_at *prev_sep)
{
    uint32_t psize = w->s->psize;
    uint64_t off = lmdb_le(p + PAGE_HEAD + 2 * i, 2), upper = lmdb_le(p + AT_LOWER + 2, 2);
    if (off < upper || off > psize - NODE_HEAD)
        return bad(w, pgno, "a node lies outside it");
    const uint8_t *n = p + off;
    uint64_t lo = lmdb_le(n, 2), hi = lmdb_le(n + 2, 2), nflags = lmdb_le(n + 4, 2);
    key_at key = { n + NODE_HEAD, lmdb_le(n + 6, 2) };
    if (key.len > MAX_KEY || off + NODE_HEAD + key.len > psize)
        return bad(w, pgno, "a key lies outside it");
    int branch = levels > 1, rc;
    if (t != TREE_FREE && (rc = check_order(w, pgno, branch, i, key, prev_sep)) != MSGLOG_OK)
        return rc;
    if (branch)
        return walk(w, lo | hi << 16 | nflags << 32, levels - 1, t);
    return take_value(w, pgno, p, off + NODE_HEAD + key.len, nflags, key.p, key.len,
                      lo | hi << 16, t);
}

/* The subtree at pgno, `levels` levels deep (1: a leaf). */
static int walk(walker *w, uint64_t pgno, unsigned levels, enum tree t)
{
    int rc;
    const uint8_t *p = take(w, pgno, 1, &rc);
    if (!p)
        return rc;
    if ((rc = check_head(w, p, pgno, levels > 1 ? P_BRANCH : P_LEAF)) != MSGLOG_OK)
        return rc;
    uint64_t lower = lmdb_le(p + AT_LOWER, 2), upper = lmdb_le(p + AT_LOWER + 2, 2);
    uint64_t nkeys = lower >= PAGE_HEAD ? (lower - PAGE_HEAD) / 2 : 0;
    if (lower < PAGE_HEAD || lower > upper || upper > w->s->psize || (lower - PAGE_HEAD) % 2)
        return bad(w, pgno, "its free space bounds");
    if (nkeys < (levels > 1 && t != TREE_MAIN ? 2u : 1u))
        return bad(w, pgno, "too few nodes");
    key_at prev_sep = { NULL, 0 };
    for (uint64_t i = 0; i < nkeys && !rc; i++)
        rc = take_node(w, pgno, p, i, levels, t, &prev_sep);
    return rc;
}

/* A tree from the meta page: its root and depth. */
static int walk_root(walker *w, const char *name, uint64_t root, uint16_t depth, enum tree t)
{
    snprintf(w->tree_name, sizeof w->tree_name, "%s", name);
    w->order = (key_order){ { NULL, 0 }, { NULL, 0 } };
    if (root == NO_PAGE)
        return MSGLOG_OK;
    if (depth < 1 || depth > MAX_DEPTH)
        return bad(w, root, "its tree's depth");
    return walk(w, root, depth, t);
}

/* LMDB's audit: every page is in a tree or free. */
static int all_accounted(walker *w)
{
    for (uint64_t pg = 2; pg <= w->s->last_pg; pg++)
        if (!w->seen[pg]) {
            snprintf(w->tree_name, sizeof w->tree_name, "the data file");
            return bad(w, pg, "it is neither in use nor free");
        }
    return MSGLOG_OK;
}

int pages_verify(const pages_snapshot *snap, char *why)
{
    why[0] = '\0';
    walker w = { snap, calloc(snap->last_pg + 1, 1), why, "", { { NULL, 0 }, { NULL, 0 } } };
    if (!w.seen)
        return MSGLOG_ENOMEM;
    int rc = walk_root(&w, "the main tree", snap->main_root, snap->main_depth, TREE_MAIN);
    if (!rc)
        rc = walk_root(&w, "the free list", snap->free_root, snap->free_depth, TREE_FREE);
    if (!rc)
        rc = all_accounted(&w);
    free(w.seen);
    return rc;
}
