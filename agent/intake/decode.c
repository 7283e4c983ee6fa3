/* Payload decoding (see decode.h).
 *
 * The payload is read straight from the body with a bounds-checked cursor:
 * the outer arrays (the list of traces, each trace's list of spans, v0.5's
 * pair and string table), then each span's fields, typed as the Datadog
 * agent's decoder types them. Nothing is copied: strings are views into
 * the body, and a span's maps become arrays in the per-chunk arena. Every
 * length and count is checked against the bytes left before it is used,
 * so no count can claim more than the body holds. That still let a body
 * decode to ~16 times its size (a map of 2-byte pairs becomes 32-byte
 * tags), so every allocation sized from the network is charged to the
 * caller's budget first, and a span over the object limit is walked past
 * (bounds-checked, nothing allocated) and counted instead of decoded.
 *
 * History: spans used to be unpacked by msgpack-c (msgpack_unpack_next into
 * a zone) after a validating walk; that walk plus the object tree cost
 * about half of the intake's CPU, so only the rare parts with free-form
 * structure (span links and events) still go through msgpack-c. Unknown
 * keys are skipped by check_object, which enforces the depth and object
 * limits. */
#include "decode.h"
#include "mpwire.h"

#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const unsigned char *p;
    size_t len, off;
    char *err;
    size_t errlen;
    /* memory: what the decoded form has charged to budget (NULL: none) */
    ag_budget *budget;
    size_t chunk_charge; /* the chunk arena's, released at its reset */
    size_t table_charge; /* the v0.5 string table's */
    size_t zone_charge;  /* msgpack-c's zone for the last links/events */
    size_t peak_charge;
    size_t reserved, credit; /* taken from budget; not yet charged of it */
    bool over_limit;         /* the last failure was a span's object limit */
    bool over_budget;        /* the last failure was the budget */
} reader;

