/*
 * DOC: fuzz-stream: a stream peer's byte stream into net/stream-conn.c
 *
 * A real `-netdev socket,fd=N` (the StreamConn path every stream backend
 * shares, with net/stream-framing.c's parser) on one end of a socketpair,
 * peered with a harness NIC.  The socket calls go through a SocketOps
 * table of the harness (the `sockops` seam): recv() returns the bytes the
 * input says, cut where the input says, or EAGAIN, EINTR, ECONNRESET,
 * EOF; sendmsg() takes as many bytes as the input says, or fails.  The
 * other end of the socketpair only keeps the fd readable and writable so
 * the main loop calls the backend; no byte goes through it.
 *
 * The input is a list of operations until it ends: u8 op, operands.
 *
 *   READ   u16 n, then n bytes: one recv() returning them
 *   ERROR  u8 what: recv() fails (EAGAIN, EINTR, ECONNRESET) or sees EOF
 *   TAKE   u8 n: the NIC takes n more frames (0: it refuses until the
 *          next TAKE), then flushes as the flow-control rule says
 *   SEND   u16 len, u8 fill: the NIC sends a frame towards the peer
 *   WRITE  u8 how, u16 n: the next sendmsg() calls take n bytes, or
 *          fail with EAGAIN / EPIPE
 *
 * Checked against a model of QEMU's framing kept by the harness: the NIC
 * gets exactly the frames of the stream, in order, each once and whole;
 * a zero length is skipped; a length above NET_BUFSIZE resets the
 * connection (counted); a frame queued at the NIC is not lost.  A closed
 * connection is replaced by a new backend (a new socketpair), so an input
 * goes on after a reset.  Everything is freed after each input and the
 * fd count must be as before.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "net/net.h"
#include "net/netdev.h"
#include "net/stream-framing.h"
#include "util/sockops.h"

typedef enum FuzzStreamOp {
    FUZZ_STREAM_READ,
    FUZZ_STREAM_ERROR,
    FUZZ_STREAM_TAKE,
    FUZZ_STREAM_SEND,
    FUZZ_STREAM_WRITE,
    FUZZ_STREAM_OP_COUNT,
} FuzzStreamOp;

/* Loop iterations per operation: the backend reads once per wake-up. */
#define FUZZ_STREAM_STEPS 4
/* Backends one input may go through (each reset costs one). */
#define FUZZ_STREAM_MAX_CONNS 8

typedef struct FuzzStreamNic {
    NetClientState nc;
    unsigned budget;            /* frames it takes before refusing */
    uint64_t frames;            /* frames taken */
} FuzzStreamNic;

/* What the peer sent, parsed by the harness: the frames to expect. */
typedef struct FuzzStreamModel {
    GByteArray *pending;        /* bytes sent, not yet one whole frame */
    GQueue expect;              /* GBytes: frames the NIC has not seen */
    bool broken;                /* an oversize length: reset expected */
} FuzzStreamModel;

typedef struct FuzzStream {
    FuzzInput in;
    NetClientState *backend;
    FuzzStreamNic *nic;
    int fd;                     /* the backend's end, -1 once closed */
    int far;                    /* the other end */
    unsigned conns;
    /* The next recv() on fd: bytes, or an error (0: none pending). */
    const uint8_t *rx;
    size_t rx_len;
    bool rx_ready;
    int rx_err;                 /* errno, or -1 for EOF */
    /* sendmsg(): bytes each call takes (0: all), or an errno. */
    size_t tx_limit;
    int tx_err;
    FuzzStreamModel model;
} FuzzStream;

static FuzzStream *fuzz_stream;

/* ---- the socket seam ---------------------------------------------------- */

static ssize_t fuzz_stream_recv(int fd, void *buf, size_t len, int flags)
{
    FuzzStream *s = fuzz_stream;
    size_t n;

    if (!s || fd != s->fd) {
        return sockops_system.recv(fd, buf, len, flags);
    }
    if (!s->rx_ready) {
        errno = EAGAIN;
        return -1;
    }
    s->rx_ready = false;
    if (s->rx_err > 0) {
        errno = s->rx_err;
        return -1;
    }
    if (s->rx_err < 0) {
        return 0;
    }
    n = MIN(len, s->rx_len);
    memcpy(buf, s->rx, n);
    return (ssize_t)n;
}

