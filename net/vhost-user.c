/*
 * DOC: -netdev vhost-user, the backend side of vhost-user
 *
 * A frontend (QEMU's `-netdev vhost-user,chardev=...`, DPDK's
 * virtio_user) connects to our unix socket and hands us its guest memory
 * and one RX/TX pair of split virtqueues.  Three layers:
 *
 *   net/virtq.c           guest memory and rings (pure, fuzzable)
 *   net/vhost-user-dev.c  the protocol state of one frontend (pure)
 *   this file             sockets, eventfds, the client kinds
 *
 * One frontend connection is a VhostUserBase: a NetClientState, the
 * socket (messages may arrive in pieces: buffered, at most
 * VHOST_USER_READS recvmsg() calls per wake-up, fds by SCM_RIGHTS), the
 * VuDev and one FdHandler per kick eventfd.  Two kinds embed it:
 *
 *   single   `-netdev vhost-user,id=ID,addr...`: client ID, one frontend
 *            at a time (another is refused), link down without one;
 *            server=on listens (StreamListener), server=off connects and
 *            with reconnect-ms=N tries again.
 *   hubid=N  the listener is net/stream-multi.c's (one home for
 *            many-client listeners); each frontend is a client
 *            "ID.n.conn" (VhostUserPort) whose peer is hub port "ID.n".
 *
 * Frames:
 *   guest TX -> peer: a kick on vring 1 drains it with kicks turned off,
 *     at most VHOST_USER_TX_BATCH chains per wake-up (then an idle source
 *     goes on), then turns kicks on and re-checks.  Each chain's iovec
 *     (guest memory, the 12-byte header stripped) goes to
 *     net_client_send_iov_async() as is: whoever takes it copies once (a
 *     chain of more than NET_HUB_IOV_MAX pieces is gathered first).
 *     A 0 (queued) stops draining until the sent callback.
 *   peer -> guest RX: receive_iov copies the frame into the guest's
 *     buffers (mergeable if negotiated) and defers publishing the used
 *     index and the call to the batch's end (include/util/batch.h).  No
 *     buffers: return 0 (the flow-control rule), flush when the guest
 *     kicks vring 0.  RX kicks are asked for only while a frame waits,
 *     and from the guest's current index on, not from the first buffer
 *     we left: a frame may need more buffers than are posted, and a
 *     guest with EVENT_IDX kicks only when its index crosses ours.
 * Calls go out only when virtq_should_notify() says the guest wants one.
 * A ring started without a kick fd (the no-fd bit: the frontend asks us
 * to poll) is looked at every VHOST_USER_POLL_MS from a timeout.
 *
 * A frontend that sends something we refuse gets one log line
 * ("vmwire: ID: vhost-user: ...") and its connection closed, counted in
 * `resets`; a malformed ring stops that ring until the frontend resets
 * it (counted once, logged once).  Nothing a frontend does stops vmwire.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor/monitor.h"
#include "net/hub.h"
#include "net/net.h"
#include "net/netdev.h"
#include "net/stream-conn.h"
#include "net/stream-multi.h"
#include "net/vhost-user-dev.h"
#include "qapi-events.h"
#include "util/batch.h"
#include "util/busy-poll.h"
#include "system/listen-fds.h"
#include "util/error.h"
#include "util/fd-handler.h"
#include "util/log.h"
#include "util/sockets.h"

#define VHOST_USER_READS 32         /* recvmsg() calls per wake-up */
#define VHOST_USER_TX_BATCH 256     /* TX chains per wake-up */
#define VHOST_USER_RX_TRIES 8       /* a frame racing the guest's refill */
#define VHOST_USER_POLL_MS 1        /* rings started without a kick fd */
#define VHOST_USER_POLL_MAX_NS_DEFAULT 262144   /* see docs/vhost-user.md */
#define VHOST_USER_POLL_MAX_NS_LIMIT 1000000000

typedef struct VhostUserBase VhostUserBase;

/* The kind's hooks around the end of a connection. */
typedef struct VhostUserOps {
    void (*closing)(VhostUserBase *b);
    void (*closed)(VhostUserBase *b);
    /* Where else a reset is counted (a port's listener), or NULL. */
    NetClientState *(*reset_also)(VhostUserBase *b);
} VhostUserOps;

struct VhostUserBase {
    NetClientState nc;
    const VhostUserOps *ops;
    const char *log_name;           /* nc.name, or the port's name */
    char *path;                     /* for the status line; owned */
    int fd;                         /* the frontend's socket, or -1 */
    FdHandler *handler;
    VuDev dev;
    FdHandler *kick[VU_DEV_NUM_VRINGS];
    size_t got;                     /* bytes of the message so far */
    uint8_t msg[VU_MSG_HEADER_SIZE + VU_MSG_MAX_PAYLOAD];
    int fds[VU_MSG_MAX_FDS];        /* fds that came with it */
    size_t nfds;
    bool fds_lost;                  /* more fds than fit, or truncated */
    VuMsgReply reply;
    bool tx_blocked;                /* a TX frame is queued at the peer */
    bool rx_waiting;                /* we refused a frame: flush on kick */
    bool broken_seen[VU_DEV_NUM_VRINGS];
    guint tx_idle_id;               /* TX drain continues from the loop */
    guint poll_id;                  /* a ring without kick fd: polled */
    BatchEntry rx_flush;            /* used index published at batch end */
    BusyPoll busy;                  /* the TX ring, polled between frames */
    VirtqElement rx_elem;
    VirtqElement tx_elem;
    uint8_t *tx_gather;             /* NET_BUFSIZE, made on first need */
};

