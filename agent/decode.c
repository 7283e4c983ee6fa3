/* Payload decoding (see decode.h).
 *
 * Two layers. The outer arrays (the list of traces, each trace's list of
 * spans, v0.5's pair) are read here with a few lines of header parsing, so
 * a payload of 100,000 spans never becomes 100,000 msgpack objects at once.
 * Each span is then checked by check_object (a non-allocating walk that
 * rejects truncation, excessive nesting, and counts larger than the bytes
 * left, before msgpack-c would allocate for them) and unpacked with
 * msgpack-c's msgpack_unpack_next into a zone that is reused for the next
 * span. Strings stay zero-copy views into the body. */
#include "decode.h"

#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const unsigned char *p;
    size_t len, off;
    char *err;
    size_t errlen;
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

static int need(reader *r, size_t n)
{
    return r->len - r->off >= n ? 0 : -1;
}

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* Reads an array header (nil reads as an empty array). */
static int read_array_header(reader *r, const char *what, uint32_t *n)
{
    if (need(r, 1)) return FAIL(r, "truncated payload: expected %s", what);
    unsigned c = r->p[r->off];
    int width = 0;
    if (c >= 0x90 && c <= 0x9f) *n = c & 0x0f;
    else if (c == 0xc0) *n = 0;
    else if (c == 0xdc) width = 2;
    else if (c == 0xdd) width = 4;
    else return FAIL(r, "%s is not an array (byte 0x%02x at offset %zu)", what, c, r->off);
    if (need(r, 1 + (size_t)width))
        return FAIL(r, "truncated payload in %s header", what);
    if (width) *n = (uint32_t)be(r->p + r->off + 1, width);
    r->off += 1 + (size_t)width;
    if (*n > r->len - r->off)
        return FAIL(r, "%s claims %u elements but only %zu bytes follow", what, *n,
                    r->len - r->off);
    return 0;
}

/* Walks one msgpack object without allocating; fails on truncation, depth
 * or counts that cannot fit in the remaining bytes, or the reserved 0xc1. */
static int check_object(reader *r, int depth, size_t *objects)
{
    if (depth > AG_DECODE_MAX_DEPTH)
        return FAIL(r, "nesting deeper than %d levels", AG_DECODE_MAX_DEPTH);
    if (++*objects > AG_DECODE_MAX_SPAN_OBJECTS)
        return FAIL(r, "span has more than %d msgpack objects", AG_DECODE_MAX_SPAN_OBJECTS);
    if (need(r, 1)) return FAIL(r, "truncated payload at offset %zu", r->off);
    unsigned c = r->p[r->off++];
    uint64_t skip = 0, items = 0;
    int hdr = 0;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) return 0;
    if (c >= 0xa0 && c <= 0xbf) skip = c & 0x1f;
    else if (c >= 0x90 && c <= 0x9f) items = c & 0x0f;
    else if (c >= 0x80 && c <= 0x8f) items = 2 * (uint64_t)(c & 0x0f);
    else switch (c) {
    case 0xcc: case 0xd0: skip = 1; break;
    case 0xcd: case 0xd1: skip = 2; break;
    case 0xce: case 0xd2: case 0xca: skip = 4; break;
    case 0xcf: case 0xd3: case 0xcb: skip = 8; break;
    case 0xd4: skip = 2; break;
    case 0xd5: skip = 3; break;
    case 0xd6: skip = 5; break;
    case 0xd7: skip = 9; break;
    case 0xd8: skip = 17; break;
    case 0xc4: case 0xd9: hdr = 1; break;
    case 0xc5: case 0xda: hdr = 2; break;
    case 0xc6: case 0xdb: hdr = 4; break;
    case 0xc7: hdr = 1; skip = 1; break;   /* ext: length then type byte */
    case 0xc8: hdr = 2; skip = 1; break;
    case 0xc9: hdr = 4; skip = 1; break;
    case 0xdc: case 0xde: hdr = -2; break;
    case 0xdd: case 0xdf: hdr = -4; break;
    default: return FAIL(r, "invalid msgpack byte 0x%02x at offset %zu", c, r->off - 1);
    }
    if (hdr > 0) {
        if (need(r, (size_t)hdr)) return FAIL(r, "truncated payload at offset %zu", r->off);
        skip += be(r->p + r->off, hdr);
        r->off += (size_t)hdr;
    } else if (hdr < 0) {
        if (need(r, (size_t)-hdr)) return FAIL(r, "truncated payload at offset %zu", r->off);
        items = be(r->p + r->off, -hdr);
        if (c == 0xde || c == 0xdf) items *= 2;
        r->off += (size_t)-hdr;
    }
    if (skip) {
        if (need(r, skip)) return FAIL(r, "truncated payload: %llu bytes needed at offset %zu",
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

/* Checks then unpacks the next object with msgpack-c into unp's zone. */
static int next_object(reader *r, msgpack_unpacked *unp, const char *what)
{
    size_t start = r->off, objects = 0;
    if (check_object(r, 1, &objects)) return -1;
    size_t off = start;
    msgpack_unpack_return rc = msgpack_unpack_next(unp, (const char *)r->p, r->off, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != r->off)
        return FAIL(r, "cannot decode %s at offset %zu (msgpack-c error %d)", what, start, rc);
    return 0;
}

/* ---- typed field readers, following the Datadog agent's decoder ---- */

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

static int get_i64(reader *r, const msgpack_object *o, int64_t *out, const char *field)
{
    uint64_t u = 0;
    if (get_u64(r, o, &u, field)) return -1;
    *out = (int64_t)u;
    return 0;
}

static int get_f64(reader *r, const msgpack_object *o, double *out, const char *field)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: *out = 0; return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; return 0;
    case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; return 0;
    default: return FAIL(r, "%s must be a float64 or an integer", field);
    }
}

