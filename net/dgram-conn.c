/*
 * DOC: DgramConn, the datagram machinery of -netdev socket and dgram
 *
 * One frame per datagram, no header.  The owner (a backend embedding a
 * NetClientState) embeds a DgramConn and forwards its receive_iov and its
 * send-completion callback here.
 *
 *   socket -> NIC: at most DGRAM_CONN_READS recvmsg() per wake-up into one
 *     fixed NET_BUFSIZE buffer; truncated datagrams (oversized) and empty
 *     ones (dropped) are counted and dropped.  A frame the peer queues
 *     (send returns 0) stops reading until the completion callback.
 *   NIC -> socket: one sendmsg() per frame; EAGAIN returns 0, turns on
 *     write interest, and the writable handler flushes the queue (the
 *     flow-control rule of include/net/net.h).
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
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/sockops.h"

void dgram_error_errno(GError **errp, int err, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(errp, "%s: %s", msg, g_strerror(err));
}

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

static FdHandler *dgram_conn_send_handler(DgramConn *c)
{
    return c->send_handler ? c->send_handler : c->fd_handler;
}

ssize_t dgram_conn_send_iov(DgramConn *c, const struct iovec *iov,
                            int iovcnt)
{
    struct msghdr msg = {
        .msg_iov = (struct iovec *)iov,
        .msg_iovlen = (size_t)iovcnt,
    };

    if (c->has_dst) {
        msg.msg_name = &c->dst;
        msg.msg_namelen = c->dst_len;
    }
    for (int i = 0; i < DGRAM_CONN_WRITES; i++) {
        if (sockops->sendmsg(c->send_fd, &msg,
                             MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) {
            return (ssize_t)iov_size_total(iov, iovcnt);
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -errno;          /* the core drops it and counts */
        }
        break;
    }
    c->tx_waiting = true;
    fd_handler_set_write(dgram_conn_send_handler(c), true);
    return 0;
}

static void dgram_conn_writable(void *opaque)
{
    DgramConn *c = opaque;

    fd_handler_set_write(dgram_conn_send_handler(c), false);
    c->tx_waiting = false;
    net_client_flush_queued(c->nc);
}

void dgram_conn_sent(DgramConn *c)
{
    if (c->read_blocked && c->fd_handler) {
        c->read_blocked = false;
        fd_handler_set_read(c->fd_handler, true);
    }
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

/* Take one datagram: false to stop reading for this wake-up. */
static bool dgram_conn_read_one(DgramConn *c)
{
    struct sockaddr_storage from;
    struct iovec iov = { c->buf, NET_BUFSIZE };
    struct msghdr msg = {
        .msg_name = &from, .msg_namelen = sizeof(from),
        .msg_iov = &iov, .msg_iovlen = 1,
    };
    ssize_t n = sockops->recvmsg(c->fd, &msg, MSG_DONTWAIT);

    if (n < 0) {
        /* EINTR, or a pending ICMP error: the next one may be fine. */
        return errno != EAGAIN && errno != EWOULDBLOCK;
    }
    if (msg.msg_flags & MSG_TRUNC) {
        c->nc->stats.oversized++;
    } else if (n == 0) {
        net_client_count_drop(c->nc, NET_DROP_MALFORMED);
    } else if (dgram_conn_from_self(c, &msg)) {
        c->self_filtered++;
    } else if (net_client_send_async(c->nc, c->buf, (size_t)n,
                                     c->sent_cb) == 0) {
        c->read_blocked = true;
        fd_handler_set_read(c->fd_handler, false);
        return false;
    }
    return true;
}

static void dgram_conn_readable(void *opaque)
{
    DgramConn *c = opaque;

    for (int i = 0; i < DGRAM_CONN_READS; i++) {
        if (!dgram_conn_read_one(c)) {
            return;
        }
    }
}

/* ---- life cycle ------------------------------------------------------------ */

void dgram_conn_init(DgramConn *c, NetClientState *nc, NetPacketSent *sent_cb)
{
    c->nc = nc;
    c->sent_cb = sent_cb;
    c->fd = c->send_fd = -1;
    c->buf = g_malloc(NET_BUFSIZE);
}

void dgram_conn_start(DgramConn *c, int fd, int send_fd)
{
    c->fd = fd;
    c->send_fd = send_fd;
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
    g_clear_pointer(&c->buf, g_free);
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
        dgram_error_errno(errp, errno, "can't create datagram socket");
    }
    return fd;
}

static bool dgram_setopt_int(int fd, int level, int name, int val,
                             const char *what, GError **errp)
{
    if (sockops->setsockopt(fd, level, name, &val, sizeof(val)) < 0) {
        dgram_error_errno(errp, errno, "%s", what);
        return false;
    }
    return true;
}

static bool dgram_bind(int fd, const struct sockaddr *sa, GError **errp)
{
    char ip[INET6_ADDRSTRLEN];

    if (sockops->bind(fd, sa, dgram_sockaddr_len(sa)) < 0) {
        dgram_error_errno(errp, errno, "can't bind ip=%s to socket",
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
        dgram_error_errno(errp, errno,
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
    if (!dgram_setopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1,
                          "can't set socket option SO_REUSEADDR", errp) ||
        (group->sa_family == AF_INET6 &&
         !dgram_setopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1,
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
        return dgram_setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1,
                                "can't force multicast message to loopback",
                                errp) &&
               dgram_setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 1,
                                "can't set multicast TTL", errp) &&
               (!ifindex ||
                dgram_setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF,
                                 (int)ifindex, "can't set the default "
                                 "network send interface", errp));
    }
    if (!dgram_setopt_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1,
                          "can't force multicast message to loopback",
                          errp) ||
        !dgram_setopt_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 1,
                          "can't set multicast TTL", errp)) {
        return false;
    }
    if (ifaddr && sockops->setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF,
                                      ifaddr, sizeof(*ifaddr)) < 0) {
        dgram_error_errno(errp, errno,
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
        dgram_error_errno(errp, errno, "can't get socket name");
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
        dgram_error_errno(errp, errno, "can't clone datagram socket");
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
