/*
 * DOC: configuration errors
 *
 * Configuration, command-line and (later) QMP code reports errors through
 * GError **errp, last argument, with the user-facing message as QEMU words
 * it.  error_setg() is the one way to set one; the domain is vmwire's and
 * the code is VMWIRE_ERROR_FAILED unless a caller needs to tell kinds apart.
 */
#ifndef UTIL_ERROR_H
#define UTIL_ERROR_H

#include <glib.h>
#include <stdbool.h>

#define VMWIRE_ERROR (vmwire_error_quark())
GQuark vmwire_error_quark(void);

typedef enum VmwireErrorCode {
    VMWIRE_ERROR_FAILED,        /* QMP's GenericError */
    VMWIRE_ERROR_NOT_FOUND,     /* QMP's DeviceNotFound */
    VMWIRE_ERROR_COMMAND_NOT_FOUND, /* QMP's CommandNotFound */
} VmwireErrorCode;

#define error_setg(errp, ...) \
    g_set_error((errp), VMWIRE_ERROR, VMWIRE_ERROR_FAILED, __VA_ARGS__)

/* QEMU's error_setg_errno(): the message, ": ", strerror(@err). */
void error_setg_errno(GError **errp, int err, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

/*
 * QEMU's rule for id= of netdevs and devices: present, a letter, then
 * letters, digits, '-', '.', '_'.  Errors: "Parameter 'id' is missing",
 * "Parameter 'id' expects an identifier".
 */
bool id_check(const char *id, GError **errp);

#endif /* UTIL_ERROR_H */
