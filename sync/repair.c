/* Range fingerprints and one side's step of the repair exchange
 * (docs/protocol.md 5; the contract is in sync/repair.h).
 *
 * Every step reads a range (replica, lo..hi) once (log/op_range.h): the
 * delivered versions from seq lo, decoding and hashing each record (a
 * record does not store its hash), then the evidence from seq lo, whose
 * hashes come with the entry. The one pass gives the range's fingerprint,
 * the fingerprints of its split and, while there are few, the versions
 * themselves, so answering an item never reads its range twice. Hashing is
 * the cost (about a decode per version); a repair is rare (see "Not decided
 * yet" in the doc for stored sums). */
#include "sync/repair.h"

#include <stdlib.h>
#include <string.h>

#include "log/op_range.h"

typedef int (*version_fn)(void *ctx, uint64_t seq, const uint8_t hash[OP_HASH_LEN]);

/* ---- walking the versions of a range ----------------------------------- */

static int range_valid(uint64_t replica, uint64_t lo, uint64_t hi)
{
    return replica >= 1 && lo >= 1 && lo <= hi;
}

/* A delivered version's hash is that of its decoded op, as the digest took
 * it; a record whose op is not the key's is damage, not a version. */
static int record_visit(const op_range *r, version_fn fn, void *ctx)
{
    const uint8_t *enc;
    size_t len;
    int rc = op_range_encoding(r, &enc, &len);
    if (rc)
        return rc;
    op o;
    rc = stored_op_decode(&o, enc, len);
    if (rc)
        return rc;
    uint8_t hash[OP_HASH_LEN];
    digest_to_bytes(hash, digest_op_content(&o));
    int same = op_id_cmp(o.id, r->id) == 0;
    codec_op_clear(&o);
    return same ? fn(ctx, r->id.seq, hash) : MSGLOG_ECORRUPT;
}

/* Calls fn for every version of the range in one table, in key order. An
 * evidence entry's hash is its key's: its record is not read. */
static int walk_table(store_txn *t, enum op_range_table table, uint32_t cid, uint64_t replica,
                      uint64_t lo, uint64_t hi, version_fn fn, void *ctx)
{
    op_range r;
    int rc = op_range_open(&r, t, table, cid);
    if (!rc)
        rc = op_range_seek(&r, replica, lo, hi);
    while (rc == MSGLOG_OK) {
        rc = table == OP_RANGE_EVIDENCE ? fn(ctx, r.id.seq, r.hash) : record_visit(&r, fn, ctx);
        if (!rc)
            rc = op_range_next(&r);
    }
    op_range_close(&r);
    return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
}

/* Every version held in the range. Kept versions of ids above the vector
 * (their id is still pending) are not held in the digest's sense. */
static int walk_range(store_txn *t, const conv_state *c, uint64_t replica, uint64_t lo,
                      uint64_t hi, version_fn fn, void *ctx)
{
    int rc = walk_table(t, OP_RANGE_OPS, c->cid, replica, lo, hi, fn, ctx);
    uint64_t top = vv_get(&c->delivered, replica);
    if (!rc && lo <= top)
        rc = walk_table(t, OP_RANGE_EVIDENCE, c->cid, replica, lo, hi < top ? hi : top, fn, ctx);
    return rc;
}

/* ---- one pass over a range: total, split, versions --------------------- */

typedef struct scan {
    uint64_t lo;
    uint64_t q, rem;          /* sub-range i holds q + (i < rem) seqs */
    size_t n_sub;
    repair_fp total;
    repair_fp sub[SESSION_REPAIR_FANOUT];
    codec_version *v;         /* the versions seen, while at most `keep` */
    size_t n_v, cap_v, keep;
} scan;

/* Equal widths as far as integers allow: a range narrower than the fanout
 * splits into single seqs. hi - lo + 1 cannot overflow since lo >= 1. */
