/*
 * DOC: -sandbox (a seccomp allowlist) and -runas (see system/sandbox.h)
 *
 * Spelled as QEMU's -sandbox (qemu-seccomp.c's options: enable as the
 * implied key, obsolete=, elevateprivileges=, spawn=, resourcecontrol=,
 * "invalid argument for spawn"), but where QEMU denies a list of calls
 * vmwire allows a list: sandbox_allowed[] below is every system call
 * vmwire makes once it is running, QMP hot-plug included, and nothing
 * else.  QEMU's deny sets are subsets of what that list refuses, so
 * obsolete=, spawn= and resourcecontrol= change nothing in the filter
 * (their calls are never allowed); elevateprivileges=deny (or children:
 * vmwire has no children) also empties the capability sets before the
 * filter is loaded.  spawn: the one feature that starts a process,
 * guestfwd=...-cmd:, is refused under -sandbox on (sandbox_check_spawn()),
 * since the command would inherit the allowlist and could not run.
 *
 * sandbox_enter() runs after startup has bound every socket and before
 * "vmwire: ready": -runas first (initgroups, setgid, setuid, as QEMU's
 * change_process_uid()), then no_new_privs, capabilities, and the filter,
 * loaded with TSYNC so GLib's worker thread (started by the first
 * g_unix_signal_add()) is confined too.
 *
 * A refused call raises SIGSYS (SCMP_ACT_TRAP, never executed): the
 * handler writes one line naming the call ("vmwire: sandbox: system call
 * clone (56) is not allowed; exiting") with write(2) and exits with
 * SANDBOX_EXIT_STATUS (exit_group(2)).  It only reads what was prepared before the filter
 * was loaded (the names from libseccomp, the line's prefix), so it is
 * async-signal-safe.  rt_sigaction is allowed for every signal but
 * SIGSYS, so nothing can take the handler's place.  GLib's worker thread blocks every signal: a call
 * refused there kills vmwire by SIGSYS without the line (it only polls,
 * reads and writes its eventfd, all allowed).
 *
 * VMWIRE_SANDBOX_SELFTEST=NAME (read by sandbox_enter(), honoured only
 * with -sandbox on) makes the main loop call system call NAME once,
 * with zero arguments, right after ready: the test of the handler
 * (tests/qtest/test-sandbox.py).  Only whoever starts vmwire can set it,
 * the same person who chooses its command line.
 */
#include "system/sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"
#include "util/keyval.h"
#include "util/log.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

/* Names of system calls 0 .. SANDBOX_NAMES - 1, for the SIGSYS handler. */
#define SANDBOX_NAMES 512

static struct {
    bool enabled;               /* -sandbox on */
    bool drop_caps;             /* elevateprivileges=deny|children */
    bool installed;             /* the filter is loaded */
    bool runas;                 /* -runas given */
    char *runas_name;           /* for initgroups(), NULL for UID:GID */
    uid_t runas_uid;
    gid_t runas_gid;
    char *names[SANDBOX_NAMES]; /* from libseccomp, or NULL */
    int selftest_nr;            /* VMWIRE_SANDBOX_SELFTEST, or -1 */
} sandbox = {
    .selftest_nr = -1,
};

/*
 * Every call vmwire makes once it runs.  The rows after the plain list
 * allow a call only with some arguments (sandbox_add_rules()).
 * docs/security.md lists each with why it is needed.
 */
static const int sandbox_allowed[] = {
    /* the main loop, eventfds, signals */
    SCMP_SYS(poll), SCMP_SYS(eventfd2), SCMP_SYS(futex),
    SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall),
    /* reading and writing fds */
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(close),
    SCMP_SYS(fcntl), SCMP_SYS(dup2),
    /* sockets: peers, listeners, QMP, hot-plug, libslirp */
    SCMP_SYS(bind), SCMP_SYS(connect), SCMP_SYS(listen), SCMP_SYS(accept4),
    SCMP_SYS(accept), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
    SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(shutdown),
    SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg),
    SCMP_SYS(sendmsg), SCMP_SYS(recvmmsg), SCMP_SYS(sendmmsg),
    /* memory: malloc, vhost-user's shared guest memory */
    SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect),
    SCMP_SYS(madvise), SCMP_SYS(brk),
    /* files: filter-dump, -D reopen, socket files, pidfile, resolver */
    SCMP_SYS(openat), SCMP_SYS(newfstatat), SCMP_SYS(lseek), SCMP_SYS(unlink),
    /* time, identity, randomness */
    SCMP_SYS(clock_gettime), SCMP_SYS(getpid), SCMP_SYS(gettid),
    SCMP_SYS(getrandom),
    /* leaving: exit, or abort() on a failed assertion */
    SCMP_SYS(exit_group), SCMP_SYS(tgkill),
};

