/*
 * Writes the seed corpora of the four fuzz targets from real encodings:
 *
 *   make_corpus OUTDIR     -> OUTDIR/fuzz_op_decode/, fuzz_sync_decode/,
 *                             fuzz_receive/, fuzz_records/ (existing files
 *                             are replaced)
 *
 * It builds the seed scenario (fuzz/scenario.c) in a temporary directory and
 * takes from its four stores: every op of every kind as stored (deleted texts
 * erased), sync requests (all conversations, one conversation, an unknown
 * one) and the responses between every pair of replicas; then forged ops
 * (decoded, altered, re-encoded: an id reused with other content, edit,
 * delete and unreact by a non-author, targets that are not messages) and
 * hand-written hostile frames (huge declared sizes, unknown versions and
 * kinds, non-canonical forms, deep nesting, bad UTF-8, truncation).
 * fuzz_records gets every stored conversation and message record of the
 * four stores (read from LMDB once they are closed), records encoded with
 * the state encoders at the edges of their fields, and hand-written hostile
 * records.
 *
 * fuzz_receive seeds carry its selector byte first (see fuzz_receive.c):
 * 0 one op, 1 a batch of [u16 BE length][op], 2 a sync response,
 * 3 a sync request. Deterministic: the same tree gives the same files.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "codec/op_codec.h"
#include "crdt/hlc.h"
#include "codec/state_codec.h"
#include "fuzz/scenario.h"
#include "msglog.h"

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "make_corpus: %s\n", what);
    exit(1);
}

static _Noreturn void die_rc(const char *what, int rc)
{
    fprintf(stderr, "make_corpus: %s: %s\n", what, msglog_strerror(rc));
    exit(1);
}

/* ---- byte strings -------------------------------------------------------- */

typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static bytes dup_bytes(const void *p, size_t n)
{
    bytes b = { malloc(n ? n : 1), n };
    if (!b.p)
        die("out of memory");
    memcpy(b.p, p, n);
    return b;
}

static void append(bytes *b, const void *p, size_t n)
{
    uint8_t *q = realloc(b->p, b->n + n ? b->n + n : 1);
    if (!q)
        die("out of memory");
    memcpy(q + b->n, p, n);
    b->p = q;
    b->n += n;
}

/* ---- output -------------------------------------------------------------- */

static char outdir[4096];

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

static void emit(const char *target, const char *name, const void *p, size_t n)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f))
        die(path);
}

/* A fuzz_receive seed: selector byte, then the argument. */
static void emit_receive(const char *name, int mode, const void *p, size_t n)
{
    bytes b = dup_bytes((uint8_t[]){ (uint8_t)mode }, 1);
    append(&b, p, n);
    emit("fuzz_receive", name, b.p, b.n);
    free(b.p);
}

/* ---- ops of the scenario ------------------------------------------------- */

#define MAX_OPS 256

typedef struct sop {
    int store;            /* the replica that created it */
    char conv[64];
    msglog_id id;
    bytes enc;
} sop;

static sop ops[MAX_OPS];
static size_t n_ops;

static const char *kind_name(const bytes *enc)
{
    static const char *const names[] = { "?", "send", "edit", "delete", "react", "unreact", "read" };
    int k = enc->n > 2 ? enc->p[2] : 0;
    return k >= 1 && k <= 6 ? names[k] : "?";
}

/* Every op each store created itself, in every conversation it holds. */
static void collect(msglog *st[SCEN_N])
{
    for (int i = 0; i < SCEN_N; i++) {
        msglog_str *convs;
        size_t n;
        int rc = msglog_conversations(st[i], &convs, &n);
        if (rc)
            die_rc("msglog_conversations", rc);
        for (size_t c = 0; c < n; c++) {
            msglog_conv_info *ci;
            if ((rc = msglog_conv_info_get(st[i], &ci, convs[c].data, convs[c].len)))
                die_rc("msglog_conv_info_get", rc);
            uint64_t own = 0;
            for (size_t j = 0; j < ci->n_vv; j++)
                if (ci->vv[j].replica == scen_replica[i])
                    own = ci->vv[j].seq;
            msglog_free(ci);
            for (uint64_t s = 1; s <= own; s++) {
                if (n_ops == MAX_OPS)
                    die("too many ops");
                sop *o = &ops[n_ops++];
                o->store = i;
                snprintf(o->conv, sizeof o->conv, "%s", convs[c].data);
                o->id = (msglog_id){ scen_replica[i], s };
                void *p;
                size_t len;
                if ((rc = msglog_op_bytes(st[i], &p, &len, convs[c].data, convs[c].len, o->id)))
                    die_rc("msglog_op_bytes", rc);
                o->enc = dup_bytes(p, len);
                msglog_free(p);
            }
        }
        msglog_free(convs);
    }
}

