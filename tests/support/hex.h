/* Test vectors written in hex. */
#ifndef TEST_HEX_H
#define TEST_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Reads 2n hex digits into n bytes, asserting they are hex. */
void test_unhex(uint8_t *out, const char *hex, size_t n);

#endif
