/*
 * DOC: one QMP connection
 *
 * Bytes in: each wake-up reads at most QMP_READ_CHUNK bytes with recvmsg()
 * (SCM_RIGHTS fds that come along are queued on the client for getfd) and
 * feeds them to the JSON splitter; every complete value is a request,
 * checked as QEMU's qmp_dispatch() checks it, and executed through the
 * generated command table.  Replies and events are written with QEMU's
 * layout, every line ending in "\r\n".
 *
 * Bytes out: a reply is sent at once if the socket takes it; the rest waits
 * in the client's output buffer and goes out when the socket is writable.
 * The monitor never blocks on a client:
 *   - past QMP_OUTPUT_PAUSE bytes waiting, the client's requests are no
 *     longer read (the unread part of the chunk is kept) until its output
 *     is down to QMP_OUTPUT_RESUME: a client that pipelines requests and
 *     reads late is slowed, not dropped;
 *   - an event that would make more than QMP_OUTPUT_MAX bytes wait
 *     disconnects the client instead (logged, counted): events are not
 *     asked for, so nothing else limits them.
 *
 * End of input from the client (it shut its side down) stops reading: the
 * replies already due are sent, then the connection is closed.  A request
 * cut short by the disconnect is dropped with the splitter's buffer, and
 * fds it passed but never claimed are closed.
 */
#include <errno.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "monitor/json-splitter.h"
#include "monitor/json-writer.h"
#include "monitor/monitor-internal.h"
#include "monitor/monitor.h"
#include "qapi-commands.h"
#include "qapi/util.h"
#include "util/error.h"
#include "util/sockops.h"

struct QmpClient {
    Monitor *mon;
    unsigned refs;
    bool dead;              /* closed; freed when the last ref goes */
    bool eof;               /* the client sent all it will */
    bool negotiated;        /* qmp_capabilities done */
    int fd;
    FdHandler *handler;
    JsonSplitter splitter;
    size_t in_len;          /* bytes in @in ... */
    size_t in_pos;          /* ... of which this many are processed */
    GByteArray *out;        /* replies and events not yet written */
    size_t out_head;        /* bytes of @out already written */
    GArray *passed_fds;     /* int: SCM_RIGHTS fds not yet claimed */
    char in[QMP_READ_CHUNK];
};

static QmpClient *qmp_current;

QmpClient *qmp_client_current(void)
{
    return qmp_current;
}

Monitor *qmp_client_monitor(const QmpClient *c)
{
    return c->mon;
}

bool qmp_client_negotiated(const QmpClient *c)
{
    return c->negotiated;
}

void qmp_client_set_negotiated(QmpClient *c)
{
    c->negotiated = true;
}

int qmp_client_take_fd(QmpClient *c)
{
    int fd;

    if (!c->passed_fds->len) {
        return -1;
    }
    fd = g_array_index(c->passed_fds, int, 0);
    g_array_remove_index(c->passed_fds, 0);
    return fd;
}

static QmpClient *qmp_client_ref(QmpClient *c)
{
    c->refs++;
    return c;
}

static void qmp_client_unref(QmpClient *c)
{
    if (--c->refs) {
        return;
    }
    g_assert(c->dead);
    json_splitter_destroy(&c->splitter);
    g_byte_array_unref(c->out);
    g_array_unref(c->passed_fds);
    g_free(c);
}

static size_t qmp_client_pending(const QmpClient *c)
{
    return c->out->len - c->out_head;
}

/* Close the connection now; the struct lives on while referenced. */
static void qmp_client_disconnect(QmpClient *c)
{
    Monitor *mon = c->mon;

    if (c->dead) {
        return;
    }
    c->dead = true;
    g_clear_pointer(&c->handler, fd_handler_free);
    sockops->close(c->fd);
    c->fd = -1;
    for (unsigned i = 0; i < c->passed_fds->len; i++) {
        close(g_array_index(c->passed_fds, int, i));
    }
    g_array_set_size(c->passed_fds, 0);
    g_byte_array_set_size(c->out, 0);
    c->out_head = 0;
    mon->clients = g_list_remove(mon->clients, c);
    mon->nclients--;
    qmp_client_unref(c);
}

