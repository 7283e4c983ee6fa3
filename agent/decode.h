/* Decoding of trace payloads: Datadog v0.3/v0.4 (msgpack; JSON through
 * json2mp.h) and v0.5 (string table + 12-element span arrays).
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

/* Limits that keep a hostile payload from costing more than its size. */
#define AG_DECODE_MAX_DEPTH 32          /* nesting levels inside a span */
#define AG_DECODE_MAX_SPAN_OBJECTS 1000000 /* msgpack objects in one span */

/* Decodes body (len bytes, msgpack) of the given version.
 * Returns 0 when every chunk decoded and every callback returned 0;
 * -1 with a one-line reason in err (errlen > 0) on malformed input, or the
 * callback's non-zero value. Chunks already passed to the callback before
 * an error are the caller's to discard. Never reads past len. */
int ag_decode(ag_version version, const char *body, size_t len,
              ag_arena *scratch, ag_chunk_fn fn, void *ctx,
              char *err, size_t errlen);

/* Converts a JSON document (an array of traces) into the equivalent msgpack
 * so it can go through ag_decode. Integers keep their 64-bit precision.
 * Appends to out (owned by the caller). Returns 0, or -1 with a reason. */
int ag_json_to_msgpack(const char *json, size_t len, ag_buf *out,
                       char *err, size_t errlen);

#endif
