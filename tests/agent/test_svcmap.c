/* Unit tests for agent/model/svcmap.c: a chunk's spans whose parent is in the
 * chunk with another service count one call of that edge, same-service
 * children and roots none, roots with a remote parent become pending; keys
 * differing by env, a byte or the minute stay apart (through the recent-edge
 * shortcut too), the table grows without losing anything, and merging adds
 * edge by edge and keeps every pending child. */
#include "svcmap.h"
#include "../test_harness.h"

#include <stdio.h>
#include <string.h>

static ag_str str(const char *s) { return (ag_str){s, strlen(s)}; }

static const ag_svcmap_edge *find(const ag_svcmap *m, int64_t minute, const char *env,
                                  const char *from, const char *to)
{
    for (size_t i = 0; i < m->cap; i++) {
        const ag_svcmap_edge *e = &m->slots[i];
        if (e->from && e->minute == minute && !strcmp(e->env, env) && !strcmp(e->from, from) &&
            !strcmp(e->to, to))
            return e;
    }
    return NULL;
}

static ag_span mk(uint64_t id, uint64_t parent, const char *service, ag_tag *env)
{
    ag_span s;
    memset(&s, 0, sizeof s);
    s.trace_id = 42;
    s.span_id = id;
    s.parent_id = parent;
    s.start = 120LL * 1000000000LL;
    s.duration = 1000000;
    s.service = str(service);
    s.meta = env;
    s.meta_len = env ? 1 : 0;
    return s;
}

CT_TEST(test_chunk_edges_and_pending)
{
    ag_tag env = {AG_STR_LIT("env"), AG_STR_LIT("prod")};
    ag_span spans[5] = {mk(1, 77, "web", &env), mk(2, 1, "web", NULL), mk(3, 2, "db", NULL),
                        mk(4, 1, "db", NULL), mk(5, 4, "cache", NULL)};
    spans[3].error = 1;
    ag_trace t = {spans, 5};
    long parents[5] = {-1, 0, 1, 0, 3};
    ag_svcmap m;
    ag_svcmap_init(&m);
    ag_svcmap_add_chunk(&m, &t, parents);
    const ag_svcmap_edge *e = find(&m, 120, "prod", "web", "db");
    CHECK(e && e->calls == 2 && e->errors == 1 && ag_hist_acc_count(&e->hist) == 2);
    CHECK(find(&m, 120, "prod", "db", "cache") && !find(&m, 120, "prod", "web", "web"));
    CHECK(m.len == 2);
    CHECK(m.pending_len == 1 && m.pending[0].parent_id == 77 && m.pending[0].trace_id == 42 &&
          !strcmp(m.strings + m.pending[0].service, "web") &&
          !strcmp(m.strings + m.pending[0].env, "prod"));
    ag_svcmap_free(&m);
}

CT_TEST(test_keys_stay_apart_and_growth_keeps_everything)
{
    ag_svcmap m;
    ag_svcmap_init(&m);
    char name[32];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 500; i++) {
            snprintf(name, sizeof name, "svc%d", i);
            ag_svcmap_add_edge(&m, 60, str("e"), str("a"), str(name), 10, 0);
            ag_svcmap_add_edge(&m, 120, str("e"), str("a"), str(name), 10, 1);
            ag_svcmap_add_edge(&m, 60, str("f"), str("a"), str(name), 10, 0);
        }
    CHECK(m.len == 1500);
    int ok = 1;
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "svc%d", i);
        const ag_svcmap_edge *a = find(&m, 60, "e", "a", name), *b = find(&m, 120, "e", "a", name),
                             *c = find(&m, 60, "f", "a", name);
        ok &= a && a->calls == 3 && !a->errors && b && b->calls == 3 && b->errors == 3 && c &&
              c->calls == 3;
    }
    CHECK(ok);
    /* "ab"->"c" and "a"->"bc" are different edges */
    ag_svcmap_add_edge(&m, 60, str(""), str("ab"), str("c"), 1, 0);
    ag_svcmap_add_edge(&m, 60, str(""), str("a"), str("bc"), 1, 0);
    CHECK(find(&m, 60, "", "ab", "c")->calls == 1 && find(&m, 60, "", "a", "bc")->calls == 1);
    ag_svcmap_free(&m);
}

CT_TEST(test_merge_adds_edges_and_keeps_pending)
{
    ag_svcmap a, b, into;
    ag_svcmap_init(&a);
    ag_svcmap_init(&b);
    ag_svcmap_init(&into);
    ag_svcmap_add_edge(&a, 60, str("e"), str("x"), str("y"), 5, 1);
    ag_svcmap_add_edge(&b, 60, str("e"), str("x"), str("y"), 7, 0);
    ag_svcmap_add_edge(&b, 60, str("e"), str("y"), str("z"), 7, 0);
    ag_tag env = {AG_STR_LIT("env"), AG_STR_LIT("e")};
    ag_span root = mk(9, 8, "z", &env);
    ag_trace t = {&root, 1};
    long parents[1] = {-1};
    ag_svcmap_add_chunk(&b, &t, parents);
    ag_svcmap_merge(&into, &a);
    ag_svcmap_merge(&into, &b);
    const ag_svcmap_edge *e = find(&into, 60, "e", "x", "y");
    CHECK(e && e->calls == 2 && e->errors == 1 && e->duration_sum == 12);
    CHECK(find(&into, 60, "e", "y", "z") && into.len == 2);
    CHECK(into.pending_len == 1 && !strcmp(into.strings + into.pending[0].service, "z"));
    CHECK(ag_svcmap_bytes(&into) > 0);
    ag_svcmap_free(&a);
    ag_svcmap_free(&b);
    ag_svcmap_free(&into);
}

CT_TEST_MAIN()
