/*
 * DOC: fuzz-virtq: net/virtq.c (guest memory, split rings) against a hostile guest
 *
 * The input builds a guest and then plays it, operation by operation:
 *
 *   u8 features      bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2
 *                    MRG_RXBUF, bit 3 the 10-byte legacy header
 *   u8 regions       1 + n % 3 regions, each:
 *     u16 size-1, u8 placement, then u64 gpa unless adjacent, u64 uva
 *                    unless derived (placement bit 0: gpa right after the
 *                    previous region; bit 1: uva = gpa + FUZZ_UVA_BASE)
 *   then operations until the input ends: u8 op, operands (see FuzzOp).
 *
 * Each region is its own heap allocation of exactly its size, so ASan
 * reports any access past a region; every iovec the code returns is also
 * checked against the regions (fuzz-common.c).  Two rings (0 = RX,
 * 1 = TX) live in that memory; operations write descriptors, indirect
 * tables and avail entries as a guest would (or garbage, as a hostile one
 * would), set ring indexes and event fields, pop/push/unpop TX batches,
 * copy RX frames (mergeable or not), flush, evaluate notifications,
 * reset and set the rings up again; FILL operations write long chains
 * (up to a whole ring or indirect table) and many avail entries in one
 * go; TRANSLATE calls the memory table's lookups directly.  Addresses in
 * operands name a region and an offset in it (so the fuzzer finds valid
 * memory easily) or, with a selector >= 0xf0, a raw 64-bit address.
 */
#include <glib.h>
#include <string.h>

#include "fuzz-common.h"
#include "net/virtq.h"

#define FUZZ_REGIONS 3
#define FUZZ_UVA_BASE 0x7f0000000000ULL

typedef enum FuzzOp {
    FUZZ_OP_SETUP,          /* u8 q, u8 num, uva desc, uva avail, uva used */
    FUZZ_OP_DESC,           /* u8 q, u16 i, gpa addr, u32 len, u16 flags, u16 next */
    FUZZ_OP_DESC_AT,        /* gpa where, gpa addr, u32 len, u16 flags, u16 next */
    FUZZ_OP_AVAIL_ADD,      /* u8 q, u16 head */
    FUZZ_OP_AVAIL_IDX,      /* u8 q, u16 idx */
    FUZZ_OP_EVENT,          /* u8 q, u16 avail flags, u16 used_event */
    FUZZ_OP_WRITE,          /* gpa where, u8 len, len bytes */
    FUZZ_OP_TX,             /* u8 q, u8 max, u8 keep */
    FUZZ_OP_RX,             /* u8 q, u16 len, u8 pieces */
    FUZZ_OP_UNPUSH,         /* u8 q, u8 n */
    FUZZ_OP_NOTIFY,         /* u8 q, u8 how */
    FUZZ_OP_BASE,           /* u8 q, u16 idx: SET_VRING_BASE */
    FUZZ_OP_RESET,          /* u8 q */
    FUZZ_OP_FILL,           /* u8 q, u16 first, u16 count, gpa addr, u32 len, u16 flags */
    FUZZ_OP_FILL_AT,        /* gpa where, u16 count, gpa addr, u32 len, u16 flags */
    FUZZ_OP_FILL_AVAIL,     /* u8 q, u16 first head, u16 count */
    FUZZ_OP_TRANSLATE,      /* gpa, u32 len, u8 max pieces, uva */
    FUZZ_OP_COUNT,
} FuzzOp;

typedef struct FuzzGuest {
    FuzzInput in;
    VuMem mem;
    FuzzSpans spans;                    /* the regions vu_mem took */
    unsigned nregions;
    uint8_t *buf[FUZZ_REGIONS];         /* exactly size[i] bytes each */
    uint64_t size[FUZZ_REGIONS];
    uint64_t gpa[FUZZ_REGIONS];
    uint64_t uva[FUZZ_REGIONS];
    Virtq vq[2];
    bool event_idx;
    bool indirect;
    bool mergeable;
    size_t hdr_len;
    unsigned ring_ops;                  /* TX and RX so far */
} FuzzGuest;

