/* Span normalization (see normalize.h).
 *
 * Each rule mirrors one of the Datadog agent so that a trace looks the same
 * in ctrace-agent as it would in Datadog: defaults for empty fields, length
 * limits cut at UTF-8 boundaries, tag and metric-name character rules,
 * impossible times repaired, invalid http.status_code dropped. Fast paths
 * check whether a string needs work at all, because nearly all of them do
 * not and this runs for every string of every span. */
#include "normalize.h"
#include "utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ag_str ag_truncate_ellipsis(ag_str s, size_t limit, ag_arena *a)
{
    if (s.len <= limit) return s;
    ag_str t = ag_truncate_utf8(s, limit);
    char *out = ag_arena_alloc(a, t.len + 3);
    memcpy(out, t.ptr, t.len);
    memcpy(out + t.len, "...", 3);
    return (ag_str){out, t.len + 3};
}

/* The bytes a normalized tag may hold: a table, since every service of
 * every span is checked byte by byte. */
static const bool tag_chars[256] = {
    ['a' ... 'z'] = true, ['0' ... '9'] = true, [':'] = true, ['.'] = true,
    ['/'] = true,         ['-'] = true,         ['_'] = true,
};

static inline bool tag_char_ok(unsigned char c) { return tag_chars[c]; }

static bool tag_is_normal(ag_str s, bool is_key)
{
    if (s.len == 0 || s.len > AG_MAX_TAG_LEN) return false;
    unsigned char first = (unsigned char)s.ptr[0];
    if (is_key ? !(first >= 'a' && first <= 'z') : !(isalnum(first) && !isupper(first)))
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (!tag_char_ok(c)) return false;
        if (c == '_' && i > 0 && s.ptr[i - 1] == '_') return false;
    }
    return s.ptr[s.len - 1] != '_';
}

ag_str ag_normalize_tag(ag_str s, bool is_key, ag_arena *a)
{
    if (tag_is_normal(s, is_key)) return s;
    const unsigned char *p = (const unsigned char *)s.ptr;
    char *out = ag_arena_alloc(a, s.len + 1);
    size_t o = 0, i = 0;
    bool started = false;
    while (i < s.len && o < AG_MAX_TAG_LEN) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t n = ag_utf8_seq_len(p + i, s.len - i);
            if (!n) n = 1;
            /* Unicode letters are kept; U+FFFD (a repaired byte) is not one */
            bool letter = n > 1 && !(n == 3 && !memcmp(p + i, "\xef\xbf\xbd", 3));
            if (letter && o + n <= AG_MAX_TAG_LEN) {
                memcpy(out + o, p + i, n), o += n;
                started = true;
            } else if (started && o && out[o - 1] != '_') {
                out[o++] = '_';
            }
            i += n;
            continue;
        }
        c = (unsigned char)tolower(c);
        i++;
        if (!started) {
            if (is_key ? !(c >= 'a' && c <= 'z') : !isalnum(c)) continue;
            started = true;
        }
        if (!tag_char_ok(c)) c = '_';
        if (c == '_' && o && out[o - 1] == '_') continue;
        out[o++] = (char)c;
    }
    while (o && out[o - 1] == '_') o--;
    return (ag_str){out, o};
}

ag_str ag_normalize_service(ag_str s, const char *lang, ag_arena *a)
{
    ag_str out = s.len ? ag_normalize_tag(ag_truncate_utf8(s, AG_MAX_SERVICE_LEN), false, a) : s;
    if (out.len) return out;
    if (!lang || !*lang) return AG_STR_LIT("unnamed-service");
    ag_str l = ag_normalize_tag((ag_str){lang, strlen(lang)}, false, a);
    char *fb = ag_arena_alloc(a, l.len + 17);
    int n = snprintf(fb, l.len + 17, "unnamed-%.*s-service", (int)l.len, l.ptr);
    return (ag_str){fb, (size_t)n};
}

static bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_alnum(unsigned char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

ag_str ag_normalize_name(ag_str s, ag_arena *a)
{
    static const ag_str fallback = {"unnamed_operation", 17};
    s = ag_truncate_utf8(s, AG_MAX_NAME_LEN);
    size_t i = 0;
    while (i < s.len && !is_alpha((unsigned char)s.ptr[i])) i++;
    if (i == s.len) return fallback;
    /* fast path: already a valid name */
    bool normal = i == 0 && s.ptr[s.len - 1] != '_';
    for (size_t k = 0; normal && k < s.len; k++) {
        unsigned char c = (unsigned char)s.ptr[k], prev = k ? (unsigned char)s.ptr[k - 1] : 0;
        if (is_alnum(c)) continue;
        if (c == '.' && prev != '_') continue;
        if (c == '_' && prev != '.' && prev != '_') continue;
        normal = false;
    }
    if (normal) return s;
    char *out = ag_arena_alloc(a, s.len + 1);
    size_t o = 0;
    for (; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (is_alnum(c)) out[o++] = (char)c;
        else if (c == '.') {
            if (out[o - 1] == '_') out[o - 1] = '.';
            else out[o++] = '.';
        } else if (out[o - 1] != '.' && out[o - 1] != '_') {
            out[o++] = '_';
        }
    }
    if (out[o - 1] == '_') o--;
    return (ag_str){out, o};
}

bool ag_valid_status_code(ag_str s)
{
    if (s.len == 0 || s.len > 9) return false;
    long v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9') return false;
        v = v * 10 + (s.ptr[i] - '0');
    }
    return v >= 100 && v < 600;
}

