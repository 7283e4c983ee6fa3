/* The gate (see gate.h).
 *
 * One thread, one epoll set: the listening sockets (level-triggered, so a
 * burst of connections is accepted a batch per wake-up without starving
 * the rest), an eventfd that stop() writes, and every waiting connection
 * (edge-triggered: each arrival of bytes wakes the thread once). A refused
 * connection first consumes what the client sent, then gets its answer
 * and a FIN, and is closed when the client closes or its short linger
 * ends: closing a socket with unread bytes sends an RST, which can destroy
 * the answer before the client reads it. Nothing here blocks: peeks,
 * reads and the one small send are non-blocking, and the deadline reaper
 * (deadline.h) shuts down a connection that stays too long, which wakes
 * the thread to close it. */
#include "gate.h"
#include "first_line.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum kind { K_LISTENER, K_WAKE, K_WAITING };

/* A refused client is read to its end of stream for this long at most
 * and this many bytes: enough for it to read the answer, too little to
 * hold a slot. */
enum { LINGER_MS = 2000, DRAIN_MAX = 64 * 1024 };
/* Accepts per wake-up and listener, and the pause after running out of
 * descriptors (accepting then would fail at once, again and again). */
enum { ACCEPT_BATCH = 64, FULL_PAUSE_MS = 100 };

typedef struct {
    enum kind kind;
    ag_gate_listener l;
} listen_rec;

typedef struct waiting {
    enum kind kind;
    int fd;
    const listen_rec *from;
    ag_conn *slot;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    bool refused; /* answered: draining until the client closes */
    size_t drained;
    struct waiting *prev, *next;
} waiting;

struct ag_gate {
    int ep, wake_fd;
    enum kind wake_kind; /* the eventfd's epoll tag */
    listen_rec listeners[AG_GATE_MAX_LISTENERS];
    unsigned n_listeners;
    ag_deadlines *d;
    char *headers;
    waiting *head;        /* every connection in the gate, for stop() */
    int64_t paused_until; /* accepting paused (out of descriptors) until then, 0 if not */
    pthread_t thread;
    _Atomic uint64_t passed, bad_lines, refused_full, closed_early;
};

static void bump(_Atomic uint64_t *n) { atomic_fetch_add_explicit(n, 1, memory_order_relaxed); }

/* ---- connections ---- */

/* Takes w out of the gate: out of epoll, the list and the registry (the
 * registry first, so the reaper never touches a closed descriptor). The
 * descriptor stays open. */
static void detach(ag_gate *g, waiting *w)
{
    epoll_ctl(g->ep, EPOLL_CTL_DEL, w->fd, NULL);
    if (w->prev) w->prev->next = w->next;
    else g->head = w->next;
    if (w->next) w->next->prev = w->prev;
    ag_deadlines_remove(g->d, w->slot);
}

static void close_waiting(ag_gate *g, waiting *w)
{
    detach(g, w);
    close(w->fd);
    free(w);
}

static void pass_on(ag_gate *g, waiting *w)
{
    int64_t due = ag_conn_deadline(w->slot);
    detach(g, w);
    if (!due) { /* reached while its line came: the reaper shut it down */
        bump(&g->closed_early);
        close(w->fd);
    } else {
        bump(&g->passed);
        w->from->l.pass(w->from->l.arg, w->fd, (const struct sockaddr *)&w->addr, w->addrlen, due);
    }
    free(w);
}

/* Reads and discards what the client sent; true once it is at its end
 * (closed, failed, or past DRAIN_MAX) and the connection can be closed. */
