/*
 * DOC: the datagram data path (net/dgram-conn.c) under injected faults
 *
 * `-netdev socket` fd= and udp= and `-netdev dgram` on loopback sockets,
 * peered with a FakeNic or a hub (fixtures in socket-faults.h): truncated
 * and empty datagrams are dropped and counted; EINTR/EAGAIN on both
 * sides; NIC backpressure; batches of datagrams through recvmmsg() and
 * sendmmsg(); UDP GSO for runs of equal frames, its refusal, and none on
 * unix datagram sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "net/hub.h"
#include "net/net.h"
#include "net/netdev.h"
#include "net/stream-framing.h"
#include "util/sockops.h"

#include "socket-faults.h"

/* ---- datagrams ----------------------------------------------------------- */

static void dgram_send(int fd, size_t len, uint32_t seq)
{
    g_autoptr(GByteArray) f = frame_new(len, seq);

    g_assert_cmpint(send(fd, f->data, len, 0), ==, (ssize_t)len);
}

/* Wait for one datagram on @fd (nonblocking) and check it. */
static void dgram_expect(int fd, size_t len, uint32_t seq)
{
    g_autoptr(GByteArray) want = frame_new(len, seq);
    g_autofree uint8_t *buf = g_malloc(NET_BUFSIZE + 1);
    ssize_t n;

    WAIT_FOR((n = recv(fd, buf, NET_BUFSIZE + 1, MSG_DONTWAIT)) >= 0);
    g_assert_cmpmem(buf, n, want->data, want->len);
}

/*
 * A datagram fd= (AF_UNIX): truncated and empty datagrams are dropped and
 * counted and reading goes on; EINTR/EAGAIN on recvmsg; NIC backpressure;
 * EAGAIN on sendmsg queues the frame until the socket is writable.
 */
static void dgram_fd_scenario(const char *netdev_fmt, const char *info_fmt)
{
    g_autofree uint8_t *big = g_malloc0(NET_BUFSIZE + 1);
    g_autofree char *info = NULL;
    NetClientState *nc;
    FakeNic *nic;
    int sv[2];

    test_begin();
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    nc = netdev_new_ok(netdev_fmt, sv[0]);
    info = g_strdup_printf(info_fmt, sv[0]);
    g_assert_cmpstr(nc->info_str, ==, info);
    nic = fake_nic_new(nc, "nic0");
    faults.fd = sv[0];
    fault_script(&faults.recv, true, 3, FAULT_EINTR, FAULT_PASS,
                 FAULT_EAGAIN);

    g_assert_cmpint(send(sv[1], big, NET_BUFSIZE + 1, 0), ==,
                    NET_BUFSIZE + 1);
    g_assert_cmpint(send(sv[1], big, 0, 0), ==, 0);
    dgram_send(sv[1], NET_BUFSIZE, 1);
    dgram_send(sv[1], 100, 2);
    WAIT_FOR(nic->frames->len == 2);
    assert_nic_frame(nic, 0, NET_BUFSIZE, 1);
    assert_nic_frame(nic, 1, 100, 2);
    g_assert_cmpuint(nc->stats.oversized, ==, 1);
    g_assert_cmpuint(nc->stats.dropped, ==, 1);

    nic->refuse = true;
    for (unsigned i = 0; i < 8; i++) {
        dgram_send(sv[1], 64 + i, 10 + i);
    }
    loop_settle(30);
    g_assert_cmpuint(nic->frames->len, ==, 2);
    fake_nic_take(nic, 100);
    WAIT_FOR(nic->frames->len == 10);
    for (unsigned i = 0; i < 8; i++) {
        assert_nic_frame(nic, 2 + i, 64 + i, 10 + i);
    }

    fault_script(&faults.send, false, 2, FAULT_EAGAIN, FAULT_EINTR);
    {
        g_autoptr(GByteArray) f = frame_new(500, 20);

        g_assert_cmpint(fake_nic_send(nic, f->data, f->len), ==, 0);
    }
    WAIT_FOR(!nic->tx_blocked);
    dgram_expect(sv[1], 500, 20);
    g_assert_cmpuint(nc->stats.rx_frames, ==, 1);
    close(sv[1]);
    test_end();
}

