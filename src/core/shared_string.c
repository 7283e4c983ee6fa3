/*
 * shared_string.c — see shared_string.h. The empty string is a static
 * object so that "no type" or an empty tag value never allocates.
 */
#include "shared_string.h"
#include "alloc.h"
#include "ctrace_internal.h"

#include <stdlib.h>
#include <string.h>

static struct {
    atomic_uint refcount;
    uint32_t len;
    char data[1];
} empty_string = {CT_STRING_STATIC, 0, {0}};

int ct__counters_single_lock;

void ct__use_single_lock(void) { ct__counters_single_lock = 1; }

ct_string *ct__string_empty(void) { return (ct_string *)&empty_string; }

ct_string *ct__string_new(const char *bytes, size_t len)
{
    if (len == 0) return ct__string_empty();
    if (len >= UINT32_MAX) return NULL;
    ct_string *s = ct__malloc(sizeof *s + len + 1);
    if (!s) return NULL;
    atomic_init(&s->refcount, 1);
    s->len = (uint32_t)len;
    memcpy(s->data, bytes, len);
    s->data[len] = '\0';
    return s;
}

void ct__string_free_(ct_string *s) { ct__free(s); }
