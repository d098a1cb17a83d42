/* bench_equiv: what one equivocation costs the writes that come after it.
 *
 *   bench_equiv --messages M --writes W --seed S [--batch B] [--scratch DIR]
 *
 * Builds (untimed) two stores holding the same conversation of M messages
 * (the generated workload run until it has M sends, received in batches of
 * B): "plain", and "evidence", which then receives one more version of one
 * op: the send of a live, unedited message in the middle of the
 * conversation with another body, as a replica restored from a backup would
 * make it, chosen so that it counts (its hash is the lower). That receive
 * returns MSGLOG_EEQUIVOCAL and is timed alone.
 *
 * Then W rounds of one msglog_send into each store, the two alternating so
 * that both see the same machine, each call a durable commit timed alone
 * (wall clock and CPU); then W rounds of a msglog_react on the equivocated
 * message in each store (a write that touches the message with evidence).
 * Reports per store and kind of write the median, mean and 90th percentile
 * of the latency, the median CPU time, the calls per second, and the ratio
 * evidence / plain of the medians. Checks that both stores end with M + W
 * messages and nothing pending, and that the equivocated message shows the
 * other version's body. One JSON object on stdout. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "workload.h"
#include "codec/op_codec.h"
#include "crdt/digest.h"
#include "crdt/equivocation.h"
#include "crdt/op.h"

/* The other version's body: this text and a number, the first number that
 * makes its hash lower than the send's, so that it counts and the commit
 * that receives it rebuilds what it touches (the dearer case). */
#define OTHER_BODY "the same id, another text: a restored backup %d"

typedef struct timing {
    double wall_ms, cpu_ms;
} timing;

static int by_wall(const void *a, const void *b)
{
    double x = ((const timing *)a)->wall_ms, y = ((const timing *)b)->wall_ms;
    return (x > y) - (x < y);
}

static int by_cpu(const void *a, const void *b)
{
    double x = ((const timing *)a)->cpu_ms, y = ((const timing *)b)->cpu_ms;
    return (x > y) - (x < y);
}

/* The index of the workload op that sent a live, unedited message near the
 * middle (its view shows the send's body). */
static size_t middle_live_send(const wl *w)
{
    for (size_t k = w->n_msgs / 2; k < w->n_msgs; k++) {
        if (w->msgs[k].deleted || w->msgs[k].head_seq)
            continue;
        for (size_t i = 0; i < w->n_ops; i++)
            if (w->ops[i].kind == OP_SEND && w->ops[i].msg == k)
                return i;
    }
    bench_die("no live unedited message in the second half of the workload");
}

/* The content hash of op o. */
static void hash_of(op *o, uint8_t out[OP_HASH_LEN])
{
    digest_to_bytes(out, digest_op_content(o));
}

/* Op i of the workload with another body, one that counts over it: a
 * second version of its id. *body gets the body (static). */
static uint8_t *other_version(const wl *w, size_t i, size_t *len, const char **body)
{
    static char text[64];
    op o;
    if (codec_op_decode(&o, wl_op_enc(w, i), w->ops[i].enc_len) != CODEC_OK)
        bench_die("equiv: op %zu does not decode", i);
    uint8_t mine[OP_HASH_LEN], other[OP_HASH_LEN];
    hash_of(&o, mine);
    for (int k = 0;; k++) {
        snprintf(text, sizeof text, OTHER_BODY, k);
        o.body = (const uint8_t *)text;
        o.body_len = strlen(text);
        hash_of(&o, other);
        if (version_counts_over(other, mine))
            break;
    }
    uint8_t *enc;
    if (codec_op_encode(&enc, len, &o, 0) != CODEC_OK)
        bench_die("equiv: cannot encode the other version");
    codec_op_clear(&o);
    *body = text;
    return enc;
}

static msglog *build(const char *dir, const char *name, const msglog_buf *bufs, size_t n,
                     size_t batch)
{
    char *store = bench_join(dir, name);
    msglog *log = bench_open(store, 1000, "observer");
    bench_receive_all(log, bufs, n, batch);
    free(store);
    return log;
}

static timing timed_call(msglog *log, int rc_ok, int (*call)(msglog *, void *), void *ctx)
{
    double c0 = bench_cpu_s();
    uint64_t t0 = bench_now_ns();
    int rc = call(log, ctx);
    timing t = { (double)(bench_now_ns() - t0) / 1e6, (bench_cpu_s() - c0) * 1e3 };
    if (rc != rc_ok)
        bench_check(log, rc, "timed call");
    return t;
}

static int send_one(msglog *log, void *ctx)
{
    (void)ctx;
    static const char body[] = "a message written after the equivocation, about eighty bytes of text.";
    msglog_id id;
    return msglog_send(log, &id, WL_CONV, WL_CONV_LEN, body, sizeof body - 1);
}

typedef struct react_ctx {
    msglog_id target;
    unsigned round;
} react_ctx;

static int react_one(msglog *log, void *ctx)
{
    react_ctx *r = ctx;
    char key[16];
    int n = snprintf(key, sizeof key, "k%u", r->round % 8);
    msglog_id id;
    return msglog_react(log, &id, WL_CONV, WL_CONV_LEN, r->target, key, (size_t)n);
}

