/* view_json.c - a replica's view as the JSON lines of a replay `check`. */
#include "view_json.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "cli_util.h"

/* Messages per msglog_messages() call: big enough that a page is one LMDB
 * walk for most conversations, small enough to keep a page's memory low. */
#define VIEW_PAGE 256

static int fail(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, VIEW_WHY_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

static int lib_fail(char *why, msglog *log, const char *call, int rc)
{
    return fail(why, "%s failed: %s (%s)", call, msglog_errmsg(log),
                msglog_strerror(rc));
}

/* Message order (docs/design.md, "Clock and order"): (hlc, origin replica, seq). */
static int order_cmp(uint64_t hlc_a, msglog_id a, uint64_t hlc_b, msglog_id b)
{
    if (hlc_a != hlc_b)
        return hlc_a < hlc_b ? -1 : 1;
    if (a.replica != b.replica)
        return a.replica < b.replica ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

/* Visits one page; *cur is the position after the last message visited.
 * The order check also guarantees the walk ends: a page that does not move
 * forward is refused rather than asked for again. */
static int visit_page(const msglog_page *page, msglog_cursor *cur,
                      view_visit_fn visit, void *ctx, char *why)
{
    for (size_t i = 0; i < page->n; i++) {
        const msglog_message *m = &page->messages[i];
        int rc;

        if (!cur->from_end && order_cmp(m->hlc, m->id, cur->hlc, cur->id) <= 0) {
            char a[CLI_ID_MAX], b[CLI_ID_MAX];
            cli_id_text(a, m->id);
            cli_id_text(b, cur->id);
            return fail(why, "msglog_messages returned message %s after %s, "
                        "against message order", a, b);
        }
        cur->from_end = 0;
        cur->hlc = m->hlc;
        cur->id = m->id;
        if ((rc = visit(ctx, m)) != 0)
            return rc;
    }
    return 0;
}

int view_walk(msglog *log, const char *conv, size_t conv_len,
              view_visit_fn visit, void *ctx, char *why)
{
    msglog_cursor cur = { 1, 0, { 0, 0 } };

    for (;;) {
        msglog_page *page = NULL;
        int rc = msglog_messages(log, &page, conv, conv_len, MSGLOG_FORWARD,
                                 cur, VIEW_PAGE);
        size_t n;

        if (rc != MSGLOG_OK)
            return lib_fail(why, log, "msglog_messages", rc);
        n = page->n;
        rc = visit_page(page, &cur, visit, ctx, why);
        msglog_free(page);
        /* "Up to limit": only an empty page proves the end. */
        if (rc != 0 || n == 0)
            return rc;
    }
}

/* ------------------------------------------------------------------------ */
/* Building the JSON                                                         */

/* jansson integers are signed 64-bit; the trace limits keep every value we
 * print below 2^63, so a larger one means a library bug, not a trace. */
static int int_ok(uint64_t v, const char *what, char *why)
{
    if (v > (uint64_t)LLONG_MAX)
        return fail(why, "%s %" PRIu64 " does not fit a JSON integer", what, v);
    return 0;
}

/* A byte string from the library as JSON: refused unless valid UTF-8. */
static json_t *str_json(const msglog_str *s, const char *what, char *why)
{
    json_t *v = json_stringn(s->data ? s->data : "", s->len);

    if (!v)
        fail(why, "%s is not valid UTF-8", what);
    return v;
}

static json_t *users_json(const msglog_reaction *r, char *why)
{
    json_t *users = json_array();

    for (size_t i = 0; users && i < r->n_users; i++) {
        json_t *u = str_json(&r->users[i], "a reacting user", why);
        if (!u || json_array_append_new(users, u) != 0) {
            json_decref(users);
            return NULL;
        }
    }
    if (!users && !why[0])
        fail(why, "out of memory");
    return users;
}

/* {key: [users...]} for every key that has at least one user. */
static json_t *reactions_json(const msglog_message *m, char *why)
{
    json_t *obj = json_object();

    for (size_t i = 0; obj && i < m->n_reactions; i++) {
        const msglog_reaction *r = &m->reactions[i];
        json_t *users;

        if (r->n_users == 0)
            continue;
        if (!(users = users_json(r, why)) ||
            json_object_setn_new(obj, r->key.data, r->key.len, users) != 0) {
            if (!why[0])
                fail(why, "reaction key is not valid UTF-8");
            json_decref(obj);
            return NULL;
        }
    }
    if (!obj && !why[0])
        fail(why, "out of memory");
    return obj;
}

json_t *view_json_message(const msglog_message *m, char *why)
{
    char id[CLI_ID_MAX];
    json_t *body, *reactions, *obj;
    json_error_t err;

    cli_id_text(id, m->id);
    if (int_ok(m->hlc, "hlc", why) < 0)
        return NULL;
    body = m->body.data ? str_json(&m->body, "body", why) : json_null();
    if (!body)
        return NULL;
    if (!(reactions = reactions_json(m, why))) {
        json_decref(body);
        return NULL;
    }
    /* "o" steals body and reactions, also when packing fails. */
    obj = json_pack_ex(&err, 0, "{s:s, s:s%, s:I, s:o, s:b, s:b, s:b, s:o}",
                       "id", id, "author", m->author.data, m->author.len,
                       "hlc", (json_int_t)m->hlc, "body", body,
                       "edited", m->edited, "deleted", m->deleted,
                       "conflict", m->conflict, "reactions", reactions);
    if (!obj)
        fail(why, "message %s: %s", id, err.text);
    /* Only when set: an honest trace never has it, and the replay contract's
     * lines carry no such field. */
    if (obj && m->equivocated && json_object_set_new(obj, "equivocated", json_true()) != 0) {
        json_decref(obj);
        fail(why, "message %s: out of memory", id);
        return NULL;
    }
    return obj;
}

/* What the walk of a conversation's messages collects. */
typedef struct messages_ctx {
    json_t *arr;
    uint64_t n;
    char *why;
} messages_ctx;

static int append_message(void *ctx, const msglog_message *m)
{
    messages_ctx *mc = ctx;
    json_t *msg = view_json_message(m, mc->why);

    if (!msg || json_array_append_new(mc->arr, msg) != 0) {
        if (!mc->why[0])
            fail(mc->why, "out of memory");
        return -1;
    }
    mc->n++;
    return 0;
}

/* All messages, cross-checked against the count msglog_conv_info_get()
 * gave: a mismatch means the page walk skipped or repeated messages. */
static json_t *messages_json(msglog *log, const msglog_str *conv,
                             uint64_t n_expected, char *why)
{
    messages_ctx mc = { json_array(), 0, why };

    if (!mc.arr) {
        fail(why, "out of memory");
        return NULL;
    }
    if (view_walk(log, conv->data, conv->len, append_message, &mc, why) != 0)
        goto fail;
    if (mc.n != n_expected) {
        fail(why, "msglog_messages walked %" PRIu64 " messages, but "
             "msglog_conv_info_get counts %" PRIu64, mc.n, n_expected);
        goto fail;
    }
    return mc.arr;
fail:
    json_decref(mc.arr);
    return NULL;
}

/* vv: {"R": S} for every replica with S >= 1. */
static json_t *vv_json(const msglog_conv_info *info, char *why)
{
    json_t *vv = json_object();

    for (size_t i = 0; vv && i < info->n_vv; i++) {
        char key[24];
        const msglog_vv_entry *e = &info->vv[i];

        snprintf(key, sizeof key, "%" PRIu64, e->replica);
        if (int_ok(e->seq, "vv seq", why) < 0 ||
            json_object_set_new(vv, key, json_integer((json_int_t)e->seq))) {
            json_decref(vv);
            return NULL;
        }
    }
    if (!vv && !why[0])
        fail(why, "out of memory");
    return vv;
}

/* read: {user: "R.S"} for every user with a read marker. */
static json_t *read_json(const msglog_conv_info *info, char *why)
{
    json_t *read = json_object();

    for (size_t i = 0; read && i < info->n_read; i++) {
        const msglog_read_marker *r = &info->read[i];
        char id[CLI_ID_MAX];

        cli_id_text(id, r->message);
        if (json_object_setn_new(read, r->user.data, r->user.len,
                                 json_string(id)) != 0) {
            fail(why, "read marker user is not valid UTF-8");
            json_decref(read);
            return NULL;
        }
    }
    if (!read && !why[0])
        fail(why, "out of memory");
    return read;
}

json_t *view_json_info(const msglog_conv_info *info, char *why)
{
    char digest[33];
    json_error_t err;
    json_t *vv, *read, *obj;

    if (int_ok(info->pending, "pending count", why) < 0 || !(vv = vv_json(info, why)))
        return NULL;
    if (!(read = read_json(info, why))) {
        json_decref(vv);
        return NULL;
    }
    msglog_digest_hex(digest, info->digest);
    /* "o" steals vv and read, also when packing fails. */
    obj = json_pack_ex(&err, 0, "{s:o, s:I, s:s, s:o}", "vv", vv,
                       "pending", (json_int_t)info->pending, "digest", digest, "read", read);
    if (!obj)
        fail(why, "%s", err.text);
    return obj;
}

/* The line: the summary, then the replica, the conversation and the
 * messages (stolen, also on failure). */
static json_t *conv_line(uint64_t replica, const msglog_str *conv,
                         const msglog_conv_info *info, json_t *messages, char *why)
{
    json_t *obj = view_json_info(info, why);

    if (!obj || json_object_set_new(obj, "replica", json_integer((json_int_t)replica)) != 0 ||
        json_object_set_new(obj, "conv", json_stringn(conv->data, conv->len)) != 0 ||
        json_object_set_new(obj, "messages", messages) != 0) {
        if (!obj)
            json_decref(messages);
        json_decref(obj);
        if (!why[0])
            fail(why, "out of memory");
        return NULL;
    }
    return obj;
}

int view_json_conv(json_t **out, msglog *log, uint64_t replica,
                   const msglog_str *conv, char *why)
{
    msglog_conv_info *info = NULL;
    json_t *messages;
    int rc;

    *out = NULL;
    why[0] = '\0';
    rc = msglog_conv_info_get(log, &info, conv->data, conv->len);
    if (rc != MSGLOG_OK)
        return lib_fail(why, log, "msglog_conv_info_get", rc);
    if (int_ok(replica, "replica id", why) == 0 &&
        (messages = messages_json(log, conv, info->n_messages, why)))
        *out = conv_line(replica, conv, info, messages, why);
    msglog_free(info);
    return *out ? 0 : -1;
}

static int print_line(FILE *fp, const json_t *line, char *why)
{
    /* Compact and UTF-8 as is: the output is compared as JSON values. */
    if (json_dumpf(line, fp, JSON_COMPACT) != 0 || fputc('\n', fp) == EOF)
        return fail(why, "cannot write the output: %s", strerror(errno));
    return 0;
}

int view_json_print(FILE *fp, msglog *log, uint64_t replica, char *why)
{
    msglog_str *convs = NULL;
    size_t n = 0;
    int rc = msglog_conversations(log, &convs, &n);

    if (rc != MSGLOG_OK)
        return lib_fail(why, log, "msglog_conversations", rc);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *line;

        rc = view_json_conv(&line, log, replica, &convs[i], why);
        if (rc == 0) {
            rc = print_line(fp, line, why);
            json_decref(line);
        }
    }
    msglog_free(convs);
    if (rc == 0 && fflush(fp) != 0)
        rc = fail(why, "cannot write the output: %s", strerror(errno));
    return rc;
}
