/*
 * propagation.c — header values in and out (see propagation.h).
 *
 * Each list parser walks its input twice: a first pass validates every
 * item without reporting anything, a second pass reports. It costs a few
 * hundred nanoseconds per request and buys the guarantee the callers need:
 * a header is taken whole or not at all. Nothing here allocates; decoded
 * baggage goes to a scratch buffer the caller provides. Rules follow
 * ddtrace (ddtrace/propagation/http.py and its tagset codec) where they
 * are stricter than the specifications, so both tracers accept the same
 * headers.
 */
#include "propagation.h"

#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int is_lower_hex(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f'))) return 0;
    return 1;
}

static void trim(const char **text, size_t *len)
{
    while (*len && (**text == ' ' || **text == '\t')) (*text)++, (*len)--;
    while (*len && ((*text)[*len - 1] == ' ' || (*text)[*len - 1] == '\t')) (*len)--;
}

int ct__prop_parse_decimal(const char *text, size_t len, uint64_t *out)
{
    uint64_t value = 0;
    *out = 0;
    if (len == 0 || len > 20) return CT_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') return CT_EINVAL;
        uint64_t digit = (uint64_t)(text[i] - '0');
        if (value > (UINT64_MAX - digit) / 10) return CT_EINVAL;
        value = value * 10 + digit;
    }
    *out = value;
    return CT_OK;
}

int ct__prop_parse_hex(const char *text, size_t len, uint64_t *high, uint64_t *low)
{
    uint64_t h = 0, l = 0;
    *high = *low = 0;
    if (len == 0 || len > 32) return CT_EINVAL;
    for (size_t i = 0; i < len; i++) {
        int v = hex_value(text[i]);
        if (v < 0) return CT_EINVAL;
        h = (h << 4) | (l >> 60);
        l = (l << 4) | (uint64_t)v;
    }
    *high = h;
    *low = l;
    return CT_OK;
}

/* -- W3C traceparent -------------------------------------------------------------- */

int ct__prop_parse_traceparent(const char *text, size_t len, ct_traceparent *out)
{
    memset(out, 0, sizeof *out);
    trim(&text, &len);
    if (len < 55 || text[2] != '-' || text[35] != '-' || text[52] != '-' ||
        !is_lower_hex(text, 2) || !is_lower_hex(text + 3, 32) || !is_lower_hex(text + 36, 16) ||
        !is_lower_hex(text + 53, 2))
        return CT_EINVAL;
    if (!memcmp(text, "ff", 2)) return CT_EINVAL;
    if (!memcmp(text, "00", 2) ? len != 55 : (len > 55 && (text[55] != '-' || len == 56)))
        return CT_EINVAL;
    ct_traceparent tp;
    uint64_t ignored, flags;
    ct__prop_parse_hex(text + 3, 16, &ignored, &tp.trace_id_high);
    ct__prop_parse_hex(text + 19, 16, &ignored, &tp.trace_id_low);
    ct__prop_parse_hex(text + 36, 16, &ignored, &tp.parent_id);
    ct__prop_parse_hex(text + 53, 2, &ignored, &flags);
    if ((!tp.trace_id_high && !tp.trace_id_low) || !tp.parent_id) return CT_EINVAL;
    tp.flags = (uint8_t)flags;
    *out = tp;
    return CT_OK;
}

static void hex16(uint64_t value, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, value >>= 4) out[i] = digits[value & 15];
}

size_t ct__prop_format_traceparent(uint64_t trace_id_high, uint64_t trace_id_low,
                                   uint64_t parent_id, int sampled, char *out)
{
    memcpy(out, "00-", 3);
    hex16(trace_id_high, out + 3);
    hex16(trace_id_low, out + 19);
    out[35] = '-';
    hex16(parent_id, out + 36);
    memcpy(out + 52, sampled ? "-01" : "-00", 4);
    return 55;
}

/* -- x-datadog-tags ---------------------------------------------------------------- */

static int tag_key_char(unsigned char c) { return c > 0x20 && c < 0x7f && c != ',' && c != '='; }
static int tag_value_char(unsigned char c) { return c >= 0x20 && c < 0x7f && c != ','; }

