/*
 * DOC: the stream connection data path (see net/stream-conn.h)
 *
 * Moved out of net/socket.c so that `-netdev socket` and `-netdev stream`
 * share one framing reader, one transmit ring and one backpressure scheme.
 * What a backend does when a connection starts or ends (logs, QMP events,
 * link state, listening again, reconnecting) stays in the backend, behind
 * the StreamConnOps hooks.
 */
#include "net/stream-conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "qapi-events.h"
#include "util/log.h"
#include "util/sockets.h"
#include "util/sockops.h"

static void stream_data_sent(NetClientState *nc, ssize_t len);

/* ---- the transmit ring --------------------------------------------------- */

static bool tx_ring_has_room(const StreamConnTxRing *t, size_t len)
{
    return STREAM_CONN_TX_SIZE - t->len - t->staged_len >= len;
}

/* Bytes waiting, in the ring and in the arena. */
static size_t tx_ring_held(const StreamConnTxRing *t)
{
    return t->len + t->staged_len;
}

/* Forget everything waiting. */
static void tx_ring_clear(StreamConnTxRing *t)
{
    t->head = t->len = 0;
    t->nstaged = 0;
    t->staged_len = 0;
}

/* The ring's size is no power of two: wrap without dividing. */
static size_t tx_ring_wrap(size_t off)
{
    return off >= STREAM_CONN_TX_SIZE ? off - STREAM_CONN_TX_SIZE : off;
}

static void tx_ring_copy_in(StreamConnTxRing *t, const void *src, size_t len)
{
    size_t tail = tx_ring_wrap(t->head + t->len);
    size_t first = MIN(len, STREAM_CONN_TX_SIZE - tail);

    memcpy(t->buf + tail, src, first);
    memcpy(t->buf, (const uint8_t *)src + first, len - first);
    t->len += len;
}

/*
 * Append [len][frame]; the caller checked there is room.  Most records fit
 * before the ring's end: header and parts go straight in.
 */
static void tx_ring_put_record(StreamConnTxRing *t, const struct iovec *iov,
                               int iovcnt, size_t size)
{
    size_t end = t->head + t->len;
    uint8_t hdr[STREAM_FRAMING_HEADER_LEN];
    uint8_t *p;

    if (end < STREAM_CONN_TX_SIZE &&
        STREAM_CONN_TX_SIZE - end < sizeof(hdr) + size) {
        stream_framing_put_header(hdr, (uint32_t)size);
        tx_ring_copy_in(t, hdr, sizeof(hdr));
        for (int i = 0; i < iovcnt; i++) {
            tx_ring_copy_in(t, iov[i].iov_base, iov[i].iov_len);
        }
        return;
    }
    p = t->buf + tx_ring_wrap(end);
    stream_framing_put_header(p, (uint32_t)size);
    p += sizeof(hdr);
    for (int i = 0; i < iovcnt; i++) {
        memcpy(p, iov[i].iov_base, iov[i].iov_len);
        p += iov[i].iov_len;
    }
    t->len += sizeof(hdr) + size;
}

/* Describe the held bytes, oldest first; returns the iovec count. */
static int tx_ring_iov(const StreamConnTxRing *t, struct iovec iov[2])
{
    size_t first = MIN(t->len, STREAM_CONN_TX_SIZE - t->head);

    iov[0] = (struct iovec){ t->buf + t->head, first };
    if (t->len == first) {
        return 1;
    }
    iov[1] = (struct iovec){ t->buf, t->len - first };
    return 2;
}

static void tx_ring_consume(StreamConnTxRing *t, size_t len)
{
    t->head = tx_ring_wrap(t->head + len);
    t->len -= len;
    if (t->len == 0) {
        t->head = 0;
    }
}

/* ---- the transmit arena (see STREAM_CONN_ARENA_SIZE) ---------------------- */

static uint8_t stream_conn_arena[STREAM_CONN_ARENA_SIZE];
static size_t stream_conn_arena_used;
static unsigned stream_conn_arena_gen;
static StreamConnTxStats stream_conn_tx_stats;

