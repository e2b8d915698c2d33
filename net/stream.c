/*
 * DOC: -netdev stream, QEMU 7.2+'s stream socket backend
 *
 * `-netdev stream,id=ID,server=on|off,addr.type=inet|unix|fd,...` (or the
 * same as JSON) carries [len32be][frame] records over one stream socket;
 * the data path is net/stream-conn.c's, shared with `-netdev socket`.
 *
 *   addr.type=inet  addr.host (a name, an IPv4 or IPv6 literal, "[::1]"
 *                   accepted, "" = any for a server), addr.port, addr.ipv4
 *                   / addr.ipv6 to pick the family; getaddrinfo, first hit.
 *   addr.type=unix  addr.path; addr.abstract (Linux abstract namespace),
 *                   addr.tight (default on: the address length covers the
 *                   name only, as QEMU).
 *   addr.type=fd    addr.str: a number or a QMP getfd name; a listening
 *                   socket with server=on, a connected one otherwise.
 *
 * server=on listens and accepts one client at a time; while none is
 * connected the link is down, and after EOF it listens again.  With
 * hubid=N (vmwire) the listening socket goes to net/stream-multi.c, which
 * serves any number of clients, each its own port of hub N.  A listening
 * unix socket it created is removed when the netdev goes (netdev_del, exit);
 * a stale socket file nobody listens on is replaced, any other file is not.
 * A client connects (nonblocking); with reconnect-ms=N (or reconnect=S) a
 * failed connect or a lost connection retries N ms later from a GLib
 * timeout; without it the link stays down, as QEMU.
 *
 * Status (info network): a server shows `listening`, then the client's URI;
 * a client `connecting`, then the remote's URI (`tcp:127.0.0.1:5000`,
 * `tcp:[::1]:5000`, `unix:/path`); a client that gave up shows
 * `connection error` as QEMU 7.2 does.  QMP hears NETDEV_STREAM_CONNECTED
 * {netdev-id, addr} and NETDEV_STREAM_DISCONNECTED {netdev-id}.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "monitor/monitor.h"
#include "net/net.h"
#include "net/netdev.h"
#include "net/stream-conn.h"
#include "net/stream-multi.h"
#include "qapi-events.h"
#include "system/listen-fds.h"
#include "util/error.h"
#include "util/log.h"
#include "util/fd-handler.h"
#include "util/sockets.h"
#include "util/sockops.h"

/* The options parsed and resolved; the client is created from it. */
typedef struct NetStreamConfig {
    bool server;
    SocketAddressType addr_type;
    struct sockaddr_storage sa;     /* where to listen or connect */
    socklen_t sa_len;
    char *target;                   /* URI of sa, for logs; owned */
    int fd;                         /* addr.type=fd or a listener; -1 */
    unsigned reconnect_ms;          /* 0: never */
    char *unlink_path;              /* our listening unix socket; owned */
} NetStreamConfig;

typedef struct NetStreamState {
    StreamData base;                /* nc and conn */
    NetStreamConfig cfg;            /* taken from net_init_stream() */
    guint reconnect_id;
    char *peer_uri;                 /* the connected peer; owned */
} NetStreamState;

static const NetClientInfo net_stream_info;
static const StreamConnOps net_stream_conn_ops;
static void net_stream_connect(NetStreamState *s);

/* ---- addresses ----------------------------------------------------------- */

static bool net_stream_parse_port(const char *str, GError **errp)
{
    char *end = NULL;
    unsigned long port;

    errno = 0;
    port = g_ascii_isdigit(str[0]) && str[0] != '0'
           ? strtoul(str, &end, 10) : 0;
    if (port < 1 || port > 65535 || errno || *end) {
        error_setg(errp, "port number '%s' is invalid", str);
        return false;
    }
    return true;
}

