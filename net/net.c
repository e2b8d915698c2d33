/*
 * DOC: the net-client core (see include/net/net.h for the rules)
 *
 * Owns the list of clients.  A frame sent by a client goes through checks
 * (size, peer, link) into the peer's incoming NetQueue, which either hands
 * it to the peer's receive hook at once or keeps it until the peer flushes.
 * The usual case (nothing queued, no delivery to the peer on the stack,
 * it can take the frame, no filter) is done here without the queue's
 * send: net_client_send_direct(), with the queue marked busy meanwhile.
 * Counters are kept here, once, for every kind of client.  A frame that
 * passes the checks is shown to the filter chains of both ends first
 * (net/filter.c); the core names no kind of filter and no kind of client.
 *
 * Teardown: a client is "busy" while a call into it or on its behalf is on
 * the stack (it is sending, a frame is being delivered to or from it, its
 * queue is flushing, a callback of its frames runs).  net_client_free() of
 * a busy client only unlists it and marks it free_pending (its frames are
 * then dropped); an idle source frees it once the stack has unwound, so no
 * hook, callback or queue loop ever returns into freed memory.  QMP runs
 * from the main loop, so netdev_del and device_del free at once.
 *
 * Link state changes only in net_client_set_link_one(), which calls the
 * client's hook and sends QMP's NETDEV_LINK_CHANGED {name, up}: once per
 * client whose state changed (set_link, a backend's connection, a NIC
 * losing its backend).
 */
#include "net/net.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net/filter.h"
#include "net/queue.h"
#include "qapi-events.h"

static GQueue net_clients = G_QUEUE_INIT;
/* Freed while busy: waiting for net_free_pending_idle(). */
static GQueue net_clients_free_pending = G_QUEUE_INIT;
static guint net_free_pending_id;

/* Gather buffer for receivers without receive_iov; the loop is one thread. */
static uint8_t net_gather_buf[NET_BUFSIZE];

static bool net_client_queue_can_receive(void *opaque)
{
    return net_client_can_receive(opaque);
}

static void net_client_hold(NetClientState *nc)
{
    if (nc) {
        nc->busy++;
    }
}

static void net_client_release(NetClientState *nc)
{
    if (nc) {
        g_assert(nc->busy > 0);
        nc->busy--;
    }
}

static ssize_t net_client_call_receive(NetClientState *receiver,
                                       const struct iovec *iov, int iovcnt,
                                       size_t size)
{
    if (receiver->info->receive_iov) {
        return receiver->info->receive_iov(receiver, iov, iovcnt);
    }
    if (iovcnt == 1) {
        return receiver->info->receive(receiver, iov[0].iov_base, size);
    }
    iov_to_buf(iov, iovcnt, net_gather_buf, sizeof(net_gather_buf));
    return receiver->info->receive(receiver, net_gather_buf, size);
}

/* A frame @receiver handled (@ret from its hook): the counters. */
static ssize_t net_client_delivered(NetClientState *sender,
                                    NetClientState *receiver, size_t size,
                                    ssize_t ret)
{
    if (ret == 0) {
        receiver->receive_disabled = true;
        return 0;
    }
    if (ret < 0) {
        receiver->stats.dropped++;
        return (ssize_t)size;
    }
    receiver->stats.rx_frames++;
    receiver->stats.rx_bytes += size;
    if (sender) {
        sender->stats.tx_frames++;
        sender->stats.tx_bytes += size;
    }
    return ret;
}

static ssize_t net_client_deliver(NetClientState *sender,
                                  const struct iovec *iov, int iovcnt,
                                  void *opaque)
{
    NetClientState *receiver = opaque;
    size_t size = iov_size_total(iov, iovcnt);
    ssize_t ret;

    /* Went down (or away) while this was queued. */
    if (receiver->link_down || receiver->free_pending ||
        (sender && sender->free_pending)) {
        net_client_count_drop(receiver, NET_DROP_LINK_DOWN);
        return (ssize_t)size;
    }
    net_client_hold(receiver);
    net_client_hold(sender);
    ret = net_client_call_receive(receiver, iov, iovcnt, size);
    net_client_release(sender);
    net_client_release(receiver);
    return net_client_delivered(sender, receiver, size, ret);
}

/*
 * The usual frame: nothing waits in @peer's queue, no delivery to it is
 * on the stack, it can take the frame and nobody filters: hand it over
 * without the queue (both ends are held and were checked by the caller).
 * Returns as net_queue_send_iov(), or 0 with *@direct false if the frame
 * must go through the queue.
 */