/* ---- the mapping seam: real shared memory ---- */

static void *vhost_user_map(void *opaque, int fd, uint64_t size,
                            uint64_t offset)
{
    struct stat st;
    void *p;

    if (size > SIZE_MAX || offset > (uint64_t)INT64_MAX) {
        return NULL;
    }
    /*
     * Pages of a MAP_SHARED mapping past the end of its file raise SIGBUS
     * when touched: a region must lie inside its file (a memfd or a file
     * on tmpfs/hugetlbfs), or a frontend's table would kill the daemon.
     * A frontend that shrinks the file later still could; QEMU seals its
     * memfds against that (docs/vhost-user.md, "Limits").
     */
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        offset > (uint64_t)st.st_size ||
        size > (uint64_t)st.st_size - offset) {
        return NULL;
    }
    p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
             (off_t)offset);
    return p == MAP_FAILED ? NULL : p;
}

static void vhost_user_unmap(void *opaque, void *addr, uint64_t size)
{
    munmap(addr, (size_t)size);
}

static void vhost_user_vring_changed(void *opaque, unsigned index);

static const VuDevOps vhost_user_dev_ops = {
    .map = vhost_user_map,
    .unmap = vhost_user_unmap,
    .vring_changed = vhost_user_vring_changed,
};

/* ---- rings ---- */

static void vhost_user_notify(VhostUserBase *b, unsigned index)
{
    Virtq *vq = &b->dev.vring[index].vq;
    uint64_t one = 1;

    virtq_flush(vq);
    if (b->dev.vring[index].call_fd >= 0 && virtq_should_notify(vq)) {
        if (write(b->dev.vring[index].call_fd, &one, sizeof(one)) < 0) {
            /* A full or closed eventfd: the guest polls anyway. */
        }
    }
}

/* A reset on the client, and on its listener (which outlives a port). */
static void vhost_user_count_reset(VhostUserBase *b)
{
    NetClientState *also = b->ops->reset_also ? b->ops->reset_also(b)
                                              : NULL;

    net_client_count_reset(&b->nc);
    if (also) {
        net_client_count_reset(also);
    }
}

/* Log and count a ring that just broke; forget one that was reset. */
static bool vhost_user_check_broken(VhostUserBase *b, unsigned index)
{
    const Virtq *vq = &b->dev.vring[index].vq;

    if (!vq->broken) {
        b->broken_seen[index] = false;
        return false;
    }
    if (!b->broken_seen[index]) {
        b->broken_seen[index] = true;
        vhost_user_count_reset(b);
        log_report_id(b->log_name, "vhost-user: %s ring broken: %s; "
                      "stopped until reset", index == VU_DEV_RX ? "RX" : "TX",
                      vq->broken_reason);
    }
    return true;
}

static void vhost_user_rx_flush(BatchEntry *e)
{
    VhostUserBase *b = container_of(e, VhostUserBase, rx_flush);

    vhost_user_notify(b, VU_DEV_RX);
}

static void vhost_user_rx_publish(VhostUserBase *b)
{
    if (b->rx_flush.queued) {
        return;                     /* this batch publishes already */
    }
    if (batch_active()) {
        batch_defer(&b->rx_flush, vhost_user_rx_flush);
    } else {
        vhost_user_notify(b, VU_DEV_RX);
    }
}

static ssize_t vhost_user_receive_iov(NetClientState *nc,
                                      const struct iovec *iov, int iovcnt)
{
    VhostUserBase *b = container_of(nc, VhostUserBase, nc);
    Virtq *vq = &b->dev.vring[VU_DEV_RX].vq;
    bool mergeable = vu_dev_has(&b->dev, VIRTIO_NET_F_MRG_RXBUF);

    if (!vu_dev_vring_live(&b->dev, VU_DEV_RX)) {
        return -ENOTCONN;               /* counted as dropped */
    }
    /*
     * Not enough buffers: wait for the guest to add more.  A retry needs
     * its index to have moved between our two reads of it; a guest that
     * keeps it moving only delays its own frames, so the retries stop.
     */
    for (int tries = 0; tries < VHOST_USER_RX_TRIES; tries++) {
        ssize_t r = virtq_rx_frame(vq, &b->dev.mem, &b->rx_elem,
                                   vu_dev_hdr_len(&b->dev), mergeable,
                                   iov, iovcnt);
        if (r != 0) {
            if (r == -EIO) {
                vhost_user_check_broken(b, VU_DEV_RX);
            }
            vhost_user_rx_publish(b);
            return r;
        }
        if (!virtq_enable_for_more(vq)) {
            break;
        }
    }
    b->rx_waiting = true;
    vhost_user_notify(b, VU_DEV_RX);
    return 0;
}

static bool vhost_user_can_receive(NetClientState *nc)
{
    VhostUserBase *b = container_of(nc, VhostUserBase, nc);

    return !b->rx_waiting;
}

