/*
 * Writes the seed corpus of fuzz_session from real session transcripts:
 *
 *   make_session_corpus OUTDIR   -> OUTDIR/fuzz_session/ (existing files are
 *                                   replaced)
 *
 * It builds the seed scenario (fuzz/scenario.c) and runs sessions back to
 * back (as tests/sync/test_session.c's link/run), each on a fresh copy of the
 * scenario's stores: store a - the store fuzz_session fuzzes - once as the
 * client and once as the relay, with the session configuration fuzz_session
 * gives it for the seed's configuration byte, against peers b, c, d, an
 * empty store, and a store holding a's conversations with another version
 * of one op (equal vectors, other digests: the digest check and the repair
 * exchange, REPAIR and WANT both ways). A client-side seed is what a's
 * client session received (the relay's HELLO, STATUS, ACKs, batches...), a
 * relay-side seed what a's relay session received. Since a's session
 * behaves the same on the same store, fuzz_session replays the whole
 * exchange. Then variants: fed byte by byte and in odd chunks, with pumps
 * and a disconnect, cut at a frame boundary and inside a frame, a byte
 * flipped, a frame dropped, duplicated or swapped with the next, keep-alives
 * inserted, an ERROR in the middle, a frame header over the limit, and
 * frames for the wrong role.
 *
 * Seed layout (fuzz_session.c): configuration byte, chunk-size count and
 * sizes, then the stream. Deterministic: the same tree gives the same files.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#define TARGET "fuzz_session"
#define MAX_SEED 16384          /* fuzz/run.sh's -max_len */

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "make_session_corpus: %s\n", what);
    exit(1);
}

static _Noreturn void die_rc(const char *what, int rc)
{
    fprintf(stderr, "make_session_corpus: %s: %s\n", what, msglog_strerror(rc));
    exit(1);
}

/* ---- byte strings -------------------------------------------------------- */

typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static void append(bytes *b, const void *p, size_t n)
{
    uint8_t *q = realloc(b->p, b->n + n ? b->n + n : 1);
    if (!q)
        die("out of memory");
    if (n)
        memcpy(q + b->n, p, n);
    b->p = q;
    b->n += n;
}

/* ---- files --------------------------------------------------------------- */

static char outdir[4096];
static char tmp[4096];
static unsigned n_seeds;
static size_t seed_bytes;

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
        die(from);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            die(to);
    if (n < 0)
        die(from);
    close(in);
    close(out);
}

/* Writes seed `name`: configuration byte, chunk sizes, stream. */
static void emit(const char *name, uint8_t cfg, const uint8_t *chunks, size_t k,
                 const uint8_t *p, size_t n)
{
    if (k > 7)
        die("more than 7 chunk sizes");
    bytes b = { 0 };
    uint8_t head[2] = { cfg, (uint8_t)k };
    append(&b, head, 2);
    append(&b, chunks, k);
    append(&b, p, n);
    if (b.n > MAX_SEED) {
        fprintf(stderr, "make_session_corpus: %s: %zu bytes, over %d\n", name, b.n, MAX_SEED);
        exit(1);
    }
    char path[8192];
    snprintf(path, sizeof path, "%s/" TARGET "/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b.p, 1, b.n, f) != b.n || fclose(f))
        die(path);
    n_seeds++;
    seed_bytes += b.n;
    free(b.p);
}

/* ---- stores --------------------------------------------------------------- */

static unsigned n_dirs;

/* A fresh copy of scenario store i (a directory of its own). */
static msglog *scen_copy(int i)
{
    char dir[4200], sub[4300], from[4300], to[4400];
    snprintf(dir, sizeof dir, "%s/run-%u", tmp, ++n_dirs);
    snprintf(sub, sizeof sub, "%s/%s", dir, scen_name[i]);
    if (mkdir(dir, 0700) || mkdir(sub, 0700))
        die(sub);
    snprintf(from, sizeof from, "%s/template/%s/data.mdb", tmp, scen_name[i]);
    snprintf(to, sizeof to, "%s/data.mdb", sub);
    copy_file(from, to);
    msglog *log;
    int rc = scen_open(&log, dir, i, NULL);
    if (rc)
        die_rc("scen_open", rc);
    return log;
}

/* A new empty store: replica 50, user "relay" (the peer of a, as a relay or
 * a device of another user). */
static msglog *empty_store(uint64_t replica, const char *user)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/run-%u", tmp, ++n_dirs);
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = SCEN_MAP_SIZE;
    opts.max_map_size = SCEN_MAX_MAP_SIZE;
    msglog *log;
    int rc = msglog_open(&log, dir, replica, user, strlen(user), &opts);
    if (rc)
        die_rc("msglog_open", rc);
    return log;
}

