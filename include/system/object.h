/*
 * DOC: creating objects (-object and QMP object-add/object-del)
 *
 * An object is described by the generated ObjectOptions
 * (qapi/object.json): qom-type (the kind), id, and the kind's properties
 * in opts->u.<kind>.  `-object STR` goes through object_parse() (key=value
 * or JSON) and then object_add(); QMP's object-add calls object_add() with
 * the ObjectOptions its marshaller built.  system/object.c has one row per
 * kind; the kind's own add function does the rest (filter-dump:
 * net_dump_add()).  Ids are a name space of their own, as in QEMU.
 */
#ifndef SYSTEM_OBJECT_H
#define SYSTEM_OBJECT_H

#include <glib.h>
#include <stdbool.h>

#include "qapi-types.h"

/*
 * A -object argument (key=value with qom-type implied first, or JSON) as
 * a new ObjectOptions (caller frees), or NULL with @errp set.
 */
ObjectOptions *object_parse(const char *arg, GError **errp);

/*
 * Create the object (borrowed options).  Errors, with QEMU 7.2's words:
 *   Parameter 'id' expects an identifier
 *   Duplicate ID '<id>' for object
 * then the kind's (filter-dump: net_dump_add()'s).
 */
bool object_add(const ObjectOptions *opts, GError **errp);

/*
 * Remove the object @id (QMP object-del; "object '<id>' not found");
 * a filter-dump flushes and closes its file first.
 */
bool object_del(const char *id, GError **errp);

/* Free every object (at exit); dumps are flushed and closed. */
void object_cleanup(void);

#endif /* SYSTEM_OBJECT_H */
