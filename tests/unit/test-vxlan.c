/*
 * -netdev vxlan (net/vxlan.c): the header built and parsed, the drop
 * cases, the FDB (learning, aging on a fake clock, static entries, the
 * flood list, a full table), the outer source port, and option errors.
 */
#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>

#include "net/netdev.h"
#include "net/vxlan-internal.h"

static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

static VxlanAddr addr4(const char *s)
{
    VxlanAddr a = { 0 };

    a.in.sin_family = AF_INET;
    g_assert_cmpint(inet_pton(AF_INET, s, &a.in.sin_addr), ==, 1);
    return a;
}

static bool addr_is(const VxlanAddr *a, const char *s)
{
    char buf[INET6_ADDRSTRLEN];

    return strcmp(vxlan_format_addr(a, buf, sizeof(buf)), s) == 0;
}

static void test_header_build(void)
{
    uint8_t hdr[VXLAN_HDR_LEN];
    static const uint8_t want[] = { 0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0 };
    static const uint8_t want_max[] = { 0x08, 0, 0, 0, 0xff, 0xff, 0xff, 0 };

    memset(hdr, 0xaa, sizeof(hdr));
    vxlan_header_build(hdr, 0x123456);
    g_assert_cmpmem(hdr, sizeof(hdr), want, sizeof(want));
    vxlan_header_build(hdr, VXLAN_VNI_MAX);
    g_assert_cmpmem(hdr, sizeof(hdr), want_max, sizeof(want_max));
}

/* A datagram: header for @vni with @flags, then @inner bytes of frame. */
static size_t datagram(uint8_t *buf, uint8_t flags, uint32_t vni,
                       size_t inner)
{
    vxlan_header_build(buf, vni);
    buf[0] = flags;
    memset(buf + VXLAN_HDR_LEN, 0x11, inner);
    return VXLAN_HDR_LEN + inner;
}

static void test_header_parse(void)
{
    uint8_t buf[128];
    size_t n;

    n = datagram(buf, 0x08, 42, 14);
    g_assert_cmpint(vxlan_header_parse(buf, n, 42), ==, VXLAN_RX_OK);
    g_assert_cmpint(vxlan_header_parse(buf, n, 43), ==, VXLAN_RX_WRONG_VNI);
    /* Short: nothing, 4 bytes, a header alone, a 13-byte inner frame. */
    g_assert_cmpint(vxlan_header_parse(buf, 0, 42), ==, VXLAN_RX_BAD_HEADER);
    g_assert_cmpint(vxlan_header_parse(buf, 4, 42), ==, VXLAN_RX_BAD_HEADER);
    g_assert_cmpint(vxlan_header_parse(buf, 8, 42), ==, VXLAN_RX_BAD_HEADER);
    g_assert_cmpint(vxlan_header_parse(buf, 21, 42), ==,
                    VXLAN_RX_BAD_HEADER);
    /* Flags other than exactly 0x08. */
    for (unsigned f = 0; f < 256; f++) {
        n = datagram(buf, (uint8_t)f, 42, 60);
        g_assert_cmpint(vxlan_header_parse(buf, n, 42), ==,
                        f == 0x08 ? VXLAN_RX_OK : VXLAN_RX_BAD_HEADER);
    }
    /* Reserved bytes set: dropped, as Linux does. */
    for (int i = 1; i < 8; i++) {
        if (i >= 4 && i <= 6) {
            continue;       /* the VNI */
        }
        n = datagram(buf, 0x08, 42, 60);
        buf[i] = 1;
        g_assert_cmpint(vxlan_header_parse(buf, n, 42), ==,
                        VXLAN_RX_BAD_HEADER);
    }
}

static const uint8_t MAC_A[6] = { 0x52, 0x54, 0, 0, 0, 0xa };
static const uint8_t MAC_B[6] = { 0x52, 0x54, 0, 0, 0, 0xb };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t ZERO[6];

