/*
 * DOC: the socket backend under injected faults
 *
 * Each test builds a real `-netdev socket` (through netdev_add) on loopback
 * sockets, peers it with a FakeNic (a test-only NetClientInfo standing in
 * for the NIC, whose can_receive()/receive() the test controls) and drives
 * the GLib main loop with g_main_context_iteration().  The "far end" is a
 * plain socket owned by the test (the other half of a socketpair, a TCP
 * client or server, a UDP socket).
 *
 * Faults come from a SocketOps table installed with sockops_install(): a
 * script per operation (EAGAIN, EINTR, ECONNRESET, EOF, pass) consumed call
 * by call, optionally cycled, plus a cap on the bytes each recv/sendmsg
 * moves (1 byte = the shortest writes).  Everything is deterministic.
 *
 * Checked: frames reach the FakeNic intact, in order, once; the far end
 * reads exactly the expected [len][frame] bytes; backpressure stops reading
 * and loses nothing; bad lengths reset only their connection; link state
 * and info strings; mcast self-loop filtering; option errors with QEMU's
 * messages leaving nothing behind; every test ends with the fds it began
 * with.
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

/* ---- fault injection ---------------------------------------------------- */

typedef enum FaultAction {
    FAULT_PASS,
    FAULT_EAGAIN,
    FAULT_EINTR,
    FAULT_ECONNRESET,
    FAULT_EOF,
    FAULT_EMSGSIZE,
} FaultAction;

typedef struct FaultScript {
    FaultAction actions[16];
    unsigned len;               /* actions in the script */
    unsigned pos;
    bool cycle;                 /* start over at the end (else: pass) */
} FaultScript;

static struct {
    int fd;                     /* faults hit this fd only; -1: every fd */
    FaultScript recv, send;
    size_t recv_limit;          /* bytes per recv(); 0: no cap */
    size_t send_limit;          /* bytes per sendmsg(); 0: no cap */
    int setsockopt_name;        /* this option fails with setsockopt_err */
    int setsockopt_err;
    unsigned recv_calls;        /* recv()/recvmsg()/recvmmsg() on faulty fds */
    unsigned send_calls;        /* sendmsg()/sendmmsg() */
    unsigned recv_msgs;         /* datagrams recvmmsg() returned */
    unsigned send_msgs;         /* datagrams sendmmsg() sent */
    unsigned send_mmsgs;        /* messages sendmmsg() sent */
    unsigned send_gso;          /* of which UDP GSO messages */
} faults;

static void faults_reset(void)
{
    memset(&faults, 0, sizeof(faults));
    faults.fd = -1;
}

static void fault_script(FaultScript *fs, bool cycle, unsigned n, ...)
{
    va_list ap;

    g_assert_cmpuint(n, <=, G_N_ELEMENTS(fs->actions));
    va_start(ap, n);
    for (unsigned i = 0; i < n; i++) {
        fs->actions[i] = (FaultAction)va_arg(ap, int);
    }
    va_end(ap);
    fs->len = n;
    fs->pos = 0;
    fs->cycle = cycle;
}

static FaultAction fault_next(FaultScript *fs)
{
    if (fs->pos == fs->len) {
        if (!fs->cycle || fs->len == 0) {
            return FAULT_PASS;
        }
        fs->pos = 0;
    }
    return fs->actions[fs->pos++];
}

/* Apply the next action: 1 = go on with the call, else the result. */
static ssize_t fault_apply(FaultScript *fs)
{
    switch (fault_next(fs)) {
    case FAULT_EAGAIN:
        errno = EAGAIN;
        return -1;
    case FAULT_EINTR:
        errno = EINTR;
        return -1;
    case FAULT_ECONNRESET:
        errno = ECONNRESET;
        return -1;
    case FAULT_EMSGSIZE:
        errno = EMSGSIZE;
        return -1;
    case FAULT_EOF:
        return 0;
    default:
        return 1;
    }
}

static bool fault_hits(int fd)
{
    return faults.fd < 0 || faults.fd == fd;
}

static ssize_t fault_recv(int fd, void *buf, size_t len, int flags)
{
    ssize_t r;

    if (fault_hits(fd)) {
        faults.recv_calls++;
        r = fault_apply(&faults.recv);
        if (r != 1) {
            return r;
        }
        if (faults.recv_limit) {
            len = MIN(len, faults.recv_limit);
        }
    }
    return recv(fd, buf, len, flags);
}

