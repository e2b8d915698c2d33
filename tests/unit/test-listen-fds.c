/*
 * DOC: unit tests of system/listen-fds.c (socket activation)
 *
 * listen_fds_parse() on the environments systemd (or a stray parent)
 * leaves, with the exact messages a user would see; then
 * listen_fds_init() on real sockets placed at fds 3 and 4, as systemd
 * places them: taken by name (or by number, through monitor_fd_param()),
 * the variables gone, an unclaimed one closed.
 */
#include "system/listen-fds.h"

#include "monitor/monitor.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define SELF 4242

/* Parse, which must succeed with @count names joined as @joined. */
static void parse_ok(const char *pid, const char *fds, const char *names,
                     int count, const char *joined)
{
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) got = NULL;
    g_autofree char *str = NULL;

    g_assert_cmpint(listen_fds_parse(pid, fds, names, SELF, &got, &err),
                    ==, count);
    g_assert_no_error(err);
    if (!joined) {
        g_assert_null(got);
        return;
    }
    str = g_strjoinv(":", got);
    g_assert_cmpstr(str, ==, joined);
}

static void parse_fails(const char *pid, const char *fds, const char *names,
                        const char *message)
{
    g_autoptr(GError) err = NULL;
    char **got = NULL;

    g_assert_cmpint(listen_fds_parse(pid, fds, names, SELF, &got, &err),
                    ==, -1);
    g_assert_null(got);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, message);
}

static void test_not_ours(void)
{
    parse_ok(NULL, NULL, NULL, 0, NULL);
    parse_ok(NULL, "2", "a:b", 0, NULL);
    parse_ok("4242", NULL, NULL, 0, NULL);
    /* Left by a parent for itself: not ours, whatever else is set. */
    parse_ok("4241", "2", "a:b", 0, NULL);
    parse_ok("4241", "junk", NULL, 0, NULL);
    parse_ok("4242", "0", NULL, 0, NULL);
}

static void test_names(void)
{
    parse_ok("4242", "1", "vmwire-default", 1, "vmwire-default");
    parse_ok("4242", "3", "vmwire-default:vmwire-tcp:vmwire-vhost-user", 3,
             "vmwire-default:vmwire-tcp:vmwire-vhost-user");
    parse_ok("4242", "2", "a:a", 2, "a:a");
    /* Without LISTEN_FDNAMES systemd's name for each is "unknown". */
    parse_ok("4242", "2", NULL, 2, "unknown:unknown");
}

static void test_malformed(void)
{
    parse_fails("12x", "1", NULL,
                "LISTEN_PID=12x is not a process id (socket activation)");
    parse_fails("0", "1", NULL,
                "LISTEN_PID=0 is not a process id (socket activation)");
    parse_fails("4242", "-1", NULL,
                "LISTEN_FDS=-1 is not a number of sockets (socket "
                "activation)");
    parse_fails("4242", "99999999999", NULL,
                "LISTEN_FDS=99999999999 is not a number of sockets (socket "
                "activation)");
    parse_fails("4242", "2", "a:b:c",
                "LISTEN_FDNAMES=a:b:c names 3 sockets but LISTEN_FDS=2 "
                "(socket activation)");
    parse_fails("4242", "2", "a",
                "LISTEN_FDNAMES=a names 1 sockets but LISTEN_FDS=2 "
                "(socket activation)");
}

/* Whatever is at @target moved far away (-1: nothing), @target closed. */
static int move_away(int target)
{
    int saved = -1;

    if (fcntl(target, F_GETFD) >= 0) {
        saved = fcntl(target, F_DUPFD_CLOEXEC, 500);
        g_assert_cmpint(saved, >=, 500);
        close(target);
    }
    return saved;
}

/* A fresh socket moved to @target; what was there is kept in *@saved. */
static void socket_at(int target, int *saved)
{
    int fd;

    *saved = move_away(target);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(fd, >=, 0);
    if (fd != target) {
        g_assert_cmpint(dup2(fd, target), ==, target);
        close(fd);
    }
    /* As systemd passes them: inheritable. */
    fcntl(target, F_SETFD, 0);
}

static void restore(int target, int saved)
{
    if (saved >= 0) {
        dup2(saved, target);
        close(saved);
    }
}