static const sop *find(const char *conv, uint64_t r, uint64_t s)
{
    for (size_t i = 0; i < n_ops; i++)
        if (!strcmp(ops[i].conv, conv) && ops[i].id.replica == r && ops[i].id.seq == s)
            return &ops[i];
    die("an op of the scenario is missing");
    return NULL;
}

/* ---- forged ops: real ones decoded, altered, re-encoded ------------------- */

static uint64_t mallory_replica = 9;   /* the forger: a new replica per forgery */

static bytes forge(const sop *base, void (*alter)(op *))
{
    op o;
    int rc = codec_op_decode(&o, base->enc.p, base->enc.n);
    if (rc)
        die_rc("decoding a scenario op", rc);
    op_id *deps = o.deps, *refs = o.refs;   /* alter() may point elsewhere */
    mallory_replica++;
    alter(&o);
    uint8_t *p;
    size_t n;
    if ((rc = codec_op_encode(&p, &n, &o, 0)))
        die_rc("encoding a forged op", rc);
    o.deps = deps;
    o.refs = refs;
    codec_op_clear(&o);
    bytes b = dup_bytes(p, n);
    free(p);
    return b;
}

static const uint8_t mallory[] = "mallory";
static op_id one_ref[1] = { { 1, 3 } };

/* (1,1) "hello" again, with another text: an id reused. */
static void alt_equivocate(op *o) { o->body = (const uint8_t *)"HELLO"; o->body_len = 5; }
/* "mallory", seq 1 of a replica of its own (10, 11, ...), no deps. */
static void as_mallory(op *o)
{
    o->id = (op_id){ mallory_replica, 1 };
    o->user = mallory;
    o->user_len = sizeof mallory - 1;
    o->n_deps = 0;
}
static void alt_foreign_edit(op *o) { as_mallory(o); o->target = (op_id){ 1, 1 }; }
static void alt_foreign_delete(op *o) { as_mallory(o); o->target = (op_id){ 1, 1 }; }
/* Unreact naming alice's react (1,3) on (1,1). */
static void alt_foreign_unreact(op *o)
{
    as_mallory(o);
    o->target = (op_id){ 1, 1 };
    o->refs = one_ref;
    o->n_refs = 1;
}
static void alt_not_a_message(op *o) { as_mallory(o); o->target = (op_id){ 1, 4 }; }
static void alt_missing_target(op *o) { as_mallory(o); o->target = (op_id){ 77, 77 }; }
/* The largest valid hlc (above it, every decoder refuses the op). */
static void alt_max_hlc(op *o) { as_mallory(o); o->hlc = HLC_LIMIT - 1; }
static void alt_other_conv(op *o)
{
    as_mallory(o);
    o->conv = (const uint8_t *)"random";
    o->conv_len = 6;
}
/* Depends on an op that never comes. */
static void alt_never_ready(op *o)
{
    static op_id dep[1] = { { 8, 1000000 } };
    as_mallory(o);
    o->id.seq = 2;
    o->deps = dep;
    o->n_deps = 1;
}

/* Alice (the author of (1,1)) from devices of her own, for the pending
 * buffer: an edit of (1,1) that waits for an op that never comes, then a
 * delete of (1,1) that is ready - the delete must erase the pending edit. */
static const uint8_t alice[] = "alice";
static void as_alice(op *o)
{
    as_mallory(o);
    o->user = alice;
    o->user_len = sizeof alice - 1;
}
static void alt_alice_pending_edit(op *o)
{
    static op_id dep[1] = { { 21, 5 } };
    static const uint8_t text[] = "an edit that waits";
    as_alice(o);
    o->target = (op_id){ 1, 1 };
    o->deps = dep;
    o->n_deps = 1;
    o->n_refs = 0;
    o->body = text;
    o->body_len = sizeof text - 1;
}
/* hlc = (ms << 16) | counter (crdt/hlc.h): a day after the scenario. */
#define LATER_HLC ((SCEN_T0 + 86400000) << 16)
static void alt_alice_delete(op *o)
{
    as_alice(o);
    o->target = (op_id){ 1, 1 };
    o->hlc = LATER_HLC;
}
/* Waits on two missing sends, (40,1) and (41,1): woken by the first, it
 * must be parked again under the second. */
