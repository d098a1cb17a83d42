/* Op records (TBL_OPS) and message states (TBL_MSGS). */
#include "log/records.h"

#include <stdlib.h>
#include <string.h>

#include "msglog.h"

#include "codec/op_codec.h"
#include "codec/state_codec.h"
#include "log/keys.h"

int oprec_write(store_txn *t, int tbl, store_val key, uint8_t kind, uint64_t hlc,
                const uint8_t *enc, size_t len)
{
    uint8_t head[OPREC_HEAD];
    head[0] = kind;
    key_put_u64(head + 1, hlc);
    store_val parts[2] = { { head, sizeof head }, { enc, len } };
    return store_put_parts(t, tbl, key, parts, 2);
}

int oprec_put(store_txn *t, uint32_t cid, const op *o, const uint8_t *enc, size_t len)
{
    uint8_t key[KEY_OP_LEN];
    key_op(key, cid, o->id);
    return oprec_write(t, TBL_OPS, (store_val){ key, sizeof key }, o->kind, o->hlc, enc, len);
}

int oprec_scrub(store_txn *t, uint32_t cid, op_id id)
{
    uint8_t key[KEY_OP_LEN];
    key_op(key, cid, id);
    return store_scrub(t, TBL_OPS, (store_val){ key, sizeof key });
}

int oprec_parse(store_val v, uint8_t *kind, uint64_t *hlc, const uint8_t **enc, size_t *len)
{
    if (v.len < OPREC_HEAD)
        return MSGLOG_ECORRUPT;
    const uint8_t *p = v.data;
    *kind = p[0];
    *hlc = key_get_u64(p + 1);
    if (enc) {
        *enc = p + OPREC_HEAD;
        *len = v.len - OPREC_HEAD;
    }
    return MSGLOG_OK;
}

int oprec_get(store_txn *t, uint32_t cid, op_id id, uint8_t *kind, uint64_t *hlc,
              const uint8_t **enc, size_t *len)
{
    uint8_t key[KEY_OP_LEN];
    key_op(key, cid, id);
    store_val v;
    int rc = store_get(t, TBL_OPS, (store_val){ key, sizeof key }, &v);
    return rc ? rc : oprec_parse(v, kind, hlc, enc, len);
}

int oprec_foreach(store_txn *t, uint32_t cid,
                  int (*fn)(void *ctx, op_id id, uint8_t kind, uint64_t hlc,
                            const uint8_t *enc, size_t len),
                  void *ctx)
{
    store_cursor *cur;
    int rc = store_cursor_open(t, TBL_OPS, &cur);
    store_val k, v;
    if (!rc)
        rc = cursor_seek_conv(cur, cid, &k, &v);
    while (rc == MSGLOG_OK && key_in_conv(k, KEY_OP_LEN, cid)) {
        const uint8_t *kp = k.data, *enc;
        uint8_t kind;
        uint64_t hlc;
        size_t len;
        rc = oprec_parse(v, &kind, &hlc, &enc, &len);
        if (!rc)
            rc = fn(ctx, (op_id){ key_get_u64(kp + 4), key_get_u64(kp + 12) }, kind, hlc, enc, len);
        if (!rc)
            rc = store_cursor_next(cur, &k, &v);
    }
    store_cursor_close(cur);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

int msgrec_load(store_txn *t, uint32_t cid, op_id id, uint64_t *hlc, msg_state *m)
{
    uint8_t kind;
    int rc = oprec_get(t, cid, id, &kind, hlc, NULL, NULL);
    if (rc)
        return rc;
    if (kind != OP_SEND)
        return MSGLOG_ENOTFOUND;
    uint8_t key[KEY_MSG_LEN];
    key_msg(key, cid, *hlc, id);
    store_val v;
    rc = store_get(t, TBL_MSGS, (store_val){ key, sizeof key }, &v);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
    return codec_stored_rc(codec_msg_decode(m, v.data, v.len));
}

int msgrec_store(store_txn *t, uint32_t cid, uint64_t hlc, op_id id, const msg_state *m)
{
    uint8_t key[KEY_MSG_LEN], *buf;
    size_t len;
    key_msg(key, cid, hlc, id);
    int rc = codec_msg_encode(&buf, &len, m);
    if (rc)
        return rc;
    rc = store_put(t, TBL_MSGS, (store_val){ key, sizeof key }, (store_val){ buf, len });
    free(buf);
    return rc;
}

int stored_op_decode(op *o, const uint8_t *enc, size_t len)
{
    return codec_stored_rc(codec_op_decode(o, enc, len));
}

/* Message states hold no message text (bodies live in op records), so
 * they are deleted without being zeroed. */
int msgrec_delete(store_txn *t, uint32_t cid, uint64_t hlc, op_id id)
{
    uint8_t key[KEY_MSG_LEN];
    key_msg(key, cid, hlc, id);
    int rc = store_del(t, TBL_MSGS, (store_val){ key, sizeof key });
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}
