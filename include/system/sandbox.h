/*
 * DOC: confinement: QEMU's -sandbox and -runas (system/sandbox.c)
 *
 *   -sandbox on[,obsolete=allow|deny][,elevateprivileges=allow|deny|children]
 *              [,spawn=allow|deny][,resourcecontrol=allow|deny]
 *   -sandbox off
 *   -runas USER        (a user name, or UID:GID)
 *
 * The options are read with the command line (sandbox_parse(),
 * sandbox_set_runas()); sandbox_enter() runs once startup has bound every
 * socket, before the main loop: it drops to the -runas user, then (with
 * -sandbox on) sets no_new_privs, drops capabilities if asked and loads
 * the seccomp allowlist (docs/security.md, "Sandbox").
 * sandbox_check_spawn() is asked by whatever would start a process
 * (guestfwd=...-cmd:), at startup and over QMP alike.
 */
#ifndef SYSTEM_SANDBOX_H
#define SYSTEM_SANDBOX_H

#include <glib.h>
#include <stdbool.h>

/* Exit status after a refused system call: 128 + SIGSYS, as a shell shows. */
#define SANDBOX_EXIT_STATUS 159

/* -sandbox ARG.  Errors in QEMU's words ("invalid argument for spawn"). */
bool sandbox_parse(const char *arg, GError **errp);

/* -runas USER: looked up at once; error if there is no such user. */
bool sandbox_set_runas(const char *user, GError **errp);

/*
 * Drop to the -runas user and install the filter, as configured (nothing
 * configured: nothing done).  Call once, after startup, before ready.
 */
bool sandbox_enter(GError **errp);

/* Is -sandbox on? */
bool sandbox_enabled(void);

/*
 * May @what (e.g. "guestfwd 'tcp::6000-cmd:cat'") start a process?  With
 * -sandbox on, never: false with @errp saying why.
 */
bool sandbox_check_spawn(const char *what, GError **errp);

/* Free what sandbox_enter() prepared (the filter itself stays). */
void sandbox_cleanup(void);

#endif /* SYSTEM_SANDBOX_H */
