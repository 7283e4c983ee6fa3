/*
 * agent_writer — a background thread that delivers chunks to the agent.
 *
 * Shaped like Redis's bio.c. Three buffers of chunk frames rotate:
 * `pending` is appended to by application threads under `lock` (one memcpy
 * per chunk, nothing else: no encoding, no I/O); at each round the writer
 * thread swaps it, under the lock and in O(1), with `incoming`, an empty
 * buffer that keeps its capacity; outside the lock it moves incoming to the
 * end of `backlog`, the FIFO of chunks not yet delivered, which only the
 * writer thread touches. It then encodes batches from the head of the
 * backlog (at most writer_payload_bytes each) and sends them with the
 * transport; a chunk leaves the backlog only when the agent acknowledged
 * it, or rejected it for good (4xx other than the ones below), or it can
 * never fit a payload. Failures (no connection, timeout, 408, 429, 5xx)
 * keep the backlog and retry it with an exponential backoff, so an agent
 * restart loses nothing. A 404/415 on v0.5 switches to v0.4 and re-encodes
 * the same frames.
 *
 * A 413 means the agent takes smaller payloads than we send. The writer
 * remembers it: `agent_limit` drops below the smallest payload refused and
 * stays there for the writer's life (an agent's body limit is
 * configuration, not weather); the refused batch is retried in halves. So
 * 413s stop after the first few and every later payload is as large as
 * the agent takes. A batch over the limit is split locally, before any
 * request. A single chunk the agent still refuses is dropped, counted, and
 * the writer backs off as after a failure, so an agent that refuses
 * everything sees one request per backoff step, not a storm of them.
 *
 * Memory is bounded by writer_buffer_bytes over pending + backlog together:
 * a submit that would pass it drops that (newest) chunk and counts it. The
 * application never waits for room and never waits on the network, and
 * dropped data is reported on stderr at most once per interval.
 *
 * The thread wakes every writer_interval_s while there is data, sleeps
 * without timeout when there is none (the first submit after that wakes it),
 * and is woken early when pending passes half a payload, or by flush.
 * flush() is a generation counter: it asks for a round and waits for the
 * round that started after its request; a round attempts everything then in
 * the backlog once, ignoring backoff.
 *
 * Fork: the child never locks what the parent's threads may have held. It
 * tests `lock` with trylock: free means no thread was inside a critical
 * section, so the inherited buffers are consistent and are freed; held
 * means they may not be, and they are abandoned (leaked) instead. Either
 * way every mutex and condition is re-initialized and the thread restarts
 * lazily. The transport is freed only when the writer thread was idle;
 * otherwise its easy handle may be mid-transfer and is abandoned too.
 */
#include "agent_writer.h"
#include "alloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "encoder.h"

#define BACKOFF_MAX_S 10.0
#define FAILURE_LOG_INTERVAL_S 60.0

typedef struct rate_entry {
    char *key; /* "service:<s>,env:<e>" */
    double rate;
} rate_entry;

typedef struct rate_table {
    rate_entry *entries;
    size_t count;
} rate_table;

typedef struct agent_writer {
    ct_writer base;

    /* Settings: immutable after creation. */
    char *url;
    ct_transport_options transport_options; /* strings owned */
    ct_transport_factory factory;
    void *factory_arg;
    double interval_s;
    size_t buffer_cap;
    size_t payload_cap;
    size_t wake_threshold;
    int debug;
    int enabled;

    /* Shared with application threads: under lock. */
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* the writer thread waits on it */
    pthread_cond_t round_done; /* flushers wait on it */
    ct_buffer pending;
    uint32_t pending_chunks;
    size_t backlog_bytes; /* the writer's backlog, as published */
    uint64_t backlog_spans;
    uint64_t pending_spans;
    int thread_started;
    int thread_idle_wait; /* sleeping with no timeout */
    int thread_busy;      /* in a round, outside the lock */
    int wake_requested;
    int stopping;
    uint64_t flush_requested; /* generation asked by flush() */
    uint64_t flush_done;      /* last generation a round completed */
    int last_round_rc;
    ct_tracer_stats stats; /* sent, failed, dropped */
    pthread_t thread;

    /* Written by the writer thread, read by ct__agent_writer_rate. */
    pthread_mutex_t rates_lock;
    rate_table rates;
    int api_version;     /* atomic: read by any thread */
    int abort_transfers; /* atomic: set when destroy's deadline
                                     passed */

    /* Writer thread only. */
    ct_buffer incoming;
    ct_buffer backlog;
    size_t backlog_head;   /* offset of the first undelivered frame */
    uint32_t batch_limit;  /* chunks per payload while splitting a
                                     batch over agent_limit; 0 none */
    size_t agent_limit;    /* largest payload to send: payload_cap,
                                     then below the smallest one refused
                                     with 413 */
    int refused_too_large; /* the last attempt was a single chunk
                                     refused with 413: back off */
    ct_buffer payload;
    ct_http_reply reply;
    ct_transport *transport;
    unsigned failures; /* consecutive failed attempts */
    double retry_at;   /* monotonic seconds */
    double last_drop_log;
    uint64_t logged_traces_dropped, logged_spans_dropped;
    double last_failure_log;
} agent_writer;

