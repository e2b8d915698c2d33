/*
 * DOC: -netdev dgram (QEMU 7.2+): datagram sockets, one frame each
 *
 * `-netdev dgram,id=ID,local.*=,remote.*=` (dotted or JSON, through the
 * generated visitor).  Modes, checked in QEMU 7.2's order with its
 * messages:
 *   - an inet multicast @remote: a multicast segment.  IPv4 as QEMU
 *     (inet @local: its host is the interface address); beyond QEMU, IPv6
 *     groups (ff02::..., ff05::...): the interface is @local's host, either
 *     an interface name (`lo`) or an IPv6 address on the interface, or the
 *     group's `%scope`; without one the kernel chooses.
 *   - inet @local + @remote: unicast UDP, IPv4 or IPv6 (`::1`, `[::1]`).
 *   - unix @local + @remote: AF_UNIX datagrams; the socket file vmwire
 *     binds is removed when the netdev goes (netdev_del, exit).
 *   - fd @local: an inherited socket (a number, or a getfd name); bound
 *     to an IPv4 group it is cloned as QEMU does (net/dgram-conn.c).
 * Status strings as QEMU's `info network`: `udp=L:P/R:P`, `udp=LPATH:RPATH`,
 * `mcast=G:P`, `fd=N`.  The data path is net/dgram-conn.c (shared with
 * -netdev socket): bounded reads, no allocation per frame, and our own
 * multicast frames looped back are not delivered to our NIC.
 * @ipv4/@ipv6 of an inet address are accepted and ignored.
 * `-netdev socket`'s udp=, mcast= and datagram fd= are clients of this
 * file too (net_dgram_new_for() and friends, include/net/netdev.h) with
 * type socket and net/socket.c's status strings.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor/monitor.h"
#include "net/dgram.h"
#include "net/net.h"
#include "net/netdev.h"
#include "system/listen-fds.h"
#include "util/error.h"
#include "util/sockets.h"
#include "util/sockops.h"

typedef struct NetDgramState {
    DgramData base;             /* nc and dgram */
    char *unix_path;            /* socket file we bound, removed at cleanup */
} NetDgramState;

/* An inet address resolved: AF_INET (as QEMU) or AF_INET6 (beyond). */
typedef struct NetDgramInet {
    struct sockaddr_storage sa;
    socklen_t len;
    unsigned scope;             /* IPv6 %scope, or 0 */
} NetDgramInet;

/* ---- the client ---------------------------------------------------------- */

static void net_dgram_cleanup(NetClientState *nc)
{
    NetDgramState *s = container_of(nc, NetDgramState, base.nc);

    dgram_data_cleanup(nc);
    if (s->unix_path) {
        unlink(s->unix_path);
        g_clear_pointer(&s->unix_path, g_free);
    }
}

#define NET_DGRAM_INFO(drv, name) {                     \
    .type = (drv),                                      \
    .type_name = (name),                                \
    .size = sizeof(NetDgramState),                      \
    DGRAM_DATA_HOOKS,                                   \
    .cleanup = net_dgram_cleanup,                       \
}

/* [0]: -netdev dgram's clients, [1]: -netdev socket's datagram ones. */
static const NetClientInfo net_dgram_info[2] = {
    NET_DGRAM_INFO(NET_CLIENT_DRIVER_DGRAM, "dgram"),
    NET_DGRAM_INFO(NET_CLIENT_DRIVER_SOCKET, "socket"),
};

DgramData *net_dgram_new_for(NetClientDriver type, const char *id)
{
    bool socket = type == NET_CLIENT_DRIVER_SOCKET;
    NetClientState *nc = net_client_new(&net_dgram_info[socket], NULL,
                                        socket ? "socket" : "dgram", id);
    NetDgramState *s = container_of(nc, NetDgramState, base.nc);

    dgram_data_init(&s->base);
    return &s->base;
}

static NetDgramState *net_dgram_new(const char *id)
{
    return container_of(net_dgram_new_for(NET_CLIENT_DRIVER_DGRAM, id),
                        NetDgramState, base);
}

DgramData *net_dgram_mcast_new(NetClientDriver type, const char *id,
                               const struct sockaddr *group,
                               const struct in_addr *ifaddr, unsigned ifindex,
                               int *clone_fd, GError **errp)
{
    DgramData *d = net_dgram_new_for(type, id);

    if (!dgram_conn_mcast_open(&d->dgram, group, ifaddr, ifindex, clone_fd,
                               errp)) {
        net_client_free(&d->nc);
        return NULL;
    }
    return d;
}

