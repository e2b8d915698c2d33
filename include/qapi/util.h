/*
 * DOC: the QAPI runtime (what generated qapi-*.c and their users call)
 *
 * scripts/qapi-gen.py turns qapi/vmwire-schema.json into C (docs/qapi.md).
 * This header holds what that code shares and does not generate:
 *
 *  - enum lookup tables (QEnumLookup) and qapi_enum_parse();
 *  - qapi_error_class(): the QMP error class of a GError;
 *  - qapi_event_emit(): where generated qapi_event_send_*() send events
 *    (implemented by the monitor);
 *  - the visitor runtime: a QapiInput carries the mode (key=value strings
 *    or JSON) and the dotted path of the member being visited, so every
 *    error names it ("Parameter 'addr.host' is missing"); scalar parsers;
 *    struct, list and alternate helpers; JSON output helpers.
 *
 * Input never takes ownership of the JsonNode it reads; what it builds is
 * the caller's (qapi_free_T()).  Output returns new nodes.
 *
 * Messages (name = the member's full dotted path, QEMU's wording):
 *   Parameter 'name' is missing
 *   Parameter 'name' is unexpected                (JSON)
 *   Invalid parameter 'name'                      (key=value)
 *   Invalid parameter type for 'name', expected: string (integer, boolean,
 *       object, array, number)
 *   Parameter 'name' does not accept value 'v'    (enums)
 *   Parameter 'name' expects 'on' or 'off'        (key=value booleans)
 *   Parameter 'name' expects an integer           (... a non-negative
 *       integer, for unsigned types; ... int8_t etc. when out of range)
 *   Parameter 'name' expects a number
 * In key=value mode a dotted key below a scalar (listen.x=1 where listen
 * is a string) is "Invalid parameter 'listen.x'", as QEMU says it.
 */
#ifndef QAPI_UTIL_H
#define QAPI_UTIL_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- enums ------------------------------------------------------------ */

/* Bits of QEnumLookup.special_features. */
typedef enum QapiSpecialFeature {
    QAPI_DEPRECATED,
    QAPI_UNSTABLE,
} QapiSpecialFeature;

typedef struct QEnumLookup {
    const char *const *array;   /* value -> name; NULL: not configured */
    const unsigned char *special_features;  /* NULL: none */
    int size;
} QEnumLookup;

/* The name of @val (0 <= @val < @lookup->size). */
const char *qapi_enum_lookup(const QEnumLookup *lookup, int val);

/*
 * The value named @buf; @def if @buf is NULL.  An unknown name sets
 * "invalid parameter value: <buf>" (QEMU's words) and returns @def.
 */
int qapi_enum_parse(const QEnumLookup *lookup, const char *buf, int def,
                    GError **errp);

/* ---- errors and events -------------------------------------------------- */

/*
 * The QMP error class of @err: VMWIRE_ERROR_NOT_FOUND -> "DeviceNotFound",
 * VMWIRE_ERROR_COMMAND_NOT_FOUND -> "CommandNotFound", anything else
 * (other codes, other domains, NULL) -> "GenericError".
 */
const char *qapi_error_class(const GError *err);

/*
 * Send event @name with @data (NULL: no data) to every QMP client that
 * finished negotiation.  Takes ownership of @data.  Implemented by the
 * monitor (monitor/); called by the generated qapi_event_send_*().
 */
void qapi_event_emit(const char *name, JsonObject *data);

/* ---- the visitor runtime (for generated code) --------------------------- */

/* The JSON type of a value, as alternates tell their branches apart. */
typedef enum QType {
    QTYPE_NONE,
    QTYPE_QNULL,
    QTYPE_QNUM,
    QTYPE_QSTRING,
    QTYPE_QDICT,
    QTYPE_QLIST,
    QTYPE_QBOOL,
    QTYPE__MAX,
} QType;

typedef struct QapiInput {
    bool keyval;        /* scalars are strings from key=value options */
    GString *path;      /* dotted name of what is being visited */
} QapiInput;

void qapi_input_init(QapiInput *in, bool keyval);
void qapi_input_destroy(QapiInput *in);

/* Append ".name" (or "[i]") to the path; qapi_in_pop() takes the mark. */
size_t qapi_in_push(QapiInput *in, const char *name);
size_t qapi_in_push_index(QapiInput *in, unsigned index);
void qapi_in_pop(QapiInput *in, size_t mark);

/* A JSON object being visited: the members not taken yet. */
typedef struct QapiInStruct {
    JsonObject *obj;            /* borrowed */
    GHashTable *unvisited;      /* member name -> itself, borrowed */
} QapiInStruct;

