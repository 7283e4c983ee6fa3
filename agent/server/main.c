/* ctrace-agent's entry point: parse the flags, open the store, start the
 * forwarder, the HTTP server and retention, print one startup line, then
 * wait for SIGINT/SIGTERM in the main thread and shut down in the reverse
 * order (stop accepting, let in-flight requests commit, close the store).
 *
 * Signals are blocked before any thread starts, so every thread inherits
 * the mask and only sigtimedwait here ever sees them; SIGPIPE is ignored
 * because clients and upstreams may vanish mid-write. */
#include "config.h"
#include "datalock.h"
#include "forward.h"
#include "http.h"
#include "retention.h"
#include "store.h"
#include "summary.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* The exit status when the database is damaged: a supervisor can tell it
 * from a bad flag (2) or another start-up failure (1) and not loop. */
enum { EXIT_DAMAGED = 3 };

/* Descriptors beyond the connections: SQLite's files and readers, the
 * listeners, libmicrohttpd's epoll and wake-up pipes, curl, the lock. */
enum { RESERVED_FDS = 256 };

/* Raises the soft descriptor limit as far as the hard one allows (1,024
 * by default, less than the connections the agent holds), and lowers
 * --max-connections to what fits, saying so, rather than failing to
 * accept later. */
static void fit_descriptor_limit(ag_config *c)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl)) return;
    rlim_t want = (rlim_t)c->max_connections + RESERVED_FDS;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl)) getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= want) return;
    unsigned fit =
        rl.rlim_cur > 2 * RESERVED_FDS ? (unsigned)(rl.rlim_cur - RESERVED_FDS) : RESERVED_FDS;
    fprintf(stderr,
            "ctrace-agent: the descriptor limit (%llu) allows %u connections, not %u: "
            "serving %u (raise ulimit -n)\n",
            (unsigned long long)rl.rlim_cur, fit, c->max_connections, fit);
    c->max_connections = fit;
}

/* host as a URL writes it: an IPv6 literal in brackets. */
static void url_host(char *out, size_t n, const char *host)
{
    snprintf(out, n, strchr(host, ':') ? "[%s]" : "%s", host);
}

/* The startup line never shows the token: it ends up in logs and
 * terminals' scrollback. The UI URL names an address a browser on this
 * machine can open, loopback for a wildcard bind. */
static void print_startup(const ag_config *c, const ag_server *srv)
{
    char ui[600] = "";
    if (c->listen_host) {
        const char *h = c->listen_host;
        const char *shown = !strcmp(h, "0.0.0.0") ? "127.0.0.1" : !strcmp(h, "::") ? "::1" : h;
        char bound[300], open[300];
        url_host(bound, sizeof bound, h);
        url_host(open, sizeof open, shown);
        snprintf(ui, sizeof ui, "http://%s:%d/%s", open, ag_server_port(srv),
                 c->token ? " (token required)" : "");
        printf("ctrace-agent %s listening on http://%s:%d", AG_VERSION, bound, ag_server_port(srv));
    } else {
        printf("ctrace-agent %s listening", AG_VERSION);
    }
    if (c->socket_path) printf("%s unix:%s", c->listen_host ? " and" : " on", c->socket_path);
    printf(", data %s", c->db_path);
    if (*ui) printf(", UI %s", ui);
    printf("\n");
    printf("ctrace-agent: retention %s, max size %s, forwarding %s%s\n",
           c->retention_seconds > 0 ? "on" : "off", c->max_size ? "on" : "off",
           c->forward_url ? "to " : "off", c->forward_url ? c->forward_url : "");
    if (c->listen_host && !ag_server_loopback(srv) && !c->token)
        fprintf(stderr,
                "ctrace-agent: WARNING: listening on %s, beyond loopback, without a token:\n"
                "ctrace-agent: WARNING: anyone who can reach port %d can read every stored trace\n"
                "ctrace-agent: WARNING: in the UI and query API. Give --token-file PATH (or\n"
                "ctrace-agent: WARNING: CTRACE_AGENT_TOKEN), or listen on 127.0.0.1.\n",
                c->listen_host, ag_server_port(srv));
    fflush(stdout);
}

