/*
 * DOC: the net-client core
 *
 * Every endpoint of the network layer is a NetClientState: a backend (a
 * socket, a hub port, later slirp) or a frontend (an emulated NIC).  A
 * backend and a NIC are *peers*: a frame one of them sends goes into the
 * other's incoming queue (net/queue.c) and from there to the receiver's
 * NetClientInfo.receive hook.
 *
 * Each kind of client embeds NetClientState as the *first* member of its own
 * state and describes itself with one static NetClientInfo table.  The core
 * never switches over client types; it only calls the table.
 *
 * THE FLOW-CONTROL RULE (every backend and device honours it):
 *
 *   A receive hook that returns 0 has not taken the frame and PROMISES to
 *   call net_client_flush_queued() on itself as soon as it can take frames
 *   again.  Until then the core queues whatever is sent to it.
 *
 *   A sender that passes a completion callback to net_client_send_async()
 *   and gets 0 back must stop producing frames (stop reading its socket)
 *   until that callback fires.  This makes NIC <-> backend transfer lossless
 *   under backpressure.  Frames sent without a callback are queued only
 *   while the queue has room and are dropped (and counted) beyond that.
 *
 * A frame sent while either end's link is down, or by a client without a
 * peer, is dropped and reported as sent, as QEMU does.  Frames longer than
 * NET_BUFSIZE are refused, empty frames are dropped; both are counted.
 *
 * A frame that passes these checks is shown to the filters of both ends
 * (NetClientState.filters, include/net/filter.h) before it is queued.
 *
 * Nothing on the send/receive path allocates memory: queues copy frames into
 * storage allocated when the client is created.
 */
#ifndef NET_NET_H
#define NET_NET_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "qapi-types.h"

/* Largest frame QEMU (and therefore vmwire) carries: 4096 + 64 KiB. */
#define NET_BUFSIZE (4096 + 65536)

#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

typedef struct NetClientState NetClientState;
typedef struct NetQueue NetQueue;
typedef struct NetFilterState NetFilterState;  /* net/filter.h */

/* Completion callback of an async send: @len is what the receiver took. */
typedef void NetPacketSent(NetClientState *sender, ssize_t len);

/* NetClientDriver (NET_CLIENT_DRIVER_SOCKET, ...) is qapi/net.json's. */

typedef struct NetClientInfo {
    NetClientDriver type;
    const char *type_name;      /* "socket", "nic-stub": shown to users */
    size_t size;                /* size of the outer struct to allocate */
    /*
     * Never has a peer (a many-client listener, whose connections have
     * their own): nothing may be connected to it and no warning is given.
     */
    bool no_peer;
    /*
     * Take one frame.  Returns the number of bytes taken (the frame size),
     * 0 if it cannot take it now (see the flow-control rule above) or a
     * negative errno to drop it.  A kind sets one of the two: receive_iov
     * is used when present (receive is then never called); a kind with
     * only receive gets the frame gathered into one buffer.
     */
    ssize_t (*receive)(NetClientState *nc, const uint8_t *buf, size_t size);
    ssize_t (*receive_iov)(NetClientState *nc, const struct iovec *iov,
                           int iovcnt);
    /* Optional; absent means "always". */
    bool (*can_receive)(NetClientState *nc);
    /* Optional; called once from net_client_free() before memory goes. */
    void (*cleanup)(NetClientState *nc);
    /* Optional; called after nc->link_down changed. */
    void (*link_status_changed)(NetClientState *nc);
    /*
     * Optional: the kind's own part of `info network`, printed once before
     * the clients are listed (hub ports: QEMU's "hub N" blocks, each port
     * with its peer).  Clients of such a kind, and their peers, are shown
     * there only, not again in the list.
     */
    void (*format_info_network)(GString *out);
} NetClientInfo;

/* Why a frame was dropped (NetClientStats.dropped_by). */
typedef enum NetDropReason {
    NET_DROP_QUEUE_FULL,    /* the receiving queue was full */
    NET_DROP_LINK_DOWN,     /* a link was down, or there was no peer */
    NET_DROP_MALFORMED,     /* empty, shorter than 14 bytes, VID 4095 */
    NET_DROP_VLAN,          /* VLAN filter: a tagged frame on an access port */
    NET_DROP__MAX,
} NetDropReason;