static void alt_two_missing(op *o)
{
    static op_id dep[2] = { { 40, 1 }, { 41, 1 } };
    as_mallory(o);
    o->target = (op_id){ 1, 2 };
    o->deps = dep;
    o->n_deps = 2;
}
static void alt_send_40(op *o)
{
    as_mallory(o);
    o->id = (op_id){ 40, 1 };
    o->hlc = LATER_HLC;
}
static void alt_send_41(op *o)
{
    as_mallory(o);
    o->id = (op_id){ 41, 1 };
    o->hlc = LATER_HLC + 1;
}
/* A react on b's (2,6), later than b's delete of it. */
static void alt_react_on_deleted(op *o)
{
    as_mallory(o);
    o->target = (op_id){ 2, 6 };
    o->hlc = LATER_HLC;
}

typedef struct forged {
    const char *name;
    const char *conv;
    uint64_t r, s;
    void (*alter)(op *);
} forged;

static const forged forgeries[] = {
    { "forged-equivocation-send", "general", 1, 1, alt_equivocate },
    { "forged-edit-by-non-author", "general", 2, 2, alt_foreign_edit },
    { "forged-delete-by-non-author", "general", 2, 8, alt_foreign_delete },
    { "forged-unreact-of-others", "general", 2, 4, alt_foreign_unreact },
    { "forged-react-target-not-a-message", "general", 2, 3, alt_not_a_message },
    { "forged-edit-missing-target", "general", 2, 2, alt_missing_target },
    { "forged-send-max-hlc", "general", 2, 1, alt_max_hlc },
    { "forged-read-other-conversation", "general", 2, 9, alt_other_conv },
    { "forged-send-never-ready", "general", 2, 1, alt_never_ready },
};
#define N_FORGED (sizeof forgeries / sizeof *forgeries)

/* ---- hostile frames ------------------------------------------------------ */

typedef struct raw {
    const char *name;
    const char *p;   /* bytes, as a C string literal */
    size_t n;
} raw;

#define RAW(name, lit) { name, lit, sizeof lit - 1 }

