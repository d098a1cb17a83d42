/* crypto/hash.c: BLAKE2b at 16 and 32 bytes against Python's hashlib
 * (hashlib.blake2b(data, digest_size=N)), and random_bytes. */
#include <criterion/criterion.h>
#include <string.h>

#include "crypto/crypto.h"
#include "support/hex.h"

Test(hash, blake2b_vectors)
{
    uint8_t h16[HASH16_LEN], h32[HASH32_LEN], want16[HASH16_LEN], want32[HASH32_LEN];

    test_unhex(want32, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319", 32);
    hash32(h32, "abc", 3);
    cr_assert_arr_eq(h32, want32, 32, "BLAKE2b-256(\"abc\")");
    test_unhex(want16, "cf4ab791c62b8d2b2109c90275287816", 16);
    hash16(h16, "abc", 3);
    cr_assert_arr_eq(h16, want16, 16, "BLAKE2b-128(\"abc\")");
    test_unhex(want16, "cae66941d9efbd404e4d88758ea67670", 16);
    hash16(h16, "", 0);
    cr_assert_arr_eq(h16, want16, 16, "BLAKE2b-128(\"\")");
    cr_assert_neq(memcmp(h16, h32, 16), 0, "hash16 is not a prefix of hash32");
}

Test(hash, random_bytes_differ)
{
    uint8_t a[32], b[32];
    cr_assert_eq(random_bytes(a, sizeof a), 0);
    cr_assert_eq(random_bytes(b, sizeof b), 0);
    cr_assert_neq(memcmp(a, b, sizeof a), 0);
}
