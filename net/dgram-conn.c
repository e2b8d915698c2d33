/*
 * DOC: DgramConn, the datagram machinery of -netdev socket and dgram
 *
 * One frame per datagram, no header.  Every datagram client is a DgramData
 * (net/dgram-conn.h): its NetClientState, then its DgramConn; the
 * base's receive hook (DGRAM_DATA_HOOKS) and send-completion callback are
 * here, so a client kind adds only its setup, status and cleanup.
 *
 *   socket -> NIC: at most DGRAM_CONN_READS recvmmsg() per wake-up, each
 *     taking up to DGRAM_CONN_BATCH datagrams into fixed NET_BUFSIZE
 *     slots (a short batch ends the wake-up: the socket is drained);
 *     truncated datagrams (oversized) and empty ones (malformed) are
 *     counted and dropped alone.  A frame the peer queues (send returns 0)
 *     stops reading; the completion hands on the rest of the batch, then
 *     reading resumes.
 *   NIC -> socket: inside a batch (a main-loop callback, util/batch.h)
 *     each datagram is copied into a FrameRing and the ring leaves in
 *     sendmmsg() calls of up to DGRAM_CONN_BATCH messages when the batch
 *     ends; on a UDP socket a run of frames of one size is one message
 *     with UDP_SEGMENT (GSO), which the kernel routes once and cuts into
 *     one datagram per frame;
 *     outside one, with nothing waiting, one sendmsg() at once.  EAGAIN
 *     leaves the rest for the writable handler; a full ring returns 0 and
 *     the writable handler flushes the core's queue (the flow-control
 *     rule of include/net/net.h).  A datagram the kernel refuses is
 *     dropped and counted, the others go on.
 *   Both socket buffers are raised to DGRAM_CONN_SOCKBUF, 4 MiB (never
 *     lowered; the kernel caps it at net.core.[rw]mem_max): many batches
 *     fit, so a few milliseconds without the CPU lose nothing.
 *
 * Multicast receives on a socket bound to group:port and sends from a
 * second socket bound to an ephemeral port: datagrams whose source is that
 * port (and address, if bound) are this process's own frames looped back
 * and are not handed to the NIC, unlike QEMU.  IPv4 and IPv6 groups.
 *
 * Every socket call goes through `sockops`; nothing is allocated per frame.
 */
#include "net/dgram-conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"
#include "util/sockops.h"

const char *dgram_format_addr(const struct sockaddr *sa, char *buf)
{
    char ip[INET6_ADDRSTRLEN] = "";

    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(buf, DGRAM_ADDR_STRLEN, "[%s]:%u", ip,
                 (unsigned)ntohs(s6->sin6_port));
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(buf, DGRAM_ADDR_STRLEN, "%s:%u", ip,
                 (unsigned)ntohs(s4->sin_port));
    }
    return buf;
}

/* Close an fd we own, keeping errno for the caller's message. */
static void dgram_close_fd(int fd)
{
    int saved = errno;

    if (fd >= 0) {
        sockops->close(fd);
    }
    errno = saved;
}

/* ---- the data path -------------------------------------------------------- */

static void dgram_data_sent(NetClientState *nc, ssize_t len);

static FdHandler *dgram_conn_send_handler(DgramConn *c)
{
    return c->send_handler ? c->send_handler : c->fd_handler;
}

static void dgram_conn_msghdr(DgramConn *c, struct msghdr *m,
                              struct iovec *iov, size_t iovcnt)
{
    *m = (struct msghdr){ .msg_iov = iov, .msg_iovlen = iovcnt };
    if (c->has_dst) {
        m->msg_name = &c->dst;
        m->msg_namelen = c->dst_len;
    }
}