/* Write what the socket takes now.  False: the client is gone. */
static bool qmp_client_flush(QmpClient *c)
{
    while (qmp_client_pending(c)) {
        ssize_t n = sockops->send(c->fd, c->out->data + c->out_head,
                                  qmp_client_pending(c),
                                  MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n <= 0) {
            qmp_client_disconnect(c);
            return false;
        }
        c->out_head += (size_t)n;
    }
    if (!qmp_client_pending(c)) {
        g_byte_array_set_size(c->out, 0);
        c->out_head = 0;
    } else if (c->out_head > c->out->len / 2) {
        g_byte_array_remove_range(c->out, 0, (guint)c->out_head);
        c->out_head = 0;
    }
    fd_handler_set_write(c->handler, qmp_client_pending(c) > 0);
    return true;
}

/*
 * Queue one message (already with its "\r\n") and try to send it.  A reply
 * is always taken (the client asked for it, and is not read from while
 * QMP_OUTPUT_PAUSE bytes wait); an event that would make more than
 * QMP_OUTPUT_MAX bytes wait costs the client its connection instead.
 */
static void qmp_client_send_text(QmpClient *c, const GString *text,
                                 bool event)
{
    Monitor *mon = c->mon;

    if (c->dead) {
        return;
    }
    if (event && qmp_client_pending(c) + text->len > QMP_OUTPUT_MAX) {
        mon->stats.dropped_slow++;
        monitor_log(mon, "client does not read its replies and events "
                    "(%zu bytes waiting): disconnected (%llu so far)",
                    qmp_client_pending(c), mon->stats.dropped_slow);
        qmp_client_disconnect(c);
        return;
    }
    g_byte_array_append(c->out, (const guint8 *)text->str, (guint)text->len);
    qmp_client_flush(c);
}

/* One message as QEMU's monitor writes it: every line ends in "\r\n". */
static void qmp_format(GString *text, JsonNode *node, bool pretty)
{
    json_writer_append(text, node, pretty);
    if (pretty) {
        g_string_replace(text, "\n", "\r\n", 0);
    }
    g_string_append(text, "\r\n");
}

static void qmp_client_send(QmpClient *c, JsonObject *msg)
{
    g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), msg);
    g_autoptr(GString) text = g_string_new(NULL);

    qmp_format(text, node, c->mon->pretty);
    qmp_client_send_text(c, text, false);
}

/* {"error": {"class": C, "desc": D}[, "id": ID]} */
static void qmp_client_send_error(QmpClient *c, JsonNode *id,
                                  const char *klass, const char *desc)
{
    g_autoptr(JsonObject) rsp = json_object_new();
    JsonObject *error = json_object_new();

    json_object_set_string_member(error, "class", klass);
    json_object_set_string_member(error, "desc", desc);
    json_object_set_object_member(rsp, "error", error);
    if (id) {
        json_object_set_member(rsp, "id", json_node_copy(id));
    }
    qmp_client_send(c, rsp);
}

static void qmp_client_send_gerror(QmpClient *c, JsonNode *id,
                                   const GError *err)
{
    qmp_client_send_error(c, id, qapi_error_class(err), err->message);
}

/* {"QMP": {"version": {...}, "capabilities": []}} */
static void qmp_client_greet(QmpClient *c)
{
    g_autoptr(JsonObject) msg = json_object_new();
    JsonObject *qmp = json_object_new();
    JsonObject *version = json_object_new();
    JsonObject *triple = json_object_new();
    g_autoptr(VersionInfo) info = qmp_query_version(NULL);

    /* The member order of QEMU's greeting. */
    json_object_set_int_member(triple, "micro", info->qemu->micro);
    json_object_set_int_member(triple, "minor", info->qemu->minor);
    json_object_set_int_member(triple, "major", info->qemu->major);
    json_object_set_object_member(version, "qemu", triple);
    json_object_set_string_member(version, "package", info->package);
    json_object_set_object_member(qmp, "version", version);
    json_object_set_array_member(qmp, "capabilities", json_array_new());
    json_object_set_object_member(msg, "QMP", qmp);
    qmp_client_send(c, msg);
}

static bool json_node_is_string(JsonNode *node)
{
    return JSON_NODE_HOLDS_VALUE(node) &&
           json_node_get_value_type(node) == G_TYPE_STRING;
}

/*
 * QEMU's qmp_dispatch_check_obj(): members in order, the first bad one is
 * reported.  Returns the command name (borrowed) or NULL with *desc set.
 */