/* Writes a one-line reason and returns -1, so "return FAIL(...)" reads well. */
static int __attribute__((format(printf, 2, 3))) FAIL(reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static size_t charged(const reader *r)
{
    return r->chunk_charge + r->table_charge + r->zone_charge;
}

/* The budget is shared by every HTTP thread: taking from it span by span
 * would make its counter a contended cache line, so a decode takes credit
 * in blocks of this size, charges from its credit, gives releases back to
 * it, and returns everything it took when it ends. */
enum { CREDIT_BLOCK = 256 * 1024 };

/* Makes sure n bytes of credit are there; -1 when the budget cannot give
 * them (a block past n is only taken if it fits too). */
static int take_credit(reader *r, size_t n)
{
    if (n <= r->credit) return 0;
    size_t missing = n - r->credit;
    size_t block = missing < SIZE_MAX - CREDIT_BLOCK ? missing + CREDIT_BLOCK : missing;
    if (!ag_budget_try_charge(r->budget, block)) {
        if (!ag_budget_try_charge(r->budget, missing)) return -1;
        block = missing;
    }
    r->reserved += block;
    r->credit += block;
    return 0;
}

/* Charges n bytes of decoded form to *counter and the budget; -1 with a
 * reason when the budget cannot cover it. */
static int charge(reader *r, size_t n, size_t *counter)
{
    if (r->budget && take_credit(r, n)) {
        r->over_budget = true;
        r->peak_charge = charged(r) + n;
        return FAIL(r,
                    "payload decodes to more memory than --max-inflight leaves free"
                    " (%zu bytes needed)",
                    charged(r) + n);
    }
    if (r->budget) r->credit -= n;
    *counter += n;
    if (charged(r) > r->peak_charge) r->peak_charge = charged(r);
    return 0;
}

/* Gives *counter back to the credit (the budget gets it at the end). */
static void release(reader *r, size_t *counter)
{
    if (r->budget) r->credit += *counter;
    *counter = 0;
}

/* count elements of size bytes from the chunk arena, charged; NULL with a
 * reason when over budget. count comes from the network but was checked
 * against the bytes left, so the product cannot overflow. */
static void *chunk_alloc(reader *r, ag_arena *a, size_t count, size_t size)
{
    size_t n = size * (count ? count : 1);
    return charge(r, n, &r->chunk_charge) ? NULL : ag_arena_alloc(a, n);
}

static int need(reader *r, size_t n) { return r->len - r->off >= n ? 0 : -1; }

/* Reads an array header (nil reads as an empty array). */
static int read_array_header(reader *r, const char *what, uint32_t *n)
{
    if (need(r, 1)) return FAIL(r, "truncated payload: expected %s", what);
    unsigned c = r->p[r->off];
    int width = 0;
    if (ag_mp_is_fixarray(c)) *n = c & 0x0f;
    else if (c == AG_MP_NIL) *n = 0;
    else if (c == AG_MP_ARRAY16) width = 2;
    else if (c == AG_MP_ARRAY32) width = 4;
    else return FAIL(r, "%s is not an array (byte 0x%02x at offset %zu)", what, c, r->off);
    if (need(r, 1 + (size_t)width)) return FAIL(r, "truncated payload in %s header", what);
    if (width) *n = (uint32_t)ag_mp_load_be(r->p + r->off + 1, width);
    r->off += 1 + (size_t)width;
    if (*n > r->len - r->off)
        return FAIL(r, "%s claims %u elements but only %zu bytes follow", what, *n,
                    r->len - r->off);
    return 0;
}

/* Walks one msgpack object without allocating; fails on truncation, depth
 * or counts that cannot fit in the remaining bytes, or the reserved 0xc1,
 * and (objects not NULL) past a span's object limit. */
static int check_object(reader *r, int depth, size_t *objects)
{
    if (depth > AG_DECODE_MAX_DEPTH)
        return FAIL(r, "nesting deeper than %d levels", AG_DECODE_MAX_DEPTH);
    if (objects && ++*objects > AG_DECODE_MAX_SPAN_OBJECTS) {
        r->over_limit = true;
        return FAIL(r, "span has more than %d msgpack objects", AG_DECODE_MAX_SPAN_OBJECTS);
    }
    if (need(r, 1)) return FAIL(r, "truncated payload at offset %zu", r->off);
    unsigned c = r->p[r->off++];
    uint64_t skip = 0, items = 0;
    int hdr = 0;
    if (c <= AG_MP_POSFIXINT_MAX || c >= AG_MP_NEGFIXINT || c == AG_MP_NIL || c == AG_MP_FALSE ||
        c == AG_MP_TRUE)
        return 0;
    if (ag_mp_is_fixstr(c)) skip = c & 0x1f;
    else if (ag_mp_is_fixarray(c)) items = c & 0x0f;
    else if (ag_mp_is_fixmap(c)) items = 2 * (uint64_t)(c & 0x0f);
    /* one line per msgpack type, as the spec's table reads */
    /* clang-format off */
    else switch (c) {
    case AG_MP_UINT8: case AG_MP_INT8: skip = 1; break;
    case AG_MP_UINT16: case AG_MP_INT16: skip = 2; break;
    case AG_MP_UINT32: case AG_MP_INT32: case AG_MP_FLOAT32: skip = 4; break;
    case AG_MP_UINT64: case AG_MP_INT64: case AG_MP_FLOAT64: skip = 8; break;
    case AG_MP_FIXEXT1: skip = 2; break;   /* fixext: type byte then data */
    case AG_MP_FIXEXT2: skip = 3; break;
    case AG_MP_FIXEXT4: skip = 5; break;
    case AG_MP_FIXEXT8: skip = 9; break;
    case AG_MP_FIXEXT16: skip = 17; break;
    case AG_MP_BIN8: case AG_MP_STR8: hdr = 1; break;
    case AG_MP_BIN16: case AG_MP_STR16: hdr = 2; break;
    case AG_MP_BIN32: case AG_MP_STR32: hdr = 4; break;
    case AG_MP_EXT8: hdr = 1; skip = 1; break;   /* ext: length then type byte */
    case AG_MP_EXT16: hdr = 2; skip = 1; break;
    case AG_MP_EXT32: hdr = 4; skip = 1; break;
    case AG_MP_ARRAY16: case AG_MP_MAP16: hdr = -2; break;
    case AG_MP_ARRAY32: case AG_MP_MAP32: hdr = -4; break;
    default: return FAIL(r, "invalid msgpack byte 0x%02x at offset %zu", c, r->off - 1);
    }
    /* clang-format on */
    if (hdr > 0) {
        if (need(r, (size_t)hdr)) return FAIL(r, "truncated payload at offset %zu", r->off);
        skip += ag_mp_load_be(r->p + r->off, hdr);
        r->off += (size_t)hdr;
    } else if (hdr < 0) {
        if (need(r, (size_t)-hdr)) return FAIL(r, "truncated payload at offset %zu", r->off);
        items = ag_mp_load_be(r->p + r->off, -hdr);
        if (c == AG_MP_MAP16 || c == AG_MP_MAP32) items *= 2;
        r->off += (size_t)-hdr;
    }
    if (skip) {
        if (need(r, skip))
            return FAIL(r, "truncated payload: %llu bytes needed at offset %zu",
                        (unsigned long long)skip, r->off);
        r->off += skip;
    }
    if (items > r->len - r->off)
        return FAIL(r, "container claims %llu elements but only %zu bytes follow",
                    (unsigned long long)items, r->len - r->off);
    for (uint64_t i = 0; i < items; i++)
        if (check_object(r, depth + 1, objects)) return -1;
    return 0;
}

/* ---- span links and events: rare and free-form, read with msgpack-c ---- */

static int get_str(reader *r, const msgpack_object *o, ag_str *out, const char *field)
{
    if (o->type == MSGPACK_OBJECT_NIL) *out = (ag_str){"", 0};
    else if (o->type == MSGPACK_OBJECT_STR) *out = (ag_str){o->via.str.ptr, o->via.str.size};
    else if (o->type == MSGPACK_OBJECT_BIN) *out = (ag_str){o->via.bin.ptr, o->via.bin.size};
    else return FAIL(r, "%s must be a string", field);
    if (!out->ptr) out->ptr = "";
    return 0;
}

static int get_u64(reader *r, const msgpack_object *o, uint64_t *out, const char *field)
{
    if (o->type == MSGPACK_OBJECT_NIL) *out = 0;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) *out = o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) *out = (uint64_t)o->via.i64;
    else return FAIL(r, "%s must be an integer", field);
    return 0;
}

