/*
 * sampler.c — rules, the rate limiter, the agent's rates and the Knuth
 * keep test (see sampler.h).
 *
 * Rules are parsed once from DD_TRACE_SAMPLING_RULES with cJSON into plain
 * arrays of pattern strings; matching is a backtracking glob with the exact
 * semantics of ddtrace's GlobMatcher (so a rule matches the same spans in
 * both tracers), including its treatment of numeric tags: an integral
 * metric matches as its decimal integer, a fractional one only matches a
 * pattern made of wildcards alone. The decision runs once per trace, under
 * the segment's lock, so nothing here is on the per-span path; only the
 * rate limiter is shared between threads and has a mutex of its own.
 *
 * Comparisons against the rate are exact: ddtrace compares a Python int to
 * a float exactly, so the threshold rate * (2^64 - 1) (a double) is
 * floored to an integer once instead of converting the hash to a double,
 * which would round and disagree with ddtrace near the threshold.
 */
#include "sampler.h"
#include "alloc.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctrace.h"

#define KNUTH_FACTOR 1111111111111111111ULL
#define WINDOW_NS 1000000000LL

/* -- the keep test ----------------------------------------------------------- */

static uint64_t threshold_of(double rate)
{
    if (!(rate > 0)) return 0;
    double t = (rate > 1 ? 1.0 : rate) * 18446744073709551615.0; /* = rate * 2^64 */
    if (t >= 18446744073709551616.0) return UINT64_MAX;
    return (uint64_t)t; /* floor: h <= t  <=>  h <= floor(t) for integers h */
}

int ct__sampling_keeps(uint64_t trace_id_low, double rate)
{
    return trace_id_low * KNUTH_FACTOR <= threshold_of(rate);
}

size_t ct__sampling_format_rate(double rate, char *out)
{
    /* the usual rates, without snprintf (it runs once per trace) */
    if (rate >= 1.0 || rate <= 0.0) {
        out[0] = rate >= 1.0 ? '1' : '0';
        out[1] = '\0';
        return 1;
    }
    double rounded = floor(rate * 1e6 + 0.5) / 1e6;
    int n = snprintf(out, 16, "%.6f", rounded);
    if (n < 0 || n >= 16) { /* absurd rates: never more than 15 bytes */
        memcpy(out, "1", 2);
        return 1;
    }
    while (n > 1 && out[n - 1] == '0') n--;
    if (n > 1 && out[n - 1] == '.') n--;
    out[n] = '\0';
    return (size_t)n;
}

/* -- globs ------------------------------------------------------------------- */

int ct__glob_match(const char *pattern, size_t plen, const char *subject, size_t slen)
{
    /* ddtrace's GlobMatcher, step for step: on a mismatch, retry from the
     * last `*` one subject character further. */
    size_t px = 0, sx = 0, next_px = 0, next_sx = 0;
    while (px < plen || sx < slen) {
        if (px < plen) {
            char c = pattern[px];
            if (c == '?') {
                if (sx < slen) {
                    px++, sx++;
                    continue;
                }
            } else if (c == '*') {
                next_px = px;
                next_sx = sx + 1;
                px++;
                continue;
            } else if (sx < slen &&
                       tolower((unsigned char)subject[sx]) == tolower((unsigned char)c)) {
                px++, sx++;
                continue;
            }
        }
        if (next_sx > 0 && next_sx <= slen) {
            px = next_px;
            sx = next_sx;
            continue;
        }
        return 0;
    }
    return 1;
}

static int wildcards_only(const char *pattern) { return pattern[strspn(pattern, "*?")] == '\0'; }

/* -- the rate limiter ---------------------------------------------------------- */

void ct__rate_limiter_init(ct_rate_limiter *limiter, double rate, int64_t now_ns)
{
    memset(limiter, 0, sizeof *limiter);
    limiter->rate = rate;
    limiter->tokens = rate;
    limiter->last_update_ns = now_ns;
    limiter->previous_window_rate = -1;
}

static double window_rate(const ct_rate_limiter *limiter)
{
    return limiter->window_seen ? (double)limiter->window_allowed / limiter->window_seen : 1.0;
}

static int take_token(ct_rate_limiter *limiter, int64_t now_ns)
{
    if (limiter->rate == 0) return 0;
    if (limiter->rate < 0) return 1;
    if (limiter->tokens != limiter->rate) {
        double elapsed = (double)(now_ns - limiter->last_update_ns) / WINDOW_NS;
        limiter->tokens = fmin(limiter->rate, limiter->tokens + elapsed * limiter->rate);
    }
    limiter->last_update_ns = now_ns;
    if (limiter->tokens >= 1) {
        limiter->tokens -= 1;
        return 1;
    }
    return 0;
}

