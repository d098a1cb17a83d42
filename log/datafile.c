#include "log/datafile.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/freelist.h"
#include "log/lmdb_layout.h"
#include "msglog.h"

typedef struct meta {
    uint32_t psize;
    uint64_t free_root, main_root, last_pg, txnid;
} meta;

/* Whether page bytes p are an LMDB version 1 meta page at all. */
static int is_meta(const uint8_t *p)
{
    return (lmdb_le(p + AT_PAGE_FLAGS, 2) & P_META) && lmdb_le(p + AT_MAGIC, 4) == MDB_MAGIC &&
           lmdb_le(p + AT_VERSION, 4) == 1;
}

static meta parse(const uint8_t *p)
{
    meta m = { (uint32_t)lmdb_le(p + AT_PSIZE, 4), lmdb_le(p + AT_FREE_ROOT, 8),
               lmdb_le(p + AT_MAIN_ROOT, 8), lmdb_le(p + AT_LAST_PG, 8), lmdb_le(p + AT_TXNID, 8) };
    return m;
}

/* What is wrong with meta page `slot` on its own, or NULL. */
static const char *meta_fault(const meta *m, int slot)
{
    if (m->psize < 512 || m->psize > 65536 || (m->psize & (m->psize - 1)))
        return "its page size";
    if (m->last_pg < 1 || m->last_pg > UINT64_MAX / 65536)
        return "its last page";
    if ((m->free_root != NO_PAGE && m->free_root > m->last_pg) ||
        (m->main_root != NO_PAGE && m->main_root > m->last_pg))
        return "a root page past its last page";
    if (m->txnid != 0 && m->txnid % 2 != (uint64_t)slot)
        return "its txnid is not of this page";
    return NULL;
}

static int fail(char *why, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, DATAFILE_WHY_MAX, fmt, ap);
    va_end(ap);
    return rc;
}

/* Meta page `slot` read from fd at `offset` into *m: MSGLOG_OK;
 * MSGLOG_ENOTFOUND when the page is no LMDB meta page at all, and
 * MSGLOG_ECORRUPT when it is one with unsound fields (why says which). */
static int read_meta(int fd, int slot, uint64_t offset, meta *m, char *why)
{
    uint8_t p[META_BYTES];
    if (pread(fd, p, sizeof p, (off_t)offset) != (ssize_t)sizeof p)
        return fail(why, MSGLOG_EIO, "data.mdb: cannot read meta page %d", slot);
    if (!is_meta(p))
        return fail(why, MSGLOG_ENOTFOUND, "data.mdb's meta page %d is damaged (not a meta page)",
                    slot);
    *m = parse(p);
    const char *fault = meta_fault(m, slot);
    return fault ? fail(why, MSGLOG_ECORRUPT, "data.mdb's meta page %d is damaged (%s)", slot,
                        fault)
                 : MSGLOG_OK;
}

static int truncated(char *why, uint64_t size, uint64_t need)
{
    return fail(why, MSGLOG_ECORRUPT, "data.mdb is truncated: %" PRIu64 " bytes, its meta page "
                "needs %" PRIu64, size, need);
}

/* Meta page 0 is not a meta page: damaged, when page 1 is one where a
 * store of this system's page size has it; else no LMDB file at all. */
static int no_meta0(int fd, uint64_t size, char *why)
{
    meta m;
    long os = sysconf(_SC_PAGESIZE);
    char ignored[DATAFILE_WHY_MAX];
    if (os > 0 && size >= (uint64_t)os + META_BYTES &&
        read_meta(fd, 1, (uint64_t)os, &m, ignored) == MSGLOG_OK)
        return fail(why, MSGLOG_ECORRUPT, "data.mdb's meta page 0 is damaged (not a meta page)");
    return fail(why, MSGLOG_EVERSION, "data.mdb is not an LMDB data file of version 1");
}

/* Both meta pages sound alone: are they two successive commits, and which
 * is the newest (the one LMDB uses)? */
