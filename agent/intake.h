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
} ag_intake_counts;

/* Decodes (JSON first converted when json is true), normalizes every chunk
 * (chunks the normalizer rejects are dropped and counted, as the Datadog
 * agent does) and builds a batch. Returns the batch, owned by the caller,
 * or NULL with a reason in err: then nothing of the payload is kept. */
ag_batch *ag_intake_build(ag_version v, bool json, const char *body, size_t len,
                          const char *lang, int64_t now_ns, ag_intake_counts *counts,
                          char *err, size_t errlen);

#endif
