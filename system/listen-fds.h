/*
 * DOC: sockets passed by systemd (see system/listen-fds.c)
 *
 * vl.c takes them at startup (listen_fds_init()); an fd= or addr.str=
 * NAME that no QMP getfd stored is looked up here (monitor_fd_param());
 * once every option is applied the ones nobody took are closed.
 */
#ifndef SYSTEM_LISTEN_FDS_H
#define SYSTEM_LISTEN_FDS_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

/* The first fd systemd passes (SD_LISTEN_FDS_START). */
#define LISTEN_FDS_START 3

/*
 * Read systemd's variables: @listen_pid, @listen_fds, @listen_fdnames
 * are their values (NULL: unset), @self our pid.  Returns the number of
 * fds passed to us (0 when LISTEN_PID or LISTEN_FDS is unset, or
 * LISTEN_PID is another process) and their names in *@names (NULL-
 * terminated, "unknown" each when LISTEN_FDNAMES is unset; the caller
 * frees it; NULL for 0), or -1 with @errp set.
 */
int listen_fds_parse(const char *listen_pid, const char *listen_fds,
                     const char *listen_fdnames, pid_t self, char ***names,
                     GError **errp);

/*
 * Take the sockets systemd passed us from the environment, mark them
 * close-on-exec and unset LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES (a
 * child must not believe they are its).  False with @errp set when the
 * variables are malformed or a passed fd is not open.
 */
bool listen_fds_init(GError **errp);

/* The first passed fd named @name not taken yet, or -1; it stays ours. */
int listen_fds_lookup(const char *name);

/* As listen_fds_lookup(), but the caller now owns the fd. */
int listen_fds_take(const char *name);

/*
 * An option took passed fd @fd by its number (addr.str=3): it is the
 * option's now, not closed as unclaimed.  Other fds are ignored.
 */
void listen_fds_forget(int fd);

/*
 * Words to append to "File descriptor named 'X' has not been found" on
 * the command line: which names systemd passed (" (systemd passed
 * sockets named: a, b)"); "" when it passed none, and once
 * listen_fds_close_unclaimed() ran (QMP keeps QEMU's message).
 */
const char *listen_fds_hint(void);

/* Close, with a warning each, the passed fds no option took. */
void listen_fds_close_unclaimed(void);

/* Forget everything (closing what is left); safe if init never ran. */
void listen_fds_cleanup(void);

#endif /* SYSTEM_LISTEN_FDS_H */
