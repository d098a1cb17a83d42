/*
 * store_cmds.c - the commands on one local store: `msglog init`, `send`,
 * `read` (mark as read) and `show` (the view with each message's delivery
 * status). Public API only.
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
    "usage: msglog init --dir DIR --replica N --user U\n"
    "  Creates the store of replica N (1..2^53-1) of user U in DIR (created\n"
    "  when missing). Every other command takes the identity from the store.\n"
    "  A DIR that already holds this replica's store is left as it is.\n";

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
    if (!dir || !replica_s || !user)
        return cli_usage_error("init", init_usage, "--dir, --replica and --user are required");
    if (cli_parse_u64(replica_s, 1, (UINT64_C(1) << 53) - 1, &replica) != 0)
        return cli_usage_error("init", init_usage,
                               "--replica must be an integer in [1, 2^53), not '%s'", replica_s);
    if (!*user || strlen(user) > MSGLOG_MAX_USER)
        return cli_usage_error("init", init_usage, "--user must be 1..%d bytes",
                               MSGLOG_MAX_USER);
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
/* send, read                                                                */

static const char send_usage[] =
    "usage: msglog send --dir DIR CONV TEXT\n"
    "  Writes message TEXT to conversation CONV and prints its id,\n"
    "  REPLICA:SEQ. It reaches the relay at the next `msglog sync` (or at\n"
    "  once when a `msglog sync --watch` runs on DIR). Put -- before a TEXT\n"
    "  that starts with '-'.\n";

static const char read_usage[] =
    "usage: msglog read --dir DIR CONV REPLICA:SEQ\n"
    "  Marks message REPLICA:SEQ of CONV, and everything before it, as read\n"
    "  by this store's user, and prints the id of the read marker.\n";

/* Parses --dir and `want` positionals; opens the store. */
static int open_with_args(const char *cmd, const char *usage, int argc, char **argv,
                          const char **pos, size_t want, msglog **log, int *json)
{
    const char *dir = NULL;
    size_t n_pos;
    cli_opt opts[] = { { "dir", &dir, NULL, NULL, NULL },
                       { "json", NULL, json, NULL, NULL },
                       { NULL, NULL, NULL, NULL, NULL } };
    int rc;

    if (!json)
        opts[1].name = NULL;
    rc = cli_parse(cmd, argc, argv, opts, pos, want, &n_pos, usage);
    if (rc != CLI_OK)
        return rc;
    if (!dir)
        return cli_usage_error(cmd, usage, "--dir is required");
    if (n_pos != want)
        return cli_usage_error(cmd, usage, "expected %zu argument%s, got %zu", want, want == 1 ? "" : "s", n_pos);
    if (!*pos[0] || strlen(pos[0]) > MSGLOG_MAX_CONV)
        return cli_usage_error(cmd, usage, "CONV must be 1..%d bytes", MSGLOG_MAX_CONV);
    return cli_open_store(log, cmd, dir);
}

/* Prints the id of the op a command just made (rc its result), or the
 * library's error; closes the store. */
static int print_new_op(const char *cmd, msglog *log, int rc, msglog_id id, const char *what)
{
    if (rc != MSGLOG_OK) {
        rc = cli_lib_error(cmd, log, what, rc);
    } else {
        char text[CLI_ID_MAX];
        cli_id_text(text, id);
        puts(text);
        rc = CLI_OK;
    }
    msglog_close(log);
    return rc;
}

int send_main(int argc, char **argv)
{
    const char *pos[2];
    msglog *log = NULL;
    msglog_id id;
    int rc = open_with_args("send", send_usage, argc, argv, pos, 2, &log, NULL);

    if (rc != CLI_OK)
        return rc == CLI_HELP ? CLI_OK : rc;
    rc = msglog_send(log, &id, pos[0], strlen(pos[0]), pos[1], strlen(pos[1]));
    return print_new_op("send", log, rc, id, "cannot send");
}

int read_main(int argc, char **argv)
{
    const char *pos[2];
    msglog *log = NULL;
    msglog_id target, id;
    int rc;

    rc = open_with_args("read", read_usage, argc, argv, pos, 2, &log, NULL);
    if (rc != CLI_OK)
        return rc == CLI_HELP ? CLI_OK : rc;
    if (cli_parse_id(pos[1], &target) != 0) {
        msglog_close(log);
        return cli_usage_error("read", read_usage, "'%s' is not a message id REPLICA:SEQ",
                               pos[1]);
    }
    rc = msglog_mark_read(log, &id, pos[0], strlen(pos[0]), target);
    return print_new_op("read", log, rc, id, "cannot mark it read");
}

/* ------------------------------------------------------------------------ */
/* show                                                                      */

static const char show_usage[] =
    "usage: msglog show --dir DIR CONV [--json]\n"
    "  Prints conversation CONV, one line per message in message order:\n"
    "  REPLICA:SEQ author: text, then for a message this store wrote its\n"
    "  delivery status: \xe2\x80\xa6 pending (the relay does not have it yet),\n"
    "  \xe2\x9c\x93 sent (the relay has it), \xe2\x9c\x93\xe2\x9c\x93 delivered (every"
    " device of every other\n"
    "  member has it), read (every other member read it).\n"
    "  --json  one JSON object: {\"messages\": [{\"id\", \"author\", \"body\" (null\n"
    "          when deleted), \"deleted\", \"edited\", \"status\"}], \"vv\",\n"
    "          \"digest\", \"pending\"}\n"
    "  A conversation the store does not hold shows as empty.\n";

