/*
 * DOC: -netdev socket, QEMU's socket backend in every mode
 *
 * `-netdev socket,id=ID,` plus exactly one of `fd=`, `listen=`, `connect=`,
 * `mcast=`, `udp=` (and `localaddr=` with mcast/udp), wire-, option- and
 * message-compatible with QEMU 7.2 (see shared docs, qemu-net.md).  The
 * backend is a NetClientState whose peer (a NIC) attaches later.
 *
 * Streams (listen=, connect=, a SOCK_STREAM fd=) carry [len32be][frame];
 * their data path is net/stream-conn.c's (shared with -netdev stream), this
 * file supplies the hooks (logs, events, link, listening again):
 *
 *   socket -> NIC: recv() goes straight into a StreamFraming buffer (at most
 *     STREAM_CONN_READS reads per wake-up); complete frames are handed
 *     to the peer one by one, without copying, with net_client_send_async().
 *     When the peer queues one (returns 0) reading stops and parsing stops
 *     mid-buffer; the completion callback resumes parsing the buffered bytes
 *     and then reading.  Nothing is lost under backpressure.
 *   NIC -> socket: the receive hook copies [len][frame] into a fixed byte
 *     ring (STREAM_CONN_TX_SIZE) and, unless a write is already pending,
 *     writes at once; one sendmsg() takes everything queued (many frames).
 *     A partial write resumes where it stopped when the socket is writable.
 *     A full ring makes the hook return 0; once the ring has room for the
 *     largest frame again, net_client_flush_queued() (the flow-control rule).
 *
 * A length above NET_BUFSIZE (garbage on the wire) logs QEMU's "serious
 * error" line once, counts a reset and closes that connection only.  EOF and
 * errors close it too.  A closed connection takes the link down; listen=
 * then accepts the next peer (one at a time, as QEMU), connect= and fd= stay
 * down (no reconnect, as QEMU).  Nothing a peer sends aborts the daemon.
 * listen=...,hubid=N (vmwire) hands the listening socket to
 * net/stream-multi.c: any number of peers, each its own port of hub N.
 * An accept() that fails for lack of fds or memory is logged and retried
 * later instead of spinning on the ready fd (net/stream-conn.c's
 * StreamListener, shared with -netdev stream).
 * Frames the NIC sends while connect= is still in progress wait in the
 * transmit ring and go out once connected.  QMP hears of listen= and
 * connect= peers: NETDEV_STREAM_CONNECTED {netdev-id, addr} once a peer is
 * accepted or the connect completed, NETDEV_STREAM_DISCONNECTED when that
 * connection ends (not when the netdev is deleted).
 * As a vmwire extension, listen= and connect= also take "[ipv6]:port"
 * (util/sockets.c inet_parse_host_port_any()): an AF_INET6 socket, dual
 * stack for listen= (IPV6_V6ONLY off), peers shown as "[addr]:port"; the
 * event's addr.host is the bare address.  udp= and mcast= stay IPv4-only.
 *
 * Datagrams (udp=, mcast=, a SOCK_DGRAM fd=; the machinery is net/dgram-conn.c,
 * shared with -netdev dgram) carry one frame each, read into
 * fixed NET_BUFSIZE slots in batches (recvmmsg/sendmmsg, DGRAM_CONN_BATCH);
 * truncated and empty ones are dropped and counted.  mcast= receives on a
 * socket bound to group:port and sends from a second socket bound to an
 * ephemeral port: datagrams whose source is that port (and address, if
 * bound) are this process's own frames looped back, and are not handed to
 * the NIC, unlike QEMU.  A datagram fd= bound to a multicast address is
 * cloned as QEMU does (a fresh group socket dup2()ed over it); other
 * datagram fds are used as they are.  An fd= that is no socket at all is
 * refused without being touched (QEMU makes it nonblocking and closes it).
 *
 * Every socket call goes through `sockops`.  Buffers are allocated when the
 * client is created; the frame path allocates nothing.  The core counts
 * rx_/tx_ frames; this file counts empty frames (dropped), truncated
 * datagrams (oversized) and protocol resets (resets).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/monitor.h"
#include "net/net.h"
#include "net/dgram-conn.h"
#include "net/netdev.h"
#include "net/stream-conn.h"
#include "net/stream-multi.h"
#include "qapi-events.h"
#include "util/error.h"
#include "util/fd-handler.h"
#include "util/sockets.h"
#include "util/sockops.h"

#define NET_SOCKET_WRITES STREAM_CONN_WRITES  /* send calls per attempt */

