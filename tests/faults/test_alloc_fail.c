/*
 * Allocation failure injection, in the manner of SQLite's malloc tests.
 *
 * This executable defines malloc, calloc and realloc itself (forwarding to
 * glibc's __libc_malloc / __libc_calloc / __libc_realloc), so every
 * allocation of the process goes through them: msglog's own, and those of
 * liblmdb, libmsgpackc and libxxhash, which resolve malloc through the global
 * symbol. The interposition is inert unless a test arms it, and only counts
 * allocations of the thread that armed it.
 *
 * For each public operation (open of an existing and of a new store, every
 * create call, receive and receive_batch with pending ops, sync request /
 * response / apply, the read calls, and the session op stream of
 * sync/stream.h) and for N = 1, 2, 3, ... until the
 * call runs without reaching its N-th allocation, in three modes:
 *
 *   once       only the N-th allocation fails; the pristine stores are put
 *              back and reopened before every N, so N walks every
 *              allocation of a cold call exactly once (checked: the loop
 *              runs once per allocation of the reference call, plus one);
 *   once-kept  the same on the handles kept open across failed calls;
 *   forever    the N-th allocation and every later one fail (kept handles).
 *
 * After every call that met a failure:
 *   - it returned a negative code (the codes are counted and printed), the
 *     whole view of both stores of the fixture (tests/support/dump.h) is
 *     exactly what it was before, and no output pointer was handed out;
 *   - or it returned MSGLOG_OK (the failure was absorbed), and then its
 *     result and the stores are exactly those of a run without failures.
 * In the kept modes the next N runs on the same handle, so a failed call
 * must also leave the handle fit for use (a writer lock left held would hang
 * the next write). After the loop the call succeeds with the reference
 * result and the reference store.
 *
 * Leaks: run this binary under valgrind with
 *   --soname-synonyms=somalloc=nouserintercepts --trace-children=yes
 *   --leak-check=full
 * (without the first option valgrind replaces this file's malloc too, and
 * nothing is injected: interposition_is_live then fails). The interposition
 * forwards to glibc's __libc_* entry points, which valgrind does replace, so
 * every allocation is tracked. See tests/RESULTS-crash-faults.md.
 *
 *   MSGLOG_ALLOC_VERBOSE=1   print every N and its return code
 *   MSGLOG_ALLOC_BT=1        print the call stack of each injected failure
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <execinfo.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/op_codec.h"
#include "crdt/digest.h"
#include "crdt/equivocation.h"
#include "engine/engine.h"
#include "msglog.h"
#include "support/check.h"
#include "support/dump.h"
#include "support/tmpdir.h"
#include "support/tstore.h"
#include "sync/stream.h"

/* ------------------------------------------------------------------------ */
/* The interposition                                                         */

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static __thread struct {
    int armed;
    int forever;
    uint64_t fail_at;   /* 1-based index of the first allocation to fail */
    uint64_t calls;     /* allocations seen while armed */
    uint64_t hits;      /* allocations made to fail */
} inj;

static int inj_backtrace(void)
{
    static int want = -1;
    if (want < 0) {
        const char *v = getenv("MSGLOG_ALLOC_BT");
        want = v != NULL && *v && *v != '0';
    }
    return want;
}