static void scan_init(scan *s, uint64_t lo, uint64_t hi, size_t keep)
{
    uint64_t width = hi - lo + 1;
    memset(s, 0, sizeof *s);
    s->lo = lo;
    s->q = width / SESSION_REPAIR_FANOUT;
    s->rem = width % SESSION_REPAIR_FANOUT;
    s->n_sub = s->q ? SESSION_REPAIR_FANOUT : (size_t)s->rem;
    s->keep = keep;
}

static size_t sub_of(const scan *s, uint64_t seq)
{
    uint64_t off = seq - s->lo, big = s->rem * (s->q + 1);
    return (size_t)(off < big ? off / (s->q + 1) : s->rem + (off - big) / s->q);
}

static uint64_t sub_lo(const scan *s, size_t i)
{
    return s->lo + i * s->q + (i < s->rem ? i : s->rem);
}

static int scan_visit(void *ctx, uint64_t seq, const uint8_t hash[OP_HASH_LEN])
{
    scan *s = ctx;
    digest h = digest_from_bytes(hash);
    repair_fp *sub = &s->sub[sub_of(s, seq)];
    s->total.count++;
    digest_add(&s->total.sum, h);
    sub->count++;
    digest_add(&sub->sum, h);
    if (s->n_v == s->keep)
        return MSGLOG_OK;     /* too many to list: only the sums are needed */
    if (s->n_v == s->cap_v) {
        size_t cap = s->cap_v ? 2 * s->cap_v : 16;
        codec_version *grown = realloc(s->v, cap * sizeof *grown);
        if (!grown)
            return MSGLOG_ENOMEM;
        s->v = grown;
        s->cap_v = cap;
    }
    s->v[s->n_v].seq = seq;
    memcpy(s->v[s->n_v++].hash, hash, OP_HASH_LEN);
    return MSGLOG_OK;
}

static int version_cmp(const void *a, const void *b)
{
    const codec_version *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return memcmp(x->hash, y->hash, OP_HASH_LEN);
}

/* The walk gives the delivered versions then the evidence; a listing is by
 * (seq, hash). */
static void scan_sort(scan *s)
{
    if (s->n_v > 1)
        qsort(s->v, s->n_v, sizeof *s->v, version_cmp);
}

int repair_fingerprint(store_txn *t, const conv_state *c, uint64_t replica, uint64_t lo,
                       uint64_t hi, repair_fp *out)
{
    if (!t || !c || !out || !range_valid(replica, lo, hi))
        return MSGLOG_EINVAL;
    scan s;
    scan_init(&s, lo, hi, 0);
    int rc = walk_range(t, c, replica, lo, hi, scan_visit, &s);
    *out = rc ? (repair_fp){ 0, { 0, 0 } } : s.total;
    return rc;
}

/* ---- the answer being built -------------------------------------------- */

typedef struct vlist {
    repair_version *e;
    size_t n, cap;
} vlist;

typedef struct step {
    store_txn *t;
    const conv_state *c;
    codec_repair_item *items;     /* the items of the answer, in order */
    size_t n_items, cap_items;
    vlist peer_lacks, self_lacks;
} step;

/* Takes the item's versions: they are freed when it cannot be added. */
static int item_push(step *st, codec_repair_item it)
{
    if (st->n_items == st->cap_items) {
        size_t cap = st->cap_items ? 2 * st->cap_items : 64;
        codec_repair_item *grown = realloc(st->items, cap * sizeof *grown);
        if (!grown) {
            free(it.versions);
            return MSGLOG_ENOMEM;
        }
        st->items = grown;
        st->cap_items = cap;
    }
    st->items[st->n_items++] = it;
    return MSGLOG_OK;
}

static int vlist_push(vlist *l, uint64_t replica, const codec_version *v)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        repair_version *grown = realloc(l->e, cap * sizeof *grown);
        if (!grown)
            return MSGLOG_ENOMEM;
        l->e = grown;
        l->cap = cap;
    }
    l->e[l->n].id = (op_id){ replica, v->seq };
    memcpy(l->e[l->n++].hash, v->hash, OP_HASH_LEN);
    return MSGLOG_OK;
}

