/* Unit tests for agent/intake/decode.c, json2mp.c and model/blob.c: every intake format
 * decodes to the same spans, malformed input is rejected with a reason, and
 * a blob reads back exactly what was written. */
#include "blob.h"
#include "decode.h"
#include "intake.h"
#include "../test_harness.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int chunks;
    ag_span first;
    char service[64], meta_key[64], meta_value[64];
    double metric;
} seen;

static int collect(void *ctx, ag_trace *t, char *err, size_t errlen)
{
    seen *s = ctx;
    if (s->chunks++ == 0 && t->len) {
        s->first = t->spans[0];
        snprintf(s->service, sizeof s->service, "%.*s", (int)t->spans[0].service.len,
                 t->spans[0].service.ptr);
        if (t->spans[0].meta_len)
            snprintf(s->meta_key, sizeof s->meta_key, "%.*s", (int)t->spans[0].meta[0].key.len,
                     t->spans[0].meta[0].key.ptr),
                snprintf(s->meta_value, sizeof s->meta_value, "%.*s",
                         (int)t->spans[0].meta[0].value.len, t->spans[0].meta[0].value.ptr);
        if (t->spans[0].metrics_len) s->metric = t->spans[0].metrics[0].value;
    }
    return 0;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* [[{trace_id, span_id, service, start, duration, meta{k:v}, metrics{m:2.5}}]] */
static void pack_v04(msgpack_sbuffer *sb, uint64_t trace_id, int metric_as_float32)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 8);
    pack_str(&pk, "trace_id");
    msgpack_pack_uint64(&pk, trace_id);
    pack_str(&pk, "span_id");
    msgpack_pack_uint64(&pk, 7);
    pack_str(&pk, "service");
    pack_str(&pk, "web");
    pack_str(&pk, "start");
    msgpack_pack_int64(&pk, 1700000000000000000LL);
    pack_str(&pk, "duration");
    msgpack_pack_int64(&pk, 42);
    pack_str(&pk, "meta");
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "k");
    pack_str(&pk, "v");
    pack_str(&pk, "metrics");
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "m");
    if (metric_as_float32) msgpack_pack_float(&pk, 2.5f);
    else msgpack_pack_double(&pk, 2.5);
    pack_str(&pk, "unknown_key");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_nil(&pk);
    msgpack_pack_true(&pk);
}

static int decode(ag_version v, const char *p, size_t n, seen *s, char *err)
{
    ag_arena a;
    ag_arena_init(&a);
    memset(s, 0, sizeof *s);
    int rc = ag_decode(v, p, n, &a, collect, s, NULL, err, 256);
    ag_arena_free(&a);
    return rc;
}

CT_TEST(test_v04)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_v04(&sb, 0xfedcba9876543210ULL, 0);
    seen s;
    char err[256];
    CHECK(decode(AG_V04, sb.data, sb.size, &s, err) == 0);
    CHECK(s.chunks == 1 && s.first.trace_id == 0xfedcba9876543210ULL && s.first.span_id == 7);
    CHECK(!strcmp(s.service, "web") && s.first.duration == 42 && s.first.parent_id == 0);
    CHECK(!strcmp(s.meta_key, "k") && !strcmp(s.meta_value, "v") && s.metric == 2.5);
    /* every truncation is an error, never a crash */
    int all_rejected = 1;
    for (size_t cut = 0; cut < sb.size; cut++)
        all_rejected &= decode(AG_V04, sb.data, cut, &s, err) != 0;
    CHECK(all_rejected);
    msgpack_sbuffer_destroy(&sb);

    msgpack_sbuffer_init(&sb);
    pack_v04(&sb, 1, 1);
    CHECK(decode(AG_V04, sb.data, sb.size, &s, err) != 0 && strstr(err, "float64"));
    msgpack_sbuffer_destroy(&sb);
}

