/*
 * DOC: unit tests of the QAPI code (scripts/qapi-gen.py, qapi/qapi-util.c)
 *
 * The real schema's generated types (Netdev, DeviceOptions, VersionInfo,
 * SocketAddress, ...) and the test schema's (tests/qapi-schema/
 * qapi-schema-test.json, generated with prefix "test-": every scalar type,
 * alternates, lists, conditions, commands and events) are driven through
 * the visitors as users drive them: key=value strings through
 * keyval_to_json(), JSON through json-glib.  Every message of
 * docs/qapi.md's table is asserted, with its dotted path; output is
 * checked by round trips; commands through their marshallers; events
 * through the test schema's emit hook; introspection by parsing it.
 */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdint.h>
#include <string.h>

#include "hw/device.h"
#include "net/netdev.h"
#include "qapi-introspect.h"
#include "qapi-visit.h"
#include "qapi/util.h"
#include "test-qapi-commands.h"
#include "test-qapi-events.h"
#include "test-qapi-introspect.h"
#include "test-qapi-visit.h"
#include "util/error.h"
#include "util/keyval.h"

/* ---- helpers ------------------------------------------------------------ */

static JsonNode *parse_json(const char *text)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;

    g_assert_true(json_parser_load_from_data(parser, text, -1, &err));
    g_assert_no_error(err);
    return json_parser_steal_root(parser);
}

static JsonNode *parse_keyval(const char *text)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(KeyValList) list = keyval_parse(text, NULL, &err);
    JsonNode *node;

    g_assert_no_error(err);
    node = keyval_to_json(list, &err);
    g_assert_no_error(err);
    return node;
}

/* @text as the visitors get it: key=value when @keyval, else JSON. */
static JsonNode *parse_input(const char *text, bool keyval)
{
    return keyval ? parse_keyval(text) : parse_json(text);
}

static char *to_json(JsonNode *node)
{
    return json_to_string(node, FALSE);
}

/* @node as compact JSON, then released. */
static char *take_json(JsonNode *node)
{
    char *text = to_json(node);

    json_node_unref(node);
    return text;
}

