/*
 * DOC: many-client stream listeners (hubid= on -netdev stream and socket)
 *
 * QEMU's stream listeners serve one peer at a time.  With hubid=N a
 * vmwire listener keeps accepting, and each connection becomes its own
 * port of learning hub N (net/hub.c, created on demand):
 *
 *   listener "L" (NetMultiListener, no peer, never carries frames)
 *     accept -> connection client "L.n.conn" (a NetMultiMember of its
 *               kind: NetMultiConn, a StreamConn, for stream and socket;
 *               net/vhost-user.c's for vhost-user)
 *               <-peer-> hub port "L.n" (net_hub_port_new_for) -> hub N
 *
 * The kind (NetMultiKind) only creates, attaches and closes its
 * connection; names, max-clients, the port, events, log lines and
 * teardown are this module's, the same for every kind.
 *
 * n counts up from 1 and is never reused while the daemon runs.  Frames
 * take the usual paths: a connection sends to its port with
 * net_client_send_async() (the hub never pushes back), the hub hands
 * frames to the connection with net_client_send(), so a peer that stops
 * reading fills its own bounded queue and then loses its own frames.
 *
 * At most max-clients connections are served at once; one more is closed
 * at once, counted in the listener's `dropped`, and logged once until a
 * connection leaves again.  Log lines, one per event:
 *
 *   vmwire: L.n: connection from PEER (hub N)
 *   vmwire: L.n: VM MAC joined hub N               (net/hub.c, first MAC)
 *   vmwire: L.n: VM MAC left hub N (PEER closed)   (or, no MAC learned:)
 *   vmwire: L.n: PEER left hub N
 *   vmwire: L: max-clients=M reached, refusing connections
 *
 * QMP: NETDEV_STREAM_CONNECTED {netdev-id: "L.n", addr} when a connection
 * joins, NETDEV_STREAM_DISCONNECTED {netdev-id: "L.n"} when it leaves.
 *
 * Ownership: the listener lists its live connections; a connection owns
 * its port.  A connection that ends (EOF, error, a bad length) frees its
 * port at once and itself from an idle source (its socket's handler is
 * on the stack).  Freeing the listener (netdev_del, exit) frees every
 * connection and port; freeing a port alone (netdev_del L.n) closes its
 * connection; freeing a connection alone frees its port.
 */
#include "net/stream-multi.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "net/hub.h"
#include "net/stream-conn.h"
#include "qapi-events.h"
#include "util/error.h"
#include "util/log.h"
#include "util/sockets.h"
#include "util/sockops.h"

struct NetMultiListener {
    NetClientState nc;
    StreamListener listener;
    const NetMultiKind *kind;
    NetMultiOptions opts;
    char *unix_path;                /* owned, or NULL */
    char *unlink_path;              /* owned, or NULL */
    char *where;                    /* owned */
    void *kind_data;                /* owned, or NULL */
    GList *conns;                   /* NetMultiMember *, live */
    unsigned nconns;
    uint64_t next_n;                /* the last n given out */
    bool full_logged;               /* "max-clients reached" was said */
};

/* The stream kind's connection: a StreamConn. */
typedef struct NetMultiConn {
    StreamData base;                /* nc and conn */
    NetMultiMember member;
} NetMultiConn;

static const NetClientInfo net_multi_conn_info[2];
static const StreamConnOps net_multi_conn_ops;

static bool net_multi_is_socket(const NetClientState *nc)
{
    return nc->info->type == NET_CLIENT_DRIVER_SOCKET;
}

/* ---- options ------------------------------------------------------------- */

/* NET_MULTI_BASE(): the base's members lead both option structs. */
#define NET_MULTI_SAME_AT(type, m) \
    G_STATIC_ASSERT(offsetof(type, m) == offsetof(NetdevMultiListenOptions, m))
