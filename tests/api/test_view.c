/* Reading the view: message order, paging, message_get, read markers,
 * conversation info and list, edited/deleted/conflict flags, reactions. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msglog.h"
#include "support/check.h"
#include "support/rng.h"
#include "support/tstore.h"
#include "support/tmpdir.h"

#define T0 1700000000000ULL
#define C1 "c1", 2
#define MAXH 6

static char *root;
static msglog *h[MAXH];
static tclock clk[MAXH];

static void setup(void)
{
    root = tmpdir_make_fast("msglog-view-");
    cr_assert_not_null(root);
    for (int i = 0; i < MAXH; i++) {
        h[i] = NULL;
        clk[i].now = T0;
        clk[i].reads = 0;
    }
}

static void teardown(void)
{
    for (int i = 0; i < MAXH; i++) {
        msglog_close(h[i]);
        h[i] = NULL;
    }
    if (root != NULL) {
        tmpdir_remove(root);
        free(root);
        root = NULL;
    }
}

TestSuite(view, .init = setup, .fini = teardown);

/* Opens handle slot i as replica `id` of `user`. */
static msglog *open_r(int i, uint64_t id, const char *user)
{
    char name[32];
    snprintf(name, sizeof name, "r%d", i);
    CHECK_OK(tstore_open(&h[i], root, name, id, user, &clk[i]));
    return h[i];
}

static msglog_id send_s(msglog *log, const char *body)
{
    msglog_id id = {0, 0};
    CHECK_OK(msglog_send(log, &id, C1, body, strlen(body)));
    return id;
}

static int id_eq(msglog_id a, msglog_id b)
{
    return a.replica == b.replica && a.seq == b.seq;
}

/* Every message of c1 walking forward in pages of `limit`. */
static size_t walk(msglog *log, int dir, size_t limit, msglog_id *ids,
                   uint64_t *hlcs, size_t cap)
{
    msglog_cursor cur = {1, 0, {0, 0}};
    size_t n = 0;
    for (;;) {
        msglog_page *p = NULL;
        CHECK_OK(msglog_messages(log, &p, C1, dir, cur, limit));
        cr_assert_leq(p->n, limit, "a page holds at most `limit` messages");
        for (size_t i = 0; i < p->n; i++) {
            cr_assert_lt(n, cap, "more messages than exist");
            ids[n] = p->messages[i].id;
            hlcs[n] = p->messages[i].hlc;
            n++;
        }
        size_t got = p->n;
        if (got > 0) {
            cur.from_end = 0;
            cur.hlc = p->messages[got - 1].hlc;
            cur.id = p->messages[got - 1].id;
        }
        msglog_free(p);
        if (got < limit)
            break;
    }
    return n;
}

