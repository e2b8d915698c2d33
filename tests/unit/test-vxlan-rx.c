/*
 * -netdev vxlan's receive path (net/vxlan.c) with UDP GRO, over loopback:
 * a test socket sends one UDP GSO message of several VXLAN datagrams
 * (UDP_SEGMENT; IPv4 GSO needs the socket's real checksum), the kernel
 * hands it to the netdev's receive socket as one buffer with a UDP_GRO
 * control message, and the netdev splits it into its datagrams again:
 * each inner frame reaches the hub's other port once, in order; a
 * malformed datagram among them, or a last one too short for a header,
 * is dropped and counted while the others arrive; a frame the peer
 * queues stops the split and the rest follows when it is taken.  A fake
 * recvmmsg() gives the split what the kernel never should (segment size
 * 0, or above the message, a control message cut short).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/udp.h>
#include <string.h>
#include <unistd.h>

#include "net/netdev.h"
#include "net/vxlan-internal.h"
#include "net-test-clients.h"
#include "util/sockops.h"

#define INNER_LEN 200               /* bytes of each inner frame */
#define SEG_LEN (VXLAN_HDR_LEN + INNER_LEN)
#define NSEG 8                      /* datagrams per GSO message */

/* recvmmsg() as the system's, counting messages that came coalesced. */
static unsigned gro_msgs;

static int counting_recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n,
                             int flags, struct timespec *timeout)
{
    int got = sockops_system.recvmmsg(fd, msgs, n, flags, timeout);

    for (int i = 0; i < got; i++) {
        struct msghdr *h = &msgs[i].msg_hdr;

        for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm;
             cm = CMSG_NXTHDR(h, cm)) {
            if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
                gro_msgs++;
            }
        }
    }
    return got;
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

static void netdev_new(const char *opts)
{
    g_autoptr(GError) err = NULL;
    Netdev *netdev = netdev_parse(opts, &err);

    g_assert_no_error(err);
    g_assert_true(netdev_add(netdev, &err));
    g_assert_no_error(err);
    qapi_free_Netdev(netdev);
}

/* vxlan "v" on 127.0.0.1:@port, VNI 42. */
static VxlanState *vx_new(unsigned port)
{
    g_autofree char *opts = g_strdup_printf(
        "vxlan,id=v,vni=42,local=127.0.0.1,remote=127.0.0.2,dstport=%u",
        port);

    netdev_new(opts);
    return vxlan_from_client(net_client_find("v"));
}

/*
 * Datagram @seq at @buf: the header (VNI 42), then a broadcast frame from
 * 52:54:00:00:01:01 whose payload is frame @seq (net-test-clients.h).
 */
static void datagram(uint8_t *buf, uint32_t seq)
{
    static const uint8_t eth[VXLAN_ETH_HLEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0, 1, 1,
        0x88, 0xb5,
    };

    vxlan_header_build(buf, 42);
    test_frame_fill(buf + VXLAN_HDR_LEN, INNER_LEN, seq);
    memcpy(buf + VXLAN_HDR_LEN, eth, sizeof(eth));
}

/* The inner frame datagram(@seq) carries. */
static void want_frame(uint8_t *frame, uint32_t seq)
{
    uint8_t buf[SEG_LEN];

    datagram(buf, seq);
    memcpy(frame, buf + VXLAN_HDR_LEN, INNER_LEN);
}

/* @len bytes of @buf to 127.0.0.1:@port as one UDP GSO message. */
static void send_gso(const uint8_t *buf, size_t len, unsigned port)
{
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } ctrl = { 0 };
    struct sockaddr_in to = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port) };
    struct iovec iov = { (void *)buf, len };
    struct msghdr m = {
        .msg_name = &to, .msg_namelen = sizeof(to),
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf),
    };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    uint16_t seg = SEG_LEN;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(seg));
    memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
    g_assert_cmpint(sendmsg(fd, &m, 0), ==, (ssize_t)len);
    close(fd);
}

