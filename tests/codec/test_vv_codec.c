/* codec/vv_codec.c: a bare version vector, as sync/peers.c stores it. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "codec/vv_codec.h"

static void round_trip(const op_id *v, size_t n)
{
    uint8_t *enc;
    size_t len;
    cr_assert_eq(codec_vv_encode(&enc, &len, v, n, 100), CODEC_OK);
    op_id *back;
    size_t m;
    cr_assert_eq(codec_vv_decode(&back, &m, enc, len, 100), CODEC_OK);
    cr_assert_eq(m, n);
    for (size_t i = 0; i < n; i++)
        cr_assert(back[i].replica == v[i].replica && back[i].seq == v[i].seq);
    /* Every proper prefix is refused, and leaves nothing allocated. */
    for (size_t cut = 0; cut < len; cut++) {
        op_id *p = (op_id *)1;
        size_t k = 7;
        cr_assert_eq(codec_vv_decode(&p, &k, enc, cut, 100), CODEC_ECORRUPT, "cut %zu", cut);
        cr_assert(p == NULL && k == 0);
    }
    free(back);
    free(enc);
}

Test(vv_codec, round_trips_in_the_smallest_form)
{
    round_trip(NULL, 0);
    op_id v[] = { { 1, 1 }, { 127, 128 }, { 256, 65536 }, { 1ull << 40, UINT64_MAX } };
    round_trip(v, 4);
    uint8_t *enc;
    size_t len;
    cr_assert_eq(codec_vv_encode(&enc, &len, v, 1, 10), CODEC_OK);
    const uint8_t want[] = { 0x92, 0x01, 0x01 };
    cr_assert_eq(len, sizeof want);
    cr_assert_eq(memcmp(enc, want, len), 0);
    free(enc);
}

Test(vv_codec, refuses_what_is_not_one_canonical_vector)
{
    op_id *v;
    size_t n;
    const uint8_t odd[] = { 0x91, 0x01 };
    const uint8_t zero[] = { 0x92, 0x01, 0x00 };
    const uint8_t down[] = { 0x94, 0x02, 0x01, 0x01, 0x01 };
    const uint8_t same[] = { 0x94, 0x02, 0x01, 0x02, 0x01 };
    const uint8_t wide[] = { 0x92, 0xcc, 0x01, 0x01 };     /* 1 in two bytes */
    const uint8_t trailing[] = { 0x92, 0x01, 0x01, 0xc0 };
    const uint8_t *bad[] = { odd, zero, down, same, wide, trailing };
    size_t lens[] = { sizeof odd, sizeof zero, sizeof down, sizeof same, sizeof wide,
                      sizeof trailing };
    for (size_t i = 0; i < 6; i++) {
        cr_assert_eq(codec_vv_decode(&v, &n, bad[i], lens[i], 10), CODEC_ECORRUPT, "case %zu", i);
        cr_assert(v == NULL && n == 0);
    }
    /* A header declaring two billion entries (with none there): refused
     * before anything is allocated from it. */
    const uint8_t huge[] = { 0xdd, 0x7f, 0xff, 0xff, 0xfe };
    int rc = codec_vv_decode(&v, &n, huge, sizeof huge, 10);
    cr_assert(rc == CODEC_ELIMIT || rc == CODEC_ECORRUPT, "-> %d", rc);
    cr_assert(v == NULL && n == 0);
    /* Twelve entries (an array16 of 24 values), whole, over a limit of 5. */
    uint8_t buf[3 + 24] = { 0xdc, 0x00, 24 };
    for (int i = 0; i < 24; i++)
        buf[3 + i] = (uint8_t)(i / 2 + 1);
    cr_assert_eq(codec_vv_decode(&v, &n, buf, sizeof buf, 5), CODEC_ELIMIT);
    cr_assert(v == NULL && n == 0);
}

Test(vv_codec, encoder_refuses_what_the_decoder_would)
{
    uint8_t *enc;
    size_t len;
    op_id zero[] = { { 1, 0 } }, down[] = { { 2, 1 }, { 1, 1 } }, two[] = { { 1, 1 }, { 2, 1 } };
    cr_assert_eq(codec_vv_encode(&enc, &len, zero, 1, 10), CODEC_EINVAL);
    cr_assert_eq(codec_vv_encode(&enc, &len, down, 2, 10), CODEC_EINVAL);
    cr_assert_eq(codec_vv_encode(&enc, &len, two, 2, 1), CODEC_ELIMIT);
    cr_assert(enc == NULL && len == 0);
}