static bool drain(waiting *w)
{
    char buf[4096];
    for (;;) {
        ssize_t n = recv(w->fd, buf, sizeof buf, 0);
        if (n > 0) {
            w->drained += (size_t)n;
            if (w->drained > DRAIN_MAX) return true;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    }
}

/* Answers status with why as the body, then half-closes and lingers. */
static void refuse(ag_gate *g, waiting *w, int status, const char *reason, const char *why)
{
    bump(&g->bad_lines);
    bool ended = drain(w); /* unread bytes at close() would send an RST */
    char reply[2048];
    int len = snprintf(reply, sizeof reply,
                       "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                       status, reason, g->headers, strlen(why) + 1, why);
    /* a fresh socket's send buffer takes this whole; if it does not, the
     * client gets less, never a blocked gate */
    if (len > 0 && (size_t)len < sizeof reply)
        (void)!send(w->fd, reply, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(w->fd, SHUT_WR);
    if (ended) return close_waiting(g, w);
    w->refused = true;
    int64_t linger = ag_mono_ns() + (int64_t)LINGER_MS * 1000000;
    int64_t due = ag_conn_deadline(w->slot);
    if (due && due > linger) ag_conn_set_deadline(w->slot, linger);
}

/* New bytes (or the end of the stream) on a waiting connection. */
static void on_ready(ag_gate *g, waiting *w, uint32_t events)
{
    if (w->refused) {
        if (drain(w)) close_waiting(g, w);
        return;
    }
    unsigned char buf[AG_FIRST_LINE_MAX];
    ssize_t n;
    do n = recv(w->fd, buf, sizeof buf, MSG_PEEK);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
        bump(&g->closed_early);
        return close_waiting(g, w);
    }
    const char *why = NULL;
    switch (ag_first_line_check(buf, (size_t)n, &why)) {
    case AG_LINE_GOOD: return pass_on(g, w);
    case AG_LINE_BAD: return refuse(g, w, 400, "Bad Request", why);
    case AG_LINE_TOO_LONG: return refuse(g, w, 414, "URI Too Long", why);
    case AG_LINE_INCOMPLETE:
        /* the client will send no more: the line can never end */
        if (events & (EPOLLRDHUP | EPOLLHUP))
            refuse(g, w, 400, "Bad Request", "the connection ended inside the request line");
        return; /* else the next bytes wake us (edge-triggered) */
    }
}

/* ---- accepting ---- */

static void set_listening(ag_gate *g, bool on)
{
    for (unsigned i = 0; i < g->n_listeners; i++) {
        struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.ptr = &g->listeners[i]};
        epoll_ctl(g->ep, EPOLL_CTL_MOD, g->listeners[i].l.fd, &ev);
    }
}

static void admit(ag_gate *g, const listen_rec *from, int fd, const struct sockaddr_storage *addr,
                  socklen_t addrlen)
{
    if (ag_deadlines_full(g->d)) {
        bump(&g->refused_full);
        close(fd);
        return;
    }
    waiting *w = calloc(1, sizeof *w);
    if (!w) {
        bump(&g->refused_full);
        close(fd);
        return;
    }
    w->kind = K_WAITING;
    w->fd = fd;
    w->from = from;
    w->addr = *addr;
    w->addrlen = addrlen;
    w->slot = ag_deadlines_add(g->d, fd);
    w->next = g->head;
    if (g->head) g->head->prev = w;
    g->head = w;
    /* bytes already there are reported by the first epoll_wait */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = w};
    if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev)) {
        bump(&g->refused_full);
        close_waiting(g, w);
    }
}

static void accept_some(ag_gate *g, const listen_rec *from)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof addr;
        int fd = accept4(from->l.fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            admit(g, from, fd, &addr, len);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            g->paused_until = ag_mono_ns() + (int64_t)FULL_PAUSE_MS * 1000000;
            set_listening(g, false);
        }
        return; /* EAGAIN: none left */
    }
}

/* ---- the thread ---- */

static void *gate_main(void *arg)
{
    ag_gate *g = arg;
    struct epoll_event evs[64];
    for (;;) {
        int timeout = g->paused_until ? FULL_PAUSE_MS : -1;
        int n = epoll_wait(g->ep, evs, 64, timeout);
        if (g->paused_until && ag_mono_ns() >= g->paused_until) {
            g->paused_until = 0;
            set_listening(g, true);
        }
        for (int i = 0; i < n; i++) {
            enum kind *k = evs[i].data.ptr;
            if (*k == K_WAKE) return NULL;
            if (*k == K_LISTENER) accept_some(g, (const listen_rec *)k);
            else on_ready(g, (waiting *)k, evs[i].events);
        }
    }
}

static int watch(ag_gate *g, int fd, uint32_t events, void *tag)
{
    struct epoll_event ev = {.events = events, .data.ptr = tag};
    return epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void free_gate(ag_gate *g)
{
    if (g->ep >= 0) close(g->ep);
    if (g->wake_fd >= 0) close(g->wake_fd);
    free(g->headers);
    free(g);
}

ag_gate *ag_gate_start(const ag_gate_listener *l, unsigned n, ag_deadlines *d, const char *headers)
{
    if (!n || n > AG_GATE_MAX_LISTENERS) return errno = EINVAL, NULL;
    ag_gate *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->d = d;
    g->wake_kind = K_WAKE;
    g->headers = strdup(headers);
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    g->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    bool ok = g->headers && g->ep >= 0 && g->wake_fd >= 0 &&
              !watch(g, g->wake_fd, EPOLLIN, &g->wake_kind);
    for (unsigned i = 0; ok && i < n; i++) {
        g->listeners[i] = (listen_rec){K_LISTENER, l[i]};
        ok = !watch(g, l[i].fd, EPOLLIN, &g->listeners[i]);
        g->n_listeners = i + 1;
    }
    if (ok && !(errno = pthread_create(&g->thread, NULL, gate_main, g))) return g;
    int e = errno;
    free_gate(g);
    errno = e;
    return NULL;
}

void ag_gate_stop(ag_gate *g)
{
    if (!g) return;
    uint64_t one = 1;
    (void)!write(g->wake_fd, &one, sizeof one);
    pthread_join(g->thread, NULL);
    while (g->head) close_waiting(g, g->head);
    free_gate(g);
}

void ag_gate_get_stats(ag_gate *g, ag_gate_stats *out)
{
    out->passed = atomic_load_explicit(&g->passed, memory_order_relaxed);
    out->bad_lines = atomic_load_explicit(&g->bad_lines, memory_order_relaxed);
    out->refused_full = atomic_load_explicit(&g->refused_full, memory_order_relaxed);
    out->closed_early = atomic_load_explicit(&g->closed_early, memory_order_relaxed);
}