static ssize_t net_client_send_direct(NetClientState *sender,
                                      NetClientState *peer,
                                      const struct iovec *iov, int iovcnt,
                                      size_t size, bool *direct)
{
    NetQueue *queue = peer->incoming_queue;
    ssize_t ret;

    *direct = false;
    if (peer->receive_disabled || !net_queue_direct_begin(queue)) {
        return 0;
    }
    if (peer->info->can_receive && !peer->info->can_receive(peer)) {
        net_queue_direct_end(queue, false);
        return 0;
    }
    ret = net_client_delivered(sender, peer, size,
                               net_client_call_receive(peer, iov, iovcnt,
                                                       size));
    net_queue_direct_end(queue, ret != 0);
    *direct = ret != 0;
    return ret;
}

/*
 * A name for a client created without one (a NIC without id=), as QEMU's
 * assign_name(): "MODEL.N", N the number of clients of that model there
 * already are; unlike QEMU, N moves on past a name still in use (after a
 * deletion), so names stay unique.
 */
static char *net_client_assign_name(const char *model)
{
    unsigned n = 0;

    for (GList *l = net_clients.head; l; l = l->next) {
        n += strcmp(((NetClientState *)l->data)->model, model) == 0;
    }
    for (;; n++) {
        char *name = g_strdup_printf("%s.%u", model, n);

        if (!net_client_find(name)) {
            return name;
        }
        g_free(name);
    }
}

NetClientState *net_client_new(const NetClientInfo *info,
                               NetClientState *peer,
                               const char *model, const char *name)
{
    NetClientState *nc;

    g_assert(info->size >= sizeof(NetClientState));
    nc = g_malloc0(info->size);
    nc->info = info;
    nc->model = g_strdup(model);
    nc->name = name ? g_strdup(name) : net_client_assign_name(model);
    nc->incoming_queue = net_queue_new(net_client_deliver,
                                       net_client_queue_can_receive, nc,
                                       NET_QUEUE_DEFAULT_FRAMES,
                                       NET_QUEUE_DEFAULT_BYTES);
    /* A full queue's drops are the receiver's: counted as they happen. */
    net_queue_count_drops_in(nc->incoming_queue, &nc->stats.dropped,
                             &nc->stats.dropped_by[NET_DROP_QUEUE_FULL]);
    if (peer) {
        net_client_set_peer(nc, peer);
    }
    g_queue_push_tail(&net_clients, nc);
    return nc;
}

void net_client_set_peer(NetClientState *a, NetClientState *b)
{
    g_assert(!a->peer && !b->peer && a != b);
    a->peer = b;
    b->peer = a;
    /* Peers share one link: a NIC put on a down backend starts down. */
    if (a->link_down || b->link_down) {
        net_client_set_link(a, false);
    }
}

static void net_client_set_link_one(NetClientState *nc, bool up);

/*
 * Leave the peer.  A NIC left behind has lost its backend: its link goes
 * down (QEMU's peer_deleted).  A backend left behind keeps its own state
 * (a listener stays connected to its VM) for the next NIC, as in QEMU.
 */
static void net_client_detach(NetClientState *nc)
{
    NetClientState *peer = nc->peer;

    if (!peer) {
        return;
    }
    net_queue_purge(peer->incoming_queue, nc);
    peer->peer = NULL;
    nc->peer = NULL;
    if (net_client_is_nic(peer)) {
        net_client_set_link_one(peer, false);
    }
}

static bool net_client_in_use(NetClientState *nc)
{
    return nc->busy > 0 ||
           (nc->incoming_queue && net_queue_busy(nc->incoming_queue));
}

static void net_client_destroy(NetClientState *nc)
{
    NetClientState *peer = nc->peer;
    NetQueue *queue;

    nc->free_pending = true;        /* a nested net_client_free: no-op */
    /* The peer's hooks and callbacks run below: it must outlive them. */
    net_client_hold(peer);
    net_client_detach(nc);
    /* Frames queued for us: their senders' callbacks release them. */
    queue = g_steal_pointer(&nc->incoming_queue);
    net_queue_free(queue);
    net_client_release(peer);
    if (nc->info->cleanup) {
        nc->info->cleanup(nc);
    }
    g_free(nc->model);
    g_free(nc->name);
    g_free(nc);
}

