/* The test harness itself (tests/test_harness.h): a failing CHECK marks its
 * test failed and lets it go on, a failing CT_ASSERT ends it, each test is
 * one TAP line numbered in order, a name filter selects by substring, a
 * filter matching nothing fails, and the exit status follows the failures.
 * The subject tests below run with stdout sent to a file, which main then
 * reads; main prints its own TAP by hand, since the harness is what is
 * under test. */
#include "../test_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int checks_went_on, assert_went_on;

CT_TEST(subject_passes) { CT_ASSERT(1); }

CT_TEST(subject_check_fails_and_goes_on)
{
    CHECK(1 == 2);
    checks_went_on = 1;
}

CT_TEST(subject_assert_fails_and_stops)
{
    CT_ASSERT(0);
    assert_went_on = 1;
}

/* Runs the harness with filter, stdout captured into out. Its exit status. */
static int run_captured(const char *filter, char *out, size_t size)
{
    fflush(stdout);
    int saved = dup(1);
    FILE *capture = tmpfile();
    if (saved < 0 || !capture) return -1;
    dup2(fileno(capture), 1);
    int rc = ct_test_run_all(filter);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    rewind(capture);
    size_t n = fread(out, 1, size - 1, capture);
    out[n] = 0;
    fclose(capture);
    return rc;
}

static int number;

static void report(int ok, const char *name)
{
    printf("%sok %d - %s\n", ok ? "" : "not ", ++number, name);
}

int main(void)
{
    static char out[4096];
    printf("1..6\n");
    int rc = run_captured(NULL, out, sizeof out);
    report(rc == 1 && strstr(out, "1..3\n"), "a failure makes the run fail, the plan counts tests");
    report(strstr(out, "ok 1 - subject_passes\n") &&
               strstr(out, "not ok 2 - subject_check_fails_and_goes_on\n") &&
               strstr(out, "not ok 3 - subject_assert_fails_and_stops\n"),
           "one numbered line per test, in order");
    report(checks_went_on && !assert_went_on, "CHECK goes on, CT_ASSERT stops the test");
    report(strstr(out, "# ") && strstr(out, "failed: 1 == 2") && strstr(out, "failed: 0"),
           "failed conditions are TAP comments");
    rc = run_captured("passes", out, sizeof out);
    report(rc == 0 && strstr(out, "1..1\nok 1 - subject_passes\n"),
           "a filter runs the tests whose name contains it");
    rc = run_captured("no_such_test", out, sizeof out);
    report(rc == 1 && strstr(out, "1..0\n"), "a filter matching nothing fails");
    return 0;
}
