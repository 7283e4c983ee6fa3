/*
 * transport — the libcurl implementation of ct_transport.
 *
 * One easy handle lives as long as the transport, so libcurl keeps the
 * connection to the agent open between payloads (keep-alive) and reconnects
 * by itself when the agent closed it. A unix:// url sets
 * CURLOPT_UNIX_SOCKET_PATH and talks plain HTTP over the socket, with a
 * dummy host in the url as the agent ignores it. Headers are built once:
 * they only differ by X-Datadog-Trace-Count, which is formatted per request.
 *
 * The method is PUT, as ddtrace sends it (the agent accepts any). "Expect:"
 * is cleared so libcurl never waits for a 100-continue on large bodies, and
 * CURLOPT_NOSIGNAL keeps libcurl away from signals, which belong to the
 * application. curl_global_init runs once per process (pthread_once).
 */
#include "transport.h"
#include "alloc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_BODY_CAP (1u << 20)

typedef struct curl_transport {
    ct_transport base;
    CURL *curl;
    struct curl_slist *headers; /* the fixed headers */
    char *base_url;             /* http://host:port, no trailing / */
    char *socket_path;          /* unix socket, or NULL */
    long timeout_ms;
    ct_transport_abort_fn should_abort;
    void *abort_arg;
    char error[CURL_ERROR_SIZE];
} curl_transport;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_ALL); }

static size_t on_body(char *data, size_t size, size_t count, void *arg)
{
    ct_buffer *body = arg;
    size_t len = size * count;
    /* A reply beyond the cap is cut, not failed: only rate_by_service is
     * read from it, and a truncated JSON is just ignored. */
    size_t room = body->len < REPLY_BODY_CAP ? REPLY_BODY_CAP - body->len : 0;
    if (len > room) len = room;
    if (len && ct__buffer_append(body, data, len) != CT_OK) return 0;
    return size * count;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    curl_transport *t = arg;
    return t->should_abort && t->should_abort(t->abort_arg) ? 1 : 0;
}

static int error_of(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING: return CT_ECONNECT;
    case CURLE_OPERATION_TIMEDOUT: return CT_ETIMEDOUT;
    case CURLE_ABORTED_BY_CALLBACK: return CT_ECANCELED;
    case CURLE_OUT_OF_MEMORY: return CT_ENOMEM;
    default: return CT_EIO;
    }
}

static int curl_send(ct_transport *base, const char *path, const uint8_t *body, size_t len,
                     uint32_t trace_count, ct_http_reply *reply)
{
    curl_transport *t = (curl_transport *)base;
    char url[1024], count_header[64];
    reply->status = 0;
    ct__buffer_clear(&reply->body);
    if ((size_t)snprintf(url, sizeof url, "%s%s", t->base_url, path) >= sizeof url)
        return CT_EINVAL;
    snprintf(count_header, sizeof count_header, "X-Datadog-Trace-Count: %u", trace_count);
    struct curl_slist *count = curl_slist_append(NULL, count_header);
    if (!count) return CT_ENOMEM;
    count->next = t->headers; /* borrowed: unlinked again below */

    curl_easy_setopt(t->curl, CURLOPT_URL, url);
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, count);
    curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, &reply->body);
    CURLcode code = curl_easy_perform(t->curl);

    count->next = NULL;
    curl_slist_free_all(count);
    if (code != CURLE_OK) return error_of(code);
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &reply->status);
    return CT_OK;
}

static void curl_destroy(ct_transport *base)
{
    curl_transport *t = (curl_transport *)base;
    if (!t) return;
    if (t->curl) curl_easy_cleanup(t->curl);
    curl_slist_free_all(t->headers);
    ct__free(t->base_url);
    ct__free(t->socket_path);
    ct__free(t);
}

static const ct_transport_ops curl_ops = {curl_send, curl_destroy};

/* Splits the agent url into base_url and socket_path. */
static int parse_url(curl_transport *t, const char *url)
{
    if (!url || !*url) return CT_EINVAL;
    if (strncmp(url, "unix://", 7) == 0) {
        if (url[7] != '/') return CT_EINVAL;
        t->socket_path = ct__strdup(url + 7);
        t->base_url = ct__strdup("http://localhost");
    } else if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        size_t len = strlen(url);
        while (len && url[len - 1] == '/') len--;
        t->base_url = ct__malloc(len + 1);
        if (t->base_url) {
            memcpy(t->base_url, url, len);
            t->base_url[len] = '\0';
        }
    } else {
        return CT_EINVAL;
    }
    if (!t->base_url || (strncmp(url, "unix://", 7) == 0 && !t->socket_path)) return CT_ENOMEM;
    return CT_OK;
}

static int add_header(curl_transport *t, const char *name, const char *value)
{
    char line[512];
    snprintf(line, sizeof line, "%s: %s", name, value ? value : "");
    struct curl_slist *next = curl_slist_append(t->headers, line);
    if (!next) return CT_ENOMEM;
    t->headers = next;
    return CT_OK;
}

static int build_headers(curl_transport *t, const ct_transport_options *o)
{
    int rc = add_header(t, "Content-Type", "application/msgpack");
    if (rc == CT_OK) rc = add_header(t, "Datadog-Meta-Lang", "python");
    if (rc == CT_OK) rc = add_header(t, "Datadog-Meta-Lang-Version", o->lang_version);
    if (rc == CT_OK) rc = add_header(t, "Datadog-Meta-Lang-Interpreter", o->lang_interpreter);
    if (rc == CT_OK) rc = add_header(t, "Datadog-Meta-Tracer-Version", o->tracer_version);
    if (rc == CT_OK) rc = add_header(t, "Datadog-Client-Computed-Top-Level", "yes");
    if (rc == CT_OK) {
        struct curl_slist *next = curl_slist_append(t->headers, "Expect:");
        rc = next ? (t->headers = next, CT_OK) : CT_ENOMEM;
    }
    return rc;
}

static void set_fixed_options(curl_transport *t)
{
    CURL *c = t->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, t->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, t->timeout_ms);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ctrace");
    if (t->socket_path) curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, t->socket_path);
}

ct_transport *ct__curl_transport_new(const ct_transport_options *options, int *rc)
{
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        *rc = CT_ENOMEM;
        return NULL;
    }
    curl_transport *t = ct__calloc(1, sizeof *t);
    if (!t) {
        *rc = CT_ENOMEM;
        return NULL;
    }
    t->base.ops = &curl_ops;
    double timeout = options->timeout_s > 0 ? options->timeout_s : 2.0;
    t->timeout_ms = (long)(timeout * 1000.0);
    t->should_abort = options->should_abort;
    t->abort_arg = options->abort_arg;
    *rc = parse_url(t, options->url);
    if (*rc == CT_OK) *rc = build_headers(t, options);
    if (*rc == CT_OK && !(t->curl = curl_easy_init())) *rc = CT_ENOMEM;
    if (*rc != CT_OK) {
        curl_destroy(&t->base);
        return NULL;
    }
    set_fixed_options(t);
    return &t->base;
}