static int key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, name, n) == 0;
}

static int get_string_map(reader *r, const msgpack_object *o, ag_arena *a, ag_tag **out,
                          size_t *out_len, const char *field)
{
    *out = NULL;
    *out_len = 0;
    if (o->type == MSGPACK_OBJECT_NIL) return 0;
    if (o->type != MSGPACK_OBJECT_MAP) return FAIL(r, "%s must be a map", field);
    uint32_t n = o->via.map.size;
    ag_tag *tags = chunk_alloc(r, a, n, sizeof *tags);
    if (!tags) return -1;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR && kv->key.type != MSGPACK_OBJECT_BIN)
            return FAIL(r, "%s keys must be strings", field);
        if (get_str(r, &kv->key, &tags[i].key, field) ||
            get_str(r, &kv->val, &tags[i].value, field))
            return -1;
    }
    *out = tags;
    *out_len = n;
    return 0;
}

static int get_links(reader *r, const msgpack_object *o, ag_arena *a, ag_span *s)
{
    if (o->type == MSGPACK_OBJECT_NIL) return 0;
    if (o->type != MSGPACK_OBJECT_ARRAY) return FAIL(r, "span.span_links must be an array");
    uint32_t n = o->via.array.size;
    ag_link *links = chunk_alloc(r, a, n, sizeof *links);
    if (!links) return -1;
    memset(links, 0, sizeof *links * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *m = &o->via.array.ptr[i];
        if (m->type != MSGPACK_OBJECT_MAP) return FAIL(r, "span link must be a map");
        ag_link *l = &links[i];
        l->tracestate = (ag_str){"", 0};
        for (uint32_t k = 0; k < m->via.map.size; k++) {
            const msgpack_object *key = &m->via.map.ptr[k].key, *val = &m->via.map.ptr[k].val;
            uint64_t flags = 0;
            int rc = 0;
            if (key_is(key, "trace_id")) rc = get_u64(r, val, &l->trace_id, "span link trace_id");
            else if (key_is(key, "trace_id_high"))
                rc = get_u64(r, val, &l->trace_id_high, "span link trace_id_high");
            else if (key_is(key, "span_id")) rc = get_u64(r, val, &l->span_id, "span link span_id");
            else if (key_is(key, "tracestate"))
                rc = get_str(r, val, &l->tracestate, "span link tracestate");
            else if (key_is(key, "flags")) {
                rc = get_u64(r, val, &flags, "span link flags");
                l->flags = (uint32_t)flags;
            } else if (key_is(key, "attributes"))
                rc = get_string_map(r, val, a, &l->attributes, &l->attributes_len,
                                    "span link attributes");
            if (rc) return -1;
        }
    }
    s->links = links;
    s->links_len = n;
    return 0;
}

/* Re-packs a msgpack object into arena memory (event attributes are kept
 * as msgpack because their values are typed). */
static int pack_to_arena(reader *r, const msgpack_object *o, ag_arena *a, ag_str *out)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *o);
    char *p = chunk_alloc(r, a, sb.size, 1);
    if (!p) return msgpack_sbuffer_destroy(&sb), -1;
    memcpy(p, sb.data, sb.size);
    *out = (ag_str){p, sb.size};
    msgpack_sbuffer_destroy(&sb);
    return 0;
}

static int get_events(reader *r, const msgpack_object *o, ag_arena *a, ag_span *s)
{
    if (o->type == MSGPACK_OBJECT_NIL) return 0;
    if (o->type != MSGPACK_OBJECT_ARRAY) return FAIL(r, "span.span_events must be an array");
    uint32_t n = o->via.array.size;
    ag_event *ev = chunk_alloc(r, a, n, sizeof *ev);
    if (!ev) return -1;
    memset(ev, 0, sizeof *ev * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *m = &o->via.array.ptr[i];
        if (m->type != MSGPACK_OBJECT_MAP) return FAIL(r, "span event must be a map");
        ev[i].name = (ag_str){"", 0};
        for (uint32_t k = 0; k < m->via.map.size; k++) {
            const msgpack_object *key = &m->via.map.ptr[k].key, *val = &m->via.map.ptr[k].val;
            int rc = 0;
            if (key_is(key, "name")) rc = get_str(r, val, &ev[i].name, "span event name");
            else if (key_is(key, "time_unix_nano"))
                rc = get_u64(r, val, &ev[i].time_unix_nano, "span event time_unix_nano");
            else if (key_is(key, "attributes")) {
                if (val->type == MSGPACK_OBJECT_NIL) continue;
                if (val->type != MSGPACK_OBJECT_MAP)
                    return FAIL(r, "span event attributes must be a map");
                rc = pack_to_arena(r, val, a, &ev[i].attributes_msgpack);
            }
            if (rc) return -1;
        }
    }
    s->events = ev;
    s->events_len = n;
    return 0;
}