/* -- time ------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timespec timespec_at(double seconds)
{
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    return ts;
}

/* -- locks ------------------------------------------------------------------- */

static int init_locks(agent_writer *w)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) return CT_ENOMEM;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int ok =
        pthread_mutex_init(&w->lock, NULL) == 0 && pthread_mutex_init(&w->rates_lock, NULL) == 0 &&
        pthread_cond_init(&w->wake, &attr) == 0 && pthread_cond_init(&w->round_done, &attr) == 0;
    pthread_condattr_destroy(&attr);
    return ok ? CT_OK : CT_ENOMEM;
}

static void destroy_locks(agent_writer *w)
{
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->rates_lock);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->round_done);
}

/* -- rates ------------------------------------------------------------------ */

static void rate_table_free(rate_table *table)
{
    for (size_t i = 0; i < table->count; i++) ct__free(table->entries[i].key);
    ct__free(table->entries);
    table->entries = NULL;
    table->count = 0;
}

/* Parses {"rate_by_service": {...}} into table. CT_EINVAL when the reply
 * has no such object (the old table is then kept). */
static int rate_table_parse(rate_table *table, const uint8_t *json, size_t len)
{
    cJSON *root = cJSON_ParseWithLength((const char *)json, len);
    cJSON *rates = cJSON_GetObjectItemCaseSensitive(root, "rate_by_service");
    int rc = cJSON_IsObject(rates) ? CT_OK : CT_EINVAL;
    size_t n = rc == CT_OK ? (size_t)cJSON_GetArraySize(rates) : 0;
    table->entries = n ? ct__calloc(n, sizeof *table->entries) : NULL;
    table->count = 0;
    if (n && !table->entries) rc = CT_ENOMEM;
    for (cJSON *item = rates ? rates->child : NULL; rc == CT_OK && item; item = item->next) {
        if (!cJSON_IsNumber(item) || !item->string) continue;
        rate_entry *e = &table->entries[table->count];
        if (!(e->key = ct__strdup(item->string))) {
            rc = CT_ENOMEM;
            break;
        }
        e->rate = item->valuedouble;
        table->count++;
    }
    cJSON_Delete(root);
    if (rc != CT_OK) rate_table_free(table);
    return rc;
}

static void update_rates(agent_writer *w, const ct_buffer *body)
{
    rate_table fresh, old;
    if (!body->len || rate_table_parse(&fresh, body->data, body->len) != CT_OK) return;
    pthread_mutex_lock(&w->rates_lock);
    old = w->rates;
    w->rates = fresh;
    pthread_mutex_unlock(&w->rates_lock);
    rate_table_free(&old);
}

/* Does key read "service:<service>,env:<env>"? Compared in place: this
 * runs once per trace on the application thread, where formatting the key
 * with snprintf cost more than the rest of the sampling decision. */
static int rate_key_matches(const char *key, const char *service, const char *env)
{
    static const char service_prefix[] = "service:", env_prefix[] = ",env:";
    size_t service_len = strlen(service);
    if (strncmp(key, service_prefix, sizeof service_prefix - 1) != 0) return 0;
    key += sizeof service_prefix - 1;
    if (strncmp(key, service, service_len) != 0) return 0;
    key += service_len;
    if (strncmp(key, env_prefix, sizeof env_prefix - 1) != 0) return 0;
    key += sizeof env_prefix - 1;
    return strcmp(key, env) == 0;
}

