/*
 * counters — reference counts and statistics that are atomic only when
 * they have to be.
 *
 * A C program may use the core from many threads, so counts are atomics.
 * The Python extension calls the core only under the GIL, where a locked
 * read-modify-write (~20 cycles each, a dozen per span) buys nothing: it
 * sets ct_counters_single_lock once, before creating a tracer, and counts
 * then use a relaxed load and store (still atomic objects, so no data race
 * in the C11 sense; the GIL orders them). The writer thread never touches
 * these counts: it works on bytes and its own counters.
 */
#ifndef CT_COUNTERS_H
#define CT_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

/* 1 when every call into the core holds one lock (set by the Python
 * extension at import). Never changes after the first tracer exists. */
extern int ct_counters_single_lock;

static inline void ct_count_add(atomic_uint_fast64_t *counter, uint64_t n)
{
    if (ct_counters_single_lock)
        atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
                              memory_order_relaxed);
    else atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* Reference count increment / decrement; the decrement returns the count
 * before it (1 means the caller dropped the last reference). */
static inline void ct_ref_increment(atomic_uint *count)
{
    if (ct_counters_single_lock)
        atomic_store_explicit(count, atomic_load_explicit(count, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    else atomic_fetch_add_explicit(count, 1, memory_order_relaxed);
}

static inline unsigned ct_ref_decrement(atomic_uint *count)
{
    if (ct_counters_single_lock) {
        unsigned before = atomic_load_explicit(count, memory_order_relaxed);
        atomic_store_explicit(count, before - 1, memory_order_relaxed);
        return before;
    }
    return atomic_fetch_sub_explicit(count, 1, memory_order_acq_rel);
}

#endif
