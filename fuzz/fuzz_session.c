/*
 * libFuzzer target: the session engine (sync/session.h) as the peer of a
 * hostile or broken replica. Each input is the byte stream one side of a
 * session receives; the engine must never crash, leak or hit UB, must only
 * ever write whole valid frames, and must not change the store except by
 * committing whole batches it acknowledges.
 *
 * The store is replica a of the seed scenario (fuzz/scenario.c), built once
 * per process in a tmpfs directory (under FUZZ_SESSION_DIR, else
 * FUZZ_RECEIVE_DIR as fuzz/run.sh sets it, else a new
 * /dev/shm/msglog-fuzz-session-<pid>-XXXXXX, removed at exit or, after a
 * crash, by the next run) and replaced by a fresh copy of the scenario's
 * data.mdb before an input whenever the last one wrote to it (its data.mdb's
 * size, mtime or ctime changed: a batch committed, a device or an ACK
 * recorded). So every input meets the scenario's store as it was built, as
 * the transcripts of the seed corpus expect, and a crash replays alone. A
 * reset costs about 4 ms under ASan (LMDB's environment allocates and frees
 * megabytes of lists), so inputs that write nothing keep the store.
 * FUZZ_SESSION_RESET=N also resets every N inputs.
 *
 * Input:
 *   byte 0   configuration:
 *              bit 0  role: 0 client (its HELLO is queued at creation),
 *                     1 relay;
 *              bit 1  client: 0 all_convs with no list (it lists every
 *                     conversation of the store), 1 lists "general" and
 *                     "new-conv" without all_convs;
 *              bit 2  session_pump(s, NULL, 0) after every chunk;
 *              bit 3  session_pump(s, "new-conv") after every chunk (a
 *                     conversation the store does not hold), and for a
 *                     relay session_refresh_status(s, "general");
 *              bit 4  session_disconnected() at the end.
 *   byte 1   k = byte & 7, then k bytes of chunk sizes, used in turn (a
 *            byte v gives v + 1 for v < 0xc0, else (v - 0xbf) * 256 bytes);
 *            k = 0 feeds the stream in one call. The output is consumed in
 *            pieces of the same sizes (session_consume; the last piece may
 *            ask for more than is left, which consumes the rest).
 *   rest     the stream, fed to session_feed in those chunks (so frames split
 *            anywhere); then the output is drained, session_pump(s, NULL, 0)
 *            called, the output drained again, and session_free.
 *
 * FUZZ_SESSION_VERBOSE (set to anything) prints each session's end.
 *
 * Every conversation that changed was acknowledged, at its last ACK's
 * vector and digest (a BATCH carrying ops of another conversation than its
 * own, the first fault this target found, is refused whole since 2861e0a).
 *
 * The session's hooks are set; each checks its arguments (this session, a
 * conversation of 1..255 bytes; hello at most once, with the peer's replica
 * known; status only at a client).
 * After every call the queries are asked: session_up_to_date,
 * session_peer_replica / session_peer_user (set once the peer's HELLO was
 * taken), session_wants, session_digest_mismatches.
 *
 * Invariants:
 *  - session_feed and session_pump return MSGLOG_OK unless the call closed
 *    the session, and a call that closed it returns an error; a CLOSED
 *    session has session_error() != MSGLOG_OK and a non-empty
 *    session_errmsg();
 *  - once CLOSED, feeding (and pumping) returns MSGLOG_OK and writes nothing;
 *  - the output is a sequence of whole frames, each payload accepted by
 *    codec_session_type and by the decoder of its type. HELLO at most once
 *    and first (a client's always); nothing after an ERROR; an ERROR only
 *    from a CLOSED session; a session that closed without writing ERROR
 *    was sent one (a complete ERROR frame is in the input) or was
 *    disconnected; STATUS only from a relay; BATCH frames numbered 1, 2, 3...
 *    with the frames of one batch consecutive and for one conversation; the
 *    k-th ACK acknowledges batch k;
 *  - no ACK written: every conversation's summary (msglog_conversations,
 *    then per conversation vector, pending, n_messages, digest, read
 *    markers) is unchanged. With ACKs: every conversation whose summary
 *    changed was acknowledged, and each acknowledged conversation's vector
 *    and digest at the end are those of its last ACK (nothing else writes
 *    the store); then every conversation's newest and oldest page reads.
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/op_codec.h"
#include "codec/session_codec.h"
#include "fuzz/scenario.h"
#include "msglog.h"
#include "sync/session.h"

#define FAIL(...) do { fprintf(stderr, "fuzz_session: " __VA_ARGS__); \
                       fputc('\n', stderr); abort(); } while (0)

#define PAGE 64
#define NEW_CONV "new-conv"

static char root[4096];
static char live[4200];
static unsigned live_no;
static msglog *store;
static unsigned long reset_every, since_reset;
static struct stat pristine;     /* data.mdb right after the copy was opened */
static int verbose;

