#include "crdt/ids.h"
#include "crdt/grow.h"

#include <stdlib.h>

int ids_contains(const ids *s, op_id id)
{
    for (size_t i = 0; i < s->n; i++)
        if (op_id_cmp(s->e[i], id) == 0)
            return 1;
    return 0;
}

int ids_push(ids *s, op_id id)
{
    op_id *e = grow_array(s->e, &s->cap, s->n + 1, sizeof *e);
    if (!e)
        return -1;
    s->e = e;
    s->e[s->n++] = id;
    return 0;
}

int ids_add(ids *s, op_id id)
{
    return ids_contains(s, id) ? 0 : ids_push(s, id);
}

void ids_remove(ids *s, op_id id)
{
    for (size_t i = 0; i < s->n; i++) {
        if (op_id_cmp(s->e[i], id) == 0) {
            s->e[i] = s->e[--s->n];
            return;
        }
    }
}

void ids_free(ids *s)
{
    free(s->e);
    s->e = NULL;
    s->n = 0;
    s->cap = 0;
}

static int id_cmp(const void *a, const void *b)
{
    return op_id_cmp(*(const op_id *)a, *(const op_id *)b);
}

void ids_sort_unique(ids *s)
{
    if (s->n < 2)
        return;
    qsort(s->e, s->n, sizeof *s->e, id_cmp);
    size_t kept = 1;
    for (size_t i = 1; i < s->n; i++)
        if (op_id_cmp(s->e[i], s->e[kept - 1]) != 0)
            s->e[kept++] = s->e[i];
    s->n = kept;
}

int ids_has_sorted(const ids *s, op_id id)
{
    return s->n && bsearch(&id, s->e, s->n, sizeof *s->e, id_cmp) != NULL;
}