static void test_dgram_fd(void)
{
    dgram_fd_scenario("socket,id=d0,fd=%d", "socket: fd=%d");
}

/* The same machinery (net/dgram-conn.c) under -netdev dgram. */
static void test_netdev_dgram_fd(void)
{
    dgram_fd_scenario("dgram,id=d0,local.type=fd,local.str=%d", "fd=%d");
}

static void test_udp(void)
{
    unsigned p0 = free_port(SOCK_DGRAM), p1 = free_port(SOCK_DGRAM);
    g_autoptr(GByteArray) big = frame_new(NET_BUFSIZE, 0);
    g_autofree char *info = NULL;
    NetClientState *u0, *u1;
    FakeNic *n0, *n1;

    test_begin();
    while (p1 == p0) {
        p1 = free_port(SOCK_DGRAM);
    }
    u0 = netdev_new_ok("socket,id=u0,udp=127.0.0.1:%u,"
                       "localaddr=127.0.0.1:%u", p1, p0);
    u1 = netdev_new_ok("socket,id=u1,udp=127.0.0.1:%u,"
                       "localaddr=127.0.0.1:%u", p0, p1);
    info = g_strdup_printf("socket: udp=127.0.0.1:%u", p1);
    g_assert_cmpstr(u0->info_str, ==, info);
    n0 = fake_nic_new(u0, "nic0");
    n1 = fake_nic_new(u1, "nic1");
    for (unsigned i = 0; i < 5; i++) {
        g_autoptr(GByteArray) f = frame_new(60 + i * 2000, i);

        g_assert_cmpint(fake_nic_send(n0, f->data, f->len), ==, f->len);
    }
    /* Larger than a UDP datagram can be: dropped, counted. */
    g_assert_cmpint(fake_nic_send(n0, big->data, big->len), ==, big->len);
    g_assert_cmpuint(u0->stats.dropped, ==, 1);
    WAIT_FOR(n1->frames->len == 5);
    for (unsigned i = 0; i < 5; i++) {
        assert_nic_frame(n1, i, 60 + i * 2000, i);
    }
    {
        g_autoptr(GByteArray) f = frame_new(1514, 7);

        fake_nic_send(n1, f->data, f->len);
    }
    WAIT_FOR(n0->frames->len == 1);
    assert_nic_frame(n0, 0, 1514, 7);
    loop_settle(10);
    g_assert_cmpuint(n1->frames->len, ==, 5);
    test_end();
}

/* ---- udp=: batches of datagrams through a hub ---------------------------- */

/* A plain UDP socket on 127.0.0.1; *port gets its port. */
static int udp_socket(unsigned *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, len), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void udp_send_to(int fd, unsigned port, const void *buf, size_t len)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    g_assert_cmpint(sendto(fd, buf, len, 0, (struct sockaddr *)&sa,
                           sizeof(sa)), ==, (ssize_t)len);
}

/* Add the datagrams waiting on @fd to @got (GBytes each); their count. */
static unsigned udp_drain(int fd, GPtrArray *got)
{
    uint8_t buf[65536];
    ssize_t n;

    while ((n = recv(fd, buf, sizeof(buf), 0)) >= 0) {
        g_ptr_array_add(got, g_bytes_new(buf, (gsize)n));
    }
    return got->len;
}

static size_t udp_batch_len(unsigned i)
{
    return 60 + (i * 97) % 1455;
}

/*
 * far0 -> u0 -> hub -> u1 -> far1, all udp=.  far0 sends @total datagrams
 * (an empty one, which is malformed, after the tenth) before the loop
 * runs; far1 must get the others intact and in order.
 */
