/* Load generator for the ctrace-agent ingest benchmark (bench_agent.py).
 *
 * The clients must cost far less than the agent they measure: both share
 * this machine's cores. Python clients cost ~0.3 us per span to send a
 * prebuilt payload, and as much again to give each request fresh trace ids,
 * which a realistic load needs (every trace is new: the agent's trace-id
 * index sees random keys, its start index sees current times). So the
 * payloads are built once in Python (agent_payloads.Template, written to a
 * template file) and this program only patches them and sends them.
 *
 *   agent_load PORT PATH SECONDS CLIENTS TEMPLATE...
 *
 * CLIENTS threads, each with one keep-alive connection and one request in
 * flight (as a tracer's writer), client i using TEMPLATE[i % count]. Every
 * request gets a random 64-bit trace id per trace and span starts spread
 * over the second before it is sent. After SECONDS it prints one line:
 *
 *   requests=N ok_spans=N failed=N elapsed_s=F p50_ms=F p99_ms=F cpu_s=F
 *
 * (cpu_s: this process's user+system time while sending, so the benchmark
 * can report what the load itself cost.) A template file is little-endian u32 fields:
 * spans, raw_len, raw bytes, tid_slots, (offset, trace) per slot,
 * start_slots, (offset, trace, k) per slot; offsets point at the 8
 * big-endian bytes of a uint64 in the msgpack. Exits 1 on any error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    uint32_t offset, trace, k;
} slot;

typedef struct {
    uint32_t spans, traces;
    unsigned char *raw;
    uint32_t raw_len;
    slot *tids, *starts;
    uint32_t n_tids, n_starts;
} template;

typedef struct {
    const template *tpl;
    int port;
    const char *path;
    double seconds;
    uint64_t seed;
    pthread_barrier_t *barrier;
    /* results */
    uint64_t requests, ok_spans, failed;
    double *latencies;
    size_t lat_len, lat_cap;
} client;

static void die(const char *what)
{
    fprintf(stderr, "agent_load: %s: %s\n", what, errno ? strerror(errno) : "bad input");
    exit(1);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ---- template file ---- */

static uint32_t read_u32(FILE *f)
{
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) die("template truncated");
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static slot *read_slots(FILE *f, uint32_t *n, int with_k, const template *t)
{
    *n = read_u32(f);
    slot *s = calloc(*n ? *n : 1, sizeof *s);
    if (!s) die("out of memory");
    for (uint32_t i = 0; i < *n; i++) {
        s[i].offset = read_u32(f);
        s[i].trace = read_u32(f);
        s[i].k = with_k ? read_u32(f) : 0;
        if (s[i].offset + 8 > t->raw_len) die("slot outside the payload");
    }
    return s;
}

static void load_template(const char *path, template *t)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    t->spans = read_u32(f);
    t->raw_len = read_u32(f);
    t->raw = malloc(t->raw_len);
    if (!t->raw || fread(t->raw, 1, t->raw_len, f) != t->raw_len) die("template payload");
    t->tids = read_slots(f, &t->n_tids, 0, t);
    t->starts = read_slots(f, &t->n_starts, 1, t);
    t->traces = 0;
    for (uint32_t i = 0; i < t->n_tids; i++)
        if (t->tids[i].trace + 1 > t->traces) t->traces = t->tids[i].trace + 1;
    fclose(f);
}

/* ---- one request ---- */

