/*
 * DOC: cutting a QMP byte stream into JSON values (see
 * include/monitor/json-splitter.h)
 *
 * One pass over the bytes, one state per byte: between values (TOP), lost
 * (RECOVER), in a top-level scalar, in a container, in a string.  Each
 * value's bytes are copied into @buf, at most @max_size of them; once a
 * value has been refused (too big, too deep, a bad escape) @discarding is
 * set and its remaining bytes are only tracked, not stored, until it ends.
 * The open containers are a bit stack, one bit per level, so '[}' is seen
 * at once.  Runs of plain string bytes are copied in one go: the bulk of a
 * big request is usually one string.
 */
#include "monitor/json-splitter.h"

#include <stdio.h>
#include <string.h>

#define JSON_SPLITTER_BUF_KEEP (64 * 1024) /* larger buffers are freed */

void json_splitter_init(JsonSplitter *s, size_t max_size, unsigned max_depth)
{
    g_assert(max_depth <= 64 * JSON_SPLITTER_STACK_WORDS);
    memset(s, 0, sizeof(*s));
    s->max_size = max_size;
    s->max_depth = max_depth;
    s->state = JSON_SPLITTER_TOP;
    s->buf = g_string_new(NULL);
}

void json_splitter_destroy(JsonSplitter *s)
{
    if (s->buf) {
        g_string_free(s->buf, true);
        s->buf = NULL;
    }
}

const char *json_splitter_value(const JsonSplitter *s, size_t *len)
{
    if (len) {
        *len = s->buf->len;
    }
    return s->buf->str;
}

const char *json_splitter_error(const JsonSplitter *s)
{
    return s->error;
}

bool json_splitter_in_value(const JsonSplitter *s)
{
    return s->state != JSON_SPLITTER_TOP &&
           s->state != JSON_SPLITTER_RECOVER;
}

/*
 * Never valid in JSON text outside a string: what is not white space, a
 * structural character, a quote or part of a number or keyword.  QEMU's
 * lexer agrees; json-glib alone would take '/' and '#' comments.
 */
static bool json_byte_is_stray(unsigned char c)
{
    return c == '\0' ||
           (!g_ascii_isalnum(c) && !strchr("{}[]:,\"'+-. \t\r\n", c));
}

static bool json_byte_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool json_byte_ends_scalar(unsigned char c)
{
    return c == '\0' || (!g_ascii_isalnum(c) && !strchr("+-.", c));
}

static JsonSplitterResult json_splitter_fail(JsonSplitter *s,
                                             const char *msg)
{
    g_strlcpy(s->error, msg, sizeof(s->error));
    return JSON_SPLITTER_ERROR;
}

/* Refuse the current value but keep following it to its end. */
static JsonSplitterResult json_splitter_refuse(JsonSplitter *s,
                                               const char *msg)
{
    s->discarding = true;
    g_string_truncate(s->buf, 0);
    return json_splitter_fail(s, msg);
}

/*
 * A byte that breaks the structure: drop the value, skip to the next '{'
 * or '['.  Reported unless this value was refused already.
 */
static JsonSplitterResult json_splitter_lose(JsonSplitter *s,
                                             unsigned char c,
                                             const char *what)
{
    bool report = !s->discarding;

    s->state = JSON_SPLITTER_RECOVER;
    s->discarding = false;
    s->depth = 0;
    s->escape = 0;
    g_string_truncate(s->buf, 0);
    if (!report) {
        return JSON_SPLITTER_MORE;
    }
    if (what) {
        snprintf(s->error, sizeof(s->error), "JSON parse error, %s '%c'",
                 what, c);
    } else if (c >= 0x20 && c < 0x7F) {
        snprintf(s->error, sizeof(s->error), "JSON parse error, stray '%c'",
                 c);
    } else {
        snprintf(s->error, sizeof(s->error),
                 "JSON parse error, stray '\\x%02x'", c);
    }
    return JSON_SPLITTER_ERROR;
}

