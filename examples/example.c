/*
 * example.c — tracing a C program with libctrace.
 *
 * Builds a tracer from the DD_* environment, traces a request with two
 * child operations (one failing), and flushes before exit. Run it next to
 * ctrace-agent (make demo) to see the trace in the UI:
 *   DD_SERVICE=example-c build/py/examples/example_c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrace.h"

static void query_database(ct_tracer *tracer, const ct_span *parent)
{
    ct_span_options options = {.name = "db.query",
                               .name_len = -1,
                               .resource = "SELECT * FROM users",
                               .resource_len = -1,
                               .type = "sql",
                               .type_len = -1,
                               .parent = parent};
    ct_span *span = ct_span_new(tracer, &options);
    usleep(2000);
    ct_span_set_tag(span, "db.system", 9, "sqlite", 6);
    ct_span_set_metric(span, "db.rows", 7, 42);
    ct_span_free(span); /* finishes it */
}

static void render(ct_tracer *tracer, const ct_span *parent)
{
    ct_span_options options = {.name = "template.render", .name_len = -1, .parent = parent};
    ct_span *span = ct_span_new(tracer, &options);
    ct_span_set_error(span, "TemplateError", "missing variable 'user'", NULL);
    ct_span_finish(span, 0);
    ct_span_free(span);
}

int main(void)
{
    ct_config *config = ct_config_new();
    if (!config || ct_config_load_env(config) != CT_OK) return 1;
    if (!getenv("DD_SERVICE")) ct_config_set(config, "DD_SERVICE", "example-c");
    int rc;
    ct_tracer *tracer = ct_tracer_new(config, &rc);
    ct_config_free(config);
    if (!tracer) {
        fprintf(stderr, "example: %s\n", ct_strerror(rc));
        return 1;
    }
    ct_span_options options = {.name = "http.request",
                               .name_len = -1,
                               .resource = "GET /users",
                               .resource_len = -1,
                               .type = "web",
                               .type_len = -1};
    ct_span *request = ct_span_new(tracer, &options);
    query_database(tracer, request);
    render(tracer, request);
    ct_span_free(request);

    ct_tracer_stats stats;
    ct_tracer_get_stats(tracer, &stats);
    printf("example: %llu spans finished, %llu traces completed\n",
           (unsigned long long)stats.spans_finished, (unsigned long long)stats.traces_completed);
    ct_tracer_free(tracer, 2000); /* flushes with a 2 s deadline */
    return 0;
}
