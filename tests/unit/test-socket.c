/*
 * DOC: `-netdev socket` (net/socket.c): listen=, connect=, mcast=, options
 *
 * Real backends on loopback sockets, peered with a FakeNic (fixtures in
 * socket-faults.h): a bad length resets only its connection and the next
 * peer is accepted; accept() out of fds backs off (also in a hubid=
 * listener, net/stream-multi.c); connect= and its refusal; link state and
 * info strings; mcast self-loop filtering and the cloned multicast fd;
 * option errors with QEMU's messages leaving nothing behind.
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

/* ---- listen= ------------------------------------------------------------- */

static void assert_info_from(NetClientState *nc, unsigned port)
{
    g_autofree char *want =
        g_strdup_printf("socket: connection from 127.0.0.1:%u", port);

    g_assert_cmpstr(nc->info_str, ==, want);
}

/*
 * A bad length resets only that connection (one log line, resets++); the
 * peer waiting in the backlog is accepted next and works both ways.  The
 * link follows connections (and takes the NIC's with it).
 */
static void test_listen_oversized_next_peer(void)
{
    g_autoptr(GByteArray) f = frame_new(400, 3);
    g_autoptr(GByteArray) want = g_byte_array_new();
    g_autofree char *log = NULL;
    g_autofree char *line = NULL;
    unsigned port = free_port(SOCK_STREAM), p1, p2, p3, link_changes;
    FarEnd *c1, *c2, *c3;
    StderrCapture cap;
    NetClientState *nc;
    FakeNic *nic;

    test_begin();
    nc = netdev_new_ok("socket,id=l0,listen=127.0.0.1:%u", port);
    g_assert_true(nc->link_down);
    g_assert_cmpstr(nc->info_str, ==, "");
    nic = fake_nic_new(nc, "nic0");
    g_assert_true(nic->nc.link_down);       /* attached to a down link */
    link_changes = nic->link_changes;
    stderr_capture_start(&cap);

    c1 = far_new(tcp_connect(port, &p1));
    WAIT_FOR(!nc->link_down);
    assert_info_from(nc, p1);
    c2 = far_new(tcp_connect(port, &p2));       /* waits in the backlog */
    stream_append(c1->out, 200, 1);
    WAIT_FOR(nic->frames->len == 1);
    g_byte_array_append(c1->out, (const uint8_t *)"\xff\xff\xff\xfe" "junk",
                        8);
    WAIT_FOR(nc->stats.resets == 1);
    WAIT_FOR(c1->eof);
    WAIT_FOR(!nc->link_down);
    assert_info_from(nc, p2);
    g_assert_false(nic->nc.link_down);
    g_assert_cmpuint(nic->link_changes - link_changes, ==, 3); /* up,down,up */

    stream_append(c2->out, 300, 2);
    WAIT_FOR(nic->frames->len == 2);
    assert_nic_frame(nic, 1, 300, 2);
    g_assert_cmpint(fake_nic_send(nic, f->data, f->len), ==, 400);
    stream_append(want, 400, 3);
    WAIT_FOR(c2->in->len >= want->len);
    g_assert_cmpmem(c2->in->data, c2->in->len, want->data, want->len);
    g_assert_cmpuint(c1->in->len, ==, 0);

    far_close(c2);
    WAIT_FOR(nc->link_down);
    g_assert_true(nic->nc.link_down);
    g_assert_cmpstr(nc->info_str, ==, "");
    c3 = far_new(tcp_connect(port, &p3));
    WAIT_FOR(!nc->link_down);
    assert_info_from(nc, p3);
    g_assert_cmpuint(nic->link_changes - link_changes, ==, 5);
    log = stderr_capture_end(&cap);
    line = g_strdup_printf(
        "vmwire: l0: connection from 127.0.0.1:%u\n"
        "vmwire: l0: serious error: oversized packet received, "
        "connection terminated.\n"
        "vmwire: l0: connection from 127.0.0.1:%u\n"
        "vmwire: l0: peer 127.0.0.1:%u disconnected\n"
        "vmwire: l0: connection from 127.0.0.1:%u\n", p1, p2, p2, p3);
    g_assert_cmpstr(log, ==, line);
    g_assert_cmpuint(nc->stats.resets, ==, 1);
    far_free(c1);
    far_free(c2);
    far_free(c3);
    test_end();
}

