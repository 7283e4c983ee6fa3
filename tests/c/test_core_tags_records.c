/*
 * test_core_tags_records — tag storage (a key lives in meta or metrics,
 * never both; overwrite; many tags; remove; merge) and span records (a
 * span serialized and read back field by field; rewrite with extra tags).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "span.h"
#include "record_tags.h"
#include "span_record.h"
#include "tags.h"
#include "../test_harness.h"
#include "trace.h"
#include "tracer.h"

static ct_string *s(const char *text) { return ct__string_new(text, strlen(text)); }

static int meta_is(const ct_tags *tags, const char *key, const char *value)
{
    ct_string *v = ct__tags_get_meta(tags, key, strlen(key));
    return v && v->len == strlen(value) && !memcmp(v->data, value, v->len);
}

CT_TEST(shared_strings_are_counted_and_nul_terminated)
{
    ct_string *a = ct__string_new("hello", 5);
    CT_ASSERT(a && a->len == 5 && a->data[5] == '\0');
    CT_ASSERT(ct__string_ref(a) == a);
    ct__string_unref(a);
    CT_ASSERT(ct__string_equals(a, "hello", 5) && !ct__string_equals(a, "hell", 4));
    ct__string_unref(a);
    ct__string_unref(NULL);
    CT_ASSERT(ct__string_empty()->len == 0);
    ct_string *binary = ct__string_new("a\0b", 3);
    CT_ASSERT(binary && binary->len == 3 && binary->data[1] == '\0');
    ct__string_unref(binary);
}

CT_TEST(meta_and_metric_of_one_key_are_exclusive)
{
    ct_tags tags = CT_TAGS_INIT;
    ct_string *k = s("key"), *v = s("value");
    double d;
    CT_ASSERT(ct__tags_set_meta(&tags, k, v) == CT_OK);
    CT_ASSERT(ct__tags_set_metric(&tags, k, 4.0) == CT_OK);
    CT_ASSERT(!ct__tags_get_meta(&tags, "key", 3));
    CT_ASSERT(ct__tags_get_metric(&tags, "key", 3, &d) && d == 4.0);
    CT_ASSERT(tags.meta_count == 0 && tags.metric_count == 1);
    CT_ASSERT(ct__tags_set_meta(&tags, k, v) == CT_OK);
    CT_ASSERT(!ct__tags_get_metric(&tags, "key", 3, &d));
    CT_ASSERT(meta_is(&tags, "key", "value"));
    CT_ASSERT(tags.meta_count == 1 && tags.metric_count == 0);
    ct__tags_clear(&tags);
    ct__string_unref(k);
    ct__string_unref(v);
}

CT_TEST(setting_a_key_again_overwrites_it)
{
    ct_tags tags = CT_TAGS_INIT;
    ct_string *k1 = s("k"), *k2 = s("k"), *a = s("a"), *b = s("b");
    ct__tags_set_meta(&tags, k1, a);
    ct__tags_set_meta(&tags, k2, b); /* same content, different string */
    CT_ASSERT(tags.meta_count == 1 && meta_is(&tags, "k", "b"));
    ct__tags_clear(&tags);
    ct__string_unref(k1);
    ct__string_unref(k2);
    ct__string_unref(a);
    ct__string_unref(b);
}

CT_TEST(many_tags_are_all_kept)
{
    ct_tags tags = CT_TAGS_INIT;
    char key[32], value[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "meta.%d", i);
        snprintf(value, sizeof value, "v%d", i);
        ct_string *k = s(key), *v = s(value);
        CT_ASSERT(ct__tags_set_meta(&tags, k, v) == CT_OK);
        ct__string_unref(k);
        ct__string_unref(v);
        snprintf(key, sizeof key, "metric.%d", i);
        k = s(key);
        CT_ASSERT(ct__tags_set_metric(&tags, k, i) == CT_OK);
        ct__string_unref(k);
    }
    CT_ASSERT(tags.meta_count == 1000 && tags.metric_count == 1000);
    for (int i = 0; i < 1000; i += 37) {
        double d;
        snprintf(key, sizeof key, "meta.%d", i);
        snprintf(value, sizeof value, "v%d", i);
        CT_ASSERT(meta_is(&tags, key, value));
        snprintf(key, sizeof key, "metric.%d", i);
        CT_ASSERT(ct__tags_get_metric(&tags, key, strlen(key), &d) && d == i);
    }
    ct__tags_clear(&tags);
    CT_ASSERT(tags.meta_count == 0 && tags.meta == NULL);
}

