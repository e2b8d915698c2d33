/*
 * -netdev hubport: flooding, MAC learning and aging, VLANs, no
 * head-of-line blocking, teardown and option errors.  Test NICs
 * (net-test-clients.h) sit on the hub ports.
 */
#include "net/hub.h"
#include "net/netdev.h"
#include "net-test-clients.h"

static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

static void port_new(const char *opts)
{
    g_autoptr(GError) err = NULL;
    Netdev *netdev = netdev_parse(opts, &err);
    bool ok;

    g_assert_no_error(err);
    ok = netdev_add(netdev, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    qapi_free_Netdev(netdev);
}

/* A hub port from @opts with a test NIC @nic_name on it. */
static TestClient *nic_on_port(const char *port_id, const char *opts,
                               const char *nic_name)
{
    g_autofree char *full = g_strdup_printf("hubport,id=%s,%s", port_id,
                                            opts);
    TestClient *nic;

    port_new(full);
    nic = test_client_new(&test_nic_info, NULL, nic_name);
    net_client_set_peer(&nic->nc, net_client_find(port_id));
    return nic;
}

static void port_error(const char *opts, const char *message)
{
    g_autoptr(GError) err = NULL;
    Netdev *netdev = netdev_parse(opts, &err);

    if (netdev) {
        g_assert_false(netdev_add(netdev, &err));
        qapi_free_Netdev(netdev);
    }
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, message);
}

static const uint8_t mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_a[6] = { 0x52, 0x54, 0, 0, 0, 0xa };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0, 0, 0, 0xb };
static const uint8_t mac_c[6] = { 0x52, 0x54, 0, 0, 0, 0xc };

/* Send an IPv4-typed frame @dst <- @src of 64 bytes from @c. */
static void eth_send(TestClient *c, const uint8_t *dst, const uint8_t *src)
{
    uint8_t buf[64] = { 0 };

    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    buf[12] = 0x08;
    net_client_send(&c->nc, buf, sizeof(buf));
}

static void eth_send_tagged(TestClient *c, const uint8_t *dst,
                            const uint8_t *src, uint16_t vid)
{
    uint8_t buf[68] = { 0 };

    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    buf[12] = 0x81;
    buf[14] = vid >> 8;
    buf[15] = vid & 0xff;
    buf[16] = 0x08;
    net_client_send(&c->nc, buf, sizeof(buf));
}

static unsigned nframes(TestClient *c)
{
    return c->frames->len;
}

/* Frame @i of @c: its length and, if tagged, its VID (else -1). */
static int frame_vid(TestClient *c, unsigned i, gsize *len)
{
    const uint8_t *d = g_bytes_get_data(c->frames->pdata[i], len);

    if (d[12] == 0x81 && d[13] == 0x00) {
        return ((d[14] << 8) | d[15]) & 0xfff;
    }
    return -1;
}

static void test_flood_broadcast(void)
{
    TestClient *a = nic_on_port("p1", "hubid=0", "a");
    TestClient *b = nic_on_port("p2", "hubid=0", "b");
    TestClient *c = nic_on_port("p3", "hubid=0", "c");

    eth_send(a, mac_bcast, mac_a);
    g_assert_cmpuint(nframes(a), ==, 0);
    g_assert_cmpuint(nframes(b), ==, 1);
    g_assert_cmpuint(nframes(c), ==, 1);
    g_assert_cmpuint(net_client_find("p1")->stats.rx_frames, ==, 1);
    g_assert_cmpuint(net_client_find("p2")->stats.tx_frames, ==, 1);
    net_cleanup();
}

static void test_learning(void)
{
    TestClient *a = nic_on_port("p1", "hubid=1", "a");
    TestClient *b = nic_on_port("p2", "hubid=1", "b");
    TestClient *c = nic_on_port("p3", "hubid=1", "c");

    eth_send(a, mac_b, mac_a);          /* B unknown: flooded */
    g_assert_cmpuint(nframes(b), ==, 1);
    g_assert_cmpuint(nframes(c), ==, 1);
    eth_send(b, mac_a, mac_b);          /* A known */
    g_assert_cmpuint(nframes(a), ==, 1);
    g_assert_cmpuint(nframes(c), ==, 1);
    eth_send(a, mac_b, mac_a);          /* B known */
    g_assert_cmpuint(nframes(b), ==, 2);
    g_assert_cmpuint(nframes(c), ==, 1);
    g_assert_cmpint(net_hub_mac_count(1), ==, 2);
    /* A port going away takes its entries with it. */
    net_client_free(net_client_find("p2"));
    g_assert_cmpint(net_hub_mac_count(1), ==, 1);
    eth_send(a, mac_b, mac_a);          /* unknown again: flooded */
    g_assert_cmpuint(nframes(c), ==, 2);
    net_cleanup();
}

