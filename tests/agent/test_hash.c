/* Unit tests for agent/base/hash.c: the string hash gives the values of its
 * definition (a Python model of it computed the pinned ones, so a change
 * to the steps is caught, not silently taken for a new hash), chains
 * depend on where one string ends and the next begins, and one flipped
 * input bit changes about half the output bits. */
#include "hash.h"
#include "../test_harness.h"

#include <string.h>

static uint64_t h(const char *s) { return ag_hash_bytes(s, strlen(s), AG_HASH_SEED); }

CT_TEST(test_values_follow_the_definition)
{
    CHECK(h("") == 0x0dc0080b671218d9ULL);
    CHECK(h("web") == 0x3ae588286ca54598ULL);
    CHECK(h("postgres.query") == 0x70eb4f05a43fbe70ULL);              /* one word and a tail */
    CHECK(h("GET /api/v1/traces/{id} 200") == 0x031a3420de2e1fb0ULL); /* three words and a tail */
}

CT_TEST(test_chained_strings_keep_their_boundary)
{
    uint64_t ab_c = ag_hash_bytes("c", 1, ag_hash_bytes("ab", 2, AG_HASH_SEED) ^ 1);
    uint64_t a_bc = ag_hash_bytes("bc", 2, ag_hash_bytes("a", 1, AG_HASH_SEED) ^ 1);
    CHECK(ab_c != a_bc);
    /* the length is part of the hash: a string and its zero-padded copy differ */
    CHECK(ag_hash_bytes("ab\0", 3, AG_HASH_SEED) != ag_hash_bytes("ab", 2, AG_HASH_SEED));
}

static int popcount(uint64_t x) { return __builtin_popcountll(x); }

CT_TEST(test_one_bit_changes_about_half_the_output)
{
    char buf[40];
    memset(buf, 'x', sizeof buf);
    uint64_t base = ag_hash_bytes(buf, sizeof buf, AG_HASH_SEED);
    int least = 64, total = 0;
    for (size_t bit = 0; bit < 8 * sizeof buf; bit++) {
        buf[bit / 8] ^= (char)(1 << (bit % 8));
        int d = popcount(base ^ ag_hash_bytes(buf, sizeof buf, AG_HASH_SEED));
        buf[bit / 8] ^= (char)(1 << (bit % 8));
        if (d < least) least = d;
        total += d;
    }
    CHECK(least >= 12);
    double mean = (double)total / (8 * sizeof buf);
    CHECK(mean > 28 && mean < 36);
    /* the word mixer too, from ids that differ in one low bit */
    CHECK(popcount(ag_hash_mix64(0x1000) ^ ag_hash_mix64(0x1001)) >= 12);
}

CT_TEST_MAIN()
