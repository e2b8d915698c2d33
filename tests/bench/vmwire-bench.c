/*
 * DOC: vmwire-bench, the same workload through three relays, side by side
 *
 * One run on one machine drives identical traffic through:
 *
 *   vmwire   the built daemon: one `-netdev socket,listen=` per port, all
 *            joined by `-netdev hubport` on hub 0 (datagram cells: one
 *            `-netdev dgram` per port)
 *   qemu     QEMU as a relay: `-M none` with the same socket backends
 *            joined by hubports (the command line of qemu-net.md)
 *   copy     a byte-copy relay contained here: it accepts one connection on
 *            each of two ports and copies up to 256 KiB per read to the
 *            other, never parsing frames (datagrams: one recvmmsg batch,
 *            sent on with sendmmsg); for the ports/N cells, one on each
 *            of N ports, port i's bytes copied to port i+1 from one epoll
 *            thread (copy-ports.c).  That is the ceiling for any
 *            user-space relay on this machine.
 *
 * Every relay runs as its own process, started fresh for every repetition
 * of every cell, so its peak RSS (VmHWM) belongs to that cell alone.
 *
 * The load generator speaks QEMU's stream framing (4-byte big-endian
 * length, then the frame).  A sender thread writes many frames per system
 * call and keeps at most --window frames in flight (sent and not yet
 * received); a receiver thread reads 256 KiB at a time, parses every frame
 * and checks that each one is intact (length, ether type, sequence number,
 * a payload pattern derived from it) and in order.  So the figure is
 * lossless throughput: a lost, reordered or damaged frame fails the cell.
 *
 * Cells (each repeated --repeat times, the median reported):
 *   stream   2 ports, one direction, at each --sizes frame size
 *   latency  2 ports, one frame in flight, echoed back: median round trip
 *   ports    N ports (--ports, up to 256) all sending at once, port i to
 *            port i+1; the flows start once every port's announcement
 *            has come back from every other port (the hub has learned
 *            them all; through the copy relay, port i hears port i-1's
 *            only).  The flows are driven by stream-mux.c: a few
 *            threads (one per core but one, --ports-threads), each with
 *            epoll over its share of the flows' nonblocking sockets, the same
 *            frames, window and checks as the threaded generator.  That
 *            one (a sender and a receiver thread per flow, 512 threads
 *            for ports/256; --ports-threads -1) cost the generator 1.1-1.5
 *            us of CPU per frame at ports/256 against 0.45 at ports/2,
 *            and left vmwire less of the 2 cores (docs/performance.md)
 *   flood    2 ports sending broadcast frames
 *   stuck    the same with a third port whose client connects and never
 *            reads, each run paired with a flood run just before it;
 *            "vs ref" is the median of the pairs' ratios
 *   dgram    2 udp ports, paced at rates rising 1.5x a step up to the
 *            first loss, then bisected 3 times: the highest rate with no
 *            loss; and the loss at full speed
 *   vxlan    the same through two vmwire daemons joined by -netdev vxlan
 *            over loopback (127.0.0.2 and .3), a udp port on each hub:
 *            the generator sends into one daemon's port and receives from
 *            the other's (vmwire only: QEMU has no VXLAN); RSS and CPU are
 *            the two daemons' sum; both run udpcsum=on (--vxlan-opts)
 *
 *   vhost-user/N, vhost-user-stream/1500, vhost-user-rtt, dpdk/N,
 *   memcpy/N  vhost-user frontends through vmwire and through DPDK's
 *            vhost switch, and one core's memcpy: see vu-cells.c
 *            (--vu-sizes sets N, 64 and 1500 by default)
 *
 * After the table, the targets of issues 12 and 14 (targets[]) whose
 * cells ran: the two medians, their ratio, whether it holds; and the
 * copy relay's own ports/256 over ports/2, the ceiling of that target.
 *
 * Output: a table on stdout, and --md / --csv files with the same rows.
 * Figures are never asserted here: the machine is shared and noisy;
 * compare the ratios of one run.
 *
 * Exit status: 1 if a vmwire relay died (crash, signal, exit mid-cell) or
 * a vmwire stream-framed cell lost or damaged a frame (cell_judge());
 * dgram loss, and QEMU or the copy relay failing, are only reported.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <glib.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define BENCH_DGRAM_BATCH 32
#define BENCH_DGRAM_SIZE 1500       /* the dgram cell's frames */
#define BENCH_DGRAM_MAX_RATE 1.5e6  /* the ladder's top, frames/s */
#define BENCH_DGRAM_BISECT 3        /* halvings of the first lossy step */
#define BENCH_MAX_SAMPLES 32
#define BENCH_QEMU_MAX_PORTS 64     /* cell_possible() */

const char *const relay_names[RELAY_COUNT] = { "vmwire", "qemu", "copy", "dpdk", "memcpy" };

BenchOptions opt = {
    .seconds = 2.0, .repeat = 3, .window = 1024, .window_bytes = 1024 * 1024,
    /* UDP checksums let the pair use UDP GSO and GRO (docs/vxlan.md) */
    .vxlan_opts = (char *)"udpcsum=on", .latency_rounds = 2000,
};

double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("vmwire-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- sockets ------------------------------------------------------------ */

int free_port(int type)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, type, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        die("free port: %s", strerror(errno));
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    return sa;
}

int tcp_listen(int port)
{
    struct sockaddr_in sa = loopback(port);
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
        die("listen on 127.0.0.1:%d: %s", port, strerror(errno));
    }
    return fd;
}

int tcp_connect(int port)
{
    struct sockaddr_in sa = loopback(port);
    int one = 1;

    for (int tries = 0; tries < 500; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            return fd;
        }
        close(fd);
        usleep(10000);
    }
    die("connect to 127.0.0.1:%d: %s", port, strerror(errno));
}

static int udp_bind(int port)
{
    struct sockaddr_in sa = loopback(port);
    int size = 4 * 1024 * 1024;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        die("bind udp 127.0.0.1:%d: %s", port, strerror(errno));
    }
    return fd;
}

bool write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= n;
    }
    return true;
}

/*
 * Is a socket of @proto ("tcp" listening, "udp" bound) on @host:@port
 * (@host an IPv4 address, dotted)?  Read from /proc so that probing does
 * not take a listener's one client.
 */
bool port_ready_at(const char *proto, const char *host, int port)
{
    g_autofree char *path = g_strdup_printf("/proc/net/%s", proto);
    g_autofree char *text = NULL;
    struct in_addr addr;
    g_autofree char *needle = NULL;

    if (inet_pton(AF_INET, host, &addr) != 1) {
        return false;
    }
    /* /proc prints the address as the host-order hex of its raw word */
    needle = g_strdup_printf("%08X:%04X", addr.s_addr, port);

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return false;
    }
    for (char *line = strstr(text, needle); line; line = strstr(line + 1, needle)) {
        /* "sl local rem st": the state follows the remote address */
        char st[3] = { 0 };
        if (sscanf(line, "%*s %*s %2s", st) == 1 &&
            (strcmp(proto, "udp") == 0 || strcmp(st, "0A") == 0)) {
            return true;
        }
    }
    return false;
}

/* Is a socket of @proto on 127.0.0.1:@port?  (port_ready_at()) */
bool port_ready(const char *proto, int port)
{
    return port_ready_at(proto, "127.0.0.1", port);
}

/* ---- frames ------------------------------------------------------------- */

/* Port i's MAC: 52:54:00:be:00:i (locally administered). */
void port_mac(uint8_t mac[6], int port)
{
    static const uint8_t base[6] = { 0x52, 0x54, 0x00, 0xbe, 0x00, 0x00 };

    memcpy(mac, base, 6);
    mac[5] = port;
}

static uint64_t pattern(uint64_t seq)
{
    return seq * 0x9e3779b97f4a7c15ull ^ 0x5a5a5a5a5a5a5a5aull;
}

/*
 * Build one frame of @size bytes at @p: dst, src, ether type, an 8-byte
 * sequence number, then the pattern word at the start and end of the rest.
 */
void frame_build(uint8_t *p, size_t size, const uint8_t dst[6],
                        const uint8_t src[6], uint64_t seq)
{
    uint64_t word = pattern(seq);

    memcpy(p, dst, 6);
    memcpy(p + 6, src, 6);
    p[12] = BENCH_ETHERTYPE >> 8;
    p[13] = BENCH_ETHERTYPE & 0xff;
    memcpy(p + 14, &seq, 8);
    memcpy(p + 22, &word, 8);
    memcpy(p + size - 8, &word, 8);
}

/* 0: intact frame @seq from @src; -1: not ours (skip); -2: damaged/order */
int frame_check(const uint8_t *p, size_t size, size_t want_size,
                       const uint8_t src[6], uint64_t want_seq)
{
    uint64_t seq, w1, w2;

    if (size < 30 || p[12] != BENCH_ETHERTYPE >> 8 ||
        p[13] != (BENCH_ETHERTYPE & 0xff) || memcmp(p + 6, src, 6) != 0) {
        return -1;
    }
    memcpy(&seq, p + 14, 8);
    memcpy(&w1, p + 22, 8);
    memcpy(&w2, p + size - 8, 8);
    if (size != want_size || seq != want_seq ||
        w1 != pattern(seq) || w2 != pattern(seq)) {
        return -2;
    }
    return 0;
}

/* ---- relays ------------------------------------------------------------- */


