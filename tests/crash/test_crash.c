/*
 * Crash safety: a writer process is killed with SIGKILL at random moments;
 * the stores must open every time, keep everything they acknowledged, and
 * hold a state that is exactly the replay of the ops they hold.
 *
 * Each round forks a writer child. The child opens two stores, A (alice,
 * replica 1) and B (bob, replica 2), and loops: create calls (send, edit,
 * delete, react, unreact, mark_read on targets taken from its own view),
 * receives of pre-encoded ops of a third replica C (carol, made by the
 * parent before forking; single ops and batches, in random order, so many
 * wait as pending), one-way syncs between A and B (one conversation or all),
 * and reopens of a store. Around every call it appends to a journal file
 * with write(2):
 *   before the call: BEGIN and what the call may add to the store
 *                    (one own op; the listed ops; the sender's vector);
 *   after it returned: what it acknowledged (the created id is delivered;
 *                    received ops are held; the store's vector now covers
 *                    the sender's), then END with the return code.
 * So the journal holds only acknowledged work, plus at most one call in
 * flight. The parent sleeps a random 0-20 ms (counted from the fork in one
 * round of four, else from when the child has opened its stores), SIGKILLs
 * the child, reopens
 * both stores and checks, for each:
 *   (open)  msglog_open succeeds (every time);
 *   (a)     nothing acknowledged is lost, and nothing held at the previous
 *           check is lost (vector never shrinks, held ops stay held);
 *   (b)     every op beyond that belongs to the one call in flight (its
 *           commit happened, its acknowledgement did not) and that call
 *           took effect whole: all of its ops or none;
 *   (c)     the store's state is the replay of exactly its ops: a fresh
 *           store receives, one msglog_receive at a time, the bytes
 *           (msglog_op_bytes) of every op the store has delivered, in causal
 *           order (by hlc: an op's hlc exceeds every hlc it depends on), and
 *           each must be delivered at once (the delivered set is causally
 *           closed); then the store's pending ops, which must stay pending;
 *           then the two full views (tests/support/dump.h: vector, pending,
 *           message count, digest, read markers, every message with every
 *           field and reaction) must be identical;
 *   (d)     the pending count equals the number of pending ops found.
 * Stores accumulate across rounds; every 20 rounds a new pair is started.
 *
 *   MSGLOG_SEED=<n>    the seed of the sleeps and of the children's choices
 *                      (where a kill lands still depends on timing, so a
 *                      seed narrows a failure down, it does not replay it)
 *   MSGLOG_KILLS=<n>   the number of kills (default 5); `make crash-long`
 *   TMPDIR=<dir>       where the stores live (default /dev/shm when there is
 *                      one: SIGKILL does not lose the page cache, so memory
 *                      is as good as a disk for this test, and faster)
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec/op_codec.h"
#include "msglog.h"
#include "support/check.h"
#include "support/dump.h"
#include "support/rng.h"
#include "support/tmpdir.h"
#include "support/tstore.h"

#define N_CONV 2
#define N_REP 3            /* 1 alice (A), 2 bob (B), 3 carol (pre-encoded) */
#define MAX_C 64           /* carol's ops per conversation, at most */
#define EPOCH 20           /* rounds on one pair of stores */
#define MAX_SLEEP_US 20000

static const char *const conv_names[N_CONV] = {"c1", "c2"};
static const char *const users[N_REP] = {"alice", "bob", "carol"};
static const char *const keys[] = {"+1", "heart", "\xf0\x9f\x8e\x89"};
#define N_KEYS 3

/* ------------------------------------------------------------------------ */
/* The journal                                                               */

enum { J_BEGIN = 1, J_ALLOW_OWN, J_ALLOW_ID, J_ALLOW_UPTO, J_DELIV, J_HELD, J_END };
enum { C_CREATE = 1, C_RECEIVE, C_SYNC, C_REOPEN, C_OPEN, C_KINDS };
static const char *const call_name[C_KINDS] = {"-", "create", "receive", "sync",
                                               "reopen", "open"};

typedef struct jrec {
    uint32_t type;
    uint16_t store;     /* 0 A, 1 B */
    uint16_t conv;
    uint32_t call;      /* BEGIN: the kind of call */
    int32_t rc;         /* END: the return code */
    uint64_t replica;
    uint64_t seq;
} jrec;
_Static_assert(sizeof(jrec) == 32, "journal records are 32 bytes");

typedef struct jbuf {
    jrec r[32];
    int n;
} jbuf;

static void jadd(jbuf *b, uint32_t type, int store, int conv, uint64_t replica,
                 uint64_t seq)
{
    if (b->n < 32)
        b->r[b->n++] = (jrec){type, (uint16_t)store, (uint16_t)conv, 0, 0, replica, seq};
}

/* ------------------------------------------------------------------------ */
/* State shared by parent and child (the child gets a copy by fork)          */

