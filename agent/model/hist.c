/* DDSketch-style latency histograms (see hist.h). A bucket is one log()
 * and a division away; the bounds of each bucket are computed once into a
 * table, so quantiles and bounds are lookups. About 20 ns a span at
 * ingest, against ~3 us the span costs the agent in all. */
#include "hist.h"

#include "buf.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static double gamma_value, log_gamma;
static uint64_t bucket_value[AG_HIST_BUCKETS];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    double a = AG_HIST_RELATIVE_ACCURACY;
    gamma_value = (1 + a) / (1 - a);
    log_gamma = log(gamma_value);
    for (int i = 1; i < AG_HIST_BUCKETS; i++)
        bucket_value[i] = (uint64_t)llround(2 * pow(gamma_value, i - 1) / (gamma_value + 1));
}

static void tables(void) { pthread_once(&tables_once, build_tables); }

int ag_hist_bucket(int64_t ns)
{
    if (ns <= 0) return 0;
    if (ns >= (int64_t)1 << 48) return AG_HIST_BUCKETS - 1;
    tables();
    int index = (int)ceil(log((double)ns) / log_gamma) + 1;
    return index < AG_HIST_BUCKETS ? index : AG_HIST_BUCKETS - 1;
}

uint64_t ag_hist_lower(int b)
{
    if (b <= 0) return 0;
    tables();
    return (uint64_t)floor(pow(gamma_value, b - 2));
}

uint64_t ag_hist_upper(int b)
{
    if (b <= 0) return 0;
    tables();
    return (uint64_t)ceil(pow(gamma_value, b - 1));
}

uint64_t ag_hist_value(int b)
{
    if (b <= 0) return 0;
    tables();
    return bucket_value[b < AG_HIST_BUCKETS ? b : AG_HIST_BUCKETS - 1];
}

void ag_hist_add(ag_hist *h, int64_t ns) { ag_hist_add_bucket(h, ag_hist_bucket(ns)); }

void ag_hist_merge(ag_hist *into, const ag_hist *from)
{
    for (int i = 0; i < AG_HIST_BUCKETS; i++) into->counts[i] += from->counts[i];
}

uint64_t ag_hist_count(const ag_hist *h)
{
    uint64_t n = 0;
    for (int i = 0; i < AG_HIST_BUCKETS; i++) n += h->counts[i];
    return n;
}

void ag_hist_quantiles(const ag_hist *h, const double *qs, int n, uint64_t *out)
{
    uint64_t total = ag_hist_count(h), seen = 0;
    int k = 0, i = 0;
    for (; k < n && total; k++) {
        uint64_t rank = (uint64_t)ceil(qs[k] * (double)total);
        if (rank < 1) rank = 1;
        while (i < AG_HIST_BUCKETS - 1 && seen + h->counts[i] < rank) seen += h->counts[i++];
        out[k] = ag_hist_value(i);
    }
    for (; k < n; k++) out[k] = 0;
}

uint64_t ag_hist_quantile(const ag_hist *h, double q)
{
    uint64_t value;
    ag_hist_quantiles(h, &q, 1, &value);
    return value;
}

/* LEB128, as protobuf writes unsigned varints. */
static size_t put_varint(unsigned char *out, uint32_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (unsigned char)v;
    return n;
}

static int get_varint(const unsigned char *p, size_t len, size_t *off, uint32_t *v)
{
    uint64_t value = 0;
    for (int shift = 0; shift < 35 && *off < len; shift += 7) {
        unsigned char byte = p[(*off)++];
        value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            if (value > UINT32_MAX) return -1;
            *v = (uint32_t)value;
            return 0;
        }
    }
    return -1;
}

/* Whether the 8 buckets from i are all empty: a dense histogram of one
 * commit holds a few dozen used buckets among 1,666, and testing them one
 * by one was most of the writer's cost of encoding them. */
static bool empty_run(const ag_hist *h, int i)
{
    uint64_t w[4];
    memcpy(w, &h->counts[i], sizeof w);
    return !(w[0] | w[1] | w[2] | w[3]);
}

