/*
 * shared_string — immutable, reference-counted UTF-8 strings.
 *
 * Span names, services, resources, tag keys and values are mostly the same
 * few strings over and over (literals in the user's code, the service from
 * DD_SERVICE). Sharing one copy through a reference count means a span that
 * reuses its parent's service, or a tag key from a cache, costs an atomic
 * increment instead of a malloc and memcpy. Counts are atomic because spans
 * of one trace may finish on different threads in C programs.
 */
#ifndef CT_SHARED_STRING_H
#define CT_SHARED_STRING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "counters.h"

typedef struct ct_string {
    atomic_uint refcount; /* CT_STRING_STATIC: never freed */
    uint32_t len;
    char data[]; /* len bytes, then a NUL */
} ct_string;

#define CT_STRING_STATIC 0xFFFFFFFFu

/* A new string holding a copy of len bytes (plus a NUL), refcount 1.
 * NULL when out of memory or len > UINT32_MAX. */
ct_string *ct_string_new(const char *bytes, size_t len);

/* The empty string, shared and never freed. Can't fail. */
ct_string *ct_string_empty(void);

/* Another reference to s. Accepts NULL (returns NULL). */
static inline ct_string *ct_string_ref(ct_string *s)
{
    if (s && atomic_load_explicit(&s->refcount, memory_order_relaxed) != CT_STRING_STATIC)
        ct_ref_increment(&s->refcount);
    return s;
}

/* Frees a string whose last reference was dropped (ct_string_unref). */
void ct_string_free_(ct_string *s);

/* Drops a reference; frees the string at zero. Accepts NULL. Inline: a
 * span drops a handful of references when it dies. */
static inline void ct_string_unref(ct_string *s)
{
    if (!s || atomic_load_explicit(&s->refcount, memory_order_relaxed) == CT_STRING_STATIC) return;
    if (ct_ref_decrement(&s->refcount) == 1) ct_string_free_(s);
}

/* Replaces *slot by value (taking the caller's reference to value) and
 * drops the old one. */
static inline void ct_string_assign(ct_string **slot, ct_string *value)
{
    ct_string *old = *slot;
    *slot = value;
    ct_string_unref(old);
}

/* Equal content? NULLs are equal only to each other. */
static inline int ct_string_equals(const ct_string *a, const char *bytes, size_t len)
{
    return a && a->len == len && memcmp(a->data, bytes, len) == 0;
}

#endif
