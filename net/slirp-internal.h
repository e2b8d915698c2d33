/*
 * DOC: what net/slirp-qmp.c needs from net/slirp.c (private to the two)
 *
 * Finding a user netdev's libslirp stack, and the hostfwd rule grammar
 * (QEMU 7.2's, also used by `-netdev user,hostfwd=`) applied to it.
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

#endif /* NET_SLIRP_INTERNAL_H */
