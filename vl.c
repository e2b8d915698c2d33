/*
 * DOC: vmwire's command line and process lifetime
 *
 *   vmwire [-netdev OPTS]... [-device OPTS]... [-object OPTS]...
 *          [-qmp SPEC]...
 *          [-chardev OPTS -mon OPTS]... [-daemonize] [-pidfile FILE]
 *          [-D LOGFILE] [-msg timestamp=on|off] [-sandbox on[,...]|off]
 *          [-runas USER] [-h|--help] [--version]
 *   vmwire --print-capabilities
 *
 * Options are read in one pass (cmdline_options[] says what each takes):
 * -netdev and -device are collected (key=value or JSON, read through the
 * generated QAPI visitors, as QMP's netdev_add and device_add), the others
 * are handed to their module at once.  Then, in order: daemonize, pidfile,
 * log file, every netdev, every device (so `-device nic-stub,netdev=n0`
 * may come before `-netdev ...,id=n0` as in QEMU), every -object (after
 * what it filters, as QEMU's late objects), every monitor.  A bad
 * option prints "vmwire: -netdev OPTS: message" and exits 1, leaving
 * nothing behind.  With
 * no -netdev, no -device and no monitor (-qmp, -mon), a built-in default
 * network is started and the QEMU options to reach it are printed; with a
 * monitor the network is whatever QMP builds (netdev_add, device_add).
 *
 * Every line for a person goes through util/log.h ("vmwire: ..."); the
 * -D file and `-msg timestamp=on` (QEMU's spelling: each line starts with
 * the UTC time, "2026-12-06T19:44:47.123456Z vmwire: ready") are set up
 * there.  A bad -msg value is refused as QEMU does: "vmwire: -msg
 * timestamp=maybe: Parameter 'timestamp' expects 'on' or 'off'",
 * "... Invalid parameter 'guest-name'" (vmwire runs no guest).  --help
 * and --version print to stdout, as a command-line tool does.
 * --print-capabilities follows QEMU's vhost-user backend-program
 * conventions (docs/interop/vhost-user.rst): it prints the backend's
 * capabilities as JSON (type "net", per docs/interop/vhost-user.json;
 * data/50-vmwire.json is the matching description file) and exits 0,
 * whatever else is on the command line.
 *
 * Sockets systemd passed (LISTEN_FDS, system/listen-fds.c) are taken
 * first of all, before -daemonize forks, and wait under their names for
 * an `addr.type=fd,addr.str=NAME` or `fd=NAME`; those no option took are
 * closed, with a warning, once every netdev and monitor exists.
 *
 * Once everything exists, -runas and -sandbox take effect (system/
 * sandbox.c: the user dropped to, the seccomp allowlist loaded; the
 * default network turns -sandbox on unless -sandbox is given), then
 * "vmwire: ready" goes to stderr (and the daemonized
 * parent exits, and systemd hears READY=1); the GLib main loop then runs
 * until SIGINT, SIGTERM or QMP quit, and everything is freed on the way
 * out.  SIGHUP reopens the log file (log_file_reopen()).
 */
#include <glib.h>
#include <glib-unix.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/device.h"
#include "monitor/monitor.h"
#include "net/net.h"
#include "net/netdev.h"
#include "system/default-net.h"
#include "system/listen-fds.h"
#include "system/object.h"
#include "system/os.h"
#include "system/sandbox.h"
#include "util/error.h"
#include "util/log.h"
#include "util/sockets.h"


typedef struct CmdlineOption {
    const char *flag;       /* "-netdev", "-device" or "-object" */
    const char *value;      /* borrowed from argv */
} CmdlineOption;