/* ---- directories (as fuzz_receive.c) ------------------------------------ */

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
    if (stat(to, &pristine))
        FAIL("stat %s: %s", to, strerror(errno));
    since_reset = 0;
}

/* Whether the live store was written since fresh_store(). */
static int store_written(void)
{
    char path[4300];
    struct stat now;
    snprintf(path, sizeof path, "%s/%s/data.mdb", live, scen_name[0]);
    if (stat(path, &now))
        FAIL("stat %s: %s", path, strerror(errno));
    return now.st_size != pristine.st_size ||
           now.st_mtim.tv_sec != pristine.st_mtim.tv_sec ||
           now.st_mtim.tv_nsec != pristine.st_mtim.tv_nsec ||
           now.st_ctim.tv_sec != pristine.st_ctim.tv_sec ||
           now.st_ctim.tv_nsec != pristine.st_ctim.tv_nsec;
}

#define SHM "/dev/shm"
#define PREFIX "msglog-fuzz-session-"

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
    const char *every = getenv("FUZZ_SESSION_RESET");
    if (every && atol(every) > 0)
        reset_every = (unsigned long)atol(every);
    verbose = getenv("FUZZ_SESSION_VERBOSE") != NULL;
    const char *base = getenv("FUZZ_SESSION_DIR");
    if (!base || !*base)
        base = getenv("FUZZ_RECEIVE_DIR");
    if (base && *base) {
        snprintf(root, sizeof root, "%s/session-%ld", base, (long)getpid());
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

/* ---- byte buffers --------------------------------------------------------- */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            FAIL("out of memory");
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_u64(buf *b, uint64_t v)
{
    put(b, &v, sizeof v);
}

static int same(const buf *x, const buf *y)
{
    return x->n == y->n && (x->n == 0 || memcmp(x->p, y->p, x->n) == 0);
}

/* ---- the summary of the store --------------------------------------------- */

/* One conversation's summary: its name, then the state the session can
 * change; vv and digest also kept apart for the ACK check. */
typedef struct conv_sum {
    uint8_t name[256];
    size_t len;
    buf all;
    buf vv;                  /* replica, seq as u64 pairs */
    uint8_t digest[16];
} conv_sum;

typedef struct summary {
    conv_sum *c;
    size_t n;
} summary;

static void summary_free(summary *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->c[i].all.p);
        free(s->c[i].vv.p);
    }
    free(s->c);
    s->c = NULL;
    s->n = 0;
}

