/*
 * DOC: running as a service (see include/system/os.h)
 *
 * Placeholder: being written.  Until then -daemonize, -pidfile and -D are
 * accepted and do nothing.
 */
#include "system/os.h"

void os_set_daemonize(void) {}
void os_set_pidfile(const char *path) {}
void os_set_logfile(const char *path) {}
bool os_daemonize_start(GError **errp) { return true; }
void os_daemonize_fail(void) {}
bool os_pidfile_create(GError **errp) { return true; }
bool os_log_open(GError **errp) { return true; }
void os_log_reopen(void) {}
void os_ready(void) {}
void os_cleanup(void) {}
