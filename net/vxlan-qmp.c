/*
 * DOC: the vxlan netdevs' monitor commands
 *
 *   x-query-vxlan-fdb [netdev]        every vxlan netdev's FDB (flood
 *                                     list as 00:00:00:00:00:00 entries,
 *                                     static, then live learned entries)
 *                                     and its drop counters
 *   x-vxlan-fdb-add netdev mac remote `bridge fdb add` (unicast @mac) or
 *                                     `bridge fdb append` (all-zeros @mac)
 *   x-vxlan-fdb-del netdev mac [remote]  `bridge fdb del`
 *
 * Called by the generated marshaller from the monitor's fd handler;
 * net/vxlan.c owns the FDB (net/vxlan-internal.h).  Control plane:
 * allocating the replies here is fine.
 */
#include "vxlan-internal.h"

#include "qapi-commands.h"
#include "util/error.h"
#include "util/log.h"

/* The vxlan netdev @id, or NULL with QEMU's wording in @errp. */
static VxlanState *vxlan_qmp_find(const char *id, GError **errp)
{
    NetClientState *nc = net_client_find(id);
    VxlanState *s = vxlan_from_client(nc);

    if (!nc) {
        g_set_error(errp, VMWIRE_ERROR, VMWIRE_ERROR_NOT_FOUND,
                    "Device '%s' not found", id);
    } else if (!s) {
        error_setg(errp, "netdev '%s' is not a vxlan netdev", id);
    }
    return s;
}

static void vxlan_qmp_add_entry(const uint8_t *mac, const VxlanAddr *remote,
                                bool is_static, int64_t age_ms, void *opaque)
{
    VxlanFdbEntryList ***tail = opaque;
    VxlanFdbEntry *e = g_new0(VxlanFdbEntry, 1);
    char text[LOG_MAC_STRLEN];
    char addr[INET6_ADDRSTRLEN];

    e->mac = g_strdup(log_mac_format(mac, text));
    e->remote = g_strdup(vxlan_format_addr(remote, addr, sizeof(addr)));
    e->q_static = is_static;
    e->age_ms = age_ms;
    **tail = g_new0(VxlanFdbEntryList, 1);
    (**tail)->value = e;
    *tail = &(**tail)->next;
}

static VxlanFdbInfo *vxlan_qmp_fdb(VxlanState *s)
{
    VxlanFdbInfo *r = g_new0(VxlanFdbInfo, 1);
    VxlanFdbEntryList **tail = &r->entries;

    r->netdev = g_strdup(s->nc.name);
    r->vni = s->vni;
    vxlan_fdb_foreach(&s->fdb, vxlan_qmp_add_entry, &tail);
    r->bad_header = (int64_t)s->bad_header;
    r->wrong_vni = (int64_t)s->wrong_vni;
    r->too_big = (int64_t)s->too_big;
    r->fdb_full = (int64_t)s->fdb.full;
    return r;
}

static void vxlan_qmp_collect(NetClientState *nc, void *opaque)
{
    VxlanFdbInfoList ***tail = opaque;
    VxlanState *s = vxlan_from_client(nc);

    if (!s || net_client_is_going(nc)) {
        return;
    }
    **tail = g_new0(VxlanFdbInfoList, 1);
    (**tail)->value = vxlan_qmp_fdb(s);
    *tail = &(**tail)->next;
}

VxlanFdbInfoList *qmp_x_query_vxlan_fdb(bool has_netdev, const char *netdev,
                                    GError **errp)
{
    VxlanFdbInfoList *head = NULL, **tail = &head;

    if (has_netdev) {
        VxlanState *s = vxlan_qmp_find(netdev, errp);

        if (!s) {
            return NULL;
        }
        head = g_new0(VxlanFdbInfoList, 1);
        head->value = vxlan_qmp_fdb(s);
        return head;
    }
    net_client_foreach(vxlan_qmp_collect, &tail);
    return head;
}

/* The netdev, @mac and (if given) @remote, parsed. */
static VxlanState *vxlan_qmp_args(const char *netdev, const char *mac_str,
                                  const char *remote_str, uint8_t *mac,
                                  VxlanAddr *remote, GError **errp)
{
    VxlanState *s = vxlan_qmp_find(netdev, errp);

    if (!s) {
        return NULL;
    }
    if (!vxlan_parse_mac(mac_str, mac)) {
        error_setg(errp, "Parameter 'mac' expects a MAC address");
        return NULL;
    }
    if (remote_str && !vxlan_parse_addr(remote_str, s->family, "remote",
                                        remote, errp)) {
        return NULL;
    }
    return s;
}

void qmp_x_vxlan_fdb_add(const char *netdev, const char *mac,
                         const char *remote, GError **errp)
{
    uint8_t m[6];
    VxlanAddr addr;
    VxlanState *s = vxlan_qmp_args(netdev, mac, remote, m, &addr, errp);

    if (s) {
        vxlan_fdb_add(&s->fdb, m, &addr, errp);
    }
}

void qmp_x_vxlan_fdb_del(const char *netdev, const char *mac,
                         bool has_remote, const char *remote, GError **errp)
{
    uint8_t m[6];
    VxlanAddr addr;
    VxlanState *s = vxlan_qmp_args(netdev, mac, has_remote ? remote : NULL,
                                   m, &addr, errp);

    if (s) {
        vxlan_fdb_del(&s->fdb, m, has_remote ? &addr : NULL, errp);
    }
}
