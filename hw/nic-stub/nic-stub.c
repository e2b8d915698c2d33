/*
 * DOC: the nic-stub NIC model (see include/hw/nic-stub.h)
 *
 * Data flow:
 *   backend --receive()--> RX ring --drain (idle source)--> tiny guest
 *   tiny guest --reply--> net_client_send_async() --> backend
 *
 * The RX ring is a FrameRing allocated at creation.  receive() returns 0
 * when it is full; can_receive() says so in advance; the drain source, after
 * it made room, calls net_client_flush_queued() as the flow-control rule
 * asks.  The drain does a bounded batch per wake-up.  A reply that the
 * backend queued (send returned 0) stops the drain until its completion
 * callback: replies are never dropped by the NIC itself.
 *
 * The drain source is created once and switched with
 * g_source_set_ready_time (0 = run now, -1 = sleep).
 */
#include "hw/nic-stub.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "hw/nic-stub-guest.h"
#include "net/frame-ring.h"
#include "util/error.h"

#define NIC_STUB_RX_FRAMES  256
#define NIC_STUB_RX_BYTES   (512 * 1024)
#define NIC_STUB_DRAIN_BATCH 64

struct NicStub {
    NetClientState nc;          /* first, see net.h */
    NicStubAddr addr;
    FrameRing rx_ring;
    GSource *drain_source;
    bool tx_blocked;            /* a reply waits in the backend's queue */
    uint64_t arp_replies;
    uint64_t echo_replies;
    uint8_t reply[NET_BUFSIZE];
};

static unsigned nic_stub_count;

static NicStub *nic_stub_from_nc(NetClientState *nc)
{
    return container_of(nc, NicStub, nc);
}

static bool nic_stub_can_receive(NetClientState *nc)
{
    NicStub *s = nic_stub_from_nc(nc);

    return frame_ring_has_room(&s->rx_ring, NET_BUFSIZE);
}

static ssize_t nic_stub_receive(NetClientState *nc, const uint8_t *buf,
                                size_t size)
{
    NicStub *s = nic_stub_from_nc(nc);

    if (!frame_ring_push(&s->rx_ring, buf, size)) {
        return 0;               /* full: we flush once drained */
    }
    g_source_set_ready_time(s->drain_source, 0);
    return (ssize_t)size;
}

static void nic_stub_tx_done(NetClientState *nc, ssize_t len)
{
    NicStub *s = nic_stub_from_nc(nc);

    s->tx_blocked = false;
    g_source_set_ready_time(s->drain_source, 0);
}

/* Let the tiny guest look at one frame; false if its reply is queued. */
static bool nic_stub_process(NicStub *s, const FrameSlot *slot)
{
    size_t reply_len;
    NicStubReplyKind kind;

    kind = nic_stub_guest_respond(&s->addr, slot->data, slot->len,
                                  s->reply, sizeof(s->reply), &reply_len);
    if (kind == NIC_STUB_REPLY_NONE) {
        return true;
    }
    if (kind == NIC_STUB_REPLY_ARP) {
        s->arp_replies++;
    } else {
        s->echo_replies++;
    }
    return net_client_send_async(&s->nc, s->reply, reply_len,
                                 nic_stub_tx_done) != 0;
}

typedef struct NicStubDrainSource {
    GSource source;
    NicStub *stub;
} NicStubDrainSource;

static gboolean nic_stub_drain(GSource *source, GSourceFunc unused,
                               gpointer unused_data)
{
    NicStub *s = ((NicStubDrainSource *)source)->stub;
    FrameSlot *slot;
    unsigned budget = NIC_STUB_DRAIN_BATCH;

    g_source_set_ready_time(source, -1);
    while (!s->tx_blocked && budget && (slot = frame_ring_peek(&s->rx_ring))) {
        bool sent = nic_stub_process(s, slot);

        frame_ring_pop(&s->rx_ring);
        budget--;
        if (!sent) {
            s->tx_blocked = true;
        }
    }
    if (!s->tx_blocked && !frame_ring_is_empty(&s->rx_ring)) {
        g_source_set_ready_time(source, 0);     /* more next iteration */
    }
    if (budget < NIC_STUB_DRAIN_BATCH) {
        net_client_flush_queued(&s->nc);        /* room again */
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs nic_stub_drain_funcs = {
    .dispatch = nic_stub_drain,
};

/*
 * Link down: frames still in the ring came from a peer that is gone; their
 * answers must not go to the next one.  Drop them, counted.
 */
static void nic_stub_link_status_changed(NetClientState *nc)
{
    NicStub *s = nic_stub_from_nc(nc);

    if (!nc->link_down) {
        return;
    }
    while (!frame_ring_is_empty(&s->rx_ring)) {
        frame_ring_pop(&s->rx_ring);
        nc->stats.dropped++;
    }
}

static void nic_stub_cleanup(NetClientState *nc)
{
    NicStub *s = nic_stub_from_nc(nc);

    g_source_destroy(s->drain_source);
    g_source_unref(g_steal_pointer(&s->drain_source));
    frame_ring_destroy(&s->rx_ring);
}

static const NetClientInfo nic_stub_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .type_name = "nic",
    .size = sizeof(NicStub),
    .receive = nic_stub_receive,
    .can_receive = nic_stub_can_receive,
    .cleanup = nic_stub_cleanup,
    .link_status_changed = nic_stub_link_status_changed,
};

static const char *const nic_stub_keys[] = {
    "driver", "id", "netdev", "mac", "ip", NULL
};

/* QEMU's wording for an unknown device property. */
static bool nic_stub_check_properties(const KeyValList *opts, GError **errp)
{
    for (unsigned i = 0; i < keyval_count(opts); i++) {
        const char *key = keyval_key_at(opts, i);

        if (!g_strv_contains(nic_stub_keys, key)) {
            error_setg(errp, "Property 'nic-stub.%s' not found", key);
            return false;
        }
    }
    return true;
}

static bool nic_stub_parse_mac(const char *str, uint8_t *mac)
{
    unsigned v[6];
    char end;

    if (sscanf(str, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &end) != 6 || strlen(str) != 17) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        mac[i] = (uint8_t)v[i];
    }
    return !(mac[0] & 1);       /* a NIC's own address is never multicast */
}

