/*
 * DOC: -netdev socket, QEMU's socket backend, as a translator
 *
 * `-netdev socket,id=ID,` plus exactly one of `fd=`, `listen=`, `connect=`,
 * `mcast=`, `udp=` (and `localaddr=` with mcast/udp), wire-, option- and
 * message-compatible with QEMU 7.2 (see shared docs, qemu-net.md).  This
 * file maps the options onto the shared transports and keeps what is QEMU's
 * socket backend's own: checks and messages, status strings ("socket:
 * connection from ..."), log lines, QMP events.  Its clients show type
 * socket.
 *
 * Streams (listen=, connect=, a SOCK_STREAM fd=) are a kind of the stream
 * client base (StreamData, net/stream-conn.c: framing, transmit ring,
 * backpressure, accept loop, connect); this file adds the kind's hooks:
 * a closed connection takes the link down; listen= then accepts the next
 * peer (one at a time, as QEMU), connect= and fd= stay down (no reconnect).
 * NETDEV_STREAM_CONNECTED {netdev-id, addr} when a listen= peer is accepted
 * or a connect= completed, NETDEV_STREAM_DISCONNECTED when it ends.
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
#include "net/dgram-conn.h"
#include "net/netdev.h"
#include "net/stream-conn.h"
#include "net/stream-multi.h"
#include "qapi-events.h"
#include "util/error.h"
#include "util/log.h"
#include "util/sockets.h"
#include "util/sockops.h"

typedef enum NetSocketKind {
    NET_SOCKET_LISTEN,
    NET_SOCKET_CONNECT,
    NET_SOCKET_FD_STREAM,
} NetSocketKind;

/* A stream client of -netdev socket: the base and what is QEMU's. */
typedef struct NetSocketState {
    StreamData base;            /* nc, conn, listener */
    NetSocketKind kind;
    char remote[INET_ANY_HOST_PORT_STRLEN];  /* peer or target, for logs */
    struct sockaddr_storage remote_addr;    /* the same, for QMP events */
    bool connected;             /* NETDEV_STREAM_CONNECTED was sent */
} NetSocketState;

static const NetClientInfo net_socket_info;
static const StreamConnOps net_socket_conn_ops;

/* A nonblocking, close-on-exec socket, or -1 with QEMU's message. */
static int net_socket_open(int family, int type, GError **errp)
{
    int fd = sockops->socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        error_setg_errno(errp, errno, "can't create %s socket",
                         type == SOCK_STREAM ? "stream" : "datagram");
    }
    return fd;
}

/* Bind @fd (closed on failure), QEMU's message. */
static bool net_socket_bind(int fd, const struct sockaddr_storage *ss,
                            socklen_t len, GError **errp)
{
    char ip[INET6_ADDRSTRLEN];

    if (sockops->bind(fd, (const struct sockaddr *)ss, len) < 0) {
        error_setg_errno(errp, errno, "can't bind ip=%s to socket",
                         inet_format_host(ss, ip));
        sockops->close(fd);
        return false;
    }
    return true;
}

/* ---- streams: the kind's hooks ------------------------------------------- */

static NetSocketState *net_socket_new(const char *id, NetSocketKind kind,
                                      const struct sockaddr_storage *remote)
{
    NetClientState *nc = net_client_new(&net_socket_info, NULL, "socket", id);
    NetSocketState *s = container_of(nc, NetSocketState, base.nc);

    s->kind = kind;
    stream_data_init(&s->base, &net_socket_conn_ops);
    if (remote) {
        inet_format_host_port_any(remote, s->remote);
        s->remote_addr = *remote;
    }
    return s;
}

/* A listen= or connect= stream got its peer, s->remote_addr. */
static void net_socket_connected(NetSocketState *s)
{
    g_autofree char *uri = NULL;
    g_autoptr(SocketAddress) addr = net_stream_describe(&s->remote_addr,
                                                        0, NULL, &uri);

    s->connected = true;
    qapi_event_send_netdev_stream_connected(s->base.nc.name, addr);
}

