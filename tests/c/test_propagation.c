/*
 * test_propagation — header value codecs (propagation.h): valid values
 * parse, every malformed one is rejected whole with nothing reported.
 */
#include <string.h>

#include "propagation.h"
#include "../test_harness.h"

static int count_pairs(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
    (*(int *)arg)++;
    return 0;
}

#define L(s) s, strlen(s)

CT_TEST(decimal_and_hex_ids)
{
    uint64_t v, hi, lo;
    CT_ASSERT(ct__prop_parse_decimal(L("18446744073709551615"), &v) == CT_OK && v == UINT64_MAX);
    CT_ASSERT(ct__prop_parse_decimal(L("18446744073709551616"), &v) == CT_EINVAL && v == 0);
    CT_ASSERT(ct__prop_parse_decimal(L("-1"), &v) == CT_EINVAL);
    CT_ASSERT(ct__prop_parse_decimal(L(""), &v) == CT_EINVAL);
    CT_ASSERT(ct__prop_parse_hex(L("640cfd8d000000000000000000003039"), &hi, &lo) == CT_OK);
    CT_ASSERT(hi == 0x640cfd8d00000000ULL && lo == 0x3039);
    CT_ASSERT(ct__prop_parse_hex(L("0123456789abcdef0123456789abcdef0"), &hi, &lo) == CT_EINVAL);
    CT_ASSERT(ct__prop_parse_hex(L("12g4"), &hi, &lo) == CT_EINVAL && hi == 0 && lo == 0);
}

CT_TEST(traceparent_round_trip_and_rejects)
{
    char out[56];
    ct_traceparent tp;
    ct__prop_format_traceparent(1, 2, 3, 1, out);
    CT_ASSERT(!strcmp(out, "00-00000000000000010000000000000002-0000000000000003-01"));
    CT_ASSERT(ct__prop_parse_traceparent(L(out), &tp) == CT_OK);
    CT_ASSERT(tp.trace_id_high == 1 && tp.trace_id_low == 2 && tp.parent_id == 3 && tp.flags == 1);
    const char *bad[] = {"00-00000000000000010000000000000002-0000000000000003-01-x",
                         "ff-00000000000000010000000000000002-0000000000000003-01",
                         "00-00000000000000000000000000000000-0000000000000003-01",
                         "00-00000000000000010000000000000002-0000000000000000-01",
                         "00-0000000000000001000000000000000A-0000000000000003-01",
                         "00-00000000000000010000000000000002-0000000000000003-1",
                         "",
                         "00"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CT_ASSERT(ct__prop_parse_traceparent(L(bad[i]), &tp) == CT_EINVAL);
        CT_ASSERT(tp.trace_id_low == 0 && tp.parent_id == 0);
    }
    CT_ASSERT(ct__prop_parse_traceparent(
                  L("01-00000000000000010000000000000002-0000000000000003-01-x"), &tp) == CT_OK);
}

CT_TEST(datadog_tags_whole_or_nothing)
{
    int n = 0;
    CT_ASSERT(ct__prop_parse_datadog_tags(L("_dd.p.dm=-4,_dd.p.usr.id=a=b"), count_pairs, &n) ==
              CT_OK);
    CT_ASSERT(n == 2);
    n = 0;
    CT_ASSERT(ct__prop_parse_datadog_tags(L("_dd.p.dm=-4,broken"), count_pairs, &n) == CT_EINVAL);
    CT_ASSERT(n == 0);
    char big[600];
    memset(big, 'x', sizeof big);
    CT_ASSERT(ct__prop_parse_datadog_tags(big, sizeof big, count_pairs, &n) == CT_ENOSPC && n == 0);
    char out[64];
    size_t len = 0;
    CT_ASSERT(ct__prop_append_datadog_tag(out, &len, sizeof out, 512, L("_dd.p.a"), L("1")) ==
              CT_OK);
    CT_ASSERT(ct__prop_append_datadog_tag(out, &len, sizeof out, 19, L("_dd.p.b"), L("2")) ==
              CT_OK);
    CT_ASSERT(len == 19);
    CT_ASSERT(ct__prop_append_datadog_tag(out, &len, sizeof out, 20, L("_dd.p.c"), L("3")) ==
              CT_ENOSPC);
    CT_ASSERT(ct__prop_append_datadog_tag(out, &len, sizeof out, 512, L("_dd.p.c"), L("a,b")) ==
              CT_EINVAL);
    CT_ASSERT(!strcmp(out, "_dd.p.a=1,_dd.p.b=2"));
}

CT_TEST(dd_member_parse_and_encode)
{
    ct_dd_member m;
    int n = 0;
    CT_ASSERT(ct__prop_parse_dd_member(L("s:2;o:rum~x;p:00000000000000aa;t.dm:-4"), &m, count_pairs,
                                       &n) == CT_OK);
    CT_ASSERT(m.has_priority && m.priority == 2 && m.origin_len == 5 && m.parent_len == 16 &&
              n == 1);
    n = 0;
    CT_ASSERT(ct__prop_parse_dd_member(L("s:x;t.dm:-4"), &m, count_pairs, &n) == CT_EINVAL);
    CT_ASSERT(n == 0 && !m.has_priority && !m.origin);
    CT_ASSERT(ct__prop_parse_dd_member(L("s:1;junk"), &m, count_pairs, &n) == CT_EINVAL);
    char out[300];
    size_t len = 0;
    ct__prop_append_dd_item(out, &len, L("o"), L("a=b;c\xc3\xa9"));
    CT_ASSERT(!strcmp(out, "o:a~b_c__"));
    char value[300];
    memset(value, 'v', sizeof value);
    CT_ASSERT(ct__prop_append_dd_item(out, &len, L("t.x"), value, sizeof value) == CT_ENOSPC);
    CT_ASSERT(!strcmp(out, "o:a~b_c__"));
}

CT_TEST(baggage_limits_and_malformed)
{
    char scratch[256];
    int n = 0;
    CT_ASSERT(ct__prop_parse_baggage(L("a=1, b = %41%zz ,c=%"), scratch, count_pairs, &n) ==
                  CT_OK &&
              n == 3);
    n = 0;
    CT_ASSERT(ct__prop_parse_baggage(L("a=1,b"), scratch, count_pairs, &n) == CT_EINVAL && n == 0);
    CT_ASSERT(ct__prop_parse_baggage(L("a=1,=2"), scratch, count_pairs, &n) == CT_EINVAL && n == 0);
}

CT_TEST_MAIN()
