/* Growable byte buffers and a bump arena: the agent's two ways to hold memory.
 *
 * Out-of-memory policy, decided once for the whole agent: small allocations
 * (bounded by configured limits: request size, queue caps) abort the process
 * with a message, as Redis does. Nothing here returns NULL, so callers do not
 * carry error paths that would never be tested. Sizes that come from the
 * network are checked against limits *before* they reach these functions. */
#ifndef AG_BUF_H
#define AG_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdatomic.h>

/* malloc/realloc/strdup that abort on failure; never return NULL. */
void *ag_xmalloc(size_t n);
void *ag_xcalloc(size_t n, size_t size);
void *ag_xrealloc(void *p, size_t n);
char *ag_xstrdup(const char *s);
char *ag_xstrndup(const char *s, size_t n);

/* A growable byte buffer. Zero-initialised is a valid empty buffer.
 * The buffer owns data; ag_buf_free releases it and leaves an empty buffer. */
typedef struct {
    char *data;
    size_t len, cap;
} ag_buf;

void ag_buf_reserve(ag_buf *b, size_t extra);
void ag_buf_grow(ag_buf *b, size_t extra);
/* Inline so the msgpack packer's many tiny writes cost a memcpy each. */
static inline void ag_buf_append(ag_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len <= n) ag_buf_grow(b, n);
    if (n) __builtin_memcpy(b->data + b->len, p, n);
    b->len += n;
}
void ag_buf_putc(ag_buf *b, char c);
void ag_buf_puts(ag_buf *b, const char *s);
void ag_buf_printf(ag_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ensures data[len] == '\0' (not counted in len) and returns data. */
char *ag_buf_cstr(ag_buf *b);
void ag_buf_free(ag_buf *b);

/* A bump allocator: many small allocations freed at once. Reset keeps the
 * first chunk so a per-trace scratch arena stops calling malloc once warm. */
typedef struct ag_arena_chunk ag_arena_chunk;
typedef struct {
    ag_arena_chunk *head;
    size_t used; /* bytes used in head */
} ag_arena;

void ag_arena_init(ag_arena *a);
/* 8-byte aligned, never NULL; valid until the next reset or free. */
void *ag_arena_alloc(ag_arena *a, size_t n);
char *ag_arena_strndup(ag_arena *a, const char *s, size_t n);
void ag_arena_reset(ag_arena *a);
void ag_arena_free(ag_arena *a);

/* A memory budget shared by threads: the bytes every request holds
 * (bodies, their decoded form) charged against one maximum, so memory is
 * bounded by --max-inflight whatever arrives at once. used points at the
 * owner's counter. */
typedef struct {
    atomic_size_t *used;
    size_t max;
} ag_budget;

/* Charges n bytes unless that would pass max: returns 1 (charged) or 0
 * (nothing charged). Lock-free; can't fail otherwise. */
int ag_budget_try_charge(ag_budget *b, size_t n);
/* Gives back n bytes a try_charge took. */
void ag_budget_release(ag_budget *b, size_t n);

#endif