/*
 * The receive scratch (see stream_conn_readable()), declared here because
 * the transmit side writes from it too: a frame read into it sits right
 * behind its own [len] header, so a stream port relaying to a stream port
 * stages that record where it lies instead of copying it into the arena.
 * Staging lends the scratch to the batch: until the batch ends no read
 * goes into it (they use the connection's own buffer), so the bytes are
 * still there when the flush writes them or moves them to a ring.
 */
static StreamFraming stream_conn_scratch;
static bool stream_conn_scratch_busy;      /* a read is parsing it now */
static unsigned stream_conn_scratch_lent_gen;  /* the batch it is lent to */

static bool stream_conn_scratch_is_lent(void)
{
    return batch_active() &&
           stream_conn_scratch_lent_gen == batch_generation();
}

/*
 * Append span [p, p + len) to @t's staged spans, continuing the last one
 * if it ends at @p; false if @t has no span left.
 */
static bool tx_staged_append(StreamConnTxRing *t, uint8_t *p, size_t len)
{
    struct iovec *last = t->nstaged ? &t->staged[t->nstaged - 1] : NULL;

    if (last && (uint8_t *)last->iov_base + last->iov_len == p) {
        last->iov_len += len;
    } else if (t->nstaged < STREAM_CONN_STAGED) {
        t->staged[t->nstaged++] = (struct iovec){ p, len };
    } else {
        return false;
    }
    t->staged_len += len;
    return true;
}

/*
 * Stage [len][frame] without copying if the scratch holds exactly that
 * record: the last piece of @iov lies in the bytes the current read left
 * there, and the header and every earlier piece match the bytes before it
 * (a hub hands on a frame as a copy of its 12 address bytes and the rest
 * in place).  Only while that read is being parsed: nothing else points
 * into the scratch.
 */
static bool tx_scratch_stage(StreamConnTxRing *t, const struct iovec *iov,
                             int iovcnt, size_t size)
{
    const StreamFraming *sf = &stream_conn_scratch;
    uintptr_t base = (uintptr_t)sf->buf;
    uintptr_t last, end, off;
    uint8_t hdr[STREAM_FRAMING_HEADER_LEN];
    uint8_t *rec;

    if (!stream_conn_scratch_busy || iovcnt < 1 || iovcnt > 4) {
        return false;
    }
    last = (uintptr_t)iov[iovcnt - 1].iov_base;
    if (last < base || last > base + sf->end ||
        iov[iovcnt - 1].iov_len > base + sf->end - last) {
        return false;
    }
    end = last - base + iov[iovcnt - 1].iov_len;
    if (end < sizeof(hdr) + size) {
        return false;
    }
    rec = (uint8_t *)sf->buf + end - size - sizeof(hdr);
    stream_framing_put_header(hdr, (uint32_t)size);
    if (memcmp(rec, hdr, sizeof(hdr)) != 0) {
        return false;
    }
    off = sizeof(hdr);
    for (int i = 0; i < iovcnt - 1; i++) {
        if (iov[i].iov_base != rec + off &&
            memcmp(iov[i].iov_base, rec + off, iov[i].iov_len) != 0) {
            return false;
        }
        off += iov[i].iov_len;
    }
    if (!tx_staged_append(t, rec, sizeof(hdr) + size)) {
        return false;
    }
    stream_conn_scratch_lent_gen = batch_generation();
    stream_conn_tx_stats.lent += sizeof(hdr) + size;
    return true;
}

/*
 * Stage [len][frame] in the arena if the batch's share has room and @t
 * has a span left (or the record continues its last one).  Only with an
 * empty ring, inside a batch: every staged byte is written or moved to
 * the ring by the flush at the batch's end, before the arena is reused.
 */
static bool tx_arena_stage(StreamConnTxRing *t, const struct iovec *iov,
                           int iovcnt, size_t size)
{
    size_t rec = STREAM_FRAMING_HEADER_LEN + size;
    uint8_t *p;

    if (stream_conn_arena_gen != batch_generation()) {
        stream_conn_arena_gen = batch_generation();
        stream_conn_arena_used = 0;
    }
    if (STREAM_CONN_ARENA_SIZE - stream_conn_arena_used < rec) {
        return false;
    }
    p = stream_conn_arena + stream_conn_arena_used;
    if (!tx_staged_append(t, p, rec)) {
        return false;
    }
    stream_conn_arena_used += rec;
    stream_conn_tx_stats.arena += rec;
    stream_framing_put_header(p, (uint32_t)size);
    p += STREAM_FRAMING_HEADER_LEN;
    for (int i = 0; i < iovcnt; i++) {
        memcpy(p, iov[i].iov_base, iov[i].iov_len);
        p += iov[i].iov_len;
    }
    return true;
}

