/*
 * test_sampler — the keep test, globs, the rate limiter, rules and the
 * order of decisions (sampler.h). Expected values come from ddtrace's
 * Python code (RateSampler, GlobMatcher, RateLimiter, format_rate).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctrace.h"
#include "sampler.h"
#include "../test_harness.h"

#define S(text) ct__string_new(text, strlen(text))

/* Python: ((tid * 1111111111111111111) % 2**64) <= rate * (2**64 - 1) */
static int reference_keeps(uint64_t tid, double rate)
{
    unsigned __int128 hash = (unsigned __int128)tid * 1111111111111111111ULL;
    uint64_t low = (uint64_t)hash;
    long double threshold = (long double)rate * 18446744073709551616.0L;
    return (long double)low <= threshold;
}

CT_TEST(keep_test_matches_the_knuth_formula)
{
    double rates[] = {0.0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.999, 1.0};
    uint64_t x = 88172645463325252ULL;
    int disagreements = 0, kept_half = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        for (size_t r = 0; r < sizeof rates / sizeof *rates; r++)
            disagreements += ct__sampling_keeps(x, rates[r]) != reference_keeps(x, rates[r]);
        kept_half += ct__sampling_keeps(x, 0.5);
    }
    CT_ASSERT(disagreements == 0);
    CT_ASSERT(kept_half > 99000 && kept_half < 101000);
    CT_ASSERT(ct__sampling_keeps(UINT64_MAX, 1.0));
    CT_ASSERT(!ct__sampling_keeps(1, 0.0));
}

CT_TEST(glob_follows_ddtrace_globmatcher)
{
#define G(p, s) ct__glob_match(p, strlen(p), s, strlen(s))
    CT_ASSERT(G("*", ""));
    CT_ASSERT(G("*", "anything"));
    CT_ASSERT(G("s?c", "SVC"));
    CT_ASSERT(!G("s?c", "sc"));
    CT_ASSERT(G("web.*", "web.request"));
    CT_ASSERT(!G("web.*", "db.query"));
    CT_ASSERT(G("*-db", "users-DB"));
    CT_ASSERT(G("a*b*c", "aXXbYYc"));
    CT_ASSERT(!G("a*b*c", "aXXbYY"));
    CT_ASSERT(G("", ""));
    CT_ASSERT(!G("", "x"));
    CT_ASSERT(G("2??", "200"));
    CT_ASSERT(!G("2??", "2000"));
#undef G
}

CT_TEST(rate_is_formatted_like_ddtrace_ksr)
{
    char out[16];
    ct__sampling_format_rate(0.5, out);
    CT_ASSERT(!strcmp(out, "0.5"));
    ct__sampling_format_rate(1.0, out);
    CT_ASSERT(!strcmp(out, "1"));
    ct__sampling_format_rate(0.0, out);
    CT_ASSERT(!strcmp(out, "0"));
    ct__sampling_format_rate(0.123456789, out);
    CT_ASSERT(!strcmp(out, "0.123457"));
    ct__sampling_format_rate(0.0000005, out);
    CT_ASSERT(!strcmp(out, "0.000001"));
}