/* QEMU's rule: an fd bound to an IPv4 multicast group is cloned. */
DgramData *net_dgram_fd_new(NetClientDriver type, const char *id, int fd,
                            const struct sockaddr_storage *bound,
                            const char *prefix, GError **errp)
{
    const struct sockaddr_in *sin = (const struct sockaddr_in *)bound;
    char str[DGRAM_ADDR_STRLEN];
    DgramData *d;

    if (bound->ss_family != AF_INET ||
        !IN_MULTICAST(ntohl(sin->sin_addr.s_addr))) {
        d = net_dgram_new_for(type, id);
        dgram_conn_start(&d->dgram, fd, fd);
        net_client_set_info_str(&d->nc, "%sfd=%d", prefix, fd);
        return d;
    }
    d = net_dgram_mcast_new(type, id, (const struct sockaddr *)bound, NULL,
                            0, &fd, errp);
    if (d) {
        net_client_set_info_str(&d->nc, "%sfd=%d (cloned mcast=%s)", prefix,
                                fd, dgram_format_addr(
                                    (const struct sockaddr *)bound, str));
    }
    return d;
}

/* ---- addresses ----------------------------------------------------------- */

/*
 * @addr into @out.  IPv4 goes through QEMU's parser and messages; a host
 * with ':' is IPv6 (brackets and a %scope allowed).
 */
static bool net_dgram_resolve(const InetSocketAddress *addr,
                              NetDgramInet *out, GError **errp)
{
    g_autofree char *host = NULL;
    g_autofree char *hostport = NULL;
    struct sockaddr_in sin;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->sa;
    char *pct;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (!strchr(addr->host, ':')) {
        hostport = g_strdup_printf("%s:%s", addr->host, addr->port);
        if (!inet_parse_host_port(&sin, hostport, errp)) {
            return false;
        }
        memcpy(&out->sa, &sin, sizeof(sin));
        out->len = sizeof(sin);
        return true;
    }
    /* The port, with QEMU's message, through the IPv4 parser. */
    hostport = g_strdup_printf("0.0.0.0:%s", addr->port);
    if (!inet_parse_host_port(&sin, hostport, errp)) {
        return false;
    }
    n = strlen(addr->host);
    host = (addr->host[0] == '[' && n > 2 && addr->host[n - 1] == ']')
        ? g_strndup(addr->host + 1, n - 2) : g_strdup(addr->host);
    pct = strchr(host, '%');
    if (pct) {
        *pct++ = '\0';
        out->scope = if_nametoindex(pct);
        if (!out->scope) {
            out->scope = (unsigned)strtoul(pct, NULL, 10);
        }
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1 ||
        (pct && !out->scope)) {
        error_setg(errp, "can't resolve host address '%s'", addr->host);
        return false;
    }
    s6->sin6_family = AF_INET6;
    s6->sin6_port = sin.sin_port;
    s6->sin6_scope_id = out->scope;
    out->len = sizeof(*s6);
    return true;
}

static bool net_dgram_is_multicast(const NetDgramInet *a)
{
    if (a->sa.ss_family == AF_INET6) {
        return IN6_IS_ADDR_MULTICAST(
            &((const struct sockaddr_in6 *)&a->sa)->sin6_addr);
    }
    return IN_MULTICAST(
        ntohl(((const struct sockaddr_in *)&a->sa)->sin_addr.s_addr));
}

/* The interface index with IPv6 address @addr, or 0. */
static unsigned net_dgram_ifindex_of(const struct in6_addr *addr)
{
    struct ifaddrs *ifa = NULL;
    unsigned index = 0;

    if (getifaddrs(&ifa) < 0) {
        return 0;
    }
    for (struct ifaddrs *i = ifa; i && !index; i = i->ifa_next) {
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 &&
            IN6_ARE_ADDR_EQUAL(
                &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, addr)) {
            index = if_nametoindex(i->ifa_name);
        }
    }
    freeifaddrs(ifa);
    return index;
}

/*
 * The interface of an IPv6 group: @local's host as an interface name or
 * an address on it; else the group's %scope; else 0 (the kernel's).
 */
static bool net_dgram_mcast6_ifindex(const SocketAddress *local,
                                     const NetDgramInet *group,
                                     unsigned *index, GError **errp)
{
    g_autofree char *host = NULL;
    struct in6_addr a;
    size_t n;

    *index = group->scope;
    if (!local) {
        return true;
    }
    n = strlen(local->u.inet.host);
    host = (local->u.inet.host[0] == '[' && n > 2)
        ? g_strndup(local->u.inet.host + 1, n - 2)
        : g_strdup(local->u.inet.host);
    *index = if_nametoindex(host);
    if (!*index && inet_pton(AF_INET6, host, &a) == 1) {
        *index = net_dgram_ifindex_of(&a);
    }
    if (!*index) {
        error_setg(errp, "can't find the interface of '%s'",
                   local->u.inet.host);
        return false;
    }
    return true;
}

