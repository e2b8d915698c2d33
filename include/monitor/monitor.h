/*
 * DOC: QMP monitors
 *
 * `-qmp unix:PATH,server=on,wait=off`, `-qmp tcp:HOST:PORT,server=on,...`
 * and QEMU's long form `-chardev socket,id=C,... -mon chardev=C,mode=control`
 * each add a monitor: a listening socket serving any number of QMP clients.
 * Options are collected while the command line is read
 * (monitor_parse_*), and the sockets are created by monitor_start_all(),
 * before vmwire reports ready.  monitor_cleanup() closes everything and
 * removes unix socket files.
 *
 * Events (qapi_event_emit() of include/qapi/util.h, called by the generated
 * qapi_event_send_*()) go to every client that finished capabilities
 * negotiation.
 */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include <glib.h>
#include <stdbool.h>

/* Command-line options; errors in QEMU's words, no prefix. */
bool monitor_parse_qmp(const char *spec, GError **errp);
bool monitor_parse_chardev(const char *opts, GError **errp);
bool monitor_parse_mon(const char *opts, GError **errp);

/* Create every monitor's listening socket. */
bool monitor_start_all(GError **errp);

/* Close all monitors and clients, remove unix socket files. */
void monitor_cleanup(void);

/*
 * A file descriptor stored by QMP getfd under @name, or -1.  The monitor
 * keeps ownership unless @take is true (then it forgets it: the caller now
 * owns the fd), as QEMU's monitor_fd_param() does for fd=NAME.
 */
int monitor_fd_get(const char *name, bool take);

/* Why monitor_fd_param() refused an fd= value; each backend words it. */
typedef enum MonitorFdError {
    MONITOR_FD_NOT_FOUND = 1,       /* no number, and no getfd name */
    MONITOR_FD_INVALID,             /* a number out of range, garbage */
    MONITOR_FD_CLOSED,              /* F_GETFL failed (errno): not open */
    MONITOR_FD_NOT_SOCKET,          /* SO_TYPE failed (errno) */
} MonitorFdError;

/*
 * The one fd= parser (-netdev socket, stream and dgram), as QEMU's
 * monitor_fd_param(): a name stored with getfd, else a name systemd
 * passed (system/listen-fds.h; either taken over by the caller), else a
 * decimal fd number; then F_GETFL and, if @type is not
 * NULL, SO_TYPE into *@type.  Returns 0, or a MonitorFdError (errno set
 * for CLOSED and NOT_SOCKET); *@fd is the fd from CLOSED on, else -1.
 */
int monitor_fd_param(const char *str, int *fd, int *type);

/* Ask the main loop to stop (QMP quit). Set by vl.c. */
extern void (*monitor_quit_handler)(void);

#endif /* MONITOR_MONITOR_H */
