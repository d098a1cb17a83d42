/* A small seeded PRNG for tests: xoshiro256** seeded through splitmix64.
 * Same seed, same sequence, on every platform. */
#ifndef TEST_RNG_H
#define TEST_RNG_H

#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
} rng;

/* One step of splitmix64: advances *state and returns a well-mixed value. */
uint64_t rng_splitmix64(uint64_t *state);

void rng_seed(rng *r, uint64_t seed);
uint64_t rng_next(rng *r);
/* Uniform in [0, n); n == 0 gives 0. */
uint64_t rng_below(rng *r, uint64_t n);
/* Uniform in [lo, hi] (inclusive). */
uint64_t rng_range(rng *r, uint64_t lo, uint64_t hi);
/* 1 with probability percent/100. */
int rng_chance(rng *r, unsigned percent);
/* The seed of a random test: MSGLOG_SEED when set, else one from the time
 * and pid; printed to stderr with `name` and how to replay it. */
uint64_t test_seed(const char *name);
/* Fisher-Yates shuffle of n ints. */
void rng_shuffle_int(rng *r, int *v, int n);

#endif
