/*
 * DOC: the built-in default network
 *
 * `vmwire` alone (no -netdev, -device or monitor) is one Ethernet segment
 * for any number of QEMU VMs, with DHCP and NAT to the host:
 *
 *   VMs --unix stream--> [vms: DIR/default.sock, hubid=0] --.
 *   VMs --TCP socket---> [tcp: 127.0.0.1:5555, hubid=0] ----+-- hub 0 (learning)
 *   VMs --vhost-user---> [vhost: DIR/vhost-user.sock, hubid=0]-+
 *                        [uplink: -netdev user] --[uplink.port]--'
 *   QMP: DIR/qmp.sock
 *
 * DIR is $RUNTIME_DIRECTORY (what systemd's RuntimeDirectory=vmwire
 * sets: /run/vmwire for the system unit), else $XDG_RUNTIME_DIR/vmwire,
 * else ./vmwire under the working directory (made 0700 if missing).
 * Under socket activation (system/listen-fds.c) a socket passed under
 * the name vmwire-default, vmwire-tcp or vmwire-vhost-user replaces the
 * listener vms, tcp or vhost (`addr.type=fd,addr.str=NAME`; tcp is then
 * a -netdev stream): the .socket unit owns that path or port, and vmwire
 * leaves its file alone.  The listeners take many VMs (hubid=,
 * net/stream-multi.c): every connection becomes its own hub port and is
 * logged with its MAC when it joins and leaves.  The
 * uplink is libslirp with QEMU's defaults (10.0.2.0/24, gateway and host
 * 10.0.2.2, DNS 10.0.2.3, leases from 10.0.2.15).  Everything is built
 * through the same option strings a user could type, so the default is no
 * special case anywhere else.  A socket file left by a crashed run is
 * replaced; one a live vmwire listens on makes startup fail ("Address
 * already in use"), which default_net_explain() cannot hide.
 */
#include "system/default-net.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>

#include <sys/socket.h>
#include <sys/un.h>

#include "monitor/monitor.h"
#include "system/listen-fds.h"
#include "util/log.h"

static struct {
    char *dir;
    char *vm_socket;
    char *vhost_socket;
    char *qmp_socket;
    char *tcp;                  /* HOST:PORT of the TCP listener */
    GPtrArray *options;         /* char *, NULL-terminated */
} default_net;

static char *default_net_dir(void)
{
    const char *service = g_getenv("RUNTIME_DIRECTORY");
    const char *runtime = g_getenv("XDG_RUNTIME_DIR");
    g_autofree char *cwd = NULL;

    if (service && *service) {
        /* systemd separates several RuntimeDirectory= with ':'. */
        return g_strndup(service, strcspn(service, ":"));
    }
    if (runtime && *runtime) {
        return g_build_filename(runtime, "vmwire", NULL);
    }
    cwd = g_get_current_dir();
    return g_build_filename(cwd, "vmwire", NULL);
}

/* The unix socket file a passed socket listens on, or NULL. */
static char *default_net_fd_path(int fd)
{
    struct sockaddr_un un = { 0 };
    socklen_t len = sizeof(un);

    if (getsockname(fd, (struct sockaddr *)&un, &len) < 0 ||
        un.sun_family != AF_UNIX || !un.sun_path[0]) {
        return NULL;
    }
    return g_strndup(un.sun_path, sizeof(un.sun_path));
}

/* HOST:PORT of a passed TCP socket, or NULL. */
static char *default_net_fd_inet(int fd)
{
    struct sockaddr_storage sa = { 0 };
    socklen_t len = sizeof(sa);
    char host[64], port[16];

    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 ||
        getnameinfo((struct sockaddr *)&sa, len, host, sizeof(host), port,
                    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        return NULL;
    }
    return sa.ss_family == AF_INET6 ? g_strdup_printf("[%s]:%s", host, port)
                                    : g_strdup_printf("%s:%s", host, port);
}

/*
 * The listener @id: the socket systemd passed as @fdname if there is one
 * (*@where: its path or address, when it has one), else @own.
 */
