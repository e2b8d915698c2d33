/*
 * DOC: creating netdevs (-netdev and QMP netdev_add)
 *
 * A netdev is described by the generated Netdev (qapi/net.json): id, type
 * and the type's options in netdev->u.<type>.  `-netdev STR` goes through
 * netdev_parse() (key=value or JSON, into the generated visitor) and then
 * netdev_add(); QMP's netdev_add gets the same Netdev from its marshaller
 * and calls netdev_add() too, so both accept and refuse alike.
 *
 * netdev_add() checks what every type shares (id well formed and unused,
 * a backend for the type) and hands the Netdev to the init function
 * registered for its type in net/netdev.c's table.  A backend is created
 * without a peer; a device given netdev=ID becomes its peer later.
 *
 * Errors carry QEMU's message (the caller adds "-netdev <options>: ") and
 * leave nothing behind.
 */
#ifndef NET_NETDEV_H
#define NET_NETDEV_H

#include <stdbool.h>
#include <sys/socket.h>
#include <glib.h>
#include "net/dgram-conn.h"
#include "net/net.h"
#include "qapi-types.h"

/*
 * Init function of one netdev type: creates a client named @netdev->id
 * from @netdev->u.<type> (borrowed).
 */
typedef bool NetdevInitFunc(const Netdev *netdev, GError **errp);

/*
 * Create the netdev @netdev describes (borrowed).  Errors, in this order:
 *   Parameter 'id' expects an identifier
 *   network backend '<type>' is not compiled into this binary
 *   Duplicate ID '<id>' for netdev
 * then the backend's own.
 */
bool netdev_add(const Netdev *netdev, GError **errp);

/*
 * A -netdev argument as a new Netdev (caller frees), or NULL with @errp
 * set.  "socket,id=n0,..." is key=value with the type implied first;
 * '{"type": "socket", ...}' is JSON (as QEMU).  In key=value form the id
 * is checked first (present, then well formed), as QEMU does, then the
 * visitor's messages: "Parameter 'type' is missing", "Parameter 'type'
 * does not accept value 'x'", "Invalid parameter 'x'" ...
 */
Netdev *netdev_parse(const char *optarg, GError **errp);

/* The backends. */
NetdevInitFunc net_init_socket;
NetdevInitFunc net_init_stream;
NetdevInitFunc net_init_dgram;
NetdevInitFunc net_init_hubport;
NetdevInitFunc net_init_user;

/*
 * -netdev socket's stream clients (net/socket-stream.c), each on socket
 * @fd (taken): listen= serves one peer at a time on listening socket
 * @fd; connect= starts connecting @fd to @sa (-errno, @fd closed and no
 * client, when that fails at once; else 0); fd= a connected socket.
 */
void net_socket_stream_listen(const char *id, int fd);
int net_socket_stream_connect(const char *id, int fd,
                              const struct sockaddr_storage *sa,
                              socklen_t len);
void net_socket_stream_fd(const char *id, int fd);

/*
 * A datagram client (net/dgram.c) of type @type: DGRAM, or SOCKET for
 * `-netdev socket`'s udp=, mcast= and datagram fd=, which net/socket.c
 * maps onto it.  No socket yet (dgram_conn_start(), _mcast_open()).
 */
DgramData *net_dgram_new_for(NetClientDriver type, const char *id);
/*
 * The same on a UDP socket bound to @local (@local_host in the message)
 * sending to @remote; QEMU's messages.
 */
DgramData *net_dgram_udp_new(NetClientDriver type, const char *id,
                             const struct sockaddr *local, socklen_t llen,
                             const char *local_host,
                             const struct sockaddr *remote, socklen_t rlen,
                             GError **errp);
/* The same on both sockets of multicast @group (dgram_conn_mcast_open()). */
DgramData *net_dgram_mcast_new(NetClientDriver type, const char *id,
                               const struct sockaddr *group,
                               const struct in_addr *ifaddr, unsigned ifindex,
                               int *clone_fd, GError **errp);
/*
 * The same on datagram socket @fd (taken on success), bound to @bound:
 * an IPv4 multicast group is cloned as QEMU does (a fresh group socket
 * dup2()ed over @fd).  Status "<prefix>fd=N" or "<prefix>fd=N (cloned
 * mcast=G:P)".
 */
DgramData *net_dgram_fd_new(NetClientDriver type, const char *id, int fd,
                            const struct sockaddr_storage *bound,
                            const char *prefix, GError **errp);

#endif /* NET_NETDEV_H */
