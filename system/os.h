/*
 * DOC: running as a service
 *
 * QEMU's `-daemonize`, `-pidfile FILE` and `-D LOGFILE`, plus systemd's
 * readiness protocol.  The order in vl.c:
 *
 *   os_daemonize_start()   fork; the parent waits for the child's word
 *   os_pidfile_create()    create and lock the pidfile (refuse a second run)
 *   os_log_open()          keep stderr aside, then util/log.c's
 *                          log_file_open(): stderr goes to the -D file
 *   ... create netdevs, devices, monitors ...
 *   os_ready()             the parent exits 0; READY=1 to $NOTIFY_SOCKET
 *   ... main loop; SIGHUP -> log_file_reopen() (util/log.h) ...
 *   os_cleanup()           remove the pidfile
 *
 * If setup fails after os_daemonize_start(), os_daemonize_fail() makes the
 * parent exit non-zero (the error was already printed to stderr, which the
 * parent still shares; with -D it is copied there from the log).  The
 * parent exits only once the failed daemon has exited, pidfile removed.
 * It is called on every setup failure, with or without -daemonize.
 *
 * os_daemonize_start() forks: it must run before any thread exists (GLib
 * starts its worker thread with the first g_unix_signal_add()).  The
 * option setters open /dev/null on fds 0-2 if closed, so that nothing
 * else (the main loop's eventfd, the pidfile) lands there.  The daemon
 * keeps the working directory (no chdir("/")), so relative paths on the
 * command line stay valid.  Messages are QEMU 7.2's: "cannot create PID
 * file: Cannot lock pid file: Resource temporarily unavailable",
 * "cannot create PID file: Could not create 'FILE': ...",
 * "Error opening logfile FILE: ..." (util/log.c's).
 */
#ifndef SYSTEM_OS_H
#define SYSTEM_OS_H

#include <glib.h>
#include <stdbool.h>

/*
 * Command-line options; the last of a repeated -pidfile or -D wins.
 * -D's path is util/log.c's (log_file_set()); os only guards fds 0-2.
 */
void os_set_daemonize(void);
void os_set_pidfile(const char *path);
void os_set_logfile(const char *path);

bool os_daemonize_start(GError **errp);
void os_daemonize_fail(void);
bool os_pidfile_create(GError **errp);
bool os_log_open(GError **errp);
void os_ready(void);
void os_cleanup(void);

#endif /* SYSTEM_OS_H */
