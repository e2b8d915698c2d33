/*
 * DOC: JSON text as QEMU's monitor writes it
 *
 * QEMU's JSONWriter layout, so replies look byte for byte like QEMU's:
 * compact is `{"return": {}, "id": 1}` (", " and ": "); pretty (the
 * monitor's pretty=on) puts every member on its own line, indented by four
 * spaces.  Strings are escaped to pure ASCII: '"', '\\', \b \f \n \r \t by
 * name, other control characters and everything beyond U+007E as \uXXXX
 * (surrogate pairs beyond the BMP), invalid UTF-8 as U+FFFD.  Integers are
 * printed exactly, doubles with "%.17g"; a double that is not finite (JSON
 * has no such number) is written as null.
 */
#ifndef MONITOR_JSON_WRITER_H
#define MONITOR_JSON_WRITER_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>

/* Append @node (NULL is written as null) to @out. */
void json_writer_append(GString *out, JsonNode *node, bool pretty);

#endif /* MONITOR_JSON_WRITER_H */
