/*
 * -netdev vxlan's send path (net/vxlan.c) over loopback: the pool of UDP
 * send sockets on ports of srcport= (ports in use skipped, the flow
 * picks the socket), the fallback to the dstport= socket when no port can
 * be had, and UDP GSO for runs of equal datagrams to one remote (IPv6, or
 * IPv4 with udpcsum=on; not with IPv4's default zero checksum), which
 * goes off, losing nothing, when the kernel refuses it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/udp.h>
#include <string.h>
#include <unistd.h>

#include "net/netdev.h"
#include "net/vxlan-internal.h"
#include "util/batch.h"
#include "util/sockops.h"

#define FRAME_LEN 200

/* A UDP socket bound to @ip:@port (0: any port), or -1. */
static int udp_at(int family, const char *ip, unsigned port)
{
    VxlanAddr a = { 0 };
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    if (family == AF_INET) {
        a.in.sin_family = AF_INET;
        a.in.sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, ip, &a.in.sin_addr);
    } else {
        a.in6.sin6_family = AF_INET6;
        a.in6.sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, ip, &a.in6.sin6_addr);
    }
    if (bind(fd, &a.sa, family == AF_INET ? sizeof(a.in) : sizeof(a.in6))) {
        close(fd);
        return -1;
    }
    return fd;
}

static unsigned port_of(int fd)
{
    VxlanAddr a;
    socklen_t len = sizeof(a);

    g_assert_cmpint(getsockname(fd, &a.sa, &len), ==, 0);
    return ntohs(a.sa.sa_family == AF_INET ? a.in.sin_port
                                            : a.in6.sin6_port);
}

/* A port P of 127.0.0.1 such that P..P+@n-1 are all free now. */
static unsigned free_run(unsigned n)
{
    for (;;) {
        unsigned base = (unsigned)g_random_int_range(20000, 30000);
        unsigned ok = 0;

        for (; ok < n; ok++) {
            int fd = udp_at(AF_INET, "127.0.0.1", base + ok);

            if (fd < 0) {
                break;
            }
            close(fd);
        }
        if (ok == n) {
            return base;
        }
    }
}

static VxlanState *vx_add(const char *opts)
{
    g_autoptr(GError) err = NULL;
    Netdev *netdev = netdev_parse(opts, &err);

    g_assert_no_error(err);
    g_assert_true(netdev_add(netdev, &err));
    g_assert_no_error(err);
    qapi_free_Netdev(netdev);
    return vxlan_from_client(net_client_find("v"));
}

/* An unknown-unicast IPv4/UDP frame of flow @sport (flooded to remote=). */
static void vx_send(VxlanState *s, uint16_t sport, size_t len)
{
    uint8_t buf[FRAME_LEN] = { 0x52, 0x54, 0, 0, 0, 0xb,
                               0x52, 0x54, 0, 0, 0, 0xa, 0x08, 0 };
    struct iovec iov = { buf, len };

    buf[14] = 0x45;
    buf[23] = IPPROTO_UDP;
    buf[26] = 10, buf[29] = 1;
    buf[30] = 10, buf[33] = 2;
    buf[34] = (uint8_t)(sport >> 8);
    buf[35] = (uint8_t)sport;
    buf[37] = 53;
    g_assert_cmpint(s->nc.info->receive_iov(&s->nc, &iov, 1), ==, len);
}

/* The UDP_GRO segment size of received message @m, or 0: none. */
static size_t gro_size(struct msghdr *m)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm;
         cm = CMSG_NXTHDR(m, cm)) {
        int seg;

        if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
            memcpy(&seg, CMSG_DATA(cm), sizeof(seg));
            return (size_t)seg;
        }
    }
    return 0;
}

/* One datagram @buf (@len bytes) drain() read: checked, counted. */
static void drain_one(const uint8_t *buf, size_t len, size_t want_len)
{
    g_assert_true(!want_len || len == VXLAN_HDR_LEN + want_len);
    g_assert_cmpuint(buf[0], ==, VXLAN_FLAG_I);
    g_assert_cmpuint(buf[6], ==, 42);
}

/*
 * Read what @fd got: count the datagrams (of VXLAN_HDR_LEN + @want_len
 * bytes; 0: any), record their source ports.  @fd may be the netdev's
 * receive socket, which takes UDP GRO: a message of several datagrams
 * counts each.
 */
