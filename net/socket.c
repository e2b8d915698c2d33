/*
 * DOC: -netdev socket, QEMU's socket backend, as a translator
 *
 * `-netdev socket,id=ID,` plus exactly one of `fd=`, `listen=`, `connect=`,
 * `mcast=`, `udp=` (and `localaddr=` with mcast/udp), wire-, option- and
 * message-compatible with QEMU 7.2 (see shared docs, qemu-net.md).  This
 * file maps those options onto the shared transports and keeps only what
 * is QEMU's socket backend's own: its checks and messages, its status
 * strings ("socket: connection from ...", "socket: udp=..."), its log
 * lines and QMP events, and the cloned-multicast-fd rule.  Every client it
 * makes shows type=socket.
 *
 * Streams (listen=, connect=, a SOCK_STREAM fd=) are a kind of the stream
 * client base (StreamData, net/stream-conn.c: [len32be][frame] records,
 * the transmit ring, backpressure, the accept loop of StreamListener); the
 * connect loop is util/sockets.c's socket_connect_start().  This file
 * supplies the kind's StreamConnOps: a closed connection takes the link
 * down; listen= then accepts the next peer (one at a time, as QEMU),
 * connect= and fd= stay down (no reconnect, as QEMU).  QMP hears
 * NETDEV_STREAM_CONNECTED {netdev-id, addr} once a listen= peer is accepted
 * or a connect= completed, NETDEV_STREAM_DISCONNECTED when that connection
 * ends (not when the netdev is deleted).  listen=...,hubid=N (vmwire)
 * hands the listening socket to net/stream-multi.c.  As a vmwire
 * extension, listen= and connect= also take "[ipv6]:port" (dual stack for
 * listen=, peers shown as "[addr]:port"; the event's addr.host is the bare
 * address).  udp= and mcast= stay IPv4-only.
 *
 * Datagrams (udp=, mcast=, a SOCK_DGRAM fd=) are `-netdev dgram`'s clients
 * (net_dgram_new_for(), net/dgram-conn.c's machinery) shown as type
 * socket.  A datagram fd= bound to a multicast address is cloned as QEMU
 * does (a fresh group socket dup2()ed over it); other datagram fds are
 * used as they are.  An fd= that is no socket at all is refused without
 * being touched (QEMU makes it nonblocking and closes it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "monitor/monitor.h"
#include "net/net.h"
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
    StreamData base;            /* nc and conn */
    NetSocketKind kind;
    StreamListener listener;    /* listen= only */
    char remote[INET_ANY_HOST_PORT_STRLEN];  /* peer or target, for logs */
    struct sockaddr_storage remote_addr;    /* the same, for QMP events */
    bool connected;             /* NETDEV_STREAM_CONNECTED was sent */
} NetSocketState;

static const NetClientInfo net_socket_info;
static const StreamConnOps net_socket_conn_ops;

#define net_socket_log(s, ...) log_report_id((s)->base.nc.name, __VA_ARGS__)

/* Close an fd we own, keeping errno for the caller's message. */
static void net_socket_close_fd(int fd)
{
    int saved = errno;

    sockops->close(fd);
    errno = saved;
}

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

/* Bind to an IPv4 or (listen=, vmwire) IPv6 address, QEMU's message. */
static bool net_socket_bind(int fd, const struct sockaddr_storage *ss,
                            socklen_t len, GError **errp)
{
    char ip[INET6_ADDRSTRLEN];

    if (sockops->bind(fd, (const struct sockaddr *)ss, len) < 0) {
        error_setg_errno(errp, errno, "can't bind ip=%s to socket",
                         inet_format_host(ss, ip));
        return false;
    }
    return true;
}

/* ---- streams: the kind's hooks ------------------------------------------- */

static NetSocketState *net_socket_new(const char *id, NetSocketKind kind)
{
    NetClientState *nc = net_client_new(&net_socket_info, NULL, "socket", id);
    NetSocketState *s = container_of(nc, NetSocketState, base.nc);

    s->kind = kind;
    s->listener.fd = -1;
    stream_data_init(&s->base, &net_socket_conn_ops);
    return s;
}

