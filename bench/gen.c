/* bench_gen: writes the workload for the peer benchmarks and checks the
 * generator against msglog.
 *
 *   bench_gen --ops N --seed S --out DIR [--ks 0,1,100,10000] [--check-ops M]
 *
 * DIR/workload.jsonl      the N ops, one JSON object per line, creation order
 * DIR/expected.json       the final view after all of them
 * DIR/diverge-k<K>/       shared.jsonl (a link to ../workload.jsonl),
 *                         a_only.jsonl, b_only.jsonl, expected.json (the view
 *                         after both sides synced)
 *
 * The check: the first M ops (default min(N, 20000); a prefix of a linear
 * history is causally complete) go through msglog_receive_batch into a fresh
 * replica, which must end with pending == 0, n_messages == the number of
 * sends and the view the generator expects. Prints one JSON object. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "workload.h"
#include "crdt/op.h"

static void write_view(const bview *v, const char *path)
{
    if (bview_write_file(v, path) != 0)
        bench_die("cannot write %s", path);
}

static void write_ops(const wl *w, const char *path)
{
    if (wl_write_jsonl_file(w, path) != 0)
        bench_die("cannot write %s", path);
}

/* Sanity check of the generator through the public API. */
static void check(uint64_t seed, size_t n, const char *scratch, FILE *out)
{
    wl *w = wl_new(seed);
    wl_run(w, n, 0);
    char *dir = bench_tmpdir(scratch, "msglog-gen-check");
    char *store = bench_join(dir, "store");
    msglog *log = bench_open(store, 1000, "checker");
    msglog_buf *bufs = wl_bufs(w);
    bench_receive_all(log, bufs, w->n_ops, 1000);
    idmap ids = { 0 };
    wl_add_ids(w, &ids);
    bview got, want;
    bench_conv info;
    bview_from_msglog(&got, w->n_msgs, log, WL_CONV, &ids, &info);
    wl_expected_view(w, &want);
    char why[256] = "";
    int same = bview_equal(&got, &want, why, sizeof why);
    int ok = same && info.pending == 0 && info.n_messages == w->n_by_kind[OP_SEND];
    fprintf(out, ",\"check\":{\"ops\":%zu,\"pending\":%llu,\"n_messages\":%llu,\"sends\":%llu,"
                 "\"view_equal\":%s,\"ok\":%s}",
            w->n_ops, (unsigned long long)info.pending, (unsigned long long)info.n_messages,
            (unsigned long long)w->n_by_kind[OP_SEND], same ? "true" : "false", ok ? "true" : "false");
    if (!ok)
        bench_die("generator check failed: pending %llu, messages %llu of %llu sends, view: %s",
                  (unsigned long long)info.pending, (unsigned long long)info.n_messages,
                  (unsigned long long)w->n_by_kind[OP_SEND], same ? "equal" : why);
    msglog_close(log);
    bview_free(&got);
    bview_free(&want);
    idmap_free(&ids);
    free(bufs);
    wl_free(w);
    bench_rmtree(dir);
    free(store);
    free(dir);
}

int main(int argc, char **argv)
{
    bench_args a = { argc, argv };
    size_t n = arg_u64(&a, "--ops", 1000000);
    uint64_t seed = arg_u64(&a, "--seed", 42);
    const char *out_dir = arg_str(&a, "--out", NULL);
    const char *ks = arg_str(&a, "--ks", "0,1,100,10000");
    size_t check_ops = arg_u64(&a, "--check-ops", n < 20000 ? n : 20000);
    const char *scratch = arg_str(&a, "--scratch", NULL);
    if (!out_dir)
        bench_die("usage: bench_gen --ops N --seed S --out DIR [--ks 0,1,100] [--check-ops M]");
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST)
        bench_die("mkdir %s: %s", out_dir, strerror(errno));

    uint64_t t0 = bench_now_ns();
    wl *w = wl_new(seed);
    wl_run(w, n, 0);
    double gen_s = (double)(bench_now_ns() - t0) / 1e9;

    char *path = bench_join(out_dir, "workload.jsonl");
    write_ops(w, path);
    free(path);
    bview v;
    wl_expected_view(w, &v);
    path = bench_join(out_dir, "expected.json");
    write_view(&v, path);
    free(path);
    bview_free(&v);

    FILE *out = stdout;
    fprintf(out, "{\"bench\":\"gen\",\"ops\":%zu,\"seed\":%llu,\"seconds\":%.3f,\"ops_per_s\":%.0f,"
                 "\"sends\":%llu,\"edits\":%llu,\"deletes\":%llu,\"reacts\":%llu,\"reads\":%llu,"
                 "\"raw_body_bytes\":%llu,\"encoded_bytes\":%zu,\"text_bytes\":%zu",
            n, (unsigned long long)seed, gen_s, n / (gen_s > 0 ? gen_s : 1e-9),
            (unsigned long long)w->n_by_kind[OP_SEND], (unsigned long long)w->n_by_kind[OP_EDIT],
            (unsigned long long)w->n_by_kind[OP_DELETE], (unsigned long long)w->n_by_kind[OP_REACT],
            (unsigned long long)w->n_by_kind[OP_READ], (unsigned long long)w->raw_body_bytes,
            w->enc.n, w->text.n);

    fputs(",\"diverge\":[", out);
    const char *p = ks;
    int first = 1;
    while (*p) {
        char *end;
        unsigned long long k = strtoull(p, &end, 10);
        if (end == p)
            bench_die("--ks: bad list %s", ks);
        char name[64];
        snprintf(name, sizeof name, "diverge-k%llu", k);
        char *dir = bench_join(out_dir, name);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            bench_die("mkdir %s: %s", dir, strerror(errno));
        wl *wa, *wb;
        wl_diverge(w, k, seed, &wa, &wb);
        char *f = bench_join(dir, "shared.jsonl");
        unlink(f);
        if (symlink("../workload.jsonl", f) != 0)
            bench_die("symlink %s: %s", f, strerror(errno));
        free(f);
        f = bench_join(dir, "a_only.jsonl");
        write_ops(wa, f);
        free(f);
        f = bench_join(dir, "b_only.jsonl");
        write_ops(wb, f);
        free(f);
        wl_merged_view(w->n_msgs, wa, wb, &v);
        f = bench_join(dir, "expected.json");
        write_view(&v, f);
        free(f);
        bview_free(&v);
        fprintf(out, "%s{\"k\":%llu,\"a_ops\":%zu,\"b_ops\":%zu,\"a_bytes\":%zu,\"b_bytes\":%zu}",
                first ? "" : ",", k, wa->n_ops, wb->n_ops, wa->enc.n, wb->enc.n);
        first = 0;
        wl_free(wa);
        wl_free(wb);
        free(dir);
        p = *end == ',' ? end + 1 : end;
    }
    fputc(']', out);
    wl_free(w);
    if (check_ops)
        check(seed, check_ops, scratch, out);
    fputs("}\n", out);
    return 0;
}
