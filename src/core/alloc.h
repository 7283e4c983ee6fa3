/*
 * alloc — the core's one door to the heap.
 *
 * Every allocation the core makes goes through ct__malloc / ct__calloc /
 * ct__realloc / ct__strdup and is given back with ct__free, which call the
 * allocator installed with ct_set_allocator (ctrace.h), or libc's by
 * default. As in SQLite (SQLITE_CONFIG_MALLOC), the point is less to let
 * an application bring its own heap than to let tests make the Nth
 * allocation fail and prove that the core survives every one of them:
 * the promise "allocation failure never aborts, the loss is counted" is
 * only as good as that test (tests/c/test_alloc_failure.c).
 *
 * Libraries the core calls (libcurl, cJSON, msgpack-c) allocate on their
 * own heap; their failures come back to the core as error codes.
 */
#ifndef CT_ALLOC_H
#define CT_ALLOC_H

#include <stddef.h>

#include "ctrace.h"

/* The installed allocator; read on every call (an atomic-free load: it is
 * only changed while no core object exists). */
extern ct_allocator ct__allocator_current;

/* Same contracts as malloc, calloc, realloc and free (NULL on failure;
 * ct__free accepts NULL; ct__realloc leaves the block unchanged on failure). */
static inline void *ct__malloc(size_t size) { return ct__allocator_current.malloc(size); }
static inline void *ct__realloc(void *p, size_t size)
{
    return ct__allocator_current.realloc(p, size);
}
static inline void ct__free(void *p)
{
    if (p) ct__allocator_current.free(p);
}
/* calloc through the installed malloc; NULL on failure or overflow. */
void *ct__calloc(size_t count, size_t size);
/* A copy of a NUL-terminated string; NULL on failure. */
char *ct__strdup(const char *s);

#endif
