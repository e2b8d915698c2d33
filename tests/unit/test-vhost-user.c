/*
 * Unit tests for -netdev vhost-user's socket layer (net/vhost-user.c),
 * driven by a small frontend written here: guest memory in a memfd,
 * split rings built in it, kick and call eventfds, messages sent over
 * the real unix socket (some of them in pieces).  The daemon's main loop
 * is run between steps.  Each scenario checks what a user sees: frames
 * at the peer (a test NIC) intact, the guest's used ring and calls, the
 * client's counters, the connection closed or kept; and that no fd is
 * left behind (the frontend's fds arrive in this very process).
 */
#include "util/sockets.h"
#include "net/net.h"
#include "net/netdev.h"
#include "net/vhost-user-dev.h"
#include "net/virtq.h"
#include "net-test-clients.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MEM_SIZE (1024 * 1024)
#define UVA_BASE 0x7f0000000000ULL
#define RING_NUM 64
#define RX_RING 0x0000              /* desc, +0x1000 avail, +0x2000 used */
#define TX_RING 0x4000
#define RX_BUFS 0x10000             /* 2 KiB each */
#define TX_BUFS 0x80000

typedef struct Frontend {
    int sock;
    int memfd;
    uint8_t *mem;
    int kick[2], call[2];
    uint16_t avail_idx[2];
    uint16_t used_seen[2];
} Frontend;

static char *test_dir;

/* ---- the daemon side ---- */

static unsigned count_fds(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
    unsigned n = 0;

    while (g_dir_read_name(dir)) {
        n++;
    }
    return n;
}

static void pump(unsigned steps)
{
    for (unsigned i = 0; i < steps; i++) {
        if (!g_main_context_iteration(NULL, FALSE)) {
            g_usleep(500);
        }
    }
}

static NetClientState *netdev_new(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static NetClientState *netdev_new(const char *fmt, ...)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *str = NULL;
    g_autoptr(Netdev) nd = NULL;
    va_list ap;

    va_start(ap, fmt);
    str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    nd = netdev_parse(str, &err);
    g_assert_no_error(err);
    g_assert_true(netdev_add(nd, &err));
    g_assert_no_error(err);
    return net_client_find(nd->id);
}

/* A test NIC on @backend. */
static TestClient *nic_on(NetClientState *backend)
{
    TestClient *c = test_client(net_client_new(&test_nic_info, backend,
                                               "test-nic", "nic0"));

    c->can_receive = true;
    c->frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    c->sent = g_array_new(FALSE, FALSE, sizeof(ssize_t));
    return c;
}

/* @nc's status line is @fmt with @path. */
static void assert_status(NetClientState *nc, const char *fmt,
                          const char *path)
{
    g_autofree char *want = g_strdup_printf(fmt, path);

    g_assert_cmpstr(nc->info_str, ==, want);
}

static char *sock_path(const char *name)
{
    return g_build_filename(test_dir, name, NULL);
}

/* ---- the frontend ---- */