static void usage(FILE *out)
{
    fprintf(out,
        "usage: vmwire [-netdev OPTIONS]... [-device OPTIONS]...\n"
        "\n"
        "QEMU's network backends as a daemon.  Options use QEMU's syntax:\n"
        "  -netdev socket,id=ID,listen=[HOST]:PORT\n"
        "  -netdev socket,id=ID,connect=HOST:PORT\n"
        "  -netdev socket,id=ID,udp=HOST:PORT,localaddr=HOST:PORT\n"
        "  -netdev socket,id=ID,mcast=GROUP:PORT[,localaddr=ADDR]\n"
        "  -netdev socket,id=ID,fd=N\n"
        "  -netdev socket|stream,...,hubid=N[,max-clients=M][,vlan=V]\n"
        "      (a listener: any number of VMs, each its own port of hub N)\n"
        "  -netdev user,id=ID[,net=ADDR/MASK][,hostfwd=RULE]...\n"
        "  -device nic-stub,id=ID,netdev=NETDEV[,mac=MAC][,ip=A.B.C.D[/N]]\n"
        "  -object filter-dump,id=ID,netdev=NETDEV,file=PATH[,maxlen=N]\n"
        "          [,queue=all|rx|tx][,status=on|off]  pcap capture\n"
        "or as JSON objects: -netdev '{\"type\": \"socket\", \"id\": "
        "\"ID\", ...}'\n"
        "\n"
        "With no -netdev, no -device and no monitor, vmwire starts its\n"
        "default network: a learning hub with DHCP and NAT (-netdev user)\n"
        "that any number of VMs join through $XDG_RUNTIME_DIR/vmwire/\n"
        "default.sock (./vmwire/ without XDG_RUNTIME_DIR) or %s, with\n"
        "a QMP monitor at qmp.sock beside it; it prints the QEMU options.\n"
        "With only a monitor, it starts empty: build over QMP.\n"
        "\n"
        "  -qmp unix:PATH,server=on,wait=off  a QMP monitor "
        "(or tcp:HOST:PORT,...)\n"
        "  -chardev socket,id=C,path=PATH,server=on,wait=off\n"
        "  -mon chardev=C,mode=control        the same, QEMU's long form\n"
        "  -daemonize     detach; the parent exits 0 once all is set up\n"
        "  -pidfile FILE  write and lock a pidfile\n"
        "  -D FILE        log to FILE (reopened on SIGHUP)\n"
        "  -msg timestamp=on  start every log line with the UTC time\n"
        "  -sandbox on[,spawn=deny][,elevateprivileges=deny][,...]|off\n"
        "                 run under a seccomp allowlist once set up\n"
        "                 (on by default for the default network)\n"
        "  -runas USER    drop to USER (or UID:GID) once set up\n"
        "  -h, --help     this text\n"
        "  --version      print the version\n"
        "  --print-capabilities  vhost-user backend capabilities (JSON)\n",
        DEFAULT_NET_TCP);
}

/*
 * -netdev STR and -device STR: the string (key=value or JSON) through the
 * generated visitor into a Netdev or DeviceOptions, then netdev_add() or
 * device_add(), which QMP's netdev_add and device_add call too.
 */
static bool cmdline_netdev_add(const char *str, GError **errp)
{
    g_autoptr(Netdev) netdev = netdev_parse(str, errp);

    return netdev && netdev_add(netdev, errp);
}

static bool cmdline_device_add(const char *str, GError **errp)
{
    g_autoptr(DeviceOptions) opts = device_parse(str, errp);

    return opts && device_add(opts, errp);
}

/* -object STR: as QMP's object-add (system/object.c). */
static bool cmdline_object_add(const char *str, GError **errp)
{
    g_autoptr(ObjectOptions) opts = object_parse(str, errp);

    return opts && object_add(opts, errp);
}

/* Create one -netdev, -device or -object; on error print and fail. */
static bool cmdline_option_apply(const CmdlineOption *opt)
{
    g_autoptr(GError) err = NULL;
    bool ok;

    if (g_str_equal(opt->flag, "-netdev")) {
        ok = cmdline_netdev_add(opt->value, &err);
    } else if (g_str_equal(opt->flag, "-object")) {
        ok = cmdline_object_add(opt->value, &err);
    } else {
        ok = cmdline_device_add(opt->value, &err);
    }
    if (ok) {
        return true;
    }
    log_report("%s %s: %s", opt->flag, opt->value, err->message);
    return false;
}

static void warn_unpeered(NetClientState *nc, void *opaque)
{
    if (nc->info->no_peer) {
        return;
    }
    if (!nc->peer && nc->info->type == NET_CLIENT_DRIVER_HUBPORT) {
        log_warn("hub port %s has no peer", nc->name);
    }
    if (!nc->peer && !net_client_is_nic(nc)) {
        log_warn("netdev %s has no peer", nc->name);
    }
}

/* A monitor on the command line: no default network (see main()). */
static bool monitor_given;

static bool opt_qmp(const char *arg, GError **errp)
{
    monitor_given = true;
    return monitor_parse_qmp(arg, errp);
}

static bool opt_chardev(const char *arg, GError **errp)
{
    return monitor_parse_chardev(arg, errp);
}

