/* Shared helpers of the bench programs (see bench.h). */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

void bench_check(msglog *log, int rc, const char *what)
{
    if (rc != MSGLOG_OK)
        bench_die("%s: %s (%s)", what, msglog_strerror(rc), log ? msglog_errmsg(log) : "");
}

void *bench_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        bench_die("out of memory (%zu bytes)", n);
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        bench_die("out of memory (%zu bytes)", n);
    return q;
}

/* ---- PRNG ------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void brng_seed(brng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t brng_next(brng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t brng_below(brng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Rejection keeps it unbiased; the loop almost never repeats. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = brng_next(r);
    while (x >= limit);
    return x % n;
}

double brng_unit(brng *r)
{
    return ((double)(brng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

void brng_shuffle(brng *r, uint32_t *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)brng_below(r, i);
        uint32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* ---- clock, memory, files --------------------------------------------- */

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

long bench_peak_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

double bench_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

long bench_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

int64_t bench_io_write_bytes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    if (!f)
        return -1;
    char line[128];
    long long v = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "write_bytes: %lld", &v) == 1)
            break;
    fclose(f);
    return v;
}

int64_t bench_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

char *bench_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = bench_malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *bench_tmpdir(const char *parent, const char *tag)
{
    const char *base = parent;
    if (!base || !*base)
        base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    size_t n = strlen(base) + strlen(tag) + 16;
    char *p = bench_malloc(n);
    snprintf(p, n, "%s/%s-XXXXXX", base, tag);
    if (!mkdtemp(p))
        bench_die("mkdtemp %s: %s", p, strerror(errno));
    return p;
}

void bench_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char *child = bench_join(path, e->d_name);
                bench_rmtree(child);
                free(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

void bench_copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0)
        bench_die("copy %s -> %s: %s", from, to, strerror(errno));
    static char buf[1 << 20];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w <= 0)
                bench_die("copy to %s: %s", to, strerror(errno));
            done += w;
        }
    if (n < 0)
        bench_die("copy from %s: %s", from, strerror(errno));
    close(in);
    if (close(out) != 0)
        bench_die("copy to %s: %s", to, strerror(errno));
}

int bench_evict_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    fdatasync(fd);
    int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    return rc;
}

void bench_lmdb_stat(const char *store, FILE *f)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mdb_stat -efa '%s' 2>/dev/null", store);
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    char line[512], table[512] = "";
    long used = -1, free_pages = -1, page_size = -1;
    long leaf = 0, branch = 0, overflow = 0;
    int first = 1, in_table = 0, in_free = 0;
    char tables[4096] = "";
    size_t tl = 0;
    while (fgets(line, sizeof line, p)) {
        long v;
        if (strncmp(line, "Status of ", 10) == 0) {
            snprintf(table, sizeof table, "%s", line + 10);
            table[strcspn(table, "\n")] = '\0';
            in_table = 1;
            in_free = 0;
            leaf = branch = overflow = 0;
        } else if (strncmp(line, "Freelist Status", 15) == 0) {
            in_free = 1;
            in_table = 0;
        } else if (sscanf(line, "  Page size: %ld", &v) == 1) {
            page_size = v;
        } else if (sscanf(line, "  Number of pages used: %ld", &v) == 1) {
            used = v;
        } else if (in_free && sscanf(line, "  Free pages: %ld", &v) == 1) {
            free_pages = v;
        } else if (in_table && sscanf(line, "  Branch pages: %ld", &v) == 1) {
            branch = v;
        } else if (in_table && sscanf(line, "  Leaf pages: %ld", &v) == 1) {
            leaf = v;
        } else if (in_table && sscanf(line, "  Overflow pages: %ld", &v) == 1) {
            overflow = v;
        } else if (in_table && sscanf(line, "  Entries: %ld", &v) == 1) {
            if (tl < sizeof tables - 200)
                tl += (size_t)snprintf(tables + tl, sizeof tables - tl,
                                       "%s\"%s\":{\"entries\":%ld,\"pages\":%ld}", first ? "" : ",",
                                       table, v, leaf + branch + overflow);
            first = 0;
            in_table = 0;
        }
    }
    pclose(p);
    if (used < 0)
        return;
    fprintf(f, ",\"lmdb\":{\"page_size\":%ld,\"pages_used\":%ld,\"free_pages\":%ld,\"tables\":{%s}}",
            page_size, used, free_pages, tables);
}

/* ---- JSON --------------------------------------------------------------- */

void json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
        } else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

/* ---- arguments ---------------------------------------------------------- */

const char *arg_str(const bench_args *a, const char *name, const char *def)
{
    for (int i = 1; i + 1 < a->argc; i++)
        if (strcmp(a->argv[i], name) == 0)
            return a->argv[i + 1];
    return def;
}

uint64_t arg_u64(const bench_args *a, const char *name, uint64_t def)
{
    const char *s = arg_str(a, name, NULL);
    if (!s)
        return def;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        bench_die("%s wants a number, not %s", name, s);
    return v;
}

