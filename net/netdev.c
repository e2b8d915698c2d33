/*
 * DOC: netdev creation (see include/net/netdev.h)
 *
 * One table maps `type=` to a backend's init function; a new backend adds
 * one row.  Checks common to every type (id present, well formed, unique)
 * happen here, with QEMU's messages, before the backend sees the options.
 */
#include "net/netdev.h"

#include "util/error.h"

typedef struct NetdevType {
    const char *name;
    NetdevInitFunc *init;
} NetdevType;

static const NetdevType netdev_types[] = {
    { "socket", net_init_socket },
};

static const NetdevType *netdev_type_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(netdev_types); i++) {
        if (g_str_equal(netdev_types[i].name, name)) {
            return &netdev_types[i];
        }
    }
    return NULL;
}

bool netdev_add(const KeyValList *opts, GError **errp)
{
    const char *type = keyval_get(opts, "type");
    const char *id = keyval_get(opts, "id");
    const NetdevType *kind;

    /* QEMU's order: the id first, then the type. */
    if (!id_check(id, errp)) {
        return false;
    }
    if (!type) {
        error_setg(errp, "Parameter 'type' is missing");
        return false;
    }
    kind = netdev_type_find(type);
    if (!kind) {
        error_setg(errp, "Parameter 'type' does not accept value '%s'", type);
        return false;
    }
    if (net_client_find(id)) {
        error_setg(errp, "Duplicate ID '%s' for netdev", id);
        return false;
    }
    return kind->init(opts, id, errp);
}
