/* Chunk blobs (see blob.h). Encoding interns strings with a small
 * open-addressing table that is cleared, not freed, between chunks, packs
 * the spans into a scratch buffer while the table fills, then writes the
 * table and copies the spans after it. Decoding reads with a hand-rolled
 * cursor: blobs were written by this file, but a damaged database must
 * still not crash the agent, so every read is bounds-checked. */
#include "blob.h"
#include "hash.h"
#include "mpwire.h"
#include "util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A slot is in use when its generation is the encoder's current one, so
 * starting a chunk costs an increment, not a memset of the table. A string
 * of 16 bytes or less is held as two words (short_key) that, with its
 * length, identify it, compared instead of memcmp; a longer one keeps its
 * hash there and is compared with the string itself (strings[index]).
 * 32 bytes, so a table for a typical chunk stays in the L1 cache. */
struct ag_blob_slot {
    uint64_t head, tail;
    uint32_t len; /* saturated (slot_len): never <= 16 for a long string */
    uint32_t index;
    uint32_t generation;
};

struct ag_blob_ptr_slot {
    const char *ptr;
    size_t len;
    uint32_t index;
    uint32_t generation;
};

/* ---- a minimal msgpack writer straight into an ag_buf ----
 *
 * msgpack-c's packer calls a write callback for every tag and every body,
 * which cost more than the interning. These write the same bytes (the
 * smallest encoding of each value) after reserving room once per value. */

static inline unsigned char *room(ag_buf *b, size_t n)
{
    if (b->cap - b->len <= n) ag_buf_grow(b, n);
    return (unsigned char *)b->data + b->len;
}

static inline void pk_tagged(ag_buf *b, unsigned char tag, uint64_t v, int n)
{
    unsigned char *p = room(b, 9);
    p[0] = tag;
    ag_mp_store_be(p + 1, v, n);
    b->len += 1 + (size_t)n;
}

static inline void pk_uint(ag_buf *b, uint64_t v)
{
    if (v <= AG_MP_POSFIXINT_MAX) {
        *room(b, 1) = (unsigned char)v;
        b->len++;
    } else if (v <= 0xff) pk_tagged(b, AG_MP_UINT8, v, 1);
    else if (v <= 0xffff) pk_tagged(b, AG_MP_UINT16, v, 2);
    else if (v <= 0xffffffffu) pk_tagged(b, AG_MP_UINT32, v, 4);
    else pk_tagged(b, AG_MP_UINT64, v, 8);
}

static inline void pk_int(ag_buf *b, int64_t v)
{
    if (v >= 0) pk_uint(b, (uint64_t)v);
    else if (v >= -32) {
        *room(b, 1) = (unsigned char)(int8_t)v;
        b->len++;
    } else if (v >= INT8_MIN) pk_tagged(b, AG_MP_INT8, (uint64_t)v, 1);
    else if (v >= INT16_MIN) pk_tagged(b, AG_MP_INT16, (uint64_t)v, 2);
    else if (v >= INT32_MIN) pk_tagged(b, AG_MP_INT32, (uint64_t)v, 4);
    else pk_tagged(b, AG_MP_INT64, (uint64_t)v, 8);
}

static inline void pk_double(ag_buf *b, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    pk_tagged(b, AG_MP_FLOAT64, bits, 8);
}

static inline void pk_nil(ag_buf *b)
{
    *room(b, 1) = AG_MP_NIL;
    b->len++;
}

static inline void pk_array(ag_buf *b, size_t n)
{
    if (n <= AG_MP_FIX_MAX) {
        *room(b, 1) = (unsigned char)(AG_MP_FIXARRAY | n);
        b->len++;
    } else if (n <= 0xffff) pk_tagged(b, AG_MP_ARRAY16, n, 2);
    else pk_tagged(b, AG_MP_ARRAY32, n, 4);
}

