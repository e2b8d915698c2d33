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
 *
 * Every frame taken into the RX ring is also copied into the capture ring,
 * a second FrameRing keeping the last NIC_STUB_CAPTURE_FRAMES frames (the
 * oldest go when it is full) for QMP's x-nic-stub-read.  It is allocated
 * with the stub, like the RX ring.  QMP (hw/nic-stub/nic-stub-qmp.c) also
 * injects frames as if the stub's guest sent them and reads the counters;
 * device_del (hw/device.c) removes the stub: the netdev stays, without a
 * peer.
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
#define NIC_STUB_CAPTURE_FRAMES 64
#define NIC_STUB_CAPTURE_BYTES  (256 * 1024)    /* > NET_BUFSIZE */

struct NicStub {
    NetClientState nc;          /* first, see net.h */
    NicStubAddr addr;
    FrameRing rx_ring;
    FrameRing capture;          /* the last frames received, for QMP */
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

/* Keep a copy of a received frame; the oldest copies make room. */
static void nic_stub_capture(NicStub *s, const uint8_t *buf, size_t size)
{
    while (!frame_ring_has_room(&s->capture, size) &&
           !frame_ring_is_empty(&s->capture)) {
        frame_ring_pop(&s->capture);
    }
    frame_ring_push(&s->capture, buf, size);
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
    nic_stub_capture(s, buf, size);
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
    if (kind == NIC_STUB_REPLY_ARP ||
        kind == NIC_STUB_REPLY_NEIGHBOR_ADVERT) {
        s->arp_replies++;               /* address resolution answers */
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
        net_client_count_drop(nc, NET_DROP_LINK_DOWN);
    }
}

static void nic_stub_cleanup(NetClientState *nc)
{
    NicStub *s = nic_stub_from_nc(nc);

    g_source_destroy(s->drain_source);
    g_source_unref(g_steal_pointer(&s->drain_source));
    frame_ring_destroy(&s->rx_ring);
    frame_ring_destroy(&s->capture);
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

/*
 * "ADDR[/PREFIX]", IPv6; neither multicast nor :: (a NIC's own address).
 * The prefix is only recorded: the tiny host answers for the address.
 */
static bool nic_stub_parse_ip6(const char *str, NicStubAddr *addr)
{
    static const uint8_t unspecified[16];
    g_autofree char *host = g_strdup(str);
    char *slash = strchr(host, '/');
    struct in6_addr in6;

    addr->prefix6 = 64;
    if (slash) {
        char *end;
        unsigned long prefix;

        *slash = '\0';
        prefix = strtoul(slash + 1, &end, 10);
        if (!g_ascii_isdigit(slash[1]) || *end || prefix > 128) {
            return false;
        }
        addr->prefix6 = (unsigned)prefix;
    }
    if (inet_pton(AF_INET6, host, &in6) != 1 || in6.s6_addr[0] == 0xff ||
        memcmp(in6.s6_addr, unspecified, 16) == 0) {
        return false;
    }
    memcpy(addr->ip6, in6.s6_addr, 16);
    addr->has_ip6 = true;
    return true;
}

static bool nic_stub_parse_addr(const NicStubProperties *props,
                                NicStubAddr *addr, GError **errp)
{
    const char *mac = props->has_mac ? props->mac : NULL;
    const char *ip = props->has_ip ? props->ip : NULL;
    const char *ip6 = props->has_ip6 ? props->ip6 : NULL;

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
    if (ip6 && !nic_stub_parse_ip6(ip6, addr)) {
        error_setg(errp, "Property 'nic-stub.ip6' doesn't take value '%s'",
                   ip6);
        return false;
    }
    return true;
}

/* The netdev= backend, which must exist and have no peer yet. */
static bool nic_stub_find_netdev(const NicStubProperties *props,
                                 NetClientState **backend, GError **errp)
{
    const char *name = props->has_netdev ? props->netdev : NULL;

    *backend = NULL;
    if (!name) {
        return true;
    }
    *backend = net_client_find(name);
    if (!*backend || net_client_is_nic(*backend)) {
        error_setg(errp,
                   "Property 'nic-stub.netdev' can't find value '%s'", name);
        return false;
    }
    if ((*backend)->peer || (*backend)->info->no_peer) {
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

bool nic_stub_device_add(const char *id, const NicStubProperties *props,
                         GError **errp)
{
    NicStubAddr addr = { 0 };
    NetClientState *backend;
    NicStub *s;
    GSource *source;

    if ((id && !id_check(id, errp)) ||
        !nic_stub_parse_addr(props, &addr, errp) ||
        !nic_stub_find_netdev(props, &backend, errp)) {
        return false;
    }
    if (id && net_client_find(id)) {
        error_setg(errp, "Duplicate ID '%s' for device", id);
        return false;
    }
    s = (NicStub *)net_client_new(&nic_stub_info, backend, "nic-stub", id);
    s->addr = addr;
    frame_ring_init(&s->rx_ring, NIC_STUB_RX_BYTES, NIC_STUB_RX_FRAMES);
    frame_ring_init(&s->capture, NIC_STUB_CAPTURE_BYTES,
                    NIC_STUB_CAPTURE_FRAMES);
    source = g_source_new(&nic_stub_drain_funcs, sizeof(NicStubDrainSource));
    ((NicStubDrainSource *)source)->stub = s;
    g_source_set_ready_time(source, -1);
    g_source_attach(source, NULL);
    s->drain_source = source;
    nic_stub_set_info(s);
    nic_stub_count++;
    return true;
}

/* ---- QMP's view (hw/nic-stub/nic-stub-qmp.c) ---------------------------- */

NicStub *nic_stub_find(const char *id, GError **errp)
{
    NetClientState *nc = net_client_find(id);

    if (!nc) {
        g_set_error(errp, VMWIRE_ERROR, VMWIRE_ERROR_NOT_FOUND,
                    "Device '%s' not found", id);
        return NULL;
    }
    if (nc->info != &nic_stub_info) {
        error_setg(errp, "Device '%s' is not a nic-stub", id);
        return NULL;
    }
    return nic_stub_from_nc(nc);
}

bool nic_stub_inject(NicStub *s, const uint8_t *frame, size_t len,
                     GError **errp)
{
    if (len == 0) {
        error_setg(errp, "the frame is empty");
        return false;
    }
    if (len > NET_BUFSIZE) {
        error_setg(errp, "a frame of %zu bytes is longer than the largest "
                   "frame (%d bytes)", len, NET_BUFSIZE);
        return false;
    }
    net_client_send(&s->nc, frame, len);
    return true;
}

unsigned nic_stub_capture_take(NicStub *s, unsigned max,
                               NicStubFrameFunc *fn, void *opaque)
{
    unsigned taken = 0;
    FrameSlot *slot;

    while (taken < max && (slot = frame_ring_peek(&s->capture))) {
        fn(slot->data, slot->len, opaque);
        frame_ring_pop(&s->capture);
        taken++;
    }
    return taken;
}

void nic_stub_get_counters(NicStub *s, NicStubCounters *out)
{
    *out = (NicStubCounters) {
        .rx_frames = s->nc.stats.rx_frames,
        .tx_frames = s->nc.stats.tx_frames,
        .dropped = s->nc.stats.dropped,
        .arp_replies = s->arp_replies,
        .echo_replies = s->echo_replies,
        .link_up = !s->nc.link_down,
    };
}