static summary take_summary(void)
{
    summary s = { 0 };
    msglog_str *convs = NULL;
    size_t n = 0;
    int rc = msglog_conversations(store, &convs, &n);
    if (rc)
        FAIL("msglog_conversations: %s (%s)", msglog_strerror(rc), msglog_errmsg(store));
    s.c = calloc(n ? n : 1, sizeof *s.c);
    if (!s.c)
        FAIL("out of memory");
    s.n = n;
    for (size_t i = 0; i < n; i++) {
        conv_sum *cs = &s.c[i];
        if (convs[i].len == 0 || convs[i].len > sizeof cs->name)
            FAIL("a conversation name of %zu bytes", convs[i].len);
        memcpy(cs->name, convs[i].data, convs[i].len);
        cs->len = convs[i].len;
        msglog_conv_info *ci = NULL;
        rc = msglog_conv_info_get(store, &ci, convs[i].data, convs[i].len);
        if (rc)
            FAIL("msglog_conv_info_get: %s (%s)", msglog_strerror(rc), msglog_errmsg(store));
        for (size_t j = 0; j < ci->n_vv; j++) {
            put_u64(&cs->vv, ci->vv[j].replica);
            put_u64(&cs->vv, ci->vv[j].seq);
        }
        memcpy(cs->digest, ci->digest, sizeof cs->digest);
        put_u64(&cs->all, ci->n_vv);
        put(&cs->all, cs->vv.p, cs->vv.n);
        put_u64(&cs->all, ci->pending);
        put_u64(&cs->all, ci->n_messages);
        put(&cs->all, ci->digest, sizeof ci->digest);
        put_u64(&cs->all, ci->n_read);
        for (size_t j = 0; j < ci->n_read; j++) {
            put_u64(&cs->all, ci->read[j].user.len);
            put(&cs->all, ci->read[j].user.data, ci->read[j].user.len);
            put_u64(&cs->all, ci->read[j].message.replica);
            put_u64(&cs->all, ci->read[j].message.seq);
        }
        msglog_free(ci);
    }
    msglog_free(convs);
    return s;
}

static const conv_sum *find_conv(const summary *s, const uint8_t *name, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->c[i].len == len && memcmp(s->c[i].name, name, len) == 0)
            return &s->c[i];
    return NULL;
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

/* ---- what the session wrote ----------------------------------------------- */

/* The last ACK written for one conversation. */
typedef struct acked {
    uint8_t name[256];
    size_t len;
    buf vv;
    uint8_t digest[16];
} acked;

typedef struct written {
    size_t frames;
    char types[64];          /* the first frames' types, for FUZZ_SESSION_VERBOSE */
    int hello, error;
    uint64_t n_acks;
    acked *acks;             /* one per conversation, its last ACK */
    size_t n_acked;
    uint64_t batch_no;       /* the BATCH being written (0: none yet) */
    int batch_open;          /* its last frame had more = true */
    uint8_t batch_conv[256];
    size_t batch_conv_len;
} written;

static void written_free(written *w)
{
    for (size_t i = 0; i < w->n_acked; i++)
        free(w->acks[i].vv.p);
    free(w->acks);
}

static void note_ack(written *w, const codec_ack *a)
{
    w->n_acks++;
    if (a->batch_no != w->n_acks)
        FAIL("ACK number %llu acknowledges batch %llu", (unsigned long long)w->n_acks,
             (unsigned long long)a->batch_no);
    acked *k = NULL;
    for (size_t i = 0; i < w->n_acked && !k; i++)
        if (w->acks[i].len == a->conv_len && memcmp(w->acks[i].name, a->conv, a->conv_len) == 0)
            k = &w->acks[i];
    if (!k) {
        w->acks = realloc(w->acks, (w->n_acked + 1) * sizeof *w->acks);
        if (!w->acks)
            FAIL("out of memory");
        k = &w->acks[w->n_acked++];
        memset(k, 0, sizeof *k);
        memcpy(k->name, a->conv, a->conv_len);
        k->len = a->conv_len;
    }
    k->vv.n = 0;
    for (size_t i = 0; i < a->n_vv; i++) {
        put_u64(&k->vv, a->vv[i].replica);
        put_u64(&k->vv, a->vv[i].seq);
    }
    memcpy(k->digest, a->digest, sizeof k->digest);
}

