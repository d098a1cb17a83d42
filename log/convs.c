/* Conversation records (docs/format.md): a name is numbered once, from the
 * counter "next_cid" in the meta table, and its state lives under its cid. */
#include "log/convs.h"

#include <stdlib.h>
#include <string.h>

#include "codec/errors.h"
#include "codec/state_codec.h"
#include "log/keys.h"
#include "msglog.h"

int conv_state_put(store_txn *t, const conv_state *c)
{
    uint8_t key[4], *buf;
    size_t len;
    key_put_u32(key, c->cid);
    int rc = codec_conv_encode(&buf, &len, c);
    if (rc)
        return rc;
    rc = store_put(t, TBL_CONV_STATE, (store_val){ key, 4 }, (store_val){ buf, len });
    free(buf);
    return rc;
}

int conv_foreach(store_txn *t, int (*fn)(void *ctx, const uint8_t *name, size_t len), void *ctx)
{
    store_cursor *cur;
    store_val k, v;
    int rc = store_cursor_open(t, TBL_CONVS, &cur);
    if (rc)
        return rc;
    rc = store_cursor_first(cur, &k, &v);
    while (rc == MSGLOG_OK) {
        rc = fn(ctx, k.data, k.len);
        if (!rc)
            rc = store_cursor_next(cur, &k, &v);
    }
    store_cursor_close(cur);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

int conv_exists(store_txn *t, const uint8_t *name, size_t len)
{
    store_val cidv;
    return store_get(t, TBL_CONVS, (store_val){ name, len }, &cidv);
}

int conv_lookup(store_txn *t, const uint8_t *name, size_t len, conv_state *out)
{
    store_val cidv, sv;
    int rc = store_get(t, TBL_CONVS, (store_val){ name, len }, &cidv);
    if (rc)
        return rc;
    if (cidv.len != 4)
        return MSGLOG_ECORRUPT;
    rc = store_get(t, TBL_CONV_STATE, cidv, &sv);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
    return codec_stored_rc(codec_conv_decode(out, sv.data, sv.len));
}

int conv_create(store_txn *t, const uint8_t *name, size_t len, conv_state *out)
{
    store_val v;
    uint32_t cid = 1;
    int rc = store_get(t, TBL_META, (store_val){ "next_cid", 8 }, &v);
    if (rc == MSGLOG_OK && v.len == 4)
        cid = key_get_u32(v.data);
    else if (rc != MSGLOG_ENOTFOUND)
        return rc ? rc : MSGLOG_ECORRUPT;
    if (cid == UINT32_MAX)
        return MSGLOG_EFULL;
    uint8_t key[4], next[4];
    key_put_u32(key, cid);
    key_put_u32(next, cid + 1);
    rc = store_put(t, TBL_META, (store_val){ "next_cid", 8 }, (store_val){ next, 4 });
    if (!rc)
        rc = store_put(t, TBL_CONVS, (store_val){ name, len }, (store_val){ key, 4 });
    memset(out, 0, sizeof *out);
    out->cid = cid;
    return rc;
}

