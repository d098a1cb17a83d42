/* bench_ingest: merge ingest of the generated workload into an empty replica.
 *
 *   bench_ingest --ops N --seed S --mode causal|shuffled|dups [--batch B]
 *                [--scratch DIR] [--view FILE] [--expected FILE]
 *
 * Modes, all through msglog_receive_batch with B ops per call (default
 * 10,000; each call is one durable LMDB commit):
 *   causal    the ops in creation order
 *   shuffled  a seeded uniform shuffle of all N ops (almost everything waits
 *             in the pending buffer until its predecessors arrive)
 *   dups      creation order, and after each op, with probability 1/10
 *             (seeded), a re-delivery of a uniformly chosen op already
 *             delivered: about 1.1 N ops received
 * Timed: the receive calls only. Then, untimed: pending must be 0, the
 * message count the number of sends, and the view read back through
 * msglog_messages equal to the generator's expected view (--view and
 * --expected write both as JSON for the driver). One JSON object on stdout. One mode per process, so that peak RSS is that mode's. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "workload.h"
#include "crdt/op.h"

/* The received sequence of op indices for a mode; *n_out entries. */
static uint32_t *make_order(const wl *w, const char *mode, uint64_t seed, size_t *n_out)
{
    size_t n = w->n_ops;
    brng r;
    brng_seed(&r, seed ^ 0x5eedf00dULL);
    if (strcmp(mode, "causal") == 0 || strcmp(mode, "shuffled") == 0) {
        uint32_t *o = malloc((n ? n : 1) * sizeof *o);
        if (!o)
            bench_die("out of memory");
        for (size_t i = 0; i < n; i++)
            o[i] = (uint32_t)i;
        if (mode[0] == 's')
            brng_shuffle(&r, o, n);
        *n_out = n;
        return o;
    }
    if (strcmp(mode, "dups") != 0)
        bench_die("unknown mode %s (causal, shuffled, dups)", mode);
    /* After each op, with probability 1/10, a re-delivery of an op already
     * delivered, chosen uniformly (the peers' definition too). */
    size_t cap = n + n / 8 + 16, k = 0;
    uint32_t *o = malloc(cap * sizeof *o);
    if (!o)
        bench_die("out of memory");
    for (size_t i = 0; i < n; i++) {
        if (k + 2 > cap) {
            cap *= 2;
            o = realloc(o, cap * sizeof *o);
            if (!o)
                bench_die("out of memory");
        }
        o[k++] = (uint32_t)i;
        if (brng_below(&r, 10) == 0)
            o[k++] = (uint32_t)brng_below(&r, i + 1);
    }
    *n_out = k;
    return o;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    bench_args a = { argc, argv };
    size_t n = arg_u64(&a, "--ops", 1000000);
    uint64_t seed = arg_u64(&a, "--seed", 42);
    const char *mode = arg_str(&a, "--mode", "causal");
    size_t batch = arg_u64(&a, "--batch", 10000);
    const char *scratch = arg_str(&a, "--scratch", NULL);
    const char *view_path = arg_str(&a, "--view", NULL);
    const char *expected_path = arg_str(&a, "--expected", NULL);
    if (batch == 0)
        bench_die("--batch must be >= 1");

    wl *w = wl_new(seed);
    wl_run(w, n, 0);
    size_t n_recv;
    uint32_t *order = make_order(w, mode, seed, &n_recv);
    msglog_buf *bufs = malloc((n_recv ? n_recv : 1) * sizeof *bufs);
    if (!bufs)
        bench_die("out of memory");
    for (size_t i = 0; i < n_recv; i++)
        bufs[i] = (msglog_buf){ wl_op_enc(w, order[i]), w->ops[order[i]].enc_len };
    free(order);

    char *dir = bench_tmpdir(scratch, "msglog-ingest");
    char *store = bench_join(dir, "store");
    long rss_before = bench_rss_kb();
    msglog *log = bench_open(store, 1000, "observer");

    size_t n_batches = (n_recv + batch - 1) / batch;
    double *lat = malloc((n_batches ? n_batches : 1) * sizeof *lat);
    if (!lat)
        bench_die("out of memory");
    double cpu0 = bench_cpu_s();
    int64_t io0 = bench_io_write_bytes();
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0, b = 0; i < n_recv; i += batch, b++) {
        size_t m = n_recv - i < batch ? n_recv - i : batch;
        uint64_t s = bench_now_ns();
        bench_check(log, msglog_receive_batch(log, bufs + i, m), "msglog_receive_batch");
        lat[b] = (double)(bench_now_ns() - s) / 1e6;
    }
    double secs = (double)(bench_now_ns() - t0) / 1e9;
    double cpu = bench_cpu_s() - cpu0;
    int64_t written = bench_io_write_bytes() - io0;
    long peak_rss = bench_peak_rss_kb();
    qsort(lat, n_batches, sizeof *lat, cmp_double);

    /* Verification, untimed. */
    idmap ids = { 0 };
    wl_add_ids(w, &ids);
    bview got, want;
    bench_conv info;
    bview_from_msglog(&got, w->n_msgs, log, WL_CONV, &ids, &info);
    wl_expected_view(w, &want);
    char why[256] = "";
    int same = bview_equal(&got, &want, why, sizeof why);
    if (view_path && bview_write_file(&got, view_path) != 0)
        bench_die("cannot write %s", view_path);
    if (expected_path && bview_write_file(&want, expected_path) != 0)
        bench_die("cannot write %s", expected_path);
    msglog_close(log);

    char *data = bench_join(store, "data.mdb");
    int64_t disk = bench_file_size(data);
    int ok = same && info.pending == 0 && info.n_messages == w->n_by_kind[OP_SEND];
    printf("{\"bench\":\"ingest\",\"system\":\"msglog\",\"mode\":\"%s\",\"ops\":%zu,\"received\":%zu,"
           "\"batch\":%zu,\"commits\":%zu,\"seconds\":%.4f,\"cpu_seconds\":%.4f,\"ops_per_s\":%.0f,\"received_per_s\":%.0f,"
           "\"batch_ms_median\":%.3f,\"batch_ms_max\":%.3f,"
           "\"peak_rss_kb\":%ld,\"rss_before_open_kb\":%ld,\"data_mdb_bytes\":%lld,\"written_bytes\":%lld,"
           "\"bytes_per_op\":%.1f,\"raw_body_bytes\":%llu,\"encoded_op_bytes\":%zu,"
           "\"sends\":%llu,\"n_messages\":%llu,\"pending\":%llu,\"digest\":\"%s\","
           "\"view_equal\":%s,\"ok\":%s%s%s%s",
           mode, n, n_recv, batch, n_batches, secs, cpu, n / secs, n_recv / secs,
           lat[n_batches / 2], lat[n_batches - 1], peak_rss, rss_before, (long long)disk, (long long)written,
           (double)disk / (double)n, (unsigned long long)w->raw_body_bytes, w->enc.n,
           (unsigned long long)w->n_by_kind[OP_SEND], (unsigned long long)info.n_messages,
           (unsigned long long)info.pending, info.digest, same ? "true" : "false",
           ok ? "true" : "false", same ? "" : ",\"why\":\"", same ? "" : why, same ? "" : "\"");
    bench_lmdb_stat(store, stdout);
    printf("}\n");
    bench_rmtree(dir);
    free(data);
    free(store);
    free(dir);
    free(lat);
    free(bufs);
    bview_free(&got);
    bview_free(&want);
    idmap_free(&ids);
    wl_free(w);
    return ok ? 0 : 1;
}
