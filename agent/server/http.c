/* HTTP server (see http.h for the threading and limits).
 *
 * The agent binds its listening sockets itself and the gate (gate.h)
 * accepts on them; a connection whose first line is well-formed is given
 * to the TCP or unix daemon with MHD_add_connection, keeping its deadline.
 *
 * libmicrohttpd calls on_request several times per request: once with the
 * headers (route, auth, CSRF and size checks happen here, and an early
 * error reply stops the upload), once per chunk of body (appended to the
 * request's buffer, within --max-request-bytes and the global in-flight
 * budget), then once more with no data: the request is dispatched. Intake
 * hands its batch to ag_store_submit and suspends the connection; the
 * store's callback resumes it, on_request is called once more and replies
 * (200 only if the batch is committed). A connection's deadline
 * (deadline.h) starts when it opens and again after each answer, and is
 * paused while its request waits on the store.
 *
 * Security: every reply carries nosniff/no-referrer/DENY headers; requests a
 * browser marks Sec-Fetch-Site: cross-site are refused, and any request of
 * a web page (Origin or Sec-Fetch-Site) to a tracer endpoint, so no page
 * can post traces; the API and UI, whatever the bind, and every endpoint
 * on a loopback bind, require a Host that DNS rebinding cannot forge
 * (host_is_safe); with --token the API and UI require the token. */
#include "http.h"
#include "api.h"
#include "deadline.h"
#include "gate.h"
#include "info.h"
#include "intake.h"
#include "jsonw.h"
#include "ui.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct {
    struct ag_server *srv;
    struct MHD_Daemon *daemon;
    bool is_unix;
} listener;

struct ag_server {
    const ag_config *cfg;
    ag_store *store;
    ag_forwarder *fwd;
    struct MHD_Daemon *tcp, *unix_daemon;
    listener tcp_l, unix_l;
    ag_gate *gate; /* accepts for both daemons (gate.h) */
    int port;
    int tcp_fd, unix_fd; /* the listening sockets, the gate's to accept on */
    dev_t unix_dev;      /* the socket file this agent bound */
    ino_t unix_ino;
    bool loopback;
    char hostname[256]; /* gethostname(), "" if unknown */
    ag_buf info;
    char state[17];
    atomic_size_t inflight;
    atomic_bool ready;       /* info, port and loopback are set (release) */
    ag_deadlines *deadlines; /* every connection's, and the connection limit */
    /* the deadline a connection had in the gate, by descriptor, from the
     * gate's pass until libmicrohttpd's NOTIFY_STARTED takes it (0: none) */
    _Atomic int64_t *handoff;
    size_t handoff_len;
    /* requests suspended while their batch commits: stopping waits for
     * them, since libmicrohttpd cannot stop with a connection suspended */
    pthread_mutex_t wait_mu;
    pthread_cond_t wait_done;
    unsigned waiting;
    bool stopping;
    pthread_mutex_t stats_mu;
    ag_server_stats stats;
};

enum route {
    R_NOT_FOUND,
    R_TRACES_V03,
    R_TRACES_V04,
    R_TRACES_V05,
    R_SERVICES,
    R_STATS,
    R_INFO,
    R_TELEMETRY,
    R_API,
    R_UI,
};

enum phase {
    P_RECEIVING,  /* headers and body arriving */
    P_COMMITTING, /* suspended until the store calls back */
    P_COMMITTED,  /* resumed: commit_status is the store's answer */
};

typedef struct {
    enum route route;
    ag_server *srv;
    struct MHD_Connection *conn;
    ag_conn *slot;     /* the connection's deadline (deadline.h) */
    _Atomic int phase; /* enum phase */
    int commit_status;
    ag_intake_counts counts;
    ag_buf body;
    size_t accounted;  /* bytes counted in srv->inflight */
    size_t batch_held; /* the batch's bytes counted there until committed */
    size_t expected;   /* the Content-Length (at most max_request_bytes), 0 if none */
    int error_status;  /* set when the body must be refused */
    const char *error_msg;
    bool replied;
} request;

enum { DRAIN_FACTOR = 4 }; /* see early_checks */
/* Pool threads: enough that one decoding a large payload or answering a
 * slow query delays few others, few enough to cost nothing idle. */
enum { TCP_THREADS = 16, UNIX_THREADS = 4 };

static const char RATES[] = "{\"rate_by_service\":{\"service:,env:\":1}}";

/* ---- replies ---- */

/* The headers every reply carries, libmicrohttpd's and the gate's. */
enum { N_COMMON = 6 };
static void common_header_list(const ag_server *s, const char *out[N_COMMON][2])
{
    const char *h[N_COMMON][2] = {
        {"Datadog-Agent-Version", AG_DD_AGENT_VERSION},
        {"Datadog-Agent-State", s->state},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
        {"Cross-Origin-Resource-Policy", "same-origin"},
    };
    memcpy(out, h, sizeof h);
}

static void common_headers(ag_server *s, struct MHD_Response *r)
{
    const char *h[N_COMMON][2];
    common_header_list(s, h);
    for (int i = 0; i < N_COMMON; i++) MHD_add_response_header(r, h[i][0], h[i][1]);
}

