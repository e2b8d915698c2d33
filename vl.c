/*
 * DOC: vmwire's command line and process lifetime
 *
 *   vmwire [-netdev OPTS]... [-device OPTS]... [-h|--help] [--version]
 *
 * Options are collected first, then every netdev is created, then every
 * device (so `-device nic-stub,netdev=n0` may come before `-netdev ...,id=n0`
 * as in QEMU).  A bad option prints "vmwire: -netdev OPTS: message" and exits
 * 1, leaving nothing behind.  With no -netdev and no -device, a built-in
 * default network is started and the QEMU options to reach it are printed.
 *
 * Once everything exists "vmwire: ready" goes to stderr; the GLib main loop
 * then runs until SIGINT or SIGTERM, and every client is freed on the way
 * out.
 */
#include <glib.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/nic-stub.h"
#include "net/net.h"
#include "net/netdev.h"
#include "util/error.h"
#include "util/keyval.h"

#define DEFAULT_LISTEN  "127.0.0.1:5555"
#define DEFAULT_STUB_IP "10.0.2.100"

typedef struct CmdlineOption {
    const char *flag;       /* "-netdev" or "-device" */
    const char *value;      /* borrowed from argv */
} CmdlineOption;

typedef bool DeviceAddFunc(const KeyValList *opts, GError **errp);

typedef struct DeviceModel {
    const char *name;
    DeviceAddFunc *add;
} DeviceModel;

static const DeviceModel device_models[] = {
    { "nic-stub", nic_stub_device_add },
};

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
        "  -device nic-stub,id=ID,netdev=NETDEV[,mac=MAC][,ip=A.B.C.D[/N]]\n"
        "\n"
        "With no -netdev and no -device, vmwire listens on %s for one\n"
        "QEMU VM and puts a nic-stub answering ping at %s on its wire.\n"
        "\n"
        "  -h, --help     this text\n"
        "  --version      print the version\n",
        DEFAULT_LISTEN, DEFAULT_STUB_IP);
}

static const DeviceModel *device_model_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(device_models); i++) {
        if (g_str_equal(device_models[i].name, name)) {
            return &device_models[i];
        }
    }
    return NULL;
}

static bool device_add(const KeyValList *opts, GError **errp)
{
    const char *driver = keyval_get(opts, "driver");
    const DeviceModel *model;

    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        return false;
    }
    model = device_model_find(driver);
    if (!model) {
        error_setg(errp, "'%s' is not a valid device model name", driver);
        return false;
    }
    return model->add(opts, errp);
}

/* Create one -netdev or -device; on error print QEMU-style and fail. */
static bool cmdline_option_apply(const CmdlineOption *opt)
{
    bool netdev = g_str_equal(opt->flag, "-netdev");
    g_autoptr(GError) err = NULL;
    g_autoptr(KeyValList) opts = keyval_parse(opt->value,
                                              netdev ? "type" : "driver",
                                              &err);

    if (opts && (netdev ? netdev_add(opts, &err) : device_add(opts, &err))) {
        return true;
    }
    fprintf(stderr, "vmwire: %s %s: %s\n", opt->flag, opt->value,
            err->message);
    return false;
}

static void warn_unpeered(NetClientState *nc, void *opaque)
{
    if (!nc->peer && nc->info->type != NET_CLIENT_DRIVER_NIC) {
        fprintf(stderr, "vmwire: warning: netdev %s has no peer\n",
                nc->name);
    }
}

/* Collect -netdev/-device in order; exits on --help, --version or errors. */
static GArray *cmdline_parse(int argc, char **argv)
{
    GArray *opts = g_array_new(false, false, sizeof(CmdlineOption));

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *flag = arg[0] == '-' && arg[1] == '-' ? arg + 1 : arg;

        if (g_str_equal(flag, "-h") || g_str_equal(flag, "-help")) {
            usage(stdout);
            exit(0);
        } else if (g_str_equal(flag, "-version")) {
            printf("vmwire version %s\n", VMWIRE_VERSION);
            exit(0);
        } else if (g_str_equal(flag, "-netdev") ||
                   g_str_equal(flag, "-device")) {
            CmdlineOption opt = { flag, argv[i + 1] };

            if (i + 1 >= argc) {
                fprintf(stderr, "vmwire: %s: requires an argument\n", flag);
                exit(1);
            }
            g_array_append_val(opts, opt);
            i++;
        } else {
            fprintf(stderr, "vmwire: %s: invalid option\n", arg);
            fprintf(stderr, "Try 'vmwire --help' for more information.\n");
            exit(1);
        }
    }
    return opts;
}

static bool cmdline_apply_all(GArray *opts, bool netdevs)
{
    for (unsigned i = 0; i < opts->len; i++) {
        const CmdlineOption *opt = &g_array_index(opts, CmdlineOption, i);

        if (g_str_equal(opt->flag, "-netdev") == netdevs &&
            !cmdline_option_apply(opt)) {
            return false;
        }
    }
    return true;
}

static void default_config_add(GArray *opts)
{
    static const CmdlineOption defaults[] = {
        { "-netdev", "socket,id=vmwire0,listen=" DEFAULT_LISTEN },
        { "-device", "nic-stub,id=stub0,netdev=vmwire0,"
                     "mac=52:54:00:00:02:64,ip=" DEFAULT_STUB_IP "/24" },
    };

    g_array_append_vals(opts, defaults, G_N_ELEMENTS(defaults));
}

static void default_config_explain(void)
{
    fprintf(stderr,
        "vmwire: no -netdev given: started the default network.\n"
        "vmwire: a nic-stub at %s/24 waits behind a listener on %s.\n"
        "vmwire: connect one QEMU VM with:\n"
        "    -netdev socket,id=n0,connect=%s "
        "-device virtio-net-pci,netdev=n0\n"
        "vmwire: and in the guest: ip addr add 10.0.2.15/24 dev eth0; "
        "ip link set eth0 up; ping %s\n",
        DEFAULT_STUB_IP, DEFAULT_LISTEN, DEFAULT_LISTEN, DEFAULT_STUB_IP);
}

static gboolean on_signal_quit(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
    g_autoptr(GArray) opts = cmdline_parse(argc, argv);
    bool use_default = opts->len == 0;
    g_autoptr(GMainLoop) loop = NULL;
    guint sigint, sigterm;

    setvbuf(stderr, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    if (use_default) {
        default_config_add(opts);
    }
    if (!cmdline_apply_all(opts, true) || !cmdline_apply_all(opts, false)) {
        net_cleanup();
        return 1;
    }
    net_client_foreach(warn_unpeered, NULL);
    if (use_default) {
        default_config_explain();
    }
    loop = g_main_loop_new(NULL, false);
    sigint = g_unix_signal_add(SIGINT, on_signal_quit, loop);
    sigterm = g_unix_signal_add(SIGTERM, on_signal_quit, loop);
    fprintf(stderr, "vmwire: ready\n");
    g_main_loop_run(loop);
    fprintf(stderr, "vmwire: shutting down\n");
    g_source_remove(sigint);
    g_source_remove(sigterm);
    net_cleanup();
    return 0;
}
