/*
 * DOC: the vhost-user protocol state of one frontend (see vhost-user-dev.h)
 *
 * vu_dev_handle() checks a message (version flag, payload size for the
 * request, number of fds), then one handler per request changes the
 * state: features, the memory table (regions mapped through the ops seam,
 * validated by vu_mem_add: no overlap, no wrap), the two vrings' size,
 * addresses, base, eventfds and enable bit.  A vring is set up (its
 * addresses translated into a Virtq) when it gets its addresses and again
 * after every new memory table; an address outside memory marks that
 * Virtq broken, which the socket layer reports.  A vring starts with its
 * kick (fd or polling bit) and stops at GET_VRING_BASE.
 *
 * Every fd that arrives is either kept in the state (and closed when
 * replaced, at cleanup or at RESET_OWNER) or closed before returning, so
 * a frontend cannot make us leak descriptors.  Nothing the frontend sends
 * aborts: each refusal is VU_DEV_CLOSE with a message.
 */
#include "net/vhost-user-dev.h"

#include <string.h>
#include <unistd.h>

#include "util/error.h"

/* Payloads, as on the wire (little-endian; x86 host order). */
typedef struct VuVringState {
    uint32_t index;
    uint32_t num;
} VuVringState;

typedef struct VuVringAddr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc_user_addr;
    uint64_t used_user_addr;
    uint64_t avail_user_addr;
    uint64_t log_guest_addr;
} VuVringAddr;

typedef struct VuMemRegionMsg {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
} VuMemRegionMsg;

#define VU_MEM_TABLE_HEAD 8         /* u32 nregions, u32 padding */

/* The fds of one message and which ones a handler took. */
typedef struct VuFds {
    int *fds;
    size_t nfds;
} VuFds;

/* Take fd @i out of @f (the caller then owns it). */
static int vu_fds_take(VuFds *f, size_t i)
{
    int fd = f->fds[i];

    f->fds[i] = -1;
    return fd;
}

static void vu_fds_close_rest(VuFds *f)
{
    for (size_t i = 0; i < f->nfds; i++) {
        if (f->fds[i] >= 0) {
            close(f->fds[i]);
            f->fds[i] = -1;
        }
    }
}

static void vu_close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* ---- state ---- */

static void vu_vring_init(VuVring *vr)
{
    *vr = (VuVring) { .kick_fd = -1, .call_fd = -1, .err_fd = -1 };
}

void vu_dev_init(VuDev *dev, const VuDevOps *ops, void *opaque)
{
    memset(dev, 0, sizeof(*dev));
    dev->ops = ops;
    dev->opaque = opaque;
    for (unsigned i = 0; i < VU_DEV_NUM_VRINGS; i++) {
        vu_vring_init(&dev->vring[i]);
    }
}

static void vu_dev_changed(VuDev *dev, unsigned index)
{
    if (dev->ops && dev->ops->vring_changed) {
        dev->ops->vring_changed(dev->opaque, index);
    }
}

static void vu_dev_unmap_all(VuDev *dev, void **addr, uint64_t *size,
                             unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (addr[i] && dev->ops && dev->ops->unmap) {
            dev->ops->unmap(dev->opaque, addr[i], size[i]);
        }
        addr[i] = NULL;
    }
}

static void vu_dev_close_vrings(VuDev *dev)
{
    for (unsigned i = 0; i < VU_DEV_NUM_VRINGS; i++) {
        VuVring *vr = &dev->vring[i];

        vu_close_fd(&vr->kick_fd);
        vu_close_fd(&vr->call_fd);
        vu_close_fd(&vr->err_fd);
        vu_vring_init(vr);
    }
}

void vu_dev_cleanup(VuDev *dev)
{
    vu_dev_close_vrings(dev);
    vu_dev_unmap_all(dev, dev->map_addr, dev->map_size, dev->mem.nregions);
    vu_mem_clear(&dev->mem);
    dev->features = dev->protocol_features = 0;
    dev->owner = false;
}

bool vu_dev_vring_live(const VuDev *dev, unsigned index)
{
    const VuVring *vr = &dev->vring[index];

    return vr->started && vr->enabled && virtq_ready(&vr->vq);
}

size_t vu_dev_hdr_len(const VuDev *dev)
{
    return vu_dev_has(dev, VIRTIO_F_VERSION_1) ||
           vu_dev_has(dev, VIRTIO_NET_F_MRG_RXBUF)
           ? VIRTIO_NET_HDR_LEN : VIRTIO_NET_HDR_LEN_LEGACY;
}