static uint64_t next_random(uint64_t *s)
{
    /* splitmix64: distinct, uniformly spread 64-bit ids */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

/* Fresh trace ids and starts in body (a copy of the template's payload). */
static void patch(const template *t, unsigned char *body, uint64_t *seed, uint64_t *ids)
{
    for (uint32_t i = 0; i < t->traces; i++) {
        do ids[i] = next_random(seed) >> 1; /* positive as int64, as tracers send */
        while (!ids[i]);
    }
    for (uint32_t i = 0; i < t->n_tids; i++)
        put_be64(body + t->tids[i].offset, ids[t->tids[i].trace]);
    uint64_t base = wall_ns() - 1000000000u, step = 1000000000u / (t->traces ? t->traces : 1);
    for (uint32_t i = 0; i < t->n_starts; i++) {
        const slot *s = &t->starts[i];
        put_be64(body + s->offset, base + s->trace * step + s->k * 1000u);
    }
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one response; returns its status, or -1. buf keeps bytes beyond it. */
static int read_response(int fd, char *buf, size_t cap, size_t *have)
{
    char *end;
    while (!(end = memmem(buf, *have, "\r\n\r\n", 4))) {
        if (*have == cap) return -1;
        ssize_t r = recv(fd, buf + *have, cap - *have, 0);
        if (r <= 0) return -1;
        *have += (size_t)r;
    }
    size_t head = (size_t)(end - buf) + 4, body = 0;
    int status = atoi(buf + 9);
    for (char *p = buf; p < end; p++)
        if (!strncasecmp(p, "\r\ncontent-length:", 17)) body = strtoul(p + 17, NULL, 10);
    if (head + body > cap) return -1;
    while (*have < head + body) {
        ssize_t r = recv(fd, buf + *have, cap - *have, 0);
        if (r <= 0) return -1;
        *have += (size_t)r;
    }
    memmove(buf, buf + head + body, *have - head - body);
    *have -= head + body;
    return status;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a)) die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void *client_main(void *arg)
{
    client *c = arg;
    const template *t = c->tpl;
    int fd = connect_to(c->port);
    char head[512], resp[65536];
    size_t have = 0;
    int head_len =
        snprintf(head, sizeof head,
                 "PUT %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/msgpack\r\n"
                 "Datadog-Meta-Lang: python\r\nX-Datadog-Trace-Count: %u\r\n"
                 "Content-Length: %u\r\n\r\n",
                 c->path, c->port, t->traces, t->raw_len);
    unsigned char *body = malloc(t->raw_len);
    uint64_t *ids = malloc((t->traces + 1) * sizeof *ids);
    if (!body || !ids) die("out of memory");
    memcpy(body, t->raw, t->raw_len);
    pthread_barrier_wait(c->barrier);
    double end = now_s() + c->seconds;
    while (now_s() < end) {
        patch(t, body, &c->seed, ids);
        double t0 = now_s();
        if (send_all(fd, head, (size_t)head_len) || send_all(fd, body, t->raw_len)) die("send");
        int status = read_response(fd, resp, sizeof resp, &have);
        if (status < 0) die("response");
        if (c->lat_len == c->lat_cap) {
            c->lat_cap = c->lat_cap ? c->lat_cap * 2 : 1024;
            c->latencies = realloc(c->latencies, c->lat_cap * sizeof *c->latencies);
            if (!c->latencies) die("out of memory");
        }
        c->latencies[c->lat_len++] = now_s() - t0;
        c->requests++;
        if (status == 200) c->ok_spans += t->spans;
        else c->failed++;
    }
    close(fd);
    free(body);
    free(ids);
    return NULL;
}

/* This process's user+system time so far. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: agent_load PORT PATH SECONDS CLIENTS TEMPLATE...\n");
        return 2;
    }
    int port = atoi(argv[1]), n = atoi(argv[4]), n_templates = argc - 5;
    if (n < 1) die("CLIENTS");
    template *tpls = calloc((size_t)n_templates, sizeof *tpls);
    client *cs = calloc((size_t)n, sizeof *cs);
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    if (!tpls || !cs || !threads) die("out of memory");
    for (int i = 0; i < n_templates; i++) load_template(argv[5 + i], &tpls[i]);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++) {
        cs[i] = (client){.tpl = &tpls[i % n_templates],
                         .port = port,
                         .path = argv[2],
                         .seconds = atof(argv[3]),
                         .barrier = &barrier,
                         .seed = wall_ns() ^ ((uint64_t)getpid() << 32) ^
                                 (uint64_t)i * 0x632be59bd9b4e019ULL};
        pthread_create(&threads[i], NULL, client_main, &cs[i]);
    }
    pthread_barrier_wait(&barrier);
    double t0 = now_s(), cpu0 = cpu_seconds();
    uint64_t requests = 0, ok_spans = 0, failed = 0;
    size_t lat_len = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
        requests += cs[i].requests, ok_spans += cs[i].ok_spans, failed += cs[i].failed;
        lat_len += cs[i].lat_len;
    }
    double elapsed = now_s() - t0;
    double *lat = malloc((lat_len ? lat_len : 1) * sizeof *lat);
    if (!lat) die("out of memory");
    for (int i = 0, k = 0; i < n; i++)
        for (size_t j = 0; j < cs[i].lat_len; j++) lat[k++] = cs[i].latencies[j];
    qsort(lat, lat_len, sizeof *lat, by_value);
    double cpu = cpu_seconds() - cpu0;
    printf(
        "requests=%llu ok_spans=%llu failed=%llu elapsed_s=%.3f p50_ms=%.2f p99_ms=%.2f cpu_s=%.3f\n",
        (unsigned long long)requests, (unsigned long long)ok_spans, (unsigned long long)failed,
        elapsed, lat_len ? lat[lat_len / 2] * 1e3 : 0.0,
        lat_len ? lat[(size_t)((double)lat_len * 0.99)] * 1e3 : 0.0, cpu);
    return 0;
}
