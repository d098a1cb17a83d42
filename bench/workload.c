/* The seeded workload generator (see workload.h for what it simulates). */
#include "workload.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/hlc.h"
#include "crdt/op.h"

/* "+1", red heart, party popper, eyes, tears of joy: sorted bytewise (=
 * code point order), the order the view JSON lists them in. */
const char *const wl_keys[WL_KEYS] = { "+1", "\xe2\x9d\xa4\xef\xb8\x8f", "\xf0\x9f\x8e\x89",
                                       "\xf0\x9f\x91\x80", "\xf0\x9f\x98\x82" };
const uint8_t wl_user_of[WL_REPLICAS + 1] = { 0, 1, 1, 2, 3, 4, 5, 6, 6 };

static const char *const user_names[WL_USERS + 1] = { "", "u1", "u2", "u3", "u4", "u5", "u6" };

/* Words for bodies; a few multi-byte ones so that UTF-8 goes through. */
static const char *const words[] = {
    "the", "meeting", "is", "at", "nine", "tomorrow", "can", "you", "bring", "slides",
    "lunch", "sounds", "good", "see", "there", "thanks", "for", "update", "build",
    "passed", "again", "deploy", "after", "review", "weekend", "plans", "train",
    "late", "coffee", "later", "ok", "sure", "maybe", "ticket", "merged", "branch",
    "friday", "call", "me", "when", "free", "photo", "from", "trip", "nice", "great",
    "idea", "let's", "do", "it", "we", "should", "talk", "about", "budget", "café",
    "naïve", "über", "\xf0\x9f\x99\x82", "\xf0\x9f\x9a\x80", "\xe2\x9c\x85",
};
#define N_WORDS (sizeof words / sizeof words[0])

/* ---- growable buffers ------------------------------------------------- */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        bench_die("out of memory (%zu bytes)", n);
    return q;
}

static void bytes_reserve(wl_bytes *b, size_t more)
{
    if (b->n + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->n + more)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static size_t bytes_append(wl_bytes *b, const void *p, size_t n)
{
    bytes_reserve(b, n);
    size_t off = b->n;
    memcpy(b->p + off, p, n);
    b->n += n;
    return off;
}

static void list_push(u32list *l, uint32_t v)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = v;
}

/* Removes v, searched from the end (targets lean to recent entries). */
static void list_remove(u32list *l, uint32_t v)
{
    for (size_t i = l->n; i-- > 0;)
        if (l->v[i] == v) {
            memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof *l->v);
            l->n--;
            return;
        }
    bench_die("workload: message %u missing from a list", v);
}

static void list_copy(u32list *dst, const u32list *src)
{
    dst->n = src->n;
    dst->cap = src->n ? src->n : 16;
    dst->v = xrealloc(NULL, dst->cap * sizeof *dst->v);
    memcpy(dst->v, src->v, src->n * sizeof *src->v);
}

/* The j-th newest entry, j exponential with the given mean. */
static uint32_t pick_recent(wl *w, const u32list *l, double mean)
{
    double x = -log(brng_unit(&w->rng)) * mean;
    size_t j = x >= (double)l->n ? l->n - 1 : (size_t)x;
    return l->v[l->n - 1 - j];
}

/* ---- lifecycle -------------------------------------------------------- */

wl *wl_new(uint64_t seed)
{
    wl *w = calloc(1, sizeof *w);
    if (!w)
        bench_die("out of memory");
    brng_seed(&w->rng, seed);
    w->t_ms = 1700000000000ULL;
    for (int r = 1; r <= WL_REPLICAS; r++)
        w->creators[w->n_creators++] = (uint8_t)r;
    for (int u = 0; u <= WL_USERS; u++)
        w->read[u] = -1;
    return w;
}

void wl_free(wl *w)
{
    if (!w)
        return;
    free(w->msgs);
    free(w->seen.v);
    free(w->live.v);
    for (int u = 0; u <= WL_USERS; u++)
        free(w->own[u].v);
    free(w->text.p);
    free(w->ops);
    free(w->enc.p);
    free(w);
}

void wl_set_creators(wl *w, const uint8_t *replicas, size_t n)
{
    memcpy(w->creators, replicas, n);
    w->n_creators = n;
}

