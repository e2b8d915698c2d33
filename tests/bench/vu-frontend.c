/*
 * DOC: vu-frontend, a vhost-user frontend for the benchmark
 *
 * The part QEMU plays for a virtio-net device, reduced to what a benchmark
 * needs: it connects to a backend's unix socket, negotiates VERSION_1,
 * MRG_RXBUF, EVENT_IDX and PROTOCOL_FEATURES (REPLY_ACK when offered: then
 * every setting message is acknowledged), creates the "guest memory" with
 * memfd_create() and hands it over with SET_MEM_TABLE (the fd travels as
 * SCM_RIGHTS), and lays out two split virtqueues in it: RX is vring 0, TX
 * is vring 1, each with its own kick and call eventfds.
 *
 * Guest memory, one region at guest address 0, its userspace address the
 * frontend's own mapping (that is what SET_VRING_ADDR speaks):
 *
 *   [RX ring][TX ring][RX buffers: ring_size x buf_size][TX buffers: same]
 *
 * Descriptor i of a ring always points at buffer i of that ring, so the
 * data path only writes lengths and indices.  A TX frame is one descriptor:
 * the 12-byte virtio-net header (zero: no offloads) and the frame right
 * after it; the caller writes the frame in place (vu_frontend_tx_reserve()),
 * so the frontend copies nothing.  Every RX buffer is posted at start and
 * posted again as soon as the caller has seen its frame.
 *
 * Notifications follow EVENT_IDX: a batch is published with one store of
 * avail->idx, then (after a full barrier) the backend's avail_event says
 * whether it sleeps and wants a kick; the frontend asks for calls only
 * when it is about to block (used_event), re-checks the used ring after
 * asking, and then blocks in poll() on the call eventfd.  It never
 * busy-polls: it shares the machine's cores with the backend.
 *
 * Nothing here allocates or makes a system call per frame.  One frontend
 * is used by at most one thread per direction (RX and TX state are apart).
 */
#include "vu-frontend.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum {
    VU_GET_FEATURES = 1,
    VU_SET_FEATURES = 2,
    VU_SET_OWNER = 3,
    VU_SET_MEM_TABLE = 5,
    VU_SET_VRING_NUM = 8,
    VU_SET_VRING_ADDR = 9,
    VU_SET_VRING_BASE = 10,
    VU_SET_VRING_KICK = 12,
    VU_SET_VRING_CALL = 13,
    VU_GET_PROTOCOL_FEATURES = 15,
    VU_SET_PROTOCOL_FEATURES = 16,
    VU_SET_VRING_ENABLE = 18,
};

#define VU_ERROR vu_frontend_error_quark()
GQuark vu_frontend_error_quark(void);
G_DEFINE_QUARK(vu-frontend-error-quark, vu_frontend_error)

#define VU_VERSION 0x1u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)
#define VU_PROTOCOL_F_REPLY_ACK 3

#define VU_DESC_F_WRITE 2
#define VU_AVAIL_F_NO_INTERRUPT 1
#define VU_USED_F_NO_NOTIFY 1

#define VU_RX 0
#define VU_TX 1
#define VU_PAGE 4096
#define VU_MEM_MIN (64u << 20)

typedef struct VuDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} VuDesc;

typedef struct VuUsedElem {
    uint32_t id;
    uint32_t len;
} VuUsedElem;

typedef struct VuMsgHeader {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
} VuMsgHeader;

typedef struct VuRing {
    unsigned num;
    VuDesc *desc;
    uint16_t *avail;                /* flags, idx, ring[num], used_event */
    uint16_t *used;                 /* flags, idx, then VuUsedElem[num], avail_event */
    VuUsedElem *used_ring;
    uint16_t avail_idx;             /* next avail index to publish */
    uint16_t kick_from;             /* avail idx at the last kick check */
    uint16_t last_used;             /* next used entry to look at */
    int kick_fd, call_fd;
    uint8_t *bufs;                  /* buffer 0 in our mapping */
    uint64_t bufs_gpa;
    uint16_t *free_ids;             /* TX: free descriptors, a stack */
    unsigned nfree;
    unsigned reserved;              /* TX: handed out, not yet committed */
} VuRing;

struct VuFrontend {
    int sock;
    int memfd;
    uint8_t *mem;
    size_t mem_size;
    size_t buf_size;
    uint64_t features;
    bool reply_ack;
    bool event_idx;
    bool mrg_rxbuf;
    VuRing ring[2];
    uint8_t *assembly;              /* RX: a frame spread over buffers */
    VuFrontendStats stats;
};

