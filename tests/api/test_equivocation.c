/*
 * Seeded random test of the equivocation rule (engine/equivocal.c): whatever
 * order the versions of an id arrive in, replicas that hold the same
 * versions show the same thing.
 *
 * Each schedule has three writers: alice (replica 1), bob (replica 2) and a
 * copy of alice's store restored from a backup (replica 1 again, opened
 * from a copy of her directory), which goes on writing and so reuses
 * alice's sequence numbers with other content. They make random sends,
 * edits, deletes, reacts, unreacts and read markers, and now and then pull from each
 * other. Every op each writer holds is then handed to three fresh
 * replicas, each in its own random order, in random batches, with
 * duplicates; they must end with identical views, vectors and digests,
 * nothing pending, and stay identical after syncing with each other.
 *
 *   MSGLOG_SEED=<n>            replay the schedule with seed n
 *   MSGLOG_EQUIV_SCHEDULES=<n> schedules to run (default 60)
 *   MSGLOG_BASE_SEED=<n>       the base seed (default: from the time and
 *                              pid); schedule k's seed is splitmix64 of
 *                              base + k, as in test_random
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "msglog.h"
#include "support/check.h"
#include "support/rng.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define CONV "c", 1
#define N_WRITERS 3
#define N_READERS 3
#define MAX_HELD 4096

typedef struct bytes {
    void *p;
    size_t n;
} bytes;

typedef struct world {
    rng r;
    char *root;
    tclock clk;
    msglog *w[N_WRITERS];   /* alice, bob, alice restored */
    bytes held[MAX_HELD];   /* every op of every writer, all versions */
    size_t n_held;
} world;

static const char *writer_user[N_WRITERS] = { "alice", "bob", "alice" };

/* A random message the writer has, and whether one was found. */
static int pick_message(world *s, msglog *w, msglog_id *out, const char **author)
{
    msglog_page *p;
    msglog_cursor end = { 1, 0, { 0, 0 } };
    if (msglog_messages(w, &p, CONV, MSGLOG_BACKWARD, end, 8) != MSGLOG_OK)
        return 0;
    int found = p->n > 0;
    if (found) {
        msglog_message *m = &p->messages[rng_below(&s->r, p->n)];
        *out = m->id;
        *author = strcmp(m->author.data, "alice") == 0 ? "alice" : "bob";
    }
    msglog_free(p);
    return found;
}

/* One random op by writer i; refusals (a deleted target...) are fine. */
static void write_one(world *s, int i)
{
    msglog *w = s->w[i];
    char text[32];
    snprintf(text, sizeof text, "t%" PRIu64, rng_below(&s->r, 1000000));
    msglog_id id, target;
    const char *author;
    s->clk.now += rng_below(&s->r, 3);
    unsigned roll = (unsigned)rng_below(&s->r, 100);
    if (roll < 45 || !pick_message(s, w, &target, &author)) {
        CHECK_OK(msglog_send(w, &id, CONV, text, strlen(text)));
        return;
    }
    int own = strcmp(author, writer_user[i]) == 0;
    if (roll < 65 && own)
        (void)msglog_edit(w, &id, CONV, target, text, strlen(text));
    else if (roll < 75 && own)
        (void)msglog_delete(w, &id, CONV, target);
    else if (roll < 85)
        (void)msglog_react(w, &id, CONV, target, roll % 2 ? "+1" : "ok", 2);
    else if (roll < 90)
        (void)msglog_unreact(w, &id, CONV, target, roll % 2 ? "+1" : "ok", 2);
    else
        (void)msglog_mark_read(w, &id, CONV, target);
}

/* Writer `to` pulls everything from writer `from`. */
static void pull(world *s, int to, int from)
{
    void *req, *resp;
    size_t req_len, resp_len;
    CHECK_OK(msglog_sync_request(s->w[to], &req, &req_len, NULL, 0));
    CHECK_OK(msglog_sync_response(s->w[from], &resp, &resp_len, req, req_len));
    int rc = msglog_sync_apply(s->w[to], resp, resp_len);
    cr_assert(rc == MSGLOG_OK || rc == MSGLOG_EEQUIVOCAL, "sync_apply -> %d", rc);
    msglog_free(req);
    msglog_free(resp);
}

/* Collects every op writer i holds, through a sync response to an empty
 * request: the versions it holds, evidence included. */
static void collect(world *s, int i)
{
    void *req, *resp;
    size_t req_len, resp_len;
    msglog *probe;
    char name[32];
    snprintf(name, sizeof name, "probe%d", i);
    CHECK_OK(tstore_open(&probe, s->root, name, 90 + (uint64_t)i, "probe", &s->clk));
    CHECK_OK(msglog_sync_request(probe, &req, &req_len, NULL, 0));
    CHECK_OK(msglog_sync_response(s->w[i], &resp, &resp_len, req, req_len));
    msglog_close(probe);
    cr_assert_lt(s->n_held, MAX_HELD - 1);
    s->held[s->n_held++] = (bytes){ resp, resp_len };
    msglog_free(req);
}