/* A listen= or connect= stream got its peer, s->remote_addr. */
static void net_socket_connected(NetSocketState *s)
{
    char host[INET6_ADDRSTRLEN];
    g_autofree char *port = g_strdup_printf("%u", inet_port(&s->remote_addr));
    SocketAddress addr = {
        .type = SOCKET_ADDRESS_TYPE_INET,
        .u.inet = {
            .host = (char *)inet_format_host(&s->remote_addr, host),
            .port = port,
        },
    };

    s->connected = true;
    qapi_event_send_netdev_stream_connected(s->base.nc.name, &addr);
}

static void net_socket_closing(StreamConn *c, StreamConnClose why, int err)
{
    NetSocketState *s = container_of(c, NetSocketState, base.conn);

    if (why == STREAM_CONN_CLOSE_PROTOCOL) {
        return;
    }
    if (s->kind == NET_SOCKET_LISTEN) {
        net_socket_log(s, "peer %s disconnected", s->remote);
    } else if (s->kind == NET_SOCKET_FD_STREAM) {
        net_socket_log(s, "connection on fd=%d closed by peer", c->fd);
    } else if (!c->connecting) {
        net_socket_log(s, "connection to %s closed by peer", s->remote);
    } else if (err == ECONNREFUSED) {
        net_socket_log(s, "connection to %s refused", s->remote);
    } else {
        net_socket_log(s, "connection to %s failed: %s", s->remote,
                       g_strerror(err));
    }
}

/* Link down; a listener accepts the next peer (connect=, fd= stay down). */
static void net_socket_closed(StreamConn *c)
{
    NetSocketState *s = container_of(c, NetSocketState, base.conn);

    net_client_set_info_str(&s->base.nc, "%s", "");
    if (s->connected) {
        s->connected = false;
        qapi_event_send_netdev_stream_disconnected(s->base.nc.name);
    }
    net_client_set_link(&s->base.nc, false);
    if (s->kind == NET_SOCKET_LISTEN) {
        stream_listener_set_enabled(&s->listener, true);
    }
}

static void net_socket_connect_done(StreamConn *c)
{
    NetSocketState *s = container_of(c, NetSocketState, base.conn);

    net_socket_log(s, "connected to %s", s->remote);
    net_socket_connected(s);
}

static const StreamConnOps net_socket_conn_ops = {
    .closing = net_socket_closing,
    .closed = net_socket_closed,
    .connected = net_socket_connect_done,
};

static void net_socket_cleanup(NetClientState *nc)
{
    NetSocketState *s = container_of(nc, NetSocketState, base.nc);

    stream_listener_destroy(&s->listener);
    stream_data_cleanup(nc);
}

static const NetClientInfo net_socket_info = {
    .type = NET_CLIENT_DRIVER_SOCKET,
    .type_name = "socket",
    .size = sizeof(NetSocketState),
    STREAM_DATA_HOOKS,
    .cleanup = net_socket_cleanup,
};

/* ---- listen=, connect= --------------------------------------------------- */

static void net_socket_accepted(StreamListener *l, int fd,
                                const struct sockaddr_storage *sa,
                                socklen_t len)
{
    NetSocketState *s = container_of(l, NetSocketState, listener);

    stream_listener_set_enabled(l, false);    /* one peer at a time */
    inet_format_host_port_any(sa, s->remote);
    s->remote_addr = *sa;
    socket_set_nodelay(fd);
    stream_conn_attach(&s->base.conn, fd, false);
    net_client_set_info_str(&s->base.nc, "socket: connection from %s",
                            s->remote);
    net_socket_log(s, "connection from %s", s->remote);
    net_socket_connected(s);
    net_client_set_link(&s->base.nc, true);
}

/* The listening socket, QEMU's messages; [::] takes IPv4 peers too. */
static int net_socket_listen_open(const struct sockaddr_storage *sa,
                                  socklen_t len, int backlog, GError **errp)
{
    int fd = net_socket_open(sa->ss_family, SOCK_STREAM, errp), on = 1;
    int off = 0;

    if (fd < 0) {
        return -1;
    }
    sockops->setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (sa->ss_family == AF_INET6) {
        sockops->setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    }
    if (!net_socket_bind(fd, sa, len, errp)) {
        net_socket_close_fd(fd);
        return -1;
    }
    if (sockops->listen(fd, backlog) < 0) {
        error_setg_errno(errp, errno, "can't listen on socket");
        net_socket_close_fd(fd);
        return -1;
    }
    return fd;
}

