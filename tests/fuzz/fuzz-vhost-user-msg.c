/*
 * DOC: fuzz-vhost-user-msg: net/vhost-user-dev.c (the protocol state machine) fed by a hostile frontend
 *
 * The input is a frontend's session with one backend device (VuDev):
 *
 *   u8 memfds        1 + n % 2 memfds, each:
 *     u8 pages       1 + n % 16 pages (zero-filled)
 *   then operations until the input ends: u8 op, operands:
 *     MSG    u8 request (0xff: u32 follows), u8 flags (bit 7: u32 raw
 *            flags follow, else VERSION | bits 2-3), u16 size % 4097,
 *            that many payload bytes, u8 nfds % 9, u8 kind per fd
 *            (kind % 3: 0 and 1 a dup of memfd 0 or 1, 2 a fresh eventfd)
 *     WRITE  u8 memfd, u32 offset, u8 len, len bytes: the guest writes
 *            its memory (rings, descriptors, indirect tables)
 *     TX     u8 max, u8 keep: pop/push on vring 1 if it is live
 *     RX     u16 len, u8 pieces: a frame into vring 0 if it is live
 *     CLOSE  the connection ends: vu_dev_cleanup, then a fresh device
 *
 * Messages go through vu_dev_handle() exactly as net/vhost-user.c passes
 * them (whole messages, payload <= VU_MSG_MAX_PAYLOAD, fds owned by the
 * device from then on).  SET_MEM_TABLE maps the memfds with mmap(
 * MAP_SHARED) through the device's map hook; the harness's hook refuses
 * ranges past the end of the file and keeps a table of live mappings.
 * Checked after every message: a refused message has an error and a reply
 * is well formed; with REPLY_ACK negotiated a request asking for a reply
 * gets one; a vring answered by GET_VRING_BASE is no longer live; the
 * rings the device set up lie inside the mappings; its fds are open.
 * After every input: vu_dev_cleanup() unmapped every mapping exactly once
 * and closed every fd it was given (as many fds are open as before the
 * input); LeakSanitizer checks the heap.  Ring work is
 * fuzz-common.c's, iovecs checked against the mappings.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "net/vhost-user-dev.h"

#define FUZZ_MEMFDS 2
#define FUZZ_MAPS (2 * VU_MEM_MAX_REGIONS)     /* old table + new one */
#define FUZZ_PAGE 4096

typedef enum FuzzOp {
    FUZZ_OP_MSG,
    FUZZ_OP_WRITE,
    FUZZ_OP_TX,
    FUZZ_OP_RX,
    FUZZ_OP_CLOSE,
    FUZZ_OP_COUNT,
} FuzzOp;

typedef struct FuzzMap {
    void *addr;
    uint64_t size;
} FuzzMap;

typedef struct FuzzFrontend {
    FuzzInput in;
    VuDev dev;
    unsigned nmemfds;
    int memfd[FUZZ_MEMFDS];
    uint64_t memfd_size[FUZZ_MEMFDS];
    unsigned nmaps;
    FuzzMap maps[FUZZ_MAPS];            /* live mappings */
    uint8_t payload[VU_MSG_MAX_PAYLOAD];
    VuMsgReply reply;
    unsigned ring_ops;                  /* TX and RX so far */
} FuzzFrontend;

/* The device's map hook: mmap(MAP_SHARED), only inside the file. */
static void *fuzz_map(void *opaque, int fd, uint64_t size, uint64_t offset)
{
    FuzzFrontend *f = opaque;
    struct stat st;
    void *addr;

    fuzz_check(fcntl(fd, F_GETFD) != -1, "map of closed fd %d", fd);
    if (fstat(fd, &st) < 0 || size == 0 || offset > (uint64_t)st.st_size ||
        size > (uint64_t)st.st_size - offset) {
        return NULL;
    }
    fuzz_check(f->nmaps < FUZZ_MAPS, "more than %d live mappings", FUZZ_MAPS);
    addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                (off_t)offset);
    if (addr == MAP_FAILED) {
        return NULL;
    }
    f->maps[f->nmaps++] = (FuzzMap){ addr, size };
    return addr;
}

static void fuzz_unmap(void *opaque, void *addr, uint64_t size)
{
    FuzzFrontend *f = opaque;

    for (unsigned i = 0; i < f->nmaps; i++) {
        if (f->maps[i].addr == addr) {
            fuzz_check(f->maps[i].size == size,
                       "unmap of %p with size %" G_GUINT64_FORMAT
                       ", mapped with %" G_GUINT64_FORMAT,
                       addr, size, f->maps[i].size);
            munmap(addr, size);
            f->maps[i] = f->maps[--f->nmaps];
            return;
        }
    }
    fuzz_fail("unmap of %p, which map did not return (or already unmapped)",
              addr);
}

static void fuzz_vring_changed(void *opaque, unsigned index)
{
    fuzz_check(index < VU_DEV_NUM_VRINGS, "vring_changed(%u)", index);
}

