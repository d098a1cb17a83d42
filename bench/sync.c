/* bench_sync: delta sync after divergence.
 *
 *   bench_sync --ops N --seed S [--ks 0,1,100,10000] [--batch B]
 *              [--scratch DIR] [--view-dir DIR]
 *
 * Replicas A and B (two stores) share the N generated ops (received in
 * batches, untimed). For each k, fresh copies of both stores each receive k
 * further ops made concurrently from the shared state (workload.h: side A
 * holds the replicas of u1..u3, side B those of u4..u6). Then they sync both
 * ways with the public API, no sockets:
 *
 *   A pulls:  A msglog_sync_request -> B msglog_sync_response -> A msglog_sync_apply
 *   B pulls:  the same the other way
 *
 * One pull is one round trip (a request and its response). The two pulls
 * are independent and could run at the same time. Bytes each way are the
 * request and response lengths. After both pulls the digests must be equal,
 * pending 0, both views equal to the generator's merged view, and a second
 * pull each way must carry no ops; otherwise more rounds are counted (up
 * to 4). The encoded size of the missing ops (the generator's encodings of
 * the other side's k ops) is the yardstick of the sync-bytes target.
 * One JSON object on stdout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "workload.h"
#include "codec/op_codec.h"
#include "crdt/op.h"

typedef struct pull {
    size_t req_bytes, resp_bytes, resp_ops;
    double req_ms, resp_ms, apply_ms;
} pull;

/* Counts the ops in a response (framing only; inspection, not measured). */
static size_t response_ops(const void *resp, size_t len)
{
    codec_bytes *ops;
    size_t n;
    if (codec_sync_response_decode(&ops, &n, resp, len) != CODEC_OK)
        bench_die("sync: a response does not decode");
    free(ops);
    return n;
}

/* `to` pulls from `from`. */
static pull do_pull(msglog *to, msglog *from)
{
    pull p;
    void *req, *resp;
    size_t req_len, resp_len;
    uint64_t t0 = bench_now_ns();
    bench_check(to, msglog_sync_request(to, &req, &req_len, NULL, 0), "msglog_sync_request");
    uint64_t t1 = bench_now_ns();
    bench_check(from, msglog_sync_response(from, &resp, &resp_len, req, req_len),
                "msglog_sync_response");
    uint64_t t2 = bench_now_ns();
    bench_check(to, msglog_sync_apply(to, resp, resp_len), "msglog_sync_apply");
    uint64_t t3 = bench_now_ns();
    p.req_bytes = req_len;
    p.resp_bytes = resp_len;
    p.resp_ops = response_ops(resp, resp_len);
    p.req_ms = (double)(t1 - t0) / 1e6;
    p.resp_ms = (double)(t2 - t1) / 1e6;
    p.apply_ms = (double)(t3 - t2) / 1e6;
    msglog_free(req);
    msglog_free(resp);
    return p;
}

static size_t enc_bytes(const wl *w)
{
    return w->enc.n;
}

static void build_store(const char *path, uint64_t replica, const char *user, const wl *w,
                        size_t batch)
{
    msglog *log = bench_open(path, replica, user);
    msglog_buf *bufs = wl_bufs(w);
    bench_receive_all(log, bufs, w->n_ops, batch);
    free(bufs);
    msglog_close(log);
}

static void copy_store(const char *from, const char *to)
{
    if (mkdir(to, 0700) != 0 && errno != EEXIST)
        bench_die("mkdir %s: %s", to, strerror(errno));
    char *f = bench_join(from, "data.mdb"), *t = bench_join(to, "data.mdb");
    bench_copy_file(f, t);
    free(f);
    free(t);
}

static void print_pull(const char *name, const pull *p, size_t missing, size_t n_vv)
{
    double limit = 1.1 * (double)missing + 64.0 * (double)n_vv;
    size_t bytes = p->req_bytes + p->resp_bytes;
    printf("\"%s\":{\"request_bytes\":%zu,\"response_bytes\":%zu,\"response_ops\":%zu,"
           "\"missing_ops_encoded_bytes\":%zu,\"vv_entries\":%zu,\"limit_bytes\":%.0f,"
           "\"ratio_to_missing\":%.4f,\"target_met\":%s,"
           "\"request_ms\":%.3f,\"response_ms\":%.3f,\"apply_ms\":%.3f}",
           name, p->req_bytes, p->resp_bytes, p->resp_ops, missing, n_vv, limit,
           missing ? (double)bytes / (double)missing : 0.0, (double)bytes <= limit ? "true" : "false",
           p->req_ms, p->resp_ms, p->apply_ms);
}

