/* The shared seed history; see scenario.h. */
#include "fuzz/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const scen_name[SCEN_N] = { "a", "b", "c", "d" };
const uint64_t scen_replica[SCEN_N] = { 1, 2, 3, 4 };
const char *const scen_user[SCEN_N] = { "alice", "bob", "carol", "alice" };

uint64_t scen_clock_read(void *ctx)
{
    scen_clock *c = ctx;
    c->now += 1000;
    return c->now;
}

static uint64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return SCEN_T0;
}

int scen_open(msglog **out, const char *root, int i, scen_clock *clk)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", root, scen_name[i]) >= (int)sizeof path) {
        *out = NULL;
        return MSGLOG_EINVAL;
    }
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = SCEN_MAP_SIZE;
    opts.max_map_size = SCEN_MAX_MAP_SIZE;
    opts.clock = clk ? scen_clock_read : fixed_clock;
    opts.clock_ctx = clk;
    opts.max_pending_ops = SCEN_MAX_PENDING_OPS;
    opts.max_pending_bytes = SCEN_MAX_PENDING_BYTES;
    return msglog_open(out, path, scen_replica[i], scen_user[i], strlen(scen_user[i]), &opts);
}

/* ---- steps -------------------------------------------------------------- */

static msglog *st[SCEN_N];
static scen_clock clk[SCEN_N];
enum { A, B, C, D };

#define S(x) x, strlen(x)
#define ID(r, s) ((msglog_id){ (r), (s) })

static int check(int rc, const char *what, int line)
{
    if (rc != MSGLOG_OK)
        fprintf(stderr, "scenario.c:%d: %s: %s\n", line, what, msglog_strerror(rc));
    return rc;
}
#define TRY(x) do { if (check((x), #x, __LINE__)) return -1; } while (0)

/* `to` asks `from` for conversation conv (NULL: all) and applies the answer. */
static int sync_from(int from, int to, const char *conv)
{
    void *req = NULL, *resp = NULL;
    size_t req_len = 0, resp_len = 0;
    TRY(msglog_sync_request(st[to], &req, &req_len, conv, conv ? strlen(conv) : 0));
    int rc = msglog_sync_response(st[from], &resp, &resp_len, req, req_len);
    msglog_free(req);
    TRY(rc);
    rc = msglog_sync_apply(st[to], resp, resp_len);
    msglog_free(resp);
    TRY(rc);
    return 0;
}

/* Hands op `id` of `conv` from store `from` to store `to`. */
static int give(int from, int to, const char *conv, msglog_id id)
{
    void *p = NULL;
    size_t n = 0;
    TRY(msglog_op_bytes(st[from], &p, &n, S(conv), id));
    int rc = msglog_receive(st[to], p, n);
    msglog_free(p);
    TRY(rc);
    return 0;
}

static int steps(void)
{
    msglog_id id;
    const char *g = "general";

    /* a: general (1,1)..(1,2) */
    TRY(msglog_send(st[A], &id, S(g), S("hello")));
    TRY(msglog_send(st[A], &id, S(g), S("world")));
    /* d, alice's phone, sees that much, and edits "world" concurrently
     * with a's edit below. */
    if (sync_from(A, D, g))
        return -1;
    TRY(msglog_edit(st[D], &id, S(g), ID(1, 2), S("world (from my phone)")));
    TRY(msglog_react(st[D], &id, S(g), ID(1, 1), S("\xe2\x9d\xa4")));
    /* a: general (1,3)..(1,5); random (1,1) */
    TRY(msglog_react(st[A], &id, S(g), ID(1, 1), S("\xf0\x9f\x91\x8d")));
    TRY(msglog_edit(st[A], &id, S(g), ID(1, 2), S("world!")));
    TRY(msglog_mark_read(st[A], &id, S(g), ID(1, 2)));
    TRY(msglog_send(st[A], &id, S("random"), S("x")));

    /* b learns everything a has, then writes general (2,1)..(2,10), dm. */
    if (sync_from(A, B, NULL))
        return -1;
    TRY(msglog_send(st[B], &id, S(g), S("hi alice")));
    TRY(msglog_edit(st[B], &id, S(g), ID(2, 1), S("hi alice!")));
    TRY(msglog_react(st[B], &id, S(g), ID(1, 1), S("\xf0\x9f\x91\x8d")));
    TRY(msglog_unreact(st[B], &id, S(g), ID(1, 1), S("\xf0\x9f\x91\x8d")));
    TRY(msglog_react(st[B], &id, S(g), ID(1, 2), S("\xf0\x9f\x8e\x89")));
    TRY(msglog_send(st[B], &id, S(g), S("oops, wrong chat")));
    TRY(msglog_edit(st[B], &id, S(g), ID(2, 6), S("oops, wrong chat!")));
    TRY(msglog_delete(st[B], &id, S(g), ID(2, 6)));
    TRY(msglog_mark_read(st[B], &id, S(g), ID(1, 2)));
    TRY(msglog_edit(st[B], &id, S(g), ID(2, 1), S("hi alice, again")));
    TRY(msglog_send(st[B], &id, S("dm"), S("psst")));
    TRY(msglog_send(st[B], &id, S("dm"), S("")));
    TRY(msglog_react(st[B], &id, S("dm"), ID(2, 1), S("k")));
    TRY(msglog_delete(st[B], &id, S("dm"), ID(2, 2)));

    /* c learns everything b has (and d's ops, via a later sync), then
     * writes general (3,1)..(3,6) and c-only. */
    if (sync_from(B, C, NULL) || sync_from(D, C, g))
        return -1;
    TRY(msglog_send(st[C], &id, S(g), S("carol here \xe2\x9c\x93")));
    TRY(msglog_edit(st[C], &id, S(g), ID(3, 1), S("carol here")));
    TRY(msglog_react(st[C], &id, S(g), ID(2, 1), S("\xf0\x9f\x91\x80")));
    TRY(msglog_send(st[C], &id, S(g), S("bye")));
    TRY(msglog_delete(st[C], &id, S(g), ID(3, 4)));
    TRY(msglog_mark_read(st[C], &id, S(g), ID(3, 1)));
    static const char nul_body[] = "h\xc3\xa9llo \x00 nul";   /* holds a NUL */
    TRY(msglog_send(st[C], &id, S("c-only"), nul_body, sizeof nul_body - 1));

    /* a: b's general (2,1)..(2,5) delivered, (2,9) pending (waits for
     * (2,6)); dm (2,3) pending; d's edit delivered (a conflict with a's own
     * edit), d's react pending-free too; c's first op delivered. */
    for (uint64_t s = 1; s <= 5; s++)
        if (give(B, A, g, ID(2, s)))
            return -1;
    if (give(B, A, g, ID(2, 9)) || give(B, A, "dm", ID(2, 3)) ||
        give(D, A, g, ID(4, 1)) || give(D, A, g, ID(4, 2)) ||
        give(C, A, g, ID(3, 1)))
        return -1;
    return 0;
}

int scen_build(const char *root)
{
    int rc = 0;
    for (int i = 0; i < SCEN_N; i++) {
        clk[i].now = SCEN_T0 + 100 * (uint64_t)i;
        st[i] = NULL;
    }
    for (int i = 0; i < SCEN_N && !rc; i++)
        rc = check(scen_open(&st[i], root, i, &clk[i]), "scen_open", __LINE__) ? -1 : 0;
    if (!rc)
        rc = steps();
    for (int i = 0; i < SCEN_N; i++) {
        msglog_close(st[i]);
        st[i] = NULL;
    }
    return rc;
}
