/*
 * test_alloc_failure — the core's promise that allocation failure never
 * aborts, checked as SQLite checks it: an allocator (ct_set_allocator)
 * that fails exactly the Nth call, for every N from 1 until a run needs no
 * more calls, over a whole round trip: configure, make the tracer, start a
 * root and a child, tag them (enough tags to build the tag index, one
 * over-long value), finish them (records), submit the trace to the writer,
 * take it and encode it in v0.5 and v0.4. Then the same with every call
 * from the Nth on failing.
 *
 * What each run must show: no crash and no leak (this test also runs under
 * ASan/LSan in build/asan and memcheck), and no silent loss: every span
 * asked for is either in what the writer received, complete (its name and
 * tags are the ones set, or the setter said CT_ENOMEM), or counted in
 * spans_dropped; and every tag a setter refused (CT_ENOMEM) is counted in
 * tags_dropped, so a span that arrives short of a tag says so too.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ctrace.h"
#include "encoder.h"
#include "span_record.h"
#include "../test_harness.h"
#include "tracer.h"
#include "writer.h"

/* -- the failing allocator ----------------------------------------------------- */

static long calls;     /* allocations so far in this run */
static long fail_at;   /* the call that fails (1-based); 0 never */
static int fail_after; /* every call from fail_at on fails */
static long failures;  /* calls failed in this run */

static int should_fail(void)
{
    calls++;
    if (fail_at && (calls == fail_at || (fail_after && calls > fail_at))) {
        failures++;
        return 1;
    }
    return 0;
}

static void *failing_malloc(size_t size) { return should_fail() ? NULL : malloc(size); }

static void *failing_realloc(void *block, size_t size)
{
    return should_fail() ? NULL : realloc(block, size);
}

static const ct_allocator failing = {failing_malloc, failing_realloc, free};

/* -- one round trip ---------------------------------------------------------------- */

typedef struct outcome {
    int tracer_made;
    uint64_t requested;    /* ct_span_new calls */
    uint64_t dropped;      /* the tracer's counter at the end */
    uint64_t received;     /* spans the writer handed over */
    int tags_refused;      /* set_tag/set_metric that answered CT_ENOMEM */
    int error_refused;     /* set_error answered CT_ENOMEM (1 to 3 tags lost) */
    uint64_t tags_dropped; /* the tracer's counter at the end */
    int bad_span;          /* a received span is not what was set */
} outcome;

#define TAGS 20 /* past CT_TAGS_LINEAR_MAX: the index is built */

static int tag(ct_span *span, int i, outcome *o)
{
    char key[16], value[16];
    snprintf(key, sizeof key, "key.%d", i);
    snprintf(value, sizeof value, "value.%d", i);
    int rc = i % 3 ? ct_span_set_tag(span, key, strlen(key), value, strlen(value))
                   : ct_span_set_metric(span, key, strlen(key), i);
    o->tags_refused += rc == CT_ENOMEM;
    return rc == CT_OK || rc == CT_ENOMEM;
}

/* A received record is complete: its name is one of ours and every tag
 * it holds has the value that was set. */
static int record_is_whole(const ct_record_reader *r)
{
    int named = (r->name.len == 4 && !memcmp(r->name.ptr, "root", 4)) ||
                (r->name.len == 5 && !memcmp(r->name.ptr, "child", 5));
    const uint8_t *cursor = r->meta;
    for (uint32_t i = 0; i < r->header.meta_count; i++) {
        ct_record_str key = ct__record_read_str(&cursor);
        ct_record_str value = ct__record_read_str(&cursor);
        if (key.len > 4 && !memcmp(key.ptr, "key.", 4)) {
            char expected[32];
            snprintf(expected, sizeof expected, "value.%.*s", (int)key.len - 4, key.ptr + 4);
            if (value.len != strlen(expected) || memcmp(value.ptr, expected, value.len)) return 0;
        }
    }
    return named;
}

static void check_received(const ct_buffer *frames, outcome *o)
{
    size_t offset = 0;
    while (offset + sizeof(ct_frame_header) <= frames->len) {
        ct_frame_header h;
        memcpy(&h, frames->data + offset, sizeof h);
        const uint8_t *p = frames->data + offset + sizeof h;
        const uint8_t *end = p + h.records_len;
        while (p < end) {
            ct_record_reader r;
            size_t size = ct__record_open(&r, p, (size_t)(end - p));
            if (!size) {
                o->bad_span = 1;
                return;
            }
            o->bad_span |= !record_is_whole(&r);
            p += size;
        }
        offset += sizeof h + h.records_len;
    }
}

/* Encoding may fail (CT_ENOMEM); it must not crash or leak. */
static void encode(ct_tracer *tracer, const ct_buffer *frames, uint32_t chunks)
{
    ct_api_version versions[] = {CT_API_V05, CT_API_V04};
    for (int v = 0; v < 2; v++) {
        ct_buffer out = CT_BUFFER_INIT;
        int rc = ct__encode_payload(versions[v], &tracer->record_context, frames->data, frames->len,
                                    chunks, &out);
        if (rc != CT_OK && rc != CT_ENOMEM) abort();
        ct__buffer_release(&out);
    }
}