static bool net_stream_resolve_inet(NetStreamConfig *s,
                                    const InetSocketAddress *inet,
                                    GError **errp)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_NUMERICSERV | (s->server ? AI_PASSIVE : 0),
    };
    struct addrinfo *res = NULL;
    g_autofree char *host = g_strdup(inet->host);
    size_t n = strlen(host);
    int rc;

    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    if (!net_stream_parse_port(inet->port, errp)) {
        return false;
    }
    if (inet->has_ipv4 && inet->ipv4 && !(inet->has_ipv6 && inet->ipv6)) {
        hints.ai_family = AF_INET;
    } else if (inet->has_ipv6 && inet->ipv6 &&
               !(inet->has_ipv4 && inet->ipv4)) {
        hints.ai_family = AF_INET6;
    } else if (inet->has_ipv4 && !inet->ipv4) {
        hints.ai_family = AF_INET6;
    } else if (inet->has_ipv6 && !inet->ipv6) {
        hints.ai_family = AF_INET;
    }
    rc = getaddrinfo(host[0] ? host : NULL, inet->port, &hints, &res);
    if (rc != 0 || !res) {
        /* QEMU's inet_parse_connect_saddr()/inet_listen_saddr() words. */
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   inet->host, inet->port, gai_strerror(rc));
        return false;
    }
    memcpy(&s->sa, res->ai_addr, res->ai_addrlen);
    s->sa_len = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

static bool net_stream_resolve_unix(NetStreamConfig *s,
                                    const UnixSocketAddress *un,
                                    GError **errp)
{
    struct sockaddr_un *sun = (struct sockaddr_un *)&s->sa;
    bool abstract = false, tight = true;
    size_t len = strlen(un->path);

#ifdef CONFIG_LINUX
    abstract = un->has_abstract && un->abstract;
    tight = !un->has_tight || un->tight;
#endif
    /* QEMU's messages (util/qemu-sockets.c). */
    if (len + (abstract ? 1 : 0) > sizeof(sun->sun_path) - !abstract) {
        error_setg(errp, "UNIX socket path '%s' is too long", un->path);
        return false;
    }
    if (!abstract && len == 0) {
        error_setg(errp, "UNIX socket path '' is empty");
        return false;
    }
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path + (abstract ? 1 : 0), un->path, len);
    s->sa_len = sizeof(*sun);
    if (abstract && tight) {
        s->sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                                len);
    }
    if (!abstract && s->server) {
        s->unlink_path = g_strdup(un->path);
    }
    return true;
}

/* addr.str: a getfd name or a number; the socket type is checked. */
static int net_stream_get_fd(const char *str, GError **errp)
{
    int fd, type = 0;

    switch (monitor_fd_param(str, &fd, &type)) {
    case 0:
        break;
    case MONITOR_FD_NOT_FOUND:
        error_setg(errp, "File descriptor named '%s' has not been found%s",
                   str, listen_fds_hint());
        return -1;
    case MONITOR_FD_NOT_SOCKET:
        error_setg(errp, "File descriptor '%s' is not a socket", str);
        return -1;
    default:
        error_setg(errp, "Invalid file descriptor number '%s'", str);
        return -1;
    }
    if (type != SOCK_STREAM) {
        error_setg(errp, "File descriptor '%s' is not a stream socket", str);
        return -1;
    }
    fd_set_nonblock(fd);
    fd_set_cloexec(fd);
    return fd;
}

/* ---- connection events --------------------------------------------------- */

/* The connection to @sa (len @len) is up: status, event, link. */
static void net_stream_up(NetStreamState *s,
                          const struct sockaddr_storage *sa, socklen_t len)
{
    const char *path = s->cfg.addr_type == SOCKET_ADDRESS_TYPE_UNIX
                       ? s->cfg.target + strlen("unix:") : NULL;
    SocketAddress *peer;

    g_clear_pointer(&s->peer_uri, g_free);
    peer = stream_data_describe(sa, len, path, &s->peer_uri);
    net_client_set_info_str(&s->base.nc, "%s", s->peer_uri);
    log_report_id(s->base.nc.name, s->cfg.server ? "connection from %s"
                                                 : "connected to %s",
                  s->peer_uri);
    stream_data_announce(&s->base, peer);
    net_client_set_link(&s->base.nc, true);
}