/* Sends body (taking ownership of a malloc'd buffer when owned). allow is
 * the Allow header a 405 must carry (RFC 9110, 15.5.6), else NULL. */
static enum MHD_Result send_reply(ag_server *s, struct MHD_Connection *c, unsigned status,
                                  const char *ctype, void *body, size_t len, bool owned,
                                  const char *allow)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned) free(body);
        return MHD_NO;
    }
    common_headers(s, r);
    if (ctype) MHD_add_response_header(r, "Content-Type", ctype);
    if (allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result send_text(ag_server *s, struct MHD_Connection *c, unsigned status,
                                 const char *text)
{
    return send_reply(s, c, status, "text/plain; charset=utf-8", (void *)text, strlen(text), false,
                      NULL);
}

/* An API error: {"error": msg}; allow as in send_reply. */
static enum MHD_Result send_json_error_allowing(ag_server *s, struct MHD_Connection *c,
                                                unsigned status, const char *msg, const char *allow)
{
    ag_buf b = {0};
    ag_buf_puts(&b, "{\"error\":");
    ag_jw_cstr(&b, msg);
    ag_buf_puts(&b, "}");
    return send_reply(s, c, status, "application/json; charset=utf-8", b.data, b.len, true, allow);
}

static enum MHD_Result send_json_error(ag_server *s, struct MHD_Connection *c, unsigned status,
                                       const char *msg)
{
    return send_json_error_allowing(s, c, status, msg, NULL);
}

/* An intake error: one line of text, as the Datadog agent answers; allow
 * as in send_reply. */
static enum MHD_Result send_reason_allowing(ag_server *s, struct MHD_Connection *c, unsigned status,
                                            const char *reason, const char *allow)
{
    ag_buf b = {0};
    ag_buf_puts(&b, reason);
    ag_buf_putc(&b, '\n');
    return send_reply(s, c, status, "text/plain; charset=utf-8", b.data, b.len, true, allow);
}

static enum MHD_Result send_reason(ag_server *s, struct MHD_Connection *c, unsigned status,
                                   const char *reason)
{
    return send_reason_allowing(s, c, status, reason, NULL);
}

/* ---- routing and checks ---- */

static enum route route_of(const char *url)
{
    if (!strcmp(url, "/v0.3/traces")) return R_TRACES_V03;
    if (!strcmp(url, "/v0.4/traces")) return R_TRACES_V04;
    if (!strcmp(url, "/v0.5/traces")) return R_TRACES_V05;
    if (!strcmp(url, "/v0.3/services") || !strcmp(url, "/v0.4/services")) return R_SERVICES;
    if (!strcmp(url, "/v0.6/stats")) return R_STATS;
    if (!strcmp(url, "/info")) return R_INFO;
    if (!strncmp(url, "/telemetry/proxy/", 17)) return R_TELEMETRY;
    if (!strncmp(url, "/api/", 5)) return R_API;
    if (ag_ui_find(url)) return R_UI;
    return R_NOT_FOUND;
}

static bool takes_body(enum route r)
{
    return r == R_TRACES_V03 || r == R_TRACES_V04 || r == R_TRACES_V05 || r == R_STATS;
}

static bool tokens_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < lb; i++) diff |= (unsigned char)(a[i % (la ? la : 1)] ^ b[i]);
    return diff == 0; /* time depends on the expected token's length only */
}

/* 0 ok; 1 ok and the token came in the query (set the cookie); -1 refused. */
static int check_token(ag_server *s, struct MHD_Connection *c)
{
    const char *token = s->cfg->token;
    if (!token) return 0;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (auth && !strncasecmp(auth, "Bearer ", 7) && tokens_equal(auth + 7, token)) return 0;
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "ctrace_token");
    if (cookie && tokens_equal(cookie, token)) return 0;
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    if (q && tokens_equal(q, token)) return 1;
    return -1;
}

/* Whether a Host header cannot be the product of DNS rebinding: a page of
 * evil.example whose name is made to resolve to this machine still sends
 * Host: evil.example. Safe are IP literals (no name to rebind), localhost
 * and *.localhost (browsers resolve them to loopback themselves), and this
 * machine's own name or the name given to --listen (not the attacker's). */
static bool host_is_safe(const ag_server *s, const char *host)
{
    if (!host) return true; /* HTTP/1.0 without Host: not a browser */
    char name[256];
    size_t n = strlen(host);
    if (n >= sizeof name) return false;
    memcpy(name, host, n + 1);
    if (name[0] == '[') {
        char *end = strchr(name, ']');
        if (!end) return false;
        *end = '\0';
        struct in6_addr a6;
        return inet_pton(AF_INET6, name + 1, &a6) == 1;
    }
    char *colon = strchr(name, ':');
    if (colon) *colon = '\0';
    n = strlen(name);
    if (n && name[n - 1] == '.') name[--n] = '\0'; /* "localhost." is localhost */
    struct in_addr a;
    if (inet_pton(AF_INET, name, &a) == 1) return true;
    if (!strcasecmp(name, "localhost") || (n > 10 && !strcasecmp(name + n - 10, ".localhost")))
        return true;
    if (*s->hostname && !strcasecmp(name, s->hostname)) return true;
    return s->cfg->listen_host && !strcasecmp(name, s->cfg->listen_host);
}

