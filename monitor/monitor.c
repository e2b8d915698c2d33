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
 * Option syntax follows QEMU's QemuOpts: `key=value` separated by ',',
 * ",," for a comma inside a value, a leading bare word for the implied key
 * (the backend of -chardev, the path of `unix:`, the chardev of -mon), and
 * the legacy flags `server`, `noserver`, `wait`, `nowait`.  vmwire only
 * listens: server=on is required and wait=on refused (a missing wait= means
 * off, as vmwire never waits for a client).
 *
 * A unix socket file is created mode 0600 (umask around bind) and removed
 * at exit if it is still the one we created.  A stale file from a crashed
 * run (a socket nobody accepts on) is replaced; a live one is an error.
 * Each monitor serves up to QMP_MAX_CLIENTS clients at once; accept() that
 * runs out of fds backs off for a second instead of spinning.
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
#include "util/error.h"
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
    g_autofree char *msg = NULL;
    va_list ap;

    if (now - mon->log_window >= MONITOR_LOG_WINDOW_US) {
        if (mon->log_suppressed) {
            fprintf(stderr, "vmwire: qmp %s: %u more messages suppressed\n",
                    mon->label, mon->log_suppressed);
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
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "vmwire: qmp %s: %s\n", mon->label, msg);
}

/* ---- option strings --------------------------------------------------- */

typedef struct MonitorOpt {
    char *key;
    char *value;
} MonitorOpt;

static void monitor_opt_free(gpointer data)
{
    MonitorOpt *opt = data;

    g_free(opt->key);
    g_free(opt->value);
    g_free(opt);
}

static void monitor_opts_add(GPtrArray *opts, const char *key,
                             const char *value)
{
    MonitorOpt *opt = g_new(MonitorOpt, 1);

    opt->key = g_strdup(key);
    opt->value = g_strdup(value);
    g_ptr_array_add(opts, opt);
}

/* One element "key=value" or a bare word; @first: may be @implied's. */
static bool monitor_opts_element(GPtrArray *opts, const char *elem,
                                 bool first, const char *implied,
                                 GError **errp)
{
    static const char *const flags[][3] = {
        { "server", "server", "on" }, { "noserver", "server", "off" },
        { "wait", "wait", "on" }, { "nowait", "wait", "off" },
    };
    const char *eq = strchr(elem, '=');

    if (eq) {
        g_autofree char *key = g_strndup(elem, (gsize)(eq - elem));

        if (!key[0]) {
            error_setg(errp, "Invalid parameter ''");
            return false;
        }
        monitor_opts_add(opts, key, eq + 1);
        return true;
    }
    if (first && implied) {
        monitor_opts_add(opts, implied, elem);
        return true;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(flags); i++) {
        if (g_str_equal(elem, flags[i][0])) {
            monitor_opts_add(opts, flags[i][1], flags[i][2]);
            return true;
        }
    }
    error_setg(errp, "Expected '=' after parameter '%s'", elem);
    return false;
}

/* QemuOpts-style "a=1,b=x,,y" (see DOC).  NULL with @errp set on error. */
static GPtrArray *monitor_opts_parse(const char *str, const char *implied,
                                     GError **errp)
{
    g_autoptr(GPtrArray) opts = g_ptr_array_new_with_free_func(
        monitor_opt_free);
    g_autoptr(GString) elem = g_string_new(NULL);
    bool first = true;

    for (const char *p = str;; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(elem, ',');
            p++;
            continue;
        }
        if (*p && *p != ',') {
            g_string_append_c(elem, *p);
            continue;
        }
        if (elem->len &&
            !monitor_opts_element(opts, elem->str, first, implied, errp)) {
            return NULL;
        }
        first = false;
        g_string_truncate(elem, 0);
        if (!*p) {
            break;
        }
    }
    return g_steal_pointer(&opts);
}

/* The last value of @key (QemuOpts: the last one wins), or NULL. */
static const char *monitor_opts_get(GPtrArray *opts, const char *key)
{
    for (guint i = opts->len; i-- > 0;) {
        MonitorOpt *opt = g_ptr_array_index(opts, i);

        if (g_str_equal(opt->key, key)) {
            return opt->value;
        }
    }
    return NULL;
}

