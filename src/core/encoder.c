/*
 * encoder — span records to /v0.4 and /v0.5 msgpack payloads.
 *
 * The encoder runs on the writer thread over frames that no other thread
 * touches, so it needs no locks, and it is the hot loop of delivery: the
 * target is several million spans per second on one core. Hence three
 * choices:
 *
 * - Our own inline packer instead of msgpack-c's msgpack_packer. msgpack-c
 *   calls its write callback through a function pointer twice per string
 *   (header, then bytes), each call checking capacity. We instead reserve,
 *   once per span, an upper bound of what the span can take (twice the
 *   record's size plus a constant: every element of a record is at least as
 *   large as half its msgpack form) and then write without checks. Measured
 *   in bench/encoder_bench.c.
 * - v0.5 interns strings per payload in an open-addressing hash map whose
 *   entries point into the frames (alive for the whole call), so interning a
 *   string already seen costs one hash and one memcmp, and a new one costs
 *   one append to the packed string table. The table must precede the
 *   traces in the payload but is only known at the end, so traces are packed
 *   into a scratch buffer and copied after the table: one memcpy per payload.
 * - Span links, which v0.5 cannot carry, are rendered as JSON into the meta
 *   `_dd.span_links` exactly as ddtrace renders them (json.dumps with its
 *   default separators and ensure_ascii), so the agent and the UI see the
 *   same bytes whichever tracer sent them.
 */
#include "encoder.h"
#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "span_record.h"
#include "writer.h"

/* -- unchecked packing: callers reserved room first ------------------------ */

static inline uint8_t *pack_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static inline uint8_t *pack_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static inline uint8_t *pack_be64(uint8_t *p, uint64_t v)
{
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
    return p + 8;
}

/* Unsigned integer, smallest form (the agent accepts every int form). */
static inline uint8_t *pack_uint(uint8_t *p, uint64_t v)
{
    if (v < 128) {
        *p++ = (uint8_t)v;
    } else if (v <= UINT32_MAX) {
        if (v <= UINT8_MAX) {
            *p++ = 0xcc;
            *p++ = (uint8_t)v;
        } else if (v <= UINT16_MAX) {
            *p++ = 0xcd;
            p = pack_be16(p, (uint16_t)v);
        } else {
            *p++ = 0xce;
            p = pack_be32(p, (uint32_t)v);
        }
    } else {
        *p++ = 0xcf;
        p = pack_be64(p, v);
    }
    return p;
}

/* Ids are almost always above 2^32: always the 9-byte form, no branches. */
static inline uint8_t *pack_id(uint8_t *p, uint64_t v)
{
    *p++ = 0xcf;
    return pack_be64(p, v);
}

static inline uint8_t *pack_int(uint8_t *p, int64_t v)
{
    if (v >= 0) return pack_uint(p, (uint64_t)v);
    if (v >= -32) {
        *p++ = (uint8_t)(int8_t)v;
        return p;
    }
    *p++ = 0xd3;
    return pack_be64(p, (uint64_t)v);
}

static inline uint8_t *pack_double(uint8_t *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    *p++ = 0xcb;
    return pack_be64(p, bits);
}

static inline uint8_t *pack_str_header(uint8_t *p, uint32_t len)
{
    if (len < 32) {
        *p++ = (uint8_t)(0xa0 | len);
    } else if (len <= UINT8_MAX) {
        *p++ = 0xd9;
        *p++ = (uint8_t)len;
    } else if (len <= UINT16_MAX) {
        *p++ = 0xda;
        p = pack_be16(p, (uint16_t)len);
    } else {
        *p++ = 0xdb;
        p = pack_be32(p, len);
    }
    return p;
}

static inline uint8_t *pack_str(uint8_t *p, const char *s, uint32_t len)
{
    p = pack_str_header(p, len);
    memcpy(p, s, len);
    return p + len;
}

/* A string literal key: its fixstr form is known at compile time. */
#define PACK_KEY(p, literal)                           \
    ((p)[0] = (uint8_t)(0xa0 | (sizeof(literal) - 1)), \
     memcpy((p) + 1, literal, sizeof(literal) - 1), (p) + sizeof(literal))