/* ---- the socket ------------------------------------------------------- */

static bool vu_send(VuFrontend *f, uint32_t request, uint32_t flags,
                    const void *payload, uint32_t size, int fd, GError **errp)
{
    VuMsgHeader hdr = { request, VU_VERSION | flags, size };
    struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { (void *)payload, size } };
    char control[CMSG_SPACE(sizeof(int))] = { 0 };
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };

    if (fd >= 0) {
        struct cmsghdr *c;

        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n;
    do {
        n = sendmsg(f->sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)(sizeof(hdr) + size)) {
        g_set_error(errp, VU_ERROR, 0,
                    "vhost-user: sending request %u: %s", request,
                    n < 0 ? g_strerror(errno) : "short write");
        return false;
    }
    return true;
}

static bool vu_recv_all(int sock, void *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = recv(sock, buf, len, MSG_WAITALL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buf = (uint8_t *)buf + n;
        len -= n;
    }
    return true;
}

/* Read the reply to @request: exactly @size bytes of payload. */
static bool vu_reply(VuFrontend *f, uint32_t request, void *payload,
                     uint32_t size, GError **errp)
{
    VuMsgHeader hdr;

    if (!vu_recv_all(f->sock, &hdr, sizeof(hdr))) {
        g_set_error(errp, VU_ERROR, 0,
                    "vhost-user: no reply to request %u (%s)", request,
                    errno ? g_strerror(errno) : "connection closed");
        return false;
    }
    if (hdr.request != request || !(hdr.flags & VU_FLAG_REPLY) ||
        hdr.size != size) {
        g_set_error(errp, VU_ERROR, 0,
                    "vhost-user: bad reply to request %u (request %u, "
                    "flags %#x, size %u)", request, hdr.request, hdr.flags,
                    hdr.size);
        return false;
    }
    if (size && !vu_recv_all(f->sock, payload, size)) {
        g_set_error(errp, VU_ERROR, 0,
                    "vhost-user: truncated reply to request %u", request);
        return false;
    }
    return true;
}

/* A request that answers a u64 (GET_FEATURES, GET_PROTOCOL_FEATURES). */
static bool vu_get_u64(VuFrontend *f, uint32_t request, uint64_t *value,
                       GError **errp)
{
    return vu_send(f, request, 0, NULL, 0, -1, errp) &&
           vu_reply(f, request, value, sizeof(*value), errp);
}

/* A setting request; with REPLY_ACK the backend's status is checked. */
static bool vu_set(VuFrontend *f, uint32_t request, const void *payload,
                   uint32_t size, int fd, GError **errp)
{
    uint64_t status;

    if (!vu_send(f, request, f->reply_ack ? VU_FLAG_NEED_REPLY : 0,
                 payload, size, fd, errp)) {
        return false;
    }
    if (!f->reply_ack) {
        return true;
    }
    if (!vu_reply(f, request, &status, sizeof(status), errp)) {
        return false;
    }
    if (status != 0) {
        g_set_error(errp, VU_ERROR, 0,
                    "vhost-user: request %u refused (status %" G_GUINT64_FORMAT
                    ")", request, status);
        return false;
    }
    return true;
}

static bool vu_set_u64(VuFrontend *f, uint32_t request, uint64_t value,
                       GError **errp)
{
    return vu_set(f, request, &value, sizeof(value), -1, errp);
}

static bool vu_set_state(VuFrontend *f, uint32_t request, unsigned index,
                         unsigned num, GError **errp)
{
    uint32_t state[2] = { index, num };

    return vu_set(f, request, state, sizeof(state), -1, errp);
}

static int vu_connect_socket(const char *path, double timeout_s, GError **errp)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    double waited = 0;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        g_set_error(errp, VU_ERROR, 0,
                    "vhost-user: socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            struct timeval limit = { .tv_sec = 5 };

            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
            return fd;
        }
        int err = errno;
        if (fd >= 0) {
            close(fd);
        }
        if (waited >= timeout_s) {
            g_set_error(errp, VU_ERROR, 0,
                        "vhost-user: connect to %s: %s", path, g_strerror(err));
            return -1;
        }
        g_usleep(10000);
        waited += 0.01;
    }
}

/* ---- setting up ------------------------------------------------------- */

