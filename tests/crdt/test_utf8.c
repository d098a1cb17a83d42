/* Strict UTF-8 validation: named cases and exhaustive comparison with a
 * reference decoder. */
#include <criterion/criterion.h>
#include <string.h>

#include "crdt/utf8.h"

static int valid(const char *s, size_t n)
{
    return utf8_valid((const uint8_t *)s, n);
}
#define V(lit) valid(lit, sizeof(lit) - 1)

Test(utf8, valid_text)
{
    cr_assert(utf8_valid(NULL, 0));
    cr_assert(V(""));
    cr_assert(V("hello"));
    cr_assert(V("a\0b"), "NUL is a code point");
    cr_assert(V("\x7f"));
    cr_assert(V("\xc2\x80"));              /* U+0080 */
    cr_assert(V("\xdf\xbf"));              /* U+07FF */
    cr_assert(V("\xe0\xa0\x80"));          /* U+0800 */
    cr_assert(V("\xed\x9f\xbf"));          /* U+D7FF */
    cr_assert(V("\xee\x80\x80"));          /* U+E000 */
    cr_assert(V("\xef\xbf\xbf"));          /* U+FFFF */
    cr_assert(V("\xef\xbb\xbf"));          /* BOM is just a code point */
    cr_assert(V("\xf0\x90\x80\x80"));      /* U+10000 */
    cr_assert(V("\xf4\x8f\xbf\xbf"));      /* U+10FFFF */
    cr_assert(V("h\xc3\xa9llo w\xc3\xb6rld \xf0\x9f\x91\x8d \xe6\x97\xa5"));
}

Test(utf8, invalid_text)
{
    cr_assert_not(V("\x80"), "lone continuation");
    cr_assert_not(V("\xbf"));
    cr_assert_not(V("\xc0\x80"), "overlong NUL");
    cr_assert_not(V("\xc1\xbf"), "overlong");
    cr_assert_not(V("\xe0\x80\x80"), "overlong");
    cr_assert_not(V("\xe0\x9f\xbf"), "overlong U+07FF");
    cr_assert_not(V("\xf0\x80\x80\x80"), "overlong");
    cr_assert_not(V("\xf0\x8f\xbf\xbf"), "overlong U+FFFF");
    cr_assert_not(V("\xed\xa0\x80"), "surrogate U+D800");
    cr_assert_not(V("\xed\xbf\xbf"), "surrogate U+DFFF");
    cr_assert_not(V("\xed\xa0\xbd\xed\xb8\x80"), "CESU-8 pair");
    cr_assert_not(V("\xf4\x90\x80\x80"), "U+110000");
    cr_assert_not(V("\xf5\x80\x80\x80"));
    cr_assert_not(V("\xf8\x88\x80\x80\x80"), "5-byte form");
    cr_assert_not(V("\xfe"));
    cr_assert_not(V("\xff"));
    cr_assert_not(V("\xc3"), "truncated at end");
    cr_assert_not(V("\xe2\x82"), "truncated at end");
    cr_assert_not(V("\xf0\x9f\x98"), "truncated at end");
    cr_assert_not(V("\xe2\x82" "A"), "truncated before ASCII");
    cr_assert_not(V("\xc3\xc3\xa9"), "lead where a continuation is due");
    cr_assert_not(V("\xf0\x9f\x98\x80\x80"), "extra continuation");
}

/* Every position of a bad byte relative to the 8-byte ASCII fast path. */
Test(utf8, fast_path_boundaries)
{
    char buf[40];
    for (size_t at = 0; at < 32; at++) {
        memset(buf, 'a', sizeof buf);
        buf[at] = (char)0x80;
        cr_assert_not(valid(buf, sizeof buf), "bad byte at %zu", at);
        memcpy(buf + at, "\xf0\x9f\x91\x8d", 4);
        cr_assert(valid(buf, sizeof buf), "emoji at %zu", at);
        cr_assert_not(valid(buf, at + 3), "emoji cut at %zu", at);
        memset(buf, 'a', sizeof buf);
        cr_assert(valid(buf, at), "ascii of %zu", at);
    }
}

/* Reference: decode a sequence by the textbook rule and check the result. */
static int ref_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        size_t len;
        uint32_t cp, min;
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xe0) == 0xc0) {
            len = 2, cp = b & 0x1f, min = 0x80;
        } else if ((b & 0xf0) == 0xe0) {
            len = 3, cp = b & 0x0f, min = 0x800;
        } else if ((b & 0xf8) == 0xf0) {
            len = 4, cp = b & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

Test(utf8, exhaustive_up_to_three_bytes)
{
    uint8_t b[3];
    for (unsigned x = 0; x < 256; x++) {
        b[0] = (uint8_t)x;
        cr_assert_eq(utf8_valid(b, 1), ref_valid(b, 1), "%02x", x);
        for (unsigned y = 0; y < 256; y++) {
            b[1] = (uint8_t)y;
            if (utf8_valid(b, 2) != ref_valid(b, 2))
                cr_assert_fail("%02x %02x", x, y);
            if (x < 0xe0 || x > 0xef)
                continue;       /* 3-byte leads only: keeps it quick */
            for (unsigned z = 0; z < 256; z++) {
                b[2] = (uint8_t)z;
                if (utf8_valid(b, 3) != ref_valid(b, 3))
                    cr_assert_fail("%02x %02x %02x", x, y, z);
            }
        }
    }
}

Test(utf8, four_byte_leads)
{
    uint8_t b[4];
    for (unsigned x = 0xf0; x < 0x100; x++)
        for (unsigned y = 0; y < 256; y++)
            for (unsigned z = 0x70; z < 0xd0; z += 0x0f)
                for (unsigned w = 0x70; w < 0xd0; w += 0x0b) {
                    b[0] = (uint8_t)x, b[1] = (uint8_t)y;
                    b[2] = (uint8_t)z, b[3] = (uint8_t)w;
                    if (utf8_valid(b, 4) != ref_valid(b, 4))
                        cr_assert_fail("%02x %02x %02x %02x", x, y, z, w);
                }
}