/*
 * Copy the staged bytes after the first @skip (already written) into the
 * ring, which is empty (and allocated if any are left): they fit, room
 * counted them.
 */
static void tx_arena_unstage(StreamConnTxRing *t, size_t skip)
{
    g_assert(t->len == 0);
    for (unsigned i = 0; i < t->nstaged; i++) {
        size_t n = t->staged[i].iov_len;

        if (skip >= n) {
            skip -= n;
            continue;
        }
        g_assert(t->buf);
        tx_ring_copy_in(t, (uint8_t *)t->staged[i].iov_base + skip, n - skip);
        stream_conn_tx_stats.unstaged += n - skip;
        skip = 0;
    }
    t->nstaged = 0;
    t->staged_len = 0;
}

/* ---- setup and teardown -------------------------------------------------- */

void stream_data_init(StreamData *d, const StreamConnOps *ops)
{
    StreamConn *c = &d->conn;

    g_assert(ops);
    c->nc = &d->nc;
    c->ops = ops;
    c->fd = -1;
    d->listener.fd = -1;
}

/* ---- buffers on demand --------------------------------------------------- */

/*
 * The connections holding buffers, and the timer that frees those of
 * connections idle for a whole STREAM_CONN_IDLE_MS (armed while any
 * connection holds buffers).  Freeing only after a quiet period keeps a
 * busy connection's buffers across its short idle moments, so steady
 * traffic allocates nothing.
 */
static GPtrArray *stream_conn_holders;
static guint stream_conn_sweep_id;

/* True if nothing is buffered, so the buffers can go. */
static bool stream_conn_drained(const StreamConn *c)
{
    return tx_ring_held(&c->tx) == 0 && !c->read_blocked &&
           (!c->rx || stream_framing_pending(c->rx) == 0);
}

static void stream_conn_free_buffers(StreamConn *c)
{
    g_clear_pointer(&c->rx, g_free);
    g_clear_pointer(&c->tx.buf, g_free);
    tx_ring_clear(&c->tx);
    if (c->holding) {
        c->holding = false;
        g_ptr_array_remove_fast(stream_conn_holders, c);
    }
}

static gboolean stream_conn_sweep(gpointer unused)
{
    for (guint i = stream_conn_holders->len; i-- > 0;) {
        StreamConn *c = g_ptr_array_index(stream_conn_holders, i);

        if (c->busy) {
            c->busy = false;
        } else if (stream_conn_drained(c)) {
            stream_conn_free_buffers(c);
        }
    }
    if (stream_conn_holders->len > 0) {
        return G_SOURCE_CONTINUE;
    }
    stream_conn_sweep_id = 0;
    return G_SOURCE_REMOVE;
}

/* Remember that @c holds buffers, so the sweep frees them once idle. */
static void stream_conn_hold(StreamConn *c)
{
    c->busy = true;
    if (c->holding) {
        return;
    }
    if (!stream_conn_holders) {
        stream_conn_holders = g_ptr_array_new();
    }
    g_ptr_array_add(stream_conn_holders, c);
    c->holding = true;
    if (!stream_conn_sweep_id) {
        stream_conn_sweep_id = g_timeout_add(STREAM_CONN_IDLE_MS,
                                             stream_conn_sweep, NULL);
    }
}

/* The receive buffer, allocated when the socket first has bytes. */
static StreamFraming *stream_conn_rx(StreamConn *c)
{
    if (G_UNLIKELY(!c->rx)) {
        c->rx = g_malloc(sizeof(StreamFraming));
        c->rx->frames = c->rx->empty_frames = c->rx->compactions = 0;
        stream_framing_reset(c->rx);
    }
    stream_conn_hold(c);
    return c->rx;
}

