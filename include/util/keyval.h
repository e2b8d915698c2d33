/*
 * DOC: QEMU's key=value,... option strings
 *
 * `-netdev socket,id=n0,listen=:5555`, `-device nic-stub,id=s0,...`,
 * `-qmp unix:PATH,server=on,...`, `-chardev socket,...` and `-mon ...` are
 * parsed into an ordered list of key/value pairs.  The first element may
 * omit its key ("socket" stands for "type=socket"): the caller names that
 * implied key.  ",," inside a value stands for one comma.  A key given twice
 * is an error, as is an empty key.
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
 * A -netdev or -device argument as the QAPI visitors read it (a new node,
 * caller owns; NULL with @errp set).  As QEMU: a string starting with '{'
 * is JSON (*@keyval = false; errors "JSON parse error, <why>"), anything
 * else key=value with @implied_key (*@keyval = true; keyval_parse() and
 * keyval_to_json() errors).  The result is always an object.
 */
JsonNode *keyval_parse_option(const char *str, const char *implied_key,
                              bool *keyval, GError **errp);

/* Number of pairs, and the i-th key/value (borrowed). */
unsigned keyval_count(const KeyValList *list);
const char *keyval_key_at(const KeyValList *list, unsigned i);
const char *keyval_value_at(const KeyValList *list, unsigned i);

#endif /* UTIL_KEYVAL_H */