Test(view, order_is_hlc_then_replica_then_seq)
{
    /* Three replicas write at the same millisecond without seeing each
     * other: equal hlcs, ordered by replica id. */
    msglog *a = open_r(0, 9, "alice");
    msglog *b = open_r(1, 4, "bob");
    msglog *c = open_r(2, 6, "carol");
    msglog *z = open_r(3, ((uint64_t)1 << 53) - 1, "zed");
    send_s(a, "a1");
    send_s(a, "a2");
    send_s(b, "b1");
    send_s(b, "b2");
    send_s(c, "c1");
    send_s(c, "c2");
    clk[3].now = T0 - 1;
    send_s(z, "z1");
    msglog *all[4] = {a, b, c, z};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            if (i != j)
                check_sync(all[j], all[i], NULL, 0);
    const struct {
        uint64_t hlc, replica, seq;
        const char *body;
    } want[] = {
        {(T0 - 1) << 16, ((uint64_t)1 << 53) - 1, 1, "z1"},
        {T0 << 16, 4, 1, "b1"},
        {T0 << 16, 6, 1, "c1"},
        {T0 << 16, 9, 1, "a1"},
        {(T0 << 16) + 1, 4, 2, "b2"},
        {(T0 << 16) + 1, 6, 2, "c2"},
        {(T0 << 16) + 1, 9, 2, "a2"},
    };
    for (int i = 0; i < 4; i++) {
        msglog_page *p = NULL;
        msglog_cursor from = {1, 0, {0, 0}};
        CHECK_OK(msglog_messages(all[i], &p, C1, MSGLOG_FORWARD, from, 100));
        cr_assert_eq(p->n, 7, "replica %d shows %zu messages", i, p->n);
        for (size_t k = 0; k < 7; k++) {
            const msglog_message *m = &p->messages[k];
            cr_assert_eq(m->hlc, want[k].hlc, "replica %d message %zu hlc", i, k);
            cr_assert_eq(m->id.replica, want[k].replica,
                         "replica %d message %zu: id %llu.%llu, expected %llu.%llu",
                         i, k, (unsigned long long)m->id.replica,
                         (unsigned long long)m->id.seq,
                         (unsigned long long)want[k].replica,
                         (unsigned long long)want[k].seq);
            cr_assert_eq(m->id.seq, want[k].seq);
            check_str(m->body, want[k].body, strlen(want[k].body), "body");
        }
        msglog_free(p);
    }
    /* A message written after seeing everything comes last, even with a
     * clock far behind. */
    clk[1].now = T0 - 100000;
    msglog_id late = send_s(b, "late");
    msglog_page *p = NULL;
    msglog_cursor from = {1, 0, {0, 0}};
    CHECK_OK(msglog_messages(b, &p, C1, MSGLOG_BACKWARD, from, 1));
    cr_assert_eq(p->n, 1);
    cr_assert(id_eq(p->messages[0].id, late));
    cr_assert_eq(p->messages[0].hlc, (T0 << 16) + 2);
    msglog_free(p);
}

typedef struct expect_msg {
    uint64_t hlc;
    msglog_id id;
} expect_msg;

static int expect_cmp(const void *x, const void *y)
{
    const expect_msg *a = x, *b = y;
    if (a->hlc != b->hlc)
        return a->hlc < b->hlc ? -1 : 1;
    if (a->id.replica != b->id.replica)
        return a->id.replica < b->id.replica ? -1 : 1;
    if (a->id.seq != b->id.seq)
        return a->id.seq < b->id.seq ? -1 : 1;
    return 0;
}

#define NPAGED 1000