static void net_socket_closing(StreamConn *c, StreamConnClose why, int err)
{
    NetSocketState *s = container_of(c, NetSocketState, base.conn);
    const char *id = s->base.nc.name;

    if (why == STREAM_CONN_CLOSE_PROTOCOL) {
        return;
    }
    if (s->kind == NET_SOCKET_LISTEN) {
        log_report_id(id, "peer %s disconnected", s->remote);
    } else if (s->kind == NET_SOCKET_FD_STREAM) {
        log_report_id(id, "connection on fd=%d closed by peer", c->fd);
    } else if (!c->connecting) {
        log_report_id(id, "connection to %s closed by peer", s->remote);
    } else if (err == ECONNREFUSED) {
        log_report_id(id, "connection to %s refused", s->remote);
    } else {
        log_report_id(id, "connection to %s failed: %s", s->remote,
                      g_strerror(err));
    }
}

/* Link down (a listener's base accepts the next peer). */
static void net_socket_closed(StreamConn *c)
{
    NetSocketState *s = container_of(c, NetSocketState, base.conn);

    net_client_set_info_str(&s->base.nc, "%s", "");
    if (s->connected) {
        s->connected = false;
        qapi_event_send_netdev_stream_disconnected(s->base.nc.name);
    }
    net_client_set_link(&s->base.nc, false);
}

static void net_socket_connect_done(StreamConn *c)
{
    NetSocketState *s = container_of(c, NetSocketState, base.conn);

    log_report_id(s->base.nc.name, "connected to %s", s->remote);
    net_socket_connected(s);
}

static void net_socket_accepted(StreamConn *c,
                                const struct sockaddr_storage *sa,
                                socklen_t len)
{
    NetSocketState *s = container_of(c, NetSocketState, base.conn);

    inet_format_host_port_any(sa, s->remote);
    s->remote_addr = *sa;
    net_client_set_info_str(&s->base.nc, "socket: connection from %s",
                            s->remote);
    log_report_id(s->base.nc.name, "connection from %s", s->remote);
    net_socket_connected(s);
    net_client_set_link(&s->base.nc, true);
}

static const StreamConnOps net_socket_conn_ops = {
    .closing = net_socket_closing,
    .closed = net_socket_closed,
    .connected = net_socket_connect_done,
    .accepted = net_socket_accepted,
};

static const NetClientInfo net_socket_info = {
    .type = NET_CLIENT_DRIVER_SOCKET,
    .type_name = "socket",
    .size = sizeof(NetSocketState),
    STREAM_DATA_HOOKS,
    .cleanup = stream_data_cleanup,
};

/* ---- listen=, connect= --------------------------------------------------- */

/* listen=, or with hubid=N a listener of net/stream-multi.c. */
static bool net_socket_listen_init(const char *id, const char *addr,
                                   const NetMultiOptions *multi,
                                   GError **errp)
{
    char where[INET_ANY_HOST_PORT_STRLEN];
    struct sockaddr_storage sa;
    socklen_t len;
    NetSocketState *s;
    int fd, on = 1, off = 0;

    if (!inet_parse_host_port_any(&sa, &len, addr, errp) ||
        (fd = net_socket_open(sa.ss_family, SOCK_STREAM, errp)) < 0) {
        return false;
    }
    sockops->setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (sa.ss_family == AF_INET6) {     /* [::] takes IPv4 peers too */
        sockops->setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    }
    if (!net_socket_bind(fd, &sa, len, errp)) {
        return false;
    }
    if (sockops->listen(fd, multi ? SOMAXCONN : 1) < 0) {
        error_setg_errno(errp, errno, "can't listen on socket");
        sockops->close(fd);
        return false;
    }
    if (multi) {
        net_multi_listener_new(&(NetMultiListenerConfig) {
            .id = id, .type = NET_CLIENT_DRIVER_SOCKET, .listen_fd = fd,
            .where = inet_format_host_port_any(&sa, where), .opts = *multi,
        });
        return true;
    }
    s = net_socket_new(id, NET_SOCKET_LISTEN, NULL);
    stream_data_listen(&s->base, fd);
    net_client_set_link(&s->base.nc, false);
    return true;
}

