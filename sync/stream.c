/* The op stream of one conversation to one peer (docs/protocol.md 3.2, 3.3;
 * the why of the resumable design is in sync/stream.h).
 *
 * Order. Every call merges, by (hlc, replica, seq, then the delivered
 * version before evidence, then hash), one run per origin R over its
 * delivered ops done+1 .. vv[R] and one over the evidence of the same ids
 * (log/op_range.h), exactly the ranges msglog_sync_response reads. Each run is
 * walked in key (seq) order and only its head is compared, so an origin's
 * ops always go out in seq order: for every op msglog makes this is the
 * doc's (hlc, replica, seq, hash) order (an op's hlc exceeds every hlc its
 * origin had delivered, its deps', target's and refs' included, so they all
 * come first). msglog_receive does not check that rule, so for a hostile
 * op whose hlc is below a dependency's the order is still "seq order per
 * origin, hlc across origins" and the op may precede a dependency on
 * another origin; the peer keeps it pending until that dependency arrives.
 *
 * Evidence. The delivered version of an id is the one with the lowest
 * hash (engine/equivocal.c, choose_versions), so at equal
 * (hlc, replica, seq) it comes first with no hashing. An evidence version
 * is emitted at its own place but never before the delivered version of its
 * id: a kept version's own deps need not be delivered here (receive keeps
 * evidence without looking at them), and a peer that got it first would
 * hold the id pending, maybe for good. After the delivered version, the peer
 * holds the id and keeps any other version as evidence at once. Such a run
 * is "parked" until its origin's delivered run has passed its seq.
 *
 * Batches. Ops are added while they fit the budget (the first always goes);
 * past the budget the batch goes on only while a message is open (the
 * erasure rule), up to max_batch, where it is cut (`forced`). */
#include "sync/stream.h"

#include <stdlib.h>
#include <string.h>

#include "codec/vv_codec.h"
#include "crdt/grow.h"
#include "crdt/order.h"
#include "log/op_range.h"

typedef struct origin {
    uint64_t replica;
    uint64_t done;                   /* highest delivered seq emitted / covered */
    op_range_pos ev_next;            /* first evidence version not emitted */
} origin;

/* The erasure rule's memory, keyed by message (its send's id). */
enum { MARK_FREE, MARK_OPEN, MARK_CLOSED };

typedef struct mark {
    op_id msg;
    int state;
    uint8_t *author;                 /* MARK_OPEN: the message's author */
    size_t author_len;
} mark;

struct stream {
    uint8_t conv[OP_MAX_CONV];
    size_t conv_len;
    size_t budget, max_batch;
    origin *orig;                    /* ascending replica */
    size_t n_orig, orig_cap;
    mark *marks;                     /* open addressing, power-of-two size */
    size_t marks_cap, marks_used, n_open;
    codec_bytes *out;                /* the last batch's table */
    size_t out_cap;
    int broken;                      /* a failed call moved the position */
};

/* ---- position ---------------------------------------------------------- */

/* The index of origin `replica`, added (nothing of it emitted) if new. */
static int origin_at(stream *s, uint64_t replica, size_t *at)
{
    size_t lo = 0, hi = s->n_orig;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->orig[mid].replica < replica)
            lo = mid + 1;
        else
            hi = mid;
    }
    *at = lo;
    if (lo < s->n_orig && s->orig[lo].replica == replica)
        return MSGLOG_OK;
    origin *grown = grow_array(s->orig, &s->orig_cap, s->n_orig + 1, sizeof *grown);
    if (!grown)
        return MSGLOG_ENOMEM;
    s->orig = grown;
    memmove(&grown[lo + 1], &grown[lo], (s->n_orig - lo) * sizeof *grown);
    grown[lo] = (origin){ replica, 0, op_range_pos_at(1) };
    s->n_orig++;
    return MSGLOG_OK;
}

