/* JSON to msgpack (see decode.h, ag_json_to_msgpack).
 *
 * The JSON intake formats carry 64-bit ids as plain numbers, which a
 * double-based parser such as cJSON would round; this small recursive
 * descent parser keeps integers exact and emits msgpack so one decoder
 * validates both encodings. Containers are written with 32-bit headers whose
 * counts are patched once the closing bracket is seen, so nothing is parsed
 * twice. Depth is bounded, so hostile nesting cannot exhaust the stack. */
#include "decode.h"
#include "mpwire.h"
#include "utf8.h"

#include <errno.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

typedef struct {
    const char *p;
    size_t len, off;
    ag_buf *out;
    msgpack_packer pk;
    char *err;
    size_t errlen;
} jparser;

static int __attribute__((format(printf, 2, 3))) JFAIL(jparser *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err, j->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int buf_write(void *data, const char *buf, size_t len)
{
    ag_buf_append(data, buf, len);
    return 0;
}

static void skip_ws(jparser *j)
{
    while (j->off < j->len) {
        char c = j->p[j->off];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        j->off++;
    }
}

static int hex4(jparser *j, unsigned *out)
{
    if (j->len - j->off < 4) return JFAIL(j, "JSON: truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = j->p[j->off++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return JFAIL(j, "JSON: bad \\u escape at offset %zu", j->off);
    }
    *out = v;
    return 0;
}

/* Parses a string (after the opening quote) into tmp, then packs it. */
static int parse_string(jparser *j, ag_buf *tmp)
{
    tmp->len = 0;
    for (;;) {
        if (j->off >= j->len) return JFAIL(j, "JSON: unterminated string");
        unsigned char c = (unsigned char)j->p[j->off++];
        if (c == '"') break;
        if (c < 0x20)
            return JFAIL(j, "JSON: control character in string at offset %zu", j->off - 1);
        if (c != '\\') {
            ag_buf_putc(tmp, (char)c);
            continue;
        }
        if (j->off >= j->len) return JFAIL(j, "JSON: unterminated string");
        char e = j->p[j->off++];
        unsigned cp;
        switch (e) {
        case '"': ag_buf_putc(tmp, '"'); break;
        case '\\': ag_buf_putc(tmp, '\\'); break;
        case '/': ag_buf_putc(tmp, '/'); break;
        case 'b': ag_buf_putc(tmp, '\b'); break;
        case 'f': ag_buf_putc(tmp, '\f'); break;
        case 'n': ag_buf_putc(tmp, '\n'); break;
        case 'r': ag_buf_putc(tmp, '\r'); break;
        case 't': ag_buf_putc(tmp, '\t'); break;
        case 'u':
            if (hex4(j, &cp)) return -1;
            if (cp >= 0xd800 && cp <= 0xdbff && j->len - j->off >= 6 && j->p[j->off] == '\\' &&
                j->p[j->off + 1] == 'u') {
                unsigned lo;
                j->off += 2;
                if (hex4(j, &lo)) return -1;
                if (lo >= 0xdc00 && lo <= 0xdfff)
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                else cp = 0xfffd;
            } else if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 0xfffd; /* lone surrogate: repaired like invalid UTF-8 */
            }
            ag_utf8_put(tmp, cp);
            break;
        default: return JFAIL(j, "JSON: bad escape at offset %zu", j->off - 1);
        }
    }
    msgpack_pack_str(&j->pk, tmp->len);
    msgpack_pack_str_body(&j->pk, tmp->data, tmp->len);
    return 0;
}

