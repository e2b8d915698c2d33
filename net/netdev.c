/*
 * DOC: netdev creation (see include/net/netdev.h)
 *
 * One table maps the generated NetClientDriver to a backend's init
 * function; a new backend adds a value to the enum and a branch to Netdev
 * in qapi/net.json, and one row here.  Checks common to every type (id
 * well formed and unused, a backend for the type) happen here, with QEMU's
 * messages, before the backend sees its options.
 */
#include "net/netdev.h"

#include <string.h>

#include "net/slirp.h"
#include "qapi-visit.h"
#include "util/error.h"
#include "util/keyval.h"

static NetdevInitFunc *const netdev_init[NET_CLIENT_DRIVER__MAX] = {
    [NET_CLIENT_DRIVER_SOCKET] = net_init_socket,
    [NET_CLIENT_DRIVER_STREAM] = net_init_stream,
    [NET_CLIENT_DRIVER_DGRAM] = net_init_dgram,
    [NET_CLIENT_DRIVER_HUBPORT] = net_init_hubport,
    [NET_CLIENT_DRIVER_USER] = net_init_user,
    [NET_CLIENT_DRIVER_VHOST_USER] = net_init_vhost_user,
    [NET_CLIENT_DRIVER_VXLAN] = net_init_vxlan,
};

bool netdev_add(const Netdev *netdev, GError **errp)
{
    NetdevInitFunc *init = netdev_init[netdev->type];

    if (!id_check(netdev->id, errp)) {
        return false;
    }
    if (!init) {
        error_setg(errp, "network backend '%s' is not compiled into this "
                   "binary", NetClientDriver_str(netdev->type));
        return false;
    }
    if (net_client_find(netdev->id)) {
        error_setg(errp, "Duplicate ID '%s' for netdev", netdev->id);
        return false;
    }
    return init(netdev, errp);
}

/*
 * QEMU reads -netdev key=value through QemuOpts, which checks the id
 * (present, then well formed) before anything looks at the type.
 */
static bool netdev_check_id_first(JsonNode *node, GError **errp)
{
    JsonNode *id = json_object_get_member(json_node_get_object(node), "id");

    if (!id || !JSON_NODE_HOLDS_VALUE(id) ||
        json_node_get_value_type(id) != G_TYPE_STRING) {
        return id_check(NULL, errp);
    }
    return id_check(json_node_get_string(id), errp);
}

/*
 * The type an @arg in key=value form names (its implied first key, or
 * type=), or -1.  Commas in values are doubled (",,"), never in a type.
 */
static int netdev_peek_type(const char *arg)
{
    g_auto(GStrv) parts = g_strsplit(arg, ",", -1);

    for (int i = 0; parts[i]; i++) {
        const char *value = NULL;

        if (i == 0 && !strchr(parts[i], '=')) {
            value = parts[i];
        } else if (g_str_has_prefix(parts[i], "type=")) {
            value = parts[i] + 5;
        }
        if (value) {
            return qapi_enum_parse(&NetClientDriver_lookup, value, -1, NULL);
        }
    }
    return -1;
}

/*
 * @arg as JSON, or as key=value where the list members of the type's
 * branch (hostfwd= of user, remote= of vxlan) may repeat: parsed letting
 * the named type's lists repeat (every branch's if the type is unknown,
 * which leaves out a name two branches use differently, as vxlan's
 * remote= and dgram's remote.*), converted with the chosen branch's.
 */
static JsonNode *netdev_parse_node(const char *arg, bool *keyval,
                                   GError **errp)
{
    g_autoptr(KeyValList) list = NULL;
    const char *const *lists = NULL;
    int type;

    if (arg[0] == '{') {
        return keyval_parse_option(arg, "type", keyval, errp);
    }
    *keyval = true;
    type = netdev_peek_type(arg);
    list = keyval_parse_lists(arg, "type", type >= 0 ?
                              Netdev_branch_list_members[type] :
                              Netdev_list_members, errp);
    if (!list) {
        return NULL;
    }
    type = qapi_enum_parse(&NetClientDriver_lookup, keyval_get(list, "type"),
                           -1, NULL);
    if (type >= 0) {
        lists = Netdev_branch_list_members[type];
    }
    return keyval_to_json_lists(list, lists, errp);
}

/* Is @node's "type" the string @type? */
static bool netdev_is_type(JsonNode *node, const char *type)
{
    JsonNode *t = json_object_get_member(json_node_get_object(node), "type");

    return t && JSON_NODE_HOLDS_VALUE(t) &&
           json_node_get_value_type(t) == G_TYPE_STRING &&
           strcmp(json_node_get_string(t), type) == 0;
}

Netdev *netdev_parse(const char *arg, GError **errp)
{
    g_autoptr(JsonNode) node = NULL;
    Netdev *netdev = NULL;
    bool keyval;

    node = netdev_parse_node(arg, &keyval, errp);
    if (!node || (keyval && !netdev_check_id_first(node, errp))) {
        return NULL;
    }
    if (keyval && netdev_is_type(node, "user") &&
        !net_slirp_expand_ipv6_net(json_node_get_object(node), errp)) {
        return NULL;
    }
    qapi_input_Netdev(node, keyval, &netdev, errp);
    return netdev;
}
