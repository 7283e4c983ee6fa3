/* /info (see info.h). The endpoint list names only what this agent really
 * serves, so tracers do not try remote configuration, the EVP proxy or
 * profiling against it; client_drop_p0s is false so tracers keep sending
 * every trace (ctrace-agent wants them all), and span_events is true so
 * tracers that can send native span events do. */
#include "info.h"
#include "hash.h"
#include "jsonw.h"
#include "util.h"

void ag_info_build(const ag_config *c, int port, ag_buf *b, char state[17])
{
    ag_buf_puts(b, "{\"version\":\"" AG_DD_AGENT_VERSION "\",");
    ag_buf_puts(b, "\"git_commit\":\"ctrace-agent-" AG_VERSION "\",");
    ag_buf_puts(b, "\"endpoints\":[\"/v0.3/traces\",\"/v0.4/traces\",\"/v0.5/traces\","
                   "\"/v0.3/services\",\"/v0.4/services\",\"/v0.6/stats\","
                   "\"/telemetry/proxy/\",\"/info\"],");
    ag_buf_puts(b, "\"feature_flags\":[],\"client_drop_p0s\":false,"
                   "\"span_meta_structs\":true,\"long_running_spans\":false,"
                   "\"span_events\":true,\"evp_proxy_allowed_headers\":[],\"peer_tags\":[],");
    ag_buf_puts(b, "\"config\":{\"default_env\":");
    ag_jw_cstr(b, c->default_env ? c->default_env : "none");
    ag_buf_printf(b, ",\"target_tps\":10,\"max_eps\":200,\"receiver_port\":%d,", port);
    ag_buf_puts(b, "\"receiver_socket\":");
    ag_jw_cstr(b, c->socket_path ? c->socket_path : "");
    ag_buf_printf(b,
                  ",\"connection_limit\":%u,\"receiver_timeout\":%u,"
                  "\"max_request_bytes\":%llu,\"statsd_port\":0,\"max_memory\":0,"
                  "\"max_cpu\":0,\"analyzed_spans_by_service\":{},"
                  "\"obfuscation\":{\"elastic_search\":false,\"mongo\":false,"
                  "\"sql_exec_plan\":false,\"sql_exec_plan_normalize\":false,"
                  "\"http\":{\"remove_query_string\":false,\"remove_path_digits\":false},"
                  "\"remove_stack_traces\":false,\"redis\":false,\"memcached\":false}}",
                  c->max_connections, c->connection_timeout,
                  (unsigned long long)c->max_request_bytes);
    ag_buf_puts(b, "}");
    ag_hex64(ag_hash_bytes(b->data, b->len, AG_HASH_SEED), state);
}
