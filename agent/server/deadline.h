/* Connection deadlines: the time a client may take over one request.
 *
 * libmicrohttpd closes a connection only after it has been *idle* for its
 * timeout, and every byte resets that clock, so a client sending a header
 * byte every few seconds (slowloris) held a connection forever; enough of
 * them filled the connection limit and nobody else was served. Here each
 * connection has a deadline that bytes do not move: the request must
 * arrive whole and its answer leave within the connection timeout,
 * counted from the connection's start or its previous answer. The clock
 * stops while the request waits for the agent itself (its commit) and
 * starts again for the answer. A reaper thread shuts down the socket of
 * a connection past its deadline; libmicrohttpd then reads the end of
 * the stream and closes it as if the client had.
 *
 * The registry also counts connections, so the connection limit is one
 * number for the whole agent (libmicrohttpd's own is split between the
 * threads of its pool, which refused a client on a busy thread while
 * others had room). */
#ifndef AG_DEADLINE_H
#define AG_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ag_deadlines ag_deadlines;
typedef struct ag_conn ag_conn;

/* Starts the reaper for deadlines of `seconds` and a limit of
 * max_connections. Aborts when out of memory or when the thread cannot
 * start (the agent cannot serve safely without it); never NULL. */
ag_deadlines *ag_deadlines_start(double seconds, unsigned max_connections);
/* Stops the reaper and frees; every connection must have been removed. NULL ok. */
void ag_deadlines_stop(ag_deadlines *d);

/* Whether a new connection must be refused (the limit is reached). */
bool ag_deadlines_full(ag_deadlines *d);
/* Registers the connection on socket fd, its deadline starting now.
 * Aborts when out of memory; never NULL. */
ag_conn *ag_deadlines_add(ag_deadlines *d, int fd);
/* Unregisters c before its socket is closed, and frees it. NULL ok. */
void ag_deadlines_remove(ag_deadlines *d, ag_conn *c);
/* The connection's deadline starts over from now (a new request, or the
 * answer after a wait on the agent). c NULL: nothing. */
void ag_conn_restart(ag_deadlines *d, ag_conn *c);
/* No deadline until the next restart (the request waits on the agent).
 * c NULL: nothing. */
void ag_conn_pause(ag_conn *c);
/* The connection's deadline (ag_mono_ns() time), 0 when it has none: paused,
 * or already reached and its socket shut down. */
int64_t ag_conn_deadline(ag_conn *c);
/* Sets the deadline to deadline_ns (ag_mono_ns() time; 0: none), for a
 * connection that moves from one stage to another keeping its clock. */
void ag_conn_set_deadline(ag_conn *c, int64_t deadline_ns);

/* Connections open now, and connections closed at their deadline so far. */
unsigned ag_deadlines_open(ag_deadlines *d);
uint64_t ag_deadlines_expired(ag_deadlines *d);

#endif