typedef enum NetSocketKind {
    NET_SOCKET_LISTEN,
    NET_SOCKET_CONNECT,
    NET_SOCKET_FD_STREAM,
    NET_SOCKET_DGRAM,           /* udp=, mcast=, datagram fd= */
} NetSocketKind;

typedef struct NetSocketState {
    NetClientState nc;
    NetSocketKind kind;
    int fd;                     /* datagram receive socket */
    FdHandler *fd_handler;
    StreamListener listener;    /* listen= only */
    int send_fd;                /* datagrams: == fd, or mcast's sender */
    FdHandler *send_handler;    /* set only if send_fd != fd */
    bool read_blocked;          /* a frame is queued at the peer */
    bool tx_waiting;            /* we refused a frame: flush later */
    char remote[INET_ANY_HOST_PORT_STRLEN];  /* peer or target, for logs */
    struct sockaddr_storage remote_addr;    /* the same, for QMP events */
    bool connected;             /* NETDEV_STREAM_CONNECTED was sent */
    /* Streams: the connection (listen=, connect=, stream fd=). */
    StreamConn conn;
    /* Datagrams: udp=, mcast=, datagram fd= (net/dgram-conn.c). */
    DgramConn dgram;
} NetSocketState;

static const NetClientInfo net_socket_stream_info;
static const NetClientInfo net_socket_dgram_info;
static const StreamConnOps net_socket_conn_ops;
static void net_socket_dgram_sent(NetClientState *nc, ssize_t len);

/* ---- messages ----------------------------------------------------------- */

static void G_GNUC_PRINTF(2, 3)
net_socket_log(NetSocketState *s, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "vmwire: %s: %s\n", s->nc.name, msg);
}

static const char *net_socket_ip_str(struct in_addr addr,
                                     char buf[INET_ADDRSTRLEN])
{
    return inet_ntop(AF_INET, &addr, buf, INET_ADDRSTRLEN);
}

/* Close an fd we own, keeping errno for the caller's message. */
static void net_socket_close_fd(int fd)
{
    int saved = errno;

    if (fd >= 0) {
        sockops->close(fd);
    }
    errno = saved;
}

/* ---- creation ------------------------------------------------------------ */

static NetSocketState *net_socket_new(const char *id, NetSocketKind kind)
{
    bool stream = kind != NET_SOCKET_DGRAM;
    NetClientState *nc = net_client_new(stream ? &net_socket_stream_info
                                               : &net_socket_dgram_info,
                                        NULL, "socket", id);
    NetSocketState *s = container_of(nc, NetSocketState, nc);

    s->kind = kind;
    s->fd = s->listener.fd = s->send_fd = -1;
    s->conn.fd = -1;
    if (stream) {
        stream_conn_init(&s->conn, &s->nc, &net_socket_conn_ops);
    } else {
        dgram_conn_init(&s->dgram, &s->nc, net_socket_dgram_sent);
    }
    return s;
}

/* A nonblocking, close-on-exec socket, or -1 with QEMU's message. */
static int net_socket_open_family(int family, int type, GError **errp)
{
    int fd = sockops->socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        error_setg_errno(errp, errno, "can't create %s socket",
                         type == SOCK_STREAM ? "stream" : "datagram");
    }
    return fd;
}

static bool net_socket_bind(int fd, const struct sockaddr_in *sa,
                            GError **errp)
{
    char ip[INET_ADDRSTRLEN];

    if (sockops->bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
        error_setg_errno(errp, errno, "can't bind ip=%s to socket",
                         net_socket_ip_str(sa->sin_addr, ip));
        return false;
    }
    return true;
}

/* An IPv4 one (QEMU's only kind). */
static int net_socket_open(int type, GError **errp)
{
    return net_socket_open_family(AF_INET, type, errp);
}