/* The transmit ring, allocated with the first record to write. */
static void stream_conn_tx_alloc(StreamConn *c)
{
    if (G_UNLIKELY(!c->tx.buf)) {
        c->tx.buf = g_malloc(STREAM_CONN_TX_SIZE);
        c->tx.head = c->tx.len = 0;
    }
    stream_conn_hold(c);
}

/* Drop the socket and what both buffers hold. */
static void stream_conn_release(StreamConn *c)
{
    int saved = errno;

    g_clear_pointer(&c->fd_handler, fd_handler_free);
    if (c->fd >= 0) {
        sockops->close(c->fd);
    }
    errno = saved;
    c->fd = -1;
    if (c->rx) {
        stream_framing_reset(c->rx);
    }
    tx_ring_clear(&c->tx);
    c->connecting = c->read_blocked = c->tx_dead = false;
    batch_cancel(&c->tx_flush);
}

void stream_data_cleanup(NetClientState *nc)
{
    StreamData *d = container_of(nc, StreamData, nc);
    StreamConn *c = &d->conn;

    stream_listener_destroy(&d->listener);
    g_clear_pointer(&d->peer, qapi_free_SocketAddress);
    stream_conn_release(c);
    stream_conn_free_buffers(c);
}

void stream_conn_close(StreamConn *c, StreamConnClose why, int err)
{
    StreamListener *listener = &container_of(c, StreamData, conn)->listener;

    if (c->ops->closing) {
        c->ops->closing(c, why, err);
    }
    stream_conn_release(c);
    if (c->ops->closed) {
        c->ops->closed(c);
    }
    if (listener->accepted) {
        stream_listener_set_enabled(listener, true);
    }
    c->tx_waiting = false;
    net_client_flush_queued(c->nc);
}

/* ---- socket -> peer ------------------------------------------------------ */

/*
 * Hand complete buffered frames to the peer.  Returns true if all were
 * handed out (read on), false if the peer pushed back or the connection
 * was closed.
 */
static bool stream_conn_deliver(StreamConn *c, StreamFraming *sf)
{
    const uint8_t *frame = NULL;
    size_t len = 0;

    for (;;) {
        switch (stream_framing_next(sf, &frame, &len)) {
        case STREAM_FRAMING_NEED_MORE:
            return true;
        case STREAM_FRAMING_EMPTY:
            net_client_count_drop(c->nc, NET_DROP_MALFORMED);
            break;
        case STREAM_FRAMING_OVERSIZED:
            log_report_id(c->log_name ? c->log_name : c->nc->name,
                          "serious error: oversized packet received, "
                          "connection terminated.");
            net_client_count_reset(c->nc);
            stream_conn_close(c, STREAM_CONN_CLOSE_PROTOCOL, 0);
            return false;
        case STREAM_FRAMING_FRAME:
            if (net_client_send_async(c->nc, frame, len,
                                      stream_data_sent) == 0) {
                c->read_blocked = true;
                fd_handler_set_read(c->fd_handler, false);
                return false;
            }
            if (c->fd < 0) {
                return false;
            }
            break;
        }
    }
}

/* A queued frame was delivered: resume parsing, then reading. */
static void stream_data_sent(NetClientState *nc, ssize_t len)
{
    StreamConn *c = &container_of(nc, StreamData, nc)->conn;

    if (!c->read_blocked || c->fd < 0) {
        return;
    }
    c->read_blocked = false;
    /* No buffer: the queued frame was the last byte read. */
    if (!c->rx || stream_conn_deliver(c, c->rx)) {
        fd_handler_set_read(c->fd_handler, true);
    }
}

/*
 * The receive scratch: every connection reads into this one buffer and
 * keeps only what is left after its frames were handed on (a partial
 * frame, or the bytes behind a frame its peer queued) in its own.  With
 * hundreds of busy connections, reading each into its own buffer made
 * every kernel copy and every parse touch memory last used hundreds of
 * wake-ups earlier (256 x 256 KiB); this buffer stays in the cache.
 * The main loop is single-threaded; a nested read (none is known), and
 * any read while the scratch is lent to the batch, goes into the
 * connection's own buffer.  (The scratch is declared with the transmit
 * arena, which writes from it.)
 */