Test(view, paging_forward_and_backward_with_cursors, .timeout = 120)
{
    msglog *a = open_r(0, 2, "alice");
    msglog *b = open_r(1, 1, "bob");
    static expect_msg want[NPAGED];
    rng r;
    rng_seed(&r, 7);
    uint64_t maxh[2] = {0, 0};
    /* Two replicas write independently, clocks jittering (and sometimes
     * going back), so equal hlcs across replicas are common. */
    for (int i = 0; i < NPAGED; i++) {
        int who = (int)rng_below(&r, 2);
        msglog *log = who ? b : a;
        tclock *c = &clk[who];
        uint64_t step = rng_below(&r, 4);
        c->now = rng_chance(&r, 10) ? c->now - step : c->now + step;
        char body[32];
        snprintf(body, sizeof body, "m%d", i);
        msglog_id id = send_s(log, body);
        uint64_t hl = c->now << 16;
        if (hl <= maxh[who])
            hl = maxh[who] + 1;
        maxh[who] = hl;
        want[i].hlc = hl;
        want[i].id = id;
    }
    check_sync(b, a, NULL, 0);
    qsort(want, NPAGED, sizeof want[0], expect_cmp);

    static msglog_id ids[NPAGED + 1];
    static uint64_t hl[NPAGED + 1];
    size_t n = walk(a, MSGLOG_FORWARD, 7, ids, hl, NPAGED + 1);
    cr_assert_eq(n, NPAGED);
    for (size_t i = 0; i < n; i++) {
        cr_assert(id_eq(ids[i], want[i].id) && hl[i] == want[i].hlc,
                  "forward position %zu: %llu.%llu@%llu, expected %llu.%llu@%llu",
                  i, (unsigned long long)ids[i].replica,
                  (unsigned long long)ids[i].seq, (unsigned long long)hl[i],
                  (unsigned long long)want[i].id.replica,
                  (unsigned long long)want[i].id.seq,
                  (unsigned long long)want[i].hlc);
    }
    n = walk(a, MSGLOG_BACKWARD, 7, ids, hl, NPAGED + 1);
    cr_assert_eq(n, NPAGED);
    for (size_t i = 0; i < n; i++)
        cr_assert(id_eq(ids[i], want[NPAGED - 1 - i].id),
                  "backward position %zu differs", i);

    /* One big page. */
    msglog_page *p = NULL;
    msglog_cursor from = {1, 0, {0, 0}};
    CHECK_OK(msglog_messages(a, &p, C1, MSGLOG_FORWARD, from, NPAGED * 2));
    cr_assert_eq(p->n, NPAGED);
    msglog_free(p);

    /* Cursors from the middle, both ways. */
    const size_t probes[] = {0, 1, 6, 7, 499, 500, 998, 999};
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        size_t at = probes[k];
        msglog_cursor cur = {0, want[at].hlc, want[at].id};
        CHECK_OK(msglog_messages(a, &p, C1, MSGLOG_FORWARD, cur, 3));
        size_t expect_n = NPAGED - 1 - at < 3 ? NPAGED - 1 - at : 3;
        cr_assert_eq(p->n, expect_n, "forward after %zu: %zu messages", at, p->n);
        for (size_t i = 0; i < p->n; i++)
            cr_assert(id_eq(p->messages[i].id, want[at + 1 + i].id),
                      "forward after %zu, item %zu", at, i);
        msglog_free(p);
        CHECK_OK(msglog_messages(a, &p, C1, MSGLOG_BACKWARD, cur, 3));
        expect_n = at < 3 ? at : 3;
        cr_assert_eq(p->n, expect_n, "backward before %zu: %zu messages", at, p->n);
        for (size_t i = 0; i < p->n; i++)
            cr_assert(id_eq(p->messages[i].id, want[at - 1 - i].id),
                      "backward before %zu, item %zu", at, i);
        msglog_free(p);
    }

    /* An empty conversation side: unknown conversation is not found. */
    cr_assert_eq(msglog_messages(a, &p, "nope", 4, MSGLOG_FORWARD, from, 5),
                 MSGLOG_ENOTFOUND);
}

Test(view, message_get_matches_the_page)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *b = open_r(1, 2, "bob");
    msglog_id m1 = send_s(a, "first"), out;
    msglog_id m2 = send_s(a, "second");
    CHECK_OK(msglog_edit(a, &out, C1, m1, "first!", 6));
    check_sync(a, b, NULL, 0);
    CHECK_OK(msglog_react(b, &out, C1, m1, "+1", 2));
    check_sync(b, a, NULL, 0);

    msglog_page *page = NULL;
    msglog_cursor from = {1, 0, {0, 0}};
    CHECK_OK(msglog_messages(a, &page, C1, MSGLOG_FORWARD, from, 10));
    cr_assert_eq(page->n, 2);
    for (size_t i = 0; i < 2; i++) {
        msglog_page *one = check_get(a, C1, page->messages[i].id);
        char *x = dump_message(&page->messages[i]);
        char *y = dump_message(&one->messages[0]);
        cr_assert_str_eq(x, y);
        free(x);
        free(y);
        msglog_free(one);
    }
    check_str(page->messages[0].body, "first!", 6, "body");
    cr_assert_eq(page->messages[0].n_reactions, 1);
    check_str(page->messages[0].reactions[0].users[0], "bob", 3, "reactor");
    cr_assert(id_eq(page->messages[1].id, m2));
    msglog_free(page);

    cr_assert_eq(msglog_message_get(a, &page, C1, (msglog_id){1, 9}),
                 MSGLOG_ENOTFOUND);
    cr_assert_eq(msglog_message_get(a, &page, C1, out), MSGLOG_ENOTFOUND,
                 "a reaction is not a message");
    cr_assert_eq(msglog_message_get(a, &page, "c2", 2, m1), MSGLOG_ENOTFOUND);
}