/* listen=, or with hubid=N a listener of net/stream-multi.c. */
static bool net_socket_listen_init(const char *id, const char *addr,
                                   const NetMultiOptions *multi,
                                   GError **errp)
{
    char where[INET_ANY_HOST_PORT_STRLEN];
    struct sockaddr_storage sa;
    socklen_t len;
    NetSocketState *s;
    int fd;

    if (!inet_parse_host_port_any(&sa, &len, addr, errp)) {
        return false;
    }
    fd = net_socket_listen_open(&sa, len, multi ? SOMAXCONN : 1, errp);
    if (fd >= 0 && multi) {
        net_multi_listener_new(&(NetMultiListenerConfig) {
            .id = id, .type = NET_CLIENT_DRIVER_SOCKET, .listen_fd = fd,
            .where = inet_format_host_port_any(&sa, where), .opts = *multi,
        });
    } else if (fd >= 0) {
        s = net_socket_new(id, NET_SOCKET_LISTEN);
        stream_listener_start(&s->listener, &s->base.nc, fd,
                              net_socket_accepted);
        net_client_set_link(&s->base.nc, false);
    }
    return fd >= 0;
}

static bool net_socket_connect_init(const char *id, const char *addr,
                                    GError **errp)
{
    struct sockaddr_storage sa;
    socklen_t len;
    NetSocketState *s;
    int fd, ret;

    if (!inet_parse_host_port_any(&sa, &len, addr, errp)) {
        return false;
    }
    fd = net_socket_open(sa.ss_family, SOCK_STREAM, errp);
    if (fd < 0) {
        return false;
    }
    ret = socket_connect_start(fd, (const struct sockaddr *)&sa, len);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "can't connect socket");
        net_socket_close_fd(fd);
        return false;
    }
    s = net_socket_new(id, NET_SOCKET_CONNECT);
    inet_format_host_port_any(&sa, s->remote);
    s->remote_addr = sa;
    stream_conn_attach(&s->base.conn, fd, ret != 1);
    if (ret == 1) {
        socket_set_nodelay(fd);
        net_socket_connected(s);
    }
    net_client_set_info_str(&s->base.nc, "socket: connect to %s", s->remote);
    return true;
}

/* ---- udp=, mcast= (datagram clients of net/dgram.c) ----------------------- */

static bool net_socket_udp_init(const char *id, const char *remote,
                                const char *local, GError **errp)
{
    struct sockaddr_storage laddr = { 0 }, raddr = { 0 };
    char str[INET_HOST_PORT_STRLEN];
    DgramData *d;
    int fd;

    if (!inet_parse_host_port((struct sockaddr_in *)&laddr, local, errp) ||
        !inet_parse_host_port((struct sockaddr_in *)&raddr, remote, errp)) {
        return false;
    }
    fd = net_socket_open(AF_INET, SOCK_DGRAM, errp);
    if (fd < 0) {
        return false;
    }
    if (!sockops_setopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1,
                            "can't set socket option SO_REUSEADDR", errp) ||
        !net_socket_bind(fd, &laddr, sizeof(struct sockaddr_in), errp)) {
        net_socket_close_fd(fd);
        return false;
    }
    d = net_dgram_new_for(NET_CLIENT_DRIVER_SOCKET, id);
    dgram_conn_start(&d->dgram, fd, fd);
    dgram_conn_set_dst(&d->dgram, (struct sockaddr *)&raddr,
                       sizeof(struct sockaddr_in));
    net_client_set_info_str(&d->nc, "socket: udp=%s", inet_format_host_port(
                                (struct sockaddr_in *)&raddr, str));
    return true;
}

