/*
 * agent_writer — the writer that delivers chunks to a Datadog trace agent.
 *
 * Implements ct_writer_ops (writer.h) with a background thread in pure C:
 * the application thread only appends a frame to a buffer under a mutex;
 * the writer thread wakes every writer_interval_s (or earlier when the
 * buffer passes a threshold, or on flush), takes the buffer, encodes it
 * (v0.5, or v0.4) and sends it with a ct_transport. Payloads that fail are
 * kept and retried with backoff within the buffer cap; what does not fit is
 * dropped and counted. The agent's rate_by_service replies are kept in a
 * table the sampler reads with ct__agent_writer_rate.
 */
#ifndef CT_AGENT_WRITER_H
#define CT_AGENT_WRITER_H

#include "config.h"
#include "transport.h"
#include "writer.h"

/* Makes the transport; called on the writer thread when it first needs one
 * and again after a fork. NULL and *rc on failure (the round is retried). */
typedef ct_transport *(*ct_transport_factory)(void *arg, const ct_transport_options *options,
                                              int *rc);

/* The real writer for config (copied: agent_url, agent_timeout_s,
 * api_version, writer_* sizes and interval, debug, enabled and the
 * Datadog-Meta identity). Its thread starts at the first submit. NULL and
 * *rc = CT_ENOMEM on failure. Freed by writer->ops->destroy. */
ct_writer *ct__agent_writer_new(const ct_config *config, int *rc);

/* The same with another transport (tests); factory_arg is passed through
 * and stays owned by the caller. */
ct_writer *ct__agent_writer_new_with(const ct_config *config, ct_transport_factory factory,
                                     void *factory_arg, int *rc);

/* The agent's sampling rate for (service, env), either NULL meaning "":
 * the rate of exactly "service:<service>,env:<env>", as ddtrace 4.x reads
 * rate_by_service (the default key "service:,env:" is no fallback). CT_OK with *rate set, or CT_ENODATA when the agent gave
 * none (yet) or writer is not an agent writer. Thread-safe, does not wait on
 * the writer thread beyond a short mutex; can't fail otherwise. */
int ct__agent_writer_rate(ct_writer *writer, const char *service, const char *env, double *rate);

/* Is this writer an agent writer? */
int ct__writer_is_agent(const ct_writer *writer);

/* The API version the writer currently uses (5, or 4 after a fallback). */
int ct__agent_writer_api_version(ct_writer *writer);

#endif
