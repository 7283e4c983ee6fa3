/* Upstream forwarding (see forward.h).
 *
 * Retry policy: connection errors, 408, 429 and 5xx are retried up to 5
 * times with 100 ms doubling backoff (100 ms .. 1.6 s); other 4xx mean the
 * upstream will never take the payload, so it is dropped at once. Every drop
 * is counted; the first and then one in a thousand are logged, so a dead
 * upstream does not flood the terminal. */
#include "forward.h"
#include "buf.h"
#include "util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_ATTEMPTS = 6 };

typedef struct item {
    struct item *next;
    char *method, *path;
    char **headers;
    size_t nheaders;
    char *body;
    size_t len;
} item;

struct ag_forwarder {
    char *base_url;    /* without trailing slash */
    char *unix_socket; /* or NULL */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    item *head, *tail;
    size_t queued_bytes, max_bytes;
    bool stopping;
    int64_t stop_deadline; /* monotonic ns */
    ag_forward_stats stats;
};

static void item_free(item *it)
{
    for (size_t i = 0; i < it->nheaders; i++) free(it->headers[i]);
    free(it->headers);
    free(it->method);
    free(it->path);
    free(it->body);
    free(it);
}

static size_t discard(char *p, size_t size, size_t n, void *ud) { return size * n; }

/* One attempt: 0 delivered, 1 retry, -1 give up. */
static int send_once(ag_forwarder *f, CURL *curl, const item *it)
{
    ag_buf url = {0};
    ag_buf_printf(&url, "%s%s", f->base_url, it->path);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; i < it->nheaders; i++) hdrs = curl_slist_append(hdrs, it->headers[i]);
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, ag_buf_cstr(&url));
    if (f->unix_socket) curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, f->unix_socket);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, it->method);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, it->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    ag_buf_free(&url);
    if (rc == CURLE_OK && status >= 200 && status < 300) return 0;
    if (rc == CURLE_OK && status >= 400 && status < 500 && status != 408 && status != 429) {
        fprintf(stderr, "ctrace-agent: forward: upstream refused %s with %ld, dropped\n", it->path,
                status);
        return -1;
    }
    return 1;
}

/* Waits up to ms unless stopping; returns false if the agent is stopping
 * past its deadline. Called with f->mu held. */
static bool backoff(ag_forwarder *f, long ms)
{
    struct timespec until = ag_realtime_in((double)ms / 1000);
    pthread_cond_timedwait(&f->cond, &f->mu, &until);
    return !(f->stopping && ag_mono_ns() > f->stop_deadline);
}

static void *forward_main(void *arg)
{
    ag_forwarder *f = arg;
    CURL *curl = curl_easy_init();
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->head && !f->stopping) pthread_cond_wait(&f->cond, &f->mu);
        if (!f->head || (f->stopping && ag_mono_ns() > f->stop_deadline)) break;
        item *it = f->head;
        f->head = it->next;
        if (!f->head) f->tail = NULL;
        f->queued_bytes -= it->len;
        int rc = 1;
        for (int attempt = 0; attempt < MAX_ATTEMPTS && rc == 1; attempt++) {
            if (attempt) {
                f->stats.retries++;
                if (!backoff(f, 100L << (attempt - 1))) break;
            }
            pthread_mutex_unlock(&f->mu);
            rc = curl ? send_once(f, curl, it) : 1;
            pthread_mutex_lock(&f->mu);
        }
        if (rc == 0) f->stats.sent++;
        else if (f->stats.failed++ % 1000 == 0)
            fprintf(stderr,
                    "ctrace-agent: forward: giving up on a payload for %s "
                    "(%llu failed so far)\n",
                    it->path, (unsigned long long)f->stats.failed);
        item_free(it);
    }
    /* whatever is left past the deadline is dropped and counted */
    while (f->head) {
        item *it = f->head;
        f->head = it->next;
        f->stats.failed++;
        item_free(it);
    }
    f->tail = NULL;
    pthread_mutex_unlock(&f->mu);
    curl_easy_cleanup(curl);
    return NULL;
}

ag_forwarder *ag_forwarder_start(const char *url, size_t max_bytes)
{
    ag_forwarder *f = ag_xcalloc(1, sizeof *f);
    if (!strncmp(url, "unix://", 7)) {
        f->unix_socket = ag_xstrdup(url + 7);
        f->base_url = ag_xstrdup("http://localhost");
    } else {
        f->base_url = ag_xstrdup(url);
        size_t n = strlen(f->base_url);
        while (n && f->base_url[n - 1] == '/') f->base_url[--n] = '\0';
    }
    f->max_bytes = max_bytes;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    if (pthread_create(&f->thread, NULL, forward_main, f)) {
        fprintf(stderr, "ctrace-agent: cannot start the forwarding thread\n");
        free(f->base_url);
        free(f->unix_socket);
        free(f);
        return NULL;
    }
    return f;
}

void ag_forwarder_enqueue(ag_forwarder *f, const char *method, const char *path, char **headers,
                          size_t nheaders, const void *body, size_t len)
{
    pthread_mutex_lock(&f->mu);
    bool full = f->queued_bytes + len > f->max_bytes || f->stopping;
    if (full) {
        if (f->stats.dropped_full++ % 1000 == 0)
            fprintf(stderr,
                    "ctrace-agent: forward queue full, payload dropped "
                    "(%llu dropped so far)\n",
                    (unsigned long long)f->stats.dropped_full);
        pthread_mutex_unlock(&f->mu);
        return;
    }
    f->queued_bytes += len;
    f->stats.queued++;
    pthread_mutex_unlock(&f->mu);

    item *it = ag_xcalloc(1, sizeof *it);
    it->method = ag_xstrdup(method);
    it->path = ag_xstrdup(path);
    it->headers = ag_xcalloc(nheaders ? nheaders : 1, sizeof *it->headers);
    for (size_t i = 0; i < nheaders; i++) it->headers[i] = ag_xstrdup(headers[i]);
    it->nheaders = nheaders;
    it->body = ag_xmalloc(len ? len : 1);
    if (len) memcpy(it->body, body, len);
    it->len = len;

    pthread_mutex_lock(&f->mu);
    if (f->tail) f->tail->next = it;
    else f->head = it;
    f->tail = it;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

void ag_forwarder_stop(ag_forwarder *f, int deadline_ms)
{
    if (!f) return;
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    f->stop_deadline = ag_mono_ns() + (int64_t)deadline_ms * 1000000LL;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    free(f->base_url);
    free(f->unix_socket);
    free(f);
}

void ag_forwarder_get_stats(ag_forwarder *f, ag_forward_stats *out)
{
    pthread_mutex_lock(&f->mu);
    *out = f->stats;
    pthread_mutex_unlock(&f->mu);
}
