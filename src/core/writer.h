/*
 * writer — where completed trace segments go.
 *
 * A writer receives each completed segment as a run of span records (see
 * span_record.h) and is responsible for getting it to an agent. The tracer
 * only knows this interface, a struct of function pointers in the manner of
 * SQLite's VFS, so tests can plug in the in-memory writer and the real
 * writer (a background thread that encodes and POSTs, see agent_writer.h)
 * can evolve independently.
 *
 * Contract of every implementation:
 * - submit() runs on the application's thread (with the GIL in Python): it
 *   must never block on I/O or wait for another thread beyond a short
 *   mutex, and never grow memory past its cap: a chunk that does not fit is
 *   dropped and counted (CT_ENOSPC).
 * - submit() copies what it keeps; the caller keeps ownership of records.
 * - flush() and destroy() may wait (up to their deadline); the Python layer
 *   calls them with the GIL released.
 * - after_fork_child() runs in a forked child before anything else: it drops
 *   the parent's buffered data and thread state without locking (the
 *   parent's threads do not exist in the child) and lets the writer restart
 *   lazily.
 */
#ifndef CT_WRITER_H
#define CT_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "ctrace.h"
#include "buffer.h"

typedef struct ct_writer ct_writer;

/* Chunk frames: how writers keep completed chunks until they are encoded.
 * A frame is a ct_frame_header followed by the chunk's records. Encoders
 * (encoder.h) read a run of frames. */
typedef struct ct_frame_header {
    uint32_t records_len; /* bytes of records after this header */
    uint32_t span_count;
} ct_frame_header;

/* Appends one frame (header + records) to a buffer, all or nothing.
 * CT_OK, CT_ENOMEM, CT_ENOSPC (the buffer's cap). */
int ct__frame_append(ct_buffer *buffer, const uint8_t *records, size_t len, uint32_t span_count);

typedef struct ct_writer_ops {
    /* Takes a copy of one chunk: span_count records, len bytes. CT_OK, or
     * CT_ENOSPC / CT_ENOMEM when dropped (the writer counted it). */
    int (*submit)(ct_writer *writer, const uint8_t *records, size_t len, uint32_t span_count);
    /* Delivers what is buffered, waiting at most timeout_ms (<0: forever). */
    int (*flush)(ct_writer *writer, int timeout_ms);
    /* Adds the writer's counters into stats (sent, failed, dropped,
     * buffered). */
    void (*get_stats)(ct_writer *writer, ct_tracer_stats *stats);
    /* See above. */
    void (*after_fork_child)(ct_writer *writer);
    /* Flushes with a deadline, stops any thread, frees the writer. */
    void (*destroy)(ct_writer *writer, int timeout_ms);
} ct_writer_ops;

struct ct_writer {
    const ct_writer_ops *ops;
    /* What the encoder needs of the process for implied tags
     * (span_record.h); set by the tracer that owns the writer, which
     * outlives it. NULL: those tags are left out (standalone tests). */
    const struct ct_record_context *context;
};

/* -- the in-memory writer: keeps chunks for tests to read ------------------ */

/* A writer keeping every chunk in memory, up to cap_bytes (0: no cap).
 * NULL when out of memory. */
ct_writer *ct__memory_writer_new(size_t cap_bytes);

/* Takes everything kept so far (one frame per chunk, in order) into out,
 * which the caller then owns, and the number of chunks and spans. The
 * writer is left empty. */
void ct__memory_writer_take(ct_writer *writer, ct_buffer *out, uint32_t *chunk_count,
                            uint64_t *span_count);

/* Is this writer the in-memory one? */
int ct__writer_is_memory(const ct_writer *writer);

#endif
