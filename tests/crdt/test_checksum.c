/* The record checksum (crdt/checksum.c): golden values pin it (stores
 * written by one build are read by the next), every single-bit change of
 * the key or the value changes it, and so does moving a byte across the
 * key/value boundary. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "crdt/checksum.h"

/* These values must not change: they are in every stored record. */
Test(checksum, golden_values)
{
    cr_assert_eq(checksum_record("\x00\x00\x00\x01", 4, "hello", 5), UINT64_C(0x2e77d3747775e9ef));
    cr_assert_eq(checksum_record(NULL, 0, NULL, 0), UINT64_C(0x412f1275e10017f3));
    cr_assert_eq(checksum_record("format", 6, "\0\0\0\0\0\0\0\3", 8), UINT64_C(0x95ed5f6ae3c68e86));
}

/* Flips each bit of a 20-byte key and a 60-byte value in turn. */
Test(checksum, every_bit_of_key_and_value_counts)
{
    uint8_t key[20], val[60];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof val; i++)
        val[i] = (uint8_t)(i * 13 + 5);
    uint64_t clean = checksum_record(key, sizeof key, val, sizeof val);
    for (size_t bit = 0; bit < 8 * sizeof key; bit++) {
        key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_neq(checksum_record(key, sizeof key, val, sizeof val), clean, "key bit %zu", bit);
        key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (size_t bit = 0; bit < 8 * sizeof val; bit++) {
        val[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_neq(checksum_record(key, sizeof key, val, sizeof val), clean, "value bit %zu", bit);
        val[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    cr_assert_eq(checksum_record(key, sizeof key, val, sizeof val), clean);
}

/* "ab" + "c" and "a" + "bc" are different records. */
Test(checksum, the_boundary_between_key_and_value_counts)
{
    cr_assert_neq(checksum_record("ab", 2, "c", 1), checksum_record("a", 1, "bc", 2));
    cr_assert_neq(checksum_record("abc", 3, NULL, 0), checksum_record(NULL, 0, "abc", 3));
}
