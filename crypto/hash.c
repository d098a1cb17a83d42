/* BLAKE2b (libsodium's crypto_generichash), unkeyed, for content an
 * attacker may choose. */
#include <sodium.h>

#include "crypto/crypto.h"

_Static_assert(HASH16_LEN >= crypto_generichash_BYTES_MIN, "BLAKE2b output too short");

static void blake2b(uint8_t *out, size_t out_len, const void *m, size_t n)
{
    /* Cannot fail for an output length in range and no key; BLAKE2b needs
     * no started library (no randomness). */
    (void)crypto_generichash(out, out_len, m, n, NULL, 0);
}

void hash16(uint8_t out[HASH16_LEN], const void *m, size_t n)
{
    blake2b(out, HASH16_LEN, m, n);
}

void hash32(uint8_t out[HASH32_LEN], const void *m, size_t n)
{
    blake2b(out, HASH32_LEN, m, n);
}
