/*
 * config — the tracer's settings, finalized once.
 *
 * Settings come from defaults, then the DD_* environment, then explicit
 * ct_config_set calls (same names as the environment). ct_tracer_new copies
 * the config, so a running tracer's settings never change under it. A bad
 * value is reported once on stderr with the variable's name and ignored;
 * configuration never makes the application fail.
 */
#ifndef CT_CONFIG_H
#define CT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "ctrace.h"

/* A key:value pair of DD_TAGS or set_tags. Owned strings. */
typedef struct ct_config_tag {
    char *key;
    char *value;
} ct_config_tag;

struct ct_config {
    char *service;       /* DD_SERVICE; NULL: the caller's default */
    char *env;           /* DD_ENV */
    char *version;       /* DD_VERSION */
    ct_config_tag *tags; /* DD_TAGS */
    size_t tag_count;
    ct_config_tag *service_mapping; /* DD_SERVICE_MAPPING: from:to pairs */
    size_t service_mapping_count;
    int enabled;      /* DD_TRACE_ENABLED (1) */
    int debug;        /* DD_TRACE_DEBUG (0) */
    int trace_id_128; /* DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED (1) */
    /* delivery */
    char *agent_url;             /* resolved: http://host:port or unix:///path */
    double agent_timeout_s;      /* DD_TRACE_AGENT_TIMEOUT_SECONDS (2.0) */
    int api_version;             /* DD_TRACE_API_VERSION: 5 (default) or 4 */
    double writer_interval_s;    /* DD_TRACE_WRITER_INTERVAL_SECONDS (1.0) */
    size_t writer_buffer_bytes;  /* DD_TRACE_WRITER_BUFFER_SIZE_BYTES (20 MiB) */
    size_t writer_payload_bytes; /* DD_TRACE_WRITER_MAX_PAYLOAD_SIZE_BYTES (20 MiB) */
    int in_memory_writer;        /* _CT_IN_MEMORY_WRITER: tests read traces */
    /* partial flush */
    int partial_flush_enabled;        /* DD_TRACE_PARTIAL_FLUSH_ENABLED (1) */
    uint32_t partial_flush_min_spans; /* DD_TRACE_PARTIAL_FLUSH_MIN_SPANS (300) */
    /* sampling */
    char *sampling_rules; /* DD_TRACE_SAMPLING_RULES (JSON array) or NULL */
    double sample_rate;   /* DD_TRACE_SAMPLE_RATE; < 0 when unset */
    double rate_limit;    /* DD_TRACE_RATE_LIMIT (100 traces/s; < 0: none) */
    /* identity of the client, sent in Datadog-Meta-* headers */
    char *lang_version;     /* e.g. "3.11.7" */
    char *lang_interpreter; /* e.g. "CPython" */
    char *tracer_version;   /* e.g. "0.1.0" */
};

/* The environment variables ct_config_load_env reads, in the order it
 * reads them (later ones win: the agent URL after host and port). */
extern const char *const ct__config_env_names[];
extern const size_t ct__config_env_name_count;

/* Copies a config (deep). NULL when out of memory. */
ct_config *ct__config_copy(const ct_config *config);

/* Parses a DD_TAGS-style list ("k:v,k2:v2" or "k:v k2:v2") and appends each
 * pair to config->tags. Malformed items are skipped. CT_OK or CT_ENOMEM. */
int ct__config_parse_tags(ct_config *config, const char *text);

#endif