static ssize_t fault_recvmsg(int fd, struct msghdr *msg, int flags)
{
    ssize_t r;

    if (fault_hits(fd)) {
        faults.recv_calls++;
        r = fault_apply(&faults.recv);
        if (r != 1) {
            return r;
        }
    }
    return recvmsg(fd, msg, flags);
}

/* sendmsg() moving at most faults.send_limit bytes. */
static ssize_t fault_sendmsg_limited(int fd, const struct msghdr *msg,
                                     int flags)
{
    struct iovec iov[8];
    struct msghdr m = *msg;
    size_t left = faults.send_limit;
    size_t n = 0;

    for (size_t i = 0; i < msg->msg_iovlen && left && n < 8; i++, n++) {
        iov[n] = msg->msg_iov[i];
        iov[n].iov_len = MIN(iov[n].iov_len, left);
        left -= iov[n].iov_len;
    }
    m.msg_iov = iov;
    m.msg_iovlen = n;
    return sendmsg(fd, &m, flags);
}

static ssize_t fault_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    ssize_t r;

    if (fault_hits(fd)) {
        faults.send_calls++;
        r = fault_apply(&faults.send);
        if (r != 1) {
            return r;
        }
        if (faults.send_limit) {
            return fault_sendmsg_limited(fd, msg, flags);
        }
    }
    return sendmsg(fd, msg, flags);
}

static int fault_recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n,
                          int flags, struct timespec *timeout)
{
    int r;

    if (fault_hits(fd)) {
        faults.recv_calls++;
        r = (int)fault_apply(&faults.recv);
        if (r != 1) {
            return r;
        }
    }
    r = recvmmsg(fd, msgs, n, flags, timeout);
    if (r > 0 && fault_hits(fd)) {
        faults.recv_msgs += (unsigned)r;
    }
    return r;
}

static int fault_sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n,
                          int flags)
{
    int r;

    if (fault_hits(fd)) {
        faults.send_calls++;
        r = (int)fault_apply(&faults.send);
        if (r != 1) {
            return r;
        }
    }
    r = sendmmsg(fd, msgs, n, flags);
    for (int i = 0; i < r && fault_hits(fd); i++) {
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr);
        uint16_t seg = 0;

        faults.send_mmsgs++;
        if (cm && cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_SEGMENT) {
            memcpy(&seg, CMSG_DATA(cm), sizeof(seg));
        }
        if (seg) {                  /* the kernel cuts it into datagrams */
            faults.send_gso++;
            faults.send_msgs += (msgs[i].msg_len + seg - 1) / seg;
        } else {
            faults.send_msgs++;
        }
    }
    return r;
}

static int fault_setsockopt(int fd, int level, int name, const void *val,
                            socklen_t len)
{
    if (faults.setsockopt_err && name == faults.setsockopt_name) {
        errno = faults.setsockopt_err;
        return -1;
    }
    return setsockopt(fd, level, name, val, len);
}

static SocketOps fault_ops;

static void faults_install(void)
{
    faults_reset();
    fault_ops = sockops_system;
    fault_ops.recv = fault_recv;
    fault_ops.recvmsg = fault_recvmsg;
    fault_ops.sendmsg = fault_sendmsg;
    fault_ops.recvmmsg = fault_recvmmsg;
    fault_ops.sendmmsg = fault_sendmmsg;
    fault_ops.setsockopt = fault_setsockopt;
    sockops_install(&fault_ops);
}

/* ---- the fake NIC ------------------------------------------------------- */

typedef struct FakeNic {
    NetClientState nc;
    bool refuse;                /* can_receive() false */
    unsigned capacity;          /* receive() returns 0 beyond; 0: none */
    GPtrArray *frames;          /* GBytes of every frame taken */
    unsigned link_changes;
    bool tx_blocked;            /* a send of ours is queued */
    unsigned completions;
} FakeNic;

static FakeNic *fake_nic(NetClientState *nc)
{
    return container_of(nc, FakeNic, nc);
}

static bool fake_nic_can_receive(NetClientState *nc)
{
    return !fake_nic(nc)->refuse;
}

