#include "api/flat.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

void *flat_alloc(flat *f, size_t size)
{
    size_t a = alignof(max_align_t);
    f->off = (f->off + a - 1) / a * a;
    void *p = f->base ? f->base + f->off : NULL;
    f->off += size;
    return p;
}

msglog_str flat_str(flat *f, const void *p, size_t len)
{
    char *d = f->base ? (char *)f->base + f->off : NULL;
    f->off += len + 1;
    if (d) {
        if (len)
            memcpy(d, p, len);
        d[len] = '\0';
    }
    return (msglog_str){ d, len };
}

int flat_start_writing(flat *f)
{
    f->base = calloc(1, f->off ? f->off : 1);
    f->off = 0;
    return f->base ? MSGLOG_OK : MSGLOG_ENOMEM;
}