/*
 * RX kicks are wanted only while a frame waits for buffers: the guest
 * need not tell us about every buffer it adds.  Take what waited, then
 * turn them off again unless still waiting.
 */
static void vhost_user_rx_resume(VhostUserBase *b)
{
    if (!b->rx_waiting || !vu_dev_vring_live(&b->dev, VU_DEV_RX)) {
        return;
    }
    b->rx_waiting = false;
    net_client_flush_queued(&b->nc);
    if (!b->rx_waiting && b->fd >= 0) {
        virtq_set_notification(&b->dev.vring[VU_DEV_RX].vq, false);
    }
}

/* The guest added RX buffers: take what waited. */
static void vhost_user_rx_kick(void *opaque)
{
    VhostUserBase *b = opaque;
    uint64_t v;

    if (read(b->dev.vring[VU_DEV_RX].kick_fd, &v, sizeof(v)) < 0) {
        /* EAGAIN: a spurious wake-up */
    }
    vhost_user_rx_resume(b);
}

static void vhost_user_tx_drain(VhostUserBase *b);

static void vhost_user_tx_sent(NetClientState *nc, ssize_t len)
{
    VhostUserBase *b = container_of(nc, VhostUserBase, nc);

    b->tx_blocked = false;
    vhost_user_tx_drain(b);
}

static gboolean vhost_user_tx_idle(gpointer opaque)
{
    VhostUserBase *b = opaque;

    b->tx_idle_id = 0;
    batch_begin();              /* receivers publish once, at its end */
    vhost_user_tx_drain(b);
    batch_end();
    return G_SOURCE_REMOVE;
}

/* Send one popped chain; false if the peer queued it (stop draining). */
static bool vhost_user_tx_one(VhostUserBase *b, Virtq *vq)
{
    VirtqElement *e = &b->tx_elem;
    uint16_t head = e->head;
    int n = virtq_element_strip(e, vu_dev_hdr_len(&b->dev));

    struct iovec flat;

    /* Published only at the next flush, after the frame has been taken. */
    if (vq->used_pending >= vq->num) {
        virtq_flush(vq);        /* a guest re-posting what it never saw */
    }
    virtq_push(vq, head, 0);
    if (n < 0) {
        net_client_count_drop(&b->nc, NET_DROP_MALFORMED);
        return true;
    }
    if (n > NET_HUB_IOV_MAX && e->out_len <= NET_BUFSIZE) {
        /* A chain of many small pieces: one gathered copy instead. */
        if (!b->tx_gather) {
            b->tx_gather = g_malloc(NET_BUFSIZE);
        }
        flat.iov_base = b->tx_gather;
        flat.iov_len = iov_to_buf(e->iov, n, b->tx_gather, NET_BUFSIZE);
        return net_client_send_iov_async(&b->nc, &flat, 1,
                                         vhost_user_tx_sent) != 0;
    }
    return net_client_send_iov_async(&b->nc, e->iov, n,
                                     vhost_user_tx_sent) != 0;
}

/* Up to VHOST_USER_TX_BATCH chains; 1 if the budget ran out. */
static int vhost_user_tx_batch(VhostUserBase *b, Virtq *vq)
{
    for (unsigned i = 0; i < VHOST_USER_TX_BATCH; i++) {
        int r = virtq_pop(vq, &b->dev.mem, &b->tx_elem);

        if (r <= 0) {
            return r;
        }
        if (!vhost_user_tx_one(b, vq)) {
            b->tx_blocked = true;
            return 0;
        }
        if (net_client_is_going(&b->nc) || b->fd < 0) {
            return 0;
        }
    }
    return 1;
}

static void vhost_user_tx_drain(VhostUserBase *b)
{
    Virtq *vq = &b->dev.vring[VU_DEV_TX].vq;
    int r;

    if (b->tx_blocked || !vu_dev_vring_live(&b->dev, VU_DEV_TX) ||
        net_client_is_going(&b->nc)) {
        return;
    }
    virtq_set_notification(vq, false);
    for (;;) {
        r = vhost_user_tx_batch(b, vq);
        if (r != 0 || b->tx_blocked || !virtq_ready(vq) ||
            net_client_is_going(&b->nc) || busy_poll_start(&b->busy) ||
            !virtq_enable_and_recheck(vq)) {
            break;              /* polled: kicks stay off meanwhile */
        }
        virtq_set_notification(vq, false);
    }
    if (r < 0) {
        vhost_user_check_broken(b, VU_DEV_TX);
    } else if (r > 0 && !b->tx_idle_id) {
        b->tx_idle_id = g_idle_add(vhost_user_tx_idle, b);
    }
    vhost_user_notify(b, VU_DEV_TX);
}

static void vhost_user_tx_kick(void *opaque)
{
    VhostUserBase *b = opaque;
    uint64_t v;

    if (read(b->dev.vring[VU_DEV_TX].kick_fd, &v, sizeof(v)) < 0) {
        /* EAGAIN: a spurious wake-up */
    }
    busy_poll_woken(&b->busy);
    vhost_user_tx_drain(b);
}