/* Whether every byte is below 0x80: word loads, the last one overlapping,
 * so a short tag costs a couple of instructions instead of a call. */
static inline bool is_ascii(ag_str s)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    uint64_t acc = 0, w;
    size_t n = s.len, i = 0;
    if (n >= 8) {
        for (; n - i > 8; i += 8) {
            memcpy(&w, p + i, 8);
            acc |= w;
        }
        memcpy(&w, p + n - 8, 8);
        return !((acc | w) & 0x8080808080808080ULL);
    }
    for (; i < n; i++) acc |= p[i];
    return !(acc & 0x80);
}

/* Nearly every string is ASCII, hence valid UTF-8 as it is. */
static inline ag_str repair(ag_str s, ag_arena *a)
{
    return is_ascii(s) ? s : ag_repair_utf8(s, a);
}

static void repair_strings(ag_span *s, ag_arena *a)
{
    s->service = repair(s->service, a);
    s->name = repair(s->name, a);
    s->resource = repair(s->resource, a);
    s->type = repair(s->type, a);
    for (size_t i = 0; i < s->meta_len; i++) {
        s->meta[i].key = repair(s->meta[i].key, a);
        s->meta[i].value = repair(s->meta[i].value, a);
    }
    for (size_t i = 0; i < s->metrics_len; i++) s->metrics[i].key = repair(s->metrics[i].key, a);
    for (size_t i = 0; i < s->links_len; i++) {
        ag_link *l = &s->links[i];
        l->tracestate = ag_repair_utf8(l->tracestate, a);
        for (size_t k = 0; k < l->attributes_len; k++) {
            l->attributes[k].key = ag_repair_utf8(l->attributes[k].key, a);
            l->attributes[k].value = ag_repair_utf8(l->attributes[k].value, a);
        }
    }
    for (size_t i = 0; i < s->events_len; i++)
        s->events[i].name = ag_repair_utf8(s->events[i].name, a);
}

static void normalize_times(ag_span *s, int64_t now)
{
    if (s->duration < 0) s->duration = 0;
    if (s->start > 0 && s->duration > INT64_MAX - s->start) s->duration = 0;
    if (s->start < AG_YEAR_2000_NS) {
        s->start = now - s->duration;
        if (s->start < 0) s->start = now;
    }
    /* The Datadog agent stops here; but a start of 0 with a duration past
     * `now` ends up at start = now, and start + duration (the trace's end,
     * batch.c) overflows. The fuzzer found it; the agent's Go wraps around
     * silently, C must not: drop the duration as for the case above. */
    if (s->duration > INT64_MAX - s->start) s->duration = 0;
}

static void normalize_tags(ag_span *s, ag_arena *a)
{
    /* Field by field, not through an ag_tag temporary: GCC built that
     * one in two 8-byte stack stores reloaded as one 16-byte load, a
     * store-forwarding stall that was 40% of this function's time. */
    size_t kept = 0;
    for (size_t i = 0; i < s->meta_len; i++) {
        ag_str key = ag_truncate_ellipsis(s->meta[i].key, AG_MAX_META_KEY_LEN, a);
        ag_str value = ag_truncate_ellipsis(s->meta[i].value, AG_MAX_META_VALUE_LEN, a);
        if (ag_str_eq(key, "http.status_code") && !ag_valid_status_code(value))
            continue; /* the agent drops an impossible status code */
        if (ag_str_eq(key, "env")) value = ag_normalize_tag(value, true, a);
        ag_tag *out = &s->meta[kept++];
        out->key.ptr = key.ptr;
        out->key.len = key.len;
        out->value.ptr = value.ptr;
        out->value.len = value.len;
    }
    s->meta_len = kept;
    for (size_t i = 0; i < s->metrics_len; i++)
        s->metrics[i].key = ag_truncate_ellipsis(s->metrics[i].key, AG_MAX_METRIC_KEY_LEN, a);
}

static void normalize_span(ag_span *s, const ag_norm_opts *o, ag_arena *a)
{
    repair_strings(s, a);
    s->service = ag_normalize_service(s->service, o->lang, a);
    s->name = s->name.len ? ag_normalize_name(s->name, a) : AG_STR_LIT("unnamed_operation");
    if (!s->resource.len) s->resource = s->name;
    s->resource = ag_truncate_utf8(s->resource, AG_MAX_RESOURCE_LEN);
    s->type = ag_truncate_utf8(s->type, AG_MAX_TYPE_LEN);
    if (s->parent_id == s->trace_id && s->parent_id == s->span_id) s->parent_id = 0;
    normalize_times(s, o->now_ns);
    normalize_tags(s, a);
}

int ag_normalize_trace(ag_trace *t, const ag_norm_opts *o, ag_arena *a, const char **reason)
{
    if (t->len == 0) return *reason = "empty_trace", -1;
    uint64_t trace_id = t->spans[0].trace_id;
    for (size_t i = 0; i < t->len; i++) {
        const ag_span *s = &t->spans[i];
        if (s->trace_id == 0) return *reason = "trace_id_zero", -1;
        if (s->span_id == 0) return *reason = "span_id_zero", -1;
        if (s->trace_id != trace_id) return *reason = "trace_id_mismatch", -1;
    }
    for (size_t i = 0; i < t->len; i++) normalize_span(&t->spans[i], o, a);
    return 0;
}
