/*
 * ids — span and trace identifiers.
 *
 * Ids are random 64-bit numbers from xoshiro256**, one generator per thread
 * (no lock, no shared cache line), seeded from getrandom(). 128-bit trace
 * ids follow Datadog's layout: the upper 64 bits are the unix seconds
 * shifted left by 32, the lower 64 random. After fork() the child must not
 * repeat its parent's ids, so every generator checks a process-wide fork
 * generation, bumped by ct__ids_after_fork_child, and reseeds when it moved.
 * What a binding uses is declared in ctrace_internal.h.
 */
#ifndef CT_IDS_H
#define CT_IDS_H

#include <stdint.h>

#include "ctrace_internal.h" /* ct__ids_random64, ct__ids_trace_high */

/* Makes every thread's generator reseed; call in a forked child. */
void ct__ids_after_fork_child(void);

#endif