static ssize_t fuzz_stream_sendmsg(int fd, const struct msghdr *msg,
                                   int flags)
{
    FuzzStream *s = fuzz_stream;
    size_t total = 0;

    if (!s || fd != s->fd) {
        return sockops_system.sendmsg(fd, msg, flags);
    }
    if (s->tx_err) {
        errno = s->tx_err;
        return -1;
    }
    for (size_t i = 0; i < msg->msg_iovlen; i++) {
        total += msg->msg_iov[i].iov_len;
    }
    if (s->tx_limit && total > s->tx_limit) {
        total = s->tx_limit;
    }
    return (ssize_t)total;
}

static int fuzz_stream_close(int fd)
{
    if (fuzz_stream && fd == fuzz_stream->fd) {
        fuzz_stream->fd = -1;
    }
    return sockops_system.close(fd);
}

static SocketOps fuzz_stream_ops;

/* ---- the model ---------------------------------------------------------- */

/* Appends received bytes and moves whole frames to the expected ones. */
static void fuzz_stream_model_add(FuzzStreamModel *m, const uint8_t *p,
                                  size_t len)
{
    g_byte_array_append(m->pending, p, (guint)len);
    while (!m->broken && m->pending->len >= STREAM_FRAMING_HEADER_LEN) {
        const uint8_t *h = m->pending->data;
        uint32_t flen = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
                        (uint32_t)h[2] << 8 | h[3];

        if (flen > NET_BUFSIZE) {
            m->broken = true;
            break;
        }
        if (m->pending->len - STREAM_FRAMING_HEADER_LEN < flen) {
            break;
        }
        if (flen) {
            g_queue_push_tail(&m->expect,
                              g_bytes_new(h + STREAM_FRAMING_HEADER_LEN, flen));
        }
        g_byte_array_remove_range(m->pending, 0,
                                  STREAM_FRAMING_HEADER_LEN + flen);
    }
}

static void fuzz_stream_model_clear(FuzzStreamModel *m)
{
    g_queue_clear_full(&m->expect, (GDestroyNotify)g_bytes_unref);
    g_byte_array_set_size(m->pending, 0);
    m->broken = false;
}

/* ---- the NIC ------------------------------------------------------------ */

static bool fuzz_stream_nic_can_receive(NetClientState *nc)
{
    return container_of(nc, FuzzStreamNic, nc)->budget > 0;
}

static ssize_t fuzz_stream_nic_receive(NetClientState *nc, const uint8_t *buf,
                                       size_t len)
{
    FuzzStreamNic *nic = container_of(nc, FuzzStreamNic, nc);
    FuzzStream *s = fuzz_stream;
    g_autoptr(GBytes) want = NULL;
    size_t want_len;
    const uint8_t *want_data;

    if (!nic->budget) {
        return 0;
    }
    want = g_queue_pop_head(&s->model.expect);
    fuzz_check(want, "a frame of %zu bytes the peer never sent", len);
    want_data = g_bytes_get_data(want, &want_len);
    fuzz_check(len == want_len && memcmp(buf, want_data, len) == 0,
               "frame %" G_GUINT64_FORMAT ": %zu bytes, the peer sent %zu "
               "(or other bytes)", nic->frames, len, want_len);
    nic->budget--;
    nic->frames++;
    return (ssize_t)len;
}

static void fuzz_stream_nic_sent(NetClientState *nc, ssize_t len)
{
}

static const NetClientInfo fuzz_stream_nic_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .type_name = "fuzz-nic",
    .size = sizeof(FuzzStreamNic),
    .receive = fuzz_stream_nic_receive,
    .can_receive = fuzz_stream_nic_can_receive,
};

/* ---- connections -------------------------------------------------------- */