static int find_rate(const rate_table *table, const char *service, const char *env, double *rate)
{
    for (size_t i = 0; i < table->count; i++) {
        if (rate_key_matches(table->entries[i].key, service, env)) {
            *rate = table->entries[i].rate;
            return CT_OK;
        }
    }
    return CT_ENODATA;
}

/* -- submit (application threads) ---------------------------------------------- */

static void *writer_main(void *arg);

/* Starts the writer thread with every signal blocked, so signals keep going
 * to the application's threads. Called under lock. */
static void start_thread(agent_writer *w)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&w->thread, NULL, writer_main, w) == 0) w->thread_started = 1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void count_drop(agent_writer *w, uint64_t traces, uint64_t spans)
{
    w->stats.traces_dropped += traces;
    w->stats.spans_dropped += spans;
}

static int agent_submit(ct_writer *writer, const uint8_t *records, size_t len, uint32_t span_count)
{
    agent_writer *w = (agent_writer *)writer;
    int rc;
    if (!w->enabled) return CT_OK;
    pthread_mutex_lock(&w->lock);
    size_t held = w->pending.len + w->backlog_bytes;
    size_t need = sizeof(ct_frame_header) + len;
    if (w->stopping) rc = CT_ESTATE;
    else if (held + need > w->buffer_cap || held + need < held) rc = CT_ENOSPC;
    else rc = ct__frame_append(&w->pending, records, len, span_count);
    if (rc != CT_OK) {
        count_drop(w, 1, span_count);
        pthread_mutex_unlock(&w->lock);
        return rc;
    }
    w->pending_chunks++;
    w->pending_spans += span_count;
    if (!w->thread_started) {
        start_thread(w); /* on failure: retried at the next submit */
    } else if (w->thread_idle_wait) {
        w->thread_idle_wait = 0;
        pthread_cond_signal(&w->wake);
    } else if (w->pending.len >= w->wake_threshold && !w->wake_requested) {
        w->wake_requested = 1;
        pthread_cond_signal(&w->wake);
    }
    pthread_mutex_unlock(&w->lock);
    return CT_OK;
}

/* -- the writer thread: one batch ------------------------------------------------ */

/* Outcome of one attempt at the batch at the head of the backlog. */
typedef enum attempt_result {
    ATTEMPT_DELIVERED, /* acknowledged: drop the batch from the backlog */
    ATTEMPT_REJECTED,  /* refused for good: drop and count it */
    ATTEMPT_AGAIN,     /* retry at once (fallback to v0.4, smaller batch) */
    ATTEMPT_FAILED,    /* keep it and back off */
} attempt_result;

typedef struct batch {
    size_t bytes; /* frames bytes from the backlog head */
    uint32_t chunks;
    uint64_t spans;
    int sent; /* the attempt reached the transport */
} batch;

/* Picks frames from the head of the backlog: as many as fit the payload
 * cap (estimated from record bytes; encoding checks), at least one. */
static batch next_batch(const agent_writer *w)
{
    batch b = {0, 0, 0, 0};
    const uint8_t *p = w->backlog.data + w->backlog_head;
    const uint8_t *end = w->backlog.data + w->backlog.len;
    while (p < end) {
        ct_frame_header h;
        memcpy(&h, p, sizeof h);
        size_t size = sizeof h + h.records_len;
        if (b.chunks &&
            (b.bytes + size > w->agent_limit || (w->batch_limit && b.chunks >= w->batch_limit)))
            break;
        b.bytes += size;
        b.chunks++;
        b.spans += h.span_count;
        p += size;
    }
    return b;
}

static void consume_batch(agent_writer *w, const batch *b)
{
    w->backlog_head += b->bytes;
    if (w->backlog_head == w->backlog.len) {
        w->backlog_head = 0;
        ct__buffer_clear(&w->backlog);
    }
}