CT_TEST(test_v05)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_array(&pk, 4);
    pack_str(&pk, "");
    pack_str(&pk, "svc");
    pack_str(&pk, "env");
    pack_str(&pk, "prod");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 12);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_uint32(&pk, 0);
    msgpack_pack_uint64(&pk, 99);
    msgpack_pack_uint64(&pk, 5);
    msgpack_pack_uint64(&pk, 0);
    msgpack_pack_int64(&pk, 10);
    msgpack_pack_int64(&pk, 20);
    msgpack_pack_int32(&pk, 1);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_uint32(&pk, 2);
    msgpack_pack_uint32(&pk, 3);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_uint32(&pk, 0);
    seen s;
    char err[256];
    CHECK(decode(AG_V05, sb.data, sb.size, &s, err) == 0);
    CHECK(s.first.trace_id == 99 && !strcmp(s.service, "svc") && s.first.error == 1);
    CHECK(!strcmp(s.meta_key, "env") && !strcmp(s.meta_value, "prod"));
    /* an index out of range: patch the meta value index 3 -> 9 */
    char *bad = malloc(sb.size);
    memcpy(bad, sb.data, sb.size);
    char *p = memchr(bad + 20, 0x81, sb.size - 20); /* the meta fixmap */
    CHECK(p != NULL);
    if (p) p[2] = 9;
    CHECK(decode(AG_V05, bad, sb.size, &s, err) != 0 && strstr(err, "out of range"));
    free(bad);
    msgpack_sbuffer_destroy(&sb);
    /* 11 elements */
    static const char eleven[] =
        "\x92\x91\xa0\x91\x91\x9b\x00\x00\x00\x01\x01\x00\x00\x00\x00\x80\x80";
    CHECK(decode(AG_V05, eleven, sizeof eleven - 1, &s, err) != 0 && strstr(err, "12 elements"));
}

CT_TEST(test_json)
{
    const char *json =
        "[[{\"trace_id\": 18446744073709551615, \"span_id\": 1, \"service\": \"w\\u00e9b\","
        " \"meta\": {\"k\": \"v\"}, \"metrics\": {\"m\": 2.5}, \"start\": -5}]]";
    ag_buf mp = {0};
    char err[256];
    CHECK(ag_json_to_msgpack(json, strlen(json), &mp, err, sizeof err) == 0);
    seen s;
    CHECK(decode(AG_V04, mp.data, mp.len, &s, err) == 0);
    CHECK(s.first.trace_id == UINT64_MAX); /* exact, not rounded through a double */
    CHECK(!strcmp(s.service, "w\xc3\xa9"
                             "b") &&
          s.metric == 2.5 && s.first.start == -5);
    ag_buf_free(&mp);
    const char *bad[] = {"", "[", "[[{\"a\" 1}]]", "[1,]", "\"\\x\"", "[] x", "[\"\x01\"]"};
    int rejected = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ag_buf b = {0};
        rejected &= ag_json_to_msgpack(bad[i], strlen(bad[i]), &b, err, sizeof err) != 0;
        ag_buf_free(&b);
    }
    CHECK(rejected);
}

CT_TEST(test_depth_and_counts)
{
    char err[256];
    seen s;
    /* a span nested 100 levels deep */
    char deep[300];
    size_t n = 0;
    deep[n++] = (char)0x91;
    deep[n++] = (char)0x91;
    deep[n++] = (char)0x81;
    deep[n++] = (char)0xa1;
    deep[n++] = 'x';
    for (int i = 0; i < 100; i++) deep[n++] = (char)0x91;
    deep[n++] = 0;
    CHECK(decode(AG_V04, deep, n, &s, err) != 0 && strstr(err, "nesting"));
    static const char huge[] = "\x91\xdd\xff\xff\xff\xff";
    CHECK(decode(AG_V04, huge, sizeof huge - 1, &s, err) != 0 && strstr(err, "claims"));
    CHECK(decode(AG_V04, "", 0, &s, err) != 0 && strstr(err, "empty"));
}