/* Visit @text (key=value or JSON) as T; assert it fails with @msg. */
#define assert_input_error(T, keyval, text, msg)                            \
    do {                                                                    \
        g_autoptr(JsonNode) node_ = parse_input((text), (keyval));          \
        g_autoptr(GError) err_ = NULL;                                      \
        T *obj_ = (T *)(uintptr_t)1;    /* must be reset to NULL */         \
                                                                            \
        g_assert_false(qapi_input_##T(node_, (keyval), &obj_, &err_));      \
        g_assert_null(obj_);                                                \
        g_assert_nonnull(err_);                                             \
        g_assert_cmpstr(err_->message, ==, (msg));                          \
        g_assert_cmpstr(qapi_error_class(err_), ==, "GenericError");        \
    } while (0)

/* Visit @text as T, which must succeed; returns the object. */
#define DEFINE_INPUT_OK(T)                                                  \
static T *input_ok_##T(bool keyval, const char *text)                       \
{                                                                           \
    g_autoptr(JsonNode) node = parse_input(text, keyval);                   \
    g_autoptr(GError) err = NULL;                                           \
    T *obj = NULL;                                                          \
                                                                            \
    g_assert_true(qapi_input_##T(node, keyval, &obj, &err));                \
    g_assert_no_error(err);                                                 \
    g_assert_nonnull(obj);                                                  \
    return obj;                                                             \
}
#define input_ok(T, keyval, text) input_ok_##T((keyval), (text))

DEFINE_INPUT_OK(Netdev)
DEFINE_INPUT_OK(VersionInfo)
DEFINE_INPUT_OK(SocketAddress)
DEFINE_INPUT_OK(InetSocketAddress)
DEFINE_INPUT_OK(TestScalars)
DEFINE_INPUT_OK(TestStruct)
DEFINE_INPUT_OK(TestUnion)
DEFINE_INPUT_OK(TestAlts)

/* ---- the messages of docs/qapi.md --------------------------------------- */

static void test_missing(void)
{
    assert_input_error(Netdev, false, "{\"type\": \"socket\"}",
                       "Parameter 'id' is missing");
    assert_input_error(Netdev, true, "id=n0", "Parameter 'type' is missing");
    assert_input_error(VersionInfo, false,
                       "{\"qemu\": {\"major\": 7, \"minor\": 2}, "
                       "\"package\": \"v\"}",
                       "Parameter 'qemu.micro' is missing");
    assert_input_error(VersionInfo, true,
                       "qemu.major=7,qemu.minor=2,qemu.micro=0",
                       "Parameter 'package' is missing");
    assert_input_error(SocketAddress, false,
                       "{\"type\": \"inet\", \"host\": \"h\"}",
                       "Parameter 'port' is missing");
    assert_input_error(TestStruct, false,
                       "{\"name\": \"a\", \"kind\": \"one\", "
                       "\"inners\": [{\"x\": 1}, {}]}",
                       "Parameter 'inners[1].x' is missing");
}

static void test_unexpected(void)
{
    /* JSON */
    assert_input_error(Netdev, false,
                       "{\"type\": \"socket\", \"id\": \"n0\", \"bogus\": 1}",
                       "Parameter 'bogus' is unexpected");
    assert_input_error(VersionInfo, false,
                       "{\"qemu\": {\"major\": 7, \"minor\": 2, "
                       "\"micro\": 0, \"nano\": 1}, \"package\": \"v\"}",
                       "Parameter 'qemu.nano' is unexpected");
    /* key=value: the whole key, as QEMU's -netdev says it */
    assert_input_error(Netdev, true, "type=socket,id=n0,bogus=1",
                       "Invalid parameter 'bogus'");
    assert_input_error(Netdev, true, "type=socket,id=n0,bogus.deep.er=1",
                       "Invalid parameter 'bogus.deep.er'");
    assert_input_error(TestStruct, true,
                       "name=a,kind=one,inner.x=1,inner.y=2",
                       "Invalid parameter 'inner.y'");
    /* a dotted key below a scalar member */
    assert_input_error(Netdev, true, "type=socket,id=n0,listen.x=1",
                       "Invalid parameter 'listen.x'");
    /* checked after the members: a missing one is reported first */
    assert_input_error(Netdev, false, "{\"type\": \"socket\", \"bogus\": 1}",
                       "Parameter 'id' is missing");
    /* a member of a branch the discriminator did not pick */
    assert_input_error(TestUnion, false,
                       "{\"name\": \"a\", \"kind\": \"one\", "
                       "\"one-value\": 1, \"two-value\": \"x\"}",
                       "Parameter 'two-value' is unexpected");
}

static void test_wrong_type(void)
{
    static const struct { const char *json, *msg; } cases[] = {
        { "{\"s\": 1}", "Invalid parameter type for 's', expected: string" },
        { "{\"s\": null}",
          "Invalid parameter type for 's', expected: string" },
        { "{\"i\": \"1\"}",
          "Invalid parameter type for 'i', expected: integer" },
        { "{\"i\": 1.5}",
          "Invalid parameter type for 'i', expected: integer" },
        { "{\"u64\": true}",
          "Invalid parameter type for 'u64', expected: integer" },
        { "{\"b\": \"on\"}",
          "Invalid parameter type for 'b', expected: boolean" },
        { "{\"n\": \"1\"}",
          "Invalid parameter type for 'n', expected: number" },
        { "{\"e\": 1}", "Invalid parameter type for 'e', expected: string" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        assert_input_error(TestScalars, false, cases[i].json, cases[i].msg);
    }
    assert_input_error(TestStruct, false,
                       "{\"name\": \"a\", \"kind\": \"one\", \"inner\": 1}",
                       "Invalid parameter type for 'inner', expected: object");
    assert_input_error(TestStruct, false,
                       "{\"name\": \"a\", \"kind\": \"one\", \"ints\": 1}",
                       "Invalid parameter type for 'ints', expected: array");
    assert_input_error(TestStruct, false,
                       "{\"name\": \"a\", \"kind\": \"one\", "
                       "\"ints\": [1, \"2\"]}",
                       "Invalid parameter type for 'ints[1]', expected: "
                       "integer");
    assert_input_error(VersionInfo, false,
                       "{\"qemu\": {\"major\": \"7\"}, \"package\": \"v\"}",
                       "Invalid parameter type for 'qemu.major', expected: "
                       "integer");
    assert_input_error(Netdev, false, "[]",
                       "Invalid parameter type for '<anonymous>', expected: "
                       "object");
    /* key=value: a string where an object or a list belongs */
    assert_input_error(VersionInfo, true, "qemu=7,package=v",
                       "Invalid parameter type for 'qemu', expected: object");
    assert_input_error(TestStruct, true, "name=a,kind=one,ints=1",
                       "Invalid parameter type for 'ints', expected: array");
}

static void test_enum_value(void)
{
    assert_input_error(Netdev, true, "type=nosuch,id=n0",
                       "Parameter 'type' does not accept value 'nosuch'");
    assert_input_error(Netdev, false, "{\"type\": \"Socket\", \"id\": \"n0\"}",
                       "Parameter 'type' does not accept value 'Socket'");
    assert_input_error(SocketAddress, true, "type=vsock",
                       "Parameter 'type' does not accept value 'vsock'");
    assert_input_error(TestStruct, true, "name=a,kind=one,enums.0=one,"
                       "enums.1=bad",
                       "Parameter 'enums.1' does not accept value 'bad'");
    assert_input_error(TestStruct, false,
                       "{\"name\": \"a\", \"kind\": \"one\", "
                       "\"enums\": [\"one\", \"bad\"]}",
                       "Parameter 'enums[1]' does not accept value 'bad'");
    /* a value left out by its 'if' is no value */
    assert_input_error(TestScalars, false, "{\"e\": \"never\"}",
                       "Parameter 'e' does not accept value 'never'");
}

static void test_keyval_bool(void)
{
    static const char *const yes[] = { "on", "yes", "true" };
    static const char *const no[] = { "off", "no", "false" };

    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        g_autofree char *t = g_strdup_printf("b=%s", yes[i]);
        g_autofree char *f = g_strdup_printf("b=%s", no[i]);
        g_autoptr(TestScalars) on = input_ok(TestScalars, true, t);
        g_autoptr(TestScalars) off = input_ok(TestScalars, true, f);

        g_assert_true(on->has_b && on->b);
        g_assert_true(off->has_b && !off->b);
    }
    assert_input_error(TestScalars, true, "b=maybe",
                       "Parameter 'b' expects 'on' or 'off'");
    assert_input_error(TestScalars, true, "b=ON",
                       "Parameter 'b' expects 'on' or 'off'");
    assert_input_error(InetSocketAddress, true, "host=h,port=1,ipv4=1",
                       "Parameter 'ipv4' expects 'on' or 'off'");
}

static void test_keyval_integer(void)
{
    static const struct { const char *opts, *msg; } bad[] = {
        { "i=12x", "Parameter 'i' expects an integer" },
        { "i=", "Parameter 'i' expects an integer" },
        { "i= 1", "Parameter 'i' expects an integer" },
        { "i=010", "Parameter 'i' expects an integer" },    /* octal? no */
        { "i=0x", "Parameter 'i' expects an integer" },
        { "i=9223372036854775808", "Parameter 'i' expects an integer" },
        { "i=-9223372036854775809", "Parameter 'i' expects an integer" },
        { "i8=128", "Parameter 'i8' expects int8_t" },
        { "i8=-129", "Parameter 'i8' expects int8_t" },
        { "u8=256", "Parameter 'u8' expects uint8_t" },
        { "u16=65536", "Parameter 'u16' expects uint16_t" },
        { "u32=4294967296", "Parameter 'u32' expects uint32_t" },
        { "u64=-1", "Parameter 'u64' expects a non-negative integer" },
        { "u64=18446744073709551616",
          "Parameter 'u64' expects a non-negative integer" },
        { "sz=x", "Parameter 'sz' expects a non-negative integer" },
        { "n=x", "Parameter 'n' expects a number" },
        { "n=", "Parameter 'n' expects a number" },
        { "n=inf", "Parameter 'n' expects a number" },
    };
    g_autoptr(TestScalars) s = input_ok(TestScalars, true,
        "i=-9223372036854775808,i8=-128,i16=0x7fff,i32=-5,i64=42,u8=255,"
        "u16=0,u32=4294967295,u64=18446744073709551615,sz=0x10,n=-1.5e3");

    g_assert_cmpint(s->i, ==, INT64_MIN);
    g_assert_cmpint(s->i8, ==, -128);
    g_assert_cmpint(s->i16, ==, 0x7fff);
    g_assert_cmpint(s->i32, ==, -5);
    g_assert_cmpint(s->i64, ==, 42);
    g_assert_cmpuint(s->u8, ==, 255);
    g_assert_cmpuint(s->u16, ==, 0);
    g_assert_cmpuint(s->u32, ==, UINT32_MAX);
    g_assert_cmpuint(s->u64, ==, UINT64_MAX);
    g_assert_cmpuint(s->sz, ==, 16);
    g_assert_cmpfloat(s->n, ==, -1500.0);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        assert_input_error(TestScalars, true, bad[i].opts, bad[i].msg);
    }
    /* JSON: ranges too */
    assert_input_error(TestScalars, false, "{\"u64\": -1}",
                       "Parameter 'u64' expects a non-negative integer");
    assert_input_error(TestScalars, false, "{\"i8\": 200}",
                       "Parameter 'i8' expects int8_t");
}

/* ---- modes, nesting, lists, unions -------------------------------------- */

/* The same Netdev from key=value and from JSON. */
static void test_keyval_vs_json(void)
{
    g_autoptr(Netdev) kv = input_ok(Netdev, true,
                                    "type=socket,id=n0,listen=:5555");
    g_autoptr(Netdev) js = input_ok(Netdev, false,
                                    "{\"type\": \"socket\", \"id\": \"n0\", "
                                    "\"listen\": \":5555\"}");
    g_autofree char *a = take_json(qapi_output_Netdev(kv));
    g_autofree char *b = take_json(qapi_output_Netdev(js));

    g_assert_cmpstr(a, ==, b);
    g_assert_cmpint(kv->type, ==, NET_CLIENT_DRIVER_SOCKET);
    g_assert_cmpstr(kv->u.socket.listen, ==, ":5555");
    /* only key=value parses strings; JSON wants the real type */
    {
        g_autoptr(InetSocketAddress) addr = input_ok(InetSocketAddress, true,
            "host=h,port=1,ipv6=on");

        g_assert_true(addr->has_ipv6 && addr->ipv6);
    }
    assert_input_error(InetSocketAddress, false,
                       "{\"host\": \"h\", \"port\": \"1\", \"ipv6\": \"on\"}",
                       "Invalid parameter type for 'ipv6', expected: "
                       "boolean");
    assert_input_error(InetSocketAddress, false,
                       "{\"host\": \"h\", \"port\": 1}",
                       "Invalid parameter type for 'port', expected: "
                       "string");
}

static void test_nested_keys(void)
{
    g_autoptr(VersionInfo) v = input_ok(VersionInfo, true,
        "qemu.major=7,package=vmwire,qemu.minor=2,qemu.micro=22");
    g_autoptr(TestStruct) s = input_ok(TestStruct, true,
        "name=n,kind=two,inner.x=5,inner.tags.0=a,inner.tags.1=b,"
        "inners.0.x=1,inners.1.x=2,inners.1.tags.0=c");

    g_assert_cmpint(v->qemu->major, ==, 7);
    g_assert_cmpint(v->qemu->minor, ==, 2);
    g_assert_cmpint(v->qemu->micro, ==, 22);
    g_assert_cmpstr(v->package, ==, "vmwire");
    g_assert_true(s->has_inner);
    g_assert_cmpint(s->inner->x, ==, 5);
    g_assert_cmpstr(s->inner->tags->value, ==, "a");
    g_assert_cmpstr(s->inner->tags->next->value, ==, "b");
    g_assert_null(s->inner->tags->next->next);
    g_assert_cmpint(s->inners->value->x, ==, 1);
    g_assert_false(s->inners->value->has_tags);
    g_assert_cmpint(s->inners->next->value->x, ==, 2);
    g_assert_cmpstr(s->inners->next->value->tags->value, ==, "c");
}

static void test_lists(void)
{
    g_autoptr(TestStruct) js = input_ok(TestStruct, false,
        "{\"name\": \"n\", \"kind\": \"one\", \"ints\": [3, 1, 2], "
        "\"enums\": [\"two\", \"one\"], \"inners\": []}");
    g_autoptr(TestStruct) kv = input_ok(TestStruct, true,
        "name=n,kind=one,ints.0=3,ints.2=2,ints.1=1,enums.0=two,enums.1=one");
    intList *e = js->ints;

    g_assert_cmpint(e->value, ==, 3);
    g_assert_cmpint(e->next->value, ==, 1);
    g_assert_cmpint(e->next->next->value, ==, 2);
    g_assert_null(e->next->next->next);
    g_assert_cmpint(js->enums->value, ==, TEST_ENUM_TWO);
    g_assert_cmpint(js->enums->next->value, ==, TEST_ENUM_ONE);
    g_assert_true(js->has_inners);
    g_assert_null(js->inners);              /* [] is an empty list */
    /* key=value: by index, whatever the order of the keys */
    e = kv->ints;
    g_assert_cmpint(e->value, ==, 3);
    g_assert_cmpint(e->next->value, ==, 1);
    g_assert_cmpint(e->next->next->value, ==, 2);
    assert_input_error(TestStruct, true, "name=n,kind=one,ints.0=1,ints.2=3",
                       "Parameter 'ints.1' is missing");
    assert_input_error(TestStruct, true, "name=n,kind=one,ints.0=1,ints.x=3",
                       "Invalid parameter 'ints.x'");
    assert_input_error(TestStruct, true, "name=n,kind=one,ints.01=1",
                       "Invalid parameter 'ints.01'");
    assert_input_error(TestStruct, true, "name=n,kind=one,ints.0=z",
                       "Parameter 'ints.0' expects an integer");
    assert_input_error(TestStruct, false,
                       "{\"name\": \"n\", \"kind\": \"one\", "
                       "\"inners\": [{\"x\": 1, \"tags\": [\"a\", 2]}]}",
                       "Invalid parameter type for 'inners[0].tags[1]', "
                       "expected: string");
}

static void test_union_branches(void)
{
    g_autoptr(TestUnion) one = input_ok(TestUnion, false,
        "{\"name\": \"a\", \"kind\": \"one\", \"one-value\": 9}");
    g_autoptr(TestUnion) two = input_ok(TestUnion, true,
        "name=b,kind=two,two-list.0=old");
    g_autoptr(TestUnion) old = input_ok(TestUnion, false,
        "{\"name\": \"c\", \"kind\": \"old\"}");
    g_autoptr(Netdev) nic = input_ok(Netdev, false,
                                     "{\"type\": \"nic\", \"id\": \"x\"}");
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(one->kind, ==, TEST_ENUM_ONE);
    g_assert_cmpint(one->u.one.one_value, ==, 9);
    g_assert_cmpint(two->kind, ==, TEST_ENUM_TWO);
    g_assert_false(two->u.two.has_two_value);
    g_assert_true(two->u.two.has_two_list);
    g_assert_cmpint(two->u.two.two_list->value, ==, TEST_ENUM_OLD);
    /* a value without a branch has no members beyond the base */
    g_assert_cmpint(old->kind, ==, TEST_ENUM_OLD);
    assert_input_error(TestUnion, false,
                       "{\"name\": \"c\", \"kind\": \"old\", "
                       "\"one-value\": 1}",
                       "Parameter 'one-value' is unexpected");
    assert_input_error(TestUnion, false, "{\"name\": \"a\", \"kind\": \"one\"}",
                       "Parameter 'one-value' is missing");
    /* Netdev's 'nic' has no branch: visiting works, netdev_add refuses */
    g_assert_cmpint(nic->type, ==, NET_CLIENT_DRIVER_NIC);
    g_assert_false(netdev_add(nic, &err));
    g_assert_cmpstr(err->message, ==, "network backend 'nic' is not "
                    "compiled into this binary");
#ifdef CONFIG_LINUX
    {
        g_autoptr(TestUnion) lx = input_ok(TestUnion, true,
                                           "name=d,kind=linux-only,x=4");

        g_assert_cmpint(lx->u.linux_only.x, ==, 4);
    }
#endif
}

static void test_optional(void)
{
    g_autoptr(Netdev) nd = input_ok(Netdev, true,
                                    "type=socket,id=n0,mcast=230.0.0.1:1");
    const NetdevSocketOptions *o = &nd->u.socket;
    g_autofree char *out = take_json(qapi_output_Netdev(nd));

    g_assert_true(o->has_mcast);
    g_assert_cmpstr(o->mcast, ==, "230.0.0.1:1");
    g_assert_false(o->has_fd || o->has_listen || o->has_connect ||
                   o->has_localaddr || o->has_udp);
    g_assert_null(o->listen);
    /* absent optional members are not output */
    g_assert_cmpstr(out, ==, "{\"id\":\"n0\",\"type\":\"socket\","
                    "\"mcast\":\"230.0.0.1:1\"}");
}

static void test_alternates(void)
{
    g_autoptr(TestAlts) js = input_ok(TestAlts, false,
        "{\"num\": 5, \"str\": \"s\", \"nums\": [true, {\"x\": 1}, -2]}");
    g_autoptr(TestAlts) kv = input_ok(TestAlts, true,
        "num=on,str.x=7,nums.0=12,nums.1=off,nums.2.x=3");
    g_autofree char *out = take_json(qapi_output_TestAlts(js));

    g_assert_cmpint(js->num->type, ==, QTYPE_QNUM);
    g_assert_cmpint(js->num->u.i, ==, 5);
    g_assert_cmpint(js->str->type, ==, QTYPE_QSTRING);
    g_assert_cmpstr(js->str->u.s, ==, "s");
    g_assert_cmpint(js->nums->value->type, ==, QTYPE_QBOOL);
    g_assert_true(js->nums->value->u.b);
    g_assert_cmpint(js->nums->next->value->type, ==, QTYPE_QDICT);
    g_assert_cmpint(js->nums->next->value->u.o->x, ==, 1);
    g_assert_cmpint(js->nums->next->next->value->u.i, ==, -2);
    g_assert_cmpstr(out, ==, "{\"num\":5,\"str\":\"s\","
                    "\"nums\":[true,{\"x\":1},-2]}");
    /* key=value: a string picks the bool branch for on/off, else int */
    g_assert_cmpint(kv->num->type, ==, QTYPE_QBOOL);
    g_assert_true(kv->num->u.b);
    g_assert_cmpint(kv->str->type, ==, QTYPE_QDICT);
    g_assert_cmpint(kv->str->u.o->x, ==, 7);
    g_assert_cmpint(kv->nums->value->u.i, ==, 12);
    g_assert_false(kv->nums->next->value->u.b);
    g_assert_cmpint(kv->nums->next->next->value->u.o->x, ==, 3);
    assert_input_error(TestAlts, false, "{\"num\": \"five\"}",
                       "Invalid parameter type for 'num', expected: "
                       "TestAltNum");
    assert_input_error(TestAlts, false, "{\"str\": 5}",
                       "Invalid parameter type for 'str', expected: "
                       "TestAltStr");
    assert_input_error(TestAlts, true, "num=five",
                       "Parameter 'num' expects an integer");
}

/* ---- output ------------------------------------------------------------- */

static void test_output_round_trip(void)
{
    static const char scalars[] =
        "{\"s\":\"x\",\"n\":0.5,\"i\":-9223372036854775808,\"i8\":-128,"
        "\"i16\":-300,\"i32\":70000,\"i64\":9223372036854775807,"
        "\"u8\":255,\"u16\":65535,\"u32\":4294967295,"
        "\"u64\":9223372036854775807,\"sz\":1,\"b\":false,\"e\":\"old\","
        "\"any\":{\"deep\":[1,\"two\",null,{}]}}";
    static const char structs[] =
        "{\"name\":\"n\",\"kind\":\"two\",\"inner\":{\"x\":1,\"tags\":[]},"
        "\"inners\":[{\"x\":2},{\"x\":3,\"tags\":[\"t\"]}],\"ints\":[1,2],"
        "\"enums\":[\"one\"],"
#ifdef CONFIG_LINUX
        "\"linux\":true,"
#endif
        "\"if\":\"kw\"}";
    static const char netdev[] =
        "{\"id\":\"n0\",\"type\":\"socket\",\"fd\":\"3\",\"listen\":\"l\","
        "\"connect\":\"c\",\"mcast\":\"m\",\"localaddr\":\"a\",\"udp\":\"u\"}";
    static const char addr[] =
        "{\"type\":\"unix\",\"path\":\"/p\""
#ifdef CONFIG_LINUX
        ",\"abstract\":true,\"tight\":false"
#endif
        "}";
    g_autoptr(TestScalars) s = input_ok(TestScalars, false, scalars);
    g_autoptr(TestStruct) st = input_ok(TestStruct, false, structs);
    g_autoptr(Netdev) nd = input_ok(Netdev, false, netdev);
    g_autoptr(SocketAddress) sa = input_ok(SocketAddress, false, addr);
    g_autofree char *s_out = take_json(qapi_output_TestScalars(s));
    g_autofree char *st_out = take_json(qapi_output_TestStruct(st));
    g_autofree char *nd_out = take_json(qapi_output_Netdev(nd));
    g_autofree char *sa_out = take_json(qapi_output_SocketAddress(sa));

    g_assert_cmpstr(s_out, ==, scalars);
    g_assert_cmpstr(st_out, ==, structs);
    g_assert_cmpstr(nd_out, ==, netdev);
    g_assert_cmpstr(sa_out, ==, addr);
#ifdef CONFIG_LINUX
    g_assert_true(sa->u.q_unix.has_abstract && sa->u.q_unix.abstract);
#endif
    /* enums on their own, and NULL objects and lists */
    {
        g_autofree char *e = take_json(qapi_output_TestEnum(TEST_ENUM_TWO));
        g_autofree char *none = take_json(qapi_output_TestInner(NULL));
        g_autofree char *empty = take_json(qapi_output_strList(NULL));
        g_autofree char *big = take_json(qapi_out_uint(UINT64_MAX));

        g_assert_cmpstr(e, ==, "\"two\"");
        g_assert_cmpstr(none, ==, "{}");
        g_assert_cmpstr(empty, ==, "[]");
        g_assert_cmpstr(big, ==, "1.8446744073709552e+19");
    }
}

/* ---- enums -------------------------------------------------------------- */

static void test_enum_lookup(void)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpstr(NetClientDriver_str(NET_CLIENT_DRIVER_SOCKET), ==,
                    "socket");
    g_assert_cmpstr(DeviceModel_str(DEVICE_MODEL_NIC_STUB), ==, "nic-stub");
    g_assert_cmpstr(QapiErrorClass_str(QAPI_ERROR_CLASS_DEVICENOTFOUND), ==,
                    "DeviceNotFound");
    g_assert_cmpint(NET_CLIENT_DRIVER__MAX, ==, 8);
    g_assert_cmpint(NetClientDriver_lookup.size, ==, NET_CLIENT_DRIVER__MAX);
    g_assert_cmpint(qapi_enum_parse(&SocketAddressType_lookup, "unix", -1,
                                    &err), ==, SOCKET_ADDRESS_TYPE_UNIX);
    g_assert_no_error(err);
    g_assert_cmpint(qapi_enum_parse(&SocketAddressType_lookup, NULL, 7,
                                    &err), ==, 7);
    g_assert_no_error(err);
    g_assert_cmpint(qapi_enum_parse(&SocketAddressType_lookup, "vsock", -1,
                                    &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "invalid parameter value: vsock");
    /* prefixes, C names, conditions and features */
    g_assert_cmpint(TP_UNIX, ==, 1);
    g_assert_cmpstr(TestPrefixed_str(TP_A_B), ==, "a-b");
#ifdef CONFIG_LINUX
    g_assert_cmpint(TEST_ENUM__MAX, ==, 4);
    g_assert_cmpstr(TestEnum_str(TEST_ENUM_LINUX_ONLY), ==, "linux-only");
#else
    g_assert_cmpint(TEST_ENUM__MAX, ==, 3);
#endif
    g_assert_nonnull(TestEnum_lookup.special_features);
    g_assert_cmpuint(TestEnum_lookup.special_features[TEST_ENUM_OLD], ==,
                     1u << QAPI_DEPRECATED);
    g_assert_cmpuint(TestEnum_lookup.special_features[TEST_ENUM_ONE], ==, 0);
    g_assert_null(NetClientDriver_lookup.special_features);
}

/* ---- errors ------------------------------------------------------------- */

static void test_error_class(void)
{
    g_autoptr(GError) generic = g_error_new(VMWIRE_ERROR, VMWIRE_ERROR_FAILED,
                                            "x");
    g_autoptr(GError) dev = g_error_new(VMWIRE_ERROR, VMWIRE_ERROR_NOT_FOUND,
                                        "x");
    g_autoptr(GError) cmd = g_error_new(VMWIRE_ERROR,
                                        VMWIRE_ERROR_COMMAND_NOT_FOUND, "x");
    g_autoptr(GError) other = g_error_new(KEYVAL_ERROR,
                                          VMWIRE_ERROR_NOT_FOUND, "x");

    g_assert_cmpstr(qapi_error_class(generic), ==, "GenericError");
    g_assert_cmpstr(qapi_error_class(dev), ==, "DeviceNotFound");
    g_assert_cmpstr(qapi_error_class(cmd), ==, "CommandNotFound");
    g_assert_cmpstr(qapi_error_class(other), ==, "GenericError");
    g_assert_cmpstr(qapi_error_class(NULL), ==, "GenericError");
}

/* ---- keyval_to_json ----------------------------------------------------- */

/* @node is @json (compact), or NULL with @err saying @msg. */
static void assert_json_or_error(JsonNode *node, const GError *err,
                                 const char *json, const char *msg)
{
    if (json) {
        g_autofree char *text = to_json(node);

        g_assert_no_error(err);
        g_assert_cmpstr(text, ==, json);
    } else {
        g_assert_null(node);
        g_assert_cmpstr(err->message, ==, msg);
    }
}

static void assert_keyval_json(const char *opts, const char *json,
                               const char *msg)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(KeyValList) list = keyval_parse(opts, "type", &err);
    g_autoptr(JsonNode) node = NULL;

    g_assert_no_error(err);
    node = keyval_to_json(list, &err);
    assert_json_or_error(node, err, json, msg);
}