pid_t spawn(char **argv)
{
    pid_t pid = fork();

    if (pid < 0) {
        die("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        int log = open(opt.log ? opt.log : "/dev/null",
                       O_WRONLY | O_CREAT | O_APPEND, 0644);

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(null, 0);
        dup2(log < 0 ? null : log, 1);
        dup2(log < 0 ? null : log, 2);
        execvp(argv[0], argv);
        fprintf(stderr, "vmwire-bench: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

void argv_add(GPtrArray *argv, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_ptr_array_add(argv, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* The -netdev arguments of one port, as vmwire and QEMU 7.2 both take them. */
static void relay_port_args(GPtrArray *argv, const Relay *r, int i)
{
    argv_add(argv, "-netdev");
    if (!r->dgram) {
        argv_add(argv, "socket,id=p%d,listen=127.0.0.1:%d", i, r->ports[i]);
    } else if (r->kind == RELAY_VMWIRE) {
        argv_add(argv, "dgram,id=p%d,local.type=inet,local.host=127.0.0.1,"
                 "local.port=%d,remote.type=inet,remote.host=127.0.0.1,"
                 "remote.port=%d", i, r->ports[i], r->peers[i]);
    } else {
        argv_add(argv, "socket,id=p%d,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d",
                 i, r->peers[i], r->ports[i]);
    }
    argv_add(argv, "-netdev");
    argv_add(argv, "hubport,id=h%d,hubid=0,netdev=p%d", i, i);
}

static void copy_relay_run(const Relay *r);

/* Is @port among the first @n of @list? */
static bool port_taken(const int *list, int n, int port)
{
    for (int i = 0; i < n; i++) {
        if (list[i] == port) {
            return true;
        }
    }
    return false;
}

/*
 * Ports free a moment ago for r->ports (and r->peers for datagrams), all
 * distinct: the kernel may hand out one port twice to successive bind()s
 * of port 0 (among 256 picks a repeat is likely), and the relay would then
 * fail to open its second listener.
 */
static void relay_pick_ports(Relay *r)
{
    int type = r->dgram ? SOCK_DGRAM : SOCK_STREAM;

    for (int i = 0; i < r->nports; i++) {
        do {
            r->ports[i] = free_port(type);
        } while (port_taken(r->ports, i, r->ports[i]) ||
                 port_taken(r->peers, i, r->ports[i]));
        r->peers[i] = 0;
        while (r->dgram && (r->peers[i] == 0 ||
                            port_taken(r->ports, i + 1, r->peers[i]) ||
                            port_taken(r->peers, i, r->peers[i]))) {
            r->peers[i] = free_port(SOCK_DGRAM);
        }
    }
    while (r->vxlan && (r->tunnel_port == 0 ||
                        port_taken(r->ports, r->nports, r->tunnel_port) ||
                        port_taken(r->peers, r->nports, r->tunnel_port))) {
        r->tunnel_port = free_port(SOCK_DGRAM);
    }
}

/* The ports a relay offers the generator. */
typedef enum {
    RELAY_STREAM_PORTS,             /* -netdev socket,listen= */
    RELAY_STREAM_RING,              /* the same, flows from port i to i+1
                                     * (the copy relay: copy-ports.c) */
    RELAY_DGRAM_PORTS,              /* -netdev dgram (QEMU: socket,udp=) */
    RELAY_VXLAN_PAIR,               /* two daemons, a dgram port each */
} RelayPorts;

#define BENCH_VXLAN_VNI 42

/* The underlay address of daemon @i of a vxlan pair. */
static const char *const vxlan_underlay[2] = { "127.0.0.2", "127.0.0.3" };

/*
 * Daemon @i (0 or 1) of the vxlan pair: dgram port i and a VXLAN endpoint
 * on vxlan_underlay[i] whose one remote= is the other daemon's, both on
 * hub 0.  Loopback carries any 127.0.0.0/8 address and has a 64 KiB MTU:
 * a 1500-byte inner frame needs no fragmentation, and no root is needed.
 * The underlay addresses are not the generator's 127.0.0.1, as a host's
 * underlay address is not its VMs': a vmwire with CAP_NET_RAW sends from
 * a raw socket bound to local=, which the kernel hands (to drop) every
 * UDP datagram for that address.
 */
static pid_t relay_spawn_vxlan(const Relay *r, int i)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);

    g_ptr_array_add(argv, g_strdup(opt.vmwire));
    relay_port_args(argv, r, i);
    argv_add(argv, "-netdev");
    argv_add(argv, "vxlan,id=vx,vni=%d,local=%s,remote=%s,dstport=%d%s%s",
             BENCH_VXLAN_VNI, vxlan_underlay[i], vxlan_underlay[1 - i],
             r->tunnel_port, *opt.vxlan_opts ? "," : "", opt.vxlan_opts);
    argv_add(argv, "-netdev");
    argv_add(argv, "hubport,id=hv,hubid=0,netdev=vx");
    g_ptr_array_add(argv, NULL);
    return spawn((char **)argv->pdata);
}

static int relay_terminate(pid_t pid);

/*
 * Has the relay (either daemon of a pair) exited?  Then it is reaped, and
 * the other daemon of a pair is stopped.
 */
static bool relay_exited(const Relay *r)
{
    bool first = waitpid(r->pid, NULL, WNOHANG) != 0;
    bool second = r->tunnel_pid > 0 &&
                  waitpid(r->tunnel_pid, NULL, WNOHANG) != 0;

    if (first && r->tunnel_pid > 0 && !second) {
        relay_terminate(r->tunnel_pid);
    } else if (second && !first) {
        relay_terminate(r->pid);
    }
    return first || second;
}

/* Are the relay's sockets open: its ports, and a pair's tunnel ends? */
static bool relay_ready(const Relay *r)
{
    for (int i = 0; i < r->nports; i++) {
        if (!port_ready(r->dgram ? "udp" : "tcp", r->ports[i])) {
            return false;
        }
    }
    return !r->vxlan ||
           (port_ready_at("udp", vxlan_underlay[0], r->tunnel_port) &&
            port_ready_at("udp", vxlan_underlay[1], r->tunnel_port));
}

/* Start a relay on ports free a moment ago; false if it did not open them. */
static bool relay_try_start(Relay *r, RelayKind kind, int nports,
                            RelayPorts shape)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    double deadline = now_s() + 10;

    memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->nports = nports;
    r->dgram = shape != RELAY_STREAM_PORTS && shape != RELAY_STREAM_RING;
    r->ring = shape == RELAY_STREAM_RING;
    r->vxlan = shape == RELAY_VXLAN_PAIR;
    relay_pick_ports(r);
    if (r->vxlan) {
        g_assert(kind == RELAY_VMWIRE && nports == 2);
        r->pid = relay_spawn_vxlan(r, 0);
        r->tunnel_pid = relay_spawn_vxlan(r, 1);
    } else if (kind == RELAY_COPY) {
        r->pid = fork();
        if (r->pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (r->ring) {
                copy_ports_run(r);
            } else {
                copy_relay_run(r);
            }
            _exit(0);
        }
    } else {
        g_ptr_array_add(argv, g_strdup(kind == RELAY_VMWIRE ? opt.vmwire : opt.qemu));
        if (kind == RELAY_QEMU) {
            for (const char *a = "-M\0none\0-nodefaults\0-display\0none\0";
                 *a; a += strlen(a) + 1) {
                g_ptr_array_add(argv, g_strdup(a));
            }
        }
        for (int i = 0; i < nports; i++) {
            relay_port_args(argv, r, i);
        }
        g_ptr_array_add(argv, NULL);
        r->pid = spawn((char **)argv->pdata);
    }
    while (!relay_ready(r)) {
        if (relay_exited(r)) {
            return false;           /* exited: a port was taken meanwhile */
        }
        if (now_s() > deadline) {
            relay_stop(r);
            return false;
        }
        usleep(5000);
    }
    return true;
}

/*
 * Another process may take a port between free_port() and the relay's
 * bind() (the machine is shared): then start again on other ports.
 */
static void relay_start(Relay *r, RelayKind kind, int nports,
                        RelayPorts shape)
{
    for (int tries = 0; tries < 5; tries++) {
        if (relay_try_start(r, kind, nports, shape)) {
            return;
        }
        fprintf(stderr, "vmwire-bench: %s relay did not open its ports, "
                "trying other ports\n", relay_names[kind]);
    }
    die("%s relay did not open its ports", relay_names[kind]);
}

/* Peak RSS of process @pid in KiB (VmHWM), 0 if unknown. */
static long pid_peak_rss(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", pid);
    g_autofree char *text = NULL;
    char *p;

    if (!g_file_get_contents(path, &text, NULL, NULL) ||
        !(p = strstr(text, "VmHWM:"))) {
        return 0;
    }
    return strtol(p + 6, NULL, 10);
}

/* Peak RSS of the relay in KiB (a vxlan pair: the sum of both daemons'). */
long relay_peak_rss(const Relay *r)
{
    return pid_peak_rss(r->pid) +
           (r->tunnel_pid > 0 ? pid_peak_rss(r->tunnel_pid) : 0);
}

/* CPU time (user + system) process @pid has used, in seconds. */
static double pid_cpu_s(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", pid);
    g_autofree char *text = NULL;
    unsigned long utime = 0, stime = 0;
    char *p;

    if (!g_file_get_contents(path, &text, NULL, NULL) ||
        !(p = strrchr(text, ')')) ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &utime, &stime) != 2) {
        return 0;
    }
    return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

/* CPU time of the relay in seconds (a vxlan pair: both daemons'). */
double relay_cpu_s(const Relay *r)
{
    return pid_cpu_s(r->pid) + (r->tunnel_pid > 0 ? pid_cpu_s(r->tunnel_pid) : 0);
}

/* SIGTERM, then SIGKILL after 2 s; the wait status. */
static int relay_terminate(pid_t pid)
{
    int status = 0;

    kill(pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            return status;
        }
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return status;
}

/*
 * Stop process @pid of a relay.  If it died on its own, say how in
 * @death: it had ended before we asked (a crash, a signal, an exit
 * mid-cell), or our SIGTERM ended it with a failing status or another
 * signal (a crash on the way out).
 */
static void relay_process_stop(RelayKind kind, pid_t pid, char *death,
                               size_t len)
{
    int status = 0;
    bool early = waitpid(pid, &status, WNOHANG) == pid;

    if (!early) {
        status = relay_terminate(pid);
    }
    death[0] = '\0';
    if (WIFSIGNALED(status) && (early || (WTERMSIG(status) != SIGTERM &&
                                          WTERMSIG(status) != SIGKILL))) {
        snprintf(death, len, "killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
               kind == RELAY_COPY) {
        /* the copy relay ends by itself once the generator has closed
         * all its connections, which it may do before we look */
    } else if (WIFEXITED(status) && (early || WEXITSTATUS(status) != 0)) {
        snprintf(death, len, "exited with status %d%s",
                 WEXITSTATUS(status), early ? " during the cell" : "");
    }
}

/*
 * Stop the relay, and say in r->death how it died if it did (a vxlan
 * pair: both daemons, the note naming the one that died).
 */
void relay_stop(Relay *r)
{
    char first[96], second[96] = "";

    relay_process_stop(r->kind, r->pid, first, sizeof(first));
    if (r->tunnel_pid > 0) {
        relay_process_stop(r->kind, r->tunnel_pid, second, sizeof(second));
    }
    if (r->tunnel_pid > 0 && (first[0] || second[0])) {
        snprintf(r->death, sizeof(r->death), "%s%s", first[0]
                 ? "sending daemon " : "receiving daemon ",
                 first[0] ? first : second);
    } else {
        snprintf(r->death, sizeof(r->death), "%s", first);
    }
}

/* The byte-copy relay: one thread per direction, 256 KiB per read. */
typedef struct CopyDir {
    int from, to;
} CopyDir;

static void *copy_stream(void *opaque)
{
    CopyDir *d = opaque;
    static __thread uint8_t buf[BENCH_CHUNK];
    ssize_t n;

    while ((n = read(d->from, buf, sizeof(buf))) > 0) {
        if (!write_all(d->to, buf, n)) {
            break;
        }
    }
    shutdown(d->to, SHUT_WR);
    return NULL;
}

static void *copy_dgram(void *opaque)
{
    CopyDir *d = opaque;
    static __thread uint8_t bufs[BENCH_DGRAM_BATCH][2048];
    struct mmsghdr msgs[BENCH_DGRAM_BATCH];
    struct iovec iov[BENCH_DGRAM_BATCH];

    for (;;) {
        for (int i = 0; i < BENCH_DGRAM_BATCH; i++) {
            iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
            msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i],
                                                     .msg_iovlen = 1 } };
        }
        int n = recvmmsg(d->from, msgs, BENCH_DGRAM_BATCH, MSG_WAITFORONE, NULL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            iov[i].iov_len = msgs[i].msg_len;
        }
        sendmmsg(d->to, msgs, n, 0);
    }
}

