/*
 * The net and device QMP commands called directly (no monitor): the
 * nic-stub's capture ring and base64 hooks, HMP's `info network` text and
 * its errors, the error classes of the *_del commands.  The same commands
 * through a real QMP socket: tests/qtest/test-qmp-net.py.
 */
#include <glib.h>
#include <string.h>

#include "hw/device.h"
#include "hw/nic-stub.h"
#include "net/net.h"
#include "qapi-commands.h"
#include "util/error.h"

/* A backend that keeps the last frame it got. */
typedef struct Sink {
    NetClientState nc;
    unsigned frames;
    size_t last_len;
    uint8_t last[NET_BUFSIZE];
} Sink;

static ssize_t sink_receive(NetClientState *nc, const uint8_t *buf,
                            size_t size)
{
    Sink *s = container_of(nc, Sink, nc);

    s->frames++;
    s->last_len = size;
    memcpy(s->last, buf, size);
    return (ssize_t)size;
}

static const NetClientInfo sink_info = {
    .type = NET_CLIENT_DRIVER_SOCKET,
    .type_name = "socket",
    .size = sizeof(Sink),
    .receive = sink_receive,
};

static Sink *sink_new(const char *id)
{
    return (Sink *)net_client_new(&sink_info, NULL, "socket", id);
}

static void stub_add(const char *str)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DeviceOptions) opts = device_parse(str, &err);

    g_assert_no_error(err);
    g_assert_true(device_add(opts, &err));
    g_assert_no_error(err);
}

