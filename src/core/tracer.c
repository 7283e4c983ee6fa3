/*
 * tracer.c — building, running and freeing tracers (see tracer.h) and the
 * fork handlers. The public span API is in span.c.
 *
 * Fork: a pthread_atfork child handler runs before any code of the child.
 * It bumps the fork generation (segments of the parent are then dropped at
 * completion instead of sent twice), reseeds the id generators, gives every
 * tracer a new runtime-id, and resets every writer without taking locks the
 * parent's threads may have held.
 */
#include "tracer.h"
#include "alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ids.h"
#include "span.h"
#include "trace.h"
#include "agent_writer.h"
#include "encoder.h"
#include "sampler.h"
#include "transport.h"

/* -- fork ------------------------------------------------------------------- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static ct_tracer *registered;
static atomic_uint fork_generation = 1;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

unsigned ct__tracer_fork_generation(void)
{
    return atomic_load_explicit(&fork_generation, memory_order_relaxed);
}

static ct_string *new_runtime_id(void)
{
    uint64_t a = ct__ids_random64(), b = ct__ids_random64();
    char hex[33];
    snprintf(hex, sizeof hex, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
    hex[12] = '4'; /* a version-4 UUID, as ddtrace's uuid4().hex */
    return ct__string_new(hex, 32);
}

static void before_fork(void) { pthread_mutex_lock(&registry_lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&registry_lock); }

/* The encoder's view of the process (span_record.h), from the tracer's
 * strings: refreshed whenever they change (creation, fork). */
static void refresh_record_context(ct_tracer *tracer)
{
    ct_record_context *c = &tracer->record_context;
    c->language = (ct_record_str){tracer->language->data, tracer->language->len};
    c->runtime_id = (ct_record_str){tracer->runtime_id->data, tracer->runtime_id->len};
    c->process_id = tracer->process_id;
}

static void after_fork_child(void)
{
    pthread_mutex_init(&registry_lock, NULL);
    ct__ids_after_fork_child();
    atomic_fetch_add_explicit(&fork_generation, 1, memory_order_relaxed);
    for (ct_tracer *t = registered; t; t = t->next_registered) {
        t->writer->ops->after_fork_child(t->writer);
        ct_string *runtime_id = new_runtime_id();
        if (runtime_id) ct__string_assign(&t->runtime_id, runtime_id);
        t->process_id = (double)getpid();
        refresh_record_context(t);
    }
}

