/* bench_micro: the costs under the merge path.
 *
 *   bench_micro --ops N --seed S [--chain C] [--scratch DIR]
 *
 * codec      codec_op_encode and codec_op_decode (+ codec_op_clear) of the
 *            generated ops, ops/s (internal codec, best of 5 passes)
 * digest     per op: the body hash (sends, edits) + digest_op_hash +
 *            digest_add, ns/op (best of 5 passes)
 * pending    a chain of C ops of one replica (each depends on the one
 *            before), received in calls of 1,000 ops through
 *            msglog_receive_batch: in causal order, and with the calls in
 *            reverse order, so that everything but the first call waits in
 *            the pending buffer until the last call releases it. Done for a
 *            chain of sends only and for a chain of the usual mix (with
 *            deletes). The difference per op is the pending-buffer cost.
 * One JSON object on stdout. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "workload.h"
#include "codec/op_codec.h"
#include "crdt/digest.h"
#include "crdt/op.h"

#define PASSES 5
#define CHAIN_BATCH 1000

static double best_of(double *v, int n)
{
    double b = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < b)
            b = v[i];
    return b;
}

/* Seconds to receive the chain, calls in order or reversed. */
static double chain_run(const wl *w, int reverse, const char *scratch, uint64_t *max_pending)
{
    char *dir = bench_tmpdir(scratch, "msglog-micro");
    char *store = bench_join(dir, "store");
    msglog *log = bench_open(store, 1000, "observer");
    msglog_buf *bufs = wl_bufs(w);
    size_t n = w->n_ops, calls = (n + CHAIN_BATCH - 1) / CHAIN_BATCH;
    uint64_t t0 = bench_now_ns();
    for (size_t c = 0; c < calls; c++) {
        size_t b = reverse ? calls - 1 - c : c;
        size_t from = b * CHAIN_BATCH, m = n - from < CHAIN_BATCH ? n - from : CHAIN_BATCH;
        if (reverse && c == calls - 1) {
            /* Before the releasing call, everything received waits
             * (this read is kept out of the figure). */
            uint64_t s = bench_now_ns();
            bench_conv info;
            bench_conv_info(log, WL_CONV, &info);
            *max_pending = info.pending;
            t0 += bench_now_ns() - s;
        }
        bench_check(log, msglog_receive_batch(log, bufs + from, m), "msglog_receive_batch");
    }
    double s = (double)(bench_now_ns() - t0) / 1e9;
    bench_conv info;
    bench_conv_info(log, WL_CONV, &info);
    if (info.pending != 0 || info.n_messages != w->n_by_kind[OP_SEND])
        bench_die("chain: %llu pending, %llu messages", (unsigned long long)info.pending,
                  (unsigned long long)info.n_messages);
    msglog_close(log);
    bench_rmtree(dir);
    free(store);
    free(dir);
    free(bufs);
    return s;
}

static void chain(const char *name, int sends_only, size_t c, uint64_t seed, const char *scratch)
{
    wl *w = wl_new(seed);
    uint8_t one = 1;
    wl_set_creators(w, &one, 1);
    w->sends_only = sends_only;
    wl_run(w, c, 0);
    uint64_t max_pending = 0, unused;
    double causal = chain_run(w, 0, scratch, &unused);
    double rev = chain_run(w, 1, scratch, &max_pending);
    printf("\"%s\":{\"ops\":%zu,\"batch\":%d,\"deletes\":%llu,\"causal_s\":%.4f,\"causal_ops_per_s\":%.0f,"
           "\"reverse_s\":%.4f,\"reverse_ops_per_s\":%.0f,\"pending_before_release\":%llu,"
           "\"pending_cost_us_per_op\":%.2f}",
           name, w->n_ops, CHAIN_BATCH, (unsigned long long)w->n_by_kind[OP_DELETE], causal,
           w->n_ops / causal, rev, w->n_ops / rev, (unsigned long long)max_pending,
           (rev - causal) * 1e6 / (double)w->n_ops);
    wl_free(w);
}

int main(int argc, char **argv)
{
    bench_args a = { argc, argv };
    size_t n = arg_u64(&a, "--ops", 200000);
    uint64_t seed = arg_u64(&a, "--seed", 42);
    size_t c = arg_u64(&a, "--chain", 20000);
    const char *scratch = arg_str(&a, "--scratch", NULL);
    if (n > 200000)
        n = 200000;   /* enough for stable figures, and it fits the caches alike */

    wl *w = wl_new(seed);
    wl_run(w, n, 0);
    op *ops = calloc(n, sizeof *ops);
    if (!ops)
        bench_die("out of memory");
    for (size_t i = 0; i < n; i++)
        if (codec_op_decode(&ops[i], wl_op_enc(w, i), w->ops[i].enc_len) != CODEC_OK)
            bench_die("micro: op %zu does not decode", i);

    double enc_t[PASSES], dec_t[PASSES], dig_t[PASSES];
    size_t enc_bytes = 0;
    for (int p = 0; p < PASSES; p++) {
        uint64_t t0 = bench_now_ns();
        enc_bytes = 0;
        for (size_t i = 0; i < n; i++) {
            uint8_t *out;
            size_t len;
            if (codec_op_encode(&out, &len, &ops[i], 0) != CODEC_OK)
                bench_die("micro: encode failed");
            enc_bytes += len;
            free(out);
        }
        enc_t[p] = (double)(bench_now_ns() - t0) / 1e9;
    }
    for (int p = 0; p < PASSES; p++) {
        uint64_t t0 = bench_now_ns();
        for (size_t i = 0; i < n; i++) {
            op o;
            if (codec_op_decode(&o, wl_op_enc(w, i), w->ops[i].enc_len) != CODEC_OK)
                bench_die("micro: decode failed");
            codec_op_clear(&o);
        }
        dec_t[p] = (double)(bench_now_ns() - t0) / 1e9;
    }
    digest sum = { 0, 0 };
    for (int p = 0; p < PASSES; p++) {
        uint64_t t0 = bench_now_ns();
        for (size_t i = 0; i < n; i++) {
            op *o = &ops[i];
            if (op_has_body(o->kind) && !o->erased)
                digest_body_hash(o->body_hash, o->body, o->body_len);
            digest_add(&sum, digest_op_hash(o));
        }
        dig_t[p] = (double)(bench_now_ns() - t0) / 1e9;
    }
    if (enc_bytes != w->enc.n)
        bench_die("micro: re-encoding changed the size");
    double e = best_of(enc_t, PASSES), d = best_of(dec_t, PASSES), g = best_of(dig_t, PASSES);
    printf("{\"bench\":\"micro\",\"system\":\"msglog\",\"ops\":%zu,\"mean_op_bytes\":%.1f,"
           "\"encode_ops_per_s\":%.0f,\"encode_ns_per_op\":%.1f,"
           "\"decode_ops_per_s\":%.0f,\"decode_ns_per_op\":%.1f,"
           "\"digest_ns_per_op\":%.1f,\"digest_check\":\"%016llx\",",
           n, (double)w->enc.n / (double)n, n / e, e * 1e9 / (double)n, n / d, d * 1e9 / (double)n,
           g * 1e9 / (double)n, (unsigned long long)(sum.lo ^ sum.hi));
    for (size_t i = 0; i < n; i++)
        codec_op_clear(&ops[i]);
    free(ops);
    wl_free(w);

    chain("pending_sends", 1, c, seed, scratch);
    putchar(',');
    chain("pending_mix", 0, c, seed, scratch);
    printf(",\"ok\":true}\n");
    return 0;
}
