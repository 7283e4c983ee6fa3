/* UTF-8: validating, repairing, cutting and encoding.
 *
 * One definition of a valid sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) for every stage: the intake repairs
 * what tracers send to it, the JSON intake encodes \u escapes with it, and
 * the query's JSON writer checks what it copies out. None of these fail or
 * allocate except ag_repair_utf8, which takes its memory from the caller's
 * arena. */
#ifndef AG_UTF8_H
#define AG_UTF8_H

#include "buf.h"
#include "span.h"

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when invalid;
 * avail > 0 bytes may be read. */
size_t ag_utf8_seq_len(const unsigned char *s, size_t avail);
/* Whether the len bytes at s are valid UTF-8. */
bool ag_utf8_valid(const char *s, size_t len);
/* Replaces each run of invalid bytes with U+FFFD (Go's strings.ToValidUTF8).
 * Returns s itself when it is valid, else a copy in a's memory (the arena
 * aborts on out of memory, so this never fails). */
ag_str ag_repair_utf8(ag_str s, ag_arena *a);
/* Appends code point cp (at most U+10FFFF; the caller checked) as UTF-8. */
void ag_utf8_put(ag_buf *b, unsigned cp);

/* Longest prefix of at most limit bytes that ends on a UTF-8 boundary: a
 * view of s, nothing copied. Inline because the normalizer cuts several
 * strings of every span with it. */
static inline ag_str ag_truncate_utf8(ag_str s, size_t limit)
{
    if (s.len <= limit) return s;
    size_t n = limit;
    /* back up over continuation bytes so the cut is at a boundary */
    while (n > 0 && ((unsigned char)s.ptr[n] & 0xc0) == 0x80) n--;
    return (ag_str){s.ptr, n};
}

#endif
