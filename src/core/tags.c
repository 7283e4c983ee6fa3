/*
 * tags.c — small linear maps for meta and metrics (see tags.h). Arrays
 * start at 4 entries and double; a key is compared by pointer first since
 * keys usually come from the same cached string.
 */
#include "tags.h"

#include <stdlib.h>

static int key_matches(const ct_string *a, const ct_string *b)
{
    return a == b || (a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
}

static long find_meta(const ct_tags *tags, const ct_string *key)
{
    for (uint32_t i = 0; i < tags->meta_count; i++)
        if (key_matches(tags->meta[i].key, key))
            return i;
    return -1;
}

static long find_metric(const ct_tags *tags, const ct_string *key)
{
    for (uint32_t i = 0; i < tags->metric_count; i++)
        if (key_matches(tags->metrics[i].key, key))
            return i;
    return -1;
}

/* Grows an array of entries of the given size; CT_OK or CT_ENOMEM. */
static int grow(void **array, uint32_t *capacity, uint32_t count, size_t size)
{
    if (count < *capacity)
        return CT_OK;
    uint32_t wanted = *capacity ? *capacity * 2 : 4;
    void *grown = realloc(*array, wanted * size);
    if (!grown)
        return CT_ENOMEM;
    *array = grown;
    *capacity = wanted;
    return CT_OK;
}

static void remove_meta_at(ct_tags *tags, long i)
{
    ct_string_unref(tags->meta[i].key);
    ct_string_unref(tags->meta[i].value);
    tags->meta[i] = tags->meta[--tags->meta_count];
}

static void remove_metric_at(ct_tags *tags, long i)
{
    ct_string_unref(tags->metrics[i].key);
    tags->metrics[i] = tags->metrics[--tags->metric_count];
}

int ct_tags_set_meta(ct_tags *tags, ct_string *key, ct_string *value)
{
    long i = find_meta(tags, key);
    if (i >= 0) {
        ct_string_assign(&tags->meta[i].value, ct_string_ref(value));
        return CT_OK;
    }
    if (grow((void **)&tags->meta, &tags->meta_capacity, tags->meta_count,
             sizeof *tags->meta) != CT_OK)
        return CT_ENOMEM;
    long m = tags->metric_count ? find_metric(tags, key) : -1;
    if (m >= 0)
        remove_metric_at(tags, m);
    tags->meta[tags->meta_count].key = ct_string_ref(key);
    tags->meta[tags->meta_count].value = ct_string_ref(value);
    tags->meta_count++;
    return CT_OK;
}

int ct_tags_set_metric(ct_tags *tags, ct_string *key, double value)
{
    long i = find_metric(tags, key);
    if (i >= 0) {
        tags->metrics[i].value = value;
        return CT_OK;
    }
    if (grow((void **)&tags->metrics, &tags->metric_capacity,
             tags->metric_count, sizeof *tags->metrics) != CT_OK)
        return CT_ENOMEM;
    long m = tags->meta_count ? find_meta(tags, key) : -1;
    if (m >= 0)
        remove_meta_at(tags, m);
    tags->metrics[tags->metric_count].key = ct_string_ref(key);
    tags->metrics[tags->metric_count].value = value;
    tags->metric_count++;
    return CT_OK;
}

ct_string *ct_tags_get_meta(const ct_tags *tags, const char *key, size_t len)
{
    for (uint32_t i = 0; i < tags->meta_count; i++)
        if (ct_string_equals(tags->meta[i].key, key, len))
            return tags->meta[i].value;
    return NULL;
}

int ct_tags_get_metric(const ct_tags *tags, const char *key, size_t len,
                       double *value)
{
    for (uint32_t i = 0; i < tags->metric_count; i++)
        if (ct_string_equals(tags->metrics[i].key, key, len)) {
            *value = tags->metrics[i].value;
            return 1;
        }
    return 0;
}

int ct_tags_remove(ct_tags *tags, const char *key, size_t len)
{
    for (uint32_t i = 0; i < tags->meta_count; i++)
        if (ct_string_equals(tags->meta[i].key, key, len)) {
            remove_meta_at(tags, i);
            return 1;
        }
    for (uint32_t i = 0; i < tags->metric_count; i++)
        if (ct_string_equals(tags->metrics[i].key, key, len)) {
            remove_metric_at(tags, i);
            return 1;
        }
    return 0;
}

int ct_tags_merge(ct_tags *to, const ct_tags *from)
{
    for (uint32_t i = 0; i < from->meta_count; i++)
        if (ct_tags_set_meta(to, from->meta[i].key, from->meta[i].value) != CT_OK)
            return CT_ENOMEM;
    for (uint32_t i = 0; i < from->metric_count; i++)
        if (ct_tags_set_metric(to, from->metrics[i].key, from->metrics[i].value) != CT_OK)
            return CT_ENOMEM;
    return CT_OK;
}

void ct_tags_clear(ct_tags *tags)
{
    for (uint32_t i = 0; i < tags->meta_count; i++) {
        ct_string_unref(tags->meta[i].key);
        ct_string_unref(tags->meta[i].value);
    }
    for (uint32_t i = 0; i < tags->metric_count; i++)
        ct_string_unref(tags->metrics[i].key);
    if (tags->meta)
        free(tags->meta);
    if (tags->metrics)
        free(tags->metrics);
    *tags = (ct_tags)CT_TAGS_INIT;
}