/* A request a browser made: browsers mark every cross-origin request with
 * Origin and (since 2020) Sec-Fetch-Site; tracers send neither. */
static bool from_browser(struct MHD_Connection *c)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin") ||
           MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
}

/* ---- intake ---- */

static const char *media_type(struct MHD_Connection *c, char *out, size_t outlen)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!ct) return "";
    while (*ct == ' ') ct++;
    size_t n = strcspn(ct, "; ");
    if (n >= outlen) n = outlen - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(ct[i] >= 'A' && ct[i] <= 'Z' ? ct[i] + 32 : ct[i]);
    out[n] = '\0';
    return out;
}

typedef struct {
    char **lines;
    size_t len, cap;
} header_list;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    header_list *h = cls;
    if (strncasecmp(key, "Datadog-", 8) && strcasecmp(key, "Content-Type") &&
        strcasecmp(key, "X-Datadog-Trace-Count"))
        return MHD_YES;
    if (h->len == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 8;
        h->lines = ag_xrealloc(h->lines, h->cap * sizeof *h->lines);
    }
    ag_buf b = {0};
    ag_buf_printf(&b, "%s: %s", key, value ? value : "");
    h->lines[h->len++] = ag_buf_cstr(&b);
    return MHD_YES;
}

static void forward(ag_server *s, struct MHD_Connection *c, const char *method, const char *url,
                    const request *req)
{
    if (!s->fwd) return;
    header_list h = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &h);
    ag_forwarder_enqueue(s->fwd, method, url, h.lines, h.len, req->body.data, req->body.len);
    for (size_t i = 0; i < h.len; i++) free(h.lines[i]);
    free(h.lines);
}

static void count(ag_server *s, uint64_t payloads, uint64_t spans, uint64_t rejected,
                  uint64_t dropped)
{
    pthread_mutex_lock(&s->stats_mu);
    s->stats.payloads += payloads;
    s->stats.spans += spans;
    s->stats.rejected += rejected;
    s->stats.dropped_chunks += dropped;
    pthread_mutex_unlock(&s->stats_mu);
}

static void count_dropped_spans(ag_server *s, uint64_t spans)
{
    pthread_mutex_lock(&s->stats_mu);
    s->stats.dropped_spans += spans;
    pthread_mutex_unlock(&s->stats_mu);
}

/* Gives back what the batch waiting for its commit was charged. */
static void release_batch(ag_server *s, request *req)
{
    ag_budget budget = {&s->inflight, s->cfg->max_inflight_bytes};
    ag_budget_release(&budget, req->batch_held);
    req->batch_held = 0;
}

/* The answer once the batch is committed (status 0) or not. */
static enum MHD_Result answer_traces(ag_server *s, struct MHD_Connection *c, const char *method,
                                     const char *url, request *req, int status)
{
    if (status) {
        count(s, 0, 0, 1, 0);
        return status == AG_STORE_FULL ? send_reason(s, c, MHD_HTTP_INSUFFICIENT_STORAGE,
                                                     "disk full: payload not stored")
                                       : send_reason(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                                     "storage failed: payload not stored");
    }
    count(s, 1, req->counts.spans, 0, req->counts.dropped_chunks);
    if (req->counts.dropped_spans) count_dropped_spans(s, req->counts.dropped_spans);
    forward(s, c, method, url, req);
    if (req->route == R_TRACES_V03) return send_text(s, c, MHD_HTTP_OK, "OK");
    return send_reply(s, c, MHD_HTTP_OK, "application/json", (void *)RATES, sizeof RATES - 1, false,
                      NULL);
}

/* The store's callback (store.h): on a store thread, with its lock held.
 * Once resumed, the connection may answer and free req at once, so req
 * is not touched after MHD_resume_connection. */
static void on_committed(void *arg, int status)
{
    request *req = arg;
    ag_server *s = req->srv;
    release_batch(s, req);
    req->commit_status = status;
    atomic_store_explicit(&req->phase, P_COMMITTED, memory_order_release);
    MHD_resume_connection(req->conn);
    pthread_mutex_lock(&s->wait_mu);
    if (--s->waiting == 0) pthread_cond_broadcast(&s->wait_done);
    pthread_mutex_unlock(&s->wait_mu);
}

/* Hands b to the store and suspends the connection until it is committed:
 * the pool thread goes on serving its other connections meanwhile, where
 * it used to sleep through the commit and the fsync. */
static enum MHD_Result wait_for_commit(ag_server *s, struct MHD_Connection *c, request *req,
                                       ag_batch *b)
{
    pthread_mutex_lock(&s->wait_mu);
    bool stopping = s->stopping;
    if (!stopping) s->waiting++;
    pthread_mutex_unlock(&s->wait_mu);
    if (stopping) {
        ag_batch_free(b);
        release_batch(s, req);
        count(s, 0, 0, 1, 0);
        return send_reason(s, c, MHD_HTTP_SERVICE_UNAVAILABLE, "agent is stopping, retry");
    }
    atomic_store_explicit(&req->phase, P_COMMITTING, memory_order_relaxed);
    ag_conn_pause(req->slot); /* the agent's own time, not the client's */
    MHD_suspend_connection(c);
    ag_store_submit(s->store, b, on_committed, req);
    return MHD_YES;
}

