/* Reading the view: pages of messages in message order, one message, a
 * conversation's summary, the list of conversations.
 *
 * Message order is the order of the stored message states (log/msg_walk.h):
 * a page from either end or from a cursor is one seek plus `limit` steps,
 * whatever the size of the conversation. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "api/flat.h"
#include "codec/op_codec.h"
#include "crdt/grow.h"
#include "log/evidence.h"
#include "log/msg_walk.h"

/* One message gathered from the store, borrowing from the read txn. */
typedef struct gathered {
    op_id id;
    uint64_t hlc;
    msg_state m;
    op send;
    op edit;         /* the best edit when shown, else kind 0 */
    int equivocated; /* msglog_message.equivocated */
} gathered;

static void gathered_free(gathered *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        msg_free(&g[i].m);
        codec_op_clear(&g[i].send);
        codec_op_clear(&g[i].edit);
    }
    free(g);
}

static int decode_oprec(store_txn *t, uint32_t cid, op_id id, op *o)
{
    uint8_t kind;
    uint64_t hlc;
    const uint8_t *enc;
    size_t len;
    int rc = oprec_get(t, cid, id, &kind, &hlc, &enc, &len);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_ECORRUPT : rc;
    return codec_stored_rc(codec_op_decode(o, enc, len));
}

/* The texts a gathered message shows: its send, and the edit shown. */
static int gather_texts(store_txn *t, uint32_t cid, gathered *g)
{
    int rc = decode_oprec(t, cid, g->id, &g->send);
    op_id edit;
    if (!rc && msg_shown_edit(&g->m, &edit))
        rc = decode_oprec(t, cid, edit, &g->edit);
    return rc;
}

/* Marks the gathered messages whose send or an edit is held in more than
 * one version. Nothing to look up in a conversation without evidence (one
 * seek); otherwise one seek per op of each message that sets its text. */
static int mark_equivocated(store_txn *t, uint32_t cid, gathered *g, size_t n)
{
    int any;
    int rc = evidence_held(t, cid, &any);
    for (size_t i = 0; !rc && any && i < n; i++) {
        rc = evidence_held_for(t, cid, g[i].id, &g[i].equivocated);
        for (size_t e = 0; !rc && !g[i].equivocated && e < g[i].m.edits.n; e++)
            rc = evidence_held_for(t, cid, g[i].m.edits.e[e], &g[i].equivocated);
    }
    return rc;
}

/* ---- building a page ---------------------------------------------------- */

static size_t count_keys(const msg_state *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_reactions; i++)
        if (i == 0 || m->reactions[i].key_len != m->reactions[i - 1].key_len ||
            memcmp(m->reactions[i].key, m->reactions[i - 1].key, m->reactions[i].key_len) != 0)
            n++;
    return n;
}

/* Reactions grouped by key; entries are sorted by (key, user) already. */
static void emit_reactions(flat *f, const msg_state *m, msglog_message *out)
{
    size_t n_keys = m->deleted ? 0 : count_keys(m);
    msglog_reaction *r = flat_alloc(f, n_keys * sizeof *r);
    size_t i = 0;
    for (size_t k = 0; k < n_keys; k++) {
        size_t j = i;
        while (j < m->n_reactions && m->reactions[j].key_len == m->reactions[i].key_len &&
               memcmp(m->reactions[j].key, m->reactions[i].key, m->reactions[i].key_len) == 0)
            j++;
        msglog_str *users = flat_alloc(f, (j - i) * sizeof *users);
        msglog_str key = flat_str(f, m->reactions[i].key, m->reactions[i].key_len);
        for (size_t u = i; u < j; u++) {
            msglog_str s = flat_str(f, m->reactions[u].user, m->reactions[u].user_len);
            if (users)
                users[u - i] = s;
        }
        if (r)
            r[k] = (msglog_reaction){ key, j - i, users };
        i = j;
    }
    if (out) {
        out->n_reactions = n_keys;
        out->reactions = r;
    }
}

static void emit_message(flat *f, const gathered *g, msglog_message *out)
{
    const op *shown = g->edit.kind ? &g->edit : &g->send;
    msglog_str author = flat_str(f, g->m.author, g->m.author_len);
    msglog_str body = { NULL, 0 };
    if (!g->m.deleted && !shown->erased)
        body = flat_str(f, shown->body, shown->body_len);
    if (out) {
        out->id = (msglog_id){ g->id.replica, g->id.seq };
        out->hlc = g->hlc;
        out->author = author;
        out->body = body;
        out->edited = g->m.edited;
        out->deleted = g->m.deleted;
        out->conflict = msg_conflict(&g->m);
        out->equivocated = g->equivocated;
    }
    emit_reactions(f, &g->m, out);
}