void dgram_gso_set(struct msghdr *m, DgramGsoCmsg *ctrl, uint16_t seg)
{
    struct cmsghdr *cm;

    memset(ctrl->buf, 0, sizeof(ctrl->buf));    /* and its padding */
    m->msg_control = ctrl->buf;
    m->msg_controllen = sizeof(ctrl->buf);
    cm = CMSG_FIRSTHDR(m);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(seg));
    memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
}

/*
 * The next message of a sendmmsg() batch, from the ring's frames @first
 * on: one datagram, or with UDP GSO a run of frames of one size sent as a
 * single message the kernel cuts into datagrams of that size (each still
 * its own datagram on the wire, as if sent one by one).  Returns the
 * number of frames the message carries.
 */
static unsigned dgram_conn_build(DgramConn *c, unsigned first,
                                 struct mmsghdr *m, struct iovec *iov,
                                 DgramGsoCmsg *ctrl)
{
    FrameSlot *slot = frame_ring_at(&c->tx, first);
    uint32_t size = slot->len;
    size_t total = size;
    unsigned n = 1;

    iov[0] = (struct iovec){ slot->data, size };
    while (c->gso && first + n < c->tx.count && n < DGRAM_CONN_GSO_SEGS) {
        FrameSlot *next = frame_ring_at(&c->tx, first + n);

        if (next->len != size || total + size > DGRAM_CONN_GSO_BYTES) {
            break;
        }
        iov[n++] = (struct iovec){ next->data, size };
        total += size;
    }
    dgram_conn_msghdr(c, &m->msg_hdr, iov, n);
    if (n > 1) {
        dgram_gso_set(&m->msg_hdr, ctrl, (uint16_t)size);
    }
    return n;
}

/*
 * The kernel refused a GSO message as such: a route whose MTU is below the
 * frame size (EMSGSIZE; one by one, such datagrams are fragmented), a
 * path without checksum offload (EIO), a segment size or count it does
 * not take (EINVAL).  GSO goes off for this connection, logged once, and
 * the frames go again one by one.
 */
bool dgram_gso_refusal(int err)
{
    return err == EINVAL || err == EIO || err == EMSGSIZE ||
           err == EOPNOTSUPP || err == ENOPROTOOPT;
}

static bool dgram_conn_gso_refused(DgramConn *c, int err)
{
    if (!dgram_gso_refusal(err)) {
        return false;
    }
    c->gso = false;
    log_report_id(c->nc->name, "the kernel refused UDP segmentation "
                  "offload (%s); sending datagrams one by one",
                  g_strerror(err));
    return true;
}

/*
 * Send what the ring holds, up to DGRAM_CONN_BATCH messages per
 * sendmmsg().  EAGAIN leaves the rest for the writable callback; a
 * datagram the kernel refuses (an ICMP error pending, too big) is dropped
 * and counted, and the rest go on (with GSO: the first frame of the
 * message is dropped, the rest of its run goes again).  A GSO message the
 * kernel cannot take as such is sent again datagram by datagram: nothing
 * is lost to GSO.
 */
static void dgram_conn_push(DgramConn *c)
{
    struct mmsghdr msgs[DGRAM_CONN_BATCH];
    struct iovec iov[DGRAM_CONN_TX_FRAMES];
    DgramGsoCmsg ctrl[DGRAM_CONN_BATCH];
    unsigned frames[DGRAM_CONN_BATCH];
    FdHandler *h = dgram_conn_send_handler(c);

    batch_cancel(&c->tx_flush);
    if (c->send_fd < 0 || fd_handler_writing(h)) {
        return;
    }
    for (int tries = 0; tries < DGRAM_CONN_WRITES &&
         !frame_ring_is_empty(&c->tx);) {
        unsigned n = 0, taken = 0;
        int sent;

        while (n < DGRAM_CONN_BATCH && taken < c->tx.count) {
            frames[n] = dgram_conn_build(c, taken, &msgs[n], &iov[taken],
                                         &ctrl[n]);
            taken += frames[n++];
        }
        sent = sockops->sendmmsg(c->send_fd, msgs, n,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0 && errno == EINTR) {
            tries++;
            continue;
        }
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            fd_handler_set_write(h, true);
            return;
        }
        if (sent <= 0) {
            tries++;
            if (frames[0] == 1 || !dgram_conn_gso_refused(c, errno)) {
                net_client_count_lost(c->nc);  /* the head datagram failed */
                frame_ring_pop(&c->tx);
            }
            continue;
        }
        for (int i = 0; i < sent; i++) {
            for (unsigned f = 0; f < frames[i]; f++) {
                frame_ring_pop(&c->tx);
            }
        }
    }
    fd_handler_set_write(h, !frame_ring_is_empty(&c->tx));
}

