/*
 * test_encoder — v0.4 and v0.5 payloads from span records, decoded back with
 * msgpack-c's unpacker (an independent reader) and checked field by field.
 */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "record_builder.h"
#include "../test_harness.h"
#include "writer.h"

/* -- helpers ------------------------------------------------------------------ */

/* Frames: one chunk per call of add_chunk, records built in `records`. */
typedef struct frames {
    ct_buffer bytes;
    uint32_t chunks;
} frames;

static void add_chunk(frames *f, ct_buffer *records, uint32_t spans)
{
    rb_check(ct__frame_append(&f->bytes, records->data, records->len, spans));
    f->chunks++;
    ct__buffer_clear(records);
}

typedef struct decoded {
    msgpack_unpacked unpacked;
    int ok;
} decoded;

static void decode(decoded *d, const ct_buffer *payload)
{
    size_t offset = 0;
    msgpack_unpacked_init(&d->unpacked);
    d->ok = msgpack_unpack_next(&d->unpacked, (const char *)payload->data, payload->len, &offset) ==
                MSGPACK_UNPACK_SUCCESS &&
            offset == payload->len;
}

static const msgpack_object *map_get(const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP) return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static int str_is(const msgpack_object *o, const char *s, size_t len)
{
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == len &&
           memcmp(o->via.str.ptr, s, len) == 0;
}

#define STR_IS(o, literal) str_is((o), literal, sizeof(literal) - 1)

static uint64_t as_u64(const msgpack_object *o)
{
    return o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? o->via.u64 : 0xdeadbeef;
}

/* v0.5: the string at index o of the table. */
static const msgpack_object *table_str(const msgpack_object *table, const msgpack_object *o)
{
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 >= table->via.array.size)
        return NULL;
    return &table->via.array.ptr[o->via.u64];
}