static JsonSplitterResult json_splitter_append(JsonSplitter *s,
                                               const char *p, size_t n)
{
    if (s->discarding) {
        return JSON_SPLITTER_MORE;
    }
    if (n > s->max_size - s->buf->len) {
        return json_splitter_refuse(s, "JSON token size limit exceeded");
    }
    g_string_append_len(s->buf, p, (gssize)n);
    return JSON_SPLITTER_MORE;
}

static void json_splitter_begin(JsonSplitter *s, JsonSplitterState state)
{
    if (s->buf->allocated_len > JSON_SPLITTER_BUF_KEEP) {
        g_string_free(s->buf, true);
        s->buf = g_string_new(NULL);
    }
    g_string_truncate(s->buf, 0);
    s->discarding = false;
    s->depth = 0;
    s->escape = 0;
    s->state = state;
}

/* The value ends with the byte just read: report it (unless refused). */
static JsonSplitterResult json_splitter_end(JsonSplitter *s)
{
    bool refused = s->discarding;

    s->state = JSON_SPLITTER_TOP;
    s->discarding = false;
    return refused ? JSON_SPLITTER_MORE : JSON_SPLITTER_VALUE;
}

static JsonSplitterResult json_splitter_open(JsonSplitter *s, char c)
{
    size_t level = s->depth++;

    if (s->depth > s->max_depth) {
        if (s->discarding) {
            return JSON_SPLITTER_MORE;
        }
        return json_splitter_refuse(s, "JSON nesting depth limit exceeded");
    }
    if (c == '{') {
        s->stack[level / 64] |= UINT64_C(1) << (level % 64);
    } else {
        s->stack[level / 64] &= ~(UINT64_C(1) << (level % 64));
    }
    return json_splitter_append(s, &c, 1);
}

static JsonSplitterResult json_splitter_close(JsonSplitter *s, char c)
{
    size_t level = s->depth - 1;

    if (!s->discarding && level < s->max_depth) {
        bool brace = s->stack[level / 64] >> (level % 64) & 1;

        if (brace != (c == '}')) {
            return json_splitter_lose(s, (unsigned char)c, "mismatched");
        }
    }
    s->depth--;
    if (json_splitter_append(s, &c, 1) == JSON_SPLITTER_ERROR) {
        return JSON_SPLITTER_ERROR;
    }
    return s->depth ? JSON_SPLITTER_MORE : json_splitter_end(s);
}

/* Between values: start one, skip blanks, or complain. */
static JsonSplitterResult json_splitter_top(JsonSplitter *s, char c)
{
    unsigned char u = (unsigned char)c;

    if (json_byte_is_space(u)) {
        return JSON_SPLITTER_MORE;
    }
    if (s->state == JSON_SPLITTER_RECOVER && c != '{' && c != '[') {
        return JSON_SPLITTER_MORE;
    }
    if (json_byte_is_stray(u)) {
        return json_splitter_lose(s, u, NULL);
    }
    switch (c) {
    case '{':
    case '[':
        json_splitter_begin(s, JSON_SPLITTER_CONTAINER);
        return json_splitter_open(s, c);
    case '"':
    case '\'':
        json_splitter_begin(s, JSON_SPLITTER_STRING);
        s->quote = c;
        return json_splitter_append(s, &c, 1);
    case '}':
    case ']':
    case ':':
    case ',':
        s->state = JSON_SPLITTER_RECOVER;
        return json_splitter_fail(s, "JSON parse error, expecting value");
    default:
        json_splitter_begin(s, JSON_SPLITTER_SCALAR);
        return json_splitter_append(s, &c, 1);
    }
}

static JsonSplitterResult json_splitter_container(JsonSplitter *s, char c)
{
    unsigned char u = (unsigned char)c;

    if (json_byte_is_stray(u)) {
        return json_splitter_lose(s, u, NULL);
    }
    switch (c) {
    case '{':
    case '[':
        return json_splitter_open(s, c);
    case '}':
    case ']':
        return json_splitter_close(s, c);
    case '"':
    case '\'':
        s->state = JSON_SPLITTER_STRING;
        s->quote = c;
        break;
    }
    return json_splitter_append(s, &c, 1);
}

