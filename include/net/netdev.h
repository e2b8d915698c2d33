/*
 * DOC: creating netdevs from option lists
 *
 * `-netdev TYPE,id=ID,...` (and later QMP netdev_add) ends up in
 * netdev_add(): it checks the id and hands the options to the init function
 * registered for TYPE in net/netdev.c's table.  A backend is created without
 * a peer; a device given netdev=ID becomes its peer later.
 *
 * Init functions report configuration errors with QEMU's message in @errp
 * (the caller adds the "-netdev <options>: " prefix) and leave nothing
 * behind on failure.
 */
#ifndef NET_NETDEV_H
#define NET_NETDEV_H

#include <stdbool.h>
#include <glib.h>
#include "net/net.h"
#include "util/keyval.h"

/* Init function of one netdev type: creates a client named @id. */
typedef bool NetdevInitFunc(const KeyValList *opts, const char *id,
                            GError **errp);

/* Create the netdev described by @opts (keys: type, id, type-specific). */
bool netdev_add(const KeyValList *opts, GError **errp);

/* The backends. */
NetdevInitFunc net_init_socket;

#endif /* NET_NETDEV_H */
