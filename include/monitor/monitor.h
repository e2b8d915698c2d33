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

/*
 * An fd= value, as QEMU's monitor_fd_param(): a name stored with getfd
 * (taken over by the caller), else a decimal fd number.  -1 with
 * "Invalid file descriptor number '<str>'" otherwise.
 */
int monitor_fd_param(const char *str, GError **errp);

/* Ask the main loop to stop (QMP quit). Set by vl.c. */
extern void (*monitor_quit_handler)(void);

#endif /* MONITOR_MONITOR_H */
