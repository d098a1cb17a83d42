#include "crdt/vv.h"
#include "crdt/grow.h"

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

int vv_has(const vv *v, op_id id)
{
    return id.seq <= vv_get(v, id.replica);
}

static int reserve(vv *v, size_t want)
{
    if (want <= v->cap)
        return 0;
    op_id *e = grow_array(v->e, &v->cap, want < 8 ? 8 : want, sizeof *e);
    if (!e)
        return -1;
    v->e = e;
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

int vv_merge(vv *dst, const op_id *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (vv_get(dst, src[i].replica) < src[i].seq && vv_set(dst, src[i].replica, src[i].seq))
            return -1;
    return 0;
}

int vv_equal(const vv *a, const vv *b)
{
    return vv_entries_equal(a->e, a->n, b->e, b->n);
}

int vv_entries_equal(const op_id *a, size_t na, const op_id *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

int vv_entries_cover(const op_id *v, size_t n, op_id id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].replica < id.replica)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo].replica == id.replica && v[lo].seq >= id.seq;
}

int vv_entries_max(const op_id *a, size_t na, const op_id *b, size_t nb, op_id **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (na + nb == 0)
        return 0;
    op_id *m = malloc((na + nb) * sizeof *m);
    if (!m)
        return -1;
    size_t i = 0, j = 0, k = 0;
    while (i < na || j < nb) {
        if (j == nb || (i < na && a[i].replica < b[j].replica)) {
            m[k++] = a[i++];
        } else if (i == na || b[j].replica < a[i].replica) {
            m[k++] = b[j++];
        } else {
            m[k] = a[i++];
            if (b[j].seq > m[k].seq)
                m[k].seq = b[j].seq;
            k++;
            j++;
        }
    }
    *out = m;
    *n = k;
    return 0;
}

size_t vv_entries_min_into(op_id *a, size_t na, const op_id *b, size_t nb)
{
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) {
        if (a[i].replica < b[j].replica) {
            i++;
        } else if (b[j].replica < a[i].replica) {
            j++;
        } else {
            a[k] = a[i++];
            if (b[j].seq < a[k].seq)
                a[k].seq = b[j].seq;
            k++;
            j++;
        }
    }
    return k;
}

void vv_free(vv *v)
{
    if (!v)
        return;
    free(v->e);
    v->e = NULL;
    v->n = v->cap = 0;
}
