/* The stored form of a chunk's spans: one compact msgpack blob per chunk.
 *
 *   [1, [string, ...], [span, ...]]
 *   span  = [service, name, resource, type, span_id, parent_id, start,
 *            duration, error, [key, value, ...], [key, float, ...],
 *            links | nil, events | nil]      (strings are table indexes)
 *   link  = [trace_id, trace_id_high, span_id, flags, tracestate, [k, v, ...]]
 *   event = [time_unix_nano, name, attributes-msgpack-bin | nil]
 *
 * Like the v0.5 intake format, a string used by many spans (service, env,
 * tag keys) is stored once per chunk, which roughly halves the bytes SQLite
 * has to write. The trace id is not repeated: it is a column of the row. */
#ifndef AG_BLOB_H
#define AG_BLOB_H

#include "buf.h"
#include "span.h"
#include "util.h"

#include <stdbool.h>

#define AG_BLOB_PTR_CACHE 256

/* Reusable encoder state (the string-interning table). Zero-init is valid. */
typedef struct {
    struct ag_blob_slot *slots;
    struct ag_blob_ptr_slot *by_pointer; /* direct-mapped, AG_BLOB_PTR_CACHE */
    size_t cap;
    uint64_t pointer_hits, pointer_misses;
    bool pointer_cache_off; /* it mostly missed: v0.4 (see intern) */
    uint32_t generation;    /* slots stamped with another are empty */
    ag_str *strings;
    size_t strings_len, strings_cap;
    ag_buf spans; /* scratch for the span part */
} ag_blob_encoder;

/* Appends the blob of a normalized chunk to out. Never fails. */
void ag_blob_encode(ag_blob_encoder *enc, const ag_trace *t, ag_buf *out);
void ag_blob_encoder_free(ag_blob_encoder *enc);

/* Decodes a blob into t, setting every span's trace_id to trace_id; arrays
 * are allocated in a, strings point into blob (which must outlive t).
 * Returns 0, or -1 if the blob is malformed. */
AG_MUST_CHECK int ag_blob_decode(const void *blob, size_t len, uint64_t trace_id, ag_arena *a,
                                 ag_trace *t);
/* The same, stopping before the next span once the decoded form took more
 * than *decoded bytes of a (so it may pass it by one span; the span
 * array, sized for what the limit can hold, may take as much again): t holds the
 * spans decoded so far, and *decoded is set to the bytes taken. Returns 0
 * (every span), 1 (cut short) or -1 (malformed). */
AG_MUST_CHECK int ag_blob_decode_prefix(const void *blob, size_t len, uint64_t trace_id,
                                        ag_arena *a, ag_trace *t, size_t *decoded);

#endif
