/*
 * DOC: running as a service (see system/os.h)
 *
 * -daemonize, as QEMU: fork; the parent only waits on a pipe.  The child
 * calls setsid() and forks again (so the daemon is no session leader and
 * can never get a controlling terminal); the middle process exits at once
 * and the parent reaps it.  The daemon (the grandchild) reads stdin from
 * /dev/null, ignores SIGTSTP/SIGTTOU/SIGTTIN and sets umask 027, as QEMU.
 * It keeps the parent's stdout and stderr until os_ready(): every setup
 * error reaches the terminal of whoever ran vmwire.  Then it writes one
 * byte 0 into the pipe and the parent exits 0; stdout, and stderr unless
 * -D is given, become /dev/null.  On a setup error, os_daemonize_fail()
 * writes 1 and the parent waits for the pipe's end-of-file, which comes
 * only when the daemon has exited (its pidfile removed): exit status 1,
 * and no daemon is left behind.  End-of-file without any byte means the
 * daemon died: the parent says so and exits 1.
 *
 * Unlike QEMU, the daemon does not chdir("/"): relative paths on the
 * command line (pidfile, log file, unix socket paths) stay valid for its
 * whole life, including the unlink() of socket files at exit.  Start it
 * from "/" (systemd does) if its directory must not stay in use.  The
 * pidfile and log paths are made absolute when read all the same.
 *
 * -pidfile, as QEMU's qemu_write_pidfile(): open or create (0644 before
 * umask), lock with fcntl(F_SETLK) for the process's lifetime (a QEMU and
 * a vmwire on the same file exclude each other), check that the locked
 * inode is still the one at the path (else retry: an exiting owner just
 * removed it), truncate, write "PID\n".  At exit it is removed only if the
 * path still names the inode we locked.
 *
 * -D FILE: util/log.c opens the file and puts it on fd 2 (and reopens it
 * on SIGHUP).  os_log_open() first keeps the original stderr aside until
 * os_ready(); if setup fails, the lines written to the log since it was
 * opened (log_file_path() from log_file_start() on) are copied to it,
 * so the error shows in the log and on the terminal (or the daemonizing
 * parent's stderr).
 *
 * systemd: with NOTIFY_SOCKET set (a path, or '@' for an abstract name),
 * os_ready() sends "READY=1\nMAINPID=<pid>\n" in one datagram and unsets
 * the variable so that no child inherits it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "system/os.h"
#include "util/error.h"
#include "util/log.h"

typedef struct OsState {
    bool daemonize;
    char *pidfile_arg;      /* as given, for messages */
    char *pidfile_path;     /* absolute */
    int pidfile_fd;         /* open and locked while we own it, or -1 */
    int saved_stderr;       /* the stderr we had before -D, until ready */
    int daemon_pipe;        /* the daemon's end of the parent's pipe */
} OsState;

static OsState os = {
    .pidfile_fd = -1,
    .saved_stderr = -1,
    .daemon_pipe = -1,
};

/*
 * Open /dev/null on whichever of fds 0, 1, 2 is closed, so that no fd we
 * depend on (the main loop's eventfd, the pidfile, a socket) lands on one
 * of them, where the log's dup2() or -daemonize's /dev/null would replace
 * it.  Called by the option setters: while the command line is read,
 * before anything else opens an fd.
 */
static void os_stdio_guard(void)
{
    for (int fd = 0; fd <= STDERR_FILENO; fd++) {
        if (fcntl(fd, F_GETFD) < 0) {
            open("/dev/null", O_RDWR);  /* the lowest free fd: this one */
        }
    }
}

/* ---- command-line options ---------------------------------------------- */

void os_set_daemonize(void)
{
    os_stdio_guard();
    os.daemonize = true;
}

void os_set_pidfile(const char *path)
{
    os_stdio_guard();
    g_free(os.pidfile_arg);
    g_free(os.pidfile_path);
    os.pidfile_arg = g_strdup(path);
    os.pidfile_path = g_canonicalize_filename(path, NULL);
}

void os_set_logfile(const char *path)
{
    os_stdio_guard();
    log_file_set(path);
}

/* ---- small helpers ----------------------------------------------------- */