static void copy_relay_run(const Relay *r)
{
    int fds[2];
    CopyDir dirs[2];
    pthread_t threads[2];

    for (int i = 0; i < 2; i++) {
        if (r->dgram) {
            /* receive on ports[i] from the generator, send to its peer */
            struct sockaddr_in peer = loopback(r->peers[i]);
            fds[i] = udp_bind(r->ports[i]);
            connect(fds[i], (struct sockaddr *)&peer, sizeof(peer));
        } else {
            fds[i] = tcp_listen(r->ports[i]);
        }
    }
    if (!r->dgram) {
        for (int i = 0; i < 2; i++) {
            int c = accept(fds[i], NULL, NULL);
            close(fds[i]);
            fds[i] = c;
        }
    }
    for (int i = 0; i < 2; i++) {
        dirs[i] = (CopyDir){ fds[i], fds[1 - i] };
        pthread_create(&threads[i], NULL, r->dgram ? copy_dgram : copy_stream,
                       &dirs[i]);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
    }
}

/* ---- stream load -------------------------------------------------------- */


/*
 * Does flow @f send on?  Until its stop_at, and at least one batch: a
 * sender thread that starts after stop_at (a starved machine; the last of
 * 512 threads in a --quick run) would otherwise send nothing, and the
 * cell would fail with "0/0 frames" though nothing was lost.
 */
static bool flow_sending(const Flow *f)
{
    return !f->failed && (f->sent == 0 || now_s() < f->stop_at);
}

static void *flow_send(void *opaque)
{
    Flow *f = opaque;
    size_t rec = BENCH_HDR + f->size;
    size_t per_batch = MAX(1, BENCH_CHUNK / rec);
    g_autofree uint8_t *buf = g_malloc(per_batch * rec);
    uint8_t dst[6], src[6];

    port_mac(src, f->tx_port);
    if (f->broadcast) {
        memset(dst, 0xff, 6);
    } else {
        port_mac(dst, f->rx_port);
    }
    uint64_t window = MAX(1, MIN((uint64_t)opt.window,
                                 (uint64_t)opt.window_bytes / rec));

    per_batch = MIN(per_batch, window);
    while (flow_sending(f)) {
        size_t n = per_batch;

        pthread_mutex_lock(&f->lock);
        while (f->sent - atomic_load(&f->received) + n > window &&
               flow_sending(f)) {
            if (f->sent - atomic_load(&f->received) < window) {
                n = window - (f->sent - atomic_load(&f->received));
                break;
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 10 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&f->cond, &f->lock, &ts);
        }
        pthread_mutex_unlock(&f->lock);
        if (!flow_sending(f)) {
            break;
        }
        for (size_t i = 0; i < n; i++) {
            uint8_t *p = buf + i * rec;
            uint32_t len = htonl(f->size);
            memcpy(p, &len, 4);
            frame_build(p + 4, f->size, dst, src, f->sent + i);
        }
        if (!write_all(f->tx_fd, buf, n * rec)) {
            f->failed = true;
            break;
        }
        f->sent += n;
    }
    atomic_store(&f->tx_done, true);    /* f->sent is final */
    return NULL;
}

/*
 * Read and check frames until the sender is done and all it sent are in,
 * or 2 s without one of its frames after it is done (frames were lost;
 * other flows' frames, which a hub that floods brings, are no progress).
 */