Test(view, read_markers_are_the_greatest_read_message)
{
    msglog *a = open_r(0, 9, "alice");
    msglog *b = open_r(1, 4, "bob");
    msglog *b2 = open_r(2, 5, "bob");
    msglog *z = open_r(3, 7, "Zed");
    msglog *al = open_r(4, 8, "al");
    /* Equal hlcs: order comes from the replica ids (4 < 9). */
    msglog_id am = send_s(a, "alice says");
    msglog_id bm = send_s(b, "bob says");
    msglog *all[5] = {a, b, b2, z, al};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            if (i != j)
                check_sync(all[j], all[i], NULL, 0);
    msglog_id out;
    /* bob's phone reads alice's (the later one), his laptop bob's: the
     * marker is alice's message, whatever the order of arrival. */
    CHECK_OK(msglog_mark_read(b2, &out, C1, bm));
    CHECK_OK(msglog_mark_read(b, &out, C1, am));
    CHECK_OK(msglog_mark_read(z, &out, C1, bm));
    CHECK_OK(msglog_mark_read(al, &out, C1, am));
    CHECK_OK(msglog_mark_read(a, &out, C1, bm));
    check_sync(b2, a, NULL, 0);
    check_sync(z, a, NULL, 0);
    check_sync(b, a, NULL, 0);
    check_sync(al, a, NULL, 0);
    msglog_conv_info *info = check_info(a, C1);
    const struct {
        const char *user;
        msglog_id m;
    } want[] = {{"Zed", bm}, {"al", am}, {"alice", bm}, {"bob", am}};
    cr_assert_eq(info->n_read, 4);
    for (size_t i = 0; i < 4; i++) {
        check_str(info->read[i].user, want[i].user, strlen(want[i].user),
                  "reader (sorted bytewise)");
        cr_assert(id_eq(info->read[i].message, want[i].m),
                  "marker of %s is %llu.%llu", want[i].user,
                  (unsigned long long)info->read[i].message.replica,
                  (unsigned long long)info->read[i].message.seq);
    }
    msglog_free(info);

    /* Reading an older message later does not move the marker back. */
    CHECK_OK(msglog_mark_read(b, &out, C1, bm));
    info = check_info(b, C1);
    int found = 0;
    for (size_t i = 0; i < info->n_read; i++)
        if (info->read[i].user.len == 3 &&
            memcmp(info->read[i].user.data, "bob", 3) == 0) {
            found = 1;
            cr_assert(id_eq(info->read[i].message, am));
        }
    cr_assert(found);
    msglog_free(info);
}