static void step_free(step *st)
{
    for (size_t i = 0; i < st->n_items; i++)
        free(st->items[i].versions);
    free(st->items);
    free(st->peer_lacks.e);
    free(st->self_lacks.e);
}

static codec_repair_item fp_item(uint64_t replica, uint64_t lo, uint64_t hi, repair_fp fp)
{
    codec_repair_item it = { .replica = replica, .lo = lo, .hi = hi, .count = fp.count };
    digest_to_bytes(it.fp, fp.sum);
    return it;
}

/* ---- answering items --------------------------------------------------- */

static int fp_matches(const repair_fp *mine, const codec_repair_item *in)
{
    digest theirs = digest_from_bytes(in->fp);
    return mine->count == in->count && mine->sum.lo == theirs.lo && mine->sum.hi == theirs.hi;
}

/* The sub-ranges with their sums, empty ones included: the peer must see a
 * zero where it holds something. */
static int answer_split(step *st, const codec_repair_item *in, const scan *s)
{
    int rc = MSGLOG_OK;
    for (size_t i = 0; i < s->n_sub && !rc; i++) {
        uint64_t lo = sub_lo(s, i), hi = lo + s->q - (i < s->rem ? 0 : 1);
        rc = item_push(st, fp_item(in->replica, lo, hi, s->sub[i]));
    }
    return rc;
}

/* A differing fingerprint: list when few versions are held here or the
 * range cannot be split any more (one seq, many versions: only a hostile
 * origin makes that), else split. */
static int answer_fp(step *st, const codec_repair_item *in)
{
    int single = in->lo == in->hi;
    scan s;
    scan_init(&s, in->lo, in->hi, single ? SESSION_MAX_LISTING : SESSION_REPAIR_LEAF);
    int rc = walk_range(st->t, st->c, in->replica, in->lo, in->hi, scan_visit, &s);
    if (!rc && !fp_matches(&s.total, in)) {
        if (s.total.count <= s.keep) {
            scan_sort(&s);
            codec_repair_item it = { .replica = in->replica, .lo = in->lo, .hi = in->hi,
                                     .listing = 1, .versions = s.v, .n_versions = s.n_v };
            s.v = NULL;   /* the item owns them now */
            rc = item_push(st, it);
        } else {
            rc = single ? MSGLOG_ELIMIT : answer_split(st, in, &s);
        }
    }
    free(s.v);
    return rc;
}

/* A listing closes its range: a merge of two sorted lists of versions. */
static int answer_listing(step *st, const codec_repair_item *in)
{
    scan s;
    scan_init(&s, in->lo, in->hi, SIZE_MAX);
    int rc = walk_range(st->t, st->c, in->replica, in->lo, in->hi, scan_visit, &s);
    scan_sort(&s);
    size_t i = 0, j = 0;
    while (!rc && (i < s.n_v || j < in->n_versions)) {
        int cmp = i == s.n_v ? 1 : j == in->n_versions ? -1 : version_cmp(&s.v[i], &in->versions[j]);
        if (cmp < 0)
            rc = vlist_push(&st->peer_lacks, in->replica, &s.v[i]);
        else if (cmp > 0)
            rc = vlist_push(&st->self_lacks, in->replica, &in->versions[j]);
        i += cmp <= 0;
        j += cmp >= 0;
    }
    free(s.v);
    return rc;
}

/* ---- the received message's rules -------------------------------------- */

static int listing_valid(const codec_repair_item *it)
{
    if (it->n_versions > SESSION_MAX_LISTING || (it->n_versions && !it->versions))
        return 0;
    for (size_t k = 0; k < it->n_versions; k++) {
        const codec_version *v = &it->versions[k];
        if (v->seq < it->lo || v->seq > it->hi || (k && version_cmp(v - 1, v) >= 0))
            return 0;
    }
    return 1;
}