/* ---- modes ----------------------------------------------------------------- */

static bool net_dgram_mcast_init(const char *id, const NetDgramInet *group,
                                 const SocketAddress *local, GError **errp)
{
    NetDgramInet laddr;
    const struct in_addr *ifaddr = NULL;
    unsigned ifindex = 0;
    char str[DGRAM_ADDR_STRLEN];
    DgramData *d;

    NetDgramInet g = *group;

    if (g.sa.ss_family == AF_INET6) {
        if (!net_dgram_mcast6_ifindex(local, group, &ifindex, errp)) {
            return false;
        }
        /* ff02:: (link scope) binds and sends only with the interface. */
        ((struct sockaddr_in6 *)&g.sa)->sin6_scope_id = ifindex;
    } else if (local) {
        /* Only the interface counts; QEMU ignores the port (0 is common). */
        InetSocketAddress lhost = local->u.inet;

        lhost.port = (char *)"1";
        if (!net_dgram_resolve(&lhost, &laddr, errp)) {
            return false;
        }
        if (laddr.sa.ss_family != AF_INET) {
            error_setg(errp, "remote and local types must be the same");
            return false;
        }
        ifaddr = &((struct sockaddr_in *)&laddr.sa)->sin_addr;
    }
    d = net_dgram_mcast_new(NET_CLIENT_DRIVER_DGRAM, id,
                            (const struct sockaddr *)&g.sa, ifaddr, ifindex,
                            NULL, errp);
    if (d) {
        net_client_set_info_str(&d->nc, "mcast=%s",
            dgram_format_addr((const struct sockaddr *)&group->sa, str));
    }
    return d != NULL;
}

static int net_dgram_socket(int family, GError **errp)
{
    int fd = sockops->socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                             0);

    if (fd < 0) {
        error_setg_errno(errp, errno, "can't create datagram socket");
    }
    return fd;
}

DgramData *net_dgram_udp_new(NetClientDriver type, const char *id,
                             const struct sockaddr *local, socklen_t llen,
                             const char *local_host,
                             const struct sockaddr *remote, socklen_t rlen,
                             GError **errp)
{
    int fd = net_dgram_socket(local->sa_family, errp);
    DgramData *d;

    if (fd < 0) {
        return NULL;
    }
    if (!sockops_setopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1,
                            "can't set socket option SO_REUSEADDR", errp)) {
        sockops->close(fd);
        return NULL;
    }
    if (sockops->bind(fd, local, llen) < 0) {
        error_setg_errno(errp, errno, "can't bind ip=%s to socket",
                         local_host);
        sockops->close(fd);
        return NULL;
    }
    d = net_dgram_new_for(type, id);
    dgram_conn_start(&d->dgram, fd, fd);
    dgram_conn_set_dst(&d->dgram, remote, rlen);
    return d;
}

static bool net_dgram_inet_init(const char *id, const SocketAddress *local,
                                const NetDgramInet *raddr, GError **errp)
{
    NetDgramInet laddr;
    char lstr[DGRAM_ADDR_STRLEN], rstr[DGRAM_ADDR_STRLEN];
    DgramData *d;

    if (!net_dgram_resolve(&local->u.inet, &laddr, errp)) {
        return false;
    }
    if (laddr.sa.ss_family != raddr->sa.ss_family) {
        error_setg(errp, "local and remote address families differ");
        return false;
    }
    d = net_dgram_udp_new(NET_CLIENT_DRIVER_DGRAM, id,
                          (struct sockaddr *)&laddr.sa, laddr.len,
                          local->u.inet.host, (struct sockaddr *)&raddr->sa,
                          raddr->len, errp);
    if (!d) {
        return false;
    }
    net_client_set_info_str(&d->nc, "udp=%s/%s",
        dgram_format_addr((struct sockaddr *)&laddr.sa, lstr),
        dgram_format_addr((struct sockaddr *)&raddr->sa, rstr));
    return true;
}