static void udp_hub_run(unsigned total, size_t (*len_of)(unsigned),
                        unsigned *recv_calls, unsigned *send_calls)
{
    g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_bytes_unref);
    unsigned pf0, pf1, p0 = free_port(SOCK_DGRAM), p1;
    int far0 = udp_socket(&pf0), far1 = udp_socket(&pf1);
    NetClientState *u0;

    do {
        p1 = free_port(SOCK_DGRAM);
    } while (p1 == p0);
    u0 = netdev_new_ok("socket,id=u0,udp=127.0.0.1:%u,"
                       "localaddr=127.0.0.1:%u", pf0, p0);
    netdev_new_ok("socket,id=u1,udp=127.0.0.1:%u,localaddr=127.0.0.1:%u",
                  pf1, p1);
    netdev_new_ok("hubport,id=h0,hubid=62,learning=off,netdev=u0");
    netdev_new_ok("hubport,id=h1,hubid=62,netdev=u1");
    for (unsigned i = 0; i < total; i++) {
        g_autoptr(GByteArray) f = frame_new(len_of(i), i);

        udp_send_to(far0, p0, f->data, f->len);
        if (i == 10) {
            udp_send_to(far0, p0, "", 0);
        }
    }
    WAIT_FOR(udp_drain(far1, got) >= total);
    loop_settle(5);
    g_assert_cmpuint(udp_drain(far1, got), ==, total);
    for (unsigned i = 0; i < total; i++) {
        g_autoptr(GByteArray) want = frame_new(len_of(i), i);
        gsize len;
        const void *data = g_bytes_get_data(got->pdata[i], &len);

        g_assert_cmpmem(data, len, want->data, want->len);
    }
    g_assert_cmpuint(u0->stats.dropped_by[NET_DROP_MALFORMED], ==, 1);
    *recv_calls = faults.recv_calls;
    *send_calls = faults.send_calls;
    close(far0);
    close(far1);
}

/*
 * Datagrams move in batches: recvmmsg() and sendmmsg() each carry many
 * (without batching: a call per datagram), and the bad one in the batch
 * is dropped alone.
 */
static void test_udp_batched(void)
{
    const unsigned total = 100;
    unsigned recv_calls, send_calls;

    test_begin();
    udp_hub_run(total, udp_batch_len, &recv_calls, &send_calls);
    g_assert_cmpuint(faults.recv_msgs, ==, total + 1);
    g_assert_cmpuint(faults.send_msgs, ==, total);
    g_assert_cmpuint(recv_calls * 8, <=, total);
    g_assert_cmpuint(send_calls * 8, <=, total);
    test_end();
}

/* EAGAIN and EINTR on both sides of the batches: nothing lost, in order. */
static void test_udp_batched_faults(void)
{
    unsigned recv_calls, send_calls;

    test_begin();
    fault_script(&faults.recv, true, 3, FAULT_EINTR, FAULT_PASS,
                 FAULT_EAGAIN);
    fault_script(&faults.send, true, 4, FAULT_EAGAIN, FAULT_PASS,
                 FAULT_EINTR, FAULT_PASS);
    udp_hub_run(150, udp_batch_len, &recv_calls, &send_calls);
    g_assert_cmpuint(faults.send_msgs, ==, 150);
    test_end();
}

/* Runs of equal frames (1514 bytes, 60, one of 1000 between): */
static size_t udp_gso_len(unsigned i)
{
    if (i % 25 == 24) {
        return 1000;
    }
    return (i / 25) % 2 ? 60 : 1514;
}

/*
 * Runs of frames of one size leave as UDP GSO messages, which the kernel
 * cuts into datagrams: the far end still gets each frame as a datagram
 * of its own, intact and in order, in far fewer messages than frames.
 */
static void test_udp_gso(void)
{
    const unsigned total = 200;
    unsigned recv_calls, send_calls;

    test_begin();
    udp_hub_run(total, udp_gso_len, &recv_calls, &send_calls);
    g_assert_cmpuint(faults.send_msgs, ==, total);
    g_assert_cmpuint(faults.send_gso, >, 0);
    g_assert_cmpuint(faults.send_mmsgs * 4, <=, total);
    test_end();
}

