/*
 * DOC: the byte-copy relay of the ports/N cells: the ceiling on N ports
 *
 * The ports/N cells (ports/2 too) send port i's flow to port (i + 1) % N.
 * This relay does exactly that and nothing else: it listens on the N
 * ports the cell gave it (r->ports, as vmwire gets them in `-netdev
 * socket,listen=`), accepts one connection on each, and copies the bytes
 * arriving on port i to port i + 1 whole.  It never parses: the
 * generator's records already carry QEMU's [len32be][frame] framing, so
 * a byte stream passed on unchanged is a valid stream of frames for the
 * receiver to check.
 * What is left is the kernel's work (two socket copies per byte, as
 * through vmwire) and one process's loop around it: the ceiling for any
 * user-space relay on these cells.
 *
 * One thread, one level-triggered epoll set, nonblocking sockets.  A
 * port's socket plays two parts: the source of flow i (read) and the
 * destination of flow i - 1 (write).  Its interest follows its state:
 *
 *   EPOLLIN   while its flow's destination has nothing pending: one read
 *             of up to BENCH_CHUNK into the relay's one read buffer per
 *             wake-up, then one write of it to the destination
 *   EPOLLOUT  while it holds pending bytes (what its socket did not take
 *             of the last write): written on as the socket drains
 *
 * Every read goes to the same buffer, which stays in the cache; only
 * what a short write left is copied into the destination's own pending
 * buffer (BENCH_CHUNK, allocated at setup, its pages touched only when
 * used).  Swapping buffers instead would save that copy but spread the
 * reads over N + 1 buffers, 64 MiB at ports/256, each cold when reused
 * (vmwire's stream ports share their buffers for that reason,
 * docs/performance.md).  While a destination has pending bytes its
 * source is not read: backpressure reaches the sender through TCP, and
 * nothing is dropped.
 *
 * The relay ends once every connection has been closed (end of file or
 * an error on each); the bench stops it with SIGTERM otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define COPY_EVENTS 64

typedef struct CopyPort {
    int fd;                         /* the connection accepted on the port */
    bool open;                      /* in the epoll set: no EOF, no error */
    uint32_t events;                /* interest registered with epoll */
    uint8_t *pending;               /* from the previous port, not yet taken */
    size_t off, len;                /* pending[off..len) is still to write */
} CopyPort;

typedef struct CopyRelay {
    CopyPort ports[BENCH_MAX_PORTS];
    int nports, nopen;
    int epfd;
    uint8_t *buf;                   /* every read goes here */
} CopyRelay;

static CopyPort *copy_next(CopyRelay *c, int i)
{
    return &c->ports[(i + 1) % c->nports];
}

/* Register port @i's interest as its state asks (see DOC). */
static void copy_watch(CopyRelay *c, int i)
{
    CopyPort *p = &c->ports[i];
    uint32_t events = (copy_next(c, i)->len == 0 ? EPOLLIN : 0) |
                      (p->len > 0 ? EPOLLOUT : 0);
    struct epoll_event ev = { .events = events, .data.u32 = i };

    if (p->open && events != p->events) {
        epoll_ctl(c->epfd, EPOLL_CTL_MOD, p->fd, &ev);
        p->events = events;
    }
}

/* Port @i's connection has ended: out of the set, its pending bytes too. */
static void copy_close(CopyRelay *c, int i)
{
    CopyPort *p = &c->ports[i];

    if (p->open) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, p->fd, NULL);
        p->open = false;
        p->off = p->len = 0;
        c->nopen--;
    }
}

/*
 * Write port @i's pending bytes.  An error other than a full socket
 * (the generator closed it) drops them: the relay is ending.
 */
static void copy_flush(CopyRelay *c, int i)
{
    CopyPort *p = &c->ports[i];
    ssize_t n = write(p->fd, p->pending + p->off, p->len - p->off);

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n < 0) {
        p->off = p->len = 0;
        return;
    }
    p->off += n;
    if (p->off == p->len) {
        p->off = p->len = 0;
    }
}

/* One read on port @i, written on to port i + 1 (see DOC). */
static void copy_pump(CopyRelay *c, int i)
{
    CopyPort *dst = copy_next(c, i);
    ssize_t n = read(c->ports[i].fd, c->buf, BENCH_CHUNK);

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        copy_close(c, i);
        return;
    }
    if (!dst->open) {
        return;                     /* nobody to take it: ending */
    }
    ssize_t w = write(dst->fd, c->buf, n);

    if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
        w = 0;
    }
    if (w < 0) {
        return;                     /* the generator closed it: ending */
    }
    if (w < n) {
        memcpy(dst->pending, c->buf + w, n - w);
        dst->off = 0;
        dst->len = n - w;
    }
}

/* Port @i's events: what it must write first, then what it may read. */
static void copy_event(CopyRelay *c, int i, uint32_t events)
{
    int next = (i + 1) % c->nports, prev = (i + c->nports - 1) % c->nports;

    if ((events & EPOLLOUT) && c->ports[i].len > 0) {
        copy_flush(c, i);
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (copy_next(c, i)->len == 0) {
            copy_pump(c, i);
        } else if (!(events & EPOLLIN)) {
            copy_close(c, i);       /* hung up while its flow was waiting */
        }
    }
    copy_watch(c, i);
    copy_watch(c, next);            /* its pending bytes changed */
    copy_watch(c, prev);            /* may read again if port i drained */
}

/* Listen on r's ports, accept one connection on each (the generator
 * connects to them in order), and set them up as in DOC. */
static void copy_setup(CopyRelay *c, const Relay *r)
{
    int listeners[BENCH_MAX_PORTS];

    c->nports = c->nopen = r->nports;
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    c->buf = g_malloc(BENCH_CHUNK);
    for (int i = 0; i < r->nports; i++) {
        listeners[i] = tcp_listen(r->ports[i]);
    }
    for (int i = 0; i < r->nports; i++) {
        CopyPort *p = &c->ports[i];
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

        p->fd = accept(listeners[i], NULL, NULL);
        if (p->fd < 0) {
            die("copy relay: accept on port %d: %s", r->ports[i],
                strerror(errno));
        }
        close(listeners[i]);
        fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
        p->pending = g_malloc(BENCH_CHUNK);
        p->open = true;
        p->events = EPOLLIN;
        epoll_ctl(c->epfd, EPOLL_CTL_ADD, p->fd, &ev);
    }
}

/* The relay process's body (relay_try_start()): returns when all ended. */
void copy_ports_run(const Relay *r)
{
    CopyRelay *c = g_new0(CopyRelay, 1);
    struct epoll_event events[COPY_EVENTS];

    copy_setup(c, r);
    while (c->nopen > 0) {
        int n = epoll_wait(c->epfd, events, COPY_EVENTS, -1);

        if (n < 0 && errno != EINTR) {
            die("copy relay: epoll_wait: %s", strerror(errno));
        }
        for (int k = 0; k < n; k++) {
            int i = events[k].data.u32;

            if (c->ports[i].open) {
                copy_event(c, i, events[k].events);
            }
        }
    }
}
