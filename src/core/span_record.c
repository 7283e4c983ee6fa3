/*
 * span_record.c — reading and writing flat span records (see
 * span_record.h for the layout and why records exist).
 *
 * The writer side is ct_record_put_str plus whatever the span module
 * appends; the reader validates lengths once in ct_record_open so that the
 * encoders can then walk a record with the unchecked ct_record_read_*
 * helpers.
 */
#include "span_record.h"

#include <string.h>

ct_record_str ct_record_read_str(const uint8_t **cursor)
{
    ct_record_str s;
    memcpy(&s.len, *cursor, sizeof s.len);
    s.ptr = (const char *)*cursor + sizeof s.len;
    *cursor += sizeof s.len + s.len;
    return s;
}

double ct_record_read_double(const uint8_t **cursor)
{
    double value;
    memcpy(&value, *cursor, sizeof value);
    *cursor += sizeof value;
    return value;
}

uint32_t ct_record_read_u32(const uint8_t **cursor)
{
    uint32_t value;
    memcpy(&value, *cursor, sizeof value);
    *cursor += sizeof value;
    return value;
}

uint64_t ct_record_read_u64(const uint8_t **cursor)
{
    uint64_t value;
    memcpy(&value, *cursor, sizeof value);
    *cursor += sizeof value;
    return value;
}

void ct_record_read_link(const uint8_t **cursor, ct_record_link *link)
{
    link->trace_id_high = ct_record_read_u64(cursor);
    link->trace_id_low = ct_record_read_u64(cursor);
    link->span_id = ct_record_read_u64(cursor);
    link->flags = ct_record_read_u32(cursor);
    link->tracestate = ct_record_read_str(cursor);
    link->attribute_count = ct_record_read_u32(cursor);
    link->attributes = *cursor;
    for (uint32_t i = 0; i < 2 * link->attribute_count; i++)
        ct_record_read_str(cursor);
}

/* Checked walk: skips one str, failing if it would pass end. */
static int skip_str(const uint8_t **cursor, const uint8_t *end)
{
    uint32_t len;
    if ((size_t)(end - *cursor) < sizeof len)
        return 0;
    memcpy(&len, *cursor, sizeof len);
    if ((size_t)(end - *cursor) - sizeof len < len)
        return 0;
    *cursor += sizeof len + len;
    return 1;
}

static int skip_bytes(const uint8_t **cursor, const uint8_t *end, size_t n)
{
    if ((size_t)(end - *cursor) < n)
        return 0;
    *cursor += n;
    return 1;
}

static int skip_links(const uint8_t **cursor, const uint8_t *end,
                      uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (!skip_bytes(cursor, end, 3 * 8 + 4) || !skip_str(cursor, end))
            return 0;
        uint32_t attributes;
        if ((size_t)(end - *cursor) < sizeof attributes)
            return 0;
        attributes = ct_record_read_u32(cursor);
        for (uint32_t a = 0; a < 2 * attributes; a++)
            if (!skip_str(cursor, end))
                return 0;
    }
    return 1;
}

size_t ct_record_open(ct_record_reader *reader, const uint8_t *data,
                      size_t available)
{
    if (available < sizeof reader->header)
        return 0;
    memcpy(&reader->header, data, sizeof reader->header);
    size_t size = reader->header.size;
    if (size < sizeof reader->header || size > available)
        return 0;
    const uint8_t *end = data + size;
    const uint8_t *cursor = data + sizeof reader->header;
    ct_record_str *names[] = {&reader->name, &reader->service,
                              &reader->resource, &reader->type};
    for (int i = 0; i < 4; i++) {
        const uint8_t *at = cursor;
        if (!skip_str(&cursor, end))
            return 0;
        *names[i] = ct_record_read_str(&at);
    }
    reader->meta = cursor;
    for (uint32_t i = 0; i < 2 * reader->header.meta_count; i++)
        if (!skip_str(&cursor, end))
            return 0;
    reader->metrics = cursor;
    for (uint32_t i = 0; i < reader->header.metric_count; i++)
        if (!skip_str(&cursor, end) || !skip_bytes(&cursor, end, 8))
            return 0;
    reader->links = cursor;
    if (!skip_links(&cursor, end, reader->header.link_count))
        return 0;
    reader->end = end;
    return cursor == end ? size : 0;
}

