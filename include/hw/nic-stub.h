/*
 * DOC: the nic-stub emulated NIC
 *
 * `-device nic-stub,id=ID,netdev=NETDEV,mac=MAC[,ip=A.B.C.D[/PREFIX]]`: a
 * NIC model, the frontend peer of a netdev.  Frames from the backend land in
 * a bounded RX ring; while the ring is full can_receive() is false, so the
 * backend stops reading its socket (lossless backpressure).  A tiny "guest"
 * drains the ring from the main loop: with ip= it answers ARP requests and
 * ICMP echo requests for its address, so a real VM can ping it; every frame
 * is counted.
 */
#ifndef HW_NIC_STUB_H
#define HW_NIC_STUB_H

#include <glib.h>
#include <stdbool.h>
#include "net/net.h"
#include "util/keyval.h"

typedef struct NicStub NicStub;

/* Create a nic-stub from `-device` options (keys: driver, id, netdev, ...). */
bool nic_stub_device_add(const KeyValList *opts, GError **errp);

#endif /* HW_NIC_STUB_H */