static void net_stream_closing(StreamConn *c, StreamConnClose why, int err)
{
    NetStreamState *s = container_of(c, NetStreamState, base.conn);

    if (why == STREAM_CONN_CLOSE_PROTOCOL) {
        return;
    }
    if (!c->connecting) {
        log_report_id(s->base.nc.name, "connection %s %s closed",
                      s->cfg.server ? "from" : "to",
                      s->peer_uri ? s->peer_uri : s->cfg.target);
    } else if (err == ECONNREFUSED || err == ENOENT) {
        log_report_id(s->base.nc.name, "connection to %s refused",
                      s->cfg.target);
    } else {
        log_report_id(s->base.nc.name, "connection to %s failed: %s",
                      s->cfg.target, g_strerror(err));
    }
}

static gboolean net_stream_reconnect(gpointer opaque)
{
    NetStreamState *s = opaque;

    s->reconnect_id = 0;
    net_stream_connect(s);
    return G_SOURCE_REMOVE;
}

/*
 * No connection (any more): link down, the event if it was up; reconnect
 * later (a server's base listens again).
 */
static void net_stream_down(NetStreamState *s)
{
    net_client_set_link(&s->base.nc, false);
    stream_data_forget_peer(&s->base);
    g_clear_pointer(&s->peer_uri, g_free);
    if (s->cfg.server) {
        net_client_set_info_str(&s->base.nc, "listening");
    } else if (s->cfg.reconnect_ms &&
               s->cfg.addr_type != SOCKET_ADDRESS_TYPE_FD) {
        net_client_set_info_str(&s->base.nc, "connecting");
        s->reconnect_id = g_timeout_add(s->cfg.reconnect_ms,
                                        net_stream_reconnect, s);
    } else {
        net_client_set_info_str(&s->base.nc, "connection error");
    }
}

static void net_stream_closed(StreamConn *c)
{
    NetStreamState *s = container_of(c, NetStreamState, base.conn);

    net_stream_down(s);
}

static void net_stream_connected(StreamConn *c)
{
    NetStreamState *s = container_of(c, NetStreamState, base.conn);

    net_stream_up(s, &s->cfg.sa, s->cfg.sa_len);
}

static void net_stream_accepted(StreamConn *c,
                                const struct sockaddr_storage *sa,
                                socklen_t len)
{
    net_stream_up(container_of(c, NetStreamState, base.conn), sa, len);
}

static const StreamConnOps net_stream_conn_ops = {
    .closing = net_stream_closing,
    .closed = net_stream_closed,
    .connected = net_stream_connected,
    .accepted = net_stream_accepted,
};

/* ---- client -------------------------------------------------------------- */