static void fuzz_guest_regions(FuzzGuest *g)
{
    g->nregions = 1 + fuzz_u8(&g->in) % FUZZ_REGIONS;
    for (unsigned i = 0; i < g->nregions; i++) {
        uint64_t size = (uint64_t)fuzz_u16(&g->in) + 1;
        uint8_t placement = fuzz_u8(&g->in);

        if (placement & 1) {
            g->gpa[i] = i ? g->gpa[i - 1] + g->size[i - 1] : 0;
        } else {
            g->gpa[i] = fuzz_u64(&g->in);
        }
        g->uva[i] = placement & 2 ? g->gpa[i] + FUZZ_UVA_BASE
                                  : fuzz_u64(&g->in);
        g->size[i] = size;
        g->buf[i] = g_malloc0(size);
        if (vu_mem_add(&g->mem, g->gpa[i], size, g->uva[i], g->buf[i])) {
            fuzz_spans_add(&g->spans, g->buf[i], size);
        }
    }
}

/*
 * An address operand: u8 selector; below 0xf0, region selector % n and a
 * u32 offset into it (up to 64 bytes past its end), else a raw u64.
 */
static uint64_t fuzz_guest_addr(FuzzGuest *g, const uint64_t *base)
{
    uint8_t sel = fuzz_u8(&g->in);
    uint32_t offset;
    unsigned r;

    if (sel >= 0xf0) {
        return fuzz_u64(&g->in);
    }
    r = sel % g->nregions;
    offset = fuzz_u32(&g->in);
    return base[r] + offset % (g->size[r] + 64);
}

/* Our own translation of a gpa, independent of the code under test. */
static uint8_t *fuzz_guest_host(FuzzGuest *g, uint64_t gpa, size_t len)
{
    for (unsigned i = 0; i < g->nregions; i++) {
        if (gpa >= g->gpa[i] && gpa - g->gpa[i] <= g->size[i] &&
            len <= g->size[i] - (gpa - g->gpa[i])) {
            return g->buf[i] + (gpa - g->gpa[i]);
        }
    }
    return NULL;
}

static Virtq *fuzz_guest_vq(FuzzGuest *g)
{
    return &g->vq[fuzz_u8(&g->in) & 1];
}

static void fuzz_op_setup(FuzzGuest *g)
{
    Virtq *vq = fuzz_guest_vq(g);
    uint8_t n = fuzz_u8(&g->in);
    unsigned num = n & 0x80 ? fuzz_u16(&g->in) : 1u << (n % 11);
    uint64_t desc = fuzz_guest_addr(g, g->uva);
    uint64_t avail = fuzz_guest_addr(g, g->uva);
    uint64_t used = fuzz_guest_addr(g, g->uva);
    const char *reason = NULL;

    if (virtq_setup(vq, &g->mem, num, desc, avail, used, &reason)) {
        fuzz_trace("setup %u entries: ok", num);
        fuzz_check_rings(vq, &g->spans);
    } else {
        fuzz_trace("setup %u entries: %s", num, reason);
        fuzz_check(reason != NULL && vq->num == 0,
                   "virtq_setup failed without a reason or left num set");
    }
    vq->event_idx = g->event_idx;
    vq->indirect = g->indirect;
}

/* A descriptor from the input, written to @d (if not NULL; any alignment). */
static void fuzz_desc_write(void *d, FuzzGuest *g)
{
    VirtqDesc v;

    v.addr = fuzz_guest_addr(g, g->gpa);
    v.len = fuzz_u32(&g->in);
    v.flags = fuzz_u16(&g->in);
    v.next = fuzz_u16(&g->in);
    if (d) {
        memcpy(d, &v, sizeof(v));
    }
}

static void fuzz_op_desc(FuzzGuest *g)
{
    Virtq *vq = fuzz_guest_vq(g);
    uint16_t i = fuzz_u16(&g->in);

    fuzz_desc_write(vq->num ? &vq->desc[i % vq->num] : NULL, g);
}

static void fuzz_op_desc_at(FuzzGuest *g)
{
    uint64_t where = fuzz_guest_addr(g, g->gpa);

    fuzz_desc_write(fuzz_guest_host(g, where, sizeof(VirtqDesc)), g);
}

static void fuzz_op_avail_add(FuzzGuest *g)
{
    Virtq *vq = fuzz_guest_vq(g);
    uint16_t head = fuzz_u16(&g->in);

    if (vq->num) {
        vq->avail->ring[vq->avail->idx % vq->num] = head;
        vq->avail->idx++;
    }
}

static void fuzz_op_avail_idx(FuzzGuest *g)
{
    Virtq *vq = fuzz_guest_vq(g);
    uint16_t idx = fuzz_u16(&g->in);

    if (vq->num) {
        vq->avail->idx = idx;
    }
}

static void fuzz_op_event(FuzzGuest *g)
{
    Virtq *vq = fuzz_guest_vq(g);
    uint16_t flags = fuzz_u16(&g->in);
    uint16_t used_event = fuzz_u16(&g->in);

    if (vq->num) {
        vq->avail->flags = flags;
        vq->avail->ring[vq->num] = used_event;
    }
}