/* A str (bin when bin is set) with its body. */
static inline void pk_raw(ag_buf *b, const char *p, size_t n, int bin)
{
    if (!bin && n <= AG_MP_FIXSTR_MAX) {
        *room(b, 1) = (unsigned char)(AG_MP_FIXSTR | n);
        b->len++;
    } else if (n <= 0xff) pk_tagged(b, bin ? AG_MP_BIN8 : AG_MP_STR8, n, 1);
    else if (n <= 0xffff) pk_tagged(b, bin ? AG_MP_BIN16 : AG_MP_STR16, n, 2);
    else pk_tagged(b, bin ? AG_MP_BIN32 : AG_MP_STR32, n, 4);
    ag_buf_append(b, p, n);
}

/* The interning hash: every byte counts (a sampled hash would let a
 * payload of look-alike strings make interning quadratic), but no call to
 * memcpy for the tail, which ag_hash_bytes makes; the same steps (hash.h)
 * otherwise. */
static inline uint64_t load_tail(const unsigned char *p, size_t n)
{
    uint64_t w = 0;
    if (n >= 4) {
        uint32_t a, z;
        memcpy(&a, p, 4);
        memcpy(&z, p + n - 4, 4);
        return (uint64_t)a << 32 | z;
    }
    if (n) w = (uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1];
    return w;
}

static inline uint64_t intern_hash(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t h = n * AG_HASH_GOLDEN;
    size_t i = 0;
    for (; n - i > 8; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = ag_hash_step(h, w);
    }
    uint64_t w;
    if (n >= 8) memcpy(&w, p + n - 8, 8); /* overlaps the last word */
    else w = load_tail(p, n);
    return ag_hash_last(h, w);
}

static void reset_table(ag_blob_encoder *e, size_t need)
{
    if (!e->cap) {
        e->cap = 64;
        e->slots = ag_xcalloc(e->cap, sizeof *e->slots);
    }
    e->strings_len = 0;
    if (!e->by_pointer) e->by_pointer = ag_xcalloc(AG_BLOB_PTR_CACHE, sizeof *e->by_pointer);
    if (++e->generation == 0) { /* wrapped: stale stamps could match again */
        memset(e->slots, 0, e->cap * sizeof *e->slots);
        memset(e->by_pointer, 0, AG_BLOB_PTR_CACHE * sizeof *e->by_pointer);
        e->generation = 1;
    }
    if (e->strings_cap < need) {
        free(e->strings);
        e->strings = ag_xmalloc(need * sizeof *e->strings);
        e->strings_cap = need;
    }
}

/* Two words holding every byte of a string of at most 16 bytes (with its
 * length, they identify it): most tag keys and values are that short, and
 * in v0.4 each span carries its own copy of them. */
static inline void short_key(const unsigned char *p, size_t n, uint64_t *head, uint64_t *tail)
{
    if (n >= 8) {
        memcpy(head, p, 8);
        memcpy(tail, p + n - 8, 8); /* overlaps head below 16 bytes */
    } else {
        *head = load_tail(p, n); /* every byte, for n < 8 */
        *tail = 0;
    }
}

static inline uint64_t slot_hash(uint64_t head, uint64_t tail, size_t len)
{
    uint64_t h = (head * 0xff51afd7ed558ccdULL) ^ ((tail ^ len) * 0xc4ceb9fe1a85ec53ULL);
    return h ^ (h >> 29);
}

/* The slot key of a string: every byte of a short one, the hash of a long
 * one. Returns the table hash. */
static inline uint64_t slot_key(ag_str s, uint64_t *head, uint64_t *tail)
{
    if (s.len <= 16) {
        short_key((const unsigned char *)s.ptr, s.len, head, tail);
        return slot_hash(*head, *tail, s.len);
    }
    *head = intern_hash(s.ptr, s.len);
    *tail = 0;
    return *head;
}

static inline uint32_t slot_len(size_t n) { return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n; }

static inline size_t first_slot(uint64_t h, size_t cap) { return ag_hash_fold(h) & (cap - 1); }

/* Doubles the table (kept at most half full) and re-inserts this chunk's
 * strings. A chunk rarely has more than a few dozen distinct strings, so
 * the table starts small and only chunks that need it make it grow. */
