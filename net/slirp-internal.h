/*
 * DOC: what net/slirp-qmp.c needs from net/slirp.c (private to the two)
 *
 * Finding a user netdev's libslirp stack, the hostfwd rule grammar
 * (QEMU 7.2's, also used by `-netdev user,hostfwd=`) applied to it, and
 * the rules in force (libslirp keeps no list one could read back, so
 * net/slirp.c records each rule it set up and forgets it when removed).
 */
#ifndef NET_SLIRP_INTERNAL_H
#define NET_SLIRP_INTERNAL_H

#include <glib.h>
#include <libslirp.h>
#include <stdbool.h>

#include "net/net.h"

/* The first user netdev created (and still there), or NULL. */
NetClientState *net_slirp_first(void);

/* @nc's libslirp stack, or NULL if @nc is not a user netdev. */
Slirp *net_slirp_stack(NetClientState *nc);

/*
 * Add "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport" to @slirp.
 * Errors: "Invalid host forwarding rule '<rule>' (<why>)", "Could not
 * set up host forwarding rule '<rule>'".
 */
bool net_slirp_hostfwd_add_rule(Slirp *slirp, const char *rule,
                                GError **errp);

/*
 * Remove "[tcp|udp]:[hostaddr]:hostport" from @slirp (its listening
 * socket closes).  Errors: "invalid format", "host forwarding rule for
 * <rule> not found".
 */
bool net_slirp_hostfwd_remove_rule(Slirp *slirp, const char *rule,
                                   GError **errp);

/*
 * One host forwarding rule of user netdev @netdev: addresses as dotted
 * quads (host "0.0.0.0": every address; guest: the one libslirp uses,
 * dhcpstart= when the rule named none).
 */
typedef void (*NetSlirpFwdFunc)(const char *netdev, bool udp,
                                const char *host_addr, int host_port,
                                const char *guest_addr, int guest_port,
                                void *opaque);

/*
 * Call @func for each rule in force of user netdev @nc (NULL: of every
 * user netdev, in creation order), in the order the rules were added.
 */
void net_slirp_foreach_hostfwd(NetClientState *nc, NetSlirpFwdFunc func,
                               void *opaque);

#endif /* NET_SLIRP_INTERNAL_H */