NET_MULTI_SAME_AT(NetdevSocketOptions, vlan);
NET_MULTI_SAME_AT(NetdevSocketOptions, has_max_clients);
NET_MULTI_SAME_AT(NetdevSocketOptions, hubid);
NET_MULTI_SAME_AT(NetdevStreamOptions, vlan);
NET_MULTI_SAME_AT(NetdevStreamOptions, has_max_clients);
NET_MULTI_SAME_AT(NetdevStreamOptions, hubid);

bool net_multi_check(const NetdevMultiListenOptions *o, bool *multi,
                     NetMultiOptions *out, GError **errp)
{
    *multi = o->has_hubid;
    if (!o->has_hubid && (o->has_max_clients || o->has_vlan)) {
        error_setg(errp, "%s= is only valid with hubid=",
                   o->has_max_clients ? "max-clients" : "vlan");
        return false;
    }
    if (o->has_max_clients && (o->max_clients < 1 ||
                               o->max_clients > NET_MULTI_MAX_CLIENTS_LIMIT)) {
        error_setg(errp, "Parameter 'max-clients' expects a number of "
                   "clients (1..%d)", NET_MULTI_MAX_CLIENTS_LIMIT);
        return false;
    }
    if (o->has_vlan && (o->vlan < 1 || o->vlan > 4094)) {
        error_setg(errp, "Parameter 'vlan' expects a VLAN id (1..4094)");
        return false;
    }
    *out = (NetMultiOptions) {
        .hubid = o->hubid,
        .vlan = o->has_vlan ? (uint16_t)o->vlan : 1,
        .max_clients = o->has_max_clients ? (unsigned)o->max_clients
                                          : NET_MULTI_MAX_CLIENTS_DEFAULT,
    };
    return true;
}

/* ---- status -------------------------------------------------------------- */

static void net_multi_listener_status(NetMultiListener *l)
{
    static const char *const prefix[NET_CLIENT_DRIVER__MAX] = {
        [NET_CLIENT_DRIVER_SOCKET] = "socket: listen=",
        [NET_CLIENT_DRIVER_STREAM] = "listening on ",
        [NET_CLIENT_DRIVER_VHOST_USER] = "vhost-user: listening on ",
    };

    g_autofree char *deferred = l->listener.deferred ?
        g_strdup_printf(", %" PRIu64 " accepts deferred: out of fds",
                        l->listener.deferred) : NULL;

    net_client_set_info_str(&l->nc, "%s%s (hub %d, %u of %u clients%s)",
                            prefix[l->nc.info->type],
                            l->where, (int)l->opts.hubid, l->nconns,
                            l->opts.max_clients, deferred ? deferred : "");
}

/* The peer as an event address and a string for logs and status. */
static SocketAddress *net_multi_describe(NetMultiListener *l,
                                         const struct sockaddr_storage *sa,
                                         socklen_t len, char **text)
{
    char buf[INET_ANY_HOST_PORT_STRLEN];

    if (!net_multi_is_socket(&l->nc)) {
        return stream_data_describe(sa, len, l->unix_path, text);
    }
    *text = g_strdup(inet_format_host_port_any(sa, buf));
    return stream_data_describe(sa, len, NULL, NULL);
}

/* ---- one connection (any kind) ------------------------------------------ */

/* Free the client; one whose port went first is closed first. */
static gboolean net_multi_member_reap(gpointer opaque)
{
    NetMultiMember *mm = opaque;

    mm->reap_id = 0;
    if (mm->kind->is_open(mm)) {
        mm->kind->close(mm);
    } else {
        net_client_free(mm->nc);
    }
    return G_SOURCE_REMOVE;
}

/* Leave the listener's list (a slot frees up). */
static void net_multi_member_unlist(NetMultiMember *mm)
{
    NetMultiListener *l = g_steal_pointer(&mm->listener);

    if (!l) {
        return;
    }
    l->conns = g_list_remove(l->conns, mm);
    l->nconns--;
    l->full_logged = false;
    net_multi_listener_status(l);
}

