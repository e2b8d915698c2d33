/*
 * DOC: fuzz-dgram: a datagram peer's datagrams into net/dgram-conn.c
 *
 * A real datagram backend, peered with a harness NIC: `-netdev
 * socket,fd=N` on a SOCK_DGRAM socketpair, `-netdev socket,udp=` on
 * loopback, or `-netdev socket,mcast=` (its self filter: a datagram from
 * its own sender is not handed on), as the input's first byte chooses
 * (mcast falls back to fd= where the machine has no multicast).  Socket
 * calls go through the harness's SocketOps table (the `sockops` seam):
 * recvmmsg() returns the datagrams the input describes, sendmsg() and
 * sendmmsg() take or refuse what the backend sends.  The backend's real
 * socket is only made readable so the main loop calls it.
 *
 *   u8 kind, then operations until the input ends: u8 op, operands
 *   RECV   u8 count (1-40; the backend asks for 32 at most), each:
 *          u16 len (above NET_BUFSIZE: truncated, as the kernel does),
 *          u8 source (0: the backend's own multicast sender, 1: another
 *          address, 2: no address), then len bytes (a truncated one is
 *          filled, not read from the input)
 *   ERROR  u8 what: recvmmsg() fails with EAGAIN, EINTR or ECONNREFUSED
 *   TAKE   u8 n: the NIC takes n more frames (0: it refuses), flushes
 *   SEND   u16 len, u8 fill: the NIC sends a frame to the peer
 *   WRITE  u8 how, u8 n: sends take n messages, or fail (EAGAIN,
 *          EMSGSIZE, EINVAL as for GSO, EINTR)
 *
 * Checked: the NIC gets exactly the datagrams of 1 to NET_BUFSIZE bytes
 * not from the backend's own sender, whole, in order, each once, nothing
 * lost while the NIC refuses; a truncated one counts as oversized, an
 * empty one as malformed.  All freed after each input, fds as before.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "net/dgram-conn.h"
#include "net/net.h"
#include "net/netdev.h"
#include "util/sockops.h"

typedef enum FuzzDgramOp {
    FUZZ_DGRAM_RECV,
    FUZZ_DGRAM_ERROR,
    FUZZ_DGRAM_TAKE,
    FUZZ_DGRAM_SEND,
    FUZZ_DGRAM_WRITE,
    FUZZ_DGRAM_OP_COUNT,
} FuzzDgramOp;

#define FUZZ_DGRAM_STEPS 4
#define FUZZ_DGRAM_MAX_BATCH 40
#define FUZZ_DGRAM_MCAST_PORT 47391   /* and udp='s local port: + 1 */

typedef struct FuzzDgramMsg {
    const uint8_t *data;        /* NULL: filled with the length's low byte */
    size_t len;
    uint8_t source;
} FuzzDgramMsg;

typedef struct FuzzDgramNic {
    NetClientState nc;
    unsigned budget;
} FuzzDgramNic;

typedef struct FuzzDgram {
    FuzzInput in;
    NetClientState *backend;
    DgramConn *conn;
    FuzzDgramNic *nic;
    int far;                    /* keeps the backend's socket readable */
    /* The datagrams the next recvmmsg() returns, or an error. */
    FuzzDgramMsg msg[FUZZ_DGRAM_MAX_BATCH];
    unsigned nmsg;
    bool rx_ready;
    int rx_err;
    /* Sends: messages each call takes (0: all), or an errno. */
    unsigned tx_limit;
    int tx_err;
    GQueue expect;              /* GBytes: frames the NIC has not seen */
    uint64_t oversized, malformed;
} FuzzDgram;

static FuzzDgram *fuzz_dgram;
static bool fuzz_dgram_mcast_ok;

/* ---- the socket seam ---------------------------------------------------- */

static bool fuzz_dgram_ours(int fd)
{
    return fuzz_dgram && fuzz_dgram->conn &&
           (fd == fuzz_dgram->conn->fd || fd == fuzz_dgram->conn->send_fd);
}

/* Writes msg @m into the backend's slot @h as the kernel would. */
static unsigned fuzz_dgram_fill(FuzzDgram *s, const FuzzDgramMsg *m,
                                struct msghdr *h)
{
    struct iovec *iov = h->msg_iov;
    size_t n = MIN(m->len, iov->iov_len);

    if (m->data) {
        memcpy(iov->iov_base, m->data, n);
    } else {
        memset(iov->iov_base, (int)(m->len & 0xff), n);
    }
    h->msg_flags = m->len > iov->iov_len ? MSG_TRUNC : 0;
    if (m->source == 2 || !h->msg_name) {
        h->msg_namelen = 0;
    } else if (m->source == 0 && s->conn->filter_self) {
        memcpy(h->msg_name, &s->conn->self, sizeof(s->conn->self));
        h->msg_namelen = s->conn->self.ss_family == AF_INET6
                         ? sizeof(struct sockaddr_in6)
                         : sizeof(struct sockaddr_in);
    } else {
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons(7) };

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
        memcpy(h->msg_name, &sa, sizeof(sa));
        h->msg_namelen = sizeof(sa);
    }
    return (unsigned)n;
}