/* A store holding what a holds delivered of every conversation, except that
 * one op, general (2,1), is another version of it (its hlc moved): equal
 * vectors, other digests. */
static msglog *equivocating_store(void)
{
    msglog *a = scen_copy(0), *x = empty_store(50, "relay");
    void *req = NULL, *resp = NULL;
    size_t req_len = 0, resp_len = 0;
    int rc = msglog_sync_request(x, &req, &req_len, NULL, 0);
    if (!rc)
        rc = msglog_sync_response(a, &resp, &resp_len, req, req_len);
    if (rc)
        die_rc("sync from a", rc);
    codec_bytes *ops = NULL;
    size_t n = 0;
    if ((rc = codec_sync_response_decode(&ops, &n, resp, resp_len)))
        die_rc("decoding a's sync response", rc);
    msglog_buf *bufs = calloc(n ? n : 1, sizeof *bufs);
    uint8_t *forged = NULL;
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        bufs[i] = (msglog_buf){ ops[i].data, ops[i].len };
        op o;
        if (codec_op_decode(&o, ops[i].data, ops[i].len))
            die("a's sync response holds an op that does not decode");
        if (!found && o.id.replica == 2 && o.id.seq == 1 && o.conv_len == 7 &&
            memcmp(o.conv, "general", 7) == 0) {
            size_t len;
            o.hlc += 7;
            if ((rc = codec_op_encode(&forged, &len, &o, 0)))
                die_rc("encoding the other version", rc);
            bufs[i] = (msglog_buf){ forged, len };
            found = 1;
        }
        codec_op_clear(&o);
    }
    if (!found)
        die("general (2,1) is not in a's sync response");
    if ((rc = msglog_receive_batch(x, bufs, n)))
        die_rc("receiving a's ops with the other version", rc);
    free(forged);
    free(bufs);
    free(ops);
    msglog_free(req);
    msglog_free(resp);
    msglog_close(a);
    return x;
}

/* ---- a connection --------------------------------------------------------- */

typedef struct conn {
    session *c, *r;
    bytes to_c, to_r;      /* what each side received */
} conn;

/* Moves everything one side wrote to the other; returns the bytes moved. */
static size_t move(session *from, session *to, bytes *rec)
{
    const uint8_t *p;
    size_t n;
    session_output(from, &p, &n);
    if (n == 0)
        return 0;
    uint8_t *copy = malloc(n);
    if (!copy)
        die("out of memory");
    memcpy(copy, p, n);
    session_consume(from, n);
    append(rec, copy, n);
    session_feed(to, copy, n);
    free(copy);
    return n;
}

static void run(conn *l)
{
    for (int guard = 0; guard < 10000; guard++) {
        size_t a = move(l->c, l->r, &l->to_r);
        size_t b = move(l->r, l->c, &l->to_c);
        if (!a && !b)
            return;
    }
    die("a session that does not settle");
}

/* The configuration of a's session, as fuzz_session makes it from cfg. */
static const msglog_str listed[] = { { "general", 7 }, { "new-conv", 8 } };

