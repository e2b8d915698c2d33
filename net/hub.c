/*
 * DOC: learning hubs with 802.1Q VLANs (-netdev hubport)
 *
 * A hub is created with its first port (-netdev hubport,hubid=N) and freed
 * with its last.  Each port is a NetClientState; netdev= (or a NIC's
 * netdev=) makes some client its peer.  A frame the peer sends arrives in
 * net_hub_port_receive_iov(), is classified into a VLAN, its source MAC is
 * learned, and it is forwarded:
 *
 *   known unicast (learning on)  -> only the learned port (if not the source)
 *   broadcast, multicast, unknown unicast, or learning=off
 *                                -> every other port of that VLAN (flood)
 *
 * VLANs: an access port (vlan=V, default 1) carries VLAN V untagged; a
 * trunk port (trunk=on) carries every VLAN tagged (TPID 0x8100) except its
 * native VLAN (vlan=, default 1) which is untagged.  Inside the hub a
 * frame is its addresses (the first 12 bytes, and any tag, copied once
 * into a local: read once whatever the sender does), the sender's own
 * iovec pieces after any tag, and a VID; output is an iovec of those
 * (plus a tag for a trunk), so the hub copies no payload and allocates
 * nothing: the destination copies (a queue into its arena, a vhost-user
 * port into its guest's buffers).  A frame of more than NET_HUB_IOV_MAX
 * pieces is dropped as malformed (vmwire's senders pass at most that).
 *
 * No head-of-line blocking: a port hands frames to its peer with
 * net_client_send() (no callback), so the peer's incoming queue is the
 * port's bounded transmit queue (NET_QUEUE_DEFAULT_FRAMES/_BYTES); frames
 * beyond it are dropped and counted on the port (stats.dropped) as well
 * as on the peer.  net_hub_port_receive_iov() never returns 0, so a slow
 * peer never stops the others.
 *
 * The MAC table is a fixed array (NET_HUB_MAC_TABLE_SIZE entries, open
 * addressing over a short probe window) allocated with the hub.  Entries
 * carry the last time seen; an entry older than the hub's age is treated
 * as empty when looked at (no timers).  A MAC seen on another port moves;
 * entries of a port that goes away or whose link goes down (its peer's
 * connection left) are cleared.  The age is the hub's mac-age= (seconds,
 * default 300), set by the port that creates it.  x-query-mac-table and
 * `info mac-table` list the live entries (net/hub-qmp.c, through
 * net_hub_foreach_mac()).
 *
 * Ports of many-client listeners (net/stream-multi.c) are made with
 * net_hub_port_new_for(): they remember and log the first source MAC
 * their peer sends, and tell their owner when they are freed.
 * `info network` prints each hub as QEMU does (net_hub_format_info()).
 *
 * Port counters (NetClientStats of the port): rx_* = frames from its peer
 * into the hub, tx_* = frames the hub delivered to its peer, dropped =
 * frames the hub could not hand on, by reason in dropped_by: queue full
 * (the peer's incoming queue, the port's transmit queue), link down,
 * malformed (runt, VID 4095), VLAN (tagged frame on an access port).
 */
#include "net/hub.h"

#include <string.h>

#include "hub-internal.h"
#include "net/net.h"
#include "net/netdev.h"
#include "qapi-commands.h"
#include "util/batch.h"
#include "util/error.h"
#include "util/log.h"

#define NET_HUB_PROBE 8
#define ETH_HLEN 14
#define ETH_P_8021Q 0x8100
#define VLAN_TAG_LEN 4

typedef struct NetHub NetHub;

typedef struct NetHubPort {
    NetClientState nc;
    NetHub *hub;
    uint16_t vlan;              /* access VLAN, or a trunk's native VLAN */
    bool trunk;
    bool log_mac;               /* log the first MAC its peer sends */
    bool mac_known;             /* mac holds it */
    uint8_t mac[6];
    /*
     * The table entries this port's last frame used (its source, its
     * destination): a stream of frames between the same two VMs skips
     * the hashing.  Checked before use, never trusted.
     */
    struct NetHubMacEntry *last_src, *last_dst;
    void (*gone)(void *opaque); /* called from cleanup */
    void *gone_opaque;
} NetHubPort;

typedef struct NetHubMacEntry {
    uint8_t mac[6];
    uint16_t vlan;
    NetHubPort *port;           /* NULL: empty */
    int64_t seen;               /* monotonic us */
} NetHubMacEntry;

