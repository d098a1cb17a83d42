/* The write context: one LMDB write transaction and the conversation states
 * it touched. A state is decoded once per transaction and encoded once at
 * commit, so a batch of many ops costs one conversation write, not one per
 * op. */
#include "src/internal.h"

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "codec/state_codec.h"
#include "log/keys.h"

int wctx_begin(msglog *log, wctx *w)
{
    memset(w, 0, sizeof *w);
    w->log = log;
    int rc = store_txn_begin(log->st, 1, &w->txn);
    return rc ? ml_fail(log, rc, "cannot begin a write transaction") : MSGLOG_OK;
}

static void free_slots(wctx *w)
{
    for (size_t i = 0; i < w->n_convs; i++) {
        conv_free(&w->convs[i]->st);
        free(w->convs[i]);
    }
    free(w->convs);
    w->convs = NULL;
    w->n_convs = 0;
}

void wctx_abort(wctx *w)
{
    store_txn_abort(w->txn);
    w->txn = NULL;
    free_slots(w);
}

static int conv_state_put(store_txn *t, const conv_state *c)
{
    uint8_t key[4], *buf;
    size_t len;
    key_put_u32(key, c->cid);
    if (codec_conv_encode(&buf, &len, c) != CODEC_OK)
        return MSGLOG_ENOMEM;
    int rc = store_put(t, TBL_CONV_STATE, (store_val){ key, 4 }, (store_val){ buf, len });
    free(buf);
    return rc;
}

#define TOTALS_KEY ((store_val){ "pending_totals", 14 })

int wctx_pending_totals(wctx *w)
{
    if (w->totals_loaded)
        return MSGLOG_OK;
    store_val v;
    int rc = store_get(w->txn, TBL_META, TOTALS_KEY, &v);
    if (rc == MSGLOG_OK && v.len == 16) {
        w->pending_ops = key_get_u64(v.data);
        w->pending_bytes = key_get_u64((const uint8_t *)v.data + 8);
    } else if (rc == MSGLOG_OK) {
        return MSGLOG_ECORRUPT;
    } else if (rc != MSGLOG_ENOTFOUND) {
        return rc;
    }
    w->totals_loaded = 1;
    return MSGLOG_OK;
}

void wctx_pending_note(wctx *w, int64_t ops, int64_t bytes)
{
    w->pending_ops += (uint64_t)ops;
    w->pending_bytes += (uint64_t)bytes;
}

static int totals_put(wctx *w)
{
    uint8_t b[16];
    key_put_u64(b, w->pending_ops);
    key_put_u64(b + 8, w->pending_bytes);
    return store_put(w->txn, TBL_META, TOTALS_KEY, (store_val){ b, sizeof b });
}

/* Tells the sync layer which conversations a commit touched, once it is
 * durable: a session may then send their new ops (docs/protocol.md 3.5). */
static void notify_committed(wctx *w)
{
    if (!w->log->on_commit)
        return;
    for (size_t i = 0; i < w->n_convs; i++)
        w->log->on_commit(w->log->on_commit_ctx, w->convs[i]->name, w->convs[i]->name_len);
}

int wctx_commit(wctx *w)
{
    int rc = MSGLOG_OK;
    for (size_t i = 0; i < w->n_convs && !rc; i++)
        rc = equiv_settle(w, &w->convs[i]->st);
    if (!rc && w->totals_loaded)
        rc = totals_put(w);
    for (size_t i = 0; i < w->n_convs && !rc; i++)
        rc = conv_state_put(w->txn, &w->convs[i]->st);
    if (rc) {
        wctx_abort(w);
        return ml_fail(w->log, rc, "cannot write a conversation's state");
    }
    rc = store_txn_commit(w->txn);
    w->txn = NULL;
    if (!rc)
        notify_committed(w);
    free_slots(w);
    return rc ? ml_fail(w->log, rc, "commit failed: %s", msglog_strerror(rc)) : MSGLOG_OK;
}

void ml_set_commit_hook(msglog *log, ml_commit_fn fn, void *ctx)
{
    log->on_commit = fn;
    log->on_commit_ctx = ctx;
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
    rc = codec_conv_decode(out, sv.data, sv.len);
    return rc == CODEC_ENOMEM ? MSGLOG_ENOMEM : rc ? MSGLOG_ECORRUPT : MSGLOG_OK;
}

/* Numbers a new conversation: cids are handed out in creation order from a
 * counter in the meta table. */
static int conv_create(store_txn *t, const uint8_t *name, size_t len, conv_state *out)
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

static conv_slot *find_slot(wctx *w, const uint8_t *name, size_t len)
{
    for (size_t i = 0; i < w->n_convs; i++)
        if (w->convs[i]->name_len == len && memcmp(w->convs[i]->name, name, len) == 0)
            return w->convs[i];
    return NULL;
}

int wctx_conv(wctx *w, const uint8_t *name, size_t len, int create, conv_state **out)
{
    conv_slot *s = find_slot(w, name, len);
    if (s) {
        *out = &s->st;
        return MSGLOG_OK;
    }
    if (len == 0 || len > MSGLOG_MAX_CONV)
        return MSGLOG_EINVAL;
    conv_slot **arr = realloc(w->convs, (w->n_convs + 1) * sizeof *arr);
    if (!arr)
        return MSGLOG_ENOMEM;
    w->convs = arr;
    s = calloc(1, sizeof *s);
    if (!s)
        return MSGLOG_ENOMEM;
    int rc = conv_lookup(w->txn, name, len, &s->st);
    if (rc == MSGLOG_ENOTFOUND && create)
        rc = conv_create(w->txn, name, len, &s->st);
    if (rc) {
        conv_free(&s->st);
        free(s);
        return rc;
    }
    memcpy(s->name, name, len);
    s->name_len = len;
    w->convs[w->n_convs++] = s;
    *out = &s->st;
    return MSGLOG_OK;
}