wl *wl_fork(const wl *base, int side, uint64_t seed, size_t reserve)
{
    wl *w = calloc(1, sizeof *w);
    if (!w)
        bench_die("out of memory");
    brng_seed(&w->rng, seed);
    w->t_ms = base->t_ms;
    w->maxhlc = base->maxhlc;
    memcpy(w->vv, base->vv, sizeof w->vv);
    memcpy(w->ctx, base->ctx, sizeof w->ctx);
    for (int r = 1; r <= WL_REPLICAS; r++)
        if ((wl_user_of[r] <= WL_USERS / 2) == (side == 0))
            w->creators[w->n_creators++] = (uint8_t)r;
    w->cap_msgs = base->n_msgs + reserve + 1024;
    w->msgs = xrealloc(NULL, w->cap_msgs * sizeof *w->msgs);
    memcpy(w->msgs, base->msgs, base->n_msgs * sizeof *w->msgs);
    w->n_msgs = base->n_msgs;
    for (size_t i = 0; i < reserve; i++)
        w->msgs[w->n_msgs++] = (wl_msg){ .foreign = 1 };
    list_copy(&w->seen, &base->seen);
    list_copy(&w->live, &base->live);
    for (int u = 0; u <= WL_USERS; u++) {
        list_copy(&w->own[u], &base->own[u]);
        w->read[u] = base->read[u];
    }
    bytes_reserve(&w->text, base->text.n);
    bytes_append(&w->text, base->text.p, base->text.n);
    return w;
}

void wl_diverge(const wl *base, size_t k, uint64_t seed, wl **a, wl **b)
{
    *a = wl_fork(base, 0, seed * 1000003 + 0xA, 0);
    wl_run(*a, k, 0);
    *b = wl_fork(base, 1, seed * 1000003 + 0xB, (*a)->n_msgs - base->n_msgs);
    wl_run(*b, k, 0);
}

/* ---- making one op ---------------------------------------------------- */

static size_t make_body(wl *w, uint16_t *len_out)
{
    char buf[128];
    size_t want = 60 + brng_below(&w->rng, 41), n = 0;
    for (;;) {
        const char *word = words[brng_below(&w->rng, N_WORDS)];
        size_t wn = strlen(word);
        if (n + (n ? 1 : 0) + wn > want)
            break;
        if (n)
            buf[n++] = ' ';
        memcpy(buf + n, word, wn);
        n += wn;
    }
    while (n < want)
        buf[n++] = '.';
    *len_out = (uint16_t)n;
    w->raw_body_bytes += n;
    return bytes_append(&w->text, buf, n);
}

static wl_op *new_op(wl *w)
{
    if (w->n_ops == w->cap_ops) {
        w->cap_ops = w->cap_ops ? w->cap_ops * 2 : 4096;
        w->ops = xrealloc(w->ops, w->cap_ops * sizeof *w->ops);
    }
    wl_op *o = &w->ops[w->n_ops++];
    memset(o, 0, sizeof *o);
    return o;
}

static uint32_t new_msg(wl *w)
{
    if (w->n_msgs == w->cap_msgs) {
        w->cap_msgs = w->cap_msgs ? w->cap_msgs * 2 : 4096;
        w->msgs = xrealloc(w->msgs, w->cap_msgs * sizeof *w->msgs);
    }
    memset(&w->msgs[w->n_msgs], 0, sizeof *w->msgs);
    return (uint32_t)w->n_msgs++;
}

