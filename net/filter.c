/*
 * DOC: the filter chain (see include/net/filter.h)
 *
 * Each client has a singly linked chain of NetFilterState
 * (NetClientState.filters), in the order the filters were added; every
 * filter is also on one list of all filters, oldest first, which gives the
 * object ids.  net_filter_frame() walks the sender's chain, then the
 * receiver's, and calls the receive_iov hook of each filter that is on and
 * whose direction matches (QEMU's qemu_netfilter_receive()).
 *
 * This file owns what every filter has (id, netdev, queue=, status=) and
 * its part of `info network`; a kind of filter (net/dump.c) owns the rest
 * and frees it in its cleanup hook.
 */
#include "net/filter.h"

#include "util/error.h"

static GQueue net_filters = G_QUEUE_INIT;   /* every filter, oldest first */

bool net_filter_check(const NetfilterProperties *props,
                      NetClientState **netdev, GError **errp)
{
    NetClientState *nc;

    if (props->has_status && !g_str_equal(props->status, "on") &&
        !g_str_equal(props->status, "off")) {
        error_setg(errp, "Invalid value for netfilter status, should be "
                   "'on' or 'off'");
        return false;
    }
    nc = net_client_find(props->netdev);
    if (!nc || net_client_is_nic(nc) || net_client_is_going(nc)) {
        error_setg(errp, "Parameter 'netdev' expects a network backend id");
        return false;
    }
    *netdev = nc;
    return true;
}

NetFilterState *net_filter_new(const NetFilterInfo *info, const char *id,
                               NetClientState *netdev,
                               NetFilterDirection direction, bool on)
{
    NetFilterState *nf, **tail;

    g_assert(info->size >= sizeof(NetFilterState));
    nf = g_malloc0(info->size);
    nf->info = info;
    nf->id = g_strdup(id);
    nf->netdev = netdev;
    nf->direction = direction;
    nf->on = on;
    for (tail = &netdev->filters; *tail; tail = &(*tail)->next) {
    }
    *tail = nf;
    g_queue_push_tail(&net_filters, nf);
    return nf;
}

void net_filter_free(NetFilterState *nf)
{
    NetFilterState **link;

    if (!nf) {
        return;
    }
    for (link = &nf->netdev->filters; *link && *link != nf;
         link = &(*link)->next) {
    }
    if (*link) {
        *link = nf->next;
    }
    g_queue_remove(&net_filters, nf);
    if (nf->info->cleanup) {
        nf->info->cleanup(nf);
    }
    g_free(nf->id);
    g_free(nf);
}

NetFilterState *net_filter_find(const char *id)
{
    for (GList *l = net_filters.head; l; l = l->next) {
        NetFilterState *nf = l->data;

        if (g_str_equal(nf->id, id)) {
            return nf;
        }
    }
    return NULL;
}

void net_filter_chain_free(NetClientState *nc)
{
    while (nc->filters) {
        net_filter_free(nc->filters);
    }
}

void net_filter_free_all(void)
{
    NetFilterState *nf;

    while ((nf = g_queue_peek_head(&net_filters))) {
        net_filter_free(nf);
    }
}

static void net_filter_chain_run(NetFilterState *nf,
                                 NetFilterDirection direction,
                                 const struct iovec *iov, int iovcnt,
                                 size_t size)
{
    for (; nf; nf = nf->next) {
        if (nf->on && (nf->direction == direction ||
                       nf->direction == NET_FILTER_DIRECTION_ALL)) {
            nf->info->receive_iov(nf, direction, iov, iovcnt, size);
        }
    }
}

void net_filter_frame(NetClientState *sender, NetClientState *receiver,
                      const struct iovec *iov, int iovcnt, size_t size)
{
    net_filter_chain_run(sender->filters, NET_FILTER_DIRECTION_TX,
                         iov, iovcnt, size);
    net_filter_chain_run(receiver->filters, NET_FILTER_DIRECTION_RX,
                         iov, iovcnt, size);
}

void net_filter_format_info(NetClientState *nc, GString *out)
{
    if (!nc->filters) {
        return;
    }
    g_string_append(out, "filters:\n");
    for (NetFilterState *nf = nc->filters; nf; nf = nf->next) {
        /* QEMU 7.2 lists the properties in this order. */
        g_string_append_printf(out, "  - %s: type=%s", nf->id,
                               nf->info->type_name);
        if (nf->info->format_properties) {
            nf->info->format_properties(nf, out);
        }
        g_string_append_printf(out, ",position=tail,status=%s,"
                               "insert=behind,netdev=%s,queue=%s\n",
                               nf->on ? "on" : "off", nc->name,
                               NetFilterDirection_str(nf->direction));
    }
}