/* One trace of spans {span_id: i+1, meta: pairs x ("" -> "")} (raw bytes:
 * msgpack-c packs repeated keys as given). */
static void pack_spans_with_meta(msgpack_sbuffer *sb, int spans, uint32_t pairs)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, (size_t)spans);
    for (int i = 0; i < spans; i++) {
        msgpack_pack_map(&pk, 3);
        pack_str(&pk, "trace_id");
        msgpack_pack_uint64(&pk, 5);
        pack_str(&pk, "span_id");
        msgpack_pack_uint64(&pk, (uint64_t)i + 1);
        pack_str(&pk, "meta");
        msgpack_pack_map(&pk, pairs);
        for (uint32_t k = 0; k < pairs; k++) pack_str(&pk, ""), pack_str(&pk, "");
    }
}

static int count_spans(void *ctx, ag_trace *t, char *err, size_t errlen)
{
    *(size_t *)ctx += t->len;
    return 0;
}

/* The budget is charged while decoding and given back whatever the
 * outcome: a leaked charge would shrink --max-inflight for good. */
CT_TEST(test_budget_is_charged_and_always_released)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_spans_with_meta(&sb, 4, 20000); /* ~160 KB decoding to ~2.6 MB */
    atomic_size_t used = 0;
    ag_budget roomy = {&used, 64u << 20}, tight = {&used, 1u << 20};
    ag_arena a;
    ag_arena_init(&a);
    char err[256];
    size_t spans = 0;
    ag_decode_opts opts = {&roomy, 0, 0};
    CHECK(ag_decode(AG_V04, sb.data, sb.size, &a, count_spans, &spans, &opts, err, sizeof err) ==
          0);
    CHECK(spans == 4 && used == 0);
    CHECK(opts.decoded_bytes >= 4 * 20000 * sizeof(ag_tag));
    opts = (ag_decode_opts){&tight, 0, 0};
    int rc = ag_decode(AG_V04, sb.data, sb.size, &a, count_spans, &spans, &opts, err, sizeof err);
    CHECK(rc == AG_DECODE_OVER_BUDGET && strstr(err, "--max-inflight") && used == 0);
    /* malformed after charging: refused, nothing left charged */
    opts = (ag_decode_opts){&roomy, 0, 0};
    CHECK(ag_decode(AG_V04, sb.data, sb.size - 3, &a, count_spans, &spans, &opts, err,
                    sizeof err) == -1);
    CHECK(used == 0);
    /* the intake path, JSON conversion included */
    ag_intake_counts counts;
    ag_batch *b = ag_intake_build(AG_V04, false, sb.data, sb.size, NULL, 1700000000000000000LL,
                                  &tight, &counts, err, sizeof err);
    CHECK(!b && counts.over_budget && used == 0);
    static const char json[] = "[[{\"trace_id\": 1, \"span_id\": 2, \"meta\": {\"a\": \"b\"}}]]";
    b = ag_intake_build(AG_V04, true, json, sizeof json - 1, NULL, 1700000000000000000LL, &roomy,
                        &counts, err, sizeof err);
    CHECK(b && counts.spans == 1 && used == 0);
    ag_batch_free(b);
    ag_arena_free(&a);
    msgpack_sbuffer_destroy(&sb);
}

/* A span over the object limit is skipped and counted, in both formats;
 * its neighbours are kept. */
