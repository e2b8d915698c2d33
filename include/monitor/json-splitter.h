/*
 * DOC: cutting a QMP byte stream into JSON values
 *
 * A QMP client sends JSON values back to back, in pieces of any size.  The
 * splitter reads the bytes once, tracking only what it takes to see where a
 * top-level value ends (inside a string or not, escapes, the stack of open
 * '{' and '['), and copies the value's bytes into one buffer; json-glib then
 * parses the complete value.  Nothing else is kept, so memory per
 * connection is bounded by @max_size whatever the client sends.
 *
 * Errors are reported as soon as they are seen, once per value, in QEMU's
 * words (its json-streamer and json-lexer):
 *
 *   JSON token size limit exceeded       value longer than @max_size bytes
 *   JSON nesting depth limit exceeded    more than @max_depth open '{'/'['
 *   JSON parse error, \u0000 is not supported
 *   JSON parse error, invalid escape sequence in string
 *   JSON parse error, expecting value    '}', ']', ':' or ',' where a value
 *                                        should start
 *   JSON parse error, mismatched '}'     a '}' closing a '[' (or ']' a '{')
 *   JSON parse error, stray '\xff'       a byte that cannot be there:
 *                                        outside strings, anything but
 *                                        white space, structural
 *                                        characters, quotes, letters,
 *                                        digits and '+-.' (so no comments,
 *                                        no bytes >= 0x80); inside strings,
 *                                        control characters and 0xFE, 0xFF
 *
 * After a size, depth or escape error the rest of that value is read and
 * dropped (structure is still tracked), so the next value is read normally.
 * After a mismatch or a stray byte the structure is lost: the splitter
 * skips bytes until the next '{' or '[' outside a string, and further stray
 * bytes in that stretch are not reported again.  A client can therefore
 * always get back in step by sending 0xFF (QEMU's advice, qmp-spec).
 *
 * Top-level scalars ('42', '"s"', 'true') are values too: they end at the
 * next whitespace or structural character.  Single-quoted strings are
 * strings, as in QEMU's parser.
 */
#ifndef MONITOR_JSON_SPLITTER_H
#define MONITOR_JSON_SPLITTER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum JsonSplitterResult {
    JSON_SPLITTER_MORE,     /* every byte consumed; no value complete yet */
    JSON_SPLITTER_VALUE,    /* json_splitter_value() holds a complete value */
    JSON_SPLITTER_ERROR,    /* json_splitter_error() says what was wrong */
} JsonSplitterResult;

typedef enum JsonSplitterState {
    JSON_SPLITTER_TOP,      /* between values */
    JSON_SPLITTER_RECOVER,  /* after a lost structure: skipping to '{'/'[' */
    JSON_SPLITTER_SCALAR,   /* a top-level number or keyword */
    JSON_SPLITTER_CONTAINER, /* inside '{' or '[', not in a string */
    JSON_SPLITTER_STRING,   /* inside a string */
} JsonSplitterState;

#define JSON_SPLITTER_STACK_WORDS 16    /* bits for 1024 levels */

typedef struct JsonSplitter {
    size_t max_size;
    unsigned max_depth;         /* at most 64 * JSON_SPLITTER_STACK_WORDS */
    JsonSplitterState state;
    bool discarding;            /* this value was refused: drop its bytes */
    char quote;                 /* '"' or '\'' in a string */
    unsigned escape;            /* 0; 1 after '\'; 2..5 in '\uXXXX' */
    unsigned escape_value;      /* the XXXX read so far */
    size_t depth;               /* open containers */
    uint64_t stack[JSON_SPLITTER_STACK_WORDS]; /* bit set: '{', clear: '[' */
    GString *buf;               /* the value so far (not when discarding) */
    char error[64];
} JsonSplitter;

/* Initialize; free with json_splitter_destroy(). */
void json_splitter_init(JsonSplitter *s, size_t max_size, unsigned max_depth);
void json_splitter_destroy(JsonSplitter *s);

/*
 * Read bytes from @data until a value is complete, an error is found or
 * @len bytes are consumed; *consumed says how many were.  Call again with
 * the rest.
 */
JsonSplitterResult json_splitter_feed(JsonSplitter *s, const char *data,
                                      size_t len, size_t *consumed);

/*
 * After JSON_SPLITTER_VALUE: the value's text (NUL-terminated, no NUL
 * inside) and length, valid until the next feed.
 */
const char *json_splitter_value(const JsonSplitter *s, size_t *len);

/* After JSON_SPLITTER_ERROR: the message, valid until the next feed. */
const char *json_splitter_error(const JsonSplitter *s);

/* True if part of a value has been read (a client left mid-request). */
bool json_splitter_in_value(const JsonSplitter *s);

#endif /* MONITOR_JSON_SPLITTER_H */
