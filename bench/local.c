/* bench_local: local writes, one durable commit each against many per
 * commit (msglog_write_batch).
 *
 *   bench_local --sends N --batch B [--scratch DIR]
 *
 * one_by_one  N msglog_send() calls into a fresh store: one durable commit
 *             (a disk flush) per message
 * batched     the same N messages through msglog_write_batch(), B per call
 * Both stores end with the same N messages (checked). One JSON object on
 * stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define CONV "bench"

static double sends_one_by_one(msglog *log, size_t n)
{
    char body[64];
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(body, sizeof body, "message %zu", i);
        bench_check(log, msglog_send(log, NULL, CONV, strlen(CONV), body, (size_t)len),
                    "msglog_send");
    }
    return (double)(bench_now_ns() - t0) / 1e9;
}

static double sends_batched(msglog *log, size_t n, size_t batch)
{
    msglog_write *w = bench_malloc(batch * sizeof *w);
    char (*bodies)[64] = bench_malloc(batch * sizeof *bodies);
    uint64_t t0 = bench_now_ns();
    for (size_t done = 0; done < n;) {
        size_t m = n - done < batch ? n - done : batch;
        for (size_t i = 0; i < m; i++) {
            int len = snprintf(bodies[i], sizeof bodies[i], "message %zu", done + i);
            w[i] = (msglog_write){ MSGLOG_WRITE_SEND, CONV, strlen(CONV), { 0, 0 }, bodies[i],
                                   (size_t)len };
        }
        bench_check(log, msglog_write_batch(log, NULL, w, m, NULL), "msglog_write_batch");
        done += m;
    }
    double s = (double)(bench_now_ns() - t0) / 1e9;
    free(w);
    free(bodies);
    return s;
}

static uint64_t n_messages(msglog *log)
{
    msglog_conv_info *ci;
    bench_check(log, msglog_conv_info_get(log, &ci, CONV, strlen(CONV)), "msglog_conv_info_get");
    uint64_t n = ci->n_messages;
    msglog_free(ci);
    return n;
}

int main(int argc, char **argv)
{
    bench_args a = { argc, argv };
    size_t n = arg_u64(&a, "--sends", 20000), batch = arg_u64(&a, "--batch", 1000);
    char *dir = bench_tmpdir(arg_str(&a, "--scratch", NULL), "msglog-local");
    char *p1 = bench_join(dir, "one"), *p2 = bench_join(dir, "batched");
    msglog *one = bench_open(p1, 1, "alice"), *many = bench_open(p2, 1, "alice");

    double s1 = sends_one_by_one(one, n), s2 = sends_batched(many, n, batch);
    if (n_messages(one) != n || n_messages(many) != n)
        bench_die("the stores do not hold %zu messages each", n);
    printf("{\"sends\": %zu, \"batch\": %zu, \"one_by_one_s\": %.3f, \"one_by_one_per_s\": %.0f, "
           "\"batched_s\": %.3f, \"batched_per_s\": %.0f}\n",
           n, batch, s1, (double)n / s1, s2, (double)n / s2);
    msglog_close(one);
    msglog_close(many);
    bench_rmtree(dir);
    free(p1);
    free(p2);
    free(dir);
    return 0;
}
