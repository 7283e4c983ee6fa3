/* Latency histograms: log-linear buckets, 8 per power of two.
 *
 * Values below 8 ns get a bucket each; above, a bucket spans 1/8 of an
 * octave, so any percentile read from it is within ~6% of the truth, which
 * is what p50/p95/p99 dashboards need, in at most 368 counters. Durations
 * beyond 2^48 ns (3.2 days) land in the last bucket. Histograms are kept
 * dense in memory (cheap to add) and sparse on disk (a few pairs). */
#ifndef AG_HIST_H
#define AG_HIST_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

#define AG_HIST_BUCKETS 368

typedef struct {
    uint32_t counts[AG_HIST_BUCKETS];
} ag_hist;

/* Bucket of a duration in ns (negative counts as 0). Can't fail. */
int ag_hist_bucket(int64_t ns);
/* [lower, upper) bounds of a bucket in ns. */
uint64_t ag_hist_lower(int bucket);
uint64_t ag_hist_upper(int bucket);
void ag_hist_add(ag_hist *h, int64_t ns);
void ag_hist_merge(ag_hist *into, const ag_hist *from);
uint64_t ag_hist_count(const ag_hist *h);
/* The q-quantile (0..1) as a bucket's midpoint; 0 for an empty histogram. */
uint64_t ag_hist_quantile(const ag_hist *h, double q);

/* Sparse encoding: (u16 bucket, u32 count) little-endian pairs, buckets
 * ascending. Appends to out, which the caller owns (needs 6 * buckets). */
size_t ag_hist_encode(const ag_hist *h, unsigned char *out);
/* Adds an encoded histogram into h. Returns 0, or -1 if blob is malformed
 * (h may then hold part of it). */
AG_MUST_CHECK int ag_hist_decode_add(ag_hist *h, const void *blob, size_t len);

#endif
