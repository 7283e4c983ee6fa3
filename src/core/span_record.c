/*
 * span_record.c — reading and writing flat span records (see
 * span_record.h for the layout and why records exist).
 *
 * The writer side is ct__record_put_str plus whatever the span module
 * appends; the reader validates lengths once in ct__record_open so that the
 * encoders can then walk a record with the unchecked ct_record_read_*
 * helpers.
 */
#include "span_record.h"

#include <string.h>

#include "sampler.h"

ct_record_str ct__record_read_str(const uint8_t **cursor)
{
    ct_record_str s;
    memcpy(&s.len, *cursor, sizeof s.len);
    s.ptr = (const char *)*cursor + sizeof s.len;
    *cursor += sizeof s.len + s.len;
    return s;
}

double ct__record_read_double(const uint8_t **cursor)
{
    double value;
    memcpy(&value, *cursor, sizeof value);
    *cursor += sizeof value;
    return value;
}

uint32_t ct__record_read_u32(const uint8_t **cursor)
{
    uint32_t value;
    memcpy(&value, *cursor, sizeof value);
    *cursor += sizeof value;
    return value;
}

uint64_t ct__record_read_u64(const uint8_t **cursor)
{
    uint64_t value;
    memcpy(&value, *cursor, sizeof value);
    *cursor += sizeof value;
    return value;
}

void ct__record_read_link(const uint8_t **cursor, ct_record_link *link)
{
    link->trace_id_high = ct__record_read_u64(cursor);
    link->trace_id_low = ct__record_read_u64(cursor);
    link->span_id = ct__record_read_u64(cursor);
    link->flags = ct__record_read_u32(cursor);
    link->tracestate = ct__record_read_str(cursor);
    link->attribute_count = ct__record_read_u32(cursor);
    link->attributes = *cursor;
    for (uint32_t i = 0; i < 2 * link->attribute_count; i++) ct__record_read_str(cursor);
}

/* Checked walk: skips one str, failing if it would pass end. */
static int skip_str(const uint8_t **cursor, const uint8_t *end)
{
    uint32_t len;
    if ((size_t)(end - *cursor) < sizeof len) return 0;
    memcpy(&len, *cursor, sizeof len);
    if ((size_t)(end - *cursor) - sizeof len < len) return 0;
    *cursor += sizeof len + len;
    return 1;
}

static int skip_bytes(const uint8_t **cursor, const uint8_t *end, size_t n)
{
    if ((size_t)(end - *cursor) < n) return 0;
    *cursor += n;
    return 1;
}

static int skip_links(const uint8_t **cursor, const uint8_t *end, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (!skip_bytes(cursor, end, 3 * 8 + 4) || !skip_str(cursor, end)) return 0;
        uint32_t attributes;
        if ((size_t)(end - *cursor) < sizeof attributes) return 0;
        attributes = ct__record_read_u32(cursor);
        for (uint32_t a = 0; a < 2 * attributes; a++)
            if (!skip_str(cursor, end)) return 0;
    }
    return 1;
}

size_t ct__record_open(ct_record_reader *reader, const uint8_t *data, size_t available)
{
    if (available < sizeof reader->header) return 0;
    memcpy(&reader->header, data, sizeof reader->header);
    size_t size = reader->header.size;
    if (size < sizeof reader->header || size > available) return 0;
    const uint8_t *end = data + size;
    const uint8_t *cursor = data + sizeof reader->header;
    if (reader->header.flags & CT_RECORD_CHUNK_HEAD) {
        if (!skip_bytes(&cursor, end, sizeof reader->chunk)) return 0;
        memcpy(&reader->chunk, cursor - sizeof reader->chunk, sizeof reader->chunk);
    } else {
        memset(&reader->chunk, 0, sizeof reader->chunk);
    }
    ct_record_str *names[] = {&reader->name, &reader->service, &reader->resource, &reader->type};
    for (int i = 0; i < 4; i++) {
        const uint8_t *at = cursor;
        if (!skip_str(&cursor, end)) return 0;
        *names[i] = ct__record_read_str(&at);
    }
    reader->meta = cursor;
    for (uint32_t i = 0; i < 2 * reader->header.meta_count; i++)
        if (!skip_str(&cursor, end)) return 0;
    reader->metrics = cursor;
    for (uint32_t i = 0; i < reader->header.metric_count; i++)
        if (!skip_str(&cursor, end) || !skip_bytes(&cursor, end, 8)) return 0;
    reader->links = cursor;
    if (!skip_links(&cursor, end, reader->header.link_count)) return 0;
    reader->end = end;
    return cursor == end ? size : 0;
}