static ssize_t fake_nic_receive(NetClientState *nc, const uint8_t *buf,
                                size_t len)
{
    FakeNic *nic = fake_nic(nc);

    if (nic->capacity && nic->frames->len >= nic->capacity) {
        return 0;
    }
    g_ptr_array_add(nic->frames, g_bytes_new(buf, len));
    return (ssize_t)len;
}

static void fake_nic_link_status_changed(NetClientState *nc)
{
    fake_nic(nc)->link_changes++;
}

static void fake_nic_cleanup(NetClientState *nc)
{
    g_ptr_array_unref(fake_nic(nc)->frames);
}

static const NetClientInfo fake_nic_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .type_name = "fake-nic",
    .size = sizeof(FakeNic),
    .receive = fake_nic_receive,
    .can_receive = fake_nic_can_receive,
    .cleanup = fake_nic_cleanup,
    .link_status_changed = fake_nic_link_status_changed,
};

static FakeNic *fake_nic_new(NetClientState *backend, const char *name)
{
    NetClientState *nc = net_client_new(&fake_nic_info, backend, "fake-nic",
                                        name);
    FakeNic *nic = fake_nic(nc);

    nic->frames = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_bytes_unref);
    return nic;
}

static void fake_nic_sent(NetClientState *nc, ssize_t len)
{
    FakeNic *nic = fake_nic(nc);

    nic->tx_blocked = false;
    nic->completions++;
}

/* Send as a real NIC would: 0 means wait for the completion. */
static ssize_t fake_nic_send(FakeNic *nic, const uint8_t *buf, size_t len)
{
    ssize_t r = net_client_send_async(&nic->nc, buf, len, fake_nic_sent);

    if (r == 0) {
        nic->tx_blocked = true;
    }
    return r;
}

/* Let the NIC take @more frames, then flush as the rule asks. */
static void fake_nic_take(FakeNic *nic, unsigned more)
{
    nic->refuse = false;
    nic->capacity = nic->frames->len + more;
    net_client_flush_queued(&nic->nc);
}

/* ---- frames and streams ------------------------------------------------- */

static void frame_fill(uint8_t *buf, size_t len, uint32_t seq)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seq * 13 + i * 5 + (i >> 9));
    }
    if (len >= 4) {
        memcpy(buf, &seq, 4);
    }
}

/* Frame @seq of @len bytes, as a new GByteArray. */
static GByteArray *frame_new(size_t len, uint32_t seq)
{
    GByteArray *f = g_byte_array_sized_new((guint)len);

    g_byte_array_set_size(f, (guint)len);
    frame_fill(f->data, len, seq);
    return f;
}

/* Append [len32be][frame] to @stream. */
static void stream_append(GByteArray *stream, size_t len, uint32_t seq)
{
    g_autoptr(GByteArray) f = frame_new(len, seq);
    uint8_t hdr[4];

    stream_framing_put_header(hdr, (uint32_t)len);
    g_byte_array_append(stream, hdr, 4);
    g_byte_array_append(stream, f->data, f->len);
}

/* The NIC's frame @i is frame @seq of @len bytes. */
static void assert_nic_frame(FakeNic *nic, unsigned i, size_t len,
                             uint32_t seq)
{
    g_autoptr(GByteArray) want = frame_new(len, seq);
    gsize got_len;
    const void *got;

    g_assert_cmpuint(i, <, nic->frames->len);
    got = g_bytes_get_data(nic->frames->pdata[i], &got_len);
    g_assert_cmpmem(got, got_len, want->data, want->len);
}

/* ---- the far end and the loop ------------------------------------------- */

/* A test-owned socket: bytes to write out, bytes read in. */
typedef struct FarEnd {
    int fd;
    GByteArray *out;
    size_t out_done;
    GByteArray *in;
    bool reading;
    bool eof;
} FarEnd;

static FarEnd *active_far[4];

static FarEnd *far_new(int fd)
{
    FarEnd *far = g_new0(FarEnd, 1);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(fcntl(fd, F_SETFL, O_NONBLOCK), ==, 0);
    far->fd = fd;
    far->out = g_byte_array_new();
    far->in = g_byte_array_new();
    far->reading = true;
    for (unsigned i = 0; i < G_N_ELEMENTS(active_far); i++) {
        if (!active_far[i]) {
            active_far[i] = far;
            return far;
        }
    }
    g_assert_not_reached();
}