/* socket(): only the families vmwire uses (not AF_PACKET, AF_NETLINK...). */
static const int sandbox_socket_families[] = { AF_UNIX, AF_INET, AF_INET6 };

/* ---- -sandbox and -runas ------------------------------------------------ */

/* QEMU's boolean words (qapi_bool_parse()). */
static bool sandbox_parse_bool(const char *value, bool *out)
{
    static const char *const yes[] = { "on", "yes", "true", "y" };
    static const char *const no[] = { "off", "no", "false", "n" };

    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_str_equal(value, yes[i]) || g_str_equal(value, no[i])) {
            *out = g_str_equal(value, yes[i]);
            return true;
        }
    }
    return false;
}

/* One KEY=VALUE of -sandbox; @enable is the "on"/"off" (implied key). */
static bool sandbox_parse_key(const char *key, const char *value,
                              bool *enable, GError **errp)
{
    bool deny = g_str_equal(value, "deny");
    bool allow = g_str_equal(value, "allow");

    if (g_str_equal(key, "enable")) {
        if (!sandbox_parse_bool(value, enable)) {
            error_setg(errp, "Parameter 'enable' expects 'on' or 'off'");
            return false;
        }
    } else if (g_str_equal(key, "elevateprivileges")) {
        if (!deny && !allow && !g_str_equal(value, "children")) {
            error_setg(errp, "invalid argument for elevateprivileges");
            return false;
        }
        sandbox.drop_caps = !allow;
    } else if (g_str_equal(key, "obsolete") || g_str_equal(key, "spawn") ||
               g_str_equal(key, "resourcecontrol")) {
        if (!deny && !allow) {
            error_setg(errp, "invalid argument for %s", key);
            return false;
        }
    } else {
        error_setg(errp, "Invalid parameter '%s'", key);
        return false;
    }
    return true;
}

bool sandbox_parse(const char *arg, GError **errp)
{
    g_autoptr(KeyValList) list = keyval_parse(arg, "enable", errp);
    bool enable = false;

    if (!list) {
        return false;
    }
    sandbox.drop_caps = false;
    for (unsigned i = 0; i < keyval_count(list); i++) {
        if (!sandbox_parse_key(keyval_key_at(list, i),
                               keyval_value_at(list, i), &enable, errp)) {
            return false;
        }
    }
    sandbox.enabled = enable;
    return true;
}

/* "UID:GID", QEMU's other spelling of -runas. */
static bool sandbox_parse_ids(const char *user, uid_t *uid, gid_t *gid)
{
    unsigned long u, g;
    char *end;

    if (!g_ascii_isdigit(user[0])) {
        return false;
    }
    errno = 0;
    u = strtoul(user, &end, 10);
    if (errno || *end != ':' || !g_ascii_isdigit(end[1])) {
        return false;
    }
    g = strtoul(end + 1, &end, 10);
    if (errno || *end || u > G_MAXUINT32 - 1 || g > G_MAXUINT32 - 1) {
        return false;
    }
    *uid = u;
    *gid = g;
    return true;
}

bool sandbox_set_runas(const char *user, GError **errp)
{
    struct passwd *pw = getpwnam(user);

    g_clear_pointer(&sandbox.runas_name, g_free);
    if (pw) {
        sandbox.runas_name = g_strdup(user);
        sandbox.runas_uid = pw->pw_uid;
        sandbox.runas_gid = pw->pw_gid;
    } else if (!sandbox_parse_ids(user, &sandbox.runas_uid,
                                  &sandbox.runas_gid)) {
        error_setg(errp, "User \"%s\" doesn't exist (and is not <uid>:<gid>)",
                   user);
        return false;
    }
    sandbox.runas = true;
    return true;
}

bool sandbox_enabled(void)
{
    return sandbox.enabled;
}

bool sandbox_check_spawn(const char *what, GError **errp)
{
    if (!sandbox.enabled) {
        return true;
    }
    error_setg(errp, "%s would start a process, which -sandbox on forbids "
               "(spawn=deny; a command would inherit vmwire's system call "
               "allowlist)", what);
    return false;
}