static void grow_table(ag_blob_encoder *e)
{
    size_t cap = e->cap * 2;
    struct ag_blob_slot *slots = ag_xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < e->strings_len; i++) {
        uint64_t head, tail;
        size_t j = first_slot(slot_key(e->strings[i], &head, &tail), cap);
        while (slots[j].generation == e->generation) j = (j + 1) & (cap - 1);
        slots[j] = (struct ag_blob_slot){head, tail, slot_len(e->strings[i].len), (uint32_t)i,
                                         e->generation};
    }
    free(e->slots);
    e->slots = slots;
    e->cap = cap;
}

static uint32_t intern_bytes(ag_blob_encoder *e, ag_str s)
{
    uint64_t head, tail;
    bool is_short = s.len <= 16;
    size_t j = first_slot(slot_key(s, &head, &tail), e->cap);
    while (e->slots[j].generation == e->generation) {
        struct ag_blob_slot *sl = &e->slots[j];
        if (sl->len == slot_len(s.len) && sl->head == head && sl->tail == tail &&
            (is_short || (e->strings[sl->index].len == s.len &&
                          !memcmp(e->strings[sl->index].ptr, s.ptr, s.len))))
            return sl->index;
        j = (j + 1) & (e->cap - 1);
    }
    uint32_t index = (uint32_t)e->strings_len;
    e->strings[e->strings_len++] = s;
    if (e->strings_len * 2 > e->cap) {
        grow_table(e); /* re-inserts s too */
    } else {
        struct ag_blob_slot *sl = &e->slots[j];
        sl->head = head;
        sl->tail = tail;
        sl->len = slot_len(s.len);
        sl->index = index;
        sl->generation = e->generation;
    }
    return index;
}

/* Strings decoded from v0.5 (and repeated service or tag strings in
 * general) often share one pointer, so a direct-mapped cache keyed by the
 * pointer answers most lookups without hashing the bytes. In v0.4 every
 * string has its own pointer: the cache would only miss, so an encoder
 * whose lookups mostly miss stops using it (for the rest of its request,
 * whose strings all come from one decoder). */
_Static_assert(AG_BLOB_PTR_CACHE == 256, "the pointer cache index is the hash's top 8 bits");

static uint32_t intern(ag_blob_encoder *e, ag_str s)
{
    if (e->pointer_cache_off) return intern_bytes(e, s);
    /* multiplied, not shifted: heap strings are 16-byte aligned, which
     * left a quarter of a shifted index's slots in use */
    struct ag_blob_ptr_slot *pc = &e->by_pointer[((uintptr_t)s.ptr * AG_HASH_GOLDEN) >> 56];
    if (pc->generation == e->generation && pc->ptr == s.ptr && pc->len == s.len) {
        e->pointer_hits++;
        return pc->index;
    }
    e->pointer_misses++;
    uint32_t index = intern_bytes(e, s);
    pc->ptr = s.ptr;
    pc->len = s.len;
    pc->index = index;
    pc->generation = e->generation;
    return index;
}

static size_t count_strings(const ag_trace *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->len; i++) {
        const ag_span *s = &t->spans[i];
        n += 4 + 2 * s->meta_len + s->metrics_len + s->events_len;
        for (size_t k = 0; k < s->links_len; k++) n += 1 + 2 * s->links[k].attributes_len;
    }
    return n;
}

static void pack_links(ag_buf *pk, ag_blob_encoder *e, const ag_span *s)
{
    if (!s->links_len) {
        pk_nil(pk);
        return;
    }
    pk_array(pk, s->links_len);
    for (size_t i = 0; i < s->links_len; i++) {
        const ag_link *l = &s->links[i];
        pk_array(pk, 6);
        pk_uint(pk, l->trace_id);
        pk_uint(pk, l->trace_id_high);
        pk_uint(pk, l->span_id);
        pk_uint(pk, l->flags);
        pk_uint(pk, intern(e, l->tracestate));
        pk_array(pk, 2 * l->attributes_len);
        for (size_t k = 0; k < l->attributes_len; k++) {
            pk_uint(pk, intern(e, l->attributes[k].key));
            pk_uint(pk, intern(e, l->attributes[k].value));
        }
    }
}

