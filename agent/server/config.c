/* Command-line parsing (see config.h). getopt_long with every flag also
 * accepted as --flag=value; each value is parsed strictly so that a typo
 * stops the agent at startup with the offending flag named. */
#include "config.h"
#include "buf.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void ag_config_usage(FILE *f)
{
    fputs("usage: ctrace-agent [options]\n"
          "       ctrace-agent summary [--data DIR]\n"
          "\n"
          "A local Datadog-compatible trace agent: receives traces from any Datadog\n"
          "tracer (v0.3/v0.4/v0.5 on /vX/traces), stores them durably in SQLite,\n"
          "serves a query API under /api/v1/ and a web UI at /.\n"
          "\n"
          "options:\n"
          "  --listen HOST:PORT      TCP address (default 127.0.0.1:8126; port 0 picks a\n"
          "                          free one; 'off' disables TCP). Binding beyond\n"
          "                          loopback exposes the UI: use --token.\n"
          "  --socket PATH           also listen on a unix socket (default: none)\n"
          "  --data DIR              data directory holding ctrace.db (default\n"
          "                          $XDG_DATA_HOME/ctrace or ~/.local/share/ctrace)\n"
          "  --retention DURATION    drop traces older than this: 30m, 12h, 7d, 2w\n"
          "                          (default 7d; 0 keeps everything)\n"
          "  --max-size SIZE         keep the database under this size by dropping the\n"
          "                          oldest traces: 500MiB, 4GiB (default 4GiB; 0 = none)\n"
          "  --retention-interval DURATION\n"
          "                          how often retention runs, and resolves the service\n"
          "                          map's calls between processes (default 30s)\n"
          "  --servicemap-wait DURATION\n"
          "                          how long a span waits for its parent span from\n"
          "                          another process before it is counted as unresolved\n"
          "                          instead of an edge of the service map (default 5m)\n"
          "  --forward URL           also forward every accepted payload, unchanged, to\n"
          "                          this Datadog agent (e.g. http://localhost:8127)\n"
          "  --forward-queue SIZE    memory for payloads waiting to be forwarded; when\n"
          "                          full the newest is dropped and counted (default 64MiB)\n"
          "  --token TOKEN           require this token for the UI and query API\n"
          "                          (Authorization: Bearer TOKEN, ?token=, or the cookie\n"
          "                          the UI sets); trace intake stays open. Never printed;\n"
          "                          hidden from ps once parsed, but prefer:\n"
          "  --token-file PATH       read the token from the first line of this file\n"
          "                          (or set CTRACE_AGENT_TOKEN in the environment)\n"
          "  --max-request-bytes SIZE  largest accepted payload (default 50MiB; 413 over)\n"
          "  --max-connections N     concurrent connections (default 4096; the descriptor\n"
          "                          limit is raised to fit)\n"
          "  --connection-timeout SECONDS  a connection idle this long is closed, and so\n"
          "                          is one whose request takes longer than this to\n"
          "                          arrive and be answered, however slowly it trickles\n"
          "                          in (default 30)\n"
          "  --max-inflight SIZE     memory of the requests at once: bodies and their\n"
          "                          decoded form; beyond it 503, or 413 for a payload\n"
          "                          that could never fit (default 1GiB)\n"
          "  --sync full|normal      fsync every commit (full, default: a 200 survives\n"
          "                          power loss) or only at checkpoints (normal: a 200\n"
          "                          survives a crash of the agent, not of the machine)\n"
          "  --env ENV               default_env reported in /info (default 'none')\n"
          "  --help                  show this help\n"
          "  --version               print the version\n"
          "\n"
          "ctrace-agent summary prints services, resources and the slowest traces of\n"
          "the database in --data (the agent may be running or not).\n",
          f);
}

int ag_mkdirs(const char *path)
{
    char *p = ag_xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0700) && errno != EEXIST) return free(p), -1;
        *s = '/';
    }
    int rc = mkdir(p, 0700) && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

static int parse_listen(const char *v, ag_config *c, char *err, size_t errlen)
{
    free(c->listen_host);
    c->listen_host = NULL;
    if (!strcmp(v, "off") || !*v) return 0;
    const char *colon = strrchr(v, ':');
    const char *port = colon ? colon + 1 : v;
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 0 || p > 65535)
        return snprintf(err, errlen, "--listen: bad port in '%s'", v), -1;
    c->listen_port = (int)p;
    if (!colon || colon == v) {
        c->listen_host = ag_xstrdup("127.0.0.1");
    } else if (v[0] == '[' && colon[-1] == ']') {
        c->listen_host = ag_xstrndup(v + 1, (size_t)(colon - v - 2));
    } else {
        c->listen_host = ag_xstrndup(v, (size_t)(colon - v));
    }
    return 0;
}

