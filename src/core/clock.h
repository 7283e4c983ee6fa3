/*
 * clock — wall and monotonic time in nanoseconds.
 *
 * A span's start is wall time (the agent wants epoch nanoseconds) but its
 * duration is measured on the monotonic clock, so that an NTP step during a
 * request never yields a negative or absurd duration. Both read the vDSO:
 * about 20 ns each, no system call. The wall clock, which a binding reads,
 * is defined in ctrace_internal.h.
 */
#ifndef CT_CLOCK_H
#define CT_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "ctrace_internal.h" /* ct__clock_wall_ns */

/* Nanoseconds on a clock that never goes back. Can't fail. */
static inline int64_t ct__clock_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
