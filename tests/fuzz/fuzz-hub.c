/*
 * DOC: fuzz-hub: frames into a learning hub with access and trunk ports
 *
 * One hub (net/hub.c) of 2 to 5 ports, each a real `-netdev hubport`
 * whose netdev= is a harness VM.  Each port is an access port or a trunk
 * of one of VLANs 1, 2, 100, 4094; learning on or off and mac-age= 1, 2
 * or 300 s, as the first bytes of the input say.  The hub's clock is the
 * harness's (net_hub_set_clock), moved on by the input, so aging happens
 * in microseconds of real time.
 *
 *   u8 learning/age, u8 ports, u8 per port (bit 0 trunk, bits 1-2 VLAN),
 *   then operations until the input ends: u8 op, operands
 *   SEND  u8 port, u8 dst, u8 src (< 16: one of 16 unicast MACs, 16:
 *         broadcast, 17: multicast, else 6 bytes from the input), u8 tag
 *         (0: none, else a tag of VID 0, 1, 2, 100, 4094, 4095 or a u16
 *         from the input), u16 ethertype, u8 payload length, u8 pieces
 *         (the frame goes as that many iovec pieces, 1-80), payload bytes
 *   RAW   u8 port, u8 len, bytes: any frame (also runts)
 *   TICK  u16 ms: the clock moves on
 *   LINK  u8 port, u8 up: set_link on the port's VM (down forgets MACs)
 *
 * Checked after every frame against a model of the hub written from its
 * documentation (net/hub.c's DOC): which ports get the frame (known
 * unicast to the learned port only, else a flood of the VLAN, never back
 * to the sender), byte for byte (the tag added for a trunk's non-native
 * VLAN, removed otherwise), and the drop counters (runt, VID 4095, tag on
 * an access port, too many pieces).  Freed after each input.
 */
#include <limits.h>
#include <string.h>

#include "fuzz-common.h"
#include "net/hub.h"
#include "net/net.h"
#include "net/netdev.h"

#define FUZZ_HUB_MAX_PORTS 5
#define FUZZ_HUB_MACS 16
#define FUZZ_HUB_ID 7
#define FUZZ_HUB_PIECES_MAX 80

typedef enum FuzzHubOp {
    FUZZ_HUB_SEND,
    FUZZ_HUB_RAW,
    FUZZ_HUB_TICK,
    FUZZ_HUB_LINK,
    FUZZ_HUB_OP_COUNT,
} FuzzHubOp;

typedef struct FuzzVm {
    NetClientState nc;
    unsigned got;               /* frames since the last check */
    uint8_t last[512];          /* the harness sends at most 273 bytes */
    size_t last_len;
} FuzzVm;

/* The model's MAC table: exact, no eviction (few MACs, big table). */
typedef struct FuzzHubEntry {
    uint8_t mac[6];
    uint16_t vlan;
    int port;
    int64_t seen;
} FuzzHubEntry;

typedef struct FuzzHub {
    FuzzInput in;
    unsigned nports;
    FuzzVm *vm[FUZZ_HUB_MAX_PORTS];
    NetClientState *port[FUZZ_HUB_MAX_PORTS];
    bool trunk[FUZZ_HUB_MAX_PORTS];
    uint16_t vlan[FUZZ_HUB_MAX_PORTS];
    bool down[FUZZ_HUB_MAX_PORTS];
    bool learning;
    int64_t age_us;
    GArray *table;              /* FuzzHubEntry */
} FuzzHub;

static const uint16_t fuzz_hub_vlans[] = { 1, 2, 100, 4094 };
static const uint16_t fuzz_hub_vids[] = { 0, 1, 2, 100, 4094, 4095 };
static int64_t fuzz_hub_now;

static int64_t fuzz_hub_clock(void)
{
    return fuzz_hub_now;
}

/* ---- the VMs ------------------------------------------------------------ */

static ssize_t fuzz_vm_receive(NetClientState *nc, const uint8_t *buf,
                               size_t len)
{
    FuzzVm *vm = container_of(nc, FuzzVm, nc);

    fuzz_check(len <= sizeof(vm->last), "a frame of %zu bytes", len);
    vm->got++;
    memcpy(vm->last, buf, len);
    vm->last_len = len;
    return (ssize_t)len;
}