static inline uint8_t *pack_container(uint8_t *p, uint32_t n, uint8_t fix, uint8_t b16, uint8_t b32)
{
    if (n < 16) {
        *p++ = (uint8_t)(fix | n);
    } else if (n <= UINT16_MAX) {
        *p++ = b16;
        p = pack_be16(p, (uint16_t)n);
    } else {
        *p++ = b32;
        p = pack_be32(p, n);
    }
    return p;
}

static inline uint8_t *pack_array(uint8_t *p, uint32_t n)
{
    return pack_container(p, n, 0x90, 0xdc, 0xdd);
}

static inline uint8_t *pack_map(uint8_t *p, uint32_t n)
{
    return pack_container(p, n, 0x80, 0xde, 0xdf);
}

/* -- checked appends, for the rare paths ------------------------------------ */

static inline int reserve(ct_buffer *out, size_t n)
{
    if (out->capacity - out->len >= n) return CT_OK;
    return ct__buffer_reserve(out, n);
}

/* Upper bound of a span's packed size, v0.4 or v0.5 (see the design
 * paragraph): every str, number and count of a record takes at least half of
 * its packed size, and the constant covers keys and the record header. */
static inline size_t span_bound(const ct_record_reader *r, const ct_implied_tags *implied)
{
    size_t bound = 2 * (size_t)r->header.size + 512 + 128 * (size_t)r->header.link_count;
    for (uint32_t i = 0; i < implied->meta_count; i++)
        bound += 10 + implied->meta[i].key.len + implied->meta[i].value.len;
    for (uint32_t i = 0; i < implied->metric_count; i++) bound += 15 + implied->metrics[i].key.len;
    return bound;
}

/* -- frames ------------------------------------------------------------------ */

/* Iterates frames: *cursor advances past one frame per call. */
typedef struct frame_view {
    const uint8_t *records;
    size_t records_len;
    uint32_t span_count;
} frame_view;

static int next_frame(const uint8_t **cursor, const uint8_t *end, frame_view *frame)
{
    ct_frame_header header;
    if ((size_t)(end - *cursor) < sizeof header) return CT_EINVAL;
    memcpy(&header, *cursor, sizeof header);
    *cursor += sizeof header;
    if ((size_t)(end - *cursor) < header.records_len) return CT_EINVAL;
    frame->records = *cursor;
    frame->records_len = header.records_len;
    frame->span_count = header.span_count;
    *cursor += header.records_len;
    return CT_OK;
}

/* -- span links as ddtrace's JSON ---------------------------------------- */

static int json_append(ct_buffer *out, const char *s, size_t len)
{
    return ct__buffer_append(out, s, len);
}

/* Length of the UTF-8 sequence at s (at most avail bytes) and its code
 * point; 0 when invalid (the byte is then rendered as U+FFFD, as Python
 * would have refused it earlier). */
static size_t utf8_decode(const uint8_t *s, size_t avail, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return n;
}

static int json_escape_unit(ct_buffer *out, uint32_t unit)
{
    char tmp[8];
    snprintf(tmp, sizeof tmp, "\\u%04x", unit);
    return json_append(out, tmp, 6);
}

