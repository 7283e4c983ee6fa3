/*
 * encoder_bench — encoding throughput of ct__encode_payload, in spans/s.
 *
 * Builds chunk frames of a typical shape (traces of 10 spans; the root as
 * the tracer writes it, implying _dd.p.tid, _dd.p.dm, language, runtime-id
 * and the sampling metrics (span_record.h); every span a couple of tags and
 * a metric), then encodes
 * them many times per version and prints one line per encoder:
 *   <name> <median spans/s> <bytes per span> <best spans/s>
 * (the best run is the cost without interference from other processes: on
 * a shared machine the median mostly measures the neighbours)
 * bench/bench_encoder.py runs it next to ddtrace's encoder. "v04_msgpackc"
 * encodes the same v0.4 with msgpack-c's packer (write callback into a
 * ct_buffer): the reason encoder.c packs inline.
 *
 * Usage: encoder_bench [traces per payload] [repetitions]
 */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "encoder.h"
#include "record_builder.h"
#include "writer.h"

#define SPANS_PER_TRACE 10

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void build_trace(ct_buffer *records, uint64_t trace_id)
{
    char resource[64];
    for (int i = 0; i < SPANS_PER_TRACE; i++) {
        record_builder b;
        snprintf(resource, sizeof resource, "resource-%d", i);
        static const ct_record_chunk decision = {1, 0, 1.0};
        uint32_t root_flags = CT_RECORD_LOCAL_ROOT | CT_RECORD_TOP_LEVEL | CT_RECORD_CHUNK_HEAD |
                              CT_RECORD_AUTO_DM | CT_RECORD_AGENT_PSR;
        rb_begin_flags(&b, records, 0x6b05ba3b00000000ull, trace_id, trace_id + (uint64_t)i + 1,
                       i ? trace_id + 1 : 0, i ? "child.operation" : "web.request", "bench-service",
                       resource, i ? "" : "web", i ? 0 : root_flags, &decision);
        rb_meta(&b, "component", "custom");
        rb_meta(&b, "http.method", "GET");
        rb_metric(&b, "rows", (double)i);
        rb_end(&b);
    }
}

/* -- the same v0.4 with msgpack-c's packer ----------------------------------- */

static int write_buffer(void *data, const char *buf, size_t len)
{
    return ct__buffer_append(data, buf, len) == CT_OK ? 0 : -1;
}

static void pack_key(msgpack_packer *pk, const char *key)
{
    size_t len = strlen(key);
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, key, len);
}

static void pack_rstr(msgpack_packer *pk, ct_record_str s)
{
    msgpack_pack_str(pk, s.len);
    msgpack_pack_str_body(pk, s.ptr, s.len);
}

static const ct_record_context bench_context = {
    {"python", 6}, {"6d8dbf4f5b624750ace8c7101eb81d6c", 32}, 4242};

static void msgpackc_span(msgpack_packer *pk, const ct_record_reader *r)
{
    const ct_record_header *h = &r->header;
    ct_implied_tags implied;
    ct__record_implied(r, &bench_context, &implied);
    msgpack_pack_map(pk, 12);
    pack_key(pk, "trace_id"), msgpack_pack_uint64(pk, h->trace_id_low);
    pack_key(pk, "span_id"), msgpack_pack_uint64(pk, h->span_id);
    pack_key(pk, "parent_id"), msgpack_pack_uint64(pk, h->parent_id);
    pack_key(pk, "service"), pack_rstr(pk, r->service);
    pack_key(pk, "resource"), pack_rstr(pk, r->resource);
    pack_key(pk, "name"), pack_rstr(pk, r->name);
    pack_key(pk, "type"), pack_rstr(pk, r->type);
    pack_key(pk, "start"), msgpack_pack_int64(pk, h->start_ns);
    pack_key(pk, "duration"), msgpack_pack_int64(pk, h->duration_ns);
    pack_key(pk, "error"), msgpack_pack_int32(pk, h->error);
    const uint8_t *cursor = r->meta;
    pack_key(pk, "meta");
    msgpack_pack_map(pk, h->meta_count + implied.meta_count);
    for (uint32_t i = 0; i < h->meta_count; i++) {
        pack_rstr(pk, ct__record_read_str(&cursor));
        pack_rstr(pk, ct__record_read_str(&cursor));
    }
    for (uint32_t i = 0; i < implied.meta_count; i++) {
        pack_rstr(pk, implied.meta[i].key);
        pack_rstr(pk, implied.meta[i].value);
    }
    cursor = r->metrics;
    pack_key(pk, "metrics");
    msgpack_pack_map(pk, h->metric_count + implied.metric_count);
    for (uint32_t i = 0; i < h->metric_count; i++) {
        pack_rstr(pk, ct__record_read_str(&cursor));
        msgpack_pack_double(pk, ct__record_read_double(&cursor));
    }
    for (uint32_t i = 0; i < implied.metric_count; i++) {
        pack_rstr(pk, implied.metrics[i].key);
        msgpack_pack_double(pk, implied.metrics[i].value);
    }
}

