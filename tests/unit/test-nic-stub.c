/*
 * Unit tests of the nic-stub model: its tiny host's answers (ARP, ICMP
 * echo, IPv6 neighbour discovery and ICMPv6 echo), its robustness against arbitrary frames, and its RX ring's
 * backpressure towards a backend, driven through the real net core.
 */
#include <glib.h>
#include <string.h>

#include "hw/device.h"
#include "hw/nic-stub-guest.h"
#include "hw/nic-stub.h"
#include "net/net.h"

static const NicStubAddr stub_addr = {
    .mac = { 0x52, 0x54, 0x00, 0x00, 0x02, 0x64 },
    .has_ip = true,
    .ip = { 10, 0, 2, 100 },
    .prefix = 24,
    .has_ip6 = true,
    .ip6 = { 0xfd, 0x00, [14] = 0x01, [15] = 0x00 },     /* fd00::100 */
    .prefix6 = 64,
};
static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t guest_ip[4] = { 10, 0, 2, 15 };
static const uint8_t guest_ip6[16] = { 0xfd, 0x00, [15] = 0x15 };
/* fe80::5054:ff:fe00:264, the EUI-64 of the stub's MAC */
static const uint8_t stub_link_local[16] = {
    0xfe, 0x80, [8] = 0x50, 0x54, 0x00, 0xff, 0xfe, 0x00, 0x02, 0x64 };

static size_t build_arp_request(uint8_t *f, const uint8_t *target_ip)
{
    static const uint8_t head[] = { 0, 1, 8, 0, 6, 4, 0, 1 };

    memset(f, 0xff, 6);
    memcpy(f + 6, guest_mac, 6);
    f[12] = 0x08; f[13] = 0x06;
    memcpy(f + 14, head, sizeof(head));
    memcpy(f + 22, guest_mac, 6);
    memcpy(f + 28, guest_ip, 4);
    memset(f + 32, 0, 6);
    memcpy(f + 38, target_ip, 4);
    return 42;
}

static size_t build_echo_request(uint8_t *f, size_t payload)
{
    uint8_t *ip = f + 14, *icmp = ip + 20;
    size_t total = 20 + 8 + payload;
    uint16_t sum;

    memcpy(f, stub_addr.mac, 6);
    memcpy(f + 6, guest_mac, 6);
    f[12] = 0x08; f[13] = 0x00;
    memset(ip, 0, 20);
    ip[0] = 0x45; ip[2] = total >> 8; ip[3] = total & 0xff;
    ip[8] = 64; ip[9] = 1;
    memcpy(ip + 12, guest_ip, 4);
    memcpy(ip + 16, stub_addr.ip, 4);
    sum = inet_checksum(ip, 20);
    ip[10] = sum >> 8; ip[11] = sum & 0xff;
    memset(icmp, 0, 8);
    icmp[0] = 8; icmp[5] = 7; icmp[7] = 1;          /* id 7, seq 1 */
    for (size_t i = 0; i < payload; i++) {
        icmp[8 + i] = (uint8_t)i;
    }
    sum = inet_checksum(icmp, 8 + payload);
    icmp[2] = sum >> 8; icmp[3] = sum & 0xff;
    return 14 + total;
}

static void test_arp_reply(void)
{
    uint8_t req[64], reply[128];
    size_t len = build_arp_request(req, stub_addr.ip), reply_len;

    g_assert_cmpint(nic_stub_guest_respond(&stub_addr, req, len, reply,
                                           sizeof(reply), &reply_len),
                    ==, NIC_STUB_REPLY_ARP);
    g_assert_cmpuint(reply_len, ==, 42);
    g_assert_cmpmem(reply, 6, guest_mac, 6);            /* to the asker */
    g_assert_cmpmem(reply + 6, 6, stub_addr.mac, 6);
    g_assert_cmpint(reply[21], ==, 2);                  /* op = reply */
    g_assert_cmpmem(reply + 22, 6, stub_addr.mac, 6);   /* sender hw */
    g_assert_cmpmem(reply + 28, 4, stub_addr.ip, 4);    /* sender ip */
    g_assert_cmpmem(reply + 32, 6, guest_mac, 6);
    g_assert_cmpmem(reply + 38, 4, guest_ip, 4);
}