static void test_keyval_to_json(void)
{
    assert_keyval_json("", "{}", NULL);
    assert_keyval_json("socket,id=n0,listen=:1",
                       "{\"type\":\"socket\",\"id\":\"n0\","
                       "\"listen\":\":1\"}", NULL);
    assert_keyval_json("stream,addr.type=inet,id=s,addr.port=1,"
                       "addr.sub.x=,,",
                       "{\"type\":\"stream\",\"addr\":{\"type\":\"inet\","
                       "\"port\":\"1\",\"sub\":{\"x\":\",\"}},\"id\":\"s\"}",
                       NULL);
    assert_keyval_json("a=1,a.b=2", NULL,
                       "Parameters 'a.*' used inconsistently");
    assert_keyval_json("a.b=2,a=1", NULL,
                       "Parameters 'a.*' used inconsistently");
    assert_keyval_json("x.a.b=2,x.a=1", NULL,
                       "Parameters 'x.a.*' used inconsistently");
    assert_keyval_json("x.a=1,x.a.b.c=2", NULL,
                       "Parameters 'x.a.*' used inconsistently");
    assert_keyval_json("a..b=1", NULL, "Invalid parameter 'a..b'");
    assert_keyval_json("a.=1", NULL, "Invalid parameter 'a.'");
    assert_keyval_json("x,.a=1", NULL, "Invalid parameter '.a'");
}

