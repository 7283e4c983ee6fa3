/* Unit tests for agent/model/hist.c: every duration from 1 ns to 2^48 ns is
 * reported within 1% by the bucket that holds it, buckets are ordered and
 * contiguous, quantiles of a distribution are within 1% of the exact order
 * statistic, the encoding round-trips and refuses malformed input, and a
 * histogram of the old encoding is carried over into the right buckets. */
#include "hist.h"
#include "../test_harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int within(double got, double want, double rel) { return fabs(got - want) <= rel * want; }

CT_TEST(test_every_duration_is_reported_within_one_percent)
{
    int bad = 0, prev_bucket = 0;
    /* a geometric sweep with a prime-ish ratio hits every bucket many times */
    for (double v = 1; v < (double)(1ULL << 48); v = v * 1.0013 + 1) {
        int64_t ns = (int64_t)v;
        int b = ag_hist_bucket(ns);
        /* 1%, plus the rounding of the value to whole nanoseconds */
        double error = fabs((double)ag_hist_value(b) - (double)ns);
        if (error > AG_HIST_RELATIVE_ACCURACY * (double)ns + 0.5) bad++;
        if (b < prev_bucket) bad++;
        if ((uint64_t)ns < ag_hist_lower(b) || (uint64_t)ns > ag_hist_upper(b)) bad++;
        prev_bucket = b;
    }
    CHECK(bad == 0);
    CHECK(ag_hist_bucket(0) == 0 && ag_hist_bucket(-5) == 0 && ag_hist_value(0) == 0);
    CHECK(ag_hist_bucket(INT64_MAX) == AG_HIST_BUCKETS - 1);
    CHECK(ag_hist_bucket((int64_t)1 << 48) == AG_HIST_BUCKETS - 1);
    /* the figure that showed the old 12.5% buckets: 9.00 ms read as 8.91 */
    CHECK(within((double)ag_hist_value(ag_hist_bucket(9000000)), 9e6, 0.01));
}

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

CT_TEST(test_quantiles_are_within_one_percent_of_the_order_statistic)
{
    enum { N = 20000 };
    static int64_t values[N];
    static ag_hist h;
    memset(&h, 0, sizeof h);
    srand(7);
    for (int i = 0; i < N; i++) {
        /* log-uniform from 10 us to 10 s, as latencies spread */
        values[i] = (int64_t)(1e4 * pow(10, 6.0 * rand() / RAND_MAX));
        ag_hist_add(&h, values[i]);
    }
    qsort(values, N, sizeof values[0], by_value);
    CHECK(ag_hist_count(&h) == N);
    const double qs[] = {0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        size_t rank = (size_t)ceil(qs[i] * N);
        CHECK(within((double)ag_hist_quantile(&h, qs[i]), (double)values[rank - 1], 0.01));
    }
    static const ag_hist empty;
    CHECK(ag_hist_quantile(&empty, 0.5) == 0);
}

CT_TEST(test_encoding_round_trips_and_refuses_malformed_blobs)
{
    static ag_hist h, back;
    memset(&h, 0, sizeof h);
    memset(&back, 0, sizeof back);
    h.counts[0] = 1;
    h.counts[1] = 300;
    h.counts[900] = 70000;
    h.counts[AG_HIST_BUCKETS - 1] = UINT32_MAX;
    unsigned char out[AG_HIST_ENCODED_MAX];
    size_t n = ag_hist_encode(&h, out);
    CHECK(n > 0 && n <= 4 * 7);
    CHECK(ag_hist_decode_add(&back, out, n) == 0);
    CHECK(memcmp(&h, &back, sizeof h) == 0);
    /* a full histogram fits the stated bound */
    for (int i = 0; i < AG_HIST_BUCKETS; i++) h.counts[i] = UINT32_MAX;
    CHECK(ag_hist_encode(&h, out) <= AG_HIST_ENCODED_MAX);
    const unsigned char truncated[] = {0x01, 0x80};
    const unsigned char zero_delta[] = {0x01, 0x01, 0x00, 0x01};
    const unsigned char past_end[] = {0xff, 0x7f, 0x01};
    const unsigned char overlong[] = {0x01, 0xff, 0xff, 0xff, 0xff, 0x7f};
    CHECK(ag_hist_decode_add(&back, truncated, sizeof truncated) == -1);
    CHECK(ag_hist_decode_add(&back, zero_delta, sizeof zero_delta) == -1);
    CHECK(ag_hist_decode_add(&back, past_end, sizeof past_end) == -1);
    CHECK(ag_hist_decode_add(&back, overlong, sizeof overlong) == -1);
}

CT_TEST(test_old_histograms_are_carried_over)
{
    static ag_hist h;
    memset(&h, 0, sizeof h);
    /* old bucket 5 (5 ns) x 2 and old bucket 177, [8<<21 + 1<<21 .. ) x 3:
     * e = 24, sub = 1, lower = 9 << 21 = 18874368, midpoint + 1<<20 */
    const unsigned char old[] = {5, 0, 2, 0, 0, 0, 177, 0, 3, 0, 0, 0};
    CHECK(ag_hist_upgrade_add(&h, old, sizeof old) == 0);
    CHECK(ag_hist_count(&h) == 5);
    CHECK(h.counts[ag_hist_bucket(5)] == 2);
    CHECK(h.counts[ag_hist_bucket(18874368 + (1 << 20))] == 3);
    const unsigned char bad_length[] = {5, 0, 2, 0, 0};
    const unsigned char bad_bucket[] = {0x70, 1, 1, 0, 0, 0};
    CHECK(ag_hist_upgrade_add(&h, bad_length, sizeof bad_length) == -1);
    CHECK(ag_hist_upgrade_add(&h, bad_bucket, sizeof bad_bucket) == -1);
}

/* The accumulator agrees with a dense histogram fed the same durations,
 * whether it stayed small or went dense, alone or merged. */
CT_TEST(test_accumulator_matches_a_dense_histogram)
{
    static ag_hist dense;
    unsigned char a_out[AG_HIST_ENCODED_MAX], d_out[AG_HIST_ENCODED_MAX];
    const int sizes[] = {0, 1, AG_HIST_ACC_FEW, AG_HIST_ACC_FEW + 1, 500};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        ag_hist_acc small = {0}, merged = {0};
        memset(&dense, 0, sizeof dense);
        for (int i = 0; i < sizes[k]; i++) {
            int64_t ns = 1000 + 37 * (int64_t)((i * 7919) % 101) * 1000; /* repeats */
            ag_hist_acc_add(&small, ag_hist_bucket(ns), 1);
            ag_hist_add(&dense, ns);
        }
        CHECK((small.dense != NULL) == (sizes[k] > AG_HIST_ACC_FEW));
        CHECK(ag_hist_acc_count(&small) == (uint64_t)sizes[k]);
        size_t n = ag_hist_acc_encode(&small, a_out);
        CHECK(n == ag_hist_encode(&dense, d_out) && !memcmp(a_out, d_out, n));
        ag_hist_acc_merge(&merged, &small);
        ag_hist_acc_merge(&merged, &small);
        ag_hist_merge(&dense, &dense);
        n = ag_hist_acc_encode(&merged, a_out);
        CHECK(n == ag_hist_encode(&dense, d_out) && !memcmp(a_out, d_out, n));
        ag_hist_acc_free(&small);
        ag_hist_acc_free(&merged);
        CHECK(small.dense == NULL && small.few_len == 0);
    }
}

CT_TEST_MAIN()
