/* The cryptography of msglog (libsodium): device and user keys (Ed25519),
 * signatures, and the hash of anything an attacker may choose (BLAKE2b).
 * This folder is the only one that includes <sodium.h>; everything above
 * it names keys, signatures and hashes by these sizes and functions.
 *
 * xxHash (crdt/) stays for checksums and for digests between replicas,
 * which only have to catch accidents: XXH3 is not collision resistant, so
 * it never identifies content an attacker picks (docs/design.md). */
#ifndef MSGLOG_CRYPTO_CRYPTO_H
#define MSGLOG_CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define KEY_PUBLIC_LEN 32   /* an Ed25519 public key */
#define KEY_SECRET_LEN 64   /* an Ed25519 secret key (seed | public key) */
#define KEY_SEED_LEN 32     /* what a secret key is derived from */
#define SIGNATURE_LEN 64    /* an Ed25519 signature */
#define HASH16_LEN 16       /* BLAKE2b with a 16-byte output */
#define HASH32_LEN 32       /* BLAKE2b with a 32-byte output */

/* Makes libsodium ready (once per process; thread-safe). Every function
 * below calls it, so callers need not.
 * @return 0, or -1 when libsodium cannot start (no usable random source). */
int crypto_start(void);

/* A new random key pair. @return 0, or -1 as crypto_start(). */
int key_pair_new(uint8_t pk[KEY_PUBLIC_LEN], uint8_t sk[KEY_SECRET_LEN]);

/* The key pair of a seed (tests, and restoring a key from its seed).
 * @return 0, or -1 as crypto_start(). */
int key_pair_from_seed(uint8_t pk[KEY_PUBLIC_LEN], uint8_t sk[KEY_SECRET_LEN],
                       const uint8_t seed[KEY_SEED_LEN]);

/* Signs exactly the bytes m[0..n) (never a re-serialization of them).
 * @return 0, or -1 as crypto_start(). */
int signature_make(uint8_t sig[SIGNATURE_LEN], const uint8_t *m, size_t n,
                   const uint8_t sk[KEY_SECRET_LEN]);

/* @return 1 when sig is pk's signature of m[0..n), else 0 (a forged or
 * damaged signature, a wrong key, a key that is not a valid point). */
int signature_check(const uint8_t sig[SIGNATURE_LEN], const uint8_t *m, size_t n,
                    const uint8_t pk[KEY_PUBLIC_LEN]);

/* BLAKE2b of m[0..n) with a 16- or 32-byte output (each a hash of its own:
 * the output length is part of BLAKE2b's parameters, so hash16 is not a
 * prefix of hash32). */
void hash16(uint8_t out[HASH16_LEN], const void *m, size_t n);
void hash32(uint8_t out[HASH32_LEN], const void *m, size_t n);

/* n bytes from the system's random source. @return 0, or -1 as
 * crypto_start(). */
int random_bytes(void *out, size_t n);

/* Wipes n bytes of secret material so the compiler cannot skip it. */
void secret_wipe(void *p, size_t n);

#endif