static void test_arp_other_ip_ignored(void)
{
    static const uint8_t other[4] = { 10, 0, 2, 99 };
    uint8_t req[64], reply[128];
    size_t len = build_arp_request(req, other), reply_len = 1;

    g_assert_cmpint(nic_stub_guest_respond(&stub_addr, req, len, reply,
                                           sizeof(reply), &reply_len),
                    ==, NIC_STUB_REPLY_NONE);
    g_assert_cmpuint(reply_len, ==, 0);
}

static void test_echo_reply(void)
{
    static uint8_t req[2048], reply[2048];
    size_t len = build_echo_request(req, 1000), reply_len;
    const uint8_t *ip = reply + 14, *icmp = ip + 20;

    g_assert_cmpint(nic_stub_guest_respond(&stub_addr, req, len, reply,
                                           sizeof(reply), &reply_len),
                    ==, NIC_STUB_REPLY_ICMP_ECHO);
    g_assert_cmpuint(reply_len, ==, len);
    g_assert_cmpmem(reply, 6, guest_mac, 6);
    g_assert_cmpmem(ip + 12, 4, stub_addr.ip, 4);
    g_assert_cmpmem(ip + 16, 4, guest_ip, 4);
    g_assert_cmpint(icmp[0], ==, 0);                    /* echo reply */
    g_assert_cmpuint(inet_checksum(ip, 20), ==, 0);     /* valid sums */
    g_assert_cmpuint(inet_checksum(icmp, len - 34), ==, 0);
    g_assert_cmpmem(icmp + 4, len - 38, req + 38, len - 38);  /* id..data */
}

/* An echo request for our IP sent to another MAC is not ours to answer. */
static void test_echo_other_mac_ignored(void)
{
    static uint8_t req[2048], reply[2048];
    size_t len = build_echo_request(req, 56), reply_len;

    req[5] ^= 1;
    g_assert_cmpint(nic_stub_guest_respond(&stub_addr, req, len, reply,
                                           sizeof(reply), &reply_len),
                    ==, NIC_STUB_REPLY_NONE);
}

static void test_no_ip_no_reply(void)
{
    NicStubAddr silent = stub_addr;
    uint8_t req[64], reply[128];
    size_t len = build_arp_request(req, stub_addr.ip), reply_len;

    silent.has_ip = false;
    g_assert_cmpint(nic_stub_guest_respond(&silent, req, len, reply,
                                           sizeof(reply), &reply_len),
                    ==, NIC_STUB_REPLY_NONE);
}

/*
 * The ICMPv6 checksum computed the plain way, independently of
 * icmp6_checksum(): the pseudo-header and the message laid out in one
 * buffer, summed by inet_checksum().
 */
static uint16_t ref_icmp6_sum(const uint8_t *ip6)
{
    static uint8_t buf[40 + 2048];
    size_t plen = (size_t)(ip6[4] << 8 | ip6[5]);

    g_assert_cmpuint(plen, <=, 2048);
    memset(buf, 0, 40);
    memcpy(buf, ip6 + 8, 32);                   /* source, destination */
    buf[34] = plen >> 8; buf[35] = plen & 0xff; /* upper-layer length */
    buf[39] = 58;                               /* next header */
    memcpy(buf + 40, ip6 + 40, plen);
    return inet_checksum(buf, 40 + plen);
}

