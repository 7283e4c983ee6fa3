/*
 * tags.c — meta and metrics maps (see tags.h).
 *
 * Entry arrays start at 4 and double. A key is compared by pointer first,
 * since keys usually come from the same cached string. Both maps share the
 * lookup code: an entry of either kind starts with its key, so the helpers
 * take the array, its entry size and its index.
 *
 * The index is open addressing with linear probing, at most half full, and
 * deletion by backward shift (no tombstones, so a map that keeps switching
 * keys between meta and metrics never degrades). Its hash is seeded once
 * per process from the id generator, so keys chosen by whoever feeds the
 * application (header names, say) cannot be picked to collide.
 */
#include "tags.h"

#include "alloc.h"
#include "ids.h"

_Thread_local uint64_t ct__tags_probes __attribute__((tls_model("initial-exec")));

static _Atomic uint64_t hash_seed; /* 0 until the first index is built */

/* The process's seed, drawn once: every index must hash alike, so two
 * threads racing to draw it agree on the first one stored. */
static uint64_t seed(void)
{
    uint64_t current = atomic_load_explicit(&hash_seed, memory_order_relaxed);
    if (current) return current;
    uint64_t drawn = ct__ids_random64() | 1;
    if (atomic_compare_exchange_strong(&hash_seed, &current, drawn)) return drawn;
    return current;
}

/* -- keys and the hash ----------------------------------------------------- */

