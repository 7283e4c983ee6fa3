/* JSON encoding helpers (see jsonw.h). Strings are the only subtle part: the
 * agent stores repaired UTF-8, but event attributes and old rows may still
 * hold anything, so the writer validates as it copies and never emits
 * invalid JSON. */
#include "jsonw.h"
#include "utf8.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void ag_jw_str(ag_buf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    ag_buf_reserve(b, len + 2);
    ag_buf_putc(b, '"');
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            ag_buf_append(b, p + i, run - i);
            i = run;
            continue;
        }
        unsigned c = p[i];
        if (c >= 0x80) {
            size_t n = ag_utf8_seq_len(p + i, len - i);
            if (n) ag_buf_append(b, p + i, n), i += n;
            else ag_buf_puts(b, "\\ufffd"), i++;
            continue;
        }
        switch (c) {
        case '"': ag_buf_puts(b, "\\\""); break;
        case '\\': ag_buf_puts(b, "\\\\"); break;
        case '\n': ag_buf_puts(b, "\\n"); break;
        case '\r': ag_buf_puts(b, "\\r"); break;
        case '\t': ag_buf_puts(b, "\\t"); break;
        default: ag_buf_printf(b, "\\u%04x", c);
        }
        i++;
    }
    ag_buf_putc(b, '"');
}

void ag_jw_cstr(ag_buf *b, const char *s) { ag_jw_str(b, s, strlen(s)); }

void ag_jw_key(ag_buf *b, const char *key)
{
    ag_jw_cstr(b, key);
    ag_buf_putc(b, ':');
}

void ag_jw_u64(ag_buf *b, uint64_t v) { ag_buf_printf(b, "%llu", (unsigned long long)v); }
void ag_jw_i64(ag_buf *b, int64_t v) { ag_buf_printf(b, "%lld", (long long)v); }

void ag_jw_double(ag_buf *b, double v)
{
    if (!isfinite(v)) {
        ag_buf_puts(b, "null");
        return;
    }
    if (v == (double)(int64_t)v && fabs(v) < 1e15) {
        ag_buf_printf(b, "%lld", (long long)v);
        return;
    }
    char tmp[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        double back;
        if (sscanf(tmp, "%lf", &back) == 1 && back == v) break;
    }
    ag_buf_puts(b, tmp);
}

void ag_jw_trace_id(ag_buf *b, uint64_t high, uint64_t low)
{
    char h[17], l[17];
    ag_hex64(high, h);
    ag_hex64(low, l);
    ag_buf_printf(b, "\"%s%s\"", h, l);
}

void ag_jw_span_id(ag_buf *b, uint64_t id)
{
    char h[17];
    ag_hex64(id, h);
    ag_buf_printf(b, "\"%s\"", h);
}