/* Ethernet + IPv6 header for @plen bytes of ICMPv6; returns the ICMPv6. */
static uint8_t *build_ip6(uint8_t *f, const uint8_t *dst_mac,
                          const uint8_t *src, const uint8_t *dst,
                          size_t plen, uint8_t hops)
{
    uint8_t *ip6 = f + 14;

    memcpy(f, dst_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    f[12] = 0x86; f[13] = 0xdd;
    memset(ip6, 0, 8);
    ip6[0] = 0x60; ip6[4] = plen >> 8; ip6[5] = plen & 0xff;
    ip6[6] = 58; ip6[7] = hops;
    memcpy(ip6 + 8, src, 16);
    memcpy(ip6 + 24, dst, 16);
    return ip6 + 40;
}

static void set_icmp6_sum(uint8_t *f)
{
    uint16_t sum;

    f[14 + 40 + 2] = f[14 + 40 + 3] = 0;
    sum = ref_icmp6_sum(f + 14);
    f[14 + 40 + 2] = sum >> 8; f[14 + 40 + 3] = sum & 0xff;
}

/*
 * A neighbour solicitation for @target from the guest, to the solicited-
 * node group of @target (or, @unicast, to @target and the stub's MAC),
 * with a source link-layer address option.
 */
static size_t build_ns(uint8_t *f, const uint8_t *target, bool unicast)
{
    uint8_t group[16] = { 0xff, 0x02, [11] = 0x01, 0xff };
    uint8_t group_mac[6] = { 0x33, 0x33, 0xff };
    uint8_t *icmp;

    memcpy(group + 13, target + 13, 3);
    memcpy(group_mac + 3, target + 13, 3);
    icmp = build_ip6(f, unicast ? stub_addr.mac : group_mac, guest_ip6,
                     unicast ? target : group, 32, 255);
    memset(icmp, 0, 8);
    icmp[0] = 135;
    memcpy(icmp + 8, target, 16);
    icmp[24] = 1; icmp[25] = 1;                 /* source lladdr, 8 bytes */
    memcpy(icmp + 26, guest_mac, 6);
    set_icmp6_sum(f);
    return 14 + 40 + 32;
}

static size_t build_echo6(uint8_t *f, const uint8_t *dst, size_t payload)
{
    uint8_t *icmp = build_ip6(f, stub_addr.mac, guest_ip6, dst, 8 + payload,
                              64);

    memset(icmp, 0, 8);
    icmp[0] = 128; icmp[5] = 9; icmp[7] = 3;    /* id 9, seq 3 */
    for (size_t i = 0; i < payload; i++) {
        icmp[8 + i] = (uint8_t)(i * 7);
    }
    set_icmp6_sum(f);
    return 14 + 40 + 8 + payload;
}

static NicStubReplyKind respond(const uint8_t *req, size_t len,
                                uint8_t *reply, size_t *reply_len)
{
    return nic_stub_guest_respond(&stub_addr, req, len, reply, 2048,
                                  reply_len);
}

/* The exact neighbour advertisement for @target, sent to @dst / @dst_mac. */
static void check_na(const uint8_t *reply, size_t reply_len,
                     const uint8_t *target, const uint8_t *dst_mac,
                     const uint8_t *dst, uint8_t flags)
{
    static const uint8_t ip6_head[8] = { 0x60, 0, 0, 0, 0, 32, 58, 255 };
    uint8_t icmp[32] = { 136, 0, 0, 0, flags };

    g_assert_cmpuint(reply_len, ==, 14 + 40 + 32);
    g_assert_cmpmem(reply, 6, dst_mac, 6);
    g_assert_cmpmem(reply + 6, 6, stub_addr.mac, 6);
    g_assert_cmpint(reply[12], ==, 0x86);
    g_assert_cmpint(reply[13], ==, 0xdd);
    g_assert_cmpmem(reply + 14, 8, ip6_head, 8);
    g_assert_cmpmem(reply + 22, 16, target, 16);        /* from the target */
    g_assert_cmpmem(reply + 38, 16, dst, 16);
    memcpy(icmp + 8, target, 16);
    icmp[24] = 2; icmp[25] = 1;                         /* target lladdr */
    memcpy(icmp + 26, stub_addr.mac, 6);
    memcpy(icmp + 2, reply + 56, 2);                    /* checked below */
    g_assert_cmpmem(reply + 54, 32, icmp, 32);
    g_assert_cmpuint(ref_icmp6_sum(reply + 14), ==, 0);
    g_assert_cmpuint(reply[56] | reply[57], !=, 0);
}

static void test_ns_reply(void)
{
    static uint8_t req[2048], reply[2048];
    size_t reply_len;

    for (int unicast = 0; unicast < 2; unicast++) {
        size_t len = build_ns(req, stub_addr.ip6, unicast);

        g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                        NIC_STUB_REPLY_NEIGHBOR_ADVERT);
        check_na(reply, reply_len, stub_addr.ip6, guest_mac, guest_ip6,
                 0x60);                                 /* S + O */
    }
}

