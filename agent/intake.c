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

ag_batch *ag_intake_build(ag_version v, bool json, const char *body, size_t len,
                          const char *lang, int64_t now_ns, ag_intake_counts *counts,
                          char *err, size_t errlen)
{
    ag_buf converted = {0};
    if (json) {
        if (ag_json_to_msgpack(body, len, &converted, err, errlen)) {
            ag_buf_free(&converted);
            return NULL;
        }
        body = converted.data;
        len = converted.len;
    }
    ag_arena arena;
    ag_arena_init(&arena);
    intake_ctx ic = {ag_batch_new(), {lang, now_ns}, &arena, {0}};
    int rc = ag_decode(v, body, len, &arena, on_chunk, &ic, err, errlen);
    ag_arena_free(&arena);
    ag_buf_free(&converted);
    if (counts) *counts = ic.counts;
    if (rc) {
        ag_batch_free(ic.batch);
        return NULL;
    }
    ic.batch->dropped_chunks = ic.counts.dropped_chunks;
    ag_batch_seal(ic.batch);
    return ic.batch;
}