struct NetHub {
    int32_t id;
    bool learning;
    int64_t age_us;
    GPtrArray *ports;           /* NetHubPort *, NULL holes while in use */
    unsigned nports;
    NetHubMacEntry *table;      /* NET_HUB_MAC_TABLE_SIZE entries */
};

static GList *net_hubs;
static int64_t (*net_hub_clock)(void) = g_get_monotonic_time;
static int64_t net_hub_clock_cached;
static unsigned net_hub_clock_gen;

void net_hub_set_clock(int64_t (*now)(void))
{
    net_hub_clock = now ? now : g_get_monotonic_time;
    net_hub_clock_gen = batch_generation() - 1;
}

/*
 * The time for MAC learning and aging, read once per batch (one main-loop
 * callback, util/batch.h): reading the clock for every frame costs more
 * than the rest of the forwarding, and ageing counts in seconds.
 */
static int64_t net_hub_now(void)
{
    if (!batch_active() || net_hub_clock_gen != batch_generation()) {
        net_hub_clock_cached = net_hub_clock();
        net_hub_clock_gen = batch_generation();
    }
    return net_hub_clock_cached;
}

static NetHub *net_hub_find(int32_t id)
{
    for (GList *l = net_hubs; l; l = l->next) {
        NetHub *hub = l->data;

        if (hub->id == id) {
            return hub;
        }
    }
    return NULL;
}

bool net_hub_set_age(int32_t hubid, int64_t age_us)
{
    NetHub *hub = net_hub_find(hubid);

    if (hub) {
        hub->age_us = age_us;
    }
    return hub != NULL;
}

/* ---- the MAC table --------------------------------------------------- */

static unsigned net_hub_hash(const uint8_t *mac, uint16_t vlan)
{
    uint32_t h = 2166136261u ^ vlan;

    for (int i = 0; i < 6; i++) {
        h = (h ^ mac[i]) * 16777619u;
    }
    return h % NET_HUB_MAC_TABLE_SIZE;
}

static bool net_hub_entry_live(NetHub *hub, NetHubMacEntry *e, int64_t now)
{
    return e->port && now - e->seen <= hub->age_us;
}

static NetHubMacEntry *net_hub_lookup(NetHub *hub, const uint8_t *mac,
                                      uint16_t vlan, int64_t now)
{
    unsigned h = net_hub_hash(mac, vlan);

    for (unsigned i = 0; i < NET_HUB_PROBE; i++) {
        NetHubMacEntry *e = &hub->table[(h + i) % NET_HUB_MAC_TABLE_SIZE];

        if (net_hub_entry_live(hub, e, now) && e->vlan == vlan &&
            memcmp(e->mac, mac, 6) == 0) {
            return e;
        }
    }
    return NULL;
}

static bool net_hub_entry_is(NetHubMacEntry *e, const uint8_t *mac,
                             uint16_t vlan)
{
    return e && e->vlan == vlan && memcmp(e->mac, mac, 6) == 0;
}

/* Remember that @mac on @vlan is behind @port (move it if it was not). */
static NetHubMacEntry *net_hub_learn(NetHub *hub, const uint8_t *mac,
                                     uint16_t vlan, NetHubPort *port,
                                     int64_t now)
{
    unsigned h = net_hub_hash(mac, vlan);
    NetHubMacEntry *e = net_hub_lookup(hub, mac, vlan, now);

    for (unsigned i = 0; !e && i < NET_HUB_PROBE; i++) {
        NetHubMacEntry *c = &hub->table[(h + i) % NET_HUB_MAC_TABLE_SIZE];

        if (!net_hub_entry_live(hub, c, now)) {
            e = c;
        } else if (i == NET_HUB_PROBE - 1) {
            e = &hub->table[h];     /* window full: evict the first */
        }
    }
    memcpy(e->mac, mac, 6);
    e->vlan = vlan;
    e->port = port;
    e->seen = now;
    return e;
}

int net_hub_mac_count(int32_t hubid)
{
    NetHub *hub = net_hub_find(hubid);
    int64_t now = net_hub_now();
    int n = 0;

    if (!hub) {
        return -1;
    }
    for (unsigned i = 0; i < NET_HUB_MAC_TABLE_SIZE; i++) {
        n += net_hub_entry_live(hub, &hub->table[i], now);
    }
    return n;
}

