/* Unit tests for agent/model/agg.c: every hit lands in its (minute, service,
 * resource) entry and in its service-wide entry, keys that differ by a
 * byte, a length or the minute stay apart, the table grows without losing
 * anything, and merging two maps adds them entry by entry. */
#include "agg.h"
#include "../test_harness.h"

#include <stdio.h>
#include <string.h>

static const ag_agg_entry *find(const ag_aggmap *m, int64_t minute, const char *service,
                                const char *resource)
{
    for (size_t i = 0; i < m->cap; i++) {
        const ag_agg_entry *e = &m->slots[i];
        if (!e->service || e->minute != minute || strcmp(e->service, service)) continue;
        if (!resource ? !e->resource : e->resource && !strcmp(e->resource, resource)) return e;
    }
    return NULL;
}

static void add(ag_aggmap *m, int64_t minute, const char *service, const char *resource,
                int64_t duration, int error)
{
    ag_aggmap_add(m, minute, service, strlen(service), resource, strlen(resource), "op", 2,
                  duration, error);
}

static int has(const ag_aggmap *m, int64_t minute, const char *service, const char *resource,
               uint64_t hits, uint64_t errors, int64_t sum)
{
    const ag_agg_entry *e = find(m, minute, service, resource);
    return e && e->hits == hits && e->errors == errors && e->duration_sum == sum &&
           ag_hist_acc_count(&e->hist) == hits;
}

CT_TEST(test_hits_land_in_resource_and_service_entries)
{
    ag_aggmap m;
    ag_aggmap_init(&m);
    /* alternating keys, as consecutive spans of one trace often are */
    for (int i = 0; i < 10; i++) {
        add(&m, 60, "web", "GET /a", 100, 0);
        add(&m, 60, "web-db", "SELECT", 10, i == 3);
        add(&m, 60, "web", "GET /b", 200, 1);
    }
    CHECK(has(&m, 60, "web", "GET /a", 10, 0, 1000));
    CHECK(has(&m, 60, "web", "GET /b", 10, 10, 2000));
    CHECK(has(&m, 60, "web", NULL, 20, 10, 3000));
    CHECK(has(&m, 60, "web-db", "SELECT", 10, 1, 100));
    CHECK(has(&m, 60, "web-db", NULL, 10, 1, 100));
    CHECK(m.len == 5);
    ag_aggmap_free(&m);
}

CT_TEST(test_near_keys_stay_apart)
{
    ag_aggmap m;
    ag_aggmap_init(&m);
    add(&m, 60, "svc", "GET /a", 1, 0);
    add(&m, 120, "svc", "GET /a", 2, 0);  /* another minute */
    add(&m, 60, "svc2", "GET /a", 4, 0);  /* a longer service */
    add(&m, 60, "svd", "GET /a", 8, 0);   /* one byte */
    add(&m, 60, "svc", "GET /a/", 16, 0); /* a longer resource */
    add(&m, 60, "svc", "", 32, 0);        /* empty resource: not the service entry */
    /* service "sv" + resource "cGET /a" hashes the same bytes as "svc" + "GET /a" */
    add(&m, 60, "sv", "cGET /a", 64, 0);
    CHECK(has(&m, 60, "svc", "GET /a", 1, 0, 1));
    CHECK(has(&m, 120, "svc", "GET /a", 1, 0, 2));
    CHECK(has(&m, 60, "svc2", "GET /a", 1, 0, 4));
    CHECK(has(&m, 60, "svd", "GET /a", 1, 0, 8));
    CHECK(has(&m, 60, "svc", "GET /a/", 1, 0, 16));
    CHECK(has(&m, 60, "svc", "", 1, 0, 32));
    CHECK(has(&m, 60, "sv", "cGET /a", 1, 0, 64));
    CHECK(has(&m, 60, "svc", NULL, 3, 0, 1 + 16 + 32));
    CHECK(has(&m, 120, "svc", NULL, 1, 0, 2));
    ag_aggmap_free(&m);
}

CT_TEST(test_growth_and_merge_lose_nothing)
{
    ag_aggmap a, b, into;
    ag_aggmap_init(&a);
    ag_aggmap_init(&b);
    ag_aggmap_init(&into);
    char service[32], resource[32];
    for (int i = 0; i < 500; i++) {
        snprintf(service, sizeof service, "svc-%d", i % 50);
        snprintf(resource, sizeof resource, "res-%d", i);
        add(&a, 60, service, resource, i, i % 7 == 0);
        add(&b, 60, service, resource, 2 * i, 0);
        add(&b, 180, service, resource, 1, 0);
    }
    ag_aggmap_merge(&into, &a);
    ag_aggmap_merge(&into, &b);
    int all = 1;
    for (int i = 0; i < 500 && all; i++) {
        snprintf(service, sizeof service, "svc-%d", i % 50);
        snprintf(resource, sizeof resource, "res-%d", i);
        all = has(&into, 60, service, resource, 2, i % 7 == 0, 3 * i) &&
              has(&into, 180, service, resource, 1, 0, 1);
    }
    CHECK(all);
    /* svc-0 has resources 0, 50, ..., 450: 10 hits in a (errors at 0 and
     * 350), 10 in b; durations i in a and 2i in b */
    CHECK(has(&into, 60, "svc-0", NULL, 20, 2, 3 * 2250));
    CHECK(into.len == 2 * (500 + 50));
    CHECK(a.len == 550 && b.len == 2 * 550); /* merging left the sources as they were */
    ag_aggmap_free(&a);
    ag_aggmap_free(&b);
    ag_aggmap_free(&into);
}

CT_TEST_MAIN()