/*
 * Busy polling of the TX ring (util/busy-poll.h): while the window is
 * open the guest is asked not to kick and the loop looks at the ring.
 */
static bool vhost_user_tx_ready(void *opaque)
{
    VhostUserBase *b = opaque;
    Virtq *vq = &b->dev.vring[VU_DEV_TX].vq;

    if (b->tx_blocked || vq->broken ||
        !vu_dev_vring_live(&b->dev, VU_DEV_TX)) {
        return false;
    }
    return virtq_avail_count(vq) > 0 || vq->broken;  /* broken: to log it */
}

static void vhost_user_tx_run(void *opaque)
{
    batch_begin();              /* receivers publish once, at its end */
    vhost_user_tx_drain(opaque);
    batch_end();
}

static bool vhost_user_tx_sleep(void *opaque)
{
    VhostUserBase *b = opaque;

    if (b->tx_blocked || !vu_dev_vring_live(&b->dev, VU_DEV_TX)) {
        return false;           /* the sent callback (or a reset) drains */
    }
    return virtq_enable_and_recheck(&b->dev.vring[VU_DEV_TX].vq);
}

static const BusyPollOps vhost_user_busy_ops = {
    .ready = vhost_user_tx_ready,
    .run = vhost_user_tx_run,
    .sleep = vhost_user_tx_sleep,
};

/* Rings the frontend started without a kick fd: look at them often. */
static gboolean vhost_user_poll(gpointer opaque)
{
    VhostUserBase *b = opaque;
    bool polled = false;

    for (unsigned i = 0; i < VU_DEV_NUM_VRINGS; i++) {
        polled |= b->dev.vring[i].started && b->dev.vring[i].kick_fd < 0;
    }
    if (!polled) {
        b->poll_id = 0;
        return G_SOURCE_REMOVE;
    }
    if (b->dev.vring[VU_DEV_RX].kick_fd < 0 &&
        virtq_avail_count(&b->dev.vring[VU_DEV_RX].vq) > 0) {
        vhost_user_rx_resume(b);
    }
    if (b->dev.vring[VU_DEV_TX].kick_fd < 0) {
        batch_begin();
        vhost_user_tx_drain(b);
        batch_end();
    }
    return G_SOURCE_CONTINUE;
}

/* A vring's fds or state changed (from inside vu_dev_handle). */
static void vhost_user_vring_changed(void *opaque, unsigned index)
{
    VhostUserBase *b = opaque;
    int fd = b->dev.vring[index].kick_fd;

    g_clear_pointer(&b->kick[index], fd_handler_free);
    if (index == VU_DEV_TX) {
        busy_poll_stop(&b->busy);
    }
    if (fd >= 0) {
        fd_set_nonblock(fd);
        b->kick[index] = fd_handler_new(fd, index == VU_DEV_RX
                                            ? vhost_user_rx_kick
                                            : vhost_user_tx_kick, NULL, b);
    } else if (b->dev.vring[index].started && !b->poll_id) {
        b->poll_id = g_timeout_add(VHOST_USER_POLL_MS, vhost_user_poll, b);
    }
    if (vhost_user_check_broken(b, index) ||
        !vu_dev_vring_live(&b->dev, index)) {
        return;
    }
    if (index == VU_DEV_TX) {
        vhost_user_tx_drain(b);
    } else if (b->rx_waiting) {
        vhost_user_rx_resume(b);
    } else {
        virtq_set_notification(&b->dev.vring[VU_DEV_RX].vq, false);
    }
}

/* ---- the frontend's socket ---- */

/* Release everything of the connection; no hooks. */
static void vhost_user_teardown(VhostUserBase *b)
{
    for (unsigned i = 0; i < VU_DEV_NUM_VRINGS; i++) {
        g_clear_pointer(&b->kick[i], fd_handler_free);
        b->broken_seen[i] = false;
    }
    g_clear_pointer(&b->handler, fd_handler_free);
    if (b->fd >= 0) {
        close(b->fd);
        b->fd = -1;
    }
    vu_dev_cleanup(&b->dev);
    for (size_t i = 0; i < b->nfds; i++) {
        close(b->fds[i]);
    }
    b->nfds = 0;
    b->got = 0;
    b->fds_lost = false;
    b->tx_blocked = false;
    b->rx_waiting = false;
    busy_poll_stop(&b->busy);
    g_clear_handle_id(&b->tx_idle_id, g_source_remove);
    g_clear_handle_id(&b->poll_id, g_source_remove);
    batch_cancel(&b->rx_flush);
}

/* End the connection: the kind's closing hook, teardown, closed hook. */
static void vhost_user_close(VhostUserBase *b)
{
    if (b->fd < 0) {
        return;
    }
    if (b->ops->closing) {
        b->ops->closing(b);
    }
    vhost_user_teardown(b);
    if (b->ops->closed) {
        b->ops->closed(b);
    }
}

/* The frontend sent something we refuse: one line, a reset, closed. */
static void vhost_user_refuse(VhostUserBase *b, const char *why)
{
    log_report_id(b->log_name, "vhost-user: %s; closing the connection",
                  why);
    vhost_user_count_reset(b);
    vhost_user_close(b);
}