/* Per-client counters, as seen from this client. */
typedef struct NetClientStats {
    uint64_t rx_frames, rx_bytes;   /* delivered to this client */
    uint64_t tx_frames, tx_bytes;   /* sent by this client */
    /*
     * Frames lost here: sent by this client while a link was down or
     * without a peer, or sent to it and lost to a full incoming queue.
     */
    uint64_t dropped;
    /* Part of dropped, by reason (the rest: a receive hook's error). */
    uint64_t dropped_by[NET_DROP__MAX];
    uint64_t oversized;             /* frames refused for their size */
    uint64_t resets;                /* connections cut for bad input */
} NetClientStats;

struct NetClientState {
    const NetClientInfo *info;
    NetClientState *peer;
    NetQueue *incoming_queue;       /* frames waiting for this client */
    char *model;                    /* type_name of the kind, owned */
    char *name;                     /* the user's id=, owned */
    char info_str[256];             /* status line shown by info network */
    bool link_down;
    bool receive_disabled;          /* receive returned 0; waiting to flush */
    NetClientStats stats;
    NetFilterState *filters;        /* its filter chain, or NULL */
    /* Teardown (net.c only): see net_client_free(). */
    unsigned busy;                  /* calls into this client on the stack */
    bool free_pending;              /* freed while busy: freed when idle */
};

/*
 * Create a client of the kind @info, zero-filled to info->size, with
 * NetClientState first.  @peer may be NULL or a client without a peer; the
 * two become peers.  The client is listed under @name (ownership stays with
 * the caller; the string is copied).
 */
NetClientState *net_client_new(const NetClientInfo *info,
                               NetClientState *peer,
                               const char *model, const char *name);

/*
 * Detach from the peer (whose queued frames from @nc are dropped), release
 * senders waiting on frames queued for @nc, call info->cleanup and free.
 * A NIC whose backend goes away sees its link go down (its hook is
 * called), as in QEMU; a backend whose NIC goes away keeps its link state,
 * so a NIC added later works at once.  NULL is fine.
 *
 * Safe to call at any time, even from inside @nc's own hooks or callbacks,
 * or while a frame of @nc is being delivered: then @nc leaves the client
 * list at once (its id is free again), frames to and from it are dropped,
 * and the rest happens from the main loop, once nothing uses it.
 */
void net_client_free(NetClientState *nc);

/* Free every client (at exit). */
void net_cleanup(void);
/*
 * True while net_cleanup() runs: a client freed then goes quietly (no
 * leave line, no event), since vmwire is exiting, not deleting it.
 */
bool net_cleanup_running(void);

/*
 * Counting, for code outside net/net.c (which alone writes nc->stats
 * directly).  One frame dropped at @nc for @reason (dropped and
 * dropped_by); @n frames; a frame lost for another reason (a failed
 * send: dropped only); a frame refused for its size; a connection cut
 * for bad input.
 */
static inline void net_client_count_drops(NetClientState *nc,
                                          NetDropReason reason, uint64_t n)
{
    nc->stats.dropped += n;
    nc->stats.dropped_by[reason] += n;
}
static inline void net_client_count_drop(NetClientState *nc,
                                         NetDropReason reason)
{
    net_client_count_drops(nc, reason, 1);
}
static inline void net_client_count_lost(NetClientState *nc)
{
    nc->stats.dropped++;
}
static inline void net_client_count_oversized(NetClientState *nc)
{
    nc->stats.oversized++;
}
static inline void net_client_count_reset(NetClientState *nc)
{
    nc->stats.resets++;
}

/*
 * True once net_client_free() was called on @nc while it was busy: it is
 * no longer listed and must not be handed frames; it goes when idle.
 */
static inline bool net_client_is_going(const NetClientState *nc)
{
    return nc->free_pending;
}

/*
 * True if @nc is a frontend (an emulated NIC), not a backend: its kind's
 * table says NET_CLIENT_DRIVER_NIC, the one driver every NIC model shares,
 * as in QEMU.  A NIC that loses its backend goes link-down; a NIC is not a
 * netdev (netdev_del, filters and -device netdev= refuse it).
 */
