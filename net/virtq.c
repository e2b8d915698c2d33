/*
 * DOC: guest memory and split virtqueues (see net/virtq.h)
 *
 * The guest writes the descriptor table and the available ring; we write
 * the used ring.  Popping a chain walks descriptors from the head the
 * avail ring names: each descriptor is copied once into a local (the guest
 * may rewrite it meanwhile), its buffer translated through the memory
 * table into iovec pieces of the caller's fixed element, and the walk is
 * bounded by the ring size (or the indirect table's size), so a loop ends
 * as "chain longer than the ring".  The usual chain (one direct
 * descriptor in one region) skips the walk, and avail->idx is read again
 * only when the entries last seen are used up.  Anything malformed marks
 * the queue broken with a static reason; nothing is read or written
 * outside a region of the table.
 *
 * Used entries are written as they are pushed and published by one
 * used->idx store after a release fence (virtq_flush), so RX can give back
 * a half-filled frame (unpush + unpop) before the guest sees anything.
 * Notification decisions (EVENT_IDX or the legacy flags) are here too;
 * the eventfds themselves are net/vhost-user.c's.
 */
#include "net/virtq.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

/* ---- guest memory ---- */

void vu_mem_clear(VuMem *mem)
{
    memset(mem, 0, sizeof(*mem));
}

/* [a, a+as) and [b, b+bs) share a byte (neither wraps). */
static bool ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
    return a < b + bs && b < a + as;
}

bool vu_mem_add(VuMem *mem, uint64_t gpa, uint64_t size, uint64_t uva,
                uint8_t *host)
{
    if (mem->nregions == VU_MEM_MAX_REGIONS || size == 0 ||
        size > UINT64_MAX - gpa || size > UINT64_MAX - uva ||
        size > SIZE_MAX || host == NULL) {
        return false;
    }
    for (unsigned i = 0; i < mem->nregions; i++) {
        const VuMemRegion *r = &mem->regions[i];

        if (ranges_overlap(gpa, size, r->gpa, r->size) ||
            ranges_overlap(uva, size, r->uva, r->size)) {
            return false;
        }
    }
    mem->regions[mem->nregions++] = (VuMemRegion) {
        .gpa = gpa, .size = size, .uva = uva, .host = host,
    };
    return true;
}

/* Host pointer if [addr, addr+len) lies in the region starting at @start. */
static void *region_translate(const VuMemRegion *r, uint64_t start,
                              uint64_t addr, uint64_t len)
{
    uint64_t off;

    if (addr < start) {
        return NULL;
    }
    off = addr - start;
    if (off >= r->size || len > r->size - off) {
        return NULL;
    }
    return r->host + off;
}

void *vu_mem_gpa_to_host(const VuMem *mem, uint64_t gpa, uint64_t len)
{
    if (len == 0) {
        return NULL;
    }
    for (unsigned i = 0; i < mem->nregions; i++) {
        void *p = region_translate(&mem->regions[i], mem->regions[i].gpa,
                                   gpa, len);
        if (p) {
            return p;
        }
    }
    return NULL;
}

void *vu_mem_uva_to_host(const VuMem *mem, uint64_t uva, uint64_t len)
{
    if (len == 0) {
        return NULL;
    }
    for (unsigned i = 0; i < mem->nregions; i++) {
        void *p = region_translate(&mem->regions[i], mem->regions[i].uva,
                                   uva, len);
        if (p) {
            return p;
        }
    }
    return NULL;
}

/* The region holding guest address @gpa, or NULL. */
static const VuMemRegion *vu_mem_find(const VuMem *mem, uint64_t gpa)
{
    for (unsigned i = 0; i < mem->nregions; i++) {
        const VuMemRegion *r = &mem->regions[i];

        if (gpa >= r->gpa && gpa - r->gpa < r->size) {
            return r;
        }
    }
    return NULL;
}

/* As vu_mem_gpa_to_iov; -1 outside memory, -2 out of iovec pieces. */
static int vu_mem_map(const VuMem *mem, uint64_t gpa, uint64_t len,
                      struct iovec *iov, unsigned max)
{
    unsigned n = 0;