int arg_flag(const bench_args *a, const char *name)
{
    for (int i = 1; i < a->argc; i++)
        if (strcmp(a->argv[i], name) == 0)
            return 1;
    return 0;
}

/* ---- views ------------------------------------------------------------ */

void bview_init(bview *v, size_t n_msgs)
{
    memset(v, 0, sizeof *v);
    v->n = n_msgs;
    v->m = calloc(n_msgs ? n_msgs : 1, sizeof *v->m);
    if (!v->m)
        bench_die("out of memory");
    for (size_t u = 0; u < sizeof v->read / sizeof v->read[0]; u++)
        v->read[u] = -1;
}

void bview_free(bview *v)
{
    free(v->m);
    free(v->text);
    memset(v, 0, sizeof *v);
}

void bview_set(bview *v, size_t i, const char *body, size_t len, int deleted, uint32_t reacts)
{
    bview_msg *m = &v->m[i];
    m->present = 1;
    m->deleted = (uint8_t)(deleted != 0);
    m->reacts = reacts;
    m->body_len = 0;
    m->body_off = 0;
    if (deleted || !body)
        return;
    if (v->text_len + len > v->text_cap) {
        size_t cap = v->text_cap ? v->text_cap : 1 << 20;
        while (cap < v->text_len + len)
            cap *= 2;
        v->text = xrealloc(v->text, cap);
        v->text_cap = cap;
    }
    memcpy(v->text + v->text_len, body, len);
    m->body_off = v->text_len;
    m->body_len = (uint32_t)len;
    v->text_len += len;
}

int bview_equal(const bview *a, const bview *b, char *why, size_t why_len)
{
    if (a->n != b->n) {
        snprintf(why, why_len, "%zu messages vs %zu", a->n, b->n);
        return 0;
    }
    for (size_t i = 0; i < a->n; i++) {
        const bview_msg *x = &a->m[i], *y = &b->m[i];
        const char *what = NULL;
        if (x->present != y->present)
            what = "present in one view only";
        else if (x->deleted != y->deleted)
            what = "deleted differs";
        else if (x->reacts != y->reacts)
            what = "reactions differ";
        else if (!x->deleted && (x->body_len != y->body_len ||
                                 memcmp(a->text + x->body_off, b->text + y->body_off, x->body_len)))
            what = "body differs";
        if (what) {
            snprintf(why, why_len, "message %zu: %s", i, what);
            return 0;
        }
    }
    for (int u = 1; u <= WL_USERS; u++)
        if (a->read[u] != b->read[u]) {
            snprintf(why, why_len, "read marker of u%d: %lld vs %lld", u,
                     (long long)a->read[u], (long long)b->read[u]);
            return 0;
        }
    return 1;
}

void bview_write_json(const bview *v, FILE *f)
{
    fputs("{\"messages\":{", f);
    int first = 1;
    for (size_t i = 0; i < v->n; i++) {
        const bview_msg *m = &v->m[i];
        if (!m->present)
            continue;
        fprintf(f, "%s\"%zu\":{\"body\":", first ? "" : ",", i);
        first = 0;
        if (m->deleted)
            fputs("null", f);
        else
            json_str(f, v->text + m->body_off, m->body_len);
        fprintf(f, ",\"deleted\":%s,\"reactions\":{", m->deleted ? "true" : "false");
        int kfirst = 1;
        for (int k = 0; k < WL_KEYS; k++) {
            uint32_t bits = (m->reacts >> (k * WL_USERS)) & ((1u << WL_USERS) - 1);
            if (!bits)
                continue;
            fputs(kfirst ? "" : ",", f);
            kfirst = 0;
            json_str(f, wl_keys[k], strlen(wl_keys[k]));
            fputs(":[", f);
            int ufirst = 1;
            for (int u = 1; u <= WL_USERS; u++)
                if (bits & (1u << (u - 1))) {
                    fprintf(f, "%s\"u%d\"", ufirst ? "" : ",", u);
                    ufirst = 0;
                }
            fputc(']', f);
        }
        fputs("}}", f);
    }
    fputs("},\"read\":{", f);
    first = 1;
    for (int u = 1; u <= WL_USERS; u++)
        if (v->read[u] >= 0) {
            fprintf(f, "%s\"u%d\":%lld", first ? "" : ",", u, (long long)v->read[u]);
            first = 0;
        }
    fputs("}}", f);
}

