/*
 * counters — reference counts and statistics that are atomic only when
 * they have to be.
 *
 * A C program may use the core from many threads, so counts are atomics.
 * The Python extension calls the core only under the GIL, where a locked
 * read-modify-write (~20 cycles each, a dozen per span) buys nothing: it
 * sets ct__counters_single_lock once, before creating a tracer, and counts
 * then use a relaxed load and store (still atomic objects, so no data race
 * in the C11 sense; the GIL orders them). The writer thread never touches
 * these counts: it works on bytes and its own counters. The flag and the
 * reference counts are declared in ctrace_internal.h (shared strings,
 * which a binding uses, are built on them); this header adds the rest.
 */
#ifndef CT_COUNTERS_H
#define CT_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

#include "ctrace_internal.h" /* ct__counters_single_lock, reference counts */

static inline void ct__count_add(atomic_uint_fast64_t *counter, uint64_t n)
{
    if (ct__counters_single_lock)
        atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
                              memory_order_relaxed);
    else atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

#endif
