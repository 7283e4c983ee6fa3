/*
 * ctrace.h — the public C API of ctrace, a Datadog-compatible tracer.
 *
 * The model is dd-trace-cpp's: a *tracer* (built once from a finalized
 * configuration) makes *spans*; every span belongs to a *trace segment*, the
 * part of a distributed trace that lives in this process. When the last open
 * span of a segment finishes, the segment is complete: its spans, already
 * serialized into compact records at their own finish, are handed to the
 * tracer's *writer*, which encodes them (msgpack v0.5 or v0.4) and delivers
 * them to a Datadog trace agent from a background thread.
 *
 * Conventions, as in libuv and SQLite:
 * - Functions that can fail return an int: CT_OK (0) or a negative errno
 *   value (CT_ENOMEM, CT_EINVAL, ...). There is no hidden global error state.
 * - Allocation failure never aborts: the operation is skipped, the data it
 *   concerned is dropped and counted in ct_tracer_stats.
 * - Strings are (pointer, length) pairs of UTF-8; they are copied, never
 *   retained: the caller keeps ownership of what it passes in.
 * - Spans: ct_span is opaque here; a C program makes one with ct_span_new
 *   and frees it with ct_span_free. A span keeps its segment alive. (The
 *   language bindings embed a span in their own objects instead, through
 *   the core's internal API, src/core/ctrace_internal.h. Every function
 *   and global of the core that this header does not declare is named
 *   ct__: not part of this API, and may change.)
 * - Threads: a tracer may be used from any number of threads. One span must
 *   not be mutated from two threads at once (like a FILE*); finishing spans
 *   of one segment from different threads is safe (the segment locks).
 * - Fork: the child of a fork gets fresh id generators, an empty writer
 *   buffer and no inherited unfinished segments (pthread_atfork).
 */
#ifndef CTRACE_H
#define CTRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CTRACE_VERSION "0.1.0"

/* Error codes: 0 or a negative errno value. Every code any ctrace function
 * returns is listed here, so ct_strerror names each one. */
enum {
    CT_OK = 0,
    CT_EIO = -5,         /* a transfer to the agent failed otherwise */
    CT_ENOMEM = -12,     /* allocation failed; the data concerned was dropped */
    CT_EINVAL = -22,     /* an argument was invalid; nothing was changed */
    CT_ENOSPC = -28,     /* a buffer reached its cap; the data was dropped */
    CT_ENODATA = -61,    /* no value known yet (the agent sent no sampling
                             rate for this service and env) */
    CT_ESTATE = -71,     /* wrong state: finished span, shut down tracer */
    CT_ETIMEDOUT = -110, /* the agent sent no complete reply in time */
    CT_ECONNECT = -111,  /* ECONNREFUSED: no agent, or it went away */
    CT_ECANCELED = -125, /* aborted by the caller (shutdown deadline) */
};

/* A returned error code as a static string; never NULL. */
const char *ct_strerror(int rc);

/* -- allocator -------------------------------------------------------------
 * The core allocates through these three functions (libc's by default), as
 * SQLite does with SQLITE_CONFIG_MALLOC: tests install one that fails on
 * the Nth call. realloc(NULL, n) must behave as malloc(n), free(NULL) must
 * be a no-op. */
typedef struct ct_allocator {
    void *(*malloc)(size_t size);
    void *(*realloc)(void *block, size_t size);
    void (*free)(void *block);
} ct_allocator;

/* Installs allocator (copied; NULL restores libc's). Only while no ctrace
 * object (config, tracer, span, writer) exists: a block must be freed by the
 * allocator that made it. CT_OK, or CT_EINVAL when a function is missing. */
int ct_set_allocator(const ct_allocator *allocator);

/* -- configuration -------------------------------------------------------
 * A ct_config gathers settings from defaults, then the DD_* environment,
 * then explicit calls; ct_tracer_new finalizes and validates it. */
typedef struct ct_config ct_config;

/* A config with defaults; NULL when out of memory. Free with ct_config_free. */
ct_config *ct_config_new(void);
/* Reads DD_SERVICE, DD_ENV, DD_VERSION, DD_TAGS, DD_TRACE_* ... from the
 * environment. Invalid values are reported once on stderr and ignored. */
int ct_config_load_env(ct_config *config);
/* Sets one setting by its environment name (e.g. "DD_SERVICE"), as if it
 * were in the environment. CT_EINVAL for an unknown name or bad value. */