typedef struct cop {
    void *bytes;
    size_t len;
} cop;

typedef struct held {
    uint64_t vv[N_CONV][N_REP];             /* index replica-1 */
    unsigned char pend[N_CONV][MAX_C + 1];  /* carol's seqs held pending */
    uint64_t pending[N_CONV];
} held;

typedef struct crash {
    uint64_t seed;
    char *root;           /* the test's directory */
    char *dir;            /* this epoch's directory */
    int epoch, round;
    cop cops[N_CONV][MAX_C + 1];   /* carol's ops by seq (1-based) */
    uint64_t n_cops[N_CONV];
    held prev[2];         /* what each store held at the last check */
    /* figures */
    uint64_t kills, opens, acked_calls, failed_calls, in_flight[C_KINDS],
        committed_unacked[C_KINDS], idle_kills, replayed_ops, extra_ops;
    double check_secs, sleep_secs;
} crash;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "crash writer: %s\n", buf);
    _exit(3);
}

static int open_store(msglog **out, const crash *cx, int x)
{
    return tstore_open(out, cx->dir, x ? "B" : "A", (uint64_t)x + 1, users[x], NULL);
}

/* ------------------------------------------------------------------------ */
/* Random create calls on targets from the store's own view (child and the
 * parent's making of carol's ops)                                           */

static void random_body(rng *r, char *buf, size_t cap, size_t *len, const char *who,
                        uint64_t n)
{
    size_t want = rng_chance(r, 5) ? (size_t)rng_range(r, 2000, 6000)
                                   : (size_t)rng_range(r, 1, 120);
    if (want > cap - 1)
        want = cap - 1;
    int k = snprintf(buf, cap, "%s#%" PRIu64 " ", who, n);
    size_t at = (size_t)k < want ? (size_t)k : want;
    for (; at < want; at++)
        buf[at] = (char)('a' + rng_below(r, 26));
    buf[at] = '\0';
    *len = at;
}

static int is_user(msglog_str s, const char *user)
{
    return s.data && s.len == strlen(user) && memcmp(s.data, user, s.len) == 0;
}

/* One create call in conversation `conv` by `user`; a kind with no fitting
 * target falls back to a send. Returns the call's code. */
static int random_create(msglog *log, rng *r, const char *user, int conv,
                         uint64_t n, msglog_id *id)
{
    const char *cn = conv_names[conv];
    size_t cl = strlen(cn);
    static char body[8192];
    size_t bl;
    random_body(r, body, sizeof body, &bl, user, n);

    msglog_page *p = NULL;
    msglog_cursor end = {1, 0, {0, 0}};
    int rc = msglog_messages(log, &p, cn, cl, MSGLOG_BACKWARD, end, 16);
    if (rc == MSGLOG_ENOTFOUND || p == NULL || p->n == 0) {
        msglog_free(p);
        return msglog_send(log, id, cn, cl, body, bl);
    }
    if (rc != MSGLOG_OK)
        return rc;
    uint64_t roll = rng_below(r, 100);
    int pick = -1;
    const char *key = keys[rng_below(r, N_KEYS)];
    int kind;
    /* candidates scanned from a random start */
    size_t start = (size_t)rng_below(r, p->n);
    if (roll < 35) {
        kind = 0;  /* send */
    } else if (roll < 55) {
        kind = 1;  /* edit own live */
    } else if (roll < 62) {
        kind = 2;  /* delete own live */
    } else if (roll < 80) {
        kind = 3;  /* react to a live one */
    } else if (roll < 90) {
        kind = 4;  /* unreact own live reaction */
    } else {
        kind = 5;  /* read any */
    }
    for (size_t k = 0; kind && k < p->n && pick < 0; k++) {
        size_t i = (start + k) % p->n;
        const msglog_message *m = &p->messages[i];
        switch (kind) {
        case 1:
        case 2:
            if (!m->deleted && is_user(m->author, user))
                pick = (int)i;
            break;
        case 3:
            if (!m->deleted)
                pick = (int)i;
            break;
        case 4:
            for (size_t j = 0; !m->deleted && j < m->n_reactions && pick < 0; j++)
                for (size_t u = 0; u < m->reactions[j].n_users; u++)
                    if (is_user(m->reactions[j].users[u], user)) {
                        pick = (int)i;
                        key = m->reactions[j].key.data;
                        break;
                    }
            break;
        default:
            pick = (int)i;
        }
    }
    if (pick < 0)
        kind = 0;
    msglog_id t = pick >= 0 ? p->messages[pick].id : (msglog_id){0, 0};
    char keybuf[MSGLOG_MAX_KEY + 1];
    snprintf(keybuf, sizeof keybuf, "%s", key);  /* the page is freed below */
    msglog_free(p);
    switch (kind) {
    case 1: return msglog_edit(log, id, cn, cl, t, body, bl);
    case 2: return msglog_delete(log, id, cn, cl, t);
    case 3: return msglog_react(log, id, cn, cl, t, keybuf, strlen(keybuf));
    case 4: return msglog_unreact(log, id, cn, cl, t, keybuf, strlen(keybuf));
    case 5: return msglog_mark_read(log, id, cn, cl, t);
    default: return msglog_send(log, id, cn, cl, body, bl);
    }
}

