#include "crdt/grow.h"

#include <stdint.h>
#include <stdlib.h>

void *grow_array(void *arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap && arr)
        return arr;
    size_t n = *cap > SIZE_MAX / 2 ? SIZE_MAX : *cap * 2;
    if (n < need)
        n = need;
    if (n < 4)
        n = 4;
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = realloc(arr, n * size);
    if (!p)
        return NULL;
    *cap = n;
    return p;
}