/* The port is being freed (by us or by netdev_del): the connection ends. */
static void net_multi_member_port_gone(void *opaque)
{
    NetMultiMember *mm = opaque;

    mm->mac_known = net_hub_port_first_mac(mm->port, mm->mac);
    mm->port = NULL;
    if (mm->kind->is_open(mm) && !mm->reap_id) {
        mm->reap_id = g_idle_add(net_multi_member_reap, mm);
    }
}

static void net_multi_member_free_port(NetMultiMember *mm)
{
    NetClientState *port = g_steal_pointer(&mm->port);

    if (port) {
        net_hub_port_set_gone(port, NULL, NULL);
        net_client_free(port);
    }
}

NetClientState *net_multi_member_listener(NetMultiMember *mm)
{
    return mm->listener ? &mm->listener->nc : NULL;
}

const void *net_multi_member_kind_data(NetMultiMember *mm)
{
    return mm->listener ? mm->listener->kind_data : NULL;
}

void net_multi_member_closing(NetMultiMember *mm)
{
    char mac[LOG_MAC_STRLEN];

    if (mm->port) {
        mm->mac_known = net_hub_port_first_mac(mm->port, mm->mac);
    }
    if (mm->mac_known) {
        log_report_id(mm->port_name, "VM %s left hub %d (%s closed)",
                      log_mac_format(mm->mac, mac), (int)mm->hubid, mm->peer);
    } else {
        log_report_id(mm->port_name, "%s left hub %d", mm->peer,
                      (int)mm->hubid);
    }
}

/* It has ended: the event, the port goes now, the client from the loop. */
void net_multi_member_closed(NetMultiMember *mm)
{
    qapi_event_send_netdev_stream_disconnected(mm->port_name);
    net_client_set_info_str(mm->nc, "closed");
    net_multi_member_unlist(mm);
    net_multi_member_free_port(mm);
    if (!mm->reap_id) {
        mm->reap_id = g_idle_add(net_multi_member_reap, mm);
    }
}

/*
 * Whoever frees the client: leave the list, free the port.  netdev_del
 * of the connection itself (ID.n.conn; its listener still lists it) ends
 * it as a peer's close or netdev_del ID.n does: the leave line and
 * NETDEV_STREAM_DISCONNECTED for the port.  Freed with its listener or
 * at exit (net_cleanup), it goes quietly, as QEMU's connections do.
 */
void net_multi_member_cleanup(NetMultiMember *mm)
{
    if (mm->listener && !net_cleanup_running() && mm->kind->is_open(mm)) {
        net_multi_member_closing(mm);
        qapi_event_send_netdev_stream_disconnected(mm->port_name);
    }
    g_clear_handle_id(&mm->reap_id, g_source_remove);
    net_multi_member_unlist(mm);
    net_multi_member_free_port(mm);
    g_clear_pointer(&mm->port_name, g_free);
    g_clear_pointer(&mm->peer, g_free);
}

/* ---- the stream kind ----------------------------------------------------- */

static void net_multi_conn_closing(StreamConn *c, StreamConnClose why,
                                   int err)
{
    net_multi_member_closing(&container_of(c, NetMultiConn,
                                           base.conn)->member);
}

static void net_multi_conn_closed(StreamConn *c)
{
    net_multi_member_closed(&container_of(c, NetMultiConn,
                                          base.conn)->member);
}

static const StreamConnOps net_multi_conn_ops = {
    .closing = net_multi_conn_closing,
    .closed = net_multi_conn_closed,
};

static void net_multi_conn_cleanup(NetClientState *nc)
{
    NetMultiConn *m = container_of(nc, NetMultiConn, base.nc);

    net_multi_member_cleanup(&m->member);
    stream_data_cleanup(nc);
}