/* ------------------------------------------------------------------------ */
/* The writer child                                                          */

static void jwrite(int fd, jbuf *b)
{
    size_t len = (size_t)b->n * sizeof(jrec);
    const char *p = (const char *)b->r;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("journal write: %s", strerror(errno));
        p += w;
        len -= (size_t)w;
    }
    b->n = 0;
}

static int vv_of(msglog *log, int conv, uint64_t vv[N_REP])
{
    memset(vv, 0, N_REP * sizeof *vv);
    msglog_conv_info *info = NULL;
    int rc = msglog_conv_info_get(log, &info, conv_names[conv], strlen(conv_names[conv]));
    if (rc == MSGLOG_ENOTFOUND)
        return MSGLOG_OK;
    if (rc != MSGLOG_OK)
        return rc;
    for (size_t i = 0; i < info->n_vv; i++)
        if (info->vv[i].replica >= 1 && info->vv[i].replica <= N_REP)
            vv[info->vv[i].replica - 1] = info->vv[i].seq;
    msglog_free(info);
    return MSGLOG_OK;
}

static void writer(const crash *cx, int fd, int ready) __attribute__((noreturn));
static void writer(const crash *cx, int fd, int ready)
{
    alarm(60);   /* never outlive a parent that died */
    signal(SIGPIPE, SIG_IGN);   /* the parent may not wait for "ready" */
    rng r;
    rng_seed(&r, cx->seed ^ ((uint64_t)(cx->round + 1) * 0x9e3779b97f4a7c15ULL));
    msglog *st[2] = {NULL, NULL};
    jbuf b = {.n = 0};
    for (int x = 0; x < 2; x++) {
        jadd(&b, J_BEGIN, x, 0, C_OPEN, 0);
        jwrite(fd, &b);
        int rc = open_store(&st[x], cx, x);
        if (rc != MSGLOG_OK)
            die("open %s -> %d (%s)", x ? "B" : "A", rc, msglog_strerror(rc));
        jadd(&b, J_END, x, 0, 0, 0);
        jwrite(fd, &b);
    }
    ssize_t w = write(ready, "r", 1);   /* EPIPE when the parent is not waiting */
    (void)w;
    close(ready);
    for (uint64_t n = 1;; n++) {
        int x = (int)rng_below(&r, 2), y = 1 - x;
        uint64_t roll = rng_below(&r, 100);
        int rc;
        if (roll < 45) {
            int conv = (int)rng_below(&r, N_CONV);
            jadd(&b, J_BEGIN, x, conv, C_CREATE, 0);
            jadd(&b, J_ALLOW_OWN, x, conv, (uint64_t)x + 1, 0);
            jwrite(fd, &b);
            msglog_id id = {0, 0};
            rc = random_create(st[x], &r, users[x], conv, n, &id);
            if (rc == MSGLOG_OK)
                jadd(&b, J_DELIV, x, conv, id.replica, id.seq);
        } else if (roll < 70) {
            int conv = (int)rng_below(&r, N_CONV);
            if (cx->n_cops[conv] == 0)
                continue;
            int k = (int)rng_range(&r, 1, 4);
            msglog_buf bufs[4];
            uint64_t seqs[4];
            jadd(&b, J_BEGIN, x, conv, C_RECEIVE, 0);
            for (int i = 0; i < k; i++) {
                seqs[i] = rng_range(&r, 1, cx->n_cops[conv]);
                const cop *c = &cx->cops[conv][seqs[i]];
                bufs[i] = (msglog_buf){c->bytes, c->len};
                jadd(&b, J_ALLOW_ID, x, conv, 3, seqs[i]);
            }
            jwrite(fd, &b);
            if (k == 1 && rng_chance(&r, 50))
                rc = msglog_receive(st[x], bufs[0].data, bufs[0].len);
            else
                rc = msglog_receive_batch(st[x], bufs, (size_t)k);
            for (int i = 0; rc == MSGLOG_OK && i < k; i++)
                jadd(&b, J_HELD, x, conv, 3, seqs[i]);
        } else if (roll < 97) {
            /* x pulls from y: one conversation or all */
            int one = rng_chance(&r, 50);
            int conv = (int)rng_below(&r, N_CONV);
            uint64_t vv[N_CONV][N_REP];
            for (int c = 0; c < N_CONV; c++) {
                rc = vv_of(st[y], c, vv[c]);
                if (rc != MSGLOG_OK)
                    die("conv_info of the sender -> %d", rc);
            }
            jadd(&b, J_BEGIN, x, one ? conv : 0, C_SYNC, 0);
            for (int c = 0; c < N_CONV; c++)
                for (int q = 0; q < N_REP && (!one || c == conv); q++)
                    if (vv[c][q])
                        jadd(&b, J_ALLOW_UPTO, x, c, (uint64_t)q + 1, vv[c][q]);
            jwrite(fd, &b);
            void *req = NULL, *resp = NULL;
            size_t req_n = 0, resp_n = 0;
            const char *cn = one ? conv_names[conv] : NULL;
            rc = msglog_sync_request(st[x], &req, &req_n, cn, cn ? strlen(cn) : 0);
            if (rc != MSGLOG_OK)
                die("sync_request -> %d (%s)", rc, msglog_errmsg(st[x]));
            rc = msglog_sync_response(st[y], &resp, &resp_n, req, req_n);
            if (rc != MSGLOG_OK)
                die("sync_response -> %d (%s)", rc, msglog_errmsg(st[y]));
            rc = msglog_sync_apply(st[x], resp, resp_n);
            msglog_free(req);
            msglog_free(resp);
            for (int c = 0; rc == MSGLOG_OK && c < N_CONV; c++)
                for (int q = 0; q < N_REP && (!one || c == conv); q++)
                    if (vv[c][q])
                        jadd(&b, J_DELIV, x, c, (uint64_t)q + 1, vv[c][q]);
        } else {
            jadd(&b, J_BEGIN, x, 0, C_REOPEN, 0);
            jwrite(fd, &b);
            msglog_close(st[x]);
            st[x] = NULL;
            rc = open_store(&st[x], cx, x);
            if (rc != MSGLOG_OK)
                die("reopen %s -> %d (%s)", x ? "B" : "A", rc, msglog_strerror(rc));
        }
        if (rc != MSGLOG_OK && rc != MSGLOG_EDENIED && rc != MSGLOG_ENOTFOUND)
            die("store %s: call %" PRIu64 " -> %d (%s): %s", x ? "B" : "A", n, rc,
                msglog_strerror(rc), msglog_errmsg(st[x]));
        jadd(&b, J_END, x, 0, 0, 0);
        b.r[b.n - 1].rc = rc;
        jwrite(fd, &b);
    }
}

