/*
 * libFuzzer target: the receive path of a replica. Arbitrary bytes handed to
 * a store must never crash it, leak, or change its state unless they are
 * valid ops.
 *
 * The store is replica a of the seed scenario (fuzz/scenario.c): two
 * conversations with every kind of op, a conflict, erased texts, and ops
 * pending on missing predecessors - the corpus holds the ops that complete
 * them. It is built once per process in a tmpfs directory (under
 * FUZZ_RECEIVE_DIR, else a new /dev/shm/msglog-fuzz-receive-<pid>-XXXXXX,
 * removed at exit or, after a crash, by the next run), and every
 * FUZZ_RECEIVE_RESET inputs (default 2000) the live store is thrown away and
 * replaced by a fresh copy of the scenario's data.mdb, so it stays small.
 * One LMDB environment at a time, in process (no fork).
 *
 * Input: byte 0 chooses the call, the rest is its argument.
 *   0  msglog_receive(rest)                          one op
 *   1  msglog_receive_batch: rest is a sequence of [u16 BE length][bytes],
 *      each op in its own exact-size heap buffer (ASan sees overreads)
 *   2  msglog_sync_apply(rest)                       a sync response
 *   3  msglog_sync_response(rest)                    a sync request (read-only)
 *
 * FUZZ_RECEIVE_VERBOSE (set to anything) prints each call's result.
 *
 * Invariants checked after every call:
 *  - a call that fails leaves the summary of every conversation unchanged
 *    (msglog_conversations; per conversation msglog_conv_info_get: vector,
 *    pending, n_messages, digest, read markers) and sets msglog_errmsg -
 *    except MSGLOG_EEQUIVOCAL and MSGLOG_EPENDINGFULL, which refuse single
 *    ops and commit the rest of the batch (msglog.h);
 *  - msglog_sync_response never changes the store, and what it returns
 *    decodes, every op in it included;
 *  - after a receive that committed (MSGLOG_OK, or one of the two partial
 *    results), every conversation's view can be read (newest and oldest
 *    page), a deleted message shows no body; after MSGLOG_OK the same call
 *    made again gives MSGLOG_OK and changes nothing (duplicates are
 *    ignored); after a partial result it gives MSGLOG_OK or a partial
 *    result (a dropped op may be ready now, an equivocating version is a
 *    duplicate once kept as evidence).
 *
 * The store's pending buffer is capped low (scenario.h) so that floods of
 * unready ops reach MSGLOG_EPENDINGFULL.
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/op_codec.h"
#include "fuzz/scenario.h"
#include "msglog.h"

#define FAIL(...) do { fprintf(stderr, "fuzz_receive: " __VA_ARGS__); \
                       fputc('\n', stderr); abort(); } while (0)

#define MAX_BATCH 256
#define PAGE 64

static char root[4096];
static char live[4200];
static unsigned live_no;
static msglog *store;
static unsigned long reset_every = 2000, since_reset;
static int verbose;

/* ---- directories -------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0)
        FAIL("copy %s -> %s: %s", from, to, strerror(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            FAIL("write %s: %s", to, strerror(errno));
    if (n < 0)
        FAIL("read %s: %s", from, strerror(errno));
    close(in);
    close(out);
}

/* Replaces the live store by a fresh copy of the scenario's store a. */
static void fresh_store(void)
{
    msglog_close(store);
    store = NULL;
    if (live_no)
        rm_tree(live);
    snprintf(live, sizeof live, "%s/live-%u", root, ++live_no);
    char dir[4300], from[4300], to[4300];
    snprintf(dir, sizeof dir, "%s/%s", live, scen_name[0]);
    snprintf(from, sizeof from, "%s/template/%s/data.mdb", root, scen_name[0]);
    snprintf(to, sizeof to, "%s/data.mdb", dir);
    if (mkdir(live, 0700) || mkdir(dir, 0700))
        FAIL("mkdir %s: %s", dir, strerror(errno));
    copy_file(from, to);
    int rc = scen_open(&store, live, 0, NULL);
    if (rc)
        FAIL("cannot open the fuzzed store: %s", msglog_strerror(rc));
    since_reset = 0;
}

#define SHM "/dev/shm"
#define PREFIX "msglog-fuzz-receive-"

/* A crash leaves its directory behind: removes those of processes that are
 * gone (named PREFIX<pid>-XXXXXX). */
static void remove_stale(void)
{
    DIR *d = opendir(SHM);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0)
            continue;
        long pid = strtol(e->d_name + strlen(PREFIX), NULL, 10);
        if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", SHM, e->d_name);
            rm_tree(path);
        }
    }
    closedir(d);
}

