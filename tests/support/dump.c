#include "support/dump.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sb {
    char *p;
    size_t n, cap;
    int oom;
} sb;

static void sb_grow(sb *b, size_t extra)
{
    if (b->oom || b->n + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra + 1)
        cap *= 2;
    char *np = realloc(b->p, cap);
    if (np == NULL) {
        b->oom = 1;
        return;
    }
    b->p = np;
    b->cap = cap;
}

static void sb_printf(sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0)
        return;
    sb_grow(b, (size_t)need);
    if (b->oom)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

static void sb_quote(sb *b, const void *s, size_t len)
{
    const unsigned char *c = s;
    sb_printf(b, "\"");
    if (c == NULL) {
        sb_printf(b, "\"<NULL>");
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (c[i] == '"' || c[i] == '\\')
            sb_printf(b, "\\%c", c[i]);
        else if (c[i] >= 0x20 && c[i] < 0x7f)
            sb_printf(b, "%c", c[i]);
        else
            sb_printf(b, "\\x%02x", c[i]);
    }
    sb_printf(b, "\"");
}

void dump_quote(char *buf, size_t cap, const void *s, size_t len)
{
    sb b = {0};
    sb_quote(&b, s, len);
    size_t have = strlen(buf);
    if (!b.oom && b.p != NULL && have < cap)
        snprintf(buf + have, cap - have, "%s", b.p);
    free(b.p);
}

static void sb_str(sb *b, msglog_str s)
{
    sb_quote(b, s.data, s.len);
    /* The library promises NUL termination as well. */
    if (s.data != NULL && s.data[s.len] != '\0')
        sb_printf(b, "<not NUL-terminated>");
}

static void sb_message(sb *b, const msglog_message *m)
{
    sb_printf(b, "msg %" PRIu64 ".%" PRIu64 " hlc=%" PRIu64 " author=",
              m->id.replica, m->id.seq, m->hlc);
    sb_str(b, m->author);
    sb_printf(b, " body=");
    if (m->body.data == NULL)
        sb_printf(b, "null");
    else
        sb_str(b, m->body);
    sb_printf(b, " edited=%d deleted=%d conflict=%d equivocated=%d reactions=[",
              m->edited, m->deleted, m->conflict, m->equivocated);
    for (size_t i = 0; i < m->n_reactions; i++) {
        const msglog_reaction *r = &m->reactions[i];
        sb_printf(b, "%s", i ? " " : "");
        sb_str(b, r->key);
        sb_printf(b, ":");
        for (size_t u = 0; u < r->n_users; u++) {
            sb_printf(b, "%s", u ? "," : "");
            sb_str(b, r->users[u]);
        }
    }
    sb_printf(b, "]");
}