static const VuDevOps fuzz_dev_ops = {
    .map = fuzz_map,
    .unmap = fuzz_unmap,
    .vring_changed = fuzz_vring_changed,
};

static void fuzz_memfds_open(FuzzFrontend *f)
{
    f->nmemfds = 1 + fuzz_u8(&f->in) % FUZZ_MEMFDS;
    for (unsigned i = 0; i < f->nmemfds; i++) {
        f->memfd_size[i] = (1 + fuzz_u8(&f->in) % 16) * FUZZ_PAGE;
        f->memfd[i] = memfd_create("fuzz-guest", MFD_CLOEXEC);
        fuzz_check(f->memfd[i] >= 0 &&
                   ftruncate(f->memfd[i], (off_t)f->memfd_size[i]) == 0,
                   "memfd: %s", g_strerror(errno));
    }
}

/* The fds of one message (the device owns them once it has them). */
static size_t fuzz_msg_fds(FuzzFrontend *f, int *fds)
{
    size_t nfds = fuzz_u8(&f->in) % (VU_MSG_MAX_FDS + 1);

    for (size_t i = 0; i < nfds; i++) {
        unsigned kind = fuzz_u8(&f->in) % 3;

        if (kind < 2) {
            fds[i] = fcntl(f->memfd[kind % f->nmemfds], F_DUPFD_CLOEXEC, 0);
        } else {
            fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        }
        fuzz_check(fds[i] >= 0, "fd: %s", g_strerror(errno));
    }
    return nfds;
}

static void fuzz_spans_of_maps(const FuzzFrontend *f, FuzzSpans *spans)
{
    spans->n = 0;
    for (unsigned i = 0; i < f->nmaps; i++) {
        fuzz_spans_add(spans, f->maps[i].addr, f->maps[i].size);
    }
}

static void fuzz_fd_check(int fd, const char *what)
{
    fuzz_check(fd == -1 || fcntl(fd, F_GETFD) != -1,
               "%s fd %d is not open", what, fd);
}

/* The device's state after any message. */
static void fuzz_dev_check(FuzzFrontend *f)
{
    FuzzSpans spans;

    fuzz_check(f->dev.mem.nregions <= VU_MEM_MAX_REGIONS, "%u regions",
               f->dev.mem.nregions);
    fuzz_spans_of_maps(f, &spans);
    for (unsigned i = 0; i < VU_DEV_NUM_VRINGS; i++) {
        const VuVring *vr = &f->dev.vring[i];

        if (vr->vq.num) {
            fuzz_check_rings(&vr->vq, &spans);
        }
        fuzz_fd_check(vr->kick_fd, "kick");
        fuzz_fd_check(vr->call_fd, "call");
        fuzz_fd_check(vr->err_fd, "err");
    }
}

/* The connection ends: everything the device held is given back. */
static void fuzz_dev_close(FuzzFrontend *f)
{
    vu_dev_cleanup(&f->dev);
    fuzz_check(f->nmaps == 0, "vu_dev_cleanup left %u mappings", f->nmaps);
    vu_dev_init(&f->dev, &fuzz_dev_ops, f);
}

static bool fuzz_reply_ack(const FuzzFrontend *f)
{
    return (f->dev.protocol_features >> VHOST_USER_PROTOCOL_F_REPLY_ACK) & 1;
}

/* What vu_dev_handle promises about request @hdr and its result @r. */
static void fuzz_msg_check(FuzzFrontend *f, const VuMsgHeader *hdr,
                           VuDevResult r, const GError *err, bool ack)
{
    uint32_t index;

    fuzz_trace("request %u flags 0x%x size %u: %s%s", hdr->request,
               hdr->flags, hdr->size,
               r == VU_DEV_DONE ? "done" : r == VU_DEV_REPLY ? "reply" : "close: ",
               err ? err->message : "");
    fuzz_check((r == VU_DEV_CLOSE) == (err != NULL),
               "request %u: result %d with%s an error", hdr->request, r,
               err ? "" : "out");
    /* REPLY_ACK negotiated (before and after) and asked for: a reply. */
    fuzz_check(!(ack && fuzz_reply_ack(f) &&
                 (hdr->flags & VHOST_USER_NEED_REPLY_MASK)) ||
               r != VU_DEV_DONE,
               "request %u asked for a reply (REPLY_ACK) and got none",
               hdr->request);
    fuzz_check(r != VU_DEV_REPLY ||
               (f->reply.hdr.size <= VU_MSG_MAX_PAYLOAD &&
                f->reply.hdr.request == hdr->request &&
                (f->reply.hdr.flags & VHOST_USER_REPLY_MASK)),
               "request %u: malformed reply", hdr->request);
    fuzz_dev_check(f);
    memcpy(&index, f->payload, sizeof(index));
    fuzz_check(hdr->request != VHOST_USER_GET_VRING_BASE ||
               r == VU_DEV_CLOSE || index >= VU_DEV_NUM_VRINGS ||
               !vu_dev_vring_live(&f->dev, index),
               "vring %u still live after GET_VRING_BASE", index);
}