/* Move what @from still holds to @to (empty). */
static void stream_conn_move_pending(StreamFraming *to, StreamFraming *from)
{
    size_t pending = stream_framing_pending(from);
    size_t taken;

    stream_framing_reset(to);
    taken = stream_framing_feed(to, from->buf + from->start, pending);
    g_assert(taken == pending);
    stream_framing_reset(from);
}

/*
 * One recv() into @sf, its complete frames handed on.  Returns the bytes
 * read, 0 when the socket had none (EAGAIN, EINTR), -1 when the
 * connection closed or a frame was queued: stop reading.
 */
static ssize_t stream_conn_read_into(StreamConn *c, StreamFraming *sf)
{
    size_t room;
    uint8_t *space = stream_framing_read_space(sf, &room);
    ssize_t n;

    g_assert(room >= STREAM_FRAMING_READ_ROOM);
    n = sockops->recv(c->fd, space, STREAM_FRAMING_READ_ROOM, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN ||
                  errno == EWOULDBLOCK)) {
        return 0;
    }
    if (n <= 0) {
        stream_conn_close(c, STREAM_CONN_CLOSE_PEER, n < 0 ? errno : 0);
        return -1;
    }
    stream_framing_commit(sf, (size_t)n);
    return stream_conn_deliver(c, sf) ? n : -1;
}

/*
 * Up to STREAM_CONN_READS reads of STREAM_FRAMING_READ_ROOM bytes, every
 * complete frame handed on after each.  A short read means the socket is
 * drained: stop there rather than pay for a recv() that says EAGAIN.
 */
static void stream_conn_readable(void *opaque)
{
    StreamConn *c = opaque;
    StreamFraming *sf;
    ssize_t n = 0;

    c->busy = true;             /* keeps a buffer it holds from the sweep */
    if (stream_conn_scratch_busy || stream_conn_scratch_is_lent()) {
        sf = stream_conn_rx(c);
    } else {
        /* What the connection kept is less than one record, or nothing. */
        stream_conn_scratch_busy = true;
        sf = &stream_conn_scratch;
        stream_framing_reset(sf);
        if (c->rx) {
            stream_conn_move_pending(sf, c->rx);
        }
    }
    for (int i = 0; i < STREAM_CONN_READS; i++) {
        n = stream_conn_read_into(c, sf);
        /* A lent scratch keeps its bytes: read again on the next wake-up. */
        if (n < STREAM_FRAMING_READ_ROOM ||
            (sf == &stream_conn_scratch && stream_conn_scratch_is_lent())) {
            break;
        }
    }
    if (sf == &stream_conn_scratch) {
        /*
         * Keep what is left in the connection's own buffer (allocated
         * only now: a peer that sends whole frames never needs it).
         * -1 and not blocked: the connection closed; nothing to keep.
         */
        if (stream_framing_pending(sf) > 0 && c->fd >= 0 &&
            (n >= 0 || c->read_blocked)) {
            stream_conn_move_pending(stream_conn_rx(c), sf);
        }
        stream_framing_reset(sf);
        stream_conn_scratch_busy = false;
    }
}

/* ---- peer -> socket ------------------------------------------------------ */

/*
 * Write the staged arena spans with one sendmsg() and move what the socket
 * did not take into the ring.  0 or -errno (the spans are dropped).
 */
static int stream_conn_write_staged(StreamConn *c)
{
    struct msghdr msg = { .msg_iov = c->tx.staged,
                          .msg_iovlen = c->tx.nstaged };
    ssize_t n;
    int tries = 0;

    do {
        n = sockops->sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR && ++tries < STREAM_CONN_WRITES);
    if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
        c->tx.nstaged = 0;
        c->tx.staged_len = 0;
        return -errno;
    }
    if (n > 0) {
        c->busy = true;
    }
    if ((size_t)MAX(n, 0) < c->tx.staged_len) {
        stream_conn_tx_alloc(c);
    }
    tx_arena_unstage(&c->tx, (size_t)MAX(n, 0));
    return 0;
}

/*
 * Write what is waiting (the staged spans, then the ring), many frames per
 * sendmsg(), a bounded number of calls.  Write interest stays on while
 * bytes remain.  0 or -errno.
 */