static void vhost_user_dispatch(VhostUserBase *b)
{
    g_autoptr(GError) err = NULL;
    VuMsgHeader hdr;
    size_t nfds = b->nfds;
    ssize_t n;

    memcpy(&hdr, b->msg, sizeof(hdr));
    b->nfds = 0;
    b->got = 0;
    switch (vu_dev_handle(&b->dev, &hdr, b->msg + VU_MSG_HEADER_SIZE,
                          hdr.size, b->fds, nfds, &b->reply, &err)) {
    case VU_DEV_DONE:
        return;
    case VU_DEV_REPLY:
        n = send(b->fd, &b->reply, VU_MSG_HEADER_SIZE + b->reply.hdr.size,
                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n != (ssize_t)(VU_MSG_HEADER_SIZE + b->reply.hdr.size)) {
            log_report_id(b->log_name, "vhost-user: cannot reply: %s",
                          n < 0 ? g_strerror(errno) : "short write");
            vhost_user_close(b);
        }
        return;
    case VU_DEV_CLOSE:
        vhost_user_refuse(b, err ? err->message : "request refused");
        return;
    }
}

/* Keep the fds of a control message (beyond VU_MSG_MAX_FDS: closed). */
static void vhost_user_take_fds(VhostUserBase *b, struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        size_t n;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (b->nfds < VU_MSG_MAX_FDS) {
                b->fds[b->nfds++] = fd;
            } else {
                close(fd);
                b->fds_lost = true;
            }
        }
    }
    if (mh->msg_flags & MSG_CTRUNC) {
        b->fds_lost = true;
    }
}

/* One recvmsg(): 1 progress, 0 nothing to read, -1 connection ended. */
static int vhost_user_read_some(VhostUserBase *b)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * VU_MSG_MAX_FDS)];
        struct cmsghdr align;
    } control;
    uint32_t size = 0;
    size_t want;
    struct iovec iov;
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
    };
    ssize_t n;

    if (b->got >= VU_MSG_HEADER_SIZE) {
        memcpy(&size, b->msg + offsetof(VuMsgHeader, size), sizeof(size));
    }
    want = b->got < VU_MSG_HEADER_SIZE ? VU_MSG_HEADER_SIZE - b->got
           : VU_MSG_HEADER_SIZE + size - b->got;
    iov = (struct iovec) { .iov_base = b->msg + b->got, .iov_len = want };
    n = recvmsg(b->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return errno == EINTR ? 1 : 0;
    }
    if (n <= 0) {
        if (b->got || n < 0) {
            log_report_id(b->log_name, "vhost-user: frontend on %s %s%s",
                          b->path, n < 0 ? "failed: " : "left mid-message",
                          n < 0 ? g_strerror(errno) : "");
        }
        vhost_user_close(b);
        return -1;
    }
    vhost_user_take_fds(b, &mh);
    b->got += (size_t)n;
    return 1;
}

/* A whole message (or a bad header) buffered? Then handle it. */
static bool vhost_user_parse(VhostUserBase *b)
{
    uint32_t size;
    g_autofree char *why = NULL;

    if (b->got < VU_MSG_HEADER_SIZE) {
        return true;
    }
    memcpy(&size, b->msg + offsetof(VuMsgHeader, size), sizeof(size));
    if (size > VU_MSG_MAX_PAYLOAD) {
        why = g_strdup_printf("message with a %" G_GUINT32_FORMAT
                              "-byte payload", size);
    } else if (b->fds_lost) {
        why = g_strdup_printf("more than %d fds with a message",
                              VU_MSG_MAX_FDS);
    }
    if (why) {
        vhost_user_refuse(b, why);
        return false;
    }
    if (b->got == VU_MSG_HEADER_SIZE + size) {
        vhost_user_dispatch(b);
    }
    return b->fd >= 0;
}

static void vhost_user_readable(void *opaque)
{
    VhostUserBase *b = opaque;

    for (int i = 0; i < VHOST_USER_READS; i++) {
        if (vhost_user_read_some(b) <= 0 || !vhost_user_parse(b)) {
            return;
        }
    }
}

/* Serve frontend socket @fd (taken). */
static void vhost_user_attach(VhostUserBase *b, int fd)
{
    fd_set_nonblock(fd);
    fd_set_cloexec(fd);
    b->fd = fd;
    vu_dev_init(&b->dev, &vhost_user_dev_ops, b);
    b->handler = fd_handler_new(fd, vhost_user_readable, NULL, b);
}

static void vhost_user_base_init(VhostUserBase *b, const VhostUserOps *ops,
                                 const char *path, int64_t poll_max_ns)
{
    busy_poll_init(&b->busy, &vhost_user_busy_ops, b, poll_max_ns);
    b->ops = ops;
    b->log_name = b->nc.name;
    b->path = g_strdup(path);
    b->fd = -1;
    vu_dev_init(&b->dev, &vhost_user_dev_ops, b);
}

static void vhost_user_base_cleanup(VhostUserBase *b)
{
    vhost_user_teardown(b);
    busy_poll_cleanup(&b->busy);
    g_clear_pointer(&b->tx_gather, g_free);
    g_clear_pointer(&b->path, g_free);
}

#define VHOST_USER_HOOKS                                \
    .receive_iov = vhost_user_receive_iov,              \
    .can_receive = vhost_user_can_receive