/* Live entries of @hub sorted by VLAN and MAC (the array is the caller's). */
static int net_hub_entry_cmp(gconstpointer a, gconstpointer b)
{
    const NetHubMacEntry *x = *(NetHubMacEntry *const *)a;
    const NetHubMacEntry *y = *(NetHubMacEntry *const *)b;

    if (x->vlan != y->vlan) {
        return x->vlan < y->vlan ? -1 : 1;
    }
    return memcmp(x->mac, y->mac, 6);
}

static GPtrArray *net_hub_live_entries(NetHub *hub, int64_t now)
{
    GPtrArray *live = g_ptr_array_new();

    for (unsigned i = 0; i < NET_HUB_MAC_TABLE_SIZE; i++) {
        NetHubMacEntry *e = &hub->table[i];

        if (net_hub_entry_live(hub, e, now) &&
            !net_client_is_going(&e->port->nc)) {
            g_ptr_array_add(live, e);
        }
    }
    g_ptr_array_sort(live, net_hub_entry_cmp);
    return live;
}

void net_hub_foreach_mac(bool has_hubid, int32_t hubid,
                         void (*fn)(const NetHubMac *entry, void *opaque),
                         void *opaque)
{
    int64_t now = net_hub_now();

    for (GList *l = net_hubs; l; l = l->next) {
        NetHub *hub = l->data;
        g_autoptr(GPtrArray) live = NULL;

        if (has_hubid && hub->id != hubid) {
            continue;
        }
        live = net_hub_live_entries(hub, now);
        for (unsigned i = 0; i < live->len; i++) {
            NetHubMacEntry *e = g_ptr_array_index(live, i);
            NetHubMac entry = {
                .hubid = hub->id, .vlan = e->vlan, .mac = e->mac,
                .port = e->port->nc.name, .age_ms = (now - e->seen) / 1000,
            };

            fn(&entry, opaque);
        }
    }
}

void net_hub_format_info(GString *out)
{
    for (GList *l = g_list_last(net_hubs); l; l = l->prev) {
        NetHub *hub = l->data;

        g_string_append_printf(out, "hub %d\n", (int)hub->id);
        for (unsigned i = hub->ports->len; i-- > 0;) {
            NetHubPort *p = g_ptr_array_index(hub->ports, i);

            if (!p) {
                continue;
            }
            g_string_append_printf(out, " \\ %s", p->nc.name);
            if (p->nc.peer) {
                g_string_append(out, ": ");
                net_client_format_info_block(p->nc.peer, out);
            } else {
                g_string_append_c(out, '\n');
            }
            net_client_format_counters(&p->nc, out);
        }
    }
}

/* ---- forwarding ------------------------------------------------------ */

static bool net_hub_port_carries(NetHubPort *p, uint16_t vlan)
{
    return p->trunk || p->vlan == vlan;
}

/*
 * Hand a frame of @vlan to @dst's peer: @addrs is its 12 address bytes,
 * @rest (@rest_cnt pieces) what follows the (removed) tag.  Tagged if
 * @dst is a trunk and @vlan is not its native VLAN.
 */
static void net_hub_output(NetHubPort *dst, uint16_t vlan,
                           const uint8_t *addrs, const struct iovec *rest,
                           int rest_cnt)
{
    NetClientState *peer = dst->nc.peer;
    uint8_t tag[VLAN_TAG_LEN] = {
        ETH_P_8021Q >> 8, ETH_P_8021Q & 0xff, vlan >> 8, vlan & 0xff,
    };
    struct iovec iov[NET_HUB_IOV_MAX + 2];
    int n = 1;
    uint64_t peer_full = peer ? peer->stats.dropped_by[NET_DROP_QUEUE_FULL]
                              : 0;

    iov[0] = (struct iovec){ (void *)addrs, 12 };
    if (dst->trunk && vlan != dst->vlan) {
        iov[n++] = (struct iovec){ tag, sizeof(tag) };
    }
    for (int i = 0; i < rest_cnt; i++) {     /* usually one piece */
        iov[n + i] = rest[i];
    }
    net_client_send_iov_async(&dst->nc, iov, n + rest_cnt, NULL);
    /* The peer counted a frame its full queue lost: it is ours too. */
    if (peer && dst->nc.peer == peer) {
        uint64_t lost = peer->stats.dropped_by[NET_DROP_QUEUE_FULL] -
                        peer_full;

        net_client_count_drops(&dst->nc, NET_DROP_QUEUE_FULL, lost);
    }
}

