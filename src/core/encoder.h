/*
 * encoder — span records to the Datadog agent's msgpack payloads.
 *
 * Input is a run of chunk frames (writer.h): each frame is one trace chunk,
 * each record one span (span_record.h). Output is the body of a request to
 * /v0.4/traces (an array of traces, each an array of span maps) or
 * /v0.5/traces ([string table, traces], each span a 12-element array of
 * string indexes and numbers). Both are produced from the same records, so
 * the writer can fall back from v0.5 to v0.4 and re-encode what it holds.
 *
 * trace_id goes out as its low 64 bits; the high bits travel in the meta
 * `_dd.p.tid` on the chunk's first span. The tags a record implies
 * (span_record.h: language, runtime-id, _dd.p.tid, the sampling decision,
 * _dd.top_level, process_id) are written here, after the record's own. Metrics are
 * always float64. Span links go as `span_links` in v0.4 and as JSON in the
 * meta `_dd.span_links` in v0.5 (which has no place for them).
 */
#ifndef CT_ENCODER_H
#define CT_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "span_record.h"

typedef enum ct_api_version {
    CT_API_V04 = 4,
    CT_API_V05 = 5,
} ct_api_version;

/* Appends to out the payload for chunk_count frames starting at frames
 * (frames_len bytes), with the implied tags that need the process's
 * context (NULL: without language, runtime-id and process_id). CT_OK,
 * CT_ENOMEM, or CT_EINVAL for malformed frames (a bug). On failure out may
 * hold a partial payload: clear it. */
int ct__encode_payload(ct_api_version version, const ct_record_context *context,
                       const uint8_t *frames, size_t frames_len, uint32_t chunk_count,
                       ct_buffer *out);

#endif
