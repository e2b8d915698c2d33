/*
 * DOC: the many-ports generator: all flows of a ports/N cell from a few threads
 *
 * vmwire-bench's threaded generator (flow_send(), flow_receive()) gives
 * each flow a sender and a receiver thread: 512 threads for ports/256,
 * which on this 2-core machine cost more CPU per frame than vmwire itself
 * and left it less of the machine.  This one drives the same flows, with
 * the same frames and the same checks, from a few threads (one per core
 * but one, which is left to the relay, unless --ports-threads says
 * otherwise: on 2 cores, 2 threads made ports/32 slower than 1 did, and
 * vmwire's CPU per frame higher, docs/performance.md).
 *
 * Each thread owns a contiguous share of the flows, both their ends:
 * it writes flow i's records on its sending port and reads them back on
 * its receiving port, so a flow's counters never leave the thread and
 * nothing is shared but the sockets (a port's fd sits in two threads'
 * epoll sets when its two flows belong to two threads: one writes it,
 * the other reads it).  The sockets are nonblocking, in one level-
 * triggered epoll set per thread:
 *
 *   writable  one write of the flow's next records, at most a batch
 *             (BENCH_CHUNK) and never beyond the window: records in
 *             flight (sent, not yet read back) stay within --window
 *             frames and --window-bytes, as the threaded sender's do.
 *             A flow whose window is full drops EPOLLOUT until its
 *             receiver has read some back.  A short write leaves part of
 *             a record out; the next write builds that record again (a
 *             frame is a function of its flow and sequence number) and
 *             sends the rest of it.
 *   readable  one read of up to BENCH_CHUNK after the last read's
 *             incomplete record (carried per flow), then every whole
 *             record checked with frame_check(): length, ether type,
 *             sequence number, the payload pattern, in order.  Frames of
 *             other sources (announcements) are skipped; the first bad
 *             frame fails the flow, and its note says which it was.
 *
 * Sending stops at the flow's stop_at; the thread returns when all its
 * flows have read back what they sent, or failed, or nothing has come
 * for 2 s (frames were lost: the caller reports received != sent).
 *
 * For tests, opt.fault makes flow 0 lose, duplicate or damage its frame
 * number BENCH_FAULT_AT on the way out: the checks must fail the cell
 * (tests/bench/test-bench-faults.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench.h"

#define MUX_EVENTS 256
#define MUX_IDLE_S 2.0              /* after stop_at: frames were lost */

typedef struct MuxFlow {
    Flow *flow;
    uint8_t src[6], dst[6];
    size_t partial;                 /* bytes of record flow->sent written */
    uint8_t *carry;                 /* an incomplete record from the last read */
    size_t carry_len;
    bool done;                      /* read back all it sent, or failed */
} MuxFlow;

/* A port as one thread sees it: the flow it sends there, the one it reads. */
typedef struct MuxPort {
    int fd;
    MuxFlow *tx, *rx;
    uint32_t events;                /* registered with the thread's epoll */
    bool gone;                      /* closed: out of the epoll set */
} MuxPort;

typedef struct MuxThread {
    MuxFlow *flows;
    int nflows, ndone;
    MuxPort *ports;                 /* indexed by port number */
    int nports;
    int epfd;
    size_t rec, per_batch;          /* record bytes; records per write */
    uint64_t batch_min;             /* window room that turns EPOLLOUT on */
    uint64_t window;                /* records in flight at most */
    uint8_t *txbuf, *rxbuf;
    double last_progress;
    pthread_t thread;
} MuxThread;

/*
 * The interest port @p needs now: reading its flow; writing the rest of
 * a record begun, or (before stop_at) a batch once the window has room
 * for one (or for a quarter of a window smaller than a batch).
 */
static uint32_t mux_port_interest(const MuxThread *t, const MuxPort *p)
{
    uint32_t want = 0;

    if (p->rx && !p->rx->done) {
        want |= EPOLLIN;
    }
    if (p->tx && !p->tx->done && !atomic_load(&p->tx->flow->tx_done)) {
        const Flow *f = p->tx->flow;

        if (p->tx->partial ||
            t->window - (f->sent - f->received) >= t->batch_min) {
            want |= EPOLLOUT;
        }
    }
    return want;
}

