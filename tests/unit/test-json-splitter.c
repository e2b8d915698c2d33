/*
 * The QMP stream splitter (monitor/json-splitter.c): values cut where they
 * end, in any piece size; limits and broken input give one error each and
 * the next value is read normally.
 */
#include <glib.h>
#include <string.h>

#include "monitor/json-splitter.h"

#define MAX_SIZE 256
#define MAX_DEPTH 8

/* Feed @data in pieces of @step bytes; "V:text" / "E:message" per event. */
static char *split(const char *data, size_t len, size_t step)
{
    JsonSplitter s;
    GString *out = g_string_new(NULL);

    json_splitter_init(&s, MAX_SIZE, MAX_DEPTH);
    for (size_t off = 0; off < len;) {
        size_t piece = MIN(step, len - off);
        size_t used = 0;
        JsonSplitterResult r = json_splitter_feed(&s, data + off, piece,
                                                  &used);

        g_assert_cmpuint(used, <=, piece);
        off += used;
        if (r == JSON_SPLITTER_VALUE) {
            size_t vlen;
            const char *v = json_splitter_value(&s, &vlen);

            g_assert_cmpuint(strlen(v), ==, vlen);
            g_string_append_printf(out, "V:%s|", v);
        } else if (r == JSON_SPLITTER_ERROR) {
            g_string_append_printf(out, "E:%s|", json_splitter_error(&s));
        } else {
            g_assert_cmpuint(used, ==, piece);
        }
    }
    json_splitter_destroy(&s);
    return g_string_free(out, false);
}

/* The same events whatever the piece size. */
static void check(const char *data, size_t len, const char *expect)
{
    static const size_t steps[] = { 1, 2, 3, 7, 64, 100000 };

    for (size_t i = 0; i < G_N_ELEMENTS(steps); i++) {
        g_autofree char *got = split(data, len, steps[i]);

        if (g_strcmp0(got, expect)) {
            g_test_message("step %zu: got '%s'", steps[i], got);
        }
        g_assert_cmpstr(got, ==, expect);
    }
}

#define CHECK(lit, expect) check(lit, sizeof(lit) - 1, expect)

static void test_values(void)
{
    CHECK("{\"execute\": \"x\"}", "V:{\"execute\": \"x\"}|");
    CHECK("{}{}\r\n[1, {\"a\": [2]}]  ",
          "V:{}|V:{}|V:[1, {\"a\": [2]}]|");
    CHECK("{\"a\": \"}]\\\"{[\"} {}", "V:{\"a\": \"}]\\\"{[\"}|V:{}|");
    CHECK("{'a': '\"}', \"b\": \"'{\"}", "V:{'a': '\"}', \"b\": \"'{\"}|");
    CHECK("{\"u\": \"\\u00e9\\n\\/\"}", "V:{\"u\": \"\\u00e9\\n\\/\"}|");
}

static void test_scalars(void)
{
    /* A scalar ends at a delimiter, which is not part of it. */
    CHECK("42 true\n\"s\"null{}", "V:42|V:true|V:\"s\"|V:null|V:{}|");
    CHECK("abc,{}", "V:abc|E:JSON parse error, expecting value|V:{}|");
    CHECK("42", "");    /* might go on: not complete yet */
}

static void test_limits(void)
{
    g_autoptr(GString) big = g_string_new("{\"a\": \"");
    g_autoptr(GString) deep = g_string_new(NULL);
    g_autofree char *expect = NULL;

    for (int i = 0; i < MAX_SIZE * 4; i++) {
        g_string_append_c(big, i % 2 ? '}' : '[');
    }
    g_string_append(big, "\"} {\"b\": 1}");
    check(big->str, big->len,
          "E:JSON token size limit exceeded|V:{\"b\": 1}|");

    /* exactly MAX_DEPTH levels are fine, one more is not */
    for (int i = 0; i < MAX_DEPTH; i++) {
        g_string_append_c(deep, '[');
    }
    for (int i = 0; i < MAX_DEPTH; i++) {
        g_string_append_c(deep, ']');
    }
    expect = g_strdup_printf("V:%s|", deep->str);
    check(deep->str, deep->len, expect);
    g_string_prepend(deep, "[[[[[[[[[[[[[[[[[[[[");
    g_string_append(deep, "]]]]]]]]]]]]]]]]]]]] {}");
    check(deep->str, deep->len,
          "E:JSON nesting depth limit exceeded|V:{}|");

    /* a refused top-level string and a refused scalar */
    g_string_assign(big, "\"");
    for (int i = 0; i < MAX_SIZE * 3; i++) {
        g_string_append_c(big, 'x');
    }
    g_string_append(big, "\" ");
    g_string_append_len(big, big->str + 1, MAX_SIZE * 3);
    g_string_append(big, " {}");
    check(big->str, big->len,
          "E:JSON token size limit exceeded|"
          "E:JSON token size limit exceeded|V:{}|");
}

