/*
 * tracer — the internals of ct_tracer: finalized settings, the writer, the
 * strings every span shares, and the counters behind ct_tracer_stats.
 *
 * A tracer is built from a copied config and never changes settings after.
 * It creates its writer at construction (the real writer starts its thread
 * lazily). Tracers register themselves for pthread_atfork so a forked child
 * resets every writer and abandons inherited segments.
 */
#ifndef CT_TRACER_H
#define CT_TRACER_H

#include <stdatomic.h>
#include <stdint.h>

#include "buffer.h"
#include "config.h"
#include "counters.h"
#include "ctrace.h"
#include "ctrace_internal.h"
#include "shared_string.h"
#include "span_record.h"
#include "tags.h"
#include "writer.h"

/* Keys the tracer writes itself, made once per tracer. */
typedef struct ct_tracer_keys {
    ct_string *env, *version, *decision_maker, *base_service, *origin, *error_type, *error_message,
        *error_stack;
} ct_tracer_keys;

/* A few spare tag arrays (tags.h, CT_TAGS_FIRST_CAPACITY entries each). */
#define CT_SPARE_ARRAYS_MAX 16
typedef struct ct_spare_arrays {
    void *arrays[CT_SPARE_ARRAYS_MAX];
    uint32_t count;
} ct_spare_arrays;

struct ct_tracer {
    ct_config *config;
    ct_writer *writer;
    ct_tracer_keys keys;
    ct_string *service;       /* default service; never NULL */
    ct_string *env, *version; /* NULL when unset */
    ct_string *runtime_id;    /* a new one in a forked child */
    ct_string *language;      /* "python" from the Python layer, else "c" */
    ct_tags global_tags;      /* DD_TAGS, then set_tag */
    ct_tags service_mapping;  /* DD_SERVICE_MAPPING: service -> service */
    double process_id;
    ct_record_context record_context; /* language, runtime_id, process_id for
                                         the encoder (writer->context) */
    int lock_free;                    /* the caller serializes every call */
    atomic_int enabled;               /* sending on */
    atomic_int shut_down;
    unsigned fork_generation;
    ct_buffer frame;               /* scratch for building chunks (lock-free) */
    struct ct_trace *spare_traces; /* freed segments kept for reuse (lock-free
                                      only; trace.c), linked through .spare */
    uint32_t spare_count;
    ct_spare_arrays spare_meta, spare_metrics; /* tag arrays of released
                                      spans, for the next ones (lock-free only) */
    struct ct_sampler *sampler;                /* decides priorities (sampler.h) */
    atomic_uint_fast64_t spans_started, spans_finished, traces_completed, traces_dropped,
        spans_dropped, tags_dropped;
    struct ct_tracer *next_registered;
};

/* The fork generation of the process now; a segment made in another one
 * belongs to the parent and is not sent. */
unsigned ct__tracer_fork_generation(void);

/* A spare array, or NULL when there is none. */
static inline void *ct__spare_take(ct_spare_arrays *spares)
{
    return spares->count ? spares->arrays[--spares->count] : NULL;
}

/* Keeps array (may be NULL) as a spare, or frees it when there are enough. */
void ct__spare_put(ct_spare_arrays *spares, void *array);

/* Counts drops (the writer counts its own). */
static inline void ct__tracer_count_drop(ct_tracer *tracer, uint64_t spans)
{
    ct__count_add(&tracer->traces_dropped, 1);
    ct__count_add(&tracer->spans_dropped, spans);
}

/* DD_SERVICE_MAPPING: the service a span started with `service` gets
 * (ddtrace maps at span start only, not in the service setter). The one
 * place mapping lives: ddtrace.config.service_mapping calls in through
 * ct__tracer_map_service_to. Borrowed result; inline for the common answer
 * (no mapping: service itself). Accepts NULL. */
ct_string *ct__tracer_map_service_(const ct_tracer *tracer, ct_string *service);
static inline ct_string *ct__tracer_map_service(const ct_tracer *tracer, ct_string *service)
{
    return service && tracer->service_mapping.meta_count ? ct__tracer_map_service_(tracer, service)
                                                         : service;
}

#endif