/* Set @p's interest in the thread's epoll set (added once, then modified). */
static void mux_port_update(MuxThread *t, MuxPort *p)
{
    uint32_t want = mux_port_interest(t, p);

    if (want == p->events || p->gone) {
        return;
    }
    struct epoll_event ev = { .events = want, .data.ptr = p };
    if (epoll_ctl(t->epfd, EPOLL_CTL_MOD, p->fd, &ev) < 0) {
        die("epoll_ctl on port fd %d: %s", p->fd, strerror(errno));
    }
    p->events = want;
}

static void mux_flow_finish(MuxThread *t, MuxFlow *m)
{
    if (!m->done) {
        m->done = true;
        t->ndone++;
    }
}

static void mux_flow_fail(MuxThread *t, MuxFlow *m, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void mux_flow_fail(MuxThread *t, MuxFlow *m, const char *fmt, ...)
{
    va_list ap;

    if (!m->flow->failed) {
        va_start(ap, fmt);
        vsnprintf(m->flow->bad, sizeof(m->flow->bad), fmt, ap);
        va_end(ap);
    }
    m->flow->failed = true;
    mux_flow_finish(t, m);
}

/* The sequence number record @r of flow @m carries: @r, unless faulted. */
static uint64_t mux_record_seq(const MuxFlow *m, uint64_t r)
{
    if (m->flow->tx_port != 0 || r < BENCH_FAULT_AT) {
        return r;
    }
    switch (opt.fault) {
    case BENCH_FAULT_LOSE:
        return r + 1;               /* frame BENCH_FAULT_AT never leaves */
    case BENCH_FAULT_DUPLICATE:
        return r == BENCH_FAULT_AT ? r : r - 1;    /* it leaves twice */
    default:
        return r;
    }
}

/* Build records @first .. @first + @n - 1 of flow @m at @buf. */
static void mux_build(const MuxThread *t, const MuxFlow *m, uint8_t *buf,
                      uint64_t first, size_t n)
{
    uint32_t len = htonl(m->flow->size);

    for (size_t i = 0; i < n; i++) {
        uint8_t *p = buf + i * t->rec;

        memcpy(p, &len, 4);
        frame_build(p + 4, m->flow->size, m->dst, m->src,
                    mux_record_seq(m, first + i));
        if (opt.fault == BENCH_FAULT_DAMAGE && m->flow->tx_port == 0 &&
            first + i == BENCH_FAULT_AT) {
            p[t->rec - 1] ^= 0x01;  /* the pattern word at the frame's end */
        }
    }
}

/* Flow @m sends no more: its count is final; done if all are back. */
static void mux_stop_sending(MuxThread *t, MuxFlow *m)
{
    atomic_store(&m->flow->tx_done, true);
    if (m->flow->received >= m->flow->sent) {
        mux_flow_finish(t, m);
    }
}

/*
 * Port @p is writable: one write of flow @m's next records (after its
 * stop_at only the rest of a record begun, so the stream ends whole; but
 * at least one batch, as flow_sending() in vmwire-bench.c says why).
 */
static void mux_send(MuxThread *t, MuxFlow *m)
{
    Flow *f = m->flow;
    bool stopping = now_s() >= f->stop_at && f->sent > 0;

    if (stopping && m->partial == 0) {
        mux_stop_sending(t, m);
        return;
    }
    size_t n = stopping ? 1 : MIN(t->per_batch,
                                  t->window - (f->sent - f->received));
    mux_build(t, m, t->txbuf, f->sent, n);
    ssize_t w = write(f->tx_fd, t->txbuf + m->partial, n * t->rec - m->partial);
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (w < 0) {
        mux_flow_fail(t, m, "write: %s", strerror(errno));
        return;
    }
    size_t total = m->partial + w;
    f->sent += total / t->rec;
    m->partial = total % t->rec;
}

/*
 * Check the whole records in @buf (@len bytes) for flow @m; return the
 * bytes used (the rest is an incomplete record).
 */
static size_t mux_check(MuxThread *t, MuxFlow *m, const uint8_t *buf,
                        size_t len)
{
    Flow *f = m->flow;
    size_t off = 0;

    while (len - off >= BENCH_HDR && !m->done) {
        uint32_t flen;
        memcpy(&flen, buf + off, 4);
        flen = ntohl(flen);
        if (flen > BENCH_MAX_FRAME) {
            mux_flow_fail(t, m, "frame #%" PRIu64 ": a length of %u bytes",
                          (uint64_t)f->received, flen);
            break;
        }
        if (len - off < BENCH_HDR + flen) {
            break;
        }
        const uint8_t *p = buf + off + BENCH_HDR;
        int rc = frame_check(p, flen, f->size, m->src, f->received);
        if (rc == -2) {
            uint64_t seq;
            memcpy(&seq, p + 14, 8);    /* -2: flen >= 30 */
            f->damaged++;
            mux_flow_fail(t, m, "frame #%" PRIu64 " has seq %" PRIu64
                          "%s, %u bytes", (uint64_t)f->received, seq,
                          seq > f->received ? " (lost before it)" :
                          seq < f->received ? " (duplicate)" : " (damaged)",
                          flen);
        } else if (rc == 0) {
            f->received++;
        }
        off += BENCH_HDR + flen;
    }
    return off;
}

/* Port @p is readable: one read for flow @m, every whole record checked. */
static void mux_receive(MuxThread *t, MuxFlow *m)
{
    Flow *f = m->flow;
    uint64_t before = f->received;

    memcpy(t->rxbuf, m->carry, m->carry_len);
    ssize_t n = read(f->rx_fd, t->rxbuf + m->carry_len, BENCH_CHUNK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        mux_flow_fail(t, m, "read: %s", n ? strerror(errno) : "end of stream");
        return;
    }
    size_t have = m->carry_len + n;
    size_t used = mux_check(t, m, t->rxbuf, have);
    /* the rest is less than a record, unless the flow failed: then drop it */
    m->carry_len = m->done ? 0 : have - used;
    memcpy(m->carry, t->rxbuf + used, m->carry_len);
    if (f->received > before) {
        f->last_rx = t->last_progress = now_s();
        if (f->first_rx == 0) {
            f->first_rx = f->last_rx;
        }
    }
    if (atomic_load(&f->tx_done) && f->received >= f->sent) {
        mux_flow_finish(t, m);
    }
}

/* One epoll event on port @p. */
static void mux_event(MuxThread *t, MuxPort *p, uint32_t events)
{
    MuxFlow *tx = p->tx, *rx = p->rx;

    if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
        if (tx && !tx->done) {
            mux_flow_fail(t, tx, "port %d: connection closed", tx->flow->tx_port);
        }
        if (rx && !rx->done) {
            mux_flow_fail(t, rx, "port %d: connection closed", rx->flow->rx_port);
        }
        epoll_ctl(t->epfd, EPOLL_CTL_DEL, p->fd, NULL);
        p->gone = true;             /* else epoll reports it on every wait */
        return;
    }
    if (events & EPOLLIN && rx && !rx->done) {
        mux_receive(t, rx);
    }
    if (events & EPOLLOUT && tx && !tx->done) {
        mux_send(t, tx);
    }
    mux_port_update(t, p);
    if (rx && tx != rx) {
        mux_port_update(t, &t->ports[rx->flow->tx_port]);
    }
}

