/*
 * Guest memory and split virtqueues (net/virtq.c): the part of vhost-user
 * that touches memory the guest shares with us.
 *
 * Everything here is pure: no syscalls, no main loop, no logging, so the
 * unit tests and the fuzzer drive it with a plain buffer as guest memory.
 * THE GUEST IS UNTRUSTED: every address and length read from the rings is
 * checked against the memory table before it is used, every field of the
 * shared rings is read once into a local, and chain walks are bounded by
 * the ring size.  A malformed ring marks its Virtq broken (reason kept);
 * a broken Virtq does nothing until virtq_reset().
 */
#ifndef NET_VIRTQ_H
#define NET_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define VU_MEM_MAX_REGIONS 8
#define VIRTQ_MAX_SIZE 1024         /* ring size limit (a power of two) */
#define VIRTQ_MAX_IOV 1024          /* iovec pieces in one element */

/* The virtio-net header with num_buffers (VERSION_1 or MRG_RXBUF). */
#define VIRTIO_NET_HDR_LEN 12
#define VIRTIO_NET_HDR_LEN_LEGACY 10

/* One region of guest memory, as SET_MEM_TABLE describes it. */
typedef struct VuMemRegion {
    uint64_t gpa;               /* guest physical address */
    uint64_t size;              /* bytes (> 0) */
    uint64_t uva;               /* the frontend's user address */
    uint8_t *host;              /* our mapping of the region (borrowed) */
} VuMemRegion;

/* The memory table: regions do not overlap (checked when added). */
typedef struct VuMem {
    unsigned nregions;
    VuMemRegion regions[VU_MEM_MAX_REGIONS];
} VuMem;

/* Forget every region (the mappings stay the caller's). */
void vu_mem_clear(VuMem *mem);
/*
 * Add a region; false if the table is full, the size is 0, gpa+size or
 * uva+size wraps, or it overlaps an existing region in either space.
 */
bool vu_mem_add(VuMem *mem, uint64_t gpa, uint64_t size, uint64_t uva,
                uint8_t *host);
/*
 * Host pointer for [gpa, gpa+len) (resp. the frontend's user address
 * range) if it lies wholly inside ONE region, else NULL.  len 0 is refused.
 */
void *vu_mem_gpa_to_host(const VuMem *mem, uint64_t gpa, uint64_t len);
void *vu_mem_uva_to_host(const VuMem *mem, uint64_t uva, uint64_t len);
/*
 * Map [gpa, gpa+len) into at most @max iovec pieces (one per region it
 * crosses; the regions must be adjacent).  Returns the number of pieces,
 * or -1 if any byte is outside memory, the range wraps or @max is too
 * small.  len 0 gives 0 pieces.
 */
int vu_mem_gpa_to_iov(const VuMem *mem, uint64_t gpa, uint64_t len,
                      struct iovec *iov, unsigned max);

/* Split ring layout (virtio 1.1, 2.6), little-endian, in guest memory. */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_USED_F_NO_NOTIFY 1
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

typedef struct VirtqDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} VirtqDesc;

typedef struct VirtqAvail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];            /* num entries, then used_event */
} VirtqAvail;

typedef struct VirtqUsedElem {
    uint32_t id;
    uint32_t len;
} VirtqUsedElem;

typedef struct VirtqUsed {
    uint16_t flags;
    uint16_t idx;
    VirtqUsedElem ring[];       /* num entries, then avail_event */
} VirtqUsed;

/* Bytes each ring part takes for @num entries (event fields included). */
size_t virtq_desc_size(unsigned num);
size_t virtq_avail_size(unsigned num);
size_t virtq_used_size(unsigned num);

/* One split virtqueue, as the device sees it. */
typedef struct Virtq {
    unsigned num;               /* ring size; 0 = not set up */
    VirtqDesc *desc;            /* host pointers into guest memory */
    VirtqAvail *avail;
    VirtqUsed *used;
    uint16_t last_avail_idx;    /* next avail entry to pop */
    uint16_t avail_idx_seen;    /* avail->idx as last read (see virtq_pop) */
    uint16_t used_idx;          /* used->idx as we last published it */
    uint16_t used_pending;      /* pushed, not yet published */
    uint16_t signalled_used;    /* used idx at the last notification */
    bool signalled_used_valid;
    bool event_idx;             /* VIRTIO_RING_F_EVENT_IDX negotiated */
    bool indirect;              /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    bool notifications_off;     /* we asked the guest not to kick */
    bool broken;
    const char *broken_reason;  /* static string, set once */
} Virtq;

/*
 * A popped chain: out (device-readable) pieces first, then in
 * (device-writable) pieces.  Fixed size: nothing is allocated per chain.
 */
typedef struct VirtqElement {
    uint16_t head;              /* descriptor index for virtq_push() */
    unsigned out_num;
    unsigned in_num;
    size_t out_len;
    size_t in_len;
    struct iovec iov[VIRTQ_MAX_IOV];
} VirtqElement;