CT_TEST(rate_limiter_is_a_token_bucket_with_effective_rate)
{
    ct_rate_limiter limiter;
    int64_t t = 1000000000LL;
    ct__rate_limiter_init(&limiter, 2, t);
    CT_ASSERT(ct__rate_limiter_allow(&limiter, t));
    CT_ASSERT(ct__rate_limiter_allow(&limiter, t));
    CT_ASSERT(!ct__rate_limiter_allow(&limiter, t));
    CT_ASSERT(!ct__rate_limiter_allow(&limiter, t));
    CT_ASSERT(fabs(ct__rate_limiter_effective_rate(&limiter) - 0.5) < 1e-9);
    /* Half a second later one token is back. */
    CT_ASSERT(ct__rate_limiter_allow(&limiter, t + 500000000LL));
    CT_ASSERT(!ct__rate_limiter_allow(&limiter, t + 500000000LL));
    /* A new window averages with the previous one (2/6 allowed). */
    CT_ASSERT(ct__rate_limiter_allow(&limiter, t + 1500000000LL));
    CT_ASSERT(fabs(ct__rate_limiter_effective_rate(&limiter) - (1.0 + 3.0 / 6) / 2) < 1e-9);

    ct__rate_limiter_init(&limiter, 0, t);
    CT_ASSERT(!ct__rate_limiter_allow(&limiter, t));
    ct__rate_limiter_init(&limiter, -1, t);
    for (int i = 0; i < 1000; i++) CT_ASSERT(ct__rate_limiter_allow(&limiter, t));
}

static int fake_agent(void *arg, const char *service, const char *env, double *rate)
{
    if (strcmp(service, "agent-svc") || strcmp(env, "prod")) return -2;
    *rate = *(double *)arg;
    return CT_OK;
}

typedef struct subject_fixture {
    ct_string *service, *name, *resource, *key, *value, *number_key;
    ct_tags tags;
    ct_sampling_subject subject;
} subject_fixture;

static void fixture_init(subject_fixture *f, const char *service, const char *name,
                         const char *resource, uint64_t trace_id)
{
    memset(f, 0, sizeof *f);
    f->service = S(service), f->name = S(name), f->resource = S(resource);
    f->key = S("http.status_code"), f->value = S("200"), f->number_key = S("retries");
    ct__tags_set_meta(&f->tags, f->key, f->value);
    ct__tags_set_metric(&f->tags, f->number_key, 3.0);
    f->subject = (ct_sampling_subject){.trace_id_low = trace_id,
                                       .service = f->service,
                                       .name = f->name,
                                       .resource = f->resource,
                                       .tags = &f->tags,
                                       .env = "prod"};
}

static void fixture_clear(subject_fixture *f)
{
    ct_string *all[] = {f->service, f->name, f->resource, f->key, f->value, f->number_key};
    for (size_t i = 0; i < 6; i++) ct__string_unref(all[i]);
    ct__tags_clear(&f->tags);
}

CT_TEST(first_matching_rule_wins_then_agent_then_default)
{
    double agent_rate = 0.0;
    ct_sampler *sampler = ct__sampler_new(
        "[{\"sample_rate\": 1, \"service\": \"WEB-*\", \"tags\": {\"http.status_code\": \"5??\"}},"
        " {\"sample_rate\": 0, \"name\": \"db.*\", \"resource\": \"SELECT ?\"},"
        " {\"sample_rate\": 1, \"tags\": {\"retries\": 3}}]",
        -1, -1, fake_agent, &agent_rate);
    CT_ASSERT(sampler && ct__sampler_rule_count(sampler) == 3);
    subject_fixture f;
    ct_sampling_decision d;

    fixture_init(&f, "web-front", "db.query", "select 1", 42);
    ct__sampler_decide(sampler, &f.subject, 0, &d); /* rule 0 fails on tags */
    CT_ASSERT(d.mechanism == CT_SAMPLING_RULE && d.priority == -1 && d.rate == 0);
    CT_ASSERT(!strcmp(d.decision_maker, "-3") && !strcmp(d.ksr, "0"));
    fixture_clear(&f);

    fixture_init(&f, "other", "x", "y", 42);
    ct__sampler_decide(sampler, &f.subject, 0, &d); /* rule 2: integral metric */
    CT_ASSERT(d.mechanism == CT_SAMPLING_RULE && d.priority == 2 && d.limit_rate == 1.0);
    fixture_clear(&f);

    ct__sampler_free(sampler);
    sampler = ct__sampler_new(NULL, -1, 100, fake_agent, &agent_rate);
    fixture_init(&f, "agent-svc", "x", "y", 42);
    ct__sampler_decide(sampler, &f.subject, 0, &d);
    CT_ASSERT(d.mechanism == CT_SAMPLING_AGENT_RATE && d.priority == 0);
    CT_ASSERT(!strcmp(d.decision_maker, "-1") && d.limit_rate < 0);
    agent_rate = 1.0;
    ct__sampler_decide(sampler, &f.subject, 0, &d);
    CT_ASSERT(d.priority == 1 && !strcmp(d.ksr, "1"));
    fixture_clear(&f);

    fixture_init(&f, "unknown", "x", "y", 42);
    ct__sampler_decide(sampler, &f.subject, 0, &d);
    CT_ASSERT(d.mechanism == CT_SAMPLING_DEFAULT && d.priority == 1 && d.ksr[0] == '\0');
    CT_ASSERT(!strcmp(d.decision_maker, "-0"));
    fixture_clear(&f);
    ct__sampler_free(sampler);
}

