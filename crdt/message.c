#include "crdt/message.h"
#include "crdt/bytes.h"
#include "crdt/grow.h"
#include "crdt/order.h"

#include <stdlib.h>
#include <string.h>

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

int msg_init(msg_state *m, const uint8_t *author, size_t author_len)
{
    memset(m, 0, sizeof *m);
    m->author = dup_bytes(author, author_len);
    if (!m->author)
        return -1;
    m->author_len = author_len;
    return 0;
}

static void reaction_free(reaction *r)
{
    free(r->key);
    free(r->user);
    ids_free(&r->live);
}

static void clear_reactions(msg_state *m)
{
    for (size_t i = 0; i < m->n_reactions; i++)
        reaction_free(&m->reactions[i]);
    free(m->reactions);
    m->reactions = NULL;
    m->n_reactions = 0;
}

void msg_free(msg_state *m)
{
    if (!m)
        return;
    free(m->author);
    ids_free(&m->heads);
    ids_free(&m->edits);
    clear_reactions(m);
    memset(m, 0, sizeof *m);
}

int msg_is_author(const msg_state *m, const op *o)
{
    return bytes_cmp(m->author, m->author_len, o->user, o->user_len) == 0;
}


int msg_apply_edit(msg_state *m, const op *e)
{
    if (ids_add(&m->edits, e->id) != 0)
        return -1;
    if (!msg_is_author(m, e))
        return 0;
    for (size_t i = 0; i < e->n_refs; i++)
        ids_remove(&m->heads, e->refs[i]);
    if (ids_add(&m->heads, e->id) != 0)
        return -1;
    m->edited = 1;
    if (!m->has_best || order_cmp(e->hlc, e->id, m->best_hlc, m->best) > 0) {
        m->has_best = 1;
        m->best = e->id;
        m->best_hlc = e->hlc;
    }
    return 0;
}

int msg_apply_delete(msg_state *m, const op *d)
{
    if (m->deleted || !msg_is_author(m, d))
        return 0;
    m->deleted = 1;
    clear_reactions(m);
    return 1;
}

static int reaction_cmp(const reaction *r, const uint8_t *key, size_t key_len,
                        const uint8_t *user, size_t user_len)
{
    int c = bytes_cmp(r->key, r->key_len, key, key_len);
    return c ? c : bytes_cmp(r->user, r->user_len, user, user_len);
}

/* Index of the entry for (key, user), or where it would be inserted. */
static size_t reaction_slot(const msg_state *m, const uint8_t *key,
                            size_t key_len, const uint8_t *user,
                            size_t user_len, int *found)
{
    size_t lo = 0, hi = m->n_reactions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = reaction_cmp(&m->reactions[mid], key, key_len, user, user_len);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

const reaction *msg_reaction_find(const msg_state *m, const uint8_t *key,
                                  size_t key_len, const uint8_t *user,
                                  size_t user_len)
{
    int found;
    size_t i = reaction_slot(m, key, key_len, user, user_len, &found);
    return found && m->reactions[i].live.n ? &m->reactions[i] : NULL;
}

static int reaction_insert(msg_state *m, size_t at, const op *r)
{
    reaction *arr = grow_array(m->reactions, &m->reactions_cap, m->n_reactions + 1, sizeof *arr);
    if (!arr)
        return -1;
    m->reactions = arr;
    reaction fresh = { 0 };
    fresh.key = dup_bytes(r->key, r->key_len);
    fresh.user = dup_bytes(r->user, r->user_len);
    if (!fresh.key || !fresh.user) {
        reaction_free(&fresh);
        return -1;
    }
    fresh.key_len = r->key_len;
    fresh.user_len = r->user_len;
    memmove(&arr[at + 1], &arr[at], (m->n_reactions - at) * sizeof *arr);
    arr[at] = fresh;
    m->n_reactions++;
    return 0;
}

int msg_apply_react(msg_state *m, const op *r)
{
    if (m->deleted)
        return 0;   /* a deleted message shows no reactions, ever again */
    int found;
    size_t i = reaction_slot(m, r->key, r->key_len, r->user, r->user_len, &found);
    if (!found && reaction_insert(m, i, r) != 0)
        return -1;
    return ids_add(&m->reactions[i].live, r->id);
}

static void reaction_remove(msg_state *m, size_t at)
{
    reaction_free(&m->reactions[at]);
    memmove(&m->reactions[at], &m->reactions[at + 1],
            (m->n_reactions - at - 1) * sizeof *m->reactions);
    m->n_reactions--;
}

int msg_apply_unreact(msg_state *m, const op *u)
{
    int found;
    size_t i = reaction_slot(m, u->key, u->key_len, u->user, u->user_len, &found);
    if (!found)
        return 0;
    /* Only this user's reacts with this key can be observed: refs naming
     * anything else are ignored. */
    for (size_t k = 0; k < u->n_refs; k++)
        ids_remove(&m->reactions[i].live, u->refs[k]);
    if (m->reactions[i].live.n == 0)
        reaction_remove(m, i);
    return 0;
}

int msg_apply_refs(msg_state *m, const op *o)
{
    if (o->kind == OP_UNREACT)
        return msg_apply_unreact(m, o);   /* removing what is gone already changes nothing */
    if (o->kind == OP_EDIT && msg_is_author(m, o))
        for (size_t i = 0; i < o->n_refs; i++)
            ids_remove(&m->heads, o->refs[i]);
    return 0;
}

int msg_shown_edit(const msg_state *m, op_id *edit)
{
    if (!m->has_best || m->deleted)
        return 0;
    *edit = m->best;
    return 1;
}

int msg_conflict(const msg_state *m)
{
    return !m->deleted && m->heads.n >= 2;
}