/* Run the main loop until @c has @n frames (at most 2 s), then a bit. */
static void pump_until(TestClient *c, unsigned n)
{
    gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;

    while (c->frames->len < n && g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(100);
    }
    for (int i = 0; i < 20; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
}

/* @c's frames are datagram(@seqs[k])'s inner frames, each once, in order. */
static void assert_frames(TestClient *c, const uint32_t *seqs, unsigned n)
{
    g_assert_cmpuint(c->frames->len, ==, n);
    for (unsigned k = 0; k < n; k++) {
        uint8_t want[INNER_LEN];
        gsize len;
        const uint8_t *got = g_bytes_get_data(c->frames->pdata[k], &len);

        want_frame(want, seqs[k]);
        g_assert_cmpmem(got, len, want, INNER_LEN);
    }
}

static SocketOps counting_ops;

static void counting_begin(void)
{
    counting_ops = sockops_system;
    counting_ops.recvmmsg = counting_recvmmsg;
    sockops_install(&counting_ops);
    gro_msgs = 0;
}

/*
 * One GSO message of 8 datagrams, the fourth with flags 0x09, then one of
 * 3 whose last is a runt (a header and 5 bytes): 9 frames reach the other
 * hub port in order, the 2 others are counted (bad-header, malformed),
 * and each message was read as one buffer.
 */
static void test_gro_split(void)
{
    static const uint32_t seqs[] = { 0, 1, 2, 4, 5, 6, 7, 10, 11 };
    uint8_t buf[NSEG * SEG_LEN];
    unsigned port = free_udp_port();
    VxlanState *s = vx_new(port);
    TestClient *nic;

    g_assert_true(s->rx_gro);
    netdev_new("hubport,id=hv,hubid=0,netdev=v");
    netdev_new("hubport,id=h1,hubid=0");
    nic = test_client_new(&test_nic_info, NULL, "nic");
    net_client_set_peer(&nic->nc, net_client_find("h1"));
    counting_begin();
    for (uint32_t k = 0; k < NSEG; k++) {
        datagram(buf + k * SEG_LEN, k);
    }
    buf[3 * SEG_LEN] = 0x09;
    send_gso(buf, sizeof(buf), port);
    pump_until(nic, 7);
    for (uint32_t k = 0; k < 3; k++) {
        datagram(buf + k * SEG_LEN, 10 + k);
    }
    send_gso(buf, 2 * SEG_LEN + VXLAN_HDR_LEN + 5, port);
    pump_until(nic, 9);
    sockops_install(NULL);
    assert_frames(nic, seqs, G_N_ELEMENTS(seqs));
    g_assert_cmpuint(gro_msgs, ==, 2);
    g_assert_cmpuint(s->bad_header, ==, 2);
    g_assert_cmpuint(s->wrong_vni, ==, 0);
    g_assert_cmpuint(s->nc.stats.dropped_by[NET_DROP_MALFORMED], ==, 2);
    g_assert_cmpuint(s->nc.stats.tx_frames, ==, 9);
    g_assert_cmpuint(s->nc.stats.dropped, ==, 2);
    net_cleanup();
}

/* After the third frame the NIC takes nothing more until told. */
static void stop_after_three(TestClient *c, const uint8_t *buf, size_t len)
{
    if (c->frames->len == 3) {
        c->can_receive = false;
    }
}

/*
 * The peer (a NIC on the netdev itself) queues the fourth frame of a GRO
 * buffer: reading stops there; once it takes frames again the split goes
 * on from the fifth datagram, nothing lost or repeated.
 */
static void test_gro_resume(void)
{
    static const uint32_t seqs[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    uint8_t buf[NSEG * SEG_LEN];
    unsigned port = free_udp_port();
    VxlanState *s = vx_new(port);
    TestClient *nic = test_client_new(&test_nic_info, NULL, "nic");

    net_client_set_peer(&nic->nc, &s->nc);
    nic->on_receive = stop_after_three;
    counting_begin();
    for (uint32_t k = 0; k < NSEG; k++) {
        datagram(buf + k * SEG_LEN, k);
    }
    send_gso(buf, sizeof(buf), port);
    pump_until(nic, 3);
    g_assert_cmpuint(nic->frames->len, ==, 3);
    g_assert_true(s->read_blocked);
    g_assert_cmpuint(test_queued(nic), ==, 1);
    nic->on_receive = NULL;
    nic->can_receive = true;
    net_client_flush_queued(&nic->nc);
    pump_until(nic, NSEG);
    sockops_install(NULL);
    assert_frames(nic, seqs, NSEG);
    g_assert_false(s->read_blocked);
    g_assert_cmpuint(gro_msgs, ==, 1);
    g_assert_cmpuint(s->nc.stats.dropped, ==, 0);
    net_cleanup();
}

/* ---- what the kernel should never say ---------------------------------- */

typedef struct FakeMsg {
    size_t len;
    int seg;                        /* the UDP_GRO value */
    size_t cmsg_len;                /* its cmsg_len; 0: no control */
    size_t step;                    /* datagram(k)s this far apart */
} FakeMsg;

static const FakeMsg *fake_msgs;
static unsigned fake_count;
static int fake_fd = -1;

/* Datagram(k) for k = 0, 1, ... laid out @step bytes apart in @buf. */
static void fake_fill(uint8_t *buf, size_t len, size_t step)
{
    uint8_t d[SEG_LEN];

    for (size_t off = 0, k = 0; off < len; off += step, k++) {
        datagram(d, (uint32_t)k);
        memcpy(buf + off, d, MIN(step, MIN(len - off, sizeof(d))));
    }
}

static int fake_recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n,
                         int flags, struct timespec *timeout)
{
    unsigned count = MIN(n, fake_count);

    if (fd != fake_fd) {
        return sockops_system.recvmmsg(fd, msgs, n, flags, timeout);
    }
    if (count == 0) {
        errno = EAGAIN;
        return -1;
    }
    for (unsigned i = 0; i < count; i++) {
        struct msghdr *h = &msgs[i].msg_hdr;
        struct sockaddr_in from = { .sin_family = AF_INET };
        struct cmsghdr *cm = CMSG_FIRSTHDR(h);

        g_assert_nonnull(cm);       /* the netdev asked for UDP_GRO */
        from.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 2);
        fake_fill(h->msg_iov->iov_base, fake_msgs[i].len,
                  fake_msgs[i].step);
        msgs[i].msg_len = (unsigned)fake_msgs[i].len;
        memcpy(h->msg_name, &from, sizeof(from));
        h->msg_namelen = sizeof(from);
        h->msg_flags = 0;
        if (fake_msgs[i].cmsg_len) {
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_GRO;
            cm->cmsg_len = fake_msgs[i].cmsg_len;
            memcpy(CMSG_DATA(cm), &fake_msgs[i].seg, sizeof(int));
        } else {
            h->msg_controllen = 0;
        }
    }
    fake_msgs += count;
    fake_count -= count;
    return (int)count;
}

