/*
 * DOC: fuzz-netdev-opts: -netdev/-device/-object strings, parse only
 *
 * The input is one option string as a user would type it (key=value with
 * the implied first key, or JSON starting with '{'), after one selector
 * byte: 0 `-netdev` (netdev_parse: util/keyval.c, then the generated
 * Netdev visitor with net/netdev.c's checks), 1 `-device` (device_parse),
 * 2 `-object` (object_parse), 3 keyval alone (keyval_parse_lists with
 * -netdev user's repeatable keys, hostfwd, then keyval_to_json_lists).
 * The string ends at the first NUL (a C string, as argv gives it).  Nothing is created: no
 * netdev_add, device_add or object_add, so no socket is ever opened.
 *
 * Checked besides the sanitizers: a refusal has an error message and an
 * acceptance none; what was accepted survives a round trip through the
 * generated output and input visitors (the output visitor's JSON read
 * back with the JSON input visitor gives the same JSON again), so a
 * value the parser let through that the types cannot hold shows up.
 */
#include <string.h>

#include "fuzz-common.h"
#include "hw/device.h"
#include "net/netdev.h"
#include "qapi-visit.h"
#include "system/object.h"
#include "util/keyval.h"

/* @out from the output visitor must come back through the input one. */
#define FUZZ_ROUND_TRIP(T, obj)                                         \
    do {                                                                \
        g_autoptr(JsonNode) out1 = qapi_output_##T(obj);                \
        g_autoptr(GError) rerr = NULL;                                  \
        T *again = NULL;                                                \
        bool ok = qapi_input_##T(out1, false, &again, &rerr);           \
                                                                        \
        fuzz_check(ok && again, #T ": its own output refused: %s",      \
                   rerr ? rerr->message : "?");                         \
        g_autoptr(JsonNode) out2 = qapi_output_##T(again);              \
        fuzz_check(json_node_equal(out1, out2),                         \
                   #T ": the round trip changed it");                   \
        qapi_free_##T(again);                                           \
    } while (0)

static void fuzz_opts_result(bool ok, GError *err)
{
    fuzz_trace("%s", err ? err->message : "accepted");
    fuzz_check(ok == (err == NULL), "%s with %s error",
               ok ? "accepted" : "refused", err ? "an" : "no");
    fuzz_check(!err || (err->message && err->message[0]),
               "an empty error message");
}

static void fuzz_opts_netdev(const char *str)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Netdev) n = netdev_parse(str, &err);

    fuzz_opts_result(n != NULL, err);
    if (n) {
        FUZZ_ROUND_TRIP(Netdev, n);
    }
}

static void fuzz_opts_device(const char *str)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DeviceOptions) d = device_parse(str, &err);

    fuzz_opts_result(d != NULL, err);
    if (d) {
        FUZZ_ROUND_TRIP(DeviceOptions, d);
    }
}

static void fuzz_opts_object(const char *str)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(ObjectOptions) o = object_parse(str, &err);

    fuzz_opts_result(o != NULL, err);
    if (o) {
        FUZZ_ROUND_TRIP(ObjectOptions, o);
    }
}

static void fuzz_opts_keyval(const char *str)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(KeyValList) list = keyval_parse_lists(str, "type",
                                                    Netdev_branch_list_members[NET_CLIENT_DRIVER_USER],
                                                    &err);
    g_autoptr(JsonNode) json = NULL;

    fuzz_opts_result(list != NULL, err);
    if (!list) {
        return;
    }
    for (unsigned i = 0; i < keyval_count(list); i++) {
        const char *key = keyval_key_at(list, i);

        fuzz_check(key && keyval_value_at(list, i), "entry %u incomplete", i);
        fuzz_check(keyval_has(list, key), "key '%s' listed, not found", key);
    }
    json = keyval_to_json_lists(list, Netdev_branch_list_members[NET_CLIENT_DRIVER_USER], &err);
    fuzz_opts_result(json != NULL, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *str = NULL;
    uint8_t which;

    if (size == 0) {
        return 0;
    }
    which = data[0];
    str = g_strndup((const char *)data + 1, size - 1);
    switch (which % 4) {
    case 0:
        fuzz_opts_netdev(str);
        break;
    case 1:
        fuzz_opts_device(str);
        break;
    case 2:
        fuzz_opts_object(str);
        break;
    default:
        fuzz_opts_keyval(str);
        break;
    }
    return 0;
}
