/*
 * A small, deterministic chat history across four replicas, built through the
 * public API only. Shared by the corpus generator (fuzz/make_corpus.c), which
 * takes its seeds from these stores, and by fuzz_receive, whose store is
 * replica a after the scenario - so the seeds name ops and messages that
 * really exist in the store being fuzzed.
 *
 *   a  replica 1, "alice"   conversations general, random
 *   b  replica 2, "bob"     general, dm
 *   c  replica 3, "carol"   general, c-only
 *   d  replica 4, "alice"   (alice's second device) general
 *
 * Every kind of op occurs, with erased sends and edits (deletes), two
 * concurrent edits of one message (a and d), non-author ops, and at the end
 * store a holds some of b's and d's ops delivered and some pending (their
 * predecessors never reached a).
 */
#ifndef MSGLOG_FUZZ_SCENARIO_H
#define MSGLOG_FUZZ_SCENARIO_H

#include <stdint.h>

#include "msglog.h"

#define SCEN_T0 1700000000000ULL
#define SCEN_MAP_SIZE ((size_t)64 << 20)
#define SCEN_MAX_MAP_SIZE ((size_t)256 << 20)
/* Low pending caps, so that fuzz_receive reaches MSGLOG_EPENDINGFULL. */
#define SCEN_MAX_PENDING_OPS 64
#define SCEN_MAX_PENDING_BYTES 16384

/* The replicas: index 0..3 = a, b, c, d. */
#define SCEN_N 4
extern const char *const scen_name[SCEN_N];   /* "a", "b", "c", "d" */
extern const uint64_t scen_replica[SCEN_N];
extern const char *const scen_user[SCEN_N];

/* A clock that advances 1 s per reading, from SCEN_T0. */
typedef struct scen_clock {
    uint64_t now;
} scen_clock;

uint64_t scen_clock_read(void *ctx);

/* Opens "<root>/<scen_name[i]>" as replica i with a 64 MiB map (growing to
 * 256 MiB), the low pending caps above, and clock `clk` (NULL: a fixed
 * reading of SCEN_T0). */
int scen_open(msglog **out, const char *root, int i, scen_clock *clk);

/* Builds the four stores under `root` (a directory that exists), then
 * closes them. 0, or -1 after printing what failed on stderr. */
int scen_build(const char *root);

#endif
