/*
 * buffer.c — growable byte buffers (see buffer.h).
 *
 * Growth doubles capacity from a 256-byte start, so a segment that holds a
 * few small records allocates once, and a writer buffer of megabytes grows
 * in a handful of steps. A cap turns growth failure into CT_ENOSPC before
 * any memory is touched, so a full buffer stays exactly as it was.
 */
#include "buffer.h"
#include "alloc.h"

#include <stdlib.h>

int ct__buffer_reserve(ct_buffer *buffer, size_t extra)
{
    size_t needed = buffer->len + extra;
    if (needed < buffer->len) return CT_ENOMEM; /* overflow */
    if (buffer->cap && needed > buffer->cap) return CT_ENOSPC;
    if (needed <= buffer->capacity) return CT_OK;
    size_t capacity = buffer->capacity ? buffer->capacity : 256;
    while (capacity < needed) capacity *= 2;
    if (buffer->cap && capacity > buffer->cap) capacity = buffer->cap;
    uint8_t *data = ct__realloc(buffer->data, capacity);
    if (!data) return CT_ENOMEM;
    buffer->data = data;
    buffer->capacity = capacity;
    return CT_OK;
}

void ct__buffer_release(ct_buffer *buffer)
{
    ct__free(buffer->data);
    buffer->data = NULL;
    buffer->len = 0;
    buffer->capacity = 0;
}

void ct__buffer_move(ct_buffer *to, ct_buffer *from)
{
    ct__free(to->data);
    to->data = from->data;
    to->len = from->len;
    to->capacity = from->capacity;
    from->data = NULL;
    from->len = 0;
    from->capacity = 0;
}