void *flow_receive(void *opaque)
{
    Flow *f = opaque;
    g_autofree uint8_t *buf = g_malloc(BENCH_CHUNK + BENCH_HDR + BENCH_MAX_FRAME);
    size_t have = 0;
    uint8_t src[6];
    double idle_since = now_s();

    port_mac(src, f->tx_port);
    for (;;) {
        struct pollfd pfd = { f->rx_fd, POLLIN, 0 };
        bool sender_done = atomic_load(&f->tx_done);

        if (sender_done && atomic_load(&f->received) >= f->sent) {
            break;
        }
        if (poll(&pfd, 1, 100) <= 0) {
            if (sender_done && now_s() - idle_since > 2.0) {
                break;              /* lost frames: reported by the caller */
            }
            continue;
        }
        ssize_t n = read(f->rx_fd, buf + have, BENCH_CHUNK);
        if (n <= 0) {
            f->failed = true;
            break;
        }
        have += n;
        size_t off = 0;
        uint64_t got = atomic_load(&f->received);
        while (have - off >= BENCH_HDR) {
            uint32_t len;
            memcpy(&len, buf + off, 4);
            len = ntohl(len);
            if (have - off < BENCH_HDR + len) {
                break;
            }
            int rc = frame_check(buf + off + 4, len, f->size, src, got);
            if (rc == 0) {
                got++;
            } else if (rc == -2) {
                f->damaged++;
            }
            off += BENCH_HDR + len;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
        if (got > atomic_load(&f->received)) {
            if (f->first_rx == 0) {
                f->first_rx = now_s();
            }
            f->last_rx = now_s();
            idle_since = f->last_rx;    /* progress: frames of this flow */
            pthread_mutex_lock(&f->lock);
            atomic_store(&f->received, got);
            pthread_cond_signal(&f->cond);
            pthread_mutex_unlock(&f->lock);
        }
    }
    pthread_mutex_lock(&f->lock);
    f->failed = f->failed || f->damaged;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
    f->rx_cpu_s = thread_cpu_s();
    return NULL;
}

/* Send one broadcast frame from each port (fd < 0: skip it) so that learning hubs know it. */
void announce(const int *fds, int n)
{
    uint8_t rec[BENCH_HDR + BENCH_MIN_FRAME] = { 0 };
    uint8_t bcast[6], src[6];
    uint32_t len = htonl(BENCH_MIN_FRAME);

    memset(bcast, 0xff, 6);
    memcpy(rec, &len, 4);
    for (int i = 0; i < n; i++) {
        if (fds[i] < 0) {
            continue;
        }
        port_mac(src, i);
        memcpy(rec + 4, bcast, 6);
        memcpy(rec + 10, src, 6);
        rec[16] = 0x88;             /* not BENCH_ETHERTYPE: receivers skip it */
        rec[17] = 0xb6;
        write_all(fds[i], rec, sizeof(rec));
    }
    usleep(100000);
}

/*
 * announce() from every one of @n ports, then read each port's copies of
 * the others' announcements (@heard frames each: n - 1 through a hub,
 * skipped by receivers anyway) so the flows start only once the relay
 * has forwarded, and so learned, every port's MAC (up to 10 s; a relay
 * that lost some is left to fail the cell).  Without the wait, vmwire
 * with 256 ports was still working through the 256 x 255 copies of the
 * announcements when the first flows began: frames to the ports not yet
 * learned were flooded to all 255, and that flood kept the rest of the
 * announcements waiting (the learning took seconds, ports/256 read a
 * tenth of its figure).
 */
void announce_learned(const int *fds, int n, int heard)
{
    size_t want = (size_t)heard * (BENCH_HDR + BENCH_MIN_FRAME);
    uint8_t buf[4096];
    double deadline = now_s() + 10;

    announce(fds, n);
    for (int i = 0; i < n; i++) {
        size_t got = 0;

        while (got < want && now_s() < deadline) {
            struct pollfd pfd = { fds[i], POLLIN, 0 };

            if (poll(&pfd, 1, 100) <= 0) {
                continue;
            }
            ssize_t r = read(fds[i], buf, MIN(sizeof(buf), want - got));
            if (r <= 0) {
                break;
            }
            got += r;
        }
    }
}


/* A relay that died fails the run, and the note says how. */
void relay_death_note(const Relay *r, Result *res)
{
    if (r->death[0]) {
        res->failed = true;
        res->died = true;
        snprintf(res->note, sizeof(res->note), "relay died: %s", r->death);
    }
}

/* CPU seconds this process has used, and its context switches. */
static double self_cpu_s(long *switches)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    *switches = ru.ru_nvcsw + ru.ru_nivcsw;
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Each flow its own sender and receiver thread (flow_send(), flow_receive()). */
static void flows_run_threaded(Flow *flows, int nflows)
{
    pthread_t tx[BENCH_MAX_PORTS], rx[BENCH_MAX_PORTS];

    for (int i = 0; i < nflows; i++) {
        pthread_create(&rx[i], NULL, flow_receive, &flows[i]);
        pthread_create(&tx[i], NULL, flow_send, &flows[i]);
    }
    for (int i = 0; i < nflows; i++) {
        pthread_join(tx[i], NULL);
        pthread_join(rx[i], NULL);
    }
}

/*
 * Run @nflows flows at once on @nports connected ports for opt.seconds:
 * flow i sends from port i to port (i+1) % nports (or port 1 when @stuck:
 * port 2 then connects and never reads).  @mux: from a few threads with
 * epoll (stream-mux.c, the ports cells unless --ports-threads -1), else
 * a sender and a receiver thread per flow.  Returns aggregate figures.
 */
static Result run_flows(RelayKind kind, int nports, int nflows, size_t size,
                        bool broadcast, bool stuck, bool mux)
{
    Relay r;
    int fds[BENCH_MAX_PORTS];
    Flow *flows = g_new0(Flow, nflows);
    Result res = { 0 };
    uint64_t frames = 0;
    double t0 = 1e18, t1 = 0;

    /* every port sending (the ports cells, ports/2 too): a ring */
    relay_start(&r, kind, nports,
                nflows == nports ? RELAY_STREAM_RING : RELAY_STREAM_PORTS);
    for (int i = 0; i < nports; i++) {
        fds[i] = tcp_connect(r.ports[i]);
    }
    /* The copy relay learns nothing and passes port i's bytes to port
     * i+1 only: each port hears one announcement, its flow's source's.
     * Waiting for it still starts the flows on connections that carried
     * bytes end to end; the frames are checked as through vmwire. */
    announce_learned(fds, nports, kind == RELAY_COPY ? 1 : nports - 1);
    long switches0, switches1;
    double cpu0 = self_cpu_s(&switches0);
    double relay_cpu0 = relay_cpu_s(&r);    /* not the setup's */
    double stop_at = now_s() + opt.seconds;
    for (int i = 0; i < nflows; i++) {
        Flow *f = &flows[i];
        f->tx_port = i;
        f->rx_port = (i + 1) % (stuck ? 2 : nports);
        f->tx_fd = fds[f->tx_port];
        f->rx_fd = fds[f->rx_port];
        f->size = size;
        f->broadcast = broadcast;
        f->stop_at = stop_at;
        pthread_mutex_init(&f->lock, NULL);
        pthread_cond_init(&f->cond, NULL);
    }
    if (mux) {
        stream_mux_run(flows, nflows, fds, nports, opt.ports_threads);
    } else {
        flows_run_threaded(flows, nflows);
    }
    for (int i = 0; i < nflows; i++) {
        Flow *f = &flows[i];
        if (f->failed || f->received != f->sent || f->first_rx == 0) {
            res.failed = true;
            snprintf(res.note, sizeof(res.note), "flow %d: %" PRIu64 "/%"
                     PRIu64 " frames, %" PRIu64 " damaged%s%s", i,
                     (uint64_t)f->received, f->sent, f->damaged,
                     f->bad[0] ? ": " : "", f->bad);
        }
        frames += f->received;
        t0 = MIN(t0, f->first_rx);
        t1 = MAX(t1, f->last_rx);
    }
    if (opt.verbose) {
        double cpu = self_cpu_s(&switches1) - cpu0;
        double relay_cpu = relay_cpu_s(&r) - relay_cpu0;

        fprintf(stderr, "vmwire-bench:   %d flows: %" PRIu64 " frames, first "
                "at %+.2f s, last at %+.2f s from the end of sending; CPU "
                "while sending: relay %.2f s (%.0f ns/frame), generator "
                "%.2f s (%.0f ns/frame, %.1f context switches/1k frames)\n",
                nflows, frames, t0 - stop_at, t1 - stop_at, relay_cpu,
                frames ? relay_cpu * 1e9 / frames : 0, cpu,
                frames ? cpu * 1e9 / frames : 0,
                frames ? (switches1 - switches0) * 1e3 / frames : 0);
    }
    res.rss_kib = relay_peak_rss(&r);
    for (int i = 0; i < nports; i++) {
        close(fds[i]);
    }
    relay_stop(&r);
    relay_death_note(&r, &res);
    if (t1 > t0) {
        res.mpps = frames / (t1 - t0) / 1e6;
        res.gbps = res.mpps * 1e6 * size * 8 / 1e9;
    }
    for (int i = 0; i < nflows; i++) {
        pthread_mutex_destroy(&flows[i].lock);
        pthread_cond_destroy(&flows[i].cond);
    }
    g_free(flows);
    return res;
}

int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Median round trip with one 64-byte frame in flight, port 0 -> 1 -> 0. */
static Result run_latency(RelayKind kind)
{
    Relay r;
    int fds[2];
    uint8_t rec[BENCH_HDR + BENCH_MIN_FRAME], in[BENCH_HDR + BENCH_MIN_FRAME];
    uint8_t mac[2][6];
    uint32_t len = htonl(BENCH_MIN_FRAME);
    g_autofree double *rtt = g_new(double, opt.latency_rounds);
    Result res = { 0 };

    relay_start(&r, kind, 2, RELAY_STREAM_PORTS);
    for (int i = 0; i < 2; i++) {
        /* A lost frame fails the cell instead of hanging the run. */
        struct timeval limit = { .tv_sec = 5 };

        fds[i] = tcp_connect(r.ports[i]);
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
        port_mac(mac[i], i);
    }
    announce_learned(fds, 2, 1);
    memcpy(rec, &len, 4);
    for (int n = 0; n < opt.latency_rounds && !res.failed; n++) {
        double t = now_s();
        for (int hop = 0; hop < 2; hop++) {
            frame_build(rec + 4, BENCH_MIN_FRAME, mac[1 - hop], mac[hop], n);
            if (!write_all(fds[hop], rec, sizeof(rec)) ||
                recv(fds[1 - hop], in, sizeof(in), MSG_WAITALL) != sizeof(in) ||
                frame_check(in + 4, BENCH_MIN_FRAME, BENCH_MIN_FRAME,
                            mac[hop], n) != 0) {
                res.failed = true;
                snprintf(res.note, sizeof(res.note), "round %d failed", n);
                break;
            }
        }
        rtt[n] = (now_s() - t) * 1e6;
    }
    res.rss_kib = relay_peak_rss(&r);
    close(fds[0]);
    close(fds[1]);
    relay_stop(&r);
    relay_death_note(&r, &res);
    if (!res.failed) {
        qsort(rtt, opt.latency_rounds, sizeof(double), compare_double);
        res.usec = rtt[opt.latency_rounds / 2];
    }
    return res;
}

/* ---- datagram load ------------------------------------------------------ */

typedef struct DgramRx {
    int fd;
    _Atomic uint64_t received;
    _Atomic uint64_t reordered;
    _Atomic bool stop;
} DgramRx;

static void *dgram_receive(void *opaque)
{
    DgramRx *d = opaque;
    static __thread uint8_t bufs[BENCH_DGRAM_BATCH][2048];
    struct mmsghdr msgs[BENCH_DGRAM_BATCH];
    struct iovec iov[BENCH_DGRAM_BATCH];
    uint8_t src[6];
    uint64_t next = 0;

    port_mac(src, 0);
    while (!atomic_load(&d->stop)) {
        for (int i = 0; i < BENCH_DGRAM_BATCH; i++) {
            iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
            msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i],
                                                     .msg_iovlen = 1 } };
        }
        int n = recvmmsg(d->fd, msgs, BENCH_DGRAM_BATCH, MSG_WAITFORONE, NULL);
        for (int i = 0; i < n; i++) {
            uint64_t seq;
            if (msgs[i].msg_len < 30 || memcmp(bufs[i] + 6, src, 6) != 0 ||
                bufs[i][12] != BENCH_ETHERTYPE >> 8) {
                continue;
            }
            memcpy(&seq, bufs[i] + 14, 8);
            if (seq < next) {
                atomic_fetch_add(&d->reordered, 1);
            } else {
                next = seq + 1;
                atomic_fetch_add(&d->received, 1);
            }
        }
    }
    return NULL;
}

