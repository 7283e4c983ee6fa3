/*
 * config.c — defaults, DD_* environment and explicit settings (see
 * config.h). Every setting is parsed by one function, whichever way it
 * arrives, so the environment and ct_config_set can never disagree. A bad
 * value keeps the previous one and prints one line naming the variable.
 */
#include "config.h"
#include "alloc.h"

#include "sampler.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MiB (1024u * 1024u)
#define DEFAULT_SOCKET "/var/run/datadog/apm.socket"

static char *dup_or_null(const char *s) { return s ? ct__strdup(s) : NULL; }

/* Sets *slot to a copy of value (NULL for an empty one). CT_OK, or
 * CT_ENOMEM with *slot unchanged. */
static int replace(char **slot, const char *value)
{
    char *copy = NULL;
    if (value && *value && !(copy = ct__strdup(value))) return CT_ENOMEM;
    ct__free(*slot);
    *slot = copy;
    return CT_OK;
}

static int parse_bool(const char *value, int *out)
{
    if (!strcasecmp(value, "1") || !strcasecmp(value, "true") || !strcasecmp(value, "yes") ||
        !strcasecmp(value, "on"))
        *out = 1;
    else if (!strcasecmp(value, "0") || !strcasecmp(value, "false") || !strcasecmp(value, "no") ||
             !strcasecmp(value, "off"))
        *out = 0;
    else return CT_EINVAL;
    return CT_OK;
}

static int parse_double(const char *value, double *out, double min)
{
    char *end;
    errno = 0;
    double d = strtod(value, &end);
    if (errno || end == value || *end || !(d >= min) || d > 1e9) return CT_EINVAL;
    *out = d;
    return CT_OK;
}

static int parse_size(const char *value, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    if (errno || end == value || *end || n == 0 || value[0] == '-') return CT_EINVAL;
    *out = (size_t)n;
    return CT_OK;
}

ct_config *ct_config_new(void)
{
    ct_config *config = ct__calloc(1, sizeof *config);
    if (!config) return NULL;
    config->enabled = 1;
    config->trace_id_128 = 1;
    config->agent_timeout_s = 2.0;
    config->api_version = 5;
    config->writer_interval_s = 1.0;
    config->writer_buffer_bytes = 20 * MiB;
    config->writer_payload_bytes = 20 * MiB;
    config->partial_flush_enabled = 1;
    config->partial_flush_min_spans = 300;
    config->sample_rate = -1;
    config->rate_limit = 100;
    config->agent_url = ct__strdup(access(DEFAULT_SOCKET, W_OK) == 0 ? "unix://" DEFAULT_SOCKET
                                                                     : "http://localhost:8126");
    config->tracer_version = ct__strdup(CTRACE_VERSION);
    if (!config->agent_url || !config->tracer_version) {
        ct_config_free(config);
        return NULL;
    }
    return config;
}

/* ddtrace's parse_tags_str: "k:v,k2:v2" or "k:v k2:v2", appended to
 * *pairs. Malformed items are skipped. CT_OK or CT_ENOMEM. */
static int parse_pairs(const char *text, ct_config_tag **pairs, size_t *count)
{
    char *copy = ct__strdup(text);
    if (!copy) return CT_ENOMEM;
    int comma = strchr(copy, ',') != NULL;
    char *save = NULL;
    for (char *item = strtok_r(copy, comma ? "," : " ", &save); item;
         item = strtok_r(NULL, comma ? "," : " ", &save)) {
        while (*item == ' ') item++;
        char *end = item + strlen(item);
        while (end > item && end[-1] == ' ') *--end = '\0';
        char *colon = strchr(item, ':');
        if (!*item || colon == item) continue;
        const char *value = colon ? colon + 1 : "";
        if (colon) *colon = '\0';
        ct_config_tag *grown = ct__realloc(*pairs, (*count + 1) * sizeof *grown);
        if (!grown) {
            ct__free(copy);
            return CT_ENOMEM;
        }
        *pairs = grown;
        char *key = ct__strdup(item), *value_copy = ct__strdup(value);
        if (!key || !value_copy) {
            ct__free(key);
            ct__free(value_copy);
            ct__free(copy);
            return CT_ENOMEM;
        }
        grown[*count].key = key;
        grown[*count].value = value_copy;
        (*count)++;
    }
    ct__free(copy);
    return CT_OK;
}

int ct__config_parse_tags(ct_config *config, const char *text)
{
    return parse_pairs(text, &config->tags, &config->tag_count);
}

/* DD_AGENT_HOST / DD_TRACE_AGENT_PORT build an http URL unless a full
 * DD_TRACE_AGENT_URL was given (it wins, as in ddtrace). */
