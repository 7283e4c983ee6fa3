/*
 * redis_command.h — redis-py's execute_command traced in C.
 *
 * `ddtrace._ctrace.RedisCommand(tracer, int_config, resolve, failed,
 * client_tags, row_count, row_commands, name, span_type, wrapped)` takes
 * the place of a synchronous client's method `wrapped` (redis-py's
 * `Redis.execute_command`, `Pipeline.immediate_execute_command`,
 * `RedisCluster.execute_command`) in its class: it binds like a function
 * (a method descriptor: `client.execute_command(...)` calls it with the
 * client first, no bound method made), shows the method's `__wrapped__`,
 * `__name__`, `__qualname__`, `__module__` and `__doc__` (inspect follows
 * `__wrapped__`; unpatch puts it back), and hands the very argument vector
 * on to the method. Per command it does what contrib/redis/patch.py's
 * asyncio wrapper does in Python, with no Python frame and no wrapt proxy
 * on the common path:
 *
 * - the command's text (`redis.raw_command`) as contrib/_cache_args.py
 *   makes it: each argument as text (bytes decoded, backslash escapes),
 *   cut at 100 characters with "...", the whole cut at
 *   config.redis["cmd_max_length"] with "...", "?" for an argument whose
 *   str() raised; the resource the command's first word, or the whole text
 *   unless config.redis["resource_only_command"];
 * - a span `name` of `span_type`, child of the active one and active until
 *   finished, with the integration's service (integration_span.h's cache,
 *   `resolve` the Python resolver: (service, mapped, {"_dd.svc_src": ...}));
 * - the client's tags (`pool._ctrace_span_tags`, a dict on the instance's
 *   connection pool, or on a cluster client itself; `client_tags(pool,
 *   instance)` makes and keeps it when missing), `redis.raw_command`,
 *   `redis.args_length`;
 * - the call, its exception recorded and re-raised unchanged;
 * - `db.row_count` for the commands in the frozenset `row_commands`: 0
 *   after an exception, from a bytes or None result directly, otherwise
 *   `row_count(command, result)`;
 * - the finish.
 *
 * A call without a client, or with the tracer disabled, is the method's
 * call alone.
 *
 * Failure policy as TracedCall's (contrib/_safety.py): an Exception of the
 * tracing before the span starts is reported to `failed(integration,
 * exc_info)` and the command runs untraced; one while tagging is reported
 * and the span keeps the tags it got; a BaseException that is not an
 * Exception propagates, with the span finished. The wrapped method is
 * always called exactly once (unless such a BaseException came first).
 */
#ifndef CT_REDIS_COMMAND_H
#define CT_REDIS_COMMAND_H

#include "ext.h"

/* Adds the RedisCommand type to the module. 0, or -1 with an exception. */
int ct_ext_redis_command_init(PyObject *module);

#endif