static void far_free(FarEnd *far)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(active_far); i++) {
        if (active_far[i] == far) {
            active_far[i] = NULL;
        }
    }
    if (far->fd >= 0) {
        close(far->fd);
    }
    g_byte_array_unref(far->out);
    g_byte_array_unref(far->in);
    g_free(far);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FarEnd, far_free)

static void far_close(FarEnd *far)
{
    close(far->fd);
    far->fd = -1;
}

static void far_pump(FarEnd *far)
{
    uint8_t buf[65536];
    ssize_t n;

    while (far->fd >= 0 && far->out_done < far->out->len) {
        n = write(far->fd, far->out->data + far->out_done,
                  far->out->len - far->out_done);
        if (n <= 0) {
            break;
        }
        far->out_done += (size_t)n;
    }
    while (far->fd >= 0 && far->reading && !far->eof) {
        n = read(far->fd, buf, sizeof(buf));
        if (n == 0) {
            far->eof = true;
        }
        if (n <= 0) {
            break;
        }
        g_byte_array_append(far->in, buf, (guint)n);
    }
}

/* One loop iteration plus pumping every far end. */
static void loop_step(void)
{
    bool busy = g_main_context_iteration(NULL, FALSE);

    for (unsigned i = 0; i < G_N_ELEMENTS(active_far); i++) {
        if (active_far[i]) {
            far_pump(active_far[i]);
        }
    }
    if (!busy) {
        g_usleep(200);
    }
}

/* Run the loop until @cond, failing after 30 s (slow under valgrind). */
#define WAIT_FOR(cond)                                                  \
    do {                                                                \
        gint64 wait_end_ = g_get_monotonic_time() + 30 * G_USEC_PER_SEC; \
        while (!(cond)) {                                               \
            g_assert_cmpint(g_get_monotonic_time(), <, wait_end_);      \
            loop_step();                                                \
        }                                                               \
    } while (0)

/* Run the loop a while, for checks that nothing happens. */
static void loop_settle(unsigned steps)
{
    for (unsigned i = 0; i < steps; i++) {
        loop_step();
    }
}

/* ---- setup helpers ------------------------------------------------------ */

static unsigned count_fds(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
    unsigned n = 0;

    g_assert_nonnull(dir);
    while (g_dir_read_name(dir)) {
        n++;
    }
    return n;
}

static unsigned fds_at_start;

static void test_begin(void)
{
    fds_at_start = count_fds();
    faults_install();
}

static void test_end(void)
{
    net_cleanup();
    sockops_install(NULL);
    loop_settle(2);
    g_assert_cmpuint(count_fds(), ==, fds_at_start);
}

/*
 * netdev_add() from a -netdev string, as the command line gets there:
 * string -> key=value -> JSON -> visitor (netdev_parse) -> netdev_add.
 * Returns the backend or NULL.
 */
static NetClientState *netdev_new(const char *str, GError **errp)
{
    g_autoptr(Netdev) netdev = netdev_parse(str, errp);

    if (!netdev || !netdev_add(netdev, errp)) {
        return NULL;
    }
    return net_client_find(netdev->id);
}

static NetClientState *netdev_new_ok(const char *fmt, ...)
    G_GNUC_PRINTF(1, 2);
static NetClientState *netdev_new_ok(const char *fmt, ...)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *str = NULL;
    NetClientState *nc;
    va_list ap;

    va_start(ap, fmt);
    str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    nc = netdev_new(str, &err);
    g_assert_no_error(err);
    g_assert_nonnull(nc);
    return nc;
}

/* A port on 127.0.0.1 that was free a moment ago. */
static unsigned free_port(int type)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, type, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, len), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static int tcp_connect(unsigned port, unsigned *local_port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, len), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    *local_port = ntohs(sa.sin_port);
    return fd;
}

/* A stream backend on one end of a socketpair; *far gets the other. */
static NetClientState *stream_pair_new(const char *id, FarEnd **far,
                                       int *backend_fd)
{
    int sv[2];
    NetClientState *nc;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    g_autofree char *info = g_strdup_printf("socket: fd=%d", sv[0]);

    nc = netdev_new_ok("socket,id=%s,fd=%d", id, sv[0]);
    g_assert_cmpstr(nc->info_str, ==, info);
    g_assert_false(nc->link_down);
    *far = far_new(sv[1]);
    if (backend_fd) {
        *backend_fd = sv[0];
    }
    return nc;
}

