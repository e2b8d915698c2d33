/*
 * DOC: the hubs' monitor commands
 *
 *   x-query-mac-table [hubid]   QMP: every live MAC table entry (hub, VLAN,
 *                               MAC, port, age in ms), hubs in creation
 *                               order, each sorted by VLAN then MAC;
 *                               "hub N not found" for an unknown @hubid
 *   info mac-table              HMP (monitor/hmp.c): the same as a table
 *
 * Called by the generated marshaller and the HMP dispatcher from the
 * monitor's fd handler; net/hub.c hands out the entries through
 * net_hub_foreach_mac() (net/hub-internal.h).  Control plane: allocating
 * the list here is fine.
 */
#include "net/hub.h"

#include "hub-internal.h"
#include "qapi-commands.h"
#include "util/error.h"
#include "util/log.h"

/* Appends entries to the list whose tail pointer @opaque points at. */
static void net_hub_qmp_add_entry(const NetHubMac *entry, void *opaque)
{
    MacTableEntryList ***tail = opaque;
    MacTableEntry *m = g_new0(MacTableEntry, 1);
    char text[LOG_MAC_STRLEN];

    m->hub = entry->hubid;
    m->mac = g_strdup(log_mac_format(entry->mac, text));
    m->vlan = entry->vlan;
    m->port = g_strdup(entry->port);
    m->age_ms = entry->age_ms;
    **tail = g_new0(MacTableEntryList, 1);
    (**tail)->value = m;
    *tail = &(**tail)->next;
}

MacTableEntryList *qmp_x_query_mac_table(bool has_hubid, int32_t hubid,
                                         GError **errp)
{
    MacTableEntryList *head = NULL, **tail = &head;

    if (has_hubid && net_hub_mac_count(hubid) < 0) {
        error_setg(errp, "hub %d not found", (int)hubid);
        return NULL;
    }
    net_hub_foreach_mac(has_hubid, hubid, net_hub_qmp_add_entry, &tail);
    return head;
}

void net_hub_format_mac_table(GString *out)
{
    g_autoptr(MacTableEntryList) list = qmp_x_query_mac_table(false, 0,
                                                              NULL);

    g_string_append(out, "hub  vlan  mac                port  age-ms\n");
    for (MacTableEntryList *l = list; l; l = l->next) {
        MacTableEntry *m = l->value;

        g_string_append_printf(out, "%-4d %-5" G_GINT64_FORMAT " %s  %s  %"
                               G_GINT64_FORMAT "\n", (int)m->hub, m->vlan,
                               m->mac, m->port, m->age_ms);
    }
}