Test(view, conv_info_vv_messages_and_pending)
{
    msglog *a = open_r(0, 9, "alice");
    msglog *b = open_r(1, 4, "bob");
    msglog *c = open_r(2, 6, "carol");
    msglog_id m = send_s(a, "m"), out;
    CHECK_OK(msglog_edit(a, &out, C1, m, "m2", 2));
    CHECK_OK(msglog_react(a, &out, C1, m, "+1", 2));
    check_sync(a, b, NULL, 0);
    send_s(b, "b1");
    CHECK_OK(msglog_mark_read(b, &out, C1, m));
    check_sync(b, c, NULL, 0);
    msglog_id c1 = send_s(c, "c1");
    msglog_id c2 = send_s(c, "c2");
    msglog_id c3 = send_s(c, "c3");
    (void)c1;

    msglog_conv_info *info = check_info(c, C1);
    cr_assert_eq(info->n_vv, 3);
    const uint64_t vr[3] = {4, 6, 9}, vs[3] = {2, 3, 3};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(info->vv[i].replica, vr[i], "vv[%d] replica", i);
        cr_assert_eq(info->vv[i].seq, vs[i], "vv[%d] seq", i);
    }
    cr_assert_eq(info->n_messages, 5);
    cr_assert_eq(info->pending, 0);
    msglog_free(info);

    /* a receives c's ops without their dependencies: pending. */
    check_forward(c, a, C1, c3);
    check_forward(c, a, C1, c2);
    info = check_info(a, C1);
    cr_assert_eq(info->pending, 2);
    cr_assert_eq(info->n_vv, 1, "pending ops are not in the vv");
    cr_assert_eq(info->vv[0].replica, 9);
    cr_assert_eq(info->vv[0].seq, 3);
    cr_assert_eq(info->n_messages, 1);
    msglog_free(info);
    check_sync(b, a, NULL, 0);
    info = check_info(a, C1);
    cr_assert_eq(info->pending, 2, "c's first op is still missing");
    cr_assert_eq(info->n_messages, 2);
    msglog_free(info);
    check_forward(c, a, C1, c1);
    info = check_info(a, C1);
    cr_assert_eq(info->pending, 0);
    cr_assert_eq(info->n_messages, 5);
    cr_assert_eq(info->n_vv, 3);
    msglog_conv_info *ic = check_info(c, C1);
    cr_assert_eq(memcmp(info->digest, ic->digest, 16), 0,
                 "same delivered ops, same digest");
    msglog_free(ic);
    msglog_free(info);

    cr_assert_eq(msglog_conv_info_get(a, &info, "c2", 2), MSGLOG_ENOTFOUND);
}

Test(view, conversations_in_bytewise_order)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *b = open_r(1, 2, "bob");
    const struct {
        const char *s;
        size_t n;
    } make[] = {{"b", 1}, {"a", 1}, {"ab", 2}, {"\xf4\x8f\xbf\xbf", 4}, {"A", 1},
                {"a\0", 2}, {"\x01", 1}, {"\xc3\xa9t\xc3\xa9", 6}};
    const struct {
        const char *s;
        size_t n;
    } want[] = {{"\x01", 1}, {"A", 1}, {"a", 1}, {"a\0", 2}, {"ab", 2},
                {"b", 1}, {"p", 1}, {"\xc3\xa9t\xc3\xa9", 6},
                {"\xf4\x8f\xbf\xbf", 4}};
    msglog_id out;
    for (size_t i = 0; i < sizeof make / sizeof make[0]; i++)
        CHECK_OK(msglog_send(a, &out, make[i].s, make[i].n, "x", 1));
    /* A conversation holding only a pending op is listed too. */
    CHECK_OK(msglog_send(b, &out, "p", 1, "1", 1));
    CHECK_OK(msglog_send(b, &out, "p", 1, "2", 1));
    check_forward(b, a, "p", 1, out);

    for (int round = 0; round < 2; round++) {
        msglog_str *convs = NULL;
        size_t n = 0;
        CHECK_OK(msglog_conversations(a, &convs, &n));
        cr_assert_eq(n, sizeof want / sizeof want[0], "%zu conversations", n);
        for (size_t i = 0; i < n; i++)
            check_str(convs[i], want[i].s, want[i].n, "conversation");
        msglog_free(convs);
        msglog_conv_info *info = check_info(a, "p", 1);
        cr_assert_eq(info->pending, 1);
        cr_assert_eq(info->n_vv, 0);
        cr_assert_eq(info->n_messages, 0);
        msglog_free(info);
        msglog_page *p = NULL;
        msglog_cursor from = {1, 0, {0, 0}};
        CHECK_OK(msglog_messages(a, &p, "p", 1, MSGLOG_FORWARD, from, 10));
        cr_assert_eq(p->n, 0);
        msglog_free(p);
        /* Again after a restart. */
        msglog_close(h[0]);
        h[0] = NULL;
        a = open_r(0, 1, "alice");
    }
}