/* "A.B.C.D[/PREFIX]" */
static bool nic_stub_parse_ip(const char *str, NicStubAddr *addr)
{
    g_autofree char *host = g_strdup(str);
    char *slash = strchr(host, '/');
    struct in_addr in;

    addr->prefix = 24;
    if (slash) {
        char *end;
        unsigned long prefix;

        *slash = '\0';
        prefix = strtoul(slash + 1, &end, 10);
        if (!g_ascii_isdigit(slash[1]) || *end || prefix > 32) {
            return false;
        }
        addr->prefix = (unsigned)prefix;
    }
    if (inet_pton(AF_INET, host, &in) != 1) {
        return false;
    }
    memcpy(addr->ip, &in, 4);
    addr->has_ip = true;
    return true;
}

static bool nic_stub_parse_addr(const KeyValList *opts, NicStubAddr *addr,
                                GError **errp)
{
    const char *mac = keyval_get(opts, "mac");
    const char *ip = keyval_get(opts, "ip");

    if (mac && !nic_stub_parse_mac(mac, addr->mac)) {
        error_setg(errp, "Property 'nic-stub.mac' doesn't take value '%s'",
                   mac);
        return false;
    }
    if (!mac) {     /* QEMU's default: 52:54:00:12:34:56 plus an index */
        const uint8_t def[6] = { 0x52, 0x54, 0x00, 0x12, 0x34,
                                 (uint8_t)(0x56 + nic_stub_count) };
        memcpy(addr->mac, def, 6);
    }
    if (ip && !nic_stub_parse_ip(ip, addr)) {
        error_setg(errp, "Property 'nic-stub.ip' doesn't take value '%s'",
                   ip);
        return false;
    }
    return true;
}

/* The netdev= backend, which must exist and have no peer yet. */
static bool nic_stub_find_netdev(const KeyValList *opts,
                                 NetClientState **backend, GError **errp)
{
    const char *name = keyval_get(opts, "netdev");

    *backend = NULL;
    if (!name) {
        return true;
    }
    *backend = net_client_find(name);
    if (!*backend || (*backend)->info->type == NET_CLIENT_DRIVER_NIC) {
        error_setg(errp,
                   "Property 'nic-stub.netdev' can't find value '%s'", name);
        return false;
    }
    if ((*backend)->peer) {
        error_setg(errp, "Property 'nic-stub.netdev' can't take value '%s', "
                    "it's in use", name);
        return false;
    }
    return true;
}

static void nic_stub_set_info(NicStub *s)
{
    const uint8_t *m = s->addr.mac;

    net_client_set_info_str(&s->nc, "model=nic-stub,macaddr="
                            "%02x:%02x:%02x:%02x:%02x:%02x",
                            m[0], m[1], m[2], m[3], m[4], m[5]);
}

bool nic_stub_device_add(const KeyValList *opts, GError **errp)
{
    const char *id = keyval_get(opts, "id");
    NicStubAddr addr = { 0 };
    NetClientState *backend;
    NicStub *s;
    GSource *source;

    if ((id && !id_check(id, errp)) ||
        !nic_stub_check_properties(opts, errp) ||
        !nic_stub_parse_addr(opts, &addr, errp) ||
        !nic_stub_find_netdev(opts, &backend, errp)) {
        return false;
    }
    if (id && net_client_find(id)) {
        error_setg(errp, "Duplicate ID '%s' for device", id);
        return false;
    }
    s = (NicStub *)net_client_new(&nic_stub_info, backend, "nic-stub",
                                  id ? id : "nic-stub");
    s->addr = addr;
    frame_ring_init(&s->rx_ring, NIC_STUB_RX_BYTES, NIC_STUB_RX_FRAMES);
    source = g_source_new(&nic_stub_drain_funcs, sizeof(NicStubDrainSource));
    ((NicStubDrainSource *)source)->stub = s;
    g_source_set_ready_time(source, -1);
    g_source_attach(source, NULL);
    s->drain_source = source;
    nic_stub_set_info(s);
    nic_stub_count++;
    return true;
}
