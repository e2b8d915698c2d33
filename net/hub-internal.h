/*
 * DOC: what net/hub-qmp.c needs from net/hub.c (private to the two)
 *
 * The MAC table as the monitor shows it: net_hub_foreach_mac() hands
 * out each live entry, already converted (age in ms, the port's id).
 */
#ifndef NET_HUB_INTERNAL_H
#define NET_HUB_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

/* One live MAC table entry; everything borrowed for the call only. */
typedef struct NetHubMac {
    int32_t hubid;
    uint16_t vlan;
    const uint8_t *mac;         /* 6 bytes */
    const char *port;           /* the port's id */
    int64_t age_ms;             /* since a frame from it was last seen */
} NetHubMac;

/*
 * Call @fn for every live entry of every hub (hubs in creation order),
 * or only of hub @hubid if @has_hubid; a hub's entries sorted by VLAN,
 * then MAC.  Entries of a port that is being freed are left out.
 */
void net_hub_foreach_mac(bool has_hubid, int32_t hubid,
                         void (*fn)(const NetHubMac *entry, void *opaque),
                         void *opaque);

#endif /* NET_HUB_INTERNAL_H */
