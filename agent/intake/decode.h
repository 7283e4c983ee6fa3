/* Decoding of trace payloads: Datadog v0.3/v0.4 (msgpack; JSON is first
 * converted to msgpack by ag_json_to_msgpack, below, in json2mp.c) and v0.5
 * (string table + 12-element span arrays).
 *
 * The decoder walks the payload one chunk at a time and hands each decoded
 * chunk to a callback, so memory stays proportional to one chunk plus the
 * body, never to the number of objects in the payload. Every field is
 * type-checked as the Datadog agent's decoder does (nil is the zero value,
 * ints where uints are expected are cast, metrics must be float64 or
 * integers); normalization is a separate step (normalize.h). */
#ifndef AG_DECODE_H
#define AG_DECODE_H

#include "buf.h"
#include "span.h"

typedef enum {
    AG_V03 = 3,
    AG_V04 = 4,
    AG_V05 = 5,
} ag_version;

/* Called once per decoded chunk. The chunk and every string it points to
 * stay valid until the callback returns (the arena is reset afterwards).
 * Return 0 to continue; non-zero stops decoding and is returned by
 * ag_decode after the callback wrote a reason into err. */
typedef int (*ag_chunk_fn)(void *ctx, ag_trace *chunk, char *err, size_t errlen);

/* Limits that keep a hostile payload from costing more than its size,
 * the same in every version. A span over the object limit is dropped and
 * counted (the rest of its payload is kept); nesting deeper than the depth
 * limit (v0.3/v0.4 only can nest) refuses the payload. */
#define AG_DECODE_MAX_DEPTH 32             /* nesting levels inside a span */
#define AG_DECODE_MAX_SPAN_OBJECTS 1000000 /* msgpack objects in one span */

/* ag_decode's return when the decoded form would pass the budget. */
#define AG_DECODE_OVER_BUDGET (-2)

typedef struct {
    /* in: what the decoded form (span arrays, tags, the v0.5 string table,
     * msgpack-c's objects for links and events) may be charged to; NULL is
     * unlimited. Everything charged is released before ag_decode returns. */
    ag_budget *budget;
    /* out */
    uint64_t dropped_spans; /* over AG_DECODE_MAX_SPAN_OBJECTS */
    size_t decoded_bytes;   /* the most the decoded form held at once;
                                 on AG_DECODE_OVER_BUDGET, what it needed */
} ag_decode_opts;

/* Decodes body (len bytes, msgpack) of the given version.
 * Returns 0 when every chunk decoded and every callback returned 0;
 * -1 with a one-line reason in err (errlen > 0) on malformed input,
 * AG_DECODE_OVER_BUDGET (with a reason) when opts->budget could not cover
 * the decoded form, or the callback's non-zero value. Chunks already passed
 * to the callback before an error are the caller's to discard. Never reads
 * past len. opts may be NULL (no budget, nothing reported). */
int ag_decode(ag_version version, const char *body, size_t len, ag_arena *scratch, ag_chunk_fn fn,
              void *ctx, ag_decode_opts *opts, char *err, size_t errlen);

/* Converts a JSON document (an array of traces) into the equivalent msgpack
 * so it can go through ag_decode. Integers keep their 64-bit precision.
 * Appends to out (owned by the caller). Returns 0, or -1 with a reason. */
int ag_json_to_msgpack(const char *json, size_t len, ag_buf *out, char *err, size_t errlen);

#endif
