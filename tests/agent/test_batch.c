/* Unit tests for agent/intake/batch.c's parent lookup: each span's parent is the
 * first other span carrying its parent_id, whatever the ids (duplicates,
 * a span naming itself, ids sharing their low bits), and the work stays
 * linear in spans for ids a sender picks to collide: the hash slots
 * examined are counted, so this proves it without a stopwatch (the
 * unseeded hash examined ~n^2/2 slots for such ids). */
#include "batch.h"
#include "../test_harness.h"

#include <stdlib.h>
#include <string.h>

/* The definition, quadratic: what the hash must agree with. */
static long naive_parent(const ag_trace *t, size_t i)
{
    uint64_t p = t->spans[i].parent_id;
    if (!p) return -1;
    for (size_t k = 0; k < t->len; k++)
        if (t->spans[k].span_id == p && k != i) return (long)k;
    return -1;
}

static ag_trace make_trace(size_t n)
{
    ag_trace t = {calloc(n, sizeof(ag_span)), n};
    return t;
}

/* Finds the parents of t; returns the probes per span, checks them all
 * against the definition when check is set. */
static double probes_per_span(const ag_trace *t, int check)
{
    ag_batch *b = ag_batch_new();
    long *parents = malloc(t->len * sizeof *parents);
    ag_batch_find_parents(b, t, parents);
    int agree = 1;
    for (size_t i = 0; check && i < t->len; i++) agree &= parents[i] == naive_parent(t, i);
    CHECK(agree);
    double per_span = (double)b->parent_probes / (double)t->len;
    free(parents);
    ag_batch_free(b);
    return per_span;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_random(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

CT_TEST(test_duplicates_and_self_parents_match_the_definition)
{
    ag_trace t = make_trace(3000);
    for (size_t i = 0; i < t.len; i++) {
        t.spans[i].span_id = 1 + next_random() % 200; /* many duplicates */
        t.spans[i].parent_id = next_random() % 250;   /* some absent, some 0 */
    }
    t.spans[5].parent_id = t.spans[5].span_id; /* names itself */
    probes_per_span(&t, 1);
    free(t.spans);
}

CT_TEST(test_hostile_ids_stay_linear)
{
    enum { N = 200000 };
    ag_trace t = make_trace(N);
    /* every span the same id, every span its child */
    for (size_t i = 0; i < N; i++) t.spans[i].span_id = t.spans[i].parent_id = 42;
    double same = probes_per_span(&t, 0);
    CHECK(same <= 4);
    /* distinct ids sharing their low 24 bits, each the parent of the next */
    for (size_t i = 0; i < N; i++) {
        t.spans[i].span_id = ((uint64_t)(i + 1) << 24) | 0xabcdefu;
        t.spans[i].parent_id = i ? t.spans[i - 1].span_id : 0;
    }
    double low_bits = probes_per_span(&t, 0);
    CHECK(low_bits <= 8);
    /* distinct ids sharing their high bits */
    for (size_t i = 0; i < N; i++) {
        t.spans[i].span_id = 0xabcdef0000000000ULL | (uint64_t)i << 1;
        t.spans[i].parent_id = i ? t.spans[i - 1].span_id : 0;
    }
    double high_bits = probes_per_span(&t, 0);
    CHECK(high_bits <= 8);
    printf("# probes per span: same id %.2f, shared low bits %.2f, shared high bits %.2f\n", same,
           low_bits, high_bits);
    free(t.spans);
}

CT_TEST(test_parents_in_a_small_chunk)
{
    ag_trace t = make_trace(4);
    uint64_t ids[4][2] = {{1, 0}, {2, 1}, {3, 2}, {3, 3}};
    for (int i = 0; i < 4; i++) t.spans[i].span_id = ids[i][0], t.spans[i].parent_id = ids[i][1];
    ag_batch *b = ag_batch_new();
    long parents[4];
    ag_batch_find_parents(b, &t, parents);
    CHECK(parents[0] == -1 && parents[1] == 0 && parents[2] == 1);
    CHECK(parents[3] == 2); /* id 3 names itself: the other span with id 3 */
    ag_batch_free(b);
    free(t.spans);
}

CT_TEST_MAIN()