/* Constant time proven by counting, not timing: the entries compared by
 * the last sets and gets of a 100,000-tag map are a handful per call, as
 * for the first ones. A linear map compared ~100,000 per call here. */
CT_TEST(set_and_get_compare_a_bounded_number_of_entries_at_any_size)
{
    ct_tags tags = CT_TAGS_INIT;
    char key[32];
    ct_string *v = s("v");
    uint64_t last_probes = 0;
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ct_string *k = s(key);
        uint64_t before = ct__tags_probes;
        CT_ASSERT(ct__tags_set_meta(&tags, k, v) == CT_OK);
        CT_ASSERT(i % 2 || ct__tags_set_metric(&tags, k, i) == CT_OK); /* moves it */
        if (i >= 99000) last_probes += ct__tags_probes - before;
        ct__string_unref(k);
    }
    CT_ASSERT(tags.meta_index.slots && tags.metric_index.slots); /* indexed */
    CT_ASSERT(last_probes >= 1000 && last_probes < 1000 * 2 * 8);
    uint64_t before = ct__tags_probes;
    double d;
    CT_ASSERT(ct__tags_get_metric(&tags, "k99998", 6, &d) && d == 99998);
    CT_ASSERT(meta_is(&tags, "k99999", "v"));
    CT_ASSERT(!ct__tags_get_meta(&tags, "nope", 4));
    CT_ASSERT(ct__tags_probes - before < 3 * 8);
    CT_ASSERT(tags.meta_count == 50000 && tags.metric_count == 50000);
    ct__tags_clear(&tags);
    ct__string_unref(v);
}

/* The indexed maps against a model: random sets of both kinds and removes
 * over a small key space, so keys keep moving between the maps, entries
 * move on removal and probe runs are shifted back. */
CT_TEST(indexed_maps_agree_with_a_model_under_random_changes)
{
    enum { KEYS = 300 };
    ct_tags tags = CT_TAGS_INIT;
    int kind[KEYS] = {0}; /* 0 absent, 1 meta, 2 metric */
    int value[KEYS] = {0};
    ct_string *keys[KEYS], *values[10];
    char text[32];
    for (int i = 0; i < KEYS; i++) {
        snprintf(text, sizeof text, "key.%d", i);
        keys[i] = s(text);
    }
    for (int i = 0; i < 10; i++) {
        snprintf(text, sizeof text, "%d", i);
        values[i] = s(text);
    }
    uint64_t state = 42;
    for (int step = 0; step < 200000; step++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        int k = (int)((state >> 33) % KEYS), op = (int)((state >> 20) % 5);
        int val = (int)((state >> 40) % 10);
        if (op == 0) {
            ct__tags_remove(&tags, keys[k]->data, keys[k]->len);
            kind[k] = 0;
        } else if (op <= 2) {
            CT_ASSERT(ct__tags_set_meta(&tags, keys[k], values[val]) == CT_OK);
            kind[k] = 1, value[k] = val;
        } else {
            CT_ASSERT(ct__tags_set_metric(&tags, keys[k], val) == CT_OK);
            kind[k] = 2, value[k] = val;
        }
    }
    uint32_t metas = 0, metrics = 0;
    for (int k = 0; k < KEYS; k++) {
        double d;
        ct_string *got = ct__tags_get_meta(&tags, keys[k]->data, keys[k]->len);
        int has_metric = ct__tags_get_metric(&tags, keys[k]->data, keys[k]->len, &d);
        CT_ASSERT(kind[k] == 1 ? got == values[value[k]] : got == NULL);
        CT_ASSERT(kind[k] == 2 ? has_metric && d == value[k] : !has_metric);
        metas += kind[k] == 1;
        metrics += kind[k] == 2;
    }
    CT_ASSERT(tags.meta_count == metas && tags.metric_count == metrics);
    CT_ASSERT(tags.meta_index.slots != NULL); /* the index was exercised */
    ct__tags_clear(&tags);
    for (int i = 0; i < KEYS; i++) ct__string_unref(keys[i]);
    for (int i = 0; i < 10; i++) ct__string_unref(values[i]);
}

/* One huge value costs a truncated tag, not the trace: cut at a character
 * boundary (é is two bytes) within CT_TAG_VALUE_MAX, marked with "...". */