/* listen=/connect= bind or connect to IPv4 or (vmwire) IPv6 addresses. */
static bool net_socket_bind_any(int fd, const struct sockaddr_storage *ss,
                                socklen_t len, GError **errp)
{
    char ip[INET6_ADDRSTRLEN];

    if (ss->ss_family != AF_INET6) {
        return net_socket_bind(fd, (const struct sockaddr_in *)ss, errp);
    }
    if (sockops->bind(fd, (const struct sockaddr *)ss, len) < 0) {
        error_setg_errno(errp, errno, "can't bind ip=%s to socket",
                         inet_format_host(ss, ip));
        return false;
    }
    return true;
}

/* ---- streams: QMP events ------------------------------------------------- */

/* A listen= or connect= stream got its peer, s->remote_addr. */
static void net_socket_stream_connected(NetSocketState *s)
{
    char host[INET6_ADDRSTRLEN];
    g_autofree char *port = g_strdup_printf(
        "%u", inet_port(&s->remote_addr));
    SocketAddress addr = {
        .type = SOCKET_ADDRESS_TYPE_INET,
        .u.inet = {
            .host = (char *)inet_format_host(&s->remote_addr, host),
            .port = port,
        },
    };

    s->connected = true;
    qapi_event_send_netdev_stream_connected(s->nc.name, &addr);
}

static void net_socket_stream_disconnected(NetSocketState *s)
{
    if (s->connected) {
        s->connected = false;
        qapi_event_send_netdev_stream_disconnected(s->nc.name);
    }
}

/* ---- streams: the connection's hooks ------------------------------------ */

static void net_socket_log_close(StreamConn *c, StreamConnClose why, int err)
{
    NetSocketState *s = container_of(c, NetSocketState, conn);

    if (why == STREAM_CONN_CLOSE_PROTOCOL) {
        return;
    }
    switch (s->kind) {
    case NET_SOCKET_LISTEN:
        net_socket_log(s, "peer %s disconnected", s->remote);
        break;
    case NET_SOCKET_CONNECT:
        if (!c->connecting) {
            net_socket_log(s, "connection to %s closed by peer", s->remote);
        } else if (err == ECONNREFUSED) {
            net_socket_log(s, "connection to %s refused", s->remote);
        } else {
            net_socket_log(s, "connection to %s failed: %s", s->remote,
                           g_strerror(err));
        }
        break;
    default:
        net_socket_log(s, "connection on fd=%d closed by peer", c->fd);
        break;
    }
}

/*
 * The connection ended: the link goes down and a listener accepts the
 * next peer (connect= and fd= stay down, as QEMU).
 */
static void net_socket_stream_closed(StreamConn *c)
{
    NetSocketState *s = container_of(c, NetSocketState, conn);

    net_client_set_info_str(&s->nc, "%s", "");
    net_socket_stream_disconnected(s);
    net_client_set_link(&s->nc, false);
    if (s->kind == NET_SOCKET_LISTEN) {
        stream_listener_set_enabled(&s->listener, true);
    }
}

static void net_socket_connect_done(StreamConn *c)
{
    NetSocketState *s = container_of(c, NetSocketState, conn);

    net_socket_log(s, "connected to %s", s->remote);
    net_socket_stream_connected(s);
}

static void net_socket_stream_sent(NetClientState *nc, ssize_t len)
{
    stream_conn_sent(&container_of(nc, NetSocketState, nc)->conn);
}

static const StreamConnOps net_socket_conn_ops = {
    .sent = net_socket_stream_sent,
    .closing = net_socket_log_close,
    .closed = net_socket_stream_closed,
    .connected = net_socket_connect_done,
};

static ssize_t net_socket_stream_receive_iov(NetClientState *nc,
                                             const struct iovec *iov,
                                             int iovcnt)
{
    NetSocketState *s = container_of(nc, NetSocketState, nc);

    return stream_conn_receive_iov(&s->conn, iov, iovcnt);
}

static ssize_t net_socket_stream_receive(NetClientState *nc,
                                         const uint8_t *buf, size_t size)
{
    struct iovec iov = { (void *)buf, size };

    return net_socket_stream_receive_iov(nc, &iov, 1);
}