/* A JSON string as Python's json.dumps(ensure_ascii=True) writes it. */
static int json_string(ct_buffer *out, const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + len;
    int rc = json_append(out, "\"", 1);
    while (rc == CT_OK && p < end) {
        const uint8_t *run = p;
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
        if (p > run) rc = json_append(out, (const char *)run, (size_t)(p - run));
        if (rc != CT_OK || p == end) break;
        uint32_t cp;
        size_t n = utf8_decode(p, (size_t)(end - p), &cp);
        if (n == 0) n = 1, cp = 0xfffd;
        p += n;
        switch (cp) {
        case '"': rc = json_append(out, "\\\"", 2); break;
        case '\\': rc = json_append(out, "\\\\", 2); break;
        case '\n': rc = json_append(out, "\\n", 2); break;
        case '\r': rc = json_append(out, "\\r", 2); break;
        case '\t': rc = json_append(out, "\\t", 2); break;
        case '\b': rc = json_append(out, "\\b", 2); break;
        case '\f': rc = json_append(out, "\\f", 2); break;
        default:
            if (cp >= 0x10000) {
                cp -= 0x10000;
                rc = json_escape_unit(out, 0xd800 | (cp >> 10));
                if (rc == CT_OK) rc = json_escape_unit(out, 0xdc00 | (cp & 0x3ff));
            } else {
                rc = json_escape_unit(out, cp);
            }
        }
    }
    if (rc == CT_OK) rc = json_append(out, "\"", 1);
    return rc;
}

static int json_link(ct_buffer *out, const ct_record_link *link)
{
    char ids[96];
    int n = snprintf(ids, sizeof ids, "{\"trace_id\": \"%016llx%016llx\", \"span_id\": \"%016llx\"",
                     (unsigned long long)link->trace_id_high,
                     (unsigned long long)link->trace_id_low, (unsigned long long)link->span_id);
    int rc = json_append(out, ids, (size_t)n);
    if (rc == CT_OK && link->attribute_count) {
        const uint8_t *cursor = link->attributes;
        rc = json_append(out, ", \"attributes\": {", 17);
        for (uint32_t i = 0; rc == CT_OK && i < link->attribute_count; i++) {
            ct_record_str key = ct__record_read_str(&cursor);
            ct_record_str value = ct__record_read_str(&cursor);
            if (i) rc = json_append(out, ", ", 2);
            if (rc == CT_OK) rc = json_string(out, key.ptr, key.len);
            if (rc == CT_OK) rc = json_append(out, ": ", 2);
            if (rc == CT_OK) rc = json_string(out, value.ptr, value.len);
        }
        if (rc == CT_OK) rc = json_append(out, "}", 1);
    }
    if (rc == CT_OK && link->tracestate.len) {
        rc = json_append(out, ", \"tracestate\": ", 16);
        if (rc == CT_OK) rc = json_string(out, link->tracestate.ptr, link->tracestate.len);
    }
    if (rc == CT_OK && (link->flags & 0x80000000u)) {
        n = snprintf(ids, sizeof ids, ", \"flags\": %u", link->flags & 0x7fffffffu);
        rc = json_append(out, ids, (size_t)n);
    }
    if (rc == CT_OK) rc = json_append(out, "}", 1);
    return rc;
}

/* The value of `_dd.span_links` for a record's links, into out (cleared). */
static int json_links(ct_buffer *out, const ct_record_reader *r)
{
    const uint8_t *cursor = r->links;
    ct__buffer_clear(out);
    int rc = json_append(out, "[", 1);
    for (uint32_t i = 0; rc == CT_OK && i < r->header.link_count; i++) {
        ct_record_link link;
        ct__record_read_link(&cursor, &link);
        if (i) rc = json_append(out, ", ", 2);
        if (rc == CT_OK) rc = json_link(out, &link);
    }
    if (rc == CT_OK) rc = json_append(out, "]", 1);
    return rc;
}

/* -- v0.4 --------------------------------------------------------------------- */

