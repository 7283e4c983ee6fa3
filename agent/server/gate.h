/* The gate: the agent's own accept stage, in front of libmicrohttpd.
 *
 * libmicrohttpd 0.9.75 closes a connection whose request line it cannot
 * parse without sending a status, and no option changes that. So the
 * agent accepts connections itself, in one thread with epoll, and looks at
 * each one's first line with recv(MSG_PEEK), consuming nothing
 * (first_line.h judges it): a well-formed line hands the socket, untouched,
 * to its server (the pass callback: libmicrohttpd's MHD_add_connection);
 * a malformed one gets a 400 (414 when too long) with Connection: close
 * and a body saying why, and the connection is closed once the client has
 * read it. Later requests on a kept-alive connection are libmicrohttpd's
 * alone.
 *
 * Slow clients: sockets are non-blocking and edge-triggered, so a peek that
 * found no end of line waits for new bytes without spinning; a connection
 * waiting here is registered in the deadline registry (deadline.h) from
 * its accept, so it counts against the one connection limit (over it a new
 * connection is closed unanswered, counted) and its deadline, which it
 * keeps when passed on, bounds the time its first line may take. */
#ifndef AG_GATE_H
#define AG_GATE_H

#include "deadline.h"

#include <stdint.h>
#include <sys/socket.h>

typedef struct ag_gate ag_gate;

/* Takes over a connection whose first line is well-formed: fd is
 * non-blocking, nothing has been read from it, and it is the callee's from
 * then on (closing it too). deadline_ns (ag_mono_ns() time) is the
 * connection's deadline, to keep. Called on the gate's thread. */
typedef void (*ag_gate_pass_fn)(void *arg, int fd, const struct sockaddr *addr, socklen_t addrlen,
                                int64_t deadline_ns);

typedef struct {
    int fd; /* a listening socket: stays the caller's, closed after ag_gate_stop */
    ag_gate_pass_fn pass;
    void *arg;
} ag_gate_listener;

enum { AG_GATE_MAX_LISTENERS = 2 };

typedef struct {
    uint64_t passed;       /* handed to their server */
    uint64_t bad_lines;    /* answered 400 or 414 */
    uint64_t refused_full; /* closed unanswered: the connection limit was reached */
    uint64_t closed_early; /* closed by the client (or at the deadline) before a whole line */
} ag_gate_stats;

/* Starts the gate's thread on n listeners (1 to AG_GATE_MAX_LISTENERS).
 * Connections are registered in d (which must outlive the gate); headers
 * is a block of header lines, each ending in CRLF, every refusal carries
 * (copied). Returns NULL with errno set when epoll, its wake-up descriptor
 * or the thread cannot be made. */
ag_gate *ag_gate_start(const ag_gate_listener *l, unsigned n, ag_deadlines *d, const char *headers);
/* Stops accepting, closes every connection still in the gate (none is
 * passed on after it returns), joins the thread, frees. NULL ok. */
void ag_gate_stop(ag_gate *g);
void ag_gate_get_stats(ag_gate *g, ag_gate_stats *out);

#endif