/* ---- -netdev and -device strings ---------------------------------------- */

static void assert_netdev_parse(const char *str, const char *msg)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(Netdev) nd = netdev_parse(str, &err);

    g_assert_null(nd);
    g_assert_cmpstr(err->message, ==, msg);
}

static void assert_device_parse(const char *str, const char *msg)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DeviceOptions) opts = device_parse(str, &err);

    g_assert_null(opts);
    g_assert_cmpstr(err->message, ==, msg);
}

/* Repeated keys: only those named as lists collect, in order. */
static void assert_keyval_lists(const char *opts, const char *json,
                                const char *msg)
{
    static const char *const lists[] = { "hostfwd.str", "tags", NULL };
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonNode) node = NULL;
    bool keyval;

    node = keyval_parse_option_lists(opts, "type", lists, &keyval, &err);
    g_assert_true(keyval);
    assert_json_or_error(node, err, json, msg);
}

static void test_keyval_lists(void)
{
    assert_keyval_lists("user,hostfwd=a,id=u,hostfwd=b,,c,tags=x,tags=y",
                        "{\"type\":\"user\",\"hostfwd\":{\"0\":{\"str\":"
                        "\"a\"},\"1\":{\"str\":\"b,c\"}},\"id\":\"u\","
                        "\"tags\":{\"0\":\"x\",\"1\":\"y\"}}", NULL);
    assert_keyval_lists("user,hostfwd=a", "{\"type\":\"user\",\"hostfwd\":"
                        "{\"0\":{\"str\":\"a\"}}}", NULL);
    /* scalars keep refusing a second value */
    assert_keyval_lists("user,id=a,hostfwd=x,id=b", NULL,
                        "Parameter 'id' is given more than once");
    assert_keyval_lists("user,user=x,hostfwd.0.str=a,hostfwd=b", NULL,
                        "Parameters 'hostfwd.0.str.*' used inconsistently");
    /* the list's Netdev table: -netdev user,hostfwd=...,hostfwd=... */
    {
        g_autoptr(GError) err = NULL;
        g_autoptr(Netdev) nd = netdev_parse(
            "user,id=u,hostfwd=tcp::1-:2,dnssearch=a.org,hostfwd=udp::3-:4,"
            "dnssearch=b.org", &err);

        g_assert_no_error(err);
        g_assert_cmpstr(nd->u.user.hostfwd->value->str, ==, "tcp::1-:2");
        g_assert_cmpstr(nd->u.user.hostfwd->next->value->str, ==,
                        "udp::3-:4");
        g_assert_null(nd->u.user.hostfwd->next->next);
        g_assert_cmpstr(nd->u.user.dnssearch->next->value->str, ==,
                        "b.org");
        g_assert_true(g_strv_contains(Netdev_list_members, "hostfwd.str"));
        g_assert_false(g_strv_contains(Netdev_list_members, "net"));
    }
    assert_netdev_parse("user,id=u,net=10.0.0.0/8,net=10.0.0.0/8",
                        "Parameter 'net' is given more than once");
    /* another branch's list is not one: "socket" has no hostfwd= */
    assert_netdev_parse("socket,id=s,listen=:1,hostfwd=a",
                        "Invalid parameter 'hostfwd'");
    assert_netdev_parse("socket,id=s,listen=:1,hostfwd=a,hostfwd=b",
                        "Parameter 'hostfwd' is given more than once");
}