/* ------------------------------------------------------------------------ */
/* The parent: reading the journal                                           */

typedef struct allow {
    uint32_t type;
    int conv;
    uint64_t replica, seq;
} allow;

typedef struct jstate {
    /* acknowledged, per store */
    uint64_t deliv[2][N_CONV][N_REP];
    unsigned char held3[2][N_CONV][MAX_C + 1];
    /* the last call, when it has no END */
    int in_flight;              /* 0 none, else its kind */
    int if_store;
    allow allows[32];
    int n_allows;
    uint64_t acked, failed;
} jstate;

static void read_journal(const char *path, jstate *js)
{
    memset(js, 0, sizeof *js);
    void *buf = NULL;
    size_t len = 0;
    cr_assert_eq(tmpdir_read_file(path, &buf, &len), 0, "read the journal");
    size_t n = len / sizeof(jrec);     /* a torn last record is not written */
    const jrec *r = buf;
    int kind = 0;
    for (size_t i = 0; i < n; i++) {
        const jrec *e = &r[i];
        cr_assert(e->store < 2 && e->conv < N_CONV, "journal record %zu is garbage", i);
        switch (e->type) {
        case J_BEGIN:
            kind = (int)e->replica;
            cr_assert(kind > 0 && kind < C_KINDS, "journal record %zu: call kind %d", i, kind);
            js->in_flight = kind;
            js->if_store = e->store;
            js->n_allows = 0;
            break;
        case J_ALLOW_OWN:
        case J_ALLOW_ID:
        case J_ALLOW_UPTO:
            if (js->n_allows < 32)
                js->allows[js->n_allows++] = (allow){e->type, e->conv, e->replica, e->seq};
            break;
        case J_DELIV:
            cr_assert(e->replica >= 1 && e->replica <= N_REP);
            if (js->deliv[e->store][e->conv][e->replica - 1] < e->seq)
                js->deliv[e->store][e->conv][e->replica - 1] = e->seq;
            break;
        case J_HELD:
            cr_assert(e->replica == 3 && e->seq <= MAX_C);
            js->held3[e->store][e->conv][e->seq] = 1;
            break;
        case J_END:
            /* counted: the calls that make or take ops */
            if (kind == C_CREATE || kind == C_RECEIVE || kind == C_SYNC) {
                if (e->rc == MSGLOG_OK)
                    js->acked++;
                else
                    js->failed++;
            }
            js->in_flight = 0;
            js->n_allows = 0;
            break;
        default:
            cr_assert_fail("journal record %zu has type %u", i, e->type);
        }
    }
    free(buf);
}