static void fuzz_op_msg(FuzzFrontend *f)
{
    g_autoptr(GError) err = NULL;
    VuMsgHeader hdr;
    uint8_t flags;
    int fds[VU_MSG_MAX_FDS];
    size_t nfds;
    bool ack = fuzz_reply_ack(f);
    VuDevResult r;

    hdr.request = fuzz_u8(&f->in);
    if (hdr.request == 0xff) {
        hdr.request = fuzz_u32(&f->in);
    }
    flags = fuzz_u8(&f->in);
    hdr.flags = flags & 0x80 ? fuzz_u32(&f->in)
                             : VHOST_USER_VERSION | (flags & 0x0c);
    hdr.size = fuzz_u16(&f->in) % (VU_MSG_MAX_PAYLOAD + 1);
    hdr.size = (uint32_t)fuzz_bytes(&f->in, f->payload, hdr.size);
    nfds = fuzz_msg_fds(f, fds);
    r = vu_dev_handle(&f->dev, &hdr, f->payload, hdr.size, fds, nfds,
                      &f->reply, &err);
    fuzz_msg_check(f, &hdr, r, err, ack);
    if (r == VU_DEV_CLOSE) {
        fuzz_dev_close(f);
    }
}

static void fuzz_op_write(FuzzFrontend *f)
{
    unsigned i = fuzz_u8(&f->in) % f->nmemfds;
    uint64_t offset = fuzz_u32(&f->in) % f->memfd_size[i];
    uint8_t bytes[255];
    size_t len = fuzz_bytes(&f->in, bytes, fuzz_u8(&f->in));

    len = MIN(len, f->memfd_size[i] - offset);
    fuzz_check(pwrite(f->memfd[i], bytes, len, (off_t)offset) == (ssize_t)len,
               "pwrite: %s", g_strerror(errno));
}

static void fuzz_op_tx(FuzzFrontend *f)
{
    unsigned max = 1 + fuzz_u8(&f->in) % 64;
    unsigned keep = fuzz_u8(&f->in);
    FuzzSpans spans;

    if (f->ring_ops++ >= FUZZ_MAX_RING_OPS) {
        return;
    }
    if (vu_dev_vring_live(&f->dev, VU_DEV_TX)) {
        fuzz_spans_of_maps(f, &spans);
        fuzz_ring_tx(&f->dev.vring[VU_DEV_TX].vq, &f->dev.mem, &spans,
                     vu_dev_hdr_len(&f->dev), max, keep);
    } else {
        fuzz_trace("tx: vring 1 not live");
    }
}

static void fuzz_op_rx(FuzzFrontend *f)
{
    uint16_t len = fuzz_u16(&f->in);
    uint8_t pieces = fuzz_u8(&f->in);

    if (f->ring_ops++ >= FUZZ_MAX_RING_OPS) {
        return;
    }
    if (vu_dev_vring_live(&f->dev, VU_DEV_RX)) {
        fuzz_ring_rx(&f->dev.vring[VU_DEV_RX].vq, &f->dev.mem,
                     vu_dev_hdr_len(&f->dev),
                     vu_dev_has(&f->dev, VIRTIO_NET_F_MRG_RXBUF), len, pieces);
    } else {
        fuzz_trace("rx: vring 0 not live");
    }
}

static void (*const fuzz_ops[FUZZ_OP_COUNT])(FuzzFrontend *f) = {
    [FUZZ_OP_MSG] = fuzz_op_msg,
    [FUZZ_OP_WRITE] = fuzz_op_write,
    [FUZZ_OP_TX] = fuzz_op_tx,
    [FUZZ_OP_RX] = fuzz_op_rx,
    [FUZZ_OP_CLOSE] = fuzz_dev_close,
};

static FuzzFrontend fuzz_frontend;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzFrontend *f = &fuzz_frontend;
    unsigned fds_open = fuzz_fd_count();

    memset(f, 0, sizeof(*f));
    fuzz_input_init(&f->in, data, size);
    fuzz_memfds_open(f);
    vu_dev_init(&f->dev, &fuzz_dev_ops, f);
    while (!fuzz_input_empty(&f->in)) {
        fuzz_ops[fuzz_u8(&f->in) % FUZZ_OP_COUNT](f);
    }
    vu_dev_cleanup(&f->dev);
    fuzz_check(f->nmaps == 0, "vu_dev_cleanup left %u mappings", f->nmaps);
    for (unsigned i = 0; i < f->nmemfds; i++) {
        close(f->memfd[i]);
    }
    fuzz_check(fuzz_fd_count() == fds_open,
               "fds leaked: %u open before the input, %u after", fds_open,
               fuzz_fd_count());
    return 0;
}