static const char *const status_names[] = { "pending", "sent", "delivered", "read" };
static const char *const status_marks[] = { "\xe2\x80\xa6", "\xe2\x9c\x93",
                                            "\xe2\x9c\x93\xe2\x9c\x93", "read" };

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

static int show_json(void *ctx, const msglog_message *m)
{
    show_ctx *sc = ctx;
    char id[CLI_ID_MAX];
    json_t *body, *obj;
    int st = status_of(sc, m);

    if (st < 0)
        return -1;
    cli_id_text(id, m->id);
    body = m->body.data ? json_stringn(m->body.data, m->body.len) : json_null();
    if (!body) {
        snprintf(sc->why, sizeof sc->why, "message %s: body is not valid UTF-8", id);
        return -1;
    }
    obj = json_pack("{s:s, s:s%, s:o, s:b, s:b, s:s}", "id", id, "author", m->author.data,
                    m->author.len, "body", body, "deleted", m->deleted, "edited", m->edited,
                    "status", status_names[st]);
    if (!obj || json_array_append_new(sc->messages, obj) != 0) {
        snprintf(sc->why, sizeof sc->why, "message %s: cannot build its JSON", id);
        return -1;
    }
    return 0;
}

/* {"messages": ..., "vv": ..., "digest": ..., "pending": N} of conv (an
 * empty one when the store does not hold it). */
static json_t *summary_json(show_ctx *sc)
{
    msglog_conv_info *info = NULL;
    int rc = msglog_conv_info_get(sc->log, &info, sc->conv, strlen(sc->conv));
    json_t *vv, *out;
    char digest[33];
    uint8_t zero[16] = { 0 };

    if (rc != MSGLOG_OK && rc != MSGLOG_ENOTFOUND) {
        snprintf(sc->why, sizeof sc->why, "msglog_conv_info_get failed: %s (%s)",
                 msglog_errmsg(sc->log), msglog_strerror(rc));
        return NULL;
    }
    vv = json_object();
    for (size_t i = 0; info && vv && i < info->n_vv; i++) {
        char key[24];
        snprintf(key, sizeof key, "%" PRIu64, info->vv[i].replica);
        json_object_set_new(vv, key, json_integer((json_int_t)info->vv[i].seq));
    }
    msglog_digest_hex(digest, info ? info->digest : zero);
    out = json_pack("{s:O, s:o, s:s, s:I}", "messages", sc->messages, "vv", vv, "digest", digest,
                    "pending",
                    (json_int_t)(info ? info->pending : 0));
    msglog_free(info);
    if (!out)
        snprintf(sc->why, sizeof sc->why, "cannot build the JSON");
    return out;
}

static int show_run(show_ctx *sc, int json)
{
    msglog_conv_info *info = NULL;
    int rc = msglog_conv_info_get(sc->log, &info, sc->conv, strlen(sc->conv));
    int held = rc == MSGLOG_OK;
    json_t *top;

    msglog_free(info);
    if (rc != MSGLOG_OK && rc != MSGLOG_ENOTFOUND) {
        snprintf(sc->why, sizeof sc->why, "msglog_conv_info_get failed: %s (%s)",
                 msglog_errmsg(sc->log), msglog_strerror(rc));
        return -1;
    }
    if (!json)   /* an unknown conversation prints nothing */
        return held ? view_walk(sc->log, sc->conv, strlen(sc->conv), show_text, sc, sc->why)
                    : 0;
    if (!(sc->messages = json_array())) {
        snprintf(sc->why, sizeof sc->why, "out of memory");
        return -1;
    }
    if (held && view_walk(sc->log, sc->conv, strlen(sc->conv), show_json, sc, sc->why) != 0)
        return -1;
    if (!(top = summary_json(sc)))
        return -1;
    if (json_dumpf(top, stdout, JSON_COMPACT) != 0 || putchar('\n') == EOF) {
        snprintf(sc->why, sizeof sc->why, "cannot write the output: %s", strerror(errno));
        json_decref(top);
        return -1;
    }
    json_decref(top);
    return 0;
}

int show_main(int argc, char **argv)
{
    const char *pos[1];
    show_ctx sc;
    int json = 0, rc;

    memset(&sc, 0, sizeof sc);
    rc = open_with_args("show", show_usage, argc, argv, pos, 1, &sc.log, &json);
    if (rc != CLI_OK)
        return rc == CLI_HELP ? CLI_OK : rc;
    sc.conv = pos[0];
    msglog_identity(sc.log, &sc.replica, NULL, NULL);
    rc = show_run(&sc, json) == 0 ? CLI_OK : CLI_FAIL;
    if (rc != CLI_OK)
        fprintf(stderr, "msglog: show: %s\n", sc.why[0] ? sc.why : "failed");
    json_decref(sc.messages);
    msglog_close(sc.log);
    return rc;
}