/* ------------------------------------------------------------------------ */
/* The parent: checking a store                                              */

/* What store `log` holds: vectors, and carol's ops found pending. */
static void observe(crash *cx, msglog *log, held *h, const char *sname)
{
    memset(h, 0, sizeof *h);
    for (int c = 0; c < N_CONV; c++) {
        const char *cn = conv_names[c];
        msglog_conv_info *info = NULL;
        int rc = msglog_conv_info_get(log, &info, cn, strlen(cn));
        if (rc == MSGLOG_ENOTFOUND)
            continue;
        cr_assert_eq(rc, MSGLOG_OK, "%s: conv_info -> %d", sname, rc);
        for (size_t i = 0; i < info->n_vv; i++) {
            uint64_t q = info->vv[i].replica;
            cr_assert(q >= 1 && q <= N_REP, "%s %s: vector names replica %" PRIu64,
                      sname, cn, q);
            h->vv[c][q - 1] = info->vv[i].seq;
        }
        h->pending[c] = info->pending;
        msglog_free(info);
        uint64_t found = 0;
        for (uint64_t s = h->vv[c][2] + 1; s <= cx->n_cops[c]; s++) {
            void *p = NULL;
            size_t n = 0;
            rc = msglog_op_bytes(log, &p, &n, cn, strlen(cn), (msglog_id){3, s});
            msglog_free(p);
            if (rc == MSGLOG_OK) {
                h->pend[c][s] = 1;
                found++;
            } else {
                cr_assert_eq(rc, MSGLOG_ENOTFOUND, "%s: op_bytes -> %d", sname, rc);
            }
        }
        /* (d) every pending op is one of carol's: alice's and bob's ops only
         * travel by sync, whole */
        cr_assert_eq(found, h->pending[c], "%s %s: pending count %" PRIu64 " but %" PRIu64
                     " pending ops found", sname, cn, h->pending[c], found);
    }
}

static int held_now(const held *h, int c, uint64_t seq3)
{
    return seq3 <= h->vv[c][2] || h->pend[c][seq3];
}

/* (a) and (b) */
static void check_journal(crash *cx, int x, const held *now, const jstate *js)
{
    const held *prev = &cx->prev[x];
    const char *sname = x ? "B" : "A";
    int in_flight = js->in_flight && js->if_store == x;
    uint64_t n_extra = 0;
    int own_extra = 0;
    for (int c = 0; c < N_CONV; c++) {
        const char *cn = conv_names[c];
        for (int q = 0; q < N_REP; q++) {
            uint64_t base = prev->vv[c][q] > js->deliv[x][c][q] ? prev->vv[c][q]
                                                                : js->deliv[x][c][q];
            cr_assert_geq(now->vv[c][q], prev->vv[c][q], "%s %s: replica %d's ops "
                          "delivered at the last check were lost (%" PRIu64 " -> %" PRIu64
                          ")", sname, cn, q + 1, prev->vv[c][q], now->vv[c][q]);
            cr_assert_geq(now->vv[c][q], js->deliv[x][c][q], "%s %s: acknowledged ops "
                          "of replica %d lost: delivered up to %" PRIu64 ", acknowledged "
                          "up to %" PRIu64, sname, cn, q + 1, now->vv[c][q],
                          js->deliv[x][c][q]);
            /* ops beyond what was held or acknowledged */
            for (uint64_t s = base + 1; s <= now->vv[c][q]; s++) {
                if (q == 2 && (prev->pend[c][s] || js->held3[x][c][s]))
                    continue;   /* held before, now delivered */
                n_extra++;
                int ok = 0;
                for (int i = 0; in_flight && i < js->n_allows && !ok; i++) {
                    const allow *a = &js->allows[i];
                    if (a->conv != c)
                        continue;
                    if (a->type == J_ALLOW_OWN && (int)a->replica == q + 1 && !own_extra)
                        ok = own_extra = 1;
                    else if (a->type == J_ALLOW_ID && q == 2 && a->seq == s)
                        ok = 1;
                    else if (a->type == J_ALLOW_UPTO && (int)a->replica == q + 1 &&
                             s <= a->seq)
                        ok = 1;
                }
                cr_assert(ok, "%s %s: op %d.%" PRIu64 " is delivered but neither held "
                          "before, nor acknowledged, nor made by the call in flight (%s)",
                          sname, cn, q + 1, s,
                          in_flight ? call_name[js->in_flight] : "none");
            }
        }
        for (uint64_t s = 1; s <= cx->n_cops[c]; s++) {
            if (prev->pend[c][s] || js->held3[x][c][s])
                cr_assert(held_now(now, c, s), "%s %s: carol's op %" PRIu64 " was held "
                          "(at the last check or acknowledged) and is gone", sname, cn, s);
            if (now->pend[c][s] && !prev->pend[c][s] && !js->held3[x][c][s] &&
                s > prev->vv[c][2]) {
                n_extra++;
                int ok = 0;
                for (int i = 0; in_flight && i < js->n_allows && !ok; i++)
                    ok = js->allows[i].type == J_ALLOW_ID && js->allows[i].conv == c &&
                         js->allows[i].seq == s;
                cr_assert(ok, "%s %s: carol's op %" PRIu64 " is pending but was not "
                          "received by an acknowledged call or the call in flight",
                          sname, cn, s);
            }
        }
    }
    if (n_extra == 0)
        return;
    /* the call in flight committed: it must have taken effect whole */
    cx->committed_unacked[js->in_flight]++;
    cx->extra_ops += n_extra;
    for (int i = 0; i < js->n_allows; i++) {
        const allow *a = &js->allows[i];
        if (a->type == J_ALLOW_ID)
            cr_assert(held_now(now, a->conv, a->seq), "%s: a batch was committed in "
                      "part: carol's op %" PRIu64 " of %s is missing", sname, a->seq,
                      conv_names[a->conv]);
        else if (a->type == J_ALLOW_UPTO)
            cr_assert_geq(now->vv[a->conv][a->replica - 1], a->seq, "%s: a sync was "
                          "applied in part: %s replica %" PRIu64 " delivered up to %"
                          PRIu64 ", the sender had %" PRIu64, sname,
                          conv_names[a->conv], a->replica,
                          now->vv[a->conv][a->replica - 1], a->seq);
    }
}