/* ---- connect= ------------------------------------------------------------ */

static int tcp_listen(unsigned *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, len), ==, 0);
    g_assert_cmpint(listen(fd, 4), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void test_connect(void)
{
    g_autoptr(GByteArray) f = frame_new(80, 1);
    g_autoptr(GByteArray) want = g_byte_array_new();
    g_autofree char *info = NULL;
    g_autofree char *log = NULL;
    g_autofree char *line = NULL;
    StderrCapture cap;
    NetClientState *nc;
    FakeNic *nic;
    FarEnd *srv;
    unsigned port;
    int lfd, afd;

    test_begin();
    lfd = tcp_listen(&port);
    nc = netdev_new_ok("socket,id=c0,connect=127.0.0.1:%u", port);
    info = g_strdup_printf("socket: connect to 127.0.0.1:%u", port);
    g_assert_cmpstr(nc->info_str, ==, info);
    nic = fake_nic_new(nc, "nic0");
    /* Sent while (maybe) still connecting: kept and written. */
    g_assert_cmpint(fake_nic_send(nic, f->data, f->len), ==, 80);
    stream_append(want, 80, 1);
    WAIT_FOR((afd = accept4(lfd, NULL, NULL,
                            SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0);
    srv = far_new(afd);
    WAIT_FOR(srv->in->len >= want->len);
    g_assert_cmpmem(srv->in->data, srv->in->len, want->data, want->len);
    stream_append(srv->out, 90, 2);
    WAIT_FOR(nic->frames->len == 1);
    assert_nic_frame(nic, 0, 90, 2);
    g_assert_false(nc->link_down);

    stderr_capture_start(&cap);
    far_close(srv);
    WAIT_FOR(nc->link_down);
    log = stderr_capture_end(&cap);
    line = g_strdup_printf("vmwire: c0: connection to 127.0.0.1:%u closed "
                           "by peer\n", port);
    g_assert_cmpstr(log, ==, line);
    g_assert_true(nic->nc.link_down);
    loop_settle(20);        /* no reconnect */
    g_assert_true(nc->link_down);
    close(lfd);
    far_free(srv);
    test_end();
}

static void test_connect_refused(void)
{
    unsigned port = free_port(SOCK_STREAM);
    g_autofree char *str =
        g_strdup_printf("socket,id=c0,connect=127.0.0.1:%u", port);
    g_autoptr(GError) err = NULL;
    g_autofree char *log = NULL;
    g_autofree char *line = NULL;
    StderrCapture cap;
    NetClientState *nc;

    test_begin();
    stderr_capture_start(&cap);
    nc = netdev_new(str, &err);
    if (nc) {
        WAIT_FOR(nc->link_down);
    }
    log = stderr_capture_end(&cap);
    if (!nc) {
        g_assert_cmpstr(err->message, ==,
                        "can't connect socket: Connection refused");
        g_assert_null(net_client_find("c0"));
    } else {
        line = g_strdup_printf("vmwire: c0: connection to 127.0.0.1:%u "
                               "refused\n", port);
        g_assert_cmpstr(log, ==, line);
    }
    test_end();
}

/* ---- mcast= -------------------------------------------------------------- */

/* A plain socket in @group:@port on loopback, as a QEMU process has. */
static int mcast_member(const char *group, unsigned port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    struct ip_mreq imr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    struct in_addr lo = { htonl(INADDR_LOOPBACK) };

    sa.sin_port = htons((uint16_t)port);
    inet_aton(group, &sa.sin_addr);
    imr.imr_multiaddr = sa.sin_addr;
    imr.imr_interface = lo;
    g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
                               sizeof(on)), ==, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &imr,
                               sizeof(imr)), ==, 0);
    g_assert_cmpint(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo,
                               sizeof(lo)), ==, 0);
    return fd;
}

