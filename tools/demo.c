/*
 * demo.c - `msglog demo`: alice on a phone and a laptop, and bob, plan a
 * trip offline-first. They go offline, write, edit the same message on two
 * devices, react and delete; then they reconnect and converge.
 *
 * The stores are real (a scratch directory, removed at the end) and every
 * byte between devices goes through msglog_sync_request / _response /
 * _apply. The clock is injected and reads a story time that only the script
 * advances, so every run prints the same ids, order and digests.
 */
#include "demo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msglog.h"
#include "replay.h"
#include "cli_util.h"
#include "view_json.h"

#define CONV "trip"
#define N_DEVICES 3
#define STORY_START UINT64_C(1717232400000)   /* 2024-06-01 09:00 UTC, in ms */
#define MINUTE UINT64_C(60000)

typedef struct device {
    const char *name;    /* for the narration */
    const char *dir;     /* under the scratch directory */
    uint64_t replica;
    const char *user;
    msglog *log;
} device;

typedef struct demo {
    char *dir;
    uint64_t now;        /* the story time every device's clock reads */
    device dev[N_DEVICES];
} demo;

enum { PHONE, LAPTOP, BOB };

static uint64_t story_clock(void *ctx)
{
    const demo *d = ctx;
    return d->now;
}

/* Reports a failed call. @return CLI_FAIL */
static int failed(const device *dev, const char *what, int rc)
{
    fprintf(stderr, "msglog: demo: %s on %s failed: %s (%s)\n", what,
            dev->name, dev->log ? msglog_errmsg(dev->log) : "",
            msglog_strerror(rc));
    return CLI_FAIL;
}