/*
 * A kernel or route that refuses a GSO message (EMSGSIZE: the route's MTU
 * is below the frame size, seen on a real route) costs nothing: the frames go again one by one, none is
 * dropped, and GSO stays off for the connection.
 */
static void test_udp_gso_refused(void)
{
    const unsigned total = 120;
    unsigned recv_calls, send_calls;

    test_begin();
    fault_script(&faults.send, false, 1, FAULT_EMSGSIZE);
    udp_hub_run(total, udp_gso_len, &recv_calls, &send_calls);
    g_assert_cmpuint(faults.send_msgs, ==, total);
    g_assert_cmpuint(faults.send_gso, ==, 0);
    g_assert_cmpuint(faults.send_mmsgs, ==, total);
    g_assert_cmpuint(net_client_find("u1")->stats.dropped, ==, 0);
    test_end();
}

/*
 * Unix datagram sockets have no segmentation offload (a UDP_SEGMENT
 * message would leave as one datagram): equal frames from a batch reach a
 * unix dgram peer one datagram each.
 */
static void test_dgram_unix_no_gso(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmwire-dgram-XXXXXX", NULL);
    g_autofree char *a = g_build_filename(dir, "a", NULL);
    g_autofree char *b = g_build_filename(dir, "b", NULL);
    struct sockaddr_un sb = { .sun_family = AF_UNIX };
    unsigned pf0, p0 = free_port(SOCK_DGRAM);
    g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_bytes_unref);
    const unsigned total = 40;
    int far0, peer;

    test_begin();
    far0 = udp_socket(&pf0);
    peer = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    g_strlcpy(sb.sun_path, b, sizeof(sb.sun_path));
    g_assert_cmpint(bind(peer, (struct sockaddr *)&sb, sizeof(sb)), ==, 0);
    netdev_new_ok("socket,id=u0,udp=127.0.0.1:%u,localaddr=127.0.0.1:%u",
                  pf0, p0);
    netdev_new_ok("dgram,id=d0,local.type=unix,local.path=%s,"
                  "remote.type=unix,remote.path=%s", a, b);
    netdev_new_ok("hubport,id=h0,hubid=61,learning=off,netdev=u0");
    netdev_new_ok("hubport,id=h1,hubid=61,netdev=d0");
    for (unsigned i = 0; i < total; i++) {
        g_autoptr(GByteArray) f = frame_new(1514, i);

        udp_send_to(far0, p0, f->data, f->len);
    }
    WAIT_FOR(udp_drain(peer, got) >= total);
    loop_settle(5);
    g_assert_cmpuint(udp_drain(peer, got), ==, total);
    for (unsigned i = 0; i < total; i++) {
        g_autoptr(GByteArray) want = frame_new(1514, i);
        gsize len;
        const void *data = g_bytes_get_data(got->pdata[i], &len);

        g_assert_cmpmem(data, len, want->data, want->len);
    }
    g_assert_cmpuint(faults.send_gso, ==, 0);
    close(far0);
    close(peer);
    test_end();
    g_assert_cmpint(unlink(b), ==, 0);
    g_assert_cmpint(rmdir(dir), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* The loop's own wake-up fd exists before any test counts fds. */
    g_main_context_iteration(NULL, FALSE);
    g_test_add_func("/net/socket/dgram/fd", test_dgram_fd);
    g_test_add_func("/net/socket/dgram/udp", test_udp);
    g_test_add_func("/net/socket/dgram/udp-batched", test_udp_batched);
    g_test_add_func("/net/socket/dgram/udp-batched-faults",
                    test_udp_batched_faults);
    g_test_add_func("/net/socket/dgram/udp-gso", test_udp_gso);
    g_test_add_func("/net/socket/dgram/udp-gso-refused",
                    test_udp_gso_refused);
    g_test_add_func("/net/dgram/unix-no-gso", test_dgram_unix_no_gso);
    g_test_add_func("/net/dgram/fd", test_netdev_dgram_fd);
    return g_test_run();
}