static const NetClientInfo fuzz_vm_info = {
    .type = NET_CLIENT_DRIVER_SOCKET,
    .type_name = "fuzz-vm",
    .size = sizeof(FuzzVm),
    .receive = fuzz_vm_receive,
};

/* ---- the model ---------------------------------------------------------- */

static FuzzHubEntry *fuzz_hub_model_find(FuzzHub *h, const uint8_t *mac,
                                         uint16_t vlan)
{
    for (guint i = 0; i < h->table->len; i++) {
        FuzzHubEntry *e = &g_array_index(h->table, FuzzHubEntry, i);

        if (e->vlan == vlan && memcmp(e->mac, mac, 6) == 0) {
            return e;
        }
    }
    return NULL;
}

static void fuzz_hub_model_learn(FuzzHub *h, const uint8_t *mac,
                                 uint16_t vlan, int port)
{
    FuzzHubEntry *e = fuzz_hub_model_find(h, mac, vlan);
    FuzzHubEntry n = { .vlan = vlan };

    if (!e) {
        memcpy(n.mac, mac, 6);
        g_array_append_val(h->table, n);
        e = &g_array_index(h->table, FuzzHubEntry, h->table->len - 1);
    }
    e->port = port;
    e->seen = fuzz_hub_now;
}

static void fuzz_hub_model_forget(FuzzHub *h, int port)
{
    for (guint i = 0; i < h->table->len; i++) {
        FuzzHubEntry *e = &g_array_index(h->table, FuzzHubEntry, i);

        if (e->port == port) {
            e->port = -1;
        }
    }
}

/* The port a unicast @mac on @vlan goes to, or -1: flood. */
static int fuzz_hub_model_dest(FuzzHub *h, const uint8_t *mac, uint16_t vlan)
{
    FuzzHubEntry *e = fuzz_hub_model_find(h, mac, vlan);

    if (!e || e->port < 0 || fuzz_hub_now - e->seen > h->age_us) {
        return -1;
    }
    return e->port;
}

/* ---- sending and checking ----------------------------------------------- */

/* What port @p must get of frame @f (@len bytes, VLAN @vlan, tag @skip-12). */
static void fuzz_hub_expect(FuzzHub *h, unsigned p, const uint8_t *f,
                            size_t len, size_t skip, uint16_t vlan)
{
    FuzzVm *vm = h->vm[p];
    uint8_t want[sizeof(vm->last)];
    size_t n = 12;

    fuzz_check(vm->got == 1, "port %u got %u frames, 1 expected", p,
               vm->got);
    memcpy(want, f, 12);
    if (h->trunk[p] && vlan != h->vlan[p]) {
        want[n++] = 0x81;
        want[n++] = 0x00;
        want[n++] = (uint8_t)(vlan >> 8);
        want[n++] = (uint8_t)vlan;
    }
    memcpy(want + n, f + skip, len - skip);
    n += len - skip;
    fuzz_check(vm->last_len == n && memcmp(vm->last, want, n) == 0,
               "port %u: %zu bytes, %zu expected (or other bytes)", p,
               vm->last_len, n);
}

