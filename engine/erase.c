/* The one "erase the text and re-encode" step (crdt/erase.h has the rule):
 * every place that stores an op without its text gets its bytes here. */
#include "engine/engine.h"

#include <stdlib.h>

#include "codec/op_codec.h"
#include "crdt/erase.h"

int erase_encode(op *o, uint8_t **enc, size_t *len)
{
    op_erase(o);
    return codec_op_encode(enc, len, o, 1);
}

int erase_stored_bytes(const uint8_t *enc, size_t len, uint8_t **out, size_t *out_len, op *head)
{
    *out = NULL;
    *out_len = 0;
    op o;
    int rc = stored_op_decode(&o, enc, len);
    if (rc)
        return rc;
    if (op_has_body(o.kind) && !o.erased)
        rc = erase_encode(&o, out, out_len);
    *head = (op){ .kind = o.kind, .hlc = o.hlc, .id = o.id, .target = o.target };
    codec_op_clear(&o);   /* it borrows enc, which the caller may zero next */
    return rc;
}