/*
 * Two backends and a QEMU-like member on one group: each backend gets the
 * other's frames and the member's, never its own; the member hears both.
 */
static void test_mcast_self_filter(void)
{
    unsigned port = free_port(SOCK_DGRAM);
    g_autofree char *group = g_strdup_printf("239.255.42.%u", port % 200 + 1);
    g_autofree char *info = NULL;
    g_autofree uint8_t *buf = g_malloc(NET_BUFSIZE);
    struct sockaddr_in dst = { .sin_family = AF_INET };
    NetClientState *m0, *m1;
    FakeNic *n0, *n1;
    unsigned heard = 0;
    int member;

    test_begin();
    m0 = netdev_new_ok("socket,id=m0,mcast=%s:%u,localaddr=127.0.0.1",
                       group, port);
    m1 = netdev_new_ok("socket,id=m1,mcast=%s:%u,localaddr=127.0.0.1",
                       group, port);
    info = g_strdup_printf("socket: mcast=%s:%u", group, port);
    g_assert_cmpstr(m0->info_str, ==, info);
    n0 = fake_nic_new(m0, "nic0");
    n1 = fake_nic_new(m1, "nic1");
    member = mcast_member(group, port);

    for (unsigned i = 0; i < 10; i++) {
        g_autoptr(GByteArray) f = frame_new(100 + i, i);

        fake_nic_send(n0, f->data, f->len);
    }
    WAIT_FOR(n1->frames->len == 10);
    for (unsigned i = 0; i < 5; i++) {
        g_autoptr(GByteArray) f = frame_new(200 + i, 100 + i);

        fake_nic_send(n1, f->data, f->len);
    }
    WAIT_FOR(n0->frames->len == 5);
    /* A QEMU sends from its group socket (source port = group port). */
    dst.sin_port = htons((uint16_t)port);
    inet_aton(group, &dst.sin_addr);
    {
        g_autoptr(GByteArray) f = frame_new(300, 300);

        g_assert_cmpint(sendto(member, f->data, f->len, 0,
                               (struct sockaddr *)&dst, sizeof(dst)),
                        ==, (ssize_t)f->len);
    }
    WAIT_FOR(n0->frames->len == 6 && n1->frames->len == 11);
    WAIT_FOR((heard += recv(member, buf, NET_BUFSIZE, MSG_DONTWAIT) > 0)
             == 16);
    loop_settle(20);
    g_assert_cmpuint(n0->frames->len, ==, 6);
    g_assert_cmpuint(n1->frames->len, ==, 11);
    for (unsigned i = 0; i < 10; i++) {
        assert_nic_frame(n1, i, 100 + i, i);
    }
    for (unsigned i = 0; i < 5; i++) {
        assert_nic_frame(n0, i, 200 + i, 100 + i);
    }
    assert_nic_frame(n0, 5, 300, 300);
    assert_nic_frame(n1, 10, 300, 300);
    close(member);
    test_end();
}

/* A datagram fd bound to a group is cloned, as QEMU does. */
static void test_fd_cloned_mcast(void)
{
    unsigned port = free_port(SOCK_DGRAM);
    g_autofree char *group = g_strdup_printf("239.255.43.%u", port % 200 + 1);
    g_autofree char *info = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *str = NULL;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    NetClientState *f0, *m1;
    FakeNic *n0, *n1;
    int fd, on = 1;

    test_begin();
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sa.sin_port = htons((uint16_t)port);
    inet_aton(group, &sa.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    str = g_strdup_printf("socket,id=f0,fd=%d", fd);
    f0 = netdev_new(str, &err);
    if (!f0) {
        /* The clone joins on the default interface, as QEMU's does. */
        g_assert_true(g_str_has_prefix(err->message,
                                       "can't add socket to multicast"));
        g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);
        test_end();
        g_test_skip("no multicast route to join the group on");
        return;
    }
    info = g_strdup_printf("socket: fd=%d (cloned mcast=%s:%u)", fd, group,
                           port);
    g_assert_cmpstr(f0->info_str, ==, info);
    m1 = netdev_new_ok("socket,id=m1,mcast=%s:%u,localaddr=127.0.0.1",
                       group, port);
    n0 = fake_nic_new(f0, "nic0");
    n1 = fake_nic_new(m1, "nic1");
    {
        g_autoptr(GByteArray) f = frame_new(123, 5);

        fake_nic_send(n1, f->data, f->len);
    }
    WAIT_FOR(n0->frames->len == 1);
    assert_nic_frame(n0, 0, 123, 5);
    loop_settle(10);
    g_assert_cmpuint(n1->frames->len, ==, 0);
    test_end();
}