static int msgpackc_v04(const uint8_t *frames, size_t len, uint32_t chunks, ct_buffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, write_buffer);
    msgpack_pack_array(&pk, chunks);
    const uint8_t *p = frames, *end = frames + len;
    while (p < end) {
        ct_frame_header fh;
        memcpy(&fh, p, sizeof fh);
        p += sizeof fh;
        const uint8_t *rend = p + fh.records_len;
        msgpack_pack_array(&pk, fh.span_count);
        while (p < rend) {
            ct_record_reader r;
            p += ct__record_open(&r, p, (size_t)(rend - p));
            msgpackc_span(&pk, &r);
        }
    }
    return CT_OK;
}

/* -- measurement ---------------------------------------------------------------- */

typedef int (*encode_fn)(int version, const uint8_t *frames, size_t len, uint32_t chunks,
                         ct_buffer *out);

static int encode_ct(int version, const uint8_t *frames, size_t len, uint32_t chunks,
                     ct_buffer *out)
{
    return ct__encode_payload((ct_api_version)version, &bench_context, frames, len, chunks, out);
}

static int encode_msgpackc(int version, const uint8_t *frames, size_t len, uint32_t chunks,
                           ct_buffer *out)
{
    return msgpackc_v04(frames, len, chunks, out);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void measure(const char *name, encode_fn fn, int version, const ct_buffer *frames,
                    uint32_t chunks, int reps)
{
    double rates[15];
    int runs = 15;
    ct_buffer out = CT_BUFFER_INIT;
    size_t bytes = 0;
    for (int run = 0; run < runs; run++) {
        double start = now_s();
        for (int i = 0; i < reps; i++) {
            ct__buffer_clear(&out);
            if (fn(version, frames->data, frames->len, chunks, &out) != CT_OK) abort();
        }
        double seconds = now_s() - start;
        rates[run] = (double)chunks * SPANS_PER_TRACE * reps / seconds;
        bytes = out.len;
    }
    qsort(rates, (size_t)runs, sizeof *rates, compare_double);
    printf("%s %.0f %.1f %.0f\n", name, rates[runs / 2],
           (double)bytes / ((double)chunks * SPANS_PER_TRACE), rates[runs - 1]);
    ct__buffer_release(&out);
}

int main(int argc, char **argv)
{
    uint32_t traces = argc > 1 ? (uint32_t)atoi(argv[1]) : 100;
    int reps = argc > 2 ? atoi(argv[2]) : 200;
    ct_buffer frames = CT_BUFFER_INIT, records = CT_BUFFER_INIT;
    for (uint32_t t = 0; t < traces; t++) {
        build_trace(&records, 0x401cbcceb7561784ull + t * 100);
        rb_check(ct__frame_append(&frames, records.data, records.len, SPANS_PER_TRACE));
        ct__buffer_clear(&records);
    }
    measure("v05", encode_ct, CT_API_V05, &frames, traces, reps);
    measure("v04", encode_ct, CT_API_V04, &frames, traces, reps);
    measure("v04_msgpackc", encode_msgpackc, CT_API_V04, &frames, traces, reps);
    ct__buffer_release(&frames);
    ct__buffer_release(&records);
    return 0;
}
