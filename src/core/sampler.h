/*
 * sampler — the trace sampling decision taken at a trace's local root.
 *
 * When a segment sends its first chunk and nobody decided its priority
 * (no manual.keep/drop, no priority from a remote parent), the sampler
 * looks at the local root as it is then (service, name, resource, tags)
 * and decides, in ddtrace's order:
 *   1. the first matching rule of DD_TRACE_SAMPLING_RULES (then the catch-
 *      all rule DD_TRACE_SAMPLE_RATE): keep when the Knuth hash of the
 *      trace id passes the rule's rate, and when the rate limiter
 *      (DD_TRACE_RATE_LIMIT per second, a token bucket) allows it;
 *      priority 2 / -1, mechanism 3;
 *   2. else the agent's rate for "service:<s>,env:<e>" (rate_by_service,
 *      read through a lookup function so tests can supply their own);
 *      priority 1 / 0, mechanism 1;
 *   3. else keep, priority 1, mechanism 0.
 * Rules are immutable after ct__sampler_new; only the rate limiter changes,
 * under its own mutex, so one sampler serves any number of threads.
 */
#ifndef CT_SAMPLER_H
#define CT_SAMPLER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "shared_string.h"
#include "tags.h"

/* Sampling mechanisms, the value of `_dd.p.dm` negated. */
enum {
    CT_SAMPLING_DEFAULT = 0,
    CT_SAMPLING_AGENT_RATE = 1,
    CT_SAMPLING_RULE = 3,
    CT_SAMPLING_MANUAL = 4,
};

/* Is trace_id_low kept at rate? The deterministic test every Datadog
 * tracer agrees on: (id * 1111111111111111111) mod 2^64 <= rate * (2^64-1).
 * rate is clamped to [0, 1]; can't fail. */
int ct__sampling_keeps(uint64_t trace_id_low, double rate);

/* Does subject match the glob pattern (`*` any run, `?` one byte), ASCII
 * case-insensitively, as ddtrace's GlobMatcher? Can't fail. */
int ct__glob_match(const char *pattern, size_t pattern_len, const char *subject,
                   size_t subject_len);

/* A rate as ddtrace writes `_dd.p.ksr`: at most 6 decimals, rounded half
 * up, trailing zeros stripped ("0.5", "1", "0.123457"). out must hold 16
 * bytes; returns the length written (NUL-terminated). */
size_t ct__sampling_format_rate(double rate, char *out);

/* `_dd.p.dm` for a mechanism: "-<mechanism % 100>" into out (at least 4
 * bytes, NUL-terminated); returns its length. Mechanisms are small numbers,
 * and snprintf would cost more than a whole sampling decision. */
size_t ct__sampling_format_dm(int mechanism, char *out);

/* A token bucket of `rate` tokens per second (capacity `rate`), with
 * ddtrace's effective rate: allowed/seen over the current one-second
 * window, averaged with the previous window's once there is one.
 * rate < 0 allows everything, 0 nothing. Callers lock (the sampler does). */
typedef struct ct_rate_limiter {
    double rate, tokens;
    int64_t last_update_ns, window_start_ns;
    uint64_t window_allowed, window_seen;
    double previous_window_rate; /* < 0 until a window has passed */
} ct_rate_limiter;

void ct__rate_limiter_init(ct_rate_limiter *limiter, double rate, int64_t now_ns);
/* Takes a token at now_ns if there is one; 1 allowed, 0 denied. */
int ct__rate_limiter_allow(ct_rate_limiter *limiter, int64_t now_ns);
double ct__rate_limiter_effective_rate(const ct_rate_limiter *limiter);

/* The agent's rate for (service, env); CT_OK with *rate set, or nonzero
 * when there is none. Called with the segment's lock held: must not call
 * back into the tracer. */
typedef int (*ct_agent_rate_fn)(void *arg, const char *service, const char *env, double *rate);

/* What the sampler sees of a local root. Borrowed for the call. */
typedef struct ct_sampling_subject {
    uint64_t trace_id_low;
    const ct_string *service, *name, *resource; /* NULL reads as "" */
    const ct_tags *tags;                        /* may be NULL */
    const char *env;                            /* NUL-terminated or NULL */
} ct_sampling_subject;

/* The decision and what explains it (the tags put on the local root). */
typedef struct ct_sampling_decision {
    int priority;           /* -1, 0, 1 or 2 */
    int mechanism;          /* CT_SAMPLING_* */
    double rate;            /* the rule's or the agent's rate; 1 by default */
    double limit_rate;      /* the limiter's effective rate, < 0 if unused */
    char decision_maker[4]; /* "-<mechanism>", the `_dd.p.dm` value */
    char ksr[16];           /* `_dd.p.ksr` (rules and agent rates), or "" */
} ct_sampling_decision;

typedef struct ct_sampler ct_sampler;

/* Builds a sampler. rules_json: DD_TRACE_SAMPLING_RULES or NULL; a rule
 * that is not an object with a numeric sample_rate is skipped with one
 * line on stderr (as ddtrace logs and skips it); invalid JSON keeps no
 * rule and says so in one line. sample_rate: the catch-all rule's rate, or
 * < 0 for none. rate_limit: traces per second allowed by rules (< 0: no
 * limit). agent_rate may be NULL. The caller owns the result (free with
 * ct__sampler_free); NULL when out of memory. */
ct_sampler *ct__sampler_new(const char *rules_json, double sample_rate, double rate_limit,
                            ct_agent_rate_fn agent_rate, void *agent_rate_arg);

/* Accepts NULL. */
void ct__sampler_free(ct_sampler *sampler);

/* Number of rules in effect (including the catch-all one). */
size_t ct__sampler_rule_count(const ct_sampler *sampler);

/* Decides for subject at now_ns (monotonic, for the rate limiter; 0: the
 * clock is read if a rule's limiter needs it, which spares most traces a
 * clock read). Can't fail; a NULL sampler keeps everything with
 * mechanism 0. */
void ct__sampler_decide(ct_sampler *sampler, const ct_sampling_subject *subject, int64_t now_ns,
                        ct_sampling_decision *decision);

/* Is text a JSON array (what DD_TRACE_SAMPLING_RULES must be)? Used by the
 * config to reject a value that cannot be rules at all. */
int ct__sampling_rules_valid(const char *text);

#endif