/* The ring drained: let the core deliver what it queued for us. */
static void dgram_conn_tx_resume(DgramConn *c)
{
    if (c->tx_waiting && c->send_fd >= 0 &&
        !fd_handler_writing(dgram_conn_send_handler(c))) {
        c->tx_waiting = false;
        net_client_flush_queued(c->nc);
    }
}

static void dgram_conn_batch_flush(BatchEntry *e)
{
    DgramConn *c = container_of(e, DgramConn, tx_flush);

    dgram_conn_push(c);
    dgram_conn_tx_resume(c);
}

/* One datagram now, with sendmsg(): size, 0 (EAGAIN) or -errno. */
static ssize_t dgram_conn_send_now(DgramConn *c, const struct iovec *iov,
                                   int iovcnt, size_t size)
{
    struct msghdr msg;

    dgram_conn_msghdr(c, &msg, (struct iovec *)iov, (size_t)iovcnt);
    for (int i = 0; i < DGRAM_CONN_WRITES; i++) {
        if (sockops->sendmsg(c->send_fd, &msg,
                             MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) {
            return (ssize_t)size;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -errno;          /* the core drops it and counts */
        }
        break;
    }
    return 0;
}

/*
 * Inside a batch the datagram is copied into the ring and sent with the
 * others at the batch's end; outside one (and with nothing waiting) it
 * goes at once.  No room, or EAGAIN: 0, and the writable callback
 * flushes the core's queue later (the flow-control rule of net.h).
 */
ssize_t dgram_data_receive_iov(NetClientState *nc, const struct iovec *iov,
                               int iovcnt)
{
    DgramConn *c = &container_of(nc, DgramData, nc)->dgram;
    size_t size = iov_size_total(iov, iovcnt);
    FdHandler *h = dgram_conn_send_handler(c);
    ssize_t ret;

    if (!batch_active() && frame_ring_is_empty(&c->tx) &&
        !fd_handler_writing(h)) {
        ret = dgram_conn_send_now(c, iov, iovcnt, size);
        if (ret != 0) {
            return ret;
        }
    } else {
        if (!frame_ring_has_room(&c->tx, size)) {
            dgram_conn_push(c);     /* held for the batch: make room */
        }
        if (frame_ring_push_iov(&c->tx, iov, iovcnt, size)) {
            if (batch_active() && !fd_handler_writing(h)) {
                batch_defer(&c->tx_flush, dgram_conn_batch_flush);
            } else {
                dgram_conn_push(c);
            }
            return (ssize_t)size;
        }
    }
    c->tx_waiting = true;
    fd_handler_set_write(h, true);
    return 0;
}

static void dgram_conn_writable(void *opaque)
{
    DgramConn *c = opaque;

    fd_handler_set_write(dgram_conn_send_handler(c), false);
    dgram_conn_push(c);
    dgram_conn_tx_resume(c);
}

/* Our own frame, looped back by the kernel (multicast)? */
static bool dgram_conn_from_self(DgramConn *c, const struct msghdr *msg)
{
    const struct sockaddr *from = msg->msg_name;

    if (!c->filter_self || msg->msg_namelen < sizeof(sa_family_t) ||
        from->sa_family != c->self.ss_family) {
        return false;
    }
    if (from->sa_family == AF_INET) {
        const struct sockaddr_in *f = (const struct sockaddr_in *)from;
        const struct sockaddr_in *s = (const struct sockaddr_in *)&c->self;

        return f->sin_port == s->sin_port &&
               (s->sin_addr.s_addr == htonl(INADDR_ANY) ||
                f->sin_addr.s_addr == s->sin_addr.s_addr);
    }
    if (from->sa_family == AF_INET6) {
        const struct sockaddr_in6 *f = (const struct sockaddr_in6 *)from;
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&c->self;

        return f->sin6_port == s->sin6_port &&
               (IN6_IS_ADDR_UNSPECIFIED(&s->sin6_addr) ||
                IN6_ARE_ADDR_EQUAL(&f->sin6_addr, &s->sin6_addr));
    }
    return false;
}

/*
 * Hand on the datagrams the last recvmmsg() took, from rx_next.  False if
 * the peer queued one: reading stops until its completion.
 */
static bool dgram_conn_deliver(DgramConn *c)
{
    while (c->rx_next < c->rx_count) {
        struct mmsghdr *m = &c->rx_msgs[c->rx_next++];
        size_t n = m->msg_len;

        if (m->msg_hdr.msg_flags & MSG_TRUNC) {
            net_client_count_oversized(c->nc);
        } else if (n == 0) {
            net_client_count_drop(c->nc, NET_DROP_MALFORMED);
        } else if (dgram_conn_from_self(c, &m->msg_hdr)) {
            c->self_filtered++;
        } else if (net_client_send_async(c->nc, m->msg_hdr.msg_iov->iov_base,
                                         n, dgram_data_sent) == 0) {
            c->read_blocked = true;
            fd_handler_set_read(c->fd_handler, false);
            return false;
        }
        if (c->fd < 0) {
            return false;
        }
    }
    return true;
}

/* Take up to DGRAM_CONN_BATCH datagrams: their count, or -errno. */
static int dgram_conn_read_batch(DgramConn *c)
{
    int n;

    for (unsigned i = 0; i < DGRAM_CONN_BATCH; i++) {
        c->rx_iov[i] = (struct iovec){ c->buf + (size_t)i * NET_BUFSIZE,
                                       NET_BUFSIZE };
        c->rx_msgs[i].msg_hdr = (struct msghdr){
            .msg_name = &c->rx_from[i], .msg_namelen = sizeof(c->rx_from[i]),
            .msg_iov = &c->rx_iov[i], .msg_iovlen = 1,
        };
    }
    n = sockops->recvmmsg(c->fd, c->rx_msgs, DGRAM_CONN_BATCH, MSG_DONTWAIT,
                          NULL);
    return n < 0 ? -errno : n;
}

static void dgram_conn_readable(void *opaque)
{
    DgramConn *c = opaque;

    for (int i = 0; i < DGRAM_CONN_READS; i++) {
        int n = dgram_conn_read_batch(c);

        if (n == -EAGAIN || n == -EWOULDBLOCK) {
            return;
        }
        if (n < 0) {
            continue;   /* EINTR, or a pending ICMP error: try again */
        }
        c->rx_next = 0;
        c->rx_count = (unsigned)n;
        if (!dgram_conn_deliver(c) || n < DGRAM_CONN_BATCH) {
            return;     /* blocked, or the socket is drained */
        }
    }
}

/* The peer took the frame it had queued: hand on the rest, read on. */
static void dgram_data_sent(NetClientState *nc, ssize_t len)
{
    DgramConn *c = &container_of(nc, DgramData, nc)->dgram;

    if (c->read_blocked && c->fd_handler) {
        c->read_blocked = false;
        if (dgram_conn_deliver(c) && c->fd_handler) {
            fd_handler_set_read(c->fd_handler, true);
        }
    }
}

/* ---- life cycle ------------------------------------------------------------ */

void dgram_data_init(DgramData *d)
{
    DgramConn *c = &d->dgram;

    c->nc = &d->nc;
    c->fd = c->send_fd = -1;
    /* Touched only as datagrams fill it: small frames use a page each. */
    c->buf = g_malloc((size_t)DGRAM_CONN_BATCH * NET_BUFSIZE);
    frame_ring_init(&c->tx, DGRAM_CONN_TX_BYTES, DGRAM_CONN_TX_FRAMES);
}

/*
 * Make a socket buffer (@name SO_RCVBUF or SO_SNDBUF) hold at least a few
 * batches; never shrink it.  Also the vxlan netdev's (net/vxlan.c).
 */
void dgram_conn_size_buffer(int fd, int name)
{
    int size = 0;
    int want = DGRAM_CONN_SOCKBUF;
    socklen_t len = sizeof(size);

    if (sockops->getsockopt(fd, SOL_SOCKET, name, &size, &len) < 0 ||
        size >= want) {
        return;
    }
    /* Best effort: the kernel caps it at [rw]mem_max. */
    (void)sockops->setsockopt(fd, SOL_SOCKET, name, &want, sizeof(want));
}

/*
 * May runs of frames of one size leave @fd as UDP GSO messages?  Only a
 * UDP socket over IPv4 or IPv6 whose kernel knows UDP_SEGMENT (4.18 on):
 * elsewhere the control message would be ignored and a run would leave
 * as one datagram.  Setting the option to 0 (no default segment size)
 * is the probe.
 */
bool dgram_gso_probe(int fd)
{
    int domain = 0, protocol = 0, zero = 0;
    socklen_t len = sizeof(int);

    if (sockops->getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
        (domain != AF_INET && domain != AF_INET6)) {
        return false;
    }
    len = sizeof(int);
    if (sockops->getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol,
                            &len) < 0 || protocol != IPPROTO_UDP) {
        return false;
    }
    return sockops->setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero,
                               sizeof(zero)) == 0;
}

