/*
 * DOC: net filters: a chain of observers on a client (see net/filter.c)
 *
 * QEMU's NetFilterState.  A filter is attached to one client (its
 * "netdev") and sees the frames that client sends (direction tx) and the
 * frames sent to it (direction rx), or both (all), while it is on.  Each
 * kind of filter embeds NetFilterState as the *first* member of its own
 * state and describes itself with one static NetFilterInfo table; the core
 * (net/net.c) runs the chain without naming any kind.
 *
 * The core calls net_filter_frame() from its send path once a frame has
 * passed the size, peer and link checks, and only when one of the two
 * ends has a filter (NetClientState.filters), so a client without one
 * pays one pointer test per frame.  Filters observe: a hook may copy what
 * it sees, it may not change, keep, hold or drop the frame, allocate, or
 * add or remove filters.
 *
 * Every filter is also an object (`-object`, QMP object-add/object-del,
 * system/object.c): its id is the object's id.  A filter goes with its
 * netdev (net_client_free() frees the chain), as in QEMU.
 */
#ifndef NET_FILTER_H
#define NET_FILTER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "net/net.h"
#include "qapi-types.h"

typedef struct NetFilterInfo {
    const char *type_name;      /* "filter-dump": the object type */
    size_t size;                /* size of the outer struct to allocate */
    /*
     * A frame of @size bytes passes the filter's netdev in @direction (tx:
     * the netdev sends it, rx: it is sent to the netdev).  Borrowed for the
     * call; frames come in the order they are sent.
     */
    void (*receive_iov)(NetFilterState *nf, NetFilterDirection direction,
                        const struct iovec *iov, int iovcnt, size_t size);
    /* Optional; called once from net_filter_free() before memory goes. */
    void (*cleanup)(NetFilterState *nf);
    /*
     * Optional: append the kind's own properties to its `info network`
     * line, each as ",name=value" (filter-dump: ",file=F,maxlen=N").
     */
    void (*format_properties)(NetFilterState *nf, GString *out);
} NetFilterInfo;

struct NetFilterState {
    const NetFilterInfo *info;
    char *id;                       /* the object id, owned */
    NetClientState *netdev;         /* borrowed: the filter goes first */
    NetFilterDirection direction;   /* queue=: the frames it sees */
    bool on;                        /* status=on */
    NetFilterState *next;           /* the next filter of netdev */
};

/*
 * What every filter takes, checked in QEMU's order with QEMU's words:
 *   Invalid value for netfilter status, should be 'on' or 'off'
 *   Parameter 'netdev' expects a network backend id
 * (a NIC, a client being freed or no client by that name).  On success
 * *@netdev is the client @props names.
 */
bool net_filter_check(const NetfilterProperties *props,
                      NetClientState **netdev, GError **errp);

/*
 * Create a filter of the kind @info, zero-filled to info->size with
 * NetFilterState first, called @id (copied), on @netdev, seeing
 * @direction, on or off; it goes at the tail of @netdev's chain (QEMU's
 * position=tail) at once, so fill in the rest before frames can flow
 * (before returning to the main loop).
 */
NetFilterState *net_filter_new(const NetFilterInfo *info, const char *id,
                               NetClientState *netdev,
                               NetFilterDirection direction, bool on);

/* Take @nf off its chain, call info->cleanup and free.  NULL is fine. */
void net_filter_free(NetFilterState *nf);

/* The filter called @id; NULL if none. */
NetFilterState *net_filter_find(const char *id);

/* Free every filter of @nc (its netdev goes away). */
void net_filter_chain_free(NetClientState *nc);

/* Free every filter (at exit), oldest first. */
void net_filter_free_all(void);

/*
 * A frame of @size bytes goes from @sender to @receiver: the sender's
 * filters see it as tx, then the receiver's as rx.  No allocation.
 */
void net_filter_frame(NetClientState *sender, NetClientState *receiver,
                      const struct iovec *iov, int iovcnt, size_t size);

/*
 * QEMU's "filters:" lines for @nc's chain (none: nothing), one per filter:
 * "  - ID: type=TYPE<its properties>,position=tail,status=on|off,
 * insert=behind,netdev=NETDEV,queue=all|rx|tx".
 */
void net_filter_format_info(NetClientState *nc, GString *out);

#endif /* NET_FILTER_H */