static int fuzz_dgram_recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n,
                               int flags, struct timespec *timeout)
{
    FuzzDgram *s = fuzz_dgram;
    unsigned count;

    if (!fuzz_dgram_ours(fd)) {
        return sockops_system.recvmmsg(fd, msgs, n, flags, timeout);
    }
    if (!s->rx_ready) {
        errno = EAGAIN;
        return -1;
    }
    if (s->rx_err) {
        s->rx_ready = false;
        errno = s->rx_err;
        return -1;
    }
    count = MIN(n, s->nmsg);
    for (unsigned i = 0; i < count; i++) {
        msgs[i].msg_len = fuzz_dgram_fill(s, &s->msg[i], &msgs[i].msg_hdr);
    }
    /* What did not fit this call stays for the next. */
    memmove(s->msg, s->msg + count, (s->nmsg - count) * sizeof(s->msg[0]));
    s->nmsg -= count;
    s->rx_ready = s->nmsg > 0;
    return (int)count;
}

static ssize_t fuzz_dgram_recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct mmsghdr m = { .msg_hdr = *msg };
    int n;

    if (!fuzz_dgram_ours(fd)) {
        return sockops_system.recvmsg(fd, msg, flags);
    }
    n = fuzz_dgram_recvmmsg(fd, &m, 1, flags, NULL);
    *msg = m.msg_hdr;
    return n < 0 ? -1 : n == 0 ? 0 : (ssize_t)m.msg_len;
}

static int fuzz_dgram_sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n,
                               int flags)
{
    FuzzDgram *s = fuzz_dgram;
    unsigned taken;

    if (!fuzz_dgram_ours(fd)) {
        return sockops_system.sendmmsg(fd, msgs, n, flags);
    }
    if (s->tx_err) {
        errno = s->tx_err;
        return -1;
    }
    taken = s->tx_limit ? MIN(n, s->tx_limit) : n;
    for (unsigned i = 0; i < taken; i++) {
        size_t len = 0;

        for (size_t j = 0; j < msgs[i].msg_hdr.msg_iovlen; j++) {
            len += msgs[i].msg_hdr.msg_iov[j].iov_len;
        }
        msgs[i].msg_len = (unsigned)len;
    }
    return (int)taken;
}

static ssize_t fuzz_dgram_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct mmsghdr m = { .msg_hdr = *msg };
    int n;

    if (!fuzz_dgram_ours(fd)) {
        return sockops_system.sendmsg(fd, msg, flags);
    }
    n = fuzz_dgram_sendmmsg(fd, &m, 1, flags);
    return n < 0 ? -1 : n == 0 ? 0 : (ssize_t)m.msg_len;
}

static SocketOps fuzz_dgram_ops;

/* ---- the NIC ------------------------------------------------------------ */

static bool fuzz_dgram_nic_can_receive(NetClientState *nc)
{
    return container_of(nc, FuzzDgramNic, nc)->budget > 0;
}

static ssize_t fuzz_dgram_nic_receive(NetClientState *nc, const uint8_t *buf,
                                      size_t len)
{
    FuzzDgramNic *nic = container_of(nc, FuzzDgramNic, nc);
    g_autoptr(GBytes) want = NULL;
    const uint8_t *want_data;
    size_t want_len;

    if (!nic->budget) {
        return 0;
    }
    want = g_queue_pop_head(&fuzz_dgram->expect);
    fuzz_check(want, "a frame of %zu bytes the peer never sent", len);
    want_data = g_bytes_get_data(want, &want_len);
    fuzz_check(len == want_len && memcmp(buf, want_data, len) == 0,
               "a frame of %zu bytes, the peer sent %zu (or other bytes)",
               len, want_len);
    nic->budget--;
    return (ssize_t)len;
}

static void fuzz_dgram_nic_sent(NetClientState *nc, ssize_t len)
{
}

static const NetClientInfo fuzz_dgram_nic_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .type_name = "fuzz-nic",
    .size = sizeof(FuzzDgramNic),
    .receive = fuzz_dgram_nic_receive,
    .can_receive = fuzz_dgram_nic_can_receive,
};

/* ---- setup -------------------------------------------------------------- */