static const raw hostile_ops[] = {
    RAW("hostile-empty", ""),
    RAW("hostile-array32-4g", "\xdd\xff\xff\xff\xff"),
    RAW("hostile-array16-64k", "\xdc\xff\xff"),
    RAW("hostile-version-2-truncated", "\x99\x02\x01"),
    RAW("hostile-map32-4g", "\xdf\xff\xff\xff\xff"),
    RAW("hostile-bin32-4g", "\xc6\xff\xff\xff\xff"),
    RAW("hostile-reserved-c1", "\xc1"),
    RAW("hostile-version-2", "\x99\x02\x01\xc0\xc0\xc0\xc0\xc0\xc0\xc0"),
    RAW("hostile-version-huge", "\x99\xcf\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
    RAW("hostile-kind-7", "\x92\x01\x07"),
    RAW("hostile-kind-0", "\x99\x01\x00\xc0\xc0\xc0\xc0\xc0\xc0\xc0"),
    RAW("hostile-send-wrong-length", "\x9a\x01\x01\xa1g\x01\x01\x00\xa1u\x90\xa0\xc0"),
    RAW("hostile-send-noncanonical-seq", "\x99\x01\x01\xa1g\x01\xcc\x05\x00\xa1u\x90\xa0"),
    RAW("hostile-send-zero-replica", "\x99\x01\x01\xa1g\x00\x01\x00\xa1u\x90\xa0"),
    RAW("hostile-send-bad-utf8-conv", "\x99\x01\x01\xa2\xc3\x28\x01\x01\x00\xa1u\x90\xa0"),
    RAW("hostile-send-deps-odd", "\x99\x01\x01\xa1g\x01\x02\x00\xa1u\x91\x01\xa0"),
    RAW("hostile-send-deps-nested", "\x99\x01\x01\xa1g\x01\x02\x00\xa1u"
                                    "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x90\xa0"),
    RAW("hostile-send-deps-claim-4g", "\x99\x01\x01\xa1g\x01\x02\x00\xa1u\xdd\xff\xff\xff\xff\xa0"),
    RAW("hostile-send-erased-15", "\x99\x01\x01\xa1g\x01\x01\x00\xa1u\x90"
                                  "\xc4\x0f" "0123456789abcde"),
    RAW("hostile-send-erased-bin16", "\x99\x01\x01\xa1g\x01\x01\x00\xa1u\x90"
                                     "\xc5\x00\x10" "0123456789abcdef"),
    RAW("hostile-send-body-truncated", "\x99\x01\x01\xa1g\x01\x01\x00\xa1u\x90\xd9\xff" "abc"),
    RAW("hostile-send-trailing", "\x99\x01\x01\xa1g\x01\x01\x00\xa1u\x90\xa0\x00"),
    RAW("hostile-send-negative-hlc", "\x99\x01\x01\xa1g\x01\x01\xff\xa1u\x90\xa0"),
    RAW("hostile-edit-zero-target", "\x9c\x01\x02\xa1g\x01\x02\x00\xa1u\x90\x00\x01\xa0\x90"),
    RAW("hostile-react-empty-key", "\x9b\x01\x04\xa1g\x01\x02\x00\xa1u\x90\x01\x01\xa0"),
};
#define N_HOSTILE_OPS (sizeof hostile_ops / sizeof *hostile_ops)

static const raw *hostile_op(const char *name)
{
    for (size_t i = 0; i < N_HOSTILE_OPS; i++)
        if (!strcmp(hostile_ops[i].name, name))
            return &hostile_ops[i];
    die(name);
}

static const raw hostile_sync[] = {
    RAW("hostile-response-array32-4g", "\x93\x01\x02\xdd\xff\xff\xff\xff"),
    RAW("hostile-response-bin32-4g", "\x93\x01\x02\x91\xc6\xff\xff\xff\xff"),
    RAW("hostile-response-str-entry", "\x93\x01\x02\x91\xa1\x41"),
    RAW("hostile-response-wrong-length", "\x94\x01\x02\x90\x90"),
    RAW("hostile-response-nested", "\x93\x01\x02\x91\x91\x91\x91\x91\x91\x91\x91\x91\x90"),
    RAW("hostile-request-array32-4g", "\x94\x01\x01\xc3\xdd\xff\xff\xff\xff"),
    RAW("hostile-request-vv-4g", "\x94\x01\x01\xc2\x91\x92\xa1g\xdd\xff\xff\xff\xff"),
    RAW("hostile-request-version-2", "\x94\x02\x01\xc3\x90"),
    RAW("hostile-request-type-3", "\x94\x01\x03\xc3\x90"),
    RAW("hostile-request-nil-bool", "\x94\x01\x01\xc0\x90"),
    RAW("hostile-request-odd-vv", "\x94\x01\x01\xc2\x91\x92\xa1g\x91\x01"),
    RAW("hostile-request-zero-in-vv", "\x94\x01\x01\xc2\x91\x92\xa1g\x92\x00\x01"),
    RAW("hostile-request-empty-conv", "\x94\x01\x01\xc2\x91\x92\xa0\x90"),
    RAW("hostile-request-truncated", "\x94\x01\x01\xc2\x91\x92\xa7gene"),
};
#define N_HOSTILE_SYNC (sizeof hostile_sync / sizeof *hostile_sync)

/* ---- stored records (fuzz_records) -------------------------------------- */

/* Every value of `table` in the closed store root/<store>, as seeds
 * <prefix>-<store>-<n> in key order. Read with LMDB directly: the API hands
 * out no raw records. Each must decode, or the seed would not be what its
 * name says. */
static void emit_table(const char *root, int store, const char *table, int is_conv)
{
    char path[4096], name[256];
    snprintf(path, sizeof path, "%s/%s", root, scen_name[store]);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 32) ||
        mdb_env_open(env, path, MDB_RDONLY, 0600) ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open(txn, table, 0, &dbi) ||
        mdb_cursor_open(txn, dbi, &cur))
        die("reading a store's records");
    int n = 0;
    for (MDB_cursor_op op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
        conv_state c;
        msg_state m;
        int rc = is_conv ? codec_conv_decode(&c, v.mv_data, v.mv_size)
                         : codec_msg_decode(&m, v.mv_data, v.mv_size);
        if (rc)
            die("a stored record does not decode");
        if (is_conv)
            conv_free(&c);
        else
            msg_free(&m);
        snprintf(name, sizeof name, "%s-%s-%d", is_conv ? "conv" : "msg", scen_name[store], n++);
        emit("fuzz_records", name, v.mv_data, v.mv_size);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

static void emit_conv(const char *name, const conv_state *c)
{
    uint8_t *p;
    size_t n;
    if (codec_conv_encode(&p, &n, c))
        die("codec_conv_encode");
    emit("fuzz_records", name, p, n);
    free(p);
}

static void emit_msg(const char *name, const msg_state *m)
{
    uint8_t *p;
    size_t n;
    if (codec_msg_encode(&p, &n, m))
        die("codec_msg_encode");
    emit("fuzz_records", name, p, n);
    free(p);
}

static void add_read(conv_state *c, const char *user, uint64_t hlc, op_id msg)
{
    read_marker *r = realloc(c->reads, (c->n_reads + 1) * sizeof *r);
    if (!r)
        die("out of memory");
    c->reads = r;
    r += c->n_reads++;
    r->user_len = strlen(user);
    r->user = dup_bytes(user, r->user_len).p;
    r->hlc = hlc;
    r->msg = msg;
}

static void add_reaction(msg_state *m, const char *key, const char *user, op_id live)
{
    reaction *r = realloc(m->reactions, (m->n_reactions + 1) * sizeof *r);
    if (!r)
        die("out of memory");
    m->reactions = r;
    r += m->n_reactions++;
    memset(r, 0, sizeof *r);
    r->key_len = strlen(key);
    r->key = dup_bytes(key, r->key_len).p;
    r->user_len = strlen(user);
    r->user = dup_bytes(user, r->user_len).p;
    if (ids_add(&r->live, live))
        die("out of memory");
}

/* A user name of n bytes: past 31 it takes a str8 header. */
static const char long_name[] = "a-user-name-of-forty-bytes-0123456789abc";

/* Records at the edges of their fields, from the encoders: every uint
 * width, empty and str8 strings, array16 counts (over 15 elements). */
static void emit_edge_records(void)
{
    conv_state c = { 0 };
    emit_conv("edge-conv-empty", &c);
    c.cid = UINT32_MAX;
    c.maxhlc = UINT64_MAX;
    c.pending = 0x10000;
    c.n_messages = 0x100;
    c.dig = (digest){ UINT64_MAX, 1 };
    for (uint64_t r = 1; r <= 20; r++)
        if (vv_set(&c.delivered, (UINT64_C(1) << (3 * r)) - 1, UINT64_MAX >> (3 * r)) ||
            (r <= 2 && vv_set(&c.own_ctx, r, 0x80)))
            die("out of memory");
    for (int i = 0; i < 17; i++) {
        char u[64];
        snprintf(u, sizeof u, "%s%02d", i == 16 ? long_name : "u", i);
        add_read(&c, i == 0 ? "" : u, (uint64_t)i << 40, (op_id){ 1, (uint64_t)i + 1 });
    }
    emit_conv("edge-conv-wide", &c);
    conv_free(&c);

    msg_state m;
    if (msg_init(&m, (const uint8_t *)"", 0))
        die("out of memory");
    emit_msg("edge-msg-empty-author", &m);
    msg_free(&m);
    if (msg_init(&m, (const uint8_t *)long_name, strlen(long_name)))
        die("out of memory");
    m.deleted = m.edited = m.has_best = 1;
    m.best = (op_id){ UINT64_MAX, 0x10000 };
    m.best_hlc = UINT64_MAX;
    for (uint64_t i = 1; i <= 20; i++)
        if (ids_add(&m.edits, (op_id){ i, i << 20 }) ||
            (i <= 2 && ids_add(&m.heads, (op_id){ i, i << 20 })))
            die("out of memory");
    add_reaction(&m, "", "", (op_id){ 1, 1 });
    add_reaction(&m, "\xf0\x9f\x91\x8d", long_name, (op_id){ 0x100000000, 2 });
    emit_msg("edge-msg-wide", &m);
    msg_free(&m);
}

/* Hand-written records, each wrong (or odd) in one way. A good conversation
 * record is 99 01 07 90 90 00 00 00 c4 10 <16 bytes> 90, a good message
 * record 97 01 a1 61 00 c0 90 90 90. */
static const raw hostile_records[] = {
    RAW("hostile-empty", ""),
    RAW("hostile-conv-ok", "\x99\x01\x07\x90\x90\x00\x00\x00\xc4\x10"
                           "0123456789abcdef\x90"),
    RAW("hostile-msg-ok", "\x97\x01\xa1\x61\x00\xc0\x90\x90\x90"),
    /* Flags are a uint: bits above 1 decode, and re-encoding drops them. */
    RAW("hostile-msg-flags-4", "\x97\x01\xa1\x61\x04\xc0\x90\x90\x90"),
    RAW("hostile-msg-flags-uint8", "\x97\x01\xa1\x61\xcc\xff\xc0\x90\x90\x90"),
    RAW("hostile-msg-flags-uint64", "\x97\x01\xa1\x61\xcf\x80\x00\x00\x00\x00\x00\x00"
                                    "\x02\xc0\x90\x90\x90"),
    RAW("hostile-conv-version-2", "\x99\x02\x07\x90\x90\x00\x00\x00\xc4\x10"
                                  "0123456789abcdef\x90"),
    RAW("hostile-msg-version-2", "\x97\x02\xa1\x61\x00\xc0\x90\x90\x90"),
    RAW("hostile-version-2-truncated", "\x99\x02"),
    RAW("hostile-version-uint8", "\x97\xcc\x01\xa1\x61\x00\xc0\x90\x90\x90"),
    RAW("hostile-conv-cid-33-bits", "\x99\x01\xcf\x00\x00\x00\x01\x00\x00\x00\x00\x90\x90"
                                    "\x00\x00\x00\xc4\x10" "0123456789abcdef\x90"),
    RAW("hostile-conv-vv-4g", "\x99\x01\x07\xdd\xff\xff\xff\xff"),
    RAW("hostile-conv-vv-odd", "\x99\x01\x07\x91\x01\x90\x00\x00\x00\xc4\x10"
                               "0123456789abcdef\x90"),
    RAW("hostile-conv-vv-zero", "\x99\x01\x07\x92\x01\x00\x90\x00\x00\x00\xc4\x10"
                                "0123456789abcdef\x90"),
    RAW("hostile-conv-digest-17", "\x99\x01\x07\x90\x90\x00\x00\x00\xc4\x11"
                                  "0123456789abcdefg\x90"),
    RAW("hostile-conv-digest-bin32-4g", "\x99\x01\x07\x90\x90\x00\x00\x00\xc6\xff\xff\xff\xff"),
    RAW("hostile-conv-reads-4g", "\x99\x01\x07\x90\x90\x00\x00\x00\xc4\x10"
                                 "0123456789abcdef\xdd\xff\xff\xff\xff"),
    RAW("hostile-conv-read-of-3", "\x99\x01\x07\x90\x90\x00\x00\x00\xc4\x10"
                                  "0123456789abcdef\x91\x93\xa1\x62\x01\x01"),
    RAW("hostile-conv-trailing", "\x99\x01\x07\x90\x90\x00\x00\x00\xc4\x10"
                                 "0123456789abcdef\x90\x00"),
    RAW("hostile-msg-author-str32-4g", "\x97\x01\xdb\xff\xff\xff\xff"),
    RAW("hostile-msg-author-str8-short", "\x97\x01\xd9\x01\x61\x00\xc0\x90\x90\x90"),
    RAW("hostile-msg-best-nested", "\x97\x01\xa1\x61\x00\x91\x91\x91\x91\x91\x91\x91"
                                   "\x91\x91\x90\x90\x90\x90"),
    RAW("hostile-msg-best-of-2", "\x97\x01\xa1\x61\x00\x92\x01\x02\x90\x90\x90"),
    RAW("hostile-msg-reactions-4g", "\x97\x01\xa1\x61\x00\xc0\x90\x90\xdd\xff\xff\xff\xff"),
    RAW("hostile-msg-reactions-16-claimed", "\x97\x01\xa1\x61\x00\xc0\x90\x90\xdc\x00\x10"
                                            "\x93\xa0\xa0\x90"),
    RAW("hostile-msg-reaction-live-odd", "\x97\x01\xa1\x61\x00\xc0\x90\x90\x91\x93\xa1\x6b"
                                         "\xa1\x75\x91\x01"),
    RAW("hostile-msg-edits-noncanonical", "\x97\x01\xa1\x61\x00\xc0\x90\xdc\x00\x02\x01\x01\x90"),
};
#define N_HOSTILE_RECORDS (sizeof hostile_records / sizeof *hostile_records)

static void emit_records(const char *root)
{
    for (int i = 0; i < SCEN_N; i++) {
        emit_table(root, i, "conv_state", 1);
        emit_table(root, i, "msgs", 0);
    }
    emit_edge_records();
    for (size_t i = 0; i < N_HOSTILE_RECORDS; i++)
        emit("fuzz_records", hostile_records[i].name, hostile_records[i].p, hostile_records[i].n);
}

/* ---- batches --------------------------------------------------------------- */

static void batch_add(bytes *b, const bytes *op)
{
    uint8_t head[2] = { (uint8_t)(op->n >> 8), (uint8_t)op->n };
    append(b, head, 2);
    append(b, op->p, op->n);
}

static uint32_t rng = 12345;

static uint32_t next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 16;
}

