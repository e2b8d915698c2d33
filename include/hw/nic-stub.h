/*
 * DOC: the nic-stub emulated NIC
 *
 * `-device nic-stub,id=ID,netdev=NETDEV,mac=MAC[,ip=A.B.C.D[/PREFIX]]
 * [,ip6=ADDR[/PREFIX]]`: a NIC model, the frontend peer of a netdev.
 * Frames from the backend land in a bounded RX ring; while the ring is full
 * can_receive() is false, so the backend stops reading its socket (lossless
 * backpressure).  A tiny "guest" drains the ring from the main loop: with
 * ip= it answers ARP requests and ICMP echo requests for its address, with
 * ip6= neighbour solicitations and ICMPv6 echo requests for that address
 * and for its link-local one (the EUI-64 of mac), so a real VM can ping
 * it; every frame is counted.
 */
#ifndef HW_NIC_STUB_H
#define HW_NIC_STUB_H

#include <glib.h>
#include <stdbool.h>
#include "net/net.h"
#include "qapi-types.h"

typedef struct NicStub NicStub;

/*
 * Create a nic-stub called @id (NULL: "nic-stub") from @props (borrowed),
 * as -device and QMP device_add ask through device_add() (hw/device.h).
 * Errors, QEMU-style: "Parameter 'id' expects an identifier", "Property
 * 'nic-stub.mac' doesn't take value 'zz'" (also ip, ip6), "Property
 * 'nic-stub.netdev' can't find value 'n9'", "... can't take value 'n0',
 * it's in use", "Duplicate ID 's0' for device".
 */
bool nic_stub_device_add(const char *id, const NicStubProperties *props,
                         GError **errp);

/*
 * For QMP.  The stub called @id (borrowed), or NULL with "Device '<id>' not
 * found" (VMWIRE_ERROR_NOT_FOUND: DeviceNotFound) or "Device '<id>' is not
 * a nic-stub".
 */
NicStub *nic_stub_find(const char *id, GError **errp);

/*
 * Send @frame to the stub's peer as if its guest had sent it (copied; lost
 * like any frame if the link is down or there is no peer).  Refuses empty
 * frames and frames over NET_BUFSIZE.
 */
bool nic_stub_inject(NicStub *s, const uint8_t *frame, size_t len,
                     GError **errp);

/*
 * The capture ring keeps copies of the last frames the stub received.
 * Hand at most @max of them, oldest first, to @fn (the bytes are borrowed
 * for the call) and remove them; returns how many.
 */
typedef void NicStubFrameFunc(const uint8_t *frame, size_t len,
                              void *opaque);
unsigned nic_stub_capture_take(NicStub *s, unsigned max,
                               NicStubFrameFunc *fn, void *opaque);

typedef struct NicStubCounters {
    uint64_t rx_frames;         /* frames received */
    uint64_t tx_frames;         /* frames sent (replies, injected) */
    uint64_t dropped;           /* frames lost */
    uint64_t arp_replies;       /* and neighbour advertisements */
    uint64_t echo_replies;      /* ICMP and ICMPv6 */
    bool link_up;
} NicStubCounters;

void nic_stub_get_counters(NicStub *s, NicStubCounters *out);

#endif /* HW_NIC_STUB_H */