static void cleanup(void)
{
    msglog_close(store);
    store = NULL;
    if (root[0])
        rm_tree(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *every = getenv("FUZZ_RECEIVE_RESET");
    if (every && atol(every) > 0)
        reset_every = (unsigned long)atol(every);
    verbose = getenv("FUZZ_RECEIVE_VERBOSE") != NULL;
    const char *base = getenv("FUZZ_RECEIVE_DIR");
    if (base && *base) {
        snprintf(root, sizeof root, "%s/receive-%ld", base, (long)getpid());
        if (mkdir(root, 0700))
            FAIL("mkdir %s: %s", root, strerror(errno));
    } else {
        remove_stale();
        snprintf(root, sizeof root, SHM "/" PREFIX "%ld-XXXXXX", (long)getpid());
        if (!mkdtemp(root))
            FAIL("mkdtemp: %s", strerror(errno));
    }
    char tmpl[4200];
    snprintf(tmpl, sizeof tmpl, "%s/template", root);
    if (mkdir(tmpl, 0700))
        FAIL("mkdir %s: %s", tmpl, strerror(errno));
    if (scen_build(tmpl) != 0)
        FAIL("the seed scenario failed");
    atexit(cleanup);
    fresh_store();
    return 0;
}

/* ---- the summary of the store -------------------------------------------- */

typedef struct snap {
    uint8_t *p;
    size_t n, cap;
} snap;

static void put(snap *s, const void *p, size_t n)
{
    if (s->n + n > s->cap) {
        size_t cap = s->cap ? s->cap : 1024;
        while (cap < s->n + n)
            cap *= 2;
        s->p = realloc(s->p, cap);
        if (!s->p)
            FAIL("out of memory");
        s->cap = cap;
    }
    memcpy(s->p + s->n, p, n);
    s->n += n;
}

static void put_u64(snap *s, uint64_t v)
{
    put(s, &v, sizeof v);
}

static void put_str(snap *s, const void *p, size_t n)
{
    put_u64(s, n);
    put(s, p, n);
}

static snap summary(void)
{
    snap s = { 0 };
    msglog_str *convs = NULL;
    size_t n = 0;
    int rc = msglog_conversations(store, &convs, &n);
    if (rc)
        FAIL("msglog_conversations: %s (%s)", msglog_strerror(rc), msglog_errmsg(store));
    put_u64(&s, n);
    for (size_t i = 0; i < n; i++) {
        msglog_conv_info *ci = NULL;
        rc = msglog_conv_info_get(store, &ci, convs[i].data, convs[i].len);
        if (rc)
            FAIL("msglog_conv_info_get: %s (%s)", msglog_strerror(rc), msglog_errmsg(store));
        put_str(&s, convs[i].data, convs[i].len);
        put_u64(&s, ci->n_vv);
        for (size_t j = 0; j < ci->n_vv; j++) {
            put_u64(&s, ci->vv[j].replica);
            put_u64(&s, ci->vv[j].seq);
        }
        put_u64(&s, ci->pending);
        put_u64(&s, ci->n_messages);
        put(&s, ci->digest, sizeof ci->digest);
        put_u64(&s, ci->n_read);
        for (size_t j = 0; j < ci->n_read; j++) {
            put_str(&s, ci->read[j].user.data, ci->read[j].user.len);
            put_u64(&s, ci->read[j].message.replica);
            put_u64(&s, ci->read[j].message.seq);
        }
        msglog_free(ci);
    }
    msglog_free(convs);
    return s;
}

static int same(const snap *x, const snap *y)
{
    return x->n == y->n && memcmp(x->p, y->p, x->n) == 0;
}

/* Every conversation's newest and oldest page reads. */
static void read_views(void)
{
    msglog_str *convs = NULL;
    size_t n = 0;
    if (msglog_conversations(store, &convs, &n))
        FAIL("msglog_conversations: %s", msglog_errmsg(store));
    for (size_t i = 0; i < n; i++) {
        for (int dir = MSGLOG_FORWARD; dir <= MSGLOG_BACKWARD; dir++) {
            msglog_page *page = NULL;
            msglog_cursor from = { 1, 0, { 0, 0 } };
            int rc = msglog_messages(store, &page, convs[i].data, convs[i].len, dir, from, PAGE);
            if (rc)
                FAIL("msglog_messages: %s (%s)", msglog_strerror(rc), msglog_errmsg(store));
            for (size_t j = 0; j < page->n; j++) {
                const msglog_message *m = &page->messages[j];
                if (m->deleted && m->body.data)
                    FAIL("a deleted message shows a body");
                if (m->id.replica == 0 || m->id.seq == 0)
                    FAIL("a message with a zero id");
            }
            msglog_free(page);
        }
    }
    msglog_free(convs);
}

/* ---- the calls ------------------------------------------------------------ */

/* What a sync response the store wrote must be: decodable, op by op. */
static void check_response(const void *p, size_t n)
{
    codec_bytes *ops = NULL;
    size_t k = 0;
    int rc = codec_sync_response_decode(&ops, &k, p, n);
    if (rc)
        FAIL("the store wrote a sync response that does not decode: %d", rc);
    for (size_t i = 0; i < k; i++) {
        op o;
        rc = codec_op_decode(&o, ops[i].data, ops[i].len);
        if (rc)
            FAIL("the store sent op %zu of %zu that does not decode: %d", i, k, rc);
        codec_op_clear(&o);
    }
    free(ops);
}

typedef struct call {
    int mode;
    const uint8_t *arg;
    size_t len;
    msglog_buf bufs[MAX_BATCH];
    size_t n_bufs;
} call;

static int run(const call *c)
{
    switch (c->mode) {
    case 0:
        return msglog_receive(store, c->arg, c->len);
    case 1:
        return msglog_receive_batch(store, c->bufs, c->n_bufs);
    case 2:
        return msglog_sync_apply(store, c->arg, c->len);
    default: {
        void *out = NULL;
        size_t out_len = 0;
        int rc = msglog_sync_response(store, &out, &out_len, c->arg, c->len);
        if (rc == MSGLOG_OK)
            check_response(out, out_len);
        else if (out || out_len)
            FAIL("msglog_sync_response failed with output left behind");
        msglog_free(out);
        return rc;
    }
    }
}

/* The receive results that commit the rest of the batch: one bad op (an id
 * reused with other content, or an op dropped because the pending buffer is
 * at its cap) must not block valid traffic. */
static int partial(int rc)
{
    return rc == MSGLOG_EEQUIVOCAL || rc == MSGLOG_EPENDINGFULL;
}

/* Splits [u16 BE length][bytes]... into exact-size heap copies. */
static void split(call *c)
{
    const uint8_t *p = c->arg, *end = c->arg + c->len;
    c->n_bufs = 0;
    while (end - p >= 2 && c->n_bufs < MAX_BATCH) {
        size_t n = (size_t)p[0] << 8 | p[1];
        p += 2;
        if (n > (size_t)(end - p))
            n = (size_t)(end - p);
        void *copy = malloc(n ? n : 1);
        if (!copy)
            FAIL("out of memory");
        memcpy(copy, p, n);
        c->bufs[c->n_bufs++] = (msglog_buf){ copy, n };
        p += n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (++since_reset > reset_every)
        fresh_store();
    call c = { .mode = data[0] & 3, .arg = data + 1, .len = size - 1 };
    if (c.mode == 1)
        split(&c);

    snap before = summary();
    int rc = run(&c);
    /* Taken now: the calls that read the summary clear it. */
    char err[256];
    snprintf(err, sizeof err, "%s", msglog_errmsg(store));
    snap after = summary();
    if (verbose)
        fprintf(stderr, "fuzz_receive: mode %d, %zu bytes: %s%s%s%s\n", c.mode, c.len,
                msglog_strerror(rc), err[0] ? " (" : "", err, err[0] ? ")" : "");
    if (rc != MSGLOG_OK && err[0] == '\0')
        FAIL("a call that failed (%s) left no error message", msglog_strerror(rc));
    if (c.mode == 3) {
        if (!same(&before, &after))
            FAIL("msglog_sync_response changed the store");
    } else if (rc != MSGLOG_OK && !partial(rc)) {
        if (!same(&before, &after))
            FAIL("a call that failed (%s: %s) changed the store", msglog_strerror(rc), err);
    } else {
        read_views();
        int again_rc = run(&c);
        snap again = summary();
        if (rc == MSGLOG_OK) {
            if (again_rc != rc)
                FAIL("the same call made again gave %s (%s), the first %s (%s)",
                     msglog_strerror(again_rc), msglog_errmsg(store), msglog_strerror(rc), err);
            if (!same(&after, &again))
                FAIL("the same ops received again changed the store");
        } else if (!partial(again_rc) && again_rc != MSGLOG_OK) {
            /* A partial result may change on a repeat: an op dropped for a
             * full buffer can be ready now (its dependency came later in the
             * batch), and an equivocating version is a plain duplicate once
             * kept as evidence (engine/equivocal.c). */
            FAIL("the same call made again gave %s (%s), the first %s (%s)",
                 msglog_strerror(again_rc), msglog_errmsg(store), msglog_strerror(rc), err);
        }
        free(again.p);
    }
    free(before.p);
    free(after.p);
    for (size_t i = 0; i < c.n_bufs; i++)
        free((void *)c.bufs[i].data);
    return 0;
}