/* Errors: "Invalid parameter type for '<path>', expected: object". */
bool qapi_in_start_struct(QapiInput *in, JsonNode *node, QapiInStruct *s,
                          GError **errp);
/*
 * Member @name of the object (borrowed), or NULL if absent.  If present,
 * the path now names it until qapi_in_pop(in, *mark).
 */
JsonNode *qapi_in_member(QapiInput *in, QapiInStruct *s, const char *name,
                         size_t *mark);
/* Sets "Parameter '<path>.<name>' is missing"; returns false. */
bool qapi_in_missing(QapiInput *in, const char *name, GError **errp);
/* Fails on the first member (in input order) nobody took. */
bool qapi_in_check_struct(QapiInput *in, QapiInStruct *s, GError **errp);
void qapi_in_end_struct(QapiInStruct *s);

/*
 * The elements of a list, in order, borrowed (free the array with
 * g_ptr_array_unref).  JSON: an array.  key=value: an object whose keys
 * are 0, 1, ... (a.0=x,a.1=y).  NULL with @errp set otherwise.
 */
GPtrArray *qapi_in_list_items(QapiInput *in, JsonNode *node, GError **errp);

/*
 * Which branch of an alternate @node selects: its JSON type.  A key=value
 * string picks the string branch if there is one (@branches: a mask of
 * 1u << QType), else a boolean branch for on/off/yes/no/true/false, else a
 * number branch.
 */
QType qapi_in_alternate_type(QapiInput *in, JsonNode *node,
                             unsigned branches);
/* "Invalid parameter type for '<path>', expected: <type_name>". */
bool qapi_in_alternate_error(QapiInput *in, const char *type_name,
                             GError **errp);

/* Scalars: JSON types must match; key=value strings are parsed. */
bool qapi_in_str(QapiInput *in, JsonNode *node, char **obj, GError **errp);
bool qapi_in_number(QapiInput *in, JsonNode *node, double *obj,
                    GError **errp);
bool qapi_in_int(QapiInput *in, JsonNode *node, int64_t *obj, GError **errp);
bool qapi_in_int8(QapiInput *in, JsonNode *node, int8_t *obj, GError **errp);
bool qapi_in_int16(QapiInput *in, JsonNode *node, int16_t *obj,
                   GError **errp);
bool qapi_in_int32(QapiInput *in, JsonNode *node, int32_t *obj,
                   GError **errp);
bool qapi_in_int64(QapiInput *in, JsonNode *node, int64_t *obj,
                   GError **errp);
bool qapi_in_uint8(QapiInput *in, JsonNode *node, uint8_t *obj,
                   GError **errp);
bool qapi_in_uint16(QapiInput *in, JsonNode *node, uint16_t *obj,
                    GError **errp);
bool qapi_in_uint32(QapiInput *in, JsonNode *node, uint32_t *obj,
                    GError **errp);
bool qapi_in_uint64(QapiInput *in, JsonNode *node, uint64_t *obj,
                    GError **errp);
bool qapi_in_size(QapiInput *in, JsonNode *node, uint64_t *obj,
                  GError **errp);
bool qapi_in_bool(QapiInput *in, JsonNode *node, bool *obj, GError **errp);
/* Any JSON value (a key=value string or object as it is); a new ref. */
bool qapi_in_any(QapiInput *in, JsonNode *node, JsonNode **obj,
                 GError **errp);
bool qapi_in_enum(QapiInput *in, JsonNode *node, const QEnumLookup *lookup,
                  int *obj, GError **errp);

/* Output: new nodes.  A NULL string is output as "". */
JsonNode *qapi_out_str(const char *val);
JsonNode *qapi_out_number(double val);
JsonNode *qapi_out_int(int64_t val);
JsonNode *qapi_out_uint(uint64_t val);
JsonNode *qapi_out_bool(bool val);
JsonNode *qapi_out_any(const JsonNode *val);     /* a copy; NULL: null */
JsonNode *qapi_out_enum(const QEnumLookup *lookup, int val);
JsonNode *qapi_out_take_object(JsonObject *obj); /* takes ownership */
JsonNode *qapi_out_take_array(JsonArray *array); /* takes ownership */
/* The object of @node (a new reference), then @node is released. */
JsonObject *qapi_out_steal_object(JsonNode *node);

void qapi_free_any(JsonNode *node);

/* Marshallers: @args (NULL: {}) as a new node; the result into *ret. */
JsonNode *qapi_args_node(JsonObject *args);
/* Fails with "Parameter '<name>' is unexpected" if @args has members. */
bool qapi_in_no_args(JsonObject *args, GError **errp);
/* *@ret = @node if @ret is not NULL, else @node is released. */
void qapi_marshal_ret(JsonNode **ret, JsonNode *node);

#endif /* QAPI_UTIL_H */
