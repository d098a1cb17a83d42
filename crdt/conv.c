#include "crdt/conv.h"

#include <stdlib.h>
#include <string.h>

#include "crdt/bytes.h"
#include "crdt/grow.h"
#include "crdt/order.h"

void conv_free(conv_state *c)
{
    if (!c)
        return;
    vv_free(&c->delivered);
    vv_free(&c->own_ctx);
    for (size_t i = 0; i < c->n_reads; i++)
        free(c->reads[i].user);
    free(c->reads);
    memset(c, 0, sizeof *c);
}


int conv_read_apply(conv_state *c, const uint8_t *user, size_t user_len,
                    uint64_t hlc, op_id msg)
{
    size_t i = 0;
    while (i < c->n_reads &&
           bytes_cmp(c->reads[i].user, c->reads[i].user_len, user, user_len) < 0)
        i++;
    if (i < c->n_reads &&
        bytes_cmp(c->reads[i].user, c->reads[i].user_len, user, user_len) == 0) {
        read_marker *r = &c->reads[i];
        if (order_cmp(hlc, msg, r->hlc, r->msg) > 0) {
            r->hlc = hlc;
            r->msg = msg;
        }
        return 0;
    }
    read_marker *arr = grow_array(c->reads, &c->reads_cap, c->n_reads + 1, sizeof *arr);
    if (!arr)
        return -1;
    c->reads = arr;
    uint8_t *u = malloc(user_len ? user_len : 1);
    if (!u)
        return -1;
    memcpy(u, user, user_len);
    memmove(&arr[i + 1], &arr[i], (c->n_reads - i) * sizeof *arr);
    arr[i] = (read_marker){ u, user_len, hlc, msg };
    c->n_reads++;
    return 0;
}

int conv_new_deps(const conv_state *c, uint64_t self, op_id **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t count = 0;
    for (size_t i = 0; i < c->delivered.n; i++) {
        op_id e = c->delivered.e[i];
        if (e.replica != self && e.seq > vv_get(&c->own_ctx, e.replica))
            count++;
    }
    if (!count)
        return 0;
    op_id *deps = malloc(count * sizeof *deps);
    if (!deps)
        return -1;
    for (size_t i = 0; i < c->delivered.n; i++) {
        op_id e = c->delivered.e[i];
        if (e.replica != self && e.seq > vv_get(&c->own_ctx, e.replica))
            deps[(*n)++] = e;
    }
    *out = deps;
    return 0;
}

int conv_note_delivered(conv_state *c, const op *o, digest h)
{
    if (vv_set(&c->delivered, o->id.replica, o->id.seq) != 0)
        return -1;
    if (o->hlc > c->maxhlc)
        c->maxhlc = o->hlc;
    digest_add(&c->dig, h);
    return 0;
}