static uint8_t *pack_links_v04(uint8_t *p, const ct_record_reader *r)
{
    const uint8_t *cursor = r->links;
    p = PACK_KEY(p, "span_links");
    p = pack_array(p, r->header.link_count);
    for (uint32_t i = 0; i < r->header.link_count; i++) {
        ct_record_link link;
        ct__record_read_link(&cursor, &link);
        uint32_t fields = 3 + (link.attribute_count ? 1 : 0) + (link.tracestate.len ? 1 : 0) +
                          ((link.flags & 0x80000000u) ? 1 : 0);
        p = pack_map(p, fields);
        p = PACK_KEY(p, "trace_id");
        p = pack_uint(p, link.trace_id_low);
        p = PACK_KEY(p, "trace_id_high");
        p = pack_uint(p, link.trace_id_high);
        p = PACK_KEY(p, "span_id");
        p = pack_uint(p, link.span_id);
        if (link.attribute_count) {
            const uint8_t *attr = link.attributes;
            p = PACK_KEY(p, "attributes");
            p = pack_map(p, link.attribute_count);
            for (uint32_t a = 0; a < link.attribute_count; a++) {
                ct_record_str key = ct__record_read_str(&attr);
                ct_record_str value = ct__record_read_str(&attr);
                p = pack_str(p, key.ptr, key.len);
                p = pack_str(p, value.ptr, value.len);
            }
        }
        if (link.tracestate.len) {
            p = PACK_KEY(p, "tracestate");
            p = pack_str(p, link.tracestate.ptr, link.tracestate.len);
        }
        if (link.flags & 0x80000000u) {
            p = PACK_KEY(p, "flags");
            p = pack_uint(p, link.flags);
        }
    }
    return p;
}

static uint8_t *pack_span_v04(uint8_t *p, const ct_record_reader *r, const ct_implied_tags *implied)
{
    const ct_record_header *h = &r->header;
    p = pack_map(p, 12 + (h->link_count ? 1 : 0));
    p = PACK_KEY(p, "trace_id");
    p = pack_id(p, h->trace_id_low);
    p = PACK_KEY(p, "span_id");
    p = pack_id(p, h->span_id);
    p = PACK_KEY(p, "parent_id");
    p = pack_uint(p, h->parent_id);
    p = PACK_KEY(p, "service");
    p = pack_str(p, r->service.ptr, r->service.len);
    p = PACK_KEY(p, "resource");
    p = pack_str(p, r->resource.ptr, r->resource.len);
    p = PACK_KEY(p, "name");
    p = pack_str(p, r->name.ptr, r->name.len);
    p = PACK_KEY(p, "type");
    p = pack_str(p, r->type.ptr, r->type.len);
    p = PACK_KEY(p, "start");
    p = pack_int(p, h->start_ns);
    p = PACK_KEY(p, "duration");
    p = pack_int(p, h->duration_ns);
    p = PACK_KEY(p, "error");
    p = pack_int(p, h->error);

    const uint8_t *cursor = r->meta;
    p = PACK_KEY(p, "meta");
    p = pack_map(p, h->meta_count + implied->meta_count);
    for (uint32_t i = 0; i < h->meta_count; i++) {
        ct_record_str key = ct__record_next_str(&cursor);
        ct_record_str value = ct__record_next_str(&cursor);
        p = pack_str(p, key.ptr, key.len);
        p = pack_str(p, value.ptr, value.len);
    }
    for (uint32_t i = 0; i < implied->meta_count; i++) {
        p = pack_str(p, implied->meta[i].key.ptr, implied->meta[i].key.len);
        p = pack_str(p, implied->meta[i].value.ptr, implied->meta[i].value.len);
    }
    cursor = r->metrics;
    p = PACK_KEY(p, "metrics");
    p = pack_map(p, h->metric_count + implied->metric_count);
    for (uint32_t i = 0; i < h->metric_count; i++) {
        ct_record_str key = ct__record_next_str(&cursor);
        double value = ct__record_next_double(&cursor);
        p = pack_str(p, key.ptr, key.len);
        p = pack_double(p, value);
    }
    for (uint32_t i = 0; i < implied->metric_count; i++) {
        p = pack_str(p, implied->metrics[i].key.ptr, implied->metrics[i].key.len);
        p = pack_double(p, implied->metrics[i].value);
    }
    if (h->link_count) p = pack_links_v04(p, r);
    return p;
}

/* -- v0.5 string table -------------------------------------------------------- */

typedef struct intern_slot {
    const char *ptr; /* NULL: free slot */
    uint32_t len;
    uint32_t index;
    uint64_t hash;
} intern_slot;

/* The string last interned at one position of a span (service, name, ...,
 * the i-th meta key): spans of a payload mostly repeat them. */
