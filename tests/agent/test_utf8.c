/* Unit tests for agent/base/utf8.c: RFC 3629's valid sequences only (no
 * overlong forms, surrogates or code points above U+10FFFF), repairs that
 * replace each bad run with one U+FFFD, cuts on a boundary, and an encoder
 * whose every output the validator accepts. */
#include "utf8.h"
#include "../test_harness.h"

#include <string.h>

static ag_str S(const char *s) { return (ag_str){s, strlen(s)}; }

static int eq(ag_str a, const char *b) { return a.len == strlen(b) && !memcmp(a.ptr, b, a.len); }

static size_t seq(const char *s, size_t n) { return ag_utf8_seq_len((const unsigned char *)s, n); }

CT_TEST(test_sequence_lengths)
{
    CHECK(seq("a", 1) == 1);
    CHECK(seq("\xc3\xa9", 2) == 2);
    CHECK(seq("\xe2\x82\xac", 3) == 3);
    CHECK(seq("\xf0\x9f\x98\x80", 4) == 4);
    CHECK(seq("\xc0\xaf", 2) == 0);         /* overlong '/' */
    CHECK(seq("\xe0\x80\xaf", 3) == 0);     /* overlong, three bytes */
    CHECK(seq("\xed\xa0\x80", 3) == 0);     /* a surrogate */
    CHECK(seq("\xf4\x90\x80\x80", 4) == 0); /* above U+10FFFF */
    CHECK(seq("\xe2\x82\xac", 2) == 0);     /* cut short */
    CHECK(seq("\xe2\x28\xac", 3) == 0);     /* not a continuation byte */
    CHECK(seq("\x80", 1) == 0);             /* a lone continuation byte */
}

CT_TEST(test_valid_and_repair)
{
    ag_arena arena;
    ag_arena_init(&arena);
    ag_arena *a = &arena;
    CHECK(ag_utf8_valid("plain ascii text", 16) && !ag_utf8_valid("\xed\xa0\x80", 3));
    /* the eight-byte ASCII fast path must not skip a bad byte after it */
    CHECK(!ag_utf8_valid("abcdefgh\xff", 9) && ag_utf8_valid("abcdefgh\xc3\xa9", 10));
    CHECK(eq(ag_repair_utf8(S("a\xff\xfe"
                              "b\xc3"),
                            a),
             "a\xef\xbf\xbd"
             "b\xef\xbf\xbd"));
    ag_str ok = S("caf\xc3\xa9");
    CHECK(ag_repair_utf8(ok, a).ptr == ok.ptr); /* valid: the same view, nothing copied */
    ag_arena_free(&arena);
}

CT_TEST(test_truncate)
{
    CHECK(eq(ag_truncate_utf8(S("h\xc3\xa9llo"), 2), "h")); /* never cuts a rune */
    CHECK(eq(ag_truncate_utf8(S("h\xc3\xa9llo"), 3), "h\xc3\xa9"));
    CHECK(eq(ag_truncate_utf8(S("abc"), 5), "abc"));
}

CT_TEST(test_encoder_round_trips)
{
    const unsigned cps[] = {0, 0x7f, 0x80, 0x7ff, 0x800, 0xfffd, 0xffff, 0x10000, 0x10ffff};
    const size_t lens[] = {1, 1, 2, 2, 3, 3, 3, 4, 4};
    for (size_t i = 0; i < sizeof cps / sizeof *cps; i++) {
        ag_buf b = {0};
        ag_utf8_put(&b, cps[i]);
        CHECK(b.len == lens[i] && seq(b.data, b.len) == lens[i]);
        ag_buf_free(&b);
    }
}

CT_TEST_MAIN()
