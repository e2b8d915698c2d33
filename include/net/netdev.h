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
Netdev *netdev_parse(const char *arg, GError **errp);

/* The backends. */
NetdevInitFunc net_init_socket;
NetdevInitFunc net_init_stream;
NetdevInitFunc net_init_dgram;
NetdevInitFunc net_init_hubport;
NetdevInitFunc net_init_user;
NetdevInitFunc net_init_vhost_user;
NetdevInitFunc net_init_vxlan;

#endif /* NET_NETDEV_H */