static int parse_number(jparser *j)
{
    size_t start = j->off;
    int is_float = 0;
    if (j->off < j->len && j->p[j->off] == '-') j->off++;
    while (j->off < j->len) {
        char c = j->p[j->off];
        if (c >= '0' && c <= '9') j->off++;
        else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') is_float = 1, j->off++;
        else break;
    }
    size_t n = j->off - start;
    if (n == 0 || n > 64) return JFAIL(j, "JSON: bad number at offset %zu", start);
    char tmp[65];
    memcpy(tmp, j->p + start, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    if (!is_float && tmp[0] == '-') {
        long long v = strtoll(tmp, &end, 10);
        if (!errno && *end == '\0') return msgpack_pack_int64(&j->pk, v), 0;
    } else if (!is_float) {
        unsigned long long v = strtoull(tmp, &end, 10);
        if (!errno && *end == '\0') return msgpack_pack_uint64(&j->pk, v), 0;
    }
    errno = 0;
    double d = strtod(tmp, &end);
    if (*end != '\0' || end == tmp) return JFAIL(j, "JSON: bad number at offset %zu", start);
    msgpack_pack_double(&j->pk, d);
    return 0;
}

static int literal(jparser *j, const char *word)
{
    size_t n = strlen(word);
    if (j->len - j->off < n || memcmp(j->p + j->off, word, n))
        return JFAIL(j, "JSON: unexpected token at offset %zu", j->off);
    j->off += n;
    return 0;
}

static void patch_count(ag_buf *out, size_t at, uint32_t count)
{
    ag_mp_store_be((unsigned char *)out->data + at + 1, count, 4);
}

static int parse_value(jparser *j, ag_buf *tmp, int depth);

static int parse_container(jparser *j, ag_buf *tmp, int depth, int is_map)
{
    if (depth > JSON_MAX_DEPTH)
        return JFAIL(j, "JSON: nesting deeper than %d levels", JSON_MAX_DEPTH);
    char close = is_map ? '}' : ']';
    size_t header = j->out->len;
    unsigned char h[5] = {is_map ? AG_MP_MAP32 : AG_MP_ARRAY32, 0, 0, 0, 0};
    ag_buf_append(j->out, h, 5);
    uint32_t count = 0;
    skip_ws(j);
    if (j->off < j->len && j->p[j->off] == close) {
        j->off++;
        return 0;
    }
    for (;;) {
        skip_ws(j);
        if (is_map) {
            if (j->off >= j->len || j->p[j->off] != '"')
                return JFAIL(j, "JSON: expected a string key at offset %zu", j->off);
            j->off++;
            if (parse_string(j, tmp)) return -1;
            skip_ws(j);
            if (j->off >= j->len || j->p[j->off] != ':')
                return JFAIL(j, "JSON: expected ':' at offset %zu", j->off);
            j->off++;
        }
        if (parse_value(j, tmp, depth + 1)) return -1;
        count++;
        skip_ws(j);
        if (j->off >= j->len) return JFAIL(j, "JSON: truncated document");
        char c = j->p[j->off++];
        if (c == close) break;
        if (c != ',')
            return JFAIL(j, "JSON: expected ',' or '%c' at offset %zu", close, j->off - 1);
    }
    patch_count(j->out, header, count);
    return 0;
}

static int parse_value(jparser *j, ag_buf *tmp, int depth)
{
    skip_ws(j);
    if (j->off >= j->len) return JFAIL(j, "JSON: truncated document");
    char c = j->p[j->off];
    switch (c) {
    case '[': j->off++; return parse_container(j, tmp, depth, 0);
    case '{': j->off++; return parse_container(j, tmp, depth, 1);
    case '"': j->off++; return parse_string(j, tmp);
    case 't':
        if (literal(j, "true")) return -1;
        msgpack_pack_true(&j->pk);
        return 0;
    case 'f':
        if (literal(j, "false")) return -1;
        msgpack_pack_false(&j->pk);
        return 0;
    case 'n':
        if (literal(j, "null")) return -1;
        msgpack_pack_nil(&j->pk);
        return 0;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(j);
        return JFAIL(j, "JSON: unexpected character at offset %zu", j->off);
    }
}

int ag_json_to_msgpack(const char *json, size_t len, ag_buf *out, char *err, size_t errlen)
{
    jparser j = {json, len, 0, out, {0}, err, errlen};
    msgpack_packer_init(&j.pk, out, buf_write);
    ag_buf tmp = {0};
    int rc = -1;
    skip_ws(&j);
    if (j.off == len) {
        JFAIL(&j, "empty payload");
        goto done;
    }
    if (parse_value(&j, &tmp, 1)) goto done;
    skip_ws(&j);
    if (j.off != len) {
        JFAIL(&j, "JSON: trailing data at offset %zu", j.off);
        goto done;
    }
    rc = 0;
done:
    ag_buf_free(&tmp);
    return rc;
}
