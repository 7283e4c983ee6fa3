/*
 * test_harness — the one unit-test harness of ctrace's C tests (the core's
 * in tests/c and the agent's in tests/agent).
 *
 * CT_TEST(name) defines a test function and registers it (a constructor
 * runs before main). Inside a test, CT_ASSERT(cond) fails the test and
 * returns from it (later steps would only crash on what failed);
 * CHECK(cond) fails the test and goes on, so that one run reports every
 * broken case of a table (the agent's tests are written with it).
 * CT_TEST_MAIN() defines main: it runs every registered test, or only those
 * whose name contains argv[1], and prints the Test Anything Protocol (TAP)
 * on stdout — the plan "1..N", then
 * "ok I - name" or "not ok I - name" per test, the failed assertions as
 * "# file:line: ..." comments — which meson reads (`protocol: 'tap'`), so
 * it counts tests, not assertions. The exit status is nonzero when a test
 * failed or when the filter matched no test (a mistyped name must not pass).
 *
 *     build/py/tests/c/test_core_lifecycle strerror
 *     meson test -C build/py test_core_lifecycle --test-args strerror
 *
 * The failure flag is global, not a parameter, so helpers called from a
 * test may use CHECK too. Tests of one executable run in one process, in
 * the order they are written.
 */
#ifndef CT_TEST_HARNESS_H
#define CT_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

typedef void (*ct_test_fn)(void);
typedef struct ct_test_entry {
    const char *name;
    ct_test_fn fn;
    int line; /* where it is defined: the order they run in */
} ct_test_entry;

#define CT_TEST_MAX 256
static ct_test_entry ct_tests[CT_TEST_MAX];
static int ct_test_count;
static int ct_test_failed; /* the running test failed */

#define CT_TEST(name)                                                           \
    static void name(void);                                                     \
    __attribute__((constructor)) static void ct_register_##name(void)           \
    {                                                                           \
        if (ct_test_count < CT_TEST_MAX)                                        \
            ct_tests[ct_test_count++] = (ct_test_entry){#name, name, __LINE__}; \
    }                                                                           \
    static void name(void)

/* Records a failure of the running test as a TAP comment. */
static inline void ct_test_fail(const char *file, int line, const char *what)
{
    printf("# %s:%d: failed: %s\n", file, line, what);
    ct_test_failed = 1;
}

#define CHECK(cond)                                           \
    do {                                                      \
        if (!(cond)) ct_test_fail(__FILE__, __LINE__, #cond); \
    } while (0)

#define CT_ASSERT(cond)                              \
    do {                                             \
        if (!(cond)) {                               \
            ct_test_fail(__FILE__, __LINE__, #cond); \
            return;                                  \
        }                                            \
    } while (0)

static inline int ct_test_selected(const ct_test_entry *test, const char *filter)
{
    return !filter || strstr(test->name, filter);
}

/* Constructors run in an order the toolchain picks (GCC with LTO runs them
 * backwards): sort by line, so tests run and are numbered as written. */
static inline void ct_test_sort(void)
{
    for (int i = 1; i < ct_test_count; i++)
        for (int j = i; j > 0 && ct_tests[j - 1].line > ct_tests[j].line; j--) {
            ct_test_entry swap = ct_tests[j];
            ct_tests[j] = ct_tests[j - 1];
            ct_tests[j - 1] = swap;
        }
}

/* Runs the selected tests and prints TAP; the exit status of main. */
static inline int ct_test_run_all(const char *filter)
{
    int selected = 0, failed = 0;
    ct_test_sort();
    for (int i = 0; i < ct_test_count; i++) selected += ct_test_selected(&ct_tests[i], filter);
    printf("1..%d\n", selected);
    if (!selected) {
        printf("# no test name contains \"%s\"\n", filter);
        return 1;
    }
    for (int i = 0, number = 0; i < ct_test_count; i++) {
        if (!ct_test_selected(&ct_tests[i], filter)) continue;
        ct_test_failed = 0;
        fflush(stdout); /* the test's own output comes after what precedes it */
        ct_tests[i].fn();
        printf("%sok %d - %s\n", ct_test_failed ? "not " : "", ++number, ct_tests[i].name);
        fflush(stdout);
        failed += ct_test_failed;
    }
    printf("# %d passed, %d failed\n", selected - failed, failed);
    return failed ? 1 : 0;
}

#define CT_TEST_MAIN() \
    int main(int argc, char **argv) { return ct_test_run_all(argc > 1 ? argv[1] : NULL); }

#endif
