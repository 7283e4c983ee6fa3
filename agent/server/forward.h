/* Forwarding of accepted payloads to an upstream Datadog agent (--forward).
 *
 * A bounded FIFO (bytes) feeds one thread that replays each payload with
 * libcurl to the same path, method, Content-Type and Datadog-* headers it
 * arrived with, retrying with exponential backoff. When the queue is full
 * the new payload is dropped, counted and logged: the local store never
 * waits for the upstream. */
#ifndef AG_FORWARD_H
#define AG_FORWARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct ag_forwarder ag_forwarder;

typedef struct {
    uint64_t queued, sent, dropped_full, failed, retries;
} ag_forward_stats;

/* url: http(s)://host:port[/prefix] or unix:///path/to.sock. Starts the
 * thread. Returns NULL on failure (message on stderr). */
ag_forwarder *ag_forwarder_start(const char *url, size_t max_queue_bytes);
/* Copies everything it needs; never blocks on the network. headers are
 * complete "Name: value" lines. */
void ag_forwarder_enqueue(ag_forwarder *f, const char *method, const char *path, char **headers,
                          size_t nheaders, const void *body, size_t len);
/* Sends what is queued for at most deadline_ms, then stops. NULL ok. */
void ag_forwarder_stop(ag_forwarder *f, int deadline_ms);
void ag_forwarder_get_stats(ag_forwarder *f, ag_forward_stats *out);

#endif