/* -- implied tags ------------------------------------------------------------- */

#define STR(literal) ((ct_record_str){literal, sizeof(literal) - 1})

/* 16 lowercase hex digits; each thread keeps the last high half it wrote,
 * which changes once a second (unix seconds in the top 32 bits). */
typedef struct hex_cache {
    uint64_t value;
    char hex[16];
} hex_cache;

static _Thread_local hex_cache thread_tid_hex __attribute__((tls_model("initial-exec")));

static void tid_hex(uint64_t high, char *out)
{
    static const char digits[] = "0123456789abcdef";
    hex_cache *cache = &thread_tid_hex;
    if (cache->value != high) { /* high is never 0 here: a fresh cache misses */
        uint64_t v = high;
        for (int i = 15; i >= 0; i--, v >>= 4) cache->hex[i] = digits[v & 15];
        cache->value = high;
    }
    memcpy(out, cache->hex, 16);
}

static void implied_meta(ct_implied_tags *out, ct_record_str key, ct_record_str value, int kind)
{
    out->meta[out->meta_count].key = key;
    out->meta[out->meta_count].value = value;
    out->meta[out->meta_count].kind = kind;
    out->meta_count++;
}

static void implied_metric(ct_implied_tags *out, ct_record_str key, double value)
{
    out->metrics[out->metric_count].key = key;
    out->metrics[out->metric_count].value = value;
    out->metric_count++;
}

void ct__record_implied(const ct_record_reader *r, const ct_record_context *context,
                        ct_implied_tags *out)
{
    uint32_t flags = r->header.flags;
    out->meta_count = out->metric_count = 0;
    if (!flags) return;
    if (flags & CT_RECORD_CHUNK_HEAD) {
        if (context) implied_meta(out, STR("language"), context->language, CT_IMPLIED_PLAIN);
        if (r->header.trace_id_high) {
            tid_hex(r->header.trace_id_high, out->tid_hex);
            implied_meta(out, STR("_dd.p.tid"), (ct_record_str){out->tid_hex, 16}, CT_IMPLIED_TID);
        }
        if (flags & CT_RECORD_AUTO_DM) {
            uint32_t len = (uint32_t)ct__sampling_format_dm((int)r->chunk.mechanism, out->dm);
            implied_meta(out, STR("_dd.p.dm"), (ct_record_str){out->dm, len}, CT_IMPLIED_DM);
        }
        if (flags & CT_RECORD_AGENT_PSR) implied_metric(out, STR("_dd.agent_psr"), r->chunk.rate);
        implied_metric(out, STR("_sampling_priority_v1"), r->chunk.priority);
    }
    if (flags & CT_RECORD_TOP_LEVEL) implied_metric(out, STR("_dd.top_level"), 1);
    if ((flags & CT_RECORD_LOCAL_ROOT) && context) {
        implied_meta(out, STR("runtime-id"), context->runtime_id, CT_IMPLIED_PLAIN);
        implied_metric(out, STR("process_id"), context->process_id);
    }
}

static int key_is(const char *key, size_t len, const char *literal, size_t literal_len)
{
    return len == literal_len && memcmp(key, literal, len) == 0;
}

#define KEY_IS(key, len, literal) key_is(key, len, literal, sizeof(literal) - 1)

int ct__record_implies_(uint32_t flags, uint64_t trace_id_high, int meta, const char *key,
                        size_t len)
{
    if (!flags) return 0;
    uint32_t head = flags & CT_RECORD_CHUNK_HEAD;
    if (meta)
        return (head && KEY_IS(key, len, "language")) ||
               (head && trace_id_high && KEY_IS(key, len, "_dd.p.tid")) ||
               (head && (flags & CT_RECORD_AUTO_DM) && KEY_IS(key, len, "_dd.p.dm")) ||
               ((flags & CT_RECORD_LOCAL_ROOT) && KEY_IS(key, len, "runtime-id"));
    return (head && KEY_IS(key, len, "_sampling_priority_v1")) ||
           (head && (flags & CT_RECORD_AGENT_PSR) && KEY_IS(key, len, "_dd.agent_psr")) ||
           ((flags & CT_RECORD_TOP_LEVEL) && KEY_IS(key, len, "_dd.top_level")) ||
           ((flags & CT_RECORD_LOCAL_ROOT) && KEY_IS(key, len, "process_id"));
}

