/*
 * DOC: sockets passed by systemd (socket activation)
 *
 * systemd (a .socket unit, or systemd-socket-activate) starts vmwire
 * with its listening sockets already open as fds 3, 4, ... and says so
 * in the environment:
 *
 *   LISTEN_PID=<our pid>  LISTEN_FDS=<count>  LISTEN_FDNAMES=<a:b:...>
 *
 * listen_fds_init() (first thing in main(), before -daemonize forks)
 * checks that they are meant for this process, marks the fds
 * close-on-exec and unsets the three variables, so no child inherits
 * them.  The fds then wait here under their names (FileDescriptorName=,
 * by default the .socket unit's name; "unknown" when LISTEN_FDNAMES is
 * unset) until an option takes one: `addr.type=fd,addr.str=NAME`
 * (-netdev stream, dgram, vhost-user) or `fd=NAME` (-netdev socket),
 * through monitor_fd_param(), after QMP getfd names; one taken by its
 * number (`addr.str=3`) is the option's too (listen_fds_forget()).  A
 * name given twice is handed out in fd order.  The default network takes
 * vmwire-default, vmwire-tcp and vmwire-vhost-user when passed
 * (system/default-net.c).  Once every option is applied, vl.c calls
 * listen_fds_close_unclaimed(): an fd nobody took is closed with a
 * warning naming it.  No libsystemd: the protocol is three variables.
 */
#include "system/listen-fds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"

static struct {
    int count;
    int *fds;                   /* -1 once taken or closed */
    char **names;               /* NULL-terminated, count names */
    char *hint;                 /* listen_fds_hint(), NULL when done */
    bool done;                  /* listen_fds_close_unclaimed() ran */
} listen_fds;

/* LISTEN_PID names us?  -1 with @errp set when it is no pid at all. */
static int listen_fds_pid_is(const char *listen_pid, pid_t self,
                             GError **errp)
{
    guint64 pid;

    if (!g_ascii_string_to_unsigned(listen_pid, 10, 1, G_MAXINT, &pid,
                                    NULL)) {
        error_setg(errp, "LISTEN_PID=%s is not a process id (socket "
                   "activation)", listen_pid);
        return -1;
    }
    return (pid_t)pid == self;
}

int listen_fds_parse(const char *listen_pid, const char *listen_fds_var,
                     const char *listen_fdnames, pid_t self, char ***names,
                     GError **errp)
{
    g_auto(GStrv) split = NULL;
    guint64 count;
    int ours;

    *names = NULL;
    if (!listen_pid || !listen_fds_var) {
        return 0;
    }
    ours = listen_fds_pid_is(listen_pid, self, errp);
    if (ours <= 0) {
        return ours;
    }
    if (!g_ascii_string_to_unsigned(listen_fds_var, 10, 0,
                                    G_MAXINT - LISTEN_FDS_START, &count,
                                    NULL)) {
        error_setg(errp, "LISTEN_FDS=%s is not a number of sockets "
                   "(socket activation)", listen_fds_var);
        return -1;
    }
    if (count == 0) {
        return 0;
    }
    if (!listen_fdnames) {
        split = g_new0(char *, count + 1);
        for (guint64 i = 0; i < count; i++) {
            split[i] = g_strdup("unknown");
        }
    } else {
        split = g_strsplit(listen_fdnames, ":", -1);
    }
    if (g_strv_length(split) != count) {
        error_setg(errp, "LISTEN_FDNAMES=%s names %u sockets but "
                   "LISTEN_FDS=%s (socket activation)", listen_fdnames,
                   g_strv_length(split), listen_fds_var);
        return -1;
    }
    *names = g_steal_pointer(&split);
    return (int)count;
}

static void listen_fds_unsetenv(void)
{
    g_unsetenv("LISTEN_PID");
    g_unsetenv("LISTEN_FDS");
    g_unsetenv("LISTEN_FDNAMES");
}

/* The hint for a name not passed, made once the names are known. */
static char *listen_fds_make_hint(void)
{
    g_autofree char *list = NULL;

    if (listen_fds.count == 0) {
        return g_strdup("");        /* QEMU's message as it is */
    }
    list = g_strjoinv(", ", listen_fds.names);
    return g_strdup_printf(" (systemd passed sockets named: %s)", list);
}

bool listen_fds_init(GError **errp)
{
    char **names = NULL;
    int n = listen_fds_parse(g_getenv("LISTEN_PID"), g_getenv("LISTEN_FDS"),
                             g_getenv("LISTEN_FDNAMES"), getpid(), &names,
                             errp);

    listen_fds_unsetenv();
    if (n < 0) {
        return false;
    }
    listen_fds.fds = g_new(int, n > 0 ? n : 1);
    listen_fds.names = names ? names : g_new0(char *, 1);
    listen_fds.count = n;
    for (int i = 0; i < n; i++) {
        int fd = LISTEN_FDS_START + i;
        int flags = fcntl(fd, F_GETFD);

        if (flags < 0) {
            error_setg(errp, "socket activation: LISTEN_FDS=%d but fd %d "
                       "('%s') is not open", n, fd, names[i]);
            listen_fds.count = i;
            return false;
        }
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
        listen_fds.fds[i] = fd;
    }
    listen_fds.hint = listen_fds_make_hint();
    return true;
}

/* Index of the first untaken fd named @name, or -1. */
static int listen_fds_find(const char *name)
{
    for (int i = 0; i < listen_fds.count; i++) {
        if (listen_fds.fds[i] >= 0 && g_str_equal(listen_fds.names[i],
                                                  name)) {
            return i;
        }
    }
    return -1;
}

int listen_fds_lookup(const char *name)
{
    int i = listen_fds_find(name);

    return i < 0 ? -1 : listen_fds.fds[i];
}

int listen_fds_take(const char *name)
{
    int i = listen_fds_find(name);
    int fd;

    if (i < 0) {
        return -1;
    }
    fd = listen_fds.fds[i];
    listen_fds.fds[i] = -1;
    return fd;
}

void listen_fds_forget(int fd)
{
    for (int i = 0; i < listen_fds.count; i++) {
        if (listen_fds.fds[i] == fd) {
            listen_fds.fds[i] = -1;
        }
    }
}

const char *listen_fds_hint(void)
{
    return listen_fds.done || !listen_fds.hint ? "" : listen_fds.hint;
}

void listen_fds_close_unclaimed(void)
{
    for (int i = 0; i < listen_fds.count; i++) {
        if (listen_fds.fds[i] < 0) {
            continue;
        }
        log_warn("systemd passed a socket named '%s' (fd %d) that no "
                 "option takes (addr.type=fd,addr.str=NAME): closed",
                 listen_fds.names[i], listen_fds.fds[i]);
        close(listen_fds.fds[i]);
        listen_fds.fds[i] = -1;
    }
    listen_fds.done = true;
}

void listen_fds_cleanup(void)
{
    for (int i = 0; i < listen_fds.count; i++) {
        if (listen_fds.fds[i] >= 0) {
            close(listen_fds.fds[i]);
        }
    }
    g_clear_pointer(&listen_fds.fds, g_free);
    g_clear_pointer(&listen_fds.names, g_strfreev);
    g_clear_pointer(&listen_fds.hint, g_free);
    listen_fds.count = 0;
    listen_fds.done = false;
}