static inline bool net_client_is_nic(const NetClientState *nc)
{
    return nc->info->type == NET_CLIENT_DRIVER_NIC;
}

/* Look a client up by id; NULL if none. */
NetClientState *net_client_find(const char *name);

/* Call @fn for every client, in creation order. */
void net_client_foreach(void (*fn)(NetClientState *nc, void *opaque),
                        void *opaque);

/* Set the status string shown by info network (printf-style). */
void net_client_set_info_str(NetClientState *nc, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

/*
 * Make @a and @b peers; both must be without a peer.  If either link is
 * down, both are (a NIC put on an unconnected listener starts down).
 */
void net_client_set_peer(NetClientState *a, NetClientState *b);

/*
 * Send one frame from @sender to its peer.  Returns the frame size (> 0)
 * if it was delivered or dropped, 0 if it was queued, a negative errno if
 * it was refused (-EMSGSIZE over NET_BUFSIZE, -EINVAL if empty; counted).
 * If @sent_cb is not NULL and 0 is returned, the callback fires once the
 * frame has been delivered (or its receiver went away), never inside this
 * call, and the sender must not send more until then.
 */
ssize_t net_client_send_async(NetClientState *sender, const uint8_t *buf,
                              size_t size, NetPacketSent *sent_cb);
ssize_t net_client_send_iov_async(NetClientState *sender,
                                  const struct iovec *iov, int iovcnt,
                                  NetPacketSent *sent_cb);
/* The same without a callback: what does not fit the queue is dropped. */
ssize_t net_client_send(NetClientState *sender, const uint8_t *buf,
                        size_t size);

/* True if a frame sent to @nc now would be delivered at once. */
bool net_client_can_receive(NetClientState *nc);

/*
 * The receiver @nc can take frames again: deliver what is queued for it, in
 * order, until it refuses one or the queue is empty.  Returns true if the
 * queue was emptied.
 */
bool net_client_flush_queued(NetClientState *nc);

/* Set link state on @nc and on its peer, calling both link hooks. */
void net_client_set_link(NetClientState *nc, bool up);

/*
 * Write QEMU's "info network" line for one client, e.g.
 * "n0: index=0,type=socket,socket: connection from 127.0.0.1:4000".
 */
void net_client_format_info(NetClientState *nc, GString *out);

/*
 * vmwire's counter line under a client in `info network`:
 * "  counters ID: rx=F/B tx=F/B dropped=N (queue-full=N link-down=N
 * malformed=N vlan=N) oversized=N resets=N queue-high-water=F/B" (one
 * line, frames/bytes).
 */
void net_client_format_counters(NetClientState *nc, GString *out);

/* QEMU's line for @nc, "\n", its "filters:" lines, its counters line. */
void net_client_format_info_block(NetClientState *nc, GString *out);

/*
 * Append QEMU 7.2's `info network` text for every client, "\n" ending each
 * line: clients in creation order; a NIC's line is followed by its peer's,
 * prefixed with " \ " (backslash); a backend with a NIC peer is shown only
 * there.  Kinds with a format_info_network hook come first: hubs, as
 * QEMU's net_hub_info() prints them (newest hub first, "hub N", then per
 * port, newest first, " \ PORT: " and its peer's line, or " \ PORT"
 * alone); their ports and the ports' peers are not shown again.  Each
 * client's line is followed by its filters in QEMU's "filters:" form,
 * then by vmwire's counters line ("  counters ID: ..."; under a hub port:
 * its peer's, then the port's), which a reader expecting QEMU's text can
 * skip.
 */
void net_format_info_network(GString *out);

/* iovec helpers (the size inline: every frame needs it several times). */
static inline size_t iov_size_total(const struct iovec *iov, int iovcnt)
{
    size_t size = 0;

    for (int i = 0; i < iovcnt; i++) {
        size += iov[i].iov_len;
    }
    return size;
}
/* Copy at most @len bytes of the iovec into @buf; returns bytes copied. */
size_t iov_to_buf(const struct iovec *iov, int iovcnt, uint8_t *buf,
                  size_t len);

#endif /* NET_NET_H */