CT_TEST(sample_rate_is_a_catch_all_rule_after_the_others)
{
    ct_sampler *sampler =
        ct__sampler_new("[{\"sample_rate\": 1, \"service\": \"keep\"}]", 0.0, -1, NULL, NULL);
    CT_ASSERT(ct__sampler_rule_count(sampler) == 2);
    subject_fixture f;
    ct_sampling_decision d;
    fixture_init(&f, "keep", "n", "r", 7);
    ct__sampler_decide(sampler, &f.subject, 0, &d);
    CT_ASSERT(d.priority == 2);
    fixture_clear(&f);
    fixture_init(&f, "other", "n", "r", 7);
    ct__sampler_decide(sampler, &f.subject, 0, &d);
    CT_ASSERT(d.priority == -1 && d.mechanism == CT_SAMPLING_RULE);
    fixture_clear(&f);
    ct__sampler_free(sampler);
}

CT_TEST(rate_limiter_applies_only_to_kept_rule_decisions)
{
    ct_sampler *sampler = ct__sampler_new(NULL, 1.0, 3, NULL, NULL);
    subject_fixture f;
    ct_sampling_decision d;
    fixture_init(&f, "s", "n", "r", 7);
    int kept = 0;
    for (int i = 0; i < 10; i++) {
        ct__sampler_decide(sampler, &f.subject, 5, &d);
        kept += d.priority == 2;
    }
    CT_ASSERT(kept == 3);
    CT_ASSERT(fabs(d.limit_rate - 0.3) < 1e-9);
    fixture_clear(&f);
    ct__sampler_free(sampler);
}

CT_TEST(bad_rules_are_skipped_or_rejected_without_crashing)
{
    const char *bad[] = {"",
                         "[",
                         "{}",
                         "null",
                         "[1, \"x\", {}]",
                         "[{\"sample_rate\": \"abc\"}]",
                         "[{\"sample_rate\": 0.5, \"service\": {\"a\": 1}}]",
                         "[{\"sample_rate\": 0.5, \"tags\": [1]}]",
                         "[{\"sample_rate\": 0.5, \"tags\": {\"a\": null}}]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ct_sampler *sampler = ct__sampler_new(bad[i], -1, 100, NULL, NULL);
        CT_ASSERT(sampler && ct__sampler_rule_count(sampler) == 0);
        ct__sampler_free(sampler);
    }
    CT_ASSERT(!ct__sampling_rules_valid("[{"));
    CT_ASSERT(!ct__sampling_rules_valid("{}"));
    CT_ASSERT(ct__sampling_rules_valid("[]"));
    /* A good rule next to bad ones survives; a string rate is read. */
    ct_sampler *sampler = ct__sampler_new("[3, {\"sample_rate\": \"0.25\"}]", -1, 100, NULL, NULL);
    CT_ASSERT(ct__sampler_rule_count(sampler) == 1);
    ct__sampler_free(sampler);
}

CT_TEST_MAIN()
