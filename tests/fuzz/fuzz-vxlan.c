/*
 * DOC: fuzz-vxlan: the underlay's datagrams into net/vxlan.c
 *
 * A real `-netdev vxlan` (VNI 42, local 127.0.0.1 on a UDP port free at
 * start, two remote=, mac-age=1 on a fake clock) peered with a harness NIC.  Socket calls go through
 * the harness's SocketOps table: recvmmsg() on the netdev's receive
 * socket returns the datagrams the input describes (from one of four
 * underlay addresses), sendmsg() and sendmmsg() on its sending socket
 * check and take (or refuse) what it sends.  The receive socket itself is
 * only made readable so the main loop calls it.
 *
 *   operations until the input ends: u8 op, operands
 *   RECV   u8 count (1-24), each: u16 len (above VXLAN_RX_BUF: truncated,
 *          as the kernel does), u8 source (0-3), u8 hint, [u16 gso], then
 *          len bytes; hint bit 0 makes the first 8 bytes a valid header
 *          for VNI 42; bit 1: the message comes coalesced, with a UDP_GRO
 *          control message saying gso (any value: 0, above len), and then
 *          bit 2 makes each gso-byte segment's header valid
 *   TAKE   u8 n: the NIC takes n more frames (0: it refuses), flushes
 *   SEND   u16 len, u8 dst (a MAC the underlay used, or broadcast; bit
 *          7: inside a batch, so sendmmsg()), u8 fill: the NIC sends a
 *          frame
 *   WRITE  u8 how: sends fail (EAGAIN, EMSGSIZE, EINTR, EHOSTUNREACH) or
 *          succeed
 *   CLOCK  u16 ms: the FDB's clock moves on
 *   FDB    u8 what, u8 mac, u8 source: x-vxlan-fdb-add or -del (a unicast
 *          MAC, the all-zeros MAC, a multicast MAC) of a remote
 *
 * Checked: the NIC gets exactly the payloads of the datagrams with a
 * valid header for VNI 42 and a 14-byte inner frame, whole, in order,
 * each once (a coalesced message is datagrams of gso bytes, the last one
 * what is left, if 0 < gso < len; else one datagram); bad-header, wrong-vni and oversized count the others; every
 * datagram sent has flags 0x08, VNI 42, reserved bits zero, the frame
 * after it, goes to one of the four underlay addresses (raw socket: the
 * UDP header's ports, source within 32768-60999, and length are right);
 * a broadcast frame goes to every flood remote.  All freed after each
 * input, fds as before.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "net/net.h"
#include "net/netdev.h"
#include "net/vxlan-internal.h"
#include "qapi-commands.h"
#include "util/batch.h"
#include "util/sockops.h"

typedef enum FuzzVxlanOp {
    FUZZ_VXLAN_RECV,
    FUZZ_VXLAN_TAKE,
    FUZZ_VXLAN_SEND,
    FUZZ_VXLAN_WRITE,
    FUZZ_VXLAN_CLOCK,
    FUZZ_VXLAN_FDB,
    FUZZ_VXLAN_OP_COUNT,
} FuzzVxlanOp;

#define FUZZ_VXLAN_STEPS 4
#define FUZZ_VXLAN_MAX_BATCH 24
#define FUZZ_VXLAN_SOURCES 4        /* 127.0.0.2 .. 127.0.0.5 */

typedef struct FuzzVxlanMsg {
    const uint8_t *data;        /* NULL: truncated, filled */
    size_t len;
    uint8_t source;
    bool gro;                   /* with a UDP_GRO control message */
    int gso;                    /* what it says */
} FuzzVxlanMsg;

typedef struct FuzzVxlanNic {
    NetClientState nc;
    unsigned budget;
} FuzzVxlanNic;

