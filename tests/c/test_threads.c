/*
 * test_threads — the core under concurrent use from C threads: spans of
 * one trace finished on several threads, many traces at once, and a
 * flush racing with new spans. Run plainly, under ASan/UBSan and under
 * ThreadSanitizer (make test-sanitizers), where any data race fails.
 */
#include <pthread.h>
#include <stdlib.h>

#include "ctrace.h"
#include "../test_harness.h"
#include "writer.h"
#include "tracer.h"

#define THREADS 8
#define TRACES_PER_THREAD 2000

static ct_tracer *memory_tracer(void)
{
    ct_config *config = ct_config_new();
    ct_config_set(config, "_CT_IN_MEMORY_WRITER", "true");
    ct_config_set(config, "DD_SERVICE", "threads");
    ct_config_set(config, "DD_TRACE_WRITER_BUFFER_SIZE_BYTES", "1000000000");
    ct_tracer *tracer = ct_tracer_new(config, NULL);
    ct_config_free(config);
    return tracer;
}

typedef struct shared_root {
    ct_tracer *tracer;
    ct_span *root;
} shared_root;

/* Each thread adds children to one shared root and finishes them. */
static void *add_children(void *arg)
{
    shared_root *shared = arg;
    for (int i = 0; i < 500; i++) {
        ct_span_options options = {.name = "child", .name_len = -1, .parent = shared->root};
        ct_span *child = ct_span_new(shared->tracer, &options);
        ct_span_set_tag(child, "k", 1, "v", 1);
        ct_span_free(child);
    }
    return NULL;
}

CT_TEST(spans_of_one_trace_finish_on_many_threads)
{
    ct_tracer *tracer = memory_tracer();
    CT_ASSERT(tracer);
    ct_span_options options = {.name = "root", .name_len = -1};
    shared_root shared = {tracer, ct_span_new(tracer, &options)};
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, add_children, &shared);
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    ct_span_free(shared.root);
    ct_tracer_stats stats;
    ct_tracer_get_stats(tracer, &stats);
    /* partial flush (300 spans) splits the trace, but every span arrives */
    CT_ASSERT(stats.spans_finished == THREADS * 500 + 1);
    CT_ASSERT(stats.spans_buffered == THREADS * 500 + 1);
    CT_ASSERT(stats.spans_dropped == 0);
    ct_tracer_free(tracer, 0);
}

static void *make_traces(void *arg)
{
    ct_tracer *tracer = arg;
    for (int i = 0; i < TRACES_PER_THREAD; i++) {
        ct_span_options root_options = {.name = "request", .name_len = -1};
        ct_span *root = ct_span_new(tracer, &root_options);
        ct_span_options child_options = {.name = "db", .name_len = -1, .parent = root};
        ct_span *child = ct_span_new(tracer, &child_options);
        ct_span_set_metric(child, "rows", 4, i);
        ct_span_free(child);
        ct_span_free(root);
        if (i % 500 == 0) ct_tracer_flush(tracer, 0);
    }
    return NULL;
}

CT_TEST(many_threads_make_traces_while_flushing)
{
    ct_tracer *tracer = memory_tracer();
    CT_ASSERT(tracer);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, make_traces, tracer);
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    ct_tracer_stats stats;
    ct_tracer_get_stats(tracer, &stats);
    CT_ASSERT(stats.traces_completed == THREADS * TRACES_PER_THREAD);
    CT_ASSERT(stats.spans_buffered == 2 * THREADS * TRACES_PER_THREAD);
    ct_buffer frames = CT_BUFFER_INIT;
    uint32_t chunks;
    uint64_t spans;
    ct__memory_writer_take(tracer->writer, &frames, &chunks, &spans);
    CT_ASSERT(chunks == THREADS * TRACES_PER_THREAD);
    CT_ASSERT(spans == 2 * THREADS * TRACES_PER_THREAD);
    ct__buffer_release(&frames);
    ct_tracer_free(tracer, 0);
}

CT_TEST_MAIN()