static outcome round_trip(void)
{
    outcome o = {0};
    ct_config *config = ct_config_new();
    if (!config) return o;
    static const char *const settings[] = {
        "_CT_IN_MEMORY_WRITER", "1", "DD_SERVICE", "alloc-test", "DD_ENV", "prod", "DD_TAGS",
        "team:core,tier:1"};
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i += 2)
        if (ct_config_set(config, settings[i], settings[i + 1]) != CT_OK) {
            ct_config_free(config); /* CT_ENOMEM: said, nothing made */
            return o;
        }
    ct_tracer *tracer = ct_tracer_new(config, NULL);
    ct_config_free(config);
    if (!tracer) return o;
    o.tracer_made = 1;
    ct_span_options root_options = {
        .name = "root", .name_len = -1, .resource = "GET /", .resource_len = -1};
    ct_span *root = ct_span_new(tracer, &root_options);
    ct_span_options child_options = {.name = "child", .name_len = -1, .parent = root};
    ct_span *child = root ? ct_span_new(tracer, &child_options) : NULL;
    o.requested = root ? 2 : 1;
    for (int i = 0; i < TAGS; i++) {
        if (root && !tag(root, i, &o)) abort();
        if (child && !tag(child, i, &o)) abort();
    }
    if (child) {
        char *stack = malloc(CT_TAG_VALUE_MAX * 2);
        memset(stack, 's', CT_TAG_VALUE_MAX * 2);
        stack[CT_TAG_VALUE_MAX * 2 - 1] = 0;
        o.error_refused = ct_span_set_error(child, "E", "boom", stack) == CT_ENOMEM;
        free(stack);
    }
    ct_span_free(child);
    ct_span_free(root);

    ct_buffer frames = CT_BUFFER_INIT;
    uint32_t chunks = 0;
    uint64_t spans = 0;
    ct__memory_writer_take(tracer->writer, &frames, &chunks, &spans);
    o.received = spans;
    check_received(&frames, &o);
    encode(tracer, &frames, chunks);
    ct__buffer_release(&frames);

    ct_tracer_stats stats;
    memset(&stats, 0, sizeof stats);
    ct_tracer_get_stats(tracer, &stats);
    o.dropped = stats.spans_dropped;
    o.tags_dropped = stats.tags_dropped;
    ct_tracer_free(tracer, 0);
    return o;
}

/* Runs the round trip failing call n (and after it, with fail_after). */
static outcome run(long n, int after)
{
    calls = failures = 0;
    fail_at = n;
    fail_after = after;
    if (ct_set_allocator(&failing) != CT_OK) abort();
    outcome o = round_trip();
    ct_set_allocator(NULL);
    return o;
}

/* Every span asked for is received whole or counted as dropped. */
static int accounted(const outcome *o)
{
    if (!o->tracer_made) return 1;
    if (o->bad_span)
        fprintf(stderr, "  fail at %ld: a received span is not what was set\n", fail_at);
    if (o->requested != o->received + o->dropped)
        fprintf(stderr, "  fail at %ld: %llu asked for, %llu received, %llu dropped\n", fail_at,
                (unsigned long long)o->requested, (unsigned long long)o->received,
                (unsigned long long)o->dropped);
    /* set_error sets three tags and answers CT_ENOMEM once for any of them */
    uint64_t least = (uint64_t)o->tags_refused + (uint64_t)o->error_refused;
    uint64_t most = (uint64_t)o->tags_refused + 3 * (uint64_t)o->error_refused;
    int tags_counted = o->tags_dropped >= least && o->tags_dropped <= most;
    if (!tags_counted)
        fprintf(stderr, "  fail at %ld: %d tags refused (+%d set_error), %llu counted\n", fail_at,
                o->tags_refused, o->error_refused, (unsigned long long)o->tags_dropped);
    return !o->bad_span && o->requested == o->received + o->dropped && tags_counted;
}

/* -- tests -------------------------------------------------------------------------- */

CT_TEST(the_round_trip_without_failures_delivers_both_spans)
{
    outcome o = run(0, 0);
    CT_ASSERT(o.tracer_made && o.requested == 2 && o.received == 2 && o.dropped == 0);
    CT_ASSERT(!o.bad_span);
    CT_ASSERT(o.tags_refused == 0 && o.error_refused == 0 && o.tags_dropped == 0);
    fprintf(stderr, "  %ld allocations in one round trip\n", calls);
    CT_ASSERT(calls > 40); /* the allocator is really in the path */
}

CT_TEST(failing_any_one_allocation_never_crashes_and_loses_nothing_silently)
{
    long total = (run(0, 0), calls);
    int failed_runs = 0;
    for (long n = 1; n <= total; n++) {
        outcome o = run(n, 0);
        CT_ASSERT(failures == 1);
        failed_runs += !accounted(&o);
    }
    CT_ASSERT(failed_runs == 0);
}

CT_TEST(failing_every_allocation_from_the_nth_on_never_crashes)
{
    long total = (run(0, 0), calls);
    int failed_runs = 0;
    for (long n = 1; n <= total; n++) {
        outcome o = run(n, 1);
        failed_runs += !accounted(&o);
    }
    CT_ASSERT(failed_runs == 0);
}

CT_TEST(an_allocator_missing_a_function_is_refused)
{
    ct_allocator partial = {failing_malloc, NULL, free};
    CT_ASSERT(ct_set_allocator(&partial) == CT_EINVAL);
    CT_ASSERT(ct_set_allocator(NULL) == CT_OK);
}

CT_TEST_MAIN()