static bool net_socket_stream_can_receive(NetClientState *nc)
{
    return stream_conn_can_receive(&container_of(nc, NetSocketState,
                                                 nc)->conn);
}

/* ---- listen= ------------------------------------------------------------- */

static void net_socket_listen_accept(StreamListener *l, int fd,
                                     const struct sockaddr_storage *sa,
                                     socklen_t len)
{
    NetSocketState *s = container_of(l, NetSocketState, listener);

    stream_listener_set_enabled(l, false);    /* one peer at a time */
    inet_format_host_port_any(sa, s->remote);
    s->remote_addr = *sa;
    socket_set_nodelay(fd);
    stream_conn_attach(&s->conn, fd, false);
    net_client_set_info_str(&s->nc, "socket: connection from %s", s->remote);
    net_socket_log(s, "connection from %s", s->remote);
    net_socket_stream_connected(s);
    net_client_set_link(&s->nc, true);
}

/* listen=...,hubid=N: the socket goes to net/stream-multi.c. */
static void net_socket_multi_new(const char *id, int fd,
                                 const struct sockaddr_storage *sa,
                                 const NetMultiOptions *opts)
{
    char where[INET_ANY_HOST_PORT_STRLEN];
    NetMultiListenerConfig cfg = {
        .id = id,
        .type = NET_CLIENT_DRIVER_SOCKET,
        .listen_fd = fd,
        .where = inet_format_host_port_any(sa, where),
        .opts = *opts,
    };

    net_multi_listener_new(&cfg);
}

static bool net_socket_listen_init(const char *id, const char *addr,
                                   const NetMultiOptions *multi,
                                   GError **errp)
{
    struct sockaddr_storage sa;
    socklen_t len;
    NetSocketState *s;
    int fd, on = 1, off = 0;

    if (!inet_parse_host_port_any(&sa, &len, addr, errp)) {
        return false;
    }
    fd = net_socket_open_family(sa.ss_family, SOCK_STREAM, errp);
    if (fd < 0) {
        return false;
    }
    sockops->setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (sa.ss_family == AF_INET6) {
        /* [::] takes IPv4 peers too (v4-mapped), as QEMU's inet_listen. */
        sockops->setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    }
    if (!net_socket_bind_any(fd, &sa, len, errp)) {
        net_socket_close_fd(fd);
        return false;
    }
    if (sockops->listen(fd, multi ? SOMAXCONN : 1) < 0) {
        error_setg_errno(errp, errno, "can't listen on socket");
        net_socket_close_fd(fd);
        return false;
    }
    if (multi) {
        net_socket_multi_new(id, fd, &sa, multi);
        return true;
    }
    s = net_socket_new(id, NET_SOCKET_LISTEN);
    stream_listener_start(&s->listener, &s->nc, fd, net_socket_listen_accept);
    net_client_set_link(&s->nc, false);
    return true;
}

/* ---- connect= ------------------------------------------------------------ */

/* Start a nonblocking connect: 1 connected, 0 in progress, -errno. */
static int net_socket_connect_start(int fd, const struct sockaddr_storage *sa,
                                    socklen_t len)
{
    for (int i = 0; i < NET_SOCKET_WRITES; i++) {
        if (sockops->connect(fd, (const struct sockaddr *)sa, len) == 0) {
            return 1;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EISCONN) {
            return 1;
        }
        if (errno == EINPROGRESS || errno == EALREADY || errno == EAGAIN) {
            return 0;
        }
        return -errno;
    }
    return 0;       /* interrupted each time: SO_ERROR will tell */
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
    fd = net_socket_open_family(sa.ss_family, SOCK_STREAM, errp);
    if (fd < 0) {
        return false;
    }
    ret = net_socket_connect_start(fd, &sa, len);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "can't connect socket");
        net_socket_close_fd(fd);
        return false;
    }
    s = net_socket_new(id, NET_SOCKET_CONNECT);
    inet_format_host_port_any(&sa, s->remote);
    s->remote_addr = sa;
    stream_conn_attach(&s->conn, fd, ret != 1);
    if (ret == 1) {
        socket_set_nodelay(fd);
        net_socket_stream_connected(s);
    }
    net_client_set_info_str(&s->nc, "socket: connect to %s", s->remote);
    return true;
}