typedef struct rop {
    int conv;
    uint64_t replica, seq, hlc;
    void *bytes;
    size_t len;
} rop;

static int rop_cmp(const void *a, const void *b)
{
    const rop *x = a, *y = b;
    if (x->hlc != y->hlc)
        return x->hlc < y->hlc ? -1 : 1;
    if (x->replica != y->replica)
        return x->replica < y->replica ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static rop fetch(msglog *log, int c, uint64_t q, uint64_t s, const char *sname)
{
    const char *cn = conv_names[c];
    rop o = {c, q, s, 0, NULL, 0};
    int rc = msglog_op_bytes(log, &o.bytes, &o.len, cn, strlen(cn), (msglog_id){q, s});
    cr_assert_eq(rc, MSGLOG_OK, "%s %s: op %" PRIu64 ".%" PRIu64 " is covered by the "
                 "vector but its bytes are missing (%d)", sname, cn, q, s, rc);
    op dec;
    rc = codec_op_decode(&dec, o.bytes, o.len);
    cr_assert_eq(rc, CODEC_OK, "%s %s: op %" PRIu64 ".%" PRIu64 " is stored torn: it "
                 "does not decode (%d)", sname, cn, q, s, rc);
    cr_assert(dec.id.replica == q && dec.id.seq == s && dec.conv_len == strlen(cn) &&
              memcmp(dec.conv, cn, dec.conv_len) == 0,
              "%s: the bytes of op %" PRIu64 ".%" PRIu64 " are another op's", sname, q, s);
    o.hlc = dec.hlc;
    codec_op_clear(&dec);
    return o;
}

/* (c): a fresh store fed exactly this store's ops shows exactly its view */
static void check_replay(crash *cx, int x, msglog *log, const held *h)
{
    const char *sname = x ? "B" : "A";
    size_t n = 0, cap = 64;
    rop *ops = malloc(cap * sizeof *ops);
    cr_assert_not_null(ops);
    size_t n_deliv = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int c = 0; c < N_CONV; c++)
            for (int q = 0; q < N_REP; q++) {
                uint64_t lo = pass ? h->vv[c][q] + 1 : 1;
                uint64_t hi = pass ? (q == 2 ? cx->n_cops[c] : 0) : h->vv[c][q];
                for (uint64_t s = lo; s <= hi; s++) {
                    if (pass && !h->pend[c][s])
                        continue;
                    if (n == cap) {
                        cap *= 2;
                        ops = realloc(ops, cap * sizeof *ops);
                        cr_assert_not_null(ops);
                    }
                    ops[n++] = fetch(log, c, (uint64_t)q + 1, s, sname);
                }
            }
        if (pass == 0) {
            n_deliv = n;
            qsort(ops, n, sizeof *ops, rop_cmp);
        }
    }

    char *fdir = tmpdir_join(cx->dir, "replay");
    tmpdir_remove(fdir);
    free(fdir);
    msglog *f = NULL;
    CHECK_OK(tstore_open(&f, cx->dir, "replay", 99, "checker", NULL));
    for (size_t i = 0; i < n; i++) {
        const rop *o = &ops[i];
        const char *cn = conv_names[o->conv];
        int rc = msglog_receive(f, o->bytes, o->len);
        cr_assert_eq(rc, MSGLOG_OK, "%s: replaying op %" PRIu64 ".%" PRIu64 " of %s -> "
                     "%d (%s)", sname, o->replica, o->seq, cn, rc, msglog_errmsg(f));
        uint64_t vv[N_REP];
        CHECK_OK(vv_of(f, o->conv, vv));
        if (i < n_deliv)
            cr_assert_geq(vv[o->replica - 1], o->seq, "%s %s: op %" PRIu64 ".%" PRIu64
                          " is delivered in the store but, replayed in causal order, it "
                          "waits for a dependency the store does not have", sname, cn,
                          o->replica, o->seq);
        else
            cr_assert_lt(vv[o->replica - 1], o->seq, "%s %s: op %" PRIu64 ".%" PRIu64
                         " is pending in the store but ready on replay", sname, cn,
                         o->replica, o->seq);
        free(o->bytes);
    }
    cx->replayed_ops += n;
    free(ops);

    char *mine = check_snapshot(log), *theirs = check_snapshot(f);
    char diff[8192];
    if (dump_diff(diff, sizeof diff, mine, theirs)) {
        free(mine);
        free(theirs);
        cr_assert_fail("%s (epoch %d, round %d): the state is not the replay of its "
                       "ops (< store, > replay): %s", sname, cx->epoch, cx->round, diff);
    }
    free(mine);
    free(theirs);
    msglog_close(f);
}