/* Sends @f from port @s's VM in @pieces iovecs and checks what happened. */
static void fuzz_hub_send(FuzzHub *h, unsigned s, const uint8_t *f,
                          size_t len, unsigned pieces)
{
    struct iovec iov[FUZZ_HUB_PIECES_MAX];
    NetClientStats before = h->port[s]->stats;
    bool tagged = len >= 18 && f[12] == 0x81 && f[13] == 0x00;
    size_t skip = tagged ? 16 : 12, cut = 0;
    uint16_t vid = tagged ? (uint16_t)((f[14] << 8 | f[15]) & 0xfff) : 0;
    uint16_t vlan = vid ? vid : h->vlan[s];
    unsigned tail_pieces = 0;
    int dest = -2;              /* -2: nowhere, -1: flood */

    pieces = len ? 1 + pieces % MIN(len, FUZZ_HUB_PIECES_MAX) : 1;
    for (unsigned i = 0; i < pieces; i++) {
        size_t next = i + 1 == pieces ? len : len * (i + 1) / pieces;

        iov[i] = (struct iovec){ (uint8_t *)f + cut, next - cut };
        tail_pieces += next > skip && next > cut;
        cut = next;
    }
    for (unsigned p = 0; p < h->nports; p++) {
        h->vm[p]->got = 0;
    }
    net_client_send_iov_async(&h->vm[s]->nc, iov, (int)pieces, NULL);
    fuzz_trace("send %zu bytes in %u pieces from port %u, vlan %u", len,
               pieces, s, vlan);
    if (h->down[s] || len == 0) {
        dest = -2;
    } else if (len >= 14 && tagged && !h->trunk[s]) {
        fuzz_check(h->port[s]->stats.dropped_by[NET_DROP_VLAN] ==
                   before.dropped_by[NET_DROP_VLAN] + 1,
                   "a tagged frame on an access port not counted");
    } else if (len < 14 || (tagged && vid == 4095) || tail_pieces > 64) {
        fuzz_check(h->port[s]->stats.dropped_by[NET_DROP_MALFORMED] ==
                   before.dropped_by[NET_DROP_MALFORMED] + 1,
                   "a malformed frame not counted");
    } else {
        if (h->learning && !(f[6] & 1)) {
            fuzz_hub_model_learn(h, f + 6, vlan, (int)s);
        }
        dest = h->learning && !(f[0] & 1) ? fuzz_hub_model_dest(h, f, vlan)
                                          : -1;
    }
    for (unsigned p = 0; p < h->nports; p++) {
        bool gets = p != s && !h->down[p] &&
                    (dest == -1 ? h->trunk[p] || h->vlan[p] == vlan
                                : dest == (int)p);

        if (dest == -2 || !gets) {
            fuzz_check(h->vm[p]->got == 0, "port %u got a frame (from "
                       "port %u, dest %d)", p, s, dest);
        } else {
            fuzz_hub_expect(h, p, f, len, skip, vlan);
        }
    }
}

/* A MAC address operand. */
static void fuzz_hub_mac(FuzzHub *h, uint8_t *mac)
{
    uint8_t sel = fuzz_u8(&h->in);

    if (sel < FUZZ_HUB_MACS) {
        memcpy(mac, "\x52\x54\x00\x00\x00", 5);
        mac[5] = sel;
    } else if (sel == FUZZ_HUB_MACS) {
        memset(mac, 0xff, 6);
    } else if (sel == FUZZ_HUB_MACS + 1) {
        memcpy(mac, "\x01\x00\x5e\x00\x00\x01", 6);
    } else {
        memset(mac, 0, 6);
        fuzz_bytes(&h->in, mac, 6);
    }
}

static void fuzz_hub_op_send(FuzzHub *h)
{
    static uint8_t f[18 + 256];       /* addresses, tag, type, payload */
    unsigned s = fuzz_u8(&h->in) % h->nports;
    uint8_t tag;
    size_t n = 12, plen;
    unsigned pieces;

    fuzz_hub_mac(h, f);
    fuzz_hub_mac(h, f + 6);
    tag = fuzz_u8(&h->in);
    if (tag) {
        uint16_t vid = tag <= G_N_ELEMENTS(fuzz_hub_vids)
                       ? fuzz_hub_vids[tag - 1] : fuzz_u16(&h->in);

        f[n++] = 0x81;
        f[n++] = 0x00;
        f[n++] = (uint8_t)(vid >> 8);
        f[n++] = (uint8_t)vid;
    }
    f[n++] = fuzz_u8(&h->in);
    f[n++] = fuzz_u8(&h->in);
    plen = fuzz_u8(&h->in);
    pieces = fuzz_u8(&h->in);
    memset(f + n, 0, plen);
    fuzz_bytes(&h->in, f + n, plen);
    fuzz_hub_send(h, s, f, n + plen, pieces);
}

static void fuzz_hub_op_raw(FuzzHub *h)
{
    static uint8_t f[256];
    unsigned s = fuzz_u8(&h->in) % h->nports;
    size_t len = fuzz_u8(&h->in);

    len = fuzz_bytes(&h->in, f, len);
    fuzz_hub_send(h, s, f, len, 0);
}