static void fuzz_dgram_loop(void)
{
    for (unsigned i = 0; i < FUZZ_DGRAM_STEPS; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
}

static NetClientState *fuzz_dgram_netdev(const char *opts)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Netdev) netdev = netdev_parse(opts, &err);

    if (!netdev || !netdev_add(netdev, &err)) {
        return NULL;
    }
    return net_client_find("fuzz-dgram");
}

/* A datagram to the backend's own socket: it stays readable. */
static void fuzz_dgram_poke(FuzzDgram *s)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct in_addr lo = { htonl(INADDR_LOOPBACK) };

    /* A group's datagram goes out on lo, where the backend joined it. */
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof(lo));
    fuzz_check(getsockname(s->conn->fd, (struct sockaddr *)&sa, &len) == 0,
               "getsockname: %s", g_strerror(errno));
    if (sa.ss_family == AF_INET &&
        ((struct sockaddr_in *)&sa)->sin_addr.s_addr == htonl(INADDR_ANY)) {
        ((struct sockaddr_in *)&sa)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    sendto(fd, "", 1, 0, (struct sockaddr *)&sa, len);
    close(fd);
}

static void fuzz_dgram_start(FuzzDgram *s, uint8_t kind)
{
    g_autofree char *opts = NULL;
    int sv[2];

    if (kind % 3 == 1) {
        s->backend = fuzz_dgram_netdev("socket,id=fuzz-dgram,"
                                       "udp=127.0.0.1:9,"
                                       "localaddr=127.0.0.1:47392");
    } else if (kind % 3 == 2 && fuzz_dgram_mcast_ok) {
        opts = g_strdup_printf("socket,id=fuzz-dgram,mcast=230.0.0.1:%d,"
                               "localaddr=127.0.0.1",
                               FUZZ_DGRAM_MCAST_PORT);
        s->backend = fuzz_dgram_netdev(opts);
    }
    if (s->backend) {
        s->conn = &container_of(s->backend, DgramData, nc)->dgram;
        fuzz_dgram_poke(s);
    } else {
        fuzz_check(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0,
                   "socketpair: %s", g_strerror(errno));
        fuzz_check(write(sv[1], "", 1) == 1, "write: %s", g_strerror(errno));
        s->far = sv[1];
        g_free(opts);
        opts = g_strdup_printf("socket,id=fuzz-dgram,fd=%d", sv[0]);
        s->backend = fuzz_dgram_netdev(opts);
        fuzz_check(s->backend, "-netdev %s refused", opts);
        s->conn = &container_of(s->backend, DgramData, nc)->dgram;
    }
    s->nic = (FuzzDgramNic *)net_client_new(&fuzz_dgram_nic_info, s->backend,
                                            "fuzz-nic", "fuzz-nic");
    s->nic->budget = 1;
    fuzz_trace("backend: %s", s->backend->info_str);
    fuzz_dgram_loop();
}

/* ---- operations --------------------------------------------------------- */

/* Once all expected frames are delivered the pending batch was read. */
static void fuzz_dgram_check_progress(FuzzDgram *s)
{
    if (g_queue_is_empty(&s->expect)) {
        fuzz_check(!s->rx_ready || s->rx_err,
                   "datagrams were left unread");
        fuzz_check(s->backend->stats.oversized == s->oversized,
                   "oversized: %" G_GUINT64_FORMAT ", sent %" G_GUINT64_FORMAT,
                   s->backend->stats.oversized, s->oversized);
        fuzz_check(s->backend->stats.dropped_by[NET_DROP_MALFORMED] ==
                   s->malformed, "empty datagrams miscounted");
    }
}

static void fuzz_dgram_recv(FuzzDgram *s)
{
    unsigned count = 1 + fuzz_u8(&s->in) % FUZZ_DGRAM_MAX_BATCH;

    if (s->rx_ready) {
        return;             /* the last batch is still being read */
    }
    s->nmsg = 0;
    for (unsigned i = 0; i < count && !fuzz_input_empty(&s->in); i++) {
        FuzzDgramMsg *m = &s->msg[s->nmsg++];

        m->len = fuzz_u16(&s->in);
        m->source = fuzz_u8(&s->in) % 3;
        m->data = NULL;
        if (m->len <= NET_BUFSIZE) {
            m->len = MIN(m->len, s->in.size - s->in.pos);
            m->data = s->in.data + s->in.pos;
            s->in.pos += m->len;
        }
        if (m->len > NET_BUFSIZE) {
            s->oversized++;
        } else if (m->len == 0) {
            s->malformed++;
        } else if (!(m->source == 0 && s->conn->filter_self)) {
            g_queue_push_tail(&s->expect, g_bytes_new(m->data, m->len));
        }
    }
    fuzz_trace("recv %u datagrams", s->nmsg);
    s->rx_err = 0;
    s->rx_ready = s->nmsg > 0;
    fuzz_dgram_loop();
    fuzz_dgram_check_progress(s);
}