typedef struct FuzzVxlan {
    FuzzInput in;
    NetClientState *backend;
    VxlanState *vx;
    FuzzVxlanNic *nic;
    FuzzVxlanMsg msg[FUZZ_VXLAN_MAX_BATCH];
    uint8_t hdr[FUZZ_VXLAN_MAX_BATCH][VXLAN_HDR_LEN];
    unsigned nmsg;
    bool rx_ready;
    int tx_err;
    unsigned sent;              /* datagrams the netdev sent */
    GQueue expect;              /* GBytes: frames the NIC has not seen */
    uint64_t bad_header, wrong_vni, oversized;
    uint8_t macs[FUZZ_VXLAN_MAX_BATCH][6];  /* source MACs seen */
    unsigned nmacs;
} FuzzVxlan;

static FuzzVxlan *fuzz_vxlan;
static unsigned fuzz_vxlan_port;    /* dstport=, a free one at start */
static int64_t fuzz_vxlan_now;

static int64_t fuzz_vxlan_clock(void)
{
    return fuzz_vxlan_now;
}

static in_addr_t fuzz_vxlan_source(unsigned i)
{
    return htonl(INADDR_LOOPBACK + 1 + i % FUZZ_VXLAN_SOURCES);
}

/* ---- the socket seam ---------------------------------------------------- */

/* @h's control: @m's UDP_GRO message if it has one and there is room. */
static void fuzz_vxlan_gro_cmsg(struct msghdr *h, const FuzzVxlanMsg *m)
{
    struct cmsghdr *cm;

    if (!m->gro || h->msg_controllen < CMSG_SPACE(sizeof(m->gso))) {
        h->msg_controllen = 0;
        return;
    }
    cm = CMSG_FIRSTHDR(h);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_GRO;
    cm->cmsg_len = CMSG_LEN(sizeof(m->gso));
    memcpy(CMSG_DATA(cm), &m->gso, sizeof(m->gso));
    h->msg_controllen = CMSG_SPACE(sizeof(m->gso));
}

static int fuzz_vxlan_recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n,
                               int flags, struct timespec *timeout)
{
    FuzzVxlan *s = fuzz_vxlan;
    unsigned count;

    if (!s || !s->vx || fd != s->vx->rx_fd) {
        return sockops_system.recvmmsg(fd, msgs, n, flags, timeout);
    }
    if (!s->rx_ready) {
        errno = EAGAIN;
        return -1;
    }
    count = MIN(n, s->nmsg);
    for (unsigned i = 0; i < count; i++) {
        struct msghdr *h = &msgs[i].msg_hdr;
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons(fuzz_vxlan_port),
                                  .sin_addr.s_addr =
                                      fuzz_vxlan_source(s->msg[i].source) };
        size_t len = MIN(s->msg[i].len, h->msg_iov->iov_len);

        if (s->msg[i].data) {
            memcpy(h->msg_iov->iov_base, s->msg[i].data, len);
        } else {
            memset(h->msg_iov->iov_base, 0x08, len);
        }
        h->msg_flags = s->msg[i].len > len ? MSG_TRUNC : 0;
        fuzz_vxlan_gro_cmsg(h, &s->msg[i]);
        memcpy(h->msg_name, &sa, sizeof(sa));
        h->msg_namelen = sizeof(sa);
        msgs[i].msg_len = (unsigned)len;
    }
    memmove(s->msg, s->msg + count, (s->nmsg - count) * sizeof(s->msg[0]));
    s->nmsg -= count;
    s->rx_ready = s->nmsg > 0;
    return (int)count;
}

/* Check one datagram the netdev sends. */
static void fuzz_vxlan_check_sent(FuzzVxlan *s, const struct msghdr *m)
{
    static const uint8_t want_hdr[] = { 0x08, 0, 0, 0, 0, 0, 42, 0 };
    uint8_t buf[16];
    size_t len = 0;
    const struct sockaddr_in *to = m->msg_name;
    bool known = false;

    for (size_t j = 0; j < m->msg_iovlen; j++) {
        len += m->msg_iov[j].iov_len;
    }
    fuzz_check(len >= VXLAN_HDR_LEN + 14, "a %zu-byte datagram", len);
    iov_to_buf(m->msg_iov, (int)m->msg_iovlen, buf, sizeof(buf));
    fuzz_check(memcmp(buf, want_hdr, sizeof(want_hdr)) == 0,
               "a VXLAN header that is not flags 0x08, VNI 42");
    fuzz_check((to->sin_family == AF_INET &&
                ntohs(to->sin_port) == fuzz_vxlan_port),
               "a datagram not to dstport=");
    for (unsigned i = 0; i < FUZZ_VXLAN_SOURCES; i++) {
        known |= to->sin_addr.s_addr == fuzz_vxlan_source(i);
    }
    fuzz_check(to->sin_family == AF_INET && known,
               "a datagram to an address nobody gave");
}

