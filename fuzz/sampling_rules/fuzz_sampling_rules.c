/* libFuzzer target for the sampling-rules parser and matcher (sampler.h).
 * The input is DD_TRACE_SAMPLING_RULES as the user would write it (JSON,
 * NUL-terminated copy); the sampler built from it decides for a few local
 * roots whose service, name, resource, meta and metrics exercise every
 * kind of pattern (globs against strings, integral and fractional
 * metrics). Checked with abort(): a sampler always comes back (bad rules
 * are skipped, never fatal), the decision is one ddtrace can make
 * (priority and mechanism agree, the rate and `_dd.p.ksr` lie in [0, 1]),
 * and the backtracking glob agrees with a plain recursive matcher on the
 * input split in two. Replayed without clang by ../replay.c
 * (meson test sampling_rules_corpus). */
#include "sampler.h"

#include "ctrace.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz_target.h"

/* The textbook dynamic-programming glob: match[i][j] says whether the
 * first i pattern bytes match the first j subject bytes. */
#define GLOB_MAX 64
static int reference_glob(const char *p, size_t plen, const char *s, size_t slen)
{
    static unsigned char match[GLOB_MAX + 1][GLOB_MAX + 1];
    memset(match, 0, sizeof match);
    match[0][0] = 1;
    for (size_t i = 1; i <= plen; i++) {
        for (size_t j = 0; j <= slen; j++) {
            if (p[i - 1] == '*') match[i][j] = match[i - 1][j] || (j && match[i][j - 1]);
            else if (j && (p[i - 1] == '?' ||
                           tolower((unsigned char)p[i - 1]) == tolower((unsigned char)s[j - 1])))
                match[i][j] = match[i - 1][j - 1];
        }
    }
    return match[plen][slen];
}

static int agent_rate(void *arg, const char *service, const char *env, double *rate)
{
    (void)arg, (void)env;
    if (!strcmp(service, "no-rate")) return CT_EINVAL;
    *rate = service[0] ? 0.5 : 7; /* out of range on purpose: must be clamped */
    return CT_OK;
}

static ct_string *S(const char *text) { return ct__string_new(text, strlen(text)); }

static void check_decision(const ct_sampling_decision *d)
{
    CHECK(d->priority >= -1 && d->priority <= 2);
    CHECK(d->rate >= 0 && d->rate <= 1);
    switch (d->mechanism) {
    case CT_SAMPLING_DEFAULT: CHECK(d->priority == 1 && d->ksr[0] == '\0'); break;
    case CT_SAMPLING_AGENT_RATE: CHECK(d->priority == 0 || d->priority == 1); break;
    case CT_SAMPLING_RULE: CHECK(d->priority == 2 || d->priority == -1); break;
    default: CHECK(!"unknown mechanism");
    }
    char expect[4];
    snprintf(expect, sizeof expect, "-%d", d->mechanism);
    CHECK(!strcmp(d->decision_maker, expect));
    if (d->ksr[0]) {
        char *end;
        double ksr = strtod(d->ksr, &end);
        CHECK(*end == '\0' && ksr >= 0 && ksr <= 1 && strlen(d->ksr) < 16);
    }
}

static void decide_for_roots(ct_sampler *sampler)
{
    static const char *const roots[][3] = {
        {"web", "http.request", "GET /users/?"},
        {"", "", ""},
        {"no-rate", "db.query", "SELECT 1"},
        {"WEB-Api", "x", "\xc3\xa9t\xc3\xa9"},
    };
    ct_string *key_http = S("http.status_code"), *key_count = S("count"), *key_ratio = S("ratio"),
              *value_200 = S("200");
    ct_tags tags = CT_TAGS_INIT;
    ct__tags_set_meta(&tags, key_http, value_200);
    ct__tags_set_metric(&tags, key_count, 23);
    ct__tags_set_metric(&tags, key_ratio, 0.25);
    for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
        ct_string *service = S(roots[i][0]), *name = S(roots[i][1]), *resource = S(roots[i][2]);
        ct_sampling_subject subject = {
            .trace_id_low = 0x9e3779b97f4a7c15ULL * (i + 1),
            .service = service,
            .name = name,
            .resource = resource,
            .tags = i % 2 ? NULL : &tags,
            .env = i == 3 ? NULL : "prod",
        };
        for (int64_t now = 0; now < 3; now++) { /* the limiter across calls */
            ct_sampling_decision decision;
            ct__sampler_decide(sampler, &subject, now * 400000000LL, &decision);
            check_decision(&decision);
        }
        ct__string_unref(service);
        ct__string_unref(name);
        ct__string_unref(resource);
    }
    ct__tags_clear(&tags);
    ct__string_unref(key_http);
    ct__string_unref(key_count);
    ct__string_unref(key_ratio);
    ct__string_unref(value_200);
}

static void check_glob(const char *text, size_t size)
{
    size_t half = size / 2;
    if (size - half > GLOB_MAX) return;
    CHECK(ct__glob_match(text, half, text + half, size - half) ==
          reference_glob(text, half, text + half, size - half));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    int valid = ct__sampling_rules_valid(text);
    ct_sampler *sampler =
        ct__sampler_new(text, size % 3 ? -1 : 0.5, size % 2 ? 100 : -1, agent_rate, NULL);
    CHECK(sampler != NULL);
    if (!valid) CHECK(ct__sampler_rule_count(sampler) == (size % 3 ? 0u : 1u));
    decide_for_roots(sampler);
    ct__sampler_free(sampler);
    check_glob(text, size);
    free(text);
    return 0;
}