/* (Re)translate vring @i's addresses, if it has them and memory. */
static void vu_vring_setup(VuDev *dev, unsigned i)
{
    VuVring *vr = &dev->vring[i];
    const char *reason = NULL;

    vr->vq.event_idx = vu_dev_has(dev, VIRTIO_RING_F_EVENT_IDX);
    vr->vq.indirect = vu_dev_has(dev, VIRTIO_RING_F_INDIRECT_DESC);
    if (!vr->addr_set || vr->num == 0 || dev->mem.nregions == 0) {
        return;
    }
    if (!virtq_setup(&vr->vq, &dev->mem, vr->num, vr->desc_uva,
                     vr->avail_uva, vr->used_uva, &reason)) {
        virtq_set_broken(&vr->vq, reason);
    }
}

/* ---- request handlers: 0 ok, -1 refused (errp set) ---- */

typedef struct VuReq {
    VuDev *dev;
    const VuMsgHeader *hdr;
    const uint8_t *payload;
    VuFds *fds;
    VuMsgReply *reply;
    bool replied;
} VuReq;

static void vu_reply_u64(VuReq *r, uint64_t v)
{
    r->reply->hdr.size = sizeof(v);
    memcpy(r->reply->payload, &v, sizeof(v));
    r->replied = true;
}

static uint64_t vu_req_u64(const VuReq *r)
{
    uint64_t v;

    memcpy(&v, r->payload, sizeof(v));
    return v;
}

/* The vring index of a state/addr payload or a u64's low bits. */
static VuVring *vu_req_vring(VuReq *r, uint32_t index, GError **errp)
{
    if (index >= VU_DEV_NUM_VRINGS) {
        error_setg(errp, "vring index %" G_GUINT32_FORMAT " out of range "
                   "(one queue pair)", index);
        return NULL;
    }
    return &r->dev->vring[index];
}

/* A vring state payload (index, num) and its vring, or NULL. */
static VuVring *vu_req_state(VuReq *r, VuVringState *s, GError **errp)
{
    memcpy(s, r->payload, sizeof(*s));
    return vu_req_vring(r, s->index, errp);
}

static int vu_get_features(VuReq *r, GError **errp)
{
    vu_reply_u64(r, VU_DEV_FEATURES);
    return 0;
}

static int vu_set_features(VuReq *r, GError **errp)
{
    uint64_t f = vu_req_u64(r);

    if (f & ~(uint64_t)VU_DEV_FEATURES) {
        error_setg(errp, "unsupported features 0x%" G_GINT64_MODIFIER "x",
                   f & ~(uint64_t)VU_DEV_FEATURES);
        return -1;
    }
    r->dev->features = f;
    for (unsigned i = 0; i < VU_DEV_NUM_VRINGS; i++) {
        r->dev->vring[i].vq.event_idx = vu_dev_has(r->dev,
                                                   VIRTIO_RING_F_EVENT_IDX);
        r->dev->vring[i].vq.indirect = vu_dev_has(r->dev,
                                                  VIRTIO_RING_F_INDIRECT_DESC);
    }
    return 0;
}

static int vu_get_protocol_features(VuReq *r, GError **errp)
{
    vu_reply_u64(r, VU_DEV_PROTOCOL_FEATURES);
    return 0;
}

static int vu_set_protocol_features(VuReq *r, GError **errp)
{
    uint64_t f = vu_req_u64(r);

    if (f & ~(uint64_t)VU_DEV_PROTOCOL_FEATURES) {
        error_setg(errp, "unsupported protocol features 0x%"
                   G_GINT64_MODIFIER "x",
                   f & ~(uint64_t)VU_DEV_PROTOCOL_FEATURES);
        return -1;
    }
    r->dev->protocol_features = f;
    return 0;
}

static int vu_set_owner(VuReq *r, GError **errp)
{
    r->dev->owner = true;
    return 0;
}

/* Rings stopped and forgotten; memory and features stay. */
static int vu_reset_owner(VuReq *r, GError **errp)
{
    vu_dev_close_vrings(r->dev);
    for (unsigned i = 0; i < VU_DEV_NUM_VRINGS; i++) {
        vu_dev_changed(r->dev, i);
    }
    return 0;
}