static void print_stats(ag_server *srv, ag_forwarder *fwd, uint64_t *last_spans, int64_t *last_t)
{
    ag_server_stats s;
    ag_server_get_stats(srv, &s);
    int64_t now = ag_mono_ns();
    if (s.spans == *last_spans) return;
    double rate = (double)(s.spans - *last_spans) / ((double)(now - *last_t) / 1e9);
    printf("ctrace-agent: %llu payloads, %llu spans stored (%.0f spans/s), %llu rejected, "
           "%llu chunks dropped by normalization, %llu spans dropped over the per-span limit",
           (unsigned long long)s.payloads, (unsigned long long)s.spans, rate,
           (unsigned long long)s.rejected, (unsigned long long)s.dropped_chunks,
           (unsigned long long)s.dropped_spans);
    if (s.gate.bad_lines || s.gate.refused_full)
        printf("; %llu malformed request lines answered 400/414, %llu connections refused at "
               "the limit",
               (unsigned long long)s.gate.bad_lines, (unsigned long long)s.gate.refused_full);
    if (fwd) {
        ag_forward_stats f;
        ag_forwarder_get_stats(fwd, &f);
        printf("; forwarded %llu, dropped %llu (queue full), failed %llu",
               (unsigned long long)f.sent, (unsigned long long)f.dropped_full,
               (unsigned long long)f.failed);
    }
    printf("\n");
    fflush(stdout);
    *last_spans = s.spans;
    *last_t = now;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && !strcmp(argv[1], "summary")) return ag_summary_main(argc - 1, argv + 1, stdout);

    ag_config cfg;
    char err[1024];
    int rc = ag_config_parse(argc, argv, &cfg, err, sizeof err);
    if (rc) {
        if (rc < 0) fprintf(stderr, "ctrace-agent: %s\n", err);
        ag_config_free(&cfg);
        return rc < 0 ? 2 : 0;
    }
    if (ag_mkdirs(cfg.data_dir)) {
        fprintf(stderr, "ctrace-agent: cannot create %s: %s\n", cfg.data_dir, strerror(errno));
        ag_config_free(&cfg);
        return 1;
    }
    fit_descriptor_limit(&cfg);
    int lock = ag_datalock_acquire(cfg.data_dir, err, sizeof err);
    if (lock < 0) {
        fprintf(stderr, "ctrace-agent: %s\n", err);
        ag_config_free(&cfg);
        return 1;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    ag_store *store = NULL;
    ag_store_opts so = {cfg.db_path, cfg.sync_full, 0, true};
    rc = ag_store_open(&so, &store, err, sizeof err);
    if (rc) {
        fprintf(stderr, "ctrace-agent: %s\n", err);
        curl_global_cleanup();
        ag_config_free(&cfg);
        return rc == AG_STORE_DAMAGED ? EXIT_DAMAGED : 1;
    }
    ag_forwarder *fwd =
        cfg.forward_url ? ag_forwarder_start(cfg.forward_url, cfg.forward_queue_bytes) : NULL;
    ag_server *srv = NULL;
    if (ag_server_start(&cfg, store, fwd, &srv, err, sizeof err)) {
        fprintf(stderr, "ctrace-agent: %s\n", err);
        ag_forwarder_stop(fwd, 0);
        ag_store_close(store);
        curl_global_cleanup();
        ag_config_free(&cfg);
        return 1;
    }
    ag_retention *ret = NULL;
    if (!ag_store_read_only(store))
        ret = ag_retention_start(cfg.db_path, cfg.retention_seconds, cfg.max_size,
                                 cfg.retention_interval, cfg.svcmap_wait);
    print_startup(&cfg, srv);
    if (ag_store_read_only(store))
        fprintf(stderr,
                "ctrace-agent: WARNING: the disk holding %s is full: serving the stored "
                "traces read-only; payloads are refused (507) until space is freed and the "
                "agent restarted\n",
                cfg.db_path);
    else if (ag_store_disk_full(store))
        fprintf(stderr,
                "ctrace-agent: WARNING: the disk holding %s is full (under 1 MiB "
                "free): payloads are refused (507) until space is freed\n",
                cfg.db_path);

    uint64_t last_spans = 0;
    int64_t last_t = ag_mono_ns();
    for (;;) {
        struct timespec every = {60, 0};
        int sig = sigtimedwait(&sigs, NULL, &every);
        if (sig > 0) break;
        print_stats(srv, fwd, &last_spans, &last_t);
    }
    last_spans = (uint64_t)-1; /* the counters once more, whatever changed */
    print_stats(srv, fwd, &last_spans, &last_t);
    printf("ctrace-agent: shutting down\n");
    ag_server_stop(srv);
    ag_retention_stop(ret);
    ag_forwarder_stop(fwd, 2000);
    ag_store_stats st;
    ag_store_get_stats(store, &st);
    ag_store_close(store);
    printf("ctrace-agent: stopped after %llu commits, %llu chunks, %llu spans stored\n",
           (unsigned long long)st.commits, (unsigned long long)st.traces,
           (unsigned long long)st.spans);
    curl_global_cleanup();
    ag_datalock_release(lock);
    ag_config_free(&cfg);
    return 0;
}