typedef struct memo_slot {
    const char *ptr;
    uint32_t len;
    uint32_t index;
} memo_slot;

#define MEMO_FIXED 4                              /* service, name, resource, type */
#define MEMO_TAGS 24                              /* meta keys, meta values, metric keys */
#define MEMO_IMPLIED (MEMO_FIXED + 3 * MEMO_TAGS) /* implied keys and values */
#define MEMO_SLOTS (MEMO_IMPLIED + 3 * CT_IMPLIED_MAX)

typedef struct string_table {
    memo_slot memo[MEMO_SLOTS];
    intern_slot *slots;
    size_t mask;      /* slot count - 1 (a power of two) */
    uint32_t count;   /* strings in the table */
    ct_buffer packed; /* the strings, msgpack-packed, in order */
    ct_buffer json;   /* scratch for _dd.span_links values */
    /* Implied values computed per span (not in the frames, so not in the
     * map, which keeps pointers): the last one of each kind and its index. */
    uint64_t tid_high, dm_mechanism;
    uint32_t tid_index, dm_index;
} string_table;

static inline uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t load32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* memcmp(a, b, len) == 0 without a call for the short strings that tags
 * mostly are: two overlapping loads cover 4 to 16 bytes, never reading
 * outside either string. */
static inline int str_equal(const char *a, const char *b, uint32_t len)
{
    if (len >= 8 && len <= 16)
        return load64(a) == load64(b) && load64(a + len - 8) == load64(b + len - 8);
    if (len >= 4 && len < 8)
        return load32(a) == load32(b) && load32(a + len - 4) == load32(b + len - 4);
    if (len < 4) {
        for (uint32_t i = 0; i < len; i++)
            if (a[i] != b[i]) return 0;
        return 1;
    }
    return memcmp(a, b, len) == 0;
}

static inline uint64_t hash_mix(uint64_t h)
{
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

/* A fast non-cryptographic hash, 8 bytes at a time: strings are attacker-
 * influenced only through tag values of the application itself, and the map
 * lives for one payload, so flooding costs only that payload's speed. */
static inline uint64_t hash_bytes(const char *s, uint32_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (len * 0xff51afd7ed558ccdull);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x100000001b3ull * 0x9e3779b1ull;
        h ^= h >> 29;
        s += 8, len -= 8;
    }
    if (len) {
        uint64_t w = 0;
        memcpy(&w, s, len);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    }
    return hash_mix(h);
}

static int table_init(string_table *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < MEMO_SLOTS; i++) t->memo[i].len = UINT32_MAX; /* matches no string */
    t->tid_index = t->dm_index = UINT32_MAX;
    t->mask = 1023;
    t->slots = ct__calloc(t->mask + 1, sizeof *t->slots);
    return t->slots ? CT_OK : CT_ENOMEM;
}

static void table_release(string_table *t)
{
    ct__free(t->slots);
    ct__buffer_release(&t->packed);
    ct__buffer_release(&t->json);
}

static int table_grow(string_table *t)
{
    size_t new_mask = t->mask * 2 + 1;
    intern_slot *slots = ct__calloc(new_mask + 1, sizeof *slots);
    if (!slots) return CT_ENOMEM;
    for (size_t i = 0; i <= t->mask; i++) {
        if (!t->slots[i].ptr) continue;
        size_t j = t->slots[i].hash & new_mask;
        while (slots[j].ptr) j = (j + 1) & new_mask;
        slots[j] = t->slots[i];
    }
    ct__free(t->slots);
    t->slots = slots;
    t->mask = new_mask;
    return CT_OK;
}

/* Appends a string to the packed table; returns its index. */
static int table_add(string_table *t, const char *s, uint32_t len, uint32_t *index)
{
    int rc = reserve(&t->packed, (size_t)len + 5);
    if (rc != CT_OK) return rc;
    t->packed.len = (size_t)(pack_str(t->packed.data + t->packed.len, s, len) - t->packed.data);
    *index = t->count++;
    return CT_OK;
}

