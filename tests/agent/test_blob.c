/* Unit tests for agent/model/blob.c: a chunk comes back from its blob exactly,
 * whatever its strings (many distinct ones that make the interning table
 * grow, long ones that differ only in the middle, look-alikes of every
 * short length), with each distinct string stored once; an encoder reused
 * across chunks never lets one chunk's strings into the next; and the
 * pointer cache, on (shared pointers, as v0.5 decodes) or switched off
 * (a pointer per string, as v0.4), changes nothing in the result. */
#include "blob.h"
#include "../test_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int str_eq(ag_str a, ag_str b) { return a.len == b.len && !memcmp(a.ptr, b.ptr, a.len); }

static int spans_equal(const ag_trace *a, const ag_trace *b)
{
    if (a->len != b->len) return 0;
    for (size_t i = 0; i < a->len; i++) {
        const ag_span *x = &a->spans[i], *y = &b->spans[i];
        if (x->span_id != y->span_id || x->parent_id != y->parent_id || x->start != y->start ||
            x->duration != y->duration || x->error != y->error || !str_eq(x->service, y->service) ||
            !str_eq(x->name, y->name) || !str_eq(x->resource, y->resource) ||
            !str_eq(x->type, y->type) || x->meta_len != y->meta_len ||
            x->metrics_len != y->metrics_len)
            return 0;
        for (size_t k = 0; k < x->meta_len; k++)
            if (!str_eq(x->meta[k].key, y->meta[k].key) ||
                !str_eq(x->meta[k].value, y->meta[k].value))
                return 0;
        for (size_t k = 0; k < x->metrics_len; k++)
            if (!str_eq(x->metrics[k].key, y->metrics[k].key) ||
                x->metrics[k].value != y->metrics[k].value)
                return 0;
    }
    return 1;
}

/* Strings of the blob's table: [1, [string...], [span...]] */
static size_t table_size(const ag_buf *blob)
{
    const unsigned char *p = (const unsigned char *)blob->data;
    if (p[0] != 0x93 || p[1] != 1) return (size_t)-1;
    if ((p[2] & 0xf0) == 0x90) return p[2] & 0x0f;
    if (p[2] == 0xdc) return (size_t)p[3] << 8 | p[4];
    if (p[2] == 0xdd) return (size_t)p[3] << 24 | (size_t)p[4] << 16 | (size_t)p[5] << 8 | p[6];
    return (size_t)-1;
}

static int round_trips(ag_blob_encoder *e, const ag_trace *t, size_t distinct)
{
    ag_buf blob = {0};
    ag_blob_encode(e, t, &blob);
    ag_arena a;
    ag_arena_init(&a);
    ag_trace back;
    int ok = ag_blob_decode(blob.data, blob.len, 7, &a, &back) == 0 && spans_equal(t, &back) &&
             (distinct == 0 || table_size(&blob) == distinct);
    if (!ok) fprintf(stderr, "  table of %zu strings, expected %zu\n", table_size(&blob), distinct);
    ag_arena_free(&a);
    ag_buf_free(&blob);
    return ok;
}

/* A string in its own heap block, so no two share a pointer (as in v0.4). */
static ag_str own(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    memcpy(p, s, n + 1);
    return (ag_str){p, n};
}

/* A chunk of `spans` spans, each with `tags` meta entries whose keys are
 * shared by every span and whose values are distinct per (span, tag)
 * unless `shared_values`. Values are long strings that differ only in the
 * middle when `long_values`, else of lengths 0..16 (the short-key path). */
typedef struct {
    ag_trace t;
    ag_span spans[8];
    ag_tag tags[8][300];
} chunk;

static void make_chunk(chunk *c, size_t spans, size_t tags, int long_values, int shared_values)
{
    memset(c, 0, sizeof *c);
    c->t = (ag_trace){c->spans, spans};
    for (size_t i = 0; i < spans; i++) {
        ag_span *s = &c->spans[i];
        s->span_id = 100 + i;
        s->parent_id = i ? 100 : 0;
        s->start = 1700000000000000000LL + (int64_t)i;
        s->duration = 1000 * (int64_t)i;
        s->service = own("svc");
        s->name = own("op");
        s->resource = own(i % 2 ? "GET /a" : "GET /b");
        s->type = own("");
        s->meta = c->tags[i];
        s->meta_len = tags;
        for (size_t k = 0; k < tags; k++) {
            char key[32], value[128];
            snprintf(key, sizeof key, "key.%zu", k);
            size_t v = shared_values ? k : i * 1000 + k;
            if (long_values) /* 40 bytes, same first and last 16 */
                snprintf(value, sizeof value, "aaaaaaaaaaaaaaaa%08zubbbbbbbbbbbbbbbb", v);
            else { /* lengths 0..16: many of one length, told apart by one byte */
                size_t len = v % 17;
                memset(value, 'x', len);
                value[len] = 0;
                if (len) value[v % 2 ? len / 2 : len - 1] = (char)('A' + v / 17 % 26);
            }
            c->tags[i][k] = (ag_tag){own(key), own(value)};
        }
    }
}