static session_config a_config(uint8_t cfg)
{
    session_config c = { 0 };
    c.role = cfg & 1 ? SESSION_ROLE_RELAY : SESSION_ROLE_CLIENT;
    if (c.role == SESSION_ROLE_CLIENT) {
        if (cfg & 2) {
            c.convs = listed;
            c.n_convs = 2;
        } else {
            c.all_convs = 1;
        }
    }
    return c;
}

/* The peer's configuration. */
typedef struct peer_cfg {
    size_t budget;
    unsigned window;
    int all_convs;           /* client peer: all_convs with no list */
    const msglog_str *convs; /* client peer: else these */
    size_t n_convs;
} peer_cfg;

/* Runs a (configuration byte cfg) against peer; returns what a received.
 * `live`, when set, is called once the HELLOs have crossed (the peer writes
 * and pumps while connected). */
static bytes transcript(uint8_t cfg, msglog *peer, const peer_cfg *pc,
                        void (*live)(msglog *peer, session *ps), int *a_closed)
{
    msglog *a = scen_copy(0);
    session_config ac = a_config(cfg), pcfg = { 0 };
    pcfg.role = ac.role == SESSION_ROLE_CLIENT ? SESSION_ROLE_RELAY : SESSION_ROLE_CLIENT;
    pcfg.budget = pc->budget;
    pcfg.window = pc->window;
    if (pcfg.role == SESSION_ROLE_CLIENT) {
        pcfg.all_convs = pc->all_convs;
        pcfg.convs = pc->convs;
        pcfg.n_convs = pc->n_convs;
    }
    conn l = { 0 };
    session *as, *ps;
    int rc = session_new(&as, a, &ac);
    if (!rc)
        rc = session_new(&ps, peer, &pcfg);
    if (rc)
        die_rc("session_new", rc);
    if (ac.role == SESSION_ROLE_CLIENT) {
        l.c = as;
        l.r = ps;
    } else {
        l.c = ps;
        l.r = as;
    }
    if (live) {
        /* The HELLOs first, then the peer's live write, then the rest. */
        move(l.c, l.r, &l.to_r);
        move(l.r, l.c, &l.to_c);
        live(peer, ps);
    }
    run(&l);
    if (session_phase(as) == SESSION_PHASE_CLOSED || session_phase(ps) == SESSION_PHASE_CLOSED)
        fprintf(stderr, "make_session_corpus: note: a session closed: a: %s / peer: %s\n",
                session_errmsg(as), session_errmsg(ps));
    if (a_closed)
        *a_closed = session_phase(as) == SESSION_PHASE_CLOSED;
    session_free(l.c);
    session_free(l.r);
    msglog_close(a);
    bytes got = ac.role == SESSION_ROLE_CLIENT ? l.to_c : l.to_r;
    free(ac.role == SESSION_ROLE_CLIENT ? l.to_r.p : l.to_c.p);
    return got;
}

static void live_write(msglog *peer, session *ps)
{
    msglog_id id;
    int rc = msglog_send(peer, &id, "general", 7, "live one", 8);
    if (!rc)
        rc = msglog_send(peer, &id, "later", 5, "a new conversation", 18);
    if (rc)
        die_rc("live write", rc);
    session_pump(ps, (const uint8_t *)"general", 7);
    session_pump(ps, (const uint8_t *)"later", 5);
}

/* ---- frames of a transcript ------------------------------------------------ */

typedef struct frame {
    size_t at, len;
    uint64_t type;
} frame;

static size_t frames_of(const bytes *t, frame *f, size_t max)
{
    size_t at = 0, n = 0, len;
    while (n < max && codec_session_frame(t->p + at, t->n - at, &len) == CODEC_OK) {
        f[n].at = at;
        f[n].len = len;
        f[n].type = 0;
        if (len > SESSION_FRAME_HEADER)
            codec_session_type(t->p + at + 4, len - 4, &f[n].type);
        n++;
        at += len;
    }
    if (at != t->n)
        die("a transcript that is not whole frames");
    return n;
}

