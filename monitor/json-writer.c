/*
 * DOC: JSON text as QEMU's monitor writes it (see
 * monitor/json-writer.h)
 *
 * A recursive walk over json-glib nodes that follows QEMU's
 * qobject/json-writer.c: a separator before each member but the first
 * (", " compact, ",\n" + indent pretty), a newline before the first member
 * and before the closing bracket when pretty.  Values come from json-glib's
 * parser (nesting bounded by the splitter) or from our own code, so the
 * recursion is bounded.
 */
#include "monitor/json-writer.h"

#include <math.h>

static void json_writer_newline(GString *out, bool pretty, unsigned depth)
{
    if (pretty) {
        g_string_append_c(out, '\n');
        for (unsigned i = 0; i < depth; i++) {
            g_string_append(out, "    ");
        }
    }
}

/* Before the member (or element) @index of a container at @depth. */
static void json_writer_separator(GString *out, bool pretty, unsigned depth,
                                  unsigned index)
{
    if (index > 0) {
        g_string_append_c(out, ',');
        if (!pretty) {
            g_string_append_c(out, ' ');
        }
    }
    json_writer_newline(out, pretty, depth);
}

static void json_writer_string(GString *out, const char *str)
{
    const char *p = str;

    g_string_append_c(out, '"');
    while (*p) {
        gunichar cp = g_utf8_get_char_validated(p, -1);

        if (cp == (gunichar)-1 || cp == (gunichar)-2) {
            cp = 0xFFFD;                /* QEMU's replacement too */
            p++;
        } else {
            p = g_utf8_next_char(p);
        }
        switch (cp) {
        case '"':  g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\b': g_string_append(out, "\\b"); break;
        case '\f': g_string_append(out, "\\f"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:
            if (cp > 0xFFFF) {
                g_string_append_printf(out, "\\u%04X\\u%04X",
                                       0xD800 + ((cp - 0x10000) >> 10),
                                       0xDC00 + ((cp - 0x10000) & 0x3FF));
            } else if (cp < 0x20 || cp >= 0x7F) {
                g_string_append_printf(out, "\\u%04X", cp);
            } else {
                g_string_append_c(out, (char)cp);
            }
        }
    }
    g_string_append_c(out, '"');
}

static void json_writer_scalar(GString *out, JsonNode *node)
{
    GType type = json_node_get_value_type(node);

    if (type == G_TYPE_INT64) {
        g_string_append_printf(out, "%" G_GINT64_FORMAT,
                               json_node_get_int(node));
    } else if (type == G_TYPE_DOUBLE) {
        double v = json_node_get_double(node);
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        g_string_append(out, isfinite(v) ?
                        g_ascii_formatd(buf, sizeof(buf), "%.17g", v) :
                        "null");
    } else if (type == G_TYPE_BOOLEAN) {
        g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
    } else if (type == G_TYPE_STRING) {
        json_writer_string(out, json_node_get_string(node));
    } else {
        g_string_append(out, "null");
    }
}

static void json_writer_node(GString *out, JsonNode *node, bool pretty,
                             unsigned depth);

static void json_writer_object(GString *out, JsonObject *obj, bool pretty,
                               unsigned depth)
{
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;
    unsigned index = 0;

    g_string_append_c(out, '{');
    json_object_iter_init_ordered(&iter, obj);
    while (json_object_iter_next_ordered(&iter, &name, &member)) {
        json_writer_separator(out, pretty, depth + 1, index++);
        json_writer_string(out, name);
        g_string_append(out, ": ");
        json_writer_node(out, member, pretty, depth + 1);
    }
    json_writer_newline(out, pretty, depth);
    g_string_append_c(out, '}');
}

static void json_writer_array(GString *out, JsonArray *array, bool pretty,
                              unsigned depth)
{
    unsigned len = json_array_get_length(array);

    g_string_append_c(out, '[');
    for (unsigned i = 0; i < len; i++) {
        json_writer_separator(out, pretty, depth + 1, i);
        json_writer_node(out, json_array_get_element(array, i), pretty,
                         depth + 1);
    }
    json_writer_newline(out, pretty, depth);
    g_string_append_c(out, ']');
}

static void json_writer_node(GString *out, JsonNode *node, bool pretty,
                             unsigned depth)
{
    switch (node ? json_node_get_node_type(node) : JSON_NODE_NULL) {
    case JSON_NODE_OBJECT:
        json_writer_object(out, json_node_get_object(node), pretty, depth);
        break;
    case JSON_NODE_ARRAY:
        json_writer_array(out, json_node_get_array(node), pretty, depth);
        break;
    case JSON_NODE_VALUE:
        json_writer_scalar(out, node);
        break;
    default:
        g_string_append(out, "null");
        break;
    }
}

void json_writer_append(GString *out, JsonNode *node, bool pretty)
{
    json_writer_node(out, node, pretty, 0);
}
