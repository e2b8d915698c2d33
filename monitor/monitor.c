/*
 * DOC: QMP monitors: options, listening sockets, clients (see
 * include/monitor/monitor.h)
 *
 * Options are checked when read and kept as MonitorSocket (where to
 * listen: `-qmp unix:...`/`tcp:...` or a `-chardev socket`) and
 * MonitorSpec (a monitor: `-qmp` or `-mon`, pointing at a socket directly
 * or by chardev id).  monitor_start_all() resolves chardev ids, then binds
 * and listens; each accepted connection becomes a QmpClient (monitor/qmp.c).
 *
 * The options are described in qapi/monitor.json (QmpOptions,
 * ChardevOptions, MonitorOptions) and read as -netdev is: util/keyval.c's
 * key=value parser with an implied first key (the address of -qmp, the
 * backend of -chardev, the chardev of -mon), then the generated visitor in
 * keyval mode, which owns the syntax checks and their messages.  QEMU's
 * deprecated bare flags (`server`, `nowait`) are not accepted.  vmwire only
 * listens: server=on is required and wait=on refused (a missing wait= means
 * off, as vmwire never waits for a client).
 *
 * A unix socket file is created mode 0600 (umask around bind) and removed
 * at exit if it is still the one we created.  A stale file from a crashed
 * run (a socket nobody accepts on) is replaced; a live one is an error.
 * Each monitor serves up to QMP_MAX_CLIENTS clients at once.  Its accept()
 * may use the fd reserve (include/util/sockets.h), kept for it: out of
 * fds, a reserved fd is released and accept() tried again, so a QMP client
 * still gets in while VM connections have used up every other fd.  When
 * even the reserve is gone, accept() backs off for a second instead of
 * spinning.
 */
#include "monitor/monitor.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor/monitor-internal.h"
#include "qapi-visit.h"
#include "util/error.h"
#include "util/keyval.h"
#include "util/log.h"
#include "util/sockets.h"
#include "util/sockops.h"

#define MONITOR_LISTEN_BACKLOG      16
#define MONITOR_ACCEPT_BURST        16      /* accepts per wake-up */
#define MONITOR_ACCEPT_RETRY_MS     1000    /* after accept() ran out */
#define MONITOR_LOG_WINDOW_US       (10 * G_USEC_PER_SEC)
#define MONITOR_LOG_BURST           10      /* lines per window */

void (*monitor_quit_handler)(void);

/* Where a monitor listens: -qmp unix:/tcp: or -chardev socket. */
typedef struct MonitorSocket {
    char *id;               /* -chardev id=, NULL for -qmp */
    char *option;           /* "-chardev OPTS", for messages */
    char *label;            /* "unix:PATH" or "tcp:HOST:PORT" */
    bool is_unix;
    char *path;             /* absolute */
    char *host;             /* "" for any address */
    char *port;
    bool used;              /* a monitor listens on it */
} MonitorSocket;

/* A monitor to create: -qmp or -mon. */
typedef struct MonitorSpec {
    char *option;           /* "-mon OPTS", for messages */
    MonitorSocket *socket;  /* owned, for -qmp unix:/tcp: */
    char *chardev;          /* or a -chardev id, resolved at start */
    bool pretty;
} MonitorSpec;

static GPtrArray *chardevs;     /* MonitorSocket *, by -chardev */
static GPtrArray *specs;        /* MonitorSpec *, in command-line order */
static GPtrArray *monitors;     /* Monitor *, created at start */

GPtrArray *monitor_all(void)
{
    return monitors;
}

void monitor_log(Monitor *mon, const char *fmt, ...)
{
    gint64 now = g_get_monotonic_time();
    g_autofree char *id = g_strdup_printf("qmp %s", mon->label);
    va_list ap;

    if (now - mon->log_window >= MONITOR_LOG_WINDOW_US) {
        if (mon->log_suppressed) {
            log_report_id(id, "%u more messages suppressed",
                          mon->log_suppressed);
        }
        mon->log_window = now;
        mon->log_count = 0;
        mon->log_suppressed = 0;
    }
    if (mon->log_count++ >= MONITOR_LOG_BURST) {
        mon->log_suppressed++;
        return;
    }
    va_start(ap, fmt);
    log_vreport_id(id, fmt, ap);
    va_end(ap);
}

/* ---- option strings --------------------------------------------------- */

/*
 * @str as util/keyval.c reads it, for the generated visitors (keyval mode).
 * Key=value only: QEMU 7.2 takes no JSON for -qmp, -chardev or -mon.
 */