static void note_batch(written *w, const codec_batch *b)
{
    if (w->batch_open) {
        if (b->batch_no != w->batch_no || b->conv_len != w->batch_conv_len ||
            memcmp(b->conv, w->batch_conv, b->conv_len) != 0)
            FAIL("a BATCH frame of batch %llu inside batch %llu", (unsigned long long)b->batch_no,
                 (unsigned long long)w->batch_no);
    } else {
        if (b->batch_no != w->batch_no + 1)
            FAIL("batch %llu written after batch %llu", (unsigned long long)b->batch_no,
                 (unsigned long long)w->batch_no);
        w->batch_no = b->batch_no;
        memcpy(w->batch_conv, b->conv, b->conv_len);
        w->batch_conv_len = b->conv_len;
    }
    w->batch_open = b->more;
}

/* Checks one frame the session wrote and notes what the checks at the end
 * need. */
static void check_frame(written *w, int role, const uint8_t *p, size_t n)
{
    if (w->error)
        FAIL("a frame written after an ERROR");
    uint64_t type;
    int rc = codec_session_type(p, n, &type);
    if (rc)
        FAIL("frame %zu: codec_session_type %d", w->frames, rc);
    switch (type) {
    case SESSION_HELLO: {
        codec_hello m;
        if ((rc = codec_hello_decode(&m, p, n)))
            FAIL("frame %zu: a HELLO that does not decode: %d", w->frames, rc);
        codec_hello_clear(&m);
        if (w->hello || w->frames != 0)
            FAIL("frame %zu: a HELLO that is not the first frame", w->frames);
        w->hello = 1;
        break;
    }
    case SESSION_BATCH: {
        codec_batch m;
        if ((rc = codec_batch_decode(&m, p, n)))
            FAIL("frame %zu: a BATCH that does not decode: %d", w->frames, rc);
        note_batch(w, &m);
        codec_batch_clear(&m);
        break;
    }
    case SESSION_ACK: {
        codec_ack m;
        if ((rc = codec_ack_decode(&m, p, n)))
            FAIL("frame %zu: an ACK that does not decode: %d", w->frames, rc);
        note_ack(w, &m);
        codec_ack_clear(&m);
        break;
    }
    case SESSION_WANT: {
        codec_want m;
        if ((rc = codec_want_decode(&m, p, n)))
            FAIL("frame %zu: a WANT that does not decode: %d", w->frames, rc);
        codec_want_clear(&m);
        break;
    }
    case SESSION_REPAIR: {
        codec_repair m;
        if ((rc = codec_repair_decode(&m, p, n)))
            FAIL("frame %zu: a REPAIR that does not decode: %d", w->frames, rc);
        codec_repair_clear(&m);
        break;
    }
    case SESSION_STATUS: {
        codec_status m;
        if ((rc = codec_status_decode(&m, p, n)))
            FAIL("frame %zu: a STATUS that does not decode: %d", w->frames, rc);
        codec_status_clear(&m);
        if (role != SESSION_ROLE_RELAY)
            FAIL("frame %zu: a client wrote a STATUS", w->frames);
        break;
    }
    case SESSION_ERROR: {
        codec_error m;
        if ((rc = codec_error_decode(&m, p, n)))
            FAIL("frame %zu: an ERROR that does not decode: %d", w->frames, rc);
        codec_error_clear(&m);
        w->error = 1;
        break;
    }
    default:
        FAIL("frame %zu: type %llu", w->frames, (unsigned long long)type);
    }
    if (w->frames < sizeof w->types - 1)
        w->types[w->frames] = "HBAWRSE"[type - SESSION_HELLO];
    w->frames++;
}

/* Splits what the session wrote into frames and checks each. */
static void check_output(written *w, int role, const buf *out)
{
    size_t at = 0;
    while (at < out->n) {
        size_t flen = 0;
        int rc = codec_session_frame(out->p + at, out->n - at, &flen);
        if (rc == CODEC_FRAME_MORE)
            FAIL("the output ends inside a frame (%zu of %zu bytes at offset %zu)",
                 out->n - at, flen, at);
        if (rc)
            FAIL("the output holds a bad frame header at offset %zu: %d", at, rc);
        if (flen == SESSION_FRAME_HEADER)
            FAIL("the session wrote a keep-alive at offset %zu", at);
        check_frame(w, role, out->p + at + SESSION_FRAME_HEADER, flen - SESSION_FRAME_HEADER);
        at += flen;
    }
    if (role == SESSION_ROLE_CLIENT && !w->hello)
        FAIL("a client that wrote no HELLO");
}