static int stream_conn_write(StreamConn *c)
{
    if (c->tx.nstaged > 0) {
        int ret = stream_conn_write_staged(c);

        if (ret < 0) {
            return ret;
        }
    }
    for (int i = 0; i < STREAM_CONN_WRITES && c->tx.len > 0; i++) {
        struct iovec iov[2];
        struct msghdr msg = { .msg_iov = iov };
        ssize_t n;

        msg.msg_iovlen = (size_t)tx_ring_iov(&c->tx, iov);
        n = sockops->sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n < 0) {
            return -errno;
        }
        tx_ring_consume(&c->tx, (size_t)n);
        c->busy = true;
    }
    fd_handler_set_write(c->fd_handler, c->tx.len > 0);
    return 0;
}

/* The ring has drained enough: let the core deliver what it queued. */
static void stream_conn_tx_resume(StreamConn *c)
{
    if (c->tx_waiting && tx_ring_has_room(&c->tx, STREAM_CONN_MAX_RECORD)) {
        c->tx_waiting = false;
        net_client_flush_queued(c->nc);
    }
}

/*
 * Write what the ring holds now, unless the writable callback will (write
 * interest on) or cannot yet (connecting).  A failed write cannot close
 * the connection from here (we may be inside a delivery): the ring is
 * dropped and write interest makes the loop close it.
 */
static void stream_conn_push(StreamConn *c)
{
    batch_cancel(&c->tx_flush);
    if (c->fd < 0 || c->tx_dead) {
        tx_ring_clear(&c->tx);
        return;
    }
    if (c->connecting || fd_handler_writing(c->fd_handler)) {
        if (c->tx.nstaged > 0) {    /* the writable callback takes it */
            stream_conn_tx_alloc(c);
            tx_arena_unstage(&c->tx, 0);
        }
        return;
    }
    if (tx_ring_held(&c->tx) == 0) {
        return;
    }
    if (stream_conn_write(c) < 0) {
        c->tx_dead = true;
        tx_ring_clear(&c->tx);
        fd_handler_set_write(c->fd_handler, true);
    }
}

/* The end of the batch that filled the ring: one write for all of it. */
static void stream_conn_batch_flush(BatchEntry *e)
{
    StreamConn *c = container_of(e, StreamConn, tx_flush);

    stream_conn_push(c);
    if (c->fd >= 0 && !fd_handler_writing(c->fd_handler)) {
        stream_conn_tx_resume(c);
    }
}

static void stream_conn_connect_done(StreamConn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (sockops->getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        err = errno;
    }
    if (err != 0) {
        stream_conn_close(c, STREAM_CONN_CLOSE_PEER, err);
        return;
    }
    c->connecting = false;
    if (c->ops->connected) {
        c->ops->connected(c);
    }
    socket_set_nodelay(c->fd);
    fd_handler_set_read(c->fd_handler, true);
    fd_handler_set_write(c->fd_handler, false);
    err = -stream_conn_write(c);
    if (err > 0) {
        stream_conn_close(c, STREAM_CONN_CLOSE_PEER, err);
        return;
    }
    stream_conn_tx_resume(c);
}

static void stream_conn_writable(void *opaque)
{
    StreamConn *c = opaque;
    int ret;

    if (c->connecting) {
        stream_conn_connect_done(c);
        return;
    }
    ret = c->tx_dead ? -EPIPE : stream_conn_write(c);
    if (ret < 0) {
        stream_conn_close(c, STREAM_CONN_CLOSE_PEER, -ret);
        return;
    }
    stream_conn_tx_resume(c);
}