static int set_agent_part(ct_config *config, const char *host, const char *port)
{
    if (getenv("DD_TRACE_AGENT_URL")) return CT_OK;
    const char *env_host = getenv("DD_AGENT_HOST");
    const char *env_port = getenv("DD_TRACE_AGENT_PORT");
    host = host ? host : (env_host && *env_host ? env_host : "localhost");
    port = port ? port : (env_port && *env_port ? env_port : "8126");
    char url[512];
    int ipv6 = strchr(host, ':') != NULL;
    snprintf(url, sizeof url, ipv6 ? "http://[%s]:%s" : "http://%s:%s", host, port);
    return replace(&config->agent_url, url);
}

static int set_agent_url(ct_config *config, const char *value)
{
    if (strncmp(value, "http://", 7) && strncmp(value, "https://", 8) &&
        strncmp(value, "unix://", 7))
        return CT_EINVAL;
    return replace(&config->agent_url, value);
}

int ct_config_set(ct_config *config, const char *name, const char *value)
{
    if (!config || !name || !value) return CT_EINVAL;
    double d;
    if (!strcmp(name, "DD_SERVICE")) return replace(&config->service, value);
    else if (!strcmp(name, "DD_ENV")) return replace(&config->env, value);
    else if (!strcmp(name, "DD_VERSION")) return replace(&config->version, value);
    else if (!strcmp(name, "DD_TAGS")) return ct__config_parse_tags(config, value);
    else if (!strcmp(name, "DD_SERVICE_MAPPING"))
        return parse_pairs(value, &config->service_mapping, &config->service_mapping_count);
    else if (!strcmp(name, "DD_TRACE_ENABLED")) return parse_bool(value, &config->enabled);
    else if (!strcmp(name, "DD_TRACE_DEBUG")) return parse_bool(value, &config->debug);
    else if (!strcmp(name, "DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED"))
        return parse_bool(value, &config->trace_id_128);
    else if (!strcmp(name, "DD_TRACE_AGENT_URL")) return set_agent_url(config, value);
    else if (!strcmp(name, "DD_AGENT_HOST")) return set_agent_part(config, value, NULL);
    else if (!strcmp(name, "DD_TRACE_AGENT_PORT")) {
        if (atoi(value) <= 0 || atoi(value) > 65535) return CT_EINVAL;
        return set_agent_part(config, NULL, value);
    } else if (!strcmp(name, "DD_TRACE_AGENT_TIMEOUT_SECONDS"))
        return parse_double(value, &config->agent_timeout_s, 0.001);
    else if (!strcmp(name, "DD_TRACE_API_VERSION")) {
        if (!strcmp(value, "v0.5")) config->api_version = 5;
        else if (!strcmp(value, "v0.4")) config->api_version = 4;
        else return CT_EINVAL;
    } else if (!strcmp(name, "DD_TRACE_WRITER_INTERVAL_SECONDS"))
        return parse_double(value, &config->writer_interval_s, 0.001);
    else if (!strcmp(name, "DD_TRACE_WRITER_BUFFER_SIZE_BYTES"))
        return parse_size(value, &config->writer_buffer_bytes);
    else if (!strcmp(name, "DD_TRACE_WRITER_MAX_PAYLOAD_SIZE_BYTES"))
        return parse_size(value, &config->writer_payload_bytes);
    else if (!strcmp(name, "DD_TRACE_PARTIAL_FLUSH_ENABLED"))
        return parse_bool(value, &config->partial_flush_enabled);
    else if (!strcmp(name, "DD_TRACE_PARTIAL_FLUSH_MIN_SPANS")) {
        if (parse_double(value, &d, 1) != CT_OK) return CT_EINVAL;
        config->partial_flush_min_spans = (uint32_t)d;
    } else if (!strcmp(name, "DD_TRACE_SAMPLING_RULES")) {
        if (!ct__sampling_rules_valid(value)) return CT_EINVAL;
        return replace(&config->sampling_rules, value);
    } else if (!strcmp(name, "DD_TRACE_SAMPLE_RATE")) {
        if (parse_double(value, &d, 0) != CT_OK || d > 1) return CT_EINVAL;
        config->sample_rate = d;
    } else if (!strcmp(name, "DD_TRACE_RATE_LIMIT")) {
        if (parse_double(value, &d, -1e9) != CT_OK) return CT_EINVAL;
        config->rate_limit = d < 0 ? -1 : floor(d); /* ddtrace: int() */
    } else if (!strcmp(name, "_CT_IN_MEMORY_WRITER"))
        return parse_bool(value, &config->in_memory_writer);
    else if (!strcmp(name, "_CT_LANG_VERSION")) return replace(&config->lang_version, value);
    else if (!strcmp(name, "_CT_LANG_INTERPRETER"))
        return replace(&config->lang_interpreter, value);
    else return CT_EINVAL;
    return CT_OK;
}

/* In the order that makes later ones win where ddtrace says so: the URL
 * after host and port. */