/* Writes `"name":{...}` for the W timings in t (sorted here). */
static double report(const char *name, timing *t, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += t[i].wall_ms;
    qsort(t, n, sizeof *t, by_cpu);
    double cpu_median = t[n / 2].cpu_ms;
    qsort(t, n, sizeof *t, by_wall);
    double median = t[n / 2].wall_ms;
    printf("\"%s\":{\"calls\":%zu,\"median_ms\":%.4f,\"mean_ms\":%.4f,\"p90_ms\":%.4f,"
           "\"cpu_median_ms\":%.4f,\"calls_per_s\":%.1f}",
           name, n, median, sum / (double)n, t[(n * 9) / 10].wall_ms, cpu_median,
           1e3 * (double)n / sum);
    return median;
}

/* W rounds of call into each store, alternating; prints both and the ratio. */
static void rounds(const char *what, msglog *plain, msglog *evid, size_t n,
                   int (*call)(msglog *, void *), react_ctx *ctx)
{
    timing *tp = calloc(n, sizeof *tp), *te = calloc(n, sizeof *te);
    if (!tp || !te)
        bench_die("out of memory");
    for (size_t i = 0; i < n; i++) {
        if (ctx)
            ctx->round = (unsigned)i;
        tp[i] = timed_call(plain, MSGLOG_OK, call, ctx);
        te[i] = timed_call(evid, MSGLOG_OK, call, ctx);
    }
    printf("\"%s\":{", what);
    double mp = report("plain", tp, n);
    putchar(',');
    double me = report("evidence", te, n);
    printf(",\"ratio_of_medians\":%.3f}", me / mp);
    free(tp);
    free(te);
}

static void check_end(msglog *log, size_t want_messages, const char *name)
{
    bench_conv info;
    bench_conv_info(log, WL_CONV, &info);
    if (info.n_messages != want_messages || info.pending != 0)
        bench_die("%s: %llu messages (want %zu), %llu pending", name,
                  (unsigned long long)info.n_messages, want_messages,
                  (unsigned long long)info.pending);
}

/* The equivocated message shows the version that counts. */
static void check_shown(msglog *log, msglog_id id, const char *body)
{
    msglog_page *p;
    bench_check(log, msglog_message_get(log, &p, WL_CONV, WL_CONV_LEN, id), "msglog_message_get");
    int ok = p->n == 1 && p->messages[0].body.len == strlen(body) &&
             memcmp(p->messages[0].body.data, body, strlen(body)) == 0;
    msglog_free(p);
    if (!ok)
        bench_die("the equivocated message does not show the version that counts");
}

int main(int argc, char **argv)
{
    bench_args a = { argc, argv };
    size_t m = arg_u64(&a, "--messages", 20000);
    size_t n = arg_u64(&a, "--writes", 200);
    uint64_t seed = arg_u64(&a, "--seed", 42);
    size_t batch = arg_u64(&a, "--batch", 10000);
    const char *scratch = arg_str(&a, "--scratch", NULL);
    if (m < 2 || n == 0)
        bench_die("--messages must be >= 2 and --writes >= 1");

    wl *w = wl_new(seed);
    wl_run(w, 0, m);
    msglog_buf *bufs = wl_bufs(w);
    char *dir = bench_tmpdir(scratch, "msglog-equiv");
    msglog *plain = build(dir, "plain", bufs, w->n_ops, batch);
    msglog *evid = build(dir, "evidence", bufs, w->n_ops, batch);
    free(bufs);

    size_t op_i = middle_live_send(w);
    msglog_id target = { w->ops[op_i].replica, w->ops[op_i].seq };
    size_t other_len;
    const char *other_body;
    uint8_t *other = other_version(w, op_i, &other_len, &other_body);
    uint64_t t0 = bench_now_ns();
    int rc = msglog_receive(evid, other, other_len);
    double equiv_ms = (double)(bench_now_ns() - t0) / 1e6;
    if (rc != MSGLOG_EEQUIVOCAL)
        bench_die("the other version: %s, expected MSGLOG_EEQUIVOCAL", msglog_strerror(rc));
    free(other);

    printf("{\"bench\":\"equiv\",\"system\":\"msglog\",\"messages\":%zu,\"ops\":%zu,"
           "\"writes\":%zu,\"equivocated\":[%llu,%llu],\"receive_other_version_ms\":%.3f,",
           m, w->n_ops, n, (unsigned long long)target.replica, (unsigned long long)target.seq,
           equiv_ms);
    rounds("send", plain, evid, n, send_one, NULL);
    putchar(',');
    react_ctx rctx = { target, 0 };
    rounds("react_on_equivocated", plain, evid, n, react_one, &rctx);

    check_end(plain, m + n, "plain");
    check_end(evid, m + n, "evidence");
    check_shown(evid, target, other_body);
    printf(",\"ok\":true}\n");
    msglog_close(plain);
    msglog_close(evid);
    bench_rmtree(dir);
    free(dir);
    wl_free(w);
    return 0;
}