static void test_fdb_learn_age(void)
{
    VxlanFdb f;
    const VxlanAddr *out;
    VxlanAddr r1 = addr4("10.0.0.1"), r2 = addr4("10.0.0.2");

    fake_now = 1000000;
    vxlan_set_clock(fake_clock);
    vxlan_fdb_init(&f, 300 * G_USEC_PER_SEC, true);
    g_assert_cmpuint(vxlan_fdb_lookup(&f, MAC_A, &out), ==, 0);
    vxlan_fdb_learn(&f, MAC_A, &r1);
    g_assert_cmpuint(vxlan_fdb_lookup(&f, MAC_A, &out), ==, 1);
    g_assert_true(addr_is(out, "10.0.0.1"));
    /* It moves when it shows up behind another remote. */
    vxlan_fdb_learn(&f, MAC_A, &r2);
    g_assert_cmpuint(vxlan_fdb_lookup(&f, MAC_A, &out), ==, 1);
    g_assert_true(addr_is(out, "10.0.0.2"));
    /* Broadcast and multicast sources are never learned. */
    vxlan_fdb_learn(&f, BCAST, &r1);
    vxlan_fdb_learn(&f, ZERO, &r1);
    g_assert_cmpuint(f.count, ==, 1);
    /* Exactly the age: kept; one microsecond more: gone. */
    fake_now += 300 * G_USEC_PER_SEC;
    g_assert_cmpuint(vxlan_fdb_lookup(&f, MAC_A, &out), ==, 1);
    fake_now += 1;
    g_assert_cmpuint(vxlan_fdb_lookup(&f, MAC_A, &out), ==, 0);
    g_assert_cmpuint(f.count, ==, 0);
    vxlan_fdb_destroy(&f);
    vxlan_set_clock(NULL);
}

static void test_fdb_learning_off(void)
{
    VxlanFdb f;
    const VxlanAddr *out;
    VxlanAddr r1 = addr4("10.0.0.1");

    vxlan_fdb_init(&f, 300 * G_USEC_PER_SEC, false);
    vxlan_fdb_learn(&f, MAC_A, &r1);
    g_assert_cmpuint(vxlan_fdb_lookup(&f, MAC_A, &out), ==, 0);
    g_assert_true(vxlan_fdb_add(&f, MAC_A, &r1, NULL));
    g_assert_cmpuint(vxlan_fdb_lookup(&f, MAC_A, &out), ==, 1);
    vxlan_fdb_destroy(&f);
}

static void test_fdb_flood(void)
{
    VxlanFdb f;
    const VxlanAddr *out;
    VxlanAddr r[3] = { addr4("10.0.0.1"), addr4("10.0.0.2"),
                       addr4("10.0.0.3") };
    g_autoptr(GError) err = NULL;

    vxlan_fdb_init(&f, 300 * G_USEC_PER_SEC, true);
    for (int i = 0; i < 3; i++) {
        g_assert_true(vxlan_fdb_add(&f, ZERO, &r[i], NULL));
    }
    g_assert_true(vxlan_fdb_add(&f, ZERO, &r[1], NULL));   /* no twice */
    /* Broadcast, multicast, unknown unicast: every remote. */
    g_assert_cmpuint(vxlan_fdb_lookup(&f, BCAST, &out), ==, 3);
    for (int i = 0; i < 3; i++) {
        g_assert_true(addr_is(&out[i], i == 0 ? "10.0.0.1" :
                              i == 1 ? "10.0.0.2" : "10.0.0.3"));
    }
    g_assert_cmpuint(vxlan_fdb_lookup(&f, (const uint8_t[6]){ 0x33, 0x33,
                                      0, 0, 0, 1 }, &out), ==, 3);
    g_assert_cmpuint(vxlan_fdb_lookup(&f, MAC_B, &out), ==, 3);
    /* Known unicast: its one remote. */
    vxlan_fdb_learn(&f, MAC_B, &r[2]);
    g_assert_cmpuint(vxlan_fdb_lookup(&f, MAC_B, &out), ==, 1);
    g_assert_true(addr_is(out, "10.0.0.3"));
    /* A static entry is not moved by learning, and does not age. */
    g_assert_true(vxlan_fdb_add(&f, MAC_A, &r[0], NULL));
    vxlan_fdb_learn(&f, MAC_A, &r[1]);
    g_assert_cmpuint(vxlan_fdb_lookup(&f, MAC_A, &out), ==, 1);
    g_assert_true(addr_is(out, "10.0.0.1"));
    /* Deleting: the flood entry of one remote, then a unicast entry. */
    g_assert_true(vxlan_fdb_del(&f, ZERO, &r[1], NULL));
    g_assert_cmpuint(vxlan_fdb_lookup(&f, BCAST, &out), ==, 2);
    g_assert_false(vxlan_fdb_del(&f, ZERO, &r[1], &err));
    g_assert_cmpstr(err->message, ==, "no such entry");
    g_clear_error(&err);
    g_assert_false(vxlan_fdb_del(&f, ZERO, NULL, &err));
    g_clear_error(&err);
    g_assert_true(vxlan_fdb_del(&f, MAC_A, NULL, NULL));
    g_assert_cmpuint(vxlan_fdb_lookup(&f, MAC_A, &out), ==, 2);
    g_assert_false(vxlan_fdb_add(&f, BCAST, &r[0], &err));
    vxlan_fdb_destroy(&f);
}

