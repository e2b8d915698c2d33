/*
 * DOC: QMP monitors (see include/monitor/monitor.h)
 *
 * Placeholder: being written.
 */
#include "monitor/monitor.h"

#include "util/error.h"

void (*monitor_quit_handler)(void);

bool monitor_parse_qmp(const char *spec, GError **errp)
{
    error_setg(errp, "QMP is not available yet");
    return false;
}

bool monitor_parse_chardev(const char *opts, GError **errp)
{
    return monitor_parse_qmp(opts, errp);
}

bool monitor_parse_mon(const char *opts, GError **errp)
{
    return monitor_parse_qmp(opts, errp);
}

bool monitor_start_all(GError **errp) { return true; }
void monitor_cleanup(void) {}
int monitor_fd_get(const char *name, bool take) { return -1; }

/* Placeholder until the monitor exists: events go nowhere. */
#include <json-glib/json-glib.h>
void qapi_event_emit(const char *name, JsonObject *data);
void qapi_event_emit(const char *name, JsonObject *data)
{
    if (data) {
        json_object_unref(data);
    }
}
