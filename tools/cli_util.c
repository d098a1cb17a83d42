/* cli_util.c - option parsing, argument formats and opening a store for the
 * store and network commands. */
#include "cli_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "msglog: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    /* The synopsis (the lines before the first indented one), not the
     * whole help. */
    for (const char *p = usage; *p && !(p != usage && p[-1] == '\n' && p[0] == ' ' &&
                                        p[1] == ' ' && p[2] != ' ');
         p++)
        fputc(*p, stderr);
    fprintf(stderr, "(msglog %s --help tells more)\n", cmd);
    return CLI_INVALID;
}

int cli_lib_error(const char *cmd, msglog *log, const char *what, int rc)
{
    const char *msg = log ? msglog_errmsg(log) : "";

    if (msg && *msg)
        fprintf(stderr, "msglog: %s: %s: %s (%s)\n", cmd, what, msg, msglog_strerror(rc));
    else
        fprintf(stderr, "msglog: %s: %s: %s\n", cmd, what, msglog_strerror(rc));
    return CLI_FAIL;
}

static const cli_opt *find_opt(const cli_opt *opts, const char *name, size_t len)
{
    for (; opts->name; opts++)
        if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
            return opts;
    return NULL;
}

int cli_parse(const char *cmd, int argc, char **argv, const cli_opt *opts,
              const char **pos, size_t max_pos, size_t *n_pos, const char *usage)
{
    int options = 1;

    *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (options && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            fputs(usage, stdout);
            return CLI_HELP;
        }
        if (options && strcmp(a, "--") == 0) {
            options = 0;
            continue;
        }
        if (options && a[0] == '-' && a[1] != '\0') {
            const char *name = a + (a[1] == '-' ? 2 : 1);
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const cli_opt *o = a[1] == '-' ? find_opt(opts, name, len) : NULL;
            const char *val = eq ? eq + 1 : NULL;

            if (!o)
                return cli_usage_error(cmd, usage, "unknown option '%s'", a);
            if (!o->value && !o->list) {
                if (val)
                    return cli_usage_error(cmd, usage, "--%s takes no value", o->name);
                *o->flag = 1;
                continue;
            }
            if (!val) {
                if (i + 1 >= argc)
                    return cli_usage_error(cmd, usage, "--%s needs a value", o->name);
                val = argv[++i];
            }
            if (o->list) {
                o->list[(*o->n_list)++] = val;
            } else {
                if (*o->value)
                    return cli_usage_error(cmd, usage, "--%s given twice", o->name);
                *o->value = val;
            }
            continue;
        }
        if (*n_pos == max_pos)
            return cli_usage_error(cmd, usage, "unexpected argument '%s'", a);
        pos[(*n_pos)++] = a;
    }
    return CLI_OK;
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    uintmax_t v;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoumax(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char digits[32];
    size_t len = s ? strlen(s) : 0;
    unsigned shift = 0;
    uint64_t v;

    if (len == 0 || len >= sizeof digits)
        return -1;
    memcpy(digits, s, len + 1);
    switch (digits[len - 1]) {
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    default: break;
    }
    if (shift)
        digits[len - 1] = '\0';
    if (cli_parse_u64(digits, 0, UINT64_MAX >> shift, &v) != 0)
        return -1;
    v <<= shift;
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_id(const char *s, msglog_id *out)
{
    /* "R.S"; "R:S", the form of earlier versions, is still read. */
    const char *colon = s + strcspn(s, ".:");
    char replica[32];
    size_t len;

    if (!*colon || (len = (size_t)(colon - s)) == 0 || len >= sizeof replica)
        return -1;
    memcpy(replica, s, len);
    replica[len] = '\0';
    if (cli_parse_u64(replica, 1, UINT64_MAX, &out->replica) != 0 ||
        cli_parse_u64(colon + 1, 1, UINT64_MAX, &out->seq) != 0)
        return -1;
    return 0;
}

void cli_id_text(char out[CLI_ID_MAX], msglog_id id)
{
    snprintf(out, CLI_ID_MAX, "%" PRIu64 ".%" PRIu64, id.replica, id.seq);
}

int cli_parse_hostport(const char *s, char *host, size_t n, uint16_t *port, int allow_zero)
{
    const char *h = s, *colon;
    size_t len;
    uint64_t p;

    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        h = s + 1;
        len = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return -1;   /* an IPv6 address needs brackets */
        len = (size_t)(colon - s);
    }
    if (len == 0 || len >= n)
        return -1;
    if (cli_parse_u64(colon + 1, allow_zero ? 0 : 1, 65535, &p) != 0)
        return -1;
    memcpy(host, h, len);
    host[len] = '\0';
    *port = (uint16_t)p;
    return 0;
}

int cli_open_error(const char *cmd, const char *dir, const char *what, int rc)
{
    const char *msg = msglog_open_errmsg();

    if (*msg)
        fprintf(stderr, "msglog: %s: %s %s: %s (%s)\n", cmd, what, dir, msg, msglog_strerror(rc));
    else
        fprintf(stderr, "msglog: %s: %s %s: %s\n", cmd, what, dir, msglog_strerror(rc));
    return CLI_FAIL;
}

int cli_open_store(msglog **out, const char *cmd, const char *dir)
{
    int rc = msglog_open(out, dir, 0, NULL, 0, NULL);

    if (rc == MSGLOG_ENOTFOUND) {
        fprintf(stderr, "msglog: %s: %s holds no store (create one with: msglog init "
                "--dir %s --replica N --user U)\n", cmd, dir, dir);
        return CLI_FAIL;
    }
    if (rc != MSGLOG_OK)
        return cli_open_error(cmd, dir, "cannot open the store in", rc);
    return CLI_OK;
}

int cli_open_conv(const char *cmd, const char *usage, int argc, char **argv,
                  const cli_opt *extra, const char **pos, size_t want, msglog **log)
{
    const char *dir = NULL;
    size_t n_pos, n = 1;
    cli_opt opts[CLI_MAX_OPTS + 2] = { { "dir", &dir, NULL, NULL, NULL } };
    int rc;

    for (; extra && extra[n - 1].name && n <= CLI_MAX_OPTS; n++)
        opts[n] = extra[n - 1];
    opts[n] = (cli_opt){ NULL, NULL, NULL, NULL, NULL };
    rc = cli_parse(cmd, argc, argv, opts, pos, want, &n_pos, usage);
    if (rc != CLI_OK)
        return rc;
    if (!dir)
        return cli_usage_error(cmd, usage, "--dir is required");
    if (n_pos != want)
        return cli_usage_error(cmd, usage, "expected %zu argument%s, got %zu", want,
                               want == 1 ? "" : "s", n_pos);
    if (!*pos[0] || strlen(pos[0]) > MSGLOG_MAX_CONV)
        return cli_usage_error(cmd, usage, "CONV must be 1..%d bytes", MSGLOG_MAX_CONV);
    return cli_open_store(log, cmd, dir);
}
