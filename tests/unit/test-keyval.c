/*
 * DOC: unit tests of util/keyval.c
 *
 * Each case parses an option string as a user would type it after -netdev
 * or -device and checks the pairs it yields, or the exact error message the
 * user would see.
 */
#include "util/keyval.h"

#include <string.h>

/* Parse @str, which must succeed, and return the list. */
static KeyValList *parse_ok(const char *str, const char *implied_key)
{
    g_autoptr(GError) err = NULL;
    KeyValList *list = keyval_parse(str, implied_key, &err);

    g_assert_no_error(err);
    g_assert_nonnull(list);
    return list;
}

/* Parse @str, which must fail with exactly @message. */
static void parse_fails(const char *str, const char *implied_key,
                        const char *message)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(KeyValList) list = keyval_parse(str, implied_key, &err);

    g_assert_null(list);
    g_assert_error(err, KEYVAL_ERROR, KEYVAL_ERROR_INVALID);
    g_assert_cmpstr(err->message, ==, message);
}

static void test_empty(void)
{
    g_autoptr(KeyValList) list = parse_ok("", NULL);
    g_autoptr(KeyValList) implied = parse_ok("", "type");

    g_assert_cmpuint(keyval_count(list), ==, 0);
    g_assert_cmpuint(keyval_count(implied), ==, 0);
    g_assert_null(keyval_get(list, "type"));
    g_assert_false(keyval_has(list, "type"));
}

static void test_implied_key(void)
{
    g_autoptr(KeyValList) list =
        parse_ok("socket,id=n0,listen=:5555", "type");

    g_assert_cmpuint(keyval_count(list), ==, 3);
    g_assert_cmpstr(keyval_key_at(list, 0), ==, "type");
    g_assert_cmpstr(keyval_value_at(list, 0), ==, "socket");
    g_assert_cmpstr(keyval_key_at(list, 1), ==, "id");
    g_assert_cmpstr(keyval_value_at(list, 1), ==, "n0");
    g_assert_cmpstr(keyval_key_at(list, 2), ==, "listen");
    g_assert_cmpstr(keyval_value_at(list, 2), ==, ":5555");
}

static void test_implied_key_alone(void)
{
    g_autoptr(KeyValList) list = parse_ok("nic-stub", "driver");

    g_assert_cmpuint(keyval_count(list), ==, 1);
    g_assert_cmpstr(keyval_get(list, "driver"), ==, "nic-stub");
}

static void test_implied_key_explicit(void)
{
    g_autoptr(KeyValList) list = parse_ok("type=socket,id=n0", "type");

    g_assert_cmpuint(keyval_count(list), ==, 2);
    g_assert_cmpstr(keyval_get(list, "type"), ==, "socket");
}

static void test_implied_key_twice(void)
{
    parse_fails("socket,type=stream", "type",
                "Parameter 'type' is given more than once");
}

static void test_no_implied_key(void)
{
    g_autoptr(KeyValList) list = parse_ok("id=n0,fd=3", NULL);

    g_assert_cmpuint(keyval_count(list), ==, 2);
    g_assert_cmpstr(keyval_get(list, "fd"), ==, "3");
    parse_fails("socket,id=n0", NULL,
                "Expected '=' after parameter 'socket'");
}

static void test_bare_word_not_first(void)
{
    parse_fails("socket,id=n0,listen", "type",
                "Expected '=' after parameter 'listen'");
    parse_fails("id=n0,socket", "type",
                "Expected '=' after parameter 'socket'");
    parse_fails("socket,stream", "type",
                "Expected '=' after parameter 'stream'");
}

static void test_device_string(void)
{
    g_autoptr(KeyValList) list =
        parse_ok("nic-stub,id=s0,netdev=n0,mac=52:54:00:12:34:56", "driver");

    g_assert_cmpuint(keyval_count(list), ==, 4);
    g_assert_cmpstr(keyval_get(list, "driver"), ==, "nic-stub");
    g_assert_cmpstr(keyval_get(list, "netdev"), ==, "n0");
    g_assert_cmpstr(keyval_get(list, "mac"), ==, "52:54:00:12:34:56");
}

static void test_order_kept(void)
{
    static const char *const keys[] = { "z", "a", "m", "b" };
    g_autoptr(KeyValList) list = parse_ok("z=1,a=2,m=3,b=4", NULL);

    g_assert_cmpuint(keyval_count(list), ==, G_N_ELEMENTS(keys));
    for (unsigned i = 0; i < G_N_ELEMENTS(keys); i++) {
        g_autofree char *value = g_strdup_printf("%u", i + 1);

        g_assert_cmpstr(keyval_key_at(list, i), ==, keys[i]);
        g_assert_cmpstr(keyval_value_at(list, i), ==, value);
    }
}

static void test_escape_start(void)
{
    g_autoptr(KeyValList) list = parse_ok("a=,,x,b=2", NULL);

    g_assert_cmpuint(keyval_count(list), ==, 2);
    g_assert_cmpstr(keyval_get(list, "a"), ==, ",x");
    g_assert_cmpstr(keyval_get(list, "b"), ==, "2");
}

static void test_escape_middle(void)
{
    g_autoptr(KeyValList) list = parse_ok("a=x,,y,,z,b=2", NULL);

    g_assert_cmpuint(keyval_count(list), ==, 2);
    g_assert_cmpstr(keyval_get(list, "a"), ==, "x,y,z");
    g_assert_cmpstr(keyval_get(list, "b"), ==, "2");
}

