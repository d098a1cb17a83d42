/* Ed25519 keys and signatures (libsodium's crypto_sign_*, detached form:
 * the signature travels beside the bytes it signs). */
#include <sodium.h>

#include "crypto/crypto.h"

_Static_assert(KEY_PUBLIC_LEN == crypto_sign_PUBLICKEYBYTES, "public key size");
_Static_assert(KEY_SECRET_LEN == crypto_sign_SECRETKEYBYTES, "secret key size");
_Static_assert(KEY_SEED_LEN == crypto_sign_SEEDBYTES, "seed size");
_Static_assert(SIGNATURE_LEN == crypto_sign_BYTES, "signature size");

int key_pair_new(uint8_t pk[KEY_PUBLIC_LEN], uint8_t sk[KEY_SECRET_LEN])
{
    if (crypto_start() != 0)
        return -1;
    return crypto_sign_keypair(pk, sk) == 0 ? 0 : -1;
}

int key_pair_from_seed(uint8_t pk[KEY_PUBLIC_LEN], uint8_t sk[KEY_SECRET_LEN],
                       const uint8_t seed[KEY_SEED_LEN])
{
    if (crypto_start() != 0)
        return -1;
    return crypto_sign_seed_keypair(pk, sk, seed) == 0 ? 0 : -1;
}

int signature_make(uint8_t sig[SIGNATURE_LEN], const uint8_t *m, size_t n,
                   const uint8_t sk[KEY_SECRET_LEN])
{
    if (crypto_start() != 0)
        return -1;
    return crypto_sign_detached(sig, NULL, m, n, sk) == 0 ? 0 : -1;
}

int signature_check(const uint8_t sig[SIGNATURE_LEN], const uint8_t *m, size_t n,
                    const uint8_t pk[KEY_PUBLIC_LEN])
{
    if (crypto_start() != 0)
        return 0;
    return crypto_sign_verify_detached(sig, m, n, pk) == 0;
}