/* Back to "not set up, not broken" (ring pointers cleared). */
void virtq_reset(Virtq *vq);
/*
 * Set the rings up from the frontend's user addresses of the descriptor
 * table, available and used rings (SET_VRING_ADDR), translated through
 * @mem.  @num must be a power of two <= VIRTQ_MAX_SIZE; each ring part
 * must lie wholly in one region and be aligned (16, 2, 4).  On failure
 * returns false with a static reason in *reason and leaves @vq unusable
 * (num 0); the indexes are kept.
 */
bool virtq_setup(Virtq *vq, const VuMem *mem, unsigned num,
                 uint64_t desc_uva, uint64_t avail_uva, uint64_t used_uva,
                 const char **reason);
/* Set up with ring pointers given directly (tests and the fuzzer). */
bool virtq_setup_host(Virtq *vq, unsigned num, VirtqDesc *desc,
                      VirtqAvail *avail, VirtqUsed *used);
/* True once set up and not broken. */
static inline bool virtq_ready(const Virtq *vq)
{
    return vq->num != 0 && !vq->broken;
}
/* Mark broken with a static @reason (the first reason is kept). */
void virtq_set_broken(Virtq *vq, const char *reason);

/*
 * Entries the guest made available that we have not popped: avail->idx
 * read now (virtq_pop reads it only when the entries it last saw are used
 * up: once per batch of chains, not once per chain).
 */
unsigned virtq_avail_count(Virtq *vq);
/*
 * Pop the next chain into @elem.  Returns 1 if one was popped, 0 if the
 * ring is empty (or not ready), -1 if the ring is broken (now or before).
 * Checks: avail idx at most num ahead, head and next < num, chain length
 * <= num, every buffer inside @mem, indirect tables only if negotiated,
 * a multiple of 16 bytes, not nested; at most VIRTQ_MAX_IOV pieces; a
 * readable descriptor after a writable one is refused.
 */
int virtq_pop(Virtq *vq, const VuMem *mem, VirtqElement *elem);
/* Give back the last @n popped chains (not pushed): RX that did not fit. */
void virtq_unpop(Virtq *vq, unsigned n);
/*
 * Return a chain with @len bytes written; visible after virtq_flush().
 * At most UINT16_MAX pushes between flushes (callers flush once
 * used_pending reaches the ring size).
 */
void virtq_push(Virtq *vq, uint16_t head, uint32_t len);
/* Drop the last @n pushes that were not flushed yet. */
void virtq_unpush(Virtq *vq, unsigned n);
/* Publish the pushed entries: one used->idx store after a release fence. */
void virtq_flush(Virtq *vq);
/*
 * After a flush: true if the guest wants an interrupt now (EVENT_IDX's
 * used_event, else the NO_INTERRUPT flag).  Remembers what it signalled.
 */
bool virtq_should_notify(Virtq *vq);
/*
 * Ask the guest to stop (false) or resume (true) kicking us: the
 * NO_NOTIFY flag, or with EVENT_IDX the avail_event field.
 */
void virtq_set_notification(Virtq *vq, bool enable);
/*
 * Re-enable kicks and re-check: true if entries arrived meanwhile (the
 * caller then disables again and keeps draining).  Full fence between.
 */
bool virtq_enable_and_recheck(Virtq *vq);
/*
 * Ask for a kick when the guest adds an entry beyond those there now:
 * for a frame that needs more RX buffers than are posted.  (With
 * EVENT_IDX, kicks asked for from the first unused entry would never
 * come: the guest is past it already.)  True if the guest's index moved
 * meanwhile: try again.  Full fence between.
 */
bool virtq_enable_for_more(Virtq *vq);

/*
 * RX: copy one frame (@iov, @iovcnt, the Ethernet frame without a virtio
 * header) into the guest, behind a @hdr_len-byte zeroed virtio-net header
 * (num_buffers filled when hdr_len is 12).  With @mergeable the frame may
 * span several chains; without, one chain must hold it.  @scratch is the
 * caller's element (no allocation).  Pushes but does not flush.  Returns
 * the frame length if it was copied, 0 if the guest has not made enough
 * buffers available (nothing consumed), -EIO if the ring is broken (now
 * or before), -EMSGSIZE if the guest's buffers can never hold the frame
 * (without @mergeable: the chain popped is too small; it is given back
 * unused and the ring is NOT broken).
 */
ssize_t virtq_rx_frame(Virtq *vq, const VuMem *mem, VirtqElement *scratch,
                       size_t hdr_len, bool mergeable,
                       const struct iovec *iov, int iovcnt);

/*
 * TX: drop the first @hdr_len bytes (the virtio-net header) of @elem's out
 * pieces, in place.  Returns the number of pieces left (the frame), or -1
 * if the chain is shorter than the header.
 */
int virtq_element_strip(VirtqElement *elem, size_t hdr_len);

#endif /* NET_VIRTQ_H */
