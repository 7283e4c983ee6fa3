/*
 * span_record — the compact, flat form of a finished span.
 *
 * When a span finishes, everything the agent will need of it (ids, times,
 * strings, tags, links) is copied into one contiguous record appended to its
 * segment's buffer. The live span can then be freed at once, whatever the
 * state of the rest of its trace, and a completed segment is just a byte
 * string: handing it to the writer is one memcpy, and the writer thread can
 * encode it (v0.5 or v0.4, or both after a fallback) without touching
 * anything the application owns. Records never leave the process, so they
 * use native byte order and need no versioning.
 *
 * Implied tags. Most tags the tracer itself adds are the same on every
 * trace (language, runtime-id, process_id) or follow from a few numbers
 * (_dd.p.tid from the trace id, _dd.p.dm and _dd.agent_psr from the
 * sampling decision, _sampling_priority_v1, _dd.top_level). A record does
 * not carry them as strings: header.flags says which ones it implies, a
 * chunk's first record carries the decision in a ct_record_chunk, and the
 * encoder writes them on the writer thread (ct__record_implied). That takes
 * some 800 instructions and ~100 bytes off every trace on the application
 * thread. A record never holds an own tag of an implied key (the writer of
 * the record drops it: the tracer's value wins, as ddtrace's does).
 * The types of the implied and extra tags are declared in
 * ctrace_internal.h: a binding reads them (ct__span_tracer_tags).
 *
 * Layout of one record (all integers native-endian, unaligned access is done
 * with memcpy by the reader):
 *   ct_record_header
 *   ct_record_chunk                      only when flags has CHUNK_HEAD
 *   str name, str service, str resource, str type
 *   meta_count   x (str key, str value)
 *   metric_count x (str key, double value)
 *   link_count   x (u64 trace_id_high, u64 trace_id_low, u64 span_id,
 *                   u32 flags, str tracestate, u32 attribute_count,
 *                   attribute_count x (str key, str value))
 * where str = u32 length + bytes (no NUL).
 */
#ifndef CT_SPAN_RECORD_H
#define CT_SPAN_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buffer.h"
#include "ctrace_internal.h" /* ct_record_str, ct_extra_tags, ct_implied_tags */

typedef struct ct_record_header {
    uint32_t size; /* bytes of the whole record, header included */
    uint32_t meta_count;
    uint32_t metric_count;
    uint32_t link_count;
    uint64_t trace_id_low, trace_id_high;
    uint64_t span_id, parent_id;
    int64_t start_ns, duration_ns;
    int32_t error;
    uint32_t flags; /* CT_RECORD_*: the tags the record implies */
} ct_record_header;

#define CT_RECORD_LOCAL_ROOT 1u /* runtime-id, process_id */
#define CT_RECORD_TOP_LEVEL 2u  /* _dd.top_level = 1 */
#define CT_RECORD_CHUNK_HEAD \
    4u                          /* a chunk's first span: language, _dd.p.tid
                                    (when the high bits are set),
                                    _sampling_priority_v1 */
#define CT_RECORD_AUTO_DM 8u    /* _dd.p.dm = "-<mechanism>" (chunk head) */
#define CT_RECORD_AGENT_PSR 16u /* _dd.agent_psr = rate (chunk head) */

/* The sampling decision a chunk's first record carries. */
typedef struct ct_record_chunk {
    int32_t priority;
    uint32_t mechanism;
    double rate;
} ct_record_chunk;

typedef struct ct_record_link {
    uint64_t trace_id_high, trace_id_low, span_id;
    uint32_t flags; /* bit 31 set when flags were given */
    ct_record_str tracestate;
    uint32_t attribute_count;
    const uint8_t *attributes; /* attribute_count x (str, str), read with
                                  ct__record_read_str */
} ct_record_link;

/* A cursor over one record. All pointers point into the record's bytes,
 * which must outlive the reader. */
typedef struct ct_record_reader {
    ct_record_header header;
    ct_record_chunk chunk; /* zeros unless flags has CHUNK_HEAD */
    ct_record_str name, service, resource, type;
    const uint8_t *meta;    /* first meta pair */
    const uint8_t *metrics; /* first metric pair */
    const uint8_t *links;   /* first link */
    const uint8_t *end;     /* one past the record */
} ct_record_reader;

/* Parses the record starting at data (at most available bytes). Returns the
 * record's size, or 0 when the bytes do not hold a whole valid record (a
 * bug, never expected: records are written by this process). */
size_t ct__record_open(ct_record_reader *reader, const uint8_t *data, size_t available);

/* Reads a str at *cursor and advances the cursor. Can't fail on records
 * accepted by ct__record_open. */
ct_record_str ct__record_read_str(const uint8_t **cursor);
/* Reads a double / u32 / u64 at *cursor and advances it. */
double ct__record_read_double(const uint8_t **cursor);
uint32_t ct__record_read_u32(const uint8_t **cursor);
uint64_t ct__record_read_u64(const uint8_t **cursor);
/* Reads the link at *cursor and advances past its attributes. */
void ct__record_read_link(const uint8_t **cursor, ct_record_link *link);

/* What implied tags take from the process, not from the record: the
 * tracer's language and runtime-id (valid while the encoder runs) and pid.
 * Without a context (NULL) those three are left out. */
typedef struct ct_record_context {
    ct_record_str language, runtime_id;
    double process_id;
} ct_record_context;