/*
 * The kernel's drop count (receive buffer full) of the udp socket bound
 * to @host:@port (IPv4, dotted), from /proc/net/udp; 0 if there is none.
 */
static uint64_t udp_drops_at(const char *host, int port)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    struct in_addr addr = { 0 };
    char want[16];

    if (!g_file_get_contents("/proc/net/udp", &text, NULL, NULL)) {
        return 0;
    }
    inet_pton(AF_INET, host, &addr);
    snprintf(want, sizeof(want), "%08X:%04X", addr.s_addr, (unsigned)port);
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_auto(GStrv) f = g_strsplit_set(g_strstrip(*l), " ", -1);
        guint n = g_strv_length(f);

        if (n > 2 && strcmp(f[1], want) == 0) {
            return g_ascii_strtoull(f[n - 1], NULL, 10);
        }
    }
    return 0;
}

static uint64_t udp_drops(int port)
{
    return udp_drops_at("127.0.0.1", port);
}

/* A vxlan pair: the drops at the receiving daemon's tunnel socket. */
static uint64_t tunnel_drops(const Relay *r)
{
    return r->vxlan ? udp_drops_at(vxlan_underlay[1], r->tunnel_port) : 0;
}

/*
 * Offer @rate frames/s (0: as fast as possible) of @size bytes from the
 * generator's port-0 socket for @seconds; returns frames sent.  With
 * @gso (UDP_SEGMENT set on @fd) each batch leaves as one message the
 * kernel cuts into datagrams: the generator can then offer about twice
 * what one datagram per message allows, so the relay, not the
 * generator, is what runs out first.
 */
static uint64_t dgram_offer(int fd, bool gso, int to_port, size_t size,
                            double rate, double seconds, uint64_t *seq)
{
    static uint8_t bufs[BENCH_DGRAM_BATCH][2048];
    struct mmsghdr msgs[BENCH_DGRAM_BATCH];
    struct iovec iov[BENCH_DGRAM_BATCH];
    struct sockaddr_in to = loopback(to_port);
    uint8_t dst[6], src[6];
    uint64_t sent = 0;
    double t0 = now_s();

    port_mac(dst, 1);
    port_mac(src, 0);
    while (now_s() - t0 < seconds) {
        if (rate > 0 && sent >= rate * (now_s() - t0)) {
            usleep(200);
            continue;
        }
        for (int i = 0; i < BENCH_DGRAM_BATCH; i++) {
            frame_build(bufs[i], size, dst, src, *seq + i);
            iov[i] = (struct iovec){ bufs[i], size };
            msgs[i] = (struct mmsghdr){ .msg_hdr = {
                .msg_name = &to, .msg_namelen = sizeof(to),
                .msg_iov = &iov[i], .msg_iovlen = 1 } };
        }
        int n;
        if (gso) {
            /* one message, cut into BATCH datagrams by the kernel */
            struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof(to),
                                .msg_iov = iov,
                                .msg_iovlen = BENCH_DGRAM_BATCH };
            n = sendmsg(fd, &m, 0) > 0 ? BENCH_DGRAM_BATCH : 0;
        } else {
            n = sendmmsg(fd, msgs, BENCH_DGRAM_BATCH, 0);
        }
        if (n > 0) {
            *seq += n;
            sent += n;
        }
    }
    return sent;
}

typedef struct DgramRun {
    RelayKind kind;
    Relay relay;
    int tx;
    bool gso;                       /* tx sends batches as UDP GSO */
    DgramRx rx;
    uint64_t seq;
    double seconds;                 /* per offered rate */
} DgramRun;

/*
 * Offer @rate frames/s (0: as fast as the generator can) for one step and
 * wait for the relay to drain.  True if every frame arrived; *achieved is
 * the rate the generator reached, *loss the fraction lost.
 */
typedef struct DgramLoss {
    double rate;                    /* offered (0: full speed) */
    uint64_t lost;                  /* frames that never arrived */
    uint64_t relay_socket;          /* of which dropped by the kernel at */
    uint64_t receiver_socket;       /* the relay's or the receiver's socket */
    uint64_t tunnel_socket;         /* vxlan: at the receiving daemon's end */
} DgramLoss;

static bool dgram_step(DgramRun *d, double rate, double *achieved,
                       double *loss, DgramLoss *where)
{
    const size_t size = BENCH_DGRAM_SIZE;
    uint64_t before = atomic_load(&d->rx.received);
    uint64_t relay_drops = udp_drops(d->relay.ports[0]);
    uint64_t rx_drops = udp_drops(d->relay.peers[1]);
    uint64_t tunnel = tunnel_drops(&d->relay);
    double cpu0 = relay_cpu_s(&d->relay);
    double t0 = now_s();
    uint64_t sent = dgram_offer(d->tx, d->gso, d->relay.ports[0], size,
                                rate, d->seconds, &d->seq);
    uint64_t got;

    *achieved = sent / (now_s() - t0);
    usleep(300000);                 /* let the relay drain */
    got = MIN(atomic_load(&d->rx.received) - before, sent);
    *loss = sent ? 1.0 - (double)got / sent : 0;
    *where = (DgramLoss){
        .rate = rate, .lost = sent - got,
        .relay_socket = udp_drops(d->relay.ports[0]) - relay_drops,
        .receiver_socket = udp_drops(d->relay.peers[1]) - rx_drops,
        .tunnel_socket = tunnel_drops(&d->relay) - tunnel,
    };
    if (opt.verbose) {
        double cpu = relay_cpu_s(&d->relay) - cpu0;

        fprintf(stderr, "vmwire-bench:   %-6s offered %7.0f/s achieved "
                "%7.0f/s sent %7" PRIu64 " lost %6" PRIu64 " (relay socket %"
                PRIu64 ", receiver socket %" PRIu64 ", tunnel socket %" PRIu64
                "), relay CPU %.2f us/frame\n", relay_names[d->kind], rate,
                *achieved, sent, where->lost, where->relay_socket,
                where->receiver_socket, where->tunnel_socket,
                got ? cpu * 1e6 / got : 0);
    }
    return sent > 0 && got == sent;
}

/*
 * The highest lossless rate through 2 udp ports (@vxlan: port 0 on one
 * vmwire, port 1 on another, the frames crossing VXLAN between them), and
 * the loss at full speed.  Offered rates rise from 25k frames/s in steps of 1.5x up to the
 * first rate that loses a frame; the gap between it and the last lossless
 * one is then halved (geometrically) BENCH_DGRAM_BISECT times, so the
 * figure is within about 5% of where losses start.  mpps is the highest
 * rate the generator achieved in a lossless step.
 */
