/* DOC: vmwire's GError domain and id rule (see include/util/error.h). */
#include "util/error.h"

#include <stdarg.h>

G_DEFINE_QUARK(vmwire-error-quark, vmwire_error)

void error_setg_errno(GError **errp, int err, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(errp, "%s: %s", msg, g_strerror(err));
}

static bool id_well_formed(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_') {
            return false;
        }
    }
    return true;
}

bool id_check(const char *id, GError **errp)
{
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    if (!id_well_formed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return false;
    }
    return true;
}