static gboolean net_free_pending_idle(gpointer unused)
{
    NetClientState *nc;

    net_free_pending_id = 0;
    while ((nc = g_queue_pop_head(&net_clients_free_pending))) {
        if (net_client_in_use(nc)) {    /* cannot happen from the loop */
            g_queue_push_head(&net_clients_free_pending, nc);
            net_free_pending_id = g_idle_add(net_free_pending_idle, NULL);
            break;
        }
        net_client_destroy(nc);
    }
    return G_SOURCE_REMOVE;
}

void net_client_free(NetClientState *nc)
{
    if (!nc || nc->free_pending) {
        return;
    }
    g_queue_remove(&net_clients, nc);
    net_filter_chain_free(nc);
    if (!net_client_in_use(nc)) {
        net_client_destroy(nc);
        return;
    }
    nc->free_pending = true;
    g_queue_push_tail(&net_clients_free_pending, nc);
    if (!net_free_pending_id) {
        net_free_pending_id = g_idle_add(net_free_pending_idle, NULL);
    }
}

static bool net_cleaning_up;

bool net_cleanup_running(void)
{
    return net_cleaning_up;
}

void net_cleanup(void)
{
    NetClientState *nc;

    net_cleaning_up = true;
    while ((nc = g_queue_peek_tail(&net_clients))) {
        net_client_free(nc);
    }
    net_cleaning_up = false;
    g_clear_handle_id(&net_free_pending_id, g_source_remove);
    while ((nc = g_queue_pop_head(&net_clients_free_pending))) {
        net_client_destroy(nc);
    }
}

NetClientState *net_client_find(const char *name)
{
    for (GList *l = net_clients.head; l; l = l->next) {
        NetClientState *nc = l->data;

        if (g_strcmp0(nc->name, name) == 0) {
            return nc;
        }
    }
    return NULL;
}

void net_client_foreach(void (*fn)(NetClientState *nc, void *opaque),
                        void *opaque)
{
    for (GList *l = net_clients.head, *next; l; l = next) {
        next = l->next;
        fn(l->data, opaque);
    }
}

void net_client_set_info_str(NetClientState *nc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_vsnprintf(nc->info_str, sizeof(nc->info_str), fmt, ap);
    va_end(ap);
}

bool net_client_can_receive(NetClientState *nc)
{
    if (nc->receive_disabled) {
        return false;
    }
    return !nc->info->can_receive || nc->info->can_receive(nc);
}

ssize_t net_client_send_iov_async(NetClientState *sender,
                                  const struct iovec *iov, int iovcnt,
                                  NetPacketSent *sent_cb)
{
    size_t size = iov_size_total(iov, iovcnt);
    NetClientState *peer = sender->peer;
    bool filtered, direct = false;
    ssize_t ret;

    if (size > NET_BUFSIZE) {
        sender->stats.oversized++;
        return -EMSGSIZE;
    }
    if (size == 0) {
        net_client_count_drop(sender, NET_DROP_MALFORMED);
        return -EINVAL;
    }
    if (sender->link_down || !peer || peer->link_down ||
        sender->free_pending || peer->free_pending) {
        net_client_count_drop(sender, NET_DROP_LINK_DOWN);
        return (ssize_t)size;
    }
    if (!peer->incoming_queue) {    /* peer is being torn down */
        return (ssize_t)size;
    }
    filtered = sender->filters || peer->filters;
    if (G_UNLIKELY(filtered)) {
        net_filter_frame(sender, peer, iov, iovcnt, size);
    }
    net_client_hold(sender);
    net_client_hold(peer);
    ret = G_LIKELY(!filtered)
          ? net_client_send_direct(sender, peer, iov, iovcnt, size, &direct)
          : 0;
    if (!direct) {
        ret = net_queue_send_iov(peer->incoming_queue, sender, iov, iovcnt,
                                 size, sent_cb);
    }
    net_client_release(peer);
    net_client_release(sender);
    return ret;
}

ssize_t net_client_send_async(NetClientState *sender, const uint8_t *buf,
                              size_t size, NetPacketSent *sent_cb)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = size };

    return net_client_send_iov_async(sender, &iov, 1, sent_cb);
}

ssize_t net_client_send(NetClientState *sender, const uint8_t *buf,
                        size_t size)
{
    return net_client_send_async(sender, buf, size, NULL);
}

bool net_client_flush_queued(NetClientState *nc)
{
    bool empty;

    nc->receive_disabled = false;
    if (!nc->incoming_queue) {
        return true;
    }
    net_client_hold(nc);
    empty = net_queue_flush(nc->incoming_queue);
    net_client_release(nc);
    return empty;
}

