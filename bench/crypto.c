/* bench_crypto: the primitives the identity design is sized by, measured
 * on this machine.
 *
 *   bench_crypto [--ms M]
 *
 * verify     Ed25519 signature checks of a 100-byte message, per second
 * sign       Ed25519 signatures of a 100-byte message, per second
 * blake2b    BLAKE2b-128 (crypto/hash.c) of 1 MiB, MB/s; and of 100 bytes
 *            (about one op's signed header), ns each
 * xxh3       XXH3-128 (crdt/digest.c's body hash) of 1 MiB, MB/s; of 100
 *            bytes, ns each
 * Each figure is the best of 3 runs of about M/3 ms (default 1000). One
 * JSON object on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "crdt/digest.h"
#include "crypto/crypto.h"

#define RUNS 3
#define SMALL 100
#define LARGE (1u << 20)

typedef void (*work_fn)(void *ctx);

/* Calls per second of fn: the best of RUNS runs of `secs` seconds each. */
static double rate(work_fn fn, void *ctx, double secs)
{
    double best = 0;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = bench_now_ns(), n = 0, dt;
        do {
            for (int i = 0; i < 16; i++)
                fn(ctx);
            n += 16;
            dt = bench_now_ns() - t0;
        } while (dt < (uint64_t)(secs * 1e9));
        double per_s = (double)n * 1e9 / (double)dt;
        if (per_s > best)
            best = per_s;
    }
    return best;
}

typedef struct keys {
    uint8_t pk[KEY_PUBLIC_LEN], sk[KEY_SECRET_LEN], sig[SIGNATURE_LEN];
    uint8_t msg[SMALL];
} keys;

static void do_verify(void *ctx)
{
    keys *k = ctx;
    if (signature_check(k->sig, k->msg, SMALL, k->pk) != 1)
        bench_die("a good signature did not verify");
}

static void do_sign(void *ctx)
{
    keys *k = ctx;
    if (signature_make(k->sig, k->msg, SMALL, k->sk) != 0)
        bench_die("signing failed");
}

typedef struct input {
    uint8_t *bytes;
    size_t len;
    uint8_t out[HASH16_LEN];
} input;

static void do_blake2b(void *ctx)
{
    input *in = ctx;
    hash16(in->out, in->bytes, in->len);
    in->bytes[0] ^= in->out[0];   /* each hash depends on the one before */
}

static void do_xxh3(void *ctx)
{
    input *in = ctx;
    digest_body_hash(in->out, in->bytes, in->len);
    in->bytes[0] ^= in->out[0];
}

int main(int argc, char **argv)
{
    bench_args a = { argc, argv };
    double each = (double)arg_u64(&a, "--ms", 1000) / 1e3 / RUNS;
    keys k;
    input small = { malloc(SMALL), SMALL, { 0 } }, large = { malloc(LARGE), LARGE, { 0 } };
    if (!small.bytes || !large.bytes || key_pair_new(k.pk, k.sk) != 0)
        bench_die("set-up failed");
    memset(k.msg, 'm', sizeof k.msg);
    memset(small.bytes, 's', SMALL);
    memset(large.bytes, 'l', LARGE);
    do_sign(&k);

    double verify = rate(do_verify, &k, each), sign = rate(do_sign, &k, each);
    double b_large = rate(do_blake2b, &large, each), b_small = rate(do_blake2b, &small, each);
    double x_large = rate(do_xxh3, &large, each), x_small = rate(do_xxh3, &small, each);
    printf("{\"verify_per_s\": %.0f, \"sign_per_s\": %.0f, "
           "\"blake2b_1mib_mb_per_s\": %.1f, \"blake2b_100b_ns\": %.1f, "
           "\"xxh3_1mib_mb_per_s\": %.1f, \"xxh3_100b_ns\": %.1f}\n",
           verify, sign, b_large * LARGE / 1e6, 1e9 / b_small, x_large * LARGE / 1e6, 1e9 / x_small);
    free(small.bytes);
    free(large.bytes);
    return 0;
}
