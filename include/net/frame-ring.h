/*
 * DOC: a bounded FIFO of frames in storage allocated once
 *
 * The frame path allocates nothing: a FrameRing owns one byte arena and one
 * array of slot descriptors, both sized when the ring is created and
 * allocated when the first frame is pushed (an idle ring costs only its
 * struct), then kept until the ring is destroyed.  A frame
 * pushed is copied into the arena contiguously (the arena wraps between
 * frames, never inside one) and described by a slot; frames leave in FIFO
 * order.  The ring is bounded both in frames and in bytes.
 *
 * Used by the incoming queue of every client (net/queue.c) and the RX ring
 * of the NIC model.  (A stream socket's transmit buffer is a byte ring of
 * its own: partial writes cut frames anywhere.)
 */
#ifndef NET_FRAME_RING_H
#define NET_FRAME_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct FrameSlot {
    uint8_t *data;      /* points into the arena */
    uint32_t len;
    void *owner;        /* for the ring's user: e.g. the sender */
    void (*cb)(void);   /* for the ring's user: e.g. a completion callback */
} FrameSlot;

typedef struct FrameRing {
    uint8_t *arena;
    size_t arena_size;
    size_t rd;          /* arena offset of the oldest frame */
    size_t wr;          /* arena offset where the next frame goes */
    FrameSlot *slots;
    unsigned max_frames;
    unsigned first;     /* index of the oldest slot */
    unsigned count;
    size_t bytes;       /* sum of frame lengths held */
} FrameRing;

/*
 * Size the ring for at most @max_frames frames and @arena_size bytes; the
 * storage is allocated by the first push.
 */
void frame_ring_init(FrameRing *r, size_t arena_size, unsigned max_frames);
void frame_ring_destroy(FrameRing *r);

/* True if a frame of @len bytes fits now. */
bool frame_ring_has_room(const FrameRing *r, size_t len);

/*
 * Copy the @iovcnt buffers, @len bytes in all, in as one frame.  Returns the
 * new slot, or NULL if it does not fit (nothing changed).
 */
FrameSlot *frame_ring_push_iov(FrameRing *r, const struct iovec *iov,
                               int iovcnt, size_t len);
FrameSlot *frame_ring_push(FrameRing *r, const uint8_t *buf, size_t len);

/* The oldest frame, or NULL if empty. */
FrameSlot *frame_ring_peek(FrameRing *r);
/* The @i-th oldest frame (0 = oldest), or NULL. */
FrameSlot *frame_ring_at(FrameRing *r, unsigned i);
/* Remove the oldest frame. */
void frame_ring_pop(FrameRing *r);

static inline bool frame_ring_is_empty(const FrameRing *r)
{
    return r->count == 0;
}

#endif /* NET_FRAME_RING_H */