static void net_stream_connect(NetStreamState *s)
{
    int fd = sockops->socket(s->cfg.sa.ss_family,
                             SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int ret = fd < 0 ? -errno
              : stream_data_connect(&s->base, fd,
                                    (const struct sockaddr *)&s->cfg.sa,
                                    s->cfg.sa_len);

    net_client_set_info_str(&s->base.nc, "connecting");
    if (ret < 0) {
        log_report_id(s->base.nc.name, ret == -ECONNREFUSED || ret == -ENOENT
                       ? "connection to %s refused%s%s"
                       : "connection to %s failed%s%s", s->cfg.target,
                       ret == -ECONNREFUSED || ret == -ENOENT ? "" : ": ",
                       ret == -ECONNREFUSED || ret == -ENOENT
                       ? "" : g_strerror(-ret));
        net_stream_down(s);
        return;
    }
    if (ret == 1) {
        net_stream_up(s, &s->cfg.sa, s->cfg.sa_len);
    }
}

/* ---- server -------------------------------------------------------------- */

static bool net_stream_listen(NetStreamConfig *s, int backlog, GError **errp)
{
    SocketListenStep failed;

    if (s->unlink_path) {
        socket_unix_unlink_stale(s->unlink_path,
                                 (const struct sockaddr *)&s->sa, s->sa_len);
    }
    s->fd = socket_listen_open((const struct sockaddr *)&s->sa, s->sa_len,
                               backlog, false, &failed);
    if (s->fd >= 0) {
        return true;
    }
    if (failed == SOCKET_LISTEN_BIND) {
        error_setg(errp, "Failed to bind socket to %s: %s", s->target,
                   g_strerror(errno));
        g_clear_pointer(&s->unlink_path, g_free);   /* not ours */
    } else {
        error_setg(errp, "Failed to %s socket: %s",
                   failed == SOCKET_LISTEN_SOCKET ? "create" : "listen on",
                   g_strerror(errno));
    }
    return false;
}

/* ---- the client ---------------------------------------------------------- */

static void net_stream_cleanup(NetClientState *nc)
{
    NetStreamState *s = container_of(nc, NetStreamState, base.nc);
    bool listening = s->base.listener.fd >= 0;

    g_clear_handle_id(&s->reconnect_id, g_source_remove);
    stream_data_cleanup(nc);
    if (listening && s->cfg.unlink_path) {
        unlink(s->cfg.unlink_path);
    }
    g_clear_pointer(&s->cfg.unlink_path, g_free);
    g_clear_pointer(&s->cfg.target, g_free);
    g_clear_pointer(&s->peer_uri, g_free);
}

static const NetClientInfo net_stream_info = {
    .type = NET_CLIENT_DRIVER_STREAM,
    .type_name = "stream",
    .size = sizeof(NetStreamState),
    STREAM_DATA_HOOKS,
    .cleanup = net_stream_cleanup,
};

/* ---- creation ------------------------------------------------------------ */

/* Resolve @addr into @s (no client yet). */
static bool net_stream_resolve(NetStreamConfig *s, const SocketAddress *addr,
                               GError **errp)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        if (!net_stream_resolve_inet(s, &addr->u.inet, errp)) {
            return false;
        }
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        if (!net_stream_resolve_unix(s, &addr->u.q_unix, errp)) {
            return false;
        }
        s->target = g_strdup_printf("unix:%s", addr->u.q_unix.path);
        return true;
    default:
        return true;
    }
    /* Only the URI is kept; the SocketAddress goes at once. */
    qapi_free_SocketAddress(stream_data_describe(&s->sa, s->sa_len, NULL,
                                                 &s->target));
    return true;
}

static unsigned net_stream_reconnect_ms(const NetdevStreamOptions *o,
                                        GError **errp, bool *ok)
{
    int64_t ms = 0;

    *ok = true;
    if (o->has_reconnect_ms) {
        ms = o->reconnect_ms;
    } else if (o->has_reconnect) {
        ms = o->reconnect < 0 || o->reconnect > G_MAXINT / 1000
             ? -1 : o->reconnect * 1000;
    }
    if (ms < 0 || ms > G_MAXINT) {
        error_setg(errp, "reconnect%s must be a positive number",
                   o->has_reconnect_ms ? "-ms" : "");
        *ok = false;
        return 0;
    }
    return (unsigned)ms;
}

/* server=on,hubid=N: the listening socket goes to net/stream-multi.c. */
static void net_stream_multi_new(const char *id, NetStreamConfig *sc,
                                 const SocketAddress *addr,
                                 const NetMultiOptions *opts)
{
    NetMultiListenerConfig cfg = {
        .id = id,
        .type = NET_CLIENT_DRIVER_STREAM,
        .listen_fd = sc->fd,
        .unix_path = addr->type == SOCKET_ADDRESS_TYPE_UNIX
                     ? addr->u.q_unix.path : NULL,
        .unlink_path = g_steal_pointer(&sc->unlink_path),
        .where = sc->target,
        .opts = *opts,
    };

    net_multi_listener_new(&cfg);
    g_free(cfg.unlink_path);
}