static void log_payload(agent_writer *w, const char *path, const batch *b, size_t bytes, int rc,
                        long status, double seconds)
{
    if (rc == CT_OK)
        fprintf(stderr,
                "ctrace: sent %u traces (%llu spans, %zu bytes) to %s%s: "
                "HTTP %ld in %.1f ms\n",
                b->chunks, (unsigned long long)b->spans, bytes, w->url, path, status,
                seconds * 1e3);
    else
        fprintf(stderr,
                "ctrace: sending %u traces (%llu spans, %zu bytes) to %s%s "
                "failed: %s\n",
                b->chunks, (unsigned long long)b->spans, bytes, w->url, path,
                rc == CT_ECONNECT    ? "connection failed"
                : rc == CT_ETIMEDOUT ? "timeout"
                : rc == CT_ECANCELED ? "aborted at shutdown"
                : rc == CT_EIO       ? "transfer error"
                                     : ct_strerror(rc));
}

/* The agent answered, but not 2xx: say what it answered. */
static void log_refusal(agent_writer *w, const char *path, const batch *b, size_t bytes,
                        long status)
{
    fprintf(stderr,
            "ctrace: sending %u traces (%llu spans, %zu bytes) to %s%s "
            "failed: the agent answered HTTP %ld\n",
            b->chunks, (unsigned long long)b->spans, bytes, w->url, path, status);
}

/* What an HTTP reply (or its absence) means for the batch. */
static attempt_result classify(agent_writer *w, int rc, long status, const batch *b)
{
    int version = __atomic_load_n(&w->api_version, __ATOMIC_RELAXED);
    if (rc != CT_OK) return ATTEMPT_FAILED;
    if (status >= 200 && status < 300) return ATTEMPT_DELIVERED;
    if ((status == 404 || status == 415) && version == CT_API_V05) {
        __atomic_store_n(&w->api_version, CT_API_V04, __ATOMIC_RELAXED);
        fprintf(stderr,
                "ctrace: the agent at %s does not accept v0.5 "
                "(HTTP %ld): switching to v0.4\n",
                w->url, status);
        return ATTEMPT_AGAIN;
    }
    if (status == 413) {
        if (w->payload.len <= w->agent_limit)
            w->agent_limit = w->payload.len > 1 ? w->payload.len - 1 : 1;
        if (b->chunks > 1) {
            w->batch_limit = b->chunks / 2;
            return ATTEMPT_AGAIN;
        }
        w->refused_too_large = 1;
        return ATTEMPT_REJECTED;
    }
    if (status == 408 || status == 429 || status >= 500) return ATTEMPT_FAILED;
    return ATTEMPT_REJECTED;
}

/* Encodes and sends the batch at the head of the backlog. */
static attempt_result attempt_batch(agent_writer *w, batch *b)
{
    int version = __atomic_load_n(&w->api_version, __ATOMIC_RELAXED);
    const char *path = version == CT_API_V04 ? "/v0.4/traces" : "/v0.5/traces";
    ct__buffer_clear(&w->payload);
    int rc =
        ct__encode_payload((ct_api_version)version, w->base.context,
                           w->backlog.data + w->backlog_head, b->bytes, b->chunks, &w->payload);
    if (rc == CT_EINVAL) return ATTEMPT_REJECTED; /* a bug: never retry malformed frames */
    if (rc != CT_OK) return ATTEMPT_FAILED;       /* out of memory: maybe not next time */
    if (w->payload.len > w->payload_cap && b->chunks == 1) return ATTEMPT_REJECTED;
    /* A single chunk over agent_limit is still tried once: only the
     * agent knows whether it fits. */
    if (w->payload.len > w->agent_limit && b->chunks > 1) {
        w->batch_limit = b->chunks / 2;
        return ATTEMPT_AGAIN;
    }
    if (!w->transport) {
        w->transport = w->factory(w->factory_arg, &w->transport_options, &rc);
        if (!w->transport) return ATTEMPT_FAILED;
    }
    double start = now_s();
    b->sent = 1;
    rc = w->transport->ops->send(w->transport, path, w->payload.data, w->payload.len, b->chunks,
                                 &w->reply);
    if (w->debug) log_payload(w, path, b, w->payload.len, rc, w->reply.status, now_s() - start);
    attempt_result result = classify(w, rc, w->reply.status, b);
    if (result == ATTEMPT_DELIVERED) update_rates(w, &w->reply.body);
    if ((result == ATTEMPT_FAILED || result == ATTEMPT_REJECTED) && !w->debug &&
        now_s() - w->last_failure_log >= FAILURE_LOG_INTERVAL_S) {
        w->last_failure_log = now_s();
        if (rc == CT_OK) log_refusal(w, path, b, w->payload.len, w->reply.status);
        else log_payload(w, path, b, w->payload.len, rc, 0, 0);
    }
    return result;
}