/* The byte after '\' or one of the four hex digits of '\uXXXX'. */
static JsonSplitterResult json_splitter_escape(JsonSplitter *s, char c)
{
    static const char bad[] = "JSON parse error, invalid escape sequence "
                              "in string";

    if (s->escape == 1) {
        if (c == 'u') {
            s->escape = 2;
            s->escape_value = 0;
        } else {
            s->escape = 0;
            if (!strchr("\"'\\/bfnrt", c) && !s->discarding) {
                return json_splitter_refuse(s, bad);
            }
        }
        return json_splitter_append(s, &c, 1);
    }
    if (!g_ascii_isxdigit(c)) {
        s->escape = 0;
        return s->discarding ? JSON_SPLITTER_MORE
                             : json_splitter_refuse(s, bad);
    }
    s->escape_value = s->escape_value * 16 + (unsigned)g_ascii_xdigit_value(c);
    if (++s->escape == 6) {
        s->escape = 0;
        if (s->escape_value == 0 && !s->discarding) {
            return json_splitter_refuse(s, "JSON parse error, "
                                        "\\u0000 is not supported");
        }
    }
    return json_splitter_append(s, &c, 1);
}

/* Plain string bytes from @p: how many, up to @len. */
static size_t json_string_run(const JsonSplitter *s, const char *p,
                              size_t len)
{
    size_t n = 0;

    while (n < len) {
        unsigned char u = (unsigned char)p[n];

        if (u < 0x20 || u >= 0xFE || u == '\\' ||
            u == (unsigned char)s->quote) {
            break;
        }
        n++;
    }
    return n;
}

/* Inside a string: consume a run of bytes starting at @p. */
static JsonSplitterResult json_splitter_string(JsonSplitter *s, const char *p,
                                               size_t len, size_t *used)
{
    unsigned char u = (unsigned char)p[0];
    size_t run;

    *used = 1;
    if (u < 0x20 || u >= 0xFE) {
        return json_splitter_lose(s, u, NULL);
    }
    if (s->escape) {
        if (s->escape > 1 && !g_ascii_isxdigit(p[0])) {
            *used = 0;          /* ends the escape; read again as plain */
        }
        return json_splitter_escape(s, p[0]);
    }
    if (p[0] == '\\') {
        s->escape = 1;
        return json_splitter_append(s, p, 1);
    }
    if (p[0] == s->quote) {
        if (json_splitter_append(s, p, 1) == JSON_SPLITTER_ERROR) {
            return JSON_SPLITTER_ERROR;
        }
        if (s->depth) {
            s->state = JSON_SPLITTER_CONTAINER;
            return JSON_SPLITTER_MORE;
        }
        return json_splitter_end(s);
    }
    run = json_string_run(s, p, len);
    *used = run;
    return json_splitter_append(s, p, run);
}

JsonSplitterResult json_splitter_feed(JsonSplitter *s, const char *data,
                                      size_t len, size_t *consumed)
{
    size_t i = 0;

    while (i < len) {
        JsonSplitterResult r;
        size_t used = 1;

        switch (s->state) {
        case JSON_SPLITTER_TOP:
        case JSON_SPLITTER_RECOVER:
            r = json_splitter_top(s, data[i]);
            break;
        case JSON_SPLITTER_SCALAR:
            if (json_byte_ends_scalar((unsigned char)data[i])) {
                /* The delimiter belongs to what follows: not consumed. */
                used = 0;
                r = json_splitter_end(s);
                break;
            }
            r = json_splitter_append(s, &data[i], 1);
            break;
        case JSON_SPLITTER_CONTAINER:
            r = json_splitter_container(s, data[i]);
            break;
        default:
            r = json_splitter_string(s, data + i, len - i, &used);
            break;
        }
        i += used;
        if (r != JSON_SPLITTER_MORE) {
            *consumed = i;
            return r;
        }
    }
    *consumed = len;
    return JSON_SPLITTER_MORE;
}