/* ---- hubid=N: each frontend a port (net/stream-multi.c) ---- */

typedef struct VhostUserPort {
    VhostUserBase base;
    NetMultiMember member;
} VhostUserPort;

static void vhost_user_port_closing(VhostUserBase *b)
{
    net_multi_member_closing(&container_of(b, VhostUserPort, base)->member);
}

static void vhost_user_port_closed(VhostUserBase *b)
{
    net_multi_member_closed(&container_of(b, VhostUserPort, base)->member);
}

static NetClientState *vhost_user_port_listener(VhostUserBase *b)
{
    return net_multi_member_listener(&container_of(b, VhostUserPort,
                                                   base)->member);
}

static const VhostUserOps vhost_user_port_ops = {
    .closing = vhost_user_port_closing,
    .closed = vhost_user_port_closed,
    .reset_also = vhost_user_port_listener,
};

static void vhost_user_port_cleanup(NetClientState *nc)
{
    VhostUserPort *p = container_of(nc, VhostUserPort, base.nc);

    net_multi_member_cleanup(&p->member);
    vhost_user_base_cleanup(&p->base);
}

static const NetClientInfo vhost_user_port_info = {
    .type = NET_CLIENT_DRIVER_VHOST_USER,
    .type_name = "vhost-user",
    .size = sizeof(VhostUserPort),
    VHOST_USER_HOOKS,
    .cleanup = vhost_user_port_cleanup,
};

static NetMultiMember *vhost_user_port_create(const char *name)
{
    VhostUserPort *p = container_of(net_client_new(&vhost_user_port_info,
                                                   NULL, "vhost-user", name),
                                    VhostUserPort, base.nc);

    vhost_user_base_init(&p->base, &vhost_user_port_ops, NULL, 0);
    p->member.nc = &p->base.nc;
    return &p->member;
}

static void vhost_user_port_attach(NetMultiMember *mm, int fd)
{
    VhostUserPort *p = container_of(mm, VhostUserPort, member);
    const int64_t *poll_max_ns = net_multi_member_kind_data(mm);
    const char *peer = mm->peer;

    if (g_str_has_prefix(peer, "unix:")) {
        peer += strlen("unix:");
    }
    g_free(p->base.path);
    p->base.path = g_strdup(peer);
    p->base.log_name = mm->port_name;
    p->base.busy.max_ns = poll_max_ns ? *poll_max_ns : 0;
    vhost_user_attach(&p->base, fd);
    net_client_set_info_str(mm->nc, "vhost-user: frontend on %s", peer);
}

static bool vhost_user_port_is_open(NetMultiMember *mm)
{
    return container_of(mm, VhostUserPort, member)->base.fd >= 0;
}

static void vhost_user_port_close(NetMultiMember *mm)
{
    vhost_user_close(&container_of(mm, VhostUserPort, member)->base);
}

static const NetMultiKind vhost_user_multi_kind = {
    .create = vhost_user_port_create,
    .attach = vhost_user_port_attach,
    .is_open = vhost_user_port_is_open,
    .close = vhost_user_port_close,
};

/* ---- single: one frontend at a time ---- */

typedef struct VhostUserState {
    VhostUserBase base;
    StreamListener listener;        /* server=on; fd -1 otherwise */
    bool server;
    struct sockaddr_un sa;          /* server=off: where to connect */
    char *unlink_path;              /* our listening socket; owned */
    unsigned reconnect_ms;
    guint reconnect_id;
    bool announced;                 /* NETDEV_STREAM_CONNECTED was sent */
} VhostUserState;

static void vhost_user_connect(VhostUserState *s);

static void vhost_user_up(VhostUserState *s, int fd)
{
    SocketAddress addr = {
        .type = SOCKET_ADDRESS_TYPE_UNIX,
        .u.q_unix.path = s->base.path,
    };

    vhost_user_attach(&s->base, fd);
    net_client_set_info_str(&s->base.nc, "vhost-user: frontend on %s",
                            s->base.path);
    log_report_id(s->base.nc.name, "vhost-user: frontend connected on %s",
                  s->base.path);
    s->announced = true;
    qapi_event_send_netdev_stream_connected(s->base.nc.name, &addr);
    net_client_set_link(&s->base.nc, true);
}

static void vhost_user_single_closing(VhostUserBase *b)
{
    log_report_id(b->nc.name, "vhost-user: frontend on %s left", b->path);
}

static gboolean vhost_user_reconnect(gpointer opaque)
{
    VhostUserState *s = opaque;

    s->reconnect_id = 0;
    vhost_user_connect(s);
    return G_SOURCE_REMOVE;
}

/* No frontend (any more): link down, the event, listen or retry. */
static void vhost_user_down(VhostUserState *s)
{
    net_client_set_link(&s->base.nc, false);
    if (s->announced) {
        s->announced = false;
        qapi_event_send_netdev_stream_disconnected(s->base.nc.name);
    }
    if (s->server) {
        net_client_set_info_str(&s->base.nc, "vhost-user: listening on %s",
                                s->base.path);
        stream_listener_set_enabled(&s->listener, true);
    } else if (s->reconnect_ms && s->sa.sun_family == AF_UNIX) {
        net_client_set_info_str(&s->base.nc, "vhost-user: connecting to %s",
                                s->base.path);
        s->reconnect_id = g_timeout_add(s->reconnect_ms,
                                        vhost_user_reconnect, s);
    } else {
        net_client_set_info_str(&s->base.nc, "vhost-user: disconnected "
                                "from %s", s->base.path);
    }
}