/* Stamps, encodes and records op `o` of replica r. */
static void emit(wl *w, wl_op *o, uint8_t r, uint8_t key, uint32_t ref_seq, uint8_t ref_replica)
{
    op_id deps[WL_REPLICAS];
    size_t n_deps = 0;
    for (int q = 1; q <= WL_REPLICAS; q++)
        if (q != r && w->vv[q] > w->ctx[r][q])
            deps[n_deps++] = (op_id){ (uint64_t)q, w->vv[q] };
    w->t_ms += 1 + brng_below(&w->rng, 4);
    uint64_t hlc = hlc_next(w->t_ms, w->maxhlc);
    uint64_t seq = w->vv[r] + 1;

    const char *user = user_names[wl_user_of[r]];
    op e;
    memset(&e, 0, sizeof e);
    e.kind = o->kind;
    e.conv = (const uint8_t *)WL_CONV;
    e.conv_len = WL_CONV_LEN;
    e.id = (op_id){ r, seq };
    e.hlc = hlc;
    e.user = (const uint8_t *)user;
    e.user_len = strlen(user);
    e.deps = deps;
    e.n_deps = n_deps;
    op_id ref = { ref_replica, ref_seq };
    if (o->kind != OP_SEND) {
        const wl_msg *m = &w->msgs[o->msg];
        e.target = (op_id){ m->replica, m->seq };
    }
    if (o->kind == OP_SEND || o->kind == OP_EDIT) {
        e.body = w->text.p + o->body_off;
        e.body_len = o->body_len;
    }
    if (o->kind == OP_REACT) {
        e.key = (const uint8_t *)wl_keys[key];
        e.key_len = strlen(wl_keys[key]);
    }
    if (o->kind == OP_EDIT && ref_seq) {
        e.refs = &ref;
        e.n_refs = 1;
    }
    uint8_t *enc;
    size_t len;
    int rc = codec_op_encode(&enc, &len, &e, 0);
    if (rc != CODEC_OK || len > UINT16_MAX)
        bench_die("workload: encoding an op failed (%d)", rc);
    o->enc_off = bytes_append(&w->enc, enc, len);
    o->enc_len = (uint16_t)len;
    free(enc);

    o->hlc = hlc;
    o->seq = (uint32_t)seq;
    o->replica = r;
    o->user = wl_user_of[r];
    o->key = key;
    w->vv[r] = seq;
    memcpy(w->ctx[r], w->vv, sizeof w->vv);
    w->maxhlc = hlc;
    w->n_by_kind[o->kind]++;
}

static void one_op(wl *w)
{
    uint8_t r = w->creators[brng_below(&w->rng, w->n_creators)];
    uint8_t u = wl_user_of[r];
    unsigned roll = (unsigned)brng_below(&w->rng, 1000);
    uint8_t kind = roll < 700 ? OP_SEND : roll < 800 ? OP_EDIT : roll < 830 ? OP_DELETE
                 : roll < 980 ? OP_REACT : OP_READ;
    if (w->sends_only)
        kind = OP_SEND;
    if ((kind == OP_EDIT || kind == OP_DELETE) && w->own[u].n == 0)
        kind = OP_SEND;
    if ((kind == OP_REACT && w->live.n == 0) || (kind == OP_READ && w->seen.n == 0))
        kind = OP_SEND;

    /* Only this wl's ops are kept in w->ops; pointers into it are taken
     * after new_op(), which may move the array. */
    wl_op *o = new_op(w);
    o->kind = kind;
    switch (kind) {
    case OP_SEND: {
        uint32_t m = new_msg(w);
        o->msg = m;
        o->body_off = make_body(w, &o->body_len);
        emit(w, o, r, 0, 0, 0);
        wl_msg *msg = &w->msgs[m];
        msg->hlc = o->hlc;
        msg->seq = o->seq;
        msg->replica = r;
        msg->author = u;
        msg->body_off = o->body_off;
        msg->body_len = o->body_len;
        /* Message order is (hlc, replica, seq): with a linear history it
         * must equal the order of the sends. */
        for (size_t i = w->seen.n; i-- > 0;) {
            const wl_msg *prev = &w->msgs[w->seen.v[i]];
            if (prev->foreign)
                continue;
            if (prev->hlc >= msg->hlc)
                bench_die("workload: message order differs from send order at %u", m);
            break;
        }
        list_push(&w->seen, m);
        list_push(&w->live, m);
        list_push(&w->own[u], m);
        break;
    }
    case OP_EDIT: {
        uint32_t m = pick_recent(w, &w->own[u], 3.0);
        o->msg = m;
        o->body_off = make_body(w, &o->body_len);
        emit(w, o, r, 0, w->msgs[m].head_seq, w->msgs[m].head_replica);
        wl_msg *msg = &w->msgs[m];
        msg->head_seq = o->seq;
        msg->head_replica = r;
        msg->body_off = o->body_off;
        msg->body_len = o->body_len;
        break;
    }
    case OP_DELETE: {
        uint32_t m = pick_recent(w, &w->own[u], 3.0);
        o->msg = m;
        emit(w, o, r, 0, 0, 0);
        w->msgs[m].deleted = 1;
        list_remove(&w->own[u], m);
        list_remove(&w->live, m);
        break;
    }
    case OP_REACT: {
        uint32_t m = pick_recent(w, &w->live, 20.0);
        uint8_t key = (uint8_t)brng_below(&w->rng, WL_KEYS);
        o->msg = m;
        emit(w, o, r, key, 0, 0);
        w->msgs[m].reacts |= 1u << (key * WL_USERS + (u - 1));
        break;
    }
    default: {
        uint32_t m = pick_recent(w, &w->seen, 2.0);
        o->msg = m;
        emit(w, o, r, 0, 0, 0);
        if ((int64_t)m > w->read[u])
            w->read[u] = m;
        break;
    }
    }
}

