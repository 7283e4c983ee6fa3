/* Batch building (see batch.h). For each chunk: find the parent of every
 * span (a linear scan for small chunks, a seeded hash of span ids for
 * large ones, linear for any ids, duplicates included: both finding the
 * root and top-level detection need it), pick the
 * root, compute the trace row, encode the blob into the open block
 * (compressed once it holds AG_BLOCK_CONTENT_BYTES), and count top-level
 * spans into the batch's per-minute aggregates. */
#include "batch.h"
#include "hash.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

ag_batch *ag_batch_new(void)
{
    ag_batch *b = ag_xcalloc(1, sizeof *b);
    ag_aggmap_init(&b->agg);
    ag_spanidx_init(&b->idx);
    ag_svcmap_init(&b->svcmap);
    return b;
}

void ag_batch_free(ag_batch *b)
{
    if (!b) return;
    ag_buf_free(&b->data);
    free(b->rows);
    for (size_t i = 0; i < b->blocks_len; i++) ag_buf_free(&b->blocks[i]);
    free(b->blocks);
    ag_buf_free(&b->content);
    ag_aggmap_free(&b->agg);
    ag_spanidx_free(&b->idx);
    ag_svcmap_free(&b->svcmap);
    ag_blob_encoder_free(&b->enc);
    free(b);
}

size_t ag_batch_bytes(const ag_batch *b)
{
    size_t bytes = b->data.cap + b->rows_cap * sizeof(ag_row) + b->agg.cap * sizeof(ag_agg_entry) +
                   ag_aggmap_hist_bytes(&b->agg) + b->content.cap + ag_spanidx_bytes(&b->idx) +
                   ag_svcmap_bytes(&b->svcmap);
    for (size_t i = 0; i < b->blocks_len; i++) bytes += b->blocks[i].cap;
    return bytes;
}

void ag_batch_seal(ag_batch *b)
{
    if (!b->content.len) return;
    if (b->blocks_len == b->blocks_cap) {
        b->blocks_cap = b->blocks_cap ? b->blocks_cap * 2 : 4;
        b->blocks = ag_xrealloc(b->blocks, b->blocks_cap * sizeof *b->blocks);
    }
    ag_buf *block = &b->blocks[b->blocks_len++];
    *block = (ag_buf){0};
    ag_block_compress(b->content.data, b->content.len, block);
    b->content.len = 0;
}

const char *ag_batch_row_blob(const ag_batch *b, const ag_row *r, ag_buf *scratch)
{
    const ag_buf *block = &b->blocks[r->block];
    if (ag_block_decompress(block->data, block->len, scratch) ||
        r->blob + r->blob_len > scratch->len)
        return NULL;
    return scratch->data + r->blob;
}

static size_t put_str(ag_batch *b, ag_str s)
{
    size_t off = b->data.len;
    ag_buf_append(&b->data, s.ptr, s.len);
    ag_buf_putc(&b->data, '\0');
    return off;
}

/* The hash of span ids: keyed by a per-process random seed and fully
 * mixed (murmur3's finalizer), because ids come from the network. An
 * unseeded multiply kept only the low bits of its input in the slot, so
 * ids sharing their low 24 bits all fell in one slot run and 200 k spans
 * cost 11 s; a fixed key would let a sender build such ids again. */
static uint64_t id_seed(void)
{
    static _Atomic uint64_t seed;
    uint64_t s = seed;
    if (!s) {
        if (getrandom(&s, sizeof s, 0) != sizeof s) s = (uint64_t)ag_mono_ns();
        s |= 1;   /* never 0, the "not drawn yet" mark */
        seed = s; /* a race draws twice; each caller uses one value throughout */
    }
    return s;
}

static size_t id_slot(uint64_t id, uint64_t seed, size_t mask)
{
    return (size_t)ag_hash_mix64(id ^ seed) & mask;
}

/* One slot per distinct span id: the first two spans carrying it. Equal
 * ids share a slot instead of each taking the next one, which made
 * inserting and finding duplicates quadratic. Two are enough: span i's
 * parent is the first span with the id that is not i itself. */
typedef struct {
    long first, second; /* span indexes; first -1: empty slot */
} id_slot_entry;