/* Records the result of an attempt in the shared stats. */
static void account(agent_writer *w, attempt_result result, const batch *b)
{
    pthread_mutex_lock(&w->lock);
    switch (result) {
    case ATTEMPT_DELIVERED:
        w->stats.traces_sent += b->chunks;
        w->stats.spans_sent += b->spans;
        w->stats.payloads_sent++;
        break;
    case ATTEMPT_REJECTED:
        count_drop(w, b->chunks, b->spans);
        w->stats.payloads_failed += (uint64_t)b->sent;
        break;
    case ATTEMPT_AGAIN:
    case ATTEMPT_FAILED: w->stats.payloads_failed += (uint64_t)b->sent; break;
    }
    if (result == ATTEMPT_DELIVERED || result == ATTEMPT_REJECTED) {
        w->backlog_bytes -= b->bytes;
        w->backlog_spans -= b->spans;
    }
    pthread_mutex_unlock(&w->lock);
}

/* Schedules the next attempt after one more consecutive failure:
 * interval x 2^failures, at most BACKOFF_MAX_S. */
static void back_off(agent_writer *w)
{
    double backoff = w->interval_s * (double)(1u << (w->failures < 6 ? w->failures : 6));
    w->failures++;
    w->retry_at = now_s() + (backoff < BACKOFF_MAX_S ? backoff : BACKOFF_MAX_S);
}

/* Tries every batch of the backlog once, in order; stops at the first
 * failure (the rest would most likely fail alike). CT_OK when the backlog
 * ended empty. */
static int deliver_backlog(agent_writer *w)
{
    while (w->backlog_head < w->backlog.len) {
        batch b = next_batch(w);
        attempt_result result = attempt_batch(w, &b);
        account(w, result, &b);
        if (result == ATTEMPT_AGAIN) continue;
        if (result == ATTEMPT_FAILED) {
            back_off(w);
            return CT_ECONNECT;
        }
        consume_batch(w, &b);
        w->batch_limit = 0;
        if (w->refused_too_large) {
            w->refused_too_large = 0;
            back_off(w);
            return CT_ENOSPC;
        }
        w->failures = 0;
    }
    return CT_OK;
}

/* -- the writer thread: rounds ------------------------------------------------ */

/* Moves what the round took from pending to the end of the backlog. */
static void absorb_incoming(agent_writer *w)
{
    if (w->backlog.len == w->backlog_head) {
        ct_buffer spare = w->backlog;
        w->backlog = w->incoming;
        w->incoming = spare;
        w->backlog_head = 0;
    } else {
        if (w->backlog_head) {
            memmove(w->backlog.data, w->backlog.data + w->backlog_head,
                    w->backlog.len - w->backlog_head);
            w->backlog.len -= w->backlog_head;
            w->backlog_head = 0;
        }
        /* On failure the chunks are lost: count them (rare: ENOMEM). */
        if (ct__buffer_append(&w->backlog, w->incoming.data, w->incoming.len) != CT_OK) {
            ct_tracer_stats lost = {0};
            const uint8_t *p = w->incoming.data;
            const uint8_t *end = p + w->incoming.len;
            while (p < end) {
                ct_frame_header h;
                memcpy(&h, p, sizeof h);
                lost.traces_dropped++;
                lost.spans_dropped += h.span_count;
                p += sizeof h + h.records_len;
            }
            pthread_mutex_lock(&w->lock);
            count_drop(w, lost.traces_dropped, lost.spans_dropped);
            w->backlog_bytes -= w->incoming.len;
            w->backlog_spans -= lost.spans_dropped;
            pthread_mutex_unlock(&w->lock);
        }
    }
    ct__buffer_clear(&w->incoming);
}

