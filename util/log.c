/*
 * DOC: vmwire's log lines (see include/util/log.h)
 *
 * One formatter builds the whole line (timestamp, "vmwire: ", the id,
 * the message, "\n") in a GString and writes it with one write() to
 * stderr, so lines from one process never interleave mid-line in a
 * shared log file.  The only state is the -msg timestamp flag.
 */
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"

static bool log_timestamp;

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