int main(int argc, char **argv)
{
    bench_args a = { argc, argv };
    size_t n = arg_u64(&a, "--ops", 1000000);
    uint64_t seed = arg_u64(&a, "--seed", 42);
    const char *ks = arg_str(&a, "--ks", "0,1,100,10000");
    size_t batch = arg_u64(&a, "--batch", 10000);
    const char *scratch = arg_str(&a, "--scratch", NULL);
    const char *view_dir = arg_str(&a, "--view-dir", NULL);

    wl *w = wl_new(seed);
    wl_run(w, n, 0);
    char *dir = bench_tmpdir(scratch, "msglog-sync");
    char *shared_a = bench_join(dir, "shared-a"), *shared_b = bench_join(dir, "shared-b");
    uint64_t t0 = bench_now_ns();
    build_store(shared_a, 1001, "side-a", w, batch);
    build_store(shared_b, 1002, "side-b", w, batch);
    double build_s = (double)(bench_now_ns() - t0) / 1e9;

    printf("{\"bench\":\"sync\",\"system\":\"msglog\",\"ops\":%zu,\"batch\":%zu,"
           "\"build_two_stores_s\":%.2f,\"runs\":[",
           n, batch, build_s);
    int all_ok = 1;
    const char *p = ks;
    for (int first = 1; *p; first = 0) {
        char *end;
        unsigned long long k = strtoull(p, &end, 10);
        if (end == p)
            bench_die("--ks: bad list %s", ks);
        p = *end == ',' ? end + 1 : end;

        wl *wa, *wb;
        wl_diverge(w, k, seed, &wa, &wb);
        char *da = bench_join(dir, "a"), *db = bench_join(dir, "b");
        copy_store(shared_a, da);
        copy_store(shared_b, db);
        msglog *A = bench_open(da, 1001, "side-a");
        msglog *B = bench_open(db, 1002, "side-b");
        msglog_buf *ba = wl_bufs(wa), *bb = wl_bufs(wb);
        bench_receive_all(A, ba, wa->n_ops, batch);
        bench_receive_all(B, bb, wb->n_ops, batch);
        free(ba);
        free(bb);
        bench_conv ia0, ib0;
        bench_conv_info(A, WL_CONV, &ia0);
        bench_conv_info(B, WL_CONV, &ib0);

        /* Round 1: A pulls from B, then B pulls from A. */
        pull pa = do_pull(A, B);
        pull pb = do_pull(B, A);
        int rounds = 1;
        bench_conv ia, ib;
        bench_conv_info(A, WL_CONV, &ia);
        bench_conv_info(B, WL_CONV, &ib);
        /* Converged when a second pull each way carries nothing. */
        for (;;) {
            pull xa = do_pull(A, B), xb = do_pull(B, A);
            bench_conv_info(A, WL_CONV, &ia);
            bench_conv_info(B, WL_CONV, &ib);
            if (xa.resp_ops == 0 && xb.resp_ops == 0 && strcmp(ia.digest, ib.digest) == 0)
                break;
            if (++rounds > 4)
                break;
        }

        idmap ids = { 0 };
        wl_add_ids(w, &ids);
        wl_add_ids(wa, &ids);
        wl_add_ids(wb, &ids);
        size_t n_msgs = wb->n_msgs > wa->n_msgs ? wb->n_msgs : wa->n_msgs;
        bview va, vb, want;
        bview_from_msglog(&va, n_msgs, A, WL_CONV, &ids, NULL);
        bview_from_msglog(&vb, n_msgs, B, WL_CONV, &ids, NULL);
        wl_merged_view(w->n_msgs, wa, wb, &want);
        char why_a[256] = "", why_b[256] = "";
        int eq_a = bview_equal(&va, &want, why_a, sizeof why_a);
        int eq_b = bview_equal(&vb, &want, why_b, sizeof why_b);
        if (view_dir) {
            char name[64];
            snprintf(name, sizeof name, "msglog-sync-k%llu.json", k);
            char *f = bench_join(view_dir, name);
            if (bview_write_file(&va, f) != 0)
                bench_die("cannot write %s", f);
            free(f);
        }
        int ok = eq_a && eq_b && rounds == 1 && ia.pending == 0 && ib.pending == 0 &&
                 strcmp(ia.digest, ib.digest) == 0;
        all_ok &= ok;

        printf("%s{\"k\":%llu,\"a_ops\":%zu,\"b_ops\":%zu,\"rounds_per_direction\":%d,", first ? "" : ",",
               k, wa->n_ops, wb->n_ops, rounds);
        print_pull("a_pulls", &pa, enc_bytes(wb), ia0.n_vv);
        putchar(',');
        print_pull("b_pulls", &pb, enc_bytes(wa), ib0.n_vv);
        printf(",\"bytes_a_to_b\":%zu,\"bytes_b_to_a\":%zu,\"digest_a\":\"%s\",\"digest_b\":\"%s\","
               "\"pending_a\":%llu,\"pending_b\":%llu,\"messages\":%llu,\"view_equal\":%s,\"ok\":%s%s%s%s}",
               pa.req_bytes + pb.resp_bytes, pb.req_bytes + pa.resp_bytes, ia.digest, ib.digest,
               (unsigned long long)ia.pending, (unsigned long long)ib.pending,
               (unsigned long long)ia.n_messages, eq_a && eq_b ? "true" : "false",
               ok ? "true" : "false", eq_a && eq_b ? "" : ",\"why\":\"", eq_a ? (eq_b ? "" : why_b) : why_a,
               eq_a && eq_b ? "" : "\"");
        fflush(stdout);
        msglog_close(A);
        msglog_close(B);
        bench_rmtree(da);
        bench_rmtree(db);
        free(da);
        free(db);
        bview_free(&va);
        bview_free(&vb);
        bview_free(&want);
        idmap_free(&ids);
        wl_free(wa);
        wl_free(wb);
    }
    printf("],\"ok\":%s}\n", all_ok ? "true" : "false");
    bench_rmtree(dir);
    free(shared_a);
    free(shared_b);
    free(dir);
    wl_free(w);
    return all_ok ? 0 : 1;
}