static size_t vu_align(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

/* Bytes of one split ring of @num entries, page aligned parts. */
static size_t vu_ring_bytes(unsigned num)
{
    return vu_align(16 * num, VU_PAGE) + vu_align(6 + 2 * num, VU_PAGE) +
           vu_align(6 + 8 * num, VU_PAGE);
}

/* Lay out ring @r at @offset of the memory, its buffers at @bufs. */
static void vu_ring_layout(VuFrontend *f, VuRing *r, unsigned num,
                           size_t offset, size_t bufs)
{
    r->num = num;
    r->desc = (VuDesc *)(f->mem + offset);
    r->avail = (uint16_t *)(f->mem + offset + vu_align(16 * num, VU_PAGE));
    r->used = (uint16_t *)((uint8_t *)r->avail + vu_align(6 + 2 * num, VU_PAGE));
    r->used_ring = (VuUsedElem *)(r->used + 2);
    r->bufs = f->mem + bufs;
    r->bufs_gpa = bufs;
    r->kick_fd = r->call_fd = -1;
    for (unsigned i = 0; i < num; i++) {
        r->desc[i] = (VuDesc){ .addr = r->bufs_gpa + (uint64_t)i * f->buf_size };
    }
}

static bool vu_memory_create(VuFrontend *f, unsigned num, size_t rx_len,
                             GError **errp)
{
    size_t rings = 2 * vu_ring_bytes(num);
    size_t need = rings + 2 * (size_t)num * f->buf_size;

    f->mem_size = MAX(VU_MEM_MIN, vu_align(need, 2u << 20));
    f->memfd = memfd_create("vu-frontend", MFD_CLOEXEC);
    if (f->memfd < 0 || ftruncate(f->memfd, f->mem_size) < 0) {
        g_set_error(errp, VU_ERROR, 0,
                    "memfd for guest memory: %s", g_strerror(errno));
        return false;
    }
    f->mem = mmap(NULL, f->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                  f->memfd, 0);
    if (f->mem == MAP_FAILED) {
        f->mem = NULL;
        g_set_error(errp, VU_ERROR, 0,
                    "mmap guest memory: %s", g_strerror(errno));
        return false;
    }
    vu_ring_layout(f, &f->ring[VU_RX], num, 0, rings);
    vu_ring_layout(f, &f->ring[VU_TX], num, vu_ring_bytes(num),
                   rings + (size_t)num * f->buf_size);

    VuRing *rx = &f->ring[VU_RX];
    for (unsigned i = 0; i < num; i++) {
        rx->desc[i].len = rx_len;
        rx->desc[i].flags = VU_DESC_F_WRITE;
        rx->avail[2 + i] = i;
    }
    rx->avail_idx = rx->kick_from = num;
    __atomic_store_n(&rx->avail[1], rx->avail_idx, __ATOMIC_RELEASE);

    /* TX headers stay zero (no offloads): the memfd starts zeroed and
     * the backend only reads TX buffers */
    VuRing *tx = &f->ring[VU_TX];
    tx->free_ids = g_new(uint16_t, num);
    for (unsigned i = 0; i < num; i++) {
        tx->free_ids[i] = num - 1 - i;
    }
    tx->nfree = num;
    f->assembly = g_malloc(65536 + VU_NET_HDR_LEN);
    return true;
}

static bool vu_negotiate(VuFrontend *f, GError **errp)
{
    const uint64_t want = 1ull << VU_F_VERSION_1 | 1ull << VU_F_MRG_RXBUF |
                          1ull << VU_F_EVENT_IDX | 1ull << VU_F_PROTOCOL_FEATURES;
    uint64_t offered, protocol;

    if (!vu_get_u64(f, VU_GET_FEATURES, &offered, errp)) {
        return false;
    }
    if (!(offered & 1ull << VU_F_VERSION_1)) {
        g_set_error(errp, VU_ERROR, 0,
                    "vhost-user: backend offers no VERSION_1 (features %#"
                    G_GINT64_MODIFIER "x)", offered);
        return false;
    }
    f->features = offered & want;
    if (f->features & 1ull << VU_F_PROTOCOL_FEATURES) {
        if (!vu_get_u64(f, VU_GET_PROTOCOL_FEATURES, &protocol, errp) ||
            !vu_set_u64(f, VU_SET_PROTOCOL_FEATURES,
                        protocol & 1ull << VU_PROTOCOL_F_REPLY_ACK, errp)) {
            return false;
        }
        f->reply_ack = protocol & 1ull << VU_PROTOCOL_F_REPLY_ACK;
    }
    f->event_idx = f->features & 1ull << VU_F_EVENT_IDX;
    f->mrg_rxbuf = f->features & 1ull << VU_F_MRG_RXBUF;
    return vu_set(f, VU_SET_OWNER, NULL, 0, -1, errp) &&
           vu_set_u64(f, VU_SET_FEATURES, f->features, errp);
}

static bool vu_send_mem_table(VuFrontend *f, GError **errp)
{
    struct {
        uint32_t nregions, padding;
        uint64_t guest_phys_addr, memory_size, userspace_addr, mmap_offset;
    } table = { 1, 0, 0, f->mem_size, (uintptr_t)f->mem, 0 };

    return vu_set(f, VU_SET_MEM_TABLE, &table, sizeof(table), f->memfd, errp);
}

static bool vu_ring_start(VuFrontend *f, unsigned index, GError **errp)
{
    VuRing *r = &f->ring[index];
    struct {
        uint32_t index, flags;
        uint64_t desc, used, avail, log;
    } addr = { index, 0, (uintptr_t)r->desc, (uintptr_t)r->used,
               (uintptr_t)r->avail, 0 };

    r->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    r->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->kick_fd < 0 || r->call_fd < 0) {
        g_set_error(errp, VU_ERROR, 0, "eventfd: %s",
                    g_strerror(errno));
        return false;
    }
    return vu_set_state(f, VU_SET_VRING_NUM, index, r->num, errp) &&
           vu_set_state(f, VU_SET_VRING_BASE, index, 0, errp) &&
           vu_set(f, VU_SET_VRING_ADDR, &addr, sizeof(addr), -1, errp) &&
           vu_set(f, VU_SET_VRING_KICK, (uint64_t[]){ index }, 8, r->kick_fd,
                  errp) &&
           vu_set(f, VU_SET_VRING_CALL, (uint64_t[]){ index }, 8, r->call_fd,
                  errp);
}

