/*
 * DOC: creating devices (-device and QMP device_add)
 *
 * A device is described by the generated DeviceOptions (qapi/device.json):
 * driver (the model), an optional id, and the model's properties in
 * opts->u.<model>.  `-device STR` goes through device_parse() (key=value
 * or JSON) and then device_add(); QMP's device_add calls device_add() with
 * the DeviceOptions its marshaller built.  hw/device.c has one row per
 * model; the model's own add function does the rest (nic-stub:
 * nic_stub_device_add()).  QMP's device_add and device_del live in
 * hw/device.c too.
 */
#ifndef HW_DEVICE_H
#define HW_DEVICE_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdbool.h>
#include "qapi-types.h"

/* Create the device @opts describes (borrowed); the model's errors. */
bool device_add(const DeviceOptions *opts, GError **errp);

/*
 * A -device argument as a new DeviceOptions (caller frees), or NULL with
 * @errp set: "nic-stub,id=s0,..." is key=value with the driver implied
 * first, '{"driver": "nic-stub", ...}' is JSON.  See device_from_json().
 */
DeviceOptions *device_parse(const char *arg, GError **errp);

/*
 * DeviceOptions from @node (borrowed; @keyval as for the visitors) with
 * QEMU's -device checks and words, in QEMU's order:
 *   Parameter 'id' expects an identifier   (key=value only: QEMU checks
 *                                           -device ids when parsing)
 *   Parameter 'driver' is missing
 *   'nosuch' is not a valid device model name
 *   Property 'nic-stub.bogus' not found    (a key the model lacks)
 * then the visitor's ("Invalid parameter type for 'mac', expected:
 * string", ...).  For QMP, which would rather say the same than
 * "Parameter 'bogus' is unexpected".
 */
DeviceOptions *device_from_json(JsonNode *node, bool keyval, GError **errp);

#endif /* HW_DEVICE_H */