static enum MHD_Result handle_traces(ag_server *s, struct MHD_Connection *c, const char *method,
                                     const char *url, request *req)
{
    char mt[64];
    const char *type = media_type(c, mt, sizeof mt);
    ag_version v = req->route == R_TRACES_V03   ? AG_V03
                   : req->route == R_TRACES_V04 ? AG_V04
                                                : AG_V05;
    bool json = false;
    if (!strcmp(type, "application/msgpack")) json = false;
    else if (v != AG_V05 &&
             (!strcmp(type, "application/json") || !strcmp(type, "text/json") || !*type))
        json = true;
    else if (v == AG_V05 && !*type) json = false;
    else {
        count(s, 0, 0, 1, 0);
        return send_reason(s, c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                           "unsupported Content-Type (expected application/msgpack"
                           " or application/json)");
    }
    char err[256] = "";
    const char *lang = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Datadog-Meta-Lang");
    ag_intake_counts counts;
    ag_budget budget = {&s->inflight, s->cfg->max_inflight_bytes};
    ag_batch *b = ag_intake_build(v, json, req->body.data ? req->body.data : "", req->body.len,
                                  lang, ag_now_ns(), &budget, &counts, err, sizeof err);
    if (!b) {
        count(s, 0, 0, 1, 0);
        /* over budget: retry later, unless this payload alone cannot fit */
        unsigned status = !counts.over_budget ? MHD_HTTP_BAD_REQUEST
                          : req->accounted + counts.decoded_bytes > budget.max
                              ? MHD_HTTP_CONTENT_TOO_LARGE
                              : MHD_HTTP_SERVICE_UNAVAILABLE;
        return send_reason(s, c, status, err);
    }
    /* the batch waits for its commit holding memory: charged too */
    size_t held = ag_batch_bytes(b);
    if (!ag_budget_try_charge(&budget, held)) {
        ag_batch_free(b);
        count(s, 0, 0, 1, 0);
        return send_reason(s, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                           "agent overloaded: too many request bytes in flight, retry later");
    }
    req->counts = counts;
    req->batch_held = held;
    if (!b->rows_len) {
        ag_batch_free(b);
        release_batch(s, req);
        return answer_traces(s, c, method, url, req, 0);
    }
    return wait_for_commit(s, c, req, b);
}

/* /info as built at start, with the database's health at the end: a
 * damaged database answered ingest 500 forever while /info looked fine. */
static enum MHD_Result send_info(ag_server *s, struct MHD_Connection *c)
{
    char damage[256];
    bool damaged = ag_store_damage(s->store, damage, sizeof damage);
    ag_buf b = {0};
    ag_buf_append(&b, s->info.data, s->info.len - 1); /* without its closing brace */
    ag_buf_printf(&b, ",\"ctrace_database\":{\"damaged\":%s,\"disk_full\":%s,\"read_only\":%s",
                  damaged ? "true" : "false", ag_store_disk_full(s->store) ? "true" : "false",
                  ag_store_read_only(s->store) ? "true" : "false");
    if (damaged) {
        ag_buf_puts(&b, ",\"error\":");
        ag_jw_cstr(&b, damage);
        ag_buf_puts(&b, ",\"recovery\":");
        ag_jw_cstr(&b, AG_STORE_RECOVERY_HINT);
    }
    ag_buf_puts(&b, "}}");
    return send_reply(s, c, MHD_HTTP_OK, "application/json", b.data, b.len, true, NULL);
}

/* ---- API and UI ---- */

typedef struct {
    ag_param *items;
    size_t len, cap;
} param_list;

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    param_list *p = cls;
    if (p->len == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->items = ag_xrealloc(p->items, p->cap * sizeof *p->items);
    }
    p->items[p->len++] = (ag_param){key, value ? value : ""};
    return MHD_YES;
}