static int demo_open(demo *d)
{
    msglog_options opts = MSGLOG_OPTIONS_INIT;

    opts.clock = story_clock;
    opts.clock_ctx = d;
    for (int i = 0; i < N_DEVICES; i++) {
        device *dev = &d->dev[i];
        char path[4096];
        int rc;

        snprintf(path, sizeof path, "%s/%s", d->dir, dev->dir);
        rc = msglog_open(&dev->log, path, dev->replica, dev->user,
                         strlen(dev->user), &opts);
        if (rc != MSGLOG_OK)
            return failed(dev, "opening the store", rc);
    }
    return CLI_OK;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */

static int send_message(demo *d, int who, const char *text, msglog_id *out)
{
    device *dev = &d->dev[who];
    int rc = msglog_send(dev->log, out, CONV, strlen(CONV), text, strlen(text));

    printf("  %s writes: \"%s\"\n", dev->name, text);
    return rc == MSGLOG_OK ? CLI_OK : failed(dev, "sending", rc);
}

static int edit_message(demo *d, int who, msglog_id target, const char *text)
{
    device *dev = &d->dev[who];
    msglog_id id;
    int rc = msglog_edit(dev->log, &id, CONV, strlen(CONV), target, text,
                         strlen(text));

    char tid[CLI_ID_MAX];
    cli_id_text(tid, target);
    printf("  %s edits %s to \"%s\"\n", dev->name, tid, text);
    return rc == MSGLOG_OK ? CLI_OK : failed(dev, "editing", rc);
}

static int react_to(demo *d, int who, msglog_id target, const char *key)
{
    device *dev = &d->dev[who];
    msglog_id id;
    int rc = msglog_react(dev->log, &id, CONV, strlen(CONV), target, key,
                          strlen(key));

    char tid[CLI_ID_MAX];
    cli_id_text(tid, target);
    printf("  %s reacts %s to %s\n", dev->name, key, tid);
    return rc == MSGLOG_OK ? CLI_OK : failed(dev, "reacting", rc);
}

static int delete_message(demo *d, int who, msglog_id target)
{
    device *dev = &d->dev[who];
    msglog_id id;
    int rc = msglog_delete(dev->log, &id, CONV, strlen(CONV), target);

    char tid[CLI_ID_MAX];
    cli_id_text(tid, target);
    printf("  %s deletes %s\n", dev->name, tid);
    return rc == MSGLOG_OK ? CLI_OK : failed(dev, "deleting", rc);
}

/* ------------------------------------------------------------------------ */
/* Syncing                                                                   */

/* `to` pulls what `from` has, as encoded bytes through the sync protocol. */
static int pull(device *from, device *to)
{
    void *req = NULL, *resp = NULL;
    size_t req_len = 0, resp_len = 0;
    int rc;

    rc = msglog_sync_request(to->log, &req, &req_len, NULL, 0);
    if (rc != MSGLOG_OK)
        return failed(to, "msglog_sync_request", rc);
    rc = msglog_sync_response(from->log, &resp, &resp_len, req, req_len);
    msglog_free(req);
    if (rc != MSGLOG_OK)
        return failed(from, "msglog_sync_response", rc);
    rc = msglog_sync_apply(to->log, resp, resp_len);
    msglog_free(resp);
    return rc == MSGLOG_OK ? CLI_OK : failed(to, "msglog_sync_apply", rc);
}

/* One round of every device pulling from every other one. The first device
 * ends up with everything, and the others then get it from that device. */
static int sync_everyone(demo *d)
{
    int rc = CLI_OK;

    for (int to = 0; rc == CLI_OK && to < N_DEVICES; to++)
        for (int from = 0; rc == CLI_OK && from < N_DEVICES; from++)
            if (from != to)
                rc = pull(&d->dev[from], &d->dev[to]);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Showing                                                                   */

/* "  👍 bob, carol" for every reaction key. */
static void print_reactions(const msglog_message *m)
{
    for (size_t i = 0; i < m->n_reactions; i++) {
        const msglog_reaction *r = &m->reactions[i];

        printf("  %.*s ", (int)r->key.len, r->key.data);
        for (size_t u = 0; u < r->n_users; u++)
            printf("%s%.*s", u ? ", " : "", (int)r->users[u].len,
                   r->users[u].data);
    }
}

/* "    1.2 alice: see you at 9  (edited, conflict)  👍 bob" */
static int print_message(void *ctx, const msglog_message *m)
{
    char id[CLI_ID_MAX];

    (void)ctx;
    cli_id_text(id, m->id);
    printf("    %s %.*s: ", id, (int)m->author.len, m->author.data);
    if (m->deleted) {
        fputs("(deleted)", stdout);
    } else {
        fwrite(m->body.data, 1, m->body.len, stdout);
        if (m->edited || m->conflict)
            printf("  (%s%s)", m->edited ? "edited" : "",
                   m->conflict ? (m->edited ? ", conflict" : "conflict") : "");
        print_reactions(m);
    }
    putchar('\n');
    return 0;
}

static int print_timelines(demo *d)
{
    char why[VIEW_WHY_MAX];

    for (int i = 0; i < N_DEVICES; i++) {
        device *dev = &d->dev[i];

        printf("  %s (replica %" PRIu64 ") sees:\n", dev->name, dev->replica);
        if (view_walk(dev->log, CONV, strlen(CONV), print_message, NULL,
                      why) != 0) {
            fprintf(stderr, "msglog: demo: reading %s: %s\n", dev->name, why);
            return CLI_FAIL;
        }
    }
    return CLI_OK;
}

/* Prints every digest. @return CLI_OK when all are equal, else CLI_FAIL. */
static int report_digests(demo *d)
{
    uint8_t first[16];
    char hex[33];
    int same = 1;

    for (int i = 0; i < N_DEVICES; i++) {
        device *dev = &d->dev[i];
        msglog_conv_info *info = NULL;
        int rc = msglog_conv_info_get(dev->log, &info, CONV, strlen(CONV));

        if (rc != MSGLOG_OK)
            return failed(dev, "msglog_conv_info_get", rc);
        msglog_digest_hex(hex, info->digest);
        printf("  %-14s digest %s, %" PRIu64 " messages, %" PRIu64
               " pending\n", dev->name, hex, info->n_messages, info->pending);
        if (i == 0)
            memcpy(first, info->digest, sizeof first);
        else if (memcmp(first, info->digest, sizeof first) != 0)
            same = 0;
        msglog_free(info);
    }
    msglog_digest_hex(hex, first);
    if (same)
        printf("all %d replicas converged: digest %s\n", N_DEVICES, hex);
    else
        printf("the replicas did NOT converge\n");
    return same ? CLI_OK : CLI_FAIL;
}

/* ------------------------------------------------------------------------ */
/* The story                                                                 */

#define TRY(call)                   \
    do {                            \
        int try_rc_ = (call);       \
        if (try_rc_ != CLI_OK)      \
            return try_rc_;         \
    } while (0)

/* The messages the story comes back to. */
typedef struct story {
    msglog_id ask, meet, gas, other;
} story;

static int act_online(demo *d, story *s)
{
    puts("1. Online. alice has a phone (replica 1) and a laptop (replica 2);"
         " bob has replica 3.\n   They plan a trip in conversation \"" CONV
         "\".");
    d->now = STORY_START;
    TRY(send_message(d, PHONE, "Road trip on Saturday! Who's in?", &s->ask));
    TRY(sync_everyone(d));
    d->now += MINUTE;
    TRY(send_message(d, BOB, "Me! I'll bring snacks", &s->other));
    d->now += MINUTE;
    TRY(send_message(d, LAPTOP, "Let's meet at the station at 8", &s->meet));
    d->now += MINUTE;
    TRY(send_message(d, PHONE, "Who pays for gas?", &s->gas));
    puts("   Everyone syncs: all three devices now hold the same four "
         "messages.\n");
    return sync_everyone(d);
}

static int act_offline(demo *d, story *s)
{
    msglog_id id;

    puts("2. Offline: the phone is in a tunnel, the laptop on a train, bob on "
         "a plane.\n   Each device keeps writing to its own store.");
    d->now += 10 * MINUTE;
    TRY(edit_message(d, PHONE, s->meet, "Let's meet at the station at 9"));
    TRY(edit_message(d, LAPTOP, s->meet, "Let's meet at the station at 8:30"));
    d->now += MINUTE;
    TRY(send_message(d, LAPTOP, "Cabin booked \u2705", &id));
    TRY(react_to(d, BOB, s->meet, "\U0001F44D"));
    d->now += MINUTE;
    TRY(send_message(d, PHONE, "I'll bring the map", &id));
    TRY(react_to(d, BOB, s->ask, "\U0001F389"));
    d->now += MINUTE;
    puts("   alice thinks better of the gas question and deletes it from her "
         "laptop:");
    TRY(delete_message(d, LAPTOP, s->gas));
    puts("\n   Before reconnecting, each device shows the shared messages "
         "and only its own changes:");
    return print_timelines(d);
}

static int act_reconnect(demo *d)
{
    puts("\n3. Back online: every device syncs with every other, both ways.\n"
         "   The two edits of [2.1] were concurrent: both are kept, every device"
         " shows the\n   same winner (greatest clock, then replica id), and "
         "the message is marked as a\n   conflict for alice to settle.");
    d->now += 30 * MINUTE;
    TRY(sync_everyone(d));
    TRY(print_timelines(d));
    puts("");
    return report_digests(d);
}

static int demo_run(demo *d)
{
    story s;

    TRY(demo_open(d));
    TRY(act_online(d, &s));
    TRY(act_offline(d, &s));
    return act_reconnect(d);
}

int demo_main(int argc, char **argv)
{
    demo d = {
        NULL, 0,
        { { "alice's phone", "phone", 1, "alice", NULL },
          { "alice's laptop", "laptop", 2, "alice", NULL },
          { "bob's phone", "bob", 3, "bob", NULL } },
    };
    int rc;

    if (argc > 1) {
        int help = strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0;
        if (!help)
            fprintf(stderr, "msglog: demo: unexpected argument '%s'\n",
                    argv[1]);
        fputs("usage: msglog demo\n", help ? stdout : stderr);
        return help ? CLI_OK : CLI_INVALID;
    }
    if (!(d.dir = replay_tmpdir_create("demo")))
        return CLI_FAIL;
    rc = demo_run(&d);
    for (int i = 0; i < N_DEVICES; i++)
        msglog_close(d.dev[i].log);
    if (replay_tmpdir_remove(d.dir) != 0 && rc == CLI_OK)
        rc = CLI_FAIL;
    free(d.dir);
    return rc;
}