static void vhost_user_single_closed(VhostUserBase *b)
{
    vhost_user_down(container_of(b, VhostUserState, base));
}

static const VhostUserOps vhost_user_single_ops = {
    .closing = vhost_user_single_closing,
    .closed = vhost_user_single_closed,
};

static void vhost_user_connect(VhostUserState *s)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int ret = fd < 0 ? -errno
              : socket_connect_start(fd, (const struct sockaddr *)&s->sa,
                                     sizeof(s->sa));

    if (ret == 1) {
        vhost_user_up(s, fd);
        return;
    }
    if (fd >= 0) {
        close(fd);
    }
    log_report_id(s->base.nc.name, "vhost-user: cannot connect to %s: %s",
                  s->base.path, ret ? g_strerror(-ret) : "busy");
    vhost_user_down(s);
}

static void vhost_user_accepted(StreamListener *l, int fd,
                                const struct sockaddr_storage *sa,
                                socklen_t len)
{
    VhostUserState *s = container_of(l, VhostUserState, listener);

    if (s->base.fd >= 0) {
        /* Logged first: whoever sees the close finds the line written. */
        log_report_id(s->base.nc.name, "vhost-user: a second frontend on %s "
                      "refused (one is connected)", s->base.path);
        net_client_count_lost(&s->base.nc);
        close(fd);
        return;
    }
    vhost_user_up(s, fd);
}

static void vhost_user_single_cleanup(NetClientState *nc)
{
    VhostUserState *s = container_of(nc, VhostUserState, base.nc);
    bool listening = s->listener.fd >= 0;

    g_clear_handle_id(&s->reconnect_id, g_source_remove);
    stream_listener_destroy(&s->listener);
    if (listening && s->unlink_path) {
        unlink(s->unlink_path);
    }
    g_clear_pointer(&s->unlink_path, g_free);
    vhost_user_base_cleanup(&s->base);
}

static const NetClientInfo vhost_user_single_info = {
    .type = NET_CLIENT_DRIVER_VHOST_USER,
    .type_name = "vhost-user",
    .size = sizeof(VhostUserState),
    VHOST_USER_HOOKS,
    .cleanup = vhost_user_single_cleanup,
};

/* ---- options ---- */

G_STATIC_ASSERT(offsetof(NetdevVhostUserOptions, hubid) ==
                offsetof(NetdevMultiListenOptions, hubid));
G_STATIC_ASSERT(offsetof(NetdevVhostUserOptions, has_max_clients) ==
                offsetof(NetdevMultiListenOptions, has_max_clients));
G_STATIC_ASSERT(offsetof(NetdevVhostUserOptions, vlan) ==
                offsetof(NetdevMultiListenOptions, vlan));

/* The options, checked and resolved; sockets opened. */
typedef struct VhostUserConfig {
    bool server;
    bool multi;
    NetMultiOptions mopts;
    struct sockaddr_un sa;
    char *path;                     /* shown: the path, or "fd:STR" */
    char *unlink_path;
    int fd;                         /* listening or connected; -1 */
    unsigned reconnect_ms;
    int64_t poll_max_ns;
} VhostUserConfig;

static bool vhost_user_check(const NetdevVhostUserOptions *o,
                             VhostUserConfig *cfg, GError **errp)
{
    cfg->server = !o->has_server || o->server;
    if (o->has_reconnect_ms && cfg->server) {
        error_setg(errp, "'reconnect-ms' is only valid with server=off");
        return false;
    }
    if (o->has_reconnect_ms &&
        (o->reconnect_ms < 0 || o->reconnect_ms > G_MAXINT)) {
        error_setg(errp, "reconnect-ms must be a positive number");
        return false;
    }
    cfg->reconnect_ms = o->has_reconnect_ms ? (unsigned)o->reconnect_ms : 0;
    if (o->has_poll_max_ns &&
        (o->poll_max_ns < 0 || o->poll_max_ns > VHOST_USER_POLL_MAX_NS_LIMIT)) {
        error_setg(errp, "poll-max-ns must be between 0 and %d",
                   VHOST_USER_POLL_MAX_NS_LIMIT);
        return false;
    }
    cfg->poll_max_ns = o->has_poll_max_ns ? o->poll_max_ns
                                          : VHOST_USER_POLL_MAX_NS_DEFAULT;
    if (o->has_hubid && !cfg->server) {
        error_setg(errp, "hubid= requires server=on");
        return false;
    }
    return net_multi_check(NET_MULTI_BASE(o), &cfg->multi, &cfg->mopts,
                           errp);
}

