#include "crdt/vv.h"

#include <stdlib.h>
#include <string.h>

/* Index of the first entry with replica >= r. */
static size_t lower_bound(const vv *v, uint64_t r)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->e[mid].replica < r)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint64_t vv_get(const vv *v, uint64_t replica)
{
    size_t i = lower_bound(v, replica);
    return (i < v->n && v->e[i].replica == replica) ? v->e[i].seq : 0;
}

static int reserve(vv *v, size_t want)
{
    if (want <= v->cap)
        return 0;
    size_t cap = v->cap ? v->cap * 2 : 8;
    while (cap < want)
        cap *= 2;
    op_id *e = realloc(v->e, cap * sizeof *e);
    if (!e)
        return -1;
    v->e = e;
    v->cap = cap;
    return 0;
}

int vv_set(vv *v, uint64_t replica, uint64_t seq)
{
    size_t i = lower_bound(v, replica);
    if (i < v->n && v->e[i].replica == replica) {
        v->e[i].seq = seq;
        return 0;
    }
    if (reserve(v, v->n + 1) != 0)
        return -1;
    memmove(&v->e[i + 1], &v->e[i], (v->n - i) * sizeof *v->e);
    v->e[i] = (op_id){ replica, seq };
    v->n++;
    return 0;
}

int vv_copy(vv *dst, const vv *src)
{
    if (reserve(dst, src->n) != 0)
        return -1;
    if (src->n)
        memcpy(dst->e, src->e, src->n * sizeof *src->e);
    dst->n = src->n;
    return 0;
}

int vv_covers(const vv *have, const vv *need)
{
    for (size_t i = 0; i < need->n; i++)
        if (vv_get(have, need->e[i].replica) < need->e[i].seq)
            return 0;
    return 1;
}

void vv_free(vv *v)
{
    if (!v)
        return;
    free(v->e);
    v->e = NULL;
    v->n = v->cap = 0;
}