CT_TEST(test_span_over_the_object_limit_is_dropped)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1); /* v0.4: [[small, huge, small]] */
    msgpack_pack_array(&pk, 3);
    for (int i = 0; i < 3; i++) {
        uint32_t pairs = i == 1 ? AG_DECODE_MAX_SPAN_OBJECTS / 2 + 1 : 1;
        msgpack_pack_map(&pk, 2);
        pack_str(&pk, "span_id");
        msgpack_pack_uint64(&pk, (uint64_t)i + 1);
        pack_str(&pk, "meta");
        msgpack_pack_map(&pk, pairs);
        for (uint32_t k = 0; k < pairs; k++) pack_str(&pk, ""), pack_str(&pk, "");
    }
    ag_arena a;
    ag_arena_init(&a);
    char err[256];
    size_t spans = 0;
    ag_decode_opts opts = {NULL, 0, 0};
    CHECK(ag_decode(AG_V04, sb.data, sb.size, &a, count_spans, &spans, &opts, err, sizeof err) ==
          0);
    CHECK(spans == 2 && opts.dropped_spans == 1);
    /* v0.5: [["", "s"], [[span, huge span]]] */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_array(&pk, 2);
    pack_str(&pk, "");
    pack_str(&pk, "s");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 2);
    for (int i = 0; i < 2; i++) {
        uint32_t pairs = i ? AG_DECODE_MAX_SPAN_OBJECTS / 2 + 1 : 1;
        msgpack_pack_array(&pk, 12);
        for (int f = 0; f < 9; f++) msgpack_pack_uint64(&pk, f == 4 ? (uint64_t)i + 1 : 1);
        msgpack_pack_map(&pk, pairs);
        for (uint32_t k = 0; k < pairs; k++)
            msgpack_pack_uint64(&pk, 0), msgpack_pack_uint64(&pk, 1);
        msgpack_pack_map(&pk, 0);
        msgpack_pack_uint64(&pk, 0);
    }
    spans = 0;
    opts = (ag_decode_opts){NULL, 0, 0};
    CHECK(ag_decode(AG_V05, sb.data, sb.size, &a, count_spans, &spans, &opts, err, sizeof err) ==
          0);
    CHECK(spans == 1 && opts.dropped_spans == 1);
    /* a span over the limit that is also truncated is still malformed */
    opts = (ag_decode_opts){NULL, 0, 0};
    CHECK(ag_decode(AG_V05, sb.data, sb.size - 2, &a, count_spans, &spans, &opts, err,
                    sizeof err) == -1);
    ag_arena_free(&a);
    msgpack_sbuffer_destroy(&sb);
}

/* A blob decoded within a memory limit: a prefix of its spans, cut after
 * the span that passed the limit, and said to be cut. */
CT_TEST(test_blob_prefix_stops_at_the_limit)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_spans_with_meta(&sb, 1000, 2);
    char err[256];
    ag_batch *b = ag_intake_build(AG_V04, false, sb.data, sb.size, NULL, 1700000000000000000LL,
                                  NULL, NULL, err, sizeof err);
    CHECK(b && b->rows_len == 1);
    if (b) {
        ag_buf scratch = {0};
        const char *blob = ag_batch_row_blob(b, &b->rows[0], &scratch);
        ag_arena a;
        ag_arena_init(&a);
        ag_trace t;
        size_t limit = 20000;
        CHECK(ag_blob_decode_prefix(blob, b->rows[0].blob_len, 5, &a, &t, &limit) == 1);
        CHECK(t.len > 10 && t.len < 1000 && limit > 20000 &&
              limit < 20000 + 2 * sizeof(ag_span) + 256);
        CHECK(t.spans[t.len - 1].span_id == t.len && t.spans[0].meta_len == 2);
        limit = SIZE_MAX;
        CHECK(ag_blob_decode_prefix(blob, b->rows[0].blob_len, 5, &a, &t, &limit) == 0 &&
              t.len == 1000);
        ag_arena_free(&a);
        ag_buf_free(&scratch);
    }
    ag_batch_free(b);
    msgpack_sbuffer_destroy(&sb);
}

