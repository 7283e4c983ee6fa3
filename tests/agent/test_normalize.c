/* Unit tests for agent/intake/normalize.c against the Datadog agent's rules. */
#include "normalize.h"
#include "../test_harness.h"

#include <string.h>

static ag_str S(const char *s) { return (ag_str){s, strlen(s)}; }

static int eq(ag_str a, const char *b) { return a.len == strlen(b) && !memcmp(a.ptr, b, a.len); }

CT_TEST(test_strings)
{
    ag_arena arena;
    ag_arena_init(&arena);
    ag_arena *a = &arena;
    CHECK(eq(ag_truncate_ellipsis(S("abcdef"), 3, a), "abc..."));
    CHECK(eq(ag_normalize_tag(S("My Service!!"), false, a), "my_service"));
    CHECK(eq(ag_normalize_tag(S("__9lives"), false, a), "9lives"));
    CHECK(eq(ag_normalize_tag(S("9lives"), true, a), "lives"));
    CHECK(eq(ag_normalize_tag(S("a::b//c--d"), false, a), "a::b//c--d"));
    CHECK(eq(ag_normalize_tag(S("caf\xc3\xa9 bar"), false, a), "caf\xc3\xa9_bar"));
    CHECK(eq(ag_normalize_service(S(""), "python", a), "unnamed-python-service"));
    CHECK(eq(ag_normalize_service(S(""), NULL, a), "unnamed-service"));
    CHECK(eq(ag_normalize_service(S("!!!"), NULL, a), "unnamed-service"));
    char long_service[150];
    memset(long_service, 'a', sizeof long_service - 1);
    long_service[149] = 0;
    CHECK(ag_normalize_service(S(long_service), NULL, a).len == 100);
    CHECK(eq(ag_normalize_name(S("flask.request"), a), "flask.request"));
    CHECK(eq(ag_normalize_name(S("9 bad name!"), a), "bad_name"));
    CHECK(eq(ag_normalize_name(S("a_.b"), a), "a.b"));
    CHECK(eq(ag_normalize_name(S("a..b__c"), a), "a..b_c"));
    CHECK(eq(ag_normalize_name(S("123"), a), "unnamed_operation"));
    CHECK(ag_valid_status_code(S("200")) && ag_valid_status_code(S("599")));
    CHECK(!ag_valid_status_code(S("99")) && !ag_valid_status_code(S("600")) &&
          !ag_valid_status_code(S("2x0")));
    ag_arena_free(&arena);
}

static ag_span make_span(uint64_t trace_id, uint64_t span_id)
{
    ag_span s;
    memset(&s, 0, sizeof s);
    s.trace_id = trace_id;
    s.span_id = span_id;
    s.service = S("web");
    s.name = S("req");
    s.resource = S("");
    s.type = S("");
    s.start = 1700000000000000000LL;
    s.duration = 10;
    return s;
}

CT_TEST(test_traces)
{
    ag_arena arena;
    ag_arena_init(&arena);
    ag_arena *a = &arena;
    ag_norm_opts o = {"go", 1800000000000000000LL};
    const char *why = NULL;
    ag_span spans[2] = {make_span(5, 1), make_span(5, 2)};
    ag_trace t = {spans, 2};
    CHECK(ag_normalize_trace(&t, &o, a, &why) == 0);
    CHECK(eq(spans[0].resource, "req")); /* empty resource -> name */

    t.len = 0;
    CHECK(ag_normalize_trace(&t, &o, a, &why) != 0 && !strcmp(why, "empty_trace"));
    spans[1].trace_id = 6;
    t.len = 2;
    CHECK(ag_normalize_trace(&t, &o, a, &why) != 0 && !strcmp(why, "trace_id_mismatch"));
    spans[1] = make_span(5, 0);
    CHECK(ag_normalize_trace(&t, &o, a, &why) != 0 && !strcmp(why, "span_id_zero"));
    spans[0] = make_span(0, 1);
    spans[1] = make_span(0, 2);
    CHECK(ag_normalize_trace(&t, &o, a, &why) != 0 && !strcmp(why, "trace_id_zero"));

    /* times and parent */
    ag_span s = make_span(9, 9);
    s.parent_id = 9;
    s.start = 100;
    s.duration = -5;
    ag_trace one = {&s, 1};
    CHECK(ag_normalize_trace(&one, &o, a, &why) == 0);
    CHECK(s.parent_id == 0 && s.duration == 0 && s.start == o.now_ns);
    s = make_span(9, 9);
    s.duration = INT64_MAX;
    CHECK(ag_normalize_trace(&one, &o, a, &why) == 0 && s.duration == 0);

    /* tags */
    ag_tag meta[3] = {
        {S("http.status_code"), S("700")}, {S("env"), S("Prod Env")}, {S("k"), S("v")}};
    s = make_span(9, 9);
    s.meta = meta;
    s.meta_len = 3;
    s.service = S("");
    CHECK(ag_normalize_trace(&one, &o, a, &why) == 0);
    CHECK(s.meta_len == 2 && eq(s.meta[0].key, "env") && eq(s.meta[0].value, "prod_env"));
    CHECK(eq(s.service, "unnamed-go-service"));
    ag_arena_free(&arena);
}

CT_TEST_MAIN()