static int vu_get_queue_num(VuReq *r, GError **errp)
{
    vu_reply_u64(r, 1);
    return 0;
}

/* Map the regions of a SET_MEM_TABLE into @mem; -1 with all undone. */
static int vu_mem_table_map(VuReq *r, uint32_t n, VuMem *mem, void **addr,
                            uint64_t *size, GError **errp)
{
    VuDev *dev = r->dev;

    for (uint32_t i = 0; i < n; i++) {
        VuMemRegionMsg m;
        int fd = vu_fds_take(r->fds, i);

        memcpy(&m, r->payload + VU_MEM_TABLE_HEAD + i * sizeof(m),
               sizeof(m));
        if (m.memory_size == 0 || m.mmap_offset > UINT64_MAX - m.memory_size) {
            close(fd);
            error_setg(errp, "memory region %u: bad size or offset", i);
            vu_dev_unmap_all(dev, addr, size, i);
            return -1;
        }
        size[i] = m.memory_size + m.mmap_offset;
        addr[i] = dev->ops && dev->ops->map
                  ? dev->ops->map(dev->opaque, fd, size[i], 0) : NULL;
        close(fd);
        if (!addr[i] ||
            !vu_mem_add(mem, m.guest_phys_addr, m.memory_size,
                        m.userspace_addr, (uint8_t *)addr[i] + m.mmap_offset)) {
            error_setg(errp, "memory region %u: %s", i, addr[i]
                       ? "overlaps another or wraps"
                       : "cannot be mapped (not a memory file, or it "
                         "extends past the file's end)");
            vu_dev_unmap_all(dev, addr, size, i + 1);
            return -1;
        }
    }
    return 0;
}

static int vu_set_mem_table(VuReq *r, GError **errp)
{
    VuDev *dev = r->dev;
    uint32_t n;
    VuMem mem;
    void *addr[VU_MEM_MAX_REGIONS] = { NULL };
    uint64_t size[VU_MEM_MAX_REGIONS];
    unsigned old_n = dev->mem.nregions;

    memcpy(&n, r->payload, sizeof(n));
    if (n == 0 || n > VU_MEM_MAX_REGIONS ||
        r->hdr->size != VU_MEM_TABLE_HEAD + n * sizeof(VuMemRegionMsg)) {
        error_setg(errp, "bad memory table (%" G_GUINT32_FORMAT " regions, "
                   "%" G_GUINT32_FORMAT " bytes)", n, r->hdr->size);
        return -1;
    }
    if (r->fds->nfds != n) {
        error_setg(errp, "memory table with %" G_GUINT32_FORMAT " regions "
                   "came with %zu fds", n, r->fds->nfds);
        return -1;
    }
    vu_mem_clear(&mem);
    if (vu_mem_table_map(r, n, &mem, addr, size, errp) < 0) {
        return -1;
    }
    /* New table in place, rings re-translated, then the old one goes. */
    void *old_addr[VU_MEM_MAX_REGIONS];
    uint64_t old_size[VU_MEM_MAX_REGIONS];

    memcpy(old_addr, dev->map_addr, sizeof(old_addr));
    memcpy(old_size, dev->map_size, sizeof(old_size));
    dev->mem = mem;
    memcpy(dev->map_addr, addr, sizeof(addr));
    memcpy(dev->map_size, size, sizeof(size));
    for (unsigned i = 0; i < VU_DEV_NUM_VRINGS; i++) {
        vu_vring_setup(dev, i);
        vu_dev_changed(dev, i);
    }
    vu_dev_unmap_all(dev, old_addr, old_size, old_n);
    return 0;
}

static int vu_set_vring_num(VuReq *r, GError **errp)
{
    VuVringState s;
    VuVring *vr = vu_req_state(r, &s, errp);

    if (!vr) {
        return -1;
    }
    if (s.num == 0 || s.num > VIRTQ_MAX_SIZE || (s.num & (s.num - 1))) {
        error_setg(errp, "vring %u: size %" G_GUINT32_FORMAT " is not a "
                   "power of two up to %d", s.index, s.num, VIRTQ_MAX_SIZE);
        return -1;
    }
    vr->num = s.num;
    return 0;
}

