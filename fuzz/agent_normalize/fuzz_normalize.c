/* libFuzzer target for ctrace-agent's normalizer (normalize.h), fed
 * directly: the agent_decode target reaches it only through valid msgpack,
 * this one builds chunks from raw bytes, so every string, id and time the
 * decoder could ever hand over gets here (invalid UTF-8, huge lengths,
 * negative and overflowing times, zero and mismatched ids).
 *
 * Input layout, read front to back by a small cursor (missing bytes read
 * as zero): a byte for the span count (1-4) and the language, then per
 * span a byte of id flags, start and duration (8 bytes each), service,
 * name, resource, type, up to 7 meta pairs, up to 3 metrics, one link and
 * one event. A string is a length byte (255: two more bytes of length)
 * and that many bytes. After normalization the output must keep the
 * agent's promises, checked with abort(): valid UTF-8 everywhere, the
 * length limits, non-empty service/name/resource, times that do not
 * overflow, and an impossible http.status_code gone. Replayed without
 * clang by ../replay.c (meson test agent_normalize_corpus). */
#include "normalize.h"
#include "utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz_target.h"

typedef struct cursor {
    const uint8_t *data;
    size_t size, at;
    void *owned[256]; /* the strings' heap blocks, freed after the run */
    size_t owned_count;
} cursor;

static uint8_t take_byte(cursor *c) { return c->at < c->size ? c->data[c->at++] : 0; }

static uint64_t take_u64(cursor *c)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | take_byte(c);
    return v;
}

/* Strings are copied to exact-size heap blocks (not into the arena) so
 * AddressSanitizer catches a read one byte past the end, as it would in
 * the request body. */
static ag_str take_str(cursor *c, ag_arena *a)
{
    size_t len = take_byte(c);
    if (len == 255) len = (size_t)take_byte(c) << 8 | take_byte(c);
    if (len > c->size - c->at) len = c->size - c->at;
    if (c->owned_count == sizeof c->owned / sizeof *c->owned) return (ag_str){"", 0};
    char *copy = malloc(len ? len : 1);
    c->owned[c->owned_count++] = copy;
    memcpy(copy, c->data + c->at, len);
    c->at += len;
    return (ag_str){copy, len};
}

static void build_span(cursor *c, ag_span *s, uint64_t trace_id, ag_arena *a)
{
    uint8_t flags = take_byte(c);
    memset(s, 0, sizeof *s);
    s->trace_id = flags & 1 ? 0 : flags & 2 ? trace_id + 1 : trace_id;
    s->span_id = flags & 4 ? 0 : 1 + (flags >> 4);
    s->parent_id = flags & 8 ? s->span_id : 0;
    s->start = (int64_t)take_u64(c);
    s->duration = (int64_t)take_u64(c);
    s->error = flags >> 7;
    s->service = take_str(c, a);
    s->name = take_str(c, a);
    s->resource = take_str(c, a);
    s->type = take_str(c, a);
    s->meta_len = take_byte(c) % 8;
    s->meta = ag_arena_alloc(a, (s->meta_len + 1) * sizeof *s->meta);
    for (size_t i = 0; i < s->meta_len; i++) {
        s->meta[i].key = take_str(c, a);
        s->meta[i].value = take_str(c, a);
    }
    s->metrics_len = take_byte(c) % 4;
    s->metrics = ag_arena_alloc(a, (s->metrics_len + 1) * sizeof *s->metrics);
    for (size_t i = 0; i < s->metrics_len; i++) {
        s->metrics[i].key = take_str(c, a);
        uint64_t bits = take_u64(c);
        memcpy(&s->metrics[i].value, &bits, sizeof bits);
    }
    s->links_len = 1;
    s->links = ag_arena_alloc(a, sizeof *s->links);
    memset(s->links, 0, sizeof *s->links);
    s->links->tracestate = take_str(c, a);
    s->links->attributes_len = 1;
    s->links->attributes = ag_arena_alloc(a, sizeof *s->links->attributes);
    s->links->attributes->key = take_str(c, a);
    s->links->attributes->value = take_str(c, a);
    s->events_len = 1;
    s->events = ag_arena_alloc(a, sizeof *s->events);
    memset(s->events, 0, sizeof *s->events);
    s->events->name = take_str(c, a);
}

static void check_str(ag_str s, size_t limit)
{
    CHECK(s.len <= limit);
    CHECK(s.len == 0 || s.ptr != NULL);
    CHECK(ag_utf8_valid(s.ptr, s.len));
}

static void check_span(const ag_span *s)
{
    check_str(s->service, 200);
    check_str(s->name, AG_MAX_NAME_LEN);
    check_str(s->resource, AG_MAX_RESOURCE_LEN);
    check_str(s->type, AG_MAX_TYPE_LEN);
    CHECK(s->service.len && s->name.len && s->resource.len);
    CHECK(s->duration >= 0 && s->start >= 0);
    CHECK(s->duration <= INT64_MAX - s->start); /* start + duration is computed later */
    for (size_t i = 0; i < s->meta_len; i++) {
        check_str(s->meta[i].key, AG_MAX_META_KEY_LEN + 3);
        check_str(s->meta[i].value, AG_MAX_META_VALUE_LEN + 3);
        if (ag_str_eq(s->meta[i].key, "http.status_code"))
            CHECK(ag_valid_status_code(s->meta[i].value));
    }
    for (size_t i = 0; i < s->metrics_len; i++)
        check_str(s->metrics[i].key, AG_MAX_METRIC_KEY_LEN + 3);
    check_str(s->links->tracestate, SIZE_MAX);
    check_str(s->links->attributes->key, SIZE_MAX);
    check_str(s->links->attributes->value, SIZE_MAX);
    check_str(s->events->name, SIZE_MAX);
}

/* The string helpers on their own, on the whole input. */
static void check_helpers(const uint8_t *data, size_t size, ag_arena *a)
{
    char *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    ag_str s = {copy, size};
    ag_str repaired = ag_repair_utf8(s, a);
    check_str(repaired, size * 3);
    check_str(ag_truncate_utf8(repaired, size / 2), size / 2);
    ag_str key = ag_normalize_tag(repaired, true, a), value = ag_normalize_tag(repaired, false, a);
    check_str(key, AG_MAX_TAG_LEN);
    check_str(value, AG_MAX_TAG_LEN);
    /* A normalized tag is a fixed point. */
    ag_str again = ag_normalize_tag(key, true, a);
    CHECK(again.len == key.len && (!key.len || !memcmp(again.ptr, key.ptr, key.len)));
    check_str(ag_normalize_name(repaired, a), AG_MAX_NAME_LEN);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ag_arena a;
    ag_arena_init(&a);
    cursor c = {.data = data, .size = size};
    uint8_t head = take_byte(&c);
    static const char *const langs[] = {NULL, "", "python", "Go Lang!", "\xff\xfe"};
    ag_norm_opts opts = {langs[(head >> 2) % 5], 1700000000000000000LL};
    ag_trace t = {NULL, 1 + head % 4};
    t.spans = ag_arena_alloc(&a, t.len * sizeof *t.spans);
    for (size_t i = 0; i < t.len; i++) build_span(&c, &t.spans[i], 42, &a);
    const char *reason = NULL;
    if (ag_normalize_trace(&t, &opts, &a, &reason) == 0) {
        for (size_t i = 0; i < t.len; i++) check_span(&t.spans[i]);
    } else {
        CHECK(reason != NULL);
    }
    check_helpers(data, size, &a);
    ag_arena_free(&a);
    for (size_t i = 0; i < c.owned_count; i++) free(c.owned[i]);
    return 0;
}