static JsonNode *monitor_keyval(const char *str, const char *implied,
                                GError **errp)
{
    g_autoptr(KeyValList) list = keyval_parse(str, implied, errp);

    return list ? keyval_to_json(list, errp) : NULL;
}

/* The string @key of the object @node, or NULL (absent or not a string). */
static const char *monitor_keyval_str(JsonNode *node, const char *key)
{
    JsonNode *m = json_object_get_member(json_node_get_object(node), key);

    if (!m || !JSON_NODE_HOLDS_VALUE(m) ||
        json_node_get_value_type(m) != G_TYPE_STRING) {
        return NULL;
    }
    return json_node_get_string(m);
}

/* ---- configuration ---------------------------------------------------- */

static void monitor_socket_free(MonitorSocket *sock)
{
    if (!sock) {
        return;
    }
    g_free(sock->id);
    g_free(sock->option);
    g_free(sock->label);
    g_free(sock->path);
    g_free(sock->host);
    g_free(sock->port);
    g_free(sock);
}

static void monitor_spec_free(gpointer data)
{
    MonitorSpec *spec = data;

    monitor_socket_free(spec->socket);
    g_free(spec->option);
    g_free(spec->chardev);
    g_free(spec);
}

/* server=on, wait=off (both default off): the only mode vmwire has. */
static bool monitor_socket_check_mode(bool server, bool wait, GError **errp)
{
    if (!server) {
        error_setg(errp, "vmwire supports only server=on: a QMP monitor "
                   "listens for clients, it does not connect to one");
        return false;
    }
    if (wait) {
        error_setg(errp, "vmwire supports only wait=off: it never waits "
                   "for a QMP client before starting");
        return false;
    }
    return true;
}

/* 1..65535 in decimal. */
static bool monitor_port_check(const char *port, GError **errp)
{
    guint64 value;

    if (!g_ascii_string_to_unsigned(port, 10, 1, 65535, &value, NULL) ||
        port[0] == '0') {
        error_setg(errp, "port number '%s' is invalid", port);
        return false;
    }
    return true;
}

static bool monitor_socket_set_unix(MonitorSocket *sock, const char *path,
                                    GError **errp)
{
    struct sockaddr_un sa;

    if (!path[0]) {
        error_setg(errp, "UNIX socket path is empty");
        return false;
    }
    sock->is_unix = true;
    sock->path = g_canonicalize_filename(path, NULL);
    sock->label = g_strdup_printf("unix:%s", path);
    if (strlen(sock->path) >= sizeof(sa.sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", sock->path);
        return false;
    }
    return true;
}

static bool monitor_socket_set_tcp(MonitorSocket *sock, const char *host,
                                   const char *port, GError **errp)
{
    size_t len = strlen(host);

    if (!monitor_port_check(port, errp)) {
        return false;
    }
    sock->label = g_strdup_printf("tcp:%s:%s", host, port);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        sock->host = g_strndup(host + 1, len - 2);      /* [::1] */
    } else {
        sock->host = g_strdup(host);
    }
    sock->port = g_strdup(port);
    return true;
}

/* "HOST:PORT" after "tcp:". */
static bool monitor_split_host_port(const char *addr, char **host,
                                    char **port, GError **errp)
{
    const char *colon = addr[0] == '[' ? strstr(addr, "]:") : NULL;

    colon = colon ? colon + 1 : strchr(addr, ':');
    if (!colon) {
        error_setg(errp, "host address '%s' doesn't contain ':' "
                   "separating host from port", addr);
        return false;
    }
    *host = g_strndup(addr, (gsize)(colon - addr));
    *port = g_strdup(colon + 1);
    return true;
}

/* -qmp unix:PATH,... or tcp:HOST:PORT,... */
static MonitorSocket *monitor_socket_from_qmp(const QmpOptions *opts,
                                              GError **errp)
{
    MonitorSocket *sock = g_new0(MonitorSocket, 1);
    bool ok = monitor_socket_check_mode(opts->server, opts->wait, errp);

    if (ok && g_str_has_prefix(opts->addr, "unix:")) {
        ok = monitor_socket_set_unix(sock, opts->has_path ? opts->path
                                                          : opts->addr + 5,
                                     errp);
    } else if (ok) {
        g_autofree char *host = NULL;
        g_autofree char *port = NULL;

        ok = monitor_split_host_port(opts->addr + 4, &host, &port, errp) &&
             monitor_socket_set_tcp(sock, host, port, errp);
    }
    if (!ok) {
        monitor_socket_free(sock);
        return NULL;
    }
    return sock;
}

