/*
 * DOC: fixtures of the socket-level unit tests (see socket-faults.h)
 *
 * The fault-injecting SocketOps table, the FakeNic, frames and streams of
 * frames, the far end and the loop, and the setup helpers that
 * test-stream-conn.c, test-socket.c, test-dgram-conn.c and test-dgram.c
 * share.  Linked into each of those programs.
 */
#include "socket-faults.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/sockets.h"

#include "net/netdev.h"
#include "net/stream-framing.h"

/* ---- fault injection ---------------------------------------------------- */

Faults faults;

void faults_reset(void)
{
    memset(&faults, 0, sizeof(faults));
    faults.fd = -1;
}

void fault_script(FaultScript *fs, bool cycle, unsigned n, ...)
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

SocketOps fault_ops;

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

FakeNic *fake_nic_new(NetClientState *backend, const char *name)
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
ssize_t fake_nic_send(FakeNic *nic, const uint8_t *buf, size_t len)
{
    ssize_t r = net_client_send_async(&nic->nc, buf, len, fake_nic_sent);

    if (r == 0) {
        nic->tx_blocked = true;
    }
    return r;
}

/* Let the NIC take @more frames, then flush as the rule asks. */
void fake_nic_take(FakeNic *nic, unsigned more)
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
GByteArray *frame_new(size_t len, uint32_t seq)
{
    GByteArray *f = g_byte_array_sized_new((guint)len);

    g_byte_array_set_size(f, (guint)len);
    frame_fill(f->data, len, seq);
    return f;
}

/* Append [len32be][frame] to @stream. */
void stream_append(GByteArray *stream, size_t len, uint32_t seq)
{
    g_autoptr(GByteArray) f = frame_new(len, seq);
    uint8_t hdr[4];

    stream_framing_put_header(hdr, (uint32_t)len);
    g_byte_array_append(stream, hdr, 4);
    g_byte_array_append(stream, f->data, f->len);
}

/* The NIC's frame @i is frame @seq of @len bytes. */
void assert_nic_frame(FakeNic *nic, unsigned i, size_t len, uint32_t seq)
{
    g_autoptr(GByteArray) want = frame_new(len, seq);
    gsize got_len;
    const void *got;

    g_assert_cmpuint(i, <, nic->frames->len);
    got = g_bytes_get_data(nic->frames->pdata[i], &got_len);
    g_assert_cmpmem(got, got_len, want->data, want->len);
}

/* ---- the far end and the loop ------------------------------------------- */

static FarEnd *active_far[8];

FarEnd *far_new(int fd)
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

void far_free(FarEnd *far)
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

void far_close(FarEnd *far)
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
void loop_step(void)
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

/* Run the loop a while, for checks that nothing happens. */
void loop_settle(unsigned steps)
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

void test_begin(void)
{
    fds_at_start = count_fds();
    faults_install();
}

void test_end(void)
{
    net_cleanup();
    socket_fd_reserve_close();  /* a listener filled it: vmwire's exit */
    sockops_install(NULL);
    loop_settle(2);
    g_assert_cmpuint(count_fds(), ==, fds_at_start);
}

/*
 * netdev_add() from a -netdev string, as the command line gets there:
 * string -> key=value -> JSON -> visitor (netdev_parse) -> netdev_add.
 * Returns the backend or NULL.
 */
NetClientState *netdev_new(const char *str, GError **errp)
{
    g_autoptr(Netdev) netdev = netdev_parse(str, errp);

    if (!netdev || !netdev_add(netdev, errp)) {
        return NULL;
    }
    return net_client_find(netdev->id);
}

NetClientState *netdev_new_ok(const char *fmt, ...)
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
unsigned free_port(int type)
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

int tcp_connect(unsigned port, unsigned *local_port)
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
NetClientState *stream_pair_new(const char *id, FarEnd **far,
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

void stderr_capture_start(StderrCapture *cap)
{
    fflush(stderr);
    cap->file = tmpfile();
    g_assert_nonnull(cap->file);
    cap->saved = dup(STDERR_FILENO);
    dup2(fileno(cap->file), STDERR_FILENO);
}

char *stderr_capture_end(StderrCapture *cap)
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