VuFrontend *vu_frontend_connect(const char *path, const VuFrontendConfig *cfg,
                                GError **errp)
{
    VuFrontend *f = g_new0(VuFrontend, 1);
    unsigned num = cfg->ring_size;

    f->memfd = -1;
    f->ring[VU_RX].kick_fd = f->ring[VU_RX].call_fd = -1;
    f->ring[VU_TX].kick_fd = f->ring[VU_TX].call_fd = -1;
    f->buf_size = cfg->buf_size;
    if (num < 2 || num > 32768 || (num & (num - 1)) ||
        cfg->buf_size <= VU_NET_HDR_LEN || cfg->rx_len > cfg->buf_size ||
        (cfg->rx_len && cfg->rx_len <= VU_NET_HDR_LEN)) {
        g_set_error(errp, VU_ERROR, 0,
                    "vu-frontend: bad ring size %u or buffer size %zu", num,
                    cfg->buf_size);
        g_free(f);
        return NULL;
    }
    f->sock = vu_connect_socket(path, cfg->connect_timeout_s, errp);
    if (f->sock < 0 || !vu_negotiate(f, errp) ||
        !vu_memory_create(f, num, cfg->rx_len ? cfg->rx_len : cfg->buf_size,
                          errp) ||
        !vu_send_mem_table(f, errp) ||
        !vu_ring_start(f, VU_RX, errp) || !vu_ring_start(f, VU_TX, errp)) {
        vu_frontend_free(f);
        return NULL;
    }
    if ((f->features & 1ull << VU_F_PROTOCOL_FEATURES) &&
        (!vu_set_state(f, VU_SET_VRING_ENABLE, VU_RX, 1, errp) ||
         !vu_set_state(f, VU_SET_VRING_ENABLE, VU_TX, 1, errp))) {
        vu_frontend_free(f);
        return NULL;
    }
    return f;
}

void vu_frontend_free(VuFrontend *f)
{
    if (!f) {
        return;
    }
    if (f->sock >= 0) {
        close(f->sock);
    }
    for (int i = 0; i < 2; i++) {
        if (f->ring[i].kick_fd >= 0) {
            close(f->ring[i].kick_fd);
        }
        if (f->ring[i].call_fd >= 0) {
            close(f->ring[i].call_fd);
        }
        g_free(f->ring[i].free_ids);
    }
    if (f->mem) {
        munmap(f->mem, f->mem_size);
    }
    if (f->memfd >= 0) {
        close(f->memfd);
    }
    g_free(f->assembly);
    g_free(f);
}

