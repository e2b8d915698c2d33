/*
 * DOC: "the frame path allocates nothing", measured
 *
 * This program defines malloc, calloc, realloc and friends itself (they
 * forward to glibc's __libc_* entry points), which interposes them for the
 * whole process, GLib included, and counts every call.  It sets up a real
 * `-netdev socket,listen=` with a nic-stub at 10.0.2.100, connects a
 * loopback TCP client speaking QEMU's stream framing, warms up, and then
 * pushes thousands of ICMP echo requests and ARP requests through (socket
 * -> framing -> queue -> NIC ring -> tiny host -> reply -> queue -> tx
 * ring -> socket), pumping the GLib main loop, while the counter must stay
 * at zero.  Setup and teardown may allocate; the frames may not.  The
 * same for datagrams: two udp= ports on a hub (recvmmsg/sendmmsg batches),
 * and two hubs joined by two vxlan netdevs over loopback.
 *
 * Built only without sanitizers (they own malloc); CI runs it in the plain
 * build under `make valgrind`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "hw/device.h"
#include "hw/nic-stub-guest.h"
#include "hw/nic-stub.h"
#include "net/net.h"
#include "net/netdev.h"
#include "system/object.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t align, size_t size);

static unsigned long alloc_calls;

void *malloc(size_t size)
{
    alloc_calls++;
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    alloc_calls++;
    return __libc_calloc(n, size);
}

void *realloc(void *ptr, size_t size)
{
    alloc_calls++;
    return __libc_realloc(ptr, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    alloc_calls++;
    *out = __libc_memalign(align, size);
    return *out ? 0 : ENOMEM;
}

void *aligned_alloc(size_t align, size_t size)
{
    alloc_calls++;
    return __libc_memalign(align, size);
}

#define FRAMES_PER_BATCH 64
#define BATCHES 100

static const uint8_t stub_mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x02, 0x64 };
static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* One framed ICMP echo request (payload bytes) or ARP request; length. */
static size_t build_request(uint8_t *out, bool arp, size_t payload)
{
    uint8_t *f = out + 4, *ip = f + 14;
    size_t len;

    memcpy(f, arp ? (const uint8_t *)"\xff\xff\xff\xff\xff\xff" : stub_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    if (arp) {
        static const uint8_t body[28] = { 0, 1, 8, 0, 6, 4, 0, 1,
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 10, 0, 2, 15,
            0, 0, 0, 0, 0, 0, 10, 0, 2, 100 };
        f[12] = 0x08; f[13] = 0x06;
        memcpy(f + 14, body, sizeof(body));
        len = 42;
    } else {
        size_t total = 28 + payload;
        uint16_t sum;

        f[12] = 0x08; f[13] = 0x00;
        memset(ip, 0, total);
        ip[0] = 0x45; ip[2] = total >> 8; ip[3] = total & 0xff;
        ip[8] = 64; ip[9] = 1;
        memcpy(ip + 12, "\x0a\x00\x02\x0f", 4);
        memcpy(ip + 16, "\x0a\x00\x02\x64", 4);
        sum = inet_checksum(ip, 20);
        ip[10] = sum >> 8; ip[11] = sum & 0xff;
        ip[20] = 8;
        sum = inet_checksum(ip + 20, 8 + payload);
        ip[22] = sum >> 8; ip[23] = sum & 0xff;
        len = 14 + total;
    }
    out[0] = 0; out[1] = 0; out[2] = (len >> 8) & 0xff; out[3] = len & 0xff;
    return len + 4;
}

static int connect_client(unsigned port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;

    g_assert_cmpint(fd, >=, 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    g_assert_true(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
                  errno == EINPROGRESS);
    return fd;
}

/* Send @n requests and pump until @n framed replies came back. */
static void exchange(int fd, unsigned n, bool arp)
{
    static uint8_t out[FRAMES_PER_BATCH * 1200], in[1 << 16];
    size_t out_len = 0, out_done = 0, in_len = 0;
    unsigned replies = 0;

    g_assert_cmpuint(n, <=, FRAMES_PER_BATCH);
    for (unsigned i = 0; i < n; i++) {
        out_len += build_request(out + out_len, arp, 1000);
    }
    for (unsigned spin = 0; replies < n && spin < 200000; spin++) {
        ssize_t r;

        if (out_done < out_len) {
            r = send(fd, out + out_done, out_len - out_done, MSG_NOSIGNAL);
            out_done += r > 0 ? (size_t)r : 0;
        }
        g_main_context_iteration(NULL, false);
        r = recv(fd, in + in_len, sizeof(in) - in_len, 0);
        in_len += r > 0 ? (size_t)r : 0;
        while (in_len >= 4) {           /* count whole framed replies */
            size_t flen = (size_t)in[2] << 8 | in[3];

            if (in_len < 4 + flen) {
                break;
            }
            g_assert_cmpmem(in + 4, 6, guest_mac, 6);
            memmove(in, in + 4 + flen, in_len - 4 - flen);
            in_len -= 4 + flen;
            replies++;
        }
    }
    g_assert_cmpuint(replies, ==, n);
}

static unsigned listen_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port;

    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static void stream_ping(const char *dump_path);

static void test_stream_ping_no_alloc(void)
{
    stream_ping(NULL);
}

/* The same with a filter-dump capturing both directions on n0. */
static void test_dump_ping_no_alloc(void)
{
    g_autofree char *dir = g_dir_make_tmp("alloc-free-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "n0.pcap", NULL);
    GStatBuf st;

    stream_ping(path);
    /*
     * Every frame each way is in the file: a record is 16 bytes and at
     * least 42 (an ARP frame), at most 64 (maxlen).
     */
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_size, >=,
                    24 + 2 * 58 * (BATCHES + 4) * FRAMES_PER_BATCH);
    g_assert_cmpint(st.st_size, <=,
                    24 + 2 * 80 * (BATCHES + 4) * FRAMES_PER_BATCH);
    g_remove(path);
    g_rmdir(dir);
}

static void stream_ping(const char *dump_path)
{
    unsigned port = listen_port();
    g_autofree char *nd = g_strdup_printf(
        "socket,id=n0,listen=127.0.0.1:%u", port);
    g_autoptr(Netdev) netdev = netdev_parse(nd, NULL);
    g_autoptr(DeviceOptions) dev = device_parse(
        "nic-stub,id=s0,netdev=n0,mac=52:54:00:00:02:64,ip=10.0.2.100/24",
        NULL);
    unsigned long before, allocs;
    int fd;

    g_assert_true(netdev_add(netdev, NULL));
    g_assert_true(device_add(dev, NULL));
    if (dump_path) {
        g_autofree char *str = g_strdup_printf(
            "filter-dump,id=d0,netdev=n0,maxlen=64,file=%s", dump_path);
        g_autoptr(ObjectOptions) obj = object_parse(str, NULL);

        g_assert_true(object_add(obj, NULL));
    }
    fd = connect_client(port);
    for (int i = 0; i < 4; i++) {       /* warm-up: accept, first frames */
        exchange(fd, FRAMES_PER_BATCH, i & 1);
    }

    before = alloc_calls;
    for (int i = 0; i < BATCHES; i++) {
        exchange(fd, FRAMES_PER_BATCH, i % 3 == 0);
    }
    allocs = alloc_calls - before;
    g_test_message("%lu allocations for %u frames each way", allocs,
                   BATCHES * FRAMES_PER_BATCH);
    g_assert_cmpuint(allocs, ==, 0);
    g_assert_cmpuint(net_client_find("s0")->stats.rx_frames, >=,
                     BATCHES * FRAMES_PER_BATCH);
    close(fd);
    object_cleanup();
    net_cleanup();
}

/* The same through a learning hub: socket -> hub -> NIC, a trunk listening. */
static void test_hub_ping_no_alloc(void)
{
    unsigned port = listen_port();
    g_autofree char *nd = g_strdup_printf(
        "socket,id=n0,listen=127.0.0.1:%u", port);
    const char *ports[] = {
        "hubport,id=h0,hubid=0,netdev=n0",
        "hubport,id=h1,hubid=0",
        "hubport,id=h2,hubid=0,trunk=on,vlan=7",
    };
    g_autoptr(Netdev) netdev = netdev_parse(nd, NULL);
    g_autoptr(DeviceOptions) dev = device_parse(
        "nic-stub,id=s0,netdev=h1,mac=52:54:00:00:02:64,ip=10.0.2.100/24",
        NULL);
    g_autoptr(DeviceOptions) dev2 = device_parse(
        "nic-stub,id=s2,netdev=h2,mac=52:54:00:00:02:65", NULL);
    unsigned long before, allocs;
    int fd;

    g_assert_true(netdev_add(netdev, NULL));
    for (unsigned i = 0; i < G_N_ELEMENTS(ports); i++) {
        g_autoptr(Netdev) hp = netdev_parse(ports[i], NULL);

        g_assert_true(netdev_add(hp, NULL));
    }
    g_assert_true(device_add(dev, NULL));
    g_assert_true(device_add(dev2, NULL));
    fd = connect_client(port);
    for (int i = 0; i < 4; i++) {
        exchange(fd, FRAMES_PER_BATCH, i & 1);
    }

    before = alloc_calls;
    for (int i = 0; i < BATCHES; i++) {
        exchange(fd, FRAMES_PER_BATCH, i % 3 == 0);
    }
    allocs = alloc_calls - before;
    g_test_message("%lu allocations through the hub", allocs);
    g_assert_cmpuint(allocs, ==, 0);
    g_assert_cmpuint(net_client_find("s0")->stats.rx_frames, >=,
                     BATCHES * FRAMES_PER_BATCH);
    close(fd);
    net_cleanup();
}

static int udp_bound(unsigned *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Send @n datagrams from @tx to 127.0.0.1:@to, pump until @rx got @n. */
static void udp_exchange(int tx, unsigned to, int rx, unsigned n)
{
    static uint8_t frame[1500], in[2048];
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(to),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    unsigned got = 0;

    memset(frame, 0xff, 6);                 /* broadcast: flooded */
    memcpy(frame + 6, guest_mac, 6);
    frame[12] = 0x88;
    frame[13] = 0xb5;
    for (unsigned i = 0; i < n; i++) {
        frame[14] = (uint8_t)i;
        g_assert_cmpint(sendto(tx, frame, 64 + i * 7 % 1400, 0,
                               (struct sockaddr *)&sa, sizeof(sa)), >, 0);
    }
    for (unsigned spin = 0; got < n && spin < 200000; spin++) {
        g_main_context_iteration(NULL, false);
        while (recv(rx, in, sizeof(in), 0) > 0) {
            got++;
        }
    }
    g_assert_cmpuint(got, ==, n);
}

/*
 * Add the netdevs @nds, warm them up, then count the allocations while
 * BATCHES x FRAMES_PER_BATCH datagrams go from f0 through them to f1
 * (port p0 is where f0 sends).
 */
static unsigned long udp_allocs_through(const char *const *nds, unsigned n,
                                        int f0, unsigned p0, int f1)
{
    unsigned long before;

    for (unsigned i = 0; i < n; i++) {
        g_autoptr(Netdev) nd = netdev_parse(nds[i], NULL);

        g_assert_nonnull(nd);
        g_assert_true(netdev_add(nd, NULL));
    }
    for (int i = 0; i < 4; i++) {
        udp_exchange(f0, p0, f1, FRAMES_PER_BATCH);
    }
    before = alloc_calls;
    for (int i = 0; i < BATCHES; i++) {
        udp_exchange(f0, p0, f1, FRAMES_PER_BATCH);
    }
    return alloc_calls - before;
}
/*
 * Datagrams in batches (recvmmsg -> hub -> transmit ring -> sendmmsg):
 * two udp= ports on a hub, plain UDP sockets at both ends.
 */
static void test_udp_hub_no_alloc(void)
{
    unsigned pf0, pf1, p0 = listen_port(), p1 = listen_port();
    int f0 = udp_bound(&pf0), f1 = udp_bound(&pf1);
    g_autofree char *u0 = g_strdup_printf(
        "socket,id=u0,udp=127.0.0.1:%u,localaddr=127.0.0.1:%u", pf0, p0);
    g_autofree char *u1 = g_strdup_printf(
        "socket,id=u1,udp=127.0.0.1:%u,localaddr=127.0.0.1:%u", pf1, p1);
    const char *nds[] = {
        u0, u1,
        "hubport,id=h0,hubid=0,netdev=u0",
        "hubport,id=h1,hubid=0,netdev=u1",
    };
    unsigned long allocs;

    allocs = udp_allocs_through(nds, G_N_ELEMENTS(nds), f0, p0, f1);
    g_test_message("%lu allocations for %u datagrams", allocs,
                   BATCHES * FRAMES_PER_BATCH);
    g_assert_cmpuint(allocs, ==, 0);
    g_assert_cmpuint(net_client_find("u1")->stats.rx_frames, >=,
                     BATCHES * FRAMES_PER_BATCH);
    close(f0);
    close(f1);
    net_cleanup();
}

/*
 * VXLAN (recvmmsg -> header check, FDB learning -> hub; hub -> FDB
 * lookup, flow hash -> sendmsg): udp= port -> hub 0 -> vxlan on
 * 127.0.0.1 ==VXLAN==> vxlan on 127.0.0.2 -> hub 1 -> udp= port.
 */
static void test_vxlan_no_alloc(void)
{
    unsigned pf0, pf1, p0 = listen_port(), p1 = listen_port();
    unsigned pv = listen_port();
    int f0 = udp_bound(&pf0), f1 = udp_bound(&pf1);
    g_autofree char *u0 = g_strdup_printf(
        "socket,id=u0,udp=127.0.0.1:%u,localaddr=127.0.0.1:%u", pf0, p0);
    g_autofree char *u1 = g_strdup_printf(
        "socket,id=u1,udp=127.0.0.1:%u,localaddr=127.0.0.1:%u", pf1, p1);
    g_autofree char *v0 = g_strdup_printf(
        "vxlan,id=v0,vni=42,local=127.0.0.1,remote=127.0.0.2,dstport=%u",
        pv);
    g_autofree char *v1 = g_strdup_printf(
        "vxlan,id=v1,vni=42,local=127.0.0.2,remote=127.0.0.1,dstport=%u",
        pv);
    const char *nds[] = {
        u0, u1, v0, v1,
        "hubport,id=h0,hubid=0,netdev=u0",
        "hubport,id=h1,hubid=0,netdev=v0",
        "hubport,id=h2,hubid=1,netdev=v1",
        "hubport,id=h3,hubid=1,netdev=u1",
    };
    unsigned long allocs;

    allocs = udp_allocs_through(nds, G_N_ELEMENTS(nds), f0, p0, f1);
    g_test_message("%lu allocations for %u frames through VXLAN", allocs,
                   BATCHES * FRAMES_PER_BATCH);
    g_assert_cmpuint(allocs, ==, 0);
    g_assert_cmpuint(net_client_find("v1")->stats.tx_frames, >=,
                     BATCHES * FRAMES_PER_BATCH);
    close(f0);
    close(f1);
    net_cleanup();
}

/* The counter itself works: a test that cannot fail is a defect. */
static void test_counter_counts(void)
{
    unsigned long before = alloc_calls;
    g_autofree char *s = g_strdup("x");

    g_assert_cmpstr(s, ==, "x");
    g_assert_cmpuint(alloc_calls, >, before);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/alloc-free/counter-counts", test_counter_counts);
    g_test_add_func("/alloc-free/stream-ping", test_stream_ping_no_alloc);
    g_test_add_func("/alloc-free/dump-ping", test_dump_ping_no_alloc);
    g_test_add_func("/alloc-free/hub-ping", test_hub_ping_no_alloc);
    g_test_add_func("/alloc-free/udp-hub", test_udp_hub_no_alloc);
    g_test_add_func("/alloc-free/vxlan", test_vxlan_no_alloc);
    return g_test_run();
}
