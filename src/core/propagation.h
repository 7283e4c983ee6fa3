/*
 * propagation — parsing and formatting the values of distributed-tracing
 * headers: Datadog (x-datadog-*), W3C trace context (traceparent,
 * tracestate's dd= member), B3 and W3C baggage.
 *
 * Pure functions over (pointer, length) byte strings: no allocation, no
 * global state, no Python. Every parser either accepts its whole input and
 * fills its outputs, or returns CT_EINVAL and leaves the outputs in a
 * defined "nothing extracted" state, so a malformed header can never yield
 * a half-valid context. Key/value lists are reported through a callback
 * (the caller decides where they go) and are only reported once the whole
 * value was validated. Deciding which style wins is the caller's job
 * (ddtrace.propagation.http); these are the pieces a fuzzer can target.
 */
#ifndef CT_PROPAGATION_H
#define CT_PROPAGATION_H

#include <stddef.h>
#include <stdint.h>

#include "ctrace.h"

/* Limits of ddtrace. */
#define CT_PROP_DATADOG_TAGS_MAX 512 /* DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH */
#define CT_PROP_DD_MEMBER_MAX 256    /* the tracestate dd= member */
#define CT_PROP_BAGGAGE_MAX_ITEMS 64
#define CT_PROP_BAGGAGE_MAX_BYTES 8192 /* ddtrace 4.x; the W3C spec says 8192 too */

/* A key/value pair found by a parser; borrowed for the call. Return 0 to
 * go on, nonzero to stop (the parser then returns that value). */
typedef int (*ct_prop_pair_fn)(void *arg, const char *key, size_t key_len, const char *value,
                               size_t value_len);

/* A decimal uint64 without sign or spaces, 1 to 20 digits, that fits.
 * CT_OK or CT_EINVAL (*out = 0). */
int ct_prop_parse_decimal(const char *text, size_t len, uint64_t *out);

/* 1 to 32 hex digits (either case) as a 128-bit id. CT_OK or CT_EINVAL
 * (*high = *low = 0). */
int ct_prop_parse_hex(const char *text, size_t len, uint64_t *high, uint64_t *low);

/* A traceparent: "vv-<32 hex>-<16 hex>-<2 hex>" in lowercase, version 00
 * exactly 55 characters, other versions (not ff) may carry "-..." after;
 * zero ids are invalid. Leading/trailing spaces and tabs are ignored. */
typedef struct ct_traceparent {
    uint64_t trace_id_high, trace_id_low, parent_id;
    uint8_t flags;
} ct_traceparent;
int ct_prop_parse_traceparent(const char *text, size_t len, ct_traceparent *out);

/* Formats "00-<trace>-<parent>-<01|00>" into out (56 bytes with the NUL).
 * Returns 55. Can't fail. */
size_t ct_prop_format_traceparent(uint64_t trace_id_high, uint64_t trace_id_low, uint64_t parent_id,
                                  int sampled, char *out);

/* x-datadog-tags: "k=v,k2=v2". Keys printable ASCII without space, ',' and
 * '='; values printable ASCII without ','; spaces around pairs trimmed.
 * Longer than CT_PROP_DATADOG_TAGS_MAX: CT_ENOSPC ("extract_max_size");
 * malformed: CT_EINVAL ("decoding_error"); in both cases no pair is
 * reported. Otherwise each pair goes to fn, in order. */
int ct_prop_parse_datadog_tags(const char *text, size_t len, ct_prop_pair_fn fn, void *arg);

/* Appends "k=v" (with a comma when out_len > 0) to out (capacity bytes,
 * NUL kept). CT_EINVAL when the key or value has characters the header
 * cannot carry ("encoding_error"), CT_ENOSPC when the result would pass
 * max_len ("inject_max_size"); out unchanged then. */
int ct_prop_append_datadog_tag(char *out, size_t *out_len, size_t capacity, size_t max_len,
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
int ct_prop_parse_dd_member(const char *text, size_t len, ct_dd_member *out, ct_prop_pair_fn fn,
                            void *arg);

/* Appends one item "key:value" of a dd= member to out, as ddtrace encodes
 * it: '=' becomes '~', characters outside 0x20-0x7E and ',', ';', '~'
 * become '_' (in keys also ':' and '='). The member stops growing at
 * CT_PROP_DD_MEMBER_MAX: CT_ENOSPC and out unchanged. */
int ct_prop_append_dd_item(char *out, size_t *out_len, const char *key, size_t key_len,
                           const char *value, size_t value_len);

/* W3C baggage "k=v,k2=v2" (percent-encoded, spaces around trimmed). Each
 * decoded pair goes to fn (decoded bytes, possibly invalid UTF-8 for the
 * caller to repair). At most CT_PROP_BAGGAGE_MAX_ITEMS pairs and
 * CT_PROP_BAGGAGE_MAX_BYTES bytes are taken; the rest is dropped as
 * ddtrace does. An item without '=' or with an empty key or value makes
 * the whole header malformed: CT_EINVAL, nothing reported. scratch must
 * hold len bytes (decoding never grows). */
int ct_prop_parse_baggage(const char *text, size_t len, char *scratch, ct_prop_pair_fn fn,
                          void *arg);

#endif
