/* Big-endian key building: byte order equals numeric order, so LMDB's
 * default memcmp ordering walks keys in (cid, replica, seq) or
 * (cid, hlc, replica, seq) order. */
#ifndef MSGLOG_LOG_KEYS_H
#define MSGLOG_LOG_KEYS_H

#include <stdint.h>

#include "crdt/op.h"
#include "log/store.h"

#define KEY_OP_LEN 20      /* cid(4) replica(8) seq(8) */
#define KEY_MSG_LEN 28     /* cid(4) hlc(8) replica(8) seq(8) */
#define KEY_PENDING_LEN 36 /* cid(4) wait(16) id(16) */
#define KEY_EQUIV_LEN 36   /* cid(4) replica(8) seq(8) content hash(16) */

static inline void key_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline void key_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline uint32_t key_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t key_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void key_op(uint8_t k[KEY_OP_LEN], uint32_t cid, op_id id)
{
    key_put_u32(k, cid);
    key_put_u64(k + 4, id.replica);
    key_put_u64(k + 12, id.seq);
}

static inline void key_msg(uint8_t k[KEY_MSG_LEN], uint32_t cid, uint64_t hlc, op_id id)
{
    key_put_u32(k, cid);
    key_put_u64(k + 4, hlc);
    key_put_u64(k + 12, id.replica);
    key_put_u64(k + 20, id.seq);
}

static inline void key_pending(uint8_t k[KEY_PENDING_LEN], uint32_t cid, op_id wait, op_id id)
{
    key_put_u32(k, cid);
    key_put_u64(k + 4, wait.replica);
    key_put_u64(k + 12, wait.seq);
    key_put_u64(k + 20, id.replica);
    key_put_u64(k + 28, id.seq);
}

/* Every table keyed by cid first holds a conversation's entries as one run
 * of keys: seek its first key, then step while key_in_conv() holds. */
static inline int cursor_seek_conv(store_cursor *cur, uint32_t cid, store_val *k, store_val *v)
{
    uint8_t prefix[4];
    key_put_u32(prefix, cid);
    return store_cursor_seek(cur, (store_val){ prefix, sizeof prefix }, k, v);
}

/* Whether k is a key of length key_len of conversation cid. */
static inline int key_in_conv(store_val k, size_t key_len, uint32_t cid)
{
    return k.len == key_len && key_get_u32(k.data) == cid;
}

#endif