static const char *qmp_request_check(JsonObject *req, const char **desc,
                                     char **freeme)
{
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;
    const char *command = NULL;

    json_object_iter_init_ordered(&iter, req);
    while (json_object_iter_next_ordered(&iter, &name, &member)) {
        if (g_str_equal(name, "execute")) {
            if (!json_node_is_string(member)) {
                *desc = "QMP input member 'execute' must be a string";
                return NULL;
            }
            command = json_node_get_string(member);
        } else if (g_str_equal(name, "arguments")) {
            if (!JSON_NODE_HOLDS_OBJECT(member)) {
                *desc = "QMP input member 'arguments' must be an object";
                return NULL;
            }
        } else if (!g_str_equal(name, "id")) {
            *freeme = g_strdup_printf("QMP input member '%s' is unexpected",
                                      name);
            *desc = *freeme;
            return NULL;
        }
    }
    if (!command) {
        *desc = "QMP input lacks member 'execute'";
    }
    return command;
}

/* Run @command for @c and send the reply. */
static void qmp_client_execute(QmpClient *c, const char *command,
                               JsonObject *args, JsonNode *id)
{
    const QmpCommand *cmd = qmp_command_find(command);
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonNode) ret = NULL;
    g_autoptr(JsonObject) rsp = NULL;
    QmpClient *saved = qmp_current;

    if (!c->negotiated && !g_str_equal(command, "qmp_capabilities")) {
        qmp_client_send_error(c, id, "CommandNotFound",
                              "Expecting capabilities negotiation with "
                              "'qmp_capabilities'");
        return;
    }
    if (!cmd) {
        g_autofree char *desc = g_strdup_printf("The command %s has not "
                                                "been found", command);

        qmp_client_send_error(c, id, "CommandNotFound", desc);
        return;
    }
    qmp_current = c;
    cmd->fn(args, &ret, &err);
    qmp_current = saved;
    if (err) {
        qmp_client_send_gerror(c, id, err);
        return;
    }
    rsp = json_object_new();
    json_object_set_member(rsp, "return", ret ? g_steal_pointer(&ret) :
                           json_node_init_object(json_node_alloc(),
                                                 json_object_new()));
    if (id) {
        json_object_set_member(rsp, "id", json_node_copy(id));
    }
    qmp_client_send(c, rsp);
}

/* json-glib says "<data>:1:5: Parse error: unexpected ..."; keep the end. */
static char *qmp_parse_error_message(const GError *err)
{
    const char *msg = strstr(err->message, "Parse error: ");

    msg = msg ? msg + strlen("Parse error: ") : err->message;
    return g_strdup_printf("JSON parse error, %s", msg);
}

/* One complete JSON value from the splitter. */
static void qmp_client_handle(QmpClient *c, const char *text, size_t len)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *freeme = NULL;
    const char *desc = NULL;
    const char *command;
    JsonObject *req;
    JsonNode *args;

    if (!json_parser_load_from_data(parser, text, (gssize)len, &err)) {
        freeme = qmp_parse_error_message(err);
        qmp_client_send_error(c, NULL, "GenericError", freeme);
        return;
    }
    root = json_parser_steal_root(parser);
    if (!root) {                /* nothing but a comment: not a value */
        qmp_client_send_error(c, NULL, "GenericError",
                              "JSON parse error, expecting value");
        return;
    }
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        qmp_client_send_error(c, NULL, "GenericError",
                              "QMP input must be a JSON object");
        return;
    }
    req = json_node_get_object(root);
    command = qmp_request_check(req, &desc, &freeme);
    if (!command) {
        qmp_client_send_error(c, json_object_get_member(req, "id"),
                              "GenericError", desc);
        return;
    }
    args = json_object_get_member(req, "arguments");
    qmp_client_execute(c, command, args ? json_node_get_object(args) : NULL,
                       json_object_get_member(req, "id"));
}

/*
 * Handle the requests in the unprocessed part of @in, until it is used up,
 * the client is gone, or its output must drain first.  Read interest is on
 * exactly when @in is used up and more may come.
 */
static void qmp_client_process(QmpClient *c)
{
    qmp_client_ref(c);
    while (!c->dead && c->in_pos < c->in_len &&
           qmp_client_pending(c) <= QMP_OUTPUT_PAUSE) {
        size_t used = 0;
        JsonSplitterResult r = json_splitter_feed(&c->splitter,
                                                  c->in + c->in_pos,
                                                  c->in_len - c->in_pos,
                                                  &used);

        c->in_pos += used;
        if (r == JSON_SPLITTER_VALUE) {
            size_t len;
            const char *text = json_splitter_value(&c->splitter, &len);

            qmp_client_handle(c, text, len);
        } else if (r == JSON_SPLITTER_ERROR) {
            qmp_client_send_error(c, NULL, "GenericError",
                                  json_splitter_error(&c->splitter));
        }
    }
    if (!c->dead) {
        fd_handler_set_read(c->handler, c->in_pos == c->in_len && !c->eof);
        if (c->eof && c->in_pos == c->in_len && !qmp_client_pending(c)) {
            qmp_client_disconnect(c);
        }
    }
    qmp_client_unref(c);
}