int ct__rate_limiter_allow(ct_rate_limiter *limiter, int64_t now_ns)
{
    int allowed = take_token(limiter, now_ns);
    if (!limiter->window_start_ns) {
        limiter->window_start_ns = now_ns;
    } else if (now_ns - limiter->window_start_ns >= WINDOW_NS) {
        limiter->previous_window_rate = window_rate(limiter);
        limiter->window_allowed = limiter->window_seen = 0;
        limiter->window_start_ns = now_ns;
    }
    limiter->window_allowed += allowed;
    limiter->window_seen++;
    return allowed;
}

double ct__rate_limiter_effective_rate(const ct_rate_limiter *limiter)
{
    if (limiter->previous_window_rate < 0) return window_rate(limiter);
    return (window_rate(limiter) + limiter->previous_window_rate) / 2.0;
}

/* -- rules ----------------------------------------------------------------------- */

typedef struct tag_pattern {
    char *key, *pattern;
    int wildcards_only;
} tag_pattern;

typedef struct sampling_rule {
    double rate;
    char *service, *name, *resource; /* NULL: any */
    tag_pattern *tags;
    size_t tag_count;
} sampling_rule;

struct ct_sampler {
    sampling_rule *rules;
    size_t rule_count;
    ct_agent_rate_fn agent_rate;
    void *agent_rate_arg;
    pthread_mutex_t limiter_lock;
    ct_rate_limiter limiter;
};

static void rule_clear(sampling_rule *rule)
{
    ct__free(rule->service);
    ct__free(rule->name);
    ct__free(rule->resource);
    for (size_t i = 0; i < rule->tag_count; i++) {
        ct__free(rule->tags[i].key);
        ct__free(rule->tags[i].pattern);
    }
    ct__free(rule->tags);
}

/* A JSON pattern: strings as they are; numbers and booleans as ddtrace's
 * str() of them would read for the integers people write. *out is NULL
 * for an absent or null field. CT_OK, CT_EINVAL (not a scalar), CT_ENOMEM. */
static int pattern_of(const cJSON *item, char **out)
{
    char buffer[64];
    *out = NULL;
    if (!item || cJSON_IsNull(item)) return CT_OK;
    if (cJSON_IsString(item)) *out = ct__strdup(item->valuestring);
    else if (cJSON_IsNumber(item) && item->valuedouble == floor(item->valuedouble) &&
             fabs(item->valuedouble) < 1e15) {
        snprintf(buffer, sizeof buffer, "%.0f", item->valuedouble);
        *out = ct__strdup(buffer);
    } else return CT_EINVAL;
    return *out ? CT_OK : CT_ENOMEM;
}

static int rate_of(const cJSON *item, double *rate)
{
    char *end;
    if (cJSON_IsNumber(item)) *rate = item->valuedouble;
    else if (cJSON_IsString(item) && (*rate = strtod(item->valuestring, &end), *end == '\0') &&
             end != item->valuestring)
        ;
    else return CT_EINVAL;
    if (*rate != *rate) return CT_EINVAL;
    *rate = *rate < 0 ? 0 : *rate > 1 ? 1 : *rate;
    return CT_OK;
}

static int parse_tags(const cJSON *tags, sampling_rule *rule)
{
    if (!tags || cJSON_IsNull(tags)) return CT_OK;
    if (!cJSON_IsObject(tags)) return CT_EINVAL;
    int count = cJSON_GetArraySize(tags);
    rule->tags = ct__calloc(count ? (size_t)count : 1, sizeof *rule->tags);
    if (!rule->tags) return CT_ENOMEM;
    for (const cJSON *tag = tags->child; tag; tag = tag->next) {
        tag_pattern *t = &rule->tags[rule->tag_count];
        int rc = pattern_of(tag, &t->pattern);
        if (rc == CT_OK && !t->pattern) rc = CT_EINVAL;
        if (rc != CT_OK) return rc;
        rule->tag_count++;
        if (!(t->key = ct__strdup(tag->string))) return CT_ENOMEM;
        t->wildcards_only = wildcards_only(t->pattern);
    }
    return CT_OK;
}

