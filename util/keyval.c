/*
 * DOC: QEMU's key=value,... option strings (see include/util/keyval.h)
 *
 * keyval_parse() walks the string once, element by element.  An element is
 * a key up to the first '=' or ',' and, after '=', a value up to the first
 * single ','; a ",," inside a value is unescaped into one ','.  Keys never
 * contain escapes (as in QEMU: "val,,ue" is the bare word "val" followed by
 * an element with an empty key).  A bare word (no '=') is accepted only as
 * the first element and only when the caller names an implied key.
 *
 * The list owns a GArray of KeyValPair, each owning its key and value
 * strings, kept in the order given.  A key may repeat only if the caller
 * names it as a list (keyval_parse_lists()); keyval_to_json_lists() then
 * numbers its values as the list's elements.  keyval_to_json() turns it
 * into the json-glib tree the generated QAPI visitors read, splitting keys
 * at '.'.
 * Lookups are linear: option strings have a handful of keys and are parsed
 * at setup, never on the frame path.
 */
#include "util/keyval.h"

#include <errno.h>
#include <string.h>

typedef struct KeyValPair {
    char *key;
    char *value;
} KeyValPair;

struct KeyValList {
    GArray *pairs;              /* of KeyValPair, owned */
};

G_DEFINE_QUARK(vmwire-keyval-error-quark, keyval_error)

static void keyval_pair_clear(gpointer data)
{
    KeyValPair *pair = data;

    g_free(pair->key);
    g_free(pair->value);
}

static KeyValList *keyval_new(void)
{
    KeyValList *list = g_new0(KeyValList, 1);

    list->pairs = g_array_new(FALSE, TRUE, sizeof(KeyValPair));
    g_array_set_clear_func(list->pairs, keyval_pair_clear);
    return list;
}

void keyval_free(KeyValList *list)
{
    if (!list) {
        return;
    }
    g_array_unref(list->pairs);
    g_free(list);
}

static const KeyValPair *keyval_find(const KeyValList *list, const char *key)
{
    for (guint i = 0; i < list->pairs->len; i++) {
        const KeyValPair *pair = &g_array_index(list->pairs, KeyValPair, i);

        if (strcmp(pair->key, key) == 0) {
            return pair;
        }
    }
    return NULL;
}

/*
 * The entry of @lists ("name" or "name.member") for @key, or NULL if
 * @key is not a list that key=value may repeat.
 */
static const char *keyval_list_entry(const char *const *lists,
                                     const char *key)
{
    for (; lists && *lists; lists++) {
        size_t len = strcspn(*lists, ".");

        if (strncmp(*lists, key, len) == 0 && key[len] == '\0') {
            return *lists;
        }
    }
    return NULL;
}

/*
 * Add @key=@value, taking ownership of both strings.  A key named in
 * @lists may repeat.
 */
static bool keyval_add(KeyValList *list, char *key, char *value,
                       const char *const *lists, GError **errp)
{
    KeyValPair pair = { .key = key, .value = value };

    if (keyval_find(list, key) && !keyval_list_entry(lists, key)) {
        g_set_error(errp, KEYVAL_ERROR, KEYVAL_ERROR_INVALID,
                    "Parameter '%s' is given more than once", key);
        keyval_pair_clear(&pair);
        return false;
    }
    g_array_append_val(list->pairs, pair);
    return true;
}

/*
 * Read a value starting at *@pos, unescaping ",,", up to a single ',' or
 * the end.  *@pos is left after the terminating ',' (if any).
 */
static char *keyval_fetch_value(const char **pos)
{
    GString *value = g_string_new(NULL);
    const char *p = *pos;

    while (*p) {
        if (*p == ',') {
            if (p[1] != ',') {
                p++;
                break;
            }
            p++;                /* ",," stands for one ',' */
        }
        g_string_append_c(value, *p);
        p++;
    }
    *pos = p;
    return g_string_free(value, FALSE);
}

/*
 * A bare word (no '=') at *@pos, @len bytes long: the implied key's value
 * if allowed, else an error.
 */