void dgram_conn_start(DgramConn *c, int fd, int send_fd)
{
    c->fd = fd;
    c->send_fd = send_fd;
    c->gso = send_fd == fd && dgram_gso_probe(fd);
    dgram_conn_size_buffer(fd, SO_RCVBUF);
    dgram_conn_size_buffer(send_fd, SO_SNDBUF);
    c->fd_handler = fd_handler_new(fd, dgram_conn_readable,
                                   dgram_conn_writable, c);
    if (send_fd != fd) {
        c->send_handler = fd_handler_new(send_fd, NULL,
                                         dgram_conn_writable, c);
    }
}

void dgram_conn_set_dst(DgramConn *c, const struct sockaddr *sa,
                        socklen_t len)
{
    g_assert(len <= sizeof(c->dst));
    memcpy(&c->dst, sa, len);
    c->dst_len = len;
    c->has_dst = true;
}

void dgram_conn_cleanup(DgramConn *c)
{
    g_clear_pointer(&c->fd_handler, fd_handler_free);
    g_clear_pointer(&c->send_handler, fd_handler_free);
    if (c->send_fd != c->fd) {
        dgram_close_fd(c->send_fd);
    }
    dgram_close_fd(c->fd);
    c->fd = c->send_fd = -1;
    c->rx_next = c->rx_count = 0;
    g_clear_pointer(&c->buf, g_free);
    batch_cancel(&c->tx_flush);
    if (c->tx.arena) {
        frame_ring_destroy(&c->tx);
    }
}