/* A client on both sockets of @group, or NULL; *@clone_fd is cloned. */
static DgramData *net_socket_mcast_new(const char *id,
                                       const struct sockaddr_in *group,
                                       const struct in_addr *localaddr,
                                       int *clone_fd, GError **errp)
{
    DgramData *d = net_dgram_new_for(NET_CLIENT_DRIVER_SOCKET, id);

    if (!dgram_conn_mcast_open(&d->dgram, (const struct sockaddr *)group,
                               localaddr, 0, clone_fd, errp)) {
        net_client_free(&d->nc);
        return NULL;
    }
    return d;
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
    d = net_socket_mcast_new(id, &group, localaddr_str ? &localaddr : NULL,
                             NULL, errp);
    if (d) {
        net_client_set_info_str(&d->nc, "socket: mcast=%s",
                                inet_format_host_port(&group, str));
    }
    return d != NULL;
}

/* ---- fd= ----------------------------------------------------------------- */

/* A datagram fd bound to a multicast group is cloned, as QEMU does. */
static bool net_socket_fd_dgram_init(const char *id, int fd, GError **errp)
{
    char str[INET_HOST_PORT_STRLEN];
    struct sockaddr_in sa = { 0 };
    socklen_t len = sizeof(sa);
    DgramData *d;

    if (sockops->getsockname(fd, (struct sockaddr *)&sa, &len) < 0 ||
        sa.sin_family != AF_INET ||
        !IN_MULTICAST(ntohl(sa.sin_addr.s_addr))) {
        d = net_dgram_new_for(NET_CLIENT_DRIVER_SOCKET, id);
        dgram_conn_start(&d->dgram, fd, fd);
        net_client_set_info_str(&d->nc, "socket: fd=%d", fd);
        return true;
    }
    d = net_socket_mcast_new(id, &sa, NULL, &fd, errp);
    if (!d) {
        net_socket_close_fd(fd);
        return false;
    }
    net_client_set_info_str(&d->nc, "socket: fd=%d (cloned mcast=%s)", fd,
                            inet_format_host_port(&sa, str));
    return true;
}

static void net_socket_fd_stream_init(const char *id, int fd)
{
    NetSocketState *s = net_socket_new(id, NET_SOCKET_FD_STREAM);

    socket_set_nodelay(fd);         /* fails harmlessly on AF_UNIX */
    stream_conn_attach(&s->base.conn, fd, false);
    net_client_set_info_str(&s->base.nc, "socket: fd=%d", fd);
}

/* fd=: a getfd name or a number, open, a socket; QEMU's messages. */
static int net_socket_get_fd(const char *id, const char *str, int *type,
                             GError **errp)
{
    int fd;

    switch (monitor_fd_param(str, &fd, type)) {
    case 0:
        return fd;
    case MONITOR_FD_CLOSED:
        error_setg_errno(errp, errno, "%s: Can't use file descriptor %d",
                         id, fd);
        return -1;
    case MONITOR_FD_NOT_SOCKET:
        error_setg(errp, "can't get socket option SO_TYPE");
        return -1;
    default:
        error_setg(errp, "Invalid file descriptor number '%s'", str);
        return -1;
    }
}

/*
 * QEMU's checks and messages, in QEMU's order, except that an fd that is no
 * socket at all (a typo: fd=2) is neither made nonblocking nor closed.  A
 * socket of the wrong type is closed, as QEMU does.
 */
static bool net_socket_fd_init(const char *id, const char *fd_str,
                               GError **errp)
{
    int type = -1;
    int fd = net_socket_get_fd(id, fd_str, &type, errp);
    int ret = fd < 0 ? 0 : fd_set_nonblock(fd);

    if (fd < 0) {
        return false;
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "%s: Can't use file descriptor %d",
                         id, fd);
    } else if (type != SOCK_STREAM && type != SOCK_DGRAM) {
        error_setg(errp, "socket type=%d for fd=%d must be either "
                   "SOCK_DGRAM or SOCK_STREAM", type, fd);
    } else if (type == SOCK_STREAM) {
        net_socket_fd_stream_init(id, fd);
        return true;
    } else {
        return net_socket_fd_dgram_init(id, fd, errp);
    }
    net_socket_close_fd(fd);
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