/* ---- direct readers, following the Datadog agent's decoder ----
 *
 * Each reads one value at r->off and advances past it, or fails with a
 * reason; types follow msgpack-c's view of the bytes (a signed encoding of
 * a non-negative value is an integer like any other). */

/* A span's budget of msgpack objects, as check_object counts them. */
static int count_objects(reader *r, size_t *objects, uint64_t n)
{
    *objects += n;
    if (*objects > AG_DECODE_MAX_SPAN_OBJECTS) {
        r->over_limit = true;
        return FAIL(r, "span has more than %d msgpack objects", AG_DECODE_MAX_SPAN_OBJECTS);
    }
    return 0;
}

static int truncated(reader *r) { return FAIL(r, "truncated payload at offset %zu", r->off); }

/* The string or bin whose tag c is at r->off (the caller checked c is one
 * and that the tag byte is there). */
static int read_raw_body(reader *r, unsigned c, ag_str *out)
{
    size_t n, hdr = 0;
    if (ag_mp_is_fixstr(c)) n = c & 0x1f;
    else {
        hdr = (size_t)ag_mp_raw_len_width(c);
        if (need(r, 1 + hdr)) return truncated(r);
        n = (size_t)ag_mp_load_be(r->p + r->off + 1, (int)hdr);
    }
    if (r->len - r->off - 1 - hdr < n) {
        return FAIL(r, "truncated payload: %zu bytes needed at offset %zu", n, r->off + 1 + hdr);
    }
    *out = (ag_str){n ? (const char *)r->p + r->off + 1 + hdr : "", n};
    r->off += 1 + hdr + n;
    return 0;
}

/* nil -> "", str or bin -> a view of the body. */
static int read_str(reader *r, ag_str *out, const char *field)
{
    if (need(r, 1)) return truncated(r);
    unsigned c = r->p[r->off];
    if (c == AG_MP_NIL) {
        r->off++;
        *out = (ag_str){"", 0};
        return 0;
    }
    if (!ag_mp_is_raw(c)) return FAIL(r, "%s must be a string", field);
    return read_raw_body(r, c, out);
}

/* An integer of any encoding at r->off (the caller checked one byte is
 * there). Returns 0, 1 when the value is not an integer (nothing consumed,
 * no reason written), or -1 on truncation. *negative tells how to widen. */
static int read_int_bits(reader *r, uint64_t *out, int *negative)
{
    unsigned c = r->p[r->off];
    int width;
    *negative = 0;
    if (c <= AG_MP_POSFIXINT_MAX) {
        *out = c;
        r->off++;
        return 0;
    }
    if (c >= AG_MP_NEGFIXINT) {
        *out = (uint64_t)(int64_t)(int8_t)c;
        *negative = 1;
        r->off++;
        return 0;
    }
    switch (c) {
    case AG_MP_UINT8:
    case AG_MP_INT8: width = 1; break;
    case AG_MP_UINT16:
    case AG_MP_INT16: width = 2; break;
    case AG_MP_UINT32:
    case AG_MP_INT32: width = 4; break;
    case AG_MP_UINT64:
    case AG_MP_INT64: width = 8; break;
    default: return 1; /* not an integer */
    }
    if (need(r, 1 + (size_t)width)) return truncated(r), -1;
    uint64_t v = ag_mp_load_be(r->p + r->off + 1, width);
    if (c >= AG_MP_INT8) { /* sign-extend */
        int shift = 64 - 8 * width;
        int64_t sv = shift ? (int64_t)(v << shift) >> shift : (int64_t)v;
        v = (uint64_t)sv;
        *negative = sv < 0;
    }
    *out = v;
    r->off += 1 + (size_t)width;
    return 0;
}

/* nil -> 0; any integer, negative ones cast as the Datadog agent does. */
static int read_u64(reader *r, uint64_t *out, const char *field)
{
    if (need(r, 1)) return truncated(r);
    if (r->p[r->off] == AG_MP_NIL) {
        r->off++;
        *out = 0;
        return 0;
    }
    int negative, rc = read_int_bits(r, out, &negative);
    if (rc > 0) return FAIL(r, "%s must be an integer", field);
    return rc;
}