static void test_ns_link_local(void)
{
    static uint8_t req[2048], reply[2048];
    size_t len = build_ns(req, stub_link_local, false), reply_len;
    uint8_t computed[16];

    nic_stub_link_local(stub_addr.mac, computed);
    g_assert_cmpmem(computed, 16, stub_link_local, 16);
    g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                    NIC_STUB_REPLY_NEIGHBOR_ADVERT);
    check_na(reply, reply_len, stub_link_local, guest_mac, guest_ip6, 0x60);
}

/* Duplicate address detection of our address: defended to all-nodes. */
static void test_ns_dad(void)
{
    static const uint8_t unspecified[16];
    static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
    static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
    static uint8_t req[2048], reply[2048];
    size_t len = build_ns(req, stub_addr.ip6, false), reply_len;

    memcpy(req + 22, unspecified, 16);
    req[14 + 4 + 1] = 24;                       /* no source lladdr option */
    set_icmp6_sum(req);
    g_assert_cmpint(respond(req, len - 8, reply, &reply_len), ==,
                    NIC_STUB_REPLY_NEIGHBOR_ADVERT);
    check_na(reply, reply_len, stub_addr.ip6, all_nodes_mac, all_nodes,
             0x20);                                     /* O only */
    req[14 + 4 + 1] = 32;                       /* with one: invalid */
    set_icmp6_sum(req);
    g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                    NIC_STUB_REPLY_NONE);
}

/* Solicitations that are not ours to answer, or malformed. */
static void test_ns_ignored(void)
{
    static const uint8_t other[16] = { 0xfd, 0x00, [14] = 0x01, 0x01 };
    static uint8_t req[2048], reply[2048];
    size_t len, reply_len = 1;
    NicStubAddr no_ip6 = stub_addr;

    len = build_ns(req, other, false);          /* another target */
    g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                    NIC_STUB_REPLY_NONE);
    g_assert_cmpuint(reply_len, ==, 0);
    len = build_ns(req, other, true);
    g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                    NIC_STUB_REPLY_NONE);
    len = build_ns(req, stub_addr.ip6, false);
    req[5] ^= 1;                                /* another group's MAC */
    g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                    NIC_STUB_REPLY_NONE);
    len = build_ns(req, stub_addr.ip6, true);
    req[5] ^= 1;                                /* another unicast MAC */
    g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                    NIC_STUB_REPLY_NONE);
    len = build_ns(req, stub_addr.ip6, false);
    req[21] = 254;                              /* routed: hop limit */
    set_icmp6_sum(req);
    g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                    NIC_STUB_REPLY_NONE);
    len = build_ns(req, stub_addr.ip6, false);
    req[len - 1] ^= 1;                          /* bad checksum */
    g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                    NIC_STUB_REPLY_NONE);
    len = build_ns(req, stub_addr.ip6, false);
    req[14 + 40 + 25] = 0;                      /* zero-length option */
    set_icmp6_sum(req);
    g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                    NIC_STUB_REPLY_NONE);
    len = build_ns(req, stub_addr.ip6, false);
    no_ip6.has_ip6 = false;
    g_assert_cmpint(nic_stub_guest_respond(&no_ip6, req, len, reply,
                                           sizeof(reply), &reply_len),
                    ==, NIC_STUB_REPLY_NONE);
}

static void test_echo6_reply(void)
{
    static uint8_t req[2048], reply[2048];
    const uint8_t *targets[] = { stub_addr.ip6, stub_link_local };

    for (size_t t = 0; t < G_N_ELEMENTS(targets); t++) {
        size_t len = build_echo6(req, targets[t], 1000), reply_len;

        g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                        NIC_STUB_REPLY_ICMP6_ECHO);
        g_assert_cmpuint(reply_len, ==, len);
        g_assert_cmpmem(reply, 6, guest_mac, 6);
        g_assert_cmpmem(reply + 6, 6, stub_addr.mac, 6);
        g_assert_cmpmem(reply + 12, 6, req + 12, 6);    /* type .. plen */
        g_assert_cmpint(reply[20], ==, 58);
        g_assert_cmpint(reply[21], ==, 64);             /* hop limit */
        g_assert_cmpmem(reply + 22, 16, targets[t], 16);
        g_assert_cmpmem(reply + 38, 16, guest_ip6, 16);
        g_assert_cmpint(reply[54], ==, 129);            /* echo reply */
        g_assert_cmpint(reply[55], ==, 0);
        g_assert_cmpuint(ref_icmp6_sum(reply + 14), ==, 0);
        g_assert_cmpmem(reply + 58, len - 58, req + 58, len - 58);
    }
}