static void fuzz_op_write(FuzzGuest *g)
{
    uint64_t where = fuzz_guest_addr(g, g->gpa);
    uint8_t bytes[255];
    size_t len = fuzz_bytes(&g->in, bytes, fuzz_u8(&g->in));
    uint8_t *host;

    for (; len; len--) {                /* as much as fits */
        host = fuzz_guest_host(g, where, len);
        if (host) {
            memcpy(host, bytes, len);
            return;
        }
    }
}

static void fuzz_op_tx(FuzzGuest *g)
{
    Virtq *vq = fuzz_guest_vq(g);
    unsigned max = 1 + fuzz_u8(&g->in) % 64;
    unsigned keep = fuzz_u8(&g->in);

    if (g->ring_ops++ >= FUZZ_MAX_RING_OPS) {
        return;
    }
    fuzz_ring_tx(vq, &g->mem, &g->spans, g->hdr_len, max, keep);
}

static void fuzz_op_rx(FuzzGuest *g)
{
    Virtq *vq = fuzz_guest_vq(g);
    uint16_t len = fuzz_u16(&g->in);
    uint8_t pieces = fuzz_u8(&g->in);

    if (g->ring_ops++ >= FUZZ_MAX_RING_OPS) {
        return;
    }
    fuzz_ring_rx(vq, &g->mem, g->hdr_len, g->mergeable, len, pieces);
}

static void fuzz_op_unpush(FuzzGuest *g)
{
    Virtq *vq = fuzz_guest_vq(g);
    uint8_t n = fuzz_u8(&g->in);

    virtq_unpush(vq, MIN(n, vq->used_pending));
}

static void fuzz_op_notify(FuzzGuest *g)
{
    Virtq *vq = fuzz_guest_vq(g);
    uint8_t how = fuzz_u8(&g->in);

    if (how & 4) {
        virtq_enable_for_more(vq);
    } else if (how & 2) {
        virtq_enable_and_recheck(vq);
    } else {
        virtq_set_notification(vq, how & 1);
    }
    fuzz_check(virtq_avail_count(vq) <= VIRTQ_MAX_SIZE || vq->broken,
               "more entries available than a ring holds");
}

static void fuzz_op_base(FuzzGuest *g)
{
    Virtq *vq = fuzz_guest_vq(g);
    uint16_t idx = fuzz_u16(&g->in);

    vq->last_avail_idx = idx;
    vq->used_idx = idx;
}

static void fuzz_op_reset(FuzzGuest *g)
{
    Virtq *vq = fuzz_guest_vq(g);

    virtq_reset(vq);
    fuzz_check(!vq->broken && vq->num == 0, "virtq_reset left state");
}

/* A run of descriptors, each naming the next, all the same buffer. */
static void fuzz_desc_fill(uint8_t *table, size_t room, unsigned first,
                           unsigned count, unsigned num, FuzzGuest *g)
{
    VirtqDesc d = {
        .addr = fuzz_guest_addr(g, g->gpa),
        .len = fuzz_u32(&g->in),
        .flags = fuzz_u16(&g->in),
    };

    for (unsigned j = 0; j < count; j++) {
        unsigned i = (first + j) % num;

        if ((i + 1) * sizeof(d) > room) {
            return;
        }
        d.next = (uint16_t)((i + 1) % num);
        memcpy(table + i * sizeof(d), &d, sizeof(d));
    }
}

static void fuzz_op_fill(FuzzGuest *g)
{
    Virtq *vq = fuzz_guest_vq(g);
    uint16_t first = fuzz_u16(&g->in);
    uint16_t count = fuzz_u16(&g->in);

    if (vq->num) {
        fuzz_desc_fill((uint8_t *)vq->desc, virtq_desc_size(vq->num), first,
                       count % (vq->num + 1), vq->num, g);
    } else {
        fuzz_desc_fill(NULL, 0, 0, 0, 1, g);
    }
}

static void fuzz_op_fill_at(FuzzGuest *g)
{
    uint64_t where = fuzz_guest_addr(g, g->gpa);
    unsigned count = fuzz_u16(&g->in) % (VIRTQ_MAX_SIZE + 1);
    uint8_t *host = NULL;
    size_t room = (size_t)count * sizeof(VirtqDesc);

    while (room && !(host = fuzz_guest_host(g, where, room))) {
        room -= sizeof(VirtqDesc);          /* as much as fits */
    }
    fuzz_desc_fill(host, host ? room : 0, 0, count, VIRTQ_MAX_SIZE + 1, g);
}