static void fuzz_stream_loop(void)
{
    for (unsigned i = 0; i < FUZZ_STREAM_STEPS; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
}

/* A new `-netdev socket,fd=` and NIC; false if the input used up its share. */
static bool fuzz_stream_connect(FuzzStream *s)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Netdev) netdev = NULL;
    g_autofree char *opts = NULL;
    int sv[2];

    if (s->conns++ == FUZZ_STREAM_MAX_CONNS) {
        return false;
    }
    fuzz_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
               "socketpair: %s", g_strerror(errno));
    /* One unread byte: the backend's end stays readable. */
    fuzz_check(write(sv[1], "", 1) == 1, "write: %s", g_strerror(errno));
    s->fd = sv[0];
    s->far = sv[1];
    opts = g_strdup_printf("socket,id=fuzz-stream,fd=%d", sv[0]);
    netdev = netdev_parse(opts, &err);
    fuzz_check(netdev && netdev_add(netdev, &err), "netdev_add: %s",
               err ? err->message : "?");
    s->backend = net_client_find("fuzz-stream");
    s->nic = (FuzzStreamNic *)net_client_new(&fuzz_stream_nic_info,
                                             s->backend, "fuzz-nic",
                                             "fuzz-nic");
    s->nic->budget = 1;
    /* A new peer: nothing of the last one's reads or writes is pending. */
    s->rx_ready = false;
    s->rx_err = 0;
    s->tx_err = 0;
    s->tx_limit = 0;
    fuzz_stream_model_clear(&s->model);
    return true;
}

static void fuzz_stream_disconnect(FuzzStream *s)
{
    net_client_free(&s->nic->nc);
    net_client_free(s->backend);
    fuzz_stream_loop();
    fuzz_check(s->fd < 0, "the backend's socket outlived it");
    close(s->far);
    s->far = -1;
    s->nic = NULL;
    s->backend = NULL;
}

/* ---- operations --------------------------------------------------------- */

/*
 * After bytes arrived: the backend stops reading and parsing only while
 * a frame waits at the NIC, so with every frame so far delivered the
 * pending read is done and an oversize length has reset the connection.
 */
static void fuzz_stream_check_progress(FuzzStream *s, uint64_t resets)
{
    if (!g_queue_is_empty(&s->model.expect)) {
        return;
    }
    if (s->model.broken) {
        fuzz_check(s->fd < 0 && s->backend->stats.resets == resets + 1,
                   "an oversize length did not reset the connection");
        return;
    }
    /* rx_err: the last thing the peer "sent" was an error or EOF. */
    fuzz_check(s->fd >= 0 || s->rx_err, "a good stream was closed");
    fuzz_check(!s->rx_ready, "a readable socket was not read");
}

static void fuzz_stream_read(FuzzStream *s)
{
    size_t want = fuzz_u16(&s->in);
    size_t n = MIN(want, s->in.size - s->in.pos);
    uint64_t resets = s->backend->stats.resets;

    s->in.pos += n;
    if (n == 0 || s->rx_ready) {
        /* A zero read is EOF (see ERROR); a read is already pending. */
        return;
    }
    s->rx = s->in.data + s->in.pos - n;
    s->rx_len = n;
    s->rx_ready = true;
    s->rx_err = 0;
    fuzz_trace("read %zu", n);
    fuzz_stream_model_add(&s->model, s->rx, n);
    fuzz_stream_loop();
    fuzz_stream_check_progress(s, resets);
}

static void fuzz_stream_error(FuzzStream *s)
{
    static const int what[] = { EAGAIN, EINTR, ECONNRESET, -1 };
    int err = what[fuzz_u8(&s->in) % G_N_ELEMENTS(what)];

    if (s->rx_ready) {
        return;                 /* bytes are pending: they come first */
    }
    fuzz_trace("recv error %d", err);
    s->rx_ready = true;
    s->rx_err = err;
    fuzz_stream_loop();
    if (s->rx_ready) {
        return;                 /* not read: a frame waits at the NIC */
    }
    if (err == ECONNRESET || err < 0) {
        fuzz_check(s->fd < 0, "EOF or a reset left the connection open");
    } else {
        fuzz_check(s->fd >= 0, "EAGAIN or EINTR closed the connection");
    }
}