ssize_t stream_data_receive_iov(NetClientState *nc, const struct iovec *iov,
                                int iovcnt)
{
    StreamConn *c = &container_of(nc, StreamData, nc)->conn;
    size_t size = iov_size_total(iov, iovcnt);

    if (c->fd < 0) {
        return -ENOTCONN;
    }
    if (c->tx_dead) {
        return -EPIPE;
    }
    if (!tx_ring_has_room(&c->tx, STREAM_FRAMING_HEADER_LEN + size)) {
        stream_conn_push(c);    /* bytes held for the batch: make room */
        if (c->tx_dead) {
            return -EPIPE;
        }
        if (!tx_ring_has_room(&c->tx, STREAM_FRAMING_HEADER_LEN + size)) {
            c->tx_waiting = true;
            return 0;
        }
    }
    if (batch_active() && c->tx.len == 0 && !c->connecting &&
        !fd_handler_writing(c->fd_handler) &&
        (tx_scratch_stage(&c->tx, iov, iovcnt, size) ||
         tx_arena_stage(&c->tx, iov, iovcnt, size))) {
        stream_conn_hold(c);
        batch_defer(&c->tx_flush, stream_conn_batch_flush);
        return (ssize_t)size;
    }
    stream_conn_tx_alloc(c);
    if (c->tx.nstaged > 0) {
        tx_arena_unstage(&c->tx, 0);    /* the arena's share is used up */
    }
    tx_ring_put_record(&c->tx, iov, iovcnt, size);
    stream_conn_tx_stats.ring += STREAM_FRAMING_HEADER_LEN + size;
    if (c->connecting || fd_handler_writing(c->fd_handler)) {
        return (ssize_t)size;   /* the writable callback takes it */
    }
    if (batch_active()) {
        batch_defer(&c->tx_flush, stream_conn_batch_flush);
    } else {
        stream_conn_push(c);
    }
    return (ssize_t)size;
}

StreamConnTxStats stream_conn_tx_stats_get(void)
{
    return stream_conn_tx_stats;
}

bool stream_data_can_receive(NetClientState *nc)
{
    StreamConn *c = &container_of(nc, StreamData, nc)->conn;

    if (c->fd < 0 || tx_ring_has_room(&c->tx, STREAM_CONN_MAX_RECORD)) {
        return true;
    }
    stream_conn_push(c);        /* bytes held for the batch: make room */
    if (tx_ring_has_room(&c->tx, STREAM_CONN_MAX_RECORD)) {
        return true;
    }
    c->tx_waiting = true;       /* the core will queue: flush when drained */
    return false;
}

void stream_conn_attach(StreamConn *c, int fd, bool connecting)
{
    c->fd = fd;
    if (c->rx) {
        stream_framing_reset(c->rx);
    }
    tx_ring_clear(&c->tx);
    c->fd_handler = fd_handler_new(fd, stream_conn_readable,
                                   stream_conn_writable, c);
    c->connecting = connecting;
    if (connecting) {
        fd_handler_set_read(c->fd_handler, false);
        fd_handler_set_write(c->fd_handler, true);
    }
}

/* ---- listening sockets --------------------------------------------------- */

static gboolean stream_listener_retry(gpointer opaque)
{
    StreamListener *l = opaque;

    l->retry_id = 0;
    fd_handler_set_read(l->handler, l->enabled);
    return G_SOURCE_REMOVE;
}

/*
 * Out of fds (the reserve could not be topped up, or accept() failed for
 * lack of fds or memory): a pending connection stays and the listening fd
 * stays readable, so polling it now would spin.  Stop watching it, try
 * again in a while; logged once per stretch at the limit, counted.
 */
static void stream_listener_back_off(StreamListener *l, int err)
{
    l->deferred++;
    if (!l->at_limit) {
        l->at_limit = true;
        log_report_id(l->nc->name, "can't accept a connection (%s), "
                      "retrying every %u ms", g_strerror(err),
                      STREAM_LISTENER_RETRY_MS);
    }
    fd_handler_set_read(l->handler, false);
    l->retry_id = g_timeout_add(STREAM_LISTENER_RETRY_MS,
                                stream_listener_retry, l);
}

/* A connection was accepted: if we were at the limit, say it is over. */
static void stream_listener_resumed(StreamListener *l)
{
    if (l->at_limit) {
        l->at_limit = false;
        log_report_id(l->nc->name, "accepting connections again (%llu "
                      "accepts deferred)", (unsigned long long)l->deferred);
    }
}