enum {
    OPT_LISTEN = 256,
    OPT_SOCKET,
    OPT_DATA,
    OPT_RETENTION,
    OPT_MAX_SIZE,
    OPT_RET_INTERVAL,
    OPT_SVCMAP_WAIT,
    OPT_FORWARD,
    OPT_FORWARD_QUEUE,
    OPT_TOKEN,
    OPT_MAX_REQUEST,
    OPT_MAX_CONN,
    OPT_CONN_TIMEOUT,
    OPT_MAX_INFLIGHT,
    OPT_SYNC,
    OPT_ENV,
    OPT_HELP,
    OPT_VERSION,
    OPT_TOKEN_FILE,
};

static int set_size(const char *flag, const char *v, uint64_t *out, char *err, size_t errlen)
{
    if (ag_parse_size(v, out)) return snprintf(err, errlen, "%s: bad size '%s'", flag, v), -1;
    return 0;
}

static int set_duration(const char *flag, const char *v, double *out, char *err, size_t errlen)
{
    if (ag_parse_duration(v, out))
        return snprintf(err, errlen, "%s: bad duration '%s'", flag, v), -1;
    return 0;
}

/* The token is the file's first line without its line ending; a file
 * that holds no token is an error rather than an agent left open. */
static int read_token_file(const char *path, ag_config *c, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) return snprintf(err, errlen, "--token-file %s: %s", path, strerror(errno)), -1;
    char line[1024];
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    size_t n = got ? strcspn(line, "\r\n") : 0;
    line[n] = '\0';
    if (!n) return snprintf(err, errlen, "--token-file %s: no token on its first line", path), -1;
    free(c->token);
    c->token = ag_xstrdup(line);
    return 0;
}

static int apply(int opt, const char *v, ag_config *c, char *err, size_t errlen)
{
    uint64_t n;
    char *end;
    switch (opt) {
    case OPT_LISTEN: return parse_listen(v, c, err, errlen);
    case OPT_SOCKET:
        free(c->socket_path);
        c->socket_path = *v ? ag_xstrdup(v) : NULL;
        return 0;
    case OPT_DATA:
        free(c->data_dir);
        c->data_dir = ag_xstrdup(v);
        return 0;
    case OPT_RETENTION: return set_duration("--retention", v, &c->retention_seconds, err, errlen);
    case OPT_RET_INTERVAL:
        return set_duration("--retention-interval", v, &c->retention_interval, err, errlen);
    case OPT_SVCMAP_WAIT: return set_duration("--servicemap-wait", v, &c->svcmap_wait, err, errlen);
    case OPT_MAX_SIZE: return set_size("--max-size", v, &c->max_size, err, errlen);
    case OPT_FORWARD:
        if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8) && strncmp(v, "unix://", 7))
            return snprintf(err, errlen,
                            "--forward: URL must start with http://, https:// or unix://"),
                   -1;
        free(c->forward_url);
        c->forward_url = ag_xstrdup(v);
        return 0;
    case OPT_FORWARD_QUEUE:
        if (set_size("--forward-queue", v, &n, err, errlen)) return -1;
        c->forward_queue_bytes = (size_t)n;
        return 0;
    case OPT_TOKEN:
        if (!*v) return snprintf(err, errlen, "--token: empty token"), -1;
        free(c->token);
        c->token = ag_xstrdup(v);
        return 0;
    case OPT_TOKEN_FILE: return read_token_file(v, c, err, errlen);
    case OPT_MAX_REQUEST:
        if (set_size("--max-request-bytes", v, &c->max_request_bytes, err, errlen)) return -1;
        if (!c->max_request_bytes)
            return snprintf(err, errlen, "--max-request-bytes must be > 0"), -1;
        return 0;
    case OPT_MAX_INFLIGHT:
        return set_size("--max-inflight", v, &c->max_inflight_bytes, err, errlen);
    case OPT_MAX_CONN:
    case OPT_CONN_TIMEOUT: {
        long x = strtol(v, &end, 10);
        if (!*v || *end || x <= 0 || x > 100000)
            return snprintf(err, errlen, "%s: bad number '%s'",
                            opt == OPT_MAX_CONN ? "--max-connections" : "--connection-timeout", v),
                   -1;
        if (opt == OPT_MAX_CONN) c->max_connections = (unsigned)x;
        else c->connection_timeout = (unsigned)x;
        return 0;
    }
    case OPT_SYNC:
        if (!strcmp(v, "full")) c->sync_full = true;
        else if (!strcmp(v, "normal")) c->sync_full = false;
        else return snprintf(err, errlen, "--sync: expected full or normal"), -1;
        return 0;
    case OPT_ENV:
        free(c->default_env);
        c->default_env = ag_xstrdup(v);
        return 0;
    }
    return -1;
}