Test(view, concurrent_edits_conflict_until_resolved)
{
    msglog *phone = open_r(0, 1, "alice");
    msglog *laptop = open_r(1, 3, "alice");
    msglog *bob = open_r(2, 2, "bob");
    msglog_id m = send_s(phone, "draft"), e1, e2, e3;
    check_sync(phone, laptop, NULL, 0);
    check_sync(phone, bob, NULL, 0);
    /* Same millisecond on both devices: equal hlcs, the greater origin
     * (laptop, 3) wins the body. */
    clk[0].now = clk[1].now = T0 + 10;
    CHECK_OK(msglog_edit(phone, &e1, C1, m, "phone edit", 10));
    CHECK_OK(msglog_edit(laptop, &e2, C1, m, "laptop edit", 11));
    msglog_page *p = check_get(phone, C1, m);
    cr_assert_eq(p->messages[0].conflict, 0, "one head only, locally");
    check_str(p->messages[0].body, "phone edit", 10, "phone before sync");
    msglog_free(p);

    check_sync(phone, bob, NULL, 0);
    check_sync(laptop, bob, NULL, 0);
    check_sync(bob, phone, NULL, 0);
    check_sync(bob, laptop, NULL, 0);
    msglog *all[3] = {phone, laptop, bob};
    for (int i = 0; i < 3; i++) {
        p = check_get(all[i], C1, m);
        cr_assert_eq(p->messages[0].conflict, 1, "replica %d: two heads", i);
        cr_assert_eq(p->messages[0].edited, 1);
        check_str(p->messages[0].body, "laptop edit", 11, "winner");
        msglog_free(p);
    }
    /* A later edit that saw both heads resolves the conflict. */
    clk[0].now = T0 + 5;
    CHECK_OK(msglog_edit(phone, &e3, C1, m, "settled", 7));
    check_sync(phone, laptop, NULL, 0);
    check_sync(phone, bob, NULL, 0);
    for (int i = 0; i < 3; i++) {
        p = check_get(all[i], C1, m);
        cr_assert_eq(p->messages[0].conflict, 0, "replica %d: resolved", i);
        check_str(p->messages[0].body, "settled", 7, "settled");
        msglog_free(p);
    }
    /* A new conflict, then a delete: conflict false. */
    CHECK_OK(msglog_edit(phone, &e1, C1, m, "p2", 2));
    CHECK_OK(msglog_edit(laptop, &e2, C1, m, "l2", 2));
    check_sync(laptop, phone, NULL, 0);
    p = check_get(phone, C1, m);
    cr_assert_eq(p->messages[0].conflict, 1);
    msglog_free(p);
    CHECK_OK(msglog_delete(phone, &e3, C1, m));
    p = check_get(phone, C1, m);
    cr_assert_eq(p->messages[0].conflict, 0, "a deleted message never conflicts");
    cr_assert_eq(p->messages[0].deleted, 1);
    cr_assert_eq(p->messages[0].edited, 1);
    cr_assert_null(p->messages[0].body.data);
    msglog_free(p);
}

Test(view, edit_wins_by_hlc_not_arrival)
{
    msglog *phone = open_r(0, 5, "alice");
    msglog *laptop = open_r(1, 3, "alice");
    msglog_id m = send_s(phone, "draft"), e;
    check_sync(phone, laptop, NULL, 0);
    clk[0].now = T0 + 100;
    clk[1].now = T0 + 90;
    CHECK_OK(msglog_edit(phone, &e, C1, m, "phone", 5));
    CHECK_OK(msglog_edit(laptop, &e, C1, m, "laptop", 6));
    check_sync(phone, laptop, NULL, 0);
    check_sync(laptop, phone, NULL, 0);
    for (int i = 0; i < 2; i++) {
        msglog_page *p = check_get(h[i], C1, m);
        check_str(p->messages[0].body, "phone", 5, "greatest hlc wins");
        cr_assert_eq(p->messages[0].conflict, 1);
        msglog_free(p);
    }
}