void dgram_data_cleanup(NetClientState *nc)
{
    dgram_conn_cleanup(&container_of(nc, DgramData, nc)->dgram);
}

/* ---- multicast ------------------------------------------------------------- */

static socklen_t dgram_sockaddr_len(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                     : sizeof(struct sockaddr_in);
}

static in_port_t dgram_sockaddr_port(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6
        ? ((const struct sockaddr_in6 *)sa)->sin6_port
        : ((const struct sockaddr_in *)sa)->sin_port;
}

static const char *dgram_ip_str(const struct sockaddr *sa,
                                char buf[INET6_ADDRSTRLEN])
{
    const void *a = sa->sa_family == AF_INET6
        ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
        : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

    return inet_ntop(sa->sa_family, a, buf, INET6_ADDRSTRLEN);
}

/* A nonblocking, close-on-exec datagram socket, or -1 with QEMU's message. */
static int dgram_open(int family, GError **errp)
{
    int fd = sockops->socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                             0);

    if (fd < 0) {
        error_setg_errno(errp, errno, "can't create datagram socket");
    }
    return fd;
}

static bool dgram_bind(int fd, const struct sockaddr *sa, GError **errp)
{
    char ip[INET6_ADDRSTRLEN];

    if (sockops->bind(fd, sa, dgram_sockaddr_len(sa)) < 0) {
        error_setg_errno(errp, errno, "can't bind ip=%s to socket",
                         dgram_ip_str(sa, ip));
        return false;
    }
    return true;
}

