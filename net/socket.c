/*
 * DOC: -netdev socket, QEMU's socket backend, as a translator
 *
 * `-netdev socket,id=ID,` plus exactly one of `fd=`, `listen=`, `connect=`,
 * `mcast=`, `udp=` (and `localaddr=` with mcast/udp), wire-, option- and
 * message-compatible with QEMU 7.2 (see shared docs, qemu-net.md).  This
 * file checks the options with QEMU's messages, opens what they name and
 * maps them onto the shared backends; every client it makes shows type
 * socket.  It has no data path of its own.
 *
 * Streams (listen=, connect=, a SOCK_STREAM fd=) are -netdev socket's kind
 * of the stream client base (net/socket-stream.c: QEMU's status strings,
 * log lines, events and link policy; net/stream-conn.c: the transport).
 * listen=...,hubid=N (vmwire) hands the socket to net/stream-multi.c.
 * vmwire also takes "[ipv6]:port" for listen= (dual stack) and connect=.
 *
 * Datagrams (udp=, mcast=, a SOCK_DGRAM fd=; IPv4 only) are `-netdev
 * dgram`'s clients (net/dgram.c, net/dgram-conn.c) with type socket; a
 * datagram fd= bound to a multicast group is cloned as QEMU does.  An fd=
 * that is no socket at all is refused untouched (QEMU closes it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "monitor/monitor.h"
#include "net/dgram.h"
#include "net/netdev.h"
#include "net/socket-stream.h"
#include "net/stream-conn.h"
#include "net/stream-multi.h"
#include "qapi-events.h"
#include "system/listen-fds.h"
#include "util/error.h"
#include "util/log.h"
#include "util/sockets.h"
#include "util/sockops.h"

/* ---- listen=, connect= --------------------------------------------------- */

/* listen=, or with hubid=N a listener of net/stream-multi.c. */
static bool net_socket_listen_init(const char *id, const char *addr,
                                   const NetMultiOptions *multi,
                                   GError **errp)
{
    char where[INET_ANY_HOST_PORT_STRLEN], ip[INET6_ADDRSTRLEN];
    struct sockaddr_storage sa;
    SocketListenStep failed;
    socklen_t len;
    int fd;

    if (!inet_parse_host_port_any(&sa, &len, addr, errp)) {
        return false;
    }
    fd = socket_listen_open((struct sockaddr *)&sa, len,
                            multi ? SOMAXCONN : 1, true, &failed);
    if (fd < 0 && failed == SOCKET_LISTEN_BIND) {
        error_setg_errno(errp, errno, "can't bind ip=%s to socket",
                         inet_format_host(&sa, ip));
    } else if (fd < 0) {
        error_setg_errno(errp, errno, "can't %s socket",
                         failed == SOCKET_LISTEN_SOCKET ? "create stream"
                                                        : "listen on");
    } else if (multi) {
        net_multi_listener_new(&(NetMultiListenerConfig) {
            .id = id, .type = NET_CLIENT_DRIVER_SOCKET, .listen_fd = fd,
            .where = inet_format_host_port_any(&sa, where), .opts = *multi,
        });
    } else {
        net_socket_stream_listen(id, fd);
    }
    return fd >= 0;
}

static bool net_socket_connect_init(const char *id, const char *addr,
                                    GError **errp)
{
    struct sockaddr_storage sa;
    socklen_t len;
    int fd, ret;

    if (!inet_parse_host_port_any(&sa, &len, addr, errp)) {
        return false;
    }
    fd = sockops->socket(sa.ss_family,
                         SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "can't create stream socket");
        return false;
    }
    ret = net_socket_stream_connect(id, fd, &sa, len);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "can't connect socket");
        return false;
    }
    return true;
}

/* ---- udp=, mcast= (clients of net/dgram.c) ------------------------------ */

static bool net_socket_udp_init(const char *id, const char *remote,
                                const char *local, GError **errp)
{
    struct sockaddr_in laddr, raddr;
    char ip[INET_ADDRSTRLEN], str[INET_HOST_PORT_STRLEN];
    DgramData *d;

    if (!inet_parse_host_port(&laddr, local, errp) ||
        !inet_parse_host_port(&raddr, remote, errp)) {
        return false;
    }
    d = net_dgram_udp_new(NET_CLIENT_DRIVER_SOCKET, id,
                          (struct sockaddr *)&laddr, sizeof(laddr),
                          inet_ntop(AF_INET, &laddr.sin_addr, ip, sizeof(ip)),
                          (struct sockaddr *)&raddr, sizeof(raddr), errp);
    if (d) {
        net_client_set_info_str(&d->nc, "socket: udp=%s",
                                inet_format_host_port(&raddr, str));
    }
    return d != NULL;
}