static void test_aging(void)
{
    TestClient *a, *b, *c;

    fake_now = 1000;
    net_hub_set_clock(fake_clock);
    a = nic_on_port("p1", "hubid=2", "a");
    b = nic_on_port("p2", "hubid=2", "b");
    c = nic_on_port("p3", "hubid=2", "c");
    eth_send(a, mac_b, mac_a);
    eth_send(b, mac_a, mac_b);
    fake_now += NET_HUB_AGE_DEFAULT_US;      /* exactly the age: kept */
    eth_send(a, mac_b, mac_a);
    g_assert_cmpuint(nframes(c), ==, 1);
    fake_now += NET_HUB_AGE_DEFAULT_US + 1;  /* both aged out */
    g_assert_cmpint(net_hub_mac_count(2), ==, 0);
    eth_send(a, mac_b, mac_a);
    g_assert_cmpuint(nframes(c), ==, 2);
    /* A shorter age set on the hub. */
    g_assert_true(net_hub_set_age(2, 10));
    eth_send(b, mac_a, mac_b);
    g_assert_cmpuint(nframes(c), ==, 2);    /* A was learned just now */
    fake_now += 11;
    eth_send(b, mac_a, mac_b);
    g_assert_cmpuint(nframes(c), ==, 3);
    g_assert_false(net_hub_set_age(99, 10));
    net_hub_set_clock(NULL);
    net_cleanup();
}

static void test_mac_move(void)
{
    TestClient *a = nic_on_port("p1", "hubid=3", "a");
    TestClient *b = nic_on_port("p2", "hubid=3", "b");
    TestClient *c = nic_on_port("p3", "hubid=3", "c");

    eth_send(a, mac_bcast, mac_a);
    eth_send(c, mac_bcast, mac_a);          /* A moved behind p3 */
    eth_send(b, mac_a, mac_b);
    g_assert_cmpuint(nframes(a), ==, 1);    /* only the 2nd broadcast */
    g_assert_cmpuint(nframes(c), ==, 2);    /* broadcast + unicast */
    net_cleanup();
}

static void test_learning_off(void)
{
    TestClient *a = nic_on_port("p1", "hubid=4,learning=off", "a");
    TestClient *b = nic_on_port("p2", "hubid=4", "b");
    TestClient *c = nic_on_port("p3", "hubid=4", "c");

    eth_send(a, mac_b, mac_a);
    eth_send(b, mac_a, mac_b);
    eth_send(a, mac_b, mac_a);
    g_assert_cmpuint(nframes(c), ==, 3);
    g_assert_cmpint(net_hub_mac_count(4), ==, 0);
    port_error("hubport,id=p9,hubid=4,learning=on",
               "hub 4 already has learning=off");
    net_cleanup();
}

static void test_vlans(void)
{
    TestClient *a10 = nic_on_port("p1", "hubid=5,vlan=10", "a10");
    TestClient *b10 = nic_on_port("p2", "hubid=5,vlan=10", "b10");
    TestClient *c20 = nic_on_port("p3", "hubid=5,vlan=20", "c20");
    TestClient *t = nic_on_port("p4", "hubid=5,trunk=on", "t");
    TestClient *u1 = nic_on_port("p5", "hubid=5", "u1");
    gsize len;

    eth_send(a10, mac_bcast, mac_a);
    g_assert_cmpuint(nframes(b10), ==, 1);
    g_assert_cmpint(frame_vid(b10, 0, &len), ==, -1);
    g_assert_cmpuint(len, ==, 64);
    g_assert_cmpuint(nframes(c20), ==, 0);
    g_assert_cmpuint(nframes(u1), ==, 0);
    g_assert_cmpuint(nframes(t), ==, 1);
    g_assert_cmpint(frame_vid(t, 0, &len), ==, 10);
    g_assert_cmpuint(len, ==, 68);

    eth_send(c20, mac_bcast, mac_c);
    g_assert_cmpuint(nframes(a10) + nframes(b10), ==, 1);
    g_assert_cmpint(frame_vid(t, 1, &len), ==, 20);

    eth_send_tagged(t, mac_bcast, mac_b, 20);
    g_assert_cmpuint(nframes(c20), ==, 1);
    g_assert_cmpint(frame_vid(c20, 0, &len), ==, -1);
    g_assert_cmpuint(len, ==, 64);
    g_assert_cmpuint(nframes(a10) + nframes(b10) + nframes(u1), ==, 1);

    eth_send(t, mac_bcast, mac_b);          /* untagged: native VLAN 1 */
    g_assert_cmpuint(nframes(u1), ==, 1);
    g_assert_cmpuint(nframes(c20) + nframes(a10) + nframes(b10), ==, 2);
    eth_send(u1, mac_bcast, mac_c);         /* VLAN 1 leaves a trunk bare */
    g_assert_cmpint(frame_vid(t, nframes(t) - 1, &len), ==, -1);

    /* Learning is per VLAN: A on VLAN 10 is unknown on VLAN 20. */
    eth_send(c20, mac_a, mac_c);
    g_assert_cmpuint(nframes(a10), ==, 0);
    g_assert_cmpint(frame_vid(t, nframes(t) - 1, &len), ==, 20);

    /* A tagged frame on an access port is dropped, counted. */
    eth_send_tagged(a10, mac_bcast, mac_a, 20);
    g_assert_cmpuint(nframes(c20), ==, 1);
    g_assert_cmpuint(net_client_find("p1")->stats.dropped, ==, 1);
    net_cleanup();
}

