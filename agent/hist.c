/* Log-linear latency histograms (see hist.h). The bucket of v >= 8 is
 * (e - 2) * 8 + the three bits after the leading one, with e = floor(log2 v):
 * computing it is one count-leading-zeros and two shifts, cheap enough to
 * run for every top-level span at ingest. */
#include "hist.h"

#include <string.h>

int ag_hist_bucket(int64_t ns)
{
    if (ns < 8) return ns < 0 ? 0 : (int)ns;
    uint64_t v = (uint64_t)ns;
    if (v >= (1ULL << 48)) return AG_HIST_BUCKETS - 1;
    int e = 63 - __builtin_clzll(v);
    int sub = (int)((v >> (e - 3)) & 7);
    return (e - 2) * 8 + sub;
}

uint64_t ag_hist_lower(int b)
{
    if (b < 8) return (uint64_t)b;
    int e = b / 8 + 2, sub = b % 8;
    return (uint64_t)(8 + sub) << (e - 3);
}

uint64_t ag_hist_upper(int b)
{
    if (b < 8) return (uint64_t)b + 1;
    int e = b / 8 + 2;
    return ag_hist_lower(b) + (1ULL << (e - 3));
}

void ag_hist_add(ag_hist *h, int64_t ns) { h->counts[ag_hist_bucket(ns)]++; }

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

uint64_t ag_hist_quantile(const ag_hist *h, double q)
{
    uint64_t total = ag_hist_count(h);
    if (!total) return 0;
    uint64_t rank = (uint64_t)(q * (double)total + 0.999999);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < AG_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            if (i < 8) return (uint64_t)i;
            return (ag_hist_lower(i) + ag_hist_upper(i)) / 2;
        }
    }
    return ag_hist_lower(AG_HIST_BUCKETS - 1);
}

size_t ag_hist_encode(const ag_hist *h, unsigned char *out)
{
    size_t n = 0;
    for (int i = 0; i < AG_HIST_BUCKETS; i++) {
        uint32_t c = h->counts[i];
        if (!c) continue;
        out[n++] = (unsigned char)(i & 0xff);
        out[n++] = (unsigned char)(i >> 8);
        for (int k = 0; k < 4; k++) out[n++] = (unsigned char)(c >> (8 * k));
    }
    return n;
}

int ag_hist_decode_add(ag_hist *h, const void *blob, size_t len)
{
    const unsigned char *p = blob;
    if (len % 6) return -1;
    for (size_t off = 0; off < len; off += 6) {
        unsigned b = p[off] | (unsigned)p[off + 1] << 8;
        if (b >= AG_HIST_BUCKETS) return -1;
        uint32_t c = 0;
        for (int k = 0; k < 4; k++) c |= (uint32_t)p[off + 2 + k] << (8 * k);
        h->counts[b] += c;
    }
    return 0;
}
