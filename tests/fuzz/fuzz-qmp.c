/*
 * DOC: fuzz-qmp: what a connected QMP client sends, splitter and dispatch
 *
 * Two stages over one byte stream, the input after two header bytes:
 *
 *   u8 flags       bit 0: do not negotiate (qmp_capabilities) first
 *   u8 cut seed    0: the stream in one piece; else pieces of 1-64 bytes
 *                  from a generator seeded with it
 *   the stream     bytes as a client sends them
 *
 * 1. The stream goes through the JSON splitter (monitor/json-splitter.c)
 *    in those pieces.  Checked: every call makes progress or completes a
 *    value, a value is at most QMP_MAX_REQUEST_BYTES and has no NUL, an
 *    error has a message in QEMU's words ("JSON ...").
 * 2. The values it produced go to a real QmpClient (monitor/qmp.c, on a
 *    socketpair, through the same splitter and json-glib, the request
 *    checks and the generated command table), each followed by a newline.
 *    Only harmless commands may run: a request naming a command of the
 *    table outside fuzz_qmp_allowed (netdev_add/_del, device_add/_del,
 *    object-add, human-monitor-command, x-hostfwd-*, x-nic-stub-inject,
 *    getfd) is not sent; unknown names and malformed requests are.  The
 *    allowed ones query a fixture (a nic-stub on a harness backend, made
 *    once and never deleted) or find nothing to delete (object-del).  Checked: after the greeting, exactly one
 *    reply per value, each one line of JSON with "return" or "error",
 *    and the fixture's link is up again after set_link is undone.
 */
#include <errno.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "hw/device.h"
#include "monitor/json-splitter.h"
#include "monitor/monitor-internal.h"
#include "net/net.h"
#include "qapi-commands.h"

static const char *const fuzz_qmp_allowed[] = {
    "qmp_capabilities", "query-version", "query-commands",
    "query-qmp-schema", "x-query-network", "x-query-mac-table",
    "x-nic-stub-read", "x-nic-stub-stats", "set_link", "quit",
    "closefd", "object-del", NULL,
};

#define FUZZ_QMP_NEGOTIATE "{\"execute\": \"qmp_capabilities\"}\n"

static NetClientState *fuzz_qmp_backend;

static ssize_t fuzz_qmp_backend_receive(NetClientState *nc,
                                        const uint8_t *buf, size_t len)
{
    return (ssize_t)len;
}

static const NetClientInfo fuzz_qmp_backend_info = {
    .type = NET_CLIENT_DRIVER_SOCKET,
    .type_name = "fuzz-backend",
    .size = sizeof(NetClientState),
    .receive = fuzz_qmp_backend_receive,
};

/* ---- stage 1: the splitter ---------------------------------------------- */

static uint32_t fuzz_qmp_next_cut(uint32_t *state)
{
    uint32_t x = *state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return 1 + x % 64;
}

/* Splits @data into values, appended to @values (GBytes). */
static void fuzz_qmp_split(const char *data, size_t len, uint8_t seed,
                           GPtrArray *values)
{
    JsonSplitter sp;
    uint32_t state = seed * 2654435761u | 1;
    size_t pos = 0;

    json_splitter_init(&sp, QMP_MAX_REQUEST_BYTES, QMP_MAX_NESTING);
    while (pos < len) {
        size_t cut = seed ? fuzz_qmp_next_cut(&state) : len;
        size_t piece = MIN(len - pos, cut);
        size_t off = 0;

        while (off < piece) {
            size_t used = 0;
            JsonSplitterResult r = json_splitter_feed(&sp, data + pos + off,
                                                      piece - off, &used);

            fuzz_check(used <= piece - off, "consumed %zu of %zu", used,
                       piece - off);
            off += used;
            if (r == JSON_SPLITTER_VALUE) {
                size_t vlen;
                const char *v = json_splitter_value(&sp, &vlen);

                fuzz_check(v && vlen > 0 && vlen <= QMP_MAX_REQUEST_BYTES &&
                           strlen(v) == vlen, "a bad value of %zu bytes",
                           vlen);
                g_ptr_array_add(values, g_bytes_new(v, vlen));
            } else if (r == JSON_SPLITTER_ERROR) {
                const char *e = json_splitter_error(&sp);

                fuzz_check(e && g_str_has_prefix(e, "JSON "),
                           "error message '%s'", e ? e : "(null)");
            } else {
                fuzz_check(off == piece, "MORE with %zu bytes left",
                           piece - off);
            }
        }
        pos += piece;
    }
    json_splitter_destroy(&sp);
}

/* ---- stage 2: the monitor ----------------------------------------------- */

/* May @value be sent?  Not if any "execute" names a command kept out. */
static bool fuzz_qmp_harmless(GBytes *value)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    const char *text;
    size_t len;
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;
    JsonNode *root;

    text = g_bytes_get_data(value, &len);
    if (!json_parser_load_from_data(parser, text, (gssize)len, NULL) ||
        !(root = json_parser_get_root(parser)) ||
        !JSON_NODE_HOLDS_OBJECT(root)) {
        return true;
    }
    json_object_iter_init_ordered(&iter, json_node_get_object(root));
    while (json_object_iter_next_ordered(&iter, &name, &member)) {
        const char *cmd;

        if (!g_str_equal(name, "execute") || !JSON_NODE_HOLDS_VALUE(member) ||
            json_node_get_value_type(member) != G_TYPE_STRING) {
            continue;
        }
        cmd = json_node_get_string(member);
        if (qmp_command_find(cmd) &&
            !g_strv_contains(fuzz_qmp_allowed, cmd)) {
            return false;
        }
    }
    return true;
}