static void emit_page(flat *f, const gathered *g, size_t n)
{
    msglog_page *page = flat_alloc(f, sizeof *page);
    msglog_message *msgs = flat_alloc(f, n * sizeof *msgs);
    for (size_t i = 0; i < n; i++)
        emit_message(f, &g[i], msgs ? &msgs[i] : NULL);
    if (page) {
        page->n = n;
        page->messages = msgs;
    }
}

static int build_page(msglog_page **out, const gathered *g, size_t n)
{
    flat f = { NULL, 0 };
    emit_page(&f, g, n);
    int rc = flat_start_writing(&f);
    if (rc)
        return rc;
    emit_page(&f, g, n);
    *out = (msglog_page *)f.base;
    return MSGLOG_OK;
}

/* ---- walking ------------------------------------------------------------ */

static int walk(store_txn *t, uint32_t cid, int dir, msglog_cursor from, size_t limit,
                gathered **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    gathered *g = calloc(limit ? limit : 1, sizeof *g);
    if (!g)
        return MSGLOG_ENOMEM;
    msg_walk w;
    int rc = msg_walk_open(&w, t, cid, dir == MSGLOG_BACKWARD, from.from_end, from.hlc,
                           (op_id){ from.id.replica, from.id.seq });
    size_t count = 0;
    while (!rc && count < limit) {
        gathered *at = &g[count];
        rc = msg_walk_next(&w, &at->hlc, &at->id, &at->m);
        if (!rc) {
            count++;
            rc = gather_texts(t, cid, at);
        }
    }
    msg_walk_close(&w);
    if (rc == MSGLOG_ENOTFOUND)
        rc = MSGLOG_OK;
    if (!rc)
        rc = mark_equivocated(t, cid, g, count);
    if (rc) {
        gathered_free(g, count);
        return rc;
    }
    *out = g;
    *n = count;
    return MSGLOG_OK;
}

/* The one message whose send is `id`: MSGLOG_ENOTFOUND when no delivered
 * send has that id. */
static int gather_exact(store_txn *t, uint32_t cid, op_id id, gathered **out, size_t *n)
{
    gathered *g = calloc(1, sizeof *g);
    if (!g)
        return MSGLOG_ENOMEM;
    g->id = id;
    int rc = msgrec_load(t, cid, id, &g->hlc, &g->m);
    if (!rc)
        rc = gather_texts(t, cid, g);
    if (!rc)
        rc = mark_equivocated(t, cid, g, 1);
    if (rc) {
        gathered_free(g, 1);
        return rc;
    }
    *out = g;
    *n = 1;
    return MSGLOG_OK;
}

/* Begins a read transaction and loads the conversation. */
static int begin_conv_read(msglog *log, store_txn **t, const char *conv, size_t conv_len,
                           conv_state *c)
{
    if (!conv || conv_len == 0 || conv_len > MSGLOG_MAX_CONV)
        return ml_fail(log, MSGLOG_EINVAL, "bad conversation id");
    int rc = store_txn_begin(log->st, 0, t);
    if (rc)
        return ml_fail(log, rc, "cannot begin a read transaction");
    rc = conv_lookup(*t, (const uint8_t *)conv, conv_len, c);
    if (rc) {
        store_txn_abort(*t);
        *t = NULL;
        return ml_fail(log, rc, rc == MSGLOG_ENOTFOUND ? "no such conversation"
                                                       : "cannot read the conversation");
    }
    return MSGLOG_OK;
}

int msglog_messages(msglog *log, msglog_page **out, const char *conv, size_t conv_len,
                    int dir, msglog_cursor from, size_t limit)
{
    if (!log || !out || (dir != MSGLOG_FORWARD && dir != MSGLOG_BACKWARD))
        return ml_fail(log, MSGLOG_EINVAL, "msglog_messages: bad argument");
    *out = NULL;
    store_txn *t;
    conv_state c;
    int rc = begin_conv_read(log, &t, conv, conv_len, &c);
    if (rc)
        return rc;
    gathered *g;
    size_t n;
    rc = walk(t, c.cid, dir, from, limit, &g, &n);
    if (!rc) {
        rc = build_page(out, g, n);
        gathered_free(g, n);
    }
    store_txn_abort(t);
    conv_free(&c);
    return rc ? ml_fail(log, rc, "reading messages failed: %s", msglog_strerror(rc)) : ml_ok(log);
}

