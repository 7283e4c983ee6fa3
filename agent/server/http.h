/* The HTTP server (libmicrohttpd): the Datadog intake endpoints, /info, the
 * query API (api.h) and the embedded UI (ui.h), on TCP and/or a unix socket.
 *
 * epoll in a pool of threads: an idle or stalled connection holds a
 * descriptor, not a thread, so a thousand of them do not keep anyone else
 * out; a request that waits for its group commit is suspended and resumed
 * by the store's callback, so no pool thread sleeps on the disk (a pool
 * thread is busy only while it decodes a payload or answers a query).
 * Connections are accepted by the gate (gate.h), which answers a malformed
 * first request line with a 400 and hands every other connection, bytes
 * unread, to libmicrohttpd (started without a listening socket). The
 * number of connections, the time a request may take however slowly its
 * bytes come (deadline.h), the size of one body and the bytes of all
 * bodies held at once are bounded, so memory is too. */
#ifndef AG_HTTP_H
#define AG_HTTP_H

#include "config.h"
#include "forward.h"
#include "gate.h"
#include "store.h"
#include "util.h"

typedef struct ag_server ag_server;

/* Binds and starts serving. Returns 0 and *out, or -1 with a reason. */
AG_MUST_CHECK int ag_server_start(const ag_config *c, ag_store *store, ag_forwarder *fwd,
                                  ag_server **out, char *err, size_t errlen);
/* The TCP port actually bound (useful with --listen host:0), or 0. */
int ag_server_port(const ag_server *s);
/* Whether the TCP listener is bound to a loopback address only. */
bool ag_server_loopback(const ag_server *s);
/* Stops accepting, waits for connection threads, frees. NULL ok. */
void ag_server_stop(ag_server *s);

typedef struct {
    uint64_t requests, payloads, spans, rejected, dropped_chunks;
    uint64_t dropped_spans; /* over the per-span object limit */
    ag_gate_stats gate;     /* connections before their first line (gate.h) */
} ag_server_stats;
void ag_server_get_stats(ag_server *s, ag_server_stats *out);

#endif
