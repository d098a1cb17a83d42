/* crypto/sign.c: Ed25519 against RFC 8032's test vectors, and every way a
 * signature must fail: another message, a flipped bit anywhere in the
 * signature or the message, another key, a key that is not a point. */
#include <criterion/criterion.h>
#include <string.h>

#include "crypto/crypto.h"
#include "support/hex.h"

/* RFC 8032, section 7.1, TEST 1 (empty message) and TEST 2 (one byte). */
struct vector {
    const char *seed, *pk, *msg, *sig;
};
static const struct vector rfc8032[] = {
    { "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
    { "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
      "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
};

Test(sign, rfc8032_vectors)
{
    for (size_t v = 0; v < sizeof rfc8032 / sizeof rfc8032[0]; v++) {
        uint8_t seed[KEY_SEED_LEN], pk[KEY_PUBLIC_LEN], sk[KEY_SECRET_LEN], want_pk[KEY_PUBLIC_LEN];
        uint8_t sig[SIGNATURE_LEN], want_sig[SIGNATURE_LEN], msg[1];
        size_t msg_len = strlen(rfc8032[v].msg) / 2;
        test_unhex(seed, rfc8032[v].seed, sizeof seed);
        test_unhex(want_pk, rfc8032[v].pk, sizeof want_pk);
        test_unhex(want_sig, rfc8032[v].sig, sizeof want_sig);
        test_unhex(msg, rfc8032[v].msg, msg_len);
        cr_assert_eq(key_pair_from_seed(pk, sk, seed), 0);
        cr_assert_arr_eq(pk, want_pk, sizeof pk, "vector %zu: public key", v);
        cr_assert_eq(signature_make(sig, msg, msg_len, sk), 0);
        cr_assert_arr_eq(sig, want_sig, sizeof sig, "vector %zu: signature", v);
        cr_assert_eq(signature_check(sig, msg, msg_len, pk), 1, "vector %zu", v);
    }
}

Test(sign, every_flipped_bit_fails)
{
    uint8_t pk[KEY_PUBLIC_LEN], sk[KEY_SECRET_LEN], sig[SIGNATURE_LEN];
    uint8_t msg[] = "I owe bob $5";
    size_t n = sizeof msg - 1;
    cr_assert_eq(key_pair_new(pk, sk), 0);
    cr_assert_eq(signature_make(sig, msg, n, sk), 0);
    cr_assert_eq(signature_check(sig, msg, n, pk), 1);
    for (size_t bit = 0; bit < 8 * SIGNATURE_LEN; bit++) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_eq(signature_check(sig, msg, n, pk), 0, "signature bit %zu flipped", bit);
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (size_t bit = 0; bit < 8 * n; bit++) {
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_eq(signature_check(sig, msg, n, pk), 0, "message bit %zu flipped", bit);
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    cr_assert_eq(signature_check(sig, msg, n - 1, pk), 0, "a prefix of the message");
}

Test(sign, another_key_or_no_key_fails)
{
    uint8_t pk[KEY_PUBLIC_LEN], sk[KEY_SECRET_LEN], pk2[KEY_PUBLIC_LEN], sk2[KEY_SECRET_LEN];
    uint8_t sig[SIGNATURE_LEN], zero[KEY_PUBLIC_LEN] = { 0 };
    const uint8_t msg[] = "hello";
    cr_assert_eq(key_pair_new(pk, sk), 0);
    cr_assert_eq(key_pair_new(pk2, sk2), 0);
    cr_assert_neq(memcmp(pk, pk2, sizeof pk), 0, "two new keys are different");
    cr_assert_eq(signature_make(sig, msg, 5, sk), 0);
    cr_assert_eq(signature_check(sig, msg, 5, pk2), 0, "the other key");
    cr_assert_eq(signature_check(sig, msg, 5, zero), 0, "an all-zero key (a small-order point)");
    memset(sig, 0, sizeof sig);
    cr_assert_eq(signature_check(sig, msg, 5, pk), 0, "an all-zero signature");
}