static void test_no_head_of_line_blocking(void)
{
    TestClient *a = nic_on_port("p1", "hubid=6", "a");
    TestClient *stuck = nic_on_port("p2", "hubid=6", "stuck");
    TestClient *c = nic_on_port("p3", "hubid=6", "c");
    NetClientState *p2 = net_client_find("p2");
    unsigned n = 100000;

    stuck->refuse = G_MAXUINT;              /* returns 0, never flushes */
    for (unsigned i = 0; i < n; i++) {
        eth_send(a, mac_bcast, mac_a);
    }
    g_assert_cmpuint(nframes(c), ==, n);
    g_assert_cmpuint(nframes(stuck), ==, 0);
    g_assert_cmpuint(test_queued(stuck), ==, NET_QUEUE_DEFAULT_FRAMES);
    g_assert_cmpuint(p2->stats.dropped, ==, n - NET_QUEUE_DEFAULT_FRAMES);
    g_assert_cmpuint(stuck->nc.stats.dropped, ==,
                     n - NET_QUEUE_DEFAULT_FRAMES);
    g_assert_cmpuint(net_client_find("p1")->stats.rx_frames, ==, n);

    /* Deleting the port drops what it had queued (ASan watches). */
    net_client_free(p2);
    g_assert_cmpuint(test_queued(stuck), ==, 0);
    g_assert_true(stuck->nc.link_down);
    eth_send(a, mac_bcast, mac_a);
    g_assert_cmpuint(nframes(c), ==, n + 1);
    net_cleanup();
}

static void free_port_on_receive(TestClient *c, const uint8_t *buf,
                                 size_t len)
{
    net_client_free(net_client_find("p2"));
    net_client_free(net_client_find("p3"));
}

static void test_delete_during_flood(void)
{
    TestClient *a = nic_on_port("p1", "hubid=7", "a");
    TestClient *b = nic_on_port("p2", "hubid=7", "b");
    TestClient *c = nic_on_port("p3", "hubid=7", "c");

    b->on_receive = free_port_on_receive;
    eth_send(a, mac_bcast, mac_a);
    g_assert_cmpuint(nframes(b), ==, 1);
    g_assert_cmpuint(nframes(c), ==, 0);
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    g_assert_null(net_client_find("p2"));
    net_cleanup();
}

static void test_relay_between_backends(void)
{
    TestClient *x = test_client_new(&test_backend_info, NULL, "x");
    TestClient *y = test_client_new(&test_backend_info, NULL, "y");

    port_new("hubport,id=hx,hubid=8,netdev=x");
    port_new("hubport,id=hy,hubid=8,netdev=y");
    g_assert_true(net_client_find("hx")->peer == &x->nc);
    eth_send(x, mac_bcast, mac_a);
    g_assert_cmpuint(nframes(y), ==, 1);
    net_cleanup();
}

static void test_option_errors(void)
{
    TestClient *x = test_client_new(&test_backend_info, NULL, "x");

    port_error("hubport,id=h", "Parameter 'hubid' is missing");
    port_error("hubport,id=h,hubid=0,netdev=nope", "netdev 'nope' not found");
    port_new("hubport,id=h1,hubid=0,netdev=x");
    port_error("hubport,id=h2,hubid=0,netdev=x",
               "netdev 'x' is already in use");
    port_error("hubport,id=h2,hubid=0,vlan=0",
               "Parameter 'vlan' expects a VLAN id (1..4094)");
    port_error("hubport,id=h2,hubid=0,vlan=4095",
               "Parameter 'vlan' expects a VLAN id (1..4094)");
    port_error("hubport,id=h1,hubid=0", "Duplicate ID 'h1' for netdev");
    port_new("hubport,id=h3,hubid=0");
    port_error("hubport,id=h4,hubid=0,netdev=h3",
               "netdev 'h3' is a port of hub 0");
    port_new("hubport,id=h4,hubid=1,netdev=h3");     /* hub to hub: fine */
    g_assert_true(net_client_find("h4")->peer == net_client_find("h3"));
    g_assert_null(net_client_find("h2"));
    (void)x;
    net_cleanup();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/hub/flood-broadcast", test_flood_broadcast);
    g_test_add_func("/net/hub/learning", test_learning);
    g_test_add_func("/net/hub/aging", test_aging);
    g_test_add_func("/net/hub/mac-move", test_mac_move);
    g_test_add_func("/net/hub/learning-off", test_learning_off);
    g_test_add_func("/net/hub/vlans", test_vlans);
    g_test_add_func("/net/hub/no-head-of-line-blocking",
                    test_no_head_of_line_blocking);
    g_test_add_func("/net/hub/delete-during-flood", test_delete_during_flood);
    g_test_add_func("/net/hub/relay", test_relay_between_backends);
    g_test_add_func("/net/hub/option-errors", test_option_errors);
    return g_test_run();
}