static bool net_socket_mcast_init(const char *id, const char *addr,
                                  const char *localaddr_str, GError **errp)
{
    char str[INET_HOST_PORT_STRLEN];
    struct sockaddr_in group;
    struct in_addr localaddr;
    DgramData *d;

    if (!inet_parse_host_port(&group, addr, errp)) {
        return false;
    }
    if (localaddr_str && !inet_aton(localaddr_str, &localaddr)) {
        error_setg(errp, "localaddr '%s' is not a valid IPv4 address",
                   localaddr_str);
        return false;
    }
    d = net_dgram_mcast_new(NET_CLIENT_DRIVER_SOCKET, id,
                            (struct sockaddr *)&group,
                            localaddr_str ? &localaddr : NULL, 0, NULL, errp);
    if (d) {
        net_client_set_info_str(&d->nc, "socket: mcast=%s",
                                inet_format_host_port(&group, str));
    }
    return d != NULL;
}

/* ---- fd= ----------------------------------------------------------------- */

static bool net_socket_fd_typed_init(const char *id, int fd, int type,
                                     GError **errp)
{
    struct sockaddr_storage sa = { 0 };
    socklen_t len = sizeof(sa);

    if (type == SOCK_DGRAM) {
        if (sockops->getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
            sa.ss_family = AF_UNSPEC;       /* no group: used as it is */
        }
        if (!net_dgram_fd_new(NET_CLIENT_DRIVER_SOCKET, id, fd, &sa,
                              "socket: ", errp)) {
            sockops->close(fd);
            return false;
        }
        return true;
    }
    net_socket_stream_fd(id, fd);
    return true;
}

/*
 * QEMU's checks and messages, in QEMU's order, except that an fd that is no
 * socket at all (a typo: fd=2) is neither made nonblocking nor closed.  A
 * socket of the wrong type is closed, as QEMU does.
 */
static bool net_socket_fd_init(const char *id, const char *str,
                               GError **errp)
{
    int fd, type = -1, ret;

    switch (monitor_fd_param(str, &fd, &type)) {
    case 0:
        break;
    case MONITOR_FD_CLOSED:
        error_setg_errno(errp, errno, "%s: Can't use file descriptor %d",
                         id, fd);
        return false;
    case MONITOR_FD_NOT_SOCKET:
        error_setg(errp, "can't get socket option SO_TYPE");
        return false;
    default:
        error_setg(errp, "Invalid file descriptor number '%s'%s", str,
                   listen_fds_hint());
        return false;
    }
    ret = fd_set_nonblock(fd);
    if (ret == 0 && (type == SOCK_STREAM || type == SOCK_DGRAM)) {
        return net_socket_fd_typed_init(id, fd, type, errp);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "%s: Can't use file descriptor %d",
                         id, fd);
    } else {
        error_setg(errp, "socket type=%d for fd=%d must be either "
                   "SOCK_DGRAM or SOCK_STREAM", type, fd);
    }
    sockops->close(fd);
    return false;
}

/* ---- options ------------------------------------------------------------- */

/* QEMU's checks of how the options combine, in its order and words. */
static bool net_socket_check(const NetdevSocketOptions *o, bool *multi,
                             NetMultiOptions *mopts, GError **errp)
{
    if (o->has_fd + o->has_listen + o->has_connect + o->has_mcast +
        o->has_udp != 1) {
        /* QEMU 7.2's words: fd= counts but is not named. */
        error_setg(errp, "exactly one of listen=, connect=, mcast= or udp= "
                   "is required");
        return false;
    }
    if (o->has_localaddr && !o->has_mcast && !o->has_udp) {
        error_setg(errp, "localaddr= is only valid with mcast= or udp=");
        return false;
    }
    if (o->has_hubid && !o->has_listen) {
        error_setg(errp, "hubid= is only valid with listen=");
        return false;
    }
    return net_multi_check(NET_MULTI_BASE(o), multi, mopts, errp);
}

bool net_init_socket(const Netdev *netdev, GError **errp)
{
    const NetdevSocketOptions *o = &netdev->u.socket;
    const char *localaddr = o->has_localaddr ? o->localaddr : NULL;
    NetMultiOptions mopts;
    bool multi;

    if (!net_socket_check(o, &multi, &mopts, errp)) {
        return false;
    }
    if (o->has_fd) {
        return net_socket_fd_init(netdev->id, o->fd, errp);
    }
    if (o->has_listen) {
        return net_socket_listen_init(netdev->id, o->listen,
                                      multi ? &mopts : NULL, errp);
    }
    if (o->has_connect) {
        return net_socket_connect_init(netdev->id, o->connect, errp);
    }
    if (o->has_mcast) {
        return net_socket_mcast_init(netdev->id, o->mcast, localaddr, errp);
    }
    if (!localaddr) {
        error_setg(errp, "localaddr= is mandatory with udp=");
        return false;
    }
    return net_socket_udp_init(netdev->id, o->udp, localaddr, errp);
}
