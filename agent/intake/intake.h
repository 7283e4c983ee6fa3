/* The whole intake pipeline short of the database: a request body in, a
 * batch (batch.h) out, or a one-line reason why the payload is rejected.
 * Shared by the HTTP server, the unit tests and the fuzz target, so what is
 * fuzzed is exactly what the agent runs. */
#ifndef AG_INTAKE_H
#define AG_INTAKE_H

#include "batch.h"
#include "decode.h"

#include <stdbool.h>

typedef struct {
    uint64_t chunks, spans, dropped_chunks;
    uint64_t dropped_spans; /* over the decoder's per-span object limit */
    bool over_budget;       /* refused: the budget could not cover it */
    size_t decoded_bytes;   /* the most its decoded form held (or needed) */
} ag_intake_counts;

/* Decodes (JSON first converted when json is true), normalizes every chunk
 * (chunks the normalizer rejects are dropped and counted, as the Datadog
 * agent does; spans over the decoder's object limit too) and builds a
 * batch. The JSON conversion and the decoded form are charged to budget
 * (NULL: unlimited) while they exist. Returns the batch, owned by the
 * caller, or NULL with a reason in err (and counts->over_budget set when
 * the budget was the reason): then nothing of the payload is kept. */
ag_batch *ag_intake_build(ag_version v, bool json, const char *body, size_t len, const char *lang,
                          int64_t now_ns, ag_budget *budget, ag_intake_counts *counts, char *err,
                          size_t errlen);

#endif