CT_TEST(an_over_long_meta_value_is_truncated_at_a_character_boundary)
{
    size_t len = 21u << 20; /* over the 20 MiB writer buffer on its own */
    char *big = malloc(len);
    CT_ASSERT(big != NULL);
    big[0] = 'x';
    for (size_t i = 1; i + 1 < len; i += 2) big[i] = '\xc3', big[i + 1] = '\xa9';
    ct_tags tags = CT_TAGS_INIT;
    ct_string *k = s("error.stack"), *v = ct__string_new(big, len);
    free(big);
    CT_ASSERT(ct__tags_set_meta(&tags, k, v) == CT_OK);
    ct_string *got = ct__tags_get_meta(&tags, "error.stack", 11);
    CT_ASSERT(got && got->len <= CT_TAG_VALUE_MAX && got->len > CT_TAG_VALUE_MAX - 8);
    CT_ASSERT(memcmp(got->data + got->len - 3, "...", 3) == 0);
    CT_ASSERT((got->len - 3) % 2 == 1); /* 'x' then whole two-byte characters */
    CT_ASSERT(memcmp(got->data, v->data, got->len - 3) == 0);
    ct_string *exact = ct__string_new(v->data, CT_TAG_VALUE_MAX);
    CT_ASSERT(ct__tags_set_meta(&tags, k, exact) == CT_OK);
    CT_ASSERT(ct__tags_get_meta(&tags, "error.stack", 11) == exact); /* at the limit: kept */
    ct__tags_clear(&tags);
    ct__string_unref(exact);
    ct__string_unref(k);
    ct__string_unref(v);
}

CT_TEST(remove_and_merge)
{
    ct_tags a = CT_TAGS_INIT, b = CT_TAGS_INIT;
    ct_string *k = s("k"), *x = s("x"), *y = s("y"), *m = s("m");
    ct__tags_set_meta(&a, k, x);
    ct__tags_set_metric(&a, m, 1);
    ct__tags_set_meta(&b, k, y);
    CT_ASSERT(ct__tags_merge(&a, &b) == CT_OK);
    CT_ASSERT(meta_is(&a, "k", "y") && a.meta_count == 1 && a.metric_count == 1);
    CT_ASSERT(ct__tags_remove(&a, "m", 1) == 1 && a.metric_count == 0);
    CT_ASSERT(ct__tags_remove(&a, "m", 1) == 0);
    CT_ASSERT(ct__tags_remove(&a, "k", 1) == 1 && a.meta_count == 0);
    ct__tags_clear(&a);
    ct__tags_clear(&b);
    ct__tags_clear(&b); /* twice is fine */
    ct__string_unref(k);
    ct__string_unref(x);
    ct__string_unref(y);
    ct__string_unref(m);
}

CT_TEST(empty_keys_and_values_and_binary_content)
{
    ct_tags tags = CT_TAGS_INIT;
    ct_string *empty = ct__string_new("", 0), *bin = ct__string_new("\xff\x00z", 3);
    CT_ASSERT(ct__tags_set_meta(&tags, empty, bin) == CT_OK);
    ct_string *got = ct__tags_get_meta(&tags, "", 0);
    CT_ASSERT(got && got->len == 3 && !memcmp(got->data, "\xff\x00z", 3));
    ct__tags_clear(&tags);
    ct__string_unref(empty);
    ct__string_unref(bin);
}

/* -- records ------------------------------------------------------------------ */

static ct_tracer *memory_tracer(void)
{
    ct_config *config = ct_config_new();
    ct_config_set(config, "_CT_IN_MEMORY_WRITER", "1");
    ct_config_set(config, "DD_SERVICE", "svc");
    ct_tracer *tracer = ct_tracer_new(config, NULL);
    ct_config_free(config);
    return tracer;
}

static int str_is(ct_record_str str, const char *text)
{
    return str.len == strlen(text) && !memcmp(str.ptr, text, str.len);
}

