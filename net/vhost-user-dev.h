/*
 * The vhost-user protocol state of ONE frontend connection
 * (net/vhost-user-dev.c), independent of sockets and of the main loop:
 * the caller hands it one whole message (header, payload, the fds that
 * came with it) and gets back "done", "send this reply" or "close the
 * connection" (with a reason for the one log line).  The unit tests and
 * the fuzzer feed it bytes the same way net/vhost-user.c does.
 *
 * Offered: split rings, one queue pair (vring 0 = RX, vring 1 = TX),
 * features VERSION_1, MRG_RXBUF, EVENT_IDX, INDIRECT_DESC,
 * PROTOCOL_FEATURES; protocol features MQ (GET_QUEUE_NUM answers 1) and
 * REPLY_ACK.
 */
#ifndef NET_VHOST_USER_DEV_H
#define NET_VHOST_USER_DEV_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/virtq.h"

/* Requests (front-end to back-end), as numbered by the vhost-user spec. */
enum {
    VHOST_USER_GET_FEATURES = 1,
    VHOST_USER_SET_FEATURES = 2,
    VHOST_USER_SET_OWNER = 3,
    VHOST_USER_RESET_OWNER = 4,
    VHOST_USER_SET_MEM_TABLE = 5,
    VHOST_USER_SET_LOG_BASE = 6,
    VHOST_USER_SET_LOG_FD = 7,
    VHOST_USER_SET_VRING_NUM = 8,
    VHOST_USER_SET_VRING_ADDR = 9,
    VHOST_USER_SET_VRING_BASE = 10,
    VHOST_USER_GET_VRING_BASE = 11,
    VHOST_USER_SET_VRING_KICK = 12,
    VHOST_USER_SET_VRING_CALL = 13,
    VHOST_USER_SET_VRING_ERR = 14,
    VHOST_USER_GET_PROTOCOL_FEATURES = 15,
    VHOST_USER_SET_PROTOCOL_FEATURES = 16,
    VHOST_USER_GET_QUEUE_NUM = 17,
    VHOST_USER_SET_VRING_ENABLE = 18,
};

/* Virtio and vhost-user feature bits. */
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29
#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VIRTIO_F_VERSION_1 32
#define VHOST_USER_PROTOCOL_F_MQ 0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3

#define VU_DEV_FEATURES                                                 \
    ((1ULL << VIRTIO_NET_F_MRG_RXBUF) |                                 \
     (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                            \
     (1ULL << VIRTIO_RING_F_EVENT_IDX) |                                \
     (1ULL << VHOST_USER_F_PROTOCOL_FEATURES) |                         \
     (1ULL << VIRTIO_F_VERSION_1))
#define VU_DEV_PROTOCOL_FEATURES                                        \
    ((1ULL << VHOST_USER_PROTOCOL_F_MQ) |                               \
     (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK))

/* Header flags. */
#define VHOST_USER_VERSION 0x1
#define VHOST_USER_VERSION_MASK 0x3
#define VHOST_USER_REPLY_MASK (1u << 2)
#define VHOST_USER_NEED_REPLY_MASK (1u << 3)

/* Vring index payload (SET_VRING_KICK/CALL/ERR): bit 8 = no fd. */
#define VHOST_USER_VRING_IDX_MASK 0xffu
#define VHOST_USER_VRING_NOFD_MASK (1u << 8)

#define VU_DEV_NUM_VRINGS 2         /* one queue pair */
#define VU_DEV_RX 0                 /* vring 0: to the guest */
#define VU_DEV_TX 1                 /* vring 1: from the guest */
#define VU_MSG_HEADER_SIZE 12
#define VU_MSG_MAX_PAYLOAD 4096     /* larger is refused before reading */
#define VU_MSG_MAX_FDS 8            /* SCM_RIGHTS fds per message */

/* Wire header, host order (x86: the spec's little-endian). */
typedef struct VuMsgHeader {
    uint32_t request;
    uint32_t flags;
    uint32_t size;              /* payload bytes that follow */
} VuMsgHeader;

/* A reply to send: header then hdr.size bytes of payload. */
typedef struct VuMsgReply {
    VuMsgHeader hdr;
    uint8_t payload[VU_MSG_MAX_PAYLOAD];
} VuMsgReply;

/*
 * Mapping seam: net/vhost-user.c maps with mmap(MAP_SHARED); the fuzzer
 * and the tests may give fake memory.  map returns NULL on failure.
 * Optional hooks (NULL = nothing to do) tell the socket layer what changed.
 */
typedef struct VuDevOps {
    void *(*map)(void *opaque, int fd, uint64_t size, uint64_t offset);
    void (*unmap)(void *opaque, void *addr, uint64_t size);
    /* A vring's kick fd, enable or started state changed. */
    void (*vring_changed)(void *opaque, unsigned index);
} VuDevOps;

typedef struct VuVring {
    Virtq vq;
    int kick_fd;                /* -1: none (or polling) */
    int call_fd;
    int err_fd;
    bool started;               /* kick received (or polling) after setup */
    bool enabled;               /* SET_VRING_ENABLE (on when no PROTOCOL_F) */
    unsigned num;               /* SET_VRING_NUM */
    bool addr_set;
    uint64_t desc_uva, avail_uva, used_uva;
} VuVring;

typedef struct VuDev {
    const VuDevOps *ops;
    void *opaque;
    uint64_t features;          /* acked by SET_FEATURES */
    uint64_t protocol_features; /* acked by SET_PROTOCOL_FEATURES */
    bool owner;
    VuMem mem;
    void *map_addr[VU_MEM_MAX_REGIONS];  /* what to unmap */
    uint64_t map_size[VU_MEM_MAX_REGIONS];
    VuVring vring[VU_DEV_NUM_VRINGS];
} VuDev;

/* A fresh device (no memory, rings unset); @ops is borrowed. */
void vu_dev_init(VuDev *dev, const VuDevOps *ops, void *opaque);
/* Close every fd, unmap every region, back to vu_dev_init's state. */
void vu_dev_cleanup(VuDev *dev);

typedef enum VuDevResult {
    VU_DEV_DONE,                /* handled, nothing to send */
    VU_DEV_REPLY,               /* handled, send *reply */
    VU_DEV_CLOSE,               /* refused: log *errp, close connection */
} VuDevResult;

/*
 * Handle one request: @hdr and @len bytes of @payload (len == hdr->size),
 * with @nfds descriptors that came with it.  The fds are always taken
 * (kept or closed) whatever the result; @fds entries are set to -1.  REPLY_ACK (when negotiated and
 * asked for) is answered in *reply.  VU_DEV_CLOSE sets *errp to a message
 * in the user's terms, e.g. "unsupported request 19".  Never aborts on
 * anything the frontend sends.
 */
VuDevResult vu_dev_handle(VuDev *dev, const VuMsgHeader *hdr,
                          const void *payload, size_t len,
                          int *fds, size_t nfds,
                          VuMsgReply *reply, GError **errp);

/* True once vring @index may be processed (set up, started, enabled). */
bool vu_dev_vring_live(const VuDev *dev, unsigned index);
/* Negotiated feature bit @bit. */
static inline bool vu_dev_has(const VuDev *dev, unsigned bit)
{
    return (dev->features >> bit) & 1;
}
/* Virtio-net header length the guest uses (12 or 10). */
size_t vu_dev_hdr_len(const VuDev *dev);

#endif /* NET_VHOST_USER_DEV_H */