/* Opens store x (it must open), checks it against the journal (unless
 * js is NULL: the epoch's start) and its replay, and remembers it. */
static void check_store(crash *cx, int x, const jstate *js)
{
    msglog *log = NULL;
    int rc = open_store(&log, cx, x);
    cr_assert_eq(rc, MSGLOG_OK, "store %s did not open after the kill (epoch %d, round "
                 "%d, seed %" PRIu64 "): %d (%s)", x ? "B" : "A", cx->epoch, cx->round,
                 cx->seed, rc, msglog_open_errmsg());
    if (js != NULL)
        cx->opens++;
    check_whole(log, "a store after a kill");   /* a kill never damages a record */
    held now;
    observe(cx, log, &now, x ? "B" : "A");
    if (js != NULL)
        check_journal(cx, x, &now, js);
    check_replay(cx, x, log, &now);
    cx->prev[x] = now;
    msglog_close(log);
}

/* ------------------------------------------------------------------------ */
/* Epochs and rounds                                                         */

static void free_cops(crash *cx)
{
    for (int c = 0; c < N_CONV; c++) {
        for (uint64_t s = 1; s <= cx->n_cops[c]; s++)
            msglog_free(cx->cops[c][s].bytes);
        cx->n_cops[c] = 0;
    }
}

/* New stores: A with a few messages; carol (C) builds on them, and her ops
 * are kept as bytes for the writer to receive. */
static void new_epoch(crash *cx)
{
    if (cx->dir != NULL) {
        tmpdir_remove(cx->dir);
        free(cx->dir);
    }
    free_cops(cx);
    char name[32];
    snprintf(name, sizeof name, "e%d", cx->epoch);
    cx->dir = tmpdir_join(cx->root, name);
    cr_assert_eq(mkdir(cx->dir, 0700), 0);
    rng r;
    rng_seed(&r, cx->seed ^ ((uint64_t)(cx->epoch + 1) << 40));
    msglog *a, *c;
    CHECK_OK(open_store(&a, cx, 0));
    CHECK_OK(tstore_open(&c, cx->dir, "C", 3, "carol", NULL));
    msglog_id id;
    for (int k = 0; k < 4; k++)
        CHECK_OK(random_create(a, &r, "alice", k % N_CONV, (uint64_t)k, &id));
    check_sync(a, c, NULL, 0);
    for (int k = 0; k < 40; k++) {
        int conv = (int)rng_below(&r, N_CONV);
        int rc = random_create(c, &r, "carol", conv, (uint64_t)k, &id);
        cr_assert(rc == MSGLOG_OK || rc == MSGLOG_EDENIED, "carol: %d", rc);
    }
    for (int cv = 0; cv < N_CONV; cv++) {
        uint64_t vv[N_REP];
        CHECK_OK(vv_of(c, cv, vv));
        cr_assert_leq(vv[2], MAX_C);
        cx->n_cops[cv] = vv[2];
        for (uint64_t s = 1; s <= vv[2]; s++)
            CHECK_OK(msglog_op_bytes(c, &cx->cops[cv][s].bytes, &cx->cops[cv][s].len,
                                     conv_names[cv], strlen(conv_names[cv]),
                                     (msglog_id){3, s}));
    }
    msglog_close(a);
    msglog_close(c);
    memset(cx->prev, 0, sizeof cx->prev);
    /* B is made by the writer (or by the first check, when the writer is
     * killed before it gets there) */
    check_store(cx, 0, NULL);
}