static void run_loop(void)
{
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

/* Frames of @len bytes whose bytes all hold @tag. */
static void send_tagged(Sink *b, size_t len, uint8_t tag)
{
    g_autofree uint8_t *frame = g_malloc(len);

    memset(frame, tag, len);
    g_assert_cmpint(net_client_send(&b->nc, frame, len), ==, (ssize_t)len);
    run_loop();
}

static NicStubFrameList *read_all(const char *id)
{
    g_autoptr(GError) err = NULL;
    NicStubFrameList *list = qmp_x_nic_stub_read(id, false, 0, &err);

    g_assert_no_error(err);
    return list;
}

static unsigned list_len(NicStubFrameList *l)
{
    unsigned n = 0;

    for (; l; l = l->next) {
        n++;
    }
    return n;
}

/* Large frames: the ring's bytes run out first; the oldest go. */
static void test_capture_large(void)
{
    Sink *b = sink_new("n0");
    g_autoptr(NicStubFrameList) got = NULL;
    uint8_t tag = 4;

    stub_add("nic-stub,id=s0,netdev=n0");
    for (uint8_t t = 1; t <= 6; t++) {
        send_tagged(b, NET_BUFSIZE, t);
    }
    got = read_all("s0");
    /* 256 KiB holds three frames of 69632 bytes: tags 4, 5, 6. */
    g_assert_cmpuint(list_len(got), ==, 3);
    for (NicStubFrameList *l = got; l; l = l->next, tag++) {
        gsize len;
        g_autofree uint8_t *data = g_base64_decode(l->value->data, &len);

        g_assert_cmpuint(len, ==, NET_BUFSIZE);
        g_assert_cmpuint(data[0], ==, tag);
        g_assert_cmpuint(data[len - 1], ==, tag);
    }
    net_cleanup();
}

/* Small frames: at most 64; max= takes some, the rest stay. */
static void test_capture_small(void)
{
    Sink *b = sink_new("n0");
    g_autoptr(GError) err = NULL;
    NicStubFrameList *got;

    stub_add("nic-stub,id=s0,netdev=n0");
    for (unsigned i = 0; i < 70; i++) {
        send_tagged(b, 60, (uint8_t)i);
    }
    got = qmp_x_nic_stub_read("s0", true, 4, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(list_len(got), ==, 4);
    {
        gsize len;
        g_autofree uint8_t *data = g_base64_decode(got->value->data, &len);

        g_assert_cmpuint(data[0], ==, 6);       /* 70 - 64 */
    }
    qapi_free_NicStubFrameList(got);
    got = read_all("s0");
    g_assert_cmpuint(list_len(got), ==, 60);
    qapi_free_NicStubFrameList(got);
    g_assert_null(read_all("s0"));
    g_assert_null(qmp_x_nic_stub_read("s0", true, -1, &err));
    g_assert_error(err, VMWIRE_ERROR, VMWIRE_ERROR_FAILED);
    net_cleanup();
}

static void test_inject(void)
{
    Sink *b = sink_new("n0");
    static const uint8_t frame[] = "\x52\x54\x00\x00\x00\x01injected!";
    g_autofree char *b64 = g_base64_encode(frame, sizeof(frame));
    g_autoptr(NicStubStats) stats = NULL;
    GError *err = NULL;
    static const char *const bad[] = {
        "", "!!!!", "QUJD=", "QU=D", "====", "QUJDRA", "QUJD\n",
    };

    stub_add("nic-stub,id=s0,netdev=n0");
    qmp_x_nic_stub_inject("s0", b64, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(b->frames, ==, 1);
    g_assert_cmpmem(b->last, b->last_len, frame, sizeof(frame));
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        qmp_x_nic_stub_inject("s0", bad[i], &err);
        g_assert_error(err, VMWIRE_ERROR, VMWIRE_ERROR_FAILED);
        g_clear_error(&err);
    }
    {
        g_autofree uint8_t *big = g_malloc0(NET_BUFSIZE + 1);
        g_autofree char *big64 = g_base64_encode(big, NET_BUFSIZE + 1);
        g_autofree char *max64 = g_base64_encode(big, NET_BUFSIZE);

        qmp_x_nic_stub_inject("s0", big64, &err);
        g_assert_error(err, VMWIRE_ERROR, VMWIRE_ERROR_FAILED);
        g_clear_error(&err);
        qmp_x_nic_stub_inject("s0", max64, &err);
        g_assert_no_error(err);
    }
    g_assert_cmpuint(b->frames, ==, 2);
    stats = qmp_x_nic_stub_stats("s0", &err);
    g_assert_no_error(err);
    g_assert_cmpuint(stats->tx_frames, ==, 2);
    g_assert_true(stats->link_up);
    net_cleanup();
}

static void test_not_found(void)
{
    GError *err = NULL;

    sink_new("n0");
    stub_add("nic-stub,id=s0,netdev=n0");
    g_assert_null(qmp_x_nic_stub_stats("zz", &err));
    g_assert_error(err, VMWIRE_ERROR, VMWIRE_ERROR_NOT_FOUND);
    g_assert_cmpstr(err->message, ==, "Device 'zz' not found");
    g_clear_error(&err);
    g_assert_null(qmp_x_nic_stub_stats("n0", &err));
    g_assert_error(err, VMWIRE_ERROR, VMWIRE_ERROR_FAILED);
    g_assert_cmpstr(err->message, ==, "Device 'n0' is not a nic-stub");
    g_clear_error(&err);
    qmp_netdev_del("s0", &err);         /* a NIC is no netdev */
    g_assert_error(err, VMWIRE_ERROR, VMWIRE_ERROR_NOT_FOUND);
    g_clear_error(&err);
    qmp_device_del("n0", &err);         /* a netdev is no device */
    g_assert_error(err, VMWIRE_ERROR, VMWIRE_ERROR_NOT_FOUND);
    g_clear_error(&err);
    qmp_set_link("zz", false, &err);
    g_assert_error(err, VMWIRE_ERROR, VMWIRE_ERROR_NOT_FOUND);
    g_clear_error(&err);
    net_cleanup();
}

static char *hmp(const char *line)
{
    g_autoptr(GError) err = NULL;
    char *out = qmp_human_monitor_command(line, false, 0, &err);

    g_assert_no_error(err);
    return out;
}

static void assert_hmp(const char *line, const char *want)
{
    g_autofree char *got = hmp(line);

    g_assert_cmpstr(got, ==, want);
}

/* vmwire's counters line under a client that moved no frame. */
#define ZERO_COUNTERS(id) \
    "  counters " id ": rx=0/0 tx=0/0 dropped=0 (queue-full=0 " \
    "link-down=0 malformed=0 vlan=0) oversized=0 resets=0 " \
    "queue-high-water=0/0\r\n"

static void test_info_network(void)
{
    sink_new("n0");
    sink_new("n1");
    stub_add("nic-stub,id=s1,netdev=n1,mac=52:54:00:00:10:01");
    stub_add("nic-stub,id=s2,mac=52:54:00:00:10:02");
    net_client_set_info_str(net_client_find("n1"), "socket: connection from "
                            "127.0.0.1:4000");
    assert_hmp("info network",
               "n0: index=0,type=socket,\r\n" ZERO_COUNTERS("n0")
               "s1: index=0,type=nic,model=nic-stub,"
               "macaddr=52:54:00:00:10:01\r\n" ZERO_COUNTERS("s1")
               " \\ n1: index=0,type=socket,socket: connection from "
               "127.0.0.1:4000\r\n" ZERO_COUNTERS("n1")
               "s2: index=0,type=nic,model=nic-stub,"
               "macaddr=52:54:00:00:10:02\r\n" ZERO_COUNTERS("s2"));
    assert_hmp("\t info   network  ",
               "n0: index=0,type=socket,\r\n" ZERO_COUNTERS("n0")
               "s1: index=0,type=nic,model=nic-stub,"
               "macaddr=52:54:00:00:10:01\r\n" ZERO_COUNTERS("s1")
               " \\ n1: index=0,type=socket,socket: connection from "
               "127.0.0.1:4000\r\n" ZERO_COUNTERS("n1")
               "s2: index=0,type=nic,model=nic-stub,"
               "macaddr=52:54:00:00:10:02\r\n" ZERO_COUNTERS("s2"));
    net_cleanup();
    assert_hmp("info network", "");
}

#define INFO_HELP \
    "info network  -- show the network state\r\n" \
    "info mac-table  -- show the MAC addresses hubs learned (vmwire)\r\n"

static void test_hmp_errors(void)
{
    assert_hmp("", "");
    assert_hmp("   ", "");
    assert_hmp("foo", "unknown command: 'foo'\r\n");
    assert_hmp("   foo bar", "unknown command: '   foo'\r\n");
    assert_hmp("info   foo bar", "unknown command: 'info   foo'\r\n");
    assert_hmp("info netwo", "unknown command: 'info netwo'\r\n");
    assert_hmp("  info   network x", "network: extraneous characters at "
               "the end of line\r\nTry \"help   info   network\" for more "
               "information\r\n");
    assert_hmp("info", INFO_HELP);
    assert_hmp("help info", INFO_HELP);
    assert_hmp("help info network x",
               "info network  -- show the network state\r\n");
    assert_hmp("help info  foo", "unknown command: 'info foo'\r\n");
    assert_hmp("help help", "help|? [cmd] -- show the help\r\n");
    assert_hmp("? foo", "unknown command: 'foo'\r\n");
    assert_hmp("help", "help|? [cmd] -- show the help\r\n"
               "info [subcommand] -- show various information about the "
               "system state\r\n"
               "hostfwd_add [netdev_id] [tcp|udp]:[hostaddr]:hostport-"
               "[guestaddr]:guestport -- redirect TCP or UDP connections "
               "from host to guest (requires -net user)\r\n"
               "hostfwd_remove [netdev_id] [tcp|udp]:[hostaddr]:hostport "
               "-- remove host-to-guest TCP or UDP redirection\r\n");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/qmp/capture-large", test_capture_large);
    g_test_add_func("/net/qmp/capture-small", test_capture_small);
    g_test_add_func("/net/qmp/inject", test_inject);
    g_test_add_func("/net/qmp/not-found", test_not_found);
    g_test_add_func("/net/qmp/info-network", test_info_network);
    g_test_add_func("/net/qmp/hmp-errors", test_hmp_errors);
    return g_test_run();
}