static void install_atfork(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

static void register_tracer(ct_tracer *tracer)
{
    pthread_once(&atfork_once, install_atfork);
    pthread_mutex_lock(&registry_lock);
    tracer->next_registered = registered;
    registered = tracer;
    pthread_mutex_unlock(&registry_lock);
}

static void unregister_tracer(ct_tracer *tracer)
{
    pthread_mutex_lock(&registry_lock);
    for (ct_tracer **p = &registered; *p; p = &(*p)->next_registered)
        if (*p == tracer) {
            *p = tracer->next_registered;
            break;
        }
    pthread_mutex_unlock(&registry_lock);
}

/* -- construction ------------------------------------------------------------ */

static ct_string *string_or_null(const char *s) { return s ? ct__string_new(s, strlen(s)) : NULL; }

static int make_keys(ct_tracer_keys *k)
{
    struct {
        ct_string **slot;
        const char *text;
    } keys[] = {
        {&k->env, "env"},
        {&k->version, "version"},
        {&k->decision_maker, "_dd.p.dm"},
        {&k->base_service, "_dd.base_service"},
        {&k->origin, "_dd.origin"},
        {&k->error_type, "error.type"},
        {&k->error_message, "error.message"},
        {&k->error_stack, "error.stack"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!(*keys[i].slot = string_or_null(keys[i].text))) return CT_ENOMEM;
    return CT_OK;
}

static void free_keys(ct_tracer_keys *k)
{
    ct_string **slots = (ct_string **)k;
    for (size_t i = 0; i < sizeof *k / sizeof(ct_string *); i++) ct__string_unref(slots[i]);
}

/* A DD_TAGS entry's value, or NULL (the last entry of the key wins). */
static const char *config_tag(const ct_config *config, const char *key)
{
    const char *value = NULL;
    for (size_t i = 0; i < config->tag_count; i++)
        if (!strcmp(config->tags[i].key, key)) value = config->tags[i].value;
    return value;
}

/* DD_TAGS become every span's tags, except `service` and `version`: as in
 * ddtrace they are the defaults of DD_SERVICE and DD_VERSION instead. */
static int global_tags_from_config(ct_tracer *tracer)
{
    for (size_t i = 0; i < tracer->config->tag_count; i++) {
        const ct_config_tag *tag = &tracer->config->tags[i];
        if (!strcmp(tag->key, "service") || !strcmp(tag->key, "version")) continue;
        if (ct_tracer_set_tag(tracer, tag->key, strlen(tag->key), tag->value, strlen(tag->value)) !=
            CT_OK)
            return CT_ENOMEM;
    }
    return CT_OK;
}

int ct__tracer_map_service_to(ct_tracer *tracer, const char *from, const char *to)
{
    ct_string *k = ct__string_new(from, strlen(from));
    ct_string *v = ct__string_new(to, strlen(to));
    int rc = (k && v) ? ct__tags_set_meta(&tracer->service_mapping, k, v) : CT_ENOMEM;
    ct__string_unref(k);
    ct__string_unref(v);
    return rc;
}

static int service_mapping_from_config(ct_tracer *tracer)
{
    const ct_config *config = tracer->config;
    for (size_t i = 0; i < config->service_mapping_count; i++)
        if (ct__tracer_map_service_to(tracer, config->service_mapping[i].key,
                                      config->service_mapping[i].value) != CT_OK)
            return CT_ENOMEM;
    return CT_OK;
}

ct_string *ct__tracer_map_service_(const ct_tracer *tracer, ct_string *service)
{
    ct_string *mapped = ct__tags_get_meta(&tracer->service_mapping, service->data, service->len);
    return mapped ? mapped : service;
}

static ct_writer *make_writer(const ct_config *config, int *rc)
{
    if (!config->in_memory_writer) return ct__agent_writer_new(config, rc);
    ct_writer *writer = ct__memory_writer_new(config->writer_buffer_bytes);
    if (!writer) *rc = CT_ENOMEM;
    return writer;
}

/* The sampler's view of the agent's rate_by_service: only an agent writer
 * has one. */
static int agent_rate(void *arg, const char *service, const char *env, double *rate)
{
    ct_tracer *tracer = arg;
    if (!ct__writer_is_agent(tracer->writer)) return CT_ENODATA;
    return ct__agent_writer_rate(tracer->writer, service, env, rate);
}

static ct_sampler *make_sampler(ct_tracer *tracer)
{
    const ct_config *config = tracer->config;
    return ct__sampler_new(config->sampling_rules, config->sample_rate, config->rate_limit,
                           agent_rate, tracer);
}

static int init_strings(ct_tracer *tracer, const ct__tracer_options *options)
{
    const ct_config *config = tracer->config;
    const char *service = config->service                 ? config->service
                          : config_tag(config, "service") ? config_tag(config, "service")
                          : options->default_service      ? options->default_service
                                                          : "unnamed-c-service";
    const char *version = config->version ? config->version : config_tag(config, "version");
    tracer->service = string_or_null(service);
    tracer->env = string_or_null(config->env);
    tracer->version = string_or_null(version);
    tracer->language = string_or_null(options->language ? options->language : "c");
    tracer->runtime_id = new_runtime_id();
    if (!tracer->service || (config->env && !tracer->env) || (version && !tracer->version) ||
        !tracer->language || !tracer->runtime_id)
        return CT_ENOMEM;
    return make_keys(&tracer->keys);
}

ct_tracer *ct__tracer_new_with(const ct_config *config, const ct__tracer_options *options, int *rc)
{
    static const ct__tracer_options defaults = {0};
    int ignored;
    rc = rc ? rc : &ignored;
    *rc = CT_OK;
    options = options ? options : &defaults;
    ct_tracer *tracer = ct__calloc(1, sizeof *tracer);
    if (!tracer || !(tracer->config = ct__config_copy(config))) {
        ct__free(tracer);
        *rc = CT_ENOMEM;
        return NULL;
    }
    tracer->lock_free = options->lock_free;
    atomic_init(&tracer->enabled, tracer->config->enabled);
    tracer->process_id = (double)getpid();
    if (init_strings(tracer, options) != CT_OK || global_tags_from_config(tracer) != CT_OK ||
        service_mapping_from_config(tracer) != CT_OK ||
        !(tracer->writer = make_writer(tracer->config, rc)) ||
        !(tracer->sampler = make_sampler(tracer))) {
        if (*rc == CT_OK) *rc = CT_ENOMEM;
        ct_tracer_free(tracer, 0);
        return NULL;
    }
    refresh_record_context(tracer);
    tracer->writer->context = &tracer->record_context;
    register_tracer(tracer);
    return tracer;
}

void ct__spare_put(ct_spare_arrays *spares, void *array)
{
    if (!array) return;
    if (spares->count == CT_SPARE_ARRAYS_MAX) ct__free(array);
    else spares->arrays[spares->count++] = array;
}

ct_tracer *ct_tracer_new(const ct_config *config, int *rc)
{
    return ct__tracer_new_with(config, NULL, rc);
}

void ct__tracer_shutdown(ct_tracer *tracer, int timeout_ms)
{
    if (atomic_exchange(&tracer->shut_down, 1)) return;
    tracer->writer->ops->flush(tracer->writer, timeout_ms);
}

void ct_tracer_free(ct_tracer *tracer, int timeout_ms)
{
    if (!tracer) return;
    if (tracer->writer) {
        unregister_tracer(tracer);
        tracer->writer->ops->destroy(tracer->writer, timeout_ms);
    }
    ct__sampler_free(tracer->sampler);
    free_keys(&tracer->keys);
    ct__string_unref(tracer->service);
    ct__string_unref(tracer->env);
    ct__string_unref(tracer->version);
    ct__string_unref(tracer->runtime_id);
    ct__string_unref(tracer->language);
    ct__tags_clear(&tracer->global_tags);
    ct__tags_clear(&tracer->service_mapping);
    ct__buffer_release(&tracer->frame);
    ct__trace_free_spares(tracer);
    while (tracer->spare_meta.count) ct__free(ct__spare_take(&tracer->spare_meta));
    while (tracer->spare_metrics.count) ct__free(ct__spare_take(&tracer->spare_metrics));
    ct_config_free(tracer->config);
    ct__free(tracer);
}

int ct_tracer_flush(ct_tracer *tracer, int timeout_ms)
{
    return tracer->writer->ops->flush(tracer->writer, timeout_ms);
}

int ct_tracer_set_tag(ct_tracer *tracer, const char *key, size_t key_len, const char *value,
                      size_t value_len)
{
    ct_string *k = ct__string_new(key, key_len);
    ct_string *v = ct__string_new(value, value_len);
    int rc = (k && v) ? ct__tags_set_meta(&tracer->global_tags, k, v) : CT_ENOMEM;
    ct__string_unref(k);
    ct__string_unref(v);
    return rc;
}

void ct_tracer_get_stats(const ct_tracer *tracer, ct_tracer_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->spans_started = atomic_load(&tracer->spans_started);
    stats->spans_finished = atomic_load(&tracer->spans_finished);
    stats->traces_completed = atomic_load(&tracer->traces_completed);
    stats->traces_dropped = atomic_load(&tracer->traces_dropped);
    stats->spans_dropped = atomic_load(&tracer->spans_dropped);
    stats->tags_dropped = atomic_load(&tracer->tags_dropped);
    tracer->writer->ops->get_stats(tracer->writer, stats);
}

const char *ct_strerror(int rc)
{
    switch (rc) {
    case CT_OK: return "ok";
    case CT_ENOMEM: return "out of memory";
    case CT_EINVAL: return "invalid argument";
    case CT_ENOSPC: return "buffer full";
    case CT_ESTATE: return "invalid state";
    case CT_ECONNECT: return "connection refused";
    case CT_ETIMEDOUT: return "timed out";
    case CT_EIO: return "transfer error";
    case CT_ECANCELED: return "canceled";
    case CT_ENODATA: return "no value known (yet)";
    default: return "unknown error";
    }
}

/* -- the bindings' view (ctrace_internal.h) ------------------------------------ */

int ct__tracer_set_global_meta(ct_tracer *tracer, ct_string *key, ct_string *value)
{
    return ct__tags_set_meta(&tracer->global_tags, key, value);
}

int ct__tracer_set_global_metric(ct_tracer *tracer, ct_string *key, double value)
{
    return ct__tags_set_metric(&tracer->global_tags, key, value);
}

int ct__tracer_enabled(const ct_tracer *tracer) { return atomic_load(&tracer->enabled); }
void ct__tracer_set_enabled(ct_tracer *tracer, int enabled)
{
    atomic_store(&tracer->enabled, enabled);
}

ct_string *ct__tracer_service(const ct_tracer *tracer) { return tracer->service; }
const char *ct__tracer_agent_url(const ct_tracer *tracer) { return tracer->config->agent_url; }

int ct__tracer_trace_id_128(const ct_tracer *tracer) { return tracer->config->trace_id_128; }

ct__error_keys ct__tracer_error_keys(const ct_tracer *tracer)
{
    const ct_tracer_keys *k = &tracer->keys;
    return (ct__error_keys){k->error_type, k->error_message, k->error_stack};
}

int ct__tracer_take_payload(ct_tracer *tracer, int api_version, ct_buffer *payload,
                            uint32_t *chunks)
{
    if (!ct__writer_is_memory(tracer->writer)) return CT_ESTATE;
    ct_buffer frames = CT_BUFFER_INIT;
    uint64_t spans;
    ct__memory_writer_take(tracer->writer, &frames, chunks, &spans);
    int rc = ct__encode_payload(api_version == 5 ? CT_API_V05 : CT_API_V04, &tracer->record_context,
                                frames.data, frames.len, *chunks, payload);
    ct__buffer_release(&frames);
    return rc;
}
