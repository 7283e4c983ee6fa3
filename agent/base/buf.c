/* Byte buffers and arenas (see buf.h for the out-of-memory policy).
 *
 * ag_buf doubles its capacity, so appending n bytes costs amortised O(n).
 * ag_arena hands out memory from chunks of at least 64 KiB; a request larger
 * than a chunk gets a chunk of its own. Reset frees every chunk but the
 * oldest, which is the one a steady workload keeps reusing. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "ctrace-agent: out of memory allocating %zu bytes\n", n);
    abort();
}

void *ag_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *ag_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *ag_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *ag_xstrndup(const char *s, size_t n)
{
    char *p = ag_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ag_xstrdup(const char *s) { return ag_xstrndup(s, strlen(s)); }

void ag_buf_reserve(ag_buf *b, size_t extra)
{
    if (b->cap - b->len > extra) return; /* keep room for a '\0' */
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= extra) cap *= 2;
    b->data = ag_xrealloc(b->data, cap);
    b->cap = cap;
}

void ag_buf_grow(ag_buf *b, size_t extra) { ag_buf_reserve(b, extra); }

void ag_buf_putc(ag_buf *b, char c)
{
    ag_buf_reserve(b, 1);
    b->data[b->len++] = c;
}

void ag_buf_puts(ag_buf *b, const char *s) { ag_buf_append(b, s, strlen(s)); }

void ag_buf_printf(ag_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        ag_buf_append(b, small, (size_t)n);
        return;
    }
    ag_buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *ag_buf_cstr(ag_buf *b)
{
    ag_buf_reserve(b, 1);
    b->data[b->len] = '\0';
    return b->data;
}

void ag_buf_free(ag_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

struct ag_arena_chunk {
    ag_arena_chunk *next;
    size_t size;
    _Alignas(16) char data[];
};

enum { ARENA_CHUNK = 64 * 1024 };

void ag_arena_init(ag_arena *a)
{
    a->head = NULL;
    a->used = 0;
}

void *ag_arena_alloc(ag_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (!a->head || a->head->size - a->used < n) {
        size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        ag_arena_chunk *c = ag_xmalloc(sizeof *c + size);
        c->size = size;
        c->next = a->head;
        a->head = c;
        a->used = 0;
    }
    void *p = a->head->data + a->used;
    a->used += n;
    return p;
}

char *ag_arena_strndup(ag_arena *a, const char *s, size_t n)
{
    char *p = ag_arena_alloc(a, n + 1);
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void ag_arena_reset(ag_arena *a)
{
    if (!a->head) return;
    ag_arena_chunk *c = a->head;
    while (c->next) { /* free all but the oldest (last) chunk */
        ag_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = c;
    a->used = 0;
}

void ag_arena_free(ag_arena *a)
{
    ag_arena_chunk *c = a->head;
    while (c) {
        ag_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}

int ag_budget_try_charge(ag_budget *b, size_t n)
{
    size_t used = atomic_load_explicit(b->used, memory_order_relaxed);
    do {
        if (n > b->max || used > b->max - n) return 0;
    } while (!atomic_compare_exchange_weak_explicit(b->used, &used, used + n, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

void ag_budget_release(ag_budget *b, size_t n)
{
    atomic_fetch_sub_explicit(b->used, n, memory_order_relaxed);
}