/* The table holds VXLAN_FDB_SIZE entries; aged ones make room. */
static void test_fdb_full(void)
{
    VxlanFdb f;
    const VxlanAddr *out;
    VxlanAddr r1 = addr4("10.0.0.1");
    uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 0 };

    fake_now = 1;
    vxlan_set_clock(fake_clock);
    vxlan_fdb_init(&f, G_USEC_PER_SEC, true);
    for (unsigned i = 0; i < VXLAN_FDB_SIZE + 10; i++) {
        mac[4] = (uint8_t)(i >> 8);
        mac[5] = (uint8_t)i;
        vxlan_fdb_learn(&f, mac, &r1);
    }
    g_assert_cmpuint(f.count, ==, VXLAN_FDB_SIZE);
    g_assert_cmpuint(f.full, ==, 10);
    fake_now += 2 * G_USEC_PER_SEC;
    mac[3] = 1;
    vxlan_fdb_learn(&f, mac, &r1);
    g_assert_cmpuint(f.count, ==, 1);
    g_assert_cmpuint(vxlan_fdb_lookup(&f, mac, &out), ==, 1);
    vxlan_fdb_destroy(&f);
    vxlan_set_clock(NULL);
}

/* An Ethernet + IPv4 + UDP frame head with @sport. */
static size_t udp_frame(uint8_t *buf, uint16_t sport)
{
    memset(buf, 0, 64);
    memcpy(buf, MAC_B, 6);
    memcpy(buf + 6, MAC_A, 6);
    buf[12] = 0x08;
    buf[14] = 0x45;
    buf[23] = IPPROTO_UDP;
    buf[26] = 10, buf[29] = 1;          /* 10.0.0.1 -> 10.0.0.2 */
    buf[30] = 10, buf[33] = 2;
    buf[34] = (uint8_t)(sport >> 8);
    buf[35] = (uint8_t)sport;
    buf[37] = 53;
    return 64;
}

static void test_srcport(void)
{
    uint8_t buf[64];
    GHashTable *seen = g_hash_table_new(NULL, NULL);
    size_t n;

    for (uint16_t p = 1000; p < 1400; p++) {
        uint16_t port;

        n = udp_frame(buf, p);
        port = vxlan_flow_port(buf, n, VXLAN_SPORT_MIN, VXLAN_SPORT_MAX);
        g_assert_cmpuint(port, >=, VXLAN_SPORT_MIN);
        g_assert_cmpuint(port, <=, VXLAN_SPORT_MAX);
        /* One flow, one port. */
        g_assert_cmpuint(vxlan_flow_port(buf, n, VXLAN_SPORT_MIN,
                                         VXLAN_SPORT_MAX), ==, port);
        port = vxlan_flow_port(buf, n, 5000, 5003);
        g_assert_cmpuint(port, >=, 5000);
        g_assert_cmpuint(port, <=, 5003);
        g_hash_table_add(seen, GUINT_TO_POINTER(port));
        g_assert_cmpuint(vxlan_flow_port(buf, n, 7, 7), ==, 7);
    }
    /* Different flows spread over the range. */
    g_assert_cmpuint(g_hash_table_size(seen), ==, 4);
    g_hash_table_destroy(seen);
}

static void expect_error(const char *opts, const char *msg)
{
    g_autoptr(GError) err = NULL;
    Netdev *netdev = netdev_parse(opts, &err);

    if (netdev) {
        g_assert_false(netdev_add(netdev, &err));
        qapi_free_Netdev(netdev);
    }
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, msg);
}