/* Waits, under lock, until there is a reason for a round. Returns 0 when
 * the thread should exit. */
static int wait_for_round(agent_writer *w, double *next_round)
{
    for (;;) {
        if (w->stopping) return 0;
        if (w->flush_requested != w->flush_done || w->wake_requested) return 1;
        int has_data = w->pending.len || w->backlog_bytes;
        if (!has_data) {
            w->thread_idle_wait = 1;
            pthread_cond_wait(&w->wake, &w->lock);
            w->thread_idle_wait = 0;
            if (w->pending.len && *next_round < now_s()) *next_round = now_s() + w->interval_s;
            continue;
        }
        double deadline = *next_round;
        if (!w->pending.len && w->retry_at > deadline)
            deadline = w->retry_at; /* only the backlog: obey the backoff */
        if (now_s() >= deadline) return 1;
        struct timespec ts = timespec_at(deadline);
        pthread_cond_timedwait(&w->wake, &w->lock, &ts);
    }
}

/* Logs drops counted since the last report, at most once per interval;
 * called outside the lock with counters read under it (stderr may block). */
static void report_drops(agent_writer *w, uint64_t traces, uint64_t spans, double now)
{
    if (traces == w->logged_traces_dropped || now - w->last_drop_log < w->interval_s) return;
    fprintf(stderr,
            "ctrace: dropped %llu traces (%llu spans) since the last report "
            "(buffer of %zu bytes full, or rejected by the agent)\n",
            (unsigned long long)(traces - w->logged_traces_dropped),
            (unsigned long long)(spans - w->logged_spans_dropped), w->buffer_cap);
    w->logged_traces_dropped = traces;
    w->logged_spans_dropped = spans;
    w->last_drop_log = now;
}

/* One round, entered and left under lock. */
static void run_round(agent_writer *w)
{
    uint64_t generation = w->flush_requested;
    int forced = generation != w->flush_done;
    ct_buffer taken = w->pending;
    w->pending = w->incoming;
    w->incoming = taken;
    w->backlog_bytes += taken.len;
    w->backlog_spans += w->pending_spans;
    w->pending_chunks = 0;
    w->pending_spans = 0;
    w->wake_requested = 0;
    w->thread_busy = 1;
    uint64_t traces_dropped = w->stats.traces_dropped;
    uint64_t spans_dropped = w->stats.spans_dropped;
    pthread_mutex_unlock(&w->lock);

    report_drops(w, traces_dropped, spans_dropped, now_s());
    absorb_incoming(w);
    int rc = CT_OK;
    if (forced || now_s() >= w->retry_at) rc = deliver_backlog(w);
    else if (w->backlog_head < w->backlog.len) rc = CT_ECONNECT;
    if (w->backlog_head == w->backlog.len && w->payload.capacity > (4u << 20))
        ct__buffer_release(&w->payload);

    pthread_mutex_lock(&w->lock);
    w->thread_busy = 0;
    if (forced) {
        w->flush_done = generation;
        w->last_round_rc = rc;
        pthread_cond_broadcast(&w->round_done);
    }
}

static void *writer_main(void *arg)
{
    agent_writer *w = arg;
    double next_round = now_s() + w->interval_s;
    pthread_mutex_lock(&w->lock);
    while (wait_for_round(w, &next_round)) {
        run_round(w);
        next_round = now_s() + w->interval_s;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* -- flush, stats, fork, destroy ---------------------------------------------- */

static int agent_flush(ct_writer *writer, int timeout_ms)
{
    agent_writer *w = (agent_writer *)writer;
    double deadline = now_s() + (double)timeout_ms / 1e3;
    int rc;
    pthread_mutex_lock(&w->lock);
    if (!w->pending.len && !w->backlog_bytes && !w->thread_busy) {
        pthread_mutex_unlock(&w->lock);
        return CT_OK;
    }
    if (!w->thread_started) start_thread(w);
    if (!w->thread_started) {
        pthread_mutex_unlock(&w->lock);
        return CT_ENOMEM;
    }
    uint64_t generation = ++w->flush_requested;
    pthread_cond_signal(&w->wake);
    rc = CT_OK;
    while (w->flush_done < generation && rc == CT_OK) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&w->round_done, &w->lock);
        } else {
            struct timespec ts = timespec_at(deadline);
            if (pthread_cond_timedwait(&w->round_done, &w->lock, &ts) == ETIMEDOUT)
                rc = CT_ETIMEDOUT;
        }
    }
    if (w->flush_done >= generation) rc = w->last_round_rc;
    pthread_mutex_unlock(&w->lock);
    return rc;
}