/* One pass over "k=v,k=v": validates, and reports when fn is set. */
static int datadog_tags_pass(const char *text, size_t len, ct_prop_pair_fn fn, void *arg)
{
    size_t start = 0;
    while (start <= len) {
        const char *comma = memchr(text + start, ',', len - start);
        size_t end = comma ? (size_t)(comma - text) : len;
        const char *item = text + start;
        size_t item_len = end - start;
        trim(&item, &item_len);
        const char *equals = memchr(item, '=', item_len);
        if (!equals || equals == item) return CT_EINVAL;
        size_t key_len = (size_t)(equals - item), value_len = item_len - key_len - 1;
        if (value_len == 0) return CT_EINVAL;
        for (size_t i = 0; i < key_len; i++)
            if (!tag_key_char((unsigned char)item[i])) return CT_EINVAL;
        for (size_t i = 0; i < value_len; i++)
            if (!tag_value_char((unsigned char)equals[1 + i])) return CT_EINVAL;
        if (fn) {
            int stop = fn(arg, item, key_len, equals + 1, value_len);
            if (stop) return stop;
        }
        start = end + 1;
    }
    return CT_OK;
}

int ct__prop_parse_datadog_tags(const char *text, size_t len, ct_prop_pair_fn fn, void *arg)
{
    if (len > CT_PROP_DATADOG_TAGS_MAX) return CT_ENOSPC;
    trim(&text, &len);
    if (len == 0) return CT_OK;
    int rc = datadog_tags_pass(text, len, NULL, NULL);
    return rc == CT_OK ? datadog_tags_pass(text, len, fn, arg) : rc;
}

int ct__prop_append_datadog_tag(char *out, size_t *out_len, size_t capacity, size_t max_len,
                                const char *key, size_t key_len, const char *value,
                                size_t value_len)
{
    if (key_len == 0 || value_len == 0) return CT_EINVAL;
    for (size_t i = 0; i < key_len; i++)
        if (!tag_key_char((unsigned char)key[i])) return CT_EINVAL;
    for (size_t i = 0; i < value_len; i++)
        if (!tag_value_char((unsigned char)value[i])) return CT_EINVAL;
    size_t comma = *out_len ? 1 : 0;
    size_t needed = *out_len + comma + key_len + 1 + value_len;
    if (needed > max_len || needed + 1 > capacity) return CT_ENOSPC;
    char *p = out + *out_len;
    if (comma) *p++ = ',';
    memcpy(p, key, key_len);
    p[key_len] = '=';
    memcpy(p + key_len + 1, value, value_len);
    out[needed] = '\0';
    *out_len = needed;
    return CT_OK;
}

/* -- tracestate dd= member --------------------------------------------------------- */

static int parse_int(const char *text, size_t len, int *out)
{
    int negative = len && text[0] == '-';
    uint64_t magnitude;
    if (negative) text++, len--;
    if (len > 9 || ct__prop_parse_decimal(text, len, &magnitude) != CT_OK) return CT_EINVAL;
    *out = negative ? -(int)magnitude : (int)magnitude;
    return CT_OK;
}

#define DD_TAG_KEY_MAX (CT_PROP_DD_MEMBER_MAX + 8)
#define DD_TAG_VALUE_MAX (CT_PROP_DD_MEMBER_MAX + 1)

/* Can a t.* item be reported? Checked in the validating pass too: the
 * fuzzer found a member whose first t.* item was reported before a later,
 * too long one made the whole member invalid. */
static int dd_tag_fits(size_t key_len, size_t value_len)
{
    return key_len - 2 + 6 <= DD_TAG_KEY_MAX && value_len <= DD_TAG_VALUE_MAX;
}

/* Reports a t.* item as "_dd.p.<name>" with '~' read as '='. */
static int report_dd_tag(ct_prop_pair_fn fn, void *arg, const char *key, size_t key_len,
                         const char *value, size_t value_len)
{
    char full_key[DD_TAG_KEY_MAX], decoded[DD_TAG_VALUE_MAX];
    if (!dd_tag_fits(key_len, value_len)) return CT_EINVAL;
    memcpy(full_key, "_dd.p.", 6);
    memcpy(full_key + 6, key + 2, key_len - 2);
    for (size_t i = 0; i < value_len; i++) decoded[i] = value[i] == '~' ? '=' : value[i];
    return fn(arg, full_key, key_len - 2 + 6, decoded, value_len);
}

