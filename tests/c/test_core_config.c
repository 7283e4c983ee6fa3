/*
 * test_core_config — DD_TAGS in its forms, settings by name, bad values
 * (ignored, previous value kept), copies.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "../test_harness.h"

static const char *tag(const ct_config *c, const char *key)
{
    for (size_t i = 0; i < c->tag_count; i++)
        if (!strcmp(c->tags[i].key, key)) return c->tags[i].value;
    return NULL;
}

static ct_config *tags_of(const char *text)
{
    ct_config *c = ct_config_new();
    if (c && ct__config_parse_tags(c, text) != CT_OK) {
        ct_config_free(c);
        return NULL;
    }
    return c;
}

CT_TEST(defaults)
{
    ct_config *c = ct_config_new();
    CT_ASSERT(c);
    CT_ASSERT(c->enabled == 1 && c->trace_id_128 == 1);
    CT_ASSERT(c->service == NULL && c->env == NULL && c->version == NULL);
    CT_ASSERT(c->partial_flush_enabled == 1 && c->partial_flush_min_spans == 300);
    CT_ASSERT(c->writer_buffer_bytes == 20u * 1024 * 1024);
    CT_ASSERT(c->agent_url &&
              (!strncmp(c->agent_url, "http://", 7) || !strncmp(c->agent_url, "unix://", 7)));
    ct_config_free(c);
}

CT_TEST(dd_tags_comma_separated)
{
    ct_config *c = tags_of("team:core,tier:gold");
    CT_ASSERT(c && c->tag_count == 2);
    CT_ASSERT(!strcmp(tag(c, "team"), "core") && !strcmp(tag(c, "tier"), "gold"));
    ct_config_free(c);
}

CT_TEST(dd_tags_space_separated)
{
    ct_config *c = tags_of("team:core tier:gold");
    CT_ASSERT(c && c->tag_count == 2);
    CT_ASSERT(!strcmp(tag(c, "tier"), "gold"));
    ct_config_free(c);
}

CT_TEST(dd_tags_trims_spaces_around_comma_items)
{
    ct_config *c = tags_of(" team:core , tier:gold ");
    CT_ASSERT(c && c->tag_count == 2);
    CT_ASSERT(!strcmp(tag(c, "team"), "core") && !strcmp(tag(c, "tier"), "gold"));
    ct_config_free(c);
}

CT_TEST(dd_tags_value_keeps_later_colons)
{
    ct_config *c = tags_of("url:http://x:80");
    CT_ASSERT(c && c->tag_count == 1 && !strcmp(tag(c, "url"), "http://x:80"));
    ct_config_free(c);
}

CT_TEST(dd_tags_skips_malformed_items)
{
    ct_config *c = tags_of(",,:nokey,  ,ok:1,:");
    CT_ASSERT(c);
    CT_ASSERT(tag(c, "ok") && !strcmp(tag(c, "ok"), "1"));
    for (size_t i = 0; i < c->tag_count; i++) CT_ASSERT(c->tags[i].key[0] != '\0');
    ct_config_free(c);
}

CT_TEST(dd_tags_key_without_value)
{
    ct_config *c = tags_of("lonely");
    CT_ASSERT(c && c->tag_count == 1 && !strcmp(c->tags[0].key, "lonely"));
    CT_ASSERT(!strcmp(c->tags[0].value, ""));
    ct_config_free(c);
}

CT_TEST(dd_tags_empty_string)
{
    ct_config *c = tags_of("");
    CT_ASSERT(c && c->tag_count == 0);
    ct_config_free(c);
}

CT_TEST(set_by_name)
{
    ct_config *c = ct_config_new();
    CT_ASSERT(ct_config_set(c, "DD_SERVICE", "svc") == CT_OK && !strcmp(c->service, "svc"));
    CT_ASSERT(ct_config_set(c, "DD_ENV", "prod") == CT_OK && !strcmp(c->env, "prod"));
    CT_ASSERT(ct_config_set(c, "DD_VERSION", "1.0") == CT_OK && !strcmp(c->version, "1.0"));
    CT_ASSERT(ct_config_set(c, "DD_TRACE_ENABLED", "false") == CT_OK && c->enabled == 0);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_ENABLED", "TRUE") == CT_OK && c->enabled == 1);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED", "0") == CT_OK &&
              c->trace_id_128 == 0);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_PARTIAL_FLUSH_MIN_SPANS", "5") == CT_OK &&
              c->partial_flush_min_spans == 5);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_AGENT_URL", "unix:///tmp/x.sock") == CT_OK &&
              !strcmp(c->agent_url, "unix:///tmp/x.sock"));
    CT_ASSERT(ct_config_set(c, "DD_TRACE_API_VERSION", "v0.4") == CT_OK && c->api_version == 4);
    ct_config_free(c);
}

CT_TEST(bad_values_are_rejected_and_keep_the_previous_value)
{
    ct_config *c = ct_config_new();
    CT_ASSERT(ct_config_set(c, "DD_TRACE_ENABLED", "maybe") == CT_EINVAL && c->enabled == 1);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED", "2") == CT_EINVAL &&
              c->trace_id_128 == 1);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_PARTIAL_FLUSH_MIN_SPANS", "-5") == CT_EINVAL &&
              c->partial_flush_min_spans == 300);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_PARTIAL_FLUSH_MIN_SPANS", "abc") == CT_EINVAL);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_AGENT_TIMEOUT_SECONDS", "nan") == CT_EINVAL &&
              c->agent_timeout_s == 2.0);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_AGENT_TIMEOUT_SECONDS", "-1") == CT_EINVAL);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_WRITER_BUFFER_SIZE_BYTES", "-1") == CT_EINVAL &&
              c->writer_buffer_bytes == 20u * 1024 * 1024);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_WRITER_BUFFER_SIZE_BYTES", "12x") == CT_EINVAL);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_AGENT_URL", "ftp://x") == CT_EINVAL);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_AGENT_PORT", "70000") == CT_EINVAL);
    CT_ASSERT(ct_config_set(c, "DD_TRACE_API_VERSION", "v9") == CT_EINVAL && c->api_version == 5);
    CT_ASSERT(ct_config_set(c, "DD_NOT_A_SETTING", "1") == CT_EINVAL);
    CT_ASSERT(ct_config_set(c, NULL, "1") == CT_EINVAL);
    CT_ASSERT(ct_config_set(c, "DD_SERVICE", NULL) == CT_EINVAL);
    CT_ASSERT(ct_config_set(NULL, "DD_SERVICE", "x") == CT_EINVAL);
    ct_config_free(c);
}

CT_TEST(empty_service_means_unset)
{
    ct_config *c = ct_config_new();
    ct_config_set(c, "DD_SERVICE", "svc");
    ct_config_set(c, "DD_SERVICE", "");
    CT_ASSERT(c->service == NULL);
    ct_config_free(c);
}

CT_TEST(load_env_reads_dd_variables)
{
    setenv("DD_SERVICE", "from-env", 1);
    setenv("DD_TAGS", "a:1,b:2", 1);
    setenv("DD_TRACE_ENABLED", "nonsense", 1); /* reported and ignored */
    ct_config *c = ct_config_new();
    CT_ASSERT(ct_config_load_env(c) == CT_OK);
    unsetenv("DD_SERVICE");
    unsetenv("DD_TAGS");
    unsetenv("DD_TRACE_ENABLED");
    CT_ASSERT(!strcmp(c->service, "from-env"));
    CT_ASSERT(c->tag_count == 2 && !strcmp(tag(c, "b"), "2"));
    CT_ASSERT(c->enabled == 1);
    ct_config_free(c);
}