/* The transcript with frame `skip` left out, `dup` written twice, or `swap`
 * exchanged with the next (-1: none), and `insert` (n bytes) put before
 * frame `ins_at`. */
static bytes rebuild(const bytes *t, const frame *f, size_t nf, long skip, long dup, long swap,
                     long ins_at, const uint8_t *insert, size_t ins_n)
{
    bytes b = { 0 };
    for (size_t i = 0; i < nf; i++) {
        if ((long)i == ins_at)
            append(&b, insert, ins_n);
        if ((long)i == skip)
            continue;
        if ((long)i == swap && i + 1 < nf) {
            append(&b, t->p + f[i + 1].at, f[i + 1].len);
            append(&b, t->p + f[i].at, f[i].len);
            i++;
            continue;
        }
        append(&b, t->p + f[i].at, f[i].len);
        if ((long)i == dup)
            append(&b, t->p + f[i].at, f[i].len);
    }
    if (ins_at == (long)nf)
        append(&b, insert, ins_n);
    return b;
}

static long first_of(const frame *f, size_t nf, uint64_t type, size_t from)
{
    for (size_t i = from; i < nf; i++)
        if (f[i].type == type)
            return (long)i;
    return -1;
}

#define MAX_FRAMES 1024

static const uint8_t keepalive[4] = { 0, 0, 0, 0 };
/* ERROR 5 "bye": [1, 22, 5, "bye"] framed. */
static const uint8_t error_frame[] = { 0, 0, 0, 8, 0x94, 0x01, 0x16, 0x05, 0xa3, 'b', 'y', 'e' };
/* A header declaring SESSION_MAX_FRAME + 1 bytes. */
static const uint8_t huge_header[4] = { 0x00, 0x40, 0x00, 0x01 };