uint64_t vu_frontend_features(const VuFrontend *f)
{
    return f->features;
}

const VuFrontendStats *vu_frontend_stats(const VuFrontend *f)
{
    return &f->stats;
}

size_t vu_frontend_max_frame(const VuFrontend *f)
{
    return f->buf_size - VU_NET_HDR_LEN;
}

/* ---- the data path ---------------------------------------------------- */

/* The virtio spec's vring_need_event(): did [old, new) pass @event? */
static bool vu_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

static uint16_t *vu_used_event(VuRing *r)
{
    return &r->avail[2 + r->num];
}

static uint16_t *vu_avail_event(VuRing *r)
{
    return (uint16_t *)&r->used_ring[r->num];
}

static uint16_t vu_used_idx(VuRing *r)
{
    return __atomic_load_n(&r->used[1], __ATOMIC_ACQUIRE);
}

/* Publish avail_idx; kick if the backend asked for it.  1 if kicked. */
static int vu_ring_publish(VuFrontend *f, VuRing *r)
{
    uint16_t old = r->kick_from;
    bool kick;

    __atomic_store_n(&r->avail[1], r->avail_idx, __ATOMIC_RELEASE);
    /* the backend re-checks avail->idx after writing avail_event: both
     * sides need a full barrier between their store and their load */
    atomic_thread_fence(memory_order_seq_cst);
    r->kick_from = r->avail_idx;
    if (f->event_idx) {
        kick = vu_need_event(__atomic_load_n(vu_avail_event(r),
                                             __ATOMIC_RELAXED),
                             r->avail_idx, old);
    } else {
        kick = !(__atomic_load_n(&r->used[0], __ATOMIC_RELAXED) &
                 VU_USED_F_NO_NOTIFY);
    }
    if (kick) {
        uint64_t one = 1;

        if (write(r->kick_fd, &one, sizeof(one)) == sizeof(one)) {
            f->stats.kicks++;
        }
    }
    return kick;
}

/* Ask for a call once the used index passes @event (EVENT_IDX), or at all. */
static void vu_ring_want_call(VuFrontend *f, VuRing *r, uint16_t event)
{
    if (f->event_idx) {
        __atomic_store_n(vu_used_event(r), event, __ATOMIC_RELAXED);
    } else {
        __atomic_store_n(&r->avail[0], 0, __ATOMIC_RELAXED);
    }
    atomic_thread_fence(memory_order_seq_cst);
}

static void vu_ring_no_call(VuFrontend *f, VuRing *r)
{
    if (!f->event_idx) {
        __atomic_store_n(&r->avail[0], VU_AVAIL_F_NO_INTERRUPT,
                         __ATOMIC_RELAXED);
    }
    /* EVENT_IDX: used_event stays behind, so calls stop by themselves */
}

/* Block on @r's call eventfd for at most @timeout_ms; consume the call. */
static void vu_ring_block(VuFrontend *f, VuRing *r, int timeout_ms)
{
    struct pollfd pfd = { r->call_fd, POLLIN, 0 };
    uint64_t count;

    f->stats.waits++;
    if (poll(&pfd, 1, timeout_ms) > 0 &&
        read(r->call_fd, &count, sizeof(count)) == sizeof(count)) {
        f->stats.calls++;
    }
}

static void vu_tx_reap(VuRing *r)
{
    uint16_t used = vu_used_idx(r);

    while (r->last_used != used) {
        uint32_t id = r->used_ring[r->last_used & (r->num - 1)].id;

        if (id < r->num && r->nfree < r->num) {    /* a backend's garbage */
            r->free_ids[r->nfree++] = id;
        }
        r->last_used++;
    }
}

unsigned vu_frontend_tx_reserve(VuFrontend *f, unsigned want, uint8_t **frames)
{
    VuRing *r = &f->ring[VU_TX];
    unsigned n;

    vu_tx_reap(r);
    n = MIN(want, r->nfree);
    for (unsigned i = 0; i < n; i++) {
        uint16_t id = r->free_ids[r->nfree - 1 - i];

        frames[i] = r->bufs + (size_t)id * f->buf_size + VU_NET_HDR_LEN;
    }
    r->reserved = n;
    return n;
}

