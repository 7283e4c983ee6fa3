/* The cost of the agent's latency histograms (agent/model/hist.c): nanoseconds
 * per recorded duration and bytes per stored (minute, service) row, for
 * minutes of log-normally distributed request latencies (median 10 ms,
 * sigma 0.8: a web service), at several hit rates. Prints one JSON line.
 * Usage: hist_bench [rounds] */
#include "hist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double gaussian(void)
{
    double u = (rand() + 1.0) / (RAND_MAX + 2.0), v = (rand() + 1.0) / (RAND_MAX + 2.0);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    enum { N = 1 << 20 };
    int64_t *values = malloc(N * sizeof *values);
    srand(1);
    for (int i = 0; i < N; i++) values[i] = (int64_t)(1e7 * exp(0.8 * gaussian()));
    static ag_hist h;
    double best = 1e30;
    for (int r = 0; r < rounds; r++) {
        memset(&h, 0, sizeof h);
        double t0 = now_ns();
        for (int i = 0; i < N; i++) ag_hist_add(&h, values[i]);
        double per = (now_ns() - t0) / N;
        if (per < best) best = per;
    }
    printf("{\"ns_per_add\": %.2f, \"buckets\": %d, \"bytes_in_memory\": %zu", best,
           AG_HIST_BUCKETS, sizeof(ag_hist));
    static const int hits[] = {10, 100, 1000, 10000, 100000};
    static unsigned char out[1 << 16];
    for (size_t k = 0; k < sizeof hits / sizeof hits[0]; k++) {
        memset(&h, 0, sizeof h);
        for (int i = 0; i < hits[k]; i++) ag_hist_add(&h, values[i]);
        printf(", \"bytes_per_row_at_%d_hits\": %zu", hits[k], ag_hist_encode(&h, out));
    }
    printf("}\n");
    free(values);
    return 0;
}