static void free_fixed_strings(ag_span *s)
{
    free((void *)s->service.ptr), free((void *)s->name.ptr);
    free((void *)s->resource.ptr), free((void *)s->type.ptr);
}

static void free_chunk(chunk *c)
{
    for (size_t i = 0; i < c->t.len; i++) {
        ag_span *s = &c->spans[i];
        free_fixed_strings(s);
        for (size_t k = 0; k < s->meta_len; k++)
            free((void *)s->meta[k].key.ptr), free((void *)s->meta[k].value.ptr);
    }
}

/* distinct strings of make_chunk's chunk: service, name, type, the two
 * resources (one with a single span), the keys, and the values */
static size_t distinct_of(size_t spans, size_t tags, size_t distinct_values)
{
    return 3 + (spans > 1 ? 2 : 1) + tags + distinct_values;
}

CT_TEST(test_many_distinct_strings_grow_the_table)
{
    static chunk c;
    ag_blob_encoder e = {0};
    make_chunk(&c, 4, 250, 1, 0); /* 1000 distinct long values */
    CHECK(round_trips(&e, &c.t, distinct_of(4, 250, 1000)));
    free_chunk(&c);
    make_chunk(&c, 4, 250, 1, 1); /* the same 250 values in every span */
    CHECK(round_trips(&e, &c.t, distinct_of(4, 250, 250)));
    free_chunk(&c);
    ag_blob_encoder_free(&e);
}

CT_TEST(test_short_look_alikes_stay_apart)
{
    static chunk c;
    ag_blob_encoder e = {0};
    make_chunk(&c, 3, 300, 0, 0);
    /* count the distinct values the way make_chunk made them */
    size_t distinct = 0;
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 300; k++) {
            int seen = 0;
            ag_str v = c.tags[i][k].value;
            for (size_t j = 0; j <= i && !seen; j++)
                for (size_t m = 0; m < (j < i ? 300 : k) && !seen; m++)
                    seen = str_eq(c.tags[j][m].value, v);
            distinct += !seen;
        }
    /* the empty value is also the type's "": one string, not two */
    int empty_value = 0;
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 300; k++) empty_value |= c.tags[i][k].value.len == 0;
    CHECK(round_trips(&e, &c.t, distinct_of(3, 300, distinct) - (size_t)empty_value));
    free_chunk(&c);
    ag_blob_encoder_free(&e);
}

CT_TEST(test_a_reused_encoder_keeps_chunks_apart)
{
    static chunk a, b;
    ag_blob_encoder e = {0};
    make_chunk(&a, 2, 40, 1, 0);
    make_chunk(&b, 2, 40, 0, 1);
    for (int round = 0; round < 600; round++) { /* past the pointer cache's switch */
        CHECK(round_trips(&e, &a.t, distinct_of(2, 40, 80)));
        CHECK(round_trips(&e, &b.t, 0));
    }
    CHECK(e.pointer_cache_off); /* every string had its own pointer */
    free_chunk(&a);
    free_chunk(&b);
    ag_blob_encoder_free(&e);
}

CT_TEST(test_shared_pointers_keep_the_pointer_cache)
{
    static chunk c;
    ag_blob_encoder e = {0};
    make_chunk(&c, 8, 60, 1, 1);
    /* as v0.5 decodes: every occurrence of a string is the same pointer */
    for (size_t i = 1; i < 8; i++)
        for (size_t k = 0; k < 60; k++) {
            free((void *)c.tags[i][k].key.ptr), free((void *)c.tags[i][k].value.ptr);
            c.tags[i][k] = c.tags[0][k];
        }
    for (int round = 0; round < 50; round++) CHECK(round_trips(&e, &c.t, distinct_of(8, 60, 60)));
    CHECK(!e.pointer_cache_off);
    c.t.len = 1; /* the others' tags were span 0's */
    free_chunk(&c);
    for (size_t i = 1; i < 8; i++) free_fixed_strings(&c.spans[i]);
    ag_blob_encoder_free(&e);
}

CT_TEST_MAIN()