/* Capture stderr (the backend's log lines) into a temporary file. */
typedef struct StderrCapture {
    int saved;
    FILE *file;
} StderrCapture;

static void stderr_capture_start(StderrCapture *cap)
{
    fflush(stderr);
    cap->file = tmpfile();
    g_assert_nonnull(cap->file);
    cap->saved = dup(STDERR_FILENO);
    dup2(fileno(cap->file), STDERR_FILENO);
}

static char *stderr_capture_end(StderrCapture *cap)
{
    char *text = NULL;
    gsize len = 0;
    long size;

    fflush(stderr);
    dup2(cap->saved, STDERR_FILENO);
    close(cap->saved);
    size = lseek(fileno(cap->file), 0, SEEK_END);
    text = g_malloc0((gsize)size + 1);
    len = (gsize)pread(fileno(cap->file), text, (size_t)size, 0);
    g_assert_cmpuint(len, ==, (gsize)size);
    fclose(cap->file);
    return text;
}

/* ---- streams: socket -> NIC --------------------------------------------- */

/* Short reads (7 bytes: inside headers too), EAGAIN and EINTR between. */
static void test_stream_rx_faults(void)
{
    static const size_t lens[] = {
        1, 60, 0, 1514, 4, NET_BUFSIZE, 0, 64, 3, 9000, 2,
        NET_BUFSIZE - 1, 100,
    };
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    unsigned frames = 0, empty = 0, seen = 0;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    faults.fd = bfd;
    fault_script(&faults.recv, true, 5, FAULT_EAGAIN, FAULT_PASS,
                 FAULT_EINTR, FAULT_PASS, FAULT_PASS);
    faults.recv_limit = 7;
    for (unsigned i = 0; i < G_N_ELEMENTS(lens); i++) {
        stream_append(far->out, lens[i], i);
        lens[i] ? frames++ : empty++;
    }
    WAIT_FOR(nic->frames->len == frames);
    loop_settle(5);
    for (unsigned i = 0; i < G_N_ELEMENTS(lens); i++) {
        if (lens[i]) {
            assert_nic_frame(nic, seen++, lens[i], i);
        }
    }
    g_assert_cmpuint(nic->frames->len, ==, frames);
    g_assert_cmpuint(faults.recv_calls, >, far->out->len / 7);
    g_assert_cmpuint(nc->stats.dropped, ==, empty);
    g_assert_cmpuint(nc->stats.tx_frames, ==, frames);
    g_assert_cmpuint(nc->stats.resets, ==, 0);
    g_assert_false(nc->link_down);
    far_free(far);
    test_end();
}

/*
 * The NIC refuses: the backend stops reading (no more recv calls, the far
 * end cannot write everything), then takes frames 7 at a time, with the
 * NIC's receive() returning 0 when full: all frames, in order.
 */
static void test_stream_rx_backpressure(void)
{
    const unsigned total = 600;
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    unsigned calls;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    nic->refuse = true;
    faults.fd = bfd;
    for (unsigned i = 0; i < total; i++) {
        stream_append(far->out, 1000, i);
    }
    WAIT_FOR(faults.recv_calls > 0);
    loop_settle(20);
    calls = faults.recv_calls;
    loop_settle(50);
    g_assert_cmpuint(faults.recv_calls, ==, calls);
    g_assert_cmpuint(nic->frames->len, ==, 0);
    g_assert_cmpuint(far->out_done, <, far->out->len);

    while (nic->frames->len < total) {
        unsigned want = MIN(nic->frames->len + 7, total);

        fake_nic_take(nic, 7);
        WAIT_FOR(nic->frames->len == want);
        loop_settle(2);
        g_assert_cmpuint(nic->frames->len, ==, want);
    }
    for (unsigned i = 0; i < total; i++) {
        assert_nic_frame(nic, i, 1000, i);
    }
    g_assert_cmpuint(far->out_done, ==, far->out->len);
    g_assert_cmpuint(nc->stats.dropped, ==, 0);
    far_free(far);
    test_end();
}

/* ---- streams: NIC -> socket --------------------------------------------- */

