/*
 * DOC: QEMU's key=value,... option strings
 *
 * `-netdev socket,id=n0,listen=:5555`, `-device nic-stub,id=s0,...`,
 * `-qmp unix:PATH,server=on,...`, `-chardev socket,...` and `-mon ...` are
 * parsed into an ordered list of key/value pairs.  The first element may
 * omit its key ("socket" stands for "type=socket"): the caller names that
 * implied key.  ",," inside a value stands for one comma.  A key given twice
 * is an error (unless the caller names it as a list), as is an empty key.
 *
 * Parsing only splits; what keys mean and which are allowed is checked by
 * the code that consumes them, with QEMU's wording: the generated QAPI
 * visitors, after keyval_to_json() (docs/qapi.md).
 */
#ifndef UTIL_KEYVAL_H
#define UTIL_KEYVAL_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct KeyValList KeyValList;

/* The GError domain of every error set here (all KEYVAL_ERROR_INVALID). */
#define KEYVAL_ERROR (keyval_error_quark())
typedef enum {
    KEYVAL_ERROR_INVALID,
} KeyValError;
GQuark keyval_error_quark(void);

/*
 * Parse @str.  @implied_key names the key of a leading bare word (NULL: none
 * allowed).  Returns a new list (caller owns) or NULL with @errp set.
 * "" gives an empty list; a trailing ',' is ignored.  Keys never contain
 * escapes, so the bare word ends at the first ',' (QEMU: "val,,ue" is an
 * error).  Errors:
 *   Parameter '<key>' is given more than once   (also the implied key)
 *   Expected '=' after parameter '<word>'       (bare word not first, or
 *                                                no implied key)
 *   Invalid parameter ''                        (empty key: "=x", ",a=1",
 *                                                "a=1,,,=x", ",")
 */
KeyValList *keyval_parse(const char *str, const char *implied_key,
                         GError **errp);
void keyval_free(KeyValList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KeyValList, keyval_free)

/*
 * keyval_parse(), except that the keys named in @lists (NULL-terminated,
 * NULL for none) may repeat: each entry is "name" (a list of scalars) or
 * "name.member" (a list of objects with that one member, QAPI's
 * ['String']: "hostfwd.str"), as the generated T_list_members[] give
 * them.  Other keys given twice are still "Parameter '<key>' is given
 * more than once".
 */
KeyValList *keyval_parse_lists(const char *str, const char *implied_key,
                               const char *const *lists, GError **errp);

/* The value of @key (borrowed), or NULL if absent. */
const char *keyval_get(const KeyValList *list, const char *key);
bool keyval_has(const KeyValList *list, const char *key);

/*
 * @list as a new JSON object of strings, in order, for the QAPI visitors
 * (keyval mode).  Dotted keys become nested objects, as QEMU's keyval
 * parser builds them: "addr.type=inet,addr.port=5000" ->
 * {"addr": {"type": "inet", "port": "5000"}}.  NULL with @errp set on
 *   Invalid parameter 'a..b'                (an empty part: "a.", ".a")
 *   Parameters 'a.*' used inconsistently    (a=1,a.b=2 or a.b=2,a=1)
 */
JsonNode *keyval_to_json(const KeyValList *list, GError **errp);

/*
 * keyval_to_json(), with the keys named in @lists (see
 * keyval_parse_lists()) collected into lists in the order given:
 * "hostfwd=a,hostfwd=b" with "hostfwd.str" ->
 * {"hostfwd": {"0": {"str": "a"}, "1": {"str": "b"}}}, which the visitor
 * reads as a list (also for a key given once).  A key that repeats
 * but is not in @lists (the list was parsed with a wider @lists, e.g. a
 * union's, and is converted with its branch's) is "Parameter '<key>' is
 * given more than once".
 */
JsonNode *keyval_to_json_lists(const KeyValList *list,
                               const char *const *lists, GError **errp);

/*
 * A -netdev or -device argument as the QAPI visitors read it (a new node,
 * caller owns; NULL with @errp set).  As QEMU: a string starting with '{'
 * is JSON (*@keyval = false; errors "JSON parse error, <why>"), anything
 * else key=value with @implied_key (*@keyval = true; keyval_parse() and
 * keyval_to_json() errors).  The result is always an object.
 */
JsonNode *keyval_parse_option(const char *str, const char *implied_key,
                              bool *keyval, GError **errp);

/* keyval_parse_option() with keys in @lists repeatable (as above). */
JsonNode *keyval_parse_option_lists(const char *str, const char *implied_key,
                                    const char *const *lists, bool *keyval,
                                    GError **errp);

/* Number of pairs, and the i-th key/value (borrowed). */
unsigned keyval_count(const KeyValList *list);
const char *keyval_key_at(const KeyValList *list, unsigned i);
const char *keyval_value_at(const KeyValList *list, unsigned i);

#endif /* UTIL_KEYVAL_H */