/* One rule from its JSON object; CT_EINVAL with *why set when unusable. */
static int parse_rule(const cJSON *object, sampling_rule *rule, const char **why)
{
    memset(rule, 0, sizeof *rule);
    if (!cJSON_IsObject(object)) {
        *why = "not an object";
        return CT_EINVAL;
    }
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(object, "sample_rate");
    if (!rate || rate_of(rate, &rule->rate) != CT_OK) {
        *why = rate ? "sample_rate is not a number" : "no sample_rate";
        return CT_EINVAL;
    }
    int rc = pattern_of(cJSON_GetObjectItemCaseSensitive(object, "service"), &rule->service);
    if (rc == CT_OK) rc = pattern_of(cJSON_GetObjectItemCaseSensitive(object, "name"), &rule->name);
    if (rc == CT_OK)
        rc = pattern_of(cJSON_GetObjectItemCaseSensitive(object, "resource"), &rule->resource);
    if (rc == CT_OK && rule->resource && !*rule->resource) { /* ddtrace: "" = any */
        ct__free(rule->resource);
        rule->resource = NULL;
    }
    if (rc == CT_OK) rc = parse_tags(cJSON_GetObjectItemCaseSensitive(object, "tags"), rule);
    if (rc == CT_EINVAL) *why = "a pattern is not a string";
    return rc;
}

int ct__sampling_rules_valid(const char *text)
{
    cJSON *json = cJSON_Parse(text);
    int valid = json && cJSON_IsArray(json);
    cJSON_Delete(json);
    return valid;
}

static int add_rule(ct_sampler *sampler, const sampling_rule *rule)
{
    sampling_rule *grown = ct__realloc(sampler->rules, (sampler->rule_count + 1) * sizeof *grown);
    if (!grown) return CT_ENOMEM;
    sampler->rules = grown;
    grown[sampler->rule_count++] = *rule;
    return CT_OK;
}

/* Parses rules_json into sampler; invalid rules are reported (one line
 * each, to stderr like every configuration problem) and skipped. */
static int parse_rules(ct_sampler *sampler, const char *rules_json)
{
    cJSON *json = cJSON_Parse(rules_json);
    if (!json || !cJSON_IsArray(json)) {
        fprintf(stderr,
                "ctrace: ignoring DD_TRACE_SAMPLING_RULES: not a JSON array of "
                "rules: %.200s\n",
                rules_json);
        cJSON_Delete(json);
        return CT_OK;
    }
    int rc = CT_OK, index = 0;
    for (const cJSON *item = json->child; item && rc == CT_OK; item = item->next, index++) {
        sampling_rule rule;
        const char *why = "out of memory";
        int parsed = parse_rule(item, &rule, &why);
        if (parsed == CT_OK) rc = add_rule(sampler, &rule);
        else fprintf(stderr, "ctrace: skipping DD_TRACE_SAMPLING_RULES rule %d: %s\n", index, why);
        if (parsed != CT_OK || rc != CT_OK) rule_clear(&rule);
        if (parsed == CT_ENOMEM) rc = CT_ENOMEM;
    }
    cJSON_Delete(json);
    return rc;
}

ct_sampler *ct__sampler_new(const char *rules_json, double sample_rate, double rate_limit,
                            ct_agent_rate_fn agent_rate, void *agent_rate_arg)
{
    ct_sampler *sampler = ct__calloc(1, sizeof *sampler);
    if (!sampler) return NULL;
    sampler->agent_rate = agent_rate;
    sampler->agent_rate_arg = agent_rate_arg;
    pthread_mutex_init(&sampler->limiter_lock, NULL);
    ct__rate_limiter_init(&sampler->limiter, rate_limit, 0);
    int rc = rules_json && *rules_json ? parse_rules(sampler, rules_json) : CT_OK;
    if (rc == CT_OK && sample_rate >= 0) {
        sampling_rule catch_all = {.rate = sample_rate > 1 ? 1 : sample_rate};
        rc = add_rule(sampler, &catch_all);
    }
    if (rc != CT_OK) {
        ct__sampler_free(sampler);
        return NULL;
    }
    return sampler;
}

void ct__sampler_free(ct_sampler *sampler)
{
    if (!sampler) return;
    for (size_t i = 0; i < sampler->rule_count; i++) rule_clear(&sampler->rules[i]);
    ct__free(sampler->rules);
    pthread_mutex_destroy(&sampler->limiter_lock);
    ct__free(sampler);
}

size_t ct__sampler_rule_count(const ct_sampler *sampler)
{
    return sampler ? sampler->rule_count : 0;
}

/* -- matching ---------------------------------------------------------------------- */