/* One byte per sendmsg, EAGAIN and EINTR between: exact bytes out. */
static void test_stream_tx_faults(void)
{
    static const size_t lens[] = { 60, 1514, 1, NET_BUFSIZE, 4, 300, 2 };
    g_autoptr(GByteArray) want = g_byte_array_new();
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    faults.fd = bfd;
    fault_script(&faults.send, true, 4, FAULT_EAGAIN, FAULT_PASS,
                 FAULT_EINTR, FAULT_PASS);
    faults.send_limit = 1;
    for (unsigned i = 0; i < G_N_ELEMENTS(lens); i++) {
        g_autoptr(GByteArray) f = frame_new(lens[i], i);

        WAIT_FOR(!nic->tx_blocked);
        fake_nic_send(nic, f->data, f->len);
        stream_append(want, lens[i], i);
    }
    WAIT_FOR(far->in->len >= want->len);
    loop_settle(5);
    g_assert_cmpmem(far->in->data, far->in->len, want->data, want->len);
    /* One byte per call, and the faults between. */
    g_assert_cmpuint(faults.send_calls, >, want->len);
    g_assert_cmpuint(nc->stats.rx_frames, ==, G_N_ELEMENTS(lens));
    g_assert_cmpuint(nc->stats.dropped, ==, 0);
    far_free(far);
    test_end();
}

/*
 * The far end does not read: the transmit ring fills, the backend refuses
 * (the NIC's send is queued), nothing is lost; once the far end reads,
 * everything arrives, many frames per sendmsg().
 */
static void test_stream_tx_backpressure(void)
{
    const unsigned total = 2000;
    g_autoptr(GByteArray) want = g_byte_array_new();
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    unsigned sent = 0;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    far->reading = false;
    faults.fd = bfd;
    while (!nic->tx_blocked) {
        g_autoptr(GByteArray) f = frame_new(1500, sent);

        fake_nic_send(nic, f->data, f->len);
        stream_append(want, 1500, sent++);
    }
    /* The ring (256 KiB) is full on top of the socket buffer. */
    g_assert_cmpuint(sent, >, 256 * 1024 / 1504);
    loop_settle(20);
    g_assert_true(nic->tx_blocked);
    far->reading = true;
    while (sent < total) {
        g_autoptr(GByteArray) f = frame_new(1500, sent);

        WAIT_FOR(!nic->tx_blocked);
        fake_nic_send(nic, f->data, f->len);
        stream_append(want, 1500, sent++);
    }
    WAIT_FOR(far->in->len >= want->len);
    g_assert_cmpmem(far->in->data, far->in->len, want->data, want->len);
    g_assert_cmpuint(nc->stats.rx_frames, ==, total);
    g_assert_cmpuint(faults.send_calls, <, total / 2);
    far_free(far);
    test_end();
}

/* ---- streams: socket -> hub -> socket, batched ------------------------- */

/*
 * Two stream backends on a flooding hub: s0's far end writes, s1's far
 * end reads.  Returns s1's backend fd (for the fault table).
 */
static int hub_pair_new(FarEnd **far0, FarEnd **far1)
{
    int bfd;

    stream_pair_new("s0", far0, NULL);
    stream_pair_new("s1", far1, &bfd);
    netdev_new_ok("hubport,id=h0,hubid=61,learning=off,netdev=s0");
    netdev_new_ok("hubport,id=h1,hubid=61,netdev=s1");
    return bfd;
}

/*
 * Frames read in one wake-up leave in one sendmsg(), not one each: 400
 * frames written at once by s0's far end reach s1's far end intact and
 * in order with far fewer sendmsg() calls than frames (without write
 * batching there is one per frame).
 */
static void test_stream_tx_coalesced(void)
{
    const unsigned total = 400;
    g_autoptr(GByteArray) want = g_byte_array_new();
    FarEnd *far0 = NULL, *far1 = NULL;

    test_begin();
    faults.fd = hub_pair_new(&far0, &far1);
    for (unsigned i = 0; i < total; i++) {
        stream_append(far0->out, 60 + (i * 37) % 1455, i);
        stream_append(want, 60 + (i * 37) % 1455, i);
    }
    WAIT_FOR(far1->in->len >= want->len);
    loop_settle(5);
    g_assert_cmpmem(far1->in->data, far1->in->len, want->data, want->len);
    g_assert_cmpuint(faults.send_calls, >, 0);
    g_assert_cmpuint(faults.send_calls * 8, <=, total);
    far_free(far0);
    far_free(far1);
    test_end();
}

