/* A bare version vector (codec/vv_codec.h). */
#include "codec/vv_codec.h"

#include <msgpack.h>
#include <stdlib.h>

#include "codec/bounded.h"
#include "codec/out.h"

int codec_vv_valid(const op_id *v, size_t n)
{
    if (n > 0 && !v)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].replica == 0 || v[i].seq == 0 || (i > 0 && v[i - 1].replica >= v[i].replica))
            return 0;
    return 1;
}

int codec_vv_encode(uint8_t **out, size_t *out_len, const op_id *v, size_t n,
                    size_t max_entries)
{
    *out = NULL;
    *out_len = 0;
    if (n > max_entries)
        return CODEC_ELIMIT;
    if (!codec_vv_valid(v, n))
        return CODEC_EINVAL;
    codec_out o;
    msgpack_packer pk;
    codec_out_init(&o, 8 + 18 * n);
    msgpack_packer_init(&pk, &o, codec_out_write);
    msgpack_pack_array(&pk, 2 * n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_uint64(&pk, v[i].replica);
        msgpack_pack_uint64(&pk, v[i].seq);
    }
    return codec_out_finish(&o, out, out_len);
}

int codec_vv_decode(op_id **v, size_t *n, const uint8_t *buf, size_t len, size_t max_entries)
{
    codec_rd r;
    codec_rd_init(&r, buf, len);
    int rc = codec_rd_ids(&r, max_entries, v, n);
    if (rc == CODEC_OK && (r.p != r.end || !codec_vv_valid(*v, *n)))
        rc = CODEC_ECORRUPT;
    if (rc) {
        if (rc != CODEC_ELIMIT && rc != CODEC_ENOMEM && rc != CODEC_ECORRUPT)
            rc = CODEC_ECORRUPT;
        free(*v);
        *v = NULL;
        *n = 0;
    }
    return rc;
}