/* ---- dropping privileges ------------------------------------------------ */

/* QEMU's change_process_uid(): groups, then gid, then uid. */
static bool sandbox_drop_user(GError **errp)
{
    gid_t gid = sandbox.runas_gid;
    uid_t uid = sandbox.runas_uid;

    if (sandbox.runas_name ? initgroups(sandbox.runas_name, gid) < 0
                           : setgroups(1, &gid) < 0) {
        error_setg(errp, "-runas: Failed to set the groups of user %u: %s",
                   (unsigned)uid, g_strerror(errno));
        return false;
    }
    if (setgid(gid) < 0) {
        error_setg(errp, "-runas: Failed to setgid(%u): %s", (unsigned)gid,
                   g_strerror(errno));
        return false;
    }
    if (setuid(uid) < 0) {
        error_setg(errp, "-runas: Failed to setuid(%u): %s", (unsigned)uid,
                   g_strerror(errno));
        return false;
    }
    if (uid != 0 && setuid(0) == 0) {
        error_setg(errp, "-runas: could regain root after setuid(%u)",
                   (unsigned)uid);
        return false;
    }
    return true;
}

/* elevateprivileges=deny: empty effective, permitted, inheritable sets. */
static bool sandbox_drop_capabilities(GError **errp)
{
    struct __user_cap_header_struct header = {
        .version = _LINUX_CAPABILITY_VERSION_3,
    };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };

    if (syscall(SYS_capset, &header, data) < 0) {
        error_setg(errp, "failed to drop capabilities: %s", g_strerror(errno));
        return false;
    }
    return true;
}

/* ---- the filter --------------------------------------------------------- */

/* Append @s to @buf at *@len (async-signal-safe). */
static void sandbox_append(char *buf, size_t size, size_t *len, const char *s)
{
    while (*s && *len + 1 < size) {
        buf[(*len)++] = *s++;
    }
}

static void sandbox_sigsys(int sig, siginfo_t *info, void *context)
{
    char line[160], digits[12];
    size_t len = 0, n = sizeof(digits) - 1;
    int nr = info->si_syscall;
    unsigned v = nr < 0 ? 0 : (unsigned)nr;

    digits[n] = '\0';
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n);
    sandbox_append(line, sizeof(line), &len, "vmwire: sandbox: system call ");
    sandbox_append(line, sizeof(line), &len,
                   nr >= 0 && nr < SANDBOX_NAMES && sandbox.names[nr]
                   ? sandbox.names[nr] : "?");
    sandbox_append(line, sizeof(line), &len, " (");
    sandbox_append(line, sizeof(line), &len, digits + n);
    sandbox_append(line, sizeof(line), &len,
                   ") is not allowed; exiting\n");
    if (write(STDERR_FILENO, line, len) < 0) {
        /* nowhere left to say it */
    }
    /* Not _exit(): ASan's interceptor of it calls sigaltstack(). */
    syscall(SYS_exit_group, SANDBOX_EXIT_STATUS);
}

static bool sandbox_prepare_handler(GError **errp)
{
    struct sigaction sa = {
        .sa_sigaction = sandbox_sigsys,
        .sa_flags = SA_SIGINFO,
    };

    for (int nr = 0; nr < SANDBOX_NAMES; nr++) {
        sandbox.names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
                                                             nr);
    }
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) < 0) {
        error_setg(errp, "cannot install the SIGSYS handler: %s",
                   g_strerror(errno));
        return false;
    }
    return true;
}

/*
 * The allowlist, then the calls allowed with certain arguments only.
 * Each SCMP_An() is given its datum_b too (0; EQ and NE do not read it),
 * so that the struct it builds is initialized in full (clang's
 * -Wmissing-field-initializers).
 */
static int sandbox_add_rules(scmp_filter_ctx ctx)
{
    int rc = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(sandbox_allowed) && !rc; i++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sandbox_allowed[i], 0);
    }
    /* libslirp asks how big a waiting datagram is (FIONREAD), only that. */
    if (!rc) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_EQ, FIONREAD, 0));
    }
    /* GLib restores a signal's handler when its last source goes. */
    if (!rc) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigaction), 1,
                              SCMP_A0(SCMP_CMP_NE, SIGSYS, 0));
    }
    for (size_t i = 0; i < G_N_ELEMENTS(sandbox_socket_families) && !rc;
         i++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                              SCMP_A0(SCMP_CMP_EQ,
                                      sandbox_socket_families[i], 0));
    }
    return rc;
}