/* Whether the stream holds a complete frame whose type is ERROR. */
static int input_has_error(const uint8_t *p, size_t n)
{
    size_t at = 0, flen;
    while (codec_session_frame(p + at, n - at, &flen) == CODEC_OK) {
        uint64_t type;
        if (flen > SESSION_FRAME_HEADER &&
            codec_session_type(p + at + SESSION_FRAME_HEADER, flen - SESSION_FRAME_HEADER,
                               &type) == CODEC_OK && type == SESSION_ERROR)
            return 1;
        at += flen;
    }
    return 0;
}

/* ---- hooks and queries ------------------------------------------------------ */

typedef struct hook_ctx {
    session *s;              /* NULL until session_new returned */
    int role;
    unsigned hellos;
    unsigned long calls;
} hook_ctx;

static void hook_conv(hook_ctx *h, session *s, const uint8_t *conv, size_t len, const char *what)
{
    if (h->s && s != h->s)
        FAIL("hook %s: another session", what);
    if (!conv || len == 0 || len > 255)
        FAIL("hook %s: a conversation of %zu bytes", what, len);
    h->calls++;
}

static void on_hello(void *ctx, session *s)
{
    hook_ctx *h = ctx;
    if (h->s && s != h->s)
        FAIL("hook hello: another session");
    if (++h->hellos > 1)
        FAIL("hook hello called %u times", h->hellos);
    if (session_peer_replica(s) == 0)
        FAIL("hook hello: no peer replica");
}

static void on_committed(void *ctx, session *s, const uint8_t *conv, size_t len)
{
    hook_conv(ctx, s, conv, len, "committed");
}

static void on_acked(void *ctx, session *s, const uint8_t *conv, size_t len)
{
    hook_conv(ctx, s, conv, len, "acked");
}

static void on_status(void *ctx, session *s, const uint8_t *conv, size_t len)
{
    hook_ctx *h = ctx;
    if (h->role != SESSION_ROLE_CLIENT)
        FAIL("hook status at a relay");
    hook_conv(ctx, s, conv, len, "status");
}

/* The queries a transport asks; their answers must fit the phase. */
static void ask(session *s, const hook_ctx *h)
{
    int phase = session_phase(s);
    size_t ulen = 0;
    const uint8_t *user = session_peer_user(s, &ulen);
    uint64_t replica = session_peer_replica(s);
    if (h->hellos) {
        if (replica == 0 || !user || ulen == 0 || ulen > 255)
            FAIL("after the peer's HELLO: replica %llu, user of %zu bytes",
                 (unsigned long long)replica, ulen);
    } else if (phase == SESSION_PHASE_OPEN) {
        FAIL("open without the hello hook");
    }
    if (session_up_to_date(s) && phase != SESSION_PHASE_OPEN)
        FAIL("up to date in phase %d", phase);
    if (session_wants(s, (const uint8_t *)"general", 7) && phase != SESSION_PHASE_OPEN)
        FAIL("wants a conversation in phase %d", phase);
    (void)session_digest_mismatches(s);
}

/* ---- running one session -------------------------------------------------- */

typedef struct sizes {
    const uint8_t *v;
    size_t k, next;
} sizes;

/* The next chunk size, at most `left` (all of it when there is no table). */
static size_t next_size(sizes *z, size_t left)
{
    if (z->k == 0)
        return left;
    uint8_t v = z->v[z->next++ % z->k];
    size_t n = v < 0xc0 ? (size_t)v + 1 : (size_t)(v - 0xbf) * 256;
    return n < left ? n : left;
}