size_t ag_hist_encode(const ag_hist *h, unsigned char *out)
{
    size_t n = 0;
    int previous = -1;
    for (int i = 0; i < AG_HIST_BUCKETS; i++) {
        if (!(i & 7) && i + 8 <= AG_HIST_BUCKETS && empty_run(h, i)) {
            i += 7;
            continue;
        }
        if (!h->counts[i]) continue;
        n += put_varint(out + n, (uint32_t)(i - previous));
        n += put_varint(out + n, h->counts[i]);
        previous = i;
    }
    return n;
}

int ag_hist_decode_add(ag_hist *h, const void *blob, size_t len)
{
    const unsigned char *p = blob;
    size_t off = 0;
    int64_t bucket = -1;
    while (off < len) {
        uint32_t delta, count;
        if (get_varint(p, len, &off, &delta) || get_varint(p, len, &off, &count) || !delta)
            return -1;
        bucket += delta;
        if (bucket >= AG_HIST_BUCKETS) return -1;
        h->counts[bucket] += count;
    }
    return 0;
}

/* The midpoint of a bucket of the old log-linear mapping. */
static uint64_t old_midpoint(unsigned b)
{
    if (b < 8) return b;
    unsigned e = b / 8 + 2, sub = b % 8;
    uint64_t lower = (uint64_t)(8 + sub) << (e - 3);
    return lower + ((1ULL << (e - 3)) >> 1);
}

int ag_hist_upgrade_add(ag_hist *h, const void *blob, size_t len)
{
    const unsigned char *p = blob;
    if (len % 6) return -1;
    for (size_t off = 0; off < len; off += 6) {
        unsigned b = p[off] | (unsigned)p[off + 1] << 8;
        if (b >= 368) return -1; /* the old mapping's bucket count */
        uint32_t c = 0;
        for (int k = 0; k < 4; k++) c |= (uint32_t)p[off + 2 + k] << (8 * k);
        h->counts[ag_hist_bucket((int64_t)old_midpoint(b))] += c;
    }
    return 0;
}

/* ---- accumulators ---- */

static void acc_go_dense(ag_hist_acc *a)
{
    a->dense = ag_xcalloc(1, sizeof *a->dense);
    for (int i = 0; i < a->few_len; i++) a->dense->counts[a->few_bucket[i]] += a->few_count[i];
    a->few_len = 0;
}

void ag_hist_acc_add(ag_hist_acc *a, int bucket, uint32_t count)
{
    if (a->dense) {
        a->dense->counts[bucket] += count;
        return;
    }
    int i = 0;
    while (i < a->few_len && a->few_bucket[i] < bucket) i++;
    if (i < a->few_len && a->few_bucket[i] == bucket) {
        a->few_count[i] += count;
        return;
    }
    if (a->few_len == AG_HIST_ACC_FEW) {
        acc_go_dense(a);
        a->dense->counts[bucket] += count;
        return;
    }
    memmove(&a->few_bucket[i + 1], &a->few_bucket[i],
            (size_t)(a->few_len - i) * sizeof a->few_bucket[0]);
    memmove(&a->few_count[i + 1], &a->few_count[i],
            (size_t)(a->few_len - i) * sizeof a->few_count[0]);
    a->few_bucket[i] = (uint16_t)bucket;
    a->few_count[i] = count;
    a->few_len++;
}

void ag_hist_acc_merge(ag_hist_acc *into, const ag_hist_acc *from)
{
    if (from->dense) {
        if (!into->dense) acc_go_dense(into);
        ag_hist_merge(into->dense, from->dense);
        return;
    }
    for (int i = 0; i < from->few_len; i++)
        ag_hist_acc_add(into, from->few_bucket[i], from->few_count[i]);
}

uint64_t ag_hist_acc_count(const ag_hist_acc *a)
{
    if (a->dense) return ag_hist_count(a->dense);
    uint64_t n = 0;
    for (int i = 0; i < a->few_len; i++) n += a->few_count[i];
    return n;
}

size_t ag_hist_acc_encode(const ag_hist_acc *a, unsigned char *out)
{
    if (a->dense) return ag_hist_encode(a->dense, out);
    size_t n = 0;
    int previous = -1;
    for (int i = 0; i < a->few_len; i++) {
        n += put_varint(out + n, (uint32_t)(a->few_bucket[i] - previous));
        n += put_varint(out + n, a->few_count[i]);
        previous = a->few_bucket[i];
    }
    return n;
}

void ag_hist_acc_free(ag_hist_acc *a)
{
    free(a->dense);
    memset(a, 0, sizeof *a);
}
