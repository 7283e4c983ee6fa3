/* A JSON writer that appends to an ag_buf.
 *
 * The query API writes its answers directly into one buffer instead of
 * building a tree (as cJSON would) and printing it: faster, and no second
 * copy of a large trace. Separators are written by the caller; these
 * helpers only encode values. Never fail (buf.h aborts on out of memory). */
#ifndef AG_JSONW_H
#define AG_JSONW_H

#include "buf.h"

#include <stdbool.h>

/* A JSON string; invalid UTF-8 bytes become U+FFFD, controls are escaped. */
void ag_jw_str(ag_buf *b, const char *s, size_t len);
void ag_jw_cstr(ag_buf *b, const char *s);
/* "key": (with the colon). */
void ag_jw_key(ag_buf *b, const char *key);
void ag_jw_u64(ag_buf *b, uint64_t v);
void ag_jw_i64(ag_buf *b, int64_t v);
/* Shortest round-tripping form; NaN and infinities become null. */
void ag_jw_double(ag_buf *b, double v);
/* "0123...": 32 lowercase hex digits of a 128-bit id. */
void ag_jw_trace_id(ag_buf *b, uint64_t high, uint64_t low);
/* "0123...": 16 lowercase hex digits. */
void ag_jw_span_id(ag_buf *b, uint64_t id);

#endif
