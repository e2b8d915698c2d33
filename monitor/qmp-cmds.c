/*
 * DOC: the commands of the QMP protocol itself
 *
 * qmp_capabilities, query-version, query-commands, query-qmp-schema, quit,
 * getfd and closefd, with QEMU 7.2's behaviour and messages.  They run
 * inside the monitor's dispatch, so qmp_client_current() is the client
 * that asked.
 *
 * getfd stores, under a name, the oldest fd the client passed with
 * SCM_RIGHTS and has not claimed yet; names belong to the monitor (as in
 * QEMU), so they outlive the connection and are closed by closefd, by a
 * getfd of the same name, by `fd=NAME` taking them, or at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "monitor/monitor-internal.h"
#include "monitor/monitor.h"
#include "qapi-commands.h"
#include "qapi-introspect.h"
#include "qapi/util.h"
#include "system/listen-fds.h"
#include "util/error.h"
#include "util/sockops.h"

typedef struct MonitorFd {
    int fd;
} MonitorFd;

static void monitor_fd_free(gpointer data)
{
    MonitorFd *mfd = data;

    if (mfd->fd >= 0) {
        close(mfd->fd);
    }
    g_free(mfd);
}

void monitor_fds_free(Monitor *mon)
{
    g_clear_pointer(&mon->fds, g_hash_table_destroy);
}

/* The monitor of the client running a command, or NULL. */
static Monitor *monitor_cur(void)
{
    QmpClient *c = qmp_client_current();

    return c ? qmp_client_monitor(c) : NULL;
}

int monitor_fd_param(const char *str, int *fd, int *type)
{
    socklen_t len = sizeof(*type);
    char *end = NULL;
    long n;

    *fd = -1;
    if (!g_ascii_isdigit(str[0])) {
        *fd = monitor_fd_get(str, true);
        if (*fd < 0) {
            *fd = listen_fds_take(str);
        }
        if (*fd < 0) {
            return MONITOR_FD_NOT_FOUND;
        }
    } else {
        errno = 0;
        n = strtol(str, &end, 10);
        if (n > G_MAXINT || errno || *end) {
            return MONITOR_FD_INVALID;
        }
        *fd = (int)n;
        listen_fds_forget(*fd);     /* a passed socket taken by number */
    }
    if (fcntl(*fd, F_GETFL) < 0) {
        return MONITOR_FD_CLOSED;
    }
    if (type && sockops->getsockopt(*fd, SOL_SOCKET, SO_TYPE, type,
                                    &len) < 0) {
        return MONITOR_FD_NOT_SOCKET;
    }
    return 0;
}

int monitor_fd_get(const char *name, bool take)
{
    Monitor *mon = monitor_cur();
    MonitorFd *mfd;
    int fd;

    if (!mon || !mon->fds) {
        return -1;
    }
    mfd = g_hash_table_lookup(mon->fds, name);
    if (!mfd) {
        return -1;
    }
    fd = mfd->fd;
    if (take) {
        mfd->fd = -1;
        g_hash_table_remove(mon->fds, name);
    }
    return fd;
}

void qmp_qmp_capabilities(bool has_enable, QMPCapabilityList *enable,
                          GError **errp)
{
    QmpClient *c = qmp_client_current();

    if (!c || qmp_client_negotiated(c)) {
        g_set_error(errp, VMWIRE_ERROR, VMWIRE_ERROR_COMMAND_NOT_FOUND,
                    "Capabilities negotiation is already complete, "
                    "command ignored");
        return;
    }
    /* vmwire offers no capability (no out-of-band execution). */
    if (has_enable && enable) {
        error_setg(errp, "Capability '%s' not available",
                   QMPCapability_str(enable->value));
        return;
    }
    qmp_client_set_negotiated(c);
}

VersionInfo *qmp_query_version(GError **errp)
{
    VersionInfo *info = g_new0(VersionInfo, 1);
    int major = 0, minor = 0, micro = 0;

    if (sscanf(VMWIRE_VERSION, "%d.%d.%d", &major, &minor, &micro) < 1) {
        major = minor = micro = 0;
    }
    info->qemu = g_new0(VersionTriple, 1);
    info->qemu->major = major;
    info->qemu->minor = minor;
    info->qemu->micro = micro;
    info->package = g_strdup("vmwire");
    return info;
}

CommandInfoList *qmp_query_commands(GError **errp)
{
    CommandInfoList *head = NULL;
    CommandInfoList **tail = &head;

    for (size_t i = 0; i < qmp_commands_count; i++) {
        CommandInfoList *elem = g_new0(CommandInfoList, 1);

        elem->value = g_new0(CommandInfo, 1);
        elem->value->name = g_strdup(qmp_commands[i].name);
        *tail = elem;
        tail = &elem->next;
    }
    return head;
}

void qmp_quit(GError **errp)
{
    /* The reply is sent before the main loop gets to stop. */
    if (monitor_quit_handler) {
        monitor_quit_handler();
    }
}

/* 'gen': false: the answer is the generator's JSON text, parsed. */
void qmp_marshal_query_qmp_schema(JsonObject *args, JsonNode **ret,
                                  GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) err = NULL;

    if (!qapi_in_no_args(args, errp)) {
        return;
    }
    if (!json_parser_load_from_data(parser, qapi_introspect_json, -1,
                                    &err)) {
        error_setg(errp, "introspection data is broken: %s", err->message);
        return;
    }
    *ret = json_parser_steal_root(parser);
}

void qmp_getfd(const char *fdname, GError **errp)
{
    QmpClient *c = qmp_client_current();
    Monitor *mon = c ? qmp_client_monitor(c) : NULL;
    int fd = c ? qmp_client_take_fd(c) : -1;
    MonitorFd *mfd;

    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return;
    }
    if (g_ascii_isdigit(fdname[0])) {
        close(fd);
        error_setg(errp, "Parameter 'fdname' expects a name not starting "
                   "with a digit");
        return;
    }
    if (!mon->fds) {
        mon->fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         monitor_fd_free);
    }
    mfd = g_hash_table_lookup(mon->fds, fdname);
    if (mfd) {
        close(mfd->fd);         /* a new fd under an old name */
        mfd->fd = fd;
        return;
    }
    if (g_hash_table_size(mon->fds) >= QMP_MAX_NAMED_FDS) {
        close(fd);
        error_setg(errp, "Too many file descriptors stored (at most %d): "
                   "close some with closefd", QMP_MAX_NAMED_FDS);
        return;
    }
    mfd = g_new(MonitorFd, 1);
    mfd->fd = fd;
    g_hash_table_insert(mon->fds, g_strdup(fdname), mfd);
}

void qmp_closefd(const char *fdname, GError **errp)
{
    Monitor *mon = monitor_cur();

    if (!mon || !mon->fds || !g_hash_table_remove(mon->fds, fdname)) {
        error_setg(errp, "File descriptor named '%s' not found", fdname);
    }
}
