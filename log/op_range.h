/* Reading one origin's ops by seq range, in key order: the delivered
 * versions (cid|replica|seq -> kind|hlc|encoding) or the versions kept as
 * evidence (cid|replica|seq|hash -> the same record, several per seq, in
 * hash order). Delta sync, the op stream and repair read their ranges
 * through this; the key layout stays in log/.
 *
 * Usage: op_range_open() once per conversation and table, then for each
 * range op_range_seek() (or op_range_resume()) and op_range_next() until
 * they return MSGLOG_ENOTFOUND, and op_range_close(). One range reuses one
 * cursor for any number of seeks: each entry costs one cursor step, and its
 * record is not copied. */
#ifndef MSGLOG_LOG_OP_RANGE_H
#define MSGLOG_LOG_OP_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "msglog.h"

#include "crdt/op.h"
#include "log/records.h"
#include "log/store.h"

/* Which versions a range reads. */
enum op_range_table {
    OP_RANGE_OPS,        /* the delivered version of each id */
    OP_RANGE_EVIDENCE,   /* the other versions of equivocated ids */
};

/* A place in an origin's versions, in key order: the first version at or
 * after (seq, hash). The ops table holds one version per seq, so there
 * only seq counts. A stream keeps one between two transactions. */
typedef struct op_range_pos {
    uint64_t seq;
    uint8_t hash[OP_HASH_LEN];
} op_range_pos;

/* An open range, owned by the caller (on its stack or in its struct; the
 * cursor is freed by op_range_close). After a seek or step returned
 * MSGLOG_OK, `id` and `hash` are the current entry's (hash: the version's
 * content hash for evidence, zero for the ops table); after any other
 * return they mean nothing. The other fields belong to log/. A zeroed
 * op_range is closed. */
typedef struct op_range {
    op_id id;
    uint8_t hash[OP_HASH_LEN];
    store_cursor *cur;
    enum op_range_table table;
    size_t key_len;       /* the table's */
    uint8_t origin[12];   /* the keys' cid|replica, compared as bytes */
    uint64_t to;          /* last seq of the range */
    store_val rec;        /* the current entry's record (borrowed) */
} op_range;

/* Opens a range reader on conversation cid's table in t, positioned
 * nowhere. MSGLOG_OK, MSGLOG_ENOMEM or a store error; on failure *r is
 * closed (op_range_close is still safe). */
int op_range_open(op_range *r, store_txn *t, enum op_range_table table, uint32_t cid);

/* Positions at the first version of origin `replica` with seq in
 * [from, to]. MSGLOG_OK (the current entry is set), MSGLOG_ENOTFOUND when
 * the range holds none, or a store error. */
int op_range_seek(op_range *r, uint64_t replica, uint64_t from, uint64_t to);

/* The same from a position (see op_range_pos): the first version of
 * `replica` at or after `from` with seq at most `to`. */
int op_range_resume(op_range *r, uint64_t replica, op_range_pos from, uint64_t to);

/* Steps to the next version of the range: MSGLOG_OK, MSGLOG_ENOTFOUND past
 * its end, or a store error. */
int op_range_next(op_range *r);

/* The current entry's record: its kind, hlc and encoding (borrowed from
 * the transaction, valid until its next write or end). MSGLOG_ECORRUPT when
 * the record is shorter than its head. Read on demand: a walk that needs
 * only ids and hashes never looks at records. This and the next are inline
 * because they run once per entry on sync's read path. */
static inline int op_range_record(const op_range *r, uint8_t *kind, uint64_t *hlc,
                                  const uint8_t **enc, size_t *len)
{
    return oprec_parse(r->rec, kind, hlc, enc, len);
}

/* The current entry's op encoding alone (borrowed as above), for callers
 * that pass ops on and need neither kind nor hlc: the head is not decoded.
 * MSGLOG_ECORRUPT as op_range_record. */
static inline int op_range_encoding(const op_range *r, const uint8_t **enc, size_t *len)
{
    if (r->rec.len < OPREC_HEAD)
        return MSGLOG_ECORRUPT;
    *enc = (const uint8_t *)r->rec.data + OPREC_HEAD;
    *len = r->rec.len - OPREC_HEAD;
    return MSGLOG_OK;
}

/* The position of the first version of seq. */
op_range_pos op_range_pos_at(uint64_t seq);

/* The position right after the current entry: resuming there yields the
 * versions after it and never it again. */
op_range_pos op_range_after(const op_range *r);

/* Closes the cursor. Safe on a zeroed, closed or failed-to-open range. */
void op_range_close(op_range *r);

#endif