static int read_i64(reader *r, int64_t *out, const char *field)
{
    uint64_t u = 0;
    if (read_u64(r, &u, field)) return -1;
    *out = (int64_t)u;
    return 0;
}

/* nil -> 0, float64, or an integer; float32 is refused as the agent does. */
static int read_f64(reader *r, double *out, const char *field)
{
    if (need(r, 1)) return truncated(r);
    unsigned c = r->p[r->off];
    if (c == AG_MP_FLOAT64) {
        if (need(r, 9)) return truncated(r);
        uint64_t bits = ag_mp_load_be(r->p + r->off + 1, 8);
        memcpy(out, &bits, sizeof *out);
        r->off += 9;
        return 0;
    }
    if (c == AG_MP_NIL) {
        r->off++;
        *out = 0;
        return 0;
    }
    uint64_t v;
    int negative, rc = read_int_bits(r, &v, &negative);
    if (rc > 0) return FAIL(r, "%s must be a float64 or an integer", field);
    if (rc) return -1;
    *out = negative ? (double)(int64_t)v : (double)v;
    return 0;
}

/* A map header; *n is its number of pairs, checked against the bytes left.
 * Returns 1 (no error written) when the value is not a map. */
static int read_map_header(reader *r, uint32_t *n)
{
    if (need(r, 1)) return truncated(r);
    unsigned c = r->p[r->off];
    int width;
    if (ag_mp_is_fixmap(c)) {
        *n = c & 0x0f;
        width = 0;
    } else if (c == AG_MP_MAP16 || c == AG_MP_MAP32) {
        width = c == AG_MP_MAP16 ? 2 : 4;
        if (need(r, 1 + (size_t)width)) return truncated(r);
        *n = (uint32_t)ag_mp_load_be(r->p + r->off + 1, width);
    } else {
        return 1;
    }
    r->off += 1 + (size_t)width;
    if ((uint64_t)*n * 2 > r->len - r->off)
        return FAIL(r, "container claims %llu elements but only %zu bytes follow",
                    (unsigned long long)*n * 2, r->len - r->off);
    return 0;
}

/* Like read_map_header for arrays. */
static int read_array_header_of(reader *r, uint32_t *n)
{
    if (need(r, 1)) return truncated(r);
    unsigned c = r->p[r->off];
    int width;
    if (ag_mp_is_fixarray(c)) {
        *n = c & 0x0f;
        width = 0;
    } else if (c == AG_MP_ARRAY16 || c == AG_MP_ARRAY32) {
        width = c == AG_MP_ARRAY16 ? 2 : 4;
        if (need(r, 1 + (size_t)width)) return truncated(r);
        *n = (uint32_t)ag_mp_load_be(r->p + r->off + 1, width);
    } else {
        return 1;
    }
    r->off += 1 + (size_t)width;
    if (*n > r->len - r->off)
        return FAIL(r, "container claims %u elements but only %zu bytes follow", *n,
                    r->len - r->off);
    return 0;
}

static int is_nil(reader *r)
{
    if (r->off < r->len && r->p[r->off] == AG_MP_NIL) {
        r->off++;
        return 1;
    }
    return 0;
}

/* A map of strings (meta): nil is empty; keys str or bin. */
static int read_string_map(reader *r, ag_arena *a, size_t *objects, ag_tag **out, size_t *out_len,
                           const char *field)
{
    *out = NULL;
    *out_len = 0;
    if (is_nil(r)) return 0;
    uint32_t n;
    int rc = read_map_header(r, &n);
    if (rc > 0) return FAIL(r, "%s must be a map", field);
    if (rc || count_objects(r, objects, 2 * (uint64_t)n)) return -1;
    ag_tag *tags = chunk_alloc(r, a, n, sizeof *tags);
    if (!tags) return -1;
    for (uint32_t i = 0; i < n; i++) {
        if (need(r, 1)) return truncated(r);
        if (!ag_mp_is_raw(r->p[r->off])) return FAIL(r, "%s keys must be strings", field);
        if (read_raw_body(r, r->p[r->off], &tags[i].key) || read_str(r, &tags[i].value, field))
            return -1;
    }
    *out = tags;
    *out_len = n;
    return 0;
}

static int read_metrics(reader *r, ag_arena *a, size_t *objects, ag_span *s)
{
    if (is_nil(r)) return 0;
    uint32_t n;
    int rc = read_map_header(r, &n);
    if (rc > 0) return FAIL(r, "span.metrics must be a map");
    if (rc || count_objects(r, objects, 2 * (uint64_t)n)) return -1;
    ag_metric *m = chunk_alloc(r, a, n, sizeof *m);
    if (!m) return -1;
    for (uint32_t i = 0; i < n; i++) {
        if (need(r, 1)) return truncated(r);
        if (!ag_mp_is_raw(r->p[r->off])) return FAIL(r, "span.metrics keys must be strings");
        if (read_raw_body(r, r->p[r->off], &m[i].key) ||
            read_f64(r, &m[i].value, "span.metrics value"))
            return -1;
    }
    s->metrics = m;
    s->metrics_len = n;
    return 0;
}

