/* ctrace-agent's configuration: command-line flags, finalized and
 * validated once at startup before anything else runs. */
#ifndef AG_CONFIG_H
#define AG_CONFIG_H

#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define AG_VERSION "0.1.0"
#define AG_DD_AGENT_VERSION "7.60.0" /* the Datadog agent we answer as */

typedef struct {
    char *listen_host; /* NULL: no TCP listener (--listen off) */
    int listen_port;   /* 0: any free port */
    char *socket_path; /* NULL: no unix socket */
    char *data_dir;
    char *db_path;             /* data_dir/ctrace.db */
    double retention_seconds;  /* 0: keep forever */
    uint64_t max_size;         /* bytes; 0: unlimited */
    double retention_interval; /* seconds between retention passes */
    double svcmap_wait;        /* seconds a child waits for a remote parent */
    char *forward_url;
    char *token;
    uint64_t max_request_bytes;
    unsigned max_connections;
    unsigned connection_timeout; /* seconds */
    uint64_t max_inflight_bytes; /* memory of requests at once: bodies, their
                                     decoded form, batches awaiting commit */
    size_t forward_queue_bytes;
    bool sync_full;
    char *default_env;
} ag_config;

/* Parses argv (after the program name; no subcommand). Returns 0 when the
 * agent should run, 1 when --help or --version was printed, -1 with a
 * reason in err. Strings in c are owned by c (ag_config_free). */
AG_MUST_CHECK int ag_config_parse(int argc, char **argv, ag_config *c, char *err, size_t errlen);
void ag_config_free(ag_config *c);
void ag_config_usage(FILE *f);
/* mkdir -p; 0 or -1 with errno. */
AG_MUST_CHECK int ag_mkdirs(const char *path);

#endif