CT_TEST(service_mapping_parses_as_dd_tags_does)
{
    ct_config *c = ct_config_new();
    CT_ASSERT(ct_config_set(c, "DD_SERVICE_MAPPING", "mysql:db, redis:cache,bad") == CT_OK);
    CT_ASSERT(c->service_mapping_count == 3);
    CT_ASSERT(!strcmp(c->service_mapping[0].key, "mysql") &&
              !strcmp(c->service_mapping[0].value, "db"));
    CT_ASSERT(!strcmp(c->service_mapping[1].key, "redis") &&
              !strcmp(c->service_mapping[1].value, "cache"));
    CT_ASSERT(c->tag_count == 0);
    ct_config_free(c);
}

CT_TEST(copy_is_deep)
{
    ct_config *c = ct_config_new();
    ct_config_set(c, "DD_SERVICE", "svc");
    ct__config_parse_tags(c, "k:v");
    ct_config_set(c, "DD_SERVICE_MAPPING", "mysql:db");
    ct_config *copy = ct__config_copy(c);
    ct_config_free(c);
    CT_ASSERT(copy && !strcmp(copy->service, "svc"));
    CT_ASSERT(copy->tag_count == 1 && !strcmp(copy->tags[0].value, "v"));
    CT_ASSERT(copy->service_mapping_count == 1 && !strcmp(copy->service_mapping[0].value, "db"));
    ct_config_free(copy);
    ct_config_free(NULL);
}

CT_TEST_MAIN()