/* meta_struct is accepted (str keys, bin or nil values) but not stored. */
static int check_meta_struct(reader *r, size_t *objects)
{
    if (is_nil(r)) return 0;
    uint32_t n;
    int rc = read_map_header(r, &n);
    if (rc > 0) return FAIL(r, "span.meta_struct must be a map");
    if (rc || count_objects(r, objects, 2 * (uint64_t)n)) return -1;
    for (uint32_t i = 0; i < n; i++) {
        ag_str ignored;
        if (need(r, 1)) return truncated(r);
        if (!ag_mp_is_str(r->p[r->off])) return FAIL(r, "span.meta_struct keys must be strings");
        if (read_raw_body(r, r->p[r->off], &ignored)) return -1;
        if (need(r, 1)) return truncated(r);
        unsigned c = r->p[r->off];
        if (c == AG_MP_NIL) r->off++;
        else if (c == AG_MP_BIN8 || c == AG_MP_BIN16 || c == AG_MP_BIN32) {
            if (read_raw_body(r, c, &ignored)) return -1;
        } else {
            return FAIL(r, "span.meta_struct values must be bin");
        }
    }
    return 0;
}

/* Links and events: validated by check_object, unpacked by msgpack-c. */
static int read_with_msgpack(reader *r, msgpack_unpacked *unp, ag_arena *a, ag_span *s,
                             size_t *objects, int links)
{
    size_t start = r->off, before = *objects;
    if (check_object(r, 2, objects)) return -1;
    /* msgpack-c frees the previous zone when it unpacks the next object:
     * one zone is alive at a time, charged by its object count */
    release(r, &r->zone_charge);
    if (charge(r, (*objects - before) * sizeof(msgpack_object), &r->zone_charge)) return -1;
    size_t off = start;
    msgpack_unpack_return rc = msgpack_unpack_next(unp, (const char *)r->p, r->off, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != r->off)
        return FAIL(r, "cannot decode span %s at offset %zu (msgpack-c error %d)",
                    links ? "links" : "events", start, rc);
    return links ? get_links(r, &unp->data, a, s) : get_events(r, &unp->data, a, s);
}

enum span_key {
    K_OTHER,
    K_SERVICE,
    K_NAME,
    K_RESOURCE,
    K_TYPE,
    K_TRACE_ID,
    K_SPAN_ID,
    K_PARENT_ID,
    K_START,
    K_DURATION,
    K_ERROR,
    K_META,
    K_METRICS,
    K_META_STRUCT,
    K_LINKS,
    K_EVENTS,
};

/* Which span field a key names; only str keys name fields. */
static enum span_key span_key(ag_str k)
{
#define KEY(lit, id) \
    if (k.len == sizeof(lit) - 1 && !memcmp(k.ptr, lit, k.len)) return id
    switch (k.len) {
    case 4:
        KEY("name", K_NAME);
        KEY("type", K_TYPE);
        KEY("meta", K_META);
        break;
    case 5:
        KEY("start", K_START);
        KEY("error", K_ERROR);
        break;
    case 7:
        KEY("service", K_SERVICE);
        KEY("span_id", K_SPAN_ID);
        KEY("metrics", K_METRICS);
        break;
    case 8:
        KEY("resource", K_RESOURCE);
        KEY("trace_id", K_TRACE_ID);
        KEY("duration", K_DURATION);
        break;
    case 9: KEY("parent_id", K_PARENT_ID); break;
    case 10: KEY("span_links", K_LINKS); break;
    case 11:
        KEY("meta_struct", K_META_STRUCT);
        KEY("span_events", K_EVENTS);
        break;
    }
#undef KEY
    return K_OTHER;
}

