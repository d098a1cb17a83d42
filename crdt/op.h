/* The op model: what every replica agrees an op is. Pure data, no I/O. */
#ifndef MSGLOG_CRDT_OP_H
#define MSGLOG_CRDT_OP_H

#include <stddef.h>
#include <stdint.h>

/* (replica, seq): the seq-th op of a replica in one conversation. */
typedef struct op_id {
    uint64_t replica;
    uint64_t seq;
} op_id;

enum op_kind {
    OP_SEND = 1,
    OP_EDIT = 2,
    OP_DELETE = 3,
    OP_REACT = 4,
    OP_UNREACT = 5,
    OP_READ = 6,
};
#define OP_KIND_MAX OP_READ

/* Limits every decoder enforces (bytes / counts). */
#define OP_MAX_CONV 255
#define OP_MAX_USER 255
#define OP_MAX_BODY 65536
#define OP_MAX_KEY 64
#define OP_MAX_DEPS 4096   /* entries of the causal context */
#define OP_MAX_REFS 4096   /* replaced edits / observed reacts */
#define OP_HASH_LEN 16

/*
 * One op, decoded. Byte fields borrow from the buffer the op was decoded from
 * (or that the creator owns); `deps` and `refs` are owned by the op when
 * decoded (free with codec_op_clear()).
 *
 * deps: the causal context, as a delta. Besides (replica, seq - 1), the op
 * depends on every (r, s) listed: it is ready once the receiver has delivered
 * seq s of replica r. Only entries that grew since the origin's previous op in
 * the conversation are listed; the previous op's own deps cover the rest.
 *
 * refs: for OP_EDIT the edits it replaces (the heads at its origin), for
 * OP_UNREACT the reacts it observed. Empty for other kinds.
 *
 * body: OP_SEND and OP_EDIT. When `erased` is set the text is gone (a delete
 * erased it) and only body_hash is known; otherwise body_hash is still filled
 * by whoever computes op hashes (crdt/digest.c).
 */
typedef struct op {
    uint8_t kind;
    const uint8_t *conv;
    size_t conv_len;
    op_id id;
    uint64_t hlc;
    const uint8_t *user;
    size_t user_len;
    op_id *deps;
    size_t n_deps;
    op_id target;            /* all kinds but OP_SEND */
    const uint8_t *body;     /* OP_SEND, OP_EDIT; NULL when erased */
    size_t body_len;
    int erased;
    uint8_t body_hash[OP_HASH_LEN];
    const uint8_t *key;      /* OP_REACT, OP_UNREACT */
    size_t key_len;
    op_id *refs;
    size_t n_refs;
} op;

static inline int op_id_cmp(op_id a, op_id b)
{
    if (a.replica != b.replica)
        return a.replica < b.replica ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

static inline int op_has_body(uint8_t kind)
{
    return kind == OP_SEND || kind == OP_EDIT;
}

#endif