CT_TEST(test_blob_round_trip)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_v04(&sb, 1234, 0);
    char err[256];
    ag_batch *b = ag_intake_build(AG_V04, false, sb.data, sb.size, "go", 1700000000000000000LL,
                                  NULL, NULL, err, sizeof err);
    CHECK(b && b->rows_len == 1 && b->spans == 1);
    if (b) {
        ag_arena a;
        ag_arena_init(&a);
        ag_trace t;
        ag_buf scratch = {0};
        const ag_row *r = &b->rows[0];
        const char *blob = ag_batch_row_blob(b, r, &scratch);
        CHECK(blob && b->blocks_len == 1 && b->content.len == 0);
        CHECK(ag_blob_decode(blob, r->blob_len, r->trace_id, &a, &t) == 0);
        CHECK(t.len == 1 && t.spans[0].span_id == 7 && t.spans[0].duration == 42);
        CHECK(t.spans[0].meta_len == 1 && ag_str_eq(t.spans[0].meta[0].value, "v"));
        CHECK(t.spans[0].metrics_len == 1 && t.spans[0].metrics[0].value == 2.5);
        CHECK(ag_str_eq(t.spans[0].service, "web") &&
              ag_str_eq(t.spans[0].name, "unnamed_operation"));
        CHECK(!strcmp(b->data.data + r->service, "web") && r->duration == 42);
        /* a damaged blob is refused, not crashed on */
        int refused = 1;
        for (size_t cut = 0; cut + 1 < r->blob_len; cut++)
            refused &= ag_blob_decode(blob, cut, 1, &a, &t) != 0;
        CHECK(refused);
        /* and so is a damaged block */
        ag_buf *block = &b->blocks[0];
        for (size_t cut = 0; cut + 1 < block->len; cut++)
            refused &= ag_block_decompress(block->data, cut, &scratch) != 0;
        block->data[block->len / 2] ^= 0x55;
        refused &= ag_batch_row_blob(b, r, &scratch) == NULL ||
                   ag_blob_decode(scratch.data + r->blob, r->blob_len, 1, &a, &t) != 0 ||
                   t.spans[0].span_id != 7 || t.spans[0].duration != 42;
        CHECK(refused);
        ag_buf_free(&scratch);
        ag_arena_free(&a);
    }
    ag_batch_free(b);
    msgpack_sbuffer_destroy(&sb);
}

/* Interning compares short strings by two words instead of their bytes:
 * strings one byte apart, at every length and position, stay apart. */
CT_TEST(test_blob_keeps_look_alike_strings_apart)
{
    static const char base[] = "abcdefghijklmnopqrstu";
    enum { MAX_LEN = 20 };
    static char strings[(MAX_LEN + 1) * (MAX_LEN + 1)][MAX_LEN + 1];
    ag_tag meta[(MAX_LEN + 1) * (MAX_LEN + 1)];
    size_t n = 0;
    for (size_t len = 0; len <= MAX_LEN; len++)
        for (size_t pos = 0; pos <= len; pos++, n++) { /* pos == len: the base itself */
            memcpy(strings[n], base, len);
            if (pos < len) strings[n][pos] = 'X';
            meta[n] = (ag_tag){{strings[n], len}, {strings[n], len}};
        }
    ag_span span = {.trace_id = 1, .span_id = 2, .meta = meta, .meta_len = n};
    ag_trace t = {&span, 1};
    ag_blob_encoder enc = {0};
    ag_buf out = {0};
    ag_blob_encode(&enc, &t, &out);
    ag_arena a;
    ag_arena_init(&a);
    ag_trace back;
    CHECK(ag_blob_decode(out.data, out.len, 1, &a, &back) == 0 && back.len == 1);
    int same = back.len == 1 && back.spans[0].meta_len == n;
    for (size_t i = 0; same && i < n; i++) {
        const ag_tag *m = &back.spans[0].meta[i];
        same = m->key.len == meta[i].key.len && m->value.len == meta[i].value.len &&
               !memcmp(m->key.ptr, strings[i], m->key.len) &&
               !memcmp(m->value.ptr, strings[i], m->value.len);
    }
    CHECK(same);
    ag_arena_free(&a);
    ag_buf_free(&out);
    ag_blob_encoder_free(&enc);
}

CT_TEST_MAIN()
