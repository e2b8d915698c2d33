/*
 * DOC: datagram clients' creation (private to net/, see net/dgram.c);
 * -netdev dgram and -netdev socket's udp=, mcast=, fd= use it.
 */
#ifndef NET_DGRAM_H
#define NET_DGRAM_H

#include <glib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "net/dgram-conn.h"
#include "qapi-types.h"

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

#endif /* NET_DGRAM_H */