static void test_init_take(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *pid = g_strdup_printf("%d", (int)getpid());
    int saved3, saved4, fd;

    socket_at(3, &saved3);
    socket_at(4, &saved4);
    g_setenv("LISTEN_PID", pid, true);
    g_setenv("LISTEN_FDS", "2", true);
    g_setenv("LISTEN_FDNAMES", "vmwire-default:spare", true);
    g_assert_true(listen_fds_init(&err));
    g_assert_no_error(err);
    g_assert_null(g_getenv("LISTEN_PID"));
    g_assert_null(g_getenv("LISTEN_FDS"));
    g_assert_null(g_getenv("LISTEN_FDNAMES"));
    g_assert_cmpint(fcntl(3, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
    g_assert_cmpstr(listen_fds_hint(), ==,
                    " (systemd passed sockets named: vmwire-default, spare)");
    g_assert_cmpint(listen_fds_lookup("nope"), ==, -1);
    g_assert_cmpint(listen_fds_lookup("vmwire-default"), ==, 3);
    fd = listen_fds_take("vmwire-default");
    g_assert_cmpint(fd, ==, 3);
    g_assert_cmpint(listen_fds_take("vmwire-default"), ==, -1);
    listen_fds_close_unclaimed();
    g_assert_cmpint(fcntl(4, F_GETFD), ==, -1);     /* closed */
    g_assert_cmpint(fcntl(3, F_GETFD), >=, 0);      /* ours now */
    g_assert_cmpstr(listen_fds_hint(), ==, "");
    listen_fds_cleanup();
    g_assert_cmpint(fcntl(3, F_GETFD), >=, 0);
    close(3);
    restore(3, saved3);
    restore(4, saved4);
}

static void test_init_not_open(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *pid = g_strdup_printf("%d", (int)getpid());
    int saved3, saved4;

    socket_at(3, &saved3);
    saved4 = move_away(4);
    g_setenv("LISTEN_PID", pid, true);
    g_setenv("LISTEN_FDS", "2", true);
    g_unsetenv("LISTEN_FDNAMES");
    g_assert_false(listen_fds_init(&err));
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, "socket activation: LISTEN_FDS=2 but "
                    "fd 4 ('unknown') is not open");
    g_assert_null(g_getenv("LISTEN_FDS"));
    listen_fds_cleanup();                           /* closes fd 3 */
    g_assert_cmpint(fcntl(3, F_GETFD), ==, -1);
    restore(3, saved3);
    restore(4, saved4);
}

/* addr.str=3 (a number) takes passed fd 3: not closed as unclaimed. */
static void test_init_by_number(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *pid = g_strdup_printf("%d", (int)getpid());
    int saved3, fd = -1, type = 0;

    socket_at(3, &saved3);
    g_setenv("LISTEN_PID", pid, true);
    g_setenv("LISTEN_FDS", "1", true);
    g_unsetenv("LISTEN_FDNAMES");
    g_assert_true(listen_fds_init(&err));
    g_assert_cmpint(monitor_fd_param("3", &fd, &type), ==, 0);
    g_assert_cmpint(fd, ==, 3);
    g_assert_cmpint(type, ==, SOCK_STREAM);
    listen_fds_close_unclaimed();
    g_assert_cmpint(fcntl(3, F_GETFD), >=, 0);      /* still open */
    listen_fds_cleanup();
    g_assert_cmpint(fcntl(3, F_GETFD), >=, 0);
    close(3);
    restore(3, saved3);
}

static void test_init_none(void)
{
    g_autoptr(GError) err = NULL;

    g_unsetenv("LISTEN_PID");
    g_unsetenv("LISTEN_FDS");
    g_unsetenv("LISTEN_FDNAMES");
    g_assert_true(listen_fds_init(&err));
    g_assert_cmpstr(listen_fds_hint(), ==, "");
    g_assert_cmpint(listen_fds_take("vmwire-default"), ==, -1);
    listen_fds_close_unclaimed();
    listen_fds_cleanup();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/listen-fds/parse/not-ours", test_not_ours);
    g_test_add_func("/listen-fds/parse/names", test_names);
    g_test_add_func("/listen-fds/parse/malformed", test_malformed);
    g_test_add_func("/listen-fds/init/take", test_init_take);
    g_test_add_func("/listen-fds/init/not-open", test_init_not_open);
    g_test_add_func("/listen-fds/init/by-number", test_init_by_number);
    g_test_add_func("/listen-fds/init/none", test_init_none);
    return g_test_run();
}