static void fuzz_stream_take(FuzzStream *s)
{
    unsigned n = fuzz_u8(&s->in);
    uint64_t resets = s->backend->stats.resets;

    fuzz_trace("take %u", n);
    s->nic->budget = n;
    if (n) {
        net_client_flush_queued(&s->nic->nc);
    }
    fuzz_stream_loop();
    if (!(s->rx_ready && s->rx_err)) {
        fuzz_stream_check_progress(s, resets);
    }
}

static void fuzz_stream_send(FuzzStream *s)
{
    static uint8_t frame[NET_BUFSIZE];
    size_t len = fuzz_u16(&s->in) % (sizeof(frame) + 1);
    uint8_t fill = fuzz_u8(&s->in);

    fuzz_trace("send %zu", len);
    memset(frame, fill, len);
    net_client_send_async(&s->nic->nc, frame, len, fuzz_stream_nic_sent);
    fuzz_stream_loop();
}

static void fuzz_stream_write(FuzzStream *s)
{
    uint8_t how = fuzz_u8(&s->in);
    uint16_t n = fuzz_u16(&s->in);

    fuzz_trace("write how %u n %u", how, n);
    s->tx_err = how % 4 == 1 ? EAGAIN : how % 4 == 2 ? EPIPE : 0;
    s->tx_limit = how % 4 == 3 ? 0 : n;
    fuzz_stream_loop();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_stream_ops = sockops_system;
    fuzz_stream_ops.recv = fuzz_stream_recv;
    fuzz_stream_ops.sendmsg = fuzz_stream_sendmsg;
    fuzz_stream_ops.close = fuzz_stream_close;
    sockops_install(&fuzz_stream_ops);
    /* The default main context's wake-up fd exists before the first count. */
    g_main_context_iteration(NULL, FALSE);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzStream s = { .fd = -1, .far = -1 };
    unsigned fds = fuzz_fd_count();

    fuzz_input_init(&s.in, data, size);
    s.model.pending = g_byte_array_new();
    g_queue_init(&s.model.expect);
    fuzz_stream = &s;
    fuzz_stream_connect(&s);
    while (!fuzz_input_empty(&s.in)) {
        switch (fuzz_u8(&s.in) % FUZZ_STREAM_OP_COUNT) {
        case FUZZ_STREAM_READ:
            fuzz_stream_read(&s);
            break;
        case FUZZ_STREAM_ERROR:
            fuzz_stream_error(&s);
            break;
        case FUZZ_STREAM_TAKE:
            fuzz_stream_take(&s);
            break;
        case FUZZ_STREAM_SEND:
            fuzz_stream_send(&s);
            break;
        default:
            fuzz_stream_write(&s);
            break;
        }
        if (s.fd < 0) {
            /* Whatever the peer sent and the NIC has not taken is gone. */
            fuzz_stream_disconnect(&s);
            if (!fuzz_stream_connect(&s)) {
                break;
            }
        }
    }
    if (s.backend) {
        /* Let the NIC take what is queued: the model must be used up. */
        uint64_t resets = s.backend->stats.resets;

        s.nic->budget = UINT_MAX;
        net_client_flush_queued(&s.nic->nc);
        fuzz_stream_loop();
        if (!(s.rx_ready && s.rx_err)) {
            fuzz_stream_check_progress(&s, resets);
        }
        fuzz_check(g_queue_is_empty(&s.model.expect),
                   "%u frames the peer sent never reached the NIC",
                   g_queue_get_length(&s.model.expect));
        fuzz_stream_disconnect(&s);
    }
    fuzz_stream_model_clear(&s.model);
    g_byte_array_unref(s.model.pending);
    fuzz_stream = NULL;
    fuzz_check(fuzz_fd_count() == fds, "fds: %u before, %u after", fds,
               fuzz_fd_count());
    return 0;
}