int stream_peer_has(stream *s, const op_id *have, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t at;
        if (origin_at(s, have[i].replica, &at))
            return MSGLOG_ENOMEM;
        if (s->orig[at].done < have[i].seq)
            s->orig[at].done = have[i].seq;
    }
    return MSGLOG_OK;
}

/* ---- open / close ------------------------------------------------------ */

int stream_open(stream **out, const uint8_t *conv, size_t conv_len, const op_id *peer,
                size_t n_peer, size_t budget, size_t max_batch)
{
    if (!out || !conv || conv_len == 0 || conv_len > OP_MAX_CONV || budget == 0 ||
        max_batch < budget || !codec_vv_valid(peer, n_peer))
        return MSGLOG_EINVAL;
    *out = NULL;
    stream *s = calloc(1, sizeof *s);
    if (!s || (n_peer && !(s->orig = malloc(n_peer * sizeof *s->orig)))) {
        free(s);
        return MSGLOG_ENOMEM;
    }
    memcpy(s->conv, conv, conv_len);
    s->conv_len = conv_len;
    s->budget = budget;
    s->max_batch = max_batch;
    for (size_t i = 0; i < n_peer; i++)
        s->orig[i] = (origin){ peer[i].replica, peer[i].seq, op_range_pos_at(peer[i].seq + 1) };
    s->n_orig = n_peer;
    *out = s;
    return MSGLOG_OK;
}

static void marks_clear(stream *s)
{
    for (size_t i = 0; i < s->marks_cap; i++)
        free(s->marks[i].author);
    free(s->marks);
    s->marks = NULL;
    s->marks_cap = s->marks_used = s->n_open = 0;
}

void stream_set_budget(stream *s, size_t budget)
{
    if (budget == 0)
        budget = 1;
    s->budget = budget < s->max_batch ? budget : s->max_batch;
}

void stream_close(stream *s)
{
    if (!s)
        return;
    marks_clear(s);
    free(s->orig);
    free(s->out);
    free(s);
}

/* ---- the erasure rule's memory ----------------------------------------- */