static bool opt_mon(const char *arg, GError **errp)
{
    monitor_given = true;
    return monitor_parse_mon(arg, errp);
}

static bool opt_daemonize(const char *arg, GError **errp)
{
    os_set_daemonize();
    return true;
}

static bool opt_pidfile(const char *arg, GError **errp)
{
    os_set_pidfile(arg);
    return true;
}

static bool opt_logfile(const char *arg, GError **errp)
{
    os_set_logfile(arg);
    return true;
}

static bool opt_msg(const char *arg, GError **errp)
{
    return log_parse_msg_option(arg, errp);
}

/* -sandbox given: the default network does not turn it on (see main()). */
static bool sandbox_given;

static bool opt_sandbox(const char *arg, GError **errp)
{
    sandbox_given = true;
    return sandbox_parse(arg, errp);
}

static bool opt_runas(const char *arg, GError **errp)
{
    return sandbox_set_runas(arg, errp);
}

/* Options other than -netdev/-device, handled when read. */
typedef struct CmdlineHandler {
    const char *flag;
    bool has_arg;
    bool (*handle)(const char *arg, GError **errp);
} CmdlineHandler;

static const CmdlineHandler cmdline_handlers[] = {
    { "-qmp", true, opt_qmp },
    { "-chardev", true, opt_chardev },
    { "-mon", true, opt_mon },
    { "-daemonize", false, opt_daemonize },
    { "-pidfile", true, opt_pidfile },
    { "-D", true, opt_logfile },
    { "-msg", true, opt_msg },
    { "-sandbox", true, opt_sandbox },
    { "-runas", true, opt_runas },
};

static const CmdlineHandler *cmdline_handler_find(const char *flag)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cmdline_handlers); i++) {
        if (g_str_equal(cmdline_handlers[i].flag, flag)) {
            return &cmdline_handlers[i];
        }
    }
    return NULL;
}

static void cmdline_handle(const CmdlineHandler *h, const char *arg)
{
    g_autoptr(GError) err = NULL;

    if (!h->handle(arg, &err)) {
        log_report("%s%s%s: %s", h->flag, arg ? " " : "", arg ? arg : "",
                   err->message);
        exit(1);
    }
}

static const char *cmdline_arg(int argc, char **argv, int i,
                               const char *flag)
{
    if (i + 1 >= argc) {
        log_report("%s: requires an argument", flag);
        exit(1);
    }
    return argv[i + 1];
}

/*
 * QEMU's vhost-user "backend program conventions": --print-capabilities
 * anywhere prints the JSON and exits 0; other options are ignored.
 */
static void cmdline_print_capabilities(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (g_str_equal(argv[i], "--print-capabilities")) {
            printf("{\n  \"type\": \"net\",\n  \"features\": []\n}\n");
            exit(0);
        }
    }
}

/* Collect -netdev/-device in order; exits on --help, --version or errors. */
static GArray *cmdline_parse(int argc, char **argv)
{
    GArray *opts = g_array_new(false, false, sizeof(CmdlineOption));

    cmdline_print_capabilities(argc, argv);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *flag = arg[0] == '-' && arg[1] == '-' ? arg + 1 : arg;
        const CmdlineHandler *h = cmdline_handler_find(flag);

        if (g_str_equal(flag, "-h") || g_str_equal(flag, "-help")) {
            usage(stdout);
            exit(0);
        } else if (g_str_equal(flag, "-version")) {
            printf("vmwire version %s\n", VMWIRE_VERSION);
            exit(0);
        } else if (g_str_equal(flag, "-netdev") ||
                   g_str_equal(flag, "-device") ||
                   g_str_equal(flag, "-object")) {
            CmdlineOption opt = { flag, cmdline_arg(argc, argv, i, flag) };

            g_array_append_val(opts, opt);
            i++;
        } else if (h) {
            cmdline_handle(h, h->has_arg ? cmdline_arg(argc, argv, i, flag)
                                         : NULL);
            i += h->has_arg;
        } else {
            log_report("%s: invalid option", arg);
            fprintf(stderr, "Try 'vmwire --help' for more information.\n");
            exit(1);
        }
    }
    return opts;
}

/* Apply every option given as @flag, in order. */
static bool cmdline_apply_all(GArray *opts, const char *flag)
{
    for (unsigned i = 0; i < opts->len; i++) {
        const CmdlineOption *opt = &g_array_index(opts, CmdlineOption, i);

        if (g_str_equal(opt->flag, flag) && !cmdline_option_apply(opt)) {
            return false;
        }
    }
    return true;
}

