/*
 * DOC: the QAPI runtime (see include/qapi/util.h)
 *
 * Enum lookups, the QMP error class, and the helpers every generated
 * visitor calls.  Input walks a json-glib tree: for JSON the node types
 * must match the schema; in key=value mode (the tree came from
 * keyval_to_json()) every scalar is a string, parsed here by type, and an
 * object can only come from dotted keys.  The QapiInput's path names what
 * is being visited, for the messages.
 *
 * Nothing here is on the frame path: options and QMP commands only.
 */
#include "qapi/util.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "util/error.h"

/* ---- enums ------------------------------------------------------------ */

const char *qapi_enum_lookup(const QEnumLookup *lookup, int val)
{
    g_assert(val >= 0 && val < lookup->size);
    return lookup->array[val];
}

static int qapi_enum_find(const QEnumLookup *lookup, const char *name)
{
    for (int i = 0; i < lookup->size; i++) {
        if (lookup->array[i] && strcmp(lookup->array[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

int qapi_enum_parse(const QEnumLookup *lookup, const char *buf, int def,
                    GError **errp)
{
    int i;

    if (!buf) {
        return def;
    }
    i = qapi_enum_find(lookup, buf);
    if (i < 0) {
        error_setg(errp, "invalid parameter value: %s", buf);
        return def;
    }
    return i;
}

/* ---- errors ------------------------------------------------------------ */

const char *qapi_error_class(const GError *err)
{
    if (err && err->domain == VMWIRE_ERROR) {
        switch (err->code) {
        case VMWIRE_ERROR_NOT_FOUND:
            return "DeviceNotFound";
        case VMWIRE_ERROR_COMMAND_NOT_FOUND:
            return "CommandNotFound";
        default:
            break;
        }
    }
    return "GenericError";
}

/* ---- the path ----------------------------------------------------------- */

void qapi_input_init(QapiInput *in, bool keyval)
{
    in->keyval = keyval;
    in->path = g_string_new(NULL);
}

void qapi_input_destroy(QapiInput *in)
{
    if (in->path) {
        g_string_free(in->path, TRUE);
        in->path = NULL;
    }
}

size_t qapi_in_push(QapiInput *in, const char *name)
{
    size_t mark = in->path->len;

    if (mark) {
        g_string_append_c(in->path, '.');
    }
    g_string_append(in->path, name);
    return mark;
}

/* key=value users wrote "a.0", JSON users see "a[0]" (as QEMU). */
size_t qapi_in_push_index(QapiInput *in, unsigned index)
{
    size_t mark = in->path->len;

    if (in->keyval) {
        g_string_append_printf(in->path, "%s%u", mark ? "." : "", index);
    } else {
        g_string_append_printf(in->path, "[%u]", index);
    }
    return mark;
}

void qapi_in_pop(QapiInput *in, size_t mark)
{
    g_string_truncate(in->path, mark);
}

/* The current path, as messages name it. */
static const char *qapi_in_name(const QapiInput *in)
{
    return in->path->len ? in->path->str : "<anonymous>";
}

/* The name of @obj's first member (in input order), or NULL. */
static const char *qapi_first_member(JsonObject *obj)
{
    GList *members = json_object_get_members(obj);
    const char *name = members ? members->data : NULL;

    g_list_free(members);
    return name;
}

/*
 * @name followed by the dotted path down @node's first members to a leaf:
 * the key=value key that ended up below @name ("listen" + {"x": "1"} ->
 * "listen.x").
 */
static char *qapi_keyval_leaf(const char *name, JsonNode *node)
{
    GString *key = g_string_new(name);

    while (JSON_NODE_HOLDS_OBJECT(node)) {
        JsonObject *obj = json_node_get_object(node);
        const char *first = qapi_first_member(obj);

        if (!first) {
            break;
        }
        if (key->len) {
            g_string_append_c(key, '.');
        }
        g_string_append(key, first);
        node = json_object_get_member(obj, first);
    }
    return g_string_free(key, FALSE);
}

/* @node is not of the JSON type @expected. */
static bool qapi_in_type_error(QapiInput *in, JsonNode *node,
                               const char *expected, GError **errp)
{
    if (in->keyval && JSON_NODE_HOLDS_OBJECT(node)) {
        g_autofree char *key = qapi_keyval_leaf(in->path->str, node);

        error_setg(errp, "Invalid parameter '%s'", key);
        return false;
    }
    error_setg(errp, "Invalid parameter type for '%s', expected: %s",
               qapi_in_name(in), expected);
    return false;
}

static bool qapi_in_value_error(QapiInput *in, const char *expects,
                                GError **errp)
{
    error_setg(errp, "Parameter '%s' expects %s", qapi_in_name(in), expects);
    return false;
}

static bool node_is(JsonNode *node, GType type)
{
    return JSON_NODE_HOLDS_VALUE(node) &&
           json_node_get_value_type(node) == type;
}

/* The string of a key=value scalar, or NULL (not in that mode, or no
 * string). */
static const char *qapi_keyval_str(const QapiInput *in, JsonNode *node)
{
    return in->keyval && node_is(node, G_TYPE_STRING)
           ? json_node_get_string(node) : NULL;
}

/* ---- structs ------------------------------------------------------------ */

bool qapi_in_start_struct(QapiInput *in, JsonNode *node, QapiInStruct *s,
                          GError **errp)
{
    GList *members;

    s->obj = NULL;
    s->unvisited = NULL;
    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        error_setg(errp, "Invalid parameter type for '%s', expected: object",
                   qapi_in_name(in));
        return false;
    }
    s->obj = json_node_get_object(node);
    s->unvisited = g_hash_table_new(g_str_hash, g_str_equal);
    members = json_object_get_members(s->obj);
    for (GList *l = members; l; l = l->next) {
        g_hash_table_add(s->unvisited, l->data);
    }
    g_list_free(members);
    return true;
}

JsonNode *qapi_in_member(QapiInput *in, QapiInStruct *s, const char *name,
                         size_t *mark)
{
    JsonNode *node = json_object_get_member(s->obj, name);

    if (!node) {
        return NULL;
    }
    g_hash_table_remove(s->unvisited, name);
    *mark = qapi_in_push(in, name);
    return node;
}

bool qapi_in_missing(QapiInput *in, const char *name, GError **errp)
{
    size_t mark = qapi_in_push(in, name);

    error_setg(errp, "Parameter '%s' is missing", in->path->str);
    qapi_in_pop(in, mark);
    return false;
}

/* The unexpected member @name of the struct at the current path. */
static bool qapi_in_unexpected(QapiInput *in, const char *name,
                               JsonNode *node, GError **errp)
{
    size_t mark = qapi_in_push(in, name);

    if (in->keyval) {
        g_autofree char *key = qapi_keyval_leaf(in->path->str, node);

        error_setg(errp, "Invalid parameter '%s'", key);
    } else {
        error_setg(errp, "Parameter '%s' is unexpected", in->path->str);
    }
    qapi_in_pop(in, mark);
    return false;
}

bool qapi_in_check_struct(QapiInput *in, QapiInStruct *s, GError **errp)
{
    GList *members;
    bool ok = true;

    if (g_hash_table_size(s->unvisited) == 0) {
        return true;
    }
    members = json_object_get_members(s->obj);
    for (GList *l = members; l; l = l->next) {
        if (g_hash_table_contains(s->unvisited, l->data)) {
            ok = qapi_in_unexpected(in, l->data,
                                    json_object_get_member(s->obj, l->data),
                                    errp);
            break;
        }
    }
    g_list_free(members);
    return ok;
}

void qapi_in_end_struct(QapiInStruct *s)
{
    g_clear_pointer(&s->unvisited, g_hash_table_unref);
    s->obj = NULL;
}

/* ---- lists -------------------------------------------------------------- */

/* A canonical decimal index ("0", "12"; not "01", "+1", "x"). */
static bool qapi_is_index(const char *key)
{
    if (!g_ascii_isdigit(key[0]) || (key[0] == '0' && key[1])) {
        return false;
    }
    for (const char *p = key; *p; p++) {
        if (!g_ascii_isdigit(*p)) {
            return false;
        }
    }
    return true;
}

/* key=value lists: a.0=x,a.1=y arrive as {"a": {"0": "x", "1": "y"}}. */
static GPtrArray *qapi_keyval_list(QapiInput *in, JsonObject *obj,
                                   GError **errp)
{
    guint n = json_object_get_size(obj);
    GPtrArray *items = g_ptr_array_sized_new(n);
    GList *members = json_object_get_members(obj);

    for (GList *l = members; l; l = l->next) {
        if (!qapi_is_index(l->data)) {
            qapi_in_unexpected(in, l->data,
                               json_object_get_member(obj, l->data), errp);
            goto fail;
        }
    }
    for (guint i = 0; i < n; i++) {
        char key[16];
        JsonNode *elem;

        g_snprintf(key, sizeof(key), "%u", i);
        elem = json_object_get_member(obj, key);
        if (!elem) {
            qapi_in_missing(in, key, errp);
            goto fail;
        }
        g_ptr_array_add(items, elem);
    }
    g_list_free(members);
    return items;

fail:
    g_list_free(members);
    g_ptr_array_unref(items);
    return NULL;
}

GPtrArray *qapi_in_list_items(QapiInput *in, JsonNode *node, GError **errp)
{
    if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *array = json_node_get_array(node);
        guint n = json_array_get_length(array);
        GPtrArray *items = g_ptr_array_sized_new(n);

        for (guint i = 0; i < n; i++) {
            g_ptr_array_add(items, json_array_get_element(array, i));
        }
        return items;
    }
    if (in->keyval && JSON_NODE_HOLDS_OBJECT(node)) {
        return qapi_keyval_list(in, json_node_get_object(node), errp);
    }
    qapi_in_type_error(in, node, "array", errp);
    return NULL;
}

/* ---- alternates --------------------------------------------------------- */

/* QEMU's qapi_bool_parse() spellings: 1, 0, or -1 for none of them. */
static int qapi_bool_from_string(const char *str)
{
    static const char *const yes[] = { "on", "yes", "true", NULL };
    static const char *const no[] = { "off", "no", "false", NULL };

    if (g_strv_contains(yes, str)) {
        return 1;
    }
    if (g_strv_contains(no, str)) {
        return 0;
    }
    return -1;
}

QType qapi_in_alternate_type(QapiInput *in, JsonNode *node,
                             unsigned branches)
{
    const char *str = qapi_keyval_str(in, node);

    if (str && !(branches & (1u << QTYPE_QSTRING))) {
        if ((branches & (1u << QTYPE_QBOOL)) &&
            qapi_bool_from_string(str) >= 0) {
            return QTYPE_QBOOL;
        }
        if (branches & (1u << QTYPE_QNUM)) {
            return QTYPE_QNUM;
        }
        if (branches & (1u << QTYPE_QBOOL)) {
            return QTYPE_QBOOL;
        }
    }
    switch (JSON_NODE_TYPE(node)) {
    case JSON_NODE_OBJECT:
        return QTYPE_QDICT;
    case JSON_NODE_ARRAY:
        return QTYPE_QLIST;
    case JSON_NODE_NULL:
        return QTYPE_QNULL;
    case JSON_NODE_VALUE:
        break;
    }
    if (node_is(node, G_TYPE_STRING)) {
        return QTYPE_QSTRING;
    }
    if (node_is(node, G_TYPE_BOOLEAN)) {
        return QTYPE_QBOOL;
    }
    return QTYPE_QNUM;
}

bool qapi_in_alternate_error(QapiInput *in, const char *type_name,
                             GError **errp)
{
    error_setg(errp, "Invalid parameter type for '%s', expected: %s",
               qapi_in_name(in), type_name);
    return false;
}

/* ---- scalars ------------------------------------------------------------ */

bool qapi_in_str(QapiInput *in, JsonNode *node, char **obj, GError **errp)
{
    if (!node_is(node, G_TYPE_STRING)) {
        return qapi_in_type_error(in, node, "string", errp);
    }
    *obj = g_strdup(json_node_get_string(node));
    return true;
}

bool qapi_in_number(QapiInput *in, JsonNode *node, double *obj,
                    GError **errp)
{
    const char *str = qapi_keyval_str(in, node);

    if (str) {
        char *end = NULL;
        double val;

        errno = 0;
        val = g_ascii_strtod(str, &end);
        if (!*str || *end || errno || !isfinite(val) ||
            g_ascii_isspace(*str)) {
            return qapi_in_value_error(in, "a number", errp);
        }
        *obj = val;
        return true;
    }
    if (node_is(node, G_TYPE_INT64)) {
        *obj = (double)json_node_get_int(node);
        return true;
    }
    if (node_is(node, G_TYPE_DOUBLE)) {
        *obj = json_node_get_double(node);
        return true;
    }
    return qapi_in_type_error(in, node, "number", errp);
}

/*
 * A key=value integer: an optional '-', then decimal digits (no leading
 * zero: QEMU would read "010" as octal 8, we refuse rather than guess) or
 * 0x and hex digits.  Sets *@negative and the magnitude; false on junk or
 * a magnitude above UINT64_MAX.
 */
static bool qapi_parse_integer(const char *str, bool *negative,
                               uint64_t *magnitude)
{
    unsigned base = 10;
    uint64_t val = 0;

    *negative = str[0] == '-';
    str += *negative;
    if (str[0] == '0' && (str[1] == 'x' || str[1] == 'X')) {
        base = 16;
        str += 2;
    } else if (str[0] == '0' && str[1]) {
        return false;
    }
    if (!*str) {
        return false;
    }
    for (const char *p = str; *p; p++) {
        int digit = g_ascii_xdigit_value(*p);

        if (digit < 0 || (unsigned)digit >= base ||
            val > (UINT64_MAX - (unsigned)digit) / base) {
            return false;
        }
        val = val * base + (unsigned)digit;
    }
    *magnitude = val;
    return true;
}

static bool qapi_in_signed(QapiInput *in, JsonNode *node, int64_t min,
                           int64_t max, const char *type_name, int64_t *obj,
                           GError **errp)
{
    const char *str = qapi_keyval_str(in, node);
    int64_t val;

    if (str) {
        bool negative;
        uint64_t magnitude;

        if (!qapi_parse_integer(str, &negative, &magnitude) ||
            magnitude > (uint64_t)INT64_MAX + negative) {
            return qapi_in_value_error(in, "an integer", errp);
        }
        val = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    } else if (node_is(node, G_TYPE_INT64)) {
        val = json_node_get_int(node);
    } else {
        return qapi_in_type_error(in, node, "integer", errp);
    }
    if (val < min || val > max) {
        return qapi_in_value_error(in, type_name, errp);
    }
    *obj = val;
    return true;
}

static bool qapi_in_unsigned(QapiInput *in, JsonNode *node, uint64_t max,
                             const char *type_name, uint64_t *obj,
                             GError **errp)
{
    const char *str = qapi_keyval_str(in, node);
    uint64_t val;

    if (str) {
        bool negative;

        if (!qapi_parse_integer(str, &negative, &val) ||
            (negative && val)) {
            return qapi_in_value_error(in, "a non-negative integer", errp);
        }
    } else if (node_is(node, G_TYPE_INT64)) {
        int64_t sval = json_node_get_int(node);

        if (sval < 0) {
            return qapi_in_value_error(in, "a non-negative integer", errp);
        }
        val = (uint64_t)sval;
    } else {
        return qapi_in_type_error(in, node, "integer", errp);
    }
    if (val > max) {
        return qapi_in_value_error(in, type_name, errp);
    }
    *obj = val;
    return true;
}

bool qapi_in_int(QapiInput *in, JsonNode *node, int64_t *obj, GError **errp)
{
    return qapi_in_signed(in, node, INT64_MIN, INT64_MAX, "int64_t", obj,
                          errp);
}

bool qapi_in_int64(QapiInput *in, JsonNode *node, int64_t *obj,
                   GError **errp)
{
    return qapi_in_int(in, node, obj, errp);
}

#define QAPI_IN_SIZED(kind, ctype, wide, min, max)                          \
bool qapi_in_##kind(QapiInput *in, JsonNode *node, ctype *obj,              \
                    GError **errp)                                          \
{                                                                           \
    wide val = 0;           /* -O3 cannot see every path sets it */         \
                                                                            \
    if (!QAPI_IN_WIDE_##wide(in, node, min, max, #ctype, &val, errp)) {     \
        return false;                                                       \
    }                                                                       \
    *obj = (ctype)val;                                                      \
    return true;                                                            \
}

#define QAPI_IN_WIDE_int64_t(in, node, min, max, name, val, errp) \
    qapi_in_signed(in, node, min, max, name, val, errp)
#define QAPI_IN_WIDE_uint64_t(in, node, min, max, name, val, errp) \
    qapi_in_unsigned(in, node, max, name, val, errp)

QAPI_IN_SIZED(int8, int8_t, int64_t, INT8_MIN, INT8_MAX)
QAPI_IN_SIZED(int16, int16_t, int64_t, INT16_MIN, INT16_MAX)
QAPI_IN_SIZED(int32, int32_t, int64_t, INT32_MIN, INT32_MAX)
QAPI_IN_SIZED(uint8, uint8_t, uint64_t, 0, UINT8_MAX)
QAPI_IN_SIZED(uint16, uint16_t, uint64_t, 0, UINT16_MAX)
QAPI_IN_SIZED(uint32, uint32_t, uint64_t, 0, UINT32_MAX)

bool qapi_in_uint64(QapiInput *in, JsonNode *node, uint64_t *obj,
                    GError **errp)
{
    return qapi_in_unsigned(in, node, UINT64_MAX, "uint64_t", obj, errp);
}

bool qapi_in_size(QapiInput *in, JsonNode *node, uint64_t *obj,
                  GError **errp)
{
    return qapi_in_uint64(in, node, obj, errp);
}

bool qapi_in_bool(QapiInput *in, JsonNode *node, bool *obj, GError **errp)
{
    const char *str = qapi_keyval_str(in, node);

    if (str) {
        int val = qapi_bool_from_string(str);

        if (val < 0) {
            return qapi_in_value_error(in, "'on' or 'off'", errp);
        }
        *obj = val;
        return true;
    }
    if (!node_is(node, G_TYPE_BOOLEAN)) {
        return qapi_in_type_error(in, node, "boolean", errp);
    }
    *obj = json_node_get_boolean(node);
    return true;
}

bool qapi_in_any(QapiInput *in, JsonNode *node, JsonNode **obj,
                 GError **errp)
{
    *obj = json_node_copy(node);
    return true;
}

bool qapi_in_enum(QapiInput *in, JsonNode *node, const QEnumLookup *lookup,
                  int *obj, GError **errp)
{
    const char *str;
    int val;

    if (!node_is(node, G_TYPE_STRING)) {
        return qapi_in_type_error(in, node, "string", errp);
    }
    str = json_node_get_string(node);
    val = qapi_enum_find(lookup, str);
    if (val < 0) {
        error_setg(errp, "Parameter '%s' does not accept value '%s'",
                   qapi_in_name(in), str);
        return false;
    }
    *obj = val;
    return true;
}

/* ---- output ------------------------------------------------------------- */

JsonNode *qapi_out_str(const char *val)
{
    return json_node_init_string(json_node_alloc(), val ? val : "");
}

JsonNode *qapi_out_number(double val)
{
    return json_node_init_double(json_node_alloc(), val);
}

JsonNode *qapi_out_int(int64_t val)
{
    return json_node_init_int(json_node_alloc(), val);
}

/* json-glib integers are signed: beyond INT64_MAX, a (close) double. */
JsonNode *qapi_out_uint(uint64_t val)
{
    if (val > INT64_MAX) {
        return qapi_out_number((double)val);
    }
    return qapi_out_int((int64_t)val);
}

JsonNode *qapi_out_bool(bool val)
{
    return json_node_init_boolean(json_node_alloc(), val);
}

JsonNode *qapi_out_any(const JsonNode *val)
{
    if (!val) {
        return json_node_init_null(json_node_alloc());
    }
    return json_node_copy((JsonNode *)val);
}

JsonNode *qapi_out_enum(const QEnumLookup *lookup, int val)
{
    const char *name = val >= 0 && val < lookup->size ? lookup->array[val]
                                                      : NULL;

    return qapi_out_str(name);
}

JsonNode *qapi_out_take_object(JsonObject *obj)
{
    JsonNode *node = json_node_init_object(json_node_alloc(), obj);

    json_object_unref(obj);
    return node;
}

JsonNode *qapi_out_take_array(JsonArray *array)
{
    JsonNode *node = json_node_init_array(json_node_alloc(), array);

    json_array_unref(array);
    return node;
}

JsonObject *qapi_out_steal_object(JsonNode *node)
{
    JsonObject *obj = json_node_dup_object(node);

    json_node_unref(node);
    return obj;
}

void qapi_free_any(JsonNode *node)
{
    if (node) {
        json_node_unref(node);
    }
}

/* ---- marshallers -------------------------------------------------------- */

JsonNode *qapi_args_node(JsonObject *args)
{
    if (args) {
        return json_node_init_object(json_node_alloc(), args);
    }
    return qapi_out_take_object(json_object_new());
}

bool qapi_in_no_args(JsonObject *args, GError **errp)
{
    const char *first = args ? qapi_first_member(args) : NULL;

    if (first) {
        error_setg(errp, "Parameter '%s' is unexpected", first);
        return false;
    }
    return true;
}

void qapi_marshal_ret(JsonNode **ret, JsonNode *node)
{
    if (ret) {
        *ret = node;
    } else {
        json_node_unref(node);
    }
}