int vu_frontend_tx_commit(VuFrontend *f, unsigned n, const uint32_t *lens)
{
    VuRing *r = &f->ring[VU_TX];

    g_assert(n <= r->reserved);
    for (unsigned i = 0; i < n; i++) {
        uint16_t id = r->free_ids[--r->nfree];

        r->desc[id].len = VU_NET_HDR_LEN + lens[i];
        r->avail[2 + (r->avail_idx & (r->num - 1))] = id;
        r->avail_idx++;
    }
    r->reserved = 0;
    f->stats.tx_frames += n;
    return n ? vu_ring_publish(f, r) : 0;
}

unsigned vu_frontend_tx_wait(VuFrontend *f, unsigned want, int timeout_ms)
{
    VuRing *r = &f->ring[VU_TX];

    want = MIN(want, r->num);
    vu_tx_reap(r);
    if (r->nfree >= want) {
        return r->nfree;
    }
    /* a call when the used index reaches last_used + (want - nfree) */
    vu_ring_want_call(f, r, r->last_used + (want - r->nfree) - 1);
    vu_tx_reap(r);
    if (r->nfree < want) {
        vu_ring_block(f, r, timeout_ms);
        vu_tx_reap(r);
    }
    vu_ring_no_call(f, r);
    return r->nfree;
}

/* Give RX descriptor @id back to the backend (published by the caller). */
static void vu_rx_repost(VuRing *r, uint16_t id)
{
    r->avail[2 + (r->avail_idx & (r->num - 1))] = id;
    r->avail_idx++;
}

/*
 * The frame starting at the next used entry (MRG_RXBUF: num_buffers says
 * how many entries it spans; @used is the used index read); NULL if the
 * used ring does not hold them all yet.  *consumed: entries it took.
 */
static const uint8_t *vu_rx_frame(VuFrontend *f, VuRing *r, uint16_t used,
                                  size_t *len, unsigned *consumed)
{
    VuUsedElem e = r->used_ring[r->last_used & (r->num - 1)];
    const uint8_t *buf = r->bufs + (size_t)(e.id % r->num) * f->buf_size;
    uint16_t nbufs = 1;

    if (f->mrg_rxbuf) {
        memcpy(&nbufs, buf + 10, sizeof(nbufs));
        nbufs = MAX(nbufs, 1);
    }
    *consumed = nbufs;
    if (nbufs == 1) {
        *len = MIN(e.len, f->buf_size) - MIN(e.len, VU_NET_HDR_LEN);
        return buf + VU_NET_HDR_LEN;
    }
    if ((uint16_t)(used - r->last_used) < nbufs) {
        return NULL;
    }
    size_t have = 0;
    for (unsigned i = 0; i < nbufs; i++) {
        VuUsedElem p = r->used_ring[(uint16_t)(r->last_used + i) & (r->num - 1)];
        const uint8_t *b = r->bufs + (size_t)(p.id % r->num) * f->buf_size;
        size_t skip = i == 0 ? VU_NET_HDR_LEN : 0;
        size_t n = MIN(p.len, f->buf_size) - MIN(p.len, skip);

        n = MIN(n, 65536 - have);
        memcpy(f->assembly + have, b + skip, n);
        have += n;
    }
    *len = have;
    return f->assembly;
}

unsigned vu_frontend_rx_poll(VuFrontend *f, unsigned max, VuRxFn fn,
                             void *opaque)
{
    VuRing *r = &f->ring[VU_RX];
    uint16_t used = vu_used_idx(r);
    unsigned frames = 0;

    while (r->last_used != used && frames < max) {
        size_t len;
        unsigned consumed;
        const uint8_t *frame = vu_rx_frame(f, r, used, &len, &consumed);

        if (!frame) {
            break;
        }
        fn(opaque, frame, len);
        for (unsigned i = 0; i < consumed; i++) {
            vu_rx_repost(r, r->used_ring[r->last_used & (r->num - 1)].id %
                            r->num);
            r->last_used++;
        }
        frames++;
    }
    if (frames) {
        f->stats.rx_frames += frames;
        vu_ring_publish(f, r);
    }
    return frames;
}

bool vu_frontend_rx_wait(VuFrontend *f, unsigned want, int timeout_ms)
{
    VuRing *r = &f->ring[VU_RX];

    want = CLAMP(want, 1, r->num / 2);
    if ((uint16_t)(vu_used_idx(r) - r->last_used) >= want) {
        return true;
    }
    vu_ring_want_call(f, r, r->last_used + want - 1);
    if ((uint16_t)(vu_used_idx(r) - r->last_used) < want) {
        vu_ring_block(f, r, timeout_ms);
    }
    vu_ring_no_call(f, r);
    return vu_used_idx(r) != r->last_used;
}
