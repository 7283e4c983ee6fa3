/*
 * transport — one HTTP request at a time to the trace agent.
 *
 * The agent writer only needs "PUT these bytes at this path and tell me the
 * status and the body of the reply". That is this interface, a struct of
 * function pointers as in SQLite's VFS: the real implementation keeps one
 * libcurl easy handle (so the connection is kept alive between payloads) over
 * TCP or a unix socket; C tests plug in their own to script failures.
 *
 * A transport is used by one thread at a time (the writer thread); it is
 * not thread-safe and needs no lock.
 */
#ifndef CT_TRANSPORT_H
#define CT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "ctrace.h"

/* A request that got no HTTP reply fails with CT_ECONNECT, CT_ETIMEDOUT,
 * CT_EIO or CT_ECANCELED (ctrace.h). */

typedef struct ct_transport ct_transport;

/* What the agent answered. body is owned by the caller, who releases it. */
typedef struct ct_http_reply {
    long status;    /* HTTP status, 0 when none */
    ct_buffer body; /* the reply's body, capped at 1 MiB */
} ct_http_reply;

/* Called now and then during a request; returning nonzero aborts it with
 * CT_ECANCELED. */
typedef int (*ct_transport_abort_fn)(void *arg);

typedef struct ct_transport_ops {
    /* Sends body (len bytes, msgpack) to path ("/v0.5/traces") with
     * trace_count in X-Datadog-Trace-Count. CT_OK when the agent replied,
     * whatever the status (in reply->status); else one of the errors above,
     * or CT_ENOMEM, with reply->status 0. */
    int (*send)(ct_transport *transport, const char *path, const uint8_t *body, size_t len,
                uint32_t trace_count, ct_http_reply *reply);
    /* Frees the transport and closes its connection. Accepts NULL. */
    void (*destroy)(ct_transport *transport);
} ct_transport_ops;

struct ct_transport {
    const ct_transport_ops *ops;
};

/* Identity sent in Datadog-Meta-* headers; NULL fields are sent as "". */
typedef struct ct_transport_options {
    const char *url;  /* http://host:port or unix:///path */
    double timeout_s; /* whole request, connect included */
    const char *lang_version;
    const char *lang_interpreter;
    const char *tracer_version;
    ct_transport_abort_fn should_abort; /* may be NULL */
    void *abort_arg;
} ct_transport_options;

/* A libcurl transport. Strings are copied. NULL and *rc = CT_ENOMEM or
 * CT_EINVAL (bad url) on failure. */
ct_transport *ct__curl_transport_new(const ct_transport_options *options, int *rc);

#endif