static bool dgram_mcast_join(int fd, const struct sockaddr *group,
                             const struct in_addr *ifaddr, unsigned ifindex,
                             GError **errp)
{
    char ip[INET6_ADDRSTRLEN];
    int ret;

    if (group->sa_family == AF_INET6) {
        struct ipv6_mreq mreq = {
            .ipv6mr_multiaddr = ((const struct sockaddr_in6 *)group)->sin6_addr,
            .ipv6mr_interface = ifindex,
        };

        ret = sockops->setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq,
                                  sizeof(mreq));
    } else {
        struct ip_mreq imr = {
            .imr_multiaddr = ((const struct sockaddr_in *)group)->sin_addr,
        };

        imr.imr_interface.s_addr = ifaddr ? ifaddr->s_addr
                                          : htonl(INADDR_ANY);
        ret = sockops->setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &imr,
                                  sizeof(imr));
    }
    if (ret < 0) {
        error_setg_errno(errp, errno,
                         "can't add socket to multicast group %s",
                         dgram_ip_str(group, ip));
        return false;
    }
    return true;
}

/* The receive socket of @group, as QEMU's net_socket_mcast_create(). */
static int dgram_mcast_create(const struct sockaddr *group,
                              const struct in_addr *ifaddr, unsigned ifindex,
                              GError **errp)
{
    int fd = dgram_open(group->sa_family, errp);

    if (fd < 0) {
        return -1;
    }
    if (!sockops_setopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1,
                            "can't set socket option SO_REUSEADDR", errp) ||
        (group->sa_family == AF_INET6 &&
         !sockops_setopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1,
                             "can't set socket option IPV6_V6ONLY", errp)) ||
        !dgram_bind(fd, group, errp) ||
        !dgram_mcast_join(fd, group, ifaddr, ifindex, errp)) {
        dgram_close_fd(fd);
        return -1;
    }
    return fd;
}

/* Loopback on so other processes here hear us, TTL/hops 1, the interface. */
static bool dgram_mcast_sender_opts(int fd, int family,
                                    const struct in_addr *ifaddr,
                                    unsigned ifindex, GError **errp)
{
    if (family == AF_INET6) {
        return sockops_setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1,
                                  "can't force multicast message to loopback",
                                  errp) &&
               sockops_setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 1,
                                  "can't set multicast TTL", errp) &&
               (!ifindex ||
                sockops_setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF,
                                   (int)ifindex, "can't set the default "
                                   "network send interface", errp));
    }
    if (!sockops_setopt_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1,
                            "can't force multicast message to loopback",
                            errp) ||
        !sockops_setopt_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 1,
                            "can't set multicast TTL", errp)) {
        return false;
    }
    if (ifaddr && sockops->setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF,
                                      ifaddr, sizeof(*ifaddr)) < 0) {
        error_setg_errno(errp, errno,
                         "can't set the default network send interface");
        return false;
    }
    return true;
}

