/*
 * test_core_lifecycle — spans and trace segments through the public C API
 * (ctrace.h) with the in-memory writer: parent/child, a segment completes
 * when its last span finishes (in any order), abandoned spans, idempotent
 * finish, remote parents, partial flush, disabled and shut-down tracers,
 * and finishing the spans of one trace from several threads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ctrace.h"
#include "span.h"
#include "record_tags.h"
#include "span_record.h"
#include "../test_harness.h"
#include "trace.h"
#include "tracer.h"
#include "writer.h"

/* -- helpers ---------------------------------------------------------------- */

/* The context of the last tracer made: implied tags are read with it. */
static const ct_record_context *lifecycle_context;

static ct_tracer *new_tracer(const char *const *settings)
{
    ct_config *config = ct_config_new();
    if (!config) return NULL;
    ct_config_set(config, "_CT_IN_MEMORY_WRITER", "1");
    ct_config_set(config, "DD_SERVICE", "c-test");
    for (; settings && settings[0]; settings += 2) ct_config_set(config, settings[0], settings[1]);
    ct_tracer *tracer = ct_tracer_new(config, NULL);
    ct_config_free(config);
    if (tracer) lifecycle_context = &tracer->record_context;
    return tracer;
}

#define MAX_SPANS 2048

/* What the writer received: chunks of records, opened. */
typedef struct captured {
    ct_buffer frames;
    uint32_t chunks;
    uint64_t spans;
    uint32_t chunk_sizes[64];
    ct_record_reader records[MAX_SPANS];
    uint32_t record_count;
} captured;

static captured *capture(ct_tracer *tracer)
{
    captured *c = calloc(1, sizeof *c);
    ct__memory_writer_take(tracer->writer, &c->frames, &c->chunks, &c->spans);
    size_t offset = 0;
    uint32_t chunk = 0;
    while (offset + sizeof(ct_frame_header) <= c->frames.len) {
        ct_frame_header header;
        memcpy(&header, c->frames.data + offset, sizeof header);
        offset += sizeof header;
        if (chunk < 64) c->chunk_sizes[chunk] = header.span_count;
        chunk++;
        size_t end = offset + header.records_len;
        while (offset < end && c->record_count < MAX_SPANS) {
            size_t size = ct__record_open(&c->records[c->record_count], c->frames.data + offset,
                                          end - offset);
            if (!size) break;
            c->record_count++;
            offset += size;
        }
        offset = end;
    }
    return c;
}

static void release(captured *c)
{
    ct__buffer_release(&c->frames);
    free(c);
}