static int inj_fail_now(void)
{
    if (!inj.armed)
        return 0;
    uint64_t k = ++inj.calls;
    if (k == inj.fail_at || (inj.forever && k > inj.fail_at)) {
        inj.hits++;
        if (inj.hits == 1 && inj_backtrace()) {
            /* where the first failure is injected (backtrace() may
             * allocate: disarmed meanwhile) */
            void *frames[32];
            inj.armed = 0;
            int n = backtrace(frames, 32);
            fprintf(stderr, "--- allocation %" PRIu64 " fails:\n", k);
            backtrace_symbols_fd(frames, n, 2);
            inj.armed = 1;
        }
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *malloc(size_t n)
{
    return inj_fail_now() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    return inj_fail_now() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    return inj_fail_now() ? NULL : __libc_realloc(p, n);
}

/* Sets up the next armed call: fail_at 0 never fails (counts only). */
static void inj_setup(uint64_t fail_at, int forever)
{
    inj.armed = 0;
    inj.forever = forever;
    inj.fail_at = fail_at;
    inj.calls = 0;
    inj.hits = 0;
}

#define ARM() (inj.armed = 1)
#define DISARM() (inj.armed = 0)

/* ------------------------------------------------------------------------ */
/* The fixture: stores A (alice, replica 1) and B (bob, replica 2) with
 * conversations, edits, reactions, read markers, a deleted message and ops
 * pending in A; plus op bytes A has not seen yet.                            */

#define T0 1700000000000ULL

static char *root;          /* the test's directory */
static char *pristine;      /* root/pristine: A and B as built */
static char *work;          /* root/work: the stores the calls run on */

typedef struct world {
    msglog *a, *b;
    tclock ca, cb;
} world;

/* Op bytes built with the fixture. */
static struct {
    msglog_id m1, m2, m3, b1, b2, c1_1;
    void *carol1;            /* carol's first op of c1: wakes her pending ops */
    size_t carol1_n;
    uint8_t *fake_m1;        /* alice's m1 with another body that counts: an equivocation */
    size_t fake_m1_n;
    uint8_t *kept_m1;        /* ... with another body that does not count */
    size_t kept_m1_n;
    msglog_buf batch[8];     /* for receive_batch: see build_fixture */
    size_t n_batch;
} fx;

static msglog_id send_msg(msglog *log, const char *conv, const char *body)
{
    msglog_id id;
    CHECK_OK(msglog_send(log, &id, conv, strlen(conv), body, strlen(body)));
    return id;
}

static void *op_copy(msglog *log, const char *conv, msglog_id id, size_t *n)
{
    void *p = NULL;
    CHECK_OK(msglog_op_bytes(log, &p, n, conv, strlen(conv), id));
    return p;
}

/* Op `id` of c1 as `log` holds it, with another body: what a replica
 * restored from an old backup sends when it reuses the id. */
/* Op `id` with the body "<body> <k>", for the first k that makes the
 * version count over the real one (`counts`) or not: what happens next
 * differs (the first rebuilds what the versions touch). */
static uint8_t *other_version(msglog *log, msglog_id id, const char *body, int counts, size_t *n)
{
    size_t len;
    void *real = op_copy(log, "c1", id, &len);
    op o;
    cr_assert_eq(codec_op_decode(&o, real, len), CODEC_OK);
    cr_assert(!o.erased, "fixture: the op must still have its text");
    uint8_t real_hash[16], hash[16];
    digest_to_bytes(real_hash, digest_op_content(&o));
    static char text[64];
    for (int k = 0;; k++) {
        snprintf(text, sizeof text, "%s %d", body, k);
        o.body = (const uint8_t *)text;
        o.body_len = strlen(text);
        digest_to_bytes(hash, digest_op_content(&o));
        if (version_counts_over(hash, real_hash) == counts)
            break;
    }
    uint8_t *fake = NULL;
    cr_assert_eq(codec_op_encode(&fake, n, &o, 0), CODEC_OK);
    codec_op_clear(&o);
    msglog_free(real);
    return fake;
}

static void build_fixture(void)
{
    msglog *a, *b, *c;
    tclock ca = {T0, 0}, cb = {T0 + 5, 0}, cc = {T0 + 7, 0};
    CHECK_OK(tstore_open(&a, pristine, "A", 1, "alice", &ca));
    CHECK_OK(tstore_open(&b, pristine, "B", 2, "bob", &cb));
    CHECK_OK(tstore_open(&c, pristine, "C", 3, "carol", &cc));
    msglog_id id;

    /* alice: three messages, an edit, a reaction, a read marker */
    fx.m1 = send_msg(a, "c1", "hello from alice");
    ca.now += 10;
    fx.m2 = send_msg(a, "c1", "second message");
    fx.m3 = send_msg(a, "c1", "third, to be deleted by a create");
    CHECK_OK(msglog_edit(a, &id, "c1", 2, fx.m1, "hello (edited)", 14));
    CHECK_OK(msglog_react(a, &id, "c1", 2, fx.m1, "+1", 2));
    CHECK_OK(msglog_mark_read(a, &id, "c1", 2, fx.m2));
    send_msg(a, "c2", "other conversation");

    /* bob pulls, answers, reacts; alice pulls that */
    check_sync(a, b, NULL, 0);
    cb.now += 20;
    fx.b1 = send_msg(b, "c1", "bob says hi");
    fx.b2 = send_msg(b, "c1", "bob's second");
    CHECK_OK(msglog_react(b, &id, "c1", 2, fx.m1, "heart", 5));
    CHECK_OK(msglog_delete(a, &id, "c1", 2, fx.m2)); /* alice deletes m2 */
    check_sync(b, a, NULL, 0);

    /* carol: four ops of c1 after seeing everything; alice gets 2..4 only,
     * so they wait for 1 */
    check_sync(a, c, NULL, 0);
    cc.now += 30;
    fx.c1_1 = send_msg(c, "c1", "carol one");
    msglog_id c2 = send_msg(c, "c1", "carol two");
    CHECK_OK(msglog_edit(c, &id, "c1", 2, fx.c1_1, "carol one (edited)", 18));
    CHECK_OK(msglog_react(c, &id, "c1", 2, c2, "+1", 2));
    for (uint64_t s = 2; s <= 4; s++)
        check_forward(c, a, "c1", 2, (msglog_id){3, s});
    fx.carol1 = op_copy(c, "c1", fx.c1_1, &fx.carol1_n);
    fx.fake_m1 = other_version(a, fx.m1, "a second version of m1", 1, &fx.fake_m1_n);
    fx.kept_m1 = other_version(a, fx.m1, "a third version of m1", 0, &fx.kept_m1_n);

    /* bob goes on (none of this is in A): an edit, a delete of a message
     * with an edit, a react, a new conversation; the batch for A holds
     * them with carol's first op (which wakes her three pending ops) and
     * carol's later ops 6..7 (which go pending: 5 is left out). */
    cb.now += 40;
    CHECK_OK(msglog_edit(b, &id, "c1", 2, fx.b1, "bob says hi (edited)", 20));
    msglog_id e1 = id;
    CHECK_OK(msglog_edit(b, &id, "c1", 2, fx.b2, "bob's second, edited", 20));
    CHECK_OK(msglog_delete(b, &id, "c1", 2, fx.b2));
    msglog_id d1 = id;
    CHECK_OK(msglog_react(b, &id, "c1", 2, fx.m3, "+1", 2));
    msglog_id r1 = id;
    msglog_id n1 = send_msg(b, "c3", "a new conversation");
    cc.now += 50;
    msglog_id c5 = send_msg(c, "c1", "carol five (left out)");
    msglog_id c6 = send_msg(c, "c1", "carol six");
    CHECK_OK(msglog_react(c, &id, "c1", 2, c6, "heart", 5));
    msglog_id c7 = id;
    (void)c5;
    size_t k = 0, n;
    void *p;
    p = op_copy(c, "c1", c7, &n); fx.batch[k++] = (msglog_buf){p, n};
    p = op_copy(b, "c1", d1, &n); fx.batch[k++] = (msglog_buf){p, n};
    p = op_copy(b, "c3", n1, &n); fx.batch[k++] = (msglog_buf){p, n};
    p = op_copy(c, "c1", fx.c1_1, &n); fx.batch[k++] = (msglog_buf){p, n};
    p = op_copy(b, "c1", e1, &n); fx.batch[k++] = (msglog_buf){p, n};
    p = op_copy(c, "c1", c6, &n); fx.batch[k++] = (msglog_buf){p, n};
    p = op_copy(b, "c1", r1, &n); fx.batch[k++] = (msglog_buf){p, n};
    /* bob's edit of b2 was replaced by the delete: the delete needs it */
    p = op_copy(b, "c1", (msglog_id){2, e1.seq + 1}, &n); fx.batch[k++] = (msglog_buf){p, n};
    fx.n_batch = k;

    /* A must hold pending ops now */
    msglog_conv_info *info = check_info(a, "c1", 2);
    cr_assert_eq(info->pending, 3, "fixture: carol's ops pending in A");
    msglog_free(info);
    msglog_close(a);
    msglog_close(b);
    msglog_close(c);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char *from = tmpdir_join(from_dir, name), *to = tmpdir_join(to_dir, name);
    void *buf;
    size_t len;
    cr_assert_eq(tmpdir_read_file(from, &buf, &len), 0, "read %s", from);
    mkdir(to_dir, 0700);
    FILE *f = fopen(to, "wb");
    cr_assert_not_null(f, "write %s", to);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    free(buf);
    free(from);
    free(to);
}

static void world_close(world *w)
{
    msglog_close(w->a);
    msglog_close(w->b);
    w->a = w->b = NULL;
}

/* Puts the pristine stores in place and opens them, clocks reset. */
static void world_restore(world *w)
{
    world_close(w);
    const char *names[] = {"A", "B"};
    for (int i = 0; i < 2; i++) {
        char *from = tmpdir_join(pristine, names[i]);
        char *to = tmpdir_join(work, names[i]);
        tmpdir_remove(to);
        copy_file(from, to, "data.mdb");
        free(from);
        free(to);
    }
    w->ca = (tclock){T0 + 100000, 0};
    w->cb = (tclock){T0 + 100000, 0};
    CHECK_OK(tstore_open(&w->a, work, "A", 1, "alice", &w->ca));
    CHECK_OK(tstore_open(&w->b, work, "B", 2, "bob", &w->cb));
}

/* The whole view of both stores. */
static char *world_dump(world *w)
{
    char *a = check_snapshot(w->a), *b = check_snapshot(w->b);
    size_t n = strlen(a) + strlen(b) + 16;
    char *s = malloc(n);
    cr_assert_not_null(s);
    snprintf(s, n, "[A]\n%s[B]\n%s", a, b);
    free(a);
    free(b);
    return s;
}

static void setup(void)
{
    root = tmpdir_make_fast("msglog-allocfail-");
    cr_assert_not_null(root);
    pristine = tmpdir_join(root, "pristine");
    work = tmpdir_join(root, "work");
    mkdir(pristine, 0700);
    mkdir(work, 0700);
    build_fixture();
}

static void teardown(void)
{
    free(fx.carol1);
    free(fx.fake_m1);
    free(fx.kept_m1);
    for (size_t i = 0; i < fx.n_batch; i++)
        free((void *)fx.batch[i].data);
    tmpdir_remove(root);
    free(root);
    free(pristine);
    free(work);
}

TestSuite(alloc_fail, .init = setup, .fini = teardown, .timeout = 300);

/* ------------------------------------------------------------------------ */
/* Operations: each prepares (disarmed), runs exactly one library call
 * armed, and describes its result (disarmed) in *res (malloc'd) when the
 * call succeeded. `handed_out` is set when the call left an output pointer
 * non-NULL although it failed.                                               */

typedef struct opres {
    char *res;
    int handed_out;
} opres;

typedef int (*op_fn)(world *w, opres *r);

static char *hexdup(const void *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    cr_assert_not_null(s);
    for (size_t i = 0; i < n; i++)
        sprintf(s + 2 * i, "%02x", ((const unsigned char *)p)[i]);
    s[2 * n] = '\0';
    return s;
}

static char *id_text(msglog_id id)
{
    char *s = malloc(48);
    cr_assert_not_null(s);
    snprintf(s, 48, "id %" PRIu64 ".%" PRIu64, id.replica, id.seq);
    return s;
}

#define CREATE_OP(fname, call)                                                \
    static int fname(world *w, opres *r)                                      \
    {                                                                         \
        msglog_id id = {0, 0};                                                \
        ARM();                                                                \
        int rc = (call);                                                      \
        DISARM();                                                             \
        if (rc == MSGLOG_OK)                                                  \
            r->res = id_text(id);                                             \
        return rc;                                                            \
    }

CREATE_OP(op_send, msglog_send(w->a, &id, "c1", 2, "a new message", 13))
CREATE_OP(op_send_newconv, msglog_send(w->a, &id, "c9", 2, "first of c9", 11))
CREATE_OP(op_edit, msglog_edit(w->a, &id, "c1", 2, fx.m1, "edited again", 12))
CREATE_OP(op_delete, msglog_delete(w->a, &id, "c1", 2, fx.m3))
CREATE_OP(op_react, msglog_react(w->a, &id, "c1", 2, fx.b1, "+1", 2))
CREATE_OP(op_unreact, msglog_unreact(w->a, &id, "c1", 2, fx.m1, "+1", 2))
CREATE_OP(op_mark_read, msglog_mark_read(w->a, &id, "c1", 2, fx.b1))

/* A write batch: a send into a new conversation, an edit and a delete, in
 * one commit. */
static int op_write_batch(world *w, opres *r)
{
    msglog_write e[] = { { MSGLOG_WRITE_SEND, "c9", 2, { 0, 0 }, "batched", 7 },
                         { MSGLOG_WRITE_EDIT, "c1", 2, fx.m1, "edited in a batch", 17 },
                         { MSGLOG_WRITE_DELETE, "c1", 2, fx.m3, NULL, 0 } };
    msglog_id ids[3] = { { 0, 0 } };
    ARM();
    int rc = msglog_write_batch(w->a, ids, e, 3, NULL);
    DISARM();
    if (rc == MSGLOG_OK)
        r->res = id_text(ids[2]);
    return rc;
}

static int op_receive(world *w, opres *r)
{
    ARM();
    int rc = msglog_receive(w->a, fx.carol1, fx.carol1_n);
    DISARM();
    if (rc == MSGLOG_OK)
        r->res = strdup("received");
    return rc;
}

static int op_receive_batch(world *w, opres *r)
{
    ARM();
    int rc = msglog_receive_batch(w->a, fx.batch, fx.n_batch);
    DISARM();
    if (rc == MSGLOG_OK)
        r->res = strdup("received");
    return rc;
}

/* An equivocation: the version kept as evidence, and, when it counts, the
 * message it replaces rebuilt from its ops (edits, reactions) and every
 * read marker with it, in a conversation with a delete and pending ops. */
static int receive_version(world *w, opres *r, const uint8_t *version, size_t n)
{
    ARM();
    int rc = msglog_receive(w->a, version, n);
    DISARM();
    if (rc != MSGLOG_EEQUIVOCAL)
        return rc == MSGLOG_OK ? MSGLOG_EINVAL : rc;
    r->res = strdup("kept as evidence");
    return MSGLOG_OK;
}

static int op_receive_equivocal(world *w, opres *r)
{
    return receive_version(w, r, fx.fake_m1, fx.fake_m1_n);
}

static int op_receive_equivocal_kept(world *w, opres *r)
{
    return receive_version(w, r, fx.kept_m1, fx.kept_m1_n);
}

static int op_sync_request(world *w, opres *r)
{
    void *out = NULL;
    size_t n = 0;
    ARM();
    int rc = msglog_sync_request(w->a, &out, &n, NULL, 0);
    DISARM();
    if (rc == MSGLOG_OK)
        r->res = hexdup(out, n);
    else
        r->handed_out = out != NULL;
    msglog_free(out);
    return rc;
}

static int op_sync_request_conv(world *w, opres *r)
{
    void *out = NULL;
    size_t n = 0;
    ARM();
    int rc = msglog_sync_request(w->a, &out, &n, "c1", 2);
    DISARM();
    if (rc == MSGLOG_OK)
        r->res = hexdup(out, n);
    else
        r->handed_out = out != NULL;
    msglog_free(out);
    return rc;
}

/* bob answers alice's request (alice's request made disarmed) */
static int op_sync_response(world *w, opres *r)
{
    void *req = NULL, *out = NULL;
    size_t req_n = 0, n = 0;
    CHECK_OK(msglog_sync_request(w->a, &req, &req_n, NULL, 0));
    ARM();
    int rc = msglog_sync_response(w->b, &out, &n, req, req_n);
    DISARM();
    if (rc == MSGLOG_OK)
        r->res = hexdup(out, n);
    else
        r->handed_out = out != NULL;
    msglog_free(out);
    msglog_free(req);
    return rc;
}

static int op_sync_apply(world *w, opres *r)
{
    void *req = NULL, *resp = NULL;
    size_t req_n = 0, resp_n = 0;
    CHECK_OK(msglog_sync_request(w->a, &req, &req_n, NULL, 0));
    CHECK_OK(msglog_sync_response(w->b, &resp, &resp_n, req, req_n));
    ARM();
    int rc = msglog_sync_apply(w->a, resp, resp_n);
    DISARM();
    if (rc == MSGLOG_OK)
        r->res = strdup("applied");
    msglog_free(req);
    msglog_free(resp);
    return rc;
}

/* The session op stream (sync/stream.h) of all of c1 from alice to a peer
 * that holds nothing, in batches of at most 64 op bytes, every call armed:
 * the encodings it returns, in order. */
static int op_stream(world *w, opres *r)
{
    store_txn *t;
    CHECK_OK(store_txn_begin(w->a->st, 0, &t));
    stream *s = NULL;
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    text[0] = '\0';
    ARM();
    int rc = stream_open(&s, (const uint8_t *)"c1", 2, NULL, 0, 64, 4096);
    stream_batch b = { 0 };
    while (!rc && !b.drained) {
        rc = stream_next(s, t, &b);
        DISARM();
        for (size_t i = 0; !rc && i < b.n; i++) {
            char *hex = hexdup(b.ops[i].data, b.ops[i].len);
            size_t n = strlen(hex);
            cr_assert_lt(len + n + 2, cap);
            memcpy(text + len, hex, n);
            len += n;
            text[len++] = '\n';
            text[len] = '\0';
            free(hex);
        }
        ARM();
    }
    stream_close(s);
    DISARM();
    store_txn_abort(t);
    if (rc == MSGLOG_OK)
        r->res = text;
    else
        free(text);
    return rc;
}

static char *page_text(const msglog_page *p)
{
    size_t cap = 64, len = 0;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    len = (size_t)snprintf(s, cap, "n=%zu\n", p->n);
    for (size_t i = 0; i < p->n; i++) {
        char *m = dump_message(&p->messages[i]);
        cr_assert_not_null(m);
        size_t ml = strlen(m);
        if (len + ml + 2 > cap) {
            cap = 2 * (len + ml + 2);
            s = realloc(s, cap);
            cr_assert_not_null(s);
        }
        memcpy(s + len, m, ml);
        len += ml;
        s[len++] = '\n';
        s[len] = '\0';
        free(m);
    }
    return s;
}

static int op_messages(world *w, opres *r)
{
    msglog_page *p = NULL;
    msglog_cursor from = {1, 0, {0, 0}};
    ARM();
    int rc = msglog_messages(w->a, &p, "c1", 2, MSGLOG_FORWARD, from, 100);
    DISARM();
    if (rc == MSGLOG_OK)
        r->res = page_text(p);
    else
        r->handed_out = p != NULL;
    msglog_free(p);
    return rc;
}

static int op_message_get(world *w, opres *r)
{
    msglog_page *p = NULL;
    ARM();
    int rc = msglog_message_get(w->a, &p, "c1", 2, fx.m1);
    DISARM();
    if (rc == MSGLOG_OK)
        r->res = page_text(p);
    else
        r->handed_out = p != NULL;
    msglog_free(p);
    return rc;
}

static int op_conv_info(world *w, opres *r)
{
    msglog_conv_info *info = NULL;
    ARM();
    int rc = msglog_conv_info_get(w->a, &info, "c1", 2);
    DISARM();
    if (rc == MSGLOG_OK) {
        r->res = dump_format("c1", 2, info, NULL, 0);
        cr_assert_not_null(r->res);
    } else {
        r->handed_out = info != NULL;
    }
    msglog_free(info);
    return rc;
}

static int op_conversations(world *w, opres *r)
{
    msglog_str *convs = NULL;
    size_t n = 0;
    ARM();
    int rc = msglog_conversations(w->a, &convs, &n);
    DISARM();
    if (rc == MSGLOG_OK) {
        char buf[1024] = "";
        for (size_t i = 0; i < n; i++) {
            dump_quote(buf, sizeof buf, convs[i].data, convs[i].len);
            strncat(buf, "\n", sizeof buf - strlen(buf) - 1);
        }
        r->res = strdup(buf);
    } else {
        r->handed_out = convs != NULL;
    }
    msglog_free(convs);
    return rc;
}

static int op_op_bytes(world *w, opres *r)
{
    void *out = NULL;
    size_t n = 0;
    ARM();
    /* one of carol's pending ops: read from the pending table */
    int rc = msglog_op_bytes(w->a, &out, &n, "c1", 2, (msglog_id){3, 3});
    DISARM();
    if (rc == MSGLOG_OK)
        r->res = hexdup(out, n);
    else
        r->handed_out = out != NULL;
    msglog_free(out);
    return rc;
}

/* Opens A again (closing it first, disarmed). On failure A is reopened
 * disarmed, so the driver can look at it. */
static int op_open_existing(world *w, opres *r)
{
    msglog_close(w->a);
    w->a = NULL;
    char *path = tmpdir_join(work, "A");
    msglog_options o = MSGLOG_OPTIONS_INIT;
    o.map_size = TSTORE_MAP_SIZE;
    o.clock = tclock_read;
    o.clock_ctx = &w->ca;
    msglog *log = (msglog *)(uintptr_t)1;
    ARM();
    int rc = msglog_open(&log, path, 1, "alice", 5, &o);
    DISARM();
    if (rc == MSGLOG_OK) {
        w->a = log;
        r->res = strdup("opened");
    } else {
        r->handed_out = log != NULL;
        CHECK_OK(msglog_open(&w->a, path, 1, "alice", 5, &o));
    }
    free(path);
    return rc;
}

/* Creates a new store N. After a failure the directory may exist; a later
 * open must then succeed and give an empty, valid store. */
static int op_open_new(world *w, opres *r)
{
    (void)w;
    char *path = tmpdir_join(work, "N");
    tmpdir_remove(path);
    msglog_options o = MSGLOG_OPTIONS_INIT;
    o.map_size = TSTORE_MAP_SIZE;
    msglog *log = (msglog *)(uintptr_t)1;
    ARM();
    int rc = msglog_open(&log, path, 7, "nina", 4, &o);
    DISARM();
    if (rc != MSGLOG_OK) {
        r->handed_out = log != NULL;
        CHECK_OK(msglog_open(&log, path, 7, "nina", 4, &o));
    }
    /* a valid empty store, with its identity */
    msglog_str *convs = NULL;
    size_t n = 99;
    CHECK_OK(msglog_conversations(log, &convs, &n));
    cr_assert_eq(n, 0);
    msglog_free(convs);
    msglog_id id;
    CHECK_OK(msglog_send(log, &id, "x", 1, "y", 1));
    cr_assert_eq(id.replica, 7);
    msglog_close(log);
    log = NULL;
    cr_assert_eq(msglog_open(&log, path, 8, "nina", 4, &o), MSGLOG_EMISMATCH,
                 "a store created after a failed open has its identity");
    msglog_close(log);
    tmpdir_remove(path);
    free(path);
    if (rc == MSGLOG_OK)
        r->res = strdup("created");
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The driver                                                                */

static int verbose(void)
{
    const char *v = getenv("MSGLOG_ALLOC_VERBOSE");
    return v != NULL && *v && *v != '0';
}

#define MAX_N 100000

typedef struct mode_stats {
    uint64_t runs;          /* calls made (N = 1 .. last) */
    uint64_t failed;        /* calls that met a failure and returned an error */
    uint64_t absorbed;      /* calls that met a failure and still succeeded */
    uint64_t codes[16];     /* by -rc */
} mode_stats;

enum { ONCE_FRESH, ONCE_KEPT, FOREVER_KEPT };
static const char *const mode_name[] = {"once", "once-kept", "forever"};

/*
 * One mode: N = 1, 2, ... until the call does not reach its N-th allocation.
 * ONCE_FRESH puts the pristine stores back and reopens them before every N,
 * so each N fails the same allocation site as the N-th allocation of a cold
 * call; the other modes keep the handles across failed calls (LMDB caches
 * pages, so there the N-th allocation moves) and so also check that a
 * failed call leaves the handle fit for the next one.
 */
static void run_mode(const char *name, op_fn fn, world *w, int mode,
                     const char *before, const char *ref_res,
                     const char *ref_after, mode_stats *st)
{
    const char *mn = mode_name[mode];
    memset(st, 0, sizeof *st);
    for (uint64_t n = 1;; n++) {
        cr_assert_lt(n, MAX_N, "%s: no end to the allocations", name);
        if (mode == ONCE_FRESH && n > 1)
            world_restore(w);
        opres r = {NULL, 0};
        inj_setup(n, mode == FOREVER_KEPT);
        int rc = fn(w, &r);
        DISARM();
        uint64_t hits = inj.hits, calls = inj.calls;
        st->runs++;
        if (verbose())
            fprintf(stderr, "  %s %s N=%" PRIu64 ": rc=%d (%s) hits=%" PRIu64
                    " allocations=%" PRIu64 "%s%s\n", name, mn, n, rc,
                    msglog_strerror(rc), hits, calls, rc ? ": " : "",
                    rc && w->a ? msglog_errmsg(w->a) : "");
        if (hits == 0) {
            /* the call did not get as far as its N-th allocation: done */
            CHECK_OK(rc);
            cr_assert_str_eq(r.res, ref_res, "%s: result differs from the reference", name);
            char *after = world_dump(w);
            char diff[4096];
            cr_assert(!dump_diff(diff, sizeof diff, ref_after, after),
                      "%s: store after success differs from the reference: %s", name, diff);
            free(after);
            free(r.res);
            world_restore(w);
            return;
        }
        if (rc == MSGLOG_OK) {
            /* absorbed: the result must be exactly right */
            st->absorbed++;
            cr_assert_str_eq(r.res, ref_res, "%s %s N=%" PRIu64 ": returned OK after an "
                             "allocation failure with a wrong result", name, mn, n);
            char *after = world_dump(w);
            char diff[4096];
            cr_assert(!dump_diff(diff, sizeof diff, ref_after, after),
                      "%s %s N=%" PRIu64 ": returned OK after an allocation failure "
                      "but the store is not the reference: %s", name, mn, n, diff);
            free(after);
            free(r.res);
            world_restore(w);
            continue;
        }
        st->failed++;
        cr_assert_eq(rc, MSGLOG_ENOMEM, "%s %s N=%" PRIu64 ": an allocation failure reported as "
                     "%d (%s): %s", name, mn, n, rc, msglog_strerror(rc),
                     w->a ? msglog_errmsg(w->a) : "");
        st->codes[-rc < 16 ? -rc : 15]++;
        cr_assert(!r.handed_out, "%s %s N=%" PRIu64 ": failed with %d but left an output "
                  "pointer set", name, mn, n, rc);
        cr_assert_null(r.res);
        char *after = world_dump(w);
        char diff[4096];
        cr_assert(!dump_diff(diff, sizeof diff, before, after),
                  "%s %s N=%" PRIu64 ": failed with %d (%s) but changed the store: %s",
                  name, mn, n, rc, msglog_strerror(rc), diff);
        free(after);
    }
}

static void print_mode(const char *name, const char *mode, const mode_stats *st)
{
    char codes[256] = "";
    for (int i = 1; i < 16; i++)
        if (st->codes[i]) {
            size_t l = strlen(codes);
            snprintf(codes + l, sizeof codes - l, " %s x%" PRIu64,
                     msglog_strerror(-i), st->codes[i]);
        }
    fprintf(stderr, "alloc_fail: %-18s %-9s N=1..%-4" PRIu64 " %4" PRIu64
            " failed cleanly, %" PRIu64 " absorbed;%s\n", name, mode,
            st->runs, st->failed, st->absorbed, codes[0] ? codes : " -");
}

static void run_op(const char *name, op_fn fn)
{
    world w = {0};
    world_restore(&w);
    char *before = world_dump(&w);

    /* the reference: the call without failures (allocations counted) */
    opres ref = {NULL, 0};
    inj_setup(0, 0);
    int rc = fn(&w, &ref);
    DISARM();
    cr_assert_eq(rc, MSGLOG_OK, "%s: the reference call -> %d (%s): %s", name, rc,
                 msglog_strerror(rc), w.a ? msglog_errmsg(w.a) : "");
    cr_assert_not_null(ref.res);
    uint64_t allocs = inj.calls;
    char *ref_after = world_dump(&w);
    world_restore(&w);

    mode_stats st[3];
    for (int m = ONCE_FRESH; m <= FOREVER_KEPT; m++)
        run_mode(name, fn, &w, m, before, ref.res, ref_after, &st[m]);
    /* cold calls are deterministic: every allocation of the reference call
     * was made to fail once */
    cr_assert_eq(st[ONCE_FRESH].runs, allocs + 1, "%s: %" PRIu64 " allocations in the "
                 "reference call, but the once loop ran %" PRIu64 " times", name, allocs,
                 st[ONCE_FRESH].runs);
    for (int m = ONCE_FRESH; m <= FOREVER_KEPT; m++)
        print_mode(name, mode_name[m], &st[m]);

    free(ref.res);
    free(before);
    free(ref_after);
    world_close(&w);
}

/* ------------------------------------------------------------------------ */

Test(alloc_fail, interposition_is_live)
{
    /* through a volatile pointer: the compiler may not elide the calls */
    void *(*volatile m)(size_t) = malloc;
    inj_setup(1, 0);
    ARM();
    void *p = m(16);
    void *q = m(16);
    DISARM();
    cr_assert_null(p, "the first allocation fails");
    cr_assert_not_null(q, "the second does not");
    free(q);
    /* and it reaches the libraries: LMDB allocates at env creation */
    char *path = tmpdir_join(root, "probe");
    msglog *log = NULL;
    inj_setup(1, 1);
    ARM();
    int rc = msglog_open(&log, path, 1, "x", 1, NULL);
    DISARM();
    cr_assert_lt(rc, 0);
    cr_assert_null(log);
    free(path);
}

Test(alloc_fail, open_existing) { run_op("open_existing", op_open_existing); }
Test(alloc_fail, open_new) { run_op("open_new", op_open_new); }
Test(alloc_fail, send) { run_op("send", op_send); }
Test(alloc_fail, send_new_conv) { run_op("send_new_conv", op_send_newconv); }
Test(alloc_fail, edit) { run_op("edit", op_edit); }
Test(alloc_fail, delete) { run_op("delete", op_delete); }
Test(alloc_fail, react) { run_op("react", op_react); }
Test(alloc_fail, unreact) { run_op("unreact", op_unreact); }
Test(alloc_fail, mark_read) { run_op("mark_read", op_mark_read); }
Test(alloc_fail, write_batch) { run_op("write_batch", op_write_batch); }
Test(alloc_fail, receive) { run_op("receive", op_receive); }
Test(alloc_fail, receive_batch) { run_op("receive_batch", op_receive_batch); }
Test(alloc_fail, receive_equivocal) { run_op("receive_equivocal", op_receive_equivocal); }
Test(alloc_fail, receive_equivocal_kept)
{
    run_op("receive_equivocal_kept", op_receive_equivocal_kept);
}
Test(alloc_fail, sync_request) { run_op("sync_request", op_sync_request); }
Test(alloc_fail, sync_request_conv) { run_op("sync_request_conv", op_sync_request_conv); }
Test(alloc_fail, sync_response) { run_op("sync_response", op_sync_response); }
Test(alloc_fail, sync_apply) { run_op("sync_apply", op_sync_apply); }
Test(alloc_fail, messages) { run_op("messages", op_messages); }
Test(alloc_fail, message_get) { run_op("message_get", op_message_get); }
Test(alloc_fail, conv_info_get) { run_op("conv_info_get", op_conv_info); }
Test(alloc_fail, conversations) { run_op("conversations", op_conversations); }
Test(alloc_fail, stream) { run_op("stream", op_stream); }
Test(alloc_fail, op_bytes) { run_op("op_bytes", op_op_bytes); }