static ssize_t os_read_retry(int fd, void *buf, size_t len)
{
    ssize_t n;

    do {
        n = read(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    return n;
}

static bool os_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

/* Put fd on target_fd (0, 1 or 2) and close fd; fd may already be it. */
static void os_fd_move(int fd, int target_fd)
{
    if (fd != target_fd) {
        dup2(fd, target_fd);
        close(fd);
    }
}

static void os_fd_to_devnull(int target_fd)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

    if (fd >= 0) {
        os_fd_move(fd, target_fd);
    }
}

/* ---- -daemonize -------------------------------------------------------- */

/*
 * The process the user started: reap the middle process, then wait for
 * the daemon's word.  Never returns.
 */
static G_NORETURN void os_daemonize_parent(pid_t child, int pipe_fd)
{
    uint8_t status;
    int wstatus = 0;

    while (waitpid(child, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
        _exit(1);                   /* the middle process said why */
    }
    if (os_read_retry(pipe_fd, &status, 1) == 1) {
        if (status == 0) {
            _exit(0);
        }
        /* Failed: wait until the daemon has cleaned up and exited. */
        while (os_read_retry(pipe_fd, &status, 1) > 0) {
        }
        _exit(1);
    }
    log_report("the daemon exited before it was ready");
    _exit(1);
}

/* The child of the first fork: new session, fork the daemon, exit. */
static void os_daemonize_middle(void)
{
    pid_t pid;

    if (setsid() < 0) {
        log_report("cannot daemonize: setsid: %s", g_strerror(errno));
        _exit(1);
    }
    pid = fork();
    if (pid < 0) {
        log_report("cannot daemonize: fork: %s", g_strerror(errno));
        _exit(1);
    }
    if (pid > 0) {
        _exit(0);
    }
}

bool os_daemonize_start(GError **errp)
{
    int fds[2];
    pid_t pid;

    if (!os.daemonize) {
        return true;
    }
    if (pipe2(fds, O_CLOEXEC) < 0) {
        error_setg(errp, "cannot daemonize: pipe: %s", g_strerror(errno));
        return false;
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        error_setg(errp, "cannot daemonize: fork: %s", g_strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid > 0) {
        close(fds[1]);
        os_daemonize_parent(pid, fds[0]);
    }
    close(fds[0]);
    os.daemon_pipe = fds[1];
    os_daemonize_middle();

    umask(027);
    signal(SIGTSTP, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    os_fd_to_devnull(STDIN_FILENO);
    return true;
}

/* Copy what setup wrote to the log file to the stderr we started with. */
static void os_log_replay(void)
{
    char buf[4096];
    ssize_t n;
    off_t pos = log_file_start();
    int fd;

    if (os.saved_stderr < 0 || pos < 0) {
        return;
    }
    fd = open(log_file_path(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    while ((n = pread(fd, buf, sizeof(buf), pos)) > 0 &&
           os_write_all(os.saved_stderr, buf, n)) {
        pos += n;
    }
    close(fd);
}

void os_daemonize_fail(void)
{
    uint8_t status = 1;

    fflush(stderr);
    os_log_replay();
    if (os.daemon_pipe >= 0) {
        /*
         * The pipe stays open until the process exits: the parent exits
         * on its end-of-file, once the pidfile is gone.
         */
        os_write_all(os.daemon_pipe, &status, 1);
    }
}

/* ---- -pidfile ---------------------------------------------------------- */

static bool os_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* fstat and lock a freshly opened pidfile; closes fd on error. */
static bool os_pidfile_try_lock(int fd, struct stat *st, GError **errp)
{
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

    if (fstat(fd, st) < 0) {
        error_setg(errp, "Cannot stat file: %s", g_strerror(errno));
    } else if (fcntl(fd, F_SETLK, &lock) < 0) {
        error_setg(errp, "Cannot lock pid file: %s", g_strerror(errno));
    } else {
        return true;
    }
    close(fd);
    return false;
}

/* Open and lock the pidfile, QEMU's loop; returns the fd or -1. */
static int os_pidfile_lock(GError **errp)
{
    for (;;) {
        struct stat opened, now;
        int fd = open(os.pidfile_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

        if (fd < 0) {
            error_setg(errp, "Could not create '%s': %s", os.pidfile_arg,
                       g_strerror(errno));
            return -1;
        }
        if (!os_pidfile_try_lock(fd, &opened, errp)) {
            return -1;
        }
        if (stat(os.pidfile_path, &now) == 0 && os_same_file(&opened, &now)) {
            return fd;
        }
        close(fd);      /* removed or replaced meanwhile: try again */
    }
}

static bool os_pidfile_write(int fd, GError **errp)
{
    g_autofree char *text = g_strdup_printf("%d\n", (int)getpid());

    if (ftruncate(fd, 0) < 0) {
        error_setg(errp, "Failed to truncate pid file: %s",
                   g_strerror(errno));
        return false;
    }
    if (!os_write_all(fd, text, strlen(text))) {
        error_setg(errp, "Failed to write pid file");
        return false;
    }
    return true;
}

bool os_pidfile_create(GError **errp)
{
    g_autoptr(GError) err = NULL;
    int fd;

    if (!os.pidfile_path) {
        return true;
    }
    fd = os_pidfile_lock(&err);
    if (fd >= 0 && !os_pidfile_write(fd, &err)) {
        unlink(os.pidfile_path);
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        error_setg(errp, "cannot create PID file: %s", err->message);
        return false;
    }
    os.pidfile_fd = fd;
    return true;
}

/* Remove the pidfile if the path still names the file we locked. */
static void os_pidfile_remove(void)
{
    struct stat ours, now;

    if (os.pidfile_fd < 0) {
        return;
    }
    if (fstat(os.pidfile_fd, &ours) == 0 &&
        stat(os.pidfile_path, &now) == 0 && os_same_file(&ours, &now)) {
        unlink(os.pidfile_path);
    }
    close(os.pidfile_fd);       /* drops the lock */
    os.pidfile_fd = -1;
}

/* ---- -D logfile -------------------------------------------------------- */

/*
 * Keep the stderr we started with (for os_log_replay()) until os_ready(),
 * then let util/log.c put the -D file on it.
 */
bool os_log_open(GError **errp)
{
    if (!log_file_path()) {
        return true;
    }
    fflush(stderr);
    os.saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (!log_file_open(errp)) {
        close(os.saved_stderr);
        os.saved_stderr = -1;
        return false;
    }
    return true;
}

/* ---- readiness --------------------------------------------------------- */

/* Fill addr from NOTIFY_SOCKET ("/path" or "@abstract"); returns length. */
static socklen_t os_notify_address(const char *name, struct sockaddr_un *addr)
{
    size_t len = strlen(name);

    if ((name[0] != '/' && name[0] != '@') || len < 2 ||
        len >= sizeof(addr->sun_path)) {
        return 0;
    }
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    memcpy(addr->sun_path, name, len);
    if (name[0] == '@') {
        addr->sun_path[0] = '\0';
    }
    return offsetof(struct sockaddr_un, sun_path) + len;
}

/* systemd's sd_notify("READY=1"), without libsystemd. */
static void os_notify_systemd(void)
{
    const char *name = g_getenv("NOTIFY_SOCKET");
    g_autofree char *msg = NULL;
    struct sockaddr_un addr;
    socklen_t addr_len;
    int fd;

    if (!name || !name[0]) {
        return;
    }
    addr_len = os_notify_address(name, &addr);
    msg = g_strdup_printf("READY=1\nMAINPID=%d\n", (int)getpid());
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (!addr_len) {
        log_warn("NOTIFY_SOCKET=%s: unsupported address, systemd not "
                 "notified", name);
    } else if (fd < 0 || sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
                                (struct sockaddr *)&addr, addr_len) < 0) {
        log_warn("NOTIFY_SOCKET=%s: %s", name, g_strerror(errno));
    }
    if (fd >= 0) {
        close(fd);
    }
    g_unsetenv("NOTIFY_SOCKET");
}

void os_ready(void)
{
    uint8_t status = 0;

    os_notify_systemd();
    fflush(stdout);
    fflush(stderr);
    if (os.daemonize) {
        os_fd_to_devnull(STDOUT_FILENO);
        if (!log_file_path()) {
            os_fd_to_devnull(STDERR_FILENO);
        }
    }
    if (os.saved_stderr >= 0) {
        close(os.saved_stderr);
        os.saved_stderr = -1;
    }
    if (os.daemon_pipe >= 0) {
        os_write_all(os.daemon_pipe, &status, 1);
        close(os.daemon_pipe);
        os.daemon_pipe = -1;
    }
}

void os_cleanup(void)
{
    os_pidfile_remove();
    if (os.saved_stderr >= 0) {
        close(os.saved_stderr);
        os.saved_stderr = -1;
    }
    g_clear_pointer(&os.pidfile_arg, g_free);
    g_clear_pointer(&os.pidfile_path, g_free);
}