static void fuzz_hub_op_link(FuzzHub *h)
{
    unsigned p = fuzz_u8(&h->in) % h->nports;
    bool up = fuzz_u8(&h->in) & 1;

    fuzz_trace("link %u %s", p, up ? "up" : "down");
    net_client_set_link(&h->vm[p]->nc, up);
    h->down[p] = !up;
    if (!up) {
        fuzz_hub_model_forget(h, (int)p);
    }
}

/* ---- setup -------------------------------------------------------------- */

static void fuzz_hub_create(FuzzHub *h)
{
    static const unsigned ages[] = { 1, 2, 300 };
    uint8_t how = fuzz_u8(&h->in);
    unsigned age = ages[(how >> 1) % G_N_ELEMENTS(ages)];

    h->learning = !(how & 1);
    h->age_us = (int64_t)age * G_USEC_PER_SEC;
    h->nports = 2 + fuzz_u8(&h->in) % (FUZZ_HUB_MAX_PORTS - 1);
    for (unsigned p = 0; p < h->nports; p++) {
        uint8_t cfg = fuzz_u8(&h->in);
        g_autoptr(GError) err = NULL;
        g_autoptr(Netdev) netdev = NULL;
        g_autofree char *vm = g_strdup_printf("fuzz-vm%u", p);
        g_autofree char *id = g_strdup_printf("fuzz-port%u", p);
        g_autofree char *opts = NULL;

        h->trunk[p] = cfg & 1;
        h->vlan[p] = fuzz_hub_vlans[(cfg >> 1) % G_N_ELEMENTS(fuzz_hub_vlans)];
        h->vm[p] = (FuzzVm *)net_client_new(&fuzz_vm_info, NULL, "fuzz-vm",
                                            vm);
        opts = g_strdup_printf("hubport,id=%s,hubid=%d,netdev=%s,vlan=%u,"
                               "trunk=%s%s", id, FUZZ_HUB_ID, vm,
                               h->vlan[p], h->trunk[p] ? "on" : "off",
                               p ? "" : h->learning ? ",learning=on"
                                                    : ",learning=off");
        if (p == 0) {
            g_autofree char *with_age = g_strdup_printf("%s,mac-age=%u",
                                                        opts, age);
            g_free(opts);
            opts = g_steal_pointer(&with_age);
        }
        netdev = netdev_parse(opts, &err);
        fuzz_check(netdev && netdev_add(netdev, &err), "%s: %s", opts,
                   err ? err->message : "?");
        h->port[p] = net_client_find(id);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    net_hub_set_clock(fuzz_hub_clock);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzHub h = { 0 };

    fuzz_hub_now = 1000 * G_USEC_PER_SEC;
    fuzz_input_init(&h.in, data, size);
    h.table = g_array_new(FALSE, FALSE, sizeof(FuzzHubEntry));
    fuzz_hub_create(&h);
    while (!fuzz_input_empty(&h.in)) {
        switch (fuzz_u8(&h.in) % FUZZ_HUB_OP_COUNT) {
        case FUZZ_HUB_SEND:
            fuzz_hub_op_send(&h);
            break;
        case FUZZ_HUB_RAW:
            fuzz_hub_op_raw(&h);
            break;
        case FUZZ_HUB_TICK:
            fuzz_hub_now += (int64_t)fuzz_u16(&h.in) * 1000;
            break;
        default:
            fuzz_hub_op_link(&h);
            break;
        }
    }
    fuzz_check(net_hub_mac_count(FUZZ_HUB_ID) <= (int)h.table->len,
               "the hub knows %d MACs, it was shown %u",
               net_hub_mac_count(FUZZ_HUB_ID), h.table->len);
    for (unsigned p = 0; p < h.nports; p++) {
        net_client_free(h.port[p]);
        net_client_free(&h.vm[p]->nc);
    }
    fuzz_check(net_hub_mac_count(FUZZ_HUB_ID) == -1, "the hub outlived "
               "its ports");
    g_array_unref(h.table);
    return 0;
}