/* ---- datagrams: the machinery is net/dgram-conn.c ------------------------- */

static ssize_t net_socket_dgram_receive_iov(NetClientState *nc,
                                            const struct iovec *iov,
                                            int iovcnt)
{
    NetSocketState *s = container_of(nc, NetSocketState, nc);

    return dgram_conn_send_iov(&s->dgram, iov, iovcnt);
}

static ssize_t net_socket_dgram_receive(NetClientState *nc,
                                        const uint8_t *buf, size_t size)
{
    struct iovec iov = { (void *)buf, size };

    return net_socket_dgram_receive_iov(nc, &iov, 1);
}

static void net_socket_dgram_sent(NetClientState *nc, ssize_t len)
{
    NetSocketState *s = container_of(nc, NetSocketState, nc);

    dgram_conn_sent(&s->dgram);
}

/* Create the client for datagram socket @fd (taken) sending via @send_fd. */
static NetSocketState *net_socket_dgram_new(const char *id, int fd,
                                            int send_fd)
{
    NetSocketState *s = net_socket_new(id, NET_SOCKET_DGRAM);

    dgram_conn_start(&s->dgram, fd, send_fd);
    return s;
}

/* ---- udp= ---------------------------------------------------------------- */

static bool net_socket_udp_init(const char *id, const char *remote,
                                const char *local, GError **errp)
{
    struct sockaddr_in laddr, raddr;
    NetSocketState *s;
    int fd;

    if (!inet_parse_host_port(&laddr, local, errp) ||
        !inet_parse_host_port(&raddr, remote, errp)) {
        return false;
    }
    fd = net_socket_open(SOCK_DGRAM, errp);
    if (fd < 0) {
        return false;
    }
    if (!sockops_setopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1,
                            "can't set socket option SO_REUSEADDR",
                            errp) ||
        !net_socket_bind(fd, &laddr, errp)) {
        net_socket_close_fd(fd);
        return false;
    }
    s = net_socket_dgram_new(id, fd, fd);
    dgram_conn_set_dst(&s->dgram, (struct sockaddr *)&raddr, sizeof(raddr));
    inet_format_host_port(&raddr, s->remote);
    net_client_set_info_str(&s->nc, "socket: udp=%s", s->remote);
    return true;
}

/* ---- mcast= -------------------------------------------------------------- */

/* Both sockets of a group; on success the client exists. */
static NetSocketState *net_socket_mcast_open(const char *id,
                                             const struct sockaddr_in *group,
                                             const struct in_addr *localaddr,
                                             int *recv_fd, GError **errp)
{
    NetSocketState *s = net_socket_new(id, NET_SOCKET_DGRAM);

    if (!dgram_conn_mcast_open(&s->dgram, (const struct sockaddr *)group,
                               localaddr, 0, recv_fd, errp)) {
        net_client_free(&s->nc);
        return NULL;
    }
    inet_format_host_port(group, s->remote);
    return s;
}

static bool net_socket_mcast_init(const char *id, const char *addr,
                                  const char *localaddr_str, GError **errp)
{
    struct sockaddr_in group;
    struct in_addr localaddr;
    NetSocketState *s;

    if (!inet_parse_host_port(&group, addr, errp)) {
        return false;
    }
    if (localaddr_str && !inet_aton(localaddr_str, &localaddr)) {
        error_setg(errp, "localaddr '%s' is not a valid IPv4 address",
                   localaddr_str);
        return false;
    }
    s = net_socket_mcast_open(id, &group, localaddr_str ? &localaddr : NULL,
                              NULL, errp);
    if (!s) {
        return false;
    }
    net_client_set_info_str(&s->nc, "socket: mcast=%s", s->remote);
    return true;
}

/* ---- fd= ----------------------------------------------------------------- */

static bool net_socket_fd_stream_init(const char *id, int fd)
{
    NetSocketState *s = net_socket_new(id, NET_SOCKET_FD_STREAM);

    socket_set_nodelay(fd);         /* fails harmlessly on AF_UNIX */
    stream_conn_attach(&s->conn, fd, false);
    net_client_set_info_str(&s->nc, "socket: fd=%d", fd);
    return true;
}

