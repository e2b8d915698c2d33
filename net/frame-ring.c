/*
 * DOC: bounded FIFO of frames (see include/net/frame-ring.h)
 *
 * The arena holds frames back to back.  With at least one frame held, the
 * oldest starts at `rd` and the next goes at `wr`:
 *
 *   linear   (wr > rd):  [ free | oldest ... newest | free ]
 *   wrapped  (wr <= rd): [ newer ... newest | free | oldest ... | pad ]
 *
 * A frame that does not fit between wr and the arena's end starts again at
 * offset 0 if it fits before rd; the bytes skipped at the end are padding,
 * implied by the next slot starting at 0.  Slots are a circular array.
 *
 * Arena and slots are allocated by the first push, not by init: most
 * rings (the incoming queue of a client that keeps up, an idle
 * connection's) never hold a frame, and an idle connection must cost
 * little (docs/security.md, "Bounded resources").  The first push is the
 * ring's idle->busy transition; the storage then stays until destroy, so
 * steady traffic allocates nothing.
 */
#include "net/frame-ring.h"

#include <glib.h>
#include <string.h>

void frame_ring_init(FrameRing *r, size_t arena_size, unsigned max_frames)
{
    memset(r, 0, sizeof(*r));
    r->arena_size = arena_size;
    r->max_frames = max_frames;
}

/* The first push: allocate the storage. */
static void frame_ring_allocate(FrameRing *r)
{
    r->arena = g_malloc(r->arena_size);
    r->slots = g_new0(FrameSlot, r->max_frames);
}

void frame_ring_destroy(FrameRing *r)
{
    g_free(r->arena);
    g_free(r->slots);
    memset(r, 0, sizeof(*r));
}

/* Arena offset where a frame of @len bytes would go, or -1 if none. */
static ssize_t frame_ring_place(const FrameRing *r, size_t len)
{
    if (r->count == r->max_frames || len == 0 || len > r->arena_size) {
        return -1;
    }
    if (r->count == 0) {
        return 0;
    }
    if (r->wr > r->rd) {
        if (r->arena_size - r->wr >= len) {
            return r->wr;
        }
        return len <= r->rd ? 0 : -1;
    }
    return r->rd - r->wr >= len ? (ssize_t)r->wr : -1;
}

bool frame_ring_has_room(const FrameRing *r, size_t len)
{
    return frame_ring_place(r, len) >= 0;
}

FrameSlot *frame_ring_push_iov(FrameRing *r, const struct iovec *iov,
                               int iovcnt, size_t len)
{
    ssize_t off = frame_ring_place(r, len);
    FrameSlot *slot;
    size_t copied = 0;

    if (off < 0) {
        return NULL;
    }
    if (G_UNLIKELY(!r->arena)) {
        frame_ring_allocate(r);
    }
    if (r->count == 0) {
        r->rd = 0;
    }
    for (int i = 0; i < iovcnt && copied < len; i++) {
        size_t n = MIN(iov[i].iov_len, len - copied);
        memcpy(r->arena + off + copied, iov[i].iov_base, n);
        copied += n;
    }
    slot = &r->slots[(r->first + r->count) % r->max_frames];
    *slot = (FrameSlot) { .data = r->arena + off, .len = (uint32_t)len };
    r->wr = (size_t)off + len;
    r->count++;
    r->bytes += len;
    return slot;
}

FrameSlot *frame_ring_push(FrameRing *r, const uint8_t *buf, size_t len)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return frame_ring_push_iov(r, &iov, 1, len);
}

FrameSlot *frame_ring_peek(FrameRing *r)
{
    return r->count ? &r->slots[r->first] : NULL;
}

FrameSlot *frame_ring_at(FrameRing *r, unsigned i)
{
    return i < r->count ? &r->slots[(r->first + i) % r->max_frames] : NULL;
}

void frame_ring_pop(FrameRing *r)
{
    FrameSlot *slot = frame_ring_peek(r);

    g_assert(slot);
    r->bytes -= slot->len;
    r->first = (r->first + 1) % r->max_frames;
    r->count--;
    if (r->count == 0) {
        r->rd = r->wr = 0;
    } else {
        r->rd = (size_t)(r->slots[r->first].data - r->arena);
    }
}