static void fe_connect(Frontend *fe, const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    memset(fe, 0, sizeof(*fe));
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    fe->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(connect(fe->sock, (struct sockaddr *)&sa, sizeof(sa)),
                    ==, 0);
    fe->memfd = memfd_create("test-guest", MFD_CLOEXEC);
    g_assert_cmpint(ftruncate(fe->memfd, MEM_SIZE), ==, 0);
    fe->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                   fe->memfd, 0);
    g_assert_true(fe->mem != MAP_FAILED);
    for (int i = 0; i < 2; i++) {
        fe->kick[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        fe->call[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    }
    pump(5);
}

static void fe_close(Frontend *fe)
{
    if (fe->sock >= 0) {
        close(fe->sock);
    }
    munmap(fe->mem, MEM_SIZE);
    close(fe->memfd);
    for (int i = 0; i < 2; i++) {
        close(fe->kick[i]);
        close(fe->call[i]);
    }
    fe->sock = -1;
    pump(10);
}

/* Send one message, with fds, in @pieces pieces (1: whole). */
static void fe_send(Frontend *fe, uint32_t req, uint32_t flags,
                    const void *payload, uint32_t len, const int *fds,
                    int nfds, unsigned pieces)
{
    uint8_t buf[VU_MSG_HEADER_SIZE + 512];
    VuMsgHeader hdr = { req, flags, len };
    size_t total = VU_MSG_HEADER_SIZE + len, off = 0;
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } control;

    memset(&control, 0, sizeof(control));
    memcpy(buf, &hdr, sizeof(hdr));
    if (len) {
        memcpy(buf + VU_MSG_HEADER_SIZE, payload, len);
    }
    for (unsigned p = 0; p < pieces; p++) {
        size_t n = p + 1 == pieces ? total - off : total / pieces;
        struct iovec iov = { buf + off, n };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (p == 0 && nfds) {
            struct cmsghdr *c;

            mh.msg_control = control.buf;
            mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
            c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
            memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
        }
        g_assert_cmpint(sendmsg(fe->sock, &mh, MSG_NOSIGNAL), ==, (ssize_t)n);
        off += n;
        pump(2);
    }
    pump(3);
}

static void fe_u64(Frontend *fe, uint32_t req, uint64_t v)
{
    fe_send(fe, req, VHOST_USER_VERSION, &v, 8, NULL, 0, 1);
}

static void fe_state(Frontend *fe, uint32_t req, uint32_t index, uint32_t num)
{
    uint32_t s[2] = { index, num };

    fe_send(fe, req, VHOST_USER_VERSION, s, 8, NULL, 0, 1);
}

/* Read a reply (blocking, with a timeout); its u64 or state payload. */
static uint64_t fe_reply(Frontend *fe, uint32_t req)
{
    uint8_t buf[VU_MSG_HEADER_SIZE + 8];
    VuMsgHeader hdr;
    uint64_t v = 0;
    size_t got = 0;

    for (int i = 0; i < 2000 && got < sizeof(buf); i++) {
        ssize_t n = recv(fe->sock, buf + got, sizeof(buf) - got,
                         MSG_DONTWAIT);

        if (n > 0) {
            got += (size_t)n;
        } else {
            pump(1);
        }
    }
    g_assert_cmpuint(got, ==, sizeof(buf));
    memcpy(&hdr, buf, sizeof(hdr));
    g_assert_cmpuint(hdr.request, ==, req);
    g_assert_cmpuint(hdr.size, ==, 8);
    memcpy(&v, buf + VU_MSG_HEADER_SIZE, 8);
    return v;
}

/* Has the daemon closed our connection? */
static bool fe_closed(Frontend *fe)
{
    char c;

    pump(10);
    return recv(fe->sock, &c, 1, MSG_DONTWAIT) == 0;
}

static void fe_mem_table(Frontend *fe)
{
    uint8_t buf[8 + 32] = { 1 };
    uint64_t r[4] = { 0, MEM_SIZE, UVA_BASE, 0 };

    memcpy(buf + 8, r, sizeof(r));
    fe_send(fe, VHOST_USER_SET_MEM_TABLE, VHOST_USER_VERSION, buf,
            sizeof(buf), &fe->memfd, 1, 1);
}