static void test_option_strings(void)
{
    g_autoptr(Netdev) kv = netdev_parse("socket,id=n0,connect=h:1", NULL);
    g_autoptr(Netdev) js = netdev_parse("{\"type\": \"socket\", \"id\": "
                                        "\"n0\", \"connect\": \"h:1\"}",
                                        NULL);
    g_autoptr(DeviceOptions) dev = device_parse(
        "nic-stub,id=s0,netdev=n0,ip=10.0.0.1", NULL);
    g_autoptr(DeviceOptions) dev_js = device_parse(
        "{\"driver\": \"nic-stub\", \"mac\": \"52:54:00:00:00:01\"}", NULL);

    g_assert_cmpstr(kv->u.socket.connect, ==, "h:1");
    g_assert_cmpstr(js->u.socket.connect, ==, "h:1");
    g_assert_cmpint(dev->driver, ==, DEVICE_MODEL_NIC_STUB);
    g_assert_cmpstr(dev->id, ==, "s0");
    g_assert_cmpstr(dev->u.nic_stub.ip, ==, "10.0.0.1");
    g_assert_false(dev_js->has_id);
    g_assert_cmpstr(dev_js->u.nic_stub.mac, ==, "52:54:00:00:00:01");
    /* QEMU's order: the id before the type in key=value form */
    assert_netdev_parse("nosuch", "Parameter 'id' is missing");
    assert_netdev_parse("nosuch,id=0x",
                        "Parameter 'id' expects an identifier");
    assert_netdev_parse("id=n0", "Parameter 'type' is missing");
    assert_netdev_parse("socket,id=n0,id=n1",
                        "Parameter 'id' is given more than once");
    {
        /* the rest of the words are json-glib's */
        g_autoptr(GError) err = NULL;

        g_assert_null(netdev_parse("{\"type\": \"socket\"", &err));
        g_assert_true(g_str_has_prefix(err->message, "JSON parse error, "));
    }
    assert_device_parse("nosuch,id=9s", "Parameter 'id' expects an "
                        "identifier");
    assert_device_parse("id=s0", "Parameter 'driver' is missing");
    assert_device_parse("nosuch", "'nosuch' is not a valid device model "
                        "name");
    assert_device_parse("nic-stub,speed=10",
                        "Property 'nic-stub.speed' not found");
    assert_device_parse("{\"driver\": \"nic-stub\", \"speed\": 10}",
                        "Property 'nic-stub.speed' not found");
    assert_device_parse("{\"driver\": 1}",
                        "Invalid parameter type for 'driver', expected: "
                        "string");
    assert_device_parse("nic-stub,mac.x=1", "Invalid parameter 'mac.x'");
}

