/* bench_coldopen: a fresh process opens a big conversation and reads its
 * newest page.
 *
 *   bench_coldopen --messages M --seed S [--runs 11] [--batch B] [--scratch DIR]
 *                  [--no-page-check] [--keep]   (leave the store for profiling:
 *                  --child STORE)
 *
 * Builds (untimed) a store holding a conversation of M messages: the
 * generated workload run until it has M sends (about 1.43 M ops), received
 * in batches. Then, --runs times for each of two cache states, it starts a
 * new process (fork + exec of itself with --child) that times
 *
 *   msglog_open + msglog_messages(BACKWARD from the end, 50) + msglog_free
 *   + msglog_close
 *
 * with the monotonic clock inside the child (process start-up and exec are
 * not counted), counts the page faults of that part (getrusage), and checks
 * that the page holds the 50 newest messages.
 *   warm: the OS page cache holds the store (an app reopened soon after);
 *   cold: data.mdb and lock.mdb are evicted from the page cache before
 *         each run (fdatasync + posix_fadvise DONTNEED on those files only).
 * Reports the median, min and max per cache state, and stored bytes per
 * message (data.mdb size / M). One JSON object on stdout. The open checks
 * every page of the store (log/pages.h) unless --no-page-check
 * (msglog_options.no_page_check). */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "workload.h"
#include "crdt/op.h"

#define PAGE 50

static void faults(long *minor, long *major)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *minor = ru.ru_minflt;
    *major = ru.ru_majflt;
}

static int child(const char *store, int no_page_check)
{
    long min0, maj0, min1, maj1;
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.no_page_check = no_page_check;
    faults(&min0, &maj0);
    uint64_t t0 = bench_now_ns();
    msglog *log;
    int rc = msglog_open(&log, store, 1000, "observer", 8, &opts);
    if (rc != MSGLOG_OK)
        bench_die("child: msglog_open: %s", msglog_strerror(rc));
    uint64_t t1 = bench_now_ns();
    msglog_page *p;
    msglog_cursor from = { 1, 0, { 0, 0 } };
    bench_check(log, msglog_messages(log, &p, WL_CONV, WL_CONV_LEN, MSGLOG_BACKWARD, from, PAGE),
                "msglog_messages");
    uint64_t t2 = bench_now_ns();
    size_t n = p->n;
    msglog_id newest = n ? p->messages[0].id : (msglog_id){ 0, 0 };
    msglog_id oldest = n ? p->messages[n - 1].id : (msglog_id){ 0, 0 };
    size_t body_bytes = 0;
    for (size_t i = 0; i < n; i++)
        body_bytes += p->messages[i].body.len;
    msglog_free(p);
    msglog_close(log);
    uint64_t t3 = bench_now_ns();
    faults(&min1, &maj1);
    printf("%llu %llu %llu %zu %llu %llu %llu %llu %zu %ld %ld\n", (unsigned long long)(t1 - t0),
           (unsigned long long)(t2 - t1), (unsigned long long)(t3 - t2), n,
           (unsigned long long)newest.replica, (unsigned long long)newest.seq,
           (unsigned long long)oldest.replica, (unsigned long long)oldest.seq, body_bytes,
           min1 - min0, maj1 - maj0);
    return 0;
}

typedef struct sample {
    double open_us, page_us, close_us, total_us;
    long minor_faults, major_faults;
} sample;

static int by_total(const void *a, const void *b)
{
    double x = ((const sample *)a)->total_us, y = ((const sample *)b)->total_us;
    return (x > y) - (x < y);
}