/* The built-in default network's -netdev options (system/default-net.c). */
static bool default_config_add(GArray *opts)
{
    g_autoptr(GError) err = NULL;
    const char *const *netdevs = default_net_options(&err);

    if (!netdevs) {
        log_report("%s", err->message);
        return false;
    }
    for (; *netdevs; netdevs++) {
        CmdlineOption opt = { "-netdev", *netdevs };
        g_array_append_val(opts, opt);
    }
    return true;
}

static GMainLoop *main_loop;

static gboolean on_signal_quit(gpointer unused)
{
    g_main_loop_quit(main_loop);
    return G_SOURCE_CONTINUE;
}

static gboolean on_signal_hup(gpointer unused)
{
    log_file_reopen();
    return G_SOURCE_CONTINUE;
}

static void quit_from_monitor(void)
{
    g_main_loop_quit(main_loop);
}

/* Everything after the command line was read; false: print and exit 1. */
static bool startup(GArray *opts, bool use_default)
{
    g_autoptr(GError) err = NULL;

    if (!os_daemonize_start(&err) || !os_pidfile_create(&err) ||
        !os_log_open(&err)) {
        log_report("%s", err->message);
        return false;
    }
    /* Filters, like QEMU's "late" objects, come after what they filter. */
    if (!cmdline_apply_all(opts, "-netdev") ||
        !cmdline_apply_all(opts, "-device") ||
        !cmdline_apply_all(opts, "-object")) {
        return false;
    }
    if (!monitor_start_all(&err)) {
        log_report("%s", err->message);
        return false;
    }
    listen_fds_close_unclaimed();
    net_client_foreach(warn_unpeered, NULL);
    if (use_default) {
        default_net_explain();
    }
    return true;
}

/*
 * -runas and -sandbox (system/sandbox.c): once every socket is bound and
 * the signal handlers (GLib's worker thread) exist, before "ready".
 */
static bool confine(void)
{
    g_autoptr(GError) err = NULL;

    if (!sandbox_enter(&err)) {
        log_report("%s", err->message);
        return false;
    }
    return true;
}

static void shutdown_all(void)
{
    monitor_cleanup();
    object_cleanup();
    net_cleanup();
    socket_fd_reserve_close();
    os_cleanup();
    log_file_cleanup();
    default_net_cleanup();
    sandbox_cleanup();
    listen_fds_cleanup();
}

/* Sockets systemd passed (system/listen-fds.c): before anything forks. */
static void take_listen_fds(void)
{
    g_autoptr(GError) err = NULL;

    if (!listen_fds_init(&err)) {
        log_report("%s", err->message);
        listen_fds_cleanup();
        exit(1);
    }
}

int main(int argc, char **argv)
{
    g_autoptr(GArray) opts = NULL;
    bool use_default, ok;
    guint signals[3] = { 0 };

    setvbuf(stderr, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    /*
     * A fixed threshold: glibc's moving one would, after the first
     * connection's 320 KiB buffers are freed, serve the next ones from
     * the heap, whose freed pages stay resident (docs/security.md,
     * "Bounded resources").  Connection buffers stay mmap()ed.
     */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    take_listen_fds();
    opts = cmdline_parse(argc, argv);
    use_default = opts->len == 0 && !monitor_given;
    if (use_default && !sandbox_given) {
        sandbox_parse("on", NULL);
    }
    main_loop = g_main_loop_new(NULL, false);
    monitor_quit_handler = quit_from_monitor;
    ok = (!use_default || default_config_add(opts)) &&
         startup(opts, use_default);
    if (ok) {
        signals[0] = g_unix_signal_add(SIGINT, on_signal_quit, NULL);
        signals[1] = g_unix_signal_add(SIGTERM, on_signal_quit, NULL);
        signals[2] = g_unix_signal_add(SIGHUP, on_signal_hup, NULL);
        ok = confine();
    }
    if (ok) {
        log_report("ready");
        os_ready();
        g_main_loop_run(main_loop);
        log_report("shutting down");
    } else {
        os_daemonize_fail();
    }
    for (size_t i = 0; i < G_N_ELEMENTS(signals); i++) {
        if (signals[i]) {
            g_source_remove(signals[i]);
        }
    }
    shutdown_all();
    g_main_loop_unref(main_loop);
    return ok ? 0 : 1;
}
