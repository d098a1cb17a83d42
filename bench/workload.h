/* The seeded workload generator of the benches.
 *
 * It simulates 8 replicas of one conversation in memory (6 users; u1 and u6
 * have two devices each) and writes REAL msglog ops with the internal codec,
 * so a million ops take a second instead of a million durable commits:
 *
 *   replica  1  2  3  4  5  6  7  8
 *   user    u1 u1 u2 u3 u4 u5 u6 u6
 *
 * The history is linear: each op's creator has seen every earlier op, so
 * its deps are the version-vector entries that grew since that replica's
 * previous op (docs/design.md), its hlc is max(t << 16, maxhlc + 1) with a
 * wall clock that advances 1-4 ms per op, an edit's refs are the message's
 * current head (its previous edit), and message order (hlc, replica, seq)
 * equals the order of the sends, which wl_run() checks.
 *
 * Mix per op (the creator replica is uniform):
 *   70% send    body 60-100 bytes of text
 *   10% edit    by the author's user, of one of that user's live messages
 *    3% delete  the same choice of target
 *   15% react   on a live message, key from wl_keys
 *    2% read    of any message
 * Targets lean to recent messages like in a real chat: the target is the
 * j-th newest candidate with j exponential, mean 3 (edit, delete), 20
 * (react) or 2 (read). An edit or delete with no candidate (a user without
 * live messages), or a react/read with no message at all, becomes a send.
 *
 * Divergence (wl_fork): from a shared state, side A holds the replicas of
 * u1..u3 (1-4) and side B those of u4..u6 (5-8); each side continues its
 * own linear history, concurrent with the other. Users never span sides, so
 * no edit conflict and no read marker race arise; reacts on a message the
 * other side deletes meanwhile are real concurrency (delete wins).
 */
#ifndef MSGLOG_BENCH_WORKLOAD_H
#define MSGLOG_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench.h"
#include "msglog.h"

#define WL_REPLICAS 8
#define WL_USERS 6
#define WL_KEYS 5
#define WL_CONV "bench"
#define WL_CONV_LEN 5

extern const char *const wl_keys[WL_KEYS];
extern const uint8_t wl_user_of[WL_REPLICAS + 1];

/* One generated op. The encoding is at wl.enc + enc_off. */
typedef struct wl_op {
    uint64_t hlc;
    size_t enc_off;
    size_t body_off;        /* into wl.text (send, edit) */
    uint32_t seq;
    uint32_t msg;           /* workload index of the message (a send's own) */
    uint16_t enc_len;
    uint16_t body_len;
    uint8_t kind;           /* OP_SEND .. OP_READ */
    uint8_t replica;
    uint8_t user;
    uint8_t key;            /* react: index into wl_keys */
} wl_op;

/* The simulated state of one message. */
typedef struct wl_msg {
    uint64_t hlc;
    size_t body_off;        /* current body: the send's or the last edit's */
    uint32_t seq;
    uint32_t head_seq;      /* the last edit (its id), 0 when none */
    uint16_t body_len;
    uint8_t replica;
    uint8_t author;
    uint8_t head_replica;
    uint8_t deleted;
    uint8_t foreign;        /* a slot of the other side's message (fork B) */
    uint32_t reacts;        /* bit key * WL_USERS + (user - 1) */
} wl_msg;

typedef struct u32list {
    uint32_t *v;
    size_t n, cap;
} u32list;

typedef struct wl_bytes {
    uint8_t *p;
    size_t n, cap;
} wl_bytes;

typedef struct wl {
    brng rng;
    uint64_t t_ms;
    uint64_t maxhlc;
    uint64_t vv[WL_REPLICAS + 1];
    uint64_t ctx[WL_REPLICAS + 1][WL_REPLICAS + 1];  /* vv at each replica's last op */
    uint8_t creators[WL_REPLICAS];
    size_t n_creators;
    int sends_only;             /* the pending-chain micro: no other kinds */
    wl_msg *msgs;
    size_t n_msgs, cap_msgs;
    u32list seen;               /* messages this side knows, in order */
    u32list live;               /* ... not deleted */
    u32list own[WL_USERS + 1];  /* live messages by author */
    int64_t read[WL_USERS + 1];
    wl_bytes text;              /* bodies */
    /* the ops generated on this wl (a fork holds only its own) */
    wl_op *ops;
    size_t n_ops, cap_ops;
    wl_bytes enc;
    uint64_t n_by_kind[8];
    uint64_t raw_body_bytes;    /* sum of send and edit body lengths */
} wl;

/* A new, empty simulation. */
wl *wl_new(uint64_t seed);
void wl_free(wl *w);
/* Generates n_ops more ops; with until_sends > 0, stops instead once the
 * simulation holds that many messages. Dies on an encoding failure. */
void wl_run(wl *w, size_t n_ops, size_t until_sends);

/* A copy of `base`'s state, without its ops, that continues as side 0 (A)
 * or 1 (B), with its own seed. `reserve` message indices are skipped before
 * its first send (B reserves A's new sends so that indices stay unique). */
wl *wl_fork(const wl *base, int side, uint64_t seed, size_t reserve);
/* The divergence case: from `base`, side A and side B each make k ops
 * (seeds derived from `seed`). Free both with wl_free(). */
void wl_diverge(const wl *base, size_t k, uint64_t seed, wl **a, wl **b);
/* Restricts the creators to the given replicas (the pending-chain micro). */
void wl_set_creators(wl *w, const uint8_t *replicas, size_t n);

static inline const uint8_t *wl_op_enc(const wl *w, size_t i)
{
    return w->enc.p + w->ops[i].enc_off;
}

/* The view the simulation expects after every op is delivered. */
void wl_expected_view(const wl *w, bview *v);
/* The expected view after two forks of a base with n_base messages have
 * synced both ways. */
void wl_merged_view(size_t n_base, const wl *a, const wl *b, bview *v);
/* Adds the sends of w to the id map. */
void wl_add_ids(const wl *w, idmap *m);

/* The ops as JSON lines for the peers, one object per line in creation
 * order (the schema is in docs/benchmarks.md). */
void wl_write_jsonl(const wl *w, FILE *f);
int wl_write_jsonl_file(const wl *w, const char *path);

/* The ops as msglog_buf entries pointing into w->enc (caller frees). */
msglog_buf *wl_bufs(const wl *w);

#endif
