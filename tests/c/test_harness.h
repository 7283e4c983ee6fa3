/*
 * test_harness — the smallest unit-test harness that does the job.
 *
 * CT_TEST(name) defines a test function and registers it (a constructor
 * runs before main); CT_ASSERT(cond) fails the current test and returns
 * from it; CT_TEST_MAIN() runs every registered test (or those whose name
 * contains argv[1]) and prints "N passed, N failed" last, the line CI reads.
 * The exit status is nonzero when a test failed.
 */
#ifndef CT_TEST_HARNESS_H
#define CT_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

typedef void (*ct_test_fn)(int *failed);
typedef struct ct_test_entry {
    const char *name;
    ct_test_fn fn;
} ct_test_entry;

#define CT_TEST_MAX 256
static ct_test_entry ct_tests[CT_TEST_MAX];
static int ct_test_count;

#define CT_TEST(name)                                                         \
    static void name(int *ct_failed_);                                        \
    __attribute__((constructor)) static void ct_register_##name(void)         \
    {                                                                         \
        if (ct_test_count < CT_TEST_MAX)                                      \
            ct_tests[ct_test_count++] = (ct_test_entry){#name, name};         \
    }                                                                         \
    static void name(int *ct_failed_)

#define CT_ASSERT(cond)                                                       \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "  %s:%d: assertion failed: %s\n", __FILE__,     \
                    __LINE__, #cond);                                         \
            *ct_failed_ = 1;                                                  \
            return;                                                           \
        }                                                                     \
    } while (0)

#define CT_TEST_MAIN()                                                        \
    int main(int argc, char **argv)                                           \
    {                                                                         \
        int passed = 0, failed = 0;                                           \
        for (int i = 0; i < ct_test_count; i++) {                             \
            if (argc > 1 && !strstr(ct_tests[i].name, argv[1]))               \
                continue;                                                     \
            int f = 0;                                                        \
            ct_tests[i].fn(&f);                                               \
            fprintf(stderr, "%s %s\n", f ? "FAIL" : "ok  ", ct_tests[i].name);\
            f ? failed++ : passed++;                                          \
        }                                                                     \
        printf("%d passed, %d failed\n", passed, failed);                     \
        return failed ? 1 : 0;                                                \
    }

#endif
