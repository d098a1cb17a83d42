/*
 * A growable output buffer for msgpack-c's packer. codec_out_write has the
 * msgpack_packer_write signature, so the encoders pack straight into it;
 * this header itself does not need msgpack.h.
 *
 * An allocation failure is sticky: later writes do nothing and
 * codec_out_finish() reports CODEC_ENOMEM, so encoders pack a whole frame
 * and check once instead of after every field.
 */
#ifndef MSGLOG_CODEC_OUT_H
#define MSGLOG_CODEC_OUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct codec_out {
    uint8_t *data;
    size_t len;
    size_t cap;
    int failed;
} codec_out;

/* Starts an empty buffer with room for `hint` bytes (the encoders pass an
 * upper bound of the frame, so a frame normally takes one malloc). */
void codec_out_init(codec_out *o, size_t hint);

/* msgpack_packer_write callback: appends buf[0..len) to the codec_out at
 * `data`. Returns 0, or -1 once an allocation has failed. */
int codec_out_write(void *data, const char *buf, size_t len);

/* Hands the bytes to the caller (*out malloc'd, caller frees) and returns
 * CODEC_OK, or frees them and returns CODEC_ENOMEM if any write failed. */
int codec_out_finish(codec_out *o, uint8_t **out, size_t *out_len);

#endif
