/* Strict UTF-8 validation, shared by the codec (received ops) and the API
 * layer (locally created ops) so both sides accept exactly the same text. */
#ifndef MSGLOG_CRDT_UTF8_H
#define MSGLOG_CRDT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Returns 1 when s[0..n) is well-formed UTF-8 (Unicode 15, Table 3-7): no
 * overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no
 * truncated sequence at the end. U+0000 is allowed. Returns 0 otherwise.
 * s may be NULL when n is 0.
 */
int utf8_valid(const uint8_t *s, size_t n);

#endif