static void monitor_spec_add(const char *option, MonitorSocket *socket,
                             const char *chardev, bool pretty)
{
    MonitorSpec *spec = g_new0(MonitorSpec, 1);

    if (!specs) {
        specs = g_ptr_array_new_with_free_func(monitor_spec_free);
    }
    spec->option = g_strdup(option);
    spec->socket = socket;
    spec->chardev = g_strdup(chardev);
    spec->pretty = pretty;
    g_ptr_array_add(specs, spec);
}

bool monitor_parse_qmp(const char *spec, GError **errp)
{
    g_autofree char *option = g_strdup_printf("-qmp %s", spec);
    g_autoptr(JsonNode) node = monitor_keyval(spec, "addr", errp);
    g_autoptr(QmpOptions) opts = NULL;
    const char *addr;
    MonitorSocket *sock;

    if (!node || !qapi_input_QmpOptions(node, true, &opts, errp)) {
        return false;
    }
    addr = opts->addr;
    if (g_str_has_prefix(addr, "chardev:")) {
        if (opts->has_path || opts->has_server || opts->has_wait) {
            error_setg(errp, "Invalid parameter '%s'",
                       opts->has_path ? "path" :
                       opts->has_server ? "server" : "wait");
            return false;
        }
        monitor_spec_add(option, NULL, addr + 8, false);
        return true;
    }
    if (g_str_has_prefix(addr, "tcp:") && opts->has_path) {
        error_setg(errp, "Invalid parameter 'path'");
        return false;
    }
    if (!g_str_has_prefix(addr, "unix:") && !g_str_has_prefix(addr, "tcp:")) {
        g_autofree char *kind = g_strndup(addr, strcspn(addr, ":"));

        error_setg(errp, "'%s' is not supported for QMP by vmwire: use "
                   "unix:PATH or tcp:HOST:PORT (with server=on,wait=off)",
                   kind);
        return false;
    }
    sock = monitor_socket_from_qmp(opts, errp);
    if (!sock) {
        return false;
    }
    monitor_spec_add(option, sock, NULL, false);
    return true;
}

static MonitorSocket *monitor_chardev_find(const char *id)
{
    for (guint i = 0; chardevs && i < chardevs->len; i++) {
        MonitorSocket *sock = g_ptr_array_index(chardevs, i);

        if (g_str_equal(sock->id, id)) {
            return sock;
        }
    }
    return NULL;
}

/* The socket of a -chardev socket,... */
static bool monitor_chardev_socket(MonitorSocket *sock,
                                   const ChardevSocketOptions *opts,
                                   GError **errp)
{
    if (!monitor_socket_check_mode(opts->server, opts->wait, errp)) {
        return false;
    }
    if (opts->has_path && (opts->has_host || opts->has_port)) {
        error_setg(errp, "chardev: socket: 'path' and 'host'/'port' are "
                   "mutually exclusive");
        return false;
    }
    if (opts->has_path) {
        return monitor_socket_set_unix(sock, opts->path, errp);
    }
    if (!opts->has_host) {
        error_setg(errp, "chardev: socket: no host given");
        return false;
    }
    if (!opts->has_port) {
        error_setg(errp, "chardev: socket: no port given");
        return false;
    }
    return monitor_socket_set_tcp(sock, opts->host, opts->port, errp);
}

/*
 * As QEMU's QemuOpts: the id (present, then well formed), then the backend
 * (present, then one vmwire has), before the visitor sees the other keys.
 */
static bool monitor_chardev_check_first(JsonNode *node, GError **errp)
{
    const char *id = monitor_keyval_str(node, "id");
    const char *backend = monitor_keyval_str(node, "backend");

    if (!id_check(id, errp)) {
        return false;
    }
    if (!backend) {
        error_setg(errp, "chardev: \"%s\" missing backend", id);
        return false;
    }
    if (!g_str_equal(backend, "socket")) {
        error_setg(errp, "chardev backend '%s' is not supported by vmwire: "
                   "QMP monitors use socket", backend);
        return false;
    }
    return true;
}