/* ---- main ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus OUTDIR\n");
        return 2;
    }
    snprintf(outdir, sizeof outdir, "%s", argv[1]);
    const char *targets[] = { "fuzz_op_decode", "fuzz_sync_decode", "fuzz_receive",
                              "fuzz_records" };
    mkdir(outdir, 0755);
    for (int t = 0; t < 4; t++) {
        char dir[8192];
        snprintf(dir, sizeof dir, "%s/%s", outdir, targets[t]);
        rm_tree(dir);
        if (mkdir(dir, 0755))
            die(dir);
    }

    const char *tmpbase = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/msglog-corpus-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmpbase ? tmpbase : "/tmp");
    if (!mkdtemp(tmp))
        die("mkdtemp");
    if (scen_build(tmp))
        die("the seed scenario failed");

    msglog *st[SCEN_N];
    int rc;
    for (int i = 0; i < SCEN_N; i++)
        if ((rc = scen_open(&st[i], tmp, i, NULL)))
            die_rc("scen_open", rc);
    collect(st);

    char name[256];
    /* Ops: the op decoder and receive (other replicas' ops are news to a). */
    for (size_t i = 0; i < n_ops; i++) {
        const sop *o = &ops[i];
        snprintf(name, sizeof name, "op-%s-%s-%llu-%llu-%s", scen_name[o->store], o->conv,
                 (unsigned long long)o->id.replica, (unsigned long long)o->id.seq,
                 kind_name(&o->enc));
        emit("fuzz_op_decode", name, o->enc.p, o->enc.n);
        if (o->store != 0)
            emit_receive(name, 0, o->enc.p, o->enc.n);
    }
    for (size_t i = 0; i < N_FORGED; i++) {
        const forged *f = &forgeries[i];
        bytes b = forge(find(f->conv, f->r, f->s), f->alter);
        emit("fuzz_op_decode", f->name, b.p, b.n);
        emit_receive(f->name, 0, b.p, b.n);
        free(b.p);
    }
    for (size_t i = 0; i < N_HOSTILE_OPS; i++) {
        const raw *h = &hostile_ops[i];
        emit("fuzz_op_decode", h->name, h->p, h->n);
        emit_receive(h->name, 0, h->p, h->n);
    }
    {
        /* deps over the 4096-pair limit: CODEC_ELIMIT. */
        bytes b = dup_bytes("\x99\x01\x01\xa1g\x01\x02\x00\xa1u\xdc\x20\x02", 13);
        for (int i = 0; i < 8194; i++)
            append(&b, "\x01", 1);
        append(&b, "\xa0", 1);
        emit("fuzz_op_decode", "hostile-send-deps-over-limit", b.p, b.n);
        free(b.p);
    }

    /* Sync requests from every store: all conversations, each known one,
     * an unknown one. */
    for (int i = 0; i < SCEN_N; i++) {
        const char *convs[] = { NULL, "general", "dm", "nowhere" };
        for (int c = 0; c < 4; c++) {
            if (c == 2 && i != 1)
                continue;
            void *p;
            size_t n;
            if ((rc = msglog_sync_request(st[i], &p, &n, convs[c], convs[c] ? strlen(convs[c]) : 0)))
                die_rc("msglog_sync_request", rc);
            snprintf(name, sizeof name, "request-%s-%s", scen_name[i], convs[c] ? convs[c] : "all");
            emit("fuzz_sync_decode", name, p, n);
            emit_receive(name, 3, p, n);
            msglog_free(p);
        }
    }
    /* Responses between every pair: what y lacks of x. */
    for (int x = 0; x < SCEN_N; x++) {
        for (int y = 0; y < SCEN_N; y++) {
            if (x == y)
                continue;
            void *req, *p;
            size_t req_n, n;
            if ((rc = msglog_sync_request(st[y], &req, &req_n, NULL, 0)) ||
                (rc = msglog_sync_response(st[x], &p, &n, req, req_n)))
                die_rc("sync", rc);
            snprintf(name, sizeof name, "response-%s-to-%s", scen_name[x], scen_name[y]);
            emit("fuzz_sync_decode", name, p, n);
            if (y == 0 || x == 0)
                emit_receive(name, 2, p, n);
            msglog_free(req);
            msglog_free(p);
        }
    }
    {
        /* A response holding forged ops and one corrupt op. */
        codec_bytes e[3];
        bytes f1 = forge(find("general", 2, 2), alt_foreign_edit);
        bytes f2 = forge(find("general", 1, 1), alt_equivocate);
        e[0] = (codec_bytes){ f1.p, f1.n };
        e[1] = (codec_bytes){ f2.p, f2.n };
        const raw *v2 = hostile_op("hostile-version-2");
        e[2] = (codec_bytes){ (const uint8_t *)v2->p, v2->n };
        uint8_t *p;
        size_t n;
        if ((rc = codec_sync_response_encode(&p, &n, e, 2)))
            die_rc("codec_sync_response_encode", rc);
        emit("fuzz_sync_decode", "response-forged", p, n);
        emit_receive("response-forged", 2, p, n);
        free(p);
        if ((rc = codec_sync_response_encode(&p, &n, e, 3)))
            die_rc("codec_sync_response_encode", rc);
        emit("fuzz_sync_decode", "response-forged-and-corrupt", p, n);
        emit_receive("response-forged-and-corrupt", 2, p, n);
        free(p);
        if ((rc = codec_sync_response_encode(&p, &n, NULL, 0)))
            die_rc("codec_sync_response_encode", rc);
        emit("fuzz_sync_decode", "response-empty", p, n);
        emit_receive("response-empty", 2, p, n);
        free(p);
        free(f1.p);
        free(f2.p);
    }
    for (size_t i = 0; i < N_HOSTILE_SYNC; i++) {
        const raw *h = &hostile_sync[i];
        emit("fuzz_sync_decode", h->name, h->p, h->n);
        emit_receive(h->name, strncmp(h->name, "hostile-request", 15) ? 2 : 3, h->p, h->n);
    }

    /* Batches for receive: each replica's ops of a conversation, in order,
     * reversed, and shuffled; then b's general ops with a corrupt op among
     * them (refused whole), and b's with the forgeries. */
    for (int i = 1; i < SCEN_N; i++) {
        const char *convs[] = { "general", "dm", "c-only" };
        for (int c = 0; c < 3; c++) {
            size_t idx[MAX_OPS], k = 0;
            for (size_t j = 0; j < n_ops; j++)
                if (ops[j].store == i && !strcmp(ops[j].conv, convs[c]))
                    idx[k++] = j;
            if (k == 0)
                continue;
            for (int order = 0; order < 3; order++) {
                if (order == 1)
                    for (size_t j = 0; j < k / 2; j++) {
                        size_t t = idx[j];
                        idx[j] = idx[k - 1 - j];
                        idx[k - 1 - j] = t;
                    }
                if (order == 2)
                    for (size_t j = k; j > 1; j--) {
                        size_t r = next_rand() % j, t = idx[j - 1];
                        idx[j - 1] = idx[r];
                        idx[r] = t;
                    }
                bytes b = { NULL, 0 };
                for (size_t j = 0; j < k; j++)
                    batch_add(&b, &ops[idx[j]].enc);
                static const char *const orders[] = { "in-order", "reversed", "shuffled" };
                snprintf(name, sizeof name, "batch-%s-%s-%s", scen_name[i], convs[c], orders[order]);
                emit_receive(name, 1, b.p, b.n);
                free(b.p);
            }
        }
    }
    {
        bytes b = { NULL, 0 }, bad = dup_bytes(hostile_op("hostile-send-noncanonical-seq")->p,
                                            hostile_op("hostile-send-noncanonical-seq")->n);
        for (uint64_t s = 6; s <= 8; s++)
            batch_add(&b, &find("general", 2, s)->enc);
        batch_add(&b, &bad);
        emit_receive("batch-b-general-with-corrupt", 1, b.p, b.n);
        free(b.p);
        free(bad.p);
        b = (bytes){ NULL, 0 };
        for (uint64_t s = 6; s <= 8; s++)
            batch_add(&b, &find("general", 2, s)->enc);
        for (size_t i = 0; i < N_FORGED; i++) {
            bytes f = forge(find(forgeries[i].conv, forgeries[i].r, forgeries[i].s),
                            forgeries[i].alter);
            batch_add(&b, &f);
            free(f.p);
        }
        emit_receive("batch-b-general-with-forgeries", 1, b.p, b.n);
        free(b.p);
    }
    {
        /* The pending buffer: an edit erased while it waits, an op parked
         * again under its next missing dependency, a react on a deleted
         * message. */
        bytes e = forge(find("general", 2, 2), alt_alice_pending_edit);
        bytes d = forge(find("general", 2, 8), alt_alice_delete);
        bytes b = { NULL, 0 };
        batch_add(&b, &e);
        batch_add(&b, &d);
        emit_receive("batch-pending-edit-then-delete", 1, b.p, b.n);
        free(b.p);
        free(e.p);
        free(d.p);

        bytes x = forge(find("general", 2, 3), alt_two_missing);
        bytes s40 = forge(find("general", 2, 1), alt_send_40);
        bytes s41 = forge(find("general", 2, 1), alt_send_41);
        b = (bytes){ NULL, 0 };
        batch_add(&b, &x);
        batch_add(&b, &s40);
        emit_receive("batch-two-missing-deps", 1, b.p, b.n);
        free(b.p);
        b = (bytes){ NULL, 0 };
        batch_add(&b, &x);
        batch_add(&b, &s40);
        batch_add(&b, &s41);
        emit_receive("batch-two-missing-deps-both", 1, b.p, b.n);
        free(b.p);
        free(x.p);
        free(s40.p);
        free(s41.p);

        bytes r = forge(find("general", 2, 3), alt_react_on_deleted);
        b = (bytes){ NULL, 0 };
        for (uint64_t s = 6; s <= 8; s++)
            batch_add(&b, &find("general", 2, s)->enc);
        batch_add(&b, &r);
        emit_receive("batch-react-on-deleted", 1, b.p, b.n);
        free(b.p);
        free(r.p);
    }

    for (int i = 0; i < SCEN_N; i++)
        msglog_close(st[i]);
    emit_records(tmp);
    for (size_t i = 0; i < n_ops; i++)
        free(ops[i].enc.p);
    rm_tree(tmp);
    return 0;
}
