/*
 * DOC: the user netdevs' monitor commands: run-time host forwarding
 *
 *   x-hostfwd-add NETDEV RULE      QMP; HMP's hostfwd_add [netdev_id] RULE
 *   x-hostfwd-remove NETDEV RULE   QMP; HMP's hostfwd_remove [netdev_id] RULE
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