static enum MHD_Result handle_api(ag_server *s, struct MHD_Connection *c, const char *url)
{
    param_list p = {0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_param, &p);
    ag_params q = {p.items, p.len};
    ag_buf out = {0};
    int status = ag_api_handle(s->store, url, &q, &out);
    free(p.items);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(out.len, out.data, MHD_RESPMEM_MUST_FREE);
    if (!r) return free(out.data), MHD_NO;
    common_headers(s, r);
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result handle_ui(ag_server *s, struct MHD_Connection *c, const char *url,
                                 bool set_cookie)
{
    const ag_ui_asset *a = ag_ui_find(url);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    common_headers(s, r);
    MHD_add_response_header(r, "Content-Type", a->content_type);
    MHD_add_response_header(r, "Content-Security-Policy", AG_UI_CSP);
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    if (set_cookie) {
        ag_buf ck = {0};
        ag_buf_printf(&ck, "ctrace_token=%s; Path=/; HttpOnly; SameSite=Strict", s->cfg->token);
        MHD_add_response_header(r, "Set-Cookie", ag_buf_cstr(&ck));
        ag_buf_free(&ck);
    }
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* ---- HTTP framing ---- */

typedef struct {
    const char *first;
    bool bad;
} content_lengths;

static enum MHD_Result check_content_length(void *cls, enum MHD_ValueKind kind, const char *key,
                                            const char *value)
{
    content_lengths *cl = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) return MHD_YES;
    if (!value || !*value || value[strspn(value, "0123456789")]) cl->bad = true;
    else if (!cl->first) cl->first = value;
    else if (strcmp(cl->first, value)) cl->bad = true;
    return MHD_YES;
}

/* What libmicrohttpd lets through and a request smuggler relies on, or a
 * client should be told plainly (RFC 9112): a Content-Length that is not
 * one number or sent with Transfer-Encoding, HTTP/1.1 without Host, a
 * method intake does not take, an encoded body. Returns 0, or the status with *reason set. The Datadog
 * agent's intake takes uncompressed bodies only, so gzip is a 415. */
static unsigned framing_error(struct MHD_Connection *c, enum route route, const char *method,
                              const char *version, const char **reason)
{
    content_lengths cl = {NULL, false};
    MHD_get_connection_values(c, MHD_HEADER_KIND, check_content_length, &cl);
    if (cl.bad)
        return *reason = "Content-Length must be one number (conflicting or malformed)", 400;
    if (cl.first &&
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return *reason = "Content-Length and Transfer-Encoding together", 400;
    if (!strcmp(version, MHD_HTTP_VERSION_1_1) &&
        !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))
        return *reason = "HTTP/1.1 request without a Host header", 400;
    if (!takes_body(route) && route != R_SERVICES) return 0;
    if (strcmp(method, "PUT") && strcmp(method, "POST"))
        return *reason = "method not allowed: intake takes PUT or POST", 405;
    const char *enc =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (enc && strcasecmp(enc, "identity"))
        return *reason = "unsupported Content-Encoding: send the payload uncompressed", 415;
    return 0;
}

/* ---- the libmicrohttpd callbacks ---- */

/* Checks done once the headers are in; returns a reply or MHD_YES to go on. */
static enum MHD_Result early_checks(ag_server *s, listener *l, struct MHD_Connection *c,
                                    request *req, const char *method, const char *version,
                                    bool *stop)
{
    *stop = true;
    /* The daemons accept from the moment they start, and /info needs the
     * port they were given: until it is built, a client is told to retry
     * (a tracer does) rather than read it half-written. */
    if (!atomic_load_explicit(&s->ready, memory_order_acquire))
        return send_text(s, c, MHD_HTTP_SERVICE_UNAVAILABLE, "ctrace-agent is starting, retry\n");
    const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
    if (site && !strcasecmp(site, "cross-site"))
        return send_text(s, c, MHD_HTTP_FORBIDDEN, "cross-site requests are refused\n");
    bool browser_side = req->route == R_API || req->route == R_UI;
    /* The API and UI check Host whatever the bind; the tracer endpoints
     * on a loopback bind too (every local tracer names the agent
     * localhost or 127.0.0.1), but not beyond it, where tracers in
     * containers or on other hosts name it by any DNS name. */
    if (!l->is_unix && (browser_side || s->loopback) &&
        !host_is_safe(s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host")))
        return send_text(s, c, MHD_HTTP_FORBIDDEN,
                         "Host must be an IP address, localhost or this machine's name\n");
    /* No web page may write traces, same-site (another port of
     * localhost) or not: a fetch() with a body and no Content-Type
     * would otherwise be read as JSON and stored, and forwarded. */
    if (!browser_side && req->route != R_INFO && req->route != R_NOT_FOUND && from_browser(c))
        return send_text(s, c, MHD_HTTP_FORBIDDEN, "requests from web pages are refused\n");
    if (browser_side) {
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return send_json_error_allowing(s, c, MHD_HTTP_METHOD_NOT_ALLOWED,
                                            "only GET is supported", "GET, HEAD");
        if (check_token(s, c) < 0)
            return req->route == R_API
                       ? send_json_error(s, c, MHD_HTTP_UNAUTHORIZED, "missing or invalid token")
                       : send_text(s, c, MHD_HTTP_UNAUTHORIZED, "missing or invalid token\n");
    }
    const char *reason;
    unsigned status = framing_error(c, req->route, method, version, &reason);
    if (status) {
        count(s, 0, 0, 1, 0);
        return send_reason_allowing(s, c, status, reason,
                                    status == MHD_HTTP_METHOD_NOT_ALLOWED ? "PUT, POST" : NULL);
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    unsigned long long length = cl ? strtoull(cl, NULL, 10) : 0;
    if (length > s->cfg->max_request_bytes) {
        /* A client that did not ask (Expect: 100-continue) is sending the
         * body already: refused now, it gets a broken pipe before it can
         * read the 413. So a body up to DRAIN_FACTOR times the limit is
         * read and discarded (append_body keeps nothing once
         * error_status is set) and the 413 comes after it. */
        if (!MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT) &&
            length / DRAIN_FACTOR <= s->cfg->max_request_bytes) {
            req->error_status = MHD_HTTP_CONTENT_TOO_LARGE;
            req->error_msg = "payload larger than max_request_bytes";
            *stop = false;
            return MHD_YES;
        }
        count(s, 0, 0, 1, 0);
        return send_reason(s, c, MHD_HTTP_CONTENT_TOO_LARGE,
                           "payload larger than max_request_bytes");
    }
    req->expected = (size_t)length;
    *stop = false;
    return MHD_YES;
}

static void append_body(ag_server *s, request *req, const char *data, size_t n)
{
    if (req->error_status || !takes_body(req->route)) return; /* drained, not kept */
    if (req->body.len + n > s->cfg->max_request_bytes) {
        req->error_status = MHD_HTTP_CONTENT_TOO_LARGE;
        req->error_msg = "payload larger than max_request_bytes";
        return;
    }
    size_t before = req->body.cap;
    /* the whole body at once, not a doubling series of copies (MHD hands
     * it over in pieces of its read buffer), when it fits the in-flight
     * budget; past it, the growth below refuses the request as before */
    if (!before && req->expected > n &&
        atomic_load(&s->inflight) + req->expected <= s->cfg->max_inflight_bytes)
        ag_buf_reserve(&req->body, req->expected);
    ag_buf_append(&req->body, data, n);
    size_t grew = req->body.cap - before;
    if (grew) {
        size_t now = atomic_fetch_add(&s->inflight, grew) + grew;
        req->accounted += grew;
        if (now > s->cfg->max_inflight_bytes) {
            req->error_status = MHD_HTTP_SERVICE_UNAVAILABLE;
            req->error_msg = "agent overloaded: too many request bytes in flight, retry later";
        }
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    listener *l = cls;
    ag_server *s = l->srv;
    request *req = *con_cls;
    if (!req) {
        req = ag_xcalloc(1, sizeof *req);
        req->route = route_of(url);
        req->srv = s;
        req->conn = c;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        req->slot = ci ? ci->socket_context : NULL;
        atomic_init(&req->phase, P_RECEIVING);
        *con_cls = req;
        pthread_mutex_lock(&s->stats_mu);
        s->stats.requests++;
        pthread_mutex_unlock(&s->stats_mu);
        bool stop;
        enum MHD_Result rc = early_checks(s, l, c, req, method, version, &stop);
        if (stop) req->replied = true;
        return rc;
    }
    if (atomic_load_explicit(&req->phase, memory_order_acquire) == P_COMMITTED) {
        ag_conn_restart(s->deadlines, req->slot); /* the answer's own time */
        return answer_traces(s, c, method, url, req, req->commit_status);
    }
    if (req->replied) { /* replied early: discard whatever follows */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        append_body(s, req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    req->replied = true;
    if (req->error_status) {
        count(s, 0, 0, 1, 0);
        return send_reason(s, c, (unsigned)req->error_status, req->error_msg);
    }
    switch (req->route) {
    case R_TRACES_V03:
    case R_TRACES_V04:
    case R_TRACES_V05: return handle_traces(s, c, method, url, req);
    case R_SERVICES: return send_text(s, c, MHD_HTTP_OK, "OK");
    case R_STATS:
        forward(s, c, method, url, req);
        return send_reply(s, c, MHD_HTTP_OK, NULL, (void *)"", 0, false, NULL);
    case R_INFO: return send_info(s, c);
    case R_TELEMETRY:
        return send_reply(s, c, MHD_HTTP_OK, "application/json", (void *)"{}", 2, false, NULL);
    case R_API: return handle_api(s, c, url);
    case R_UI: return handle_ui(s, c, url, check_token(s, c) == 1);
    default: return send_text(s, c, MHD_HTTP_NOT_FOUND, "404 page not found\n");
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    listener *l = cls;
    request *req = *con_cls;
    if (!req) return;
    /* the next request on this connection has its own deadline */
    ag_conn_restart(l->srv->deadlines, req->slot);
    atomic_fetch_sub(&l->srv->inflight, req->accounted);
    ag_buf_free(&req->body);
    free(req);
    *con_cls = NULL;
}

/* Every connection gets a deadline (deadline.h) from its start: the one
 * it had in the gate. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    listener *l = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci) return;
        ag_conn *slot = ag_deadlines_add(l->srv->deadlines, ci->connect_fd);
        size_t fd = (size_t)ci->connect_fd;
        int64_t due = fd < l->srv->handoff_len ? atomic_exchange(&l->srv->handoff[fd], 0) : 0;
        if (due) ag_conn_set_deadline(slot, due); /* the clock of its first line goes on */
        *socket_context = slot;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        ag_deadlines_remove(l->srv->deadlines, *socket_context);
        *socket_context = NULL;
    }
}

/* Over --max-connections, a new connection is closed unanswered. The gate
 * refuses it first and leaves the registry before passing one on, so this
 * only backs it up. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    listener *l = cls;
    return ag_deadlines_full(l->srv->deadlines) ? MHD_NO : MHD_YES;
}

/* The gate's pass (gate.h): the deadline waits in handoff for on_connection,
 * on a pool thread. If libmicrohttpd refuses, it has closed fd, and the
 * stale entry is overwritten by the next connection on that descriptor. */
static void pass_to_daemon(void *arg, int fd, const struct sockaddr *addr, socklen_t addrlen,
                           int64_t deadline_ns)
{
    listener *l = arg;
    if ((size_t)fd < l->srv->handoff_len) atomic_store(&l->srv->handoff[fd], deadline_ns);
    (void)MHD_add_connection(l->daemon, fd, addr, addrlen);
}

/* libmicrohttpd cannot tell that a socket it was handed is a unix one, so
 * it tries TCP_NODELAY and TCP_CORK on it and reports each failure (the
 * accepted sockets it knew were unix). Those reports are dropped for the
 * unix daemon; every other message goes to stderr as before. */
static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    const listener *l = cls;
    if (l->is_unix && (!strncmp(fmt, "Setting %s option to %s state failed", 36) ||
                       !strncmp(fmt, "Failed to push the data", 23)))
        return;
    vfprintf(stderr, fmt, ap);
}

/* ---- startup ---- */

/* A daemon without a listening socket: the gate accepts for it. */
static struct MHD_Daemon *start_daemon(ag_server *s, listener *l, unsigned threads)
{
    l->srv = s;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)log_mhd, l}, /* first: it logs the others */
        /* the real limit is on_accept's, for the whole agent; this one,
         * which libmicrohttpd splits between its threads, only backs it up */
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)s->cfg->max_connections + 64 * threads, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, s->cfg->connection_timeout, NULL},
        {MHD_OPTION_THREAD_POOL_SIZE, threads, NULL},
        /* MHD reads a body in pieces of its per-connection buffer: at the
         * default 32 KiB a 430 KB payload took ~18 poll+recv pairs and as
         * many callbacks, at 128 KiB ~4 (3% less agent CPU per span on the
         * ingest benchmark). Pool pages are touched only as used. */
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 128 * 1024, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_INCREMENT, 32 * 1024, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, l},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, l},
        {MHD_OPTION_END, 0, NULL},
    };
    /* epoll with a pool of threads: an idle or slow connection costs a
     * descriptor and a little memory, not a thread; a request waiting
     * for its commit is suspended, not sleeping on a pool thread. */
    l->daemon =
        MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_USE_EPOLL_INTERNAL_THREAD |
                             MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
                         0, on_accept, l, on_request, l, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    return l->daemon;
}