/*
 * The coalesced writes come out short (1000 bytes: in the middle of
 * frames and headers) with EAGAIN and EINTR between: the rest of the
 * batch resumes from where the write stopped, nothing lost, duplicated
 * or reordered.
 */
static void test_stream_tx_coalesced_partial(void)
{
    const unsigned total = 300;
    g_autoptr(GByteArray) want = g_byte_array_new();
    FarEnd *far0 = NULL, *far1 = NULL;

    test_begin();
    faults.fd = hub_pair_new(&far0, &far1);
    fault_script(&faults.send, true, 5, FAULT_PASS, FAULT_EAGAIN,
                 FAULT_PASS, FAULT_EINTR, FAULT_PASS);
    faults.send_limit = 1000;
    for (unsigned i = 0; i < total; i++) {
        size_t len = i % 50 == 7 ? 9000 : 60 + (i * 53) % 1455;

        stream_append(far0->out, len, i);
        stream_append(want, len, i);
    }
    WAIT_FOR(far1->in->len >= want->len);
    loop_settle(5);
    g_assert_cmpmem(far1->in->data, far1->in->len, want->data, want->len);
    /* Short writes: at least one call per 1000 bytes. */
    g_assert_cmpuint(faults.send_calls, >=, want->len / 1000);
    far_free(far0);
    far_free(far1);
    test_end();
}

/* ---- streams: the peer goes away ----------------------------------------- */

static void stream_peer_gone(FaultAction action)
{
    g_autoptr(GByteArray) f = frame_new(60, 9);
    g_autofree char *log = NULL;
    g_autofree char *line = NULL;
    StderrCapture cap;
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    stream_append(far->out, 100, 1);
    WAIT_FOR(nic->frames->len == 1);

    stderr_capture_start(&cap);
    faults.fd = bfd;
    fault_script(&faults.recv, false, 1, action);
    stream_append(far->out, 100, 2);
    WAIT_FOR(nc->link_down);
    log = stderr_capture_end(&cap);
    line = g_strdup_printf("vmwire: s0: connection on fd=%d closed by peer\n",
                           bfd);
    g_assert_cmpstr(log, ==, line);

    g_assert_true(nic->nc.link_down);
    g_assert_cmpuint(nic->link_changes, ==, 1);
    g_assert_cmpstr(nc->info_str, ==, "");
    WAIT_FOR(far->eof);                 /* the backend closed its end */
    g_assert_cmpuint(nic->frames->len, ==, 1);
    /* Frames to a downed link are dropped but reported as sent. */
    g_assert_cmpint(fake_nic_send(nic, f->data, f->len), ==, 60);
    g_assert_cmpuint(nc->stats.resets, ==, 0);
    far_free(far);
    test_end();
}

static void test_stream_econnreset(void)
{
    stream_peer_gone(FAULT_ECONNRESET);
}

static void test_stream_eof(void)
{
    stream_peer_gone(FAULT_EOF);
}

/* A write error from inside a delivery closes the connection from the loop. */
static void test_stream_tx_error(void)
{
    g_autoptr(GByteArray) f = frame_new(60, 1);
    g_autofree char *log = NULL;
    StderrCapture cap;
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    int bfd;

    test_begin();
    nc = stream_pair_new("s0", &far, &bfd);
    nic = fake_nic_new(nc, "nic0");
    faults.fd = bfd;
    fault_script(&faults.send, false, 2, FAULT_EINTR, FAULT_ECONNRESET);
    stderr_capture_start(&cap);
    g_assert_cmpint(fake_nic_send(nic, f->data, f->len), ==, 60);
    /* Later frames are dropped, not queued, until the loop closes it. */
    g_assert_cmpint(fake_nic_send(nic, f->data, f->len), ==, 60);
    g_assert_cmpuint(nc->stats.dropped, ==, 1);
    WAIT_FOR(nc->link_down);
    log = stderr_capture_end(&cap);
    g_assert_true(g_str_has_suffix(log, "closed by peer\n"));
    WAIT_FOR(far->eof);
    g_assert_cmpuint(far->in->len, ==, 0);
    g_assert_true(nic->nc.link_down);
    far_free(far);
    test_end();
}

/*
 * The far end writes frames and closes while the NIC refuses: every frame
 * still arrives, then the link goes down.
 */
