/*
 * alloc.c — the installed allocator (see alloc.h). The default is libc's;
 * ct_set_allocator swaps all three functions at once so a block is always
 * freed by the allocator that made it, provided the swap happens while no
 * core object exists, as ctrace.h requires.
 */
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

ct_allocator ct__allocator_current = {malloc, realloc, free};

int ct_set_allocator(const ct_allocator *allocator)
{
    if (!allocator) {
        ct__allocator_current = (ct_allocator){malloc, realloc, free};
        return CT_OK;
    }
    if (!allocator->malloc || !allocator->realloc || !allocator->free) return CT_EINVAL;
    ct__allocator_current = *allocator;
    return CT_OK;
}

void *ct__calloc(size_t count, size_t size)
{
    if (size && count > (size_t)-1 / size) return NULL;
    void *p = ct__malloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

char *ct__strdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *copy = ct__malloc(len);
    if (copy) memcpy(copy, s, len);
    return copy;
}
