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

int ids_add(ids *s, op_id id)
{
    if (ids_contains(s, id))
        return 0;
    op_id *e = grow_array(s->e, &s->cap, s->n + 1, sizeof *e);
    if (!e)
        return -1;
    s->e = e;
    s->e[s->n++] = id;
    return 0;
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
}