int ct_extra_has(const ct_extra_tags *extra, int meta, const char *key, size_t len)
{
    if (!extra)
        return 0;
    uint32_t count = meta ? extra->meta_count : extra->metric_count;
    for (uint32_t i = 0; i < count; i++) {
        const char *k = meta ? extra->meta[i].key : extra->metrics[i].key;
        uint32_t k_len = meta ? extra->meta[i].key_len : extra->metrics[i].key_len;
        if (k_len == len && memcmp(k, key, len) == 0)
            return 1;
    }
    return 0;
}

/* Copies the record's meta pairs that extra does not replace, then extra's. */
static int rewrite_meta(const ct_record_reader *reader, const ct_extra_tags *extra,
                        ct_buffer *out, uint32_t *count)
{
    const uint8_t *cursor = reader->meta;
    for (uint32_t i = 0; i < reader->header.meta_count; i++) {
        ct_record_str key = ct_record_read_str(&cursor);
        ct_record_str value = ct_record_read_str(&cursor);
        if (ct_extra_has(extra, 1, key.ptr, key.len))
            continue;
        if (ct_record_put_str(out, key.ptr, key.len) ||
            ct_record_put_str(out, value.ptr, value.len))
            return CT_ENOMEM;
        (*count)++;
    }
    for (uint32_t i = 0; i < extra->meta_count; i++, (*count)++)
        if (ct_record_put_str(out, extra->meta[i].key, extra->meta[i].key_len) ||
            ct_record_put_str(out, extra->meta[i].value, extra->meta[i].value_len))
            return CT_ENOMEM;
    return CT_OK;
}

static int rewrite_metrics(const ct_record_reader *reader, const ct_extra_tags *extra,
                           ct_buffer *out, uint32_t *count)
{
    const uint8_t *cursor = reader->metrics;
    for (uint32_t i = 0; i < reader->header.metric_count; i++) {
        ct_record_str key = ct_record_read_str(&cursor);
        double value = ct_record_read_double(&cursor);
        if (ct_extra_has(extra, 0, key.ptr, key.len))
            continue;
        if (ct_record_put_str(out, key.ptr, key.len) ||
            ct_buffer_append(out, &value, sizeof value))
            return CT_ENOMEM;
        (*count)++;
    }
    for (uint32_t i = 0; i < extra->metric_count; i++, (*count)++)
        if (ct_record_put_str(out, extra->metrics[i].key, extra->metrics[i].key_len) ||
            ct_buffer_append(out, &extra->metrics[i].value, sizeof(double)))
            return CT_ENOMEM;
    return CT_OK;
}

int ct_record_rewrite(const ct_record_reader *reader, const uint8_t *data,
                      const ct_extra_tags *extra, ct_buffer *out)
{
    size_t start = out->len;
    ct_record_header header = reader->header;
    header.meta_count = header.metric_count = 0;
    /* name, service, resource and type are contiguous after the header */
    const uint8_t *strings = data + sizeof header;
    size_t strings_len = (size_t)(reader->meta - strings);
    if (ct_buffer_append(out, &header, sizeof header) == CT_OK &&
        ct_buffer_append(out, strings, strings_len) == CT_OK &&
        rewrite_meta(reader, extra, out, &header.meta_count) == CT_OK &&
        rewrite_metrics(reader, extra, out, &header.metric_count) == CT_OK &&
        ct_buffer_append(out, reader->links, (size_t)(reader->end - reader->links)) == CT_OK) {
        header.size = (uint32_t)(out->len - start);
        memcpy(out->data + start, &header, sizeof header);
        return CT_OK;
    }
    out->len = start;
    return CT_ENOMEM;
}