int msglog_message_get(msglog *log, msglog_page **out, const char *conv, size_t conv_len,
                       msglog_id id)
{
    if (!log || !out)
        return ml_fail(log, MSGLOG_EINVAL, "msglog_message_get: bad argument");
    *out = NULL;
    store_txn *t;
    conv_state c;
    int rc = begin_conv_read(log, &t, conv, conv_len, &c);
    if (rc)
        return rc;
    gathered *g = NULL;
    size_t n = 0;
    rc = gather_exact(t, c.cid, (op_id){ id.replica, id.seq }, &g, &n);
    if (!rc)
        rc = build_page(out, g, n);
    gathered_free(g, n);
    store_txn_abort(t);
    conv_free(&c);
    if (rc == MSGLOG_ENOTFOUND)
        return ml_fail(log, rc, "message %llu.%llu is not delivered here",
                       (unsigned long long)id.replica, (unsigned long long)id.seq);
    return rc ? ml_fail(log, rc, "reading the message failed: %s", msglog_strerror(rc)) : ml_ok(log);
}

/* ---- conversation summary ---------------------------------------------- */

static void emit_info(flat *f, const conv_state *c)
{
    msglog_conv_info *info = flat_alloc(f, sizeof *info);
    msglog_vv_entry *vv = flat_alloc(f, c->delivered.n * sizeof *vv);
    msglog_read_marker *rd = flat_alloc(f, c->n_reads * sizeof *rd);
    for (size_t i = 0; vv && i < c->delivered.n; i++)
        vv[i] = (msglog_vv_entry){ c->delivered.e[i].replica, c->delivered.e[i].seq };
    for (size_t i = 0; i < c->n_reads; i++) {
        msglog_str u = flat_str(f, c->reads[i].user, c->reads[i].user_len);
        if (rd)
            rd[i] = (msglog_read_marker){ u, { c->reads[i].msg.replica, c->reads[i].msg.seq } };
    }
    if (!info)
        return;
    info->n_vv = c->delivered.n;
    info->vv = vv;
    info->pending = c->pending;
    info->n_messages = c->n_messages;
    digest_to_bytes(info->digest, c->dig);
    info->n_read = c->n_reads;
    info->read = rd;
}

int msglog_conv_info_get(msglog *log, msglog_conv_info **out, const char *conv, size_t conv_len)
{
    if (!log || !out)
        return ml_fail(log, MSGLOG_EINVAL, "msglog_conv_info_get: bad argument");
    *out = NULL;
    store_txn *t;
    conv_state c;
    int rc = begin_conv_read(log, &t, conv, conv_len, &c);
    if (rc)
        return rc;
    store_txn_abort(t);
    flat f = { NULL, 0 };
    emit_info(&f, &c);
    rc = flat_start_writing(&f);
    if (!rc) {
        emit_info(&f, &c);
        *out = (msglog_conv_info *)f.base;
    }
    conv_free(&c);
    return rc ? ml_fail(log, rc, "out of memory") : ml_ok(log);
}

/* ---- the list of conversations ----------------------------------------- */

typedef struct name_list {
    store_val *e;
    size_t n;
    size_t cap;
} name_list;

static void emit_names(flat *f, const name_list *l)
{
    msglog_str *arr = flat_alloc(f, l->n * sizeof *arr);
    for (size_t i = 0; i < l->n; i++) {
        msglog_str s = flat_str(f, l->e[i].data, l->e[i].len);
        if (arr)
            arr[i] = s;
    }
}

static int add_name(void *ctx, const uint8_t *name, size_t len)
{
    name_list *l = ctx;
    store_val *e = grow_array(l->e, &l->cap, l->n + 1, sizeof *e);
    if (!e)
        return MSGLOG_ENOMEM;
    l->e = e;
    l->e[l->n++] = (store_val){ name, len };
    return MSGLOG_OK;
}

int msglog_conversations(msglog *log, msglog_str **out, size_t *n_out)
{
    if (!log || !out || !n_out)
        return ml_fail(log, MSGLOG_EINVAL, "msglog_conversations: bad argument");
    *out = NULL;
    *n_out = 0;
    store_txn *t;
    int rc = store_txn_begin(log->st, 0, &t);
    if (rc)
        return ml_fail(log, rc, "cannot begin a read transaction");
    name_list l = { NULL, 0, 0 };
    rc = conv_foreach(t, add_name, &l);
    flat f = { NULL, 0 };
    if (!rc) {
        emit_names(&f, &l);
        rc = flat_start_writing(&f);
    }
    if (!rc) {
        emit_names(&f, &l);
        *out = (msglog_str *)f.base;
        *n_out = l.n;
    }
    free(l.e);
    store_txn_abort(t);
    return rc ? ml_fail(log, rc, "listing conversations failed") : ml_ok(log);
}