    if (len > UINT64_MAX - gpa) {
        return -1;
    }
    while (len > 0) {
        const VuMemRegion *r = vu_mem_find(mem, gpa);
        uint64_t off, piece;

        if (!r) {
            return -1;
        }
        if (n == max) {
            return -2;
        }
        off = gpa - r->gpa;
        piece = MIN(len, r->size - off);
        iov[n].iov_base = r->host + off;
        iov[n].iov_len = piece;
        n++;
        gpa += piece;
        len -= piece;
    }
    return (int)n;
}

int vu_mem_gpa_to_iov(const VuMem *mem, uint64_t gpa, uint64_t len,
                      struct iovec *iov, unsigned max)
{
    int n = vu_mem_map(mem, gpa, len, iov, max);

    return n < 0 ? -1 : n;
}

/* ---- shared-memory accessors: one load or store per field ---- */

static inline uint16_t shared_load16(const uint16_t *p)
{
    return GUINT16_FROM_LE(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static inline uint16_t shared_load16_acquire(const uint16_t *p)
{
    return GUINT16_FROM_LE(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static inline void shared_store16(uint16_t *p, uint16_t v)
{
    __atomic_store_n(p, GUINT16_TO_LE(v), __ATOMIC_RELAXED);
}

/* avail->ring[num] is used_event; used->ring[num] is avail_event. */
static uint16_t *virtq_used_event(const Virtq *vq)
{
    return &vq->avail->ring[vq->num];
}

static uint16_t *virtq_avail_event(const Virtq *vq)
{
    return (uint16_t *)&vq->used->ring[vq->num];
}

/* ---- setup ---- */

size_t virtq_desc_size(unsigned num)
{
    return sizeof(VirtqDesc) * (size_t)num;
}

size_t virtq_avail_size(unsigned num)
{
    return sizeof(VirtqAvail) + sizeof(uint16_t) * ((size_t)num + 1);
}

size_t virtq_used_size(unsigned num)
{
    return sizeof(VirtqUsed) + sizeof(VirtqUsedElem) * (size_t)num +
           sizeof(uint16_t);
}

void virtq_reset(Virtq *vq)
{
    memset(vq, 0, sizeof(*vq));
}

void virtq_set_broken(Virtq *vq, const char *reason)
{
    if (!vq->broken) {
        vq->broken = true;
        vq->broken_reason = reason;
    }
}

static bool virtq_num_valid(unsigned num)
{
    return num > 0 && num <= VIRTQ_MAX_SIZE && (num & (num - 1)) == 0;
}

bool virtq_setup_host(Virtq *vq, unsigned num, VirtqDesc *desc,
                      VirtqAvail *avail, VirtqUsed *used)
{
    vq->num = 0;
    if (!virtq_num_valid(num) || !desc || !avail || !used ||
        (uintptr_t)desc % 16 || (uintptr_t)avail % 2 ||
        (uintptr_t)used % 4) {
        return false;
    }
    vq->desc = desc;
    vq->avail = avail;
    vq->used = used;
    vq->num = num;
    vq->used_idx = shared_load16(&used->idx);
    vq->avail_idx_seen = vq->last_avail_idx;    /* nothing seen yet */
    vq->used_pending = 0;
    vq->signalled_used_valid = false;
    vq->notifications_off = false;
    return true;
}

bool virtq_setup(Virtq *vq, const VuMem *mem, unsigned num,
                 uint64_t desc_uva, uint64_t avail_uva, uint64_t used_uva,
                 const char **reason)
{
    void *desc, *avail, *used;

    vq->num = 0;
    if (!virtq_num_valid(num)) {
        *reason = "ring size is not a power of two up to 1024";
        return false;
    }
    desc = vu_mem_uva_to_host(mem, desc_uva, virtq_desc_size(num));
    avail = vu_mem_uva_to_host(mem, avail_uva, virtq_avail_size(num));
    used = vu_mem_uva_to_host(mem, used_uva, virtq_used_size(num));
    if (!desc || !avail || !used) {
        *reason = "ring outside guest memory";
        return false;
    }
    if (!virtq_setup_host(vq, num, desc, avail, used)) {
        *reason = "ring not aligned";
        return false;
    }
    return true;
}

/* ---- popping chains ---- */

unsigned virtq_avail_count(Virtq *vq)
{
    uint16_t ahead;

    if (!virtq_ready(vq)) {
        return 0;
    }
    vq->avail_idx_seen = shared_load16_acquire(&vq->avail->idx);
    ahead = (uint16_t)(vq->avail_idx_seen - vq->last_avail_idx);
    if (ahead > vq->num) {
        virtq_set_broken(vq, "available index too far ahead");
        return 0;
    }
    return ahead;
}

/* One descriptor, read once from shared memory. */
static void virtq_desc_read(const VirtqDesc *shared, VirtqDesc *d)
{
    memcpy(d, shared, sizeof(*d));
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    d->addr = GUINT64_FROM_LE(d->addr);
    d->len = GUINT32_FROM_LE(d->len);
    d->flags = GUINT16_FROM_LE(d->flags);
    d->next = GUINT16_FROM_LE(d->next);
}

/* Add one buffer to @elem; a static reason on failure. */
static const char *virtq_elem_add(VirtqElement *elem, const VuMem *mem,
                                  const VirtqDesc *d)
{
    unsigned used = elem->out_num + elem->in_num;
    int n;

    if (!(d->flags & VIRTQ_DESC_F_WRITE) && elem->in_num > 0) {
        return "readable descriptor after a writable one";
    }
    /*
     * As QEMU: a zero-length buffer adds no iovec piece, so nothing else
     * would bound how many of them one frame makes us read (a ring of
     * 1024 chains of 1024 such buffers was a million descriptor reads
     * per RX frame: fuzzing finding F4, docs/security.md).
     */
    if (d->len == 0) {
        return "zero-length buffer";
    }
    n = vu_mem_map(mem, d->addr, d->len, &elem->iov[used],
                   VIRTQ_MAX_IOV - used);
    if (n == -1) {
        return "descriptor outside guest memory";
    }
    if (n < 0) {
        return "chain has too many buffers";
    }
    if (d->flags & VIRTQ_DESC_F_WRITE) {
        elem->in_num += (unsigned)n;
        elem->in_len += d->len;
    } else {
        elem->out_num += (unsigned)n;
        elem->out_len += d->len;
    }
    return NULL;
}

/* Switch the walk to the indirect table @d names; a reason on failure. */
static const char *virtq_enter_indirect(const Virtq *vq, const VuMem *mem,
                                        const VirtqDesc *d, bool *inside,
                                        const VirtqDesc **table,
                                        unsigned *table_num)
{
    if (!vq->indirect) {
        return "indirect descriptor not negotiated";
    }
    /*
     * A flag, not a comparison of @table with vq->desc: an "indirect
     * table" at the ring's own address would pass such a test and walk
     * itself forever.
     */
    if (*inside) {
        return "indirect descriptor inside an indirect table";
    }
    if (d->len == 0 || d->len % sizeof(VirtqDesc)) {
        return "indirect table size not a multiple of 16";
    }
    if (d->len / sizeof(VirtqDesc) > vq->num) {
        return "indirect table longer than the ring";
    }
    *table = vu_mem_gpa_to_host(mem, d->addr, d->len);
    if (!*table) {
        return "indirect table outside guest memory";
    }
    *table_num = d->len / sizeof(VirtqDesc);
    *inside = true;
    return NULL;
}

/*
 * Walk the chain whose head descriptor the caller read into @d (the first
 * of at most vq->num) into @elem; NULL or the reason it is bad.
 */
static const char *virtq_walk(const Virtq *vq, const VuMem *mem,
                              VirtqDesc d, VirtqElement *elem)
{
    const VirtqDesc *table = vq->desc;
    unsigned table_num = vq->num, count = 1;
    bool inside = false;            /* walking an indirect table */
    const char *err;

    for (;;) {
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            err = virtq_enter_indirect(vq, mem, &d, &inside, &table,
                                       &table_num);
            if (err) {
                return err;
            }
            count = 1;
            virtq_desc_read(&table[0], &d);
            continue;
        }
        err = virtq_elem_add(elem, mem, &d);
        if (err) {
            return err;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT)) {
            return NULL;
        }
        if (d.next >= table_num) {
            return "next descriptor index out of range";
        }
        if (++count > table_num) {
            return "descriptor chain longer than the ring";
        }
        virtq_desc_read(&table[d.next], &d);
    }
}

/*
 * The common chain: one direct descriptor whose buffer lies in one region.
 * Filled into @elem as the walk would; false (nothing changed) otherwise.
 */
static bool virtq_pop_one(const VuMem *mem, const VirtqDesc *d,
                          VirtqElement *elem)
{
    const VuMemRegion *r;
    uint64_t off;

    if ((d->flags & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT)) ||
        d->len == 0 || !(r = vu_mem_find(mem, d->addr))) {
        return false;
    }
    off = d->addr - r->gpa;
    if (d->len > r->size - off) {
        return false;               /* crosses into the next region */
    }
    elem->iov[0].iov_base = r->host + off;
    elem->iov[0].iov_len = d->len;
    if (d->flags & VIRTQ_DESC_F_WRITE) {
        elem->out_num = 0;
        elem->out_len = 0;
        elem->in_num = 1;
        elem->in_len = d->len;
    } else {
        elem->out_num = 1;
        elem->out_len = d->len;
        elem->in_num = 0;
        elem->in_len = 0;
    }
    return true;
}

int virtq_pop(Virtq *vq, const VuMem *mem, VirtqElement *elem)
{
    uint16_t head, seen = (uint16_t)(vq->avail_idx_seen - vq->last_avail_idx);
    VirtqDesc d;
    const char *err;

    if (vq->broken) {
        return -1;
    }
    /*
     * Entries up to the avail->idx we last read (with acquire) are there
     * still: read it again only when they are used up.  A base moved
     * since (SET_VRING_BASE) shows as nothing or too much seen.
     */
    if ((seen == 0 || seen > vq->num) && virtq_avail_count(vq) == 0) {
        return vq->broken ? -1 : 0;
    }
    head = shared_load16(&vq->avail->ring[vq->last_avail_idx &
                                          (vq->num - 1)]);
    if (head >= vq->num) {
        virtq_set_broken(vq, "head descriptor index out of range");
        return -1;
    }
    elem->head = head;
    virtq_desc_read(&vq->desc[head], &d);
    if (!virtq_pop_one(mem, &d, elem)) {
        elem->out_num = elem->in_num = 0;
        elem->out_len = elem->in_len = 0;
        err = virtq_walk(vq, mem, d, elem);
        if (err) {
            virtq_set_broken(vq, err);
            return -1;
        }
    }
    vq->last_avail_idx++;
    if (vq->event_idx && !vq->notifications_off) {
        shared_store16(virtq_avail_event(vq), vq->last_avail_idx);
    }
    return 1;
}

void virtq_unpop(Virtq *vq, unsigned n)
{
    vq->last_avail_idx = (uint16_t)(vq->last_avail_idx - n);
}

/* ---- used ring and notifications ---- */

void virtq_push(Virtq *vq, uint16_t head, uint32_t len)
{
    VirtqUsedElem *e;

    g_assert(vq->num != 0 && vq->used_pending < UINT16_MAX);
    e = &vq->used->ring[(uint16_t)(vq->used_idx + vq->used_pending) &
                        (vq->num - 1)];
    __atomic_store_n(&e->id, GUINT32_TO_LE((uint32_t)head),
                     __ATOMIC_RELAXED);
    __atomic_store_n(&e->len, GUINT32_TO_LE(len), __ATOMIC_RELAXED);
    vq->used_pending++;
}

void virtq_unpush(Virtq *vq, unsigned n)
{
    g_assert(n <= vq->used_pending);
    vq->used_pending = (uint16_t)(vq->used_pending - n);
}

void virtq_flush(Virtq *vq)
{
    if (vq->used_pending == 0 || vq->num == 0) {
        return;
    }
    vq->used_idx = (uint16_t)(vq->used_idx + vq->used_pending);
    vq->used_pending = 0;
    __atomic_store_n(&vq->used->idx, GUINT16_TO_LE(vq->used_idx),
                     __ATOMIC_RELEASE);
}

/* virtio 1.1 2.6.7.2: crossing @event between @old and @new_idx. */
static bool vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool virtq_should_notify(Virtq *vq)
{
    uint16_t old = vq->signalled_used;
    bool valid = vq->signalled_used_valid;

    if (vq->num == 0) {
        return false;
    }
    /* Our used->idx store must be visible before we read the guest's. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!vq->event_idx) {
        return !(shared_load16(&vq->avail->flags) &
                 VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
    vq->signalled_used = vq->used_idx;
    vq->signalled_used_valid = true;
    if (!valid) {
        return true;
    }
    return vring_need_event(shared_load16(virtq_used_event(vq)),
                            vq->used_idx, old);
}

void virtq_set_notification(Virtq *vq, bool enable)
{
    if (vq->num == 0) {
        return;
    }
    vq->notifications_off = !enable;
    if (vq->event_idx) {
        if (enable) {
            shared_store16(virtq_avail_event(vq), vq->last_avail_idx);
        }
        return;
    }
    shared_store16(&vq->used->flags, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_enable_and_recheck(Virtq *vq)
{
    virtq_set_notification(vq, true);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return virtq_avail_count(vq) > 0;
}

bool virtq_enable_for_more(Virtq *vq)
{
    uint16_t seen;

    if (!virtq_ready(vq)) {
        return false;
    }
    virtq_set_notification(vq, true);
    seen = shared_load16_acquire(&vq->avail->idx);
    if (vq->event_idx) {
        shared_store16(virtq_avail_event(vq), seen);
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return shared_load16_acquire(&vq->avail->idx) != seen;
}

/* ---- frames ---- */

/* Copy from @src (from piece *src_i, offset *src_off) into @dst. */
static size_t iov_copy_step(const struct iovec *dst, unsigned dst_cnt,
                            size_t dst_off, const struct iovec *src,
                            int src_cnt, int *src_i, size_t *src_off)
{
    size_t done = 0;
    unsigned d = 0;

    while (d < dst_cnt && dst_off >= dst[d].iov_len) {
        dst_off -= dst[d++].iov_len;
    }
    while (d < dst_cnt && *src_i < src_cnt) {
        size_t n = MIN(dst[d].iov_len - dst_off,
                       src[*src_i].iov_len - *src_off);

        memcpy((uint8_t *)dst[d].iov_base + dst_off,
               (const uint8_t *)src[*src_i].iov_base + *src_off, n);
        done += n;
        dst_off += n;
        *src_off += n;
        if (dst_off == dst[d].iov_len) {
            d++;
            dst_off = 0;
        }
        if (*src_off == src[*src_i].iov_len) {
            (*src_i)++;
            *src_off = 0;
        }
    }
    return done;
}

/* Keep the iovec pieces holding the first @len bytes of @in in @hdr. */
static unsigned rx_header_pieces(const struct iovec *in, unsigned in_num,
                                 size_t len, struct iovec *hdr)
{
    unsigned n = 0;

    for (unsigned i = 0; i < in_num && len > 0; i++) {
        hdr[n].iov_base = in[i].iov_base;
        hdr[n].iov_len = MIN(in[i].iov_len, len);
        len -= hdr[n].iov_len;
        n++;
    }
    return n;
}

/*
 * The common RX case: the first chain popped is one buffer that holds the
 * header and the whole frame.  Header, then the frame's pieces, copied
 * straight in; pushed.
 */
static void rx_frame_one_buffer(Virtq *vq, const VirtqElement *elem,
                                size_t hdr_len, const struct iovec *iov,
                                int iovcnt, size_t frame_len)
{
    /* A zeroed header; num_buffers (little-endian, bytes 10-11) is 1. */
    static const uint8_t hdr[VIRTIO_NET_HDR_LEN] = { [10] = 1 };
    uint8_t *p = elem->iov[0].iov_base;

    if (hdr_len == VIRTIO_NET_HDR_LEN) {
        memcpy(p, hdr, VIRTIO_NET_HDR_LEN);
    } else {
        memset(p, 0, hdr_len);      /* legacy: no num_buffers */
    }
    p += hdr_len;
    for (int i = 0; i < iovcnt; i++) {
        memcpy(p, iov[i].iov_base, iov[i].iov_len);
        p += iov[i].iov_len;
    }
    virtq_push(vq, elem->head, (uint32_t)(hdr_len + frame_len));
}

/* The zeroed virtio-net header, num_buffers set, into its pieces. */
static void rx_write_header(const struct iovec *hdr_iov, unsigned hdr_cnt,
                            size_t hdr_len, unsigned nbufs)
{
    uint8_t hdr[VIRTIO_NET_HDR_LEN] = { 0 };
    struct iovec src = { .iov_base = hdr, .iov_len = hdr_len };
    size_t src_off = 0;
    int src_i = 0;

    if (hdr_len == VIRTIO_NET_HDR_LEN) {
        hdr[10] = (uint8_t)nbufs;           /* num_buffers, little-endian */
        hdr[11] = (uint8_t)(nbufs >> 8);
    }
    iov_copy_step(hdr_iov, hdr_cnt, 0, &src, 1, &src_i, &src_off);
}

/* Give back @nbufs chains popped and pushed for a frame that failed. */
static void rx_rollback(Virtq *vq, unsigned nbufs)
{
    virtq_unpush(vq, nbufs);
    virtq_unpop(vq, nbufs);
}

ssize_t virtq_rx_frame(Virtq *vq, const VuMem *mem, VirtqElement *scratch,
                       size_t hdr_len, bool mergeable,
                       const struct iovec *iov, int iovcnt)
{
    struct iovec hdr_iov[VIRTIO_NET_HDR_LEN];
    unsigned hdr_cnt = 0, nbufs = 0;
    size_t frame_len = 0, copied = 0, src_off = 0;
    int src_i = 0;

    g_assert(hdr_len <= VIRTIO_NET_HDR_LEN);
    if (vq->used_pending >= vq->num) {
        /*
         * Only a guest re-posting buffers it never saw used gets here:
         * publish, so the count of unpublished entries stays small.
         */
        virtq_flush(vq);
    }
    for (int i = 0; i < iovcnt; i++) {
        frame_len += iov[i].iov_len;
    }
    while (nbufs == 0 || copied < frame_len) {
        int r = virtq_pop(vq, mem, scratch);
        const struct iovec *in = &scratch->iov[scratch->out_num];
        size_t skip = nbufs == 0 ? hdr_len : 0, n;

        if (r <= 0) {
            rx_rollback(vq, nbufs);
            return r < 0 ? -EIO : 0;
        }
        if (scratch->out_num > 0 || scratch->in_len <= skip ||
            scratch->in_len > UINT32_MAX) {
            virtq_set_broken(vq, "receive buffer not writable or too small");
            rx_rollback(vq, nbufs);
            return -EIO;
        }
        if (nbufs == 0 && scratch->in_num == 1 &&
            scratch->in_len - hdr_len >= frame_len) {
            rx_frame_one_buffer(vq, scratch, hdr_len, iov, iovcnt, frame_len);
            return (ssize_t)frame_len;
        }
        if (nbufs == 0) {
            hdr_cnt = rx_header_pieces(in, scratch->in_num, hdr_len, hdr_iov);
        }
        n = iov_copy_step(in, scratch->in_num, skip, iov, iovcnt,
                          &src_i, &src_off);
        virtq_push(vq, scratch->head, (uint32_t)(skip + n));
        nbufs++;
        copied += n;
        if (copied < frame_len && (!mergeable || nbufs == vq->num)) {
            /* It can never fit: the guest's buffers are too small. */
            rx_rollback(vq, nbufs);
            return -EMSGSIZE;
        }
    }
    rx_write_header(hdr_iov, hdr_cnt, hdr_len, nbufs);
    return (ssize_t)frame_len;
}

int virtq_element_strip(VirtqElement *elem, size_t hdr_len)
{
    unsigned k = 0;
    size_t left = hdr_len;

    if (elem->out_num > 0 && elem->iov[0].iov_len > hdr_len) {
        /* The header and some of the frame in the first piece. */
        elem->iov[0].iov_base = (uint8_t *)elem->iov[0].iov_base + hdr_len;
        elem->iov[0].iov_len -= hdr_len;
        elem->out_len -= hdr_len;
        elem->in_num = 0;
        elem->in_len = 0;
        return (int)elem->out_num;
    }
    if (elem->out_len < hdr_len) {
        return -1;
    }
    while (k < elem->out_num && left >= elem->iov[k].iov_len) {
        left -= elem->iov[k++].iov_len;
    }
    if (k < elem->out_num) {
        elem->iov[k].iov_base = (uint8_t *)elem->iov[k].iov_base + left;
        elem->iov[k].iov_len -= left;
    }
    memmove(elem->iov, &elem->iov[k],
            (elem->out_num - k) * sizeof(struct iovec));
    elem->out_num -= k;
    elem->out_len -= hdr_len;
    elem->in_num = 0;
    elem->in_len = 0;
    return (int)elem->out_num;
}
