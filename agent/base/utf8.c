/* UTF-8 (see utf8.h). */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

size_t ag_utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf) n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) n = 4, min = 0x10000;
    else return 0;
    if (avail < n) return 0;
    unsigned cp = c & (0xff >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

bool ag_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* skip ASCII eight bytes at a time: nearly every string is ASCII */
        while (len - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i >= len) break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = ag_utf8_seq_len(p + i, len - i);
        if (!n) return false;
        i += n;
    }
    return true;
}

ag_str ag_repair_utf8(ag_str s, ag_arena *a)
{
    if (ag_utf8_valid(s.ptr, s.len)) return s;
    const unsigned char *p = (const unsigned char *)s.ptr;
    char *out = ag_arena_alloc(a, s.len * 3 + 1);
    size_t o = 0, i = 0;
    bool in_bad_run = false;
    while (i < s.len) {
        size_t n = p[i] < 0x80 ? 1 : ag_utf8_seq_len(p + i, s.len - i);
        if (n) {
            memcpy(out + o, p + i, n);
            o += n, i += n;
            in_bad_run = false;
            continue;
        }
        if (!in_bad_run) memcpy(out + o, "\xef\xbf\xbd", 3), o += 3;
        in_bad_run = true;
        i++;
    }
    return (ag_str){out, o};
}

void ag_utf8_put(ag_buf *b, unsigned cp)
{
    char u[4];
    int n;
    if (cp < 0x80) u[0] = (char)cp, n = 1;
    else if (cp < 0x800) u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
        u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
    else
        u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
    ag_buf_append(b, u, (size_t)n);
}
