/*
 * DOC: vmwire's log lines, in one place
 *
 * Every line vmwire writes for a person goes through this module:
 *
 *   vmwire: MESSAGE                  log_report()
 *   vmwire: ID: MESSAGE              log_report_id()  (a netdev, a port,
 *                                    "qmp LABEL", "filter-dump ID")
 *   vmwire: warning: MESSAGE         log_warn()
 *
 * With `-msg timestamp=on` (QEMU's spelling) each line starts with the
 * UTC time as QEMU prints it, "2026-12-06T19:44:47.123456Z vmwire: ...".
 * A line is written with one write() to stderr, which is the terminal,
 * the journal under systemd, or the `-D` file (log_file_*(), below).
 * A message with "\n" in it continues on lines of its own, without the
 * prefix (the default network's QEMU options are printed so).  Data-path
 * code never logs per frame; what it logs is rate-limited by its caller.
 */
#ifndef UTIL_LOG_H
#define UTIL_LOG_H

#include <glib.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/* "vmwire: MESSAGE" */
void log_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* "vmwire: ID: MESSAGE" */
void log_report_id(const char *id, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void log_vreport_id(const char *id, const char *fmt, va_list ap)
    G_GNUC_PRINTF(2, 0);
/* "vmwire: warning: MESSAGE" */
void log_warn(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* -msg timestamp=on|off: prefix every line with the UTC time. */
void log_set_timestamp(bool on);
/*
 * Parse QEMU's `-msg` value ("timestamp=on", "timestamp=off"; QEMU's
 * guest-name= is refused: vmwire runs no guest).  QEMU's messages.
 */
bool log_parse_msg_option(const char *value, GError **errp);

/* "52:54:00:12:34:56" */
#define LOG_MAC_STRLEN 18
const char *log_mac_format(const uint8_t *mac, char buf[LOG_MAC_STRLEN]);

/*
 * -D FILE (QEMU's logfile).  log_file_set() records it (the last -D
 * wins); log_file_open() opens it for appending (created 0644 before
 * umask) and puts it on stderr, so every line goes there from then on;
 * without -D both do nothing and log_file_path() is NULL.  Error:
 * "Error opening logfile FILE: <strerror>".  log_file_reopen() (SIGHUP,
 * logrotate) opens the path again and logs "log file FILE reopened", or
 * "Error opening logfile FILE: ... (still logging to the old file)" and
 * keeps the old one.
 */
void log_file_set(const char *path);
bool log_file_open(GError **errp);
void log_file_reopen(void);
/* The -D file's absolute path, or NULL. */
const char *log_file_path(void);
/* The file's size when log_file_open() opened it (setup's lines follow). */
int64_t log_file_start(void);
void log_file_cleanup(void);

#endif /* UTIL_LOG_H */
