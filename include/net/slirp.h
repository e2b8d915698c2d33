/*
 * DOC: -netdev user (user-mode NAT through libslirp): run-time forwarding
 *
 * What the monitor needs from net/slirp-qmp.c: adding and removing host
 * forwarding rules of a running user netdev, for HMP's hostfwd_add /
 * hostfwd_remove (monitor/hmp.c) and QMP's x-hostfwd-add /
 * x-hostfwd-remove.  Messages are QEMU 7.2's.
 */
#ifndef NET_SLIRP_H
#define NET_SLIRP_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

/*
 * Add "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport" to the user
 * netdev @id (NULL: the first one).  Errors: "unrecognized netdev id
 * '<id>'", "invalid device specified" (not a user netdev), "user mode
 * network stack not in use", "Invalid host forwarding rule '<rule>'
 * (<why>)", "Could not set up host forwarding rule '<rule>'".
 */
bool net_slirp_hostfwd_add(const char *id, const char *rule, GError **errp);

/*
 * Remove "[tcp|udp]:[hostaddr]:hostport" from the user netdev @id (NULL:
 * the first); its listening socket is closed.  Errors as above, and
 * "invalid format", "host forwarding rule for <rule> not found".
 */
bool net_slirp_hostfwd_remove(const char *id, const char *rule,
                              GError **errp);

/*
 * `-netdev user,ipv6-net=PREFIX[/LEN]` (key=value only, as QEMU): @obj's
 * ipv6-net becomes ipv6-prefix and ipv6-prefixlen (LEN default 64).
 * Error: "parameter 'ipv6-net' expects a number after '/'".
 */
bool net_slirp_expand_ipv6_net(JsonObject *obj, GError **errp);

#endif /* NET_SLIRP_H */
