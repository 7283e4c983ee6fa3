/* Connection deadlines (see deadline.h).
 *
 * Connections are a doubly linked list under one mutex, taken only to add,
 * remove and scan; a request moves its own deadline with an atomic store.
 * The reaper shuts a socket down under that mutex, and a connection is
 * removed (under it) before libmicrohttpd closes its descriptor, so the
 * descriptor the reaper touches is never one the kernel reused. Four scans
 * a second: a deadline is kept to within 250 ms, at the cost of walking
 * the list (a few microseconds per thousand connections). */
#include "deadline.h"
#include "buf.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

struct ag_conn {
    int fd;
    _Atomic int64_t deadline_ns; /* monotonic; 0: none */
    ag_conn *prev, *next;
};

struct ag_deadlines {
    int64_t timeout_ns;
    unsigned max_connections;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    ag_conn *head;
    unsigned open;
    uint64_t expired;
    bool stopping;
    pthread_t reaper;
};

static void reap(ag_deadlines *d, int64_t now)
{
    for (ag_conn *c = d->head; c; c = c->next) {
        int64_t due = atomic_load_explicit(&c->deadline_ns, memory_order_relaxed);
        if (!due || now < due) continue;
        shutdown(c->fd, SHUT_RDWR);
        atomic_store_explicit(&c->deadline_ns, 0, memory_order_relaxed);
        d->expired++;
    }
}

static void *reaper_main(void *arg)
{
    ag_deadlines *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->stopping) {
        struct timespec until = ag_realtime_in(0.25);
        pthread_cond_timedwait(&d->wake, &d->mu, &until);
        reap(d, ag_mono_ns());
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

ag_deadlines *ag_deadlines_start(double seconds, unsigned max_connections)
{
    ag_deadlines *d = ag_xcalloc(1, sizeof *d);
    d->timeout_ns = (int64_t)(seconds * 1e9);
    d->max_connections = max_connections;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->wake, NULL);
    if (pthread_create(&d->reaper, NULL, reaper_main, d)) {
        fprintf(stderr, "ctrace-agent: cannot start the connection reaper thread\n");
        abort();
    }
    return d;
}

void ag_deadlines_stop(ag_deadlines *d)
{
    if (!d) return;
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->reaper, NULL);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

bool ag_deadlines_full(ag_deadlines *d)
{
    pthread_mutex_lock(&d->mu);
    bool full = d->open >= d->max_connections;
    pthread_mutex_unlock(&d->mu);
    return full;
}

ag_conn *ag_deadlines_add(ag_deadlines *d, int fd)
{
    ag_conn *c = ag_xcalloc(1, sizeof *c);
    c->fd = fd;
    atomic_init(&c->deadline_ns, ag_mono_ns() + d->timeout_ns);
    pthread_mutex_lock(&d->mu);
    c->next = d->head;
    if (d->head) d->head->prev = c;
    d->head = c;
    d->open++;
    pthread_mutex_unlock(&d->mu);
    return c;
}

void ag_deadlines_remove(ag_deadlines *d, ag_conn *c)
{
    if (!c) return;
    pthread_mutex_lock(&d->mu);
    if (c->prev) c->prev->next = c->next;
    else d->head = c->next;
    if (c->next) c->next->prev = c->prev;
    d->open--;
    pthread_mutex_unlock(&d->mu);
    free(c);
}

void ag_conn_restart(ag_deadlines *d, ag_conn *c)
{
    if (!c) return;
    atomic_store_explicit(&c->deadline_ns, ag_mono_ns() + d->timeout_ns, memory_order_relaxed);
}

void ag_conn_pause(ag_conn *c)
{
    if (!c) return;
    atomic_store_explicit(&c->deadline_ns, 0, memory_order_relaxed);
}

int64_t ag_conn_deadline(ag_conn *c)
{
    return atomic_load_explicit(&c->deadline_ns, memory_order_relaxed);
}

void ag_conn_set_deadline(ag_conn *c, int64_t deadline_ns)
{
    atomic_store_explicit(&c->deadline_ns, deadline_ns, memory_order_relaxed);
}

unsigned ag_deadlines_open(ag_deadlines *d)
{
    pthread_mutex_lock(&d->mu);
    unsigned n = d->open;
    pthread_mutex_unlock(&d->mu);
    return n;
}

uint64_t ag_deadlines_expired(ag_deadlines *d)
{
    pthread_mutex_lock(&d->mu);
    uint64_t n = d->expired;
    pthread_mutex_unlock(&d->mu);
    return n;
}