/* Every link change of every client goes through here: hook, then QMP. */
static void net_client_set_link_one(NetClientState *nc, bool up)
{
    if (nc->link_down == !up) {
        return;
    }
    nc->link_down = !up;
    if (nc->info->link_status_changed) {
        nc->info->link_status_changed(nc);
    }
    qapi_event_send_netdev_link_changed(nc->name, up);
}

void net_client_set_link(NetClientState *nc, bool up)
{
    net_client_set_link_one(nc, up);
    if (nc->peer) {
        net_client_set_link_one(nc->peer, up);
    }
}

void net_client_format_info(NetClientState *nc, GString *out)
{
    g_string_append_printf(out, "%s: index=0,type=%s,%s", nc->name,
                           nc->info->type_name, nc->info_str);
}

void net_client_format_counters(NetClientState *nc, GString *out)
{
    const NetClientStats *s = &nc->stats;
    NetQueue *q = nc->incoming_queue;

    g_string_append_printf(out, "  counters %s: rx=%" G_GUINT64_FORMAT "/%"
        G_GUINT64_FORMAT " tx=%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
        " dropped=%" G_GUINT64_FORMAT " (queue-full=%" G_GUINT64_FORMAT
        " link-down=%" G_GUINT64_FORMAT " malformed=%" G_GUINT64_FORMAT
        " vlan=%" G_GUINT64_FORMAT ") oversized=%" G_GUINT64_FORMAT
        " resets=%" G_GUINT64_FORMAT " queue-high-water=%u/%zu\n",
        nc->name, s->rx_frames, s->rx_bytes, s->tx_frames, s->tx_bytes,
        s->dropped,
        s->dropped_by[NET_DROP_QUEUE_FULL], s->dropped_by[NET_DROP_LINK_DOWN],
        s->dropped_by[NET_DROP_MALFORMED], s->dropped_by[NET_DROP_VLAN],
        s->oversized, s->resets, q ? net_queue_high_water_frames(q) : 0,
        q ? net_queue_high_water_bytes(q) : 0);
}

void net_client_format_info_block(NetClientState *nc, GString *out)
{
    net_client_format_info(nc, out);
    g_string_append_c(out, '\n');
    net_filter_format_info(nc, out);
    net_client_format_counters(nc, out);
}

/*
 * Shown in its kind's part of info network (QEMU's net_hub_id_for_client():
 * hubs print their ports and the ports' peers).
 */
static bool net_client_in_kind_part(NetClientState *nc)
{
    return nc->info->format_info_network ||
           (nc->peer && nc->peer->info->format_info_network);
}

/* One client of QEMU's hmp_info_network(), and vmwire's counters. */
static void net_format_info_network_one(NetClientState *nc, void *opaque)
{
    GString *out = opaque;
    bool nic = net_client_is_nic(nc);

    if (net_client_in_kind_part(nc)) {
        return;
    }
    if (!nc->peer || nic) {
        net_client_format_info_block(nc, out);
    }
    if (nc->peer && nic) {
        g_string_append(out, " \\ ");
        net_client_format_info_block(nc->peer, out);
    }
}

/*
 * Each kind's own part, once per kind that has a client, listed or still
 * waiting to be freed (a hub keeps such a port until it is freed).
 */
static void net_format_info_kinds(GString *out)
{
    GList *lists[] = { net_clients.head, net_clients_free_pending.head };
    g_autoptr(GPtrArray) done = g_ptr_array_new();

    for (size_t i = 0; i < G_N_ELEMENTS(lists); i++) {
        for (GList *l = lists[i]; l; l = l->next) {
            const NetClientInfo *info = ((NetClientState *)l->data)->info;

            if (info->format_info_network &&
                !g_ptr_array_find(done, info, NULL)) {
                g_ptr_array_add(done, (gpointer)info);
                info->format_info_network(out);
            }
        }
    }
}

void net_format_info_network(GString *out)
{
    net_format_info_kinds(out);
    net_client_foreach(net_format_info_network_one, out);
}

size_t iov_to_buf(const struct iovec *iov, int iovcnt, uint8_t *buf,
                  size_t len)
{
    size_t done = 0;

    for (int i = 0; i < iovcnt && done < len; i++) {
        size_t n = MIN(iov[i].iov_len, len - done);

        memcpy(buf + done, iov[i].iov_base, n);
        done += n;
    }
    return done;
}
