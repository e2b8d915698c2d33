/*
 * DOC: the user netdevs' monitor commands: run-time host forwarding
 *
 *   x-hostfwd-add NETDEV RULE      QMP; HMP's hostfwd_add [netdev_id] RULE
 *   x-hostfwd-remove NETDEV RULE   QMP; HMP's hostfwd_remove [netdev_id] RULE
 *   x-query-hostfwd [NETDEV]       QMP: the rules in force (vmwire-ctl
 *                                  hostfwd list)
 *
 * HMP's words are read by monitor/hmp.c, which calls
 * net_slirp_hostfwd_add()/_remove() (include/net/slirp.h); without a
 * netdev id the first user netdev is meant.  The netdev is looked up
 * here, with QEMU 7.2's messages ("unrecognized netdev id '<id>'",
 * "invalid device specified", "user mode network stack not in use"); the
 * rule itself is net/slirp.c's (net/slirp-internal.h).
 */
#include "net/slirp.h"

#include "net/net.h"
#include "qapi-commands.h"
#include "slirp-internal.h"
#include "util/error.h"

/* The stack of user netdev @id, or of the first one if @id is NULL. */
static Slirp *net_slirp_lookup(const char *id, GError **errp)
{
    NetClientState *nc = id ? net_client_find(id) : net_slirp_first();
    Slirp *slirp;

    if (!nc) {
        if (id) {
            error_setg(errp, "unrecognized netdev id '%s'", id);
        } else {
            error_setg(errp, "user mode network stack not in use");
        }
        return NULL;
    }
    slirp = net_slirp_stack(nc);
    if (!slirp) {
        error_setg(errp, "invalid device specified");
    }
    return slirp;
}

bool net_slirp_hostfwd_add(const char *id, const char *rule, GError **errp)
{
    Slirp *slirp = net_slirp_lookup(id, errp);

    return slirp && net_slirp_hostfwd_add_rule(slirp, rule, errp);
}

bool net_slirp_hostfwd_remove(const char *id, const char *rule,
                              GError **errp)
{
    Slirp *slirp = net_slirp_lookup(id, errp);

    return slirp && net_slirp_hostfwd_remove_rule(slirp, rule, errp);
}

void qmp_x_hostfwd_add(const char *netdev, const char *rule, GError **errp)
{
    net_slirp_hostfwd_add(netdev, rule, errp);
}

void qmp_x_hostfwd_remove(const char *netdev, const char *rule,
                          GError **errp)
{
    net_slirp_hostfwd_remove(netdev, rule, errp);
}

/* Appends a rule to the list whose tail pointer @opaque points at. */
static void net_slirp_qmp_add_rule(const char *netdev, bool udp,
                                   const char *host_addr, int host_port,
                                   const char *guest_addr, int guest_port,
                                   void *opaque)
{
    HostFwdInfoList ***tail = opaque;
    HostFwdInfo *r = g_new0(HostFwdInfo, 1);

    r->netdev = g_strdup(netdev);
    r->protocol = g_strdup(udp ? "udp" : "tcp");
    r->host_addr = g_strdup(host_addr);
    r->host_port = host_port;
    r->guest_addr = g_strdup(guest_addr);
    r->guest_port = guest_port;
    **tail = g_new0(HostFwdInfoList, 1);
    (**tail)->value = r;
    *tail = &(**tail)->next;
}

HostFwdInfoList *qmp_x_query_hostfwd(bool has_netdev, const char *netdev,
                                     GError **errp)
{
    HostFwdInfoList *head = NULL, **tail = &head;
    NetClientState *nc = NULL;

    if (has_netdev) {
        if (!net_slirp_lookup(netdev, errp)) {
            return NULL;
        }
        nc = net_client_find(netdev);
    }
    net_slirp_foreach_hostfwd(nc, net_slirp_qmp_add_rule, &tail);
    return head;
}