static int key_matches(const ct_string *a, const ct_string *b)
{
    return a == b || (a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
}

static inline uint64_t mix(uint64_t h)
{
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

/* A seeded hash of len bytes, 8 at a time. */
static uint64_t hash_bytes(const char *data, size_t len)
{
    uint64_t h =
        atomic_load_explicit(&hash_seed, memory_order_relaxed) ^ (len * 0x9e3779b97f4a7c15ull);
    while (len >= 8) {
        uint64_t word;
        memcpy(&word, data, 8);
        h = mix(h ^ word) + 0x9e3779b97f4a7c15ull;
        data += 8;
        len -= 8;
    }
    uint64_t tail = 0;
    memcpy(&tail, data, len);
    return mix(h ^ tail);
}

/* The key of entry i of an array of entries of the given size. */
static inline ct_string *key_at(const void *entries, size_t size, uint32_t i)
{
    ct_string *key;
    memcpy(&key, (const char *)entries + (size_t)i * size, sizeof key);
    return key;
}

/* -- the index ------------------------------------------------------------------ */

/* The slot holding entry, or the empty slot where a key of this hash would
 * go when entry is not found (entry = UINT32_MAX finds by content). */
static uint32_t index_slot_of(const ct_tag_index *index, const void *entries, size_t size,
                              const char *key, size_t len)
{
    uint32_t slot = (uint32_t)hash_bytes(key, len) & index->mask;
    uint64_t probes = 0;
    for (;; slot = (slot + 1) & index->mask) {
        uint32_t held = index->slots[slot];
        probes++;
        if (!held || ct__string_equals(key_at(entries, size, held - 1), key, len)) break;
    }
    ct__tags_probes += probes;
    return slot;
}

/* (Re)builds the index for count entries with room for twice as many.
 * CT_ENOMEM leaves the old index in place. */
static int index_build(ct_tag_index *index, const void *entries, size_t size, uint32_t count)
{
    uint32_t capacity = 64;
    while (capacity < 4 * (uint64_t)count) capacity *= 2;
    uint32_t *slots = ct__calloc(capacity, sizeof *slots);
    if (!slots) return CT_ENOMEM;
    seed();
    ct__free(index->slots);
    index->slots = slots;
    index->mask = capacity - 1;
    for (uint32_t i = 0; i < count; i++) {
        ct_string *key = key_at(entries, size, i);
        slots[index_slot_of(index, entries, size, key->data, key->len)] = i + 1;
    }
    return CT_OK;
}

/* Removes the slot at `slot`, shifting back the entries of its probe run
 * that would otherwise become unreachable. */
static void index_delete(ct_tag_index *index, const void *entries, size_t size, uint32_t slot)
{
    uint32_t hole = slot;
    for (uint32_t next = (hole + 1) & index->mask; index->slots[next];
         next = (next + 1) & index->mask) {
        ct_string *key = key_at(entries, size, index->slots[next] - 1);
        uint32_t home = (uint32_t)hash_bytes(key->data, key->len) & index->mask;
        /* next may move to hole if its home is not in (hole, next] */
        if (((next - home) & index->mask) >= ((next - hole) & index->mask)) {
            index->slots[hole] = index->slots[next];
            hole = next;
        }
    }
    index->slots[hole] = 0;
}

/* -- one map: find, append, remove ------------------------------------------------ */

/* A view of one of the two maps. */
typedef struct map {
    void **entries;
    uint32_t *count, *capacity;
    ct_tag_index *index;
    size_t size;
} map;

static map meta_map(ct_tags *tags)
{
    return (map){(void **)&tags->meta, &tags->meta_count, &tags->meta_capacity, &tags->meta_index,
                 sizeof(ct_meta_entry)};
}

static map metric_map(ct_tags *tags)
{
    return (map){(void **)&tags->metrics, &tags->metric_count, &tags->metric_capacity,
                 &tags->metric_index, sizeof(ct_metric_entry)};
}

/* The entry holding key in m, or -1. */
static long map_find(const map *m, const char *key, size_t len)
{
    if (m->index->slots) {
        uint32_t held = m->index->slots[index_slot_of(m->index, *m->entries, m->size, key, len)];
        return held ? (long)held - 1 : -1;
    }
    uint32_t count = *m->count;
    for (uint32_t i = 0; i < count; i++)
        if (ct__string_equals(key_at(*m->entries, m->size, i), key, len)) return i;
    return -1;
}

/* The same for a shared-string key: a pointer compare first. Inline, and
 * the scan written out per map: this is most of set_tag's own work. */
static inline long find_meta(const ct_tags *tags, const ct_string *key)
{
    if (tags->meta_index.slots) {
        map m = meta_map((ct_tags *)tags);
        return map_find(&m, key->data, key->len);
    }
    for (uint32_t i = 0; i < tags->meta_count; i++)
        if (key_matches(tags->meta[i].key, key)) return i;
    return -1;
}

static inline long find_metric(const ct_tags *tags, const ct_string *key)
{
    if (tags->metric_index.slots) {
        map m = metric_map((ct_tags *)tags);
        return map_find(&m, key->data, key->len);
    }
    for (uint32_t i = 0; i < tags->metric_count; i++)
        if (key_matches(tags->metrics[i].key, key)) return i;
    return -1;
}

/* Grows the array and builds or grows the index (see grow). */
static int map_grow(const map *m)
{
    uint32_t count = *m->count;
    if (count == *m->capacity) {
        uint32_t wanted = count ? count * 2 : CT_TAGS_FIRST_CAPACITY;
        void *grown = ct__realloc(*m->entries, (size_t)wanted * m->size);
        if (!grown) return CT_ENOMEM;
        *m->entries = grown;
        *m->capacity = wanted;
    }
    int needs_index = count + 1 > CT_TAGS_LINEAR_MAX &&
                      (!m->index->slots || 2 * (uint64_t)(count + 1) > m->index->mask + 1);
    if (needs_index && index_build(m->index, *m->entries, m->size, count) != CT_OK)
        return CT_ENOMEM;
    return CT_OK;
}

/* Room for one more entry with no growing and no index to keep: the
 * common case, tested on the fields themselves (the setters below keep the
 * map view, which the compiler builds in memory, off their hot path). */
static inline int has_room(uint32_t count, uint32_t capacity)
{
    return count < capacity && count < CT_TAGS_LINEAR_MAX;
}

/* Makes room for one more entry (array and index) in a map without room.
 * CT_OK or CT_ENOMEM, with the map unchanged. */
static int grow(map m) { return map_grow(&m); }

/* Puts entry i, just appended, into an index that exists. */
static void index_add(ct_tag_index *index, const void *entries, size_t size, uint32_t i)
{
    ct_string *key = key_at(entries, size, i);
    index->slots[index_slot_of(index, entries, size, key->data, key->len)] = i + 1;
}

/* Takes entry i out (the caller dropped its references): the last entry
 * moves into its place. */
static void map_remove_at(const map *m, uint32_t i)
{
    uint32_t last = *m->count - 1;
    char *entries = *m->entries;
    if (m->index->slots) {
        ct_string *key = key_at(entries, m->size, i);
        index_delete(m->index, entries, m->size,
                     index_slot_of(m->index, entries, m->size, key->data, key->len));
        if (i != last) {
            ct_string *moved = key_at(entries, m->size, last);
            m->index->slots[index_slot_of(m->index, entries, m->size, moved->data, moved->len)] =
                i + 1;
        }
    }
    if (i != last) memcpy(entries + (size_t)i * m->size, entries + (size_t)last * m->size, m->size);
    *m->count = last;
}

static void remove_meta_at(ct_tags *tags, uint32_t i)
{
    ct__string_unref(tags->meta[i].key);
    ct__string_unref(tags->meta[i].value);
    map m = meta_map(tags);
    map_remove_at(&m, i);
}

static void remove_metric_at(ct_tags *tags, uint32_t i)
{
    ct__string_unref(tags->metrics[i].key);
    map m = metric_map(tags);
    map_remove_at(&m, i);
}

/* -- truncation ------------------------------------------------------------------- */

/* value cut to CT_TAG_VALUE_MAX bytes at a character boundary, "..." at
 * the end; a new reference, or NULL when out of memory. */
static ct_string *truncated(const ct_string *value)
{
    static const char ellipsis[] = "...";
    size_t keep = CT_TAG_VALUE_MAX - (sizeof ellipsis - 1);
    while (keep && ((unsigned char)value->data[keep] & 0xC0) == 0x80)
        keep--; /* data[keep] continues a character: cut before it */
    ct_string *s = ct__string_new(value->data, keep + sizeof ellipsis - 1);
    if (s) /* new, so not shared yet: its tail can still be written */
        memcpy(s->data + keep, ellipsis, sizeof ellipsis - 1);
    return s;
}

/* -- the API ----------------------------------------------------------------------- */

/* truncated(value), taking the caller's reference to value. */
static ct_string *truncated_taking(ct_string *value)
{
    ct_string *cut = truncated(value);
    ct__string_unref(value);
    return cut;
}

int ct__tags_set_meta_taking(ct_tags *tags, ct_string *key, ct_string *value)
{
    if (value->len > CT_TAG_VALUE_MAX && !(value = truncated_taking(value))) return CT_ENOMEM;
    long i = find_meta(tags, key);
    if (i >= 0) {
        ct__string_assign(&tags->meta[i].value, value);
        return CT_OK;
    }
    if (!has_room(tags->meta_count, tags->meta_capacity) && grow(meta_map(tags)) != CT_OK) {
        ct__string_unref(value);
        return CT_ENOMEM;
    }
    long stale = tags->metric_count ? find_metric(tags, key) : -1;
    if (stale >= 0) remove_metric_at(tags, (uint32_t)stale);
    uint32_t n = tags->meta_count++;
    tags->meta[n].key = ct__string_ref(key);
    tags->meta[n].value = value;
    if (tags->meta_index.slots) index_add(&tags->meta_index, tags->meta, sizeof *tags->meta, n);
    return CT_OK;
}

int ct__tags_set_meta(ct_tags *tags, ct_string *key, ct_string *value)
{
    return ct__tags_set_meta_taking(tags, key, ct__string_ref(value));
}

int ct__tags_set_metric(ct_tags *tags, ct_string *key, double value)
{
    long i = find_metric(tags, key);
    if (i >= 0) {
        tags->metrics[i].value = value;
        return CT_OK;
    }
    if (!has_room(tags->metric_count, tags->metric_capacity) && grow(metric_map(tags)) != CT_OK)
        return CT_ENOMEM;
    long stale = tags->meta_count ? find_meta(tags, key) : -1;
    if (stale >= 0) remove_meta_at(tags, (uint32_t)stale);
    uint32_t n = tags->metric_count++;
    tags->metrics[n].key = ct__string_ref(key);
    tags->metrics[n].value = value;
    if (tags->metric_index.slots)
        index_add(&tags->metric_index, tags->metrics, sizeof *tags->metrics, n);
    return CT_OK;
}

ct_string *ct__tags_get_meta(const ct_tags *tags, const char *key, size_t len)
{
    map m = meta_map((ct_tags *)tags);
    long i = map_find(&m, key, len);
    return i >= 0 ? tags->meta[i].value : NULL;
}

int ct__tags_get_metric(const ct_tags *tags, const char *key, size_t len, double *value)
{
    map m = metric_map((ct_tags *)tags);
    long i = map_find(&m, key, len);
    if (i < 0) return 0;
    *value = tags->metrics[i].value;
    return 1;
}

int ct__tags_remove(ct_tags *tags, const char *key, size_t len)
{
    map meta = meta_map(tags), metrics = metric_map(tags);
    long i = map_find(&meta, key, len);
    if (i >= 0) {
        remove_meta_at(tags, (uint32_t)i);
        return 1;
    }
    i = map_find(&metrics, key, len);
    if (i >= 0) {
        remove_metric_at(tags, (uint32_t)i);
        return 1;
    }
    return 0;
}

int ct__tags_merge(ct_tags *to, const ct_tags *from)
{
    for (uint32_t i = 0; i < from->meta_count; i++)
        if (ct__tags_set_meta(to, from->meta[i].key, from->meta[i].value) != CT_OK)
            return CT_ENOMEM;
    for (uint32_t i = 0; i < from->metric_count; i++)
        if (ct__tags_set_metric(to, from->metrics[i].key, from->metrics[i].value) != CT_OK)
            return CT_ENOMEM;
    return CT_OK;
}

static void drop_entries(ct_tags *tags)
{
    for (uint32_t i = 0; i < tags->meta_count; i++) {
        ct__string_unref(tags->meta[i].key);
        ct__string_unref(tags->meta[i].value);
    }
    for (uint32_t i = 0; i < tags->metric_count; i++) ct__string_unref(tags->metrics[i].key);
    ct__free(tags->meta_index.slots);
    ct__free(tags->metric_index.slots);
}

void ct__tags_clear(ct_tags *tags)
{
    drop_entries(tags);
    ct__free(tags->meta);
    ct__free(tags->metrics);
    *tags = (ct_tags)CT_TAGS_INIT;
}

void ct__tags_clear_keeping(ct_tags *tags, void **meta, void **metrics)
{
    drop_entries(tags);
    *meta = *metrics = NULL;
    if (tags->meta_capacity == CT_TAGS_FIRST_CAPACITY) *meta = tags->meta;
    else ct__free(tags->meta);
    if (tags->metric_capacity == CT_TAGS_FIRST_CAPACITY) *metrics = tags->metrics;
    else ct__free(tags->metrics);
    *tags = (ct_tags)CT_TAGS_INIT;
}