Test(view, reactions_sorted_by_key_and_user)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *b = open_r(1, 2, "bob");
    msglog *c = open_r(2, 3, "carol");
    msglog *a2 = open_r(3, 4, "alice");
    msglog_id m = send_s(a, "react to me"), out;
    msglog *all[4] = {a, b, c, a2};
    for (int i = 1; i < 4; i++)
        check_sync(a, all[i], NULL, 0);
    CHECK_OK(msglog_react(c, &out, C1, m, "b", 1));
    CHECK_OK(msglog_react(c, &out, C1, m, "+1", 2));
    CHECK_OK(msglog_react(b, &out, C1, m, "+1", 2));
    CHECK_OK(msglog_react(a, &out, C1, m, "+1", 2));
    CHECK_OK(msglog_react(a2, &out, C1, m, "+1", 2));
    CHECK_OK(msglog_react(b, &out, C1, m, "\xf0\x9f\x8e\x89", 4));
    CHECK_OK(msglog_react(a2, &out, C1, m, "A", 1));
    CHECK_OK(msglog_react(b, &out, C1, m, "a", 1));
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                if (i != j)
                    check_sync(all[j], all[i], NULL, 0);
    const char *keys[] = {"+1", "A", "a", "b", "\xf0\x9f\x8e\x89"};
    const char *users[][3] = {{"alice", "bob", "carol"}, {"alice"}, {"bob"},
                              {"carol"}, {"bob"}};
    const size_t n_users[] = {3, 1, 1, 1, 1};
    for (int i = 0; i < 4; i++) {
        msglog_page *p = check_get(all[i], C1, m);
        const msglog_message *mm = &p->messages[0];
        cr_assert_eq(mm->n_reactions, 5, "replica %d: %zu keys", i, mm->n_reactions);
        for (size_t k = 0; k < 5; k++) {
            check_str(mm->reactions[k].key, keys[k], strlen(keys[k]), "key");
            cr_assert_eq(mm->reactions[k].n_users, n_users[k], "users of %s",
                         keys[k]);
            for (size_t u = 0; u < n_users[k]; u++)
                check_str(mm->reactions[k].users[u], users[k][u],
                          strlen(users[k][u]), "user");
        }
        msglog_free(p);
    }
}

Test(view, reactions_add_wins)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *b = open_r(1, 2, "bob");
    msglog *b2 = open_r(2, 3, "bob");
    msglog_id m = send_s(a, "party?"), out;
    check_sync(a, b, NULL, 0);
    check_sync(a, b2, NULL, 0);
    CHECK_OK(msglog_react(b, &out, C1, m, "x", 1));
    check_sync(b, b2, NULL, 0);
    /* The laptop removes the reaction it saw; concurrently the phone adds
     * it again: the new react was not observed, so it stays. */
    CHECK_OK(msglog_unreact(b2, &out, C1, m, "x", 1));
    CHECK_OK(msglog_react(b, &out, C1, m, "x", 1));
    /* And a key only removed stays removed. */
    CHECK_OK(msglog_react(b, &out, C1, m, "y", 1));
    check_sync(b, b2, NULL, 0);
    CHECK_OK(msglog_unreact(b2, &out, C1, m, "y", 1));
    msglog *all[3] = {a, b, b2};
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                if (i != j)
                    check_sync(all[j], all[i], NULL, 0);
    for (int i = 0; i < 3; i++) {
        msglog_page *p = check_get(all[i], C1, m);
        cr_assert_eq(p->messages[0].n_reactions, 1, "replica %d", i);
        check_str(p->messages[0].reactions[0].key, "x", 1, "add wins");
        cr_assert_eq(p->messages[0].reactions[0].n_users, 1);
        check_str(p->messages[0].reactions[0].users[0], "bob", 3, "user");
        msglog_free(p);
    }
}