char *dump_message(const msglog_message *m)
{
    sb b = {0};
    sb_message(&b, m);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static void sb_conv(sb *b, const char *conv, size_t conv_len,
                    const msglog_conv_info *info, const msglog_message *msgs,
                    size_t n)
{
    char hex[33];
    msglog_digest_hex(hex, info->digest);
    sb_printf(b, "conv ");
    sb_quote(b, conv, conv_len);
    sb_printf(b, "\nvv");
    for (size_t i = 0; i < info->n_vv; i++)
        sb_printf(b, " %" PRIu64 ":%" PRIu64, info->vv[i].replica,
                  info->vv[i].seq);
    sb_printf(b, "\npending %" PRIu64 "\nn_messages %" PRIu64
              "\ndigest %s\n", info->pending, info->n_messages, hex);
    for (size_t i = 0; i < info->n_read; i++) {
        sb_printf(b, "read ");
        sb_str(b, info->read[i].user);
        sb_printf(b, " %" PRIu64 ".%" PRIu64 "\n",
                  info->read[i].message.replica, info->read[i].message.seq);
    }
    for (size_t i = 0; i < n; i++) {
        sb_message(b, &msgs[i]);
        sb_printf(b, "\n");
    }
}

char *dump_format(const char *conv, size_t conv_len,
                  const msglog_conv_info *info, const msglog_message *msgs,
                  size_t n)
{
    sb b = {0};
    sb_conv(&b, conv, conv_len, info, msgs, n);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

#define DUMP_PAGE 64

static int dump_conv_into(sb *b, msglog *log, const char *conv, size_t conv_len)
{
    msglog_conv_info *info = NULL;
    int rc = msglog_conv_info_get(log, &info, conv, conv_len);
    if (rc != MSGLOG_OK)
        return rc;

    /* Walk forward in pages, keeping the pages until formatted. */
    msglog_page **pages = NULL;
    size_t n_pages = 0, n_msgs = 0;
    msglog_cursor cur = {1, 0, {0, 0}};
    for (;;) {
        msglog_page *page = NULL;
        rc = msglog_messages(log, &page, conv, conv_len, MSGLOG_FORWARD, cur,
                             DUMP_PAGE);
        if (rc != MSGLOG_OK)
            break;
        msglog_page **np = realloc(pages, (n_pages + 1) * sizeof *np);
        if (np == NULL) {
            msglog_free(page);
            rc = MSGLOG_ENOMEM;
            break;
        }
        pages = np;
        pages[n_pages++] = page;
        n_msgs += page->n;
        if (page->n > 0) {
            cur.from_end = 0;
            cur.hlc = page->messages[page->n - 1].hlc;
            cur.id = page->messages[page->n - 1].id;
        }
        if (page->n < DUMP_PAGE)
            break;
    }
    msglog_message *all = NULL;
    if (rc == MSGLOG_OK && n_msgs > 0) {
        all = malloc(n_msgs * sizeof *all);
        if (all == NULL)
            rc = MSGLOG_ENOMEM;
    }
    if (rc == MSGLOG_OK) {
        size_t k = 0;
        for (size_t i = 0; i < n_pages; i++)
            for (size_t j = 0; j < pages[i]->n; j++)
                all[k++] = pages[i]->messages[j];
        sb_conv(b, conv, conv_len, info, all, n_msgs);
    }
    free(all);
    for (size_t i = 0; i < n_pages; i++)
        msglog_free(pages[i]);
    free(pages);
    msglog_free(info);
    return rc;
}

int dump_conv(char **out, msglog *log, const char *conv, size_t conv_len)
{
    sb b = {0};
    *out = NULL;
    int rc = dump_conv_into(&b, log, conv, conv_len);
    if (rc == MSGLOG_OK && b.oom)
        rc = MSGLOG_ENOMEM;
    if (rc != MSGLOG_OK) {
        free(b.p);
        return rc;
    }
    if (b.p == NULL)
        b.p = calloc(1, 1);
    *out = b.p;
    return MSGLOG_OK;
}

int dump_store(char **out, msglog *log)
{
    sb b = {0};
    *out = NULL;
    msglog_str *convs = NULL;
    size_t n = 0;
    int rc = msglog_conversations(log, &convs, &n);
    if (rc != MSGLOG_OK)
        return rc;
    sb_printf(&b, "conversations %zu\n", n);
    for (size_t i = 0; i < n && rc == MSGLOG_OK; i++)
        rc = dump_conv_into(&b, log, convs[i].data, convs[i].len);
    msglog_free(convs);
    if (rc == MSGLOG_OK && b.oom)
        rc = MSGLOG_ENOMEM;
    if (rc != MSGLOG_OK) {
        free(b.p);
        return rc;
    }
    *out = b.p;
    return MSGLOG_OK;
}

int dump_diff(char *out, size_t cap, const char *a, const char *b)
{
    if (cap > 0)
        out[0] = '\0';
    if (strcmp(a, b) == 0)
        return 0;
    int line = 1;
    const char *la = a, *lb = b;
    for (;;) {
        const char *ea = strchr(la, '\n'), *eb = strchr(lb, '\n');
        size_t na = ea ? (size_t)(ea - la) : strlen(la);
        size_t nb = eb ? (size_t)(eb - lb) : strlen(lb);
        if (na != nb || memcmp(la, lb, na) != 0 || !ea != !eb) {
            snprintf(out, cap, "line %d differs:\n  < %.*s\n  > %.*s", line,
                     (int)(na > 2000 ? 2000 : na), la,
                     (int)(nb > 2000 ? 2000 : nb), lb);
            return 1;
        }
        if (!ea)
            break;
        la = ea + 1;
        lb = eb + 1;
        line++;
    }
    snprintf(out, cap, "texts differ");
    return 1;
}