int ag_config_parse(int argc, char **argv, ag_config *c, char *err, size_t errlen)
{
    static const struct option opts[] = {
        {"listen", required_argument, 0, OPT_LISTEN},
        {"socket", required_argument, 0, OPT_SOCKET},
        {"data", required_argument, 0, OPT_DATA},
        {"retention", required_argument, 0, OPT_RETENTION},
        {"max-size", required_argument, 0, OPT_MAX_SIZE},
        {"retention-interval", required_argument, 0, OPT_RET_INTERVAL},
        {"servicemap-wait", required_argument, 0, OPT_SVCMAP_WAIT},
        {"forward", required_argument, 0, OPT_FORWARD},
        {"forward-queue", required_argument, 0, OPT_FORWARD_QUEUE},
        {"token", required_argument, 0, OPT_TOKEN},
        {"token-file", required_argument, 0, OPT_TOKEN_FILE},
        {"max-request-bytes", required_argument, 0, OPT_MAX_REQUEST},
        {"max-connections", required_argument, 0, OPT_MAX_CONN},
        {"connection-timeout", required_argument, 0, OPT_CONN_TIMEOUT},
        {"max-inflight", required_argument, 0, OPT_MAX_INFLIGHT},
        {"sync", required_argument, 0, OPT_SYNC},
        {"env", required_argument, 0, OPT_ENV},
        {"help", no_argument, 0, OPT_HELP},
        {"version", no_argument, 0, OPT_VERSION},
        {0, 0, 0, 0},
    };
    memset(c, 0, sizeof *c);
    c->listen_host = ag_xstrdup("127.0.0.1");
    c->listen_port = 8126;
    c->retention_seconds = 7 * 86400;
    c->max_size = 4ULL << 30;
    c->retention_interval = 30;
    c->svcmap_wait = 300;
    c->max_request_bytes = 50ULL << 20;
    c->max_connections = 4096;
    c->connection_timeout = 30;
    c->max_inflight_bytes = 1ULL << 30;
    c->forward_queue_bytes = 64u << 20;
    c->sync_full = true;
    c->default_env = ag_xstrdup("none");
    optind = 1;
    opterr = 0;
    for (;;) {
        int idx = 0;
        int opt = getopt_long(argc, argv, "h", opts, &idx);
        if (opt == -1) break;
        if (opt == OPT_HELP || opt == 'h') return ag_config_usage(stdout), 1;
        if (opt == OPT_VERSION) return printf("ctrace-agent %s\n", AG_VERSION), 1;
        if (opt == '?' || opt == ':')
            return snprintf(err, errlen, "unknown or incomplete option '%s' (see --help)",
                            argv[optind - 1]),
                   -1;
        if (apply(opt, optarg, c, err, errlen)) return -1;
        /* ps shows argv as it is now: overwrite the secret in place */
        if (opt == OPT_TOKEN) memset(optarg, '*', strlen(optarg));
    }
    if (optind < argc)
        return snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]), -1;
    if (!c->listen_host && !c->socket_path)
        return snprintf(err, errlen, "nothing to listen on: give --listen or --socket"), -1;
    const char *env_token = getenv("CTRACE_AGENT_TOKEN");
    if (!c->token && env_token && *env_token) c->token = ag_xstrdup(env_token);
    if (!c->data_dir) c->data_dir = ag_default_data_dir();
    ag_buf b = {0};
    ag_buf_printf(&b, "%s/ctrace.db", c->data_dir);
    c->db_path = ag_buf_cstr(&b);
    return 0;
}

void ag_config_free(ag_config *c)
{
    free(c->listen_host);
    free(c->socket_path);
    free(c->data_dir);
    free(c->db_path);
    free(c->forward_url);
    free(c->token);
    free(c->default_env);
    memset(c, 0, sizeof *c);
}