/* What codec_repair_decode guarantees, checked again: the caller may have
 * built the message itself, and the walks rely on lo <= hi. */
static int message_valid(const codec_repair *in)
{
    if (!in->conv || in->conv_len == 0 || in->conv_len > OP_MAX_CONV ||
        in->n_items > SESSION_MAX_ITEMS || (in->n_items && !in->items))
        return 0;
    for (size_t i = 0; i < in->n_items; i++) {
        const codec_repair_item *it = &in->items[i];
        if (!range_valid(it->replica, it->lo, it->hi) ||
            (i && op_id_cmp((op_id){ it[-1].replica, it[-1].hi },
                            (op_id){ it->replica, it->lo }) >= 0) ||
            (it->listing && !listing_valid(it)))
            return 0;
    }
    return 1;
}

/* ---- cutting the answer into messages ---------------------------------- */

/* An upper bound of an item's encoded size: uints of up to 9 bytes, a hash
 * as bin8 of 16, container headers of up to 5. */
static size_t item_bytes(const codec_repair_item *it)
{
    return 1 + 3 * 9 + (it->listing ? 5 + it->n_versions * (9 + 18) : 9 + 18);
}

/* Room for the message's head and conv in a frame. */
#define MSG_BODY_MAX (SESSION_MAX_FRAME - 512)

/* How many items from `from` go in the next message. */
static size_t chunk_len(const step *st, size_t from)
{
    size_t n = 0, bytes = 0;
    while (from + n < st->n_items && n < SESSION_MAX_ITEMS) {
        size_t b = item_bytes(&st->items[from + n]);
        if (n && bytes + b > MSG_BODY_MAX)
            break;
        bytes += b;
        n++;
    }
    return n;
}

static size_t chunk_count(const step *st)
{
    size_t n = 0;
    for (size_t at = 0; at < st->n_items; at += chunk_len(st, at))
        n++;
    return n;
}

/* Moves the step's items into messages; with `answer`, an empty answer is
 * one empty message. Every table is allocated before any item moves, so a
 * failure leaves the items to the step alone. */
static int cut_messages(step *st, repair_reply *out, const uint8_t *conv, size_t conv_len,
                        int answer)
{
    size_t n = chunk_count(st);
    if (n == 0 && !answer)
        return MSGLOG_OK;
    codec_repair *msgs = calloc(n ? n : 1, sizeof *msgs);
    int rc = msgs ? MSGLOG_OK : MSGLOG_ENOMEM;
    for (size_t m = 0, at = 0; m < n && !rc; m++) {
        size_t len = chunk_len(st, at);
        msgs[m] = (codec_repair){ conv, conv_len, malloc(len * sizeof *msgs[m].items), len };
        rc = msgs[m].items ? MSGLOG_OK : MSGLOG_ENOMEM;
        at += len;
    }
    if (rc) {
        for (size_t m = 0; msgs && m < n; m++)
            free(msgs[m].items);
        free(msgs);
        return rc;
    }
    for (size_t m = 0, at = 0; m < n; at += msgs[m++].n_items)
        memcpy(msgs[m].items, st->items + at, msgs[m].n_items * sizeof *msgs[m].items);
    if (n == 0)
        msgs[0] = (codec_repair){ conv, conv_len, NULL, 0 };
    out->msgs = msgs;
    out->n_msgs = n ? n : 1;
    st->n_items = 0;   /* the messages own the versions now */
    return MSGLOG_OK;
}

/* The distinct ids of self_lacks (sorted, so equal ids are adjacent). */
static size_t want_ids(const vlist *l, op_id *ids)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (n == 0 || op_id_cmp(ids[n - 1], l->e[i].id) != 0)
            ids[n++] = l->e[i].id;
    return n;
}