/* A many-client listener's port: name the VM behind it, once. */
static void net_hub_port_note_mac(NetHubPort *port, const uint8_t *mac)
{
    char text[LOG_MAC_STRLEN];

    port->mac_known = true;
    memcpy(port->mac, mac, 6);
    log_report_id(port->nc.name, "VM %s joined hub %d",
                  log_mac_format(mac, text), (int)port->hub->id);
}

static void net_hub_forward(NetHubPort *src, uint16_t vlan,
                            const uint8_t *addrs, const struct iovec *rest,
                            int rest_cnt)
{
    NetHub *hub = src->hub;
    int64_t now = net_hub_now();
    const uint8_t *dst_mac = addrs, *src_mac = addrs + 6;

    if (src->log_mac && !src->mac_known && !(src_mac[0] & 1)) {
        net_hub_port_note_mac(src, src_mac);
    }

    if (hub->learning && !(src_mac[0] & 1)) {
        NetHubMacEntry *e = src->last_src;

        /*
         * The cached entry only while it is live: one that aged out may
         * have a newer entry for the same MAC elsewhere (it moved), and
         * refreshing the old one would leave two, the frames going to
         * whichever a lookup meets first (found by fuzz-hub).
         */
        if (e && e->port == src && net_hub_entry_live(hub, e, now) &&
            net_hub_entry_is(e, src_mac, vlan)) {
            e->seen = now;
        } else {
            src->last_src = net_hub_learn(hub, src_mac, vlan, src, now);
        }
    }
    if (hub->learning && !(dst_mac[0] & 1)) {
        NetHubMacEntry *e = src->last_dst;

        if (!e || !net_hub_entry_live(hub, e, now) ||
            !net_hub_entry_is(e, dst_mac, vlan)) {
            e = net_hub_lookup(hub, dst_mac, vlan, now);
            src->last_dst = e;
        }

        if (e) {
            if (e->port != src && !net_client_is_going(&e->port->nc)) {
                net_hub_output(e->port, vlan, addrs, rest, rest_cnt);
            }
            return;
        }
    }
    /* Index loop: a port may be freed (its slot cleared) under us. */
    for (unsigned i = 0; i < hub->ports->len; i++) {
        NetHubPort *p = g_ptr_array_index(hub->ports, i);

        if (p && p != src && !net_client_is_going(&p->nc) &&
            net_hub_port_carries(p, vlan)) {
            net_hub_output(p, vlan, addrs, rest, rest_cnt);
        }
    }
}

/*
 * The VLAN of a frame of @size bytes starting with @head (its first
 * ETH_HLEN + VLAN_TAG_LEN bytes) and how many bytes address and tag take;
 * false if it is dropped here (counted).
 */
static bool net_hub_classify(NetHubPort *port, const uint8_t *head,
                             size_t size, uint16_t *vlan, size_t *skip)
{
    bool tagged = size >= ETH_HLEN + VLAN_TAG_LEN &&
                  head[12] == (ETH_P_8021Q >> 8) &&
                  head[13] == (ETH_P_8021Q & 0xff);
    uint16_t vid;

    *vlan = port->vlan;
    *skip = 12;
    if (size < ETH_HLEN) {
        net_client_count_drop(&port->nc, NET_DROP_MALFORMED);
        return false;
    }
    if (tagged && !port->trunk) {
        net_client_count_drop(&port->nc, NET_DROP_VLAN);
        return false;
    }
    if (!tagged) {
        return true;
    }
    vid = ((head[14] << 8) | head[15]) & 0xfff;
    if (vid == 4095) {
        net_client_count_drop(&port->nc, NET_DROP_MALFORMED);
        return false;
    }
    *vlan = vid ? vid : port->vlan;     /* VID 0: priority tag only */
    *skip += VLAN_TAG_LEN;
    return true;
}

/* @iov without its first @skip bytes, in at most @max pieces; or -1. */
static int net_hub_iov_tail(const struct iovec *iov, int iovcnt, size_t skip,
                            struct iovec *out, int max)
{
    int n = 0;

