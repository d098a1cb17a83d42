/* What the bench programs share: the clock, memory and file figures, a
 * scratch directory, a JSON writer, the seeded PRNG, and the final view of
 * a conversation read through the public API (and compared with the view the
 * workload generator expects).
 *
 * The programs may include internal headers to GENERATE ops fast; whatever
 * they MEASURE goes through include/msglog.h only. */
#ifndef MSGLOG_BENCH_H
#define MSGLOG_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "msglog.h"

/* ---- failing loudly: a bench that cannot do its job says why and exits -- */
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 1, 2)))
#endif
void bench_die(const char *fmt, ...);
/* Dies with the handle's last error when rc != MSGLOG_OK. */
void bench_check(msglog *log, int rc, const char *what);
/* malloc that dies when out of memory. */
void *bench_malloc(size_t n);

/* ---- seeded PRNG: xoshiro256** seeded through splitmix64 ---------------- */
typedef struct brng {
    uint64_t s[4];
} brng;

void brng_seed(brng *r, uint64_t seed);
uint64_t brng_next(brng *r);
/* Uniform in [0, n); 0 when n == 0. */
uint64_t brng_below(brng *r, uint64_t n);
/* Uniform in (0, 1]. */
double brng_unit(brng *r);
/* Fisher-Yates shuffle of n uint32s. */
void brng_shuffle(brng *r, uint32_t *v, size_t n);

/* ---- clock, memory, files ----------------------------------------------- */
uint64_t bench_now_ns(void);
/* Peak resident set of this process (getrusage ru_maxrss), KiB. */
long bench_peak_rss_kb(void);
/* User + system CPU seconds this process has used so far. */
double bench_cpu_s(void);
/* Current resident set (VmRSS of /proc/self/status), KiB; -1 unknown. */
long bench_rss_kb(void);
/* write_bytes of /proc/self/io (bytes this process caused to be written to
 * storage); -1 unknown. */
int64_t bench_io_write_bytes(void);
/* Size of a file in bytes, -1 when it cannot be stat'ed. */
int64_t bench_file_size(const char *path);
/* A new directory under $TMPDIR (or /tmp); caller frees the path. */
char *bench_tmpdir(const char *parent, const char *tag);
/* `dir`/`name` in a new buffer the caller frees. */
char *bench_join(const char *dir, const char *name);
/* Removes a directory tree (like rm -rf). */
void bench_rmtree(const char *path);
/* Copies a file byte for byte (the store copies of the sync bench). */
void bench_copy_file(const char *from, const char *to);
/* Evicts a file's pages from the page cache (posix_fadvise DONTNEED after
 * fdatasync). Returns 0 on success. */
int bench_evict_file(const char *path);

/* Writes `,"lmdb":{...}` to f: pages used, free pages, and per table
 * entries and pages, from the `mdb_stat -efa` tool (Debian lmdb-utils) run
 * on a closed store. Writes nothing when the tool is missing. */
void bench_lmdb_stat(const char *store, FILE *f);

/* ---- JSON output -------------------------------------------------------- */
/* Writes `s` as a JSON string (UTF-8 kept as is, like ensure_ascii=False). */
void json_str(FILE *f, const char *s, size_t n);

/* ---- command line: --name value pairs ----------------------------------- */
typedef struct bench_args {
    int argc;
    char **argv;
} bench_args;

/* The value of --name, or def when absent. */
const char *arg_str(const bench_args *a, const char *name, const char *def);
uint64_t arg_u64(const bench_args *a, const char *name, uint64_t def);
int arg_flag(const bench_args *a, const char *name);

/* ---- the final view of the bench conversation --------------------------- */
/* One message of the view, keyed by its workload index (the index of its
 * send in the workload). reacts: bit key * WL_USERS + (user - 1) for each
 * (reaction key, user) shown. */
typedef struct bview_msg {
    size_t body_off;        /* into bview.text; meaningful when !deleted */
    uint32_t body_len;
    uint8_t present;
    uint8_t deleted;
    uint32_t reacts;
} bview_msg;

typedef struct bview {
    bview_msg *m;
    size_t n;
    int64_t read[16];       /* per user (1-based): greatest message index read; -1 none */
    char *text;
    size_t text_len, text_cap;
} bview;

void bview_init(bview *v, size_t n_msgs);
void bview_free(bview *v);
/* Sets message i (copies the body; body NULL means deleted). */
void bview_set(bview *v, size_t i, const char *body, size_t len, int deleted, uint32_t reacts);
/* 1 when equal; else 0 and `why` says where they first differ. */
int bview_equal(const bview *a, const bview *b, char *why, size_t why_len);
/* Writes the view as JSON: {"messages": {"17": {"body": ..., "deleted": ...,
 * "reactions": {"+1": ["u2", "u4"]}}, ...}, "read": {"u4": 17, ...}}.
 * Keys come in index order; the driver canonicalises. */
void bview_write_json(const bview *v, FILE *f);
int bview_write_file(const bview *v, const char *path);

/* Maps a message id (replica, seq of its send) to its workload index. */
typedef struct idmap {
    int32_t *by_replica[16];  /* [replica][seq] -> index, -1 none */
    size_t cap[16];
} idmap;

void idmap_set(idmap *m, uint64_t replica, uint64_t seq, uint32_t index);
int64_t idmap_get(const idmap *m, uint64_t replica, uint64_t seq);
void idmap_free(idmap *m);

/* Summary of the conversation as msglog reports it. */
typedef struct bench_conv {
    uint64_t pending;
    uint64_t n_messages;
    char digest[33];
    size_t n_vv;
} bench_conv;

/* Reads the whole view of conversation `conv` through the public API
 * (msglog_messages forward in pages, msglog_conv_info_get for the read
 * markers) into `v` (n_msgs slots). Dies when a message is not in the map
 * or a reaction key / user is not the workload's. */
void bview_from_msglog(bview *v, size_t n_msgs, msglog *log, const char *conv,
                       const idmap *ids, bench_conv *info);
/* Only the summary. */
void bench_conv_info(msglog *log, const char *conv, bench_conv *info);

/* Receives n ops in calls of `batch` ops (one durable commit each). */
void bench_receive_all(msglog *log, const msglog_buf *ops, size_t n, size_t batch);

/* Opens a store for the benches: a 16 GiB initial map (the default 1 GiB
 * would grow by retrying whole batches), no cap on the pending buffer (a
 * full shuffle parks almost every op), the system clock. */
msglog *bench_open(const char *path, uint64_t replica, const char *user);

#endif