static int dd_member_pass(const char *text, size_t len, ct_dd_member *out, ct_prop_pair_fn fn,
                          void *arg)
{
    size_t start = 0;
    while (start <= len) {
        const char *semicolon = memchr(text + start, ';', len - start);
        size_t end = semicolon ? (size_t)(semicolon - text) : len;
        const char *item = text + start, *colon = memchr(item, ':', end - start);
        if (!colon) return CT_EINVAL;
        size_t key_len = (size_t)(colon - item), value_len = end - start - key_len - 1;
        const char *value = colon + 1;
        if (key_len == 1 && item[0] == 's') {
            if (parse_int(value, value_len, &out->priority) != CT_OK) return CT_EINVAL;
            out->has_priority = 1;
        } else if (key_len == 1 && item[0] == 'o') {
            out->origin = value, out->origin_len = value_len;
        } else if (key_len == 1 && item[0] == 'p') {
            out->parent = value, out->parent_len = value_len;
        } else if (key_len > 2 && item[0] == 't' && item[1] == '.') {
            if (!dd_tag_fits(key_len, value_len)) return CT_EINVAL;
            int stop = fn ? report_dd_tag(fn, arg, item, key_len, value, value_len) : 0;
            if (stop) return stop;
        }
        start = end + 1;
    }
    return CT_OK;
}

int ct__prop_parse_dd_member(const char *text, size_t len, ct_dd_member *out, ct_prop_pair_fn fn,
                             void *arg)
{
    memset(out, 0, sizeof *out);
    if (len > CT_PROP_DD_MEMBER_MAX * 4) /* far past what any tracer writes */
        return CT_EINVAL;
    ct_dd_member scratch;
    memset(&scratch, 0, sizeof scratch);
    int rc = dd_member_pass(text, len, &scratch, NULL, NULL);
    if (rc == CT_OK) rc = dd_member_pass(text, len, out, fn, arg);
    if (rc != CT_OK) memset(out, 0, sizeof *out);
    return rc;
}

static char dd_char(unsigned char c, int in_key)
{
    if (c == '=') return in_key ? '_' : '~';
    if (c < 0x20 || c > 0x7e || c == ',' || c == ';' || c == '~' || (in_key && c == ':'))
        return '_';
    return (char)c;
}

int ct__prop_append_dd_item(char *out, size_t *out_len, const char *key, size_t key_len,
                            const char *value, size_t value_len)
{
    size_t separator = *out_len ? 1 : 0;
    size_t needed = *out_len + separator + key_len + 1 + value_len;
    if (needed > CT_PROP_DD_MEMBER_MAX) return CT_ENOSPC;
    char *p = out + *out_len;
    if (separator) *p++ = ';';
    for (size_t i = 0; i < key_len; i++) *p++ = dd_char((unsigned char)key[i], 1);
    *p++ = ':';
    for (size_t i = 0; i < value_len; i++) *p++ = dd_char((unsigned char)value[i], 0);
    *p = '\0';
    *out_len = needed;
    return CT_OK;
}

/* -- W3C baggage ---------------------------------------------------------------------- */

/* Percent-decodes text into out (at most len bytes); returns the length.
 * A '%' not followed by two hex digits stays as it is, as in urllib. */
static size_t percent_decode(const char *text, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (text[i] == '%' && i + 2 < len && (hi = hex_value(text[i + 1])) >= 0 &&
            (lo = hex_value(text[i + 2])) >= 0) {
            out[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[n++] = text[i];
        }
    }
    return n;
}

static int baggage_pass(const char *text, size_t len, char *scratch, ct_prop_pair_fn fn, void *arg)
{
    size_t start = 0, total = 0;
    for (int index = 0; start <= len; index++) {
        const char *comma = memchr(text + start, ',', len - start);
        size_t end = comma ? (size_t)(comma - text) : len;
        if (index >= CT_PROP_BAGGAGE_MAX_ITEMS) break;
        const char *item = text + start;
        size_t item_len = end - start;
        const char *equals = memchr(item, '=', item_len);
        if (!equals) return CT_EINVAL;
        size_t segment = item_len + (index ? 1 : 0);
        if (total + segment > CT_PROP_BAGGAGE_MAX_BYTES) break;
        total += segment;
        const char *key = item, *value = equals + 1;
        size_t key_len = (size_t)(equals - item), value_len = item_len - key_len - 1;
        trim(&key, &key_len);
        trim(&value, &value_len);
        size_t decoded_key = percent_decode(key, key_len, scratch);
        size_t decoded_value = percent_decode(value, value_len, scratch + decoded_key);
        if (!decoded_key || !decoded_value) return CT_EINVAL;
        if (fn) {
            int stop = fn(arg, scratch, decoded_key, scratch + decoded_key, decoded_value);
            if (stop) return stop;
        }
        start = end + 1;
    }
    return CT_OK;
}

int ct__prop_parse_baggage(const char *text, size_t len, char *scratch, ct_prop_pair_fn fn,
                           void *arg)
{
    if (len == 0) return CT_OK;
    int rc = baggage_pass(text, len, scratch, NULL, NULL);
    return rc == CT_OK ? baggage_pass(text, len, scratch, fn, arg) : rc;
}