static void test_echo6_ignored(void)
{
    static const uint8_t other[16] = { 0xfd, 0x00, [14] = 0x01, 0x01 };
    static uint8_t req[2048], reply[2048];
    size_t len, reply_len;

    len = build_echo6(req, other, 56);          /* another address */
    g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                    NIC_STUB_REPLY_NONE);
    len = build_echo6(req, stub_addr.ip6, 56);
    req[5] ^= 1;                                /* another MAC */
    g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                    NIC_STUB_REPLY_NONE);
    len = build_echo6(req, stub_addr.ip6, 56);
    req[20] = 0;                                /* hop-by-hop header */
    set_icmp6_sum(req);
    g_assert_cmpint(respond(req, len, reply, &reply_len), ==,
                    NIC_STUB_REPLY_NONE);
    len = build_echo6(req, stub_addr.ip6, 56);  /* no room for the reply */
    g_assert_cmpint(nic_stub_guest_respond(&stub_addr, req, len, reply,
                                           len - 1, &reply_len),
                    ==, NIC_STUB_REPLY_NONE);
    g_assert_cmpuint(reply_len, ==, 0);
}

/*
 * Every truncation of a valid request (ARP, ICMP, NS, ICMPv6 echo) is
 * ignored; random bytes, half the time behind plausible headers, never
 * make the host read or write out of bounds (ASan) nor overrun @reply_cap.
 */
static void test_garbage_frames(void)
{
    static uint8_t req[2048], reply[2048];
    size_t reply_len;
    GRand *rand = g_rand_new_with_seed(42);

    for (int kind = 0; kind < 5; kind++) {
        size_t full = kind == 0 ? build_echo_request(req, 200) :
                      kind == 1 ? build_arp_request(req, stub_addr.ip) :
                      kind == 2 ? build_ns(req, stub_addr.ip6, false) :
                      kind == 3 ? build_ns(req, stub_link_local, true) :
                      build_echo6(req, stub_addr.ip6, 200);
        /* the copy ends where the frame does: ASan sees any overread */
        uint8_t *copy = g_malloc(full);

        g_assert_cmpint(respond(req, full, reply, &reply_len), !=,
                        NIC_STUB_REPLY_NONE);
        for (size_t len = 0; len < full; len++) {
            memcpy(copy + full - len, req, len);
            g_assert_cmpint(respond(copy + full - len, len, reply,
                                    &reply_len), ==, NIC_STUB_REPLY_NONE);
        }
        g_free(copy);
    }
    for (int i = 0; i < 40000; i++) {
        size_t len = g_rand_int_range(rand, 0, 300);
        uint8_t *frame = g_malloc(len ? len : 1);

        for (size_t j = 0; j < len; j++) {
            frame[j] = (uint8_t)g_rand_int(rand);
        }
        if ((i & 1) && len >= 62) {     /* plausible headers half the time */
            static const uint16_t types[] = { 0x0806, 0x0800, 0x86dd };
            uint16_t type = types[(i >> 1) % 3];

            frame[12] = type >> 8; frame[13] = type & 0xff;
            frame[14] = type == 0x86dd ? 0x60 : 0x45;
            if (type == 0x86dd) {       /* ICMPv6 NS or echo, fitting */
                frame[18] = 0; frame[19] = (uint8_t)(len - 54);
                frame[20] = 58; frame[54] = (i & 4) ? 135 : 128;
                if (i & 8) {
                    memcpy(frame + 62, stub_addr.ip6,
                           MIN(16, len - 62));
                }
                if (i & 16) {           /* a valid checksum: go deeper */
                    set_icmp6_sum(frame);
                }
            }
        }
        nic_stub_guest_respond(&stub_addr, frame, len, reply, 64,
                               &reply_len);
        g_assert_cmpuint(reply_len, <=, 64);
        g_free(frame);
    }
    g_rand_free(rand);
}

