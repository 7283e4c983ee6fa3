/*
 * test_agent_writer — the real writer against a scripted fake agent (a
 * ct_transport that answers what the test says: a status, a connection
 * error, a hang until aborted, a body cap), checking that nothing is lost,
 * drops are counted exactly, fallbacks and splits happen, and fork and
 * shutdown never hang.
 */
#include <msgpack.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_writer.h"
#include "record_builder.h"
#include "../test_harness.h"

/* -- the fake agent ---------------------------------------------------------- */

typedef struct fake_agent {
    pthread_mutex_t lock;
    long status;     /* answered to every request */
    long status_v05; /* answered to /v0.5 instead, when nonzero */
    int fail_rc;     /* no reply: return this error */
    int hang;        /* wait until the writer aborts */
    int hanging;     /* sends inside the hang right now */
    size_t max_body; /* bigger bodies get 413 (0: no limit) */
    int requests;
    int refused_413;       /* requests answered 413 */
    size_t bytes_received; /* bodies of every request, answered or not */
    size_t largest_body;
    char last_path[32];
    uint64_t traces, spans; /* acknowledged */
    uint64_t *span_ids;     /* acknowledged, in order */
    size_t span_id_count, span_id_capacity;
} fake_agent;

typedef struct fake_transport {
    ct_transport base;
    fake_agent *agent;
    ct_transport_abort_fn should_abort;
    void *abort_arg;
} fake_transport;

static void record_span_id(fake_agent *a, uint64_t id)
{
    if (a->span_id_count == a->span_id_capacity) {
        a->span_id_capacity = a->span_id_capacity ? 2 * a->span_id_capacity : 1024;
        a->span_ids = realloc(a->span_ids, a->span_id_capacity * sizeof *a->span_ids);
    }
    a->span_ids[a->span_id_count++] = id;
}

/* Counts traces and spans of a payload and records span ids. */
static void take_payload(fake_agent *a, int v05, const uint8_t *body, size_t len)
{
    msgpack_unpacked u;
    size_t offset = 0;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, (const char *)body, len, &offset) != MSGPACK_UNPACK_SUCCESS)
        abort();
    msgpack_object traces = v05 ? u.data.via.array.ptr[1] : u.data;
    for (uint32_t t = 0; t < traces.via.array.size; t++) {
        msgpack_object trace = traces.via.array.ptr[t];
        a->traces++;
        for (uint32_t s = 0; s < trace.via.array.size; s++) {
            msgpack_object span = trace.via.array.ptr[s];
            a->spans++;
            if (v05) {
                record_span_id(a, span.via.array.ptr[4].via.u64);
            } else {
                for (uint32_t k = 0; k < span.via.map.size; k++)
                    if (span.via.map.ptr[k].key.via.str.size == 7 &&
                        !memcmp(span.via.map.ptr[k].key.via.str.ptr, "span_id", 7))
                        record_span_id(a, span.via.map.ptr[k].val.via.u64);
            }
        }
    }
    msgpack_unpacked_destroy(&u);
}

static const char rates_json[] = "{\"rate_by_service\": {\"service:svc,env:prod\": 0.5, "
                                 "\"service:,env:\": 0.25}}";