static int vu_set_vring_addr(VuReq *r, GError **errp)
{
    VuVringAddr a;
    VuVring *vr;

    memcpy(&a, r->payload, sizeof(a));
    vr = vu_req_vring(r, a.index, errp);
    if (!vr) {
        return -1;
    }
    if (a.flags & 1) {
        error_setg(errp, "vring %u: dirty logging is not supported", a.index);
        return -1;
    }
    vr->desc_uva = a.desc_user_addr;
    vr->avail_uva = a.avail_user_addr;
    vr->used_uva = a.used_user_addr;
    vr->addr_set = true;
    vr->vq.broken = false;
    vr->vq.broken_reason = NULL;
    vu_vring_setup(r->dev, a.index);
    vu_dev_changed(r->dev, a.index);
    return 0;
}

static int vu_set_vring_base(VuReq *r, GError **errp)
{
    VuVringState s;
    VuVring *vr = vu_req_state(r, &s, errp);

    if (!vr) {
        return -1;
    }
    if (s.num > UINT16_MAX) {
        error_setg(errp, "vring %u: base %" G_GUINT32_FORMAT " out of range",
                   s.index, s.num);
        return -1;
    }
    vr->vq.last_avail_idx = (uint16_t)s.num;
    return 0;
}

/* Stop the ring, answer where it stopped; it is set up afresh later. */
static int vu_get_vring_base(VuReq *r, GError **errp)
{
    VuVringState s;
    VuVring *vr = vu_req_state(r, &s, errp);

    if (!vr) {
        return -1;
    }
    s.num = vr->vq.last_avail_idx;
    vr->started = false;
    vu_close_fd(&vr->kick_fd);
    vu_close_fd(&vr->call_fd);
    vr->addr_set = false;
    virtq_reset(&vr->vq);
    vu_dev_changed(r->dev, s.index);
    r->reply->hdr.size = sizeof(s);
    memcpy(r->reply->payload, &s, sizeof(s));
    r->replied = true;
    return 0;
}

/* The u64 of SET_VRING_KICK/CALL/ERR: the vring and its fd (or -1). */
static VuVring *vu_req_vring_fd(VuReq *r, int *fd, GError **errp)
{
    uint64_t v = vu_req_u64(r);
    bool nofd = v & VHOST_USER_VRING_NOFD_MASK;
    VuVring *vr;

    if (v & ~(uint64_t)(VHOST_USER_VRING_IDX_MASK |
                        VHOST_USER_VRING_NOFD_MASK)) {
        error_setg(errp, "bad vring fd payload 0x%" G_GINT64_MODIFIER "x", v);
        return NULL;
    }
    if (r->fds->nfds != (nofd ? 0u : 1u)) {
        error_setg(errp, "vring fd message came with %zu fds", r->fds->nfds);
        return NULL;
    }
    vr = vu_req_vring(r, (uint32_t)(v & VHOST_USER_VRING_IDX_MASK), errp);
    if (vr) {
        *fd = nofd ? -1 : vu_fds_take(r->fds, 0);
    }
    return vr;
}

static int vu_set_vring_kick(VuReq *r, GError **errp)
{
    int fd;
    VuVring *vr = vu_req_vring_fd(r, &fd, errp);

    if (!vr) {
        return -1;
    }
    vu_close_fd(&vr->kick_fd);
    vr->kick_fd = fd;
    vr->started = true;
    if (!vu_dev_has(r->dev, VHOST_USER_F_PROTOCOL_FEATURES)) {
        vr->enabled = true;
    }
    vu_vring_setup(r->dev, (unsigned)(vr - r->dev->vring));
    vu_dev_changed(r->dev, (unsigned)(vr - r->dev->vring));
    return 0;
}

static int vu_set_vring_call(VuReq *r, GError **errp)
{
    int fd;
    VuVring *vr = vu_req_vring_fd(r, &fd, errp);

    if (!vr) {
        return -1;
    }
    vu_close_fd(&vr->call_fd);
    vr->call_fd = fd;
    return 0;
}

static int vu_set_vring_err(VuReq *r, GError **errp)
{
    int fd;
    VuVring *vr = vu_req_vring_fd(r, &fd, errp);

    if (!vr) {
        return -1;
    }
    vu_close_fd(&vr->err_fd);
    vr->err_fd = fd;
    return 0;
}

static int vu_set_vring_enable(VuReq *r, GError **errp)
{
    VuVringState s;
    VuVring *vr = vu_req_state(r, &s, errp);

    if (!vr) {
        return -1;
    }
    if (s.num > 1) {
        error_setg(errp, "vring %u: bad enable value %" G_GUINT32_FORMAT,
                   s.index, s.num);
        return -1;
    }
    vr->enabled = s.num;
    vu_dev_changed(r->dev, s.index);
    return 0;
}

