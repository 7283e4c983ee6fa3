/* Normalization of decoded chunks, as the Datadog agent's normalizer does
 * (pkg/trace/agent/normalizer.go, traceutil/normalize.go, truncate.go).
 *
 * A chunk either comes out normalized in place, or is rejected whole with a
 * reason (empty, zero or mismatched trace id, zero span id). Rewritten
 * strings are allocated in the caller's arena; untouched ones keep pointing
 * where the decoder left them. */
#ifndef AG_NORMALIZE_H
#define AG_NORMALIZE_H

#include "buf.h"
#include "span.h"

#include <stdbool.h>

#define AG_MAX_SERVICE_LEN 100
#define AG_MAX_NAME_LEN 100
#define AG_MAX_TYPE_LEN 100
#define AG_MAX_RESOURCE_LEN 5000
#define AG_MAX_META_KEY_LEN 200
#define AG_MAX_META_VALUE_LEN 25000
#define AG_MAX_METRIC_KEY_LEN 200
#define AG_MAX_TAG_LEN 200
#define AG_YEAR_2000_NS 946684800000000000LL

typedef struct {
    const char *lang; /* Datadog-Meta-Lang, or NULL */
    int64_t now_ns;   /* replaces starts before 2000 */
} ag_norm_opts;

/* Normalizes every span of the chunk. Returns 0 when the chunk is kept, or
 * -1 when it must be dropped, with *reason set to a static string
 * ("empty_trace", "trace_id_zero", "span_id_zero", "trace_id_mismatch"). */
int ag_normalize_trace(ag_trace *t, const ag_norm_opts *opts, ag_arena *a, const char **reason);

/* Exposed for the unit tests; all return views valid as long as the input
 * and the arena (the UTF-8 helpers they build on are utf8.h). */
/* Truncated to limit at a boundary with "..." appended, if over limit. */
ag_str ag_truncate_ellipsis(ag_str s, size_t limit, ag_arena *a);
/* Datadog tag normalization: lowercase, [a-z0-9:./-_] and letters kept,
 * the rest collapsed to '_', trailing '_' trimmed, 200 bytes max.
 * Keys (is_key) must start with a letter. */
ag_str ag_normalize_tag(ag_str s, bool is_key, ag_arena *a);
ag_str ag_normalize_service(ag_str s, const char *lang, ag_arena *a);
/* Metric-name rules; empty or without a letter -> "unnamed_operation". */
ag_str ag_normalize_name(ag_str s, ag_arena *a);
bool ag_valid_status_code(ag_str s);

#endif