/* A datagram fd bound to a multicast group is cloned, as QEMU does. */
static bool net_socket_fd_dgram_init(const char *id, int fd, GError **errp)
{
    struct sockaddr_in sa = { 0 };
    socklen_t len = sizeof(sa);
    NetSocketState *s;

    if (sockops->getsockname(fd, (struct sockaddr *)&sa, &len) < 0 ||
        sa.sin_family != AF_INET ||
        !IN_MULTICAST(ntohl(sa.sin_addr.s_addr))) {
        s = net_socket_dgram_new(id, fd, fd);
        net_client_set_info_str(&s->nc, "socket: fd=%d", fd);
        return true;
    }
    s = net_socket_mcast_open(id, &sa, NULL, &fd, errp);
    if (!s) {
        net_socket_close_fd(fd);
        return false;
    }
    net_client_set_info_str(&s->nc, "socket: fd=%d (cloned mcast=%s)", fd,
                            s->remote);
    return true;
}

/*
 * QEMU's checks and messages, in QEMU's order, except that an fd that is no
 * socket at all (a typo: fd=2) is neither made nonblocking nor closed.  A
 * socket of the wrong type is closed, as QEMU does.
 */
static bool net_socket_fd_init(const char *id, const char *fd_str,
                               GError **errp)
{
    int fd = monitor_fd_param(fd_str, errp);
    int type = -1, ret;
    socklen_t len = sizeof(type);

    if (fd < 0) {
        return false;
    }
    if (fcntl(fd, F_GETFL) < 0) {
        error_setg_errno(errp, errno, "%s: Can't use file descriptor %d",
                         id, fd);
        return false;
    }
    if (sockops->getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        error_setg(errp, "can't get socket option SO_TYPE");
        return false;
    }
    ret = fd_set_nonblock(fd);
    if (ret < 0 || (type != SOCK_STREAM && type != SOCK_DGRAM)) {
        if (ret < 0) {
            error_setg_errno(errp, -ret, "%s: Can't use file "
                             "descriptor %d", id, fd);
        } else {
            error_setg(errp, "socket type=%d for fd=%d must be either "
                       "SOCK_DGRAM or SOCK_STREAM", type, fd);
        }
        net_socket_close_fd(fd);
        return false;
    }
    return type == SOCK_STREAM ? net_socket_fd_stream_init(id, fd)
                               : net_socket_fd_dgram_init(id, fd, errp);
}

/* ---- the client ---------------------------------------------------------- */

static void net_socket_cleanup(NetClientState *nc)
{
    NetSocketState *s = container_of(nc, NetSocketState, nc);

    g_clear_pointer(&s->fd_handler, fd_handler_free);
    g_clear_pointer(&s->send_handler, fd_handler_free);
    if (s->send_fd != s->fd) {
        net_socket_close_fd(s->send_fd);
    }
    net_socket_close_fd(s->fd);
    stream_listener_destroy(&s->listener);
    s->fd = s->send_fd = -1;
    if (s->kind != NET_SOCKET_DGRAM) {
        stream_conn_destroy(&s->conn);
    }
    if (s->kind == NET_SOCKET_DGRAM) {
        dgram_conn_cleanup(&s->dgram);
    }
}

static const NetClientInfo net_socket_stream_info = {
    .type = NET_CLIENT_DRIVER_SOCKET,
    .type_name = "socket",
    .size = sizeof(NetSocketState),
    .receive = net_socket_stream_receive,
    .receive_iov = net_socket_stream_receive_iov,
    .can_receive = net_socket_stream_can_receive,
    .cleanup = net_socket_cleanup,
};

static const NetClientInfo net_socket_dgram_info = {
    .type = NET_CLIENT_DRIVER_SOCKET,
    .type_name = "socket",
    .size = sizeof(NetSocketState),
    .receive = net_socket_dgram_receive,
    .receive_iov = net_socket_dgram_receive_iov,
    .cleanup = net_socket_cleanup,
};

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
