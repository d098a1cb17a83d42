/* Hashes of ops and the conversation digest.
 *
 * An op's hash covers every field, with the body replaced by the body's hash,
 * so it is the same before and after a delete erased the text. The digest of
 * a conversation is the sum (mod 2^128) of the hashes of its delivered ops:
 * order-independent and updated in O(1) per delivered op. */
#ifndef MSGLOG_CRDT_DIGEST_H
#define MSGLOG_CRDT_DIGEST_H

#include "crdt/op.h"

typedef struct digest {
    uint64_t lo, hi;
} digest;

/* XXH3-128 of a body, as carried by erased ops. */
void digest_body_hash(uint8_t out[OP_HASH_LEN], const uint8_t *body, size_t len);
/* The op's hash; o->body_hash must be filled for OP_SEND and OP_EDIT. */
digest digest_op_hash(const op *o);
/* The op's hash, filling o->body_hash first when the op has its text. */
digest digest_op_content(op *o);
void digest_add(digest *d, digest h);
void digest_to_bytes(uint8_t out[16], digest d);
digest digest_from_bytes(const uint8_t in[16]);

#endif
