/* The write context: one LMDB write transaction and the conversation states
 * it touched. A state is decoded once per transaction and encoded once at
 * commit, so a batch of many ops costs one conversation write, not one per
 * op. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "crdt/grow.h"
#include "log/convs.h"
#include "log/meta.h"

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
        ids_free(&w->convs[i]->versions);
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

int wctx_pending_totals(wctx *w)
{
    if (w->totals_loaded)
        return MSGLOG_OK;
    int rc = meta_get_pending_totals(w->txn, &w->pending_ops, &w->pending_bytes);
    if (!rc)
        w->totals_loaded = 1;
    return rc;
}

void wctx_pending_note(wctx *w, int64_t ops, int64_t bytes)
{
    w->pending_ops += (uint64_t)ops;
    w->pending_bytes += (uint64_t)bytes;
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
    if (w->totals_loaded)
        rc = meta_put_pending_totals(w->txn, w->pending_ops, w->pending_bytes);
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
    return rc ? ml_fail(w->log, rc, "commit failed: %s", ml_strerror(rc)) : MSGLOG_OK;
}

void ml_set_commit_hook(msglog *log, ml_commit_fn fn, void *ctx)
{
    log->on_commit = fn;
    log->on_commit_ctx = ctx;
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
    conv_slot **arr = grow_array(w->convs, &w->convs_cap, w->n_convs + 1, sizeof *arr);
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
    s->evidence = -1;
    w->convs[w->n_convs++] = s;
    *out = &s->st;
    return MSGLOG_OK;
}

conv_slot *wctx_slot(wctx *w, const conv_state *c)
{
    for (size_t i = 0; i < w->n_convs; i++)
        if (&w->convs[i]->st == c)
            return w->convs[i];
    return NULL;
}