static int str_is(ct_record_str s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

static const ct_record_reader *find(const captured *c, const char *name)
{
    for (uint32_t i = 0; i < c->record_count; i++)
        if (str_is(c->records[i].name, name)) return &c->records[i];
    return NULL;
}

/* A record's tag as the agent will see it (own or implied). */

static int meta_of(const ct_record_reader *r, const char *key, char *out, size_t size)
{
    return rt_meta(r, lifecycle_context, key, out, size);
}

static int metric_of(const ct_record_reader *r, const char *key, double *out)
{
    return rt_metric(r, lifecycle_context, key, out);
}

static ct_span *start(ct_tracer *tracer, const char *name, const ct_span *parent)
{
    ct_span_options options = {.name = name,
                               .name_len = -1,
                               .service_len = -1,
                               .resource_len = -1,
                               .type_len = -1,
                               .parent = parent};
    return ct_span_new(tracer, &options);
}

/* A span continuing the trace of a remote parent (extracted headers). */
static ct_span *start_remote(ct_tracer *tracer, const char *name, const ct_remote_parent *remote)
{
    ct_span_options options = {.name = name,
                               .name_len = -1,
                               .service_len = -1,
                               .resource_len = -1,
                               .type_len = -1,
                               .remote = remote};
    return ct_span_new(tracer, &options);
}

/* -- tests ---------------------------------------------------------------------- */

CT_TEST(child_shares_the_trace_and_points_to_its_parent)
{
    ct_tracer *tracer = new_tracer(NULL);
    CT_ASSERT(tracer);
    ct_span *root = start(tracer, "root", NULL);
    ct_span *child = start(tracer, "child", root);
    CT_ASSERT(root && child);
    CT_ASSERT(ct_span_trace_id_low(child) == ct_span_trace_id_low(root));
    CT_ASSERT(ct_span_trace_id_high(child) == ct_span_trace_id_high(root));
    CT_ASSERT(ct_span_id(child) != ct_span_id(root));
    CT_ASSERT(ct_span_finish(child, 0) == CT_OK);
    CT_ASSERT(ct_span_finish(root, 0) == CT_OK);
    captured *c = capture(tracer);
    CT_ASSERT(c->chunks == 1 && c->record_count == 2);
    const ct_record_reader *r = find(c, "root"), *ch = find(c, "child");
    CT_ASSERT(r && ch);
    CT_ASSERT(r->header.parent_id == 0);
    CT_ASSERT(ch->header.parent_id == r->header.span_id);
    CT_ASSERT(&c->records[0] == r); /* the local root opens the chunk */
    release(c);
    ct_span_free(child);
    ct_span_free(root);
    ct_tracer_free(tracer, 0);
}

CT_TEST(segment_completes_only_when_the_last_span_finishes)
{
    ct_tracer *tracer = new_tracer(NULL);
    ct_span *root = start(tracer, "root", NULL);
    ct_span *a = start(tracer, "a", root);
    ct_span *b = start(tracer, "b", a);
    ct_span_finish(root, 0); /* out of order: root first */
    ct_span_finish(b, 0);
    ct_tracer_stats stats;
    ct_tracer_get_stats(tracer, &stats);
    CT_ASSERT(stats.traces_completed == 0);
    ct_span_finish(a, 0);
    ct_tracer_get_stats(tracer, &stats);
    CT_ASSERT(stats.traces_completed == 1 && stats.spans_finished == 3);
    captured *c = capture(tracer);
    CT_ASSERT(c->chunks == 1 && c->record_count == 3);
    CT_ASSERT(str_is(c->records[0].name, "root")); /* still first */
    char value[64];
    CT_ASSERT(meta_of(&c->records[0], "_dd.p.tid", value, sizeof value));
    CT_ASSERT(!meta_of(find(c, "a"), "_dd.p.tid", value, sizeof value));
    release(c);
    ct_span_free(a);
    ct_span_free(b);
    ct_span_free(root);
    ct_tracer_free(tracer, 0);
}

CT_TEST(finish_is_idempotent)
{
    ct_tracer *tracer = new_tracer(NULL);
    ct_span *span = start(tracer, "once", NULL);
    CT_ASSERT(ct_span_finish(span, 0) == CT_OK);
    int64_t duration = span->duration_ns;
    CT_ASSERT(ct_span_finish(span, 0) == CT_ESTATE);
    CT_ASSERT(ct_span_finish(span, span->start_ns + 999999999) == CT_ESTATE);
    CT_ASSERT(span->duration_ns == duration);
    ct_span_free(span); /* free after finish: no second record */
    captured *c = capture(tracer);
    CT_ASSERT(c->chunks == 1 && c->record_count == 1);
    release(c);
    ct_tracer_stats stats;
    ct_tracer_get_stats(tracer, &stats);
    CT_ASSERT(stats.spans_finished == 1);
    ct_tracer_free(tracer, 0);
}

CT_TEST(explicit_finish_time_sets_the_duration_and_never_goes_negative)
{
    ct_tracer *tracer = new_tracer(NULL);
    ct_span *span = start(tracer, "timed", NULL);
    ct_span_finish(span, span->start_ns + 1500);
    CT_ASSERT(span->duration_ns == 1500);
    ct_span *early = start(tracer, "early", NULL);
    ct_span_finish(early, early->start_ns - 1000000);
    CT_ASSERT(early->duration_ns == 0);
    ct_span_free(span);
    ct_span_free(early);
    ct_tracer_free(tracer, 0);
}

CT_TEST(abandoned_span_is_dropped_and_the_rest_is_sent)
{
    ct_tracer *tracer = new_tracer(NULL);
    ct_span root_storage, lost_storage;
    ct_span_start_args args = {0};
    args.name = ct__string_new("root", 4);
    CT_ASSERT(ct__span_start(&root_storage, tracer, &args) == CT_OK);
    ct_span_start_args child_args = {0};
    child_args.name = ct__string_new("lost", 4);
    child_args.parent = &root_storage;
    CT_ASSERT(ct__span_start(&lost_storage, tracer, &child_args) == CT_OK);
    ct__span_release(&lost_storage); /* never finished */
    ct__span_release(&lost_storage); /* idempotent */
    ct__span_finish_at(&root_storage, 0);
    captured *c = capture(tracer);
    CT_ASSERT(c->chunks == 1 && c->record_count == 1 && find(c, "root"));
    release(c);
    ct_tracer_stats stats;
    ct_tracer_get_stats(tracer, &stats);
    CT_ASSERT(stats.spans_dropped == 1);
    ct__span_release(&root_storage);
    ct__string_unref(args.name);
    ct__string_unref(child_args.name);
    ct_tracer_free(tracer, 0);
}

CT_TEST(abandoned_root_still_sends_finished_children)
{
    ct_tracer *tracer = new_tracer(NULL);
    ct_span root_storage;
    ct_span_start_args args = {0};
    args.name = ct__string_new("root", 4);
    ct__span_start(&root_storage, tracer, &args);
    ct_span *child = start(tracer, "child", &root_storage);
    ct_span_finish(child, 0);
    ct__span_release(&root_storage);
    captured *c = capture(tracer);
    CT_ASSERT(c->chunks == 1 && c->record_count == 1 && find(c, "child"));
    release(c);
    ct_span_free(child);
    ct__string_unref(args.name);
    ct_tracer_free(tracer, 0);
}

CT_TEST(ct_span_free_finishes_an_open_span)
{
    ct_tracer *tracer = new_tracer(NULL);
    ct_span_free(start(tracer, "freed", NULL));
    ct_span_free(NULL);
    captured *c = capture(tracer);
    CT_ASSERT(c->record_count == 1 && find(c, "freed"));
    release(c);
    ct_tracer_free(tracer, 0);
}

CT_TEST(remote_parent_continues_its_trace)
{
    ct_tracer *tracer = new_tracer(NULL);
    ct_remote_parent remote = {.trace_id_high = 0x1234,
                               .trace_id_low = 0x5678,
                               .span_id = 99,
                               .sampling_priority = 2,
                               .origin = "synthetics"};
    ct_span *span = start_remote(tracer, "server", &remote);
    CT_ASSERT(ct_span_trace_id_low(span) == 0x5678 && ct_span_trace_id_high(span) == 0x1234);
    ct_span_finish(span, 0);
    captured *c = capture(tracer);
    const ct_record_reader *r = find(c, "server");
    CT_ASSERT(r && r->header.parent_id == 99);
    double priority;
    CT_ASSERT(metric_of(r, "_sampling_priority_v1", &priority) && priority == 2);
    char value[64];
    CT_ASSERT(meta_of(r, "_dd.origin", value, sizeof value) && !strcmp(value, "synthetics"));
    CT_ASSERT(meta_of(r, "_dd.p.tid", value, sizeof value) && !strcmp(value, "0000000000001234"));
    CT_ASSERT(meta_of(r, "runtime-id", value, sizeof value));
    release(c);
    ct_span_free(span);
    ct_tracer_free(tracer, 0);
}

/* The remote parent's tracestate lives on the segment (the Python layer
 * re-injects its other vendors' entries), and is not a tag of any span. */
CT_TEST(remote_tracestate_is_kept_on_the_segment_not_tagged)
{
    ct_tracer *tracer = new_tracer(NULL);
    ct_remote_parent remote = {.trace_id_low = 0x5678,
                               .span_id = 99,
                               .sampling_priority = 1,
                               .tracestate = "dd=s:1,other=v1"};
    ct_span *span = start_remote(tracer, "server", &remote);
    ct_span *child = start(tracer, "child", span);
    CT_ASSERT(child->trace->tracestate &&
              ct__string_equals(child->trace->tracestate, "dd=s:1,other=v1", 15));
    ct_span_free(child);
    ct_span_free(span);
    captured *c = capture(tracer);
    char value[64];
    CT_ASSERT(!meta_of(find(c, "server"), "tracestate", value, sizeof value));
    release(c);
    ct_tracer_free(tracer, 0);
}

/* A lock-free tracer (Python's) recycles dead segments: a recycled one
 * must carry nothing of the trace it held before. */
CT_TEST(recycled_segments_start_clean)
{
    ct_config *config = ct_config_new();
    ct_config_set(config, "_CT_IN_MEMORY_WRITER", "1");
    ct__tracer_options options = {.lock_free = 1};
    int rc;
    ct_tracer *tracer = ct__tracer_new_with(config, &options, &rc);
    ct_config_free(config);
    CT_ASSERT(tracer && tracer->lock_free);
    lifecycle_context = &tracer->record_context;
    ct_remote_parent remote = {.trace_id_high = 0x1234,
                               .trace_id_low = 0x5678,
                               .span_id = 99,
                               .sampling_priority = 2,
                               .origin = "synthetics"};
    ct_span *span = start_remote(tracer, "first", &remote);
    ct_span *child = start(tracer, "first-child", span);
    ct_span_free(child);
    ct_span_free(span);
    CT_ASSERT(tracer->spare_count == 1);
    ct_span *second = start(tracer, "second", NULL);
    CT_ASSERT(tracer->spare_count == 0); /* the spare was taken */
    CT_ASSERT(ct_span_trace_id_low(second) != 0x5678);
    ct_span_free(second);
    captured *c = capture(tracer);
    CT_ASSERT(c->chunks == 2 && c->record_count == 3);
    const ct_record_reader *r = find(c, "second");
    CT_ASSERT(r && r->header.parent_id == 0);
    char value[64];
    double priority;
    CT_ASSERT(!meta_of(r, "_dd.origin", value, sizeof value));
    CT_ASSERT(metric_of(r, "_sampling_priority_v1", &priority) && priority == 1);
    release(c);
    ct_tracer_free(tracer, 0);
}

CT_TEST(new_trace_ids_are_128_bit_with_the_time_on_top)
{
    ct_tracer *tracer = new_tracer(NULL);
    ct_span *span = start(tracer, "x", NULL);
    uint64_t high = ct_span_trace_id_high(span);
    CT_ASSERT((high & 0xFFFFFFFFull) == 0);
    CT_ASSERT((int64_t)(high >> 32) == span->start_ns / 1000000000);
    ct_span_free(span);
    ct_tracer_free(tracer, 0);

    const char *const off[] = {"DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED", "false", NULL};
    tracer = new_tracer(off);
    span = start(tracer, "y", NULL);
    CT_ASSERT(ct_span_trace_id_high(span) == 0 && ct_span_trace_id_low(span) != 0);
    ct_span_free(span);
    captured *c = capture(tracer);
    char value[64];
    CT_ASSERT(c->record_count == 1 && !meta_of(&c->records[0], "_dd.p.tid", value, sizeof value));
    release(c);
    ct_tracer_free(tracer, 0);
}

CT_TEST(partial_flush_sends_finished_spans_of_an_open_trace)
{
    const char *const settings[] = {"DD_TRACE_PARTIAL_FLUSH_MIN_SPANS", "10", NULL};
    ct_tracer *tracer = new_tracer(settings);
    ct_span *root = start(tracer, "root", NULL);
    for (int i = 0; i < 25; i++) ct_span_free(start(tracer, "child", root));
    captured *c = capture(tracer);
    CT_ASSERT(c->chunks == 2 && c->record_count == 20);
    double flushed;
    CT_ASSERT(metric_of(&c->records[0], "_dd.py.partial_flush", &flushed) && flushed == 10);
    char value[64];
    CT_ASSERT(meta_of(&c->records[0], "_dd.p.tid", value, sizeof value));
    release(c);
    ct_span_free(root);
    c = capture(tracer);
    CT_ASSERT(c->chunks == 1 && c->record_count == 6 && find(c, "root"));
    release(c);
    ct_tracer_free(tracer, 0);
}

CT_TEST(disabled_tracer_creates_spans_but_sends_nothing)
{
    const char *const settings[] = {"DD_TRACE_ENABLED", "false", NULL};
    ct_tracer *tracer = new_tracer(settings);
    ct_span *span = start(tracer, "quiet", NULL);
    CT_ASSERT(span && ct_span_id(span) != 0);
    ct_span_set_tag(span, "k", 1, "v", 1);
    ct_span_free(span);
    captured *c = capture(tracer);
    CT_ASSERT(c->chunks == 0 && c->record_count == 0);
    release(c);
    ct_tracer_free(tracer, 0);
}

CT_TEST(after_shutdown_nothing_is_sent)
{
    ct_tracer *tracer = new_tracer(NULL);
    ct_span_free(start(tracer, "before", NULL));
    ct__tracer_shutdown(tracer, 100);
    ct__tracer_shutdown(tracer, 100); /* twice is fine */
    ct_span_free(start(tracer, "after", NULL));
    captured *c = capture(tracer);
    CT_ASSERT(c->record_count == 1 && find(c, "before"));
    release(c);
    ct_tracer_free(tracer, 0);
}

CT_TEST(tags_metrics_and_errors_reach_the_record)
{
    const char *const settings[] = {"DD_ENV",  "prod",      "DD_VERSION", "2.0",
                                    "DD_TAGS", "team:core", NULL};
    ct_tracer *tracer = new_tracer(settings);
    ct_tracer_set_tag(tracer, "global", 6, "yes", 3);
    ct_span *span = start(tracer, "op", NULL);
    CT_ASSERT(ct_span_set_tag(span, "k", 1, "v", 1) == CT_OK);
    CT_ASSERT(ct_span_set_metric(span, "m", 1, 2.5) == CT_OK);
    CT_ASSERT(ct_span_set_metric(span, "nan", 3, 0.0 / 0.0) == CT_EINVAL);
    CT_ASSERT(ct_span_set_metric(span, "inf", 3, 1.0 / 0.0) == CT_EINVAL);
    CT_ASSERT(ct_span_set_error(span, "MyError", "it failed", NULL) == CT_OK);
    ct_span_finish(span, 0);
    captured *c = capture(tracer);
    const ct_record_reader *r = find(c, "op");
    char value[64];
    double metric;
    CT_ASSERT(r && r->header.error == 1);
    CT_ASSERT(meta_of(r, "k", value, sizeof value) && !strcmp(value, "v"));
    CT_ASSERT(meta_of(r, "env", value, sizeof value) && !strcmp(value, "prod"));
    CT_ASSERT(meta_of(r, "version", value, sizeof value) && !strcmp(value, "2.0"));
    CT_ASSERT(meta_of(r, "team", value, sizeof value) && !strcmp(value, "core"));
    CT_ASSERT(meta_of(r, "global", value, sizeof value) && !strcmp(value, "yes"));
    CT_ASSERT(meta_of(r, "error.type", value, sizeof value) && !strcmp(value, "MyError"));
    CT_ASSERT(meta_of(r, "error.message", value, sizeof value));
    CT_ASSERT(!meta_of(r, "error.stack", value, sizeof value));
    CT_ASSERT(metric_of(r, "m", &metric) && metric == 2.5);
    CT_ASSERT(!metric_of(r, "nan", &metric) && !metric_of(r, "inf", &metric));
    CT_ASSERT(metric_of(r, "_dd.top_level", &metric) && metric == 1);
    CT_ASSERT(metric_of(r, "process_id", &metric) && metric > 0);
    CT_ASSERT(meta_of(r, "language", value, sizeof value) && !strcmp(value, "c"));
    release(c);
    ct_span_free(span);
    ct_tracer_free(tracer, 0);
}

CT_TEST(service_resource_and_type_options)
{
    ct_tracer *tracer = new_tracer(NULL);
    ct_span_options options = {.name = "op",
                               .name_len = -1,
                               .service = "db",
                               .service_len = -1,
                               .resource = "SELECT 1xx",
                               .resource_len = 8,
                               .type = "sql",
                               .type_len = -1};
    ct_span *parent = ct_span_new(tracer, &options);
    ct_span *child = start(tracer, "child", parent);
    ct_span_finish(child, 0);
    ct_span_finish(parent, 0);
    captured *c = capture(tracer);
    const ct_record_reader *p = find(c, "op"), *ch = find(c, "child");
    CT_ASSERT(p && str_is(p->service, "db") && str_is(p->resource, "SELECT 1") &&
              str_is(p->type, "sql"));
    CT_ASSERT(ch && str_is(ch->service, "db") && str_is(ch->resource, "child"));
    char value[64];
    CT_ASSERT(meta_of(p, "_dd.base_service", value, sizeof value) && !strcmp(value, "c-test"));
    release(c);
    ct_span_free(child);
    ct_span_free(parent);
    ct_tracer_free(tracer, 0);
}

CT_TEST(service_mapping_renames_services_at_span_start)
{
    const char *settings[] = {"DD_SERVICE_MAPPING", "db:mapped-db,c-test:renamed", NULL};
    ct_tracer *tracer = new_tracer(settings);
    ct_span_options options = {.name = "op",
                               .name_len = -1,
                               .service = "db",
                               .service_len = -1,
                               .resource_len = -1,
                               .type_len = -1};
    ct_span *explicit = ct_span_new(tracer, &options);
    ct_span *inherited = start(tracer, "inherited", explicit);
    ct_span *fallback = start(tracer, "fallback", NULL);
    ct_span_finish(inherited, 0);
    ct_span_finish(explicit, 0);
    ct_span_finish(fallback, 0);
    captured *c = capture(tracer);
    CT_ASSERT(str_is(find(c, "op")->service, "mapped-db"));
    CT_ASSERT(str_is(find(c, "inherited")->service, "mapped-db"));
    CT_ASSERT(str_is(find(c, "fallback")->service, "renamed"));
    release(c);
    ct_span_free(inherited);
    ct_span_free(explicit);
    ct_span_free(fallback);
    ct_tracer_free(tracer, 0);
}

CT_TEST(dd_tags_service_and_version_are_defaults_not_tags)
{
    ct_config *config = ct_config_new();
    ct_config_set(config, "_CT_IN_MEMORY_WRITER", "1");
    ct_config_set(config, "DD_TAGS", "service:from-tags,version:9,team:x");
    ct_tracer *tracer = ct_tracer_new(config, NULL);
    ct_config_free(config);
    lifecycle_context = &tracer->record_context;
    ct_span *span = start(tracer, "op", NULL);
    ct_span_finish(span, 0);
    captured *c = capture(tracer);
    const ct_record_reader *r = find(c, "op");
    char value[64];
    CT_ASSERT(str_is(r->service, "from-tags"));
    CT_ASSERT(meta_of(r, "version", value, sizeof value) && !strcmp(value, "9"));
    CT_ASSERT(meta_of(r, "team", value, sizeof value) && !strcmp(value, "x"));
    CT_ASSERT(!meta_of(r, "service", value, sizeof value));
    release(c);
    ct_span_free(span);
    ct_tracer_free(tracer, 0);
}

CT_TEST(a_detached_span_is_never_sent_and_has_no_tracer_tags)
{
    ct_tracer *tracer = new_tracer((const char *const[]){"DD_ENV", "prod", NULL});
    ct_span span;
    ct_span_start_args args = {.name = ct__string_new("alone", 5)};
    CT_ASSERT(ct__span_start_detached(&span, tracer, &args, 42) == CT_OK);
    CT_ASSERT(span.span_id == 42 && span.service == NULL && span.tags.meta_count == 0);
    ct_extra_tags extra;
    ct_implied_tags implied;
    CT_ASSERT(ct__span_finish_at(&span, 0) == CT_OK);
    ct__span_tracer_tags(&span, &extra, &implied);
    CT_ASSERT(implied.meta_count == 0 && implied.metric_count == 0 && extra.meta_count == 0);
    ct__span_release(&span);
    ct__string_unref(args.name);
    ct_tracer_stats stats;
    ct_tracer_get_stats(tracer, &stats);
    CT_ASSERT(stats.traces_completed == 0 && stats.spans_dropped == 0);
    ct_tracer_free(tracer, 0);
}

static int implied_metric_is(const ct_implied_tags *t, const char *key, double value)
{
    for (uint32_t i = 0; i < t->metric_count; i++)
        if (str_is(t->metrics[i].key, key)) return t->metrics[i].value == value;
    return 0;
}

CT_TEST(tracer_tags_on_read_follow_what_the_record_will_imply)
{
    ct_tracer *tracer = new_tracer(NULL);
    ct_span *root = start(tracer, "root", NULL);
    ct_span *child = start(tracer, "child", root);
    ct_extra_tags extra;
    ct_implied_tags implied;
    ct__span_tracer_tags(child, &extra, &implied);
    CT_ASSERT(implied.meta_count == 0 && implied.metric_count == 0);
    ct__span_tracer_tags(root, &extra, &implied); /* open root: runtime-id, process_id */
    CT_ASSERT(implied.meta_count == 1 && str_is(implied.meta[0].key, "runtime-id"));
    CT_ASSERT(implied.metric_count == 1 && str_is(implied.metrics[0].key, "process_id"));
    ct_span_finish(child, 0);
    ct_span_finish(root, 0);
    ct__span_tracer_tags(root, &extra, &implied); /* finished root: the chunk's tags */
    CT_ASSERT(implied_metric_is(&implied, "_sampling_priority_v1", 1));
    CT_ASSERT(implied_metric_is(&implied, "_dd.top_level", 1));
    ct__span_tracer_tags(child, &extra, &implied);
    CT_ASSERT(!implied_metric_is(&implied, "_dd.top_level", 1));
    ct_span_free(child);
    ct_span_free(root);
    ct_tracer_free(tracer, 0);
}

#define THREADS 8
#define PER_THREAD 250

typedef struct finish_job {
    ct_span **spans;
    int count;
} finish_job;

static void *finish_all(void *arg)
{
    finish_job *job = arg;
    for (int i = 0; i < job->count; i++) ct_span_finish(job->spans[i], 0);
    return NULL;
}

CT_TEST(spans_of_one_trace_finished_from_many_threads)
{
    const char *const settings[] = {"DD_TRACE_PARTIAL_FLUSH_ENABLED", "false", NULL};
    ct_tracer *tracer = new_tracer(settings);
    ct_span *root = start(tracer, "root", NULL);
    static ct_span *spans[THREADS * PER_THREAD];
    for (int i = 0; i < THREADS * PER_THREAD; i++) spans[i] = start(tracer, "child", root);
    pthread_t threads[THREADS];
    finish_job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (finish_job){spans + t * PER_THREAD, PER_THREAD};
        pthread_create(&threads[t], NULL, finish_all, &jobs[t]);
    }
    for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
    ct_span_finish(root, 0);
    captured *c = capture(tracer);
    CT_ASSERT(c->chunks == 1 && c->spans == THREADS * PER_THREAD + 1);
    release(c);
    for (int i = 0; i < THREADS * PER_THREAD; i++) ct_span_free(spans[i]);
    ct_span_free(root);
    ct_tracer_free(tracer, 0);
}