static void root_span(ct_buffer *records, const char *big)
{
    record_builder b;
    rb_begin(&b, records, 0x6b05ba3b00000000ull, 0x401cbcceb7561784ull, 0xa535dceec0cf628cull, 0,
             "web.request", "svc", "GET /", "web");
    rb_meta(&b, "_dd.p.tid", "6b05ba3b00000000");
    rb_meta(&b, "language", "python");
    rb_meta(&b, "unicode", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
    rb_meta(&b, "empty", "");
    if (big) rb_meta(&b, "big", big);
    rb_metric(&b, "_sampling_priority_v1", 1);
    rb_metric(&b, "_dd.top_level", 1);
    rb_metric(&b, "ratio", 0.25);
    rb_end(&b);
}

static void child_span(ct_buffer *records, uint64_t id)
{
    record_builder b;
    rb_begin(&b, records, 0x6b05ba3b00000000ull, 0x401cbcceb7561784ull, id, 0xa535dceec0cf628cull,
             "db.query", "svc", "SELECT 1", "");
    rb_meta(&b, "language", "python");
    rb_end(&b);
}

/* -- v0.4 ---------------------------------------------------------------------- */

CT_TEST(v04_round_trip_of_every_field)
{
    ct_buffer records = CT_BUFFER_INIT, payload = CT_BUFFER_INIT;
    frames f = {CT_BUFFER_INIT, 0};
    root_span(&records, NULL);
    child_span(&records, 7);
    add_chunk(&f, &records, 2);
    CT_ASSERT(ct__encode_payload(CT_API_V04, NULL, f.bytes.data, f.bytes.len, f.chunks, &payload) ==
              CT_OK);
    decoded d;
    decode(&d, &payload);
    CT_ASSERT(d.ok);
    msgpack_object *traces = &d.unpacked.data;
    CT_ASSERT(traces->type == MSGPACK_OBJECT_ARRAY && traces->via.array.size == 1);
    msgpack_object *trace = &traces->via.array.ptr[0];
    CT_ASSERT(trace->via.array.size == 2);
    msgpack_object *root = &trace->via.array.ptr[0];
    CT_ASSERT(as_u64(map_get(root, "trace_id")) == 0x401cbcceb7561784ull);
    CT_ASSERT(as_u64(map_get(root, "span_id")) == 0xa535dceec0cf628cull);
    CT_ASSERT(as_u64(map_get(root, "parent_id")) == 0);
    CT_ASSERT(STR_IS(map_get(root, "name"), "web.request"));
    CT_ASSERT(STR_IS(map_get(root, "service"), "svc"));
    CT_ASSERT(STR_IS(map_get(root, "resource"), "GET /"));
    CT_ASSERT(STR_IS(map_get(root, "type"), "web"));
    CT_ASSERT(as_u64(map_get(root, "start")) ==
              1700000000000000000ull + 0xa535dceec0cf628cull % 1000);
    CT_ASSERT(as_u64(map_get(root, "duration")) == 12345);
    CT_ASSERT(as_u64(map_get(root, "error")) == 0);
    const msgpack_object *meta = map_get(root, "meta");
    CT_ASSERT(meta && meta->via.map.size == 4);
    CT_ASSERT(STR_IS(map_get(meta, "_dd.p.tid"), "6b05ba3b00000000"));
    CT_ASSERT(STR_IS(map_get(meta, "unicode"), "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
    CT_ASSERT(STR_IS(map_get(meta, "empty"), ""));
    const msgpack_object *metrics = map_get(root, "metrics");
    const msgpack_object *prio = map_get(metrics, "_sampling_priority_v1");
    CT_ASSERT(prio && prio->type == MSGPACK_OBJECT_FLOAT64 && prio->via.f64 == 1.0);
    CT_ASSERT(map_get(metrics, "ratio")->via.f64 == 0.25);
    msgpack_object *child = &trace->via.array.ptr[1];
    CT_ASSERT(as_u64(map_get(child, "parent_id")) == 0xa535dceec0cf628cull);
    CT_ASSERT(STR_IS(map_get(child, "type"), ""));
    CT_ASSERT(map_get(child, "span_links") == NULL);
    msgpack_unpacked_destroy(&d.unpacked);
    ct__buffer_release(&payload);
    ct__buffer_release(&records);
    ct__buffer_release(&f.bytes);
}

static void linked_span(ct_buffer *records)
{
    static const char *attributes[] = {"link.name", "a\"b", "k", "\xc3\xa9", "ctl", "\x01\n", NULL};
    static const char *x[] = {"x", "y", NULL};
    record_builder b;
    rb_begin(&b, records, 0, 5, 9, 0, "linked", "svc", "linked", "");
    rb_link(&b, 0x6b05ba3b00000000ull, 0x401cbcceb7561784ull, 0x6a90a308584af4b8ull, 0x80000000u,
            NULL, attributes);
    rb_link(&b, 1, 5, 7, 0x80000001u, "dd=s:1", x);
    rb_link(&b, 0, 5, 8, 0, NULL, NULL);
    rb_end(&b);
}

CT_TEST(v04_span_links_as_ddtrace_sends_them)
{
    ct_buffer records = CT_BUFFER_INIT, payload = CT_BUFFER_INIT;
    frames f = {CT_BUFFER_INIT, 0};
    linked_span(&records);
    add_chunk(&f, &records, 1);
    CT_ASSERT(ct__encode_payload(CT_API_V04, NULL, f.bytes.data, f.bytes.len, f.chunks, &payload) ==
              CT_OK);
    decoded d;
    decode(&d, &payload);
    CT_ASSERT(d.ok);
    msgpack_object *span = &d.unpacked.data.via.array.ptr[0].via.array.ptr[0];
    const msgpack_object *links = map_get(span, "span_links");
    CT_ASSERT(links && links->type == MSGPACK_OBJECT_ARRAY && links->via.array.size == 3);
    const msgpack_object *l0 = &links->via.array.ptr[0];
    CT_ASSERT(as_u64(map_get(l0, "trace_id")) == 0x401cbcceb7561784ull);
    CT_ASSERT(as_u64(map_get(l0, "trace_id_high")) == 0x6b05ba3b00000000ull);
    CT_ASSERT(as_u64(map_get(l0, "span_id")) == 0x6a90a308584af4b8ull);
    CT_ASSERT(as_u64(map_get(l0, "flags")) == 0x80000000u);
    CT_ASSERT(STR_IS(map_get(map_get(l0, "attributes"), "link.name"), "a\"b"));
    CT_ASSERT(map_get(l0, "tracestate") == NULL);
    const msgpack_object *l1 = &links->via.array.ptr[1];
    CT_ASSERT(STR_IS(map_get(l1, "tracestate"), "dd=s:1"));
    CT_ASSERT(as_u64(map_get(l1, "flags")) == 0x80000001u);
    const msgpack_object *l2 = &links->via.array.ptr[2];
    CT_ASSERT(map_get(l2, "flags") == NULL && map_get(l2, "attributes") == NULL);
    msgpack_unpacked_destroy(&d.unpacked);
    ct__buffer_release(&payload);
    ct__buffer_release(&f.bytes);
    ct__buffer_release(&records);
}

/* -- v0.5 ---------------------------------------------------------------------- */

CT_TEST(v05_spans_have_12_elements_and_valid_indexes)
{
    ct_buffer records = CT_BUFFER_INIT, payload = CT_BUFFER_INIT;
    frames f = {CT_BUFFER_INIT, 0};
    root_span(&records, NULL);
    child_span(&records, 7);
    child_span(&records, 8);
    add_chunk(&f, &records, 3);
    child_span(&records, 9);
    add_chunk(&f, &records, 1);
    CT_ASSERT(ct__encode_payload(CT_API_V05, NULL, f.bytes.data, f.bytes.len, f.chunks, &payload) ==
              CT_OK);
    decoded d;
    decode(&d, &payload);
    CT_ASSERT(d.ok);
    msgpack_object *top = &d.unpacked.data;
    CT_ASSERT(top->type == MSGPACK_OBJECT_ARRAY && top->via.array.size == 2);
    msgpack_object *table = &top->via.array.ptr[0];
    msgpack_object *traces = &top->via.array.ptr[1];
    CT_ASSERT(traces->via.array.size == 2);
    CT_ASSERT(STR_IS(&table->via.array.ptr[0], ""));
    /* every string appears once */
    for (uint32_t i = 0; i < table->via.array.size; i++)
        for (uint32_t j = i + 1; j < table->via.array.size; j++)
            CT_ASSERT(!str_is(&table->via.array.ptr[j], table->via.array.ptr[i].via.str.ptr,
                              table->via.array.ptr[i].via.str.size));
    msgpack_object *root = &traces->via.array.ptr[0].via.array.ptr[0];
    CT_ASSERT(root->type == MSGPACK_OBJECT_ARRAY && root->via.array.size == 12);
    msgpack_object *e = root->via.array.ptr;
    CT_ASSERT(STR_IS(table_str(table, &e[0]), "svc"));
    CT_ASSERT(STR_IS(table_str(table, &e[1]), "web.request"));
    CT_ASSERT(STR_IS(table_str(table, &e[2]), "GET /"));
    CT_ASSERT(as_u64(&e[3]) == 0x401cbcceb7561784ull);
    CT_ASSERT(as_u64(&e[4]) == 0xa535dceec0cf628cull);
    CT_ASSERT(as_u64(&e[5]) == 0);
    CT_ASSERT(as_u64(&e[7]) == 12345);
    CT_ASSERT(as_u64(&e[8]) == 0);
    CT_ASSERT(e[9].type == MSGPACK_OBJECT_MAP && e[9].via.map.size == 4);
    int found_unicode = 0;
    for (uint32_t i = 0; i < e[9].via.map.size; i++) {
        const msgpack_object *k = table_str(table, &e[9].via.map.ptr[i].key);
        const msgpack_object *v = table_str(table, &e[9].via.map.ptr[i].val);
        CT_ASSERT(k && v);
        if (STR_IS(k, "unicode"))
            found_unicode = STR_IS(v, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
    }
    CT_ASSERT(found_unicode);
    CT_ASSERT(e[10].type == MSGPACK_OBJECT_MAP && e[10].via.map.size == 3);
    for (uint32_t i = 0; i < e[10].via.map.size; i++)
        CT_ASSERT(e[10].via.map.ptr[i].val.type == MSGPACK_OBJECT_FLOAT64);
    CT_ASSERT(STR_IS(table_str(table, &e[11]), "web"));
    msgpack_object *child = &traces->via.array.ptr[1].via.array.ptr[0];
    CT_ASSERT(child->via.array.size == 12);
    CT_ASSERT(STR_IS(table_str(table, &child->via.array.ptr[11]), ""));
    msgpack_unpacked_destroy(&d.unpacked);
    ct__buffer_release(&payload);
    ct__buffer_release(&f.bytes);
    ct__buffer_release(&records);
}

/* Exactly what ddtrace 4.x writes for the same links (json.dumps). */
static const char expected_links_json[] =
    "[{\"trace_id\": \"6b05ba3b00000000401cbcceb7561784\", \"span_id\": "
    "\"6a90a308584af4b8\", \"attributes\": {\"link.name\": \"a\\\"b\", \"k\": "
    "\"\\u00e9\", \"ctl\": \"\\u0001\\n\"}, \"flags\": 0}, {\"trace_id\": "
    "\"00000000000000010000000000000005\", \"span_id\": \"0000000000000007\", "
    "\"attributes\": {\"x\": \"y\"}, \"tracestate\": \"dd=s:1\", \"flags\": 1}, "
    "{\"trace_id\": \"00000000000000000000000000000005\", \"span_id\": "
    "\"0000000000000008\"}]";

CT_TEST(v05_span_links_as_json_in_meta)
{
    ct_buffer records = CT_BUFFER_INIT, payload = CT_BUFFER_INIT;
    frames f = {CT_BUFFER_INIT, 0};
    linked_span(&records);
    add_chunk(&f, &records, 1);
    CT_ASSERT(ct__encode_payload(CT_API_V05, NULL, f.bytes.data, f.bytes.len, f.chunks, &payload) ==
              CT_OK);
    decoded d;
    decode(&d, &payload);
    CT_ASSERT(d.ok);
    msgpack_object *table = &d.unpacked.data.via.array.ptr[0];
    msgpack_object *span = &d.unpacked.data.via.array.ptr[1].via.array.ptr[0].via.array.ptr[0];
    msgpack_object *meta = &span->via.array.ptr[9];
    CT_ASSERT(meta->via.map.size == 1);
    CT_ASSERT(STR_IS(table_str(table, &meta->via.map.ptr[0].key), "_dd.span_links"));
    const msgpack_object *json = table_str(table, &meta->via.map.ptr[0].val);
    CT_ASSERT(json && json->type == MSGPACK_OBJECT_STR);
    if (!STR_IS(json, expected_links_json))
        fprintf(stderr, "  got %.*s\n", (int)json->via.str.size, json->via.str.ptr);
    CT_ASSERT(STR_IS(json, expected_links_json));
    msgpack_unpacked_destroy(&d.unpacked);
    ct__buffer_release(&payload);
    ct__buffer_release(&f.bytes);
    ct__buffer_release(&records);
}

CT_TEST(huge_tags_and_many_distinct_strings)
{
    size_t big_len = 100000;
    char *big = malloc(big_len + 1);
    CT_ASSERT(big);
    memset(big, 'x', big_len);
    big[big_len] = 0;
    ct_buffer records = CT_BUFFER_INIT;
    frames f = {CT_BUFFER_INIT, 0};
    root_span(&records, big);
    char key[32];
    for (int i = 0; i < 3000; i++) { /* grows the v0.5 intern map */
        record_builder b;
        snprintf(key, sizeof key, "resource-%d", i);
        rb_begin(&b, &records, 0, 5, (uint64_t)i + 10, 1, "n", "svc", key, "");
        rb_meta(&b, key, key);
        rb_end(&b);
    }
    add_chunk(&f, &records, 3001);
    for (int version = CT_API_V04; version <= CT_API_V05; version++) {
        ct_buffer payload = CT_BUFFER_INIT;
        CT_ASSERT(ct__encode_payload((ct_api_version)version, NULL, f.bytes.data, f.bytes.len,
                                     f.chunks, &payload) == CT_OK);
        decoded d;
        decode(&d, &payload);
        CT_ASSERT(d.ok);
        msgpack_object *trace = version == CT_API_V04
                                    ? &d.unpacked.data.via.array.ptr[0]
                                    : &d.unpacked.data.via.array.ptr[1].via.array.ptr[0];
        CT_ASSERT(trace->via.array.size == 3001);
        if (version == CT_API_V05) /* 3000 resources, + fixed strings */
            CT_ASSERT(d.unpacked.data.via.array.ptr[0].via.array.size < 3030);
        msgpack_unpacked_destroy(&d.unpacked);
        ct__buffer_release(&payload);
    }
    free(big);
    ct__buffer_release(&f.bytes);
    ct__buffer_release(&records);
}

/* A chunk head implying its tags (span_record.h), as the tracer writes
 * roots: the high id and the decision vary per chunk. */
static void implying_root(ct_buffer *records, uint64_t high, uint32_t mechanism, int32_t priority)
{
    record_builder b;
    ct_record_chunk decision = {priority, mechanism, 0.75};
    rb_begin_flags(&b, records, high, 0x401cbcceb7561784ull, 0xa535dceec0cf628cull, 0,
                   "web.request", "svc", "GET /", "web",
                   CT_RECORD_LOCAL_ROOT | CT_RECORD_TOP_LEVEL | CT_RECORD_CHUNK_HEAD |
                       CT_RECORD_AUTO_DM | CT_RECORD_AGENT_PSR,
                   &decision);
    rb_meta(&b, "own", "tag");
    rb_metric(&b, "rows", 3);
    rb_end(&b);
}

static const ct_record_context test_context = {{"python", 6}, {"rt-id", 5}, 4242};

/* Meta and metrics of span i of trace t, v0.4 or v0.5 (strings resolved
 * through the table), as one flat list of key=value checks. */
static int has_meta(int version, const msgpack_object *top, uint32_t t, const char *key,
                    const char *value)
{
    const msgpack_object *traces = version == 5 ? &top->via.array.ptr[1] : top;
    const msgpack_object *span = &traces->via.array.ptr[t].via.array.ptr[0];
    const msgpack_object *meta = version == 5 ? &span->via.array.ptr[9] : map_get(span, "meta");
    for (uint32_t i = 0; meta && i < meta->via.map.size; i++) {
        const msgpack_object *k = &meta->via.map.ptr[i].key, *v = &meta->via.map.ptr[i].val;
        if (version == 5) {
            k = table_str(&top->via.array.ptr[0], k);
            v = table_str(&top->via.array.ptr[0], v);
        }
        if (str_is(k, key, strlen(key))) return str_is(v, value, strlen(value));
    }
    return 0;
}

static double metric(int version, const msgpack_object *top, uint32_t t, const char *key)
{
    const msgpack_object *traces = version == 5 ? &top->via.array.ptr[1] : top;
    const msgpack_object *span = &traces->via.array.ptr[t].via.array.ptr[0];
    const msgpack_object *metrics =
        version == 5 ? &span->via.array.ptr[10] : map_get(span, "metrics");
    for (uint32_t i = 0; metrics && i < metrics->via.map.size; i++) {
        const msgpack_object *k = &metrics->via.map.ptr[i].key;
        if (version == 5) k = table_str(&top->via.array.ptr[0], k);
        if (str_is(k, key, strlen(key))) return metrics->via.map.ptr[i].val.via.f64;
    }
    return -999;
}

CT_TEST(implied_tags_are_written_by_both_encoders)
{
    for (int version = 4; version <= 5; version++) {
        ct_buffer records = CT_BUFFER_INIT, payload = CT_BUFFER_INIT;
        frames f = {CT_BUFFER_INIT, 0};
        /* tid and dm change between chunks, then come back: v0.5 adds those
         * values per change, and must never reuse a stale index */
        implying_root(&records, 0x6b05ba3b00000000ull, 0, 1);
        add_chunk(&f, &records, 1);
        implying_root(&records, 0x6b05ba3c00000000ull, 1, 0);
        add_chunk(&f, &records, 1);
        implying_root(&records, 0x6b05ba3b00000000ull, 0, 2);
        add_chunk(&f, &records, 1);
        CT_ASSERT(ct__encode_payload((ct_api_version)version, &test_context, f.bytes.data,
                                     f.bytes.len, f.chunks, &payload) == CT_OK);
        decoded d;
        decode(&d, &payload);
        CT_ASSERT(d.ok);
        const msgpack_object *top = &d.unpacked.data;
        const char *tids[] = {"6b05ba3b00000000", "6b05ba3c00000000", "6b05ba3b00000000"};
        const char *dms[] = {"-0", "-1", "-0"};
        for (uint32_t t = 0; t < 3; t++) {
            CT_ASSERT(has_meta(version, top, t, "own", "tag"));
            CT_ASSERT(has_meta(version, top, t, "language", "python"));
            CT_ASSERT(has_meta(version, top, t, "runtime-id", "rt-id"));
            CT_ASSERT(has_meta(version, top, t, "_dd.p.tid", tids[t]));
            CT_ASSERT(has_meta(version, top, t, "_dd.p.dm", dms[t]));
            CT_ASSERT(metric(version, top, t, "rows") == 3);
            CT_ASSERT(metric(version, top, t, "_dd.top_level") == 1);
            CT_ASSERT(metric(version, top, t, "process_id") == 4242);
            CT_ASSERT(metric(version, top, t, "_dd.agent_psr") == 0.75);
        }
        CT_ASSERT(metric(version, top, 0, "_sampling_priority_v1") == 1);
        CT_ASSERT(metric(version, top, 1, "_sampling_priority_v1") == 0);
        CT_ASSERT(metric(version, top, 2, "_sampling_priority_v1") == 2);
        msgpack_unpacked_destroy(&d.unpacked);
        ct__buffer_release(&payload);
        /* without a context: no process tags, the rest is there */
        CT_ASSERT(ct__encode_payload((ct_api_version)version, NULL, f.bytes.data, f.bytes.len,
                                     f.chunks, &payload) == CT_OK);
        decode(&d, &payload);
        CT_ASSERT(d.ok);
        CT_ASSERT(!has_meta(version, &d.unpacked.data, 0, "runtime-id", "rt-id"));
        CT_ASSERT(has_meta(version, &d.unpacked.data, 0, "_dd.p.dm", "-0"));
        msgpack_unpacked_destroy(&d.unpacked);
        ct__buffer_release(&payload);
        ct__buffer_release(&f.bytes);
        ct__buffer_release(&records);
    }
}

CT_TEST(malformed_frames_are_rejected)
{
    ct_buffer records = CT_BUFFER_INIT, payload = CT_BUFFER_INIT;
    frames f = {CT_BUFFER_INIT, 0};
    child_span(&records, 7);
    add_chunk(&f, &records, 1);
    for (int version = CT_API_V04; version <= CT_API_V05; version++) {
        ct__buffer_clear(&payload);
        CT_ASSERT(ct__encode_payload((ct_api_version)version, NULL, f.bytes.data, f.bytes.len - 3,
                                     1, &payload) == CT_EINVAL);
        ct__buffer_clear(&payload);
        CT_ASSERT(ct__encode_payload((ct_api_version)version, NULL, f.bytes.data, f.bytes.len, 2,
                                     &payload) == CT_EINVAL);
    }
    /* a frame claiming more spans than it holds */
    ct_frame_header h;
    memcpy(&h, f.bytes.data, sizeof h);
    h.span_count = 2;
    memcpy(f.bytes.data, &h, sizeof h);
    ct__buffer_clear(&payload);
    CT_ASSERT(ct__encode_payload(CT_API_V05, NULL, f.bytes.data, f.bytes.len, 1, &payload) ==
              CT_EINVAL);
    ct__buffer_release(&payload);
    ct__buffer_release(&f.bytes);
    ct__buffer_release(&records);
}

CT_TEST(empty_payload_is_an_empty_array)
{
    ct_buffer payload = CT_BUFFER_INIT;
    CT_ASSERT(ct__encode_payload(CT_API_V04, NULL, NULL, 0, 0, &payload) == CT_OK);
    CT_ASSERT(payload.len == 1 && payload.data[0] == 0x90);
    ct__buffer_release(&payload);
}

CT_TEST_MAIN()
