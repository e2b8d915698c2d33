/*
 * DOC: device creation (see include/hw/device.h)
 *
 * One row per device model, indexed by the generated DeviceModel: the
 * model's add function and the names of its properties (generated from its
 * branch of DeviceOptions), so that a key the model lacks gets QEMU's
 * "Property '<model>.<key>' not found" rather than the visitor's generic
 * message.  A new model adds a value to DeviceModel and a branch to
 * DeviceOptions in qapi/device.json, and one row here.
 *
 * QMP's device_add and device_del are here too:
 *   device_add  the shared device_add() (the one -device uses); a taken id
 *               gets QEMU's QMP words "Duplicate device ID '<id>'"
 *   device_del  any NIC: it leaves its netdev (which stays, without a
 *               peer: its frames go nowhere, its link as it was) and is
 *               freed at once; anything else is "Device '<id>' not found"
 *               (DeviceNotFound)
 */
#include "hw/device.h"

#include "hw/nic-stub.h"
#include "net/net.h"
#include "qapi-commands.h"
#include "qapi-visit.h"
#include "util/error.h"
#include "util/keyval.h"

typedef bool DeviceAddFunc(const DeviceOptions *opts, GError **errp);

typedef struct DeviceModelInfo {
    DeviceAddFunc *add;
    const char *const *properties;  /* NULL-terminated */
} DeviceModelInfo;

static bool device_add_nic_stub(const DeviceOptions *opts, GError **errp)
{
    return nic_stub_device_add(opts->has_id ? opts->id : NULL,
                               &opts->u.nic_stub, errp);
}

static const DeviceModelInfo device_models[DEVICE_MODEL__MAX] = {
    [DEVICE_MODEL_NIC_STUB] = { device_add_nic_stub,
                                NicStubProperties_members },
};

bool device_add(const DeviceOptions *opts, GError **errp)
{
    return device_models[opts->driver].add(opts, errp);
}

/* The string member @name of @obj, or NULL if absent or no string. */
static const char *device_opt_str(JsonObject *obj, const char *name)
{
    JsonNode *node = json_object_get_member(obj, name);

    if (!node || !JSON_NODE_HOLDS_VALUE(node) ||
        json_node_get_value_type(node) != G_TYPE_STRING) {
        return NULL;
    }
    return json_node_get_string(node);
}

/* Every key of @obj is DeviceOptions' own or a property of @model. */
static bool device_check_properties(JsonObject *obj, const char *driver,
                                    const DeviceModelInfo *model,
                                    GError **errp)
{
    g_autoptr(GList) members = json_object_get_members(obj);

    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;

        if (!g_strv_contains(DeviceOptions_members, key) &&
            !g_strv_contains(model->properties, key)) {
            error_setg(errp, "Property '%s.%s' not found", driver, key);
            return false;
        }
    }
    return true;
}

/* The checks of device_from_json() before the visitor's. */
static bool device_check_options(JsonObject *obj, bool keyval, GError **errp)
{
    const char *id = device_opt_str(obj, "id");
    const char *driver = device_opt_str(obj, "driver");
    int model;

    if (keyval && id && !id_check(id, errp)) {
        return false;
    }
    if (!json_object_has_member(obj, "driver")) {
        error_setg(errp, "Parameter 'driver' is missing");
        return false;
    }
    if (!driver) {
        return true;            /* the visitor names the wrong type */
    }
    model = qapi_enum_parse(&DeviceModel_lookup, driver, -1, NULL);
    if (model < 0) {
        error_setg(errp, "'%s' is not a valid device model name", driver);
        return false;
    }
    return device_check_properties(obj, driver, &device_models[model], errp);
}

DeviceOptions *device_from_json(JsonNode *node, bool keyval, GError **errp)
{
    DeviceOptions *opts = NULL;

    if (JSON_NODE_HOLDS_OBJECT(node) &&
        !device_check_options(json_node_get_object(node), keyval, errp)) {
        return NULL;
    }
    qapi_input_DeviceOptions(node, keyval, &opts, errp);
    return opts;
}

DeviceOptions *device_parse(const char *arg, GError **errp)
{
    g_autoptr(JsonNode) node = NULL;
    bool keyval;

    node = keyval_parse_option(arg, "driver", &keyval, errp);
    return node ? device_from_json(node, keyval, errp) : NULL;
}

void qmp_device_add(DeviceOptions *data, GError **errp)
{
    /* QEMU checks the id's form first: a malformed id is never taken. */
    if (data->has_id && id_check(data->id, NULL) &&
        net_client_find(data->id)) {
        error_setg(errp, "Duplicate device ID '%s'", data->id);
        return;
    }
    device_add(data, errp);
}

void qmp_device_del(const char *id, GError **errp)
{
    NetClientState *nc = net_client_find(id);

    if (!nc || !net_client_is_nic(nc)) {
        g_set_error(errp, VMWIRE_ERROR, VMWIRE_ERROR_NOT_FOUND,
                    "Device '%s' not found", id);
        return;
    }
    net_client_free(nc);
}