int ct_config_set(ct_config *config, const char *name, const char *value);
/* Accepts NULL. */
void ct_config_free(ct_config *config);

/* -- tracer -------------------------------------------------------------- */
typedef struct ct_tracer ct_tracer;

/* Builds a tracer from a config (copied; the caller may free it after).
 * Returns NULL and sets *rc on failure. The writer thread starts lazily at
 * the first completed trace. */
ct_tracer *ct_tracer_new(const ct_config *config, int *rc);
/* Flushes with the given deadline (ms; <0 waits forever), stops the writer
 * and frees the tracer. Spans still open must have been released. Accepts
 * NULL. */
void ct_tracer_free(ct_tracer *tracer, int timeout_ms);
/* Sends what is buffered now and waits for the attempt (at most timeout_ms,
 * <0 forever). CT_OK when the buffer was delivered or was empty. */
int ct_tracer_flush(ct_tracer *tracer, int timeout_ms);
/* Adds a tag put on every span created afterwards. */
int ct_tracer_set_tag(ct_tracer *tracer, const char *key, size_t key_len, const char *value,
                      size_t value_len);

/* Counters of what the tracer did and dropped; all monotonic. */
typedef struct ct_tracer_stats {
    uint64_t spans_started;
    uint64_t spans_finished;
    uint64_t traces_completed; /* handed to the writer */
    uint64_t traces_dropped;   /* not kept: buffer full, no memory, ... */
    uint64_t spans_dropped;
    uint64_t tags_dropped; /* lost to no memory; the span kept the rest */
    uint64_t traces_sent;  /* acknowledged by the agent */
    uint64_t spans_sent;
    uint64_t payloads_sent;
    uint64_t payloads_failed; /* attempts that failed (retried later) */
    uint64_t bytes_buffered;  /* now, not monotonic */
    uint64_t spans_buffered;  /* now, not monotonic */
} ct_tracer_stats;
void ct_tracer_get_stats(const ct_tracer *tracer, ct_tracer_stats *stats);

/* -- spans --------------------------------------------------------------- */
typedef struct ct_span ct_span;

/* A remote parent: what propagation headers carry. Zero ids = none. */
typedef struct ct_remote_parent {
    uint64_t trace_id_high, trace_id_low;
    uint64_t span_id;
    int sampling_priority;  /* CT_PRIORITY_UNSET when unknown */
    const char *origin;     /* NUL-terminated, may be NULL */
    const char *tracestate; /* the W3C tracestate, NUL-terminated, may be
                                     NULL: kept on the trace so that the other
                                     vendors' entries travel on downstream */
} ct_remote_parent;

#define CT_PRIORITY_UNSET (-128)

/* Options of a new span. NULL strings mean: service from the parent or the
 * tracer, resource = name, no type. Lengths of -1 mean NUL-terminated. */
typedef struct ct_span_options {
    const char *name;
    ptrdiff_t name_len;
    const char *service;
    ptrdiff_t service_len;
    const char *resource;
    ptrdiff_t resource_len;
    const char *type;
    ptrdiff_t type_len;
    const ct_span *parent;          /* local parent, or NULL */
    const ct_remote_parent *remote; /* used when parent is NULL */
    int64_t start_ns;               /* 0: now */
} ct_span_options;

/* Allocates and starts a span; NULL on allocation failure (counted). */
ct_span *ct_span_new(ct_tracer *tracer, const ct_span_options *options);
/* Finishes the span if needed, then frees it. Accepts NULL. */
void ct_span_free(ct_span *span);

/* Sets a string tag (meta) or a number tag (metric), copying key and value.
 * CT_ENOMEM when the tag could not be stored: the span keeps its other tags
 * and the loss is counted in ct_tracer_stats.tags_dropped. */
int ct_span_set_tag(ct_span *span, const char *key, size_t key_len, const char *value,
                    size_t value_len);
int ct_span_set_metric(ct_span *span, const char *key, size_t key_len, double value);
/* Marks the span as an error with the error.type/message/stack tags; any of
 * the three may be NULL. */
int ct_span_set_error(ct_span *span, const char *type, const char *message, const char *stack);
/* Finishes at finish_ns (0: now). Idempotent: CT_ESTATE the second time. */
int ct_span_finish(ct_span *span, int64_t finish_ns);

uint64_t ct_span_id(const ct_span *span);
uint64_t ct_span_trace_id_low(const ct_span *span);
uint64_t ct_span_trace_id_high(const ct_span *span);

#ifdef __cplusplus
}
#endif
#endif /* CTRACE_H */
