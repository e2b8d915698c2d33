/*
 * DOC: learning hubs (-netdev hubport), see net/hub.c
 *
 * Only what tests and other modules need: the port's hub-side counters
 * live in its NetClientState.stats; the hooks below tune aging.
 */
#ifndef NET_HUB_H
#define NET_HUB_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"

/* Default age of a learned MAC address. */
#define NET_HUB_AGE_DEFAULT_US (300 * G_USEC_PER_SEC)
/* Largest mac-age= in seconds. */
#define NET_HUB_AGE_MAX_S 1000000
/*
 * Iovec pieces of a frame a hub forwards without copying its payload;
 * a frame in more pieces is dropped (senders gather beyond it).
 */
#define NET_HUB_IOV_MAX 64
/* MAC table entries per hub, allocated with the hub. */
#define NET_HUB_MAC_TABLE_SIZE 4096

/* Set how long hub @hubid remembers a MAC; false if no such hub. */
bool net_hub_set_age(int32_t hubid, int64_t age_us);

/* Tests: replace g_get_monotonic_time (NULL restores it). */
void net_hub_set_clock(int64_t (*now)(void));

/* Learned entries of hub @hubid (-1 if no such hub). */
int net_hub_mac_count(int32_t hubid);

/* The hubs' part of `info network` (see net_format_info_network()). */
void net_hub_format_info(GString *out);

/*
 * HMP's `info mac-table` (net/hub-qmp.c): a header line, then one line
 * per entry.
 */
void net_hub_format_mac_table(GString *out);

/*
 * A port of hub @hubid (created on demand, learning on, exactly as the
 * first `-netdev hubport,hubid=N` would) named @name (copied), an access
 * port of @vlan (1..4094), whose peer is @peer (a client without a peer).
 * Used for the connections of a many-client listener (net/stream-multi.c):
 * the port remembers the first unicast source MAC its peer sends and logs
 * it once: "vmwire: <name>: VM <mac> joined hub <hubid>".  Free it with
 * net_client_free(); its MAC table entries go with it.
 */
NetClientState *net_hub_port_new_for(int32_t hubid, uint16_t vlan,
                                     NetClientState *peer, const char *name);

/*
 * Call @gone(@opaque) from the port's cleanup (whoever frees it); NULL
 * clears it.  The owner of @peer uses it to learn its port went away.
 */
void net_hub_port_set_gone(NetClientState *port, void (*gone)(void *opaque),
                           void *opaque);

/* The first source MAC learned on such a port; false if none yet. */
bool net_hub_port_first_mac(NetClientState *port, uint8_t mac[6]);

/* The hub a port belongs to (-1 if @nc is no hub port). */
int32_t net_hub_port_hubid(NetClientState *nc);

#endif /* NET_HUB_H */