/* Queue the fds of SCM_RIGHTS messages in @msg; extra ones are closed. */
static void qmp_client_take_cmsgs(QmpClient *c, struct msghdr *msg)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm;
         cm = CMSG_NXTHDR(msg, cm)) {
        size_t n;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (c->passed_fds->len < QMP_MAX_PASSED_FDS) {
                g_array_append_val(c->passed_fds, fd);
                continue;
            }
            close(fd);
            c->mon->stats.fds_dropped++;
            monitor_log(c->mon, "client passed more than %d unclaimed "
                        "file descriptors: closed the extra one",
                        QMP_MAX_PASSED_FDS);
        }
    }
}

static void qmp_client_read(void *opaque)
{
    QmpClient *c = opaque;
    union {
        char buf[CMSG_SPACE(sizeof(int) * QMP_MAX_PASSED_FDS)];
        struct cmsghdr align;
    } control;
    struct iovec iov = { c->in, sizeof(c->in) };
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = c->mon->is_unix ? control.buf : NULL,
        .msg_controllen = c->mon->is_unix ? sizeof(control.buf) : 0,
    };
    ssize_t n;

    if (c->in_pos < c->in_len) {
        return;                 /* paused: the kept chunk goes first */
    }
    n = sockops->recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
                  errno == EINTR)) {
        return;
    }
    if (n < 0) {
        qmp_client_disconnect(c);
        return;
    }
    if (msg.msg_controllen) {
        qmp_client_take_cmsgs(c, &msg);
    }
    if (n == 0) {
        c->eof = true;
    }
    c->in_len = (size_t)n;
    c->in_pos = 0;
    qmp_client_process(c);
}

static void qmp_client_write(void *opaque)
{
    QmpClient *c = opaque;

    if (!qmp_client_flush(c)) {
        return;
    }
    if (qmp_client_pending(c) <= QMP_OUTPUT_RESUME) {
        qmp_client_process(c);
    }
}

void qmp_client_new(Monitor *mon, int fd)
{
    QmpClient *c = g_new0(QmpClient, 1);

    c->mon = mon;
    c->refs = 1;
    c->fd = fd;
    json_splitter_init(&c->splitter, QMP_MAX_REQUEST_BYTES, QMP_MAX_NESTING);
    c->out = g_byte_array_new();
    c->passed_fds = g_array_new(false, false, sizeof(int));
    c->handler = fd_handler_new(fd, qmp_client_read, qmp_client_write, c);
    mon->clients = g_list_append(mon->clients, c);
    mon->nclients++;
    mon->stats.accepted++;
    qmp_client_greet(c);
}

void qmp_client_close(QmpClient *c, bool flush)
{
    qmp_client_ref(c);          /* a failed flush disconnects it already */
    if (flush && !c->dead) {
        qmp_client_flush(c);
    }
    qmp_client_disconnect(c);
    qmp_client_unref(c);
}

/* ---- events ------------------------------------------------------------ */

void qapi_event_emit(const char *name, JsonObject *data)
{
    g_autoptr(JsonObject) msg = json_object_new();
    g_autoptr(JsonNode) node = NULL;
    GString *text[2] = { NULL, NULL };      /* compact, pretty */
    JsonObject *timestamp = json_object_new();
    gint64 now = g_get_real_time();
    GPtrArray *monitors = monitor_all();

    json_object_set_string_member(msg, "event", name);
    if (data) {
        json_object_set_object_member(msg, "data", data);
    }
    json_object_set_int_member(timestamp, "seconds", now / G_USEC_PER_SEC);
    json_object_set_int_member(timestamp, "microseconds",
                               now % G_USEC_PER_SEC);
    json_object_set_object_member(msg, "timestamp", timestamp);
    node = json_node_init_object(json_node_alloc(), msg);

    for (guint i = 0; monitors && i < monitors->len; i++) {
        Monitor *mon = g_ptr_array_index(monitors, i);
        GString **t = &text[mon->pretty];

        for (GList *l = mon->clients, *next; l; l = next) {
            QmpClient *c = l->data;

            next = l->next;     /* sending may drop @c from the list */
            if (!c->negotiated || c->dead) {
                continue;
            }
            if (!*t) {
                *t = g_string_new(NULL);
                qmp_format(*t, node, mon->pretty);
            }
            qmp_client_send_text(c, *t, true);
        }
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(text); i++) {
        if (text[i]) {
            g_string_free(text[i], true);
        }
    }
}