/* The index of s in the table, adding it if new. s must stay valid (it
 * points into the frames) until the table is released. */
static inline int table_intern(string_table *t, const char *s, uint32_t len, uint32_t *index)
{
    uint64_t hash = hash_bytes(s, len);
    size_t i = hash & t->mask;
    for (;;) {
        intern_slot *slot = &t->slots[i];
        if (!slot->ptr) break;
        if (slot->hash == hash && slot->len == len && str_equal(slot->ptr, s, len)) {
            *index = slot->index;
            return CT_OK;
        }
        i = (i + 1) & t->mask;
    }
    int rc = table_add(t, s, len, index);
    if (rc != CT_OK) return rc;
    /* An empty string has no bytes to point at: use a static one. */
    t->slots[i] = (intern_slot){len ? s : "", len, *index, hash};
    if ((size_t)t->count * 2 > t->mask) return table_grow(t);
    return CT_OK;
}

/* table_intern behind the memo of position `at` (MEMO_SLOTS: none). The
 * memo costs a length test and a memcmp where the map costs a hash, a probe
 * and the same memcmp: it makes v0.5 about twice as fast on real traces. */
static inline int intern_at(string_table *t, size_t at, const char *s, uint32_t len,
                            uint32_t *index)
{
    if (at >= MEMO_SLOTS) return table_intern(t, s, len, index);
    memo_slot *m = &t->memo[at];
    if (m->len == len && str_equal(m->ptr, s, len)) {
        *index = m->index;
        return CT_OK;
    }
    int rc = table_intern(t, s, len, index);
    if (rc == CT_OK) *m = (memo_slot){len ? s : "", len, *index};
    return rc;
}

/* Interning inside the unchecked span packer: p is only advanced on
 * success. */
#define PACK_INTERNED(p, t, at, str, rc)                            \
    do {                                                            \
        uint32_t index_;                                            \
        (rc) = intern_at((t), (at), (str).ptr, (str).len, &index_); \
        if ((rc) != CT_OK) return (rc);                             \
        (p) = pack_uint((p), index_);                               \
    } while (0)

#define MEMO_META_KEY(i) (MEMO_FIXED + 3 * (size_t)(i))
#define MEMO_META_VALUE(i) (MEMO_FIXED + 3 * (size_t)(i) + 1)
#define MEMO_METRIC_KEY(i) (MEMO_FIXED + 3 * (size_t)(i) + 2)

/* The index of an implied meta value. Values from the context or static
 * ones are interned like the frames' strings; _dd.p.tid and _dd.p.dm live
 * in the caller's scratch, so the map must not keep pointers to them: each
 * is added once per change instead (they change once a second and almost
 * never). */
static int add_per_change(string_table *t, ct_record_str value, uint64_t source,
                          uint64_t *last_source, uint32_t *last_index, uint32_t *index)
{
    if (*last_index == UINT32_MAX || *last_source != source) {
        int rc = table_add(t, value.ptr, value.len, last_index);
        if (rc != CT_OK) return rc;
        *last_source = source;
    }
    *index = *last_index;
    return CT_OK;
}

static int intern_implied_value(string_table *t, const ct_implied_tags *implied,
                                const ct_record_reader *r, uint32_t i, uint32_t *index)
{
    ct_record_str value = implied->meta[i].value;
    switch (implied->meta[i].kind) {
    case CT_IMPLIED_TID:
        return add_per_change(t, value, r->header.trace_id_high, &t->tid_high, &t->tid_index,
                              index);
    case CT_IMPLIED_DM:
        return add_per_change(t, value, r->chunk.mechanism, &t->dm_mechanism, &t->dm_index, index);
    default: return intern_at(t, MEMO_IMPLIED + 3 * (size_t)i + 1, value.ptr, value.len, index);
    }
}

