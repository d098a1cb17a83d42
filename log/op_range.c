/* One origin's versions by seq range (docs/format.md): TBL_OPS keys are
 * cid|replica|seq, TBL_EQUIVOCAL keys cid|replica|seq|hash, both
 * big-endian, so a range is one seek and then cursor steps until a key
 * leaves the origin or passes the last seq. */
#include "log/op_range.h"

#include <string.h>

#include "log/keys.h"
#include "msglog.h"

int op_range_open(op_range *r, store_txn *t, enum op_range_table table, uint32_t cid)
{
    memset(r, 0, sizeof *r);
    r->table = table;
    r->key_len = table == OP_RANGE_EVIDENCE ? KEY_EQUIV_LEN : KEY_OP_LEN;
    key_put_u32(r->origin, cid);
    return store_cursor_open(t, table == OP_RANGE_EVIDENCE ? TBL_EQUIVOCAL : TBL_OPS, &r->cur);
}

void op_range_close(op_range *r)
{
    store_cursor_close(r->cur);
    r->cur = NULL;
}

/* Makes key k, which the cursor reached (its value is in r->rec already),
 * the current entry when it belongs to the range: a key of another length,
 * cid or origin, or past `to`, ends the range. This runs once per entry on
 * sync's read path, so the origin is compared as bytes and only the seq is
 * decoded. */
static inline int take(op_range *r, store_val k)
{
    const uint8_t *p = k.data;
    if (k.len != r->key_len || memcmp(p, r->origin, sizeof r->origin) != 0)
        return MSGLOG_ENOTFOUND;
    uint64_t seq = key_get_u64(p + 12);
    if (seq > r->to)
        return MSGLOG_ENOTFOUND;
    r->id.seq = seq;
    if (r->table == OP_RANGE_EVIDENCE)
        memcpy(r->hash, p + KEY_OP_LEN, OP_HASH_LEN);
    return MSGLOG_OK;
}

int op_range_resume(op_range *r, uint64_t replica, op_range_pos from, uint64_t to)
{
    /* An evidence seek carries the hash too: (seq, 0) is the first version
     * of seq, any other hash resumes inside it. */
    uint8_t key[KEY_EQUIV_LEN];
    key_put_u64(r->origin + 4, replica);
    memcpy(key, r->origin, sizeof r->origin);
    key_put_u64(key + 12, from.seq);
    memcpy(key + KEY_OP_LEN, from.hash, OP_HASH_LEN);
    r->id.replica = replica;
    r->to = to;
    store_val k;
    int rc = store_cursor_seek(r->cur, (store_val){ key, r->key_len }, &k, &r->rec);
    return rc ? rc : take(r, k);
}

int op_range_seek(op_range *r, uint64_t replica, uint64_t from, uint64_t to)
{
    return op_range_resume(r, replica, op_range_pos_at(from), to);
}

int op_range_next(op_range *r)
{
    store_val k;
    int rc = store_cursor_next(r->cur, &k, &r->rec);
    return rc ? rc : take(r, k);
}

op_range_pos op_range_pos_at(uint64_t seq)
{
    op_range_pos p = { seq, { 0 } };
    return p;
}

/* For evidence, the key right after seq|hash: (seq, hash) plus one as a
 * 24-byte big-endian number, the carry going from the hash into seq. */
op_range_pos op_range_after(const op_range *r)
{
    if (r->table == OP_RANGE_OPS)
        return op_range_pos_at(r->id.seq + 1);
    op_range_pos p = { r->id.seq, { 0 } };
    memcpy(p.hash, r->hash, OP_HASH_LEN);
    int i = OP_HASH_LEN - 1;
    while (i >= 0 && ++p.hash[i] == 0)
        i--;
    if (i < 0)
        p.seq++;
    return p;
}