static double now_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void one_round(crash *cx, rng *r)
{
    char *jpath = tmpdir_join(cx->dir, "journal");
    int fd = open(jpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    cr_assert_geq(fd, 0, "journal: %s", strerror(errno));
    uint64_t sleep_us = rng_below(r, MAX_SLEEP_US + 1);
    /* one round in four times the kill from the fork, so it often lands in
     * the writer's opening of its stores (and B's creation); the others from
     * when the writer has opened them */
    int from_fork = rng_chance(r, 25);
    int pp[2];
    cr_assert_eq(pipe(pp), 0);

    /* no handle of the parent is open here: LMDB must not cross fork() */
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(pp[0]);
        writer(cx, fd, pp[1]);
    }
    close(fd);
    close(pp[1]);
    if (!from_fork) {
        char c;
        while (read(pp[0], &c, 1) < 0 && errno == EINTR)
            ;
    }
    close(pp[0]);
    struct timespec ts = {(time_t)(sleep_us / 1000000), (long)(sleep_us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    cx->sleep_secs += (double)sleep_us / 1e6;
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "the writer was not killed but ended by itself (status 0x%x): see its "
              "message above (epoch %d, round %d, seed %" PRIu64 ")", status, cx->epoch,
              cx->round, cx->seed);
    cx->kills++;

    double t0 = now_secs();
    jstate js;
    read_journal(jpath, &js);
    free(jpath);
    cx->acked_calls += js.acked;
    cx->failed_calls += js.failed;
    if (js.in_flight)
        cx->in_flight[js.in_flight]++;
    else
        cx->idle_kills++;
    for (int x = 0; x < 2; x++)
        check_store(cx, x, &js);
    cx->check_secs += now_secs() - t0;
}

static uint64_t env_u64(const char *name, int *set)
{
    const char *v = getenv(name);
    *set = v != NULL && *v != '\0';
    return *set ? strtoull(v, NULL, 0) : 0;
}

static crash cx;   /* large: not on the stack */

static void setup(void)
{
    memset(&cx, 0, sizeof cx);
    cx.root = tmpdir_make_fast("msglog-crash-");
    cr_assert_not_null(cx.root);
}

static void teardown(void)
{
    free_cops(&cx);
    if (cx.root != NULL)
        tmpdir_remove(cx.root);
    free(cx.root);
    free(cx.dir);
}

TestSuite(crash, .init = setup, .fini = teardown);

Test(crash, sigkill_writer_then_reopen, .timeout = 7200)
{
    int set_seed, set_kills;
    cx.seed = env_u64("MSGLOG_SEED", &set_seed);
    uint64_t kills = env_u64("MSGLOG_KILLS", &set_kills);
    if (!set_kills)
        kills = 5;
    if (!set_seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        cx.seed = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^
                  ((uint64_t)getpid() << 32);
    }
    fprintf(stderr, "crash: seed %" PRIu64 " (MSGLOG_SEED), %" PRIu64 " kills "
            "(MSGLOG_KILLS)\n", cx.seed, kills);
    rng r;
    rng_seed(&r, cx.seed);
    double t0 = now_secs();
    for (uint64_t k = 0; k < kills; k++) {
        cx.round = (int)k;
        if (k % EPOCH == 0) {
            cx.epoch = (int)(k / EPOCH);
            new_epoch(&cx);
        }
        one_round(&cx, &r);
    }
    double total = now_secs() - t0;
    fprintf(stderr, "crash: %" PRIu64 " kills in %.1f s (%.1f s asleep before the "
            "kills, %.1f s checking); %" PRIu64 " opens after a kill, all succeeded\n",
            cx.kills, total, cx.sleep_secs, cx.check_secs, cx.opens);
    fprintf(stderr, "crash: %" PRIu64 " create/receive/sync calls acknowledged (%" PRIu64
            " refused by the rules), 0 lost; %" PRIu64 " ops replayed, all states equal to their "
            "replay\n", cx.acked_calls, cx.failed_calls, cx.replayed_ops);
    fprintf(stderr, "crash: killed between calls %" PRIu64 "; inside a call: open at "
            "start %" PRIu64 ", create %" PRIu64 ", receive %" PRIu64 ", sync %" PRIu64
            ", reopen %" PRIu64 "\n", cx.idle_kills, cx.in_flight[C_OPEN],
            cx.in_flight[C_CREATE], cx.in_flight[C_RECEIVE], cx.in_flight[C_SYNC],
            cx.in_flight[C_REOPEN]);
    fprintf(stderr, "crash: calls committed but killed before their acknowledgement "
            "(whole, %" PRIu64 " ops): create %" PRIu64 ", receive %" PRIu64 ", sync %"
            PRIu64 "\n", cx.extra_ops, cx.committed_unacked[C_CREATE],
            cx.committed_unacked[C_RECEIVE], cx.committed_unacked[C_SYNC]);
}
