/*
 * DOC: QMP commands of the nic-stub (its test hooks)
 *
 *   x-nic-stub-read    take frames from the stub's capture ring, base64
 *   x-nic-stub-inject  send a base64 frame as if the stub's guest sent it
 *   x-nic-stub-stats   the stub's counters
 *
 * Unknown ids: "Device '<id>' not found" (DeviceNotFound); an id that is
 * not a nic-stub: "Device '<id>' is not a nic-stub".  device_add and
 * device_del are the device registry's (hw/device.c).  This is the
 * control plane: allocating here (base64, lists) is fine.
 */
#include <string.h>

#include "hw/nic-stub.h"
#include "qapi-commands.h"
#include "util/error.h"

static bool nic_stub_qmp_is_b64(char c)
{
    return g_ascii_isalnum(c) || c == '+' || c == '/';
}

/*
 * Strict base64 (RFC 4648, padded): g_base64_decode() skips what it does
 * not know, so check first (QEMU's qbase64_decode() words for bad
 * characters).  Returns the bytes (caller frees) or NULL.
 */
static uint8_t *nic_stub_qmp_base64_decode(const char *text, size_t *len,
                                           GError **errp)
{
    size_t n = strlen(text), pad = 0;

    if (n >= 1 && text[n - 1] == '=') {
        pad = n >= 2 && text[n - 2] == '=' ? 2 : 1;
    }
    for (size_t i = 0; i < n - pad; i++) {
        if (!nic_stub_qmp_is_b64(text[i])) {
            error_setg(errp, "Base64 data contains invalid characters");
            return NULL;
        }
    }
    if (n % 4 != 0) {
        error_setg(errp, "Base64 data is not a multiple of 4 characters");
        return NULL;
    }
    *len = 0;
    return n ? g_base64_decode(text, len) : g_malloc(1);
}

void qmp_x_nic_stub_inject(const char *id, const char *data, GError **errp)
{
    NicStub *s = nic_stub_find(id, errp);
    g_autofree uint8_t *frame = NULL;
    size_t len;

    if (!s) {
        return;
    }
    frame = nic_stub_qmp_base64_decode(data, &len, errp);
    if (frame) {
        nic_stub_inject(s, frame, len, errp);
    }
}

static void nic_stub_qmp_add_frame(const uint8_t *data, size_t len,
                                   void *opaque)
{
    NicStubFrameList ***tail = opaque;
    NicStubFrameList *entry = g_new0(NicStubFrameList, 1);

    entry->value = g_new0(NicStubFrame, 1);
    entry->value->data = g_base64_encode(data, len);
    **tail = entry;
    *tail = &entry->next;
}

NicStubFrameList *qmp_x_nic_stub_read(const char *id, bool has_max,
                                      int64_t max, GError **errp)
{
    NicStub *s = nic_stub_find(id, errp);
    NicStubFrameList *head = NULL;
    NicStubFrameList **tail = &head;

    if (!s) {
        return NULL;
    }
    if (has_max && max < 0) {
        error_setg(errp, "Parameter 'max' expects a non-negative integer");
        return NULL;
    }
    nic_stub_capture_take(s, has_max ? (unsigned)MIN(max, G_MAXUINT)
                                     : G_MAXUINT,
                          nic_stub_qmp_add_frame, &tail);
    return head;
}

NicStubStats *qmp_x_nic_stub_stats(const char *id, GError **errp)
{
    NicStub *s = nic_stub_find(id, errp);
    NicStubCounters c;
    NicStubStats *stats;

    if (!s) {
        return NULL;
    }
    nic_stub_get_counters(s, &c);
    stats = g_new0(NicStubStats, 1);
    *stats = (NicStubStats) {
        .rx_frames = c.rx_frames,
        .tx_frames = c.tx_frames,
        .dropped = c.dropped,
        .arp_replies = c.arp_replies,
        .echo_replies = c.echo_replies,
        .link_up = c.link_up,
    };
    return stats;
}
