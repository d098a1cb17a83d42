/* The peers table's records (log/peers_table.h). Keys start with one letter
 * naming the record (docs/format.md):
 *
 *   "u" | replica (8, BE)                        -> the device's user (bytes)
 *   "s" | conv_len (1) | conv | replica (8, BE)  -> the vector that device
 *        acknowledged for conv: a MessagePack flat [replica, seq, ...],
 *        ascending replica (relay side)
 *   "r" | conv                                   -> what the relay told this
 *        device about conv: a STATUS message encoding (codec_status_encode),
 *        its vectors the entry-wise maxima of everything received (client)
 *   "d"                                          -> how many "u" records
 *        there are (8, BE)
 *   "c" | replica (8, BE)                        -> how many "s" records
 *        that device has (8, BE)
 *
 * The length byte of "s" keys makes the devices of one conversation one
 * contiguous key range that no other conversation's keys enter ("a" is not a
 * prefix of "ab" there), so a STATUS costs one seek and one step per
 * subscribed device, whatever the number of devices the relay knows. */
#include "log/peers_table.h"

#include <stdlib.h>
#include <string.h>

#include "codec/errors.h"
#include "codec/vv_codec.h"
#include "crdt/bytes.h"
#include "log/keys.h"
#include "msglog.h"

#define USER_KEY_LEN 9                           /* "u" replica */
#define SUB_KEY_MAX (2 + MSGLOG_MAX_CONV + 8)    /* "s" len conv replica */
#define STATUS_KEY_MAX (1 + MSGLOG_MAX_CONV)     /* "r" conv */
#define COUNT_KEY_LEN 9                          /* "c" replica */

/* ---- keys --------------------------------------------------------------- */

static store_val user_key(uint8_t k[USER_KEY_LEN], uint64_t replica)
{
    k[0] = 'u';
    key_put_u64(k + 1, replica);
    return (store_val){ k, USER_KEY_LEN };
}

/* The range of conv's subscribed devices. */
static store_val sub_prefix(uint8_t k[SUB_KEY_MAX], const uint8_t *conv, size_t conv_len)
{
    k[0] = 's';
    k[1] = (uint8_t)conv_len;
    memcpy(k + 2, conv, conv_len);
    return (store_val){ k, 2 + conv_len };
}

static store_val sub_key(uint8_t k[SUB_KEY_MAX], const uint8_t *conv, size_t conv_len,
                         uint64_t replica)
{
    store_val key = sub_prefix(k, conv, conv_len);
    key_put_u64(k + key.len, replica);
    key.len += 8;
    return key;
}

/* 1 when key lies in the range that starts with prefix. */
static int in_range(store_val key, store_val prefix)
{
    return key.len >= prefix.len && memcmp(key.data, prefix.data, prefix.len) == 0;
}

static store_val status_key(uint8_t k[STATUS_KEY_MAX], const uint8_t *conv, size_t conv_len)
{
    k[0] = 'r';
    memcpy(k + 1, conv, conv_len);
    return (store_val){ k, 1 + conv_len };
}

/* ---- relay side: devices ------------------------------------------------ */

int peer_user_get(store_txn *t, uint64_t replica, store_val *user)
{
    uint8_t k[USER_KEY_LEN];
    int rc = store_get(t, TBL_PEERS, user_key(k, replica), user);
    if (rc == MSGLOG_OK && (user->len == 0 || user->len > MSGLOG_MAX_USER))
        return MSGLOG_ECORRUPT;
    return rc;
}

int peer_user_put(store_txn *t, uint64_t replica, const uint8_t *user, size_t len)
{
    uint8_t k[USER_KEY_LEN];
    return store_put(t, TBL_PEERS, user_key(k, replica), (store_val){ user, len });
}

/* ---- relay side: counts -------------------------------------------------- */

static int count_get(store_txn *t, store_val key, uint64_t *n)
{
    store_val v;
    int rc = store_get(t, TBL_PEERS, key, &v);
    *n = 0;
    if (rc == MSGLOG_ENOTFOUND)
        return MSGLOG_OK;
    if (rc == MSGLOG_OK && v.len != 8)
        return MSGLOG_ECORRUPT;
    if (rc == MSGLOG_OK)
        *n = key_get_u64((const uint8_t *)v.data);
    return rc;
}

static int count_put(store_txn *t, store_val key, uint64_t n)
{
    uint8_t v[8];
    key_put_u64(v, n);
    return store_put(t, TBL_PEERS, key, (store_val){ v, 8 });
}

static store_val sub_count_key(uint8_t k[COUNT_KEY_LEN], uint64_t replica)
{
    k[0] = 'c';
    key_put_u64(k + 1, replica);
    return (store_val){ k, COUNT_KEY_LEN };
}

int peer_device_count_get(store_txn *t, uint64_t *n)
{
    return count_get(t, (store_val){ "d", 1 }, n);
}

