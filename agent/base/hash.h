/* The agent's non-cryptographic hashes, for its in-memory tables.
 *
 * ag_hash_bytes hashes a string eight bytes per step and ends with
 * splitmix64's avalanche, so every input bit reaches every output bit. The
 * steps are inline here because the blob encoder builds its own variant of
 * the same hash (no call to memcpy for the tail) on the hot path of
 * interning; both must stay one hash, not two that drift. ag_hash_mix64
 * scrambles one word (murmur3's finalizer), for keys such as span ids that
 * come from the network and may share low bits. None of these can fail;
 * none is safe against an attacker who knows the seed. */
#ifndef AG_HASH_H
#define AG_HASH_H

#include <stddef.h>
#include <stdint.h>

/* A seed for a hash with nothing better to start from. */
#define AG_HASH_SEED 0xcbf29ce484222325ULL
/* 2^64 / golden ratio: spreads a small integer (a length, a minute) over
 * every bit before it is mixed in. */
#define AG_HASH_GOLDEN 0x9e3779b97f4a7c15ULL

/* The hash of the n bytes at p from seed; chain calls to hash several
 * strings (vary the seed between them, e.g. h ^ 1, so ("ab", "c") and
 * ("a", "bc") differ). */
uint64_t ag_hash_bytes(const void *p, size_t n, uint64_t seed);

/* One 8-byte word of the string hash. */
static inline uint64_t ag_hash_step(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    return h ^ (h >> 32);
}

/* The last word and the avalanche; ag_hash_fold finishes it (a table that
 * takes the low bits may fold when it picks the slot instead). */
static inline uint64_t ag_hash_last(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    return h * 0x94d049bb133111ebULL;
}

static inline uint64_t ag_hash_fold(uint64_t h) { return h ^ (h >> 31); }

/* Every bit of x mixed into every bit of the result (murmur3's fmix64). */
static inline uint64_t ag_hash_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

#endif