/* One v0.3/v0.4 span: a map with the keys of span.proto. */
static int read_span_v04(reader *r, msgpack_unpacked *unp, ag_arena *a, ag_span *s)
{
    memset(s, 0, sizeof *s);
    s->service = s->name = s->resource = s->type = (ag_str){"", 0};
    size_t objects = 1;
    uint32_t n;
    int rc = read_map_header(r, &n);
    if (rc > 0) {
        /* not a map: still reject truncation and nesting first, as before */
        size_t start = r->off;
        if (check_object(r, 1, NULL)) return -1;
        r->off = start;
        return FAIL(r, "span must be a map");
    }
    if (rc || count_objects(r, &objects, 2 * (uint64_t)n)) return -1;
    for (uint32_t i = 0; i < n; i++) {
        if (need(r, 1)) return truncated(r);
        unsigned c = r->p[r->off];
        ag_str key;
        if (!ag_mp_is_raw(c)) return FAIL(r, "span keys must be strings");
        if (read_raw_body(r, c, &key)) return -1;
        int64_t e = 0;
        switch (ag_mp_is_str(c) ? span_key(key) : K_OTHER) {
        case K_SERVICE: rc = read_str(r, &s->service, "span.service"); break;
        case K_NAME: rc = read_str(r, &s->name, "span.name"); break;
        case K_RESOURCE: rc = read_str(r, &s->resource, "span.resource"); break;
        case K_TYPE: rc = read_str(r, &s->type, "span.type"); break;
        case K_TRACE_ID: rc = read_u64(r, &s->trace_id, "span.trace_id"); break;
        case K_SPAN_ID: rc = read_u64(r, &s->span_id, "span.span_id"); break;
        case K_PARENT_ID: rc = read_u64(r, &s->parent_id, "span.parent_id"); break;
        case K_START: rc = read_i64(r, &s->start, "span.start"); break;
        case K_DURATION: rc = read_i64(r, &s->duration, "span.duration"); break;
        case K_ERROR:
            rc = read_i64(r, &e, "span.error");
            s->error = e != 0;
            break;
        case K_META:
            rc = read_string_map(r, a, &objects, &s->meta, &s->meta_len, "span.meta");
            break;
        case K_METRICS: rc = read_metrics(r, a, &objects, s); break;
        case K_META_STRUCT: rc = check_meta_struct(r, &objects); break;
        case K_LINKS: rc = read_with_msgpack(r, unp, a, s, &objects, 1); break;
        case K_EVENTS: rc = read_with_msgpack(r, unp, a, s, &objects, 0); break;
        case K_OTHER: rc = check_object(r, 2, &objects); break;
        }
        if (rc) return -1;
    }
    return 0;
}

/* ---- v0.5 ---- */

typedef struct {
    ag_str *strings;
    uint32_t count;
} string_table;

/* A string-table index: a non-negative integer below the table's size. */
static int read_index(reader *r, const string_table *t, ag_str *out, const char *field)
{
    if (need(r, 1)) return truncated(r);
    uint64_t i;
    int negative, rc = read_int_bits(r, &i, &negative);
    if (rc < 0) return -1;
    if (rc > 0 || negative) return FAIL(r, "v0.5 %s must be a string index", field);
    if (i >= t->count)
        return FAIL(r, "v0.5 %s: string index %llu out of range (table has %u)", field,
                    (unsigned long long)i, t->count);
    *out = t->strings[i];
    return 0;
}

/* v0.5 elements may not be nil (the agent's decoder refuses them). */
static int not_nil(reader *r, int element)
{
    if (need(r, 1)) return truncated(r);
    if (r->p[r->off] == AG_MP_NIL) return FAIL(r, "v0.5 span element %d is nil", element);
    return 0;
}

static int read_span_v05(reader *r, const string_table *t, ag_arena *a, ag_span *s)
{
    memset(s, 0, sizeof *s);
    size_t objects = 13; /* counted as check_object counts a v0.4 span */
    uint32_t n;
    int rc = read_array_header_of(r, &n);
    if (rc > 0) return FAIL(r, "v0.5 span must be an array");
    if (rc) return -1;
    if (n != 12) return FAIL(r, "v0.5 span must have 12 elements, has %u", n);
    int64_t err;
    if (not_nil(r, 0) || read_index(r, t, &s->service, "service") || not_nil(r, 1) ||
        read_index(r, t, &s->name, "name") || not_nil(r, 2) ||
        read_index(r, t, &s->resource, "resource") || not_nil(r, 3) ||
        read_u64(r, &s->trace_id, "v0.5 trace_id") || not_nil(r, 4) ||
        read_u64(r, &s->span_id, "v0.5 span_id") || not_nil(r, 5) ||
        read_u64(r, &s->parent_id, "v0.5 parent_id") || not_nil(r, 6) ||
        read_i64(r, &s->start, "v0.5 start") || not_nil(r, 7) ||
        read_i64(r, &s->duration, "v0.5 duration") || not_nil(r, 8) ||
        read_i64(r, &err, "v0.5 error") || not_nil(r, 9))
        return -1;
    s->error = err != 0;
    rc = read_map_header(r, &n);
    if (rc > 0) return FAIL(r, "v0.5 meta must be a map");
    if (rc || count_objects(r, &objects, 2 * (uint64_t)n)) return -1;
    if (!(s->meta = chunk_alloc(r, a, n, sizeof *s->meta))) return -1;
    s->meta_len = n;
    for (uint32_t i = 0; i < n; i++)
        if (read_index(r, t, &s->meta[i].key, "meta key") ||
            read_index(r, t, &s->meta[i].value, "meta value"))
            return -1;
    if (not_nil(r, 10)) return -1;
    rc = read_map_header(r, &n);
    if (rc > 0) return FAIL(r, "v0.5 metrics must be a map");
    if (rc || count_objects(r, &objects, 2 * (uint64_t)n)) return -1;
    if (!(s->metrics = chunk_alloc(r, a, n, sizeof *s->metrics))) return -1;
    s->metrics_len = n;
    for (uint32_t i = 0; i < n; i++)
        if (read_index(r, t, &s->metrics[i].key, "metrics key") ||
            read_f64(r, &s->metrics[i].value, "v0.5 metrics value"))
            return -1;
    if (not_nil(r, 11) || read_index(r, t, &s->type, "type")) return -1;
    return 0;
}

