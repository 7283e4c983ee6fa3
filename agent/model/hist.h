/* Latency histograms with a 1% relative-error guarantee (DDSketch's
 * logarithmic mapping).
 *
 * Bucket 0 holds 0 ns; bucket i >= 1 holds the durations in
 * (gamma^(i-2), gamma^(i-1)] ns with gamma = (1 + a) / (1 - a), a = 0.01,
 * and a quantile read from it is 2 gamma^(i-1) / (gamma + 1): within 1% of
 * any value the bucket holds (plus the rounding to whole nanoseconds), which is the guarantee Datadog's DDSketch
 * gives (the log-linear buckets before this were 12.5% wide). Durations
 * beyond 2^48 ns (3.2 days) land in the last bucket. Histograms are dense
 * in memory (adding is an array increment) and sparse on disk: varint
 * (bucket delta, count) pairs, typically 2 to 4 bytes a used bucket.
 *
 * The on-disk encoding changed with the store's user_version 4; the
 * store converts older histograms with ag_hist_upgrade_add. */
#ifndef AG_HIST_H
#define AG_HIST_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

/* ceil(log(2^48) / log(gamma)) + 2 */
#define AG_HIST_BUCKETS 1666
/* The relative accuracy of a quantile (see above). */
#define AG_HIST_RELATIVE_ACCURACY 0.01
/* Upper bound of an encoded histogram's size in bytes. */
#define AG_HIST_ENCODED_MAX (AG_HIST_BUCKETS * 8)

typedef struct {
    uint32_t counts[AG_HIST_BUCKETS];
} ag_hist;

/* Bucket of a duration in ns (negative counts as 0). Can't fail. */
int ag_hist_bucket(int64_t ns);
/* Bounds of a bucket in ns, rounded outwards to integers: the bucket
 * holds durations in (lower, upper] (bucket 0: [0, 0]). */
uint64_t ag_hist_lower(int bucket);
uint64_t ag_hist_upper(int bucket);
/* The value reported for a bucket: within 1% of anything it holds. */
uint64_t ag_hist_value(int bucket);
void ag_hist_add(ag_hist *h, int64_t ns);
/* Adds one duration whose bucket the caller computed (one bucket serves
 * the resource's and the service's histograms). */
static inline void ag_hist_add_bucket(ag_hist *h, int bucket) { h->counts[bucket]++; }
void ag_hist_merge(ag_hist *into, const ag_hist *from);
uint64_t ag_hist_count(const ag_hist *h);
/* The q-quantile (0..1): the value of the bucket holding the
 * ceil(q * count)-th smallest duration; 0 for an empty histogram. */
uint64_t ag_hist_quantile(const ag_hist *h, double q);
/* The n quantiles qs (ascending) into out, in one pass over the buckets. */
void ag_hist_quantiles(const ag_hist *h, const double *qs, int n, uint64_t *out);

/* Sparse encoding (see above). Writes at most AG_HIST_ENCODED_MAX bytes to
 * out, which the caller owns; returns the length. Can't fail. */
size_t ag_hist_encode(const ag_hist *h, unsigned char *out);
/* Adds an encoded histogram into h. Returns 0, or -1 if blob is malformed
 * (h may then hold part of it). */
AG_MUST_CHECK int ag_hist_decode_add(ag_hist *h, const void *blob, size_t len);
/* Adds a histogram in the encoding of user_version <= 3 (log-linear
 * buckets, 8 an octave, fixed 6-byte pairs), each old bucket's count into
 * the bucket of its midpoint. Returns 0, or -1 if blob is malformed. */
AG_MUST_CHECK int ag_hist_upgrade_add(ag_hist *h, const void *blob, size_t len);

/* An accumulator for a histogram that usually sees few buckets (an
 * aggregate entry of one request: a few hits of one resource in one
 * minute): up to AG_HIST_ACC_FEW buckets inline, sorted, then a dense
 * ag_hist on the heap. Zeroed memory is an empty accumulator. */
#define AG_HIST_ACC_FEW 6
typedef struct {
    ag_hist *dense; /* owned; NULL while few */
    uint32_t few_count[AG_HIST_ACC_FEW];
    uint16_t few_bucket[AG_HIST_ACC_FEW]; /* ascending */
    uint8_t few_len;
} ag_hist_acc;

/* Adds count durations of bucket. Never fails (aborts on OOM). */
void ag_hist_acc_add(ag_hist_acc *a, int bucket, uint32_t count);
/* Adds every bucket of from into into. Never fails (aborts on OOM). */
void ag_hist_acc_merge(ag_hist_acc *into, const ag_hist_acc *from);
uint64_t ag_hist_acc_count(const ag_hist_acc *a);
/* As ag_hist_encode, and the same encoding. */
size_t ag_hist_acc_encode(const ag_hist_acc *a, unsigned char *out);
/* Frees the dense part; a is empty afterwards. Accepts an empty a. */
void ag_hist_acc_free(ag_hist_acc *a);

#endif