static int fake_send(ct_transport *base, const char *path, const uint8_t *body, size_t len,
                     uint32_t trace_count, ct_http_reply *reply)
{
    fake_transport *t = (fake_transport *)base;
    fake_agent *a = t->agent;
    pthread_mutex_lock(&a->lock);
    a->requests++;
    a->bytes_received += len;
    snprintf(a->last_path, sizeof a->last_path, "%s", path);
    a->hanging++;
    while (a->hang) {
        pthread_mutex_unlock(&a->lock);
        if (t->should_abort(t->abort_arg)) {
            pthread_mutex_lock(&a->lock);
            a->hanging--;
            pthread_mutex_unlock(&a->lock);
            return CT_ECANCELED;
        }
        usleep(2000);
        pthread_mutex_lock(&a->lock);
    }
    a->hanging--;
    int v05 = strcmp(path, "/v0.5/traces") == 0;
    int rc = a->fail_rc;
    reply->status = 0;
    if (rc == CT_OK) {
        reply->status = v05 && a->status_v05 ? a->status_v05 : a->status;
        if (a->max_body && len > a->max_body) reply->status = 413;
        a->refused_413 += reply->status == 413;
    }
    if (rc == CT_OK && reply->status == 200) {
        if (len > a->largest_body) a->largest_body = len;
        take_payload(a, v05, body, len);
        ct__buffer_clear(&reply->body);
        ct__buffer_append(&reply->body, rates_json, sizeof rates_json - 1);
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

static void fake_destroy(ct_transport *t) { free(t); }

static const ct_transport_ops fake_ops = {fake_send, fake_destroy};

static ct_transport *fake_factory(void *arg, const ct_transport_options *o, int *rc)
{
    fake_transport *t = calloc(1, sizeof *t);
    t->base.ops = &fake_ops;
    t->agent = arg;
    t->should_abort = o->should_abort;
    t->abort_arg = o->abort_arg;
    *rc = CT_OK;
    return &t->base;
}

static void fake_init(fake_agent *a)
{
    memset(a, 0, sizeof *a);
    pthread_mutex_init(&a->lock, NULL);
    a->status = 200;
}

static void fake_release(fake_agent *a)
{
    free(a->span_ids);
    a->span_ids = NULL;
}

static void fake_set(fake_agent *a, long status, int fail_rc, int hang)
{
    pthread_mutex_lock(&a->lock);
    a->status = status;
    a->fail_rc = fail_rc;
    a->hang = hang;
    pthread_mutex_unlock(&a->lock);
}

/* Every acknowledged span id is distinct: nothing was sent twice. */
static int compare_ids(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int no_duplicates(const fake_agent *a)
{
    qsort(a->span_ids, a->span_id_count, sizeof *a->span_ids, compare_ids);
    for (size_t i = 1; i < a->span_id_count; i++)
        if (a->span_ids[i] == a->span_ids[i - 1]) return 0;
    return 1;
}

/* -- writer helpers -------------------------------------------------------------- */

static ct_config test_config(double interval_s, size_t buffer_bytes, size_t payload_bytes)
{
    ct_config c;
    memset(&c, 0, sizeof c);
    c.enabled = 1;
    c.agent_url = "http://127.0.0.1:1";
    c.agent_timeout_s = 1.0;
    c.api_version = 5;
    c.writer_interval_s = interval_s;
    c.writer_buffer_bytes = buffer_bytes;
    c.writer_payload_bytes = payload_bytes;
    c.tracer_version = "test";
    return c;
}

static ct_writer *new_writer(const ct_config *c, fake_agent *a)
{
    int rc;
    ct_writer *w = ct__agent_writer_new_with(c, fake_factory, a, &rc);
    if (!w || rc != CT_OK) abort();
    return w;
}

static uint64_t next_id = 1000;

/* Submits one chunk of `spans` spans; returns the submit's rc. */
static int submit_chunk(ct_writer *w, uint32_t spans, size_t *frame_size)
{
    ct_buffer records = CT_BUFFER_INIT;
    uint64_t trace = next_id;
    for (uint32_t i = 0; i < spans; i++) {
        record_builder b;
        uint64_t id = next_id++;
        rb_begin(&b, &records, 0, trace, id, i ? trace : 0, "op", "svc", "res", "");
        rb_meta(&b, "k", "value");
        rb_metric(&b, "m", 1.5);
        rb_end(&b);
    }
    if (frame_size) *frame_size = sizeof(ct_frame_header) + records.len;
    int rc = w->ops->submit(w, records.data, records.len, spans);
    ct__buffer_release(&records);
    return rc;
}

static ct_tracer_stats stats_of(ct_writer *w)
{
    ct_tracer_stats s;
    memset(&s, 0, sizeof s);
    w->ops->get_stats(w, &s);
    return s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* -- tests ---------------------------------------------------------------------- */

CT_TEST(flush_delivers_everything_and_counts_it)
{
    fake_agent a;
    fake_init(&a);
    ct_config c = test_config(10, 1 << 20, 1 << 20);
    ct_writer *w = new_writer(&c, &a);
    for (int i = 0; i < 10; i++) CT_ASSERT(submit_chunk(w, 3, NULL) == CT_OK);
    CT_ASSERT(w->ops->flush(w, 5000) == CT_OK);
    CT_ASSERT(a.traces == 10 && a.spans == 30);
    ct_tracer_stats s = stats_of(w);
    CT_ASSERT(s.traces_sent == 10 && s.spans_sent == 30);
    CT_ASSERT(s.payloads_sent >= 1 && s.payloads_failed == 0);
    CT_ASSERT(s.bytes_buffered == 0 && s.spans_buffered == 0);
    CT_ASSERT(strcmp(a.last_path, "/v0.5/traces") == 0);
    CT_ASSERT(w->ops->flush(w, 1000) == CT_OK); /* empty: at once */
    w->ops->destroy(w, 1000);
    CT_ASSERT(no_duplicates(&a));
    fake_release(&a);
}

CT_TEST(the_interval_delivers_without_flush)
{
    fake_agent a;
    fake_init(&a);
    ct_config c = test_config(0.05, 1 << 20, 1 << 20);
    ct_writer *w = new_writer(&c, &a);
    CT_ASSERT(submit_chunk(w, 2, NULL) == CT_OK);
    for (int i = 0; i < 100 && stats_of(w).traces_sent < 1; i++) usleep(10000);
    CT_ASSERT(stats_of(w).traces_sent == 1 && a.spans == 2);
    /* idle, then new data: delivered again by the interval */
    usleep(100000);
    CT_ASSERT(submit_chunk(w, 1, NULL) == CT_OK);
    for (int i = 0; i < 100 && stats_of(w).traces_sent < 2; i++) usleep(10000);
    CT_ASSERT(stats_of(w).traces_sent == 2);
    w->ops->destroy(w, 1000);
    fake_release(&a);
}

CT_TEST(failed_payloads_are_kept_and_retried_without_loss)
{
    fake_agent a;
    fake_init(&a);
    ct_config c = test_config(0.05, 1 << 20, 1 << 20);
    ct_writer *w = new_writer(&c, &a);
    int failures[] = {CT_ECONNECT, CT_ETIMEDOUT, 0, 0};
    long statuses[] = {200, 200, 500, 503};
    for (int round = 0; round < 4; round++) {
        fake_set(&a, statuses[round], failures[round], 0);
        for (int i = 0; i < 5; i++) CT_ASSERT(submit_chunk(w, 2, NULL) == CT_OK);
        CT_ASSERT(w->ops->flush(w, 2000) != CT_OK);
        CT_ASSERT(stats_of(w).spans_buffered == 10 * (uint64_t)(round + 1));
    }
    CT_ASSERT(stats_of(w).payloads_failed >= 4);
    CT_ASSERT(a.traces == 0);
    fake_set(&a, 200, 0, 0);
    CT_ASSERT(w->ops->flush(w, 2000) == CT_OK);
    CT_ASSERT(a.traces == 20 && a.spans == 40);
    CT_ASSERT(no_duplicates(&a));
    ct_tracer_stats s = stats_of(w);
    CT_ASSERT(s.traces_dropped == 0 && s.spans_buffered == 0);
    w->ops->destroy(w, 1000);
    fake_release(&a);
}

CT_TEST(a_404_on_v05_switches_to_v04_and_loses_nothing)
{
    fake_agent a;
    fake_init(&a);
    a.status_v05 = 404;
    ct_config c = test_config(10, 1 << 20, 1 << 20);
    ct_writer *w = new_writer(&c, &a);
    for (int i = 0; i < 4; i++) CT_ASSERT(submit_chunk(w, 3, NULL) == CT_OK);
    CT_ASSERT(w->ops->flush(w, 2000) == CT_OK);
    CT_ASSERT(strcmp(a.last_path, "/v0.4/traces") == 0);
    CT_ASSERT(a.traces == 4 && a.spans == 12);
    CT_ASSERT(ct__agent_writer_api_version(w) == 4);
    CT_ASSERT(stats_of(w).traces_dropped == 0);
    w->ops->destroy(w, 1000);
    fake_release(&a);
}

/* Proven by counting requests: once a 413 taught the writer the agent's
 * limit, later flushes send only payloads that fit. Forgetting the size
 * after each success made every flush halve its way down again. */
CT_TEST(a_413_splits_the_payload_and_teaches_the_size_the_agent_takes)
{
    fake_agent a;
    fake_init(&a);
    a.max_body = 1500;
    ct_config c = test_config(10, 1 << 20, 1 << 20);
    ct_writer *w = new_writer(&c, &a);
    for (int i = 0; i < 40; i++) CT_ASSERT(submit_chunk(w, 2, NULL) == CT_OK);
    CT_ASSERT(w->ops->flush(w, 2000) == CT_OK);
    CT_ASSERT(a.traces == 40 && a.spans == 80 && a.largest_body <= 1500);
    int learning = a.refused_413;
    CT_ASSERT(learning >= 1 && learning <= 8); /* log2(40 chunks) halvings */
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 40; i++) CT_ASSERT(submit_chunk(w, 2, NULL) == CT_OK);
        CT_ASSERT(w->ops->flush(w, 2000) == CT_OK);
    }
    CT_ASSERT(a.refused_413 == learning);
    CT_ASSERT(a.traces == 240 && no_duplicates(&a));
    CT_ASSERT(stats_of(w).traces_dropped == 0);
    w->ops->destroy(w, 1000);
    fake_release(&a);
}

/* An agent that refuses every payload as too large: each chunk is dropped
 * (counted) after one request of its own, and the writer backs off between
 * them instead of halving through the whole backlog at once. It made 700
 * requests in the first round here (3,665 in 13 s against a real agent). */
CT_TEST(an_agent_refusing_everything_with_413_is_not_hammered)
{
    fake_agent a;
    fake_init(&a);
    a.status = 413;
    ct_config c = test_config(0.05, 1 << 20, 1 << 20);
    ct_writer *w = new_writer(&c, &a);
    size_t frame = 0;
    for (int i = 0; i < 100; i++) CT_ASSERT(submit_chunk(w, 2, &frame) == CT_OK);
    usleep(1000000); /* rounds every 50 ms, backoff 50 ms doubling */
    pthread_mutex_lock(&a.lock);
    int requests = a.requests;
    size_t bytes = a.bytes_received;
    pthread_mutex_unlock(&a.lock);
    ct_tracer_stats s = stats_of(w);
    w->ops->destroy(w, 100);
    /* first round: 7 halvings to one chunk; then one chunk per backoff step
     * (50, 100, 200, 400 ms...) */
    CT_ASSERT(requests >= 8 && requests <= 20);
    CT_ASSERT(bytes < 4 * 100 * frame); /* each halving sends half as much */
    CT_ASSERT(s.traces_dropped >= 1 && s.traces_dropped < 20);
    CT_ASSERT(s.traces_dropped + s.spans_buffered / 2 == 100);
    CT_ASSERT(a.traces == 0);
    fake_release(&a);
}

CT_TEST(payload_cap_splits_and_oversized_chunks_are_dropped)
{
    fake_agent a;
    fake_init(&a);
    ct_config c = test_config(10, 1 << 20, 4096);
    ct_writer *w = new_writer(&c, &a);
    for (int i = 0; i < 50; i++) CT_ASSERT(submit_chunk(w, 2, NULL) == CT_OK);
    CT_ASSERT(submit_chunk(w, 200, NULL) == CT_OK); /* never fits 4 KiB */
    CT_ASSERT(w->ops->flush(w, 2000) == CT_OK);
    CT_ASSERT(a.traces == 50 && a.largest_body <= 4096 && a.requests > 3);
    ct_tracer_stats s = stats_of(w);
    CT_ASSERT(s.traces_dropped == 1 && s.spans_dropped == 200);
    w->ops->destroy(w, 1000);
    fake_release(&a);
}

CT_TEST(a_400_drops_the_payload_and_counts_it)
{
    fake_agent a;
    fake_init(&a);
    a.status = 400;
    ct_config c = test_config(10, 1 << 20, 1 << 20);
    ct_writer *w = new_writer(&c, &a);
    for (int i = 0; i < 3; i++) CT_ASSERT(submit_chunk(w, 2, NULL) == CT_OK);
    w->ops->flush(w, 2000);
    ct_tracer_stats s = stats_of(w);
    CT_ASSERT(s.traces_dropped == 3 && s.spans_dropped == 6);
    CT_ASSERT(s.spans_buffered == 0);
    w->ops->destroy(w, 1000);
    fake_release(&a);
}

CT_TEST(buffer_cap_drops_are_counted_exactly)
{
    fake_agent a;
    fake_init(&a);
    a.fail_rc = CT_ECONNECT;
    size_t frame;
    ct_buffer probe = CT_BUFFER_INIT;
    record_builder b;
    rb_begin(&b, &probe, 0, 1, 1, 0, "op", "svc", "res", "");
    rb_meta(&b, "k", "value");
    rb_metric(&b, "m", 1.5);
    rb_end(&b);
    frame = sizeof(ct_frame_header) + 3 * probe.len;
    ct__buffer_release(&probe);
    ct_config c = test_config(0.02, 10 * frame, 1 << 20);
    ct_writer *w = new_writer(&c, &a);
    int kept = 0, dropped = 0;
    for (int i = 0; i < 25; i++) {
        int rc = submit_chunk(w, 3, NULL);
        rc == CT_OK ? kept++ : dropped++;
        usleep(3000); /* let rounds run and fail in between */
    }
    CT_ASSERT(kept == 10 && dropped == 15);
    ct_tracer_stats s = stats_of(w);
    CT_ASSERT(s.traces_dropped == 15 && s.spans_dropped == 45);
    CT_ASSERT(s.spans_buffered == 30);
    fake_set(&a, 200, 0, 0);
    CT_ASSERT(w->ops->flush(w, 3000) == CT_OK);
    CT_ASSERT(a.traces == 10 && a.spans == 30 && no_duplicates(&a));
    CT_ASSERT(submit_chunk(w, 3, NULL) == CT_OK); /* room again */
    w->ops->destroy(w, 1000);
    CT_ASSERT(a.traces == 11);
    fake_release(&a);
}

CT_TEST(rate_by_service_is_read_from_replies)
{
    fake_agent a;
    fake_init(&a);
    ct_config c = test_config(10, 1 << 20, 1 << 20);
    ct_writer *w = new_writer(&c, &a);
    double rate = -1;
    CT_ASSERT(ct__agent_writer_rate(w, "svc", "prod", &rate) == CT_ENODATA);
    CT_ASSERT(submit_chunk(w, 1, NULL) == CT_OK);
    CT_ASSERT(w->ops->flush(w, 2000) == CT_OK);
    CT_ASSERT(ct__agent_writer_rate(w, "svc", "prod", &rate) == CT_OK && rate == 0.5);
    /* only the exact key, as ddtrace 4.x: near misses and other services
     * have no rate (the default key "service:,env:" is the exact key of
     * no service and no env) */
    CT_ASSERT(ct__agent_writer_rate(w, "other", NULL, &rate) == CT_ENODATA);
    CT_ASSERT(ct__agent_writer_rate(w, "sv", "prod", &rate) == CT_ENODATA);
    CT_ASSERT(ct__agent_writer_rate(w, "svc", "pro", &rate) == CT_ENODATA);
    CT_ASSERT(ct__agent_writer_rate(w, "svc", "prod2", &rate) == CT_ENODATA);
    CT_ASSERT(ct__agent_writer_rate(w, "svc,env:prod", "", &rate) == CT_ENODATA);
    CT_ASSERT(ct__agent_writer_rate(w, NULL, NULL, &rate) == CT_OK && rate == 0.25);
    w->ops->destroy(w, 1000);
    fake_release(&a);
}

static int hanging_sends(fake_agent *a)
{
    pthread_mutex_lock(&a->lock);
    int n = a->hanging;
    pthread_mutex_unlock(&a->lock);
    return n;
}

/* Proven by structure, not by a stopwatch: every submit returns while the
 * writer thread is still stuck inside the agent's send. A submit that
 * waited for the send would never return; the alarm turns that into a
 * failure instead of a hung suite. */
CT_TEST(submit_never_waits_for_a_hanging_agent)
{
    fake_agent a;
    fake_init(&a);
    a.hang = 1;
    ct_config c = test_config(0.01, 1 << 20, 1 << 20);
    ct_writer *w = new_writer(&c, &a);
    CT_ASSERT(submit_chunk(w, 1, NULL) == CT_OK);
    for (int i = 0; i < 5000 && hanging_sends(&a) == 0; i++) usleep(1000);
    int stuck = hanging_sends(&a) == 1;
    alarm(30);
    int ok = 0;
    for (int i = 0; stuck && i < 2000; i++) ok += submit_chunk(w, 1, NULL) == CT_OK;
    alarm(0);
    int still_stuck = hanging_sends(&a) == 1;
    double t0 = now_s();
    w->ops->destroy(w, 100); /* the hang is aborted after the deadline */
    double took = now_s() - t0;
    fake_release(&a);
    CT_ASSERT(stuck);
    CT_ASSERT(ok == 2000);
    CT_ASSERT(still_stuck);
    CT_ASSERT(hanging_sends(&a) == 0);
    CT_ASSERT(took < 10); /* aborted, not waited out: the hang is endless */
}

static void *hammer(void *arg)
{
    ct_writer *w = arg;
    for (int i = 0; i < 20000; i++) submit_chunk(w, 1, NULL);
    return NULL;
}

/* In the child: a writer inherited mid-flight must work on its own. */
static int child_after_fork(ct_writer *w, fake_agent *a)
{
    alarm(10); /* a deadlock kills the child: the parent sees a signal */
    pthread_mutex_init(&a->lock, NULL);
    w->ops->after_fork_child(w);
    fake_set(a, 200, 0, 0);
    a->traces = 0;
    if (stats_of(w).spans_buffered != 0) return 2;
    for (int i = 0; i < 5; i++)
        if (submit_chunk(w, 2, NULL) != CT_OK) return 3;
    int rc = w->ops->flush(w, 3000);
    if (rc != CT_OK) {
        fprintf(stderr, "  child flush: %d pid %d\n", rc, (int)getpid());
        return 4;
    }
    if (a->traces != 5) return 5;
    w->ops->destroy(w, 1000);
    return 0;
}

/* ASan's allocator takes locks of its own that a fork with running threads
 * can leave held in the child (a known sanitizer limitation; glibc's malloc
 * is fork-safe), and ThreadSanitizer refuses to start threads in the child
 * of a multi-threaded fork ("not supported"), so this test only runs in
 * builds without either. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CT_ASAN 1
#endif
#endif

CT_TEST(fork_in_a_loop_with_a_busy_writer_never_deadlocks)
{
#ifdef CT_ASAN
    return;
#endif
    fake_agent a;
    fake_init(&a);
    ct_config c = test_config(0.001, 1 << 20, 1 << 20);
    ct_writer *w = new_writer(&c, &a);
    pthread_t thread;
    pthread_create(&thread, NULL, hammer, w);
    for (int i = 0; i < 30; i++) {
        fake_set(&a, 200, 0, i % 3 == 0); /* sometimes stuck in send */
        usleep(2000);
        pid_t pid = fork();
        if (pid == 0) _exit(child_after_fork(w, &a));
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fprintf(stderr, "  child %d: status %d\n", i, status);
        CT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    fake_set(&a, 200, 0, 0);
    pthread_join(thread, NULL);
    CT_ASSERT(w->ops->flush(w, 5000) == CT_OK);
    ct_tracer_stats s = stats_of(w);
    CT_ASSERT(s.traces_sent + s.traces_dropped == 20000);
    CT_ASSERT(no_duplicates(&a));
    w->ops->destroy(w, 1000);
    fake_release(&a);
}

CT_TEST(curl_transport_reports_a_refused_connection)
{
    ct_transport_options o = {0};
    o.url = "http://127.0.0.1:1";
    o.timeout_s = 1;
    int rc;
    ct_transport *t = ct__curl_transport_new(&o, &rc);
    CT_ASSERT(t && rc == CT_OK);
    ct_http_reply reply = {0, CT_BUFFER_INIT};
    CT_ASSERT(t->ops->send(t, "/v0.5/traces", (const uint8_t *)"\x92\x90\x90", 3, 0, &reply) ==
              CT_ECONNECT);
    t->ops->destroy(t);
    ct__buffer_release(&reply.body);
    o.url = "ftp://nope";
    CT_ASSERT(ct__curl_transport_new(&o, &rc) == NULL && rc == CT_EINVAL);
}

CT_TEST_MAIN()