/* -- extra tags and rewriting ------------------------------------------------------ */

int ct__extra_has_(const ct_extra_tags *extra, int meta, const char *key, size_t len)
{
    if (!extra) return 0;
    uint32_t count = meta ? extra->meta_count : extra->metric_count;
    for (uint32_t i = 0; i < count; i++) {
        const char *k = meta ? extra->meta[i].key : extra->metrics[i].key;
        uint32_t k_len = meta ? extra->meta[i].key_len : extra->metrics[i].key_len;
        if (k_len == len && memcmp(k, key, len) == 0) return 1;
    }
    return 0;
}

/* Copies the record's meta pairs that extra does not replace and flags do
 * not imply, then extra's. */
static int rewrite_meta(const ct_record_reader *reader, const ct_extra_tags *extra, uint32_t flags,
                        ct_buffer *out, uint32_t *count)
{
    const uint8_t *cursor = reader->meta;
    uint64_t high = reader->header.trace_id_high;
    for (uint32_t i = 0; i < reader->header.meta_count; i++) {
        ct_record_str key = ct__record_read_str(&cursor);
        ct_record_str value = ct__record_read_str(&cursor);
        if (ct__record_drops(extra, flags, high, 1, key.ptr, key.len)) continue;
        if (ct__record_put_str(out, key.ptr, key.len) ||
            ct__record_put_str(out, value.ptr, value.len))
            return CT_ENOMEM;
        (*count)++;
    }
    for (uint32_t i = 0; i < extra->meta_count; i++, (*count)++)
        if (ct__record_put_str(out, extra->meta[i].key, extra->meta[i].key_len) ||
            ct__record_put_str(out, extra->meta[i].value, extra->meta[i].value_len))
            return CT_ENOMEM;
    return CT_OK;
}

static int rewrite_metrics(const ct_record_reader *reader, const ct_extra_tags *extra,
                           uint32_t flags, ct_buffer *out, uint32_t *count)
{
    const uint8_t *cursor = reader->metrics;
    uint64_t high = reader->header.trace_id_high;
    for (uint32_t i = 0; i < reader->header.metric_count; i++) {
        ct_record_str key = ct__record_read_str(&cursor);
        double value = ct__record_read_double(&cursor);
        if (ct__record_drops(extra, flags, high, 0, key.ptr, key.len)) continue;
        if (ct__record_put_str(out, key.ptr, key.len) ||
            ct__buffer_append(out, &value, sizeof value))
            return CT_ENOMEM;
        (*count)++;
    }
    for (uint32_t i = 0; i < extra->metric_count; i++, (*count)++)
        if (ct__record_put_str(out, extra->metrics[i].key, extra->metrics[i].key_len) ||
            ct__buffer_append(out, &extra->metrics[i].value, sizeof(double)))
            return CT_ENOMEM;
    return CT_OK;
}

int ct__record_rewrite(const ct_record_reader *reader, const ct_extra_tags *extra, uint32_t flags,
                       const ct_record_chunk *chunk, ct_buffer *out)
{
    size_t start = out->len;
    ct_record_header header = reader->header;
    header.meta_count = header.metric_count = 0;
    header.flags |= flags | CT_RECORD_CHUNK_HEAD;
    /* name, service, resource and type are contiguous before the meta */
    const uint8_t *strings = (const uint8_t *)reader->name.ptr - sizeof(uint32_t);
    size_t strings_len = (size_t)(reader->meta - strings);
    if (ct__buffer_append(out, &header, sizeof header) == CT_OK &&
        ct__buffer_append(out, chunk, sizeof *chunk) == CT_OK &&
        ct__buffer_append(out, strings, strings_len) == CT_OK &&
        rewrite_meta(reader, extra, header.flags, out, &header.meta_count) == CT_OK &&
        rewrite_metrics(reader, extra, header.flags, out, &header.metric_count) == CT_OK &&
        ct__buffer_append(out, reader->links, (size_t)(reader->end - reader->links)) == CT_OK) {
        header.size = (uint32_t)(out->len - start);
        memcpy(out->data + start, &header, sizeof header);
        return CT_OK;
    }
    out->len = start;
    return CT_ENOMEM;
}