static Result run_dgram(RelayKind kind, bool vxlan)
{
    DgramRun d = { .kind = kind, .seconds = MAX(0.1, opt.seconds / 4) };
    Result res = { 0 };
    double lossless = 0, lossy = 0, achieved, loss;
    DgramLoss where, first = { 0 };
    pthread_t thread;
    struct timeval tv = { 0, 100000 };

    relay_start(&d.relay, kind, 2,
                vxlan ? RELAY_VXLAN_PAIR : RELAY_DGRAM_PORTS);
    d.tx = udp_bind(d.relay.peers[0]);
    {
        int seg = BENCH_DGRAM_SIZE;

        d.gso = setsockopt(d.tx, SOL_UDP, UDP_SEGMENT, &seg,
                           sizeof(seg)) == 0;
    }
    d.rx.fd = udp_bind(d.relay.peers[1]);
    setsockopt(d.rx.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    pthread_create(&thread, NULL, dgram_receive, &d.rx);

    for (double rate = 25e3; rate <= BENCH_DGRAM_MAX_RATE; rate *= 1.5) {
        if (!dgram_step(&d, rate, &achieved, &loss, &where)) {
            lossy = rate;
            first = where;
            break;
        }
        lossless = rate;
        res.mpps = MAX(res.mpps, achieved / 1e6);
    }
    for (int i = 0; lossy > 0 && lossless > 0 && i < BENCH_DGRAM_BISECT; i++) {
        double rate = sqrt(lossless * lossy);

        if (dgram_step(&d, rate, &achieved, &loss, &where)) {
            lossless = rate;
            res.mpps = MAX(res.mpps, achieved / 1e6);
        } else {
            lossy = rate;
            first = where;
        }
    }
    dgram_step(&d, 0, &achieved, &res.loss, &where);
    if (!first.lost) {
        first = where;              /* no paced step lost: full speed */
    }
    if (first.lost) {
        /* where the lowest losing rate lost: the kernel's socket drops,
         * and the rest (lost inside the relay, or on the way) */
        uint64_t sockets = first.relay_socket + first.receiver_socket +
                           first.tunnel_socket;
        char at[24] = "full speed";
        char tunnel[40] = "";

        if (first.rate > 0) {
            snprintf(at, sizeof(at), "%.0fk/s", first.rate / 1e3);
        }
        if (vxlan) {
            snprintf(tunnel, sizeof(tunnel), ", tunnel sock %" PRIu64,
                     first.tunnel_socket);
        }
        char tunnel_opts[80] = "";
        if (vxlan) {
            g_snprintf(tunnel_opts, sizeof(tunnel_opts), "vxlan %.60s; ",
                       *opt.vxlan_opts ? opt.vxlan_opts : "defaults");
        }
        /* g_snprintf: a long --vxlan-opts may cut the note, as it should */
        g_snprintf(res.note, sizeof(res.note), "%sloss from %s: relay sock %"
                   PRIu64 ", rcvr sock %" PRIu64 "%s, other %" PRIu64,
                   tunnel_opts, at, first.relay_socket,
                   first.receiver_socket, tunnel,
                   first.lost - MIN(first.lost, sockets));
    }

    atomic_store(&d.rx.stop, true);
    pthread_join(thread, NULL);
    if (atomic_load(&d.rx.reordered)) {
        res.failed = true;
        snprintf(res.note, sizeof(res.note), "%" PRIu64 " frames reordered",
                 (uint64_t)atomic_load(&d.rx.reordered));
    }
    res.gbps = res.mpps * 1e6 * BENCH_DGRAM_SIZE * 8 / 1e9;
    res.rss_kib = relay_peak_rss(&d.relay);
    close(d.tx);
    close(d.rx.fd);
    relay_stop(&d.relay);
    relay_death_note(&d.relay, &res);
    return res;
}

/* ---- cells, medians and the table --------------------------------------- */

typedef enum {
    CELL_STREAM, CELL_LATENCY, CELL_PORTS, CELL_FLOOD, CELL_STUCK, CELL_DGRAM,
    CELL_VXLAN, CELL_MEMCPY, CELL_VU, CELL_DPDK, CELL_VU_STREAM, CELL_VU_RTT,
} CellKind;

typedef struct Cell {
    CellKind kind;
    char name[32];
    int arg;                        /* frame size, or number of ports */
    bool ran[RELAY_COUNT];
    Result med[RELAY_COUNT];
} Cell;

static Result cell_run_once(const Cell *c, RelayKind relay)
{
    switch (c->kind) {
    case CELL_STREAM:
        return run_flows(relay, 2, 1, c->arg, false, false, false);
    case CELL_LATENCY:
        return run_latency(relay);
    case CELL_PORTS:
        return run_flows(relay, c->arg, c->arg, 1500, false, false,
                         opt.ports_threads >= 0);
    case CELL_FLOOD:
        return run_flows(relay, 2, 1, 1500, true, false, false);
    case CELL_STUCK: {
        /* paired with a flood run just before it: the machine's noise
         * moves both alike, so their ratio is what the cell reports */
        Result flood = run_flows(relay, 2, 1, 1500, true, false, false);
        Result stuck = run_flows(relay, 3, 1, 1500, true, true, false);
        stuck.paired = flood.mpps > 0 && !flood.failed
                       ? stuck.mpps / flood.mpps : 0;
        return stuck;
    }
    case CELL_DGRAM:
        return run_dgram(relay, false);
    case CELL_VXLAN:
        return run_dgram(relay, true);
    case CELL_MEMCPY:
        return run_memcpy(c->arg);
    case CELL_VU:
    case CELL_DPDK:
        return run_vu_flow(relay, c->arg, false);
    case CELL_VU_STREAM:
        return run_vu_flow(relay, c->arg, true);
    case CELL_VU_RTT:
        return run_vu_rtt(relay);
    }
    g_assert_not_reached();
}

static double result_key(const Cell *c, const Result *r)
{
    return c->kind == CELL_LATENCY || c->kind == CELL_VU_RTT ? r->usec : r->mpps;
}

/* The median of the runs' paired ratios (0 if they have none). */
static double median_paired(const Result *runs, int n)
{
    double v[BENCH_MAX_SAMPLES];

    for (int i = 0; i < n; i++) {
        v[i] = runs[i].paired;
    }
    qsort(v, n, sizeof(double), compare_double);
    return v[n / 2];
}

/* Set when vmwire failed a cell: vmwire-bench then exits 1. */
static bool bench_failed;

/*
 * What fails the benchmark: a vmwire relay that died, in any cell, and a
 * vmwire stream-framed cell (stream, latency, ports, flood, stuck) that
 * lost or damaged a frame.  A dgram cell loses frames by design (it looks
 * for the first losing rate): there only a death counts.  QEMU and the
 * copy relay failing is reported (table note, a line here) but is not
 * vmwire's failure.
 */
static void cell_judge(const Cell *c, RelayKind k, const Result *runs, int n)
{
    for (int i = 0; i < n; i++) {
        const Result *r = &runs[i];

        if (!r->died && !(r->failed && c->kind != CELL_DGRAM &&
                          c->kind != CELL_VXLAN)) {
            continue;
        }
        if (k == RELAY_VMWIRE) {
            fprintf(stderr, "vmwire-bench: FAIL %s vmwire: %s\n", c->name,
                    r->note);
            bench_failed = true;
        } else {
            fprintf(stderr, "vmwire-bench: %s %s: %s (reported, not a "
                    "vmwire failure)\n", c->name, relay_names[k], r->note);
        }
    }
}

/*
 * Does @c run on relay @k?  The socket cells on vmwire, QEMU and the copy
 * relay (not stuck: its port 2 has no flow to copy); the vhost-user cells
 * on vmwire, dpdk/N (and vhost-user-rtt, for comparison) on DPDK's
 * switch, memcpy/N on one core alone.
 */
static bool cell_runs_on(const Cell *c, RelayKind k)
{
    switch (c->kind) {
    case CELL_MEMCPY:
        return k == RELAY_MEMCPY;
    case CELL_DPDK:
        return k == RELAY_DPDK;
    case CELL_VU_RTT:
        return k == RELAY_VMWIRE || k == RELAY_DPDK;
    case CELL_VU:
    case CELL_VU_STREAM:
    case CELL_VXLAN:                /* QEMU has no VXLAN */
        return k == RELAY_VMWIRE;
    case CELL_STUCK:
        return k == RELAY_VMWIRE || k == RELAY_QEMU;
    default:
        return k == RELAY_VMWIRE || k == RELAY_QEMU || k == RELAY_COPY;
    }
}

/*
 * Can relay @k run @c on this machine?  If not, @why says so.  QEMU's hub
 * does not learn: it copies every frame to all N - 1 other ports, so
 * ports/N costs it N times what it costs a learning hub; ports/32 already
 * loses frames, and a 2 s run of ports/256 had not ended after 9 minutes
 * (the flows' backlog, 256 x 255 copies, still draining).
 */
static bool cell_possible(const Cell *c, RelayKind k, char *why, size_t len)
{
    if (k == RELAY_DPDK) {
        return dpdk_available(why, len);
    }
    if (k == RELAY_QEMU && c->kind == CELL_PORTS && c->arg > BENCH_QEMU_MAX_PORTS) {
        snprintf(why, len, "QEMU's hub copies each frame to all %d other "
                 "ports: too slow above %d", c->arg - 1, BENCH_QEMU_MAX_PORTS);
        return false;
    }
    return true;
}

/* Run @c on every enabled relay it runs on. */
static void cell_run(Cell *c)
{
    for (int k = 0; k < RELAY_COUNT; k++) {
        Result runs[BENCH_MAX_SAMPLES] = { 0 };
        int n = MIN(opt.repeat, BENCH_MAX_SAMPLES);
        char why[96];

        if (!opt.relay_enabled[k] || !cell_runs_on(c, k)) {
            continue;
        }
        if (!cell_possible(c, k, why, sizeof(why))) {
            /* a reference, not a test: say why it is missing, here and
             * in the table */
            fprintf(stderr, "vmwire-bench: %-12s skipped: %s\n", c->name, why);
            c->med[k] = (Result){ .failed = true };
            snprintf(c->med[k].note, sizeof(c->med[k].note), "skipped: %s", why);
            c->ran[k] = true;
            continue;
        }
        fprintf(stderr, "vmwire-bench: %-12s %-6s", c->name, relay_names[k]);
        for (int i = 0; i < n; i++) {
            runs[i] = cell_run_once(c, k);
            fprintf(stderr, " %.3f", result_key(c, &runs[i]));
        }
        fputc('\n', stderr);
        cell_judge(c, k, runs, n);
        /* median by the cell's figure; a failed run fails the cell */
        for (int i = 1; i < n; i++) {
            for (int j = i; j > 0 && result_key(c, &runs[j - 1]) >
                                     result_key(c, &runs[j]); j--) {
                Result t = runs[j];
                runs[j] = runs[j - 1];
                runs[j - 1] = t;
            }
        }
        c->med[k] = runs[n / 2];
        c->med[k].paired = median_paired(runs, n);
        for (int i = 0; i < n; i++) {
            if (runs[i].failed) {
                c->med[k].failed = true;
                memcpy(c->med[k].note, runs[i].note, sizeof(runs[i].note));
            }
        }
        c->ran[k] = true;
    }
}

static const Cell *cell_find(const Cell *cells, int n, CellKind kind, int arg)
{
    for (int i = 0; i < n; i++) {
        if (cells[i].kind == kind && (arg < 0 || cells[i].arg == arg)) {
            return &cells[i];
        }
    }
    return NULL;
}

/* "1.23x": a's figure over b's ("-" when either is missing or failed) */
static char *ratio(const Cell *c, const Result *a, const Result *b)
{
    if (!a || !b || a->failed || b->failed ||
        result_key(c, a) <= 0 || result_key(c, b) <= 0) {
        return g_strdup("-");
    }
    return g_strdup_printf("%.2fx", result_key(c, a) / result_key(c, b));
}

static const Result *cell_result(const Cell *c, RelayKind k)
{
    return c && c->ran[k] ? &c->med[k] : NULL;
}

static void report_line(FILE *md, FILE *csv, char **fields)
{
    g_autofree char *row = g_strjoinv(" | ", fields);

    printf("| %s |\n", row);
    if (md) {
        fprintf(md, "| %s |\n", row);
    }
    for (char **f = fields; csv && *f; f++) {
        /* RFC 4180: a field with a comma or a quote is quoted */
        if (strpbrk(*f, ",\"")) {
            g_auto(GStrv) parts = g_strsplit(*f, "\"", -1);
            g_autofree char *doubled = g_strjoinv("\"\"", parts);

            fprintf(csv, "\"%s\"", doubled);
        } else {
            fputs(*f, csv);
        }
        fputc(f[1] ? ',' : '\n', csv);
    }
}

/*
 * One row per cell and relay.  "vs copy"/"vs qemu" divide this relay's
 * figure by theirs in the same cell (for latency a round trip: above 1
 * means slower).  "vs ref" compares with a reference cell of the same
 * relay: ports/N with stream/1500; stuck with the flood run paired with
 * each of its runs (the median of those ratios).
 */
static void report(const Cell *cells, int ncells)
{
    static const char *const head[] = {
        "cell", "relay", "Mpps", "Gbit/s", "latency us", "loss",
        "peak RSS MiB", "vs copy", "vs qemu", "vs ref", "note", NULL };
    FILE *md = opt.md ? fopen(opt.md, "w") : NULL;
    FILE *csv = opt.csv ? fopen(opt.csv, "w") : NULL;

    if ((opt.md && !md) || (opt.csv && !csv)) {
        die("cannot write %s: %s", opt.md && !md ? opt.md : opt.csv,
            strerror(errno));
    }
    report_line(md, NULL, (char **)head);
    report_line(md, NULL, (char *[]){ "---", "---", "---:", "---:", "---:",
                                      "---:", "---:", "---:", "---:", "---:",
                                      "---", NULL });
    if (csv) {
        fprintf(csv, "cell,relay,mpps,gbps,latency_us,loss,peak_rss_mib,"
                "vs_copy,vs_qemu,vs_ref,note\n");
    }
    for (int i = 0; i < ncells; i++) {
        const Cell *c = &cells[i];
        const Cell *ref =
            c->kind == CELL_PORTS ? cell_find(cells, ncells, CELL_STREAM, 1500) :
            c->kind == CELL_STUCK ? cell_find(cells, ncells, CELL_FLOOD, -1) :
            c->kind == CELL_VU || c->kind == CELL_VU_STREAM
                ? cell_find(cells, ncells, CELL_STREAM, c->arg) :
            c->kind == CELL_VU_RTT ? cell_find(cells, ncells, CELL_LATENCY, -1) :
            c->kind == CELL_VXLAN ? cell_find(cells, ncells, CELL_DGRAM, -1) :
            NULL;

        for (int k = 0; k < RELAY_COUNT; k++) {
            const Result *r = cell_result(c, k);
            if (!r) {
                continue;
            }
            char *f[] = {
                g_strdup(c->name), g_strdup(relay_names[k]),
                g_strdup_printf("%.3f", r->mpps),
                g_strdup_printf("%.2f", r->gbps),
                g_strdup_printf("%.1f", r->usec),
                g_strdup_printf("%.4f", r->loss),
                g_strdup_printf("%.1f", r->rss_kib / 1024.0),
                ratio(c, r, cell_result(c, RELAY_COPY)),
                ratio(c, r, cell_result(c, RELAY_QEMU)),
                c->kind == CELL_STUCK && r->paired > 0 && !r->failed
                    ? g_strdup_printf("%.2fx", r->paired)
                    : ratio(c, r, cell_result(ref, k)),
                g_strdup(r->note), NULL };
            report_line(md, csv, f);
            for (char **p = f; *p; p++) {
                g_free(*p);
            }
        }
    }
    if (md) {
        fclose(md);
    }
    if (csv) {
        fclose(csv);
    }
}

/*
 * The targets of issues 12 and 14, as ratios of this run's medians: which
 * hold.  Each compares a cell on @relay (vmwire but for a ceiling) with a
 * reference cell on relay @ref_relay; @at_least: the ratio must reach
 * @want (else stay at or below it, for round trips).  @want 0: no target,
 * a ceiling printed beside one.  @arg -1: the cell of that kind whatever
 * its argument.
 */
typedef struct Target {
    CellKind kind;
    int arg;
    CellKind ref_kind;
    int ref_arg;
    RelayKind ref_relay;
    double want;
    bool at_least;
    RelayKind relay;
} Target;

static const Target targets[] = {
    { CELL_VU, 1500, CELL_STREAM, 1500, RELAY_VMWIRE, 2.0, true, RELAY_VMWIRE },
    { CELL_VU, 1500, CELL_MEMCPY, 1500, RELAY_MEMCPY, 0.3, true, RELAY_VMWIRE },
    { CELL_VU, 1500, CELL_DPDK, 1500, RELAY_DPDK, 1.0, true, RELAY_VMWIRE },
    { CELL_VU, 64, CELL_STREAM, 64, RELAY_VMWIRE, 1.0, true, RELAY_VMWIRE },
    { CELL_VU, 64, CELL_DPDK, 64, RELAY_DPDK, 0.8, true, RELAY_VMWIRE },
    { CELL_VU_RTT, -1, CELL_LATENCY, -1, RELAY_VMWIRE, 0.5, false, RELAY_VMWIRE },
    { CELL_VU_STREAM, 1500, CELL_STREAM, 1500, RELAY_VMWIRE, 1.0, true, RELAY_VMWIRE },
    /* issue 14: one daemon for hundreds of VMs, and two across VXLAN */
    { CELL_PORTS, 256, CELL_STREAM, 1500, RELAY_VMWIRE, 0.8, true, RELAY_VMWIRE },
    /* the "two-port figure" read literally: two ports both sending */
    { CELL_PORTS, 256, CELL_PORTS, 2, RELAY_VMWIRE, 0.8, true, RELAY_VMWIRE },
    /* its ceiling: the same ratio through the byte-copy relay, whose
     * cost is only the kernel's copies (copy-ports.c) */
    { CELL_PORTS, 256, CELL_PORTS, 2, RELAY_COPY, 0, true, RELAY_COPY },
    { CELL_VXLAN, -1, CELL_DGRAM, -1, RELAY_VMWIRE, 0.8, true, RELAY_VMWIRE },
};

static void report_targets(const Cell *cells, int ncells)
{
    FILE *md = opt.md ? fopen(opt.md, "a") : NULL;
    GString *out = g_string_new("\n| target | figure | ratio | holds |\n"
                                "|---|---|---:|---|\n");

    for (size_t i = 0; i < G_N_ELEMENTS(targets); i++) {
        const Target *t = &targets[i];
        const Cell *c = cell_find(cells, ncells, t->kind, t->arg);
        const Cell *ref = cell_find(cells, ncells, t->ref_kind, t->ref_arg);
        const Result *a = cell_result(c, t->relay);
        const Result *b = cell_result(ref, t->ref_relay);

        if (!a || !b) {
            continue;               /* not run: nothing to say */
        }
        g_autofree char *r = ratio(c, a, b);
        double x = a->failed || b->failed || result_key(c, b) <= 0 ? -1
                   : result_key(c, a) / result_key(c, b);
        const char *unit = t->kind == CELL_VU_RTT ? "us" : "Mpps";
        g_autofree char *name = t->relay == RELAY_VMWIRE ? g_strdup(c->name)
            : g_strdup_printf("%s %s", c->name, relay_names[t->relay]);
        g_autofree char *want = t->want == 0
            ? g_strdup("the ceiling, no target")
            : g_strdup_printf("%s %.2fx", t->at_least ? ">=" : "<=", t->want);

        g_string_append_printf(out, "| %s vs %s %s: %s | %.3f vs %.3f "
                               "%s | %s | %s |\n", name, ref->name,
                               relay_names[t->ref_relay], want,
                               result_key(c, a), result_key(c, b), unit, r,
                               x < 0 || t->want == 0 ? "-"
                               : (t->at_least ? x >= t->want
                                  : x <= t->want) ? "yes" : "no");
    }
    fputs(out->str, stdout);
    if (md) {
        fputs(out->str, md);
        fclose(md);
    }
    g_string_free(out, true);
}

/* ---- main --------------------------------------------------------------- */

/* Parse "a,b,c" of ints into @out (at most @max); returns the count. */
static int parse_list(const char *what, const char *text, int *out, int max,
                      int lo, int hi)
{
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);
    int n = 0;

    for (char **p = parts; *p && n < max; p++) {
        char *end;
        long v = strtol(*p, &end, 10);
        if (*end || v < lo || v > hi) {
            die("%s: '%s' is not in %d..%d", what, *p, lo, hi);
        }
        out[n++] = v;
    }
    return n;
}