static void apply_responses_shuffled(world *s, msglog *reader)
{
    int order[MAX_HELD];
    int n = 0;
    /* Each collected response is applied whole, several times, in a random
     * order: every version arrives, in a different order per reader. */
    for (size_t i = 0; i < s->n_held; i++)
        for (int k = 0; k < 2; k++)
            order[n++] = (int)i;
    rng_shuffle_int(&s->r, order, n);
    for (int j = 0; j < n; j++) {
        bytes *b = &s->held[order[j]];
        int rc = msglog_sync_apply(reader, b->p, b->n);
        cr_assert(rc == MSGLOG_OK || rc == MSGLOG_EEQUIVOCAL, "sync_apply -> %d (%s)", rc,
                  msglog_errmsg(reader));
    }
}

static void open_writers(world *s)
{
    CHECK_OK(tstore_open(&s->w[0], s->root, "alice", 1, "alice", &s->clk));
    CHECK_OK(tstore_open(&s->w[1], s->root, "bob", 2, "bob", &s->clk));
    int steps = (int)rng_range(&s->r, 1, 12);
    for (int k = 0; k < steps; k++)
        write_one(s, (int)rng_below(&s->r, 2));
    pull(s, 0, 1);
    /* The backup: a copy of alice's directory as it is now. */
    msglog_close(s->w[0]);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp -r '%s/alice' '%s/restored'", s->root, s->root);
    cr_assert_eq(system(cmd), 0);
    CHECK_OK(tstore_open(&s->w[0], s->root, "alice", 1, "alice", &s->clk));
    CHECK_OK(tstore_open(&s->w[2], s->root, "restored", 1, "alice", &s->clk));
}

static void run_schedule(uint64_t seed)
{
    world *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    rng_seed(&s->r, seed);
    s->clk.now = 1700000000000ULL;
    s->root = tmpdir_make("msglog-equiv-");
    cr_assert_not_null(s->root);
    open_writers(s);
    int steps = (int)rng_range(&s->r, 5, 40);
    for (int k = 0; k < steps; k++) {
        int i = (int)rng_below(&s->r, N_WRITERS);
        if (rng_chance(&s->r, 10))
            pull(s, i, (int)rng_below(&s->r, N_WRITERS));
        else
            write_one(s, i);
    }
    for (int i = 0; i < N_WRITERS; i++)
        collect(s, i);
    msglog *reader[N_READERS];
    char *first = NULL;
    for (int j = 0; j < N_READERS; j++) {
        char name[16];
        snprintf(name, sizeof name, "reader%d", j);
        CHECK_OK(tstore_open(&reader[j], s->root, name, 10 + (uint64_t)j, "reader", &s->clk));
        apply_responses_shuffled(s, reader[j]);
        msglog_conv_info *info = check_info(reader[j], CONV);
        cr_assert_eq(info->pending, 0, "seed %" PRIu64 ": ops still pending", seed);
        msglog_free(info);
        if (!first)
            first = check_snapshot(reader[j]);
        else
            check_unchanged(reader[j], first, "the same versions in another order");
        check_whole(reader[j], "a reader holding evidence");
    }
    free(first);
    for (int i = 0; i < N_WRITERS; i++)
        check_whole(s->w[i], "a writer");
    for (int j = 0; j < N_READERS; j++)
        msglog_close(reader[j]);
    for (int i = 0; i < N_WRITERS; i++)
        msglog_close(s->w[i]);
    for (size_t i = 0; i < s->n_held; i++)
        msglog_free(s->held[i].p);
    tmpdir_remove(s->root);
    free(s->root);
    free(s);
}

static uint64_t env_u64(const char *name, uint64_t dflt, int *set)
{
    const char *v = getenv(name);
    *set = v && *v;
    return *set ? strtoull(v, NULL, 10) : dflt;
}

Test(equivocation, same_versions_same_view_in_any_order, .timeout = 600)
{
    int one, n_set, base_set;
    uint64_t seed = env_u64("MSGLOG_SEED", 0, &one);
    uint64_t n = env_u64("MSGLOG_EQUIV_SCHEDULES", 60, &n_set);
    uint64_t base = env_u64("MSGLOG_BASE_SEED",
                            (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid(), &base_set);
    if (one) {
        fprintf(stderr, "equivocation: seed %" PRIu64 "\n", seed);
        run_schedule(seed);
        return;
    }
    fprintf(stderr, "equivocation: base seed %" PRIu64 " (MSGLOG_BASE_SEED), %" PRIu64 " schedules\n",
            base, n);
    for (uint64_t k = 0; k < n; k++) {
        uint64_t state = base + k;
        uint64_t sd = rng_splitmix64(&state);
        fprintf(stderr, "equivocation: schedule seed %" PRIu64 " (MSGLOG_SEED)\r", sd);
        run_schedule(sd);
    }
    fprintf(stderr, "\nequivocation: %" PRIu64 " schedules passed\n", n);
}