static int pick(const meta m[2], char *why, const meta **newest)
{
    if (m[1].psize != m[0].psize)
        return fail(why, MSGLOG_ECORRUPT, "data.mdb's meta pages disagree on the page size (%"
                    PRIu32 " and %" PRIu32 ")", m[0].psize, m[1].psize);
    uint64_t hi = m[0].txnid > m[1].txnid ? m[0].txnid : m[1].txnid;
    uint64_t lo = m[0].txnid > m[1].txnid ? m[1].txnid : m[0].txnid;
    if (hi != 0 && hi - lo != 1)
        return fail(why, MSGLOG_ECORRUPT, "data.mdb's meta pages are not two successive commits "
                    "(txnids %" PRIu64 " and %" PRIu64 ")", m[0].txnid, m[1].txnid);
    *newest = &m[m[0].txnid < m[1].txnid];   /* as LMDB picks: page 0 on a tie */
    /* The file only grows: an older commit that used more pages is a newer
     * one whose txnid was damaged (down by 2, which the two rules above
     * cannot see). */
    if (m[!(*newest - m)].last_pg > (*newest)->last_pg)
        return fail(why, MSGLOG_ECORRUPT, "data.mdb's meta pages disagree: the older commit uses "
                    "more pages (%" PRIu64 ") than the newer (%" PRIu64 ")",
                    m[!(*newest - m)].last_pg + 1, (*newest)->last_pg + 1);
    return MSGLOG_OK;
}

static int check_fd(int fd, uint64_t size, char *why)
{
    meta m[2];
    const meta *newest = &m[0];
    if (size < META_BYTES)
        return fail(why, MSGLOG_ECORRUPT, "data.mdb is truncated: %" PRIu64 " bytes, shorter than "
                    "a meta page", size);
    int rc = read_meta(fd, 0, 0, &m[0], why);
    if (rc == MSGLOG_ENOTFOUND)
        return no_meta0(fd, size, why);
    if (rc)
        return rc;
    if (size < (uint64_t)m[0].psize + META_BYTES)
        return truncated(why, size, (m[0].last_pg + 1) * m[0].psize);
    rc = read_meta(fd, 1, m[0].psize, &m[1], why);
    if (!rc)
        rc = pick(m, why, &newest);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
    uint64_t need = (newest->last_pg + 1) * newest->psize;
    if (size >= need)
        return MSGLOG_OK;
    /* Shorter than the meta says: fine when every page past the end is a
     * free one LMDB never wrote (log/freelist.h). */
    freelist_file f = { fd, newest->psize, size / newest->psize };
    return freelist_covers(&f, newest->free_root, f.pages, newest->last_pg)
               ? MSGLOG_OK
               : truncated(why, size, need);
}

int datafile_snapshot(int fd, uint64_t txnid, pages_snapshot *out)
{
    for (int slot = 0; slot < 2; slot++) {
        uint8_t p[META_BYTES];
        uint64_t off = slot ? out->psize : 0;
        if (pread(fd, p, sizeof p, (off_t)off) != (ssize_t)sizeof p)
            return MSGLOG_EIO;
        out->psize = (uint32_t)lmdb_le(p + AT_PSIZE, 4);   /* where page 1 is */
        if (lmdb_le(p + AT_TXNID, 8) != txnid)
            continue;
        out->last_pg = lmdb_le(p + AT_LAST_PG, 8);
        out->main_root = lmdb_le(p + AT_MAIN_ROOT, 8);
        out->free_root = lmdb_le(p + AT_FREE_ROOT, 8);
        out->main_depth = (uint16_t)lmdb_le(p + AT_MAIN_DEPTH, 2);
        out->free_depth = (uint16_t)lmdb_le(p + AT_FREE_DEPTH, 2);
        return MSGLOG_OK;
    }
    return MSGLOG_ENOTFOUND;
}

int datafile_check(const char *path, char *why)
{
    why[0] = '\0';
    struct stat st;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return fail(why, MSGLOG_EIO, "data.mdb cannot be read");
    }
    int rc = check_fd(fd, (uint64_t)st.st_size, why);
    close(fd);
    return rc;
}