static void fuzz_op_fill_avail(FuzzGuest *g)
{
    Virtq *vq = fuzz_guest_vq(g);
    uint16_t head = fuzz_u16(&g->in);
    uint16_t count = fuzz_u16(&g->in);

    for (unsigned j = 0; vq->num && j < count % (vq->num + 1); j++) {
        vq->avail->ring[vq->avail->idx % vq->num] = (uint16_t)(head + j);
        vq->avail->idx++;
    }
}

/* The memory table's lookups: NULL/-1, or memory we really gave. */
static void fuzz_op_translate(FuzzGuest *g)
{
    uint64_t gpa = fuzz_guest_addr(g, g->gpa);
    uint32_t len = fuzz_u32(&g->in) % (2 * (FUZZ_REGIONS << 16));
    unsigned max = 1 + fuzz_u8(&g->in) % FUZZ_REGIONS;
    uint64_t uva = fuzz_guest_addr(g, g->uva);
    struct iovec iov[FUZZ_REGIONS];
    void *p;
    int n = vu_mem_gpa_to_iov(&g->mem, gpa, len, iov, max);
    size_t total = 0;

    fuzz_check(n >= -1 && n <= (int)max, "vu_mem_gpa_to_iov gave %d", n);
    for (int i = 0; i < n; i++) {
        fuzz_check(fuzz_spans_inside(&g->spans, iov[i].iov_base,
                                     iov[i].iov_len),
                   "vu_mem_gpa_to_iov piece %d outside guest memory", i);
        total += iov[i].iov_len;
    }
    fuzz_check(n == -1 || total == len, "vu_mem_gpa_to_iov: %zu of %u bytes",
               total, len);
    p = vu_mem_gpa_to_host(&g->mem, gpa, len);
    fuzz_check(!p || (len && fuzz_spans_inside(&g->spans, p, len)),
               "vu_mem_gpa_to_host outside guest memory");
    p = vu_mem_uva_to_host(&g->mem, uva, len);
    fuzz_check(!p || (len && fuzz_spans_inside(&g->spans, p, len)),
               "vu_mem_uva_to_host outside guest memory");
}

static void (*const fuzz_ops[FUZZ_OP_COUNT])(FuzzGuest *g) = {
    [FUZZ_OP_SETUP] = fuzz_op_setup,
    [FUZZ_OP_DESC] = fuzz_op_desc,
    [FUZZ_OP_DESC_AT] = fuzz_op_desc_at,
    [FUZZ_OP_AVAIL_ADD] = fuzz_op_avail_add,
    [FUZZ_OP_AVAIL_IDX] = fuzz_op_avail_idx,
    [FUZZ_OP_EVENT] = fuzz_op_event,
    [FUZZ_OP_WRITE] = fuzz_op_write,
    [FUZZ_OP_TX] = fuzz_op_tx,
    [FUZZ_OP_RX] = fuzz_op_rx,
    [FUZZ_OP_UNPUSH] = fuzz_op_unpush,
    [FUZZ_OP_NOTIFY] = fuzz_op_notify,
    [FUZZ_OP_BASE] = fuzz_op_base,
    [FUZZ_OP_RESET] = fuzz_op_reset,
    [FUZZ_OP_FILL] = fuzz_op_fill,
    [FUZZ_OP_FILL_AT] = fuzz_op_fill_at,
    [FUZZ_OP_FILL_AVAIL] = fuzz_op_fill_avail,
    [FUZZ_OP_TRANSLATE] = fuzz_op_translate,
};

static FuzzGuest fuzz_guest;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzGuest *g = &fuzz_guest;
    uint8_t features;

    memset(g, 0, sizeof(*g));
    fuzz_input_init(&g->in, data, size);
    features = fuzz_u8(&g->in);
    g->event_idx = features & 1;
    g->indirect = features & 2;
    g->mergeable = features & 4;
    g->hdr_len = features & 8 ? VIRTIO_NET_HDR_LEN_LEGACY : VIRTIO_NET_HDR_LEN;
    vu_mem_clear(&g->mem);
    virtq_reset(&g->vq[0]);
    virtq_reset(&g->vq[1]);
    fuzz_guest_regions(g);
    while (!fuzz_input_empty(&g->in)) {
        fuzz_ops[fuzz_u8(&g->in) % FUZZ_OP_COUNT](g);
    }
    for (unsigned i = 0; i < g->nregions; i++) {
        g_free(g->buf[i]);
    }
    return 0;
}
