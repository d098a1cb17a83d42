#include "log/msg_walk.h"

#include <string.h>

#include "codec/errors.h"
#include "codec/state_codec.h"
#include "log/keys.h"

int msg_walk_open(msg_walk *w, store_txn *t, uint32_t cid, int backward, int from_end,
                  uint64_t from_hlc, op_id from_id)
{
    *w = (msg_walk){ NULL, cid, backward, from_end, from_hlc, from_id, 0 };
    return store_cursor_open(t, TBL_MSGS, &w->cur);
}

void msg_walk_close(msg_walk *w)
{
    store_cursor_close(w->cur);
    w->cur = NULL;
}

/* Positions the cursor on the first message of the walk. */
static int walk_start(msg_walk *w, store_val *k, store_val *v)
{
    int rc;
    if (w->from_end && !w->backward)
        return cursor_seek_conv(w->cur, w->cid, k, v);
    if (w->from_end) {
        if (w->cid == UINT32_MAX)
            return store_cursor_last(w->cur, k, v);
        rc = cursor_seek_conv(w->cur, w->cid + 1, k, v);
    } else {
        uint8_t key[KEY_MSG_LEN];
        key_msg(key, w->cid, w->from_hlc, w->from_id);
        rc = store_cursor_seek(w->cur, (store_val){ key, sizeof key }, k, v);
        if (!w->backward) {
            if (rc == MSGLOG_OK && k->len == sizeof key && memcmp(k->data, key, sizeof key) == 0)
                rc = store_cursor_next(w->cur, k, v);
            return rc;
        }
    }
    /* Backward: the entry before the first key >= the bound. */
    if (rc == MSGLOG_ENOTFOUND)
        return store_cursor_last(w->cur, k, v);
    return rc ? rc : store_cursor_prev(w->cur, k, v);
}

int msg_walk_next(msg_walk *w, uint64_t *hlc, op_id *id, msg_state *m)
{
    store_val k, v;
    int rc;
    if (!w->started) {
        w->started = 1;
        rc = walk_start(w, &k, &v);
    } else {
        rc = w->backward ? store_cursor_prev(w->cur, &k, &v) : store_cursor_next(w->cur, &k, &v);
    }
    if (rc)
        return rc;
    const uint8_t *kp = k.data;
    if (!key_in_conv(k, KEY_MSG_LEN, w->cid))
        return MSGLOG_ENOTFOUND;   /* another conversation's: the walk is over */
    *hlc = key_get_u64(kp + 4);
    *id = (op_id){ key_get_u64(kp + 12), key_get_u64(kp + 20) };
    return codec_stored_rc(codec_msg_decode(m, v.data, v.len));
}