void ag_batch_find_parents(ag_batch *b, const ag_trace *t, long *parents)
{
    if (t->len <= 32) {
        for (size_t i = 0; i < t->len; i++) {
            parents[i] = -1;
            uint64_t p = t->spans[i].parent_id;
            if (!p) continue;
            for (size_t k = 0; k < t->len; k++)
                if (t->spans[k].span_id == p && k != i) {
                    parents[i] = (long)k;
                    break;
                }
        }
        return;
    }
    size_t cap = 64;
    while (cap < t->len * 2) cap *= 2;
    size_t mask = cap - 1;
    uint64_t seed = id_seed(), probes = 0;
    id_slot_entry *slots = ag_xmalloc(cap * sizeof *slots);
    for (size_t i = 0; i < cap; i++) slots[i].first = -1;
    for (size_t i = 0; i < t->len; i++) {
        uint64_t id = t->spans[i].span_id;
        size_t j = id_slot(id, seed, mask);
        for (probes++; slots[j].first >= 0 && t->spans[slots[j].first].span_id != id; probes++)
            j = (j + 1) & mask;
        if (slots[j].first < 0) slots[j] = (id_slot_entry){(long)i, -1};
        else if (slots[j].second < 0) slots[j].second = (long)i;
    }
    for (size_t i = 0; i < t->len; i++) {
        parents[i] = -1;
        uint64_t p = t->spans[i].parent_id;
        if (!p) continue;
        size_t j = id_slot(p, seed, mask);
        for (probes++; slots[j].first >= 0; probes++, j = (j + 1) & mask)
            if (t->spans[slots[j].first].span_id == p) {
                parents[i] = slots[j].first != (long)i ? slots[j].first : slots[j].second;
                break;
            }
    }
    free(slots);
    b->parent_probes += probes;
}

bool ag_span_is_top_level(const ag_trace *t, size_t i, long parent)
{
    const ag_span *s = &t->spans[i];
    if (parent < 0) return true;
    const ag_span *p = &t->spans[parent];
    if (p->service.len != s->service.len || memcmp(p->service.ptr, s->service.ptr, s->service.len))
        return true;
    for (size_t k = 0; k < s->metrics_len; k++)
        if ((ag_str_eq(s->metrics[k].key, "_dd.top_level") ||
             ag_str_eq(s->metrics[k].key, "_dd.measured")) &&
            s->metrics[k].value == 1)
            return true;
    return false;
}

static uint64_t high_bits(const ag_trace *t, size_t root)
{
    uint64_t high = 0;
    ag_tag *tid = ag_span_meta(&t->spans[root], "_dd.p.tid");
    for (size_t i = 0; !tid && i < t->len; i++) tid = ag_span_meta(&t->spans[i], "_dd.p.tid");
    if (tid && ag_parse_hex64(tid->value.ptr, tid->value.len, &high) == 0) return high;
    return 0;
}

static void add_row(ag_batch *b, const ag_trace *t, size_t root)
{
    if (b->rows_len == b->rows_cap) {
        b->rows_cap = b->rows_cap ? b->rows_cap * 2 : 64;
        b->rows = ag_xrealloc(b->rows, b->rows_cap * sizeof *b->rows);
    }
    ag_row *r = &b->rows[b->rows_len++];
    int64_t start = INT64_MAX, end = INT64_MIN;
    int32_t error = 0;
    for (size_t i = 0; i < t->len; i++) {
        const ag_span *s = &t->spans[i];
        if (s->start < start) start = s->start;
        if (s->start + s->duration > end) end = s->start + s->duration;
        error |= s->error != 0;
    }
    const ag_span *rs = &t->spans[root];
    r->trace_id = rs->trace_id;
    r->trace_id_high = high_bits(t, root);
    r->start = start;
    r->duration = end - start;
    r->error = error;
    r->span_count = (uint32_t)t->len;
    r->service = put_str(b, rs->service);
    r->resource = put_str(b, rs->resource);
    r->name = put_str(b, rs->name);
    r->block = b->blocks_len;
    ag_spanidx_add(&b->idx, t, (int64_t)r->block, (int64_t)(b->rows_len - 1), start);
    r->blob = b->content.len;
    ag_blob_encode(&b->enc, t, &b->content);
    r->blob_len = b->content.len - r->blob;
    if (b->content.len >= AG_BLOCK_CONTENT_BYTES) ag_batch_seal(b);
}

void ag_batch_add(ag_batch *b, const ag_trace *t)
{
    long small[32];
    long *parents = t->len <= 32 ? small : ag_xmalloc(t->len * sizeof *parents);
    ag_batch_find_parents(b, t, parents);
    size_t root = 0;
    bool found_root = false;
    for (size_t i = 0; i < t->len && !found_root; i++)
        if (t->spans[i].parent_id == 0) root = i, found_root = true;
    for (size_t i = 0; i < t->len && !found_root; i++)
        if (parents[i] < 0) root = i, found_root = true;
    for (size_t i = 0; i < t->len; i++) {
        if (!ag_span_is_top_level(t, i, parents[i])) continue;
        const ag_span *s = &t->spans[i];
        int64_t minute = s->start / 1000000000LL / 60 * 60;
        ag_aggmap_add(&b->agg, minute, s->service.ptr, s->service.len, s->resource.ptr,
                      s->resource.len, s->name.ptr, s->name.len, s->duration, s->error);
    }
    ag_svcmap_add_chunk(&b->svcmap, t, parents);
    add_row(b, t, root);
    b->spans += t->len;
    if (parents != small) free(parents);
}