CT_TEST(a_completed_trace_goes_to_the_writer_once_per_chunk)
{
    ct_tracer *tracer = new_tracer(NULL);
    for (int i = 0; i < 100; i++) {
        ct_span *root = start(tracer, "r", NULL);
        ct_span_free(start(tracer, "c", root));
        ct_span_free(root);
    }
    ct_tracer_stats stats;
    ct_tracer_get_stats(tracer, &stats);
    CT_ASSERT(stats.spans_started == 200 && stats.spans_finished == 200);
    CT_ASSERT(stats.traces_completed == 100 && stats.spans_buffered == 200);
    captured *c = capture(tracer);
    CT_ASSERT(c->chunks == 100 && c->record_count == 200);
    release(c);
    ct_tracer_free(tracer, 0);
}

CT_TEST(strerror_names_every_code)
{
    CT_ASSERT(!strcmp(ct_strerror(CT_OK), "ok"));
    CT_ASSERT(strlen(ct_strerror(CT_ENOMEM)) > 0 && strlen(ct_strerror(-9999)) > 0);
    /* each code of ctrace.h has a message of its own, none the fallback */
    const int codes[] = {CT_OK,      CT_EIO,    CT_ENOMEM,    CT_EINVAL,   CT_ENOSPC,
                         CT_ENODATA, CT_ESTATE, CT_ETIMEDOUT, CT_ECONNECT, CT_ECANCELED};
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        CT_ASSERT(strcmp(ct_strerror(codes[i]), ct_strerror(-9999)) != 0);
        for (size_t j = i + 1; j < n; j++)
            CT_ASSERT(strcmp(ct_strerror(codes[i]), ct_strerror(codes[j])) != 0);
    }
}

CT_TEST_MAIN()