/* Is @fd one the netdev sends from? */
static bool fuzz_vxlan_is_tx(const FuzzVxlan *s, int fd)
{
    if (!s || !s->vx) {
        return false;
    }
    for (unsigned k = 0; k < s->vx->n_tx; k++) {
        if (fd == s->vx->tx_fds[k]) {
            return true;
        }
    }
    return s->vx->n_tx == 0 && fd == s->vx->rx_fd;
}

static int fuzz_vxlan_sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n,
                               int flags)
{
    FuzzVxlan *s = fuzz_vxlan;

    if (!fuzz_vxlan_is_tx(s, fd)) {
        return sockops_system.sendmmsg(fd, msgs, n, flags);
    }
    if (s->tx_err) {
        errno = s->tx_err;
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        fuzz_vxlan_check_sent(s, &msgs[i].msg_hdr);
        msgs[i].msg_len = 1;
    }
    s->sent += n;
    return (int)n;
}

static ssize_t fuzz_vxlan_sendmsg(int fd, const struct msghdr *msg,
                                  int flags)
{
    struct mmsghdr m = { .msg_hdr = *msg };
    int n;

    if (!fuzz_vxlan_is_tx(fuzz_vxlan, fd)) {
        return sockops_system.sendmsg(fd, msg, flags);
    }
    n = fuzz_vxlan_sendmmsg(fd, &m, 1, flags);
    return n < 0 ? -1 : 1;
}

static SocketOps fuzz_vxlan_ops;

/* ---- the NIC ------------------------------------------------------------ */

static bool fuzz_vxlan_nic_can_receive(NetClientState *nc)
{
    return container_of(nc, FuzzVxlanNic, nc)->budget > 0;
}

static ssize_t fuzz_vxlan_nic_receive(NetClientState *nc, const uint8_t *buf,
                                      size_t len)
{
    FuzzVxlanNic *nic = container_of(nc, FuzzVxlanNic, nc);
    g_autoptr(GBytes) want = NULL;
    const uint8_t *want_data;
    size_t want_len;

    if (!nic->budget) {
        return 0;
    }
    want = g_queue_pop_head(&fuzz_vxlan->expect);
    fuzz_check(want, "a frame of %zu bytes the underlay never sent", len);
    want_data = g_bytes_get_data(want, &want_len);
    fuzz_check(len == want_len && memcmp(buf, want_data, len) == 0,
               "a frame of %zu bytes, the underlay sent %zu (or other "
               "bytes)", len, want_len);
    nic->budget--;
    return (ssize_t)len;
}

static void fuzz_vxlan_nic_sent(NetClientState *nc, ssize_t len)
{
}

static const NetClientInfo fuzz_vxlan_nic_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .type_name = "fuzz-nic",
    .size = sizeof(FuzzVxlanNic),
    .receive = fuzz_vxlan_nic_receive,
    .can_receive = fuzz_vxlan_nic_can_receive,
};

/* ---- setup -------------------------------------------------------------- */