bool monitor_parse_chardev(const char *str, GError **errp)
{
    g_autoptr(JsonNode) node = monitor_keyval(str, "backend", errp);
    g_autoptr(ChardevOptions) opts = NULL;
    MonitorSocket *sock;

    if (!node || !monitor_chardev_check_first(node, errp) ||
        !qapi_input_ChardevOptions(node, true, &opts, errp)) {
        return false;
    }
    if (monitor_chardev_find(opts->id)) {
        error_setg(errp, "Duplicate ID '%s' for chardev", opts->id);
        return false;
    }
    sock = g_new0(MonitorSocket, 1);
    sock->id = g_strdup(opts->id);
    sock->option = g_strdup_printf("-chardev %s", str);
    if (!monitor_chardev_socket(sock, &opts->u.socket, errp)) {
        monitor_socket_free(sock);
        return false;
    }
    if (!chardevs) {
        chardevs = g_ptr_array_new_with_free_func(
            (GDestroyNotify)monitor_socket_free);
    }
    g_ptr_array_add(chardevs, sock);
    return true;
}

bool monitor_parse_mon(const char *str, GError **errp)
{
    g_autoptr(JsonNode) node = monitor_keyval(str, "chardev", errp);
    g_autoptr(MonitorOptions) opts = NULL;
    g_autofree char *option = g_strdup_printf("-mon %s", str);

    if (!node || !qapi_input_MonitorOptions(node, true, &opts, errp)) {
        return false;
    }
    if (!opts->has_mode || opts->mode != MONITOR_MODE_CONTROL) {
        error_setg(errp, "vmwire supports only mode=control (QMP); "
                   "mode=readline (the default) is not available");
        return false;
    }
    monitor_spec_add(option, NULL, opts->chardev, opts->pretty);
    return true;
}

/* ---- listening -------------------------------------------------------- */

static gboolean monitor_accept_retry(gpointer opaque)
{
    Monitor *mon = opaque;

    mon->accept_retry_id = 0;
    fd_handler_set_read(mon->listen_handler, true);
    return G_SOURCE_REMOVE;
}

static void monitor_accept(void *opaque)
{
    Monitor *mon = opaque;

    for (int i = 0; i < MONITOR_ACCEPT_BURST; i++) {
        int fd = socket_accept_reserved(mon->listen_fd, NULL, NULL);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                monitor_log(mon, "can't accept a connection (%s), retrying "
                            "in %d ms", g_strerror(errno),
                            MONITOR_ACCEPT_RETRY_MS);
                fd_handler_set_read(mon->listen_handler, false);
                mon->accept_retry_id = g_timeout_add(MONITOR_ACCEPT_RETRY_MS,
                                                     monitor_accept_retry,
                                                     mon);
            }
            return;
        }
        if (mon->nclients >= QMP_MAX_CLIENTS) {
            sockops->close(fd);
            mon->stats.refused++;
            monitor_log(mon, "already %d clients: connection refused "
                        "(%llu so far)", QMP_MAX_CLIENTS, mon->stats.refused);
            continue;
        }
        qmp_client_new(mon, fd);
    }
}

/* Bind @fd to @sock->path, mode 0600, replacing a stale socket file. */
static bool monitor_bind_unix(Monitor *mon, int fd, const MonitorSocket *sock,
                              GError **errp)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    mode_t old_mask;
    int ret;

    g_strlcpy(sa.sun_path, sock->path, sizeof(sa.sun_path));
    socket_unix_unlink_stale(sock->path, (const struct sockaddr *)&sa,
                             sizeof(sa));
    old_mask = umask(0177);
    ret = sockops->bind(fd, (const struct sockaddr *)&sa, sizeof(sa));
    umask(old_mask);
    if (ret < 0) {
        error_setg(errp, "Failed to bind socket to %s: %s", sock->path,
                   g_strerror(errno));
        return false;
    }
    if (chmod(sock->path, 0600) < 0 || lstat(sock->path, &st) < 0) {
        error_setg(errp, "Failed to set up socket %s: %s", sock->path,
                   g_strerror(errno));
        unlink(sock->path);
        return false;
    }
    mon->path = g_strdup(sock->path);
    mon->path_created = true;
    mon->path_dev = st.st_dev;
    mon->path_ino = st.st_ino;
    return true;
}

static int monitor_listen_unix(Monitor *mon, const MonitorSocket *sock,
                               GError **errp)
{
    int fd = sockops->socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
                             SOCK_CLOEXEC, 0);

    if (fd < 0) {
        error_setg(errp, "Failed to create socket: %s", g_strerror(errno));
        return -1;
    }
    if (!monitor_bind_unix(mon, fd, sock, errp)) {
        sockops->close(fd);
        return -1;
    }
    return fd;
}