/* Reads what the monitor wrote so far into @out. */
static void fuzz_qmp_drain(int fd, GString *out)
{
    char buf[65536];
    ssize_t n;

    for (unsigned i = 0; i < 8; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
        g_string_append_len(out, buf, n);
        g_main_context_iteration(NULL, FALSE);
    }
}

/* Writes all of @data to @fd, letting the monitor read and answer. */
static void fuzz_qmp_write(int fd, const char *data, size_t len, GString *out)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);

        fuzz_check(n > 0 || errno == EAGAIN, "send: %s", g_strerror(errno));
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        }
        fuzz_qmp_drain(fd, out);
    }
}

/* One line of output: a JSON object with "return" or "error". */
static void fuzz_qmp_check_reply(const char *line)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) err = NULL;
    JsonNode *root;
    JsonObject *o;

    fuzz_check(json_parser_load_from_data(parser, line, -1, &err),
               "a reply that is not JSON: %s", line);
    root = json_parser_get_root(parser);
    fuzz_check(root && JSON_NODE_HOLDS_OBJECT(root), "not an object: %s",
               line);
    o = json_node_get_object(root);
    fuzz_check(json_object_has_member(o, "return") !=
               json_object_has_member(o, "error"),
               "not one of return and error: %s", line);
}

static void fuzz_qmp_check_output(const GString *out, unsigned sent)
{
    g_auto(GStrv) lines = g_strsplit(out->str, "\r\n", -1);
    unsigned n = g_strv_length(lines);

    /* The greeting, a reply a request, and "" after the last "\r\n". */
    fuzz_check(n >= 1 && g_str_has_prefix(lines[0], "{\"QMP\":"),
               "no greeting");
    fuzz_check(n == sent + 2 && lines[n - 1][0] == '\0',
               "%u replies to %u requests", n - 2, sent);
    for (unsigned i = 1; i < n - 1; i++) {
        fuzz_qmp_check_reply(lines[i]);
    }
}

static void fuzz_qmp_monitor(const GPtrArray *values, bool negotiate)
{
    Monitor mon = { .label = (char *)"fuzz", .listen_fd = -1 };
    g_autoptr(GString) out = g_string_new(NULL);
    unsigned sent = 0;
    int sv[2];

    fuzz_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
               "socketpair: %s", g_strerror(errno));
    qmp_client_new(&mon, sv[0]);
    if (negotiate) {
        fuzz_qmp_write(sv[1], FUZZ_QMP_NEGOTIATE,
                       strlen(FUZZ_QMP_NEGOTIATE), out);
        sent++;
    }
    for (guint i = 0; i < values->len; i++) {
        GBytes *v = values->pdata[i];
        size_t len;
        const char *text = g_bytes_get_data(v, &len);

        if (!fuzz_qmp_harmless(v)) {
            fuzz_trace("kept out: %.*s", (int)MIN(len, 200), text);
            continue;
        }
        fuzz_trace("request: %.*s", (int)MIN(len, 200), text);
        fuzz_qmp_write(sv[1], text, len, out);
        fuzz_qmp_write(sv[1], "\n", 1, out);
        sent++;
    }
    fuzz_qmp_drain(sv[1], out);
    fuzz_check(mon.clients && mon.nclients == 1, "the client was dropped");
    qmp_client_close(mon.clients->data, false);
    fuzz_qmp_drain(sv[1], out);
    fuzz_check(mon.clients == NULL, "a client outlived its close");
    close(sv[1]);
    monitor_fds_free(&mon);
    fuzz_qmp_check_output(out, sent);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DeviceOptions) opts = NULL;

    fuzz_qmp_backend = net_client_new(&fuzz_qmp_backend_info, NULL,
                                      "fuzz-backend", "n0");
    opts = device_parse("nic-stub,id=s0,netdev=n0,ip=10.0.0.2/24,"
                        "ip6=fd00::2/64", &err);
    if (!opts || !device_add(opts, &err)) {
        fuzz_fail("the fixture: %s", err ? err->message : "?");
    }
    g_main_context_iteration(NULL, FALSE);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GPtrArray) values =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    uint8_t flags = size > 0 ? data[0] : 0;
    uint8_t seed = size > 1 ? data[1] : 0;
    unsigned fds = fuzz_fd_count();

    if (size > 2) {
        fuzz_qmp_split((const char *)data + 2, size - 2, seed, values);
    }
    fuzz_qmp_monitor(values, !(flags & 1));
    /* set_link may have taken the fixture's link down: put it back. */
    net_client_set_link(fuzz_qmp_backend, true);
    fuzz_check(fuzz_fd_count() == fds, "fds: %u before, %u after", fds,
               fuzz_fd_count());
    return 0;
}