/* The TCP listening socket, as libmicrohttpd made it: SO_REUSEADDR, so a
 * restarted agent gets its port back at once, but not SO_REUSEPORT, which
 * let a second agent bind the same port and silently take half the
 * traffic into another database; IPv6 only on an IPv6 address. -1 on
 * failure. */
static int listen_tcp(const struct addrinfo *a)
{
    int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (a->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (bind(fd, a->ai_addr, a->ai_addrlen) || listen(fd, SOMAXCONN)) {
        close(fd);
        return -1;
    }
    return fd;
}

static int start_tcp(ag_server *s, char *err, size_t errlen)
{
    const ag_config *c = s->cfg;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%d", c->listen_port);
    int gai = getaddrinfo(c->listen_host, port, &hints, &res);
    if (gai) return snprintf(err, errlen, "--listen %s: %s", c->listen_host, gai_strerror(gai)), -1;
    if (res->ai_family == AF_INET)
        s->loopback = (ntohl(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr) >> 24) == 127;
    else s->loopback = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr);
    s->tcp_fd = listen_tcp(res);
    freeaddrinfo(res);
    if (s->tcp_fd < 0)
        return snprintf(err, errlen, "cannot listen on %s:%d (in use?)", c->listen_host,
                        c->listen_port),
               -1;
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    s->port = c->listen_port;
    if (!getsockname(s->tcp_fd, (struct sockaddr *)&bound, &blen))
        s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    s->tcp = start_daemon(s, &s->tcp_l, TCP_THREADS);
    if (!s->tcp) return snprintf(err, errlen, "cannot serve on %s", c->listen_host), -1;
    return 0;
}

