/* Intake pipeline (see intake.h): decode -> normalize -> batch, chunk by
 * chunk through the decoder's callback so that only one chunk's decoded
 * form exists at a time. */
#include "intake.h"
#include "normalize.h"

#include <stdio.h>

typedef struct {
    ag_batch *batch;
    ag_norm_opts norm;
    ag_arena *arena;
    ag_intake_counts counts;
} intake_ctx;

static int on_chunk(void *ctx, ag_trace *t, char *err, size_t errlen)
{
    intake_ctx *ic = ctx;
    const char *reason;
    ic->counts.chunks++;
    if (ag_normalize_trace(t, &ic->norm, ic->arena, &reason)) {
        ic->counts.dropped_chunks++;
        return 0;
    }
    ic->counts.spans += t->len;
    ag_batch_add(ic->batch, t);
    return 0;
}

/* The JSON form converted to msgpack, charged to budget; -1 with a reason
 * when malformed or over budget (*charged then 0). */
static int convert_json(const char *body, size_t len, ag_budget *budget, ag_buf *out,
                        size_t *charged, ag_intake_counts *counts, char *err, size_t errlen)
{
    *charged = 0;
    if (ag_json_to_msgpack(body, len, out, err, errlen)) return -1;
    if (budget && !ag_budget_try_charge(budget, out->cap)) {
        counts->over_budget = true;
        counts->decoded_bytes = out->cap;
        snprintf(err, errlen,
                 "payload decodes to more memory than --max-inflight leaves free"
                 " (%zu bytes needed)",
                 out->cap);
        return -1;
    }
    *charged = budget ? out->cap : 0;
    return 0;
}

ag_batch *ag_intake_build(ag_version v, bool json, const char *body, size_t len, const char *lang,
                          int64_t now_ns, ag_budget *budget, ag_intake_counts *counts, char *err,
                          size_t errlen)
{
    ag_buf converted = {0};
    size_t json_charge = 0;
    ag_intake_counts none = {0};
    if (json) {
        if (convert_json(body, len, budget, &converted, &json_charge, &none, err, errlen)) {
            ag_buf_free(&converted);
            if (counts) *counts = none;
            return NULL;
        }
        body = converted.data;
        len = converted.len;
    }
    ag_arena arena;
    ag_arena_init(&arena);
    intake_ctx ic = {ag_batch_new(), {lang, now_ns}, &arena, {0}};
    ag_decode_opts opts = {budget, 0, 0};
    int rc = ag_decode(v, body, len, &arena, on_chunk, &ic, &opts, err, errlen);
    ag_arena_free(&arena);
    ag_buf_free(&converted);
    if (json_charge) ag_budget_release(budget, json_charge);
    ic.counts.dropped_spans = opts.dropped_spans;
    ic.counts.over_budget = rc == AG_DECODE_OVER_BUDGET;
    ic.counts.decoded_bytes = opts.decoded_bytes + json_charge;
    if (counts) *counts = ic.counts;
    if (rc) {
        ag_batch_free(ic.batch);
        return NULL;
    }
    ic.batch->dropped_chunks = ic.counts.dropped_chunks;
    ag_batch_seal(ic.batch);
    return ic.batch;
}