/* One address of getaddrinfo(): a listening socket, or -1 and errno. */
static int monitor_listen_addr(const struct addrinfo *ai)
{
    int on = 1;
    int fd = sockops->socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
                             SOCK_CLOEXEC, ai->ai_protocol);
    int err;

    if (fd < 0) {
        return -1;
    }
    sockops->setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (sockops->bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        sockops->listen(fd, MONITOR_LISTEN_BACKLOG) == 0) {
        return fd;
    }
    err = errno;
    sockops->close(fd);
    errno = err;
    return -1;
}

static int monitor_listen_tcp(const MonitorSocket *sock, GError **errp)
{
    const struct addrinfo hints = {
        .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
    };
    struct addrinfo *res = NULL;
    int err = EADDRNOTAVAIL;
    int fd = -1;
    int rc;

    rc = getaddrinfo(sock->host[0] ? sock->host : NULL, sock->port, &hints,
                     &res);
    if (rc != 0) {
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   sock->host, sock->port, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = monitor_listen_addr(ai);
        err = fd < 0 ? errno : 0;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg(errp, "Failed to bind socket to %s:%s: %s", sock->host,
                   sock->port, g_strerror(err));
    }
    return fd;
}

static void monitor_free(gpointer data)
{
    Monitor *mon = data;
    struct stat st;

    while (mon->clients) {
        qmp_client_close(mon->clients->data, true);
    }
    g_clear_handle_id(&mon->accept_retry_id, g_source_remove);
    g_clear_pointer(&mon->listen_handler, fd_handler_free);
    if (mon->listen_fd >= 0) {
        sockops->close(mon->listen_fd);
    }
    if (mon->path_created && lstat(mon->path, &st) == 0 &&
        st.st_dev == mon->path_dev && st.st_ino == mon->path_ino) {
        unlink(mon->path);
    }
    monitor_fds_free(mon);
    g_free(mon->path);
    g_free(mon->label);
    g_free(mon);
}

static bool monitor_start(const MonitorSpec *spec, MonitorSocket *sock,
                          GError **errp)
{
    Monitor *mon = g_new0(Monitor, 1);
    const char *option = spec->socket ? spec->option : sock->option;
    g_autoptr(GError) err = NULL;

    mon->label = g_strdup(sock->label);
    mon->pretty = spec->pretty;
    mon->is_unix = sock->is_unix;
    g_ptr_array_add(monitors, mon);     /* monitor_cleanup() frees it */
    mon->listen_fd = sock->is_unix ? monitor_listen_unix(mon, sock, &err)
                                   : monitor_listen_tcp(sock, &err);
    if (mon->listen_fd < 0) {
        error_setg(errp, "%s: %s", option, err->message);
        return false;
    }
    if (sock->is_unix &&
        sockops->listen(mon->listen_fd, MONITOR_LISTEN_BACKLOG) < 0) {
        error_setg(errp, "%s: Failed to listen on socket: %s", option,
                   g_strerror(errno));
        return false;
    }
    mon->listen_handler = fd_handler_new(mon->listen_fd, monitor_accept,
                                         NULL, mon);
    socket_fd_reserve_fill();
    return true;
}

/* The socket of @spec: its own, or its -chardev's (used once). */
static MonitorSocket *monitor_spec_socket(MonitorSpec *spec, GError **errp)
{
    MonitorSocket *sock;

    if (spec->socket) {
        return spec->socket;
    }
    sock = monitor_chardev_find(spec->chardev);
    if (!sock) {
        error_setg(errp, "%s: chardev \"%s\" not found", spec->option,
                   spec->chardev);
        return NULL;
    }
    if (sock->used) {
        error_setg(errp, "%s: Device '%s' is in use", spec->option,
                   spec->chardev);
        return NULL;
    }
    sock->used = true;
    return sock;
}

bool monitor_start_all(GError **errp)
{
    if (!monitors) {
        monitors = g_ptr_array_new_with_free_func(monitor_free);
    }
    for (guint i = 0; specs && i < specs->len; i++) {
        MonitorSpec *spec = g_ptr_array_index(specs, i);
        MonitorSocket *sock = monitor_spec_socket(spec, errp);

        if (!sock || !monitor_start(spec, sock, errp)) {
            return false;
        }
    }
    for (guint i = 0; chardevs && i < chardevs->len; i++) {
        MonitorSocket *sock = g_ptr_array_index(chardevs, i);

        if (!sock->used) {
            log_warn("%s: not used by any -mon, ignored", sock->option);
        }
    }
    return true;
}

void monitor_cleanup(void)
{
    g_clear_pointer(&monitors, g_ptr_array_unref);
    g_clear_pointer(&specs, g_ptr_array_unref);
    g_clear_pointer(&chardevs, g_ptr_array_unref);
}
