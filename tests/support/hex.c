#include <criterion/criterion.h>
#include <stdio.h>

#include "support/hex.h"

void test_unhex(uint8_t *out, const char *hex, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(sscanf(hex + 2 * i, "%2hhx", &out[i]), 1, "hex digit pair %zu of %s", i, hex);
}