/* ---- commands (the test schema's) --------------------------------------- */

int64_t qmp_test_add(int64_t a, bool has_b, int64_t b, GError **errp)
{
    return a + (has_b ? b : 100);
}

char *qmp_test_echo(const char *text, uint8_t times, GError **errp)
{
    GString *out = g_string_new(NULL);

    for (unsigned i = 0; i < times; i++) {
        g_string_append(out, text);
    }
    return g_string_free(out, FALSE);
}

strList *qmp_test_union(TestUnion *data, GError **errp)
{
    strList *list = g_new0(strList, 1);

    list->value = g_strdup_printf("%s:%s", data->name,
                                  TestEnum_str(data->kind));
    return list;
}

TestStruct *qmp_test_struct(const char *name, GError **errp)
{
    TestStruct *s = g_new0(TestStruct, 1);

    s->name = g_strdup(name);
    s->kind = TEST_ENUM_TWO;
    s->has_inner = true;
    s->inner = g_new0(TestInner, 1);
    s->inner->x = 42;
    return s;
}

static unsigned nothing_calls;

void qmp_test_nothing(GError **errp)
{
    nothing_calls++;
}

void qmp_test_fail(bool has_not_found, bool not_found, GError **errp)
{
    if (has_not_found && not_found) {
        g_set_error(errp, VMWIRE_ERROR, VMWIRE_ERROR_NOT_FOUND,
                    "Device 'x' not found");
        return;
    }
    error_setg(errp, "it failed");
}

void qmp_marshal_test_manual(JsonObject *args, JsonNode **ret, GError **errp)
{
    *ret = qapi_out_str("by hand");
}

/* Run @name with @args (JSON text or NULL); the answer as JSON text, or
 * NULL with *@err set. */
static char *run_command(const char *name, const char *args, GError **err)
{
    const QmpCommand *cmd = test_qmp_command_find(name);
    g_autoptr(JsonNode) node = args ? parse_json(args) : NULL;
    JsonNode *ret = NULL;

    g_assert_nonnull(cmd);
    cmd->fn(node ? json_node_get_object(node) : NULL, &ret, err);
    if (*err) {
        g_assert_null(ret);
        return NULL;
    }
    g_assert_nonnull(ret);
    return take_json(ret);
}

static void assert_command(const char *name, const char *args,
                           const char *answer)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *got = run_command(name, args, &err);

    g_assert_no_error(err);
    g_assert_cmpstr(got, ==, answer);
}

static void assert_command_error(const char *name, const char *args,
                                 const char *cls, const char *msg)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *got = run_command(name, args, &err);

    g_assert_null(got);
    g_assert_cmpstr(qapi_error_class(err), ==, cls);
    g_assert_cmpstr(err->message, ==, msg);
}