static void fe_vring(Frontend *fe, unsigned i, bool polling)
{
    uint64_t base = i == VU_DEV_RX ? RX_RING : TX_RING;
    uint64_t a[5] = { i, UVA_BASE + base, UVA_BASE + base + 0x2000,
                      UVA_BASE + base + 0x1000, 0 };
    uint64_t v = i;

    fe_state(fe, VHOST_USER_SET_VRING_NUM, i, RING_NUM);
    fe_state(fe, VHOST_USER_SET_VRING_BASE, i, 0);
    fe_send(fe, VHOST_USER_SET_VRING_ADDR, VHOST_USER_VERSION, a, 40, NULL,
            0, 2);
    fe_send(fe, VHOST_USER_SET_VRING_CALL, VHOST_USER_VERSION, &v, 8,
            &fe->call[i], 1, 1);
    if (polling) {
        fe_u64(fe, VHOST_USER_SET_VRING_KICK, i | VHOST_USER_VRING_NOFD_MASK);
    } else {
        fe_send(fe, VHOST_USER_SET_VRING_KICK, VHOST_USER_VERSION, &v, 8,
                &fe->kick[i], 1, 3);
    }
    fe_state(fe, VHOST_USER_SET_VRING_ENABLE, i, 1);
}

/* QEMU's sequence, more or less; the TX ring polled if @polling. */
static void fe_setup(Frontend *fe, bool polling)
{
    fe_send(fe, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, NULL, 0, NULL,
            0, 4);
    g_assert_cmphex(fe_reply(fe, VHOST_USER_GET_FEATURES), ==,
                    VU_DEV_FEATURES);
    fe_u64(fe, VHOST_USER_SET_PROTOCOL_FEATURES,
           1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
    fe_send(fe, VHOST_USER_SET_OWNER,
            VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, NULL, 0, NULL,
            0, 1);
    g_assert_cmpuint(fe_reply(fe, VHOST_USER_SET_OWNER), ==, 0);
    fe_u64(fe, VHOST_USER_SET_FEATURES, VU_DEV_FEATURES);
    fe_mem_table(fe);
    fe_vring(fe, VU_DEV_RX, false);
    fe_vring(fe, VU_DEV_TX, polling);
}

static VirtqDesc *fe_desc(Frontend *fe, unsigned ring)
{
    return (VirtqDesc *)(fe->mem + (ring == VU_DEV_RX ? RX_RING : TX_RING));
}

static VirtqAvail *fe_avail(Frontend *fe, unsigned ring)
{
    return (VirtqAvail *)(fe->mem + (ring == VU_DEV_RX ? RX_RING : TX_RING) +
                          0x1000);
}

static VirtqUsed *fe_used(Frontend *fe, unsigned ring)
{
    return (VirtqUsed *)(fe->mem + (ring == VU_DEV_RX ? RX_RING : TX_RING) +
                         0x2000);
}

static void fe_make_avail(Frontend *fe, unsigned ring, uint16_t head,
                          bool kick)
{
    VirtqAvail *a = fe_avail(fe, ring);
    uint64_t one = 1;

    a->ring[fe->avail_idx[ring] % RING_NUM] = head;
    __atomic_store_n(&a->idx, ++fe->avail_idx[ring], __ATOMIC_RELEASE);
    if (kick) {
        g_assert_cmpint(write(fe->kick[ring], &one, 8), ==, 8);
    }
}

/* Guest TX: header + frame @seq of @len bytes, in @pieces descriptors. */
static void fe_tx(Frontend *fe, uint16_t slot, uint32_t seq, size_t len,
                  unsigned pieces, bool kick)
{
    uint8_t *buf = fe->mem + TX_BUFS + slot * 0x1000;
    size_t total = VIRTIO_NET_HDR_LEN + len, off = 0;
    VirtqDesc *d = fe_desc(fe, VU_DEV_TX);

    memset(buf, 0, VIRTIO_NET_HDR_LEN);
    test_frame_fill(buf + VIRTIO_NET_HDR_LEN, len, seq);
    for (unsigned p = 0; p < pieces; p++) {
        size_t n = p + 1 == pieces ? total - off : total / pieces;
        unsigned i = (slot * 8 + p) % RING_NUM;

        d[i] = (VirtqDesc) { TX_BUFS + slot * 0x1000 + off, (uint32_t)n,
                             p + 1 < pieces ? VIRTQ_DESC_F_NEXT : 0,
                             (uint16_t)((i + 1) % RING_NUM) };
        off += n;
    }
    fe_make_avail(fe, VU_DEV_TX, (uint16_t)((slot * 8) % RING_NUM), kick);
}

/* Guest RX: @n buffers of 2 KiB. */
static void fe_rx_buffers(Frontend *fe, unsigned n, bool kick)
{
    VirtqDesc *d = fe_desc(fe, VU_DEV_RX);

    for (unsigned k = 0; k < n; k++) {
        unsigned i = fe->avail_idx[VU_DEV_RX] % RING_NUM;

        d[i] = (VirtqDesc) { RX_BUFS + i * 0x800, 0x800, VIRTQ_DESC_F_WRITE,
                             0 };
        fe_make_avail(fe, VU_DEV_RX, (uint16_t)i, kick && k + 1 == n);
    }
}

static uint16_t fe_used_idx(Frontend *fe, unsigned ring)
{
    return __atomic_load_n(&fe_used(fe, ring)->idx, __ATOMIC_ACQUIRE);
}

static bool fe_called(Frontend *fe, unsigned ring)
{
    uint64_t v;

    return read(fe->call[ring], &v, 8) == 8;
}

/* The RX used entry @k holds frame @seq of @len bytes, intact. */
static void fe_assert_rx(Frontend *fe, unsigned k, uint32_t seq, size_t len)
{
    VirtqUsedElem e = fe_used(fe, VU_DEV_RX)->ring[k % RING_NUM];
    const uint8_t *buf = fe->mem + RX_BUFS + e.id * 0x800;
    g_autofree uint8_t *want = g_malloc(len);
    uint16_t nbufs;

    g_assert_cmpuint(e.len, ==, VIRTIO_NET_HDR_LEN + len);
    memcpy(&nbufs, buf + 10, 2);
    g_assert_cmpuint(nbufs, ==, 1);
    test_frame_fill(want, len, seq);
    g_assert_cmpmem(buf + VIRTIO_NET_HDR_LEN, len, want, len);
}

/* ---- scenarios ---- */

static void test_frames(void)
{
    unsigned fds = count_fds();
    g_autofree char *path = sock_path("frames.sock");
    NetClientState *vu = netdev_new("vhost-user,id=vu0,addr.type=unix,"
                                    "addr.path=%s", path);
    TestClient *nic = nic_on(vu);
    Frontend fe;

    g_assert_true(vu->link_down);
    fe_connect(&fe, path);
    g_assert_false(vu->link_down);
    assert_status(vu, "vhost-user: frontend on %s", path);
    fe_setup(&fe, false);
    /* TX, one and two descriptors. */
    fe_tx(&fe, 0, 1, 100, 1, true);
    fe_tx(&fe, 1, 2, 1400, 2, true);
    pump(20);
    g_assert_cmpuint(nic->frames->len, ==, 2);
    test_assert_frame(nic, 0, 1, 100);
    test_assert_frame(nic, 1, 2, 1400);
    g_assert_cmpuint(fe_used_idx(&fe, VU_DEV_TX), ==, 2);
    /* RX. */
    fe_rx_buffers(&fe, 4, true);
    pump(5);
    g_assert_cmpint(test_send(nic, 7, 600), ==, 600);
    pump(5);
    g_assert_cmpuint(fe_used_idx(&fe, VU_DEV_RX), ==, 1);
    fe_assert_rx(&fe, 0, 7, 600);
    g_assert_true(fe_called(&fe, VU_DEV_RX));
    g_assert_cmpuint(vu->stats.rx_frames, ==, 1);
    g_assert_cmpuint(vu->stats.tx_frames, ==, 2);
    g_assert_cmpuint(vu->stats.resets, ==, 0);
    fe_close(&fe);
    g_assert_true(vu->link_down);
    assert_status(vu, "vhost-user: listening on %s", path);
    net_cleanup();
    pump(5);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(count_fds(), ==, fds);
}

/* No RX buffers: the frame waits (flow control), then goes on a kick. */
static void test_rx_waits(void)
{
    unsigned fds = count_fds();
    g_autofree char *path = sock_path("wait.sock");
    NetClientState *vu = netdev_new("vhost-user,id=vu0,addr.type=unix,"
                                    "addr.path=%s", path);
    TestClient *nic = nic_on(vu);
    Frontend fe;

    fe_connect(&fe, path);
    fe_setup(&fe, false);
    g_assert_cmpint(test_send_async(nic, 1, 300), ==, 0);    /* queued */
    g_assert_cmpint(test_send_async(nic, 2, 300), ==, 0);
    pump(5);
    g_assert_cmpuint(fe_used_idx(&fe, VU_DEV_RX), ==, 0);
    fe_rx_buffers(&fe, 2, true);
    pump(10);
    g_assert_cmpuint(fe_used_idx(&fe, VU_DEV_RX), ==, 2);
    fe_assert_rx(&fe, 0, 1, 300);
    fe_assert_rx(&fe, 1, 2, 300);
    g_assert_cmpuint(nic->sent->len, ==, 2);                 /* callbacks */
    g_assert_cmpuint(vu->stats.dropped, ==, 0);
    fe_close(&fe);
    net_cleanup();
    pump(5);
    g_assert_cmpuint(count_fds(), ==, fds);
}

/*
 * With EVENT_IDX, would the guest kick after adding its latest entry to
 * @ring, @added entries since it last looked?  (vring_need_event on the
 * avail_event we publish after the used ring.)
 */
static bool fe_kick_wanted(Frontend *fe, unsigned ring, uint16_t added)
{
    uint16_t event = __atomic_load_n(
        (uint16_t *)&fe_used(fe, ring)->ring[RING_NUM], __ATOMIC_ACQUIRE);
    uint16_t new_idx = fe->avail_idx[ring];

    return (uint16_t)(new_idx - event - 1) < added;
}

/*
 * A frame larger than the RX buffers posted so far (MRG_RXBUF, EVENT_IDX):
 * it waits, and the guest's next buffer must bring a kick even though
 * buffers were there already.  Asking for kicks from the first unused
 * buffer instead (it is behind the guest's index) stalls RX for good: a
 * Linux guest kicks only when its new index crosses avail_event.
 */
static void test_rx_waits_for_more(void)
{
    unsigned fds = count_fds();
    g_autofree char *path = sock_path("more.sock");
    NetClientState *vu = netdev_new("vhost-user,id=vu0,addr.type=unix,"
                                    "addr.path=%s", path);
    TestClient *nic = nic_on(vu);
    g_autofree uint8_t *want = g_malloc(3000);
    uint8_t got[3000];
    VirtqUsedElem e[2];
    uint16_t nbufs;
    Frontend fe;

    fe_connect(&fe, path);
    fe_setup(&fe, false);
    fe_rx_buffers(&fe, 1, true);                /* 2 KiB: 3012 needs two */
    pump(5);
    g_assert_cmpint(test_send_async(nic, 5, 3000), ==, 0);   /* waits */
    pump(5);
    g_assert_cmpuint(fe_used_idx(&fe, VU_DEV_RX), ==, 0);
    fe_rx_buffers(&fe, 1, false);
    g_assert_true(fe_kick_wanted(&fe, VU_DEV_RX, 1));
    g_assert_cmpint(write(fe.kick[VU_DEV_RX], &(uint64_t){ 1 }, 8), ==, 8);
    pump(10);
    g_assert_cmpuint(fe_used_idx(&fe, VU_DEV_RX), ==, 2);
    e[0] = fe_used(&fe, VU_DEV_RX)->ring[0];
    e[1] = fe_used(&fe, VU_DEV_RX)->ring[1];
    g_assert_cmpuint(e[0].len, ==, 0x800);
    g_assert_cmpuint(e[1].len, ==, VIRTIO_NET_HDR_LEN + 3000 - 0x800);
    memcpy(&nbufs, fe.mem + RX_BUFS + e[0].id * 0x800 + 10, 2);
    g_assert_cmpuint(nbufs, ==, 2);
    memcpy(got, fe.mem + RX_BUFS + e[0].id * 0x800 + VIRTIO_NET_HDR_LEN,
           0x800 - VIRTIO_NET_HDR_LEN);
    memcpy(got + 0x800 - VIRTIO_NET_HDR_LEN,
           fe.mem + RX_BUFS + e[1].id * 0x800,
           3000 - (0x800 - VIRTIO_NET_HDR_LEN));
    test_frame_fill(want, 3000, 5);
    g_assert_cmpmem(got, 3000, want, 3000);
    g_assert_cmpuint(nic->sent->len, ==, 1);                 /* callback */
    g_assert_cmpuint(vu->stats.dropped, ==, 0);
    fe_close(&fe);
    net_cleanup();
    pump(5);
    g_assert_cmpuint(count_fds(), ==, fds);
}

/* Refused messages: one reset each, the connection closed, fds closed. */
static void test_bad_messages(void)
{
    unsigned fds = count_fds();
    g_autofree char *path = sock_path("bad.sock");
    NetClientState *vu = netdev_new("vhost-user,id=vu0,addr.type=unix,"
                                    "addr.path=%s", path);
    Frontend fe;
    uint64_t v = 0;
    uint8_t huge[VU_MSG_HEADER_SIZE] = { 1, 0, 0, 0, 1, 0, 0, 0,
                                         0xff, 0xff, 0, 0 };

    nic_on(vu);
    fe_connect(&fe, path);
    fe_send(&fe, 99, VHOST_USER_VERSION, NULL, 0, NULL, 0, 1);
    g_assert_true(fe_closed(&fe));
    g_assert_cmpuint(vu->stats.resets, ==, 1);
    g_assert_true(vu->link_down);
    fe_close(&fe);

    /* Fds with a request that takes none. */
    fe_connect(&fe, path);
    fe_send(&fe, VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, &v, 8,
            fe.kick, 2, 1);
    g_assert_true(fe_closed(&fe));
    g_assert_cmpuint(vu->stats.resets, ==, 2);
    fe_close(&fe);

    /* A 64 KiB payload is refused from its header. */
    fe_connect(&fe, path);
    g_assert_cmpint(send(fe.sock, huge, sizeof(huge), 0), ==, sizeof(huge));
    g_assert_true(fe_closed(&fe));
    g_assert_cmpuint(vu->stats.resets, ==, 3);
    fe_close(&fe);

    /* Half a message, then the frontend goes: no reset, just gone. */
    fe_connect(&fe, path);
    g_assert_cmpint(send(fe.sock, huge, 5, 0), ==, 5);
    pump(5);
    fe_close(&fe);
    g_assert_cmpuint(vu->stats.resets, ==, 3);
    assert_status(vu, "vhost-user: listening on %s", path);
    net_cleanup();
    pump(5);
    g_assert_cmpuint(count_fds(), ==, fds);
}

/* A malformed ring stops that ring (counted once) until reset. */
static void test_broken_ring(void)
{
    unsigned fds = count_fds();
    g_autofree char *path = sock_path("broken.sock");
    NetClientState *vu = netdev_new("vhost-user,id=vu0,addr.type=unix,"
                                    "addr.path=%s", path);
    TestClient *nic = nic_on(vu);
    VirtqDesc *d;
    Frontend fe;

    fe_connect(&fe, path);
    fe_setup(&fe, false);
    d = fe_desc(&fe, VU_DEV_TX);
    d[0] = (VirtqDesc) { MEM_SIZE - 8, 64, 0, 0 };       /* past the end */
    fe_make_avail(&fe, VU_DEV_TX, 0, true);
    pump(10);
    g_assert_cmpuint(vu->stats.resets, ==, 1);
    fe_tx(&fe, 1, 5, 100, 1, true);                      /* ignored */
    pump(10);
    g_assert_cmpuint(nic->frames->len, ==, 0);
    g_assert_cmpuint(vu->stats.resets, ==, 1);
    g_assert_false(fe_closed(&fe));                     /* still connected */
    /* GET_VRING_BASE and a new setup: the ring works again. */
    fe_state(&fe, VHOST_USER_GET_VRING_BASE, VU_DEV_TX, 0);
    g_assert_cmpuint(fe_reply(&fe, VHOST_USER_GET_VRING_BASE) >> 32, ==, 0);
    close(fe.kick[VU_DEV_TX]);
    fe.kick[VU_DEV_TX] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    fe.avail_idx[VU_DEV_TX] = 0;
    fe_avail(&fe, VU_DEV_TX)->idx = 0;
    fe_vring(&fe, VU_DEV_TX, false);
    fe_tx(&fe, 2, 6, 100, 1, true);
    pump(10);
    g_assert_cmpuint(nic->frames->len, ==, 1);
    test_assert_frame(nic, 0, 6, 100);
    fe_close(&fe);
    net_cleanup();
    pump(5);
    g_assert_cmpuint(count_fds(), ==, fds);
}

static void test_second_frontend(void)
{
    unsigned fds = count_fds();
    g_autofree char *path = sock_path("second.sock");
    NetClientState *vu = netdev_new("vhost-user,id=vu0,addr.type=unix,"
                                    "addr.path=%s", path);
    Frontend a, b;

    nic_on(vu);
    fe_connect(&a, path);
    fe_connect(&b, path);
    g_assert_true(fe_closed(&b));
    g_assert_false(fe_closed(&a));
    g_assert_false(vu->link_down);
    fe_close(&b);
    fe_close(&a);
    net_cleanup();
    pump(5);
    g_assert_cmpuint(count_fds(), ==, fds);
}

/* The no-fd bit: the TX ring is polled. */
static void test_polling(void)
{
    unsigned fds = count_fds();
    g_autofree char *path = sock_path("poll.sock");
    NetClientState *vu = netdev_new("vhost-user,id=vu0,addr.type=unix,"
                                    "addr.path=%s", path);
    TestClient *nic = nic_on(vu);
    Frontend fe;

    fe_connect(&fe, path);
    fe_setup(&fe, true);
    fe_tx(&fe, 0, 3, 200, 1, false);
    for (int i = 0; i < 200 && nic->frames->len == 0; i++) {
        pump(1);
        g_usleep(1000);
    }
    g_assert_cmpuint(nic->frames->len, ==, 1);
    test_assert_frame(nic, 0, 3, 200);
    fe_close(&fe);
    net_cleanup();
    pump(5);
    g_assert_cmpuint(count_fds(), ==, fds);
}

/*
 * poll-max-ns: frames that follow each other closely open a polling
 * window; in it the guest is told not to kick, and a frame it adds
 * without a kick is taken all the same.  With poll-max-ns=0 the same
 * frame waits for a kick that never comes.
 */
static void test_busy_poll(void)
{
    unsigned fds = count_fds();
    g_autofree char *path = sock_path("busy.sock");

    for (int polled = 0; polled < 2; polled++) {
        NetClientState *vu = netdev_new("vhost-user,id=vu0,addr.type=unix,"
                                        "addr.path=%s,poll-max-ns=%s", path,
                                        polled ? "1000000000" : "0");
        TestClient *nic = nic_on(vu);
        Frontend fe;

        fe_connect(&fe, path);
        fe_setup(&fe, false);
        for (uint32_t seq = 0; seq < 24; seq++) {
            fe_tx(&fe, seq % 8, seq, 100, 1, true);
            for (int i = 0; i < 1000 && nic->frames->len == seq; i++) {
                pump(1);
            }
            g_assert_cmpuint(nic->frames->len, ==, seq + 1);
        }
        fe_tx(&fe, 0, 99, 100, 1, false);
        g_assert_cmpint(fe_kick_wanted(&fe, VU_DEV_TX, 1), ==, !polled);
        pump(20);
        g_assert_cmpuint(nic->frames->len, ==, 24 + polled);
        if (polled) {
            test_assert_frame(nic, 24, 99, 100);
        }
        fe_close(&fe);
        net_cleanup();
        pump(5);
    }
    g_assert_cmpuint(count_fds(), ==, fds);
}

/* hubid=: two frontends, each a port; a frame goes from one to the other. */
static void test_hub(void)
{
    unsigned fds = count_fds();
    g_autofree char *path = sock_path("hub.sock");
    Frontend a, b;
    uint8_t *frame;
    VirtqUsedElem e;

    netdev_new("vhost-user,id=vh,addr.type=unix,addr.path=%s,hubid=7", path);
    fe_connect(&a, path);
    fe_connect(&b, path);
    g_assert_nonnull(net_client_find("vh.1"));
    g_assert_nonnull(net_client_find("vh.2.conn"));
    assert_status(net_client_find("vh.1.conn"),
                  "vhost-user: frontend on %s", path);
    fe_setup(&a, false);
    fe_setup(&b, false);
    fe_rx_buffers(&b, 4, true);
    /* A broadcast from a, in three descriptors, reaches b once. */
    fe_tx(&a, 0, 9, 500, 3, false);
    frame = a.mem + TX_BUFS + VIRTIO_NET_HDR_LEN;
    memset(frame, 0xff, 6);
    {
        uint64_t one = 1;

        g_assert_cmpint(write(a.kick[VU_DEV_TX], &one, 8), ==, 8);
    }
    pump(20);
    g_assert_cmpuint(fe_used_idx(&b, VU_DEV_RX), ==, 1);
    e = fe_used(&b, VU_DEV_RX)->ring[0];
    g_assert_cmpuint(e.len, ==, VIRTIO_NET_HDR_LEN + 500);
    g_assert_cmpmem(b.mem + RX_BUFS + e.id * 0x800 + VIRTIO_NET_HDR_LEN, 500,
                    frame, 500);
    fe_close(&a);
    g_assert_null(net_client_find("vh.1"));
    /* A refused message costs that port; the listener keeps the count. */
    fe_connect(&a, path);
    fe_send(&a, 99, VHOST_USER_VERSION, NULL, 0, NULL, 0, 1);
    g_assert_true(fe_closed(&a));
    g_assert_null(net_client_find("vh.3"));
    g_assert_cmpuint(net_client_find("vh")->stats.resets, ==, 1);
    fe_close(&a);
    fe_close(&b);
    net_cleanup();
    pump(5);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(count_fds(), ==, fds);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    g_main_context_iteration(NULL, FALSE);  /* its wakeup fd, made once */
    socket_fd_reserve_fill();               /* a listener's, made once */
    test_dir = g_dir_make_tmp("test-vhost-user-XXXXXX", NULL);
    g_assert_nonnull(test_dir);
    g_test_add_func("/net/vhost-user/frames", test_frames);
    g_test_add_func("/net/vhost-user/rx-waits", test_rx_waits);
    g_test_add_func("/net/vhost-user/rx-waits-for-more",
                    test_rx_waits_for_more);
    g_test_add_func("/net/vhost-user/bad-messages", test_bad_messages);
    g_test_add_func("/net/vhost-user/broken-ring", test_broken_ring);
    g_test_add_func("/net/vhost-user/second-frontend", test_second_frontend);
    g_test_add_func("/net/vhost-user/polling", test_polling);
    g_test_add_func("/net/vhost-user/busy-poll", test_busy_poll);
    g_test_add_func("/net/vhost-user/hub", test_hub);
    ret = g_test_run();
    g_rmdir(test_dir);
    g_free(test_dir);
    return ret;
}