static unsigned drain(int fd, GHashTable *ports, size_t want_len)
{
    unsigned n = 0;
    static uint8_t buf[65536];

    for (int idle = 0; idle < 100;) {
        VxlanAddr from;
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } ctrl;
        struct iovec iov = { buf, sizeof(buf) };
        struct msghdr m = {
            .msg_name = &from, .msg_namelen = sizeof(from),
            .msg_iov = &iov, .msg_iovlen = 1,
            .msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf),
        };
        ssize_t got = recvmsg(fd, &m, MSG_DONTWAIT);
        size_t seg;

        if (got < 0) {
            g_assert_cmpint(errno, ==, EAGAIN);
            idle++;
            g_usleep(1000);
            continue;
        }
        seg = gro_size(&m);
        seg = seg ? seg : (size_t)got;
        for (size_t off = 0; off < (size_t)got; off += seg) {
            drain_one(buf + off, MIN(seg, (size_t)got - off), want_len);
            n++;
        }
        if (ports) {
            unsigned port = ntohs(from.in.sin_port);

            g_hash_table_add(ports, GUINT_TO_POINTER(port));
        }
    }
    return n;
}

/*
 * Frames leave from the pool's ports, all inside srcport=, a port in use
 * skipped; no CAP_NET_RAW needed; over IPv4 no GSO (zero checksum).
 */
static void test_pool(void)
{
    unsigned base = free_run(5), dst = base + 4;
    int taken = udp_at(AF_INET, "127.0.0.1", base + 1);
    int rx = udp_at(AF_INET, "127.0.0.2", dst);
    g_autofree char *opts = g_strdup_printf(
        "vxlan,id=v,vni=42,local=127.0.0.1,remote=127.0.0.2,dstport=%u,"
        "srcport=%u-%u", dst, base, base + 3);
    g_autoptr(GHashTable) ports = g_hash_table_new(NULL, NULL);
    VxlanState *s;

    g_assert_cmpint(taken, >=, 0);
    g_assert_cmpint(rx, >=, 0);
    s = vx_add(opts);
    g_assert_cmpuint(s->n_tx, ==, 3);
    g_assert_false(s->tx_gso);
    for (unsigned k = 0; k < s->n_tx; k++) {
        unsigned p = port_of(s->tx_fds[k]);

        g_assert_true(p >= base && p <= base + 3 && p != base + 1);
    }
    for (uint16_t flow = 0; flow < 32; flow++) {
        vx_send(s, (uint16_t)(1000 + flow), FRAME_LEN);
    }
    g_assert_cmpuint(drain(rx, ports, FRAME_LEN), ==, 32);
    g_assert_cmpuint(g_hash_table_size(ports), >=, 2);
    g_assert_false(g_hash_table_contains(ports, GUINT_TO_POINTER(base + 1)));
    g_assert_false(g_hash_table_contains(ports, GUINT_TO_POINTER(dst)));
    /* one flow, one socket: one port */
    g_hash_table_remove_all(ports);
    for (int i = 0; i < 8; i++) {
        vx_send(s, 7777, FRAME_LEN);
    }
    g_assert_cmpuint(drain(rx, ports, FRAME_LEN), ==, 8);
    g_assert_cmpuint(g_hash_table_size(ports), ==, 1);
    net_client_free(&s->nc);
    close(taken);
    close(rx);
}

/* Every port of srcport= in use: frames leave from dstport=. */
static void test_fallback(void)
{
    unsigned base = free_run(2), dst = base + 1;
    int taken = udp_at(AF_INET, "127.0.0.1", base);
    int rx = udp_at(AF_INET, "127.0.0.2", dst);
    g_autofree char *opts = g_strdup_printf(
        "vxlan,id=v,vni=42,local=127.0.0.1,remote=127.0.0.2,dstport=%u,"
        "srcport=%u-%u", dst, base, base);
    g_autoptr(GHashTable) ports = g_hash_table_new(NULL, NULL);
    VxlanState *s = vx_add(opts);

    g_assert_cmpuint(s->n_tx, ==, 0);
    for (uint16_t flow = 0; flow < 4; flow++) {
        vx_send(s, flow, FRAME_LEN);
    }
    batch_begin();
    vx_send(s, 9, FRAME_LEN);
    batch_end();
    g_assert_cmpuint(drain(rx, ports, FRAME_LEN), ==, 5);
    g_assert_cmpuint(g_hash_table_size(ports), ==, 1);
    g_assert_true(g_hash_table_contains(ports, GUINT_TO_POINTER(dst)));
    net_client_free(&s->nc);
    close(taken);
    close(rx);
}