static void test_options(void)
{
    expect_error("vxlan,id=v,local=127.0.0.1", "Parameter 'vni' is missing");
    expect_error("vxlan,id=v,vni=16777216,local=127.0.0.1",
                 "Parameter 'vni' expects a VXLAN network identifier "
                 "(0..16777215)");
    expect_error("vxlan,id=v,vni=1,local=nowhere",
                 "local address 'nowhere' is not a valid IPv4 or IPv6 "
                 "address");
    expect_error("vxlan,id=v,vni=1,local=127.0.0.1,remote=::1",
                 "remote address '::1' is not of the family of local=");
    expect_error("vxlan,id=v,vni=1,local=127.0.0.1,group=10.0.0.1",
                 "group address '10.0.0.1' is not a multicast address");
    expect_error("vxlan,id=v,vni=1,local=127.0.0.1,group=239.1.1.1,"
                 "remote=127.0.0.2",
                 "group= and remote= are mutually exclusive");
    expect_error("vxlan,id=v,vni=1,local=127.0.0.1,dstport=0",
                 "port number '0' is invalid");
    expect_error("vxlan,id=v,vni=1,local=127.0.0.1,srcport=9-8",
                 "Parameter 'srcport' expects MIN-MAX, two port numbers "
                 "(1..65535), MIN not above MAX");
    expect_error("vxlan,id=v,vni=1,local=127.0.0.1,ttl=256",
                 "Parameter 'ttl' expects a TTL (1..255)");
    expect_error("vxlan,id=v,vni=1,local=127.0.0.1,mac-age=0",
                 "Parameter 'mac-age' expects a number of seconds "
                 "(1..1000000)");
    expect_error("vxlan,id=v,vni=1,local=127.0.0.1,dev=no-such-if0",
                 "network interface 'no-such-if0' not found");
    g_assert_null(net_client_find("v"));
}

/* A UDP port on 127.0.0.1 that is free now. */
static unsigned free_udp_port(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sin, &len), ==, 0);
    close(fd);
    return ntohs(sin.sin_port);
}

/* remote= repeats on the command line and in JSON; info network shows. */
static void test_remotes(void)
{
    for (int json = 0; json < 2; json++) {
        g_autoptr(GError) err = NULL;
        unsigned port = free_udp_port();
        g_autofree char *opts = json ?
            g_strdup_printf("{\"type\": \"vxlan\", \"id\": \"v\", \"vni\": 7, "
                            "\"local\": \"127.0.0.1\", \"dstport\": %u, "
                            "\"remote\": [{\"str\": \"127.0.0.2\"}, "
                            "{\"str\": \"127.0.0.3\"}]}", port) :
            g_strdup_printf("vxlan,id=v,vni=7,local=127.0.0.1,dstport=%u,"
                            "remote=127.0.0.2,remote=127.0.0.3", port);
        g_autofree char *info = g_strdup_printf(
            "vxlan: vni=7 local=127.0.0.1 dstport=%u remote=127.0.0.2 "
            "remote=127.0.0.3", port);
        Netdev *netdev = netdev_parse(opts, &err);
        NetClientState *nc;
        VxlanState *s;

        g_assert_no_error(err);
        g_assert_true(netdev_add(netdev, &err));
        g_assert_no_error(err);
        qapi_free_Netdev(netdev);
        nc = net_client_find("v");
        s = vxlan_from_client(nc);
        g_assert_nonnull(s);
        g_assert_cmpuint(s->fdb.n_flood, ==, 2);
        g_assert_cmpstr(nc->info_str, ==, info);
        net_client_free(nc);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/vxlan/header/build", test_header_build);
    g_test_add_func("/net/vxlan/header/parse-drops", test_header_parse);
    g_test_add_func("/net/vxlan/fdb/learn-age", test_fdb_learn_age);
    g_test_add_func("/net/vxlan/fdb/learning-off", test_fdb_learning_off);
    g_test_add_func("/net/vxlan/fdb/flood-static", test_fdb_flood);
    g_test_add_func("/net/vxlan/fdb/full", test_fdb_full);
    g_test_add_func("/net/vxlan/srcport", test_srcport);
    g_test_add_func("/net/vxlan/options", test_options);
    g_test_add_func("/net/vxlan/remotes", test_remotes);
    return g_test_run();
}