/* Makes path free for bind: nothing there, or a socket nobody listens on
 * (a previous agent's, left by kill -9), which is removed. Anything else
 * is refused: a regular file or directory is not ours to delete, and a
 * socket that accepts a connection belongs to a live agent whose traffic
 * a second one must not take over. */
static int claim_socket_path(const struct sockaddr_un *sa, char *err, size_t errlen)
{
    const char *path = sa->sun_path;
    struct stat st;
    if (lstat(path, &st)) {
        if (errno == ENOENT) return 0;
        return snprintf(err, errlen, "--socket %s: %s", path, strerror(errno)), -1;
    }
    if (!S_ISSOCK(st.st_mode))
        return snprintf(err, errlen, "--socket %s: exists and is not a socket; not removing it",
                        path),
               -1;
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return snprintf(err, errlen, "--socket %s: %s", path, strerror(errno)), -1;
    int live = connect(probe, (const struct sockaddr *)sa, sizeof *sa) == 0;
    int e = errno;
    close(probe);
    if (live)
        return snprintf(err, errlen,
                        "--socket %s: another process is listening on it "
                        "(another ctrace-agent?)",
                        path),
               -1;
    if (e != ECONNREFUSED)
        return snprintf(err, errlen, "--socket %s: cannot tell whether it is in use: %s", path,
                        strerror(e)),
               -1;
    if (unlink(path) && errno != ENOENT)
        return snprintf(err, errlen, "--socket %s: cannot remove the stale socket: %s", path,
                        strerror(errno)),
               -1;
    return 0;
}