#define NET_MULTI_CONN_INFO(drv, name) {                \
    .type = (drv),                                      \
    .type_name = (name),                                \
    .size = sizeof(NetMultiConn),                       \
    STREAM_DATA_HOOKS,                                  \
    .cleanup = net_multi_conn_cleanup,                  \
}

/* [0]: -netdev stream's connections, [1]: -netdev socket's. */
static const NetClientInfo net_multi_conn_info[2] = {
    NET_MULTI_CONN_INFO(NET_CLIENT_DRIVER_STREAM, "stream"),
    NET_MULTI_CONN_INFO(NET_CLIENT_DRIVER_SOCKET, "socket"),
};

static NetMultiMember *net_multi_conn_create(bool socket, const char *name)
{
    NetMultiConn *m;

    m = container_of(net_client_new(&net_multi_conn_info[socket], NULL,
                                    socket ? "socket" : "stream", name),
                     NetMultiConn, base.nc);
    stream_data_init(&m->base, &net_multi_conn_ops);
    m->member.nc = &m->base.nc;
    return &m->member;
}

static NetMultiMember *net_multi_stream_create(const char *name)
{
    return net_multi_conn_create(false, name);
}

static NetMultiMember *net_multi_socket_create(const char *name)
{
    return net_multi_conn_create(true, name);
}

static void net_multi_conn_attach(NetMultiMember *mm, int fd)
{
    NetMultiConn *m = container_of(mm, NetMultiConn, member);
    bool socket = net_multi_is_socket(mm->nc);

    m->base.conn.log_name = mm->port_name;
    socket_set_nodelay(fd);         /* fails harmlessly on AF_UNIX */
    stream_conn_attach(&m->base.conn, fd, false);
    net_client_set_info_str(mm->nc, socket ? "socket: connection from %s"
                                           : "%s", mm->peer);
}

static bool net_multi_conn_is_open(NetMultiMember *mm)
{
    return stream_conn_is_open(&container_of(mm, NetMultiConn,
                                             member)->base.conn);
}

static void net_multi_conn_close(NetMultiMember *mm)
{
    stream_conn_close(&container_of(mm, NetMultiConn, member)->base.conn,
                      STREAM_CONN_CLOSE_PEER, 0);
}

static const NetMultiKind net_multi_stream_kind[2] = {
    { net_multi_stream_create, net_multi_conn_attach,
      net_multi_conn_is_open, net_multi_conn_close },
    { net_multi_socket_create, net_multi_conn_attach,
      net_multi_conn_is_open, net_multi_conn_close },
};

/* "L.n" with the next n whose port and connection names are both free. */
static char *net_multi_next_name(NetMultiListener *l)
{
    for (;;) {
        g_autofree char *name = g_strdup_printf("%s.%" G_GUINT64_FORMAT,
                                                l->nc.name, ++l->next_n);
        g_autofree char *conn = g_strconcat(name, ".conn", NULL);

        if (!net_client_find(name) && !net_client_find(conn)) {
            return g_steal_pointer(&name);
        }
    }
}

static void net_multi_join(NetMultiListener *l, int fd,
                           const struct sockaddr_storage *sa, socklen_t len)
{
    g_autofree char *name = net_multi_next_name(l);
    g_autofree char *conn_name = g_strconcat(name, ".conn", NULL);
    g_autoptr(SocketAddress) addr = NULL;
    NetMultiMember *mm = l->kind->create(conn_name);

    mm->kind = l->kind;
    addr = net_multi_describe(l, sa, len, &mm->peer);
    mm->port_name = g_steal_pointer(&name);
    mm->hubid = l->opts.hubid;
    mm->port = net_hub_port_new_for(l->opts.hubid, l->opts.vlan, mm->nc,
                                    mm->port_name);
    net_hub_port_set_gone(mm->port, net_multi_member_port_gone, mm);
    mm->listener = l;
    l->conns = g_list_append(l->conns, mm);
    l->nconns++;
    net_multi_listener_status(l);
    l->kind->attach(mm, fd);
    log_report_id(mm->port_name, "connection from %s (hub %d)", mm->peer,
                  (int)l->opts.hubid);
    qapi_event_send_netdev_stream_connected(mm->port_name, addr);
}

