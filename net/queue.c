/*
 * DOC: incoming queues (see include/net/queue.h)
 *
 * send:  if nothing is queued and the receiver can take the frame, deliver
 *        it directly; otherwise (or if the receiver refused it with 0)
 *        append it.  Before that, a non-empty queue whose receiver can take
 *        frames again is flushed, so order holds.
 *        Frames appended while that direct delivery ran (sent from inside
 *        it) are flushed from the main loop by the queue's own idle source.
 * direct: net_queue_direct_begin/end let the owner (net/net.c) do the
 *        first case of send itself, under the same rule (busy meanwhile,
 *        frames sent from inside wait for the idle source).
 * flush: deliver from the head until the receiver refuses one (it stays at
 *        the head) or the queue is empty, calling each frame's completion
 *        callback after it left the queue.  Sends made from inside a
 *        delivery or a callback are appended and delivered by the same
 *        flush loop.
 */
#include "net/queue.h"

#include "net/frame-ring.h"
#include "util/batch.h"

struct NetQueue {
    NetQueueDeliverFunc *deliver;
    NetQueueCanReceiveFunc *can_receive;
    void *opaque;
    unsigned max_frames;        /* bound for frames without a callback */
    size_t max_bytes;
    FrameRing ring;
    bool delivering;            /* inside deliver or a flush loop */
    uint64_t dropped;
    uint64_t *drop_total, *drop_full;   /* the owner's counters, or NULL */
    unsigned high_water_frames; /* most frames ever queued at once */
    size_t high_water_bytes;    /* most bytes ever queued at once */
    GSource *flush_source;      /* deferred flush; ready time 0 = pending */
};

typedef struct NetQueueFlushSource {
    GSource source;
    NetQueue *queue;
} NetQueueFlushSource;