const char *const ct__config_env_names[] = {
    "DD_SERVICE",
    "DD_ENV",
    "DD_VERSION",
    "DD_TAGS",
    "DD_SERVICE_MAPPING",
    "DD_TRACE_ENABLED",
    "DD_TRACE_DEBUG",
    "DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED",
    "DD_AGENT_HOST",
    "DD_TRACE_AGENT_PORT",
    "DD_TRACE_AGENT_URL",
    "DD_TRACE_AGENT_TIMEOUT_SECONDS",
    "DD_TRACE_API_VERSION",
    "DD_TRACE_WRITER_INTERVAL_SECONDS",
    "DD_TRACE_WRITER_BUFFER_SIZE_BYTES",
    "DD_TRACE_WRITER_MAX_PAYLOAD_SIZE_BYTES",
    "DD_TRACE_PARTIAL_FLUSH_ENABLED",
    "DD_TRACE_PARTIAL_FLUSH_MIN_SPANS",
    "_CT_IN_MEMORY_WRITER",
    "DD_TRACE_SAMPLING_RULES",
    "DD_TRACE_SAMPLE_RATE",
    "DD_TRACE_RATE_LIMIT",
};
const size_t ct__config_env_name_count = sizeof ct__config_env_names / sizeof *ct__config_env_names;

/* What a valid value looks like, where the name alone does not say. An
 * invalid agent URL is ignored (the default is kept) rather than fatal, as
 * it is in ddtrace (ValueError at import): configuration never stops the
 * application. */
static const char *invalid_hint(const char *name)
{
    if (!strcmp(name, "DD_TRACE_AGENT_URL"))
        return " (it must start with http://, https:// or unix://; the default agent URL is "
               "used)";
    return "";
}

int ct_config_load_env(ct_config *config)
{
    for (size_t i = 0; i < ct__config_env_name_count; i++) {
        const char *value = getenv(ct__config_env_names[i]);
        if (!value || !*value) continue;
        int rc = ct_config_set(config, ct__config_env_names[i], value);
        if (rc == CT_ENOMEM) return rc;
        if (rc != CT_OK)
            fprintf(stderr, "ctrace: ignoring invalid %s=%s%s\n", ct__config_env_names[i], value,
                    invalid_hint(ct__config_env_names[i]));
    }
    return CT_OK;
}

/* *to = a copy of from (NULL stays NULL); 0 when out of memory. */
static int copy_string(char **to, const char *from)
{
    *to = dup_or_null(from);
    return !from || *to;
}

/* Deep copy of count pairs into *to (NULL when none); 0 when out of
 * memory, *to then holding what was copied and *copied how many were
 * tried, for ct_config_free. */
static int copy_pairs(const ct_config_tag *from, size_t count, ct_config_tag **to, size_t *copied)
{
    *to = NULL;
    *copied = 0;
    if (!count) return 1;
    if (!(*to = ct__calloc(count, sizeof **to))) return 0;
    int ok = 1;
    /* counted as soon as tried, so ct_config_free frees a half copy */
    for (size_t i = 0; ok && i < count; i++) {
        (*copied)++;
        ok = copy_string(&(*to)[i].key, from[i].key) & copy_string(&(*to)[i].value, from[i].value);
    }
    return ok;
}

static void free_pairs(ct_config_tag *pairs, size_t count)
{
    for (size_t i = 0; pairs && i < count; i++) {
        ct__free(pairs[i].key);
        ct__free(pairs[i].value);
    }
    ct__free(pairs);
}

ct_config *ct__config_copy(const ct_config *from)
{
    ct_config *config = ct__calloc(1, sizeof *config);
    if (!config) return NULL;
    *config = *from;
    config->tags = config->service_mapping = NULL; /* from's until copied */
    config->tag_count = config->service_mapping_count = 0;
    int ok = copy_string(&config->service, from->service);
    ok &= copy_string(&config->env, from->env);
    ok &= copy_string(&config->version, from->version);
    ok &= copy_string(&config->agent_url, from->agent_url);
    ok &= copy_string(&config->lang_version, from->lang_version);
    ok &= copy_string(&config->lang_interpreter, from->lang_interpreter);
    ok &= copy_string(&config->tracer_version, from->tracer_version);
    ok &= copy_string(&config->sampling_rules, from->sampling_rules);
    if (ok) ok = copy_pairs(from->tags, from->tag_count, &config->tags, &config->tag_count);
    if (ok)
        ok = copy_pairs(from->service_mapping, from->service_mapping_count,
                        &config->service_mapping, &config->service_mapping_count);
    if (!ok) {
        ct_config_free(config);
        return NULL;
    }
    return config;
}

void ct_config_free(ct_config *config)
{
    if (!config) return;
    ct__free(config->service);
    ct__free(config->env);
    ct__free(config->version);
    ct__free(config->agent_url);
    ct__free(config->lang_version);
    ct__free(config->lang_interpreter);
    ct__free(config->tracer_version);
    ct__free(config->sampling_rules);
    free_pairs(config->tags, config->tag_count);
    free_pairs(config->service_mapping, config->service_mapping_count);
    ct__free(config);
}
