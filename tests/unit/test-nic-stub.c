/*
 * Unit tests of the nic-stub model: its tiny host's answers (ARP, ICMP
 * echo), its robustness against arbitrary frames, and its RX ring's
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
};
static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t guest_ip[4] = { 10, 0, 2, 15 };

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

/* Truncations of valid requests and random bytes: never out of bounds. */
static void test_garbage_frames(void)
{
    static uint8_t req[2048], reply[2048];
    size_t full = build_echo_request(req, 200), reply_len;
    GRand *rand = g_rand_new_with_seed(42);

    for (size_t len = 0; len < full; len++) {
        g_assert_cmpint(nic_stub_guest_respond(&stub_addr, req, len, reply,
                                               sizeof(reply), &reply_len),
                        ==, NIC_STUB_REPLY_NONE);
    }
    for (int i = 0; i < 20000; i++) {
        size_t len = g_rand_int_range(rand, 0, 300);

        for (size_t j = 0; j < len; j++) {
            req[j] = (uint8_t)g_rand_int(rand);
        }
        if (i & 1) {        /* make the headers plausible half the time */
            req[12] = 0x08; req[13] = (i & 2) ? 0x06 : 0x00;
            req[14] = 0x45;
        }
        nic_stub_guest_respond(&stub_addr, req, len, reply, 64, &reply_len);
        g_assert_cmpuint(reply_len, <=, 64);
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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nic-stub/guest/arp-reply", test_arp_reply);
    g_test_add_func("/nic-stub/guest/arp-other-ip", test_arp_other_ip_ignored);
    g_test_add_func("/nic-stub/guest/echo-reply", test_echo_reply);
    g_test_add_func("/nic-stub/guest/echo-other-mac",
                    test_echo_other_mac_ignored);
    g_test_add_func("/nic-stub/guest/no-ip", test_no_ip_no_reply);
    g_test_add_func("/nic-stub/guest/garbage", test_garbage_frames);
    g_test_add_func("/nic-stub/device/backpressure-lossless",
                    test_backpressure_lossless);
    g_test_add_func("/nic-stub/device/errors", test_device_errors);
    g_test_add_func("/nic-stub/device/netdev-in-use", test_netdev_in_use);
    return g_test_run();
}