/* sendmmsg() as the system's, recording the messages; or refusing GSO. */
static unsigned mm_calls, mm_msgs, mm_gso_msgs, mm_segs;
static bool mm_refuse_gso;

static int recording_sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n,
                              int flags)
{
    mm_calls++;
    for (unsigned i = 0; i < n; i++) {
        if (msgs[i].msg_hdr.msg_controllen && mm_refuse_gso) {
            if (i == 0) {
                errno = EINVAL;
                return -1;
            }
            n = i;
            break;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        mm_msgs++;
        if (msgs[i].msg_hdr.msg_controllen) {
            mm_gso_msgs++;
            mm_segs += (unsigned)msgs[i].msg_hdr.msg_iovlen;
        }
    }
    return sockops_system.sendmmsg(fd, msgs, n, flags);
}

/*
 * A netdev on @ip (::1 or 127.0.0.1) sending to itself, with @extra
 * options: the dstport= socket (read here, the main loop does not run)
 * gets every datagram.  NULL if @ip is not there.
 */
static VxlanState *vx_add_self(int family, const char *ip,
                               const char *extra)
{
    int probe = udp_at(family, ip, 0);
    unsigned dst;
    g_autofree char *opts = NULL;

    if (probe < 0) {
        return NULL;
    }
    dst = port_of(probe);
    close(probe);
    opts = g_strdup_printf("vxlan,id=v,vni=42,local=%s,remote=%s,"
                           "dstport=%u%s", ip, ip, dst, extra);
    return vx_add(opts);
}

static void gso_run(int family, const char *ip, const char *extra,
                    bool refuse)
{
    static SocketOps ops;
    VxlanState *s = vx_add_self(family, ip, extra);

    if (!s) {
        g_test_skip("no such loopback address");
        return;
    }
    g_assert_cmpuint(s->n_tx, ==, VXLAN_TX_SOCKETS);
    g_assert_true(s->tx_gso);
    ops = sockops_system;
    ops.sendmmsg = recording_sendmmsg;
    sockops_install(&ops);
    mm_calls = mm_msgs = mm_gso_msgs = mm_segs = 0;
    mm_refuse_gso = refuse;
    batch_begin();
    for (int i = 0; i < 8; i++) {
        vx_send(s, 4242, FRAME_LEN);        /* one flow, one size: a run */
    }
    vx_send(s, 4242, FRAME_LEN - 10);       /* another size ends it */
    batch_end();
    sockops_install(NULL);
    g_assert_cmpuint(drain(s->rx_fd, NULL, 0), ==, 9);
    if (!refuse) {
        g_assert_cmpuint(mm_calls, ==, 1);
        g_assert_cmpuint(mm_msgs, ==, 2);
        g_assert_cmpuint(mm_gso_msgs, ==, 1);
        g_assert_cmpuint(mm_segs, ==, 8);
        g_assert_true(s->tx_gso);
    } else {
        g_assert_cmpuint(mm_gso_msgs, ==, 0);
        g_assert_false(s->tx_gso);
    }
    g_assert_cmpuint(s->nc.stats.dropped, ==, 0);
    net_client_free(&s->nc);
}

/* A run of equal datagrams to one remote leaves as one GSO message. */
static void test_gso(void)
{
    gso_run(AF_INET6, "::1", "", false);
}

/* IPv4 with udpcsum=on (a real checksum) gets GSO too. */
static void test_gso_udpcsum(void)
{
    gso_run(AF_INET, "127.0.0.1", ",udpcsum=on", false);
}

/* The kernel refuses GSO (EINVAL): one by one, nothing lost, GSO off. */
static void test_gso_refused(void)
{
    gso_run(AF_INET6, "::1", "", true);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/vxlan/tx/pool", test_pool);
    g_test_add_func("/net/vxlan/tx/fallback", test_fallback);
    g_test_add_func("/net/vxlan/tx/gso", test_gso);
    g_test_add_func("/net/vxlan/tx/gso-refused", test_gso_refused);
    g_test_add_func("/net/vxlan/tx/gso-udpcsum", test_gso_udpcsum);
    return g_test_run();
}
