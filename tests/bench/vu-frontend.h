/*
 * vu-frontend: a small vhost-user frontend (the part QEMU plays) for the
 * benchmark.  See vu-frontend.c.
 */
#ifndef VU_FRONTEND_H
#define VU_FRONTEND_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VU_NET_HDR_LEN 12           /* struct virtio_net_hdr_mrg_rxbuf */

/* Virtio feature bits the frontend asks for. */
#define VU_F_MRG_RXBUF 15
#define VU_F_EVENT_IDX 29
#define VU_F_PROTOCOL_FEATURES 30
#define VU_F_VERSION_1 32

typedef struct VuFrontend VuFrontend;

typedef struct VuFrontendConfig {
    unsigned ring_size;             /* 256 or 1024 (a power of 2, <= 32768) */
    size_t buf_size;                /* bytes per buffer, header included */
    size_t rx_len;                  /* RX descriptors' length (0: buf_size;
                                     * less makes MRG_RXBUF spread frames) */
    double connect_timeout_s;       /* retry connect() this long */
} VuFrontendConfig;

/* Counters, for the benchmark's notes. */
typedef struct VuFrontendStats {
    uint64_t kicks;                 /* eventfd writes (TX and RX refills) */
    uint64_t waits;                 /* blocking poll()s on a call eventfd */
    uint64_t calls;                 /* call eventfd reads that found a call */
    uint64_t tx_frames;
    uint64_t rx_frames;
} VuFrontendStats;

/* Called for each received frame; @frame is borrowed until it returns. */
typedef void (*VuRxFn)(void *opaque, const uint8_t *frame, size_t len);

/*
 * Connect to the backend listening on @path, negotiate, create the guest
 * memory, set up RX (vring 0, every buffer posted) and TX (vring 1) and
 * enable both.  NULL and @errp set on failure.
 */
VuFrontend *vu_frontend_connect(const char *path, const VuFrontendConfig *cfg,
                                GError **errp);

/* Close the connection and free the memory.  Accepts NULL. */
void vu_frontend_free(VuFrontend *f);

uint64_t vu_frontend_features(const VuFrontend *f);
const VuFrontendStats *vu_frontend_stats(const VuFrontend *f);

/* Largest frame one TX or RX buffer takes (buf_size - header). */
size_t vu_frontend_max_frame(const VuFrontend *f);

/*
 * TX, zero copy: reap used TX descriptors, then hand out up to @want
 * frame buffers (each vu_frontend_max_frame() bytes) in @frames.  Returns
 * how many; they are the next ones vu_frontend_tx_commit() publishes.
 */
unsigned vu_frontend_tx_reserve(VuFrontend *f, unsigned want, uint8_t **frames);

/*
 * Publish the first @n reserved buffers, frame i of @lens[i] bytes (one
 * descriptor each, header + frame), and kick the backend if it asked for
 * it (EVENT_IDX) or did not disable kicks.  Returns 1 if it kicked.
 */
int vu_frontend_tx_commit(VuFrontend *f, unsigned n, const uint32_t *lens);

/*
 * Block (poll on the TX call eventfd, at most @timeout_ms) until at least
 * @want TX buffers are free.  Returns the number free.
 */
unsigned vu_frontend_tx_wait(VuFrontend *f, unsigned want, int timeout_ms);

/*
 * RX: call @fn for each frame in the used ring (at most @max), give the
 * buffers back to the backend and kick it if it asked.  Returns how many
 * frames.  No system call unless the backend waits for buffers.
 */
unsigned vu_frontend_rx_poll(VuFrontend *f, unsigned max, VuRxFn fn,
                             void *opaque);

/*
 * Ask for a call once @want more RX buffers are used (1: the next one;
 * more lets a receiver that knows how many frames are coming take them
 * in fewer wake-ups) and block on the RX call eventfd (at most
 * @timeout_ms) unless they are there already.  True if frames are waiting.
 */
bool vu_frontend_rx_wait(VuFrontend *f, unsigned want, int timeout_ms);

#endif