static void test_commands(void)
{
    static const char *const names[] = {
        "test-add", "test-echo", "test-union", "test-struct", "test-nothing",
        "test-fail", "test-manual",
    };

    g_assert_cmpuint(test_qmp_commands_count, ==, G_N_ELEMENTS(names));
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        g_assert_cmpstr(test_qmp_commands[i].name, ==, names[i]);
        g_assert_true(test_qmp_command_find(names[i]) ==
                      &test_qmp_commands[i]);
    }
    g_assert_null(test_qmp_commands[test_qmp_commands_count].name);
    g_assert_null(test_qmp_command_find("test-never"));   /* 'if' */
    g_assert_null(test_qmp_command_find("nosuch"));
    g_assert_true(test_qmp_command_find("test-manual")->fn ==
                  qmp_marshal_test_manual);

    assert_command("test-add", "{\"a\": 1, \"b\": 2}", "3");
    assert_command("test-add", "{\"a\": 1}", "101");
    assert_command("test-echo", "{\"text\": \"ab\", \"times\": 3}",
                   "\"ababab\"");
    assert_command("test-union", "{\"name\": \"u\", \"kind\": \"two\", "
                   "\"two-value\": \"v\"}", "[\"u:two\"]");
    assert_command("test-struct", "{\"name\": \"s\"}",
                   "{\"name\":\"s\",\"kind\":\"two\",\"inner\":{\"x\":42}}");
    assert_command("test-nothing", NULL, "{}");
    assert_command("test-nothing", "{}", "{}");
    g_assert_cmpuint(nothing_calls, ==, 2);
    assert_command("test-manual", NULL, "\"by hand\"");

    assert_command_error("test-add", "{}", "GenericError",
                         "Parameter 'a' is missing");
    assert_command_error("test-add", NULL, "GenericError",
                         "Parameter 'a' is missing");
    assert_command_error("test-add", "{\"a\": 1, \"c\": 1}", "GenericError",
                         "Parameter 'c' is unexpected");
    assert_command_error("test-echo", "{\"text\": \"x\", \"times\": 256}",
                         "GenericError", "Parameter 'times' expects uint8_t");
    assert_command_error("test-union", "{\"name\": \"u\", "
                         "\"kind\": \"one\"}", "GenericError",
                         "Parameter 'one-value' is missing");
    assert_command_error("test-nothing", "{\"x\": 1}", "GenericError",
                         "Parameter 'x' is unexpected");
    g_assert_cmpuint(nothing_calls, ==, 2);
    assert_command_error("test-fail", "{\"not-found\": true}",
                         "DeviceNotFound", "Device 'x' not found");
    assert_command_error("test-fail", NULL, "GenericError", "it failed");
    {
        /* a caller that does not want the answer */
        g_autoptr(GError) err = NULL;
        g_autoptr(JsonNode) args = parse_json("{\"text\": \"x\", "
                                              "\"times\": 1}");

        test_qmp_command_find("test-echo")->fn(json_node_get_object(args),
                                                NULL, &err);
        g_assert_no_error(err);
    }
}

/* ---- events (the test schema's) ----------------------------------------- */

static GPtrArray *emitted;       /* "NAME DATA-JSON" */

void test_qapi_event_emit(const char *name, JsonObject *data)
{
    g_autofree char *text = NULL;

    if (data) {
        text = take_json(qapi_out_take_object(data));
    }
    g_ptr_array_add(emitted, g_strdup_printf("%s %s", name,
                                             text ? text : "-"));
}

static void test_events(void)
{
    TestInner inner = { .x = 3 };
    strList tag = { .value = (char *)"t" };
    TestInner tagged = { .x = 4, .has_tags = true, .tags = &tag };

    emitted = g_ptr_array_new_with_free_func(g_free);
    qapi_event_send_test_event("e1", true, 5, &inner);
    qapi_event_send_test_event("e2", false, 0, &tagged);
    qapi_event_send_test_boxed(&tagged);
    qapi_event_send_test_empty();
    g_assert_cmpuint(emitted->len, ==, 4);
    g_assert_cmpstr(emitted->pdata[0], ==,
                    "TEST_EVENT {\"id\":\"e1\",\"count\":5,"
                    "\"inner\":{\"x\":3}}");
    g_assert_cmpstr(emitted->pdata[1], ==,
                    "TEST_EVENT {\"id\":\"e2\","
                    "\"inner\":{\"x\":4,\"tags\":[\"t\"]}}");
    g_assert_cmpstr(emitted->pdata[2], ==,
                    "TEST_BOXED {\"x\":4,\"tags\":[\"t\"]}");
    g_assert_cmpstr(emitted->pdata[3], ==, "TEST_EMPTY -");
    g_clear_pointer(&emitted, g_ptr_array_unref);
}

/* ---- introspection ------------------------------------------------------ */

/* Every type name @info uses (arg-type, members' types, ...), into @used. */
static void collect_used(JsonObject *info, GHashTable *used)
{
    static const char *const refs[] = { "arg-type", "ret-type",
                                        "element-type" };
    static const char *const lists[] = { "members", "variants" };

    for (size_t i = 0; i < G_N_ELEMENTS(refs); i++) {
        if (json_object_has_member(info, refs[i])) {
            g_hash_table_add(used, (char *)json_object_get_string_member(
                                 info, refs[i]));
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(lists); i++) {
        JsonArray *a;

        if (!json_object_has_member(info, lists[i])) {
            continue;
        }
        a = json_object_get_array_member(info, lists[i]);
        for (guint j = 0; j < json_array_get_length(a); j++) {
            JsonObject *m = json_array_get_object_element(a, j);

            if (json_object_has_member(m, "type")) {
                g_hash_table_add(used, (char *)json_object_get_string_member(
                                     m, "type"));
            }
        }
    }
}

/*
 * Parse @text; check every name is defined once and every type used is
 * defined; return a table name -> meta-type (borrowed from @root).
 */
static GHashTable *check_introspection(const char *text, JsonNode **root)
{
    GHashTable *defined = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) used = g_hash_table_new(g_str_hash, g_str_equal);
    JsonArray *all;
    GHashTableIter iter;
    gpointer name;

    *root = parse_json(text);
    g_assert_true(JSON_NODE_HOLDS_ARRAY(*root));
    all = json_node_get_array(*root);
    for (guint i = 0; i < json_array_get_length(all); i++) {
        JsonObject *info = json_array_get_object_element(all, i);
        const char *n = json_object_get_string_member(info, "name");

        g_assert_false(g_hash_table_contains(defined, n));
        g_hash_table_insert(defined, (char *)n, (char *)
                            json_object_get_string_member(info,
                                                          "meta-type"));
        collect_used(info, used);
    }
    g_hash_table_iter_init(&iter, used);
    while (g_hash_table_iter_next(&iter, &name, NULL)) {
        if (!g_hash_table_contains(defined, name)) {
            g_test_message("used but not defined: %s", (char *)name);
        }
        g_assert_true(g_hash_table_contains(defined, name));
    }
    return defined;
}

static void test_introspection(void)
{
    static const char *const commands[] = {
        "qmp_capabilities", "query-version", "query-commands", "quit",
        "getfd", "closefd", "human-monitor-command", "netdev_add",
        "netdev_del", "set_link", "x-query-network", "device_add",
        "device_del", "x-nic-stub-inject", "x-nic-stub-read",
        "x-nic-stub-stats", "query-qmp-schema",
    };
    static const char *const events[] = {
        "NETDEV_STREAM_CONNECTED", "NETDEV_STREAM_DISCONNECTED",
        "NETDEV_LINK_CHANGED",
    };
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(JsonNode) test_root = NULL;
    g_autoptr(GHashTable) main_schema =
        check_introspection(qapi_introspect_json, &root);
    g_autoptr(GHashTable) test = check_introspection(
        test_qapi_introspect_json, &test_root);
    unsigned n_commands = 0;
    GHashTableIter iter;
    gpointer key, value;

    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        g_assert_cmpstr(g_hash_table_lookup(main_schema, commands[i]), ==,
                        "command");
    }
    for (size_t i = 0; i < G_N_ELEMENTS(events); i++) {
        g_assert_cmpstr(g_hash_table_lookup(main_schema, events[i]), ==,
                        "event");
    }
    g_assert_cmpstr(g_hash_table_lookup(main_schema, "Netdev"), ==, "object");
    g_assert_cmpstr(g_hash_table_lookup(main_schema, "[CommandInfo]"), ==,
                    "array");
    g_assert_cmpstr(g_hash_table_lookup(main_schema, "str"), ==, "builtin");
    g_assert_null(g_hash_table_lookup(main_schema, "uint64"));   /* as "int" */
    /* the test schema: exactly its command table, and its events */
    for (size_t i = 0; i < test_qmp_commands_count; i++) {
        g_assert_cmpstr(g_hash_table_lookup(test, test_qmp_commands[i].name),
                        ==, "command");
    }
    g_hash_table_iter_init(&iter, test);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        n_commands += g_str_equal(value, "command");
    }
    g_assert_cmpuint(n_commands, ==, test_qmp_commands_count);
    g_assert_cmpstr(g_hash_table_lookup(test, "TEST_EMPTY"), ==, "event");
    g_assert_cmpstr(g_hash_table_lookup(test, "TEST_BOXED"), ==, "event");
    g_assert_null(g_hash_table_lookup(test, "test-never"));
}