/* ---- options ------------------------------------------------------------- */

static void assert_netdev_error(const char *str, const char *message)
{
    g_autoptr(GError) err = NULL;

    g_assert_null(netdev_new(str, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, message);
    g_assert_null(net_client_find("e0"));
}

static void test_option_errors(void)
{
    unsigned port;
    int lfd, sv[2], pipefd[2];
    g_autofree char *str = NULL;
    g_autofree char *msg = NULL;

    test_begin();
    assert_netdev_error("socket,id=e0", "exactly one of listen=, "
                        "connect=, mcast= or udp= is required");
    assert_netdev_error("socket,id=e0,listen=:5000,connect=127.0.0.1:5000",
                        "exactly one of listen=, connect=, mcast= or "
                        "udp= is required");
    assert_netdev_error("socket,id=e0,foo=1", "Invalid parameter 'foo'");
    assert_netdev_error("socket,id=e0,listen=127.0.0.1:5000,"
                        "localaddr=127.0.0.1",
                        "localaddr= is only valid with mcast= or udp=");
    assert_netdev_error("socket,id=e0,udp=127.0.0.1:5000",
                        "localaddr= is mandatory with udp=");
    assert_netdev_error("socket,id=e0,mcast=127.0.0.1:5000",
                        "specified mcastaddr 127.0.0.1 (0x7f000001) does "
                        "not contain a multicast address");
    assert_netdev_error("socket,id=e0,mcast=239.1.2.3:5000,localaddr=x",
                        "localaddr 'x' is not a valid IPv4 address");
    assert_netdev_error("socket,id=e0,listen=5000",
                        "host address '5000' doesn't contain ':' "
                        "separating host from port");
    assert_netdev_error("socket,id=e0,connect=127.0.0.1:99999",
                        "port number '99999' is invalid");
    assert_netdev_error("socket,id=e0,fd=abc",
                        "Invalid file descriptor number 'abc'");
    assert_netdev_error("socket,id=e0,fd=1000",
                        "e0: Can't use file descriptor 1000: "
                        "Bad file descriptor");

    lfd = tcp_listen(&port);
    str = g_strdup_printf("socket,id=e0,listen=127.0.0.1:%u", port);
    assert_netdev_error(str, "can't bind ip=127.0.0.1 to socket: "
                        "Address already in use");
    close(lfd);

    faults.setsockopt_name = IP_ADD_MEMBERSHIP;
    faults.setsockopt_err = ENODEV;
    assert_netdev_error("socket,id=e0,mcast=239.1.2.3:5000,"
                        "localaddr=127.0.0.1",
                        "can't add socket to multicast group 239.1.2.3: "
                        "No such device");
    faults_reset();

    /* A wrong kind of fd is closed, as QEMU does. */
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    g_free(str);
    str = g_strdup_printf("socket,id=e0,fd=%d", sv[0]);
    msg = g_strdup_printf("socket type=%d for fd=%d must be either "
                          "SOCK_DGRAM or SOCK_STREAM", SOCK_SEQPACKET, sv[0]);
    assert_netdev_error(str, msg);
    g_assert_cmpint(fcntl(sv[0], F_GETFD), ==, -1);
    close(sv[1]);
    g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
    g_free(str);
    str = g_strdup_printf("socket,id=e0,fd=%d", pipefd[0]);
    assert_netdev_error(str, "can't get socket option SO_TYPE");
    /* Not a socket: left alone (QEMU would close it). */
    g_assert_cmpint(fcntl(pipefd[0], F_GETFL) & O_NONBLOCK, ==, 0);
    close(pipefd[0]);
    close(pipefd[1]);
    test_end();
}

/* ---- accept() out of fds ------------------------------------------------- */

static unsigned accept_calls, accept_failures;

static int fault_accept_emfile(int fd, struct sockaddr *addr, socklen_t *len)
{
    accept_calls++;
    if (accept_failures) {
        accept_failures--;
        errno = EMFILE;
        return -1;
    }
    return sockops_system.accept(fd, addr, len);
}

/*
 * accept() out of fds: the listener backs off instead of spinning on its
 * readable fd, and accepts the waiting peer once the retry comes.
 */
static void test_listen_accept_emfile(void)
{
    unsigned port = free_port(SOCK_STREAM), p1;
    NetClientState *nc;
    FarEnd *c1;

    test_begin();
    fault_ops.accept = fault_accept_emfile;
    accept_calls = 0;
    accept_failures = 1;
    nc = netdev_new_ok("socket,id=l0,listen=127.0.0.1:%u", port);
    fake_nic_new(nc, "nic0");
    c1 = far_new(tcp_connect(port, &p1));
    WAIT_FOR(accept_calls == 1);
    loop_settle(200);
    g_assert_cmpuint(accept_calls, ==, 1);      /* no busy loop */
    g_assert_true(nc->link_down);
    WAIT_FOR(!nc->link_down);                   /* retried, accepted */
    g_assert_cmpuint(accept_calls, ==, 2);
    assert_info_from(nc, p1);
    far_free(c1);
    test_end();
}

/*
 * The same in a hubid= listener (net/stream-multi.c shares the accept
 * loop): it backs off, then accepts; it goes on accepting while a
 * connection is up, and a connection that ends takes its port along.
 */
static void test_multi_accept_emfile(void)
{
    unsigned port = free_port(SOCK_STREAM), p1, p2;
    FarEnd *c1, *c2;

    test_begin();
    fault_ops.accept = fault_accept_emfile;
    accept_calls = 0;
    accept_failures = 1;
    netdev_new_ok("socket,id=m0,listen=127.0.0.1:%u,hubid=7", port);
    c1 = far_new(tcp_connect(port, &p1));
    WAIT_FOR(accept_calls == 1);
    loop_settle(200);
    g_assert_cmpuint(accept_calls, ==, 1);      /* no busy loop */
    g_assert_null(net_client_find("m0.1"));
    WAIT_FOR(net_client_find("m0.1"));          /* retried, accepted */
    g_assert_nonnull(net_client_find("m0.1.conn"));
    g_assert_cmpint(net_hub_port_hubid(net_client_find("m0.1")), ==, 7);
    c2 = far_new(tcp_connect(port, &p2));
    WAIT_FOR(net_client_find("m0.2"));          /* while m0.1 is up */
    far_free(c1);
    WAIT_FOR(!net_client_find("m0.1") && !net_client_find("m0.1.conn"));
    g_assert_nonnull(net_client_find("m0.2"));
    far_free(c2);
    test_end();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* The loop's own wake-up fd exists before any test counts fds. */
    g_main_context_iteration(NULL, FALSE);
    g_test_add_func("/net/socket/listen/oversized-next-peer",
                    test_listen_oversized_next_peer);
    g_test_add_func("/net/socket/listen/accept-emfile",
                    test_listen_accept_emfile);
    g_test_add_func("/net/socket/listen/multi-accept-emfile",
                    test_multi_accept_emfile);
    g_test_add_func("/net/socket/connect/closed-by-peer", test_connect);
    g_test_add_func("/net/socket/connect/refused", test_connect_refused);
    g_test_add_func("/net/socket/mcast/self-filter", test_mcast_self_filter);
    g_test_add_func("/net/socket/mcast/fd-clone", test_fd_cloned_mcast);
    g_test_add_func("/net/socket/options/errors", test_option_errors);
    return g_test_run();
}