/* @u as a sockaddr_un (abstract and tight as QEMU); false if too long. */
static bool net_dgram_unix_addr(const UnixSocketAddress *u,
                                struct sockaddr_un *sun, socklen_t *len,
                                bool *abstract, GError **errp)
{
    size_t n = strlen(u->path);
    size_t off = 0;

    *abstract = false;
#ifdef CONFIG_LINUX
    *abstract = u->has_abstract && u->abstract;
#endif
    off = *abstract ? 1 : 0;
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (n + off >= sizeof(sun->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", u->path);
        return false;
    }
    memcpy(sun->sun_path + off, u->path, n);
    *len = sizeof(*sun);
#ifdef CONFIG_LINUX
    if (*abstract && (!u->has_tight || u->tight)) {
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    }
#endif
    return true;
}

static bool net_dgram_unix_init(const char *id, const SocketAddress *local,
                                const SocketAddress *remote, GError **errp)
{
    struct sockaddr_un lsun, rsun;
    socklen_t llen, rlen;
    bool labs, rabs;
    NetDgramState *s;
    int fd;

    if (!net_dgram_unix_addr(&local->u.q_unix, &lsun, &llen, &labs, errp) ||
        !net_dgram_unix_addr(&remote->u.q_unix, &rsun, &rlen, &rabs, errp)) {
        return false;
    }
    fd = net_dgram_socket(AF_UNIX, errp);
    if (fd < 0) {
        return false;
    }
    if (sockops->bind(fd, (struct sockaddr *)&lsun, llen) < 0) {
        error_setg_errno(errp, errno, "can't bind unix=%s to socket",
                         local->u.q_unix.path);
        sockops->close(fd);
        return false;
    }
    s = net_dgram_new(id);
    if (!labs) {
        s->unix_path = g_strdup(local->u.q_unix.path);
    }
    dgram_conn_start(&s->base.dgram, fd, fd);
    dgram_conn_set_dst(&s->base.dgram, (struct sockaddr *)&rsun, rlen);
    net_client_set_info_str(&s->base.nc, "udp=%s:%s", local->u.q_unix.path,
                            remote->u.q_unix.path);
    return true;
}

/* fd=: a getfd name or a number, open (QEMU's messages). */
static bool net_dgram_get_fd(const char *id, const char *str, int *fd,
                             GError **errp)
{
    switch (monitor_fd_param(str, fd, NULL)) {
    case 0:
        return true;
    case MONITOR_FD_CLOSED:
        error_setg_errno(errp, errno, "%s: Can't use file descriptor %d",
                         id, *fd);
        return false;
    default:
        error_setg(errp, "Invalid file descriptor number '%s'%s", str,
                   listen_fds_hint());
        return false;
    }
}

static bool net_dgram_fd_init(const char *id, const SocketAddress *local,
                              const NetDgramInet *group, GError **errp)
{
    struct sockaddr_storage sa = { 0 };
    socklen_t len = sizeof(sa);
    DgramData *d;
    int fd;

    if (!net_dgram_get_fd(id, local->u.fd.str, &fd, errp)) {
        return false;
    }
    if (sockops->getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        error_setg_errno(errp, errno,
                         "Unable to query local socket address");
        return false;
    }
    fd_set_nonblock(fd);
    d = net_dgram_fd_new(NET_CLIENT_DRIVER_DGRAM, id, fd, &sa, "", errp);
    if (!d) {
        return false;
    }
    if (group) {
        dgram_conn_set_dst(&d->dgram, (const struct sockaddr *)&group->sa,
                           group->len);
    }
    return true;
}

bool net_init_dgram(const Netdev *netdev, GError **errp)
{
    const NetdevDgramOptions *opts = &netdev->u.dgram;
    const SocketAddress *local = opts->has_local ? opts->local : NULL;
    const SocketAddress *remote = opts->has_remote ? opts->remote : NULL;
    NetDgramInet raddr;

    if (remote && remote->type == SOCKET_ADDRESS_TYPE_INET) {
        if (!net_dgram_resolve(&remote->u.inet, &raddr, errp)) {
            return false;
        }
        if (net_dgram_is_multicast(&raddr)) {
            if (local && local->type == SOCKET_ADDRESS_TYPE_FD) {
                return net_dgram_fd_init(netdev->id, local, &raddr, errp);
            }
            if (local && local->type != SOCKET_ADDRESS_TYPE_INET) {
                error_setg(errp, "only support inet or fd type for local");
                return false;
            }
            return net_dgram_mcast_init(netdev->id, &raddr, local, errp);
        }
    }
    if (!local) {
        error_setg(errp, "dgram requires local= parameter");
        return false;
    }
    if (remote) {
        if (local->type == SOCKET_ADDRESS_TYPE_FD) {
            error_setg(errp, "don't set remote with local.fd");
            return false;
        }
        if (remote->type != local->type) {
            error_setg(errp, "remote and local types must be the same");
            return false;
        }
    } else if (local->type != SOCKET_ADDRESS_TYPE_FD) {
        error_setg(errp, "type=inet or type=unix requires remote parameter");
        return false;
    }
    switch (local->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        return net_dgram_inet_init(netdev->id, local, &raddr, errp);
    case SOCKET_ADDRESS_TYPE_UNIX:
        return net_dgram_unix_init(netdev->id, local, remote, errp);
    default:
        return net_dgram_fd_init(netdev->id, local, NULL, errp);
    }
}