static void fuzz_vxlan_loop(void)
{
    for (unsigned i = 0; i < FUZZ_VXLAN_STEPS; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
}

/* A datagram to the netdev's own socket: it stays readable. */
static void fuzz_vxlan_poke(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons(fuzz_vxlan_port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    sendto(fd, "", 1, 0, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
}

static void fuzz_vxlan_start(FuzzVxlan *s)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *opts = g_strdup_printf(
        "vxlan,id=fuzz-vxlan,vni=42,local=127.0.0.1,dstport=%u,"
        "remote=127.0.0.2,remote=127.0.0.3,mac-age=1", fuzz_vxlan_port);
    g_autoptr(Netdev) netdev = netdev_parse(opts, &err);

    fuzz_check(netdev && netdev_add(netdev, &err), "-netdev %s: %s", opts,
               err ? err->message : "?");
    s->backend = net_client_find("fuzz-vxlan");
    s->vx = vxlan_from_client(s->backend);
    s->nic = (FuzzVxlanNic *)net_client_new(&fuzz_vxlan_nic_info, s->backend,
                                            "fuzz-nic", "fuzz-nic");
    s->nic->budget = 1;
    fuzz_vxlan_poke();
    fuzz_vxlan_loop();
}

/* ---- operations --------------------------------------------------------- */

static void fuzz_vxlan_check_progress(FuzzVxlan *s)
{
    if (g_queue_is_empty(&s->expect)) {
        fuzz_check(!s->rx_ready, "datagrams were left unread");
        fuzz_check(s->vx->bad_header == s->bad_header &&
                   s->vx->wrong_vni == s->wrong_vni &&
                   s->backend->stats.oversized >= s->oversized,
                   "bad-header %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
                   "), wrong-vni %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
                   ")", s->vx->bad_header, s->bad_header, s->vx->wrong_vni,
                   s->wrong_vni);
    }
}

/* What the netdev must make of datagram @data: a frame, or a count. */
static void fuzz_vxlan_expect_one(FuzzVxlan *s, const uint8_t *data,
                                  size_t len)
{
    switch (vxlan_header_parse(data, len, 42)) {
    case VXLAN_RX_BAD_HEADER:
        s->bad_header++;
        break;
    case VXLAN_RX_WRONG_VNI:
        s->wrong_vni++;
        break;
    case VXLAN_RX_OK:
        g_queue_push_tail(&s->expect,
                          g_bytes_new(data + VXLAN_HDR_LEN,
                                      len - VXLAN_HDR_LEN));
        if (s->nmacs < FUZZ_VXLAN_MAX_BATCH) {
            memcpy(s->macs[s->nmacs++], data + VXLAN_HDR_LEN + 6, 6);
        }
        break;
    }
}

/* The datagrams of message @m: gso bytes each if it came coalesced. */
static size_t fuzz_vxlan_step(const FuzzVxlan *s, const FuzzVxlanMsg *m)
{
    if (!m->gro || !s->vx->rx_gro || m->gso <= 0 ||
        (size_t)m->gso >= m->len) {
        return m->len;
    }
    return (size_t)m->gso;
}

/* What the netdev must make of message @m: frames, or counts. */
static void fuzz_vxlan_expect(FuzzVxlan *s, const FuzzVxlanMsg *m)
{
    size_t step = fuzz_vxlan_step(s, m);

    if (m->len > VXLAN_RX_BUF) {
        s->oversized++;
        return;
    }
    if (m->len == 0) {
        fuzz_vxlan_expect_one(s, m->data, 0);
        return;
    }
    for (size_t off = 0; off < m->len; off += step) {
        fuzz_vxlan_expect_one(s, m->data + off, MIN(step, m->len - off));
    }
}

/* Hint bits 0 and 2: valid headers where the netdev will look. */
static void fuzz_vxlan_headers(FuzzVxlan *s, FuzzVxlanMsg *m, uint8_t *data,
                               uint8_t hint)
{
    size_t step = fuzz_vxlan_step(s, m);

    if ((hint & 1) && m->len >= VXLAN_HDR_LEN) {
        vxlan_header_build(data, 42);
    }
    for (size_t off = step; (hint & 4) && off < m->len; off += step) {
        if (m->len - off >= VXLAN_HDR_LEN) {
            vxlan_header_build(data + off, 42);
        }
    }
}

static void fuzz_vxlan_recv(FuzzVxlan *s)
{
    unsigned count = 1 + fuzz_u8(&s->in) % FUZZ_VXLAN_MAX_BATCH;
    static uint8_t copy[FUZZ_VXLAN_MAX_BATCH][VXLAN_RX_BUF];

    if (s->rx_ready) {
        return;             /* the last batch is still being read */
    }
    s->nmsg = 0;
    for (unsigned i = 0; i < count && !fuzz_input_empty(&s->in); i++) {
        FuzzVxlanMsg *m = &s->msg[s->nmsg];
        uint8_t hint;

        m->len = fuzz_u16(&s->in);
        m->source = fuzz_u8(&s->in) % FUZZ_VXLAN_SOURCES;
        hint = fuzz_u8(&s->in);
        m->gro = hint & 2;
        m->gso = m->gro ? fuzz_u16(&s->in) : 0;
        m->data = NULL;
        if (m->len <= VXLAN_RX_BUF) {
            m->len = MIN(m->len, s->in.size - s->in.pos);
            memcpy(copy[s->nmsg], s->in.data + s->in.pos, m->len);
            s->in.pos += m->len;
            fuzz_vxlan_headers(s, m, copy[s->nmsg], hint);
            m->data = copy[s->nmsg];
        }
        fuzz_vxlan_expect(s, m);
        s->nmsg++;
    }
    fuzz_trace("recv %u datagrams", s->nmsg);
    s->rx_ready = s->nmsg > 0;
    fuzz_vxlan_loop();
    fuzz_vxlan_check_progress(s);
}

static void fuzz_vxlan_take(FuzzVxlan *s)
{
    s->nic->budget = fuzz_u8(&s->in);
    fuzz_trace("take %u", s->nic->budget);
    if (s->nic->budget) {
        net_client_flush_queued(&s->nic->nc);
    }
    fuzz_vxlan_loop();
    fuzz_vxlan_check_progress(s);
}

static void fuzz_vxlan_send(FuzzVxlan *s)
{
    static uint8_t frame[NET_BUFSIZE];
    size_t len = fuzz_u16(&s->in) % (sizeof(frame) + 1);
    uint8_t dst = fuzz_u8(&s->in);
    uint8_t fill = fuzz_u8(&s->in);
    unsigned before = s->sent;
    bool bcast = !s->nmacs || dst % (s->nmacs + 1) == s->nmacs;

    memset(frame, fill, len);
    if (len >= 6) {
        memcpy(frame, bcast ? (const uint8_t *)"\xff\xff\xff\xff\xff\xff"
                            : s->macs[dst % (s->nmacs + 1)], 6);
    }
    fuzz_trace("send %zu%s%s", len, bcast ? " (broadcast)" : "",
               dst & 0x80 ? " in a batch" : "");
    if (dst & 0x80) {
        batch_begin();      /* as from a hub's fd handler: sendmmsg */
    }
    net_client_send_async(&s->nic->nc, frame, len, fuzz_vxlan_nic_sent);
    if (dst & 0x80) {
        batch_end();
    }
    fuzz_vxlan_loop();
    if (bcast && len >= 14 && len <= 65000 && !s->tx_err) {
        fuzz_check(s->sent - before == s->vx->fdb.n_flood,
                   "a broadcast went to %u remotes of %u",
                   s->sent - before, s->vx->fdb.n_flood);
    }
}

static void fuzz_vxlan_write(FuzzVxlan *s)
{
    static const int what[] = { 0, EAGAIN, EMSGSIZE, EINTR, EHOSTUNREACH };

    s->tx_err = what[fuzz_u8(&s->in) % G_N_ELEMENTS(what)];
    fuzz_trace("write err %d", s->tx_err);
}

static void fuzz_vxlan_clock_op(FuzzVxlan *s)
{
    fuzz_vxlan_now += (int64_t)fuzz_u16(&s->in) * 1000;
    fuzz_trace("clock %" G_GINT64_FORMAT, fuzz_vxlan_now);
}

static void fuzz_vxlan_fdb(FuzzVxlan *s)
{
    static const char *const macs[] = {
        "00:00:00:00:00:00", "52:54:00:00:00:01", "01:00:5e:00:00:01",
        "52:54:00:00:00:02", "zz",
    };
    uint8_t what = fuzz_u8(&s->in);
    const char *mac = macs[fuzz_u8(&s->in) % G_N_ELEMENTS(macs)];
    char remote[INET_ADDRSTRLEN];
    struct in_addr a = { fuzz_vxlan_source(fuzz_u8(&s->in)) };
    g_autoptr(GError) err = NULL;

    inet_ntop(AF_INET, &a, remote, sizeof(remote));
    fuzz_trace("fdb %s %s %s", what & 1 ? "del" : "add", mac, remote);
    if (what & 1) {
        qmp_x_vxlan_fdb_del("fuzz-vxlan", mac, !(what & 2), remote, &err);
    } else {
        qmp_x_vxlan_fdb_add("fuzz-vxlan", mac, remote, &err);
    }
}

static void fuzz_vxlan_run(const uint8_t *data, size_t size);

/* A UDP port on 127.0.0.1 that is free now (a fixed one may be taken). */
static unsigned fuzz_vxlan_free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    fuzz_check(fd >= 0 && bind(fd, (struct sockaddr *)&sa, len) == 0 &&
               getsockname(fd, (struct sockaddr *)&sa, &len) == 0,
               "no free UDP port: %s", g_strerror(errno));
    close(fd);
    return ntohs(sa.sin_port);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_vxlan_port = fuzz_vxlan_free_port();
    fuzz_vxlan_ops = sockops_system;
    fuzz_vxlan_ops.recvmmsg = fuzz_vxlan_recvmmsg;
    fuzz_vxlan_ops.sendmmsg = fuzz_vxlan_sendmmsg;
    fuzz_vxlan_ops.sendmsg = fuzz_vxlan_sendmsg;
    sockops_install(&fuzz_vxlan_ops);
    vxlan_set_clock(fuzz_vxlan_clock);
    /* Once, so that what GLib opens on first use is not an input's leak. */
    fuzz_vxlan_run(NULL, 0);
    return 0;
}

static void fuzz_vxlan_run(const uint8_t *data, size_t size)
{
    FuzzVxlan s = { 0 };

    fuzz_input_init(&s.in, data, size);
    g_queue_init(&s.expect);
    fuzz_vxlan = &s;
    fuzz_vxlan_now = 1000000;
    fuzz_vxlan_start(&s);
    while (!fuzz_input_empty(&s.in)) {
        switch (fuzz_u8(&s.in) % FUZZ_VXLAN_OP_COUNT) {
        case FUZZ_VXLAN_RECV:
            fuzz_vxlan_recv(&s);
            break;
        case FUZZ_VXLAN_TAKE:
            fuzz_vxlan_take(&s);
            break;
        case FUZZ_VXLAN_SEND:
            fuzz_vxlan_send(&s);
            break;
        case FUZZ_VXLAN_WRITE:
            fuzz_vxlan_write(&s);
            break;
        case FUZZ_VXLAN_CLOCK:
            fuzz_vxlan_clock_op(&s);
            break;
        default:
            fuzz_vxlan_fdb(&s);
            break;
        }
    }
    s.nic->budget = UINT_MAX;
    net_client_flush_queued(&s.nic->nc);
    fuzz_vxlan_loop();
    fuzz_vxlan_check_progress(&s);
    fuzz_check(g_queue_is_empty(&s.expect),
               "%u frames never reached the NIC",
               g_queue_get_length(&s.expect));
    net_client_free(&s.nic->nc);
    s.vx = NULL;
    net_client_free(s.backend);
    fuzz_vxlan_loop();
    fuzz_vxlan = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned fds = fuzz_fd_count();

    fuzz_vxlan_run(data, size);
    fuzz_check(fuzz_fd_count() == fds, "fds: %u before, %u after", fds,
               fuzz_fd_count());
    return 0;
}