/* One entity of the introspection, as compact JSON. */
static char *introspected(const char *text, const char *name)
{
    g_autoptr(JsonNode) root = parse_json(text);
    JsonArray *all = json_node_get_array(root);

    for (guint i = 0; i < json_array_get_length(all); i++) {
        JsonNode *node = json_array_get_element(all, i);
        JsonObject *info = json_node_get_object(node);

        if (g_str_equal(json_object_get_string_member(info, "name"), name)) {
            return to_json(node);
        }
    }
    return NULL;
}

static void test_introspection_shape(void)
{
    static const char unix_expected[] =
        "{\"name\":\"UnixSocketAddress\",\"meta-type\":\"object\","
        "\"members\":[{\"name\":\"path\",\"type\":\"str\"}"
#ifdef CONFIG_LINUX
        ",{\"name\":\"abstract\",\"type\":\"bool\",\"default\":null},"
        "{\"name\":\"tight\",\"type\":\"bool\",\"default\":null}"
#endif
        "]}";
    static const char tenum_expected[] =
        "{\"name\":\"TestEnum\",\"meta-type\":\"enum\",\"members\":["
        "{\"name\":\"one\"},{\"name\":\"two\"},"
#ifdef CONFIG_LINUX
        "{\"name\":\"linux-only\"},"
#endif
        "{\"name\":\"old\",\"features\":[\"deprecated\"]}],"
        "\"values\":[\"one\",\"two\","
#ifdef CONFIG_LINUX
        "\"linux-only\","
#endif
        "\"old\"]}";
    g_autofree char *netdev_add = introspected(qapi_introspect_json,
                                               "netdev_add");
    g_autofree char *read = introspected(qapi_introspect_json,
                                         "x-nic-stub-read");
    g_autofree char *netdev = introspected(qapi_introspect_json, "Netdev");
    g_autofree char *quit = introspected(qapi_introspect_json, "quit");
    g_autofree char *unix_addr = introspected(qapi_introspect_json,
                                              "UnixSocketAddress");
    g_autofree char *tenum = introspected(test_qapi_introspect_json,
                                          "TestEnum");

    g_assert_cmpstr(netdev_add, ==, "{\"name\":\"netdev_add\","
                    "\"meta-type\":\"command\",\"arg-type\":\"Netdev\","
                    "\"ret-type\":\"q_empty\"}");
    g_assert_cmpstr(read, ==, "{\"name\":\"x-nic-stub-read\","
                    "\"meta-type\":\"command\","
                    "\"arg-type\":\"q_obj_x-nic-stub-read-arg\","
                    "\"ret-type\":\"[NicStubFrame]\","
                    "\"features\":[\"unstable\"]}");
    g_assert_cmpstr(netdev, ==, "{\"name\":\"Netdev\","
                    "\"meta-type\":\"object\",\"members\":["
                    "{\"name\":\"id\",\"type\":\"str\"},"
                    "{\"name\":\"type\",\"type\":\"NetClientDriver\"}],"
                    "\"tag\":\"type\",\"variants\":["
                    "{\"case\":\"nic\",\"type\":\"q_empty\"},"
                    "{\"case\":\"socket\",\"type\":\"NetdevSocketOptions\"},"
                    "{\"case\":\"stream\",\"type\":\"NetdevStreamOptions\"},"
                    "{\"case\":\"dgram\",\"type\":\"NetdevDgramOptions\"},"
                    "{\"case\":\"hubport\","
                    "\"type\":\"NetdevHubPortOptions\"},"
                    "{\"case\":\"user\",\"type\":\"NetdevUserOptions\"},"
                    "{\"case\":\"vhost-user\","
                    "\"type\":\"NetdevVhostUserOptions\"},"
                    "{\"case\":\"vxlan\",\"type\":\"NetdevVxlanOptions\"}"
                    "]}");
    g_assert_cmpstr(quit, ==, "{\"name\":\"quit\",\"meta-type\":\"command\","
                    "\"arg-type\":\"q_empty\",\"ret-type\":\"q_empty\"}");
    g_assert_cmpstr(unix_addr, ==, unix_expected);
    g_assert_cmpstr(tenum, ==, tenum_expected);
}

/* ---- memory ------------------------------------------------------------- */

static void test_free_null(void)
{
    qapi_free_Netdev(NULL);
    qapi_free_TestUnion(NULL);
    qapi_free_TestAltNum(NULL);
    qapi_free_strList(NULL);
    qapi_free_TestInnerList(NULL);
    qapi_free_any(NULL);
    {
        g_autoptr(Netdev) unused = NULL;
        g_autoptr(TestAltNumList) unused_list = NULL;

        (void)unused;
        (void)unused_list;
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qapi/input/missing", test_missing);
    g_test_add_func("/qapi/input/unexpected", test_unexpected);
    g_test_add_func("/qapi/input/wrong-type", test_wrong_type);
    g_test_add_func("/qapi/input/enum-value", test_enum_value);
    g_test_add_func("/qapi/input/keyval-bool", test_keyval_bool);
    g_test_add_func("/qapi/input/keyval-integer", test_keyval_integer);
    g_test_add_func("/qapi/input/keyval-vs-json", test_keyval_vs_json);
    g_test_add_func("/qapi/input/nested-keys", test_nested_keys);
    g_test_add_func("/qapi/input/lists", test_lists);
    g_test_add_func("/qapi/input/union-branches", test_union_branches);
    g_test_add_func("/qapi/input/optional", test_optional);
    g_test_add_func("/qapi/input/alternates", test_alternates);
    g_test_add_func("/qapi/output/round-trip", test_output_round_trip);
    g_test_add_func("/qapi/enum/lookup", test_enum_lookup);
    g_test_add_func("/qapi/error-class", test_error_class);
    g_test_add_func("/qapi/keyval-to-json", test_keyval_to_json);
    g_test_add_func("/qapi/keyval-lists", test_keyval_lists);
    g_test_add_func("/qapi/option-strings", test_option_strings);
    g_test_add_func("/qapi/commands", test_commands);
    g_test_add_func("/qapi/events", test_events);
    g_test_add_func("/qapi/introspection/complete", test_introspection);
    g_test_add_func("/qapi/introspection/shape", test_introspection_shape);
    g_test_add_func("/qapi/free-null", test_free_null);
    return g_test_run();
}
