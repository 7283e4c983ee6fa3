/* What each chunk contributes to span-level search: one entry per
 * (chunk, distinct service) and the set of (service, name, resource)
 * triples of every span, computed on the HTTP thread when the chunk is
 * added to a batch (batch.h) and copied into SQLite by the store's writer.
 *
 * Why per service and not per span: a search by service must find the
 * traces in which that service has any span, also inside another
 * service's trace, but one index row per span would multiply the writer's
 * index work by the spans per chunk. A row per (chunk, service) keeps the
 * cost near one row per chunk for the usual one or two services per
 * process, and carries what the duration and error filters need to skip
 * a chunk without decoding it: the longest span of that service (its id
 * and duration) and whether any of them is an error. The exact match is
 * confirmed on the decoded chunk (api.c). */
#ifndef AG_SPANIDX_H
#define AG_SPANIDX_H

#include "buf.h"
#include "span.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t row;                /* index of the chunk's row in its batch */
    size_t service;            /* offset of the NUL-terminated name in data */
    uint64_t span_id;          /* the longest span of this service */
    int64_t duration;          /* its duration: the max over the service's spans */
    int32_t error;             /* whether any span of the service is an error */
} ag_svc_entry;

typedef struct {
    size_t service, name, resource;   /* offsets in data; service == SIZE_MAX: empty */
    uint64_t hash;
} ag_op_entry;

typedef struct {
    ag_buf data;               /* the entries' strings */
    ag_svc_entry *svc;
    size_t svc_len, svc_cap;
    ag_op_entry *ops;          /* open addressing, distinct triples of the batch */
    size_t ops_len, ops_cap;
} ag_spanidx;

void ag_spanidx_init(ag_spanidx *x);
/* Adds chunk t (row `row` of its batch): one ag_svc_entry per distinct
 * service, and each triple not seen in this batch yet. Linear in spans
 * (hashed, whatever the names). Never fails (aborts on out-of-memory). */
void ag_spanidx_add(ag_spanidx *x, const ag_trace *t, size_t row);
/* The string at offset off of x->data. */
static inline const char *ag_spanidx_str(const ag_spanidx *x, size_t off)
{
    return x->data.data + off;
}
/* Heap bytes held, for queue accounting. */
size_t ag_spanidx_bytes(const ag_spanidx *x);
/* Releases everything x holds; x may be initialised again. */
void ag_spanidx_free(ag_spanidx *x);

#endif