Test(view, deleted_message_keeps_its_place)
{
    msglog *a = open_r(0, 1, "alice");
    msglog *b = open_r(1, 2, "bob");
    msglog_id m1 = send_s(a, "one");
    clk[0].now++;
    msglog_id m2 = send_s(a, "two");
    clk[0].now++;
    msglog_id m3 = send_s(a, "three"), out;
    check_sync(a, b, NULL, 0);
    CHECK_OK(msglog_react(b, &out, C1, m2, "+1", 2));
    check_sync(b, a, NULL, 0);
    CHECK_OK(msglog_delete(a, &out, C1, m2));
    check_sync(a, b, NULL, 0);
    msglog *all[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        msglog_page *p = NULL;
        msglog_cursor from = {1, 0, {0, 0}};
        CHECK_OK(msglog_messages(all[i], &p, C1, MSGLOG_FORWARD, from, 10));
        cr_assert_eq(p->n, 3);
        cr_assert(id_eq(p->messages[0].id, m1));
        cr_assert(id_eq(p->messages[1].id, m2));
        cr_assert(id_eq(p->messages[2].id, m3));
        cr_assert_eq(p->messages[1].deleted, 1);
        cr_assert_null(p->messages[1].body.data);
        cr_assert_eq(p->messages[1].n_reactions, 0);
        cr_assert_eq(p->messages[1].edited, 0);
        cr_assert_eq(p->messages[1].conflict, 0);
        cr_assert_eq(p->messages[1].hlc, ((T0 + 1) << 16));
        check_str(p->messages[1].author, "alice", 5, "author");
        check_str(p->messages[0].body, "one", 3, "neighbour");
        check_str(p->messages[2].body, "three", 5, "neighbour");
        msglog_free(p);
    }
}

Test(view, returned_memory_outlives_later_calls_and_close)
{
    msglog *a = open_r(0, 1, "alice");
    msglog_id m = send_s(a, "kept in the caller's memory"), out;
    CHECK_OK(msglog_react(a, &out, C1, m, "+1", 2));
    CHECK_OK(msglog_mark_read(a, &out, C1, m));
    msglog_page *page = NULL, *one = NULL;
    msglog_conv_info *info = NULL;
    msglog_str *convs = NULL;
    size_t n_convs = 0;
    msglog_cursor from = {1, 0, {0, 0}};
    CHECK_OK(msglog_messages(a, &page, C1, MSGLOG_FORWARD, from, 10));
    CHECK_OK(msglog_message_get(a, &one, C1, m));
    CHECK_OK(msglog_conv_info_get(a, &info, C1));
    CHECK_OK(msglog_conversations(a, &convs, &n_convs));
    char *p1 = dump_message(&page->messages[0]);
    char *p2 = dump_message(&one->messages[0]);
    /* Many more writes, then the handle goes away. */
    for (int i = 0; i < 200; i++) {
        char body[64];
        snprintf(body, sizeof body, "filler %d", i);
        send_s(a, body);
    }
    CHECK_OK(msglog_edit(a, &out, C1, m, "changed later", 13));
    msglog_close(h[0]);
    h[0] = NULL;
    char *q1 = dump_message(&page->messages[0]);
    char *q2 = dump_message(&one->messages[0]);
    cr_assert_str_eq(p1, q1, "a page changed after later calls and close");
    cr_assert_str_eq(p2, q2);
    check_str(page->messages[0].body, "kept in the caller's memory", 27, "body");
    cr_assert_eq(info->n_read, 1);
    check_str(info->read[0].user, "alice", 5, "reader");
    cr_assert_eq(info->n_messages, 1);
    cr_assert_eq(n_convs, 1);
    check_str(convs[0], "c1", 2, "conversation");
    free(p1);
    free(p2);
    free(q1);
    free(q2);
    msglog_free(page);
    msglog_free(one);
    msglog_free(info);
    msglog_free(convs);
}

Test(view, digest_hex_format)
{
    uint8_t d[16];
    for (int i = 0; i < 16; i++)
        d[i] = (uint8_t)(i * 17);   /* 00 11 22 ... ff */
    char hex[33];
    memset(hex, 'X', sizeof hex);
    msglog_digest_hex(hex, d);
    cr_assert_str_eq(hex, "00112233445566778899aabbccddeeff");
    cr_assert_eq(hex[32], '\0');
}