    for (int i = 0; i < iovcnt; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        if (n == max) {
            return -1;
        }
        out[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
        out[n++].iov_len = iov[i].iov_len - skip;
        skip = 0;
    }
    return n;
}

/*
 * A frame from the port's peer: classify, strip the tag, forward.  The
 * addresses and tag are copied once into @head (read once, whatever the
 * sender does meanwhile); the rest is forwarded as the sender's pieces.
 */
static ssize_t net_hub_port_receive_iov(NetClientState *nc,
                                        const struct iovec *iov, int iovcnt)
{
    NetHubPort *port = container_of(nc, NetHubPort, nc);
    uint8_t head[ETH_HLEN + VLAN_TAG_LEN];
    struct iovec rest[NET_HUB_IOV_MAX];
    size_t size = iov_size_total(iov, iovcnt), skip;
    uint16_t vlan;
    int rest_cnt;

    if (iovcnt > 0 && iov[0].iov_len >= sizeof(head)) {
        memcpy(head, iov[0].iov_base, sizeof(head));   /* the usual case */
    } else {
        iov_to_buf(iov, iovcnt, head, sizeof(head));
    }
    if (!net_hub_classify(port, head, size, &vlan, &skip)) {
        return (ssize_t)size;
    }
    rest_cnt = net_hub_iov_tail(iov, iovcnt, skip, rest, NET_HUB_IOV_MAX);
    if (rest_cnt < 0) {
        net_client_count_drop(nc, NET_DROP_MALFORMED);
        return (ssize_t)size;
    }
    net_hub_forward(port, vlan, head, rest, rest_cnt);
    return (ssize_t)size;
}

/* ---- ports and hubs -------------------------------------------------- */

static void net_hub_free(NetHub *hub)
{
    net_hubs = g_list_remove(net_hubs, hub);
    g_ptr_array_unref(hub->ports);
    g_free(hub->table);
    g_free(hub);
}

/* Forget every MAC learned on @port. */
static void net_hub_forget_port(NetHub *hub, NetHubPort *port)
{
    for (unsigned i = 0; i < NET_HUB_MAC_TABLE_SIZE; i++) {
        if (hub->table[i].port == port) {
            hub->table[i].port = NULL;
        }
    }
}

/* The peer left (its connection went, set_link off): its MACs go too. */
static void net_hub_port_link_status_changed(NetClientState *nc)
{
    NetHubPort *port = container_of(nc, NetHubPort, nc);

    if (nc->link_down && port->hub) {     /* no hub yet: being created */
        net_hub_forget_port(port->hub, port);
    }
}

static void net_hub_port_cleanup(NetClientState *nc)
{
    NetHubPort *port = container_of(nc, NetHubPort, nc);
    NetHub *hub = port->hub;

    if (port->gone) {
        port->gone(port->gone_opaque);
    }
    net_hub_forget_port(hub, port);
    for (unsigned i = 0; i < hub->ports->len; i++) {
        if (g_ptr_array_index(hub->ports, i) == port) {
            g_ptr_array_index(hub->ports, i) = NULL;
        }
    }
    if (--hub->nports == 0) {
        net_hub_free(hub);
    }
}

static const NetClientInfo net_hub_port_info = {
    .type = NET_CLIENT_DRIVER_HUBPORT,
    .type_name = "hubport",
    .size = sizeof(NetHubPort),
    .receive_iov = net_hub_port_receive_iov,
    .cleanup = net_hub_port_cleanup,
    .link_status_changed = net_hub_port_link_status_changed,
    .format_info_network = net_hub_format_info,
};

static NetHub *net_hub_new(int32_t id, bool learning)
{
    NetHub *hub = g_new0(NetHub, 1);

    hub->id = id;
    hub->learning = learning;
    hub->age_us = NET_HUB_AGE_DEFAULT_US;
    hub->ports = g_ptr_array_new();
    hub->table = g_new0(NetHubMacEntry, NET_HUB_MAC_TABLE_SIZE);
    net_hubs = g_list_append(net_hubs, hub);
    return hub;
}

static void net_hub_add_port(NetHub *hub, NetHubPort *port)
{
    port->hub = hub;
    hub->nports++;
    for (unsigned i = 0; i < hub->ports->len; i++) {
        if (!g_ptr_array_index(hub->ports, i)) {
            g_ptr_array_index(hub->ports, i) = port;
            return;
        }
    }
    g_ptr_array_add(hub->ports, port);
}

static bool net_hub_check_options(const NetdevHubPortOptions *o,
                                  NetClientState **peer, GError **errp)
{
    NetHub *hub = net_hub_find(o->hubid);

    *peer = NULL;
    if (o->has_vlan && (o->vlan < 1 || o->vlan > 4094)) {
        error_setg(errp, "Parameter 'vlan' expects a VLAN id (1..4094)");
        return false;
    }
    if (hub && o->has_learning && o->learning != hub->learning) {
        error_setg(errp, "hub %d already has learning=%s", (int)o->hubid,
                   hub->learning ? "on" : "off");
        return false;
    }
    if (o->has_mac_age && (o->mac_age < 1 ||
                           o->mac_age > NET_HUB_AGE_MAX_S)) {
        error_setg(errp, "Parameter 'mac-age' expects a number of seconds "
                   "(1..%d)", NET_HUB_AGE_MAX_S);
        return false;
    }
    if (hub && o->has_mac_age &&
        o->mac_age * G_USEC_PER_SEC != hub->age_us) {
        error_setg(errp, "hub %d already has mac-age=%" G_GINT64_FORMAT,
                   (int)o->hubid, hub->age_us / G_USEC_PER_SEC);
        return false;
    }
    if (!o->has_netdev) {
        return true;
    }
    *peer = net_client_find(o->netdev);
    if (!*peer || net_client_is_nic(*peer)) {
        error_setg(errp, "netdev '%s' not found", o->netdev);
        return false;
    }
    if ((*peer)->peer || (*peer)->info->no_peer) {
        error_setg(errp, "netdev '%s' is already in use", o->netdev);
        return false;
    }
    /* Two ports of one hub joined would loop every flooded frame. */
    if (hub && (*peer)->info == &net_hub_port_info &&
        container_of(*peer, NetHubPort, nc)->hub == hub) {
        error_setg(errp, "netdev '%s' is a port of hub %d", o->netdev,
                   (int)o->hubid);
        return false;
    }
    return true;
}

bool net_init_hubport(const Netdev *netdev, GError **errp)
{
    const NetdevHubPortOptions *o = &netdev->u.hubport;
    NetClientState *peer;
    NetHub *hub;
    NetHubPort *port;
    char age[32] = "";

    if (!net_hub_check_options(o, &peer, errp)) {
        return false;
    }
    hub = net_hub_find(o->hubid);
    if (!hub) {
        hub = net_hub_new(o->hubid, !o->has_learning || o->learning);
        if (o->has_mac_age) {
            hub->age_us = o->mac_age * G_USEC_PER_SEC;
        }
    }
    port = container_of(net_client_new(&net_hub_port_info, peer, "hubport",
                                       netdev->id), NetHubPort, nc);
    port->vlan = o->has_vlan ? (uint16_t)o->vlan : 1;
    port->trunk = o->has_trunk && o->trunk;
    net_hub_add_port(hub, port);
    if (hub->age_us != NET_HUB_AGE_DEFAULT_US) {
        g_snprintf(age, sizeof(age), ",mac-age=%" G_GINT64_FORMAT,
                   hub->age_us / G_USEC_PER_SEC);
    }
    net_client_set_info_str(&port->nc, "hub %d%s%s,vlan=%u%s", (int)o->hubid,
                            hub->learning ? "" : ",learning=off",
                            age, port->vlan, port->trunk ? ",trunk=on" : "");
    return true;
}

NetClientState *net_hub_port_new_for(int32_t hubid, uint16_t vlan,
                                     NetClientState *peer, const char *name)
{
    NetHub *hub = net_hub_find(hubid);
    NetHubPort *port;

    if (!hub) {
        hub = net_hub_new(hubid, true);
    }
    port = container_of(net_client_new(&net_hub_port_info, peer, "hubport",
                                       name), NetHubPort, nc);
    port->vlan = vlan;
    port->log_mac = true;
    net_hub_add_port(hub, port);
    net_client_set_info_str(&port->nc, "hub %d%s,vlan=%u", (int)hubid,
                            hub->learning ? "" : ",learning=off", vlan);
    return &port->nc;
}

void net_hub_port_set_gone(NetClientState *nc, void (*gone)(void *opaque),
                           void *opaque)
{
    NetHubPort *port = container_of(nc, NetHubPort, nc);

    g_assert(nc->info == &net_hub_port_info);
    port->gone = gone;
    port->gone_opaque = opaque;
}

bool net_hub_port_first_mac(NetClientState *nc, uint8_t mac[6])
{
    NetHubPort *port = container_of(nc, NetHubPort, nc);

    if (nc->info != &net_hub_port_info || !port->mac_known) {
        return false;
    }
    memcpy(mac, port->mac, 6);
    return true;
}

int32_t net_hub_port_hubid(NetClientState *nc)
{
    return nc && nc->info == &net_hub_port_info
           ? container_of(nc, NetHubPort, nc)->hub->id : -1;
}

