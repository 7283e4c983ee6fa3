/*
 * ctrace_internal.h — the core's API for its language bindings (the CPython
 * extension in src/python), beside the public one of include/ctrace.h.
 *
 * As in libuv (`uv_` public, `uv__` internal), every external name of the
 * core that ctrace.h does not declare carries a double underscore, `ct__`:
 * it may change with the core, and no C program should call it. A binding
 * includes ctrace.h and this header only, and this header includes nothing
 * of the core but ctrace.h: what a binding may use is what is declared
 * below, and nothing else of the core is in its sight.
 *
 * One definition. The part of a module that a binding uses is declared
 * here, in that module's section, and the module's own header (named in
 * the section) includes this one and adds what only the core uses, with
 * the module's design paragraph. What a binding may use:
 *
 * - the span it embeds: `struct ct_span` is complete here so that a
 *   binding's object can hold one by value, with what it contains (shared
 *   strings, tag maps, links); its lifecycle (start, stop, finish, release)
 *   and tag setters work on it. Its fields are read and written through
 *   the ct__span_* accessors, static inline because the binding's hot path
 *   (tracer.trace(), finish, the active-span walk) reads them on every span;
 * - the core's value types and pure helpers: shared strings, tag maps,
 *   byte buffers, the wall clock, ids, the propagation header parsers, and
 *   the tags the tracer adds to a span (for readers);
 * - the trace segment and the tracer as opaque types, through the ct__trace_*
 *   and ct__tracer_* functions (defined in trace.c and tracer.c).
 *
 * Names. Functions and globals follow the rule above, whether they are
 * symbols of the library (the meson test binding_boundary checks nm's list
 * against ctrace.h) or static inline functions of a core header, so that
 * a name alone says whether a C program may call it. Types and macros
 * keep ct_ / CT_ when a
 * core module is built on them (they are the layout of the span a binding
 * embeds and of the modules' own APIs; they are no symbols of the library,
 * so no program that links it can collide with them); the two types that
 * exist only for a binding's calls (ct__tracer_options, ct__error_keys)
 * carry the ct__ of their functions.
 *
 * The functions of the trace segment and tracer sections below exist for
 * the binding and expect what it guarantees: one caller at a time (the
 * GIL); none of them blocks. The others are the core's own and keep the
 * threading rules of their module (its header says them).
 */
#ifndef CT_INTERNAL_H
#define CT_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "ctrace.h"

/* -- process (counters.h) ------------------------------------------------- */

/* 1 when every call into the core holds one lock (the GIL): counts and
 * references then skip locked instructions (counters.h says why). Never
 * changes after the first tracer exists. */
extern int ct__counters_single_lock;

/* Declares that every call into the core holds one lock: sets
 * ct__counters_single_lock. Call once, before the first tracer exists.
 * Can't fail. */
void ct__use_single_lock(void);

/* Reference count increment / decrement; the decrement returns the count
 * before it (1 means the caller dropped the last reference). */