static int string_matches(const char *pattern, const ct_string *value)
{
    if (!pattern) return 1;
    const char *data = value ? value->data : "";
    size_t len = value ? value->len : 0;
    return ct__glob_match(pattern, strlen(pattern), data, len);
}

/* A fractional metric as Python's repr() writes it: the shortest %g that
 * reads back to the same double. */
static void python_float_repr(double value, char *out, size_t size)
{
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, size, "%.*g", precision, value);
        if (strtod(out, NULL) == value) return;
    }
}

static int tag_matches(const tag_pattern *t, const ct_tags *tags)
{
    size_t key_len = strlen(t->key);
    const ct_string *meta = tags ? ct__tags_get_meta(tags, t->key, key_len) : NULL;
    if (meta) return ct__glob_match(t->pattern, strlen(t->pattern), meta->data, meta->len);
    double number;
    if (!tags || !ct__tags_get_metric(tags, t->key, key_len, &number)) return 0;
    char text[64];
    if (number == floor(number) && fabs(number) < 1e18) snprintf(text, sizeof text, "%.0f", number);
    else if (!t->wildcards_only) return 0; /* ddtrace: no matching "23.*" against floats */
    else python_float_repr(number, text, sizeof text);
    return ct__glob_match(t->pattern, strlen(t->pattern), text, strlen(text));
}

static int rule_matches(const sampling_rule *rule, const ct_sampling_subject *subject)
{
    for (size_t i = 0; i < rule->tag_count; i++)
        if (!tag_matches(&rule->tags[i], subject->tags)) return 0;
    return string_matches(rule->service, subject->service) &&
           string_matches(rule->name, subject->name) &&
           string_matches(rule->resource, subject->resource);
}

static void decide_by_rule(ct_sampler *sampler, const sampling_rule *rule,
                           const ct_sampling_subject *subject, int64_t now_ns,
                           ct_sampling_decision *decision)
{
    int keep = rule->rate >= 1   ? 1
               : rule->rate <= 0 ? 0
                                 : ct__sampling_keeps(subject->trace_id_low, rule->rate);
    decision->mechanism = CT_SAMPLING_RULE;
    decision->rate = rule->rate;
    if (keep) {
        /* The limiter is consulted only for traces the rule keeps. */
        if (!now_ns) now_ns = ct__clock_monotonic_ns();
        pthread_mutex_lock(&sampler->limiter_lock);
        keep = ct__rate_limiter_allow(&sampler->limiter, now_ns);
        decision->limit_rate = ct__rate_limiter_effective_rate(&sampler->limiter);
        pthread_mutex_unlock(&sampler->limiter_lock);
    }
    decision->priority = keep ? 2 : -1;
}

static void decide(ct_sampler *sampler, const ct_sampling_subject *subject, int64_t now_ns,
                   ct_sampling_decision *decision)
{
    decision->priority = 1;
    decision->mechanism = CT_SAMPLING_DEFAULT;
    decision->rate = 1.0;
    decision->limit_rate = -1;
    if (!sampler) return;
    for (size_t i = 0; i < sampler->rule_count; i++)
        if (rule_matches(&sampler->rules[i], subject)) {
            decide_by_rule(sampler, &sampler->rules[i], subject, now_ns, decision);
            return;
        }
    double rate;
    if (sampler->agent_rate &&
        sampler->agent_rate(sampler->agent_rate_arg, subject->service ? subject->service->data : "",
                            subject->env ? subject->env : "", &rate) == CT_OK) {
        rate = rate < 0 ? 0 : rate > 1 ? 1 : rate;
        decision->mechanism = CT_SAMPLING_AGENT_RATE;
        decision->rate = rate;
        decision->priority = ct__sampling_keeps(subject->trace_id_low, rate) ? 1 : 0;
    }
}

size_t ct__sampling_format_dm(int mechanism, char *out)
{
    mechanism = mechanism < 0 ? 0 : mechanism % 100;
    size_t len = 0;
    out[len++] = '-';
    if (mechanism >= 10) out[len++] = (char)('0' + mechanism / 10);
    out[len++] = (char)('0' + mechanism % 10);
    out[len] = '\0';
    return len;
}

void ct__sampler_decide(ct_sampler *sampler, const ct_sampling_subject *subject, int64_t now_ns,
                        ct_sampling_decision *decision)
{
    decide(sampler, subject, now_ns, decision);
    ct__sampling_format_dm(decision->mechanism, decision->decision_maker);
    decision->ksr[0] = '\0';
    if (decision->mechanism != CT_SAMPLING_DEFAULT)
        ct__sampling_format_rate(decision->rate, decision->ksr);
}
