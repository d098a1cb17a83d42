/* MessagePack encoding of the stored state records: a conversation's state
 * and a message's state (see docs/format.md, "LMDB layout"). */
#ifndef MSGLOG_CODEC_STATE_H
#define MSGLOG_CODEC_STATE_H

#include "codec/errors.h"
#include "crdt/conv.h"
#include "crdt/message.h"

#define CODEC_STATE_VERSION 1

/* Encode into a new malloc'd buffer. 0 or CODEC_ENOMEM. */
int codec_conv_encode(uint8_t **out, size_t *len, const conv_state *c);
int codec_msg_encode(uint8_t **out, size_t *len, const msg_state *m);

/* Decode a stored record; everything in *out is owned (free with
 * conv_free / msg_free). 0, CODEC_ECORRUPT, CODEC_EVERSION or CODEC_ENOMEM. */
int codec_conv_decode(conv_state *out, const uint8_t *buf, size_t len);
int codec_msg_decode(msg_state *out, const uint8_t *buf, size_t len);

#endif
