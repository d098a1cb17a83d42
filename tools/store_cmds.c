/*
 * store_cmds.c - the commands that read or make a local store: `msglog
 * init`, `convs` (the conversations held) and `show` (a conversation, or a
 * page of it, with each message's delivery status). Public API only.
 */
#include "store_cmds.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli_util.h"
#include "replay.h"
#include "view_json.h"

/* ------------------------------------------------------------------------ */
/* init                                                                      */

static const char init_usage[] =
    "usage: msglog init --dir DIR --user U [--replica N]\n"
    "  Creates the store of a device of user U in DIR (created when\n"
    "  missing), with a new random replica id, or N (1..2^53-1) when given,\n"
    "  and prints it. Every other command takes the identity from the store.\n"
    "  A DIR that already holds this replica's store is left as it is.\n";

/* The replica id init gives DIR without --replica: the one of the store
 * DIR already holds (init is then checked against it, and changes nothing),
 * else a new random one; 0 when there is none to give. */
static uint64_t replica_for(const char *dir)
{
    msglog *log = NULL;
    uint64_t replica = 0;
    if (msglog_open(&log, dir, 0, NULL, 0, NULL) == MSGLOG_OK) {
        msglog_identity(log, &replica, NULL, NULL);
        msglog_close(log);
        return replica;
    }
    return msglog_new_replica_id();
}

int init_main(int argc, char **argv)
{
    const char *dir = NULL, *replica_s = NULL, *user = NULL, *pos[1];
    size_t n_pos;
    cli_opt opts[] = { { "dir", &dir, NULL, NULL, NULL },
                       { "replica", &replica_s, NULL, NULL, NULL },
                       { "user", &user, NULL, NULL, NULL },
                       { NULL, NULL, NULL, NULL, NULL } };
    uint64_t replica;
    msglog *log = NULL;
    int rc = cli_parse("init", argc, argv, opts, pos, 0, &n_pos, init_usage);

    if (rc != CLI_OK)
        return rc == CLI_HELP ? CLI_OK : rc;
    if (!dir || !user)
        return cli_usage_error("init", init_usage, "--dir and --user are required");
    if (replica_s && cli_parse_u64(replica_s, 1, (UINT64_C(1) << 53) - 1, &replica) != 0)
        return cli_usage_error("init", init_usage,
                               "--replica must be an integer in [1, 2^53), not '%s'", replica_s);
    if (!*user || strlen(user) > MSGLOG_MAX_USER)
        return cli_usage_error("init", init_usage, "--user must be 1..%d bytes",
                               MSGLOG_MAX_USER);
    if (!replica_s && (replica = replica_for(dir)) == 0) {
        fprintf(stderr, "msglog: init: the system gave no random replica id\n");
        return CLI_FAIL;
    }
    rc = msglog_open(&log, dir, replica, user, strlen(user), NULL);
    if (rc != MSGLOG_OK) {
        if (rc == MSGLOG_EMISMATCH) {
            msglog *other = NULL;
            uint64_t r = 0;
            const char *u = "";
            if (msglog_open(&other, dir, 0, NULL, 0, NULL) == MSGLOG_OK)
                msglog_identity(other, &r, &u, NULL);
            fprintf(stderr, "msglog: init: %s already holds the store of replica %" PRIu64
                    " of user '%s'\n", dir, r, u);
            msglog_close(other);
            return CLI_FAIL;
        }
        return cli_open_error("init", dir, "cannot create the store in", rc);
    }
    printf("replica %" PRIu64 " of user %s in %s\n", replica, user, dir);
    msglog_close(log);
    return CLI_OK;
}

/* ------------------------------------------------------------------------ */
/* convs                                                                     */

static const char convs_usage[] =
    "usage: msglog convs --dir DIR [--json]\n"
    "  Lists the conversations the store holds, in bytewise order, one line\n"
    "  each: the conversation, its message count and how many ops wait for\n"
    "  their dependencies.\n"
    "  --json  [{\"conv\", \"n_messages\", \"pending\", \"digest\"}, ...]\n";