CT_TEST(span_record_round_trip)
{
    ct_tracer *tracer = memory_tracer();
    CT_ASSERT(tracer);
    ct_span span;
    ct_span_start_args args = {.name = s("op"),
                               .service = s("db"),
                               .resource = s("SELECT"),
                               .type = s("sql"),
                               .start_ns = 1700000000123456789LL};
    CT_ASSERT(ct__span_start(&span, tracer, &args) == CT_OK);
    ct_string *k = s("k"), *v = s("v"), *m = s("m");
    ct__span_set_meta(&span, k, v);
    ct__span_set_metric_s(&span, m, 2.5);
    span.error = 1;
    ct_link link = {.trace_id_high = 1,
                    .trace_id_low = 2,
                    .span_id = 3,
                    .flags = 0x80000001u,
                    .tracestate = s("dd=s:1"),
                    .attributes = CT_TAGS_INIT};
    ct__tags_set_meta(&link.attributes, k, v);
    CT_ASSERT(ct__span_add_link(&span, &link) == CT_OK);
    span.finished = 1;
    span.duration_ns = 4242;

    ct_string *language = s("language"), *mine = s("mine");
    ct__span_set_meta(&span, language, mine); /* implied: the tracer's wins */
    ct_buffer out = CT_BUFFER_INIT;
    ct_extra_tags chunk = {.meta_count = 0, .metric_count = 0};
    ct__extra_meta(&chunk, "k", 1, "overridden", 10);
    ct_record_chunk decision = {.priority = 2, .mechanism = 3, .rate = 0.5};
    uint32_t chunk_flags = CT_RECORD_AUTO_DM | CT_RECORD_AGENT_PSR;
    CT_ASSERT(ct__span_serialize(&span, &chunk, &decision, chunk_flags, &out) == CT_OK);
    const ct_record_context *context = &tracer->record_context;

    ct_record_reader r;
    size_t size = ct__record_open(&r, out.data, out.len);
    CT_ASSERT(size == out.len && r.header.size == out.len);
    CT_ASSERT(r.header.span_id == span.span_id && r.header.parent_id == 0);
    CT_ASSERT(r.header.trace_id_low == span.trace->trace_id_low);
    CT_ASSERT(r.header.trace_id_high == span.trace->trace_id_high);
    CT_ASSERT(r.header.start_ns == 1700000000123456789LL && r.header.duration_ns == 4242);
    CT_ASSERT(r.header.error == 1);
    CT_ASSERT(str_is(r.name, "op") && str_is(r.service, "db") && str_is(r.resource, "SELECT") &&
              str_is(r.type, "sql"));
    /* meta: own k replaced by the extra one; language (implied, the own one
     * dropped), runtime-id, _dd.p.tid, _dd.p.dm implied; _dd.base_service
     * (db != svc) */
    char value[64];
    CT_ASSERT(r.header.flags ==
              (CT_RECORD_LOCAL_ROOT | CT_RECORD_TOP_LEVEL | CT_RECORD_CHUNK_HEAD | chunk_flags));
    CT_ASSERT(r.chunk.priority == 2 && r.chunk.mechanism == 3 && r.chunk.rate == 0.5);
    CT_ASSERT(rt_meta_count(&r, context, "k") == 1 && rt_meta(&r, context, "k", value, 64) &&
              !strcmp(value, "overridden"));
    CT_ASSERT(rt_meta_count(&r, context, "language") == 1 &&
              rt_meta(&r, context, "language", value, 64) && !strcmp(value, "c"));
    CT_ASSERT(rt_meta(&r, context, "runtime-id", value, 64) && strlen(value) == 32);
    CT_ASSERT(rt_meta(&r, context, "_dd.p.dm", value, 64) && !strcmp(value, "-3"));
    CT_ASSERT(rt_meta(&r, context, "_dd.p.tid", value, 64) && strlen(value) == 16);
    CT_ASSERT(rt_meta(&r, context, "_dd.base_service", value, 64) && !strcmp(value, "svc"));
    CT_ASSERT(!rt_meta(&r, NULL, "runtime-id", value, 64)); /* no context, no process tags */
    double number;
    CT_ASSERT(rt_metric(&r, context, "m", &number) && number == 2.5);
    CT_ASSERT(rt_metric(&r, context, "_sampling_priority_v1", &number) && number == 2);
    CT_ASSERT(rt_metric(&r, context, "_dd.agent_psr", &number) && number == 0.5);
    CT_ASSERT(rt_metric(&r, context, "_dd.top_level", &number) && number == 1);
    CT_ASSERT(rt_metric(&r, context, "process_id", &number) && number > 0);
    CT_ASSERT(r.header.link_count == 1);
    const uint8_t *cursor = r.links;
    ct_record_link l;
    ct__record_read_link(&cursor, &l);
    CT_ASSERT(l.trace_id_high == 1 && l.trace_id_low == 2 && l.span_id == 3);
    CT_ASSERT(l.flags == 0x80000001u && str_is(l.tracestate, "dd=s:1"));
    CT_ASSERT(l.attribute_count == 1);
    const uint8_t *attributes = l.attributes;
    ct_record_str ak = ct__record_read_str(&attributes), av = ct__record_read_str(&attributes);
    CT_ASSERT(str_is(ak, "k") && str_is(av, "v"));
    CT_ASSERT(cursor == r.end);

    /* rewrite with one more tag and another decision: everything else is
     * kept */
    ct_extra_tags more = {.meta_count = 0, .metric_count = 0};
    ct__extra_meta(&more, "added", 5, "yes", 3);
    ct_buffer rewritten = CT_BUFFER_INIT;
    ct_record_chunk other = {.priority = -1, .mechanism = 4, .rate = 1};
    CT_ASSERT(ct__record_rewrite(&r, &more, CT_RECORD_AUTO_DM, &other, &rewritten) == CT_OK);
    ct_record_reader r2;
    CT_ASSERT(ct__record_open(&r2, rewritten.data, rewritten.len) == rewritten.len);
    CT_ASSERT(r2.header.meta_count == r.header.meta_count + 1);
    CT_ASSERT(r2.header.metric_count == r.header.metric_count);
    CT_ASSERT(r2.header.span_id == r.header.span_id && r2.header.link_count == 1);
    CT_ASSERT(r2.chunk.priority == -1 && r2.chunk.mechanism == 4);
    CT_ASSERT(str_is(r2.name, "op") && str_is(r2.type, "sql"));
    CT_ASSERT(rt_meta(&r2, context, "added", value, 64) && !strcmp(value, "yes"));

    /* a truncated record is refused */
    CT_ASSERT(ct__record_open(&r2, out.data, out.len - 1) == 0);
    CT_ASSERT(ct__record_open(&r2, out.data, 3) == 0);

    ct__buffer_release(&out);
    ct__buffer_release(&rewritten);
    ct__string_unref(link.tracestate);
    ct__tags_clear(&link.attributes);
    ct__string_unref(k);
    ct__string_unref(v);
    ct__string_unref(m);
    ct__string_unref(language);
    ct__string_unref(mine);
    ct__string_unref(args.name);
    ct__string_unref(args.service);
    ct__string_unref(args.resource);
    ct__string_unref(args.type);
    span.finished = 0; /* let release abandon it: it was never recorded */
    ct__span_release(&span);
    ct_tracer_free(tracer, 0);
}

