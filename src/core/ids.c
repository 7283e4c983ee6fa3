/*
 * ids.c — per-thread xoshiro256** generators (see ids.h). Seeding mixes
 * getrandom() with the pid, thread address and time, so that even without
 * getrandom (a seccomp sandbox) two threads or processes differ.
 */
#include "ids.h"

#include <stdatomic.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static atomic_uint fork_generation = 1;

typedef struct generator {
    uint64_t s[4];
    unsigned generation; /* 0 = never seeded */
} generator;

/* initial-exec: the default model for a shared object calls __tls_get_addr
 * on every id, a measurable part of a span; 40 bytes of static TLS is safe. */
static _Thread_local generator thread_generator __attribute__((tls_model("initial-exec")));

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void seed(generator *g, unsigned generation)
{
    uint64_t entropy[4] = {0};
    if (getrandom(entropy, sizeof entropy, GRND_NONBLOCK) != sizeof entropy) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        entropy[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30);
    }
    uint64_t mix = entropy[0] ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)g;
    for (int i = 0; i < 4; i++) g->s[i] = splitmix64(&mix) ^ entropy[i];
    g->generation = generation;
}

static uint64_t next(generator *g)
{
    uint64_t *s = g->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t ct__ids_random64(void)
{
    generator *g = &thread_generator;
    unsigned generation = atomic_load_explicit(&fork_generation, memory_order_relaxed);
    if (g->generation != generation) seed(g, generation);
    uint64_t id;
    do id = next(g);
    while (id == 0);
    return id;
}

void ct__ids_after_fork_child(void)
{
    atomic_fetch_add_explicit(&fork_generation, 1, memory_order_relaxed);
}
