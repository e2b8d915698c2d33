/*
 * DOC: the incoming queue of a net client
 *
 * Every client owns one NetQueue holding frames sent to it that it could not
 * take yet.  Frames are copied into a FrameRing allocated with the queue, so
 * queueing allocates nothing.  The queue is bounded in frames and bytes for
 * frames sent without a completion callback; those beyond the bound are
 * dropped and counted.  Frames with a callback may use a reserve beyond the
 * bound, because their sender stops until the callback fires (see the
 * flow-control rule in include/net/net.h).
 *
 * Order is kept: while anything is queued, new frames queue behind it.  A
 * completion callback never fires inside the send call that queued its
 * frame.
 */
#ifndef NET_QUEUE_H
#define NET_QUEUE_H

#include "net/net.h"

/* QEMU bounds a queue at 10000 frames; vmwire also bounds the bytes. */
#define NET_QUEUE_DEFAULT_FRAMES 1024
#define NET_QUEUE_DEFAULT_BYTES  (1024 * 1024)

/* Hand one frame to the receiver; returns as NetClientInfo.receive. */
typedef ssize_t NetQueueDeliverFunc(NetClientState *sender,
                                    const struct iovec *iov, int iovcnt,
                                    void *opaque);
/* True if the receiver can take a frame now. */
typedef bool NetQueueCanReceiveFunc(void *opaque);

NetQueue *net_queue_new(NetQueueDeliverFunc *deliver,
                        NetQueueCanReceiveFunc *can_receive, void *opaque,
                        unsigned max_frames, size_t max_bytes);

/*
 * Free the queue.  Frames still queued with a completion callback have it
 * called with 0 so their senders resume.  NULL is fine.
 */
void net_queue_free(NetQueue *queue);

/*
 * Deliver or queue one frame of @size bytes.  Returns what deliver returned
 * (>0), @size if the frame was dropped for lack of room, or 0 if it was
 * queued.
 */
ssize_t net_queue_send_iov(NetQueue *queue, NetClientState *sender,
                           const struct iovec *iov, int iovcnt, size_t size,
                           NetPacketSent *sent_cb);

/* Drop every frame @from queued here, without calling callbacks. */
void net_queue_purge(NetQueue *queue, NetClientState *from);

/* Deliver queued frames in order; true if the queue is now empty. */
bool net_queue_flush(NetQueue *queue);

/*
 * The direct path of net_queue_send_iov(), for an owner that delivers the
 * frame itself: begin is true (the queue is then busy, as while it
 * delivers) if nothing is queued and no delivery is on the stack; the
 * caller delivers, then calls end with whether the receiver took the
 * frame (false: send it again with net_queue_send_iov(), which queues it).
 */
bool net_queue_direct_begin(NetQueue *queue);
void net_queue_direct_end(NetQueue *queue, bool taken);

unsigned net_queue_frames(const NetQueue *queue);
/* True while the queue delivers or flushes (its loop is on the stack). */
bool net_queue_busy(const NetQueue *queue);
/* Frames dropped because the queue was full. */
uint64_t net_queue_dropped(const NetQueue *queue);
/*
 * Also add each such drop to *@total and *@full (borrowed: the owner's
 * counters, which must outlive the queue), as it happens.
 */
void net_queue_count_drops_in(NetQueue *queue, uint64_t *total,
                              uint64_t *full);
/*
 * The most frames / bytes this queue ever held at once (its high-water
 * mark), updated when a frame is queued.  Frames without a callback stop
 * at the bounds (max_frames, max_bytes); with callbacks they may go past.
 */
unsigned net_queue_high_water_frames(const NetQueue *queue);
size_t net_queue_high_water_bytes(const NetQueue *queue);

#endif /* NET_QUEUE_H */