static int key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, name, n) == 0;
}

static int get_string_map(reader *r, const msgpack_object *o, ag_arena *a,
                          ag_tag **out, size_t *out_len, const char *field)
{
    *out = NULL;
    *out_len = 0;
    if (o->type == MSGPACK_OBJECT_NIL) return 0;
    if (o->type != MSGPACK_OBJECT_MAP) return FAIL(r, "%s must be a map", field);
    uint32_t n = o->via.map.size;
    ag_tag *tags = ag_arena_alloc(a, sizeof *tags * (n ? n : 1));
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

static int get_metrics(reader *r, const msgpack_object *o, ag_arena *a,
                       ag_metric **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (o->type == MSGPACK_OBJECT_NIL) return 0;
    if (o->type != MSGPACK_OBJECT_MAP) return FAIL(r, "span.metrics must be a map");
    uint32_t n = o->via.map.size;
    ag_metric *m = ag_arena_alloc(a, sizeof *m * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR && kv->key.type != MSGPACK_OBJECT_BIN)
            return FAIL(r, "span.metrics keys must be strings");
        if (get_str(r, &kv->key, &m[i].key, "span.metrics key") ||
            get_f64(r, &kv->val, &m[i].value, "span.metrics value"))
            return -1;
    }
    *out = m;
    *out_len = n;
    return 0;
}

static int check_meta_struct(reader *r, const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_NIL) return 0;
    if (o->type != MSGPACK_OBJECT_MAP) return FAIL(r, "span.meta_struct must be a map");
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return FAIL(r, "span.meta_struct keys must be strings");
        if (kv->val.type != MSGPACK_OBJECT_BIN && kv->val.type != MSGPACK_OBJECT_NIL)
            return FAIL(r, "span.meta_struct values must be bin");
    }
    return 0;
}

static int get_links(reader *r, const msgpack_object *o, ag_arena *a, ag_span *s)
{
    if (o->type == MSGPACK_OBJECT_NIL) return 0;
    if (o->type != MSGPACK_OBJECT_ARRAY) return FAIL(r, "span.span_links must be an array");
    uint32_t n = o->via.array.size;
    ag_link *links = ag_arena_alloc(a, sizeof *links * (n ? n : 1));
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
            else if (key_is(key, "trace_id_high")) rc = get_u64(r, val, &l->trace_id_high, "span link trace_id_high");
            else if (key_is(key, "span_id")) rc = get_u64(r, val, &l->span_id, "span link span_id");
            else if (key_is(key, "tracestate")) rc = get_str(r, val, &l->tracestate, "span link tracestate");
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
static int pack_to_arena(const msgpack_object *o, ag_arena *a, ag_str *out)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *o);
    char *p = ag_arena_alloc(a, sb.size ? sb.size : 1);
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
    ag_event *ev = ag_arena_alloc(a, sizeof *ev * (n ? n : 1));
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
                rc = pack_to_arena(val, a, &ev[i].attributes_msgpack);
            }
            if (rc) return -1;
        }
    }
    s->events = ev;
    s->events_len = n;
    return 0;
}