/* Is every thread but this one named (past its start-up calls)? */
static bool sandbox_threads_started(const char *self_name)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/task", 0, NULL);
    g_autofree char *self = g_strdup_printf("%d", (int)gettid());
    const char *tid;

    while (dir && (tid = g_dir_read_name(dir))) {
        g_autofree char *path = g_strdup_printf("/proc/self/task/%s/comm",
                                                tid);
        g_autofree char *comm = NULL;

        if (!g_str_equal(tid, self) &&
            (!g_file_get_contents(path, &comm, NULL, NULL) ||
             g_str_equal(comm, self_name))) {
            return false;
        }
    }
    return dir != NULL;
}

/*
 * GLib's worker thread is created by g_unix_signal_add() but may not have
 * run yet: its start-up (rseq, set_robust_list, ASan's sigaltstack, its
 * name "gmain") must come before the filter, which TSYNC applies to it.
 * It names itself last: wait (at most 2 s) until no other thread has our
 * own name.
 */
static void sandbox_wait_threads(void)
{
    g_autofree char *self_name = NULL;

    if (!g_file_get_contents("/proc/thread-self/comm", &self_name, NULL,
                             NULL)) {
        return;
    }
    for (int i = 0; i < 2000 && !sandbox_threads_started(self_name); i++) {
        g_usleep(1000);
    }
}

static bool sandbox_load_filter(GError **errp)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    int rc = ctx ? 0 : -ENOMEM;

    if (!rc) {
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    }
    if (!rc) {
        rc = sandbox_add_rules(ctx);
    }
    if (!rc) {
        rc = seccomp_load(ctx);
    }
    seccomp_release(ctx);
    if (rc) {
        error_setg(errp, "failed to install seccomp syscall filter in the "
                   "kernel: %s", g_strerror(-rc));
        return false;
    }
    return true;
}

/* VMWIRE_SANDBOX_SELFTEST=NAME: the call, once, from the main loop. */
static gboolean sandbox_selftest_fire(gpointer unused)
{
    long rc = syscall(sandbox.selftest_nr, 0, 0, 0, 0, 0, 0);

    log_report("sandbox self-test: system call %d was allowed (returned %ld)",
               sandbox.selftest_nr, rc);
    return G_SOURCE_REMOVE;
}

static bool sandbox_selftest_prepare(GError **errp)
{
    const char *name = g_getenv("VMWIRE_SANDBOX_SELFTEST");

    if (!name || !*name) {
        return true;
    }
    sandbox.selftest_nr = seccomp_syscall_resolve_name(name);
    if (sandbox.selftest_nr < 0) {
        error_setg(errp, "VMWIRE_SANDBOX_SELFTEST: unknown system call '%s'",
                   name);
        return false;
    }
    return true;
}

bool sandbox_enter(GError **errp)
{
    if (sandbox.runas && !sandbox_drop_user(errp)) {
        return false;
    }
    if (!sandbox.enabled) {
        return true;
    }
    if (!sandbox_selftest_prepare(errp) || !sandbox_prepare_handler(errp)) {
        return false;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        error_setg(errp, "failed to set no_new_privs: %s", g_strerror(errno));
        return false;
    }
    if (sandbox.drop_caps && !sandbox_drop_capabilities(errp)) {
        return false;
    }
    sandbox_wait_threads();
    if (!sandbox_load_filter(errp)) {
        return false;
    }
    sandbox.installed = true;
    if (sandbox.selftest_nr >= 0) {
        g_idle_add(sandbox_selftest_fire, NULL);
    }
    return true;
}

void sandbox_cleanup(void)
{
    for (int nr = 0; nr < SANDBOX_NAMES; nr++) {
        free(sandbox.names[nr]);
        sandbox.names[nr] = NULL;
    }
    g_clear_pointer(&sandbox.runas_name, g_free);
}

#if defined(__SANITIZE_ADDRESS__)
/*
 * LeakSanitizer's check at exit stops the threads with clone() and
 * ptrace(), which the filter refuses: under the filter it is skipped
 * (the unsandboxed test pass checks leaks).  LSan asks this hook.
 */
int __lsan_is_turned_off(void)
{
    return sandbox.installed;
}
#endif