static bool keyval_parse_bare(KeyValList *list, const char **pos, size_t len,
                              const char *implied_key,
                              const char *const *lists, GError **errp)
{
    const char *word = *pos;

    if (!implied_key) {
        g_set_error(errp, KEYVAL_ERROR, KEYVAL_ERROR_INVALID,
                    "Expected '=' after parameter '%.*s'", (int)len, word);
        return false;
    }
    *pos = word[len] == ',' ? word + len + 1 : word + len;
    return keyval_add(list, g_strdup(implied_key), g_strndup(word, len),
                      lists, errp);
}

/*
 * Parse the element at *@pos and advance past it and its ','.
 * @implied_key is non-NULL only for the first element.
 */
static bool keyval_parse_one(KeyValList *list, const char **pos,
                             const char *implied_key,
                             const char *const *lists, GError **errp)
{
    const char *key = *pos;
    size_t len = strcspn(key, "=,");
    char *value;

    if (len == 0) {
        g_set_error_literal(errp, KEYVAL_ERROR, KEYVAL_ERROR_INVALID,
                            "Invalid parameter ''");
        return false;
    }
    if (key[len] != '=') {
        return keyval_parse_bare(list, pos, len, implied_key, lists, errp);
    }
    *pos = key + len + 1;
    value = keyval_fetch_value(pos);
    return keyval_add(list, g_strndup(key, len), value, lists, errp);
}

KeyValList *keyval_parse(const char *str, const char *implied_key,
                         GError **errp)
{
    return keyval_parse_lists(str, implied_key, NULL, errp);
}

KeyValList *keyval_parse_lists(const char *str, const char *implied_key,
                               const char *const *lists, GError **errp)
{
    g_autoptr(KeyValList) list = keyval_new();
    const char *pos = str;

    g_return_val_if_fail(str != NULL, NULL);

    while (*pos) {
        if (!keyval_parse_one(list, &pos, implied_key, lists, errp)) {
            return NULL;
        }
        implied_key = NULL;     /* only the first element may be bare */
    }
    return g_steal_pointer(&list);
}

const char *keyval_get(const KeyValList *list, const char *key)
{
    const KeyValPair *pair = keyval_find(list, key);

    return pair ? pair->value : NULL;
}

bool keyval_has(const KeyValList *list, const char *key)
{
    return keyval_find(list, key) != NULL;
}

unsigned keyval_count(const KeyValList *list)
{
    return list->pairs->len;
}

const char *keyval_key_at(const KeyValList *list, unsigned i)
{
    g_return_val_if_fail(i < list->pairs->len, NULL);
    return g_array_index(list->pairs, KeyValPair, i).key;
}

const char *keyval_value_at(const KeyValList *list, unsigned i)
{
    g_return_val_if_fail(i < list->pairs->len, NULL);
    return g_array_index(list->pairs, KeyValPair, i).value;
}

/* Set "Parameters '<prefix>.*' used inconsistently", @prefix_len bytes. */
static bool keyval_inconsistent(const char *key, size_t prefix_len,
                                GError **errp)
{
    g_set_error(errp, KEYVAL_ERROR, KEYVAL_ERROR_INVALID,
                "Parameters '%.*s.*' used inconsistently", (int)prefix_len,
                key);
    return false;
}

/*
 * The object below @obj at @part (created if absent), or NULL if @part
 * holds a string already.
 */
static JsonObject *keyval_child(JsonObject *obj, const char *part)
{
    JsonNode *old = json_object_get_member(obj, part);

    if (!old) {
        JsonObject *child = json_object_new();

        json_object_set_object_member(obj, part, child);
        return child;
    }
    return JSON_NODE_HOLDS_OBJECT(old) ? json_node_get_object(old) : NULL;
}

/* Store @key=@value in @root, splitting @key at each '.'. */
static bool keyval_put(JsonObject *root, const char *key, const char *value,
                       GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(key, ".", -1);
    JsonObject *obj = root;
    size_t prefix_len = 0;
    guint n = g_strv_length(parts);

    for (guint i = 0; i < n; i++) {
        if (!*parts[i]) {
            g_set_error(errp, KEYVAL_ERROR, KEYVAL_ERROR_INVALID,
                        "Invalid parameter '%s'", key);
            return false;
        }
    }
    for (guint i = 0; i + 1 < n; i++) {
        prefix_len += (i ? 1 : 0) + strlen(parts[i]);
        obj = keyval_child(obj, parts[i]);
        if (!obj) {
            return keyval_inconsistent(key, prefix_len, errp);
        }
    }
    if (json_object_has_member(obj, parts[n - 1])) {
        /* keyval_parse() refuses repeated keys: only a.b=1,a=2 gets here */
        return keyval_inconsistent(key, strlen(key), errp);
    }
    json_object_set_string_member(obj, parts[n - 1], value);
    return true;
}

