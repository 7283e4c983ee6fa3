/* What every fuzz target in fuzz/ shares: the libFuzzer entry point it
 * defines (replay.c calls it without libFuzzer) and CHECK, the invariant
 * check a target makes after each input. CHECK aborts with the condition
 * and its place, so libFuzzer keeps the input and the corpus replay
 * (meson test <target>_corpus) fails; it never returns on failure. */
#ifndef CT_FUZZ_TARGET_H
#define CT_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            abort();                                                            \
        }                                                                       \
    } while (0)

#endif
