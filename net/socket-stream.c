/*
 * DOC: -netdev socket's stream clients: QEMU's words around a connection
 *
 * The listen=, connect= and SOCK_STREAM fd= clients net/socket.c creates
 * (type socket) are a kind of the stream client base (StreamData,
 * net/stream-conn.c: framing, transmit ring, backpressure, the accept
 * loop, the connect).  This file is only what the kind adds, as QEMU
 * 7.2's net/socket.c has it: status strings ("socket: connection from
 * ADDR", "socket: connect to ADDR", "socket: fd=N"), log lines ("connection
 * from", "connected to", "peer ADDR disconnected", "connection to ADDR
 * refused", ...), QMP's NETDEV_STREAM_CONNECTED {netdev-id, addr} when a
 * listen= peer is accepted or a connect= completed and
 * NETDEV_STREAM_DISCONNECTED when that connection ends, and the link
 * policy: a closed connection takes the link down; listen= then accepts
 * the next peer (one at a time), connect= and fd= stay down (no
 * reconnect).  Peers show as "a.b.c.d:port" or (vmwire) "[v6]:port".
 */
#include <errno.h>

#include "net/netdev.h"
#include "net/socket-stream.h"
#include "net/stream-conn.h"
#include "net/stream-multi.h"
#include "util/log.h"
#include "util/sockets.h"

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
} NetSocketState;

static const NetClientInfo net_socket_info;
static const StreamConnOps net_socket_conn_ops;

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
    stream_data_forget_peer(&s->base);
    net_client_set_link(&s->base.nc, false);
}

static void net_socket_connect_done(StreamConn *c)
{
    NetSocketState *s = container_of(c, NetSocketState, base.conn);

    log_report_id(s->base.nc.name, "connected to %s", s->remote);
    stream_data_announce(&s->base, stream_data_describe(&s->remote_addr, 0,
                                                       NULL, NULL));
}

static void net_socket_accepted(StreamConn *c,
                                const struct sockaddr_storage *sa,
                                socklen_t len)
{
    NetSocketState *s = container_of(c, NetSocketState, base.conn);

    inet_format_host_port_any(sa, s->remote);
    net_client_set_info_str(&s->base.nc, "socket: connection from %s",
                            s->remote);
    log_report_id(s->base.nc.name, "connection from %s", s->remote);
    stream_data_announce(&s->base, stream_data_describe(sa, len, NULL, NULL));
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

/* ---- creation ------------------------------------------------------------ */

void net_socket_stream_listen(const char *id, int fd)
{
    NetSocketState *s = net_socket_new(id, NET_SOCKET_LISTEN, NULL);

    stream_data_listen(&s->base, fd);
    net_client_set_link(&s->base.nc, false);
}

int net_socket_stream_connect(const char *id, int fd,
                              const struct sockaddr_storage *sa,
                              socklen_t len)
{
    NetSocketState *s = net_socket_new(id, NET_SOCKET_CONNECT, sa);
    int ret = stream_data_connect(&s->base, fd, (const struct sockaddr *)sa,
                                  len);

    if (ret < 0) {
        net_client_free(&s->base.nc);
        return ret;
    }
    if (ret == 1) {
        stream_data_announce(&s->base, stream_data_describe(sa, len, NULL,
                                                           NULL));
    }
    net_client_set_info_str(&s->base.nc, "socket: connect to %s", s->remote);
    return 0;
}

void net_socket_stream_fd(const char *id, int fd)
{
    NetSocketState *s = net_socket_new(id, NET_SOCKET_FD_STREAM, NULL);

    socket_set_nodelay(fd);         /* fails harmlessly on AF_UNIX */
    stream_conn_attach(&s->base.conn, fd, false);
    net_client_set_info_str(&s->base.nc, "socket: fd=%d", fd);
}