/* The whole transcript in several ways, then its mangled variants. */
static void emit_variants(const char *name, uint8_t cfg, const bytes *t, int full)
{
    char nm[256];
    static const uint8_t one[1] = { 0 };              /* byte by byte */
    static const uint8_t odd[3] = { 6, 200, 2 };       /* 7, 2304, 3 */
    static const uint8_t mid[2] = { 40, 0xc1 };        /* 41, 512 */

    snprintf(nm, sizeof nm, "%s", name);
    emit(nm, cfg, NULL, 0, t->p, t->n);
    if (!full)
        return;
    snprintf(nm, sizeof nm, "%s-bytewise", name);
    emit(nm, cfg, one, 1, t->p, t->n);
    snprintf(nm, sizeof nm, "%s-chunks-pump", name);
    emit(nm, cfg | 4, odd, 3, t->p, t->n);
    snprintf(nm, sizeof nm, "%s-chunks-pump-new-disconnect", name);
    emit(nm, cfg | 8 | 16, mid, 2, t->p, t->n);

    frame f[MAX_FRAMES];
    size_t nf = frames_of(t, f, MAX_FRAMES);
    if (nf < 2)
        return;
    /* Cuts: at the middle frame boundary, and 3 bytes into the frame after. */
    size_t half = f[nf / 2].at;
    snprintf(nm, sizeof nm, "%s-cut-at-frame", name);
    emit(nm, cfg, NULL, 0, t->p, half);
    snprintf(nm, sizeof nm, "%s-cut-in-frame", name);
    emit(nm, cfg | 16, NULL, 0, t->p, half + 3 < t->n ? half + 3 : t->n - 1);
    /* A byte flipped in the payload of the frame after the first. */
    bytes b = { 0 };
    append(&b, t->p, t->n);
    size_t victim = f[1].at + 4 + f[1].len / 2;
    if (victim < b.n) {
        b.p[victim] ^= 0x41;
        snprintf(nm, sizeof nm, "%s-flipped", name);
        emit(nm, cfg, NULL, 0, b.p, b.n);
    }
    free(b.p);

    long batch = first_of(f, nf, SESSION_BATCH, 0);
    long ack = first_of(f, nf, SESSION_ACK, 0);
    long status = first_of(f, nf, SESSION_STATUS, 0);
    long repair = first_of(f, nf, SESSION_REPAIR, 0);
    long want = first_of(f, nf, SESSION_WANT, 0);
    struct {
        const char *what;
        long skip, dup, swap, ins_at;
        const uint8_t *ins;
        size_t ins_n;
    } m[] = {
        { "no-hello", 0, -1, -1, -1, NULL, 0 },
        { "hello-twice", -1, 0, -1, -1, NULL, 0 },
        { "batch-dropped", batch, -1, -1, -1, NULL, 0 },
        { "batch-twice", -1, batch, -1, -1, NULL, 0 },
        { "batch-swapped", -1, -1, batch, -1, NULL, 0 },
        { "ack-dropped", ack, -1, -1, -1, NULL, 0 },
        { "ack-twice", -1, ack, -1, -1, NULL, 0 },
        { "status-twice", -1, status, -1, -1, NULL, 0 },
        { "repair-twice", -1, repair, -1, -1, NULL, 0 },
        { "want-twice", -1, want, -1, -1, NULL, 0 },
        { "keepalives", -1, -1, -1, 1, keepalive, 4 },
        { "error-inside", -1, -1, -1, (long)nf / 2, error_frame, sizeof error_frame },
        { "huge-frame", -1, -1, -1, 1, huge_header, sizeof huge_header },
    };
    for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
        if (m[i].skip < 0 && m[i].dup < 0 && m[i].swap < 0 && m[i].ins_at < 0)
            continue;                     /* no such frame in this one */
        bytes v = rebuild(t, f, nf, m[i].skip, m[i].dup, m[i].swap, m[i].ins_at, m[i].ins,
                          m[i].ins_n);
        snprintf(nm, sizeof nm, "%s-%s", name, m[i].what);
        emit(nm, cfg, NULL, 0, v.p, v.n);
        free(v.p);
    }
}

/* ---- the transcripts ----------------------------------------------------- */

static void client_side(void)
{
    /* a is the client; the peer relays. */
    static const peer_cfg dflt = { 0, 0, 0, NULL, 0 }, tight = { 120, 2, 0, NULL, 0 },
                          wide = { 4096, 64, 0, NULL, 0 };
    struct {
        const char *name;
        uint8_t cfg;
        int peer;              /* scenario index, -1 empty, -2 equivocating */
        const peer_cfg *pc;
        int live, full;
    } runs[] = {
        { "client-all-relay-b", 0, 1, &dflt, 0, 1 },
        { "client-all-relay-c", 0, 2, &tight, 0, 1 },
        { "client-all-relay-d", 0, 3, &wide, 0, 0 },
        { "client-all-relay-empty", 0, -1, &tight, 0, 1 },
        { "client-all-relay-equivocal", 0, -2, &dflt, 0, 1 },
        { "client-listed-relay-b", 2, 1, &dflt, 0, 1 },
        { "client-listed-relay-empty", 2, -1, &wide, 0, 0 },
        { "client-all-relay-b-live", 0, 1, &tight, 1, 1 },
    };
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        msglog *peer = runs[i].peer >= 0 ? scen_copy(runs[i].peer)
                     : runs[i].peer == -1 ? empty_store(50, "relay") : equivocating_store();
        int closed = 0;
        bytes t = transcript(runs[i].cfg, peer, runs[i].pc, runs[i].live ? live_write : NULL,
                             &closed);
        msglog_close(peer);
        if (closed)
            die("a's client session closed on a real transcript");
        emit_variants(runs[i].name, runs[i].cfg, &t, runs[i].full);
        free(t.p);
    }
}