static void agent_get_stats(ct_writer *writer, ct_tracer_stats *stats)
{
    agent_writer *w = (agent_writer *)writer;
    pthread_mutex_lock(&w->lock);
    stats->traces_dropped += w->stats.traces_dropped;
    stats->spans_dropped += w->stats.spans_dropped;
    stats->traces_sent += w->stats.traces_sent;
    stats->spans_sent += w->stats.spans_sent;
    stats->payloads_sent += w->stats.payloads_sent;
    stats->payloads_failed += w->stats.payloads_failed;
    stats->bytes_buffered += w->pending.len + w->backlog_bytes;
    stats->spans_buffered += w->pending_spans + w->backlog_spans;
    pthread_mutex_unlock(&w->lock);
}

/* Forgets a buffer without freeing it: another thread may have been
 * changing it at the fork, so its pointer cannot be trusted to free. */
static void abandon(ct_buffer *buffer)
{
    size_t cap = buffer->cap;
    *buffer = (ct_buffer)CT_BUFFER_INIT;
    buffer->cap = cap;
}

static void agent_after_fork_child(ct_writer *writer)
{
    agent_writer *w = (agent_writer *)writer;
    /* See the design paragraph: trylock tells whether state is consistent.
     * The inherited mutex is never unlocked: it is re-initialized below. */
    int consistent = pthread_mutex_trylock(&w->lock) == 0;
    int idle = consistent && !w->thread_busy;
    int rates_consistent = pthread_mutex_trylock(&w->rates_lock) == 0;
    if (consistent) pthread_mutex_unlock(&w->lock);
    if (rates_consistent) pthread_mutex_unlock(&w->rates_lock);
    /* pending changes only under the lock; the others are the writer
     * thread's and were consistent only if it was idle. */
    if (consistent) ct__buffer_release(&w->pending);
    else abandon(&w->pending);
    ct_buffer *owned[] = {&w->incoming, &w->backlog, &w->payload, &w->reply.body};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) {
        if (idle) ct__buffer_release(owned[i]);
        else abandon(owned[i]);
    }
    if (idle && w->transport) w->transport->ops->destroy(w->transport);
    w->transport = NULL;
    if (!rates_consistent) w->rates = (rate_table){NULL, 0};
    init_locks(w);
    w->pending_chunks = 0;
    w->pending_spans = w->backlog_spans = 0;
    w->backlog_bytes = w->backlog_head = 0;
    w->thread_started = w->thread_idle_wait = w->thread_busy = 0;
    w->wake_requested = w->stopping = 0;
    w->flush_requested = w->flush_done = 0;
    w->abort_transfers = 0;
    w->failures = 0;
    w->retry_at = 0;
    w->batch_limit = 0;
    w->refused_too_large = 0;
    memset(&w->stats, 0, sizeof w->stats);
    w->logged_traces_dropped = w->logged_spans_dropped = 0;
}

static void agent_free(agent_writer *w)
{
    if (w->transport) w->transport->ops->destroy(w->transport);
    ct__buffer_release(&w->pending);
    ct__buffer_release(&w->incoming);
    ct__buffer_release(&w->backlog);
    ct__buffer_release(&w->payload);
    ct__buffer_release(&w->reply.body);
    rate_table_free(&w->rates);
    ct__free(w->url);
    ct__free((char *)w->transport_options.lang_version);
    ct__free((char *)w->transport_options.lang_interpreter);
    ct__free((char *)w->transport_options.tracer_version);
    ct__free(w);
}

