/* A tiny test harness: CHECK records a failure with its line and goes on;
 * main returns non-zero if anything failed and prints "N passed, N failed". */
#ifndef AG_TAP_H
#define AG_TAP_H

#include <stdio.h>

static int tap_passed, tap_failed;

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (cond) tap_passed++;                                               \
        else {                                                                \
            tap_failed++;                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                     \
    } while (0)

#define TAP_DONE()                                                            \
    (printf("%d passed, %d failed\n", tap_passed, tap_failed), tap_failed != 0)

#endif
