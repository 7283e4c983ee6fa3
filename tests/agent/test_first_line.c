/* Unit tests for agent/server/first_line.c: which first lines the gate
 * passes to libmicrohttpd, which it answers 400 or 414, and that a line
 * arriving in pieces waits (incomplete) at every cut of a good one. */
#include "first_line.h"
#include "../test_harness.h"

#include <stdlib.h>
#include <string.h>

static ag_line_verdict check_n(const char *s, size_t n, const char **why)
{
    *why = NULL;
    return ag_first_line_check((const unsigned char *)s, n, why);
}

static ag_line_verdict check(const char *s, const char **why) { return check_n(s, strlen(s), why); }

/* Whether s is refused with a reason containing part. */
static int bad_because(const char *s, size_t n, const char *part)
{
    const char *why;
    return check_n(s, n, &why) == AG_LINE_BAD && why && strstr(why, part);
}

CT_TEST(test_well_formed_lines_pass)
{
    const char *why;
    CHECK(check("GET / HTTP/1.1\r\n", &why) == AG_LINE_GOOD && !why);
    CHECK(check("PUT /v0.4/traces HTTP/1.0\nHost: x\r\n\r\n", &why) == AG_LINE_GOOD);
    CHECK(check("OPTIONS * HTTP/1.1\r\n", &why) == AG_LINE_GOOD);
    CHECK(check("GET http://h:1/a?b=%20c#d HTTP/1.1\r\n", &why) == AG_LINE_GOOD);
    CHECK(check("\r\n\nGET / HTTP/1.1\r\n", &why) == AG_LINE_GOOD);      /* empty lines first */
    CHECK(check("GET /caf\xc3\xa9 HTTP/1.1\r\n", &why) == AG_LINE_GOOD); /* obs-text */
    /* the version's value is libmicrohttpd's to judge (505), not its shape */
    CHECK(check("GET / HTTP/2.0\r\n", &why) == AG_LINE_GOOD);
}

CT_TEST(test_every_prefix_of_a_good_line_waits)
{
    const char *line = "POST /v0.5/traces HTTP/1.1\r\n";
    const char *why;
    for (size_t n = 0; n < strlen(line); n++) CHECK(check_n(line, n, &why) == AG_LINE_INCOMPLETE);
    CHECK(check_n("\r", 1, &why) == AG_LINE_INCOMPLETE);
    CHECK(check_n("\r\n\r", 3, &why) == AG_LINE_INCOMPLETE);
}

CT_TEST(test_malformed_lines_are_refused_with_a_reason)
{
    CHECK(bad_because("GARBAGE\r\n\r\n", 11, "not METHOD TARGET"));
    CHECK(bad_because("GET /\r\n", 7, "no HTTP version"));
    CHECK(bad_because("GET / \r\n", 8, "no HTTP version"));
    CHECK(bad_because("GET / HTTP/1.1 \r\n", 17, "must end with HTTP/1.x"));
    CHECK(bad_because("GET / HTTX/1.1\r\n", 16, "must end with HTTP/1.x"));
    CHECK(bad_because("GET / HTTP/1.1\rX", 16, "CR not followed by LF"));
    CHECK(bad_because("GET\0/ HTTP/1.1\r\n", 16, "NUL"));
    CHECK(bad_because("GET /a\0b HTTP/1.1\r\n", 19, "NUL"));
    CHECK(bad_because("GET / HTTP/1.1\0\r\n", 17, "NUL"));
    CHECK(bad_because("GET /a\tb HTTP/1.1\r\n", 19, "control byte"));
    CHECK(bad_because("GET /a\x7f HTTP/1.1\r\n", 18, "control byte"));
    CHECK(bad_because("GET  / HTTP/1.1\r\n", 17, "followed by one space"));
    CHECK(bad_because(" GET / HTTP/1.1\r\n", 17, "start with a method"));
    CHECK(bad_because("G(T / HTTP/1.1\r\n", 16, "start with a method"));
    CHECK(bad_because("\x16\x03\x01\x02\x00", 5, "control byte")); /* a TLS hello */
    /* refused as soon as the bad byte is in, without waiting for the end */
    CHECK(bad_because("GET /a\0", 7, "NUL"));
}

CT_TEST(test_a_line_past_the_limit_is_too_long)
{
    size_t n = AG_FIRST_LINE_MAX + 100;
    char *s = malloc(n);
    CT_ASSERT(s);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'a', n - 5);
    const char *why = NULL;
    CHECK(ag_first_line_check((const unsigned char *)s, n, &why) == AG_LINE_TOO_LONG && why);
    CHECK(ag_first_line_check((const unsigned char *)s, AG_FIRST_LINE_MAX - 1, &why) ==
          AG_LINE_INCOMPLETE);
    /* one that ends just within the limit passes */
    memcpy(s + AG_FIRST_LINE_MAX - 11, " HTTP/1.1\r\n", 11);
    CHECK(ag_first_line_check((const unsigned char *)s, n, &why) == AG_LINE_GOOD);
    /* and one byte later it does not */
    memmove(s + AG_FIRST_LINE_MAX - 10, s + AG_FIRST_LINE_MAX - 11, 11);
    s[AG_FIRST_LINE_MAX - 11] = 'a';
    CHECK(ag_first_line_check((const unsigned char *)s, n, &why) == AG_LINE_TOO_LONG);
    free(s);
}

CT_TEST_MAIN()