/* One v0.3/v0.4 span: a map with the keys of span.proto. */
static int convert_span_v04(reader *r, const msgpack_object *o, ag_arena *a, ag_span *s)
{
    memset(s, 0, sizeof *s);
    s->service = s->name = s->resource = s->type = (ag_str){"", 0};
    if (o->type != MSGPACK_OBJECT_MAP) return FAIL(r, "span must be a map");
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR && k->type != MSGPACK_OBJECT_BIN)
            return FAIL(r, "span keys must be strings");
        int rc = 0;
        if (key_is(k, "service")) rc = get_str(r, v, &s->service, "span.service");
        else if (key_is(k, "name")) rc = get_str(r, v, &s->name, "span.name");
        else if (key_is(k, "resource")) rc = get_str(r, v, &s->resource, "span.resource");
        else if (key_is(k, "type")) rc = get_str(r, v, &s->type, "span.type");
        else if (key_is(k, "trace_id")) rc = get_u64(r, v, &s->trace_id, "span.trace_id");
        else if (key_is(k, "span_id")) rc = get_u64(r, v, &s->span_id, "span.span_id");
        else if (key_is(k, "parent_id")) rc = get_u64(r, v, &s->parent_id, "span.parent_id");
        else if (key_is(k, "start")) rc = get_i64(r, v, &s->start, "span.start");
        else if (key_is(k, "duration")) rc = get_i64(r, v, &s->duration, "span.duration");
        else if (key_is(k, "error")) {
            int64_t e = 0;
            rc = get_i64(r, v, &e, "span.error");
            s->error = e != 0;
        } else if (key_is(k, "meta")) rc = get_string_map(r, v, a, &s->meta, &s->meta_len, "span.meta");
        else if (key_is(k, "metrics")) rc = get_metrics(r, v, a, &s->metrics, &s->metrics_len);
        else if (key_is(k, "meta_struct")) rc = check_meta_struct(r, v);
        else if (key_is(k, "span_links")) rc = get_links(r, v, a, s);
        else if (key_is(k, "span_events")) rc = get_events(r, v, a, s);
        if (rc) return -1;
    }
    return 0;
}

/* ---- v0.5 ---- */

typedef struct {
    ag_str *strings;
    uint32_t count;
} string_table;

static int get_index(reader *r, const msgpack_object *o, const string_table *t,
                     ag_str *out, const char *field)
{
    uint64_t i;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) i = o->via.u64;
    else return FAIL(r, "v0.5 %s must be a string index", field);
    if (i >= t->count)
        return FAIL(r, "v0.5 %s: string index %llu out of range (table has %u)", field,
                    (unsigned long long)i, t->count);
    *out = t->strings[i];
    return 0;
}