/*
 * Segment size 0, or the whole message or more: one datagram.  A size
 * below a header's: each piece is short, dropped and counted.  A control
 * message too short for its int: ignored, one datagram.
 */
static void test_gro_untrusted(void)
{
    static const FakeMsg msgs[] = {
        { SEG_LEN, 0, CMSG_LEN(sizeof(int)), SEG_LEN },         /* 1 */
        { SEG_LEN, SEG_LEN, CMSG_LEN(sizeof(int)), SEG_LEN },   /* 1 */
        { SEG_LEN, 65536, CMSG_LEN(sizeof(int)), SEG_LEN },     /* 1 */
        { SEG_LEN, -1, CMSG_LEN(sizeof(int)), SEG_LEN },        /* 1 */
        { 40, 4, CMSG_LEN(sizeof(int)), 4 },            /* 10 short ones */
        { SEG_LEN, 4, CMSG_LEN(2), SEG_LEN },           /* ignored: 1 */
        { SEG_LEN, 4, 0, SEG_LEN },                     /* none: 1 */
        { 2 * SEG_LEN, SEG_LEN, CMSG_LEN(sizeof(int)), SEG_LEN },  /* 2 */
    };
    static const uint32_t seqs[] = { 0, 0, 0, 0, 0, 0, 0, 1 };
    static SocketOps ops;
    unsigned port = free_udp_port();
    VxlanState *s = vx_new(port);
    TestClient *nic = test_client_new(&test_nic_info, NULL, "nic");
    struct sockaddr_in to = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port) };
    int poke = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    net_client_set_peer(&nic->nc, &s->nc);
    ops = sockops_system;
    ops.recvmmsg = fake_recvmmsg;
    sockops_install(&ops);
    fake_msgs = msgs;
    fake_count = G_N_ELEMENTS(msgs);
    fake_fd = s->rx_fd;
    /* a datagram makes the socket readable; the fake answers instead */
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(sendto(poke, "", 1, 0, (struct sockaddr *)&to,
                           sizeof(to)), ==, 1);
    pump_until(nic, G_N_ELEMENTS(seqs));
    sockops_install(NULL);
    fake_fd = -1;
    assert_frames(nic, seqs, G_N_ELEMENTS(seqs));
    g_assert_cmpuint(s->bad_header, ==, 10);
    g_assert_cmpuint(s->nc.stats.dropped_by[NET_DROP_MALFORMED], ==, 10);
    close(poke);
    net_cleanup();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/vxlan/rx/gro-split", test_gro_split);
    g_test_add_func("/net/vxlan/rx/gro-resume", test_gro_resume);
    g_test_add_func("/net/vxlan/rx/gro-untrusted", test_gro_untrusted);
    return g_test_run();
}