/* Sending time is over: flows that sent and are not amid a record stop. */
static void mux_stop_senders(MuxThread *t)
{
    for (int i = 0; i < t->nflows; i++) {
        MuxFlow *m = &t->flows[i];

        if (!atomic_load(&m->flow->tx_done) && m->partial == 0 &&
            m->flow->sent > 0) {
            mux_stop_sending(t, m);
            mux_port_update(t, &t->ports[m->flow->tx_port]);
        }
    }
}

static void *mux_thread_run(void *opaque)
{
    MuxThread *t = opaque;
    struct epoll_event ev[MUX_EVENTS];
    double stop_at = t->flows[0].flow->stop_at;

    t->last_progress = now_s();
    while (t->ndone < t->nflows) {
        double now = now_s();

        if (now >= stop_at) {
            mux_stop_senders(t);
            if (now - MAX(t->last_progress, stop_at) > MUX_IDLE_S) {
                break;              /* lost frames: the caller reports them */
            }
        }
        int n = epoll_wait(t->epfd, ev, MUX_EVENTS, 10);
        if (n < 0 && errno != EINTR) {
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            mux_event(t, ev[i].data.ptr, ev[i].events);
        }
    }
    return NULL;
}

static void mux_thread_init(MuxThread *t, Flow *flows, int nflows,
                            const int *fds, int nports)
{
    t->flows = g_new0(MuxFlow, nflows);
    t->nflows = nflows;
    t->ports = g_new0(MuxPort, nports);
    t->nports = nports;
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    t->rec = BENCH_HDR + flows[0].size;
    t->window = MAX(1, MIN((uint64_t)opt.window,
                           (uint64_t)opt.window_bytes / t->rec));
    t->per_batch = MIN(MAX(1, BENCH_CHUNK / t->rec), t->window);
    t->batch_min = MAX(1, MIN(t->per_batch, t->window / 4));
    t->txbuf = g_malloc0(t->per_batch * t->rec);
    t->rxbuf = g_malloc(BENCH_CHUNK + BENCH_HDR + BENCH_MAX_FRAME);
    for (int i = 0; i < nports; i++) {
        t->ports[i].fd = fds[i];
    }
    for (int i = 0; i < nflows; i++) {
        MuxFlow *m = &t->flows[i];
        Flow *f = &flows[i];

        g_assert(f->size == flows[0].size && !f->broadcast);
        g_assert(!t->ports[f->tx_port].tx && !t->ports[f->rx_port].rx);
        m->flow = f;
        port_mac(m->src, f->tx_port);
        port_mac(m->dst, f->rx_port);
        m->carry = g_malloc(BENCH_HDR + BENCH_MAX_FRAME);
        t->ports[f->tx_port].tx = m;
        t->ports[f->rx_port].rx = m;
    }
    for (int i = 0; i < nports; i++) {
        MuxPort *p = &t->ports[i];
        struct epoll_event ev = { .events = 0, .data.ptr = p };

        if ((p->tx || p->rx) &&
            epoll_ctl(t->epfd, EPOLL_CTL_ADD, p->fd, &ev) < 0) {
            die("epoll_ctl on port fd %d: %s", p->fd, strerror(errno));
        }
        mux_port_update(t, p);
    }
}