JsonNode *keyval_to_json(const KeyValList *list, GError **errp)
{
    return keyval_to_json_lists(list, NULL, errp);
}

/*
 * Where @pair goes: its own key, or for a list in @lists its next index
 * ("hostfwd" -> "hostfwd.1.str"), counted in @counts (key -> count).
 */
static char *keyval_json_key(const KeyValPair *pair,
                             const char *const *lists, GHashTable *counts)
{
    const char *entry = keyval_list_entry(lists, pair->key);
    const char *member;
    unsigned index;

    if (!entry) {
        return g_strdup(pair->key);
    }
    index = GPOINTER_TO_UINT(g_hash_table_lookup(counts, pair->key));
    g_hash_table_insert(counts, pair->key, GUINT_TO_POINTER(index + 1));
    member = strchr(entry, '.');
    return g_strdup_printf("%s.%u%s", pair->key, index, member ? member : "");
}

/*
 * Was pair @i's key given before, and is it not a list of @lists?  (A
 * list parsed with other @lists than the ones it is converted with.)
 */
static bool keyval_repeated(const KeyValList *list, guint i,
                            const char *const *lists)
{
    const char *key = g_array_index(list->pairs, KeyValPair, i).key;

    if (keyval_list_entry(lists, key)) {
        return false;
    }
    for (guint j = 0; j < i; j++) {
        if (!strcmp(g_array_index(list->pairs, KeyValPair, j).key, key)) {
            return true;
        }
    }
    return false;
}

JsonNode *keyval_to_json_lists(const KeyValList *list,
                               const char *const *lists, GError **errp)
{
    g_autoptr(GHashTable) counts = g_hash_table_new(g_str_hash, g_str_equal);
    JsonObject *root = json_object_new();
    JsonNode *node = json_node_init_object(json_node_alloc(), root);

    json_object_unref(root);
    for (guint i = 0; i < list->pairs->len; i++) {
        const KeyValPair *pair = &g_array_index(list->pairs, KeyValPair, i);
        g_autofree char *key = keyval_json_key(pair, lists, counts);

        if (keyval_repeated(list, i, lists)) {
            g_set_error(errp, KEYVAL_ERROR, KEYVAL_ERROR_INVALID,
                        "Parameter '%s' is given more than once", pair->key);
            json_node_unref(node);
            return NULL;
        }
        if (!keyval_put(root, key, pair->value, errp)) {
            json_node_unref(node);
            return NULL;
        }
    }
    return node;
}

/* @str as JSON: an object, or NULL with "JSON parse error, <why>". */
static JsonNode *keyval_parse_json_object(const char *str, GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;
    JsonNode *root;
    const char *why;

    if (!json_parser_load_from_data(parser, str, -1, &err)) {
        why = err->message;
        if (g_str_has_prefix(why, "<data>:")) {
            why += strlen("<data>:");
        }
        g_set_error(errp, KEYVAL_ERROR, KEYVAL_ERROR_INVALID,
                    "JSON parse error, %s", why);
        return NULL;
    }
    root = json_parser_steal_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error_literal(errp, KEYVAL_ERROR, KEYVAL_ERROR_INVALID,
                            "JSON parse error, expecting an object");
        g_clear_pointer(&root, json_node_unref);
        return NULL;
    }
    return root;
}

JsonNode *keyval_parse_option(const char *str, const char *implied_key,
                              bool *keyval, GError **errp)
{
    return keyval_parse_option_lists(str, implied_key, NULL, keyval, errp);
}

JsonNode *keyval_parse_option_lists(const char *str, const char *implied_key,
                                    const char *const *lists, bool *keyval,
                                    GError **errp)
{
    g_autoptr(KeyValList) list = NULL;

    *keyval = str[0] != '{';
    if (!*keyval) {
        return keyval_parse_json_object(str, errp);
    }
    list = keyval_parse_lists(str, implied_key, lists, errp);
    return list ? keyval_to_json_lists(list, lists, errp) : NULL;
}
