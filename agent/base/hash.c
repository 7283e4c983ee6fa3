/* The string hash (see hash.h). Eight bytes per step, then a final
 * avalanche: the agent hashes every string of every span, so a
 * byte-at-a-time hash (FNV-1a, its first version) was a visible share of
 * intake time. */
#include "hash.h"

#include <string.h>

uint64_t ag_hash_bytes(const void *p, size_t n, uint64_t h)
{
    const unsigned char *c = p;
    h ^= n * AG_HASH_GOLDEN;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, c, 8);
        h = ag_hash_step(h, w);
        c += 8, n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, c, n);
    return ag_hash_fold(ag_hash_last(h, w));
}