static int read_string_table(reader *r, ag_arena *a, string_table *t)
{
    uint32_t n;
    int rc = read_array_header_of(r, &n);
    if (rc > 0) return FAIL(r, "v0.5 string table must be an array");
    if (rc) return -1;
    t->count = n;
    size_t bytes = sizeof *t->strings * (n ? n : 1);
    if (charge(r, bytes, &r->table_charge)) return -1;
    t->strings = ag_arena_alloc(a, bytes);
    for (uint32_t i = 0; i < n; i++) {
        if (need(r, 1)) return truncated(r);
        if (!ag_mp_is_str(r->p[r->off]))
            return FAIL(r, "v0.5 string table entry %u is not a string", i);
        if (read_raw_body(r, r->p[r->off], &t->strings[i])) return -1;
    }
    return 0;
}

/* ---- driver ---- */

/* Reads span i of a chunk into *s. A span over the object limit is
 * skipped whole (walked without the limit, still bounds-checked) and
 * reported by *dropped, so the rest of the payload is kept. */
static int read_span(reader *r, ag_version version, const string_table *table,
                     msgpack_unpacked *unp, ag_arena *scratch, ag_span *s, bool *dropped)
{
    size_t start = r->off;
    *dropped = false;
    r->over_limit = false;
    int bad =
        version == AG_V05 ? read_span_v05(r, table, scratch, s) : read_span_v04(r, unp, scratch, s);
    if (!bad || !r->over_limit) return bad;
    r->over_limit = false;
    r->off = start;
    if (check_object(r, 1, NULL)) return -1;
    *dropped = true;
    return 0;
}

static int decode_traces(reader *r, ag_version version, const string_table *table,
                         msgpack_unpacked *unp, ag_arena *scratch, ag_chunk_fn fn, void *ctx,
                         uint64_t *dropped_spans)
{
    uint32_t ntraces;
    if (read_array_header(r, "list of traces", &ntraces)) return -1;
    for (uint32_t t = 0; t < ntraces; t++) {
        uint32_t nspans;
        if (read_array_header(r, "trace", &nspans)) return -1;
        ag_trace chunk = {chunk_alloc(r, scratch, nspans, sizeof(ag_span)), 0};
        if (!chunk.spans) return -1;
        for (uint32_t i = 0; i < nspans; i++) {
            bool dropped;
            if (read_span(r, version, table, unp, scratch, &chunk.spans[chunk.len], &dropped))
                return -1;
            if (dropped) ++*dropped_spans;
            else chunk.len++;
        }
        int cb = fn(ctx, &chunk, r->err, r->errlen);
        ag_arena_reset(scratch);
        release(r, &r->chunk_charge);
        if (cb) return cb;
    }
    if (r->off != r->len)
        return FAIL(r, "%zu trailing bytes after the list of traces", r->len - r->off);
    return 0;
}

int ag_decode(ag_version version, const char *body, size_t len, ag_arena *scratch, ag_chunk_fn fn,
              void *ctx, ag_decode_opts *opts, char *err, size_t errlen)
{
    reader r = {(const unsigned char *)body, len, 0, err, errlen};
    r.budget = opts ? opts->budget : NULL;
    msgpack_unpacked unp;
    msgpack_unpacked_init(&unp);
    ag_arena table_arena;
    ag_arena_init(&table_arena);
    string_table table = {0};
    uint64_t dropped_spans = 0;
    int rc = -1;

    if (len == 0) {
        FAIL(&r, "empty payload");
        goto out;
    }
    if (version == AG_V05) {
        uint32_t parts;
        if (read_array_header(&r, "v0.5 payload", &parts)) goto out;
        if (parts != 2) {
            FAIL(&r, "v0.5 payload must be an array of 2 elements, has %u", parts);
            goto out;
        }
        if (read_string_table(&r, &table_arena, &table)) goto out;
    }
    rc = decode_traces(&r, version, &table, &unp, scratch, fn, ctx, &dropped_spans);
    if (rc == -1 && r.over_budget) rc = AG_DECODE_OVER_BUDGET;
out:
    ag_arena_reset(scratch);
    msgpack_unpacked_destroy(&unp);
    ag_arena_free(&table_arena);
    release(&r, &r.chunk_charge);
    release(&r, &r.table_charge);
    release(&r, &r.zone_charge);
    if (r.reserved) ag_budget_release(r.budget, r.reserved);
    if (opts) {
        opts->dropped_spans = dropped_spans;
        opts->decoded_bytes = r.peak_charge;
    }
    return rc;
}