/* The options' checks, in QEMU's order with its words. */
static bool net_stream_check(const NetdevStreamOptions *o, bool server,
                             bool *multi, NetMultiOptions *mopts,
                             GError **errp)
{
    if (server && (o->has_reconnect || o->has_reconnect_ms)) {
        /* QEMU 9.2's words. */
        error_setg(errp, "'reconnect' and 'reconnect-ms' options are "
                   "incompatible with socket in server mode");
        return false;
    }
    if (o->has_hubid && !server) {
        error_setg(errp, "hubid= requires server=on");
        return false;
    }
    return net_multi_check(NET_MULTI_BASE(o), multi, mopts, errp);
}

/*
 * Parse and resolve @o into @cfg: the address, the fd= socket or the
 * listening socket a server (or a many-client listener, @multi) needs.
 */
static bool net_stream_configure(const NetdevStreamOptions *o,
                                 NetStreamConfig *cfg, bool *multi,
                                 NetMultiOptions *mopts, GError **errp)
{
    bool ok;

    cfg->server = o->has_server && o->server;
    cfg->addr_type = o->addr->type;
    if (!net_stream_check(o, cfg->server, multi, mopts, errp)) {
        return false;
    }
    cfg->reconnect_ms = net_stream_reconnect_ms(o, errp, &ok);
    if (!ok || !net_stream_resolve(cfg, o->addr, errp)) {
        return false;
    }
    if (o->addr->type == SOCKET_ADDRESS_TYPE_FD) {
        cfg->fd = net_stream_get_fd(o->addr->u.fd.str, errp);
        cfg->target = g_strdup_printf("fd:%s", o->addr->u.fd.str);
        return cfg->fd >= 0;
    }
    return !cfg->server ||
           net_stream_listen(cfg, *multi ? SOMAXCONN : 1, errp);
}

/* An fd= socket that is connected already. */
static void net_stream_attach_fd(NetStreamState *s)
{
    struct sockaddr_storage peer = { 0 };
    socklen_t len = sizeof(peer);
    int fd = s->cfg.fd;

    s->cfg.fd = -1;
    stream_conn_attach(&s->base.conn, fd, false);
    if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0) {
        peer.ss_family = AF_UNIX;
    }
    net_stream_up(s, &peer, len);
}

/* The client, from @cfg (its strings and sockets are taken). */
static void net_stream_new(const char *id, NetStreamConfig *cfg)
{
    NetClientState *nc = net_client_new(&net_stream_info, NULL, "stream",
                                        id);
    NetStreamState *s = container_of(nc, NetStreamState, base.nc);

    s->cfg = *cfg;
    stream_data_init(&s->base, &net_stream_conn_ops);
    net_client_set_link(nc, false);
    if (s->cfg.server) {
        stream_data_listen(&s->base, s->cfg.fd);
        s->cfg.fd = -1;
        net_client_set_info_str(nc, "listening");
    } else if (s->cfg.fd >= 0) {
        net_stream_attach_fd(s);
    } else {
        net_stream_connect(s);
    }
}

bool net_init_stream(const Netdev *netdev, GError **errp)
{
    const NetdevStreamOptions *o = &netdev->u.stream;
    NetStreamConfig cfg = { .fd = -1 };
    NetMultiOptions mopts;
    bool multi = false;

    if (!net_stream_configure(o, &cfg, &multi, &mopts, errp)) {
        g_free(cfg.target);
        g_free(cfg.unlink_path);
        return false;
    }
    if (multi) {
        net_stream_multi_new(netdev->id, &cfg, o->addr, &mopts);
        g_free(cfg.target);
        return true;
    }
    net_stream_new(netdev->id, &cfg);
    return true;
}
