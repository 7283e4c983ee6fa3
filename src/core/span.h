/*
 * span — one timed operation, as it lives while it runs.
 *
 * The caller owns the memory of a ct_span (the Python Span object embeds
 * one); the span holds a reference to its trace segment and to its shared
 * strings. ct_span_finish stamps the duration and serializes the span into
 * a flat record appended to its segment (span_record.h), so everything the
 * agent will see is fixed at finish; the live span stays readable until
 * ct__span_release. Releasing a span that was never finished abandons it:
 * the rest of its trace is still sent, and the span is counted as dropped.
 *
 * The struct, what it contains and the functions a binding calls are
 * declared in ctrace_internal.h; this header adds what only the core uses.
 */
#ifndef CT_SPAN_H
#define CT_SPAN_H

#include <stdint.h>

#include "ctrace.h"
#include "ctrace_internal.h" /* struct ct_span, its lifecycle and setters */
#include "shared_string.h"
#include "tags.h"

/* Counts one tag of span lost to an allocation failure before it reached a
 * setter (its key or value could not be copied); returns CT_ENOMEM. */
int ct__span_tag_lost(ct_span *span);

/* Appends the span's record (span_record.h) to out, with the tags its
 * place in the trace implies and the tags already in extra. When the span
 * opens a chunk, chunk is the chunk's sampling decision and chunk_flags the
 * CT_RECORD_* flags it implies (else NULL and 0). extra is the caller's
 * scratch: the derived tags are appended to it, so it is changed (it is
 * not copied: it is over a kilobyte and this runs once per span). CT_OK or
 * CT_ENOMEM/CT_ENOSPC (out unchanged). */
struct ct_record_chunk;
int ct__span_serialize(const ct_span *span, struct ct_extra_tags *extra,
                       const struct ct_record_chunk *chunk, uint32_t chunk_flags, ct_buffer *out);

#endif