static void default_net_listener(const char *id, const char *kind,
                                 const char *fdname, char **where,
                                 char *own)
{
    int fd = listen_fds_lookup(fdname);
    g_autofree char *passed = NULL;

    if (fd < 0) {
        g_ptr_array_add(default_net.options, own);
        return;
    }
    g_free(own);
    passed = g_str_equal(id, "tcp") ? default_net_fd_inet(fd)
                                    : default_net_fd_path(fd);
    if (passed) {
        g_free(*where);
        *where = g_steal_pointer(&passed);
    }
    g_ptr_array_add(default_net.options,
                    g_strdup_printf("%s,id=%s,%saddr.type=fd,addr.str=%s,"
                                    "hubid=0", kind, id,
                                    g_str_equal(kind, "stream")
                                    ? "server=on," : "", fdname));
}

const char *const *default_net_options(GError **errp)
{
    g_autofree char *qmp = NULL;

    default_net.dir = default_net_dir();
    if (g_mkdir_with_parents(default_net.dir, 0700) < 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "cannot create %s for the default network: %s",
                    default_net.dir, g_strerror(errno));
        return NULL;
    }
    default_net.vm_socket = g_build_filename(default_net.dir, "default.sock",
                                             NULL);
    default_net.vhost_socket = g_build_filename(default_net.dir,
                                                "vhost-user.sock", NULL);
    default_net.qmp_socket = g_build_filename(default_net.dir, "qmp.sock",
                                              NULL);
    default_net.options = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(default_net.options, g_strdup("user,id=uplink"));
    g_ptr_array_add(default_net.options,
                    g_strdup("hubport,id=uplink.port,hubid=0,netdev=uplink"));
    default_net.tcp = g_strdup(DEFAULT_NET_TCP);
    default_net_listener("vms", "stream", "vmwire-default",
                         &default_net.vm_socket,
                         g_strdup_printf("stream,id=vms,server=on,"
                                         "addr.type=unix,addr.path=%s,"
                                         "hubid=0", default_net.vm_socket));
    default_net_listener("tcp", "stream", "vmwire-tcp", &default_net.tcp,
                         g_strdup("socket,id=tcp,listen=" DEFAULT_NET_TCP
                                  ",hubid=0"));
    default_net_listener("vhost", "vhost-user", "vmwire-vhost-user",
                         &default_net.vhost_socket,
                         g_strdup_printf("vhost-user,id=vhost,addr.type=unix,"
                                         "addr.path=%s,hubid=0",
                                         default_net.vhost_socket));
    g_ptr_array_add(default_net.options, NULL);

    qmp = g_strdup_printf("unix:%s,server=on,wait=off",
                          default_net.qmp_socket);
    if (!monitor_parse_qmp(qmp, errp)) {
        return NULL;
    }
    return (const char *const *)default_net.options->pdata;
}

/* Five log lines; the QEMU options continue theirs, without a prefix. */
void default_net_explain(void)
{
    log_report("no -netdev given: started the default network: a switch "
               "with DHCP and NAT (10.0.2.0/24, gateway 10.0.2.2, DNS "
               "10.0.2.3).");
    log_report("connect any number of QEMU VMs, each with its own mac=, "
               "with\n"
               "    -netdev stream,id=n0,server=off,addr.type=unix,"
               "addr.path=%s "
               "-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:01",
               default_net.vm_socket);
    log_report("or\n"
               "    -netdev socket,id=n0,connect=%s "
               "-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:02",
               default_net.tcp);
    log_report("or by vhost-user (guest memory shared with vmwire; size= "
               "is -m)\n"
               "    -object memory-backend-memfd,id=mem,size=256M,share=on "
               "-numa node,memdev=mem "
               "-chardev socket,id=c0,path=%s "
               "-netdev vhost-user,id=n0,chardev=c0 "
               "-device virtio-net-pci,netdev=n0,vectors=0,"
               "mac=52:54:00:12:34:03",
               default_net.vhost_socket);
    log_report("QMP monitor: %s", default_net.qmp_socket);
}

void default_net_cleanup(void)
{
    g_clear_pointer(&default_net.options, g_ptr_array_unref);
    g_clear_pointer(&default_net.dir, g_free);
    g_clear_pointer(&default_net.vm_socket, g_free);
    g_clear_pointer(&default_net.vhost_socket, g_free);
    g_clear_pointer(&default_net.qmp_socket, g_free);
    g_clear_pointer(&default_net.tcp, g_free);
}