static void pack_events(ag_buf *pk, ag_blob_encoder *e, const ag_span *s)
{
    if (!s->events_len) {
        pk_nil(pk);
        return;
    }
    pk_array(pk, s->events_len);
    for (size_t i = 0; i < s->events_len; i++) {
        const ag_event *ev = &s->events[i];
        pk_array(pk, 3);
        pk_uint(pk, ev->time_unix_nano);
        pk_uint(pk, intern(e, ev->name));
        if (ev->attributes_msgpack.len) {
            pk_raw(pk, ev->attributes_msgpack.ptr, ev->attributes_msgpack.len, 1);
        } else {
            pk_nil(pk);
        }
    }
}

static void pack_span(ag_buf *pk, ag_blob_encoder *e, const ag_span *s)
{
    pk_array(pk, 13);
    pk_uint(pk, intern(e, s->service));
    pk_uint(pk, intern(e, s->name));
    pk_uint(pk, intern(e, s->resource));
    pk_uint(pk, intern(e, s->type));
    pk_uint(pk, s->span_id);
    pk_uint(pk, s->parent_id);
    pk_int(pk, s->start);
    pk_int(pk, s->duration);
    pk_int(pk, s->error);
    pk_array(pk, 2 * s->meta_len);
    for (size_t i = 0; i < s->meta_len; i++) {
        pk_uint(pk, intern(e, s->meta[i].key));
        pk_uint(pk, intern(e, s->meta[i].value));
    }
    pk_array(pk, 2 * s->metrics_len);
    for (size_t i = 0; i < s->metrics_len; i++) {
        pk_uint(pk, intern(e, s->metrics[i].key));
        pk_double(pk, s->metrics[i].value);
    }
    pack_links(pk, e, s);
    pack_events(pk, e, s);
}

void ag_blob_encode(ag_blob_encoder *e, const ag_trace *t, ag_buf *out)
{
    reset_table(e, count_strings(t) + 1);
    e->spans.len = 0;
    pk_array(&e->spans, t->len);
    for (size_t i = 0; i < t->len; i++) pack_span(&e->spans, e, &t->spans[i]);
    if (e->pointer_misses >= 256 && e->pointer_hits < e->pointer_misses / 4)
        e->pointer_cache_off = true;

    pk_array(out, 3);
    pk_uint(out, 1);
    pk_array(out, e->strings_len);
    for (size_t i = 0; i < e->strings_len; i++)
        pk_raw(out, e->strings[i].ptr, e->strings[i].len, 0);
    ag_buf_append(out, e->spans.data, e->spans.len);
}

void ag_blob_encoder_free(ag_blob_encoder *e)
{
    free(e->slots);
    free(e->by_pointer);
    free(e->strings);
    ag_buf_free(&e->spans);
    memset(e, 0, sizeof *e);
}

/* ---- decoding ---- */

typedef struct {
    const unsigned char *p;
    size_t len, off;
    int bad;
    size_t decoded; /* arena bytes the decoded form took so far */
} cursor;

/* count elements of size bytes in a, counted in c->decoded; count was
 * bounded by the bytes left, so the product cannot overflow. */
static void *decoded_alloc(cursor *c, ag_arena *a, size_t count, size_t size)
{
    size_t n = size * (count ? count : 1);
    c->decoded += n;
    return ag_arena_alloc(a, n);
}

static uint64_t rd_be(cursor *c, int n)
{
    if (c->len - c->off < (size_t)n) {
        c->bad = 1;
        return 0;
    }
    uint64_t v = ag_mp_load_be(c->p + c->off, n);
    c->off += (size_t)n;
    return v;
}

static int peek(cursor *c)
{
    if (c->off >= c->len) {
        c->bad = 1;
        return -1;
    }
    return c->p[c->off];
}