CT_TEST(record_of_a_child_span_has_its_parent_and_no_root_tags)
{
    ct_tracer *tracer = memory_tracer();
    ct_span root, child;
    ct_span_start_args root_args = {.name = s("root")};
    ct__span_start(&root, tracer, &root_args);
    ct_span_start_args child_args = {.name = s("child"), .parent = &root};
    ct__span_start(&child, tracer, &child_args);
    ct_buffer out = CT_BUFFER_INIT;
    ct_extra_tags none = {.meta_count = 0, .metric_count = 0};
    CT_ASSERT(ct__span_serialize(&child, &none, NULL, 0, &out) == CT_OK);
    ct_record_reader r;
    CT_ASSERT(ct__record_open(&r, out.data, out.len) == out.len);
    CT_ASSERT(r.header.parent_id == root.span_id);
    char value[64];
    CT_ASSERT(!rt_meta(&r, &tracer->record_context, "runtime-id", value, 64));
    CT_ASSERT(!rt_meta(&r, &tracer->record_context, "language", value, 64));
    CT_ASSERT(r.header.flags == 0); /* same service: not top level */
    CT_ASSERT(r.header.metric_count == 0);
    ct__buffer_release(&out);
    ct__span_release(&child);
    ct__span_release(&root);
    ct__string_unref(root_args.name);
    ct__string_unref(child_args.name);
    ct_tracer_free(tracer, 0);
}

CT_TEST(buffer_cap_refuses_and_keeps_content)
{
    ct_buffer b = CT_BUFFER_INIT;
    b.cap = 8;
    CT_ASSERT(ct__buffer_append(&b, "12345", 5) == CT_OK);
    CT_ASSERT(ct__buffer_append(&b, "6789", 4) == CT_ENOSPC);
    CT_ASSERT(b.len == 5 && !memcmp(b.data, "12345", 5));
    ct_buffer moved = CT_BUFFER_INIT;
    ct__buffer_move(&moved, &b);
    CT_ASSERT(moved.len == 5 && b.len == 0);
    ct__buffer_release(&moved);
    ct__buffer_release(&b);
    ct__buffer_release(&b);
}

CT_TEST_MAIN()