static void agent_destroy(ct_writer *writer, int timeout_ms)
{
    agent_writer *w = (agent_writer *)writer;
    if (!w) return;
    agent_flush(writer, timeout_ms);
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    __atomic_store_n(&w->abort_transfers, 1, __ATOMIC_RELAXED);
    pthread_cond_signal(&w->wake);
    int joinable = w->thread_started;
    pthread_mutex_unlock(&w->lock);
    if (joinable) pthread_join(w->thread, NULL);
    destroy_locks(w);
    agent_free(w);
}

static const ct_writer_ops agent_ops = {
    agent_submit, agent_flush, agent_get_stats, agent_after_fork_child, agent_destroy,
};

/* -- creation ----------------------------------------------------------------- */

static int should_abort(void *arg)
{
    agent_writer *w = arg;
    return __atomic_load_n(&w->abort_transfers, __ATOMIC_RELAXED);
}

static ct_transport *curl_factory(void *arg, const ct_transport_options *o, int *rc)
{
    return ct__curl_transport_new(o, rc);
}

static char *dup_or_empty(const char *s) { return ct__strdup(s ? s : ""); }

static void apply_config(agent_writer *w, const ct_config *c)
{
    w->interval_s = c->writer_interval_s > 0 ? c->writer_interval_s : 1.0;
    w->buffer_cap = c->writer_buffer_bytes ? c->writer_buffer_bytes : (size_t)20 << 20;
    w->payload_cap = c->writer_payload_bytes ? c->writer_payload_bytes : (size_t)20 << 20;
    /* Early wake at half a payload: the round then sends about one full
     * payload without waiting for the interval. */
    w->agent_limit = w->payload_cap;
    w->wake_threshold = w->payload_cap / 2;
    if (w->wake_threshold > w->buffer_cap / 2) w->wake_threshold = w->buffer_cap / 2;
    w->debug = c->debug;
    w->enabled = c->enabled;
    w->api_version = c->api_version == CT_API_V04 ? CT_API_V04 : CT_API_V05;
    w->transport_options.timeout_s = c->agent_timeout_s > 0 ? c->agent_timeout_s : 2.0;
    w->transport_options.should_abort = should_abort;
    w->transport_options.abort_arg = w;
}

ct_writer *ct__agent_writer_new_with(const ct_config *config, ct_transport_factory factory,
                                     void *factory_arg, int *rc)
{
    agent_writer *w = ct__calloc(1, sizeof *w);
    if (!w) {
        *rc = CT_ENOMEM;
        return NULL;
    }
    w->base.ops = &agent_ops;
    w->factory = factory;
    w->factory_arg = factory_arg;
    apply_config(w, config);
    w->url = dup_or_empty(config->agent_url);
    w->transport_options.url = w->url;
    w->transport_options.lang_version = dup_or_empty(config->lang_version);
    w->transport_options.lang_interpreter = dup_or_empty(config->lang_interpreter);
    w->transport_options.tracer_version = dup_or_empty(config->tracer_version);
    if (!w->url || !w->transport_options.lang_version || !w->transport_options.lang_interpreter ||
        !w->transport_options.tracer_version || init_locks(w) != CT_OK) {
        agent_free(w);
        *rc = CT_ENOMEM;
        return NULL;
    }
    *rc = CT_OK;
    return &w->base;
}

ct_writer *ct__agent_writer_new(const ct_config *config, int *rc)
{
    return ct__agent_writer_new_with(config, curl_factory, NULL, rc);
}

int ct__writer_is_agent(const ct_writer *writer) { return writer && writer->ops == &agent_ops; }

int ct__agent_writer_api_version(ct_writer *writer)
{
    agent_writer *w = (agent_writer *)writer;
    return __atomic_load_n(&w->api_version, __ATOMIC_RELAXED);
}

int ct__agent_writer_rate(ct_writer *writer, const char *service, const char *env, double *rate)
{
    if (!ct__writer_is_agent(writer)) return CT_ENODATA;
    agent_writer *w = (agent_writer *)writer;
    pthread_mutex_lock(&w->rates_lock);
    /* the exact key only: ddtrace 4.x applies no rate to a service the
     * agent did not name (the trace keeps the default mechanism, -0),
     * where 2.x fell back to the "service:,env:" rate */
    int rc = find_rate(&w->rates, service ? service : "", env ? env : "", rate);
    pthread_mutex_unlock(&w->rates_lock);
    return rc;
}
