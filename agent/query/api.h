/* The query API under /api/v1/ (docs/query-api.md, agent/openapi.yaml):
 * services and resources with RED metrics from the per-minute aggregates,
 * latency distributions, trace search with paging, one trace by id, a live
 * tail and the operations of a service. Read-only; every answer is JSON. */
#ifndef AG_API_H
#define AG_API_H

#include "buf.h"
#include "store.h"
#include "util.h"

typedef struct {
    const char *key, *value;
} ag_param;

typedef struct {
    ag_param *items;
    size_t len;
} ag_params;

/* First value of a query parameter, or NULL. */
const char *ag_params_get(const ag_params *p, const char *key);

/* Answers GET path (e.g. "/api/v1/services") with q; writes the JSON body
 * into out and returns the HTTP status (errors carry {"error": ...}). */
AG_MUST_CHECK int ag_api_handle(ag_store *store, const char *path, const ag_params *q, ag_buf *out);

#endif
