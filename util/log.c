/*
 * DOC: vmwire's log lines (see include/util/log.h)
 *
 * One formatter builds the whole line (timestamp, "vmwire: ", the id,
 * the message, "\n") in a GString and writes it with one write() to
 * stderr, so lines from one process never interleave mid-line in a
 * shared log file.  State: the -msg timestamp flag and the -D file.
 *
 * -D FILE: log_file_open() opens the file O_APPEND|O_CLOEXEC (created
 * 0644 before umask), notes its size then (log_file_start(), from where
 * system/os-posix.c copies setup errors to the original stderr) and puts
 * it on fd 2, so every line (and anything else written to stderr) goes
 * there.  log_file_reopen() (SIGHUP, for logrotate) opens the path again
 * and keeps the old file if that fails.  The path is made absolute when
 * given (a daemon may change directory); messages name it as given.
 */
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"

static bool log_timestamp;

static struct {
    char *arg;              /* -D as given, for messages */
    char *path;             /* absolute */
    int64_t start;          /* its size when opened, -1 if unknown */
} log_file = { .start = -1 };

void log_set_timestamp(bool on)
{
    log_timestamp = on;
}

/* QEMU's -msg timestamp=on prefix: "2026-12-06T19:44:47.123456Z ". */
static void log_append_timestamp(GString *line)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *stamp = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");

    g_string_append_printf(line, "%s.%06dZ ", stamp,
                           g_date_time_get_microsecond(now));
}

static void log_write(GString *line)
{
    const char *p = line->str;
    size_t left = line->len;

    while (left > 0) {
        ssize_t n = write(STDERR_FILENO, p, left);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;             /* nowhere to report it */
        }
        p += n;
        left -= (size_t)n;
    }
}

void log_vreport_id(const char *id, const char *fmt, va_list ap)
{
    g_autoptr(GString) line = g_string_sized_new(128);

    if (log_timestamp) {
        log_append_timestamp(line);
    }
    g_string_append(line, "vmwire: ");
    if (id) {
        g_string_append_printf(line, "%s: ", id);
    }
    g_string_append_vprintf(line, fmt, ap);
    g_string_append_c(line, '\n');
    fflush(stderr);             /* anything printed through stdio first */
    log_write(line);
}

void log_report_id(const char *id, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vreport_id(id, fmt, ap);
    va_end(ap);
}

void log_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vreport_id(NULL, fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vreport_id("warning", fmt, ap);
    va_end(ap);
}

bool log_parse_msg_option(const char *value, GError **errp)
{
    if (g_str_equal(value, "timestamp=on") ||
        g_str_equal(value, "timestamp")) {
        log_set_timestamp(true);
        return true;
    }
    if (g_str_equal(value, "timestamp=off")) {
        log_set_timestamp(false);
        return true;
    }
    if (g_str_has_prefix(value, "timestamp=")) {
        error_setg(errp, "Parameter 'timestamp' expects 'on' or 'off'");
        return false;
    }
    error_setg(errp, "Invalid parameter '%.*s'",
               (int)strcspn(value, "="), value);
    return false;
}

const char *log_mac_format(const uint8_t *mac, char buf[LOG_MAC_STRLEN])
{
    g_snprintf(buf, LOG_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
               mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return buf;
}

/* ---- -D FILE ------------------------------------------------------------ */

void log_file_set(const char *path)
{
    g_free(log_file.arg);
    g_free(log_file.path);
    log_file.arg = g_strdup(path);
    log_file.path = g_canonicalize_filename(path, NULL);
}

const char *log_file_path(void)
{
    return log_file.path;
}

int64_t log_file_start(void)
{
    return log_file.start;
}

/* Open the -D file for appending; -1 with QEMU's message on error. */
static int log_file_open_fd(GError **errp)
{
    int fd = open(log_file.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                  0644);

    if (fd < 0) {
        error_setg(errp, "Error opening logfile %s: %s", log_file.arg,
                   g_strerror(errno));
    }
    return fd;
}

/* Make @fd the process's stderr (what was there is closed). */
static void log_file_to_stderr(int fd)
{
    fflush(stderr);
    if (fd != STDERR_FILENO) {
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
}

bool log_file_open(GError **errp)
{
    int fd;

    if (!log_file.path) {
        return true;
    }
    fd = log_file_open_fd(errp);
    if (fd < 0) {
        return false;
    }
    log_file.start = lseek(fd, 0, SEEK_END);
    log_file_to_stderr(fd);
    return true;
}

void log_file_reopen(void)
{
    g_autoptr(GError) err = NULL;
    int fd;

    if (!log_file.path) {
        return;
    }
    fd = log_file_open_fd(&err);
    if (fd < 0) {
        log_report("%s (still logging to the old file)", err->message);
        return;
    }
    log_file_to_stderr(fd);
    log_report("log file %s reopened", log_file.arg);
}

void log_file_cleanup(void)
{
    g_clear_pointer(&log_file.arg, g_free);
    g_clear_pointer(&log_file.path, g_free);
    log_file.start = -1;
}