static sample run_child(const char *self, const char *store, const wl *w, int no_page_check)
{
    int fd[2];
    if (pipe(fd) != 0)
        bench_die("pipe failed");
    pid_t pid = fork();
    if (pid < 0)
        bench_die("fork failed");
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl(self, self, "--child", store, no_page_check ? "--no-page-check" : (char *)NULL,
              (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char buf[512];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fd[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bench_die("child failed");
    unsigned long long o, pg, c, nr, ns, orr, os;
    size_t n, body;
    long minf, majf;
    if (sscanf(buf, "%llu %llu %llu %zu %llu %llu %llu %llu %zu %ld %ld", &o, &pg, &c, &n, &nr, &ns,
               &orr, &os, &body, &minf, &majf) != 11)
        bench_die("child output unreadable: %s", buf);
    /* The newest message is the last send; the page holds the 50 newest. */
    const wl_msg *last = &w->msgs[w->n_msgs - 1], *first = &w->msgs[w->n_msgs - PAGE];
    if (n != PAGE || nr != last->replica || ns != last->seq || orr != first->replica || os != first->seq)
        bench_die("child read the wrong page");
    return (sample){ o / 1e3, pg / 1e3, c / 1e3, (o + pg + c) / 1e3, minf, majf };
}

static void report(const char *name, sample *s, size_t runs)
{
    qsort(s, runs, sizeof *s, by_total);
    const sample *m = &s[runs / 2];
    printf("\"%s\":{\"runs\":%zu,\"median_total_ms\":%.4f,\"min_total_ms\":%.4f,\"max_total_ms\":%.4f,"
           "\"median_run_open_ms\":%.4f,\"median_run_page_ms\":%.4f,\"median_run_close_ms\":%.4f,"
           "\"median_run_minor_faults\":%ld,\"median_run_major_faults\":%ld}",
           name, runs, m->total_us / 1e3, s[0].total_us / 1e3, s[runs - 1].total_us / 1e3,
           m->open_us / 1e3, m->page_us / 1e3, m->close_us / 1e3, m->minor_faults, m->major_faults);
}

int main(int argc, char **argv)
{
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "--child") == 0)
        return child(argv[2], argc == 4);
    bench_args a = { argc, argv };
    size_t m = arg_u64(&a, "--messages", 1000000);
    uint64_t seed = arg_u64(&a, "--seed", 42);
    size_t runs = arg_u64(&a, "--runs", 11);
    size_t batch = arg_u64(&a, "--batch", 10000);
    const char *scratch = arg_str(&a, "--scratch", NULL);
    int no_page_check = arg_flag(&a, "--no-page-check");
    if (m < PAGE || runs == 0)
        bench_die("--messages must be >= %d and --runs >= 1", PAGE);

    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        bench_die("cannot find my own executable");
    self[sl] = '\0';

    wl *w = wl_new(seed);
    wl_run(w, 0, m);
    char *dir = bench_tmpdir(scratch, "msglog-coldopen");
    char *store = bench_join(dir, "store");
    uint64_t t0 = bench_now_ns();
    msglog *log = bench_open(store, 1000, "observer");
    msglog_buf *bufs = wl_bufs(w);
    bench_receive_all(log, bufs, w->n_ops, batch);
    free(bufs);
    bench_conv info;
    bench_conv_info(log, WL_CONV, &info);
    msglog_close(log);
    double build_s = (double)(bench_now_ns() - t0) / 1e9;
    if (info.n_messages != m || info.pending != 0)
        bench_die("store has %llu messages (want %zu), %llu pending",
                  (unsigned long long)info.n_messages, m, (unsigned long long)info.pending);

    char *data = bench_join(store, "data.mdb"), *lock = bench_join(store, "lock.mdb");
    int64_t disk = bench_file_size(data);
    sample *warm = calloc(runs, sizeof *warm), *cold = calloc(runs, sizeof *cold);
    if (!warm || !cold)
        bench_die("out of memory");
    run_child(self, store, w, no_page_check);   /* one unrecorded run fills the page cache */
    int evict_ok = 1;
    for (size_t i = 0; i < runs; i++) {
        warm[i] = run_child(self, store, w, no_page_check);
        if (bench_evict_file(data) != 0 || bench_evict_file(lock) != 0)
            evict_ok = 0;
        cold[i] = run_child(self, store, w, no_page_check);
    }
    printf("{\"bench\":\"coldopen\",\"system\":\"msglog\",\"page_check\":%s,\"messages\":%zu,"
           "\"ops\":%zu,\"page\":%d,"
           "\"build_s\":%.2f,\"data_mdb_bytes\":%lld,\"bytes_per_message\":%.1f,\"bytes_per_op\":%.1f,"
           "\"raw_body_bytes\":%llu,\"evict_ok\":%s,",
           no_page_check ? "false" : "true", m, w->n_ops, PAGE, build_s, (long long)disk, (double)disk / (double)m,
           (double)disk / (double)w->n_ops, (unsigned long long)w->raw_body_bytes,
           evict_ok ? "true" : "false");
    report("warm", warm, runs);
    putchar(',');
    report("cold", cold, runs);
    bench_lmdb_stat(store, stdout);
    printf(",\"ok\":true}\n");
    if (arg_flag(&a, "--keep"))
        fprintf(stderr, "kept the store: %s\n", store);
    else
        bench_rmtree(dir);
    free(warm);
    free(cold);
    free(data);
    free(lock);
    free(store);
    free(dir);
    wl_free(w);
    return 0;
}