/* Takes everything the session wrote, in pieces. */
static void drain(session *s, buf *out, sizes *z)
{
    for (;;) {
        const uint8_t *p;
        size_t n;
        session_output(s, &p, &n);
        if (n == 0)
            return;
        if (!p)
            FAIL("session_output: %zu bytes at NULL", n);
        size_t ask_n = next_size(z, SIZE_MAX), step = ask_n < n ? ask_n : n;
        put(out, p, step);
        session_consume(s, ask_n);
        const uint8_t *q;
        size_t m;
        session_output(s, &q, &m);
        if (m != n - step)
            FAIL("session_consume(%zu) of %zu bytes left %zu", ask_n, n, m);
    }
}

static void check_closed(session *s, const char *after)
{
    if (session_phase(s) != SESSION_PHASE_CLOSED)
        return;
    if (session_error(s) == MSGLOG_OK)
        FAIL("closed after %s with session_error() MSGLOG_OK (%s)", after, session_errmsg(s));
    const char *m = session_errmsg(s);
    if (!m || !m[0])
        FAIL("closed after %s (%s) with no error message", after,
             msglog_strerror(session_error(s)));
}

/* One call that may close the session: feed or pump. */
static void check_call(session *s, int rc, int was_closed, const char *what)
{
    int closed = session_phase(s) == SESSION_PHASE_CLOSED;
    const uint8_t *p;
    size_t n;
    session_output(s, &p, &n);
    if (was_closed) {
        if (rc != MSGLOG_OK)
            FAIL("%s after CLOSED returned %s", what, msglog_strerror(rc));
        if (n)
            FAIL("%s after CLOSED wrote %zu bytes", what, n);
        return;
    }
    if (rc != MSGLOG_OK && !closed)
        FAIL("%s returned %s (%s) and the session is still in phase %d", what,
             msglog_strerror(rc), session_errmsg(s), session_phase(s));
    if (closed && rc == MSGLOG_OK)
        FAIL("%s closed the session (%s) and returned MSGLOG_OK", what, session_errmsg(s));
    check_closed(s, what);
}