int peer_device_count_put(store_txn *t, uint64_t n)
{
    return count_put(t, (store_val){ "d", 1 }, n);
}

int peer_sub_count_get(store_txn *t, uint64_t replica, uint64_t *n)
{
    uint8_t k[COUNT_KEY_LEN];
    return count_get(t, sub_count_key(k, replica), n);
}

int peer_sub_count_put(store_txn *t, uint64_t replica, uint64_t n)
{
    uint8_t k[COUNT_KEY_LEN];
    return count_put(t, sub_count_key(k, replica), n);
}

/* ---- relay side: acknowledged vectors ----------------------------------- */

/* Whatever does not decode to exactly one valid vector is corrupt. */
int peer_acked_decode(store_val acked, op_id **vv, size_t *n)
{
    return codec_stored_rc(codec_vv_decode(vv, n, acked.data, acked.len, PEER_MAX_VV));
}

int peer_acked_get(store_txn *t, const uint8_t *conv, size_t conv_len, uint64_t replica,
                   op_id **vv, size_t *n)
{
    *vv = NULL;
    *n = 0;
    if (conv_len > MSGLOG_MAX_CONV)
        return MSGLOG_EINVAL;
    uint8_t k[SUB_KEY_MAX];
    store_val val;
    int rc = store_get(t, TBL_PEERS, sub_key(k, conv, conv_len, replica), &val);
    return rc ? rc : peer_acked_decode(val, vv, n);
}

int peer_acked_put(store_txn *t, const uint8_t *conv, size_t conv_len, uint64_t replica,
                   const op_id *vv, size_t n)
{
    if (conv_len > MSGLOG_MAX_CONV)
        return MSGLOG_EINVAL;
    uint8_t *enc;
    size_t len;
    int rc = codec_vv_encode(&enc, &len, vv, n, PEER_MAX_VV);
    if (rc)
        return rc;
    uint8_t k[SUB_KEY_MAX];
    rc = store_put(t, TBL_PEERS, sub_key(k, conv, conv_len, replica), (store_val){ enc, len });
    free(enc);
    return rc;
}

/* One key of the range: its device's user, then fn. */
static int subscriber_visit(store_txn *t, store_val key, size_t prefix_len, store_val acked,
                            peer_subscriber_fn fn, void *ctx)
{
    if (key.len != prefix_len + 8)
        return MSGLOG_ECORRUPT;
    store_val user;
    int rc = peer_user_get(t, key_get_u64((const uint8_t *)key.data + prefix_len), &user);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;  /* subscribed, never seen */
    return fn(ctx, user, acked);
}

int peer_subscribers_foreach(store_txn *t, const uint8_t *conv, size_t conv_len,
                             peer_subscriber_fn fn, void *ctx)
{
    if (conv_len > MSGLOG_MAX_CONV)
        return MSGLOG_EINVAL;
    uint8_t k[SUB_KEY_MAX];
    store_val prefix = sub_prefix(k, conv, conv_len), key, val;
    store_cursor *cur;
    int rc = store_cursor_open(t, TBL_PEERS, &cur);
    if (rc)
        return rc;
    rc = store_cursor_seek(cur, prefix, &key, &val);
    while (rc == MSGLOG_OK && in_range(key, prefix)) {
        int stop = subscriber_visit(t, key, prefix.len, val, fn, ctx);
        if (stop) {     /* returned as it is, even MSGLOG_ENOTFOUND */
            store_cursor_close(cur);
            return stop;
        }
        rc = store_cursor_next(cur, &key, &val);
    }
    store_cursor_close(cur);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;   /* past the last key */
}

/* ---- client side: the relay's STATUS ------------------------------------ */

int peer_relay_status_get(store_txn *t, const uint8_t *conv, size_t conv_len, codec_status *out)
{
    memset(out, 0, sizeof *out);
    if (conv_len > MSGLOG_MAX_CONV)
        return MSGLOG_EINVAL;
    uint8_t k[STATUS_KEY_MAX];
    store_val val;
    int rc = store_get(t, TBL_PEERS, status_key(k, conv, conv_len), &val);
    if (rc)
        return rc;
    rc = codec_status_decode(out, val.data, val.len);
    if (rc)
        return codec_stored_rc(rc);
    if (bytes_cmp(out->conv, out->conv_len, conv, conv_len) != 0) {
        codec_status_clear(out);
        return MSGLOG_ECORRUPT;   /* a record filed under another conversation */
    }
    return MSGLOG_OK;
}

int peer_relay_status_put(store_txn *t, const codec_status *st)
{
    if (st->conv_len > MSGLOG_MAX_CONV)
        return MSGLOG_EINVAL;
    uint8_t *buf;
    size_t len;
    int rc = codec_status_encode(&buf, &len, st);
    if (rc)
        return rc;
    uint8_t k[STATUS_KEY_MAX];
    rc = store_put(t, TBL_PEERS, status_key(k, st->conv, st->conv_len), (store_val){ buf, len });
    free(buf);
    return rc;
}