static void relay_side(void)
{
    /* a relays; the peer is a device. */
    static const msglog_str gen_dm[] = { { "dm", 2 }, { "general", 7 } };
    static const msglog_str unknown[] = { { "nobody-has-it", 13 } };
    static const peer_cfg all = { 0, 0, 1, NULL, 0 }, tight = { 120, 2, 1, NULL, 0 },
                          some = { 4096, 64, 0, gen_dm, 2 }, none = { 0, 0, 0, unknown, 1 };
    struct {
        const char *name;
        int peer;
        const peer_cfg *pc;
        int live, full;
    } runs[] = {
        { "relay-device-b", 1, &all, 0, 1 },
        { "relay-device-c", 2, &tight, 0, 1 },
        { "relay-device-d", 3, &all, 0, 1 },           /* alice's other device */
        { "relay-device-b-listed", 1, &some, 0, 0 },
        { "relay-device-b-unknown-conv", 1, &none, 0, 0 },
        { "relay-device-empty", -1, &all, 0, 1 },
        { "relay-device-equivocal", -2, &tight, 0, 1 },
        { "relay-device-c-live", 2, &all, 1, 1 },
    };
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        msglog *peer = runs[i].peer >= 0 ? scen_copy(runs[i].peer)
                     : runs[i].peer == -1 ? empty_store(60, "dave") : equivocating_store();
        int closed = 0;
        bytes t = transcript(1, peer, runs[i].pc, runs[i].live ? live_write : NULL, &closed);
        msglog_close(peer);
        if (closed)
            die("a's relay session closed on a real transcript");
        emit_variants(runs[i].name, 1, &t, runs[i].full);
        free(t.p);
    }
}

/* Hand-made streams: empty, a lone header, the wrong first message. */
static void hand_made(void)
{
    static const uint8_t batch_first[] = {
        0, 0, 0, 14, 0x96, 0x01, 0x11, 0x01, 0xa7, 'g', 'e', 'n', 'e', 'r', 'a', 'l', 0xc2, 0x90 };
    static const uint8_t sync_type[] = { 0, 0, 0, 3, 0x92, 0x01, 0x01 };
    static const uint8_t version2[] = { 0, 0, 0, 3, 0x92, 0x02, 0x10 };
    emit("hand-empty-client", 0, NULL, 0, NULL, 0);
    emit("hand-empty-relay-disconnect", 1 | 16, NULL, 0, NULL, 0);
    emit("hand-huge-header-relay", 1, NULL, 0, huge_header, sizeof huge_header);
    emit("hand-keepalive-relay", 1, NULL, 0, keepalive, sizeof keepalive);
    emit("hand-error-first-client", 0, NULL, 0, error_frame, sizeof error_frame);
    emit("hand-batch-before-hello-relay", 1, NULL, 0, batch_first, sizeof batch_first);
    emit("hand-sync-type-relay", 1, NULL, 0, sync_type, sizeof sync_type);
    emit("hand-version-2-client", 0, NULL, 0, version2, sizeof version2);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_session_corpus OUTDIR\n");
        return 2;
    }
    snprintf(outdir, sizeof outdir, "%s", argv[1]);
    mkdir(outdir, 0755);
    char dir[8192];
    snprintf(dir, sizeof dir, "%s/" TARGET, outdir);
    rm_tree(dir);
    if (mkdir(dir, 0755))
        die(dir);

    const char *tmpbase = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/msglog-session-corpus-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmpbase ? tmpbase : "/tmp");
    if (!mkdtemp(tmp))
        die("mkdtemp");
    char tmpl[4200];
    snprintf(tmpl, sizeof tmpl, "%s/template", tmp);
    if (mkdir(tmpl, 0700))
        die(tmpl);
    if (scen_build(tmpl))
        die("the seed scenario failed");

    client_side();
    relay_side();
    hand_made();

    rm_tree(tmp);
    printf("make_session_corpus: %u seeds, %zu bytes in %s\n", n_seeds, seed_bytes, dir);
    return 0;
}