/* One conversation's line or JSON object; -1 after printing why. */
static int print_conv(msglog *log, const msglog_str *conv, json_t *arr)
{
    msglog_conv_info *info = NULL;
    int rc = msglog_conv_info_get(log, &info, conv->data, conv->len);
    char digest[33];

    if (rc != MSGLOG_OK) {
        cli_lib_error("convs", log, "cannot read a conversation", rc);
        return -1;
    }
    msglog_digest_hex(digest, info->digest);
    if (arr) {
        json_t *o = json_pack("{s:s%, s:I, s:I, s:s}", "conv", conv->data, conv->len,
                              "n_messages", (json_int_t)info->n_messages,
                              "pending", (json_int_t)info->pending, "digest", digest);
        rc = !o || json_array_append_new(arr, o) != 0 ? -1 : 0;
        if (rc)
            fprintf(stderr, "msglog: convs: out of memory\n");
    } else {
        printf("%.*s  %" PRIu64 " message%s, %" PRIu64 " pending\n", (int)conv->len, conv->data,
               info->n_messages, info->n_messages == 1 ? "" : "s", info->pending);
    }
    msglog_free(info);
    return rc;
}

int convs_main(int argc, char **argv)
{
    const char *dir = NULL, *pos[1];
    int json = 0, rc;
    size_t n_pos, n = 0;
    cli_opt opts[] = { { "dir", &dir, NULL, NULL, NULL },
                       { "json", NULL, &json, NULL, NULL },
                       { NULL, NULL, NULL, NULL, NULL } };
    msglog *log = NULL;
    msglog_str *convs = NULL;
    json_t *arr = NULL;

    rc = cli_parse("convs", argc, argv, opts, pos, 0, &n_pos, convs_usage);
    if (rc != CLI_OK)
        return rc == CLI_HELP ? CLI_OK : rc;
    if (!dir)
        return cli_usage_error("convs", convs_usage, "--dir is required");
    if ((rc = cli_open_store(&log, "convs", dir)) != CLI_OK)
        return rc;
    rc = msglog_conversations(log, &convs, &n);
    if (rc != MSGLOG_OK) {
        rc = cli_lib_error("convs", log, "cannot list the conversations", rc);
    } else if (json && !(arr = json_array())) {
        rc = CLI_FAIL;
    } else {
        rc = CLI_OK;
        for (size_t i = 0; rc == CLI_OK && i < n; i++)
            rc = print_conv(log, &convs[i], arr) == 0 ? CLI_OK : CLI_FAIL;
        if (rc == CLI_OK && arr && (json_dumpf(arr, stdout, JSON_COMPACT) != 0 ||
                                    putchar('\n') == EOF))
            rc = CLI_FAIL;
    }
    json_decref(arr);
    msglog_free(convs);
    msglog_close(log);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* show                                                                      */

static const char show_usage[] =
    "usage: msglog show --dir DIR CONV [--json] [--limit N]\n"
    "                   [--before REPLICA.SEQ | --after REPLICA.SEQ]\n"
    "  Prints conversation CONV, one line per message in message order:\n"
    "  REPLICA.SEQ author: text, then for a message this store wrote its\n"
    "  delivery status: \xe2\x80\xa6 pending (the relay does not have it yet),\n"
    "  \xe2\x9c\x93 sent (the relay has it), \xe2\x9c\x93\xe2\x9c\x93 delivered (every"
    " device of every other\n"
    "  member has it), read (every other member read it).\n"
    "  --limit N   at most N messages: the newest N; with --before, the N\n"
    "              before that message; with --after, the N after it\n"
    "              (neither is shown itself). Default: every message, or 50\n"
    "              with --before or --after.\n"
    "  --json      one JSON object: {\"messages\": [{\"id\", \"author\", \"hlc\",\n"
    "              \"body\" (null when deleted), \"edited\", \"deleted\",\n"
    "              \"conflict\", \"equivocated\", \"reactions\" {key: [users]},\n"
    "              \"status\"}], \"vv\", \"pending\", \"digest\", \"read\" {user: id},\n"
    "              \"n_messages\"}\n"
    "  A conversation the store does not hold shows as empty.\n";

#define SHOW_PAGE_DEFAULT 50
#define SHOW_LIMIT_MAX 1000000

static const char *const status_names[] = { "pending", "sent", "delivered", "read" };
static const char *const status_marks[] = { "\xe2\x80\xa6", "\xe2\x9c\x93",
                                            "\xe2\x9c\x93\xe2\x9c\x93", "read" };

/* Which messages to show: every one, or one page. */
typedef struct show_range {
    int all;
    int dir;                  /* MSGLOG_FORWARD / MSGLOG_BACKWARD */
    msglog_cursor from;
    size_t limit;
} show_range;

typedef struct show_ctx {
    msglog *log;
    const char *conv;
    uint64_t replica;         /* this store's */
    json_t *messages;         /* --json */
    char why[VIEW_WHY_MAX];
} show_ctx;

/* The status of m, or -1 after recording why. */
static int status_of(show_ctx *sc, const msglog_message *m)
{
    int st = 0;
    int rc = msglog_delivery_status(sc->log, &st, sc->conv, strlen(sc->conv), m->id);

    if (rc != MSGLOG_OK || st < 0 || st > 3) {
        snprintf(sc->why, sizeof sc->why, "msglog_delivery_status failed: %s (%s)",
                 msglog_errmsg(sc->log), msglog_strerror(rc));
        return -1;
    }
    return st;
}

static int show_text(void *ctx, const msglog_message *m)
{
    show_ctx *sc = ctx;
    char id[CLI_ID_MAX];

    cli_id_text(id, m->id);
    printf("%s %.*s: ", id, (int)m->author.len, m->author.data);
    if (m->deleted)
        fputs("(deleted)", stdout);
    else if (!m->body.data)
        fputs("(text not received yet)", stdout);
    else
        fwrite(m->body.data, 1, m->body.len, stdout);
    if (!m->deleted && m->edited)
        fputs(m->conflict ? "  (edited, conflict)" : "  (edited)", stdout);
    if (m->equivocated)
        fputs("  (! sent in two versions: this text may have been replaced)", stdout);
    for (size_t i = 0; !m->deleted && i < m->n_reactions; i++) {
        const msglog_reaction *r = &m->reactions[i];
        if (r->n_users)
            printf("  %.*s %zu", (int)r->key.len, r->key.data, r->n_users);
    }
    if (m->id.replica == sc->replica) {
        int st = status_of(sc, m);
        if (st < 0)
            return -1;
        printf("  %s", status_marks[st]);
    }
    putchar('\n');
    return 0;
}

/* The replay's message object, plus what only show has: the delivery
 * status, and equivocated always present. */
static int show_json(void *ctx, const msglog_message *m)
{
    show_ctx *sc = ctx;
    int st = status_of(sc, m);
    json_t *obj;

    if (st < 0 || !(obj = view_json_message(m, sc->why)))
        return -1;
    if (json_object_set_new(obj, "equivocated", json_boolean(m->equivocated)) != 0 ||
        json_object_set_new(obj, "status", json_string(status_names[st])) != 0 ||
        json_array_append_new(sc->messages, obj) != 0) {
        snprintf(sc->why, sizeof sc->why, "out of memory");
        return -1;
    }
    return 0;
}

/* Visits the page in message order (a backward page is walked newest
 * first and visited the other way round). */
static int visit_page(show_ctx *sc, const show_range *r, view_visit_fn visit)
{
    msglog_page *page = NULL;
    int rc = msglog_messages(sc->log, &page, sc->conv, strlen(sc->conv), r->dir, r->from,
                             r->limit);

    if (rc != MSGLOG_OK) {
        snprintf(sc->why, sizeof sc->why, "msglog_messages failed: %s (%s)",
                 msglog_errmsg(sc->log), msglog_strerror(rc));
        return -1;
    }
    for (size_t i = 0; rc == 0 && i < page->n; i++)
        rc = visit(sc, &page->messages[r->dir == MSGLOG_BACKWARD ? page->n - 1 - i : i]);
    msglog_free(page);
    return rc;
}

static int visit_range(show_ctx *sc, const show_range *r, view_visit_fn visit)
{
    if (r->all)
        return view_walk(sc->log, sc->conv, strlen(sc->conv), visit, sc, sc->why);
    return visit_page(sc, r, visit);
}

/* {"messages", "vv", "pending", "digest", "read", "n_messages"}; an empty
 * summary when the store does not hold the conversation. */
static json_t *summary_json(show_ctx *sc, const msglog_conv_info *info)
{
    static const msglog_conv_info none = { 0, NULL, 0, 0, { 0 }, 0, NULL };
    json_t *out = view_json_info(info ? info : &none, sc->why);

    if (out && (json_object_set(out, "messages", sc->messages) != 0 ||
                json_object_set_new(out, "n_messages",
                                    json_integer((json_int_t)(info ? info->n_messages : 0))) != 0)) {
        json_decref(out);
        out = NULL;
        snprintf(sc->why, sizeof sc->why, "out of memory");
    }
    return out;
}

static int print_json(show_ctx *sc, const msglog_conv_info *info)
{
    json_t *top = summary_json(sc, info);
    int rc = 0;

    if (!top)
        return -1;
    if (json_dumpf(top, stdout, JSON_COMPACT) != 0 || putchar('\n') == EOF) {
        snprintf(sc->why, sizeof sc->why, "cannot write the output: %s", strerror(errno));
        rc = -1;
    }
    json_decref(top);
    return rc;
}

static int show_run(show_ctx *sc, const show_range *r, int json)
{
    msglog_conv_info *info = NULL;
    int rc = msglog_conv_info_get(sc->log, &info, sc->conv, strlen(sc->conv));
    int held = rc == MSGLOG_OK;

    if (rc != MSGLOG_OK && rc != MSGLOG_ENOTFOUND) {
        snprintf(sc->why, sizeof sc->why, "msglog_conv_info_get failed: %s (%s)",
                 msglog_errmsg(sc->log), msglog_strerror(rc));
        return -1;
    }
    if (!json)   /* an unknown conversation prints nothing */
        rc = held ? visit_range(sc, r, show_text) : 0;
    else if (!(sc->messages = json_array())) {
        snprintf(sc->why, sizeof sc->why, "out of memory");
        rc = -1;
    } else if ((rc = held ? visit_range(sc, r, show_json) : 0) == 0) {
        rc = print_json(sc, info);
    }
    msglog_free(info);
    return rc;
}

/* The cursor at message `id_s` of the conversation, for --before/--after.
 * @return CLI_OK, or an exit code after printing why. */
static int cursor_at(show_ctx *sc, const char *opt, const char *id_s, msglog_cursor *out)
{
    msglog_id id;
    msglog_page *page = NULL;
    int rc;

    if (cli_parse_id(id_s, &id) != 0)
        return cli_usage_error("show", show_usage, "%s takes a message id REPLICA.SEQ, not '%s'",
                               opt, id_s);
    rc = msglog_message_get(sc->log, &page, sc->conv, strlen(sc->conv), id);
    if (rc != MSGLOG_OK)
        return cli_lib_error("show", sc->log, "cannot find the message to page from", rc);
    *out = (msglog_cursor){ 0, page->messages[0].hlc, id };
    msglog_free(page);
    return CLI_OK;
}

/* The range the options ask for. @return CLI_OK or an exit code. */
static int parse_range(show_ctx *sc, const char *limit_s, const char *before_s,
                       const char *after_s, show_range *r)
{
    uint64_t limit = SHOW_PAGE_DEFAULT;

    memset(r, 0, sizeof *r);
    if (before_s && after_s)
        return cli_usage_error("show", show_usage, "give --before or --after, not both");
    if (limit_s && cli_parse_u64(limit_s, 1, SHOW_LIMIT_MAX, &limit) != 0)
        return cli_usage_error("show", show_usage, "--limit takes 1..%d, not '%s'",
                               SHOW_LIMIT_MAX, limit_s);
    r->all = !limit_s && !before_s && !after_s;
    r->limit = (size_t)limit;
    r->dir = after_s ? MSGLOG_FORWARD : MSGLOG_BACKWARD;
    r->from.from_end = 1;
    if (before_s || after_s)
        return cursor_at(sc, before_s ? "--before" : "--after", before_s ? before_s : after_s,
                         &r->from);
    return CLI_OK;
}

int show_main(int argc, char **argv)
{
    const char *pos[1], *limit_s = NULL, *before_s = NULL, *after_s = NULL;
    int json = 0, rc;
    cli_opt extra[] = { { "json", NULL, &json, NULL, NULL },
                        { "limit", &limit_s, NULL, NULL, NULL },
                        { "before", &before_s, NULL, NULL, NULL },
                        { "after", &after_s, NULL, NULL, NULL },
                        { NULL, NULL, NULL, NULL, NULL } };
    show_ctx sc;
    show_range r;

    memset(&sc, 0, sizeof sc);
    rc = cli_open_conv("show", show_usage, argc, argv, extra, pos, 1, &sc.log);
    if (rc != CLI_OK)
        return rc == CLI_HELP ? CLI_OK : rc;
    sc.conv = pos[0];
    msglog_identity(sc.log, &sc.replica, NULL, NULL);
    rc = parse_range(&sc, limit_s, before_s, after_s, &r);
    if (rc == CLI_OK) {
        rc = show_run(&sc, &r, json) == 0 ? CLI_OK : CLI_FAIL;
        if (rc != CLI_OK)
            fprintf(stderr, "msglog: show: %s\n", sc.why[0] ? sc.why : "failed");
    }
    json_decref(sc.messages);
    msglog_close(sc.log);
    return rc;
}