/*
 * A fake backend peered with a real nic-stub.  It sends ARP requests with
 * the async API and honours the flow-control rule; it refuses replies while
 * `refuse` is set, as a socket with a full transmit buffer would.
 */
typedef struct FakeBackend {
    NetClientState nc;
    bool refuse;
    bool paused;            /* waiting for a completion callback */
    unsigned replies;
} FakeBackend;

static ssize_t fake_receive(NetClientState *nc, const uint8_t *buf,
                            size_t size)
{
    FakeBackend *b = container_of(nc, FakeBackend, nc);

    if (b->refuse) {
        return 0;
    }
    g_assert_cmpuint(size, ==, 42);
    g_assert_cmpint(buf[21], ==, 2);
    b->replies++;
    return (ssize_t)size;
}

static const NetClientInfo fake_backend_info = {
    .type = NET_CLIENT_DRIVER_SOCKET,
    .type_name = "fake",
    .size = sizeof(FakeBackend),
    .receive = fake_receive,
};

static void fake_sent(NetClientState *nc, ssize_t len)
{
    container_of(nc, FakeBackend, nc)->paused = false;
}

/*
 * nic_stub_device_add() from a -device string, as the command line gets
 * there: string -> key=value -> JSON -> visitor (device_parse) -> model.
 */
static bool stub_add(const char *str, GError **errp)
{
    g_autoptr(DeviceOptions) opts = device_parse(str, errp);

    return opts && nic_stub_device_add(opts->has_id ? opts->id : NULL,
                                       &opts->u.nic_stub, errp);
}

static void run_loop(unsigned iterations)
{
    for (unsigned i = 0; i < iterations; i++) {
        g_main_context_iteration(NULL, false);
    }
}

static void test_backpressure_lossless(void)
{
    FakeBackend *b = (FakeBackend *)net_client_new(&fake_backend_info, NULL,
                                                   "fake", "b0");
    uint8_t req[64];
    size_t len = build_arp_request(req, stub_addr.ip);
    unsigned sent = 0, total = 3000, stalls = 0;

    g_assert_true(stub_add("nic-stub,id=s0,netdev=b0,mac=52:54:00:00:02:64,"
                           "ip=10.0.2.100", NULL));
    b->refuse = true;               /* replies back up into the stub */
    while (sent < total) {
        if (b->paused) {
            stalls++;
            b->refuse = false;      /* take replies again, as promised */
            net_client_flush_queued(&b->nc);
            run_loop(4);
            continue;
        }
        if (net_client_send_async(&b->nc, req, len, fake_sent) == 0) {
            b->paused = true;
        }
        sent++;
        if (sent % 100 == 0) {
            run_loop(1);
        }
    }
    for (int i = 0; i < 1000 && b->replies < total; i++) {
        run_loop(1);
    }
    g_assert_cmpuint(stalls, >, 0);          /* backpressure happened */
    g_assert_cmpuint(b->replies, ==, total); /* and nothing was lost */
    g_assert_cmpuint(net_client_find("s0")->stats.dropped, ==, 0);
    net_cleanup();
}