/* Per request: its handler, payload size (-1: checked by the handler), fds. */
typedef struct VuReqType {
    int (*handle)(VuReq *r, GError **errp);
    int size;
    unsigned max_fds;
    const char *name;
} VuReqType;

#define VU_REQ(req, fn, sz, fds) \
    [VHOST_USER_##req] = { fn, sz, fds, #req }

static const VuReqType vu_req_types[] = {
    VU_REQ(GET_FEATURES, vu_get_features, 0, 0),
    VU_REQ(SET_FEATURES, vu_set_features, 8, 0),
    VU_REQ(SET_OWNER, vu_set_owner, 0, 0),
    VU_REQ(RESET_OWNER, vu_reset_owner, 0, 0),
    VU_REQ(SET_MEM_TABLE, vu_set_mem_table, -1, VU_MEM_MAX_REGIONS),
    VU_REQ(SET_VRING_NUM, vu_set_vring_num, 8, 0),
    VU_REQ(SET_VRING_ADDR, vu_set_vring_addr, 40, 0),
    VU_REQ(SET_VRING_BASE, vu_set_vring_base, 8, 0),
    VU_REQ(GET_VRING_BASE, vu_get_vring_base, 8, 0),
    VU_REQ(SET_VRING_KICK, vu_set_vring_kick, 8, 1),
    VU_REQ(SET_VRING_CALL, vu_set_vring_call, 8, 1),
    VU_REQ(SET_VRING_ERR, vu_set_vring_err, 8, 1),
    VU_REQ(GET_PROTOCOL_FEATURES, vu_get_protocol_features, 0, 0),
    VU_REQ(SET_PROTOCOL_FEATURES, vu_set_protocol_features, 8, 0),
    VU_REQ(GET_QUEUE_NUM, vu_get_queue_num, 0, 0),
    VU_REQ(SET_VRING_ENABLE, vu_set_vring_enable, 8, 0),
};

/* The request's type if supported and the message fits it; else NULL. */
static const VuReqType *vu_req_check(const VuMsgHeader *hdr, size_t len,
                                     size_t nfds, GError **errp)
{
    const VuReqType *t = hdr->request < G_N_ELEMENTS(vu_req_types)
                         ? &vu_req_types[hdr->request] : NULL;

    if ((hdr->flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION) {
        error_setg(errp, "bad protocol version in flags 0x%" G_GINT32_MODIFIER
                   "x", hdr->flags);
        return NULL;
    }
    if (!t || !t->handle) {
        error_setg(errp, "unsupported request %" G_GUINT32_FORMAT,
                   hdr->request);
        return NULL;
    }
    if (len != hdr->size || len > VU_MSG_MAX_PAYLOAD ||
        (t->size >= 0 ? len != (size_t)t->size : len < VU_MEM_TABLE_HEAD)) {
        error_setg(errp, "%s with a %" G_GUINT32_FORMAT "-byte payload",
                   t->name, hdr->size);
        return NULL;
    }
    if (nfds > t->max_fds) {
        error_setg(errp, "%s with %zu fds", t->name, nfds);
        return NULL;
    }
    return t;
}

VuDevResult vu_dev_handle(VuDev *dev, const VuMsgHeader *hdr,
                          const void *payload, size_t len,
                          int *fds, size_t nfds,
                          VuMsgReply *reply, GError **errp)
{
    VuFds f = { .fds = fds, .nfds = nfds };
    VuReq r = { .dev = dev, .hdr = hdr, .payload = payload, .fds = &f,
                .reply = reply };
    const VuReqType *t = vu_req_check(hdr, len, nfds, errp);
    int ret = t ? t->handle(&r, errp) : -1;

    vu_fds_close_rest(&f);
    if (ret < 0) {
        return VU_DEV_CLOSE;
    }
    if (!r.replied && (hdr->flags & VHOST_USER_NEED_REPLY_MASK) &&
        (dev->protocol_features >> VHOST_USER_PROTOCOL_F_REPLY_ACK) & 1) {
        vu_reply_u64(&r, 0);
    }
    if (!r.replied) {
        return VU_DEV_DONE;
    }
    reply->hdr.request = hdr->request;
    reply->hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
    return VU_DEV_REPLY;
}