/* Fills out with the tags r implies. Can't fail. */
void ct__record_implied(const ct_record_reader *r, const ct_record_context *context,
                        ct_implied_tags *out);

/* Would a record with these flags (and trace_id_high) imply key, as a meta
 * (meta=1) or a metric (meta=0)? Writers drop such own tags. Inline for
 * the common answer (no flags: no), asked once per own tag. */
int ct__record_implies_(uint32_t flags, uint64_t trace_id_high, int meta, const char *key,
                        size_t len);

/* The lengths of the keys implied as meta (language, _dd.p.dm: 8,
 * _dd.p.tid: 9, runtime-id: 10) and as metrics (process_id: 10,
 * _dd.agent_psr, _dd.top_level: 13, _sampling_priority_v1: 21), as bit
 * masks: most own keys are rejected by their length alone. */
#define CT_IMPLIED_META_LENGTHS ((1u << 8) | (1u << 9) | (1u << 10))
#define CT_IMPLIED_METRIC_LENGTHS ((1u << 10) | (1u << 13) | (1u << 21))

static inline int ct__record_implies(uint32_t flags, uint64_t trace_id_high, int meta,
                                     const char *key, size_t len)
{
    uint32_t lengths = meta ? CT_IMPLIED_META_LENGTHS : CT_IMPLIED_METRIC_LENGTHS;
    return flags && len < 32 && ((lengths >> len) & 1) &&
           ct__record_implies_(flags, trace_id_high, meta, key, len);
}

/* Adds to extra (silently ignored past CT_EXTRA_TAGS_MAX, a bug). Inline:
 * a root span gets a dozen of them. */
static inline void ct__extra_meta(ct_extra_tags *extra, const char *key, size_t key_len,
                                  const char *value, size_t value_len)
{
    if (extra->meta_count == CT_EXTRA_TAGS_MAX) return;
    extra->meta[extra->meta_count].key = key;
    extra->meta[extra->meta_count].key_len = (uint32_t)key_len;
    extra->meta[extra->meta_count].value = value;
    extra->meta[extra->meta_count].value_len = (uint32_t)value_len;
    extra->meta_count++;
}

static inline void ct__extra_metric(ct_extra_tags *extra, const char *key, size_t key_len,
                                    double value)
{
    if (extra->metric_count == CT_EXTRA_TAGS_MAX) return;
    extra->metrics[extra->metric_count].key = key;
    extra->metrics[extra->metric_count].key_len = (uint32_t)key_len;
    extra->metrics[extra->metric_count].value = value;
    extra->metric_count++;
}

/* Is key among extra's meta (meta=1) or metrics (meta=0)? Inline for the
 * common answer (no extra tags: no), asked once per own tag. */
int ct__extra_has_(const ct_extra_tags *extra, int meta, const char *key, size_t len);

static inline int ct__extra_has(const ct_extra_tags *extra, int meta, const char *key, size_t len)
{
    return extra && (meta ? extra->meta_count : extra->metric_count) &&
           ct__extra_has_(extra, meta, key, len);
}

/* Is an own tag with this key left out of a record: replaced by one of
 * extra's (NULL: none) or implied by the record's flags? Writers of
 * records ask it once per own tag. */
static inline int ct__record_drops(const ct_extra_tags *extra, uint32_t flags,
                                   uint64_t trace_id_high, int meta, const char *key, size_t len)
{
    return ct__extra_has(extra, meta, key, len) ||
           ct__record_implies(flags, trace_id_high, meta, key, len);
}

/* Appends to out a copy of the record opened by reader, made a
 * chunk's first record: with `flags` added to its flags, chunk as its
 * decision, and extra tags added (own tags of the same keys, or of keys the
 * new flags imply, are dropped). CT_OK, or CT_ENOMEM / CT_ENOSPC with out
 * unchanged. */
int ct__record_rewrite(const ct_record_reader *reader, const ct_extra_tags *extra, uint32_t flags,
                       const ct_record_chunk *chunk, ct_buffer *out);

/* Inline forms of ct__record_read_str / ct__record_read_double for hot loops
 * (the encoders): same contract. */
static inline ct_record_str ct__record_next_str(const uint8_t **cursor)
{
    ct_record_str s;
    memcpy(&s.len, *cursor, sizeof s.len);
    s.ptr = (const char *)*cursor + sizeof s.len;
    *cursor += sizeof s.len + s.len;
    return s;
}

static inline double ct__record_next_double(const uint8_t **cursor)
{
    double value;
    memcpy(&value, *cursor, sizeof value);
    *cursor += sizeof value;
    return value;
}

/* Writing: appends a str (u32 length + bytes) to a buffer. CT_OK,
 * CT_ENOMEM or CT_ENOSPC with the buffer unchanged. Inline: it runs a dozen
 * times per span. */
static inline int ct__record_put_str(ct_buffer *buffer, const char *ptr, size_t len)
{
    uint32_t len32 = (uint32_t)len;
    if (buffer->capacity - buffer->len < sizeof len32 + len) {
        int rc = ct__buffer_reserve(buffer, sizeof len32 + len);
        if (rc != CT_OK) return rc;
    }
    memcpy(buffer->data + buffer->len, &len32, sizeof len32);
    ct__copy_small(buffer->data + buffer->len + sizeof len32, ptr, len);
    buffer->len += sizeof len32 + len;
    return CT_OK;
}

#endif
