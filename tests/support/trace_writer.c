#include "support/trace_writer.h"

#include <inttypes.h>
#include <string.h>

void tw_json_str(FILE *f, const void *s, size_t len)
{
    const unsigned char *c = s;
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        if (c[i] == '"' || c[i] == '\\')
            fprintf(f, "\\%c", c[i]);
        else if (c[i] < 0x20)
            fprintf(f, "\\u%04x", c[i]);
        else
            fputc(c[i], f);   /* UTF-8 as is: JSON text is UTF-8 */
    }
    fputc('"', f);
}

static void str_field(FILE *f, const char *name, msglog_str s)
{
    fprintf(f, "\"%s\":", name);
    tw_json_str(f, s.data, s.len);
}

static const char *boolean(int v)
{
    return v ? "true" : "false";
}

static void reactions(FILE *f, const msglog_message *m)
{
    fputs("\"reactions\":{", f);
    for (size_t i = 0; i < m->n_reactions; i++) {
        const msglog_reaction *r = &m->reactions[i];
        fputs(i ? "," : "", f);
        tw_json_str(f, r->key.data, r->key.len);
        fputs(":[", f);
        for (size_t u = 0; u < r->n_users; u++) {
            fputs(u ? "," : "", f);
            tw_json_str(f, r->users[u].data, r->users[u].len);
        }
        fputc(']', f);
    }
    fputc('}', f);
}

static void message(FILE *f, const msglog_message *m)
{
    fprintf(f, "{\"id\":\"%" PRIu64 ".%" PRIu64 "\",", m->id.replica, m->id.seq);
    str_field(f, "author", m->author);
    fprintf(f, ",\"hlc\":%" PRIu64 ",\"body\":", m->hlc);
    if (m->body.data == NULL)
        fputs("null", f);
    else
        tw_json_str(f, m->body.data, m->body.len);
    fprintf(f, ",\"edited\":%s,\"deleted\":%s,\"conflict\":%s,",
            boolean(m->edited), boolean(m->deleted), boolean(m->conflict));
    reactions(f, m);
    fputc('}', f);
}

void tw_view_line(FILE *f, uint64_t replica, const char *conv, size_t conv_len,
                  const msglog_conv_info *info, const msglog_message *msgs,
                  size_t n, const char *digest)
{
    fprintf(f, "{\"replica\":%" PRIu64 ",\"conv\":", replica);
    tw_json_str(f, conv, conv_len);
    fputs(",\"vv\":{", f);
    for (size_t i = 0; i < info->n_vv; i++)
        fprintf(f, "%s\"%" PRIu64 "\":%" PRIu64, i ? "," : "",
                info->vv[i].replica, info->vv[i].seq);
    fprintf(f, "},\"pending\":%" PRIu64 ",\"digest\":", info->pending);
    tw_json_str(f, digest, strlen(digest));
    fputs(",\"messages\":[", f);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? "," : "", f);
        message(f, &msgs[i]);
    }
    fputs("],\"read\":{", f);
    for (size_t i = 0; i < info->n_read; i++) {
        fputs(i ? "," : "", f);
        tw_json_str(f, info->read[i].user.data, info->read[i].user.len);
        fprintf(f, ":\"%" PRIu64 ".%" PRIu64 "\"", info->read[i].message.replica,
                info->read[i].message.seq);
    }
    fputs("}}\n", f);
}