static void fuzz_dgram_error(FuzzDgram *s)
{
    static const int what[] = { EAGAIN, EINTR, ECONNREFUSED };

    if (s->rx_ready) {
        fuzz_u8(&s->in);
        return;
    }
    s->rx_err = what[fuzz_u8(&s->in) % G_N_ELEMENTS(what)];
    fuzz_trace("recv error %d", s->rx_err);
    s->rx_ready = true;
    fuzz_dgram_loop();
}

static void fuzz_dgram_take(FuzzDgram *s)
{
    s->nic->budget = fuzz_u8(&s->in);
    fuzz_trace("take %u", s->nic->budget);
    if (s->nic->budget) {
        net_client_flush_queued(&s->nic->nc);
    }
    fuzz_dgram_loop();
    fuzz_dgram_check_progress(s);
}

static void fuzz_dgram_send(FuzzDgram *s)
{
    static uint8_t frame[NET_BUFSIZE];
    size_t len = fuzz_u16(&s->in) % (sizeof(frame) + 1);
    uint8_t fill = fuzz_u8(&s->in);

    fuzz_trace("send %zu", len);
    memset(frame, fill, len);
    net_client_send_async(&s->nic->nc, frame, len, fuzz_dgram_nic_sent);
    fuzz_dgram_loop();
}

static void fuzz_dgram_write(FuzzDgram *s)
{
    static const int what[] = { 0, EAGAIN, EMSGSIZE, EINVAL, EINTR, 0 };
    uint8_t how = fuzz_u8(&s->in);

    s->tx_err = what[how % G_N_ELEMENTS(what)];
    s->tx_limit = fuzz_u8(&s->in);
    fuzz_trace("write err %d limit %u", s->tx_err, s->tx_limit);
    fuzz_dgram_loop();
}

/* Can this machine join a multicast group on loopback? */
static bool fuzz_dgram_probe_mcast(void)
{
    FuzzDgram s = { .far = -1 };
    bool ok;

    fuzz_dgram = &s;
    fuzz_dgram_start(&s, 2);
    ok = s.conn->filter_self &&
         poll(&(struct pollfd){ .fd = s.conn->fd, .events = POLLIN }, 1,
              200) == 1;
    net_client_free(&s.nic->nc);
    s.conn = NULL;
    net_client_free(s.backend);
    if (s.far >= 0) {
        close(s.far);
    }
    fuzz_dgram_loop();
    fuzz_dgram = NULL;
    return ok;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_dgram_ops = sockops_system;
    fuzz_dgram_ops.recvmmsg = fuzz_dgram_recvmmsg;
    fuzz_dgram_ops.recvmsg = fuzz_dgram_recvmsg;
    fuzz_dgram_ops.sendmmsg = fuzz_dgram_sendmmsg;
    fuzz_dgram_ops.sendmsg = fuzz_dgram_sendmsg;
    sockops_install(&fuzz_dgram_ops);
    fuzz_dgram_mcast_ok = true;
    fuzz_dgram_mcast_ok = fuzz_dgram_probe_mcast();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzDgram s = { .far = -1 };
    unsigned fds = fuzz_fd_count();

    fuzz_input_init(&s.in, data, size);
    g_queue_init(&s.expect);
    fuzz_dgram = &s;
    fuzz_dgram_start(&s, fuzz_u8(&s.in));
    while (!fuzz_input_empty(&s.in)) {
        switch (fuzz_u8(&s.in) % FUZZ_DGRAM_OP_COUNT) {
        case FUZZ_DGRAM_RECV:
            fuzz_dgram_recv(&s);
            break;
        case FUZZ_DGRAM_ERROR:
            fuzz_dgram_error(&s);
            break;
        case FUZZ_DGRAM_TAKE:
            fuzz_dgram_take(&s);
            break;
        case FUZZ_DGRAM_SEND:
            fuzz_dgram_send(&s);
            break;
        default:
            fuzz_dgram_write(&s);
            break;
        }
    }
    s.nic->budget = UINT_MAX;
    s.tx_err = 0;
    net_client_flush_queued(&s.nic->nc);
    fuzz_dgram_loop();
    fuzz_dgram_check_progress(&s);
    fuzz_check(g_queue_is_empty(&s.expect),
               "%u datagrams never reached the NIC",
               g_queue_get_length(&s.expect));
    net_client_free(&s.nic->nc);
    s.conn = NULL;
    net_client_free(s.backend);
    fuzz_dgram_loop();
    if (s.far >= 0) {
        close(s.far);
    }
    fuzz_dgram = NULL;
    fuzz_check(fuzz_fd_count() == fds, "fds: %u before, %u after", fds,
               fuzz_fd_count());
    return 0;
}