/*
 * --cells: is @c among them, by its kind ("stream" selects every
 * "stream/SIZE") or by its whole name ("stream/64")?
 */
static bool cell_selected(const Cell *c)
{
    g_auto(GStrv) names = NULL;
    size_t kind_len = strcspn(c->name, "/");

    if (!opt.cells) {
        return true;
    }
    names = g_strsplit(opt.cells, ",", -1);
    for (char **p = names; *p; p++) {
        if ((strlen(*p) == kind_len &&
             strncmp(*p, c->name, kind_len) == 0) ||
            g_str_equal(*p, c->name)) {
            return true;
        }
    }
    return false;
}

/* --fault KIND (for tests, stream-mux.c) */
static BenchFault parse_fault(const char *name)
{
    static const char *const kinds[] = { "none", "lose", "duplicate", "damage" };

    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        if (g_str_equal(name, kinds[i])) {
            return i;
        }
    }
    die("--fault: '%s' is not lose, duplicate or damage", name);
}

static void parse_options(int argc, char **argv)
{
    g_autofree char *fault = NULL;
    GOptionEntry entries[] = {
        { "vmwire", 0, 0, G_OPTION_ARG_FILENAME, &opt.vmwire, "vmwire binary", "PATH" },
        { "qemu", 0, 0, G_OPTION_ARG_FILENAME, &opt.qemu, "QEMU binary (qemu-system-x86_64)", "PATH" },
        { "relays", 0, 0, G_OPTION_ARG_STRING, &opt.relays, "relays to run (vmwire,qemu,copy,dpdk,memcpy)", "LIST" },
        { "sizes", 0, 0, G_OPTION_ARG_STRING, &opt.sizes, "frame sizes (64,1500,9000,65535)", "LIST" },
        { "ports", 0, 0, G_OPTION_ARG_STRING, &opt.ports, "port counts for the many-ports cells (8,32,256; 2..256)", "LIST" },
        { "vu-sizes", 0, 0, G_OPTION_ARG_STRING, &opt.vu_sizes, "frame sizes of the memcpy, vhost-user and dpdk cells (64,1500)", "LIST" },
        { "vu-rx-buffer", 0, 0, G_OPTION_ARG_INT, &opt.vu_rx_buffer, "vhost-user RX descriptors of this many bytes (default: 2 KiB, a frame each; less: frames spread over several, MRG_RXBUF)", "BYTES" },
        { "cells", 0, 0, G_OPTION_ARG_STRING, &opt.cells, "run only these cells: kinds (stream,latency,ports,flood,stuck,dgram,vxlan,memcpy,vhost-user,dpdk,vhost-user-stream,vhost-user-rtt) or names (stream/64)", "LIST" },
        { "vxlan-opts", 0, 0, G_OPTION_ARG_STRING, &opt.vxlan_opts, "vxlan cell: options appended to both daemons' -netdev vxlan (udpcsum=on; '' for Linux's defaults)", "STR" },
        { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt.seconds, "seconds per run (2)", "S" },
        { "repeat", 0, 0, G_OPTION_ARG_INT, &opt.repeat, "runs per cell, median reported (3)", "N" },
        { "window", 0, 0, G_OPTION_ARG_INT, &opt.window, "frames in flight at most (1024)", "N" },
        { "window-bytes", 0, 0, G_OPTION_ARG_INT, &opt.window_bytes, "bytes in flight at most (1 MiB)", "N" },
        { "md", 0, 0, G_OPTION_ARG_FILENAME, &opt.md, "write the table as markdown", "FILE" },
        { "csv", 0, 0, G_OPTION_ARG_FILENAME, &opt.csv, "write the table as CSV", "FILE" },
        { "log", 0, 0, G_OPTION_ARG_FILENAME, &opt.log, "append the relays' output to FILE", "FILE" },
        { "ports-threads", 0, 0, G_OPTION_ARG_INT, &opt.ports_threads, "ports cells: generator threads, each with epoll over its share of the flows (0: one per core but one, left to the relay; -1: a sender and a receiver thread per flow, the old generator)", "N" },
        { "fault", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &fault, "for tests: flow 0 of the ports cells loses, duplicates or damages a frame (lose, duplicate, damage)", "KIND" },
        { "quick", 0, 0, G_OPTION_ARG_NONE, &opt.quick, "smoke test: short runs, one repetition", NULL },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt.verbose, "dgram: print each offered rate, and where frames were lost", NULL },
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- vmwire vs QEMU vs a byte-copy relay");
    g_autoptr(GError) err = NULL;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        die("%s", err->message);
    }
    if (!opt.vmwire) {
        opt.vmwire = g_strdup("build/vmwire");
    }
    if (!opt.qemu) {
        opt.qemu = g_strdup("qemu-system-x86_64");
    }
    if (opt.quick) {
        opt.seconds = MIN(opt.seconds, 0.3);
        opt.repeat = 1;
        opt.latency_rounds = 200;
    }
    if (opt.repeat < 1 || opt.repeat > BENCH_MAX_SAMPLES || opt.seconds <= 0 ||
        opt.window < 1 || opt.window_bytes < BENCH_HDR + BENCH_MAX_FRAME ||
        opt.ports_threads < -1) {
        die("bad --repeat, --seconds, --window, --window-bytes or --ports-threads");
    }
    opt.fault = fault ? parse_fault(fault) : BENCH_FAULT_NONE;
    g_auto(GStrv) relays = g_strsplit(opt.relays ? opt.relays : "vmwire,qemu,copy,dpdk,memcpy", ",", -1);
    for (char **p = relays; *p; p++) {
        int k = 0;
        while (k < RELAY_COUNT && strcmp(*p, relay_names[k]) != 0) {
            k++;
        }
        if (k == RELAY_COUNT) {
            die("unknown relay '%s' (vmwire, qemu, copy, dpdk, memcpy)", *p);
        }
        opt.relay_enabled[k] = true;
    }
}

