/* The state of one message and the merge rules that change it
 * (docs/design.md):
 * last-writer-wins edits with concurrent heads surfaced as a conflict,
 * delete-wins, add-wins reactions. Callers deliver ops in causal order;
 * these functions never see an op before the ops it depends on. */
#ifndef MSGLOG_CRDT_MESSAGE_H
#define MSGLOG_CRDT_MESSAGE_H

#include "crdt/ids.h"
#include "crdt/op.h"

/* One user's reaction `key`: live while some react of it is not observed by
 * a delivered unreact. */
typedef struct reaction {
    uint8_t *key;
    size_t key_len;
    uint8_t *user;
    size_t user_len;
    ids live;
} reaction;

typedef struct msg_state {
    uint8_t *author;
    size_t author_len;
    int deleted;
    int edited;             /* has at least one valid edit */
    int has_best;
    op_id best;             /* the valid edit with the greatest (hlc, id) */
    uint64_t best_hlc;
    ids heads;              /* valid edits no delivered edit replaces */
    ids edits;              /* every edit naming this message, for erasure */
    reaction *reactions;    /* sorted by (key, user), bytewise */
    size_t n_reactions;
    size_t reactions_cap;   /* allocated entries (grow_array) */
} msg_state;

/* A new message by `author` (copied). 0, or -1 when out of memory. */
int msg_init(msg_state *m, const uint8_t *author, size_t author_len);
void msg_free(msg_state *m);

/* 1 when the op's user is the message's author: only then do edits and
 * deletes take effect. */
int msg_is_author(const msg_state *m, const op *o);

/* Applies an edit. 0, or -1 when out of memory. */
int msg_apply_edit(msg_state *m, const op *e);
/* Applies a delete. Returns 1 when it newly deleted the message (the caller
 * then erases the texts), 0 when it changed nothing, -1 out of memory. */
int msg_apply_delete(msg_state *m, const op *d);
int msg_apply_react(msg_state *m, const op *r);
int msg_apply_unreact(msg_state *m, const op *u);

/* Applies once more what o's refs remove: the heads a valid edit replaced,
 * the reacts an unreact observed. Delivery never needs it, since an op's
 * refs are its dependencies and so come first. A replay in message order
 * (engine/equiv_rebuild.c) can apply an op before one it names (a faulty
 * hlc, or versions of one id made against different pasts); calling this
 * for every op after the replay gives the state the rules define whatever
 * the order: the heads are the valid edits no valid edit replaces, and a
 * react is live unless an unreact of its user and key observed it.
 * 0, or -1 when out of memory. */
int msg_apply_refs(msg_state *m, const op *o);

/* Which text a view shows: 1 with *edit set when it is edit *edit's (the
 * valid edit with the greatest (hlc, replica, seq)), 0 when it is the
 * send's; a deleted message shows none (the caller shows no body). */
int msg_shown_edit(const msg_state *m, op_id *edit);
/* Two or more heads on a message that is not deleted. */
int msg_conflict(const msg_state *m);
/* The live reaction entry of (user, key), or NULL. */
const reaction *msg_reaction_find(const msg_state *m, const uint8_t *key,
                                  size_t key_len, const uint8_t *user,
                                  size_t user_len);

#endif
