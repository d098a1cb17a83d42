/* Growable output buffer for the encoders (see out.h). */
#include "codec/out.h"

#include <stdlib.h>
#include <string.h>

#include "codec/op_codec.h"
#include "crdt/grow.h"

void codec_out_init(codec_out *o, size_t hint)
{
    *o = (codec_out){ 0 };
    if (hint == 0)
        hint = 64;
    o->data = malloc(hint);
    if (o->data == NULL)
        o->failed = 1;
    else
        o->cap = hint;
}

static int grow(codec_out *o, size_t need)
{
    uint8_t *p = grow_array(o->data, &o->cap, need < 64 ? 64 : need, 1);
    if (p == NULL)
        return -1;
    o->data = p;
    return 0;
}

int codec_out_write(void *data, const char *buf, size_t len)
{
    codec_out *o = data;

    if (o->failed)
        return -1;
    if (len == 0)
        return 0;      /* an empty str body may come with a NULL pointer */
    if (len > SIZE_MAX - o->len || (o->len + len > o->cap &&
                                     grow(o, o->len + len) != 0)) {
        o->failed = 1;
        return -1;
    }
    memcpy(o->data + o->len, buf, len);
    o->len += len;
    return 0;
}

int codec_out_finish(codec_out *o, uint8_t **out, size_t *out_len)
{
    if (o->failed) {
        free(o->data);
        *o = (codec_out){ 0 };
        return CODEC_ENOMEM;
    }
    *out = o->data;
    *out_len = o->len;
    *o = (codec_out){ 0 };
    return CODEC_OK;
}
