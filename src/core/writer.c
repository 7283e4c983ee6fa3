/*
 * writer.c — chunk frames and the in-memory writer (see writer.h).
 *
 * The in-memory writer is what tests read (through the Python layer's
 * tracer._take_traces) and what a tracer with _CT_IN_MEMORY_WRITER=1 uses:
 * it keeps frames in one capped buffer under a mutex, exactly as the real
 * writer does before it sends, so the behaviour tests see (drops when full,
 * fork reset) is the real one minus the network.
 */
#include "writer.h"
#include "alloc.h"

#include <pthread.h>
#include <stdlib.h>

int ct__frame_append(ct_buffer *buffer, const uint8_t *records, size_t len, uint32_t span_count)
{
    ct_frame_header header = {(uint32_t)len, span_count};
    int rc = ct__buffer_reserve(buffer, sizeof header + len);
    if (rc != CT_OK) return rc;
    ct__buffer_append(buffer, &header, sizeof header);
    ct__buffer_append(buffer, records, len);
    return CT_OK;
}

typedef struct memory_writer {
    ct_writer base;
    pthread_mutex_t lock;
    ct_buffer frames;
    uint32_t chunk_count;
    uint64_t span_count;
    uint64_t traces_dropped, spans_dropped;
} memory_writer;

static int memory_submit(ct_writer *writer, const uint8_t *records, size_t len, uint32_t span_count)
{
    memory_writer *w = (memory_writer *)writer;
    pthread_mutex_lock(&w->lock);
    int rc = ct__frame_append(&w->frames, records, len, span_count);
    if (rc == CT_OK) {
        w->chunk_count++;
        w->span_count += span_count;
    } else {
        w->traces_dropped++;
        w->spans_dropped += span_count;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

static int memory_flush(ct_writer *writer, int timeout_ms) { return CT_OK; }

static void memory_get_stats(ct_writer *writer, ct_tracer_stats *stats)
{
    memory_writer *w = (memory_writer *)writer;
    pthread_mutex_lock(&w->lock);
    stats->traces_dropped += w->traces_dropped;
    stats->spans_dropped += w->spans_dropped;
    stats->bytes_buffered += w->frames.len;
    stats->spans_buffered += w->span_count;
    pthread_mutex_unlock(&w->lock);
}

static void memory_after_fork_child(ct_writer *writer)
{
    memory_writer *w = (memory_writer *)writer;
    pthread_mutex_init(&w->lock, NULL);
    ct__buffer_clear(&w->frames);
    w->chunk_count = 0;
    w->span_count = 0;
}

static void memory_destroy(ct_writer *writer, int timeout_ms)
{
    memory_writer *w = (memory_writer *)writer;
    pthread_mutex_destroy(&w->lock);
    ct__buffer_release(&w->frames);
    ct__free(w);
}

static const ct_writer_ops memory_ops = {
    memory_submit, memory_flush, memory_get_stats, memory_after_fork_child, memory_destroy,
};

ct_writer *ct__memory_writer_new(size_t cap_bytes)
{
    memory_writer *w = ct__calloc(1, sizeof *w);
    if (!w) return NULL;
    w->base.ops = &memory_ops;
    w->frames.cap = cap_bytes;
    pthread_mutex_init(&w->lock, NULL);
    return &w->base;
}

int ct__writer_is_memory(const ct_writer *writer) { return writer && writer->ops == &memory_ops; }

void ct__memory_writer_take(ct_writer *writer, ct_buffer *out, uint32_t *chunk_count,
                            uint64_t *span_count)
{
    memory_writer *w = (memory_writer *)writer;
    pthread_mutex_lock(&w->lock);
    size_t cap = w->frames.cap;
    ct__buffer_move(out, &w->frames);
    w->frames.cap = cap;
    *chunk_count = w->chunk_count;
    *span_count = w->span_count;
    w->chunk_count = 0;
    w->span_count = 0;
    pthread_mutex_unlock(&w->lock);
}