static gboolean net_queue_flush_dispatch(GSource *source, GSourceFunc unused,
                                         gpointer unused_data)
{
    g_source_set_ready_time(source, -1);
    batch_begin();
    net_queue_flush(((NetQueueFlushSource *)source)->queue);
    batch_end();
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs net_queue_flush_funcs = {
    .dispatch = net_queue_flush_dispatch,
};

NetQueue *net_queue_new(NetQueueDeliverFunc *deliver,
                        NetQueueCanReceiveFunc *can_receive, void *opaque,
                        unsigned max_frames, size_t max_bytes)
{
    NetQueue *queue = g_new0(NetQueue, 1);

    queue->deliver = deliver;
    queue->can_receive = can_receive;
    queue->opaque = opaque;
    queue->max_frames = max_frames;
    queue->max_bytes = max_bytes;
    /* The reserve: room for frames whose senders wait for a callback. */
    frame_ring_init(&queue->ring, max_bytes + 4 * NET_BUFSIZE,
                    max_frames + 64);
    queue->flush_source = g_source_new(&net_queue_flush_funcs,
                                       sizeof(NetQueueFlushSource));
    ((NetQueueFlushSource *)queue->flush_source)->queue = queue;
    g_source_set_ready_time(queue->flush_source, -1);
    g_source_attach(queue->flush_source, NULL);
    return queue;
}

void net_queue_free(NetQueue *queue)
{
    FrameSlot *slot;

    if (!queue) {
        return;
    }
    while ((slot = frame_ring_peek(&queue->ring))) {
        NetClientState *sender = slot->owner;
        NetPacketSent *sent_cb = (NetPacketSent *)slot->cb;

        frame_ring_pop(&queue->ring);
        if (sent_cb) {
            sent_cb(sender, 0);
        }
    }
    frame_ring_destroy(&queue->ring);
    g_source_destroy(queue->flush_source);
    g_source_unref(queue->flush_source);
    g_free(queue);
}

static void net_queue_count_drop(NetQueue *queue)
{
    queue->dropped++;
    if (queue->drop_total) {
        (*queue->drop_total)++;
        (*queue->drop_full)++;
    }
}

static bool net_queue_append(NetQueue *queue, NetClientState *sender,
                             const struct iovec *iov, int iovcnt,
                             size_t size, NetPacketSent *sent_cb)
{
    FrameSlot *slot;

    if (!sent_cb && (queue->ring.count >= queue->max_frames ||
                     queue->ring.bytes + size > queue->max_bytes)) {
        net_queue_count_drop(queue);
        return false;
    }
    slot = frame_ring_push_iov(&queue->ring, iov, iovcnt, size);
    if (!slot) {
        net_queue_count_drop(queue);
        return false;
    }
    slot->owner = sender;
    slot->cb = (void (*)(void))sent_cb;
    queue->high_water_frames = MAX(queue->high_water_frames,
                                   queue->ring.count);
    queue->high_water_bytes = MAX(queue->high_water_bytes, queue->ring.bytes);
    return true;
}

ssize_t net_queue_send_iov(NetQueue *queue, NetClientState *sender,
                           const struct iovec *iov, int iovcnt, size_t size,
                           NetPacketSent *sent_cb)
{
    if (!queue->delivering) {
        if (!frame_ring_is_empty(&queue->ring) &&
            queue->can_receive(queue->opaque)) {
            net_queue_flush(queue);
        }
        if (frame_ring_is_empty(&queue->ring) &&
            queue->can_receive(queue->opaque)) {
            ssize_t ret;

            queue->delivering = true;
            ret = queue->deliver(sender, iov, iovcnt, queue->opaque);
            queue->delivering = false;
            if (ret != 0) {
                /*
                 * Frames sent from inside that delivery are waiting.  Flush
                 * them from the main loop, not here: their callbacks must
                 * not run while their senders may still be inside a send.
                 */
                if (!frame_ring_is_empty(&queue->ring)) {
                    g_source_set_ready_time(queue->flush_source, 0);
                }
                return ret;
            }
        }
    }
    return net_queue_append(queue, sender, iov, iovcnt, size, sent_cb)
           ? 0 : (ssize_t)size;
}

bool net_queue_direct_begin(NetQueue *queue)
{
    if (queue->delivering || !frame_ring_is_empty(&queue->ring)) {
        return false;
    }
    queue->delivering = true;
    return true;
}

void net_queue_direct_end(NetQueue *queue, bool taken)
{
    queue->delivering = false;
    /* As net_queue_send_iov: frames sent from inside wait for the loop. */
    if (taken && !frame_ring_is_empty(&queue->ring)) {
        g_source_set_ready_time(queue->flush_source, 0);
    }
}

void net_queue_purge(NetQueue *queue, NetClientState *from)
{
    FrameRing kept;
    FrameSlot *slot;
    bool any = false;

    for (unsigned i = 0; i < queue->ring.count && !any; i++) {
        any = frame_ring_at(&queue->ring, i)->owner == from;
    }
    if (!any) {
        return;
    }
    /*
     * Rebuild the ring without @from's frames, so they stop counting
     * against the bounds at once.  A client is going away: not the frame
     * path, allocating here is fine.
     */
    frame_ring_init(&kept, queue->ring.arena_size, queue->ring.max_frames);
    while ((slot = frame_ring_peek(&queue->ring))) {
        if (slot->owner != from) {
            FrameSlot *copy = frame_ring_push(&kept, slot->data, slot->len);

            copy->owner = slot->owner;
            copy->cb = slot->cb;
        }
        frame_ring_pop(&queue->ring);
    }
    frame_ring_destroy(&queue->ring);
    queue->ring = kept;
}

bool net_queue_flush(NetQueue *queue)
{
    FrameSlot *slot;
    bool was_delivering = queue->delivering;

    if (was_delivering) {
        return false;   /* the flush loop running below us goes on */
    }
    queue->delivering = true;
    while ((slot = frame_ring_peek(&queue->ring))) {
        NetClientState *sender = slot->owner;
        NetPacketSent *sent_cb = (NetPacketSent *)slot->cb;
        struct iovec iov = { slot->data, slot->len };
        ssize_t ret;

        if (!queue->can_receive(queue->opaque)) {
            break;
        }
        ret = queue->deliver(sender, &iov, 1, queue->opaque);
        if (ret == 0) {
            break;
        }
        frame_ring_pop(&queue->ring);
        if (sent_cb) {
            sent_cb(sender, ret);
        }
    }
    queue->delivering = false;
    return frame_ring_is_empty(&queue->ring);
}

unsigned net_queue_frames(const NetQueue *queue)
{
    return queue->ring.count;
}

bool net_queue_busy(const NetQueue *queue)
{
    return queue->delivering;
}

uint64_t net_queue_dropped(const NetQueue *queue)
{
    return queue->dropped;
}

void net_queue_count_drops_in(NetQueue *queue, uint64_t *total,
                              uint64_t *full)
{
    queue->drop_total = total;
    queue->drop_full = full;
}

unsigned net_queue_high_water_frames(const NetQueue *queue)
{
    return queue->high_water_frames;
}

size_t net_queue_high_water_bytes(const NetQueue *queue)
{
    return queue->high_water_bytes;
}