static inline void ct__ref_increment(atomic_uint *count)
{
    if (ct__counters_single_lock)
        atomic_store_explicit(count, atomic_load_explicit(count, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    else atomic_fetch_add_explicit(count, 1, memory_order_relaxed);
}

static inline unsigned ct__ref_decrement(atomic_uint *count)
{
    if (ct__counters_single_lock) {
        unsigned before = atomic_load_explicit(count, memory_order_relaxed);
        atomic_store_explicit(count, before - 1, memory_order_relaxed);
        return before;
    }
    return atomic_fetch_sub_explicit(count, 1, memory_order_acq_rel);
}

/* -- shared strings (shared_string.h) ------------------------------------ */

typedef struct ct_string {
    atomic_uint refcount; /* CT_STRING_STATIC: never freed */
    uint32_t len;
    char data[]; /* len bytes, then a NUL */
} ct_string;

#define CT_STRING_STATIC 0xFFFFFFFFu

/* A new string holding a copy of len bytes (plus a NUL), refcount 1.
 * NULL when out of memory or len > UINT32_MAX. */
ct_string *ct__string_new(const char *bytes, size_t len);

/* Another reference to s. Accepts NULL (returns NULL). */
static inline ct_string *ct__string_ref(ct_string *s)
{
    if (s && atomic_load_explicit(&s->refcount, memory_order_relaxed) != CT_STRING_STATIC)
        ct__ref_increment(&s->refcount);
    return s;
}

/* Frees a string whose last reference was dropped (ct__string_unref). */
void ct__string_free_(ct_string *s);

/* Drops a reference; frees the string at zero. Accepts NULL. Inline: a
 * span drops a handful of references when it dies. */
static inline void ct__string_unref(ct_string *s)
{
    if (!s || atomic_load_explicit(&s->refcount, memory_order_relaxed) == CT_STRING_STATIC) return;
    if (ct__ref_decrement(&s->refcount) == 1) ct__string_free_(s);
}

/* Replaces *slot by value (taking the caller's reference to value) and
 * drops the old one. */
static inline void ct__string_assign(ct_string **slot, ct_string *value)
{
    ct_string *old = *slot;
    *slot = value;
    ct__string_unref(old);
}

/* Equal content? NULLs are equal only to each other. */
static inline int ct__string_equals(const ct_string *a, const char *bytes, size_t len)
{
    return a && a->len == len && memcmp(a->data, bytes, len) == 0;
}

/* -- byte buffers (buffer.h) ---------------------------------------------- */

typedef struct ct_buffer {
    uint8_t *data; /* owned; NULL when empty and never grown */
    size_t len;
    size_t capacity;
    size_t cap; /* maximum len; 0 = none */
} ct_buffer;

/* An empty buffer with no cap. Can't fail (allocates nothing). */
#define CT_BUFFER_INIT \
    {                  \
        NULL, 0, 0, 0  \
    }

/* Frees the memory; the buffer is empty and reusable (its cap is kept).
 * Accepts an already released buffer. */
void ct__buffer_release(ct_buffer *buffer);

/* -- tag maps (tags.h) ---------------------------------------------------- */

typedef struct ct_meta_entry {
    ct_string *key;
    ct_string *value;
} ct_meta_entry;

typedef struct ct_metric_entry {
    ct_string *key;
    double value;
} ct_metric_entry;

/* A hash index over one map's entries: slots hold entry index + 1 (0 is
 * empty). mask + 1 slots, a power of two, kept at most half full. */
typedef struct ct_tag_index {
    uint32_t *slots; /* owned; NULL while the map is small */
    uint32_t mask;
} ct_tag_index;

typedef struct ct_tags {
    ct_meta_entry *meta;
    ct_metric_entry *metrics;
    uint32_t meta_count, meta_capacity;
    uint32_t metric_count, metric_capacity;
    ct_tag_index meta_index, metric_index;
} ct_tags;

#define CT_TAGS_INIT                                   \
    {                                                  \
        NULL, NULL, 0, 0, 0, 0, {NULL, 0}, { NULL, 0 } \
    }

/* Sets meta key to value, taking a new reference to both (the caller keeps
 * its own); a value over CT_TAG_VALUE_MAX (tags.h) is stored truncated.
 * Removes a metric of the same key. CT_OK or CT_ENOMEM (nothing changed). */
int ct__tags_set_meta(ct_tags *tags, ct_string *key, ct_string *value);

/* Lookups by content; NULL / 0 when absent. */
ct_string *ct__tags_get_meta(const ct_tags *tags, const char *key, size_t len);
int ct__tags_get_metric(const ct_tags *tags, const char *key, size_t len, double *value);

/* Drops every reference and frees the arrays; tags is empty afterwards. */
void ct__tags_clear(ct_tags *tags);

/* -- clock (clock.h) ------------------------------------------------------ */

/* Nanoseconds since the epoch. Can't fail. */
static inline int64_t ct__clock_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* -- ids (ids.h) ---------------------------------------------------------- */

/* A random non-zero 64-bit id. Can't fail. */
uint64_t ct__ids_random64(void);

/* The upper half of a new 128-bit trace id for the given epoch seconds. */
static inline uint64_t ct__ids_trace_high(int64_t unix_seconds)
{
    return (uint64_t)(uint32_t)unix_seconds << 32;
}

/* -- propagation header values (propagation.h) ---------------------------- */

/* Pure functions over (pointer, length) byte strings; the limits they
 * apply, ddtrace's, are in propagation.h except this one, which sizes a
 * binding's buffers. */
#define CT_PROP_DD_MEMBER_MAX 256 /* the tracestate dd= member */

/* A key/value pair found by a parser; borrowed for the call. Return 0 to
 * go on, nonzero to stop (the parser then returns that value). */
typedef int (*ct_prop_pair_fn)(void *arg, const char *key, size_t key_len, const char *value,
                               size_t value_len);

/* A decimal uint64 without sign or spaces, 1 to 20 digits, that fits.
 * CT_OK or CT_EINVAL (*out = 0). */
int ct__prop_parse_decimal(const char *text, size_t len, uint64_t *out);

/* 1 to 32 hex digits (either case) as a 128-bit id. CT_OK or CT_EINVAL
 * (*high = *low = 0). */
int ct__prop_parse_hex(const char *text, size_t len, uint64_t *high, uint64_t *low);

/* A traceparent: "vv-<32 hex>-<16 hex>-<2 hex>" in lowercase, version 00
 * exactly 55 characters, other versions (not ff) may carry "-..." after;
 * zero ids are invalid. Leading/trailing spaces and tabs are ignored. */
typedef struct ct_traceparent {
    uint64_t trace_id_high, trace_id_low, parent_id;
    uint8_t flags;
} ct_traceparent;
int ct__prop_parse_traceparent(const char *text, size_t len, ct_traceparent *out);

/* Formats "00-<trace>-<parent>-<01|00>" into out (56 bytes with the NUL).
 * Returns 55. Can't fail. */
size_t ct__prop_format_traceparent(uint64_t trace_id_high, uint64_t trace_id_low,
                                   uint64_t parent_id, int sampled, char *out);

/* x-datadog-tags: "k=v,k2=v2". Keys printable ASCII without space, ',' and
 * '='; values printable ASCII without ','; spaces around pairs trimmed.
 * Longer than CT_PROP_DATADOG_TAGS_MAX: CT_ENOSPC ("extract_max_size");
 * malformed: CT_EINVAL ("decoding_error"); in both cases no pair is
 * reported. Otherwise each pair goes to fn, in order. */
int ct__prop_parse_datadog_tags(const char *text, size_t len, ct_prop_pair_fn fn, void *arg);

/* Appends "k=v" (with a comma when out_len > 0) to out (capacity bytes,
 * NUL kept). CT_EINVAL when the key or value has characters the header
 * cannot carry ("encoding_error"), CT_ENOSPC when the result would pass
 * max_len ("inject_max_size"); out unchanged then. */
int ct__prop_append_datadog_tag(char *out, size_t *out_len, size_t capacity, size_t max_len,
                                const char *key, size_t key_len, const char *value,
                                size_t value_len);

/* The dd= member of tracestate, without "dd=": "s:2;o:rum;p:<hex>;t.dm:-4".
 * Items must be "k:v"; s must be an integer; '~' in o and t.* values reads
 * as '='. Tags (t.x -> _dd.p.x) go to fn with the key prefixed. CT_OK or
 * CT_EINVAL (then nothing was reported and the outputs are unset). */
typedef struct ct_dd_member {
    int has_priority;
    int priority;
    const char *origin;
    size_t origin_len; /* raw, in the input; NULL: none */
    const char *parent;
    size_t parent_len; /* the p: value; NULL: none */
} ct_dd_member;
int ct__prop_parse_dd_member(const char *text, size_t len, ct_dd_member *out, ct_prop_pair_fn fn,
                             void *arg);

/* Appends one item "key:value" of a dd= member to out, as ddtrace encodes
 * it: '=' becomes '~', characters outside 0x20-0x7E and ',', ';', '~'
 * become '_' (in keys also ':' and '='). The member stops growing at
 * CT_PROP_DD_MEMBER_MAX: CT_ENOSPC and out unchanged. */
int ct__prop_append_dd_item(char *out, size_t *out_len, const char *key, size_t key_len,
                            const char *value, size_t value_len);

/* W3C baggage "k=v,k2=v2" (percent-encoded, spaces around trimmed). Each
 * decoded pair goes to fn (decoded bytes, possibly invalid UTF-8 for the
 * caller to repair). At most CT_PROP_BAGGAGE_MAX_ITEMS pairs and
 * CT_PROP_BAGGAGE_MAX_BYTES bytes are taken; the rest is dropped as
 * ddtrace does. An item without '=' or with an empty key or value makes
 * the whole header malformed: CT_EINVAL, nothing reported. scratch must
 * hold len bytes (decoding never grows). */
int ct__prop_parse_baggage(const char *text, size_t len, char *scratch, ct_prop_pair_fn fn,
                           void *arg);

/* -- the span (span.h) ---------------------------------------------------- */

typedef struct ct_trace ct_trace;

typedef struct ct_link {
    uint64_t trace_id_high, trace_id_low, span_id;
    uint32_t flags;        /* bit 31 set when given */
    ct_string *tracestate; /* may be NULL */
    ct_tags attributes;    /* meta only */
} ct_link;

/* The caller owns the memory of a span; the span owns what its fields
 * point to (read and set them with the ct__span_* accessors below). */
struct ct_span {
    ct_trace *trace; /* owned reference; NULL before start */
    uint64_t span_id, parent_id;
    int64_t start_ns;                            /* wall clock, epoch ns */
    int64_t start_monotonic_ns;                  /* 0: measure the duration on wall time */
    int64_t duration_ns;                         /* -1 until finished */
    ct_string *name, *service, *resource, *type; /* owned; resource NULL = name */
    ct_string *parent_service;                   /* owned; NULL for a local root */
    ct_tags tags;
    ct_link *links;
    uint32_t link_count, link_capacity;
    int32_t error;
    uint8_t finished;
    uint8_t local_root;
};

/* What a span starts with. Strings are borrowed (the span takes its own
 * references); service NULL means the parent's, else the tracer's. */
typedef struct ct_span_start_args {
    ct_string *name, *service, *resource, *type;
    const ct_span *parent;          /* local parent or NULL */
    const ct_remote_parent *remote; /* used when parent is NULL; may be NULL */
    int64_t start_ns;               /* 0: now */
} ct_span_start_args;

/* Starts span (caller-owned memory, contents ignored) in tracer. CT_OK, or
 * CT_ENOMEM with span left released (safe to ct__span_release again) and
 * counted in spans_dropped. */
int ct__span_start(ct_span *span, ct_tracer *tracer, const ct_span_start_args *args);

/* Starts a detached span: ddtrace's `Span(...)` built by hand, outside the
 * tracer. It starts a segment of its own (args->parent is ignored; remote
 * as for ct__span_start), with span_id (0: a random one), exactly
 * args->service (no default, no mapping), none of the tracer's tags, and
 * the segment is never sent. Kept apart from ct__span_start so that the
 * hot path does not test for it. Same results as ct__span_start. */
int ct__span_start_detached(ct_span *span, ct_tracer *tracer, const ct_span_start_args *args,
                            uint64_t span_id);

/* Finishes at finish_ns (0: now) and records the span in its segment, which
 * may complete the trace and hand it to the writer. CT_ESTATE if already
 * finished; the span is finished whatever else fails (drops are counted). */
int ct__span_finish_at(ct_span *span, int64_t finish_ns);

/* The first half of ct__span_finish_at: finished, with its duration, but not
 * yet recorded; the segment still counts it open. The caller records it
 * later with ct__span_record_stopped, or gives it up with
 * ct__span_abandon_stopped (trace processors need the finished spans of a
 * segment before any is serialized). CT_ESTATE if already finished. */
int ct__span_stop_at(ct_span *span, int64_t finish_ns);

/* Frees what the span owns; abandons it if unfinished. Idempotent. */
void ct__span_release(ct_span *span);

/* Tag setters on shared strings (the span takes its own references).
 * CT_OK, or CT_ENOMEM when the tag could not be stored: the span keeps its
 * other tags and the loss is counted (ct_tracer_stats.tags_dropped). */
int ct__span_set_meta(ct_span *span, ct_string *key, ct_string *value);
int ct__span_set_metric_s(ct_span *span, ct_string *key, double value);
/* ct__span_set_meta taking the caller's reference to value (released on
 * CT_ENOMEM too): a setter that made value for this call saves a
 * reference and a release per tag. */
int ct__span_set_meta_taking(ct_span *span, ct_string *key, ct_string *value);

/* Adds a link (copied). CT_OK or CT_ENOMEM. A link to the same span id
 * replaces the earlier one, as in ddtrace. */
int ct__span_add_link(ct_span *span, const ct_link *link);

/* The resource as seen by users: the resource, or the name when unset. */
static inline ct_string *ct__span_resource(const ct_span *span)
{
    return span->resource ? span->resource : span->name;
}

/* -- the tags the tracer adds to a span (span_record.h) ------------------- */

/* A string inside a record, or of the tracer: borrowed bytes, no NUL. */
typedef struct ct_record_str {
    const char *ptr;
    uint32_t len;
} ct_record_str;

/* The tags a record implies, keys and values ready to pack. Values point
 * into the context, into this struct (kind TID and DM: the v0.5 encoder
 * interns those by value, not by pointer) or are static. */
enum { CT_IMPLIED_PLAIN, CT_IMPLIED_TID, CT_IMPLIED_DM };
#define CT_IMPLIED_MAX 4
typedef struct ct_implied_tags {
    struct {
        ct_record_str key, value;
        int kind;
    } meta[CT_IMPLIED_MAX];
    struct {
        ct_record_str key;
        double value;
    } metrics[CT_IMPLIED_MAX];
    uint32_t meta_count, metric_count;
    char tid_hex[16];
    char dm[12];
} ct_implied_tags;

/* A few tags added to a record as it is written, without allocating: the
 * tags a span's place in its trace implies, or the chunk-level tags put on
 * a chunk's first span. Keys and values are borrowed. An extra tag replaces
 * a tag of the same key in the record. */
#define CT_EXTRA_TAGS_MAX 24
typedef struct ct_extra_tags {
    struct {
        const char *key, *value;
        uint32_t key_len, value_len;
    } meta[CT_EXTRA_TAGS_MAX];
    struct {
        const char *key;
        uint32_t key_len;
        double value;
    } metrics[CT_EXTRA_TAGS_MAX];
    uint32_t meta_count, metric_count;
} ct_extra_tags;

/* The tags the tracer adds to this span as of now, for readers (ddtrace's
 * get_tag/get_metrics show them): what its record will imply (into
 * implied) and the rare derived ones (into extra), computed from the span's
 * flags and its segment's decision rather than stored, so the hot path
 * never writes them (span_record.h). An open local root shows runtime-id
 * and process_id; a finished span also `_dd.top_level`, `_dd.base_service`,
 * `_dd.origin`, and a finished local root the chunk's sampling tags, as in
 * ddtrace. A detached span has none. Reads the segment without its lock:
 * for callers that serialize every call (the Python layer). Can't fail. */
void ct__span_tracer_tags(const ct_span *span, ct_extra_tags *extra, ct_implied_tags *implied);

/* -- tracer -------------------------------------------------------------- */

/* Options of a binding's tracer, beyond the config. */
typedef struct ct__tracer_options {
    int lock_free;               /* every call made under one lock (the GIL) */
    const char *language;        /* "python" */
    const char *default_service; /* when DD_SERVICE is unset */
} ct__tracer_options;

/* ct_tracer_new with options (NULL: defaults). NULL and *rc on failure. */
ct_tracer *ct__tracer_new_with(const ct_config *config, const ct__tracer_options *options, int *rc);

/* Stops sending: spans after this are not sent. Flushes with a deadline
 * (ms, <0 forever). The tracer stays valid until ct_tracer_free. */
void ct__tracer_shutdown(ct_tracer *tracer, int timeout_ms);

/* Adds (or replaces) the DD_SERVICE_MAPPING entry from -> to
 * (NUL-terminated, copied). CT_OK or CT_ENOMEM. Not safe while other
 * threads start spans of this tracer: call it before they do, or under the
 * caller's lock (the GIL). */
int ct__tracer_map_service_to(ct_tracer *tracer, const char *from, const char *to);

/* Puts a string (meta) or number (metric) tag on every span started
 * afterwards (the span takes its own references). CT_OK or CT_ENOMEM. */
int ct__tracer_set_global_meta(ct_tracer *tracer, ct_string *key, ct_string *value);
int ct__tracer_set_global_metric(ct_tracer *tracer, ct_string *key, double value);

/* Sending on or off (spans of a disabled tracer are not sent). */
int ct__tracer_enabled(const ct_tracer *tracer);
void ct__tracer_set_enabled(ct_tracer *tracer, int enabled);

/* The default service (borrowed; never NULL) and the agent URL (borrowed,
 * NUL-terminated), as finalized from the config. */
ct_string *ct__tracer_service(const ct_tracer *tracer);
const char *ct__tracer_agent_url(const ct_tracer *tracer);

/* Are new trace ids 128-bit (DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED)? */
int ct__tracer_trace_id_128(const ct_tracer *tracer);

/* The keys of the error tags (error.type, error.message, error.stack),
 * made once per tracer; borrowed. */
typedef struct ct__error_keys {
    ct_string *type, *message, *stack;
} ct__error_keys;
ct__error_keys ct__tracer_error_keys(const ct_tracer *tracer);

/* What the in-memory writer (_CT_IN_MEMORY_WRITER=1) holds, encoded as the
 * agent would receive it (api_version 4 or 5) into payload (caller-owned,
 * appended to), with its trace count in *chunks; the writer is emptied.
 * CT_OK, CT_ESTATE when the tracer has another writer, CT_ENOMEM. */
int ct__tracer_take_payload(ct_tracer *tracer, int api_version, ct_buffer *payload,
                            uint32_t *chunks);

/* -- trace segment ------------------------------------------------------- */

/* Another reference to the segment (the caller's to drop with
 * ct__trace_unref): a span holds one, and so can a binding's object that
 * describes the segment after its spans are gone. Out of line because the
 * segment is opaque here; a child span's start pays the call. */
ct_trace *ct__trace_ref(ct_trace *trace);
/* Drops a reference; the last one frees the segment (unsent records of a
 * segment that never completed are counted as dropped). Accepts NULL. */
void ct__trace_unref(ct_trace *trace);

/* The sampling priority, CT_PRIORITY_UNSET until decided. */
int ct__trace_sampling_priority(const ct_trace *trace);
/* Sets the sampling priority and, unless NULL, the decision maker (copied;
 * "-4" for the user's keep/drop). Can't fail: a decision maker that cannot
 * be copied is left unset. */
void ct__trace_set_priority(ct_trace *trace, int priority, const char *decision_maker);
/* Asks the sampler for a priority if nobody decided one yet (manual
 * keep/drop, a remote parent), looking at the live local root if there is
 * one. Done when the first chunk is sent, or earlier by propagation, which
 * must send a decision. Can't fail. */
void ct__trace_decide_sampling(ct_trace *trace);

/* The trace-level `_dd.p.*` tags: read (borrowed) and set (the segment
 * takes its own references; CT_OK or CT_ENOMEM). */
const ct_tags *ct__trace_propagated(const ct_trace *trace);
int ct__trace_set_propagated(ct_trace *trace, ct_string *key, ct_string *value);
/* The `_dd.p.dm` value as of now (borrowed), or NULL when none. */
const char *ct__trace_decision_maker(const ct_trace *trace);

/* The remote parent's `_dd.origin` and W3C tracestate (borrowed), NULL
 * when none. */
ct_string *ct__trace_origin(const ct_trace *trace);
ct_string *ct__trace_tracestate(const ct_trace *trace);

/* Spans of the segment started and not yet recorded or abandoned. */
uint32_t ct__trace_open_spans(const ct_trace *trace);

/* -- the embedded span --------------------------------------------------- */

/* The span's segment (borrowed), NULL before start. */
static inline ct_trace *ct__span_trace(const ct_span *span) { return span->trace; }

static inline int ct__span_finished(const ct_span *span) { return span->finished; }
static inline int ct__span_local_root(const ct_span *span) { return span->local_root; }
static inline uint64_t ct__span_id(const ct_span *span) { return span->span_id; }

/* 0 for a root. Setting it only changes what the span reports. */
static inline uint64_t ct__span_parent_id(const ct_span *span) { return span->parent_id; }
static inline void ct__span_set_parent_id(ct_span *span, uint64_t id) { span->parent_id = id; }

/* Wall-clock start, epoch ns. Setting it makes the duration come from wall
 * time too (the monotonic start no longer applies). */
static inline int64_t ct__span_start_ns(const ct_span *span) { return span->start_ns; }
static inline void ct__span_set_start_ns(ct_span *span, int64_t ns)
{
    span->start_ns = ns;
    span->start_monotonic_ns = 0;
}

/* -1 until finished. */
static inline int64_t ct__span_duration_ns(const ct_span *span) { return span->duration_ns; }
static inline void ct__span_set_duration_ns(ct_span *span, int64_t ns) { span->duration_ns = ns; }

static inline int ct__span_error(const ct_span *span) { return span->error; }
static inline void ct__span_set_error(ct_span *span, int error) { span->error = error; }

/* The strings (borrowed; service, resource and type may be NULL, and
 * ct__span_resource falls back to the name). The setters take the caller's
 * reference to value (NULL clears) and drop the old one. */
static inline ct_string *ct__span_name(const ct_span *span) { return span->name; }
static inline ct_string *ct__span_service(const ct_span *span) { return span->service; }
static inline ct_string *ct__span_type(const ct_span *span) { return span->type; }
static inline void ct__span_set_name(ct_span *span, ct_string *value)
{
    ct__string_assign(&span->name, value);
}
static inline void ct__span_set_service(ct_span *span, ct_string *value)
{
    ct__string_assign(&span->service, value);
}
static inline void ct__span_set_resource(ct_span *span, ct_string *value)
{
    ct__string_assign(&span->resource, value);
}
static inline void ct__span_set_type(ct_span *span, ct_string *value)
{
    ct__string_assign(&span->type, value);
}

/* The span's own tags, for reading (set them with ct__span_set_meta & co). */
static inline const ct_tags *ct__span_tags(const ct_span *span) { return &span->tags; }

/* The span's links, in order (ct__span_add_link adds them). */
static inline uint32_t ct__span_link_count(const ct_span *span) { return span->link_count; }
static inline const ct_link *ct__span_link(const ct_span *span, uint32_t i)
{
    return &span->links[i];
}

/* A span stopped with ct__span_stop_at is recorded in its segment (which
 * may complete it) or abandoned (never sent, counted as dropped). */
void ct__span_record_stopped(ct_span *span);
void ct__span_abandon_stopped(ct_span *span);

#endif
