/*
 * DOC: the built-in default network (see system/default-net.c)
 *
 * vmwire with no -netdev, -device or monitor on its command line builds
 * this network; vl.c asks for it and prints how to use it.
 */
#ifndef SYSTEM_DEFAULT_NET_H
#define SYSTEM_DEFAULT_NET_H

#include <glib.h>
#include <stdbool.h>

/* The TCP listener of the default network (fixed: users type it). */
#define DEFAULT_NET_TCP "127.0.0.1:5555"

/*
 * Choose the default network's directory (created 0700 if missing) and
 * set up its QMP monitor.  Returns the -netdev option strings to start,
 * NULL-terminated (owned by this module until default_net_cleanup()), or
 * NULL with @errp set.
 */
const char *const *default_net_options(GError **errp);

/* Print the QEMU options that reach the default network (stderr). */
void default_net_explain(void);

/* Forget what default_net_options() made (safe if it never ran). */
void default_net_cleanup(void);

#endif /* SYSTEM_DEFAULT_NET_H */