static void test_device_errors(void)
{
    static const struct { const char *opts, *msg; } cases[] = {
        { "nic-stub,netdev=nope",
          "Property 'nic-stub.netdev' can't find value 'nope'" },
        { "nic-stub,mac=52:54:00:zz:00:01",
          "Property 'nic-stub.mac' doesn't take value '52:54:00:zz:00:01'" },
        { "nic-stub,mac=01:00:5e:00:00:01",
          "Property 'nic-stub.mac' doesn't take value '01:00:5e:00:00:01'" },
        { "nic-stub,ip=10.0.2.300",
          "Property 'nic-stub.ip' doesn't take value '10.0.2.300'" },
        { "nic-stub,ip=10.0.2.1/33",
          "Property 'nic-stub.ip' doesn't take value '10.0.2.1/33'" },
        { "nic-stub,ip6=fd00::x",
          "Property 'nic-stub.ip6' doesn't take value 'fd00::x'" },
        { "nic-stub,ip6=fd00::1/129",
          "Property 'nic-stub.ip6' doesn't take value 'fd00::1/129'" },
        { "nic-stub,ip6=fd00::1/",
          "Property 'nic-stub.ip6' doesn't take value 'fd00::1/'" },
        { "nic-stub,ip6=10.0.2.1",
          "Property 'nic-stub.ip6' doesn't take value '10.0.2.1'" },
        { "nic-stub,ip6=ff02::1",
          "Property 'nic-stub.ip6' doesn't take value 'ff02::1'" },
        { "nic-stub,ip6=::", "Property 'nic-stub.ip6' doesn't take value '::'" },
        { "nic-stub,speed=10", "Property 'nic-stub.speed' not found" },
        { "nic-stub,id=9s", "Parameter 'id' expects an identifier" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;

        g_assert_false(stub_add(cases[i].opts, &err));
        g_assert_cmpstr(err->message, ==, cases[i].msg);
    }
    g_assert_null(net_client_find("nic-stub"));
}

static void test_netdev_in_use(void)
{
    g_autoptr(GError) err = NULL;

    net_client_new(&fake_backend_info, NULL, "fake", "b1");
    g_assert_true(stub_add("nic-stub,id=s1,netdev=b1", NULL));
    g_assert_false(stub_add("nic-stub,id=s2,netdev=b1", &err));
    g_assert_cmpstr(err->message, ==,
                    "Property 'nic-stub.netdev' can't take value 'b1', "
                    "it's in use");
    net_cleanup();
}

/*
 * NICs without id= are named as QEMU names them, "MODEL.N" (e1000.0,
 * e1000.1): nic-stub.0, nic-stub.1; a name still in use is not given
 * again after a deletion.
 */
static void test_unnamed(void)
{
    net_client_new(&fake_backend_info, NULL, "fake", "b2");
    net_client_new(&fake_backend_info, NULL, "fake", "b3");
    g_assert_true(stub_add("nic-stub,netdev=b2", NULL));
    g_assert_true(stub_add("nic-stub", NULL));
    g_assert_true(net_client_find("nic-stub.0")->peer ==
                  net_client_find("b2"));
    g_assert_null(net_client_find("nic-stub.1")->peer);
    net_client_free(net_client_find("nic-stub.0"));
    g_assert_true(stub_add("nic-stub,netdev=b3", NULL));
    g_assert_true(net_client_find("nic-stub.2")->peer ==
                  net_client_find("b3"));
    g_assert_nonnull(net_client_find("nic-stub.1"));
    net_cleanup();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nic-stub/guest/arp-reply", test_arp_reply);
    g_test_add_func("/nic-stub/guest/arp-other-ip", test_arp_other_ip_ignored);
    g_test_add_func("/nic-stub/guest/echo-reply", test_echo_reply);
    g_test_add_func("/nic-stub/guest/echo-other-mac",
                    test_echo_other_mac_ignored);
    g_test_add_func("/nic-stub/guest/no-ip", test_no_ip_no_reply);
    g_test_add_func("/nic-stub/guest/ns-reply", test_ns_reply);
    g_test_add_func("/nic-stub/guest/ns-link-local", test_ns_link_local);
    g_test_add_func("/nic-stub/guest/ns-dad", test_ns_dad);
    g_test_add_func("/nic-stub/guest/ns-ignored", test_ns_ignored);
    g_test_add_func("/nic-stub/guest/echo6-reply", test_echo6_reply);
    g_test_add_func("/nic-stub/guest/echo6-ignored", test_echo6_ignored);
    g_test_add_func("/nic-stub/guest/garbage", test_garbage_frames);
    g_test_add_func("/nic-stub/device/backpressure-lossless",
                    test_backpressure_lossless);
    g_test_add_func("/nic-stub/device/errors", test_device_errors);
    g_test_add_func("/nic-stub/device/netdev-in-use", test_netdev_in_use);
    g_test_add_func("/nic-stub/device/unnamed", test_unnamed);
    return g_test_run();
}
