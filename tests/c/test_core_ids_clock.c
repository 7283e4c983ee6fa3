/*
 * test_core_ids_clock — span and trace ids (non-zero, distinct, the 128-bit
 * layout, fresh ids in a forked child) and the two clocks.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "ids.h"
#include "../test_harness.h"
#include "tracer.h"

#define MANY 100000

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

CT_TEST(ids_are_nonzero_and_distinct)
{
    uint64_t *ids = malloc(MANY * sizeof *ids);
    CT_ASSERT(ids);
    for (int i = 0; i < MANY; i++) ids[i] = ct__ids_random64();
    qsort(ids, MANY, sizeof *ids, compare_u64);
    int ok = ids[0] != 0;
    for (int i = 1; i < MANY && ok; i++) ok = ids[i] != ids[i - 1];
    free(ids);
    CT_ASSERT(ok);
}

CT_TEST(ids_use_all_64_bits)
{
    uint64_t any_high = 0, all_and = ~0ull;
    for (int i = 0; i < 1000; i++) {
        uint64_t id = ct__ids_random64();
        any_high |= id;
        all_and &= id;
    }
    CT_ASSERT(any_high >> 63); /* the top bit is used */
    CT_ASSERT(all_and == 0);   /* no bit is stuck at one */
}

CT_TEST(trace_high_is_unix_seconds_shifted_left_32)
{
    CT_ASSERT(ct__ids_trace_high(0) == 0);
    CT_ASSERT(ct__ids_trace_high(1) == (1ull << 32));
    CT_ASSERT(ct__ids_trace_high(1700000000) == (1700000000ull << 32));
    CT_ASSERT((ct__ids_trace_high(1700000000) & 0xFFFFFFFFull) == 0);
}

static void *thread_ids(void *out)
{
    uint64_t *ids = out;
    for (int i = 0; i < 1000; i++) ids[i] = ct__ids_random64();
    return NULL;
}

CT_TEST(threads_get_different_ids)
{
    static uint64_t a[1000], b[1000];
    pthread_t ta, tb;
    pthread_create(&ta, NULL, thread_ids, a);
    pthread_create(&tb, NULL, thread_ids, b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    int same = 0;
    for (int i = 0; i < 1000; i++) same += a[i] == b[i];
    CT_ASSERT(same == 0);
}

/* A forked child must not repeat the ids its parent generates next. */
CT_TEST(ids_are_reseeded_in_a_forked_child)
{
    ct_config *config = ct_config_new();
    ct_config_set(config, "_CT_IN_MEMORY_WRITER", "1");
    ct_tracer *tracer = ct_tracer_new(config, NULL); /* installs the atfork handler */
    ct_config_free(config);
    CT_ASSERT(tracer);
    (void)ct__ids_random64();
    int fds[2];
    CT_ASSERT(pipe(fds) == 0);
    pid_t pid = fork();
    CT_ASSERT(pid >= 0);
    if (pid == 0) {
        uint64_t ids[8];
        for (int i = 0; i < 8; i++) ids[i] = ct__ids_random64();
        ssize_t n = write(fds[1], ids, sizeof ids);
        _exit(n == sizeof ids ? 0 : 1);
    }
    uint64_t mine[8], theirs[8];
    for (int i = 0; i < 8; i++) mine[i] = ct__ids_random64();
    ssize_t got = read(fds[0], theirs, sizeof theirs);
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    close(fds[1]);
    ct_tracer_free(tracer, 0);
    CT_ASSERT(got == sizeof theirs);
    int same = 0;
    for (int i = 0; i < 8; i++) same += mine[i] == theirs[i];
    CT_ASSERT(same == 0);
}

/* Bounds from clock_gettime, not time(): glibc's time() reads the coarse
 * clock, which lags the fine one by up to a tick, so near a second
 * boundary (hit under valgrind) ns could land after "after". */
static time_t wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

CT_TEST(wall_clock_is_epoch_nanoseconds)
{
    time_t before = wall_seconds();
    int64_t ns = ct__clock_wall_ns();
    time_t after = wall_seconds();
    CT_ASSERT(ns / 1000000000 >= before && ns / 1000000000 <= after);
}

CT_TEST(monotonic_clock_never_goes_back_and_measures_sleeps)
{
    int64_t previous = ct__clock_monotonic_ns();
    for (int i = 0; i < 100000; i++) {
        int64_t now = ct__clock_monotonic_ns();
        CT_ASSERT(now >= previous);
        previous = now;
    }
    int64_t start = ct__clock_monotonic_ns();
    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    nanosleep(&ten_ms, NULL);
    int64_t elapsed = ct__clock_monotonic_ns() - start;
    CT_ASSERT(elapsed >= 10 * 1000 * 1000 && elapsed < 1000 * 1000 * 1000);
}

CT_TEST_MAIN()
