/* libFuzzer target for the configuration parser (config.h): ct_config_set
 * with every setting name, so DD_TAGS, booleans, numbers, sizes, URLs,
 * host/port and sampling rules all see arbitrary values.
 *
 * The input is a list of settings separated by '\n': each line's first
 * byte picks the name (from the list below, or the rest of the line up to
 * '=' when the byte is '?'), the remaining bytes are the value. After all
 * of them the config must still keep its promises (checked with abort()):
 * a bad value changed nothing that the checks can see as invalid, the
 * agent URL has a known scheme, rates and sizes are in range, every DD_TAGS
 * pair has a non-empty key without ':'; a deep copy is equal; and a sampler
 * builds from the rules it kept. Replayed without clang by ../replay.c
 * (meson test config_corpus). */
#include "config.h"

#include "sampler.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz_target.h"

/* every setting the environment can carry, plus the two the Python layer
 * sets itself */
static const char *const internal_names[] = {"_CT_LANG_VERSION", "_CT_LANG_INTERPRETER"};
#define NAME_COUNT (ct__config_env_name_count + 2)
static const char *name_at(size_t i)
{
    return i < ct__config_env_name_count ? ct__config_env_names[i]
                                         : internal_names[i - ct__config_env_name_count];
}

static int same(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static void check_config(const ct_config *c)
{
    CHECK(c->agent_url &&
          (!strncmp(c->agent_url, "http://", 7) || !strncmp(c->agent_url, "https://", 8) ||
           !strncmp(c->agent_url, "unix://", 7)));
    CHECK(c->api_version == 4 || c->api_version == 5);
    CHECK(c->agent_timeout_s >= 0.001 && c->writer_interval_s >= 0.001);
    CHECK(c->writer_buffer_bytes > 0 && c->writer_payload_bytes > 0);
    CHECK(c->partial_flush_min_spans >= 1);
    CHECK(c->sample_rate == -1 || (c->sample_rate >= 0 && c->sample_rate <= 1));
    CHECK(c->rate_limit == -1 || c->rate_limit >= 0);
    for (int flag = 0; flag < 5; flag++) {
        int v = (int[]){c->enabled, c->debug, c->trace_id_128, c->partial_flush_enabled,
                        c->in_memory_writer}[flag];
        CHECK(v == 0 || v == 1);
    }
    for (size_t i = 0; i < c->tag_count; i++) {
        CHECK(c->tags[i].key && c->tags[i].value);
        CHECK(c->tags[i].key[0] && !strchr(c->tags[i].key, ':'));
    }
    if (c->sampling_rules) CHECK(ct__sampling_rules_valid(c->sampling_rules));
    for (const char *const *s = (const char *const[]){c->service, c->env, c->version, NULL}; *s;
         s++)
        CHECK(**s); /* an empty value unsets, never leaves "" */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ct_config *config = ct_config_new();
    CHECK(config != NULL);
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (!*line) continue;
        const char *name, *value = line + 1;
        if (*line == '?') {
            char *equals = strchr(line + 1, '=');
            if (!equals) continue;
            *equals = '\0';
            name = line + 1, value = equals + 1;
        } else {
            name = name_at((unsigned char)*line % NAME_COUNT);
        }
        int rc = ct_config_set(config, name, value);
        CHECK(rc == CT_OK || rc == CT_EINVAL);
        check_config(config);
    }
    ct_config *copy = ct__config_copy(config);
    CHECK(copy != NULL);
    check_config(copy);
    CHECK(same(copy->service, config->service) && same(copy->agent_url, config->agent_url) &&
          same(copy->sampling_rules, config->sampling_rules) &&
          copy->tag_count == config->tag_count);
    for (size_t i = 0; i < copy->tag_count; i++)
        CHECK(same(copy->tags[i].key, config->tags[i].key) &&
              same(copy->tags[i].value, config->tags[i].value));
    ct_sampler *sampler = ct__sampler_new(config->sampling_rules, config->sample_rate,
                                          config->rate_limit, NULL, NULL);
    CHECK(sampler != NULL);
    ct__sampler_free(sampler);
    ct_config_free(copy);
    ct_config_free(config);
    free(text);
    return 0;
}