static bool net_socket_connect_init(const char *id, const char *addr,
                                    GError **errp)
{
    struct sockaddr_storage sa;
    socklen_t len;
    NetSocketState *s;
    int fd, ret;

    if (!inet_parse_host_port_any(&sa, &len, addr, errp) ||
        (fd = net_socket_open(sa.ss_family, SOCK_STREAM, errp)) < 0) {
        return false;
    }
    s = net_socket_new(id, NET_SOCKET_CONNECT, &sa);
    ret = stream_data_connect(&s->base, fd, (struct sockaddr *)&sa, len);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "can't connect socket");
        net_client_free(&s->base.nc);
        return false;
    }
    if (ret == 1) {
        net_socket_connected(s);
    }
    net_client_set_info_str(&s->base.nc, "socket: connect to %s", s->remote);
    return true;
}

/* ---- udp=, mcast= (clients of net/dgram.c) -------------------------------- */

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
    NetSocketState *s;

    if (type == SOCK_DGRAM) {
        if (sockops->getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
            sa.ss_family = AF_UNSPEC;
        }
        if (!net_dgram_fd_new(NET_CLIENT_DRIVER_SOCKET, id, fd, &sa,
                              "socket: ", errp)) {
            sockops->close(fd);
            return false;
        }
        return true;
    }
    s = net_socket_new(id, NET_SOCKET_FD_STREAM, NULL);
    socket_set_nodelay(fd);         /* fails harmlessly on AF_UNIX */
    stream_conn_attach(&s->base.conn, fd, false);
    net_client_set_info_str(&s->base.nc, "socket: fd=%d", fd);
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
        error_setg(errp, "Invalid file descriptor number '%s'", str);
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

/* An optional string option: its value, or NULL when not given. */
#define NET_SOCKET_OPT(opts, name) ((opts)->has_##name ? (opts)->name : NULL)

bool net_init_socket(const Netdev *netdev, GError **errp)
{
    const NetdevSocketOptions *opts = &netdev->u.socket;
    const char *id = netdev->id;
    const char *fd = NET_SOCKET_OPT(opts, fd);
    const char *listen_addr = NET_SOCKET_OPT(opts, listen);
    const char *connect_addr = NET_SOCKET_OPT(opts, connect);
    const char *mcast = NET_SOCKET_OPT(opts, mcast);
    const char *udp = NET_SOCKET_OPT(opts, udp);
    const char *localaddr = NET_SOCKET_OPT(opts, localaddr);
    NetMultiOptions mopts;
    bool multi;

    if (!!fd + !!listen_addr + !!connect_addr + !!mcast + !!udp != 1) {
        /* QEMU 7.2's words: fd= counts but is not named. */
        error_setg(errp, "exactly one of listen=, connect=, mcast= or udp= "
                   "is required");
        return false;
    }
    if (localaddr && !mcast && !udp) {
        error_setg(errp, "localaddr= is only valid with mcast= or udp=");
        return false;
    }
    if (opts->has_hubid && !listen_addr) {
        error_setg(errp, "hubid= is only valid with listen=");
        return false;
    }
    if (!net_multi_check(opts->has_hubid, opts->hubid,
                         opts->has_max_clients, opts->max_clients,
                         opts->has_vlan, opts->vlan, &multi, &mopts, errp)) {
        return false;
    }
    if (fd) {
        return net_socket_fd_init(id, fd, errp);
    }
    if (listen_addr) {
        return net_socket_listen_init(id, listen_addr,
                                      multi ? &mopts : NULL, errp);
    }
    if (connect_addr) {
        return net_socket_connect_init(id, connect_addr, errp);
    }
    if (mcast) {
        return net_socket_mcast_init(id, mcast, localaddr, errp);
    }
    if (!localaddr) {
        error_setg(errp, "localaddr= is mandatory with udp=");
        return false;
    }
    return net_socket_udp_init(id, udp, localaddr, errp);
}