static void mux_thread_free(MuxThread *t)
{
    for (int i = 0; i < t->nflows; i++) {
        g_free(t->flows[i].carry);
    }
    close(t->epfd);
    g_free(t->flows);
    g_free(t->ports);
    g_free(t->txbuf);
    g_free(t->rxbuf);
}

/*
 * Run @nflows flows (unicast, one frame size, each port sending for one
 * flow at most and receiving for one at most) on the connected @fds of
 * @nports ports, from @nthreads threads (0: one per core but one), until
 * their stop_at; the Flow counters and notes are then final as
 * flow_send()/flow_receive() leave them.  The fds are left nonblocking.
 */
void stream_mux_run(Flow *flows, int nflows, const int *fds, int nports,
                    int nthreads)
{
    if (nthreads <= 0) {
        nthreads = MAX(1, (int)sysconf(_SC_NPROCESSORS_ONLN) - 1);
    }
    nthreads = MIN(nthreads, nflows);
    MuxThread *threads = g_new0(MuxThread, nthreads);

    for (int i = 0; i < nports; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    }
    for (int k = 0; k < nthreads; k++) {
        int first = k * nflows / nthreads, end = (k + 1) * nflows / nthreads;

        mux_thread_init(&threads[k], flows + first, end - first, fds, nports);
    }
    for (int k = 0; k < nthreads; k++) {
        pthread_create(&threads[k].thread, NULL, mux_thread_run, &threads[k]);
    }
    for (int k = 0; k < nthreads; k++) {
        pthread_join(threads[k].thread, NULL);
        mux_thread_free(&threads[k]);
    }
    g_free(threads);
}