static void test_escapes(void)
{
    CHECK("{\"a\": \"\\u0000\"} {}",
          "E:JSON parse error, \\u0000 is not supported|V:{}|");
    CHECK("{\"a\": \"\\x\"} {}",
          "E:JSON parse error, invalid escape sequence in string|V:{}|");
    /* a bad \u digit ends the escape; the quote after it still counts */
    CHECK("[\"\\u12\"] {}",
          "E:JSON parse error, invalid escape sequence in string|V:{}|");
    CHECK("{\"a\": \"\\u0041\\\\\"}", "V:{\"a\": \"\\u0041\\\\\"}|");
}

static void test_stray(void)
{
    /* Consecutive stray bytes: one error; resync at the next '{'. */
    CHECK("\xff\xff\xff garbage } \"x\" {}", "E:JSON parse error, stray "
          "'\\xff'|V:{}|");
    CHECK("{\"a\": \"x\x01y\"}{\"b\": 1}",
          "E:JSON parse error, stray '\\x01'|V:{\"b\": 1}|");
    CHECK("{\"a\"\x1b: 1}\n[2]", "E:JSON parse error, stray '\\x1b'|V:[2]|");
    CHECK("}{}", "E:JSON parse error, expecting value|V:{}|");
    CHECK("{\"a\": [1}]} {}", "E:JSON parse error, mismatched '}'|V:{}|");
    CHECK("[1\0]{}", "E:JSON parse error, stray '\\x00'|V:{}|");
    /* no comments (json-glib would take "// }" as the end of a request) */
    CHECK("{\"execute\": \"quit\" // }\n}{}",
          "E:JSON parse error, stray '/'|V:{}|");
    CHECK("{\"a\": 1 # x\n}{}", "E:JSON parse error, stray '#'|V:{}|");
    CHECK("{\"a\": \xc3\xa9}{}", "E:JSON parse error, stray '\\xc3'|V:{}|");
    CHECK("12/{}", "V:12|E:JSON parse error, stray '/'|V:{}|");
    CHECK("{\"\xc3\xa9/#\": 1}", "V:{\"\xc3\xa9/#\": 1}|");
}

/* A partial value is visible, and random bytes never crash or grow it. */
static void test_partial_and_random(void)
{
    JsonSplitter s;
    size_t used;
    GRand *rand = g_rand_new_with_seed(4242);
    char buf[4096];

    json_splitter_init(&s, MAX_SIZE, MAX_DEPTH);
    g_assert_false(json_splitter_in_value(&s));
    g_assert_cmpint(json_splitter_feed(&s, "{\"exe", 5, &used), ==,
                    JSON_SPLITTER_MORE);
    g_assert_true(json_splitter_in_value(&s));
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            buf[i] = (char)g_rand_int_range(rand, 0, 256);
        }
        for (size_t off = 0; off < sizeof(buf); off += used) {
            json_splitter_feed(&s, buf + off, sizeof(buf) - off, &used);
            g_assert_cmpuint(s.buf->len, <=, MAX_SIZE);
        }
    }
    json_splitter_destroy(&s);
    g_rand_free(rand);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/monitor/json-splitter/values", test_values);
    g_test_add_func("/monitor/json-splitter/scalars", test_scalars);
    g_test_add_func("/monitor/json-splitter/limits", test_limits);
    g_test_add_func("/monitor/json-splitter/escapes", test_escapes);
    g_test_add_func("/monitor/json-splitter/stray", test_stray);
    g_test_add_func("/monitor/json-splitter/partial-and-random",
                    test_partial_and_random);
    return g_test_run();
}