static int pack_implied_v05(uint8_t **pp, const ct_record_reader *r, const ct_implied_tags *implied,
                            string_table *t, int meta)
{
    uint8_t *p = *pp;
    int rc;
    uint32_t count = meta ? implied->meta_count : implied->metric_count;
    for (uint32_t i = 0; i < count; i++) {
        if (meta) {
            uint32_t index;
            PACK_INTERNED(p, t, MEMO_IMPLIED + 3 * (size_t)i, implied->meta[i].key, rc);
            rc = intern_implied_value(t, implied, r, i, &index);
            if (rc != CT_OK) return rc;
            p = pack_uint(p, index);
        } else {
            PACK_INTERNED(p, t, MEMO_IMPLIED + 3 * (size_t)i + 2, implied->metrics[i].key, rc);
            p = pack_double(p, implied->metrics[i].value);
        }
    }
    *pp = p;
    return CT_OK;
}

static int pack_span_v05(uint8_t **pp, const ct_record_reader *r, const ct_implied_tags *implied,
                         string_table *t)
{
    const ct_record_header *h = &r->header;
    uint8_t *p = *pp;
    int rc;
    *p++ = 0x9c; /* fixarray of 12 */
    PACK_INTERNED(p, t, 0, r->service, rc);
    PACK_INTERNED(p, t, 1, r->name, rc);
    PACK_INTERNED(p, t, 2, r->resource, rc);
    p = pack_id(p, h->trace_id_low);
    p = pack_id(p, h->span_id);
    p = pack_uint(p, h->parent_id);
    p = pack_int(p, h->start_ns);
    p = pack_int(p, h->duration_ns);
    p = pack_int(p, h->error);

    const uint8_t *cursor = r->meta;
    p = pack_map(p, h->meta_count + implied->meta_count + (h->link_count ? 1 : 0));
    for (uint32_t i = 0; i < h->meta_count; i++) {
        ct_record_str key = ct__record_next_str(&cursor);
        ct_record_str value = ct__record_next_str(&cursor);
        PACK_INTERNED(p, t, MEMO_META_KEY(i), key, rc);
        PACK_INTERNED(p, t, MEMO_META_VALUE(i), value, rc);
    }
    if (implied->meta_count && (rc = pack_implied_v05(&p, r, implied, t, 1)) != CT_OK) return rc;
    if (h->link_count) {
        static const ct_record_str links_key = {"_dd.span_links", 14};
        uint32_t index;
        PACK_INTERNED(p, t, MEMO_SLOTS, links_key, rc);
        rc = json_links(&t->json, r);
        if (rc == CT_OK)
            rc = table_add(t, (const char *)t->json.data, (uint32_t)t->json.len, &index);
        if (rc != CT_OK) return rc;
        p = pack_uint(p, index);
    }
    cursor = r->metrics;
    p = pack_map(p, h->metric_count + implied->metric_count);
    for (uint32_t i = 0; i < h->metric_count; i++) {
        ct_record_str key = ct__record_next_str(&cursor);
        double value = ct__record_next_double(&cursor);
        PACK_INTERNED(p, t, MEMO_METRIC_KEY(i), key, rc);
        p = pack_double(p, value);
    }
    if (implied->metric_count && (rc = pack_implied_v05(&p, r, implied, t, 0)) != CT_OK) return rc;
    PACK_INTERNED(p, t, 3, r->type, rc);
    *pp = p;
    return CT_OK;
}

/* -- traces, either version -------------------------------------------------- */

/* Packs one span at *p, where span_bound(r) bytes are reserved, and moves
 * *p past it. t is the v0.5 string table (NULL for v0.4). */
typedef int (*span_packer)(uint8_t **p, const ct_record_reader *r, const ct_implied_tags *implied,
                           string_table *t);

static int pack_span_v04_at(uint8_t **p, const ct_record_reader *r, const ct_implied_tags *implied,
                            string_table *unused)
{
    *p = pack_span_v04(*p, r, implied);
    return CT_OK;
}

/* What one encoding call carries through its loops. */
typedef struct encoding {
    span_packer pack;
    string_table *table; /* v0.5 only */
    const ct_record_context *context;
} encoding;