/*
 * The send socket of a group: bound to an ephemeral port (on @ifaddr if
 * given).  Its bound address goes to @self for filtering our own frames.
 */
static int dgram_mcast_sender_open(int family, const struct in_addr *ifaddr,
                                   unsigned ifindex,
                                   struct sockaddr_storage *self,
                                   GError **errp)
{
    struct sockaddr_storage sa = { .ss_family = (sa_family_t)family };
    socklen_t len = sizeof(*self);
    int fd = dgram_open(family, errp);

    if (fd < 0) {
        return -1;
    }
    if (family == AF_INET) {
        ((struct sockaddr_in *)&sa)->sin_addr.s_addr =
            ifaddr ? ifaddr->s_addr : htonl(INADDR_ANY);
    }
    if (!dgram_bind(fd, (struct sockaddr *)&sa, errp) ||
        !dgram_mcast_sender_opts(fd, family, ifaddr, ifindex, errp)) {
        dgram_close_fd(fd);
        return -1;
    }
    if (sockops->getsockname(fd, (struct sockaddr *)self, &len) < 0) {
        error_setg_errno(errp, errno, "can't get socket name");
        dgram_close_fd(fd);
        return -1;
    }
    return fd;
}

/*
 * Should the kernel pick the group's own port for the sender, peers sending
 * from that port (QEMU does) would look like us and be filtered: take
 * another port while holding the first.
 */
static int dgram_mcast_sender(const struct sockaddr *group,
                              const struct in_addr *ifaddr, unsigned ifindex,
                              struct sockaddr_storage *self, GError **errp)
{
    int family = group->sa_family;
    int fd = dgram_mcast_sender_open(family, ifaddr, ifindex, self, errp);

    if (fd >= 0 && dgram_sockaddr_port((struct sockaddr *)self) ==
                   dgram_sockaddr_port(group)) {
        int other = dgram_mcast_sender_open(family, ifaddr, ifindex, self,
                                            errp);

        dgram_close_fd(fd);
        fd = other;
    }
    return fd;
}

bool dgram_conn_mcast_open(DgramConn *c, const struct sockaddr *group,
                           const struct in_addr *ifaddr, unsigned ifindex,
                           const int *clone_fd, GError **errp)
{
    struct sockaddr_storage self;
    int fd, send_fd;

    if (group->sa_family == AF_INET) {
        const struct sockaddr_in *g = (const struct sockaddr_in *)group;
        char ip[INET_ADDRSTRLEN];

        if (!IN_MULTICAST(ntohl(g->sin_addr.s_addr))) {
            error_setg(errp, "specified mcastaddr %s (0x%08x) does not "
                       "contain a multicast address",
                       inet_ntop(AF_INET, &g->sin_addr, ip, sizeof(ip)),
                       (unsigned)ntohl(g->sin_addr.s_addr));
            return false;
        }
    }
    fd = dgram_mcast_create(group, ifaddr, ifindex, errp);
    if (fd < 0) {
        return false;
    }
    send_fd = dgram_mcast_sender(group, ifaddr, ifindex, &self, errp);
    if (send_fd < 0) {
        dgram_close_fd(fd);
        return false;
    }
    if (clone_fd && dup2(fd, *clone_fd) < 0) {
        error_setg_errno(errp, errno, "can't clone datagram socket");
        dgram_close_fd(fd);
        dgram_close_fd(send_fd);
        return false;
    }
    if (clone_fd) {
        dgram_close_fd(fd);
        fd = *clone_fd;
    }
    dgram_conn_start(c, fd, send_fd);
    dgram_conn_set_dst(c, group, dgram_sockaddr_len(group));
    c->filter_self = true;
    c->self = self;
    return true;
}