static int cut_wants(const vlist *l, repair_reply *out, const uint8_t *conv, size_t conv_len)
{
    if (l->n == 0)
        return MSGLOG_OK;
    op_id *ids = malloc(l->n * sizeof *ids);
    if (!ids)
        return MSGLOG_ENOMEM;
    size_t n_ids = want_ids(l, ids);
    size_t n = (n_ids + SESSION_MAX_WANT - 1) / SESSION_MAX_WANT;
    int rc = (out->wants = calloc(n, sizeof *out->wants)) ? MSGLOG_OK : MSGLOG_ENOMEM;
    for (size_t m = 0; m < n && !rc; m++) {
        size_t at = m * SESSION_MAX_WANT, len = n_ids - at;
        len = len < SESSION_MAX_WANT ? len : SESSION_MAX_WANT;
        out->wants[m] = (codec_want){ conv, conv_len, malloc(len * sizeof *ids), len };
        out->n_wants = m + 1;
        if (!out->wants[m].ids)
            rc = MSGLOG_ENOMEM;
        else
            memcpy(out->wants[m].ids, ids + at, len * sizeof *ids);
    }
    free(ids);
    return rc;
}

/* Hands the step's results to `out` (zeroed on failure, step freed). */
static int finish(step *st, int rc, repair_reply *out, const uint8_t *conv, size_t conv_len,
                  int answer)
{
    if (!rc)
        rc = cut_messages(st, out, conv, conv_len, answer);
    if (!rc)
        rc = cut_wants(&st->self_lacks, out, conv, conv_len);
    if (!rc) {
        out->peer_lacks = st->peer_lacks.e;
        out->n_peer_lacks = st->peer_lacks.n;
        out->self_lacks = st->self_lacks.e;
        out->n_self_lacks = st->self_lacks.n;
        st->peer_lacks = st->self_lacks = (vlist){ NULL, 0, 0 };
    }
    step_free(st);
    if (rc)
        repair_reply_clear(out);
    return rc;
}

/* ---- the steps --------------------------------------------------------- */

int repair_open(repair_reply *out, store_txn *t, const uint8_t *conv, size_t conv_len)
{
    if (!out)
        return MSGLOG_EINVAL;
    memset(out, 0, sizeof *out);
    if (!t || !conv || conv_len == 0 || conv_len > OP_MAX_CONV)
        return MSGLOG_EINVAL;
    conv_state c;
    int rc = conv_lookup(t, conv, conv_len, &c);
    if (rc)
        return rc;
    step st = { .t = t, .c = &c };
    for (size_t i = 0; i < c.delivered.n && !rc; i++) {
        op_id e = c.delivered.e[i];
        repair_fp fp;
        rc = repair_fingerprint(t, &c, e.replica, 1, e.seq, &fp);
        if (!rc)
            rc = item_push(&st, fp_item(e.replica, 1, e.seq, fp));
    }
    rc = finish(&st, rc, out, conv, conv_len, 0);
    conv_free(&c);
    return rc;
}

int repair_respond(repair_reply *out, store_txn *t, const codec_repair *in)
{
    if (!out)
        return MSGLOG_EINVAL;
    memset(out, 0, sizeof *out);
    if (!t || !in || !message_valid(in))
        return MSGLOG_EINVAL;
    conv_state c;
    int rc = conv_lookup(t, in->conv, in->conv_len, &c);
    if (rc)
        return rc;
    step st = { .t = t, .c = &c };
    for (size_t i = 0; i < in->n_items && !rc; i++)
        rc = in->items[i].listing ? answer_listing(&st, &in->items[i])
                                  : answer_fp(&st, &in->items[i]);
    rc = finish(&st, rc, out, in->conv, in->conv_len, in->n_items > 0);
    conv_free(&c);
    return rc;
}

void repair_reply_clear(repair_reply *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_msgs; i++)
        codec_repair_clear(&r->msgs[i]);
    free(r->msgs);
    for (size_t i = 0; i < r->n_wants; i++)
        codec_want_clear(&r->wants[i]);
    free(r->wants);
    free(r->peer_lacks);
    free(r->self_lacks);
    memset(r, 0, sizeof *r);
}