/* addr.type=fd: a unix stream socket we inherited. */
static bool vhost_user_addr_fd(const char *str, VhostUserConfig *cfg,
                               GError **errp)
{
    struct sockaddr_un own = { 0 };
    socklen_t len = sizeof(own);
    int type = 0;
    int ret = monitor_fd_param(str, &cfg->fd, &type);

    if (ret == MONITOR_FD_NOT_FOUND) {
        error_setg(errp, "File descriptor named '%s' has not been found%s",
                   str, listen_fds_hint());
        return false;
    }
    if (ret != 0 || type != SOCK_STREAM) {
        error_setg(errp, "addr.str=%s: not a stream socket we were given",
                   str);
        return false;
    }
    if (getsockname(cfg->fd, (struct sockaddr *)&own, &len) < 0 ||
        own.sun_family != AF_UNIX) {
        error_setg(errp, "addr.str=%s: not a unix socket", str);
        return false;
    }
    cfg->path = own.sun_path[0] ? g_strndup(own.sun_path,
                                            sizeof(own.sun_path))
                                : g_strdup_printf("fd:%s", str);
    return true;
}

static bool vhost_user_addr(const SocketAddress *addr, VhostUserConfig *cfg,
                            GError **errp)
{
    const char *path;

    if (addr->type == SOCKET_ADDRESS_TYPE_FD) {
        return vhost_user_addr_fd(addr->u.fd.str, cfg, errp);
    }
    if (addr->type != SOCKET_ADDRESS_TYPE_UNIX) {
        error_setg(errp, "vhost-user needs a unix socket: addr.type=unix "
                   "or addr.type=fd");
        return false;
    }
    path = addr->u.q_unix.path;
    if (path[0] == '\0' || strlen(path) >= sizeof(cfg->sa.sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is %s", path,
                   path[0] ? "too long" : "empty");
        return false;
    }
    cfg->sa.sun_family = AF_UNIX;
    memcpy(cfg->sa.sun_path, path, strlen(path));
    cfg->path = g_strdup(path);
    return true;
}

static bool vhost_user_listen(VhostUserConfig *cfg, GError **errp)
{
    SocketListenStep step;
    const struct sockaddr *sa = (const struct sockaddr *)&cfg->sa;

    socket_unix_unlink_stale(cfg->path, sa, sizeof(cfg->sa));
    cfg->fd = socket_listen_open(sa, sizeof(cfg->sa),
                                 cfg->multi ? SOMAXCONN : 4, false, &step);
    if (cfg->fd < 0) {
        error_setg(errp, "Failed to %s socket %s: %s",
                   step == SOCKET_LISTEN_BIND ? "bind" : "listen on",
                   cfg->path, g_strerror(errno));
        return false;
    }
    cfg->unlink_path = g_strdup(cfg->path);
    return true;
}

static void vhost_user_config_free(VhostUserConfig *cfg)
{
    if (cfg->fd >= 0) {
        close(cfg->fd);
    }
    g_free(cfg->path);
    g_free(cfg->unlink_path);
}

static void vhost_user_new_multi(const char *id, VhostUserConfig *cfg)
{
    NetMultiListenerConfig lc = {
        .id = id,
        .type = NET_CLIENT_DRIVER_VHOST_USER,
        .kind = &vhost_user_multi_kind,
        .listen_fd = cfg->fd,
        .unix_path = cfg->path,
        .unlink_path = g_steal_pointer(&cfg->unlink_path),
        .where = cfg->path,
        .opts = cfg->mopts,
        .kind_data = &cfg->poll_max_ns,
        .kind_data_size = sizeof(cfg->poll_max_ns),
    };

    cfg->fd = -1;
    net_multi_listener_new(&lc);
    g_free(lc.unlink_path);
}

static void vhost_user_new_single(const char *id, VhostUserConfig *cfg)
{
    VhostUserState *s = container_of(net_client_new(&vhost_user_single_info,
                                                    NULL, "vhost-user", id),
                                     VhostUserState, base.nc);
    int fd = cfg->fd;

    cfg->fd = -1;
    vhost_user_base_init(&s->base, &vhost_user_single_ops, cfg->path,
                         cfg->poll_max_ns);
    s->listener.fd = -1;
    s->server = cfg->server;
    s->sa = cfg->sa;
    s->unlink_path = g_steal_pointer(&cfg->unlink_path);
    s->reconnect_ms = cfg->reconnect_ms;
    net_client_set_link(&s->base.nc, false);
    if (s->server) {
        stream_listener_start(&s->listener, &s->base.nc, fd,
                              vhost_user_accepted);
        net_client_set_info_str(&s->base.nc, "vhost-user: listening on %s",
                                s->base.path);
    } else if (fd >= 0) {
        vhost_user_up(s, fd);
    } else {
        vhost_user_connect(s);
    }
}

bool net_init_vhost_user(const Netdev *netdev, GError **errp)
{
    const NetdevVhostUserOptions *o = &netdev->u.vhost_user;
    VhostUserConfig cfg = { .fd = -1 };
    bool ok = vhost_user_check(o, &cfg, errp) &&
              vhost_user_addr(o->addr, &cfg, errp) &&
              (!cfg.server || cfg.fd >= 0 || vhost_user_listen(&cfg, errp));

    if (ok && cfg.multi) {
        vhost_user_new_multi(netdev->id, &cfg);
    } else if (ok) {
        vhost_user_new_single(netdev->id, &cfg);
    }
    vhost_user_config_free(&cfg);
    return ok;
}