static void test_stream_eof_under_backpressure(void)
{
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    StderrCapture cap;
    g_autofree char *log = NULL;

    test_begin();
    nc = stream_pair_new("s0", &far, NULL);
    nic = fake_nic_new(nc, "nic0");
    nic->refuse = true;
    for (unsigned i = 0; i < 50; i++) {
        stream_append(far->out, 500 + i, i);
    }
    WAIT_FOR(far->out_done == far->out->len);
    far_close(far);
    stderr_capture_start(&cap);
    loop_settle(20);
    g_assert_false(nc->link_down);
    g_assert_cmpuint(nic->frames->len, ==, 0);
    fake_nic_take(nic, 1000);
    WAIT_FOR(nc->link_down);
    log = stderr_capture_end(&cap);
    g_assert_true(g_str_has_suffix(log, "closed by peer\n"));
    g_assert_cmpuint(nic->frames->len, ==, 50);
    for (unsigned i = 0; i < 50; i++) {
        assert_nic_frame(nic, i, 500 + i, i);
    }
    far_free(far);
    test_end();
}

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

/* ---- cleanup ------------------------------------------------------------- */

/*
 * Free a backend while frames wait everywhere: in its parser (NIC
 * refusing), in its transmit ring (far end not reading) and in its
 * incoming queue (NIC blocked on it).  Nothing leaks; the NIC is released.
 */
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

static void test_free_busy(void)
{
    FarEnd *far = NULL;
    NetClientState *nc;
    FakeNic *nic;
    unsigned sent = 0;

    test_begin();
    nc = stream_pair_new("s0", &far, NULL);
    nic = fake_nic_new(nc, "nic0");
    nic->refuse = true;
    far->reading = false;
    for (unsigned i = 0; i < 200; i++) {
        stream_append(far->out, 1000, i);
    }
    while (!nic->tx_blocked) {
        g_autoptr(GByteArray) f = frame_new(1500, sent++);

        fake_nic_send(nic, f->data, f->len);
    }
    loop_settle(20);
    g_assert_cmpuint(nic->completions, ==, 0);
    net_client_free(nc);
    g_assert_false(nic->tx_blocked);            /* released */
    g_assert_true(nic->nc.link_down);
    g_assert_null(nic->nc.peer);
    loop_settle(5);
    far_free(far);
    test_end();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* The loop's own wake-up fd exists before any test counts fds. */
    g_main_context_iteration(NULL, FALSE);
    g_test_add_func("/net/socket/stream/rx-faults", test_stream_rx_faults);
    g_test_add_func("/net/socket/stream/rx-backpressure",
                    test_stream_rx_backpressure);
    g_test_add_func("/net/socket/stream/tx-faults", test_stream_tx_faults);
    g_test_add_func("/net/socket/stream/tx-backpressure",
                    test_stream_tx_backpressure);
    g_test_add_func("/net/socket/stream/tx-coalesced",
                    test_stream_tx_coalesced);
    g_test_add_func("/net/socket/stream/tx-coalesced-partial",
                    test_stream_tx_coalesced_partial);
    g_test_add_func("/net/socket/stream/econnreset", test_stream_econnreset);
    g_test_add_func("/net/socket/stream/eof", test_stream_eof);
    g_test_add_func("/net/socket/stream/tx-error", test_stream_tx_error);
    g_test_add_func("/net/socket/stream/eof-under-backpressure",
                    test_stream_eof_under_backpressure);
    g_test_add_func("/net/socket/listen/oversized-next-peer",
                    test_listen_oversized_next_peer);
    g_test_add_func("/net/socket/listen/accept-emfile",
                    test_listen_accept_emfile);
    g_test_add_func("/net/socket/listen/multi-accept-emfile",
                    test_multi_accept_emfile);
    g_test_add_func("/net/socket/connect/closed-by-peer", test_connect);
    g_test_add_func("/net/socket/connect/refused", test_connect_refused);
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
    g_test_add_func("/net/dgram/unix", test_netdev_dgram_unix);
    g_test_add_func("/net/dgram/inet6", test_netdev_dgram_inet6);
    g_test_add_func("/net/socket/mcast/self-filter", test_mcast_self_filter);
    g_test_add_func("/net/socket/mcast/fd-clone", test_fd_cloned_mcast);
    g_test_add_func("/net/socket/options/errors", test_option_errors);
    g_test_add_func("/net/socket/cleanup/free-busy", test_free_busy);
    return g_test_run();
}