static uint64_t rd_uint(cursor *c)
{
    int b = peek(c);
    if (b < 0) return 0;
    c->off++;
    if (b <= AG_MP_POSFIXINT_MAX) return (uint64_t)b;
    switch (b) {
    case AG_MP_UINT8: return rd_be(c, 1);
    case AG_MP_UINT16: return rd_be(c, 2);
    case AG_MP_UINT32: return rd_be(c, 4);
    case AG_MP_UINT64: return rd_be(c, 8);
    case AG_MP_INT8: return (uint64_t)(int64_t)(int8_t)rd_be(c, 1);
    case AG_MP_INT16: return (uint64_t)(int64_t)(int16_t)rd_be(c, 2);
    case AG_MP_INT32: return (uint64_t)(int64_t)(int32_t)rd_be(c, 4);
    case AG_MP_INT64: return rd_be(c, 8);
    default:
        if (b >= AG_MP_NEGFIXINT) return (uint64_t)(int64_t)(int8_t)b;
        c->bad = 1;
        return 0;
    }
}

static double rd_double(cursor *c)
{
    int b = peek(c);
    if (b == AG_MP_FLOAT64) {
        c->off++;
        uint64_t bits = rd_be(c, 8);
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    return (double)(int64_t)rd_uint(c);
}

static uint32_t rd_array(cursor *c)
{
    int b = peek(c);
    if (b < 0) return 0;
    c->off++;
    if (ag_mp_is_fixarray((unsigned)b)) return (uint32_t)(b & 0x0f);
    if (b == AG_MP_ARRAY16) return (uint32_t)rd_be(c, 2);
    if (b == AG_MP_ARRAY32) return (uint32_t)rd_be(c, 4);
    c->bad = 1;
    return 0;
}

static int rd_nil(cursor *c)
{
    if (peek(c) == AG_MP_NIL) {
        c->off++;
        return 1;
    }
    return 0;
}

static ag_str rd_raw(cursor *c)
{
    int b = peek(c);
    if (b < 0) return (ag_str){"", 0};
    c->off++;
    size_t n;
    if (ag_mp_is_fixstr((unsigned)b)) n = (size_t)(b & 0x1f);
    else if (ag_mp_is_raw((unsigned)b)) n = rd_be(c, ag_mp_raw_len_width((unsigned)b));
    else {
        c->bad = 1;
        return (ag_str){"", 0};
    }
    if (c->bad || c->len - c->off < n) {
        c->bad = 1;
        return (ag_str){"", 0};
    }
    ag_str s = {(const char *)c->p + c->off, n};
    c->off += n;
    return s;
}

static ag_str rd_index(cursor *c, const ag_str *tab, uint32_t n)
{
    uint64_t i = rd_uint(c);
    if (i >= n) {
        c->bad = 1;
        return (ag_str){"", 0};
    }
    return tab[i];
}

/* Bounds a count read from the blob by the bytes left (each item >= 1). */
static uint32_t bounded(cursor *c, uint32_t n)
{
    if (n > c->len - c->off) c->bad = 1;
    return c->bad ? 0 : n;
}

static void rd_links(cursor *c, const ag_str *tab, uint32_t ntab, ag_arena *a, ag_span *s)
{
    if (rd_nil(c)) return;
    uint32_t n = bounded(c, rd_array(c));
    s->links = decoded_alloc(c, a, n, sizeof *s->links);
    s->links_len = n;
    for (uint32_t i = 0; i < n && !c->bad; i++) {
        ag_link *l = &s->links[i];
        if (rd_array(c) != 6) c->bad = 1;
        l->trace_id = rd_uint(c);
        l->trace_id_high = rd_uint(c);
        l->span_id = rd_uint(c);
        l->flags = (uint32_t)rd_uint(c);
        l->tracestate = rd_index(c, tab, ntab);
        uint32_t m = bounded(c, rd_array(c)) / 2;
        l->attributes = decoded_alloc(c, a, m, sizeof *l->attributes);
        l->attributes_len = m;
        for (uint32_t k = 0; k < m; k++) {
            l->attributes[k].key = rd_index(c, tab, ntab);
            l->attributes[k].value = rd_index(c, tab, ntab);
        }
    }
}

static void rd_events(cursor *c, const ag_str *tab, uint32_t ntab, ag_arena *a, ag_span *s)
{
    if (rd_nil(c)) return;
    uint32_t n = bounded(c, rd_array(c));
    s->events = decoded_alloc(c, a, n, sizeof *s->events);
    s->events_len = n;
    for (uint32_t i = 0; i < n && !c->bad; i++) {
        ag_event *ev = &s->events[i];
        if (rd_array(c) != 3) c->bad = 1;
        ev->time_unix_nano = rd_uint(c);
        ev->name = rd_index(c, tab, ntab);
        ev->attributes_msgpack = rd_nil(c) ? (ag_str){"", 0} : rd_raw(c);
    }
}

static void rd_span(cursor *c, const ag_str *tab, uint32_t ntab, ag_arena *a, ag_span *s)
{
    memset(s, 0, sizeof *s);
    if (rd_array(c) != 13) {
        c->bad = 1;
        return;
    }
    s->service = rd_index(c, tab, ntab);
    s->name = rd_index(c, tab, ntab);
    s->resource = rd_index(c, tab, ntab);
    s->type = rd_index(c, tab, ntab);
    s->span_id = rd_uint(c);
    s->parent_id = rd_uint(c);
    s->start = (int64_t)rd_uint(c);
    s->duration = (int64_t)rd_uint(c);
    s->error = (int32_t)rd_uint(c);
    uint32_t n = bounded(c, rd_array(c)) / 2;
    s->meta = decoded_alloc(c, a, n, sizeof *s->meta);
    s->meta_len = n;
    for (uint32_t i = 0; i < n; i++) {
        s->meta[i].key = rd_index(c, tab, ntab);
        s->meta[i].value = rd_index(c, tab, ntab);
    }
    n = bounded(c, rd_array(c)) / 2;
    s->metrics = decoded_alloc(c, a, n, sizeof *s->metrics);
    s->metrics_len = n;
    for (uint32_t i = 0; i < n; i++) {
        s->metrics[i].key = rd_index(c, tab, ntab);
        s->metrics[i].value = rd_double(c);
    }
    rd_links(c, tab, ntab, a, s);
    rd_events(c, tab, ntab, a, s);
}

int ag_blob_decode(const void *blob, size_t len, uint64_t trace_id, ag_arena *a, ag_trace *t)
{
    size_t decoded = SIZE_MAX;
    return ag_blob_decode_prefix(blob, len, trace_id, a, t, &decoded) < 0 ? -1 : 0;
}

int ag_blob_decode_prefix(const void *blob, size_t len, uint64_t trace_id, ag_arena *a, ag_trace *t,
                          size_t *decoded)
{
    cursor c = {blob, len, 0, 0, 0};
    size_t limit = *decoded;
    t->spans = NULL;
    t->len = 0;
    if (rd_array(&c) != 3 || rd_uint(&c) != 1) return -1;
    uint32_t ntab = bounded(&c, rd_array(&c));
    ag_str *tab = decoded_alloc(&c, a, ntab, sizeof *tab);
    for (uint32_t i = 0; i < ntab && !c.bad; i++) tab[i] = rd_raw(&c);
    uint32_t nspans = bounded(&c, rd_array(&c));
    /* the span array has room for no more spans than the limit could
     * hold (a stored chunk may have a million), and each span counts its
     * slot as it is decoded */
    size_t room = limit > c.decoded ? (limit - c.decoded) / sizeof *t->spans + 1 : 1;
    uint32_t slots = nspans < room ? nspans : (uint32_t)room;
    t->spans = ag_arena_alloc(a, sizeof *t->spans * (slots ? slots : 1));
    uint32_t i = 0;
    for (; i < slots && !c.bad && c.decoded <= limit; i++) {
        c.decoded += sizeof *t->spans;
        rd_span(&c, tab, ntab, a, &t->spans[i]);
        t->spans[i].trace_id = trace_id;
    }
    *decoded = c.decoded;
    if (c.bad) return -1;
    t->len = i;
    return i < nspans;
}