static void test_escape_end(void)
{
    g_autoptr(KeyValList) last = parse_ok("b=2,a=x,,", NULL);
    g_autoptr(KeyValList) inner = parse_ok("a=x,,,b=2", NULL);
    g_autoptr(KeyValList) only = parse_ok("a=,,,,", NULL);

    g_assert_cmpuint(keyval_count(last), ==, 2);
    g_assert_cmpstr(keyval_get(last, "a"), ==, "x,");
    g_assert_cmpuint(keyval_count(inner), ==, 2);
    g_assert_cmpstr(keyval_get(inner, "a"), ==, "x,");
    g_assert_cmpstr(keyval_get(inner, "b"), ==, "2");
    g_assert_cmpuint(keyval_count(only), ==, 1);
    g_assert_cmpstr(keyval_get(only, "a"), ==, ",,");
}

static void test_escape_hides_key(void)
{
    /* QEMU: "x=,,id=bar" is one value, not an id. */
    g_autoptr(KeyValList) list = parse_ok("x=,,id=bar", NULL);

    g_assert_cmpuint(keyval_count(list), ==, 1);
    g_assert_cmpstr(keyval_get(list, "x"), ==, ",id=bar");
    g_assert_false(keyval_has(list, "id"));
}

static void test_escape_not_in_bare_word(void)
{
    /* As in QEMU, the implied key's value cannot hold a comma. */
    parse_fails("val,,ue", "type", "Invalid parameter ''");
}

static void test_value_with_equals(void)
{
    g_autoptr(KeyValList) list = parse_ok("a=b=c,d=", NULL);

    g_assert_cmpstr(keyval_get(list, "a"), ==, "b=c");
    g_assert_cmpstr(keyval_get(list, "d"), ==, "");
    g_assert_true(keyval_has(list, "d"));
}

static void test_duplicate(void)
{
    parse_fails("id=a,id=b", NULL, "Parameter 'id' is given more than once");
    parse_fails("socket,id=n0,listen=:1,id=n0", "type",
                "Parameter 'id' is given more than once");
    parse_fails("a=,a=", NULL, "Parameter 'a' is given more than once");
}

static void test_empty_key(void)
{
    parse_fails("=x", NULL, "Invalid parameter ''");
    parse_fails("=x", "type", "Invalid parameter ''");
    parse_fails("a=1,=x", NULL, "Invalid parameter ''");
    parse_fails(",a=1", NULL, "Invalid parameter ''");
    parse_fails(",", NULL, "Invalid parameter ''");
    parse_fails(",", "type", "Invalid parameter ''");
    parse_fails("a=1,,,=x", NULL, "Invalid parameter ''");
}

static void test_trailing_comma(void)
{
    g_autoptr(KeyValList) pair = parse_ok("a=1,", NULL);
    g_autoptr(KeyValList) bare = parse_ok("socket,", "type");

    g_assert_cmpuint(keyval_count(pair), ==, 1);
    g_assert_cmpstr(keyval_get(pair, "a"), ==, "1");
    g_assert_cmpuint(keyval_count(bare), ==, 1);
    g_assert_cmpstr(keyval_get(bare, "type"), ==, "socket");
    parse_fails("a=1,,,b", NULL, "Expected '=' after parameter 'b'");
}

static void test_get_has(void)
{
    g_autoptr(KeyValList) list = parse_ok("id=n0,fd=3", NULL);

    g_assert_true(keyval_has(list, "id"));
    g_assert_true(keyval_has(list, "fd"));
    g_assert_false(keyval_has(list, "listen"));
    g_assert_false(keyval_has(list, "i"));
    g_assert_false(keyval_has(list, "ID"));
    g_assert_cmpstr(keyval_get(list, "id"), ==, "n0");
    g_assert_null(keyval_get(list, "listen"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/keyval/empty", test_empty);
    g_test_add_func("/util/keyval/implied-key", test_implied_key);
    g_test_add_func("/util/keyval/implied-key-alone", test_implied_key_alone);
    g_test_add_func("/util/keyval/implied-key-explicit",
                    test_implied_key_explicit);
    g_test_add_func("/util/keyval/implied-key-twice", test_implied_key_twice);
    g_test_add_func("/util/keyval/no-implied-key", test_no_implied_key);
    g_test_add_func("/util/keyval/bare-word-not-first",
                    test_bare_word_not_first);
    g_test_add_func("/util/keyval/device-string", test_device_string);
    g_test_add_func("/util/keyval/order-kept", test_order_kept);
    g_test_add_func("/util/keyval/escape-start", test_escape_start);
    g_test_add_func("/util/keyval/escape-middle", test_escape_middle);
    g_test_add_func("/util/keyval/escape-end", test_escape_end);
    g_test_add_func("/util/keyval/escape-hides-key", test_escape_hides_key);
    g_test_add_func("/util/keyval/escape-not-in-bare-word",
                    test_escape_not_in_bare_word);
    g_test_add_func("/util/keyval/value-with-equals", test_value_with_equals);
    g_test_add_func("/util/keyval/duplicate", test_duplicate);
    g_test_add_func("/util/keyval/empty-key", test_empty_key);
    g_test_add_func("/util/keyval/trailing-comma", test_trailing_comma);
    g_test_add_func("/util/keyval/get-has", test_get_has);
    return g_test_run();
}