int bview_write_file(const bview *v, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    bview_write_json(v, f);
    int rc = ferror(f) ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* ---- id map ------------------------------------------------------------ */

void idmap_set(idmap *m, uint64_t replica, uint64_t seq, uint32_t index)
{
    if (replica >= 16)
        bench_die("idmap: replica %llu out of range", (unsigned long long)replica);
    if (seq >= m->cap[replica]) {
        size_t cap = m->cap[replica] ? m->cap[replica] : 4096;
        while (cap <= seq)
            cap *= 2;
        m->by_replica[replica] = xrealloc(m->by_replica[replica], cap * sizeof(int32_t));
        for (size_t i = m->cap[replica]; i < cap; i++)
            m->by_replica[replica][i] = -1;
        m->cap[replica] = cap;
    }
    m->by_replica[replica][seq] = (int32_t)index;
}

int64_t idmap_get(const idmap *m, uint64_t replica, uint64_t seq)
{
    if (replica >= 16 || seq >= m->cap[replica])
        return -1;
    return m->by_replica[replica][seq];
}

void idmap_free(idmap *m)
{
    for (int i = 0; i < 16; i++)
        free(m->by_replica[i]);
    memset(m, 0, sizeof *m);
}

/* ---- reading msglog's view ---------------------------------------------- */

static int key_index(const msglog_str *k)
{
    for (int i = 0; i < WL_KEYS; i++)
        if (strlen(wl_keys[i]) == k->len && memcmp(wl_keys[i], k->data, k->len) == 0)
            return i;
    return -1;
}

static int user_index(const msglog_str *u)
{
    if (u->len == 2 && u->data[0] == 'u' && u->data[1] >= '1' && u->data[1] <= '0' + WL_USERS)
        return u->data[1] - '0';
    return -1;
}

void bench_conv_info(msglog *log, const char *conv, bench_conv *info)
{
    msglog_conv_info *ci;
    bench_check(log, msglog_conv_info_get(log, &ci, conv, strlen(conv)), "msglog_conv_info_get");
    info->pending = ci->pending;
    info->n_messages = ci->n_messages;
    info->n_vv = ci->n_vv;
    msglog_digest_hex(info->digest, ci->digest);
    msglog_free(ci);
}

void bview_from_msglog(bview *v, size_t n_msgs, msglog *log, const char *conv,
                       const idmap *ids, bench_conv *info)
{
    bview_init(v, n_msgs);
    msglog_cursor cur = { 1, 0, { 0, 0 } };
    for (;;) {
        msglog_page *p;
        bench_check(log, msglog_messages(log, &p, conv, strlen(conv), MSGLOG_FORWARD, cur, 1000),
                    "msglog_messages");
        if (p->n == 0) {
            msglog_free(p);
            break;
        }
        for (size_t i = 0; i < p->n; i++) {
            const msglog_message *m = &p->messages[i];
            int64_t idx = idmap_get(ids, m->id.replica, m->id.seq);
            if (idx < 0 || (size_t)idx >= n_msgs || v->m[idx].present)
                bench_die("view: message %llu.%llu is unknown or repeated",
                          (unsigned long long)m->id.replica, (unsigned long long)m->id.seq);
            uint32_t reacts = 0;
            for (size_t r = 0; r < m->n_reactions; r++) {
                int k = key_index(&m->reactions[r].key);
                if (k < 0)
                    bench_die("view: unknown reaction key");
                for (size_t u = 0; u < m->reactions[r].n_users; u++) {
                    int ui = user_index(&m->reactions[r].users[u]);
                    if (ui < 0)
                        bench_die("view: unknown user in a reaction");
                    reacts |= 1u << (k * WL_USERS + (ui - 1));
                }
            }
            if (!m->deleted && !m->body.data)
                bench_die("view: live message without a body");
            bview_set(v, (size_t)idx, m->body.data, m->body.len, m->deleted, reacts);
        }
        const msglog_message *last = &p->messages[p->n - 1];
        cur = (msglog_cursor){ 0, last->hlc, last->id };
        msglog_free(p);
    }
    msglog_conv_info *ci;
    bench_check(log, msglog_conv_info_get(log, &ci, conv, strlen(conv)), "msglog_conv_info_get");
    for (size_t i = 0; i < ci->n_read; i++) {
        int u = user_index(&ci->read[i].user);
        int64_t idx = idmap_get(ids, ci->read[i].message.replica, ci->read[i].message.seq);
        if (u < 0 || idx < 0)
            bench_die("view: unknown read marker");
        v->read[u] = idx;
    }
    if (info) {
        info->pending = ci->pending;
        info->n_messages = ci->n_messages;
        info->n_vv = ci->n_vv;
        msglog_digest_hex(info->digest, ci->digest);
    }
    msglog_free(ci);
}

void bench_receive_all(msglog *log, const msglog_buf *ops, size_t n, size_t batch)
{
    for (size_t i = 0; i < n; i += batch) {
        size_t m = n - i < batch ? n - i : batch;
        bench_check(log, msglog_receive_batch(log, ops + i, m), "msglog_receive_batch");
    }
}

msglog *bench_open(const char *path, uint64_t replica, const char *user)
{
    msglog *log;
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = (size_t)16 << 30;
    /* A full shuffle parks almost every op: let the buffer hold them all. */
    opts.max_pending_ops = UINT64_MAX;
    opts.max_pending_bytes = UINT64_MAX;
    int rc = msglog_open(&log, path, replica, user, strlen(user), &opts);
    if (rc != MSGLOG_OK)
        bench_die("msglog_open %s: %s", path, msglog_strerror(rc));
    return log;
}
