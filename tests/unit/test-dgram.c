/*
 * DOC: `-netdev dgram` (net/dgram.c) addresses
 *
 * Two dgram backends peered with FakeNics (fixtures in socket-faults.h):
 * unix datagram sockets both ways, their socket files going with the
 * netdevs, and unicast over IPv6 loopback.
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

/* -netdev dgram unix: both ways, and the socket files go with the netdevs. */
static void test_netdev_dgram_unix(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmwire-dgram-XXXXXX", NULL);
    g_autofree char *a = g_build_filename(dir, "a", NULL);
    g_autofree char *b = g_build_filename(dir, "b", NULL);
    g_autofree char *info = g_strdup_printf("udp=%s:%s", a, b);
    NetClientState *d0, *d1;
    FakeNic *n0, *n1;

    test_begin();
    d0 = netdev_new_ok("dgram,id=d0,local.type=unix,local.path=%s,"
                       "remote.type=unix,remote.path=%s", a, b);
    d1 = netdev_new_ok("dgram,id=d1,local.type=unix,local.path=%s,"
                       "remote.type=unix,remote.path=%s", b, a);
    g_assert_cmpstr(d0->info_str, ==, info);
    n0 = fake_nic_new(d0, "nic0");
    n1 = fake_nic_new(d1, "nic1");
    {
        g_autoptr(GByteArray) f = frame_new(1514, 3);

        g_assert_cmpint(fake_nic_send(n0, f->data, f->len), ==, f->len);
    }
    WAIT_FOR(n1->frames->len == 1);
    assert_nic_frame(n1, 0, 1514, 3);
    g_assert_true(g_file_test(a, G_FILE_TEST_EXISTS));
    test_end();
    g_assert_false(g_file_test(a, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(b, G_FILE_TEST_EXISTS));
    g_assert_cmpint(rmdir(dir), ==, 0);
}

/* -netdev dgram unicast over IPv6 loopback (QEMU 7.2 is IPv4 only). */
static void test_netdev_dgram_inet6(void)
{
    unsigned p0 = free_port(SOCK_DGRAM), p1 = free_port(SOCK_DGRAM);
    g_autofree char *info = NULL;
    NetClientState *d0, *d1;
    FakeNic *n0, *n1;

    test_begin();
    while (p1 == p0) {
        p1 = free_port(SOCK_DGRAM);
    }
    d0 = netdev_new_ok("dgram,id=d0,local.type=inet,local.host=::1,"
                       "local.port=%u,remote.type=inet,"
                       "remote.host=[::1],remote.port=%u", p0, p1);
    d1 = netdev_new_ok("dgram,id=d1,local.type=inet,local.host=::1,"
                       "local.port=%u,remote.type=inet,"
                       "remote.host=::1,remote.port=%u", p1, p0);
    info = g_strdup_printf("udp=[::1]:%u/[::1]:%u", p0, p1);
    g_assert_cmpstr(d0->info_str, ==, info);
    n0 = fake_nic_new(d0, "nic0");
    n1 = fake_nic_new(d1, "nic1");
    fault_script(&faults.send, false, 1, FAULT_EAGAIN);
    {
        g_autoptr(GByteArray) f = frame_new(1000, 9);

        fake_nic_send(n1, f->data, f->len);
    }
    WAIT_FOR(n0->frames->len == 1);
    assert_nic_frame(n0, 0, 1000, 9);
    test_end();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* The loop's own wake-up fd exists before any test counts fds. */
    g_main_context_iteration(NULL, FALSE);
    g_test_add_func("/net/dgram/unix", test_netdev_dgram_unix);
    g_test_add_func("/net/dgram/inet6", test_netdev_dgram_inet6);
    return g_test_run();
}