static int start_unix(ag_server *s, char *err, size_t errlen)
{
    const char *path = s->cfg->socket_path;
    struct sockaddr_un sa = {0};
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path)
        return snprintf(err, errlen, "--socket: path too long"), -1;
    strcpy(sa.sun_path, path);
    if (claim_socket_path(&sa, err, errlen)) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct stat st;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 128) ||
        stat(path, &st)) {
        snprintf(err, errlen, "--socket %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    s->unix_fd = fd;
    s->unix_dev = st.st_dev;
    s->unix_ino = st.st_ino;
    s->unix_l.is_unix = true;
    s->unix_daemon = start_daemon(s, &s->unix_l, UNIX_THREADS);
    if (!s->unix_daemon) return snprintf(err, errlen, "--socket %s: cannot serve", path), -1;
    return 0;
}

/* The handoff table: one deadline per descriptor the process may open. */
static void make_handoff(ag_server *s)
{
    struct rlimit rl;
    size_t n = getrlimit(RLIMIT_NOFILE, &rl) ? 0 : (size_t)rl.rlim_cur;
    if (n > (1u << 20)) n = 1u << 20; /* beyond, a connection's deadline starts over */
    s->handoff = ag_xcalloc(n ? n : 1, sizeof *s->handoff);
    s->handoff_len = n;
}

/* Starts accepting, once both daemons and /info are ready. */
static int start_gate(ag_server *s, char *err, size_t errlen)
{
    ag_gate_listener l[AG_GATE_MAX_LISTENERS];
    unsigned n = 0;
    if (s->tcp_fd >= 0) l[n++] = (ag_gate_listener){s->tcp_fd, pass_to_daemon, &s->tcp_l};
    if (s->unix_fd >= 0) l[n++] = (ag_gate_listener){s->unix_fd, pass_to_daemon, &s->unix_l};
    const char *h[N_COMMON][2];
    common_header_list(s, h);
    ag_buf headers = {0};
    for (int i = 0; i < N_COMMON; i++) ag_buf_printf(&headers, "%s: %s\r\n", h[i][0], h[i][1]);
    s->gate = ag_gate_start(l, n, s->deadlines, ag_buf_cstr(&headers));
    ag_buf_free(&headers);
    if (!s->gate) return snprintf(err, errlen, "cannot start accepting: %s", strerror(errno)), -1;
    return 0;
}

int ag_server_start(const ag_config *c, ag_store *store, ag_forwarder *fwd, ag_server **out,
                    char *err, size_t errlen)
{
    ag_server *s = ag_xcalloc(1, sizeof *s);
    s->cfg = c;
    s->store = store;
    s->fwd = fwd;
    s->tcp_fd = s->unix_fd = -1;
    if (gethostname(s->hostname, sizeof s->hostname)) s->hostname[0] = '\0';
    s->hostname[sizeof s->hostname - 1] = '\0';
    pthread_mutex_init(&s->stats_mu, NULL);
    pthread_mutex_init(&s->wait_mu, NULL);
    pthread_cond_init(&s->wait_done, NULL);
    s->deadlines = ag_deadlines_start(c->connection_timeout, c->max_connections);
    make_handoff(s);
    atomic_init(&s->inflight, 0);
    atomic_init(&s->ready, false);
    if ((c->listen_host && start_tcp(s, err, errlen)) ||
        (c->socket_path && start_unix(s, err, errlen))) {
        ag_server_stop(s);
        return -1;
    }
    ag_info_build(c, s->port, &s->info, s->state);
    atomic_store_explicit(&s->ready, true, memory_order_release);
    if (start_gate(s, err, errlen)) {
        ag_server_stop(s);
        return -1;
    }
    *out = s;
    return 0;
}

int ag_server_port(const ag_server *s) { return s->port; }

bool ag_server_loopback(const ag_server *s) { return s->loopback; }

void ag_server_stop(ag_server *s)
{
    if (!s) return;
    /* every suspended request resumed first (their commits go on: the
     * store closes after the server); new ones are refused meanwhile */
    pthread_mutex_lock(&s->wait_mu);
    s->stopping = true;
    while (s->waiting) pthread_cond_wait(&s->wait_done, &s->wait_mu);
    pthread_mutex_unlock(&s->wait_mu);
    ag_gate_stop(s->gate); /* before the daemons: it passes connections to them */
    if (s->tcp) MHD_stop_daemon(s->tcp);
    if (s->unix_daemon) MHD_stop_daemon(s->unix_daemon);
    if (s->tcp_fd >= 0) close(s->tcp_fd);
    if (s->unix_fd >= 0) {
        close(s->unix_fd);
        /* only the socket this agent made: not one that replaced it */
        struct stat st;
        if (!lstat(s->cfg->socket_path, &st) && st.st_dev == s->unix_dev &&
            st.st_ino == s->unix_ino)
            unlink(s->cfg->socket_path);
    }
    ag_deadlines_stop(s->deadlines);
    pthread_cond_destroy(&s->wait_done);
    pthread_mutex_destroy(&s->wait_mu);
    ag_buf_free(&s->info);
    free(s->handoff);
    free(s);
}

void ag_server_get_stats(ag_server *s, ag_server_stats *out)
{
    pthread_mutex_lock(&s->stats_mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->stats_mu);
    if (s->gate) ag_gate_get_stats(s->gate, &out->gate);
}