static bool monitor_opts_check(GPtrArray *opts, const char *const *allowed,
                               GError **errp)
{
    for (guint i = 0; i < opts->len; i++) {
        MonitorOpt *opt = g_ptr_array_index(opts, i);

        if (!g_strv_contains(allowed, opt->key)) {
            error_setg(errp, "Invalid parameter '%s'", opt->key);
            return false;
        }
    }
    return true;
}

static bool monitor_opts_bool(GPtrArray *opts, const char *key, bool def,
                              bool *out, GError **errp)
{
    static const char *const on[] = { "on", "yes", "true", NULL };
    static const char *const off[] = { "off", "no", "false", NULL };
    const char *value = monitor_opts_get(opts, key);

    if (!value) {
        *out = def;
    } else if (g_strv_contains(on, value)) {
        *out = true;
    } else if (g_strv_contains(off, value)) {
        *out = false;
    } else {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return false;
    }
    return true;
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

/* server=on, wait=off: the only mode vmwire has. */
static bool monitor_socket_check_mode(GPtrArray *opts, GError **errp)
{
    bool server, wait;

    if (!monitor_opts_bool(opts, "server", false, &server, errp) ||
        !monitor_opts_bool(opts, "wait", false, &wait, errp)) {
        return false;
    }
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

/* "HOST:PORT[,opts]" after "tcp:"; @rest gets the options. */
static bool monitor_split_host_port(const char *spec, char **host,
                                    char **port, const char **rest,
                                    GError **errp)
{
    const char *colon = spec[0] == '[' ? strstr(spec, "]:") : NULL;
    size_t addr_len = strcspn(spec, ",");      /* "HOST:PORT" */
    const char *comma;

    colon = colon ? colon + 1 : strchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= addr_len) {
        error_setg(errp, "host address '%.*s' doesn't contain ':' "
                   "separating host from port", (int)addr_len, spec);
        return false;
    }
    *host = g_strndup(spec, (gsize)(colon - spec));
    comma = strchr(colon, ',');
    *port = comma ? g_strndup(colon + 1, (gsize)(comma - colon - 1))
                  : g_strdup(colon + 1);
    *rest = comma ? comma + 1 : "";
    return true;
}

/* -qmp unix:PATH,opts or tcp:HOST:PORT,opts */
static MonitorSocket *monitor_socket_from_qmp(const char *spec,
                                              GError **errp)
{
    static const char *const allowed[] = { "path", "server", "wait", NULL };
    MonitorSocket *sock = g_new0(MonitorSocket, 1);
    g_autoptr(GPtrArray) opts = NULL;
    bool ok;

    if (g_str_has_prefix(spec, "unix:")) {
        opts = monitor_opts_parse(spec + 5, "path", errp);
        ok = opts && monitor_opts_check(opts, allowed, errp) &&
             monitor_socket_check_mode(opts, errp) &&
             monitor_socket_set_unix(sock, monitor_opts_get(opts, "path") ?
                                     monitor_opts_get(opts, "path") : "",
                                     errp);
    } else {
        g_autofree char *host = NULL;
        g_autofree char *port = NULL;
        const char *rest;

        ok = monitor_split_host_port(spec + 4, &host, &port, &rest, errp);
        opts = ok ? monitor_opts_parse(rest, NULL, errp) : NULL;
        ok = opts && monitor_opts_check(opts, allowed + 1, errp) &&
             monitor_socket_check_mode(opts, errp) &&
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
    MonitorSocket *sock;

    if (g_str_has_prefix(spec, "chardev:")) {
        monitor_spec_add(option, NULL, spec + 8, false);
        return true;
    }
    if (!g_str_has_prefix(spec, "unix:") && !g_str_has_prefix(spec, "tcp:")) {
        g_autofree char *kind = g_strndup(spec, strcspn(spec, ":,"));

        error_setg(errp, "'%s' is not supported for QMP by vmwire: use "
                   "unix:PATH or tcp:HOST:PORT (with server=on,wait=off)",
                   kind);
        return false;
    }
    sock = monitor_socket_from_qmp(spec, errp);
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

/* The socket of a -chardev socket,... once its backend was checked. */
static bool monitor_chardev_socket(MonitorSocket *sock, GPtrArray *opts,
                                   GError **errp)
{
    const char *path = monitor_opts_get(opts, "path");
    const char *host = monitor_opts_get(opts, "host");
    const char *port = monitor_opts_get(opts, "port");

    if (!monitor_socket_check_mode(opts, errp)) {
        return false;
    }
    if (path && (host || port)) {
        error_setg(errp, "chardev: socket: 'path' and 'host'/'port' are "
                   "mutually exclusive");
        return false;
    }
    if (path) {
        return monitor_socket_set_unix(sock, path, errp);
    }
    if (!host) {
        error_setg(errp, "chardev: socket: no host given");
        return false;
    }
    if (!port) {
        error_setg(errp, "chardev: socket: no port given");
        return false;
    }
    return monitor_socket_set_tcp(sock, host, port, errp);
}

bool monitor_parse_chardev(const char *str, GError **errp)
{
    static const char *const allowed[] = {
        "backend", "id", "path", "host", "port", "server", "wait", NULL
    };
    g_autoptr(GPtrArray) opts = monitor_opts_parse(str, "backend", errp);
    MonitorSocket *sock;
    const char *backend;
    const char *id;

    if (!opts) {
        return false;
    }
    id = monitor_opts_get(opts, "id");
    backend = monitor_opts_get(opts, "backend");
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
    if (!monitor_opts_check(opts, allowed, errp)) {
        return false;
    }
    if (monitor_chardev_find(id)) {
        error_setg(errp, "Duplicate ID '%s' for chardev", id);
        return false;
    }
    sock = g_new0(MonitorSocket, 1);
    sock->id = g_strdup(id);
    sock->option = g_strdup_printf("-chardev %s", str);
    if (!monitor_chardev_socket(sock, opts, errp)) {
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
    static const char *const allowed[] = {
        "chardev", "mode", "pretty", "id", NULL
    };
    g_autoptr(GPtrArray) opts = monitor_opts_parse(str, "chardev", errp);
    g_autofree char *option = g_strdup_printf("-mon %s", str);
    const char *mode;
    const char *chardev;
    bool pretty;

    if (!opts || !monitor_opts_check(opts, allowed, errp) ||
        !monitor_opts_bool(opts, "pretty", false, &pretty, errp)) {
        return false;
    }
    chardev = monitor_opts_get(opts, "chardev");
    if (!chardev) {
        error_setg(errp, "Parameter 'chardev' is missing");
        return false;
    }
    mode = monitor_opts_get(opts, "mode");
    if (!mode || g_str_equal(mode, "readline")) {
        error_setg(errp, "vmwire supports only mode=control (QMP); "
                   "mode=readline (the default) is not available");
        return false;
    }
    if (!g_str_equal(mode, "control")) {
        error_setg(errp, "Parameter 'mode' does not accept value '%s'",
                   mode);
        return false;
    }
    monitor_spec_add(option, NULL, chardev, pretty);
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
        int fd = sockops->accept(mon->listen_fd, NULL, NULL);

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

/* Is someone accepting on the unix socket @path? */
static bool monitor_unix_alive(const struct sockaddr_un *sa)
{
    int fd = sockops->socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
                             SOCK_CLOEXEC, 0);
    bool alive;

    if (fd < 0) {
        return false;
    }
    alive = sockops->connect(fd, (const struct sockaddr *)sa,
                             sizeof(*sa)) == 0 || errno == EAGAIN;
    sockops->close(fd);
    return alive;
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
    if (lstat(sock->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
        !monitor_unix_alive(&sa)) {
        unlink(sock->path);             /* left by a run that crashed */
    }
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
            fprintf(stderr, "vmwire: warning: %s: not used by any -mon, "
                    "ignored\n", sock->option);
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