/* ---- the listener -------------------------------------------------------- */

static void net_multi_accepted(StreamListener *sl, int fd,
                               const struct sockaddr_storage *sa,
                               socklen_t len)
{
    NetMultiListener *l = container_of(sl, NetMultiListener, listener);

    if (l->nconns < l->opts.max_clients) {
        net_multi_join(l, fd, sa, len);
        return;
    }
    sockops->close(fd);
    net_client_count_lost(&l->nc);
    if (!l->full_logged) {
        l->full_logged = true;
        log_report_id(l->nc.name, "max-clients=%u reached, refusing "
                      "connections", l->opts.max_clients);
    }
}

/* Nothing is connected to a listener: whatever reaches it is dropped. */
static ssize_t net_multi_listener_receive(NetClientState *nc,
                                          const uint8_t *buf, size_t size)
{
    return -ENOTCONN;
}

static void net_multi_listener_cleanup(NetClientState *nc)
{
    NetMultiListener *l = container_of(nc, NetMultiListener, nc);
    GList *conns = g_steal_pointer(&l->conns);

    stream_listener_destroy(&l->listener);
    if (l->unlink_path) {
        unlink(l->unlink_path);
    }
    for (GList *e = conns; e; e = e->next) {
        NetMultiMember *mm = e->data;

        mm->listener = NULL;
        net_client_free(mm->nc);
    }
    g_list_free(conns);
    g_clear_pointer(&l->unix_path, g_free);
    g_clear_pointer(&l->kind_data, g_free);
    g_clear_pointer(&l->unlink_path, g_free);
    g_clear_pointer(&l->where, g_free);
}

#define NET_MULTI_LISTENER_INFO(drv, name) {            \
    .type = (drv),                                      \
    .type_name = (name),                                \
    .size = sizeof(NetMultiListener),                   \
    .no_peer = true,                                    \
    .receive = net_multi_listener_receive,              \
    .cleanup = net_multi_listener_cleanup,              \
}

static const NetClientInfo net_multi_listener_info[NET_CLIENT_DRIVER__MAX] = {
    [NET_CLIENT_DRIVER_STREAM] =
        NET_MULTI_LISTENER_INFO(NET_CLIENT_DRIVER_STREAM, "stream"),
    [NET_CLIENT_DRIVER_SOCKET] =
        NET_MULTI_LISTENER_INFO(NET_CLIENT_DRIVER_SOCKET, "socket"),
    [NET_CLIENT_DRIVER_VHOST_USER] =
        NET_MULTI_LISTENER_INFO(NET_CLIENT_DRIVER_VHOST_USER, "vhost-user"),
};

NetClientState *net_multi_listener_new(NetMultiListenerConfig *cfg)
{
    const NetClientInfo *info = &net_multi_listener_info[cfg->type];
    bool socket = cfg->type == NET_CLIENT_DRIVER_SOCKET;
    NetMultiListener *l;

    g_assert(info->type_name);
    l = container_of(net_client_new(info, NULL, info->type_name, cfg->id),
                     NetMultiListener, nc);
    l->kind = cfg->kind ? cfg->kind : &net_multi_stream_kind[socket];
    l->opts = cfg->opts;
    l->unix_path = g_strdup(cfg->unix_path);
    l->unlink_path = g_steal_pointer(&cfg->unlink_path);
    l->where = g_strdup(cfg->where);
    l->kind_data = cfg->kind_data ? g_memdup2(cfg->kind_data,
                                              cfg->kind_data_size) : NULL;
    net_client_set_link(&l->nc, false);
    stream_listener_start(&l->listener, &l->nc, cfg->listen_fd,
                          net_multi_accepted);
    net_multi_listener_status(l);
    return &l->nc;
}
