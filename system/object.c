/*
 * DOC: the object registry (see include/system/object.h)
 *
 * One row per object kind, indexed by the generated ObjectType: the
 * kind's add function.  A new kind adds a value to ObjectType and a
 * branch to ObjectOptions in qapi/object.json, its module, and one row
 * here.  Every kind vmwire has is a net filter, so the live objects are
 * the filters (net/filter.c keeps them, by id): object-del and exit free
 * them through the chain, and a filter whose netdev goes leaves with it.
 * A kind that is no filter would keep its own list and be looked up here
 * too.
 */
#include "system/object.h"

#include "net/dump.h"
#include "net/filter.h"
#include "qapi-commands.h"
#include "qapi-visit.h"
#include "util/error.h"
#include "util/keyval.h"

typedef bool ObjectAddFunc(const ObjectOptions *opts, GError **errp);

static bool object_add_filter_dump(const ObjectOptions *opts, GError **errp)
{
    return net_dump_add(opts->id, &opts->u.filter_dump, errp);
}

static ObjectAddFunc *const object_types[OBJECT_TYPE__MAX] = {
    [OBJECT_TYPE_FILTER_DUMP] = object_add_filter_dump,
};

static bool object_exists(const char *id)
{
    return net_filter_find(id) != NULL;
}

ObjectOptions *object_parse(const char *arg, GError **errp)
{
    g_autoptr(JsonNode) node = NULL;
    ObjectOptions *opts = NULL;
    bool keyval;

    node = keyval_parse_option(arg, "qom-type", &keyval, errp);
    if (!node) {
        return NULL;
    }
    qapi_input_ObjectOptions(node, keyval, &opts, errp);
    return opts;
}

bool object_add(const ObjectOptions *opts, GError **errp)
{
    if (!id_check(opts->id, errp)) {
        return false;
    }
    if (object_exists(opts->id)) {
        error_setg(errp, "Duplicate ID '%s' for object", opts->id);
        return false;
    }
    if (!object_types[opts->qom_type]) {
        error_setg(errp, "Parameter 'qom-type' does not accept value '%s'",
                   ObjectType_str(opts->qom_type));
        return false;
    }
    return object_types[opts->qom_type](opts, errp);
}

bool object_del(const char *id, GError **errp)
{
    NetFilterState *nf = net_filter_find(id);

    if (!nf) {
        error_setg(errp, "object '%s' not found", id);
        return false;
    }
    net_filter_free(nf);
    return true;
}

void qmp_object_add(ObjectOptions *data, GError **errp)
{
    /* QMP's words for a taken id are QOM's, not the command line's. */
    if (id_check(data->id, NULL) && object_exists(data->id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", data->id);
        return;
    }
    object_add(data, errp);
}

void qmp_object_del(const char *id, GError **errp)
{
    object_del(id, errp);
}

void object_cleanup(void)
{
    net_filter_free_all();
}