static int convert_span_v05(reader *r, const msgpack_object *o, const string_table *t,
                            ag_arena *a, ag_span *s)
{
    memset(s, 0, sizeof *s);
    if (o->type != MSGPACK_OBJECT_ARRAY) return FAIL(r, "v0.5 span must be an array");
    if (o->via.array.size != 12)
        return FAIL(r, "v0.5 span must have 12 elements, has %u", o->via.array.size);
    const msgpack_object *e = o->via.array.ptr;
    for (int i = 0; i < 12; i++)
        if (e[i].type == MSGPACK_OBJECT_NIL)
            return FAIL(r, "v0.5 span element %d is nil", i);
    int64_t err;
    if (get_index(r, &e[0], t, &s->service, "service") ||
        get_index(r, &e[1], t, &s->name, "name") ||
        get_index(r, &e[2], t, &s->resource, "resource") ||
        get_u64(r, &e[3], &s->trace_id, "v0.5 trace_id") ||
        get_u64(r, &e[4], &s->span_id, "v0.5 span_id") ||
        get_u64(r, &e[5], &s->parent_id, "v0.5 parent_id") ||
        get_i64(r, &e[6], &s->start, "v0.5 start") ||
        get_i64(r, &e[7], &s->duration, "v0.5 duration") ||
        get_i64(r, &e[8], &err, "v0.5 error") ||
        get_index(r, &e[11], t, &s->type, "type"))
        return -1;
    s->error = err != 0;
    if (e[9].type != MSGPACK_OBJECT_MAP) return FAIL(r, "v0.5 meta must be a map");
    uint32_t n = e[9].via.map.size;
    s->meta = ag_arena_alloc(a, sizeof *s->meta * (n ? n : 1));
    s->meta_len = n;
    for (uint32_t i = 0; i < n; i++)
        if (get_index(r, &e[9].via.map.ptr[i].key, t, &s->meta[i].key, "meta key") ||
            get_index(r, &e[9].via.map.ptr[i].val, t, &s->meta[i].value, "meta value"))
            return -1;
    if (e[10].type != MSGPACK_OBJECT_MAP) return FAIL(r, "v0.5 metrics must be a map");
    n = e[10].via.map.size;
    s->metrics = ag_arena_alloc(a, sizeof *s->metrics * (n ? n : 1));
    s->metrics_len = n;
    for (uint32_t i = 0; i < n; i++)
        if (get_index(r, &e[10].via.map.ptr[i].key, t, &s->metrics[i].key, "metrics key") ||
            get_f64(r, &e[10].via.map.ptr[i].val, &s->metrics[i].value, "v0.5 metrics value"))
            return -1;
    return 0;
}

static int read_string_table(reader *r, msgpack_unpacked *unp, ag_arena *a, string_table *t)
{
    if (next_object(r, unp, "v0.5 string table")) return -1;
    const msgpack_object *o = &unp->data;
    if (o->type != MSGPACK_OBJECT_ARRAY) return FAIL(r, "v0.5 string table must be an array");
    t->count = o->via.array.size;
    t->strings = ag_arena_alloc(a, sizeof *t->strings * (t->count ? t->count : 1));
    for (uint32_t i = 0; i < t->count; i++) {
        const msgpack_object *s = &o->via.array.ptr[i];
        if (s->type != MSGPACK_OBJECT_STR)
            return FAIL(r, "v0.5 string table entry %u is not a string", i);
        t->strings[i] = (ag_str){s->via.str.size ? s->via.str.ptr : "", s->via.str.size};
    }
    return 0;
}

/* ---- driver ---- */

int ag_decode(ag_version version, const char *body, size_t len, ag_arena *scratch,
              ag_chunk_fn fn, void *ctx, char *err, size_t errlen)
{
    reader r = {(const unsigned char *)body, len, 0, err, errlen};
    msgpack_unpacked unp;
    msgpack_unpacked_init(&unp);
    ag_arena table_arena;
    ag_arena_init(&table_arena);
    string_table table = {0};
    int rc = -1;
    uint32_t ntraces;

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
        if (read_string_table(&r, &unp, &table_arena, &table)) goto out;
    }
    if (read_array_header(&r, "list of traces", &ntraces)) goto out;
    for (uint32_t t = 0; t < ntraces; t++) {
        uint32_t nspans;
        if (read_array_header(&r, "trace", &nspans)) goto out;
        ag_trace chunk = {ag_arena_alloc(scratch, sizeof(ag_span) * (nspans ? nspans : 1)), nspans};
        for (uint32_t i = 0; i < nspans; i++) {
            if (next_object(&r, &unp, "span")) goto out;
            int bad = version == AG_V05
                ? convert_span_v05(&r, &unp.data, &table, scratch, &chunk.spans[i])
                : convert_span_v04(&r, &unp.data, scratch, &chunk.spans[i]);
            if (bad) goto out;
        }
        int cb = fn(ctx, &chunk, err, errlen);
        ag_arena_reset(scratch);
        if (cb) {
            rc = cb;
            goto out;
        }
    }
    if (r.off != len) {
        FAIL(&r, "%zu trailing bytes after the list of traces", len - r.off);
        goto out;
    }
    rc = 0;
out:
    ag_arena_reset(scratch);
    msgpack_unpacked_destroy(&unp);
    ag_arena_free(&table_arena);
    return rc;
}