/* Packs the records of one frame as one trace (an array of spans). */
static int encode_trace(const frame_view *frame, const encoding *e, ct_buffer *out)
{
    const uint8_t *data = frame->records, *end = data + frame->records_len;
    int rc = reserve(out, 5);
    if (rc != CT_OK) return rc;
    out->len = (size_t)(pack_array(out->data + out->len, frame->span_count) - out->data);
    for (uint32_t i = 0; i < frame->span_count; i++) {
        ct_record_reader r;
        size_t size = ct__record_open(&r, data, (size_t)(end - data));
        if (size == 0) return CT_EINVAL;
        data += size;
        ct_implied_tags implied;
        ct__record_implied(&r, e->context, &implied);
        rc = reserve(out, span_bound(&r, &implied));
        if (rc != CT_OK) return rc;
        uint8_t *p = out->data + out->len;
        rc = e->pack(&p, &r, &implied, e->table);
        if (rc != CT_OK) return rc;
        out->len = (size_t)(p - out->data);
    }
    return data == end ? CT_OK : CT_EINVAL;
}

/* Packs chunk_count frames as the array of traces both versions send. */
static int encode_traces(const uint8_t *frames, size_t frames_len, uint32_t chunk_count,
                         const encoding *e, ct_buffer *out)
{
    const uint8_t *cursor = frames, *end = frames + frames_len;
    int rc = reserve(out, 5);
    if (rc != CT_OK) return rc;
    out->len = (size_t)(pack_array(out->data + out->len, chunk_count) - out->data);
    for (uint32_t i = 0; i < chunk_count; i++) {
        frame_view frame;
        rc = next_frame(&cursor, end, &frame);
        if (rc == CT_OK) rc = encode_trace(&frame, e, out);
        if (rc != CT_OK) return rc;
    }
    return cursor == end ? CT_OK : CT_EINVAL;
}

static int encode_v04(const ct_record_context *context, const uint8_t *frames, size_t frames_len,
                      uint32_t chunk_count, ct_buffer *out)
{
    encoding e = {pack_span_v04_at, NULL, context};
    return encode_traces(frames, frames_len, chunk_count, &e, out);
}

static int encode_v05_body(const ct_record_context *context, const uint8_t *frames,
                           size_t frames_len, uint32_t chunk_count, string_table *t,
                           ct_buffer *body)
{
    uint32_t empty;
    int rc = table_intern(t, "", 0, &empty); /* index 0, as ddtrace */
    if (rc == CT_OK) rc = reserve(body, 5 + frames_len);
    if (rc != CT_OK) return rc;
    encoding e = {pack_span_v05, t, context};
    return encode_traces(frames, frames_len, chunk_count, &e, body);
}

static int encode_v05(const ct_record_context *context, const uint8_t *frames, size_t frames_len,
                      uint32_t chunk_count, ct_buffer *out)
{
    string_table table;
    ct_buffer body = CT_BUFFER_INIT;
    int rc = table_init(&table);
    if (rc == CT_OK) rc = encode_v05_body(context, frames, frames_len, chunk_count, &table, &body);
    if (rc == CT_OK) rc = reserve(out, 6 + table.packed.len + body.len);
    if (rc == CT_OK) {
        uint8_t *p = out->data + out->len;
        *p++ = 0x92;
        *p++ = 0xdd; /* array32: the count is only known now, any size */
        p = pack_be32(p, table.count);
        memcpy(p, table.packed.data, table.packed.len);
        p += table.packed.len;
        memcpy(p, body.data, body.len);
        p += body.len;
        out->len = (size_t)(p - out->data);
    }
    ct__buffer_release(&body);
    table_release(&table);
    return rc;
}

int ct__encode_payload(ct_api_version version, const ct_record_context *context,
                       const uint8_t *frames, size_t frames_len, uint32_t chunk_count,
                       ct_buffer *out)
{
    if (version == CT_API_V04) return encode_v04(context, frames, frames_len, chunk_count, out);
    if (version == CT_API_V05) return encode_v05(context, frames, frames_len, chunk_count, out);
    return CT_EINVAL;
}