int main(int argc, char **argv)
{
    int sizes[8], ports[8], vu_sizes[8];
    Cell cells[48];
    int ncells = 0;

    parse_options(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    int nsizes = parse_list("--sizes", opt.sizes ? opt.sizes : "64,1500,9000,65535",
                            sizes, 8, BENCH_MIN_FRAME, BENCH_MAX_FRAME);
    int nports = parse_list("--ports", opt.ports ? opt.ports : "8,32,256",
                            ports, 8, 2, BENCH_MAX_PORTS);
    int nvu = parse_list("--vu-sizes", opt.vu_sizes ? opt.vu_sizes : "64,1500",
                         vu_sizes, 8, BENCH_MIN_FRAME, 9000);

    for (int i = 0; i < nsizes; i++) {
        cells[ncells] = (Cell){ .kind = CELL_STREAM, .arg = sizes[i] };
        snprintf(cells[ncells++].name, 32, "stream/%d", sizes[i]);
    }
    cells[ncells++] = (Cell){ .kind = CELL_LATENCY, .name = "latency/64" };
    for (int i = 0; i < nports; i++) {
        cells[ncells] = (Cell){ .kind = CELL_PORTS, .arg = ports[i] };
        snprintf(cells[ncells++].name, 32, "ports/%d", ports[i]);
    }
    cells[ncells++] = (Cell){ .kind = CELL_FLOOD, .name = "flood/1500" };
    cells[ncells++] = (Cell){ .kind = CELL_STUCK, .name = "stuck/1500" };
    cells[ncells++] = (Cell){ .kind = CELL_DGRAM, .name = "dgram/1500" };
    cells[ncells++] = (Cell){ .kind = CELL_VXLAN, .name = "vxlan/1500" };
    for (int i = 0; i < nvu; i++) {
        static const struct { CellKind kind; const char *name; } vu[] = {
            { CELL_MEMCPY, "memcpy" }, { CELL_VU, "vhost-user" },
            { CELL_DPDK, "dpdk" },
        };
        for (size_t j = 0; j < G_N_ELEMENTS(vu); j++) {
            cells[ncells] = (Cell){ .kind = vu[j].kind, .arg = vu_sizes[i] };
            snprintf(cells[ncells++].name, 32, "%s/%d", vu[j].name, vu_sizes[i]);
        }
    }
    cells[ncells++] = (Cell){ .kind = CELL_VU_STREAM, .arg = 1500,
                              .name = "vhost-user-stream/1500" };
    cells[ncells++] = (Cell){ .kind = CELL_VU_RTT, .name = "vhost-user-rtt" };

    for (int i = 0; i < ncells; i++) {
        if (cell_selected(&cells[i])) {
            cell_run(&cells[i]);
        }
    }
    report(cells, ncells);
    report_targets(cells, ncells);
    if (bench_failed) {
        fprintf(stderr, "vmwire-bench: vmwire failed a cell (FAIL above)\n");
    }
    return bench_failed ? 1 : 0;
}