static size_t mark_slot(const mark *marks, size_t cap, op_id msg)
{
    uint64_t h = (msg.replica * 0x9E3779B97F4A7C15ULL) ^ (msg.seq * 0xC2B2AE3D27D4EB4FULL);
    size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);
    while (marks[i].state != MARK_FREE && op_id_cmp(marks[i].msg, msg) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

static mark *mark_find(stream *s, op_id msg)
{
    if (!s->marks_cap)
        return NULL;
    mark *m = &s->marks[mark_slot(s->marks, s->marks_cap, msg)];
    return m->state == MARK_FREE ? NULL : m;
}

static int marks_grow(stream *s)
{
    size_t cap = s->marks_cap ? s->marks_cap * 2 : 64;
    mark *grown = calloc(cap, sizeof *grown);
    if (!grown)
        return MSGLOG_ENOMEM;
    for (size_t i = 0; i < s->marks_cap; i++)
        if (s->marks[i].state != MARK_FREE)
            grown[mark_slot(grown, cap, s->marks[i].msg)] = s->marks[i];
    free(s->marks);
    s->marks = grown;
    s->marks_cap = cap;
    return MSGLOG_OK;
}

/* A new mark for msg (absent); the author is copied for an open one. */
static int mark_add(stream *s, op_id msg, int state, const uint8_t *author, size_t author_len)
{
    int rc = 2 * (s->marks_used + 1) > s->marks_cap ? marks_grow(s) : MSGLOG_OK;
    uint8_t *copy = rc || state != MARK_OPEN ? NULL : malloc(author_len ? author_len : 1);
    if (!rc && state == MARK_OPEN && !copy)
        rc = MSGLOG_ENOMEM;
    if (rc)
        return rc;
    if (copy)
        memcpy(copy, author, author_len);
    mark *m = &s->marks[mark_slot(s->marks, s->marks_cap, msg)];
    *m = (mark){ msg, state, copy, copy ? author_len : 0 };
    s->marks_used++;
    s->n_open += state == MARK_OPEN;
    return MSGLOG_OK;
}

static void mark_close(stream *s, mark *m)
{
    free(m->author);
    m->author = NULL;
    m->author_len = 0;
    m->state = MARK_CLOSED;
    s->n_open--;
}

/* ---- the erasure rule -------------------------------------------------- */

/* A send whose body is in erased form ends with bin8 of 16 bytes (c4 10
 * then the hash). A send that does not cannot be erased, so most sends are
 * ruled out without decoding. */
static int may_be_erased(uint8_t kind, const uint8_t *enc, size_t len)
{
    if (kind == OP_EDIT)
        return 1;
    return kind == OP_SEND && len >= 18 && enc[len - 18] == 0xc4 && enc[len - 17] == 0x10;
}

/* The author of message `msg` here; *found 0 when it is no message. */
static int author_of(store_txn *t, uint32_t cid, op_id msg, msg_state *m, int *found)
{
    uint64_t hlc;
    int rc = msgrec_load(t, cid, msg, &hlc, m);
    *found = rc == MSGLOG_OK;
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

/* An erased send or edit of a message with no mark opens it. */
static int note_erased(stream *s, store_txn *t, uint32_t cid, op_id msg)
{
    if (mark_find(s, msg))
        return MSGLOG_OK;   /* open already, or its delete went before */
    msg_state m;
    int found;
    int rc = author_of(t, cid, msg, &m, &found);
    if (rc || !found)
        return rc;          /* no message: nothing can show it */
    rc = mark_add(s, msg, MARK_OPEN, m.author, m.author_len);
    msg_free(&m);
    return rc;
}

/* A delete by the message's author closes it for the rest of the stream
 * ("no delete that deletes M is at or before k": a later erased edit of M,
 * concurrent with the delete, must not open it again). Every delete version
 * counts (docs/reliability.md rule 3): evidence deletes go through here too. */
static int note_delete(stream *s, store_txn *t, uint32_t cid, const op *d)
{
    mark *k = mark_find(s, d->target);
    if (k && k->state == MARK_CLOSED)
        return MSGLOG_OK;
    if (k) {
        if (k->author_len == d->user_len && memcmp(k->author, d->user, d->user_len) == 0)
            mark_close(s, k);
        return MSGLOG_OK;
    }
    msg_state m;
    int found;
    int rc = author_of(t, cid, d->target, &m, &found);
    if (rc || !found)
        return rc;
    int valid = msg_is_author(&m, d);
    msg_free(&m);
    return valid ? mark_add(s, d->target, MARK_CLOSED, NULL, 0) : MSGLOG_OK;
}

/* Updates the open messages for one emitted op. Only erased sends and edits
 * and deletes are decoded: the rule costs nothing when nothing is erased. */
static int track(stream *s, store_txn *t, uint32_t cid, uint8_t kind, const uint8_t *enc,
                 size_t len)
{
    if (kind != OP_DELETE && !may_be_erased(kind, enc, len))
        return MSGLOG_OK;
    op o;
    int rc = stored_op_decode(&o, enc, len);
    if (rc)
        return rc;
    if (o.kind == OP_DELETE)
        rc = note_delete(s, t, cid, &o);
    else if (o.erased)
        rc = note_erased(s, t, cid, o.kind == OP_SEND ? o.id : o.target);
    codec_op_clear(&o);
    return rc;
}

/* ---- runs and their merge ---------------------------------------------- */

typedef struct run {
    op_range range;                  /* its head is the range's current entry */
    size_t oi;                       /* its origin in s->orig */
    int evidence;                    /* 0 delivered versions, 1 evidence */
    int live;                        /* has a head */
    int in_heap;
    uint64_t hlc;                    /* the head's record */
    uint8_t kind;
    const uint8_t *enc;
    size_t len;
} run;

typedef struct merge {
    stream *s;
    store_txn *t;
    uint32_t cid;
    run *runs;                       /* runs[2i] delivered, runs[2i + 1] evidence of origin i */
    size_t n_runs;
    size_t *heap;                    /* indices of runs */
    size_t n_heap;
} merge;

/* Stream order of two heads: (hlc, replica, seq), the delivered version
 * first, then hash (zero for a delivered version). */
static int run_before(const run *a, const run *b)
{
    int c = order_cmp(a->hlc, a->range.id, b->hlc, b->range.id);
    if (c)
        return c < 0;
    if (a->evidence != b->evidence)
        return !a->evidence;
    return memcmp(a->range.hash, b->range.hash, OP_HASH_LEN) < 0;
}

static void heap_swap(merge *m, size_t i, size_t j)
{
    size_t x = m->heap[i];
    m->heap[i] = m->heap[j];
    m->heap[j] = x;
}

static int heap_less(const merge *m, size_t i, size_t j)
{
    return run_before(&m->runs[m->heap[i]], &m->runs[m->heap[j]]);
}

static void heap_push(merge *m, size_t r)
{
    size_t i = m->n_heap++;
    m->heap[i] = r;
    m->runs[r].in_heap = 1;
    while (i > 0 && heap_less(m, i, (i - 1) / 2)) {
        heap_swap(m, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_sift_down(merge *m)
{
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < m->n_heap && heap_less(m, l, best))
            best = l;
        if (r < m->n_heap && heap_less(m, r, best))
            best = r;
        if (best == i)
            return;
        heap_swap(m, i, best);
        i = best;
    }
}

static void heap_pop(merge *m)
{
    m->runs[m->heap[0]].in_heap = 0;
    m->heap[0] = m->heap[--m->n_heap];
    heap_sift_down(m);
}

/* Reads the head the range's seek or step (which returned rc) reached:
 * none past the end of the range. */
static int run_head(run *r, int rc)
{
    r->live = rc == MSGLOG_OK;
    if (!r->live)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
    return op_range_record(&r->range, &r->kind, &r->hlc, &r->enc, &r->len);
}

/* Into the heap when it has a head that may go now (see "Evidence"). */
static void run_offer(merge *m, size_t ri)
{
    run *r = &m->runs[ri];
    if (r->live && !r->in_heap && (!r->evidence || r->range.id.seq <= m->s->orig[r->oi].done))
        heap_push(m, ri);
}

/* Opens run ri at its origin's position, up to seq `to`. */
static int run_start(merge *m, size_t ri, uint64_t to)
{
    run *r = &m->runs[ri];
    const origin *o = &m->s->orig[r->oi];
    int rc = op_range_open(&r->range, m->t, r->evidence ? OP_RANGE_EVIDENCE : OP_RANGE_OPS, m->cid);
    if (!rc)
        rc = r->evidence ? op_range_resume(&r->range, o->replica, o->ev_next, to)
                         : op_range_seek(&r->range, o->replica, o->done + 1, to);
    return run_head(r, rc);
}

static int run_step(run *r)
{
    return run_head(r, op_range_next(&r->range));
}

static void merge_end(merge *m)
{
    for (size_t i = 0; m->runs && i < m->n_runs; i++)   /* runs NULL: its calloc failed */
        op_range_close(&m->runs[i].range);
    free(m->runs);
    free(m->heap);
}

/* Every origin the store has delivered gets a position first (the runs
 * index s->orig, which must not move afterwards). */
static int origins_note(stream *s, const vv *delivered)
{
    size_t at;
    int rc = MSGLOG_OK;
    for (size_t i = 0; i < delivered->n && !rc; i++)
        rc = origin_at(s, delivered->e[i].replica, &at);
    return rc;
}

/* The runs of what the peer lacks, their first heads offered to the heap. */
static int merge_begin(merge *m, const conv_state *c)
{
    stream *s = m->s;
    int evidence = 0;
    int rc = origins_note(s, &c->delivered);
    if (!rc)
        rc = equiv_held(m->t, c->cid, &evidence);
    m->n_runs = 2 * s->n_orig;
    m->runs = rc ? NULL : calloc(m->n_runs ? m->n_runs : 1, sizeof *m->runs);
    m->heap = rc ? NULL : malloc((m->n_runs ? m->n_runs : 1) * sizeof *m->heap);
    if (!rc && (!m->runs || !m->heap))
        rc = MSGLOG_ENOMEM;
    for (size_t i = 0; i < s->n_orig && !rc; i++) {
        uint64_t to = vv_get(&c->delivered, s->orig[i].replica);
        m->runs[2 * i] = (run){ .oi = i, .evidence = 0 };
        m->runs[2 * i + 1] = (run){ .oi = i, .evidence = 1 };
        if (s->orig[i].done < to)
            rc = run_start(m, 2 * i, to);
        if (!rc && evidence && s->orig[i].ev_next.seq <= to)
            rc = run_start(m, 2 * i + 1, to);
    }
    for (size_t i = 0; i < m->n_runs && !rc; i++)
        run_offer(m, i);
    return rc;
}

/* Takes the smallest head: the position moves past it, its run steps, and
 * an evidence run its origin was holding back may go. */
static int merge_take(merge *m, size_t ri)
{
    run *r = &m->runs[ri];
    origin *o = &m->s->orig[r->oi];
    heap_pop(m);
    if (r->evidence)
        o->ev_next = op_range_after(&r->range);
    else
        o->done = r->range.id.seq;
    int rc = run_step(r);
    if (rc)
        return rc;
    run_offer(m, ri);
    if (!r->evidence)
        run_offer(m, ri + 1);
    return MSGLOG_OK;
}

/* ---- batches ----------------------------------------------------------- */

static int out_push(stream *s, stream_batch *b, const uint8_t *enc, size_t len)
{
    if (b->n == s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap * 2 : 64;
        codec_bytes *grown = realloc(s->out, cap * sizeof *grown);
        if (!grown)
            return MSGLOG_ENOMEM;
        s->out = grown;
        s->out_cap = cap;
    }
    s->out[b->n++] = (codec_bytes){ enc, len };
    b->bytes += len;
    b->ops = s->out;
    return MSGLOG_OK;
}

/* Whether the batch must end before an op of `len` bytes: past the budget
 * only while no message is open, and past max_batch whatever is open. */
static int batch_full(const stream *s, stream_batch *b, size_t len)
{
    if (b->n == 0 || b->bytes + len <= s->budget)
        return 0;
    if (s->n_open == 0)
        return 1;
    b->forced = b->bytes + len > s->max_batch;
    return b->forced;
}

static int fill(merge *m, stream_batch *b)
{
    stream *s = m->s;
    while (m->n_heap) {
        size_t ri = m->heap[0];
        run *r = &m->runs[ri];
        if (batch_full(s, b, r->len))
            return MSGLOG_OK;
        int rc = out_push(s, b, r->enc, r->len);
        if (!rc)
            rc = track(s, m->t, m->cid, r->kind, r->enc, r->len);
        if (!rc)
            rc = merge_take(m, ri);
        if (rc)
            return rc;
    }
    /* Drained: the peer will hold everything here, the delete of every open
     * message included (3.3), so nothing is open any more. */
    b->drained = 1;
    marks_clear(s);
    return MSGLOG_OK;
}

int stream_next(stream *s, store_txn *t, stream_batch *out)
{
    if (!s || !t || !out)
        return MSGLOG_EINVAL;
    memset(out, 0, sizeof *out);
    if (s->broken)
        return s->broken;
    conv_state c;
    int rc = conv_lookup(t, s->conv, s->conv_len, &c);
    if (rc)
        return rc;
    merge m = { .s = s, .t = t, .cid = c.cid };
    rc = merge_begin(&m, &c);
    if (!rc)
        rc = fill(&m, out);
    merge_end(&m);
    conv_free(&c);
    if (rc) {
        s->broken = rc;
        memset(out, 0, sizeof *out);
    }
    return rc;
}
