/*
 * buffer — a growable byte buffer.
 *
 * The one building block behind span records, segment buffers, the writer's
 * pending payload and the encoders' output. Growth doubles the capacity, so
 * appends are amortized O(1). A buffer may have a cap: an append that would
 * pass it fails with CT_ENOSPC and leaves the buffer as it was, which is how
 * the writer bounds its memory. The type and ct__buffer_release, which a
 * binding uses, are declared in ctrace_internal.h.
 */
#ifndef CT_BUFFER_H
#define CT_BUFFER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctrace.h"
#include "ctrace_internal.h" /* ct_buffer, CT_BUFFER_INIT, ct__buffer_release */

/* Makes room for extra more bytes. CT_OK, CT_ENOMEM or CT_ENOSPC (cap);
 * on failure the buffer is unchanged. */
int ct__buffer_reserve(ct_buffer *buffer, size_t extra);

/* memcpy for the short strings of span records (names, tag keys, ids):
 * fixed-size moves the compiler inlines, instead of a call into libc's
 * general memcpy for every few bytes. Same contract as memcpy. */
static inline void ct__copy_small(uint8_t *dst, const void *src, size_t len)
{
    const uint8_t *s = (const uint8_t *)src;
    if (len >= 8 && len <= 16) { /* two overlapping 8-byte moves */
        memcpy(dst, s, 8);
        memcpy(dst + len - 8, s + len - 8, 8);
    } else if (len >= 4 && len < 8) { /* two overlapping 4-byte moves */
        memcpy(dst, s, 4);
        memcpy(dst + len - 4, s + len - 4, 4);
    } else if (len < 4) {
        for (size_t i = 0; i < len; i++) dst[i] = s[i];
    } else {
        memcpy(dst, s, len);
    }
}

/* Appends len bytes. Same failures as ct__buffer_reserve. */
static inline int ct__buffer_append(ct_buffer *buffer, const void *bytes, size_t len)
{
    if (buffer->capacity - buffer->len < len) {
        int rc = ct__buffer_reserve(buffer, len);
        if (rc != CT_OK) return rc;
    }
    if (len) memcpy(buffer->data + buffer->len, bytes, len);
    buffer->len += len;
    return CT_OK;
}

/* Forgets the content, keeps the memory. */
static inline void ct__buffer_clear(ct_buffer *buffer) { buffer->len = 0; }

/* Moves the content of from into to (to's old content is freed); from is
 * left empty. Used to swap out a buffer under a lock in O(1). */
void ct__buffer_move(ct_buffer *to, ct_buffer *from);

#endif
