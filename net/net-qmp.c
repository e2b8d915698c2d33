/*
 * DOC: the net layer's QMP commands
 *
 * netdev_add, netdev_del, set_link and x-query-network, called by the
 * generated marshallers (qapi-commands.h) from the monitor's fd handler,
 * so never while a backend or device is inside one of its own calls.
 *
 * Words and error classes are QEMU 7.2's:
 *   netdev_add  a taken id: "Duplicate ID '<id>'" (the command line says
 *               "... for netdev"); fd=NAME that no getfd stored: "File
 *               descriptor named '<name>' has not been found" (QEMU's
 *               monitor_fd_param(); on the command line a name is "Invalid
 *               file descriptor number"); everything else is netdev_add()'s,
 *               shared with -netdev.
 *   netdev_del  "Device '<id>' not found" (DeviceNotFound), also for a
 *               NIC's id (QEMU 7.2 looks netdevs up only).  The netdev is
 *               freed at once: queued frames go, sockets close, a NIC on it
 *               sees its link go down (NETDEV_LINK_CHANGED).
 *   set_link    "Device '<name>' not found" (DeviceNotFound); a netdev or a
 *               NIC, and its peer.
 * x-query-network lists every client in creation order with its counters.
 */
#include "net/net.h"

#include "monitor/monitor.h"
#include "net/netdev.h"
#include "net/queue.h"
#include "qapi-commands.h"
#include "util/error.h"

static void net_qmp_not_found(const char *id, GError **errp)
{
    g_set_error(errp, VMWIRE_ERROR, VMWIRE_ERROR_NOT_FOUND,
                "Device '%s' not found", id);
}

/*
 * fd=NAME must name an fd this QMP client stored with getfd.  QEMU looks
 * it up after checking the other options, so a string that is also wrong
 * otherwise gets netdev_add()'s message, as on the command line.
 */
static bool net_qmp_check_fd_name(const Netdev *netdev, GError **errp)
{
    const NetdevSocketOptions *opts = &netdev->u.socket;

    if (netdev->type != NET_CLIENT_DRIVER_SOCKET || !opts->has_fd ||
        g_ascii_isdigit(opts->fd[0]) || opts->has_listen ||
        opts->has_connect || opts->has_mcast || opts->has_udp ||
        opts->has_localaddr || monitor_fd_get(opts->fd, false) >= 0) {
        return true;
    }
    error_setg(errp, "File descriptor named '%s' has not been found",
               opts->fd);
    return false;
}

void qmp_netdev_add(Netdev *data, GError **errp)
{
    /* QEMU checks the id's form first: a malformed id is never taken. */
    if (id_check(data->id, NULL)) {
        if (net_client_find(data->id)) {
            error_setg(errp, "Duplicate ID '%s'", data->id);
            return;
        }
        if (!net_qmp_check_fd_name(data, errp)) {
            return;
        }
    }
    netdev_add(data, errp);
}

void qmp_netdev_del(const char *id, GError **errp)
{
    NetClientState *nc = net_client_find(id);

    if (!nc || net_client_is_nic(nc)) {
        net_qmp_not_found(id, errp);
        return;
    }
    net_client_free(nc);
}

void qmp_set_link(const char *name, bool up, GError **errp)
{
    NetClientState *nc = net_client_find(name);

    if (!nc) {
        net_qmp_not_found(name, errp);
        return;
    }
    net_client_set_link(nc, up);
}

static void net_qmp_query_one(NetClientState *nc, void *opaque)
{
    NetworkClientInfoList ***tail = opaque;
    NetworkClientInfoList *entry = g_new0(NetworkClientInfoList, 1);
    NetworkClientInfo *info = g_new0(NetworkClientInfo, 1);

    *info = (NetworkClientInfo) {
        .id = g_strdup(nc->name),
        .type = g_strdup(nc->info->type_name),
        .info = g_strdup(nc->info_str),
        .has_peer = nc->peer != NULL,
        .peer = nc->peer ? g_strdup(nc->peer->name) : NULL,
        .link_up = !nc->link_down,
        .rx_frames = nc->stats.rx_frames,
        .rx_bytes = nc->stats.rx_bytes,
        .tx_frames = nc->stats.tx_frames,
        .tx_bytes = nc->stats.tx_bytes,
        .dropped = nc->stats.dropped,
        .dropped_queue_full = nc->stats.dropped_by[NET_DROP_QUEUE_FULL],
        .dropped_link_down = nc->stats.dropped_by[NET_DROP_LINK_DOWN],
        .dropped_malformed = nc->stats.dropped_by[NET_DROP_MALFORMED],
        .dropped_vlan = nc->stats.dropped_by[NET_DROP_VLAN],
        .oversized = nc->stats.oversized,
        .resets = nc->stats.resets,
        .queue_high_water_frames = nc->incoming_queue ?
            net_queue_high_water_frames(nc->incoming_queue) : 0,
        .queue_high_water_bytes = nc->incoming_queue ?
            net_queue_high_water_bytes(nc->incoming_queue) : 0,
    };
    entry->value = info;
    **tail = entry;
    *tail = &entry->next;
}

NetworkClientInfoList *qmp_x_query_network(GError **errp)
{
    NetworkClientInfoList *head = NULL;
    NetworkClientInfoList **tail = &head;

    net_client_foreach(net_qmp_query_one, &tail);
    return head;
}