static void pump(session *s, const uint8_t *conv, size_t len, buf *out, sizes *z)
{
    int was_closed = session_phase(s) == SESSION_PHASE_CLOSED;
    int rc = session_pump(s, conv, len);
    check_call(s, rc, was_closed, conv ? "session_pump(conv)" : "session_pump(NULL)");
    drain(s, out, z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if ((reset_every && ++since_reset > reset_every) || store_written())
        fresh_store();
    uint8_t cfg_byte = data[0];
    sizes z = { data + 2, data[1] & 7, 0 };
    if (size < 2 + z.k)
        return 0;
    const uint8_t *stream = data + 2 + z.k;
    size_t stream_len = size - 2 - z.k;

    static const msglog_str listed[] = { { "general", 7 }, { NEW_CONV, sizeof NEW_CONV - 1 } };
    session_config cfg = { 0 };
    cfg.role = cfg_byte & 1 ? SESSION_ROLE_RELAY : SESSION_ROLE_CLIENT;
    if (cfg.role == SESSION_ROLE_CLIENT) {
        if (cfg_byte & 2) {
            cfg.convs = listed;
            cfg.n_convs = 2;
        } else {
            cfg.all_convs = 1;
        }
    }

    hook_ctx hk = { NULL, cfg.role, 0, 0 };
    cfg.hooks = (session_hooks){ &hk, on_hello, on_committed, on_acked, on_status };

    summary before = take_summary();
    session *s = NULL;
    int rc = session_new(&s, store, &cfg);
    if (rc)
        FAIL("session_new: %s", msglog_strerror(rc));
    hk.s = s;
    if (session_phase(s) != SESSION_PHASE_HELLO)
        FAIL("a new session in phase %d", session_phase(s));
    buf out = { 0 };
    drain(s, &out, &z);

    for (size_t at = 0; at < stream_len;) {
        size_t n = next_size(&z, stream_len - at);
        /* An exact-size copy, so that ASan sees a read past the chunk. */
        uint8_t *chunk = malloc(n);
        if (!chunk)
            FAIL("out of memory");
        memcpy(chunk, stream + at, n);
        int was_closed = session_phase(s) == SESSION_PHASE_CLOSED;
        rc = session_feed(s, chunk, n);
        free(chunk);
        check_call(s, rc, was_closed, "session_feed");
        drain(s, &out, &z);
        ask(s, &hk);
        at += n;
        if (cfg_byte & 4)
            pump(s, NULL, 0, &out, &z);
        if (cfg_byte & 8) {
            pump(s, (const uint8_t *)NEW_CONV, sizeof NEW_CONV - 1, &out, &z);
            if (cfg.role == SESSION_ROLE_RELAY) {
                was_closed = session_phase(s) == SESSION_PHASE_CLOSED;
                rc = session_refresh_status(s, (const uint8_t *)"general", 7);
                check_call(s, rc, was_closed, "session_refresh_status");
                drain(s, &out, &z);
            }
        }
        ask(s, &hk);
    }
    pump(s, NULL, 0, &out, &z);
    ask(s, &hk);
    int disconnected = 0;
    if ((cfg_byte & 16) && session_phase(s) != SESSION_PHASE_CLOSED) {
        session_disconnected(s);
        disconnected = 1;
        if (session_phase(s) != SESSION_PHASE_CLOSED)
            FAIL("session_disconnected left phase %d", session_phase(s));
        check_closed(s, "session_disconnected");
        drain(s, &out, &z);
    }
    int phase = session_phase(s);
    char errmsg[300];
    snprintf(errmsg, sizeof errmsg, "%s", session_errmsg(s));
    session_free(s);

    written w = { 0 };
    check_output(&w, cfg.role, &out);
    if (w.error && phase != SESSION_PHASE_CLOSED)
        FAIL("an ERROR written by a session in phase %d", phase);
    if (phase == SESSION_PHASE_CLOSED && !w.error && !disconnected &&
        !input_has_error(stream, stream_len))
        FAIL("closed (%s) without writing ERROR, and no ERROR was received", errmsg);
    if (verbose)
        fprintf(stderr, "fuzz_session: %s, %zu bytes in, %zu frames (%zu bytes) out [%s], "
                "%llu ACKs, phase %d%s%s\n", cfg.role ? "relay" : "client", stream_len, w.frames,
                out.n, w.types, (unsigned long long)w.n_acks, phase, errmsg[0] ? ": " : "",
                errmsg);

    summary after = take_summary();
    if (w.n_acks == 0) {
        int changed = before.n != after.n;
        for (size_t i = 0; i < before.n && !changed; i++)
            changed = before.c[i].len != after.c[i].len ||
                      memcmp(before.c[i].name, after.c[i].name, before.c[i].len) != 0 ||
                      !same(&before.c[i].all, &after.c[i].all);
        if (changed)
            FAIL("the store changed and no batch was acknowledged (%s)", errmsg);
    } else {
        for (size_t i = 0; i < after.n; i++) {
            const conv_sum *a = &after.c[i], *b = find_conv(&before, a->name, a->len);
            if (b && same(&a->all, &b->all))
                continue;
            size_t j = 0;
            while (j < w.n_acked && !(w.acks[j].len == a->len &&
                                      memcmp(w.acks[j].name, a->name, a->len) == 0))
                j++;
            if (j == w.n_acked)
                FAIL("conversation %.*s changed and no ACK of it was written", (int)a->len,
                     (const char *)a->name);
        }
        for (size_t j = 0; j < w.n_acked; j++) {
            const acked *k = &w.acks[j];
            const conv_sum *a = find_conv(&after, k->name, k->len);
            static const uint8_t zero[16];
            int vv_ok = a ? same(&a->vv, &k->vv) : k->vv.n == 0;
            int dig_ok = memcmp(a ? a->digest : zero, k->digest, 16) == 0;
            if (!vv_ok || !dig_ok)
                FAIL("conversation %.*s: its last ACK's %s is not the store's at the end",
                     (int)k->len, (const char *)k->name, vv_ok ? "digest" : "vector");
        }
        read_views();
    }
    summary_free(&before);
    summary_free(&after);
    written_free(&w);
    free(out.p);
    return 0;
}
