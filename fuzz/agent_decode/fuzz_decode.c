/* libFuzzer target for ctrace-agent's intake: the first byte picks the
 * format (v0.3/v0.4/v0.5, msgpack or JSON), the rest is the request body.
 * It runs the exact pipeline the agent runs before the database
 * (ag_intake_build: decode, normalize, batch and blob encoding, block
 * compression) and then decodes every blob it produced, so a crash or
 * sanitizer report anywhere in that path is found. Built with libFuzzer by meson -Dfuzz=true (make fuzz); replayed
 * without clang by ../replay.c in the ordinary test suite. */
#include "blob.h"
#include "intake.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const ag_version versions[] = {AG_V03, AG_V04, AG_V05};
    ag_version v = versions[data[0] % 3];
    int json = (data[0] >> 2) & 1 && v != AG_V05;
    char err[256];
    ag_batch *b = ag_intake_build(v, json, (const char *)data + 1, size - 1, "python",
                                  1700000000000000000LL, NULL, NULL, err, sizeof err);
    if (!b) return 0;
    ag_buf scratch = {0};
    for (size_t i = 0; i < b->rows_len; i++) {
        ag_arena a;
        ag_arena_init(&a);
        ag_trace t;
        const ag_row *r = &b->rows[i];
        const char *blob = ag_batch_row_blob(b, r, &scratch);
        if (!blob || ag_blob_decode(blob, r->blob_len, r->trace_id, &a, &t) != 0 ||
            t.len != r->span_count)
            abort(); /* a block and a blob we wrote must read back */
        ag_arena_free(&a);
    }
    ag_buf_free(&scratch);
    ag_batch_free(b);
    return 0;
}