static void stream_listener_readable(void *opaque)
{
    StreamListener *l = opaque;

    for (int i = 0; i < STREAM_LISTENER_ACCEPTS && l->enabled &&
         !l->retry_id; i++) {
        struct sockaddr_storage sa = { 0 };
        socklen_t len = sizeof(sa);
        int fd;

        if (!socket_fd_reserve_fill()) {
            stream_listener_back_off(l, errno);
            return;
        }
        fd = sockops->accept(l->fd, (struct sockaddr *)&sa, &len);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                stream_listener_back_off(l, errno);
            }
            return;     /* EAGAIN, EINTR, an aborted connection: later */
        }
        stream_listener_resumed(l);
        l->accepted(l, fd, &sa, len);
    }
}

void stream_listener_start(StreamListener *l, NetClientState *nc, int fd,
                           StreamListenerAccepted *accepted)
{
    l->nc = nc;
    l->fd = fd;
    l->accepted = accepted;
    l->enabled = true;
    l->handler = fd_handler_new(fd, stream_listener_readable, NULL, l);
    socket_fd_reserve_fill();   /* at startup, while fds are plenty */
}

void stream_listener_set_enabled(StreamListener *l, bool on)
{
    l->enabled = on;
    if (l->handler && !l->retry_id) {
        fd_handler_set_read(l->handler, on);
    }
}

void stream_listener_destroy(StreamListener *l)
{
    g_clear_pointer(&l->handler, fd_handler_free);
    g_clear_handle_id(&l->retry_id, g_source_remove);
    if (l->fd >= 0 && l->accepted) {
        sockops->close(l->fd);
    }
    l->fd = -1;
    l->accepted = NULL;
}

/* ---- the base's server and client ---------------------------------------- */

static void stream_data_accepted(StreamListener *l, int fd,
                                 const struct sockaddr_storage *sa,
                                 socklen_t len)
{
    StreamData *d = container_of(l, StreamData, listener);

    stream_listener_set_enabled(l, false);    /* one peer at a time */
    socket_set_nodelay(fd);                   /* fails harmlessly: unix */
    stream_conn_attach(&d->conn, fd, false);
    d->conn.ops->accepted(&d->conn, sa, len);
}

void stream_data_listen(StreamData *d, int fd)
{
    g_assert(d->conn.ops->accepted);
    stream_listener_start(&d->listener, &d->nc, fd, stream_data_accepted);
}

int stream_data_connect(StreamData *d, int fd, const struct sockaddr *sa,
                        socklen_t len)
{
    int ret = socket_connect_start(fd, sa, len);

    if (ret < 0) {
        sockops->close(fd);
        return ret;
    }
    stream_conn_attach(&d->conn, fd, ret == 0);
    if (ret == 1) {
        socket_set_nodelay(fd);
    }
    return ret;
}

SocketAddress *stream_data_describe(const struct sockaddr_storage *sa,
                                    socklen_t len, const char *unix_path,
                                    char **uri)
{
    SocketAddress *addr = g_new0(SocketAddress, 1);
    char host[INET6_ADDRSTRLEN] = "";
    unsigned port = 0;

    if (sa->ss_family == AF_UNIX) {
        addr->type = SOCKET_ADDRESS_TYPE_UNIX;
        addr->u.q_unix.path = g_strdup(unix_path ? unix_path : "");
        if (uri) {
            *uri = g_strdup_printf("unix:%s", addr->u.q_unix.path);
        }
        return addr;
    }
    if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;

        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    } else {
        const struct sockaddr_in *in = (const void *)sa;

        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    }
    addr->type = SOCKET_ADDRESS_TYPE_INET;
    addr->u.inet.host = g_strdup(host);
    addr->u.inet.port = g_strdup_printf("%u", port);
    if (uri) {
        *uri = g_strdup_printf(strchr(host, ':') ? "tcp:[%s]:%u"
                                                 : "tcp:%s:%u", host, port);
    }
    return addr;
}

void stream_data_announce(StreamData *d, SocketAddress *peer)
{
    qapi_free_SocketAddress(d->peer);
    d->peer = peer;
    qapi_event_send_netdev_stream_connected(d->nc.name, peer);
}

void stream_data_forget_peer(StreamData *d)
{
    if (d->peer) {
        g_clear_pointer(&d->peer, qapi_free_SocketAddress);
        qapi_event_send_netdev_stream_disconnected(d->nc.name);
    }
}