void wl_run(wl *w, size_t n_ops, size_t until_sends)
{
    if (until_sends) {
        while (w->n_msgs < until_sends)
            one_op(w);
        return;
    }
    for (size_t i = 0; i < n_ops; i++)
        one_op(w);
}

/* ---- views and ids ---------------------------------------------------- */

static void view_msg(bview *v, size_t i, const wl *w, const wl_msg *m)
{
    if (m->deleted)
        bview_set(v, i, NULL, 0, 1, 0);
    else
        bview_set(v, i, (const char *)w->text.p + m->body_off, m->body_len, 0, m->reacts);
}

void wl_expected_view(const wl *w, bview *v)
{
    bview_init(v, w->n_msgs);
    for (size_t i = 0; i < w->n_msgs; i++)
        view_msg(v, i, w, &w->msgs[i]);
    for (int u = 1; u <= WL_USERS; u++)
        v->read[u] = w->read[u];
}

/* Users never span sides, so a base message's body, deletion and the
 * author's reads come from the author's side; reactions are a union, and a
 * delete on either side wins over them. */
void wl_merged_view(size_t n_base, const wl *a, const wl *b, bview *v)
{
    size_t n = b->n_msgs > a->n_msgs ? b->n_msgs : a->n_msgs;
    bview_init(v, n);
    for (size_t i = 0; i < n; i++) {
        if (i < n_base) {
            const wl_msg *ma = &a->msgs[i], *mb = &b->msgs[i];
            const wl *side = ma->author <= WL_USERS / 2 ? a : b;
            const wl_msg *own = &side->msgs[i];
            if (ma->deleted || mb->deleted)
                bview_set(v, i, NULL, 0, 1, 0);
            else
                bview_set(v, i, (const char *)side->text.p + own->body_off, own->body_len, 0,
                          ma->reacts | mb->reacts);
        } else if (i < a->n_msgs && !a->msgs[i].foreign) {
            /* A's new message: B never saw it. */
            view_msg(v, i, a, &a->msgs[i]);
        } else {
            view_msg(v, i, b, &b->msgs[i]);
        }
    }
    for (int u = 1; u <= WL_USERS; u++)
        v->read[u] = u <= WL_USERS / 2 ? a->read[u] : b->read[u];
}

void wl_add_ids(const wl *w, idmap *m)
{
    for (size_t i = 0; i < w->n_ops; i++)
        if (w->ops[i].kind == OP_SEND)
            idmap_set(m, w->ops[i].replica, w->ops[i].seq, w->ops[i].msg);
}

msglog_buf *wl_bufs(const wl *w)
{
    msglog_buf *b = xrealloc(NULL, (w->n_ops ? w->n_ops : 1) * sizeof *b);
    for (size_t i = 0; i < w->n_ops; i++)
        b[i] = (msglog_buf){ wl_op_enc(w, i), w->ops[i].enc_len };
    return b;
}

/* ---- JSON lines for the peers ----------------------------------------- */

static const char *const kind_names[8] = { "", "send", "edit", "delete", "react", "unreact", "read", "" };

void wl_write_jsonl(const wl *w, FILE *f)
{
    for (size_t i = 0; i < w->n_ops; i++) {
        const wl_op *o = &w->ops[i];
        /* replica: 0..7 in the files (msglog's replica id minus 1). */
        fprintf(f, "{\"op\":\"%s\",\"replica\":%u,\"user\":\"%s\",\"msg\":%u", kind_names[o->kind],
                o->replica - 1u, user_names[o->user], o->msg);
        if (o->kind == OP_SEND || o->kind == OP_EDIT) {
            fputs(",\"body\":", f);
            json_str(f, (const char *)w->text.p + o->body_off, o->body_len);
        } else if (o->kind == OP_REACT) {
            fputs(",\"key\":", f);
            json_str(f, wl_keys[o->key], strlen(wl_keys[o->key]));
        }
        fputs("}\n", f);
    }
}

int wl_write_jsonl_file(const wl *w, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    wl_write_jsonl(w, f);
    int rc = ferror(f) ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}
