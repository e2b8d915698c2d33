/*
 * DOC: fuzz-slirp: frames from a guest into -netdev user (libslirp)
 *
 * A real `-netdev user` (net/slirp.c, libslirp behind it) with a hostfwd=
 * rule (a listener on a free port of 127.0.0.1, chosen at start),
 * restrict=on or off as the input says,
 * peered with a harness NIC standing for the guest.  The NIC sends frames:
 * raw bytes, or a well-formed ARP request, DHCP discover, ICMP echo to
 * the gateway, TCP SYN to the gateway or the world, DNS query, UDP to the
 * world, ICMPv6 echo or router solicitation, with input bytes written
 * over it and, if the input says so, the IPv4 and TCP/UDP/ICMP checksums
 * made right again so the stack looks past them.  Main-loop iterations
 * let the stack's timers and sockets run.
 *
 * No byte leaves the machine: the harness defines connect(), sendto()
 * and sendmsg() itself, which every library in the process then calls;
 * they refuse any IPv4 or IPv6 destination (ENETUNREACH), so libslirp's
 * NAT sees an unreachable world (its TCP connects, UDP and DNS forwards
 * and ICMP echo sockets fail as on a host without a network), and pass
 * everything else (unix sockets) to the kernel.
 *
 *   u8 setup (bit 0: restrict=on, bit 1: ipv6=off), then operations:
 *   RAW    u16 len, bytes: any frame
 *   TMPL   u8 kind, u8 offset, u8 n, n bytes over it, u8 fix checksums
 *   LOOP   u8 n: n main-loop iterations
 *
 * Checked: every frame the stack emits is 14 to NET_BUFSIZE bytes and its
 * IPv4 header checksum is right.  The netdev and everything libslirp
 * opened are gone after each input (fd count as before).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "hw/nic-stub-guest.h"
#include "net/net.h"
#include "net/netdev.h"

typedef enum FuzzSlirpOp {
    FUZZ_SLIRP_RAW,
    FUZZ_SLIRP_TMPL,
    FUZZ_SLIRP_LOOP,
    FUZZ_SLIRP_OP_COUNT,
} FuzzSlirpOp;

/* ---- the world is unreachable ------------------------------------------- */

static bool fuzz_slirp_outside(const struct sockaddr *sa)
{
    return sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
}

/* glibc declares the address as __CONST_SOCKADDR_ARG (_GNU_SOURCE). */
int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
    const struct sockaddr *sa = addr.__sockaddr__;

    if (fuzz_slirp_outside(sa)) {
        fuzz_trace("connect() refused");
        errno = ENETUNREACH;
        return -1;
    }
    return (int)syscall(SYS_connect, fd, sa, len);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
               __CONST_SOCKADDR_ARG addr, socklen_t salen)
{
    const struct sockaddr *sa = addr.__sockaddr__;

    if (fuzz_slirp_outside(sa)) {
        fuzz_trace("sendto() refused");
        errno = ENETUNREACH;
        return -1;
    }
    return syscall(SYS_sendto, fd, buf, len, flags, sa, salen);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (fuzz_slirp_outside(msg->msg_name)) {
        errno = ENETUNREACH;
        return -1;
    }
    return syscall(SYS_sendmsg, fd, msg, flags);
}

/* ---- the guest ---------------------------------------------------------- */

typedef struct FuzzGuestNic {
    NetClientState nc;
    uint64_t frames;
} FuzzGuestNic;

static ssize_t fuzz_guest_receive(NetClientState *nc, const uint8_t *buf,
                                  size_t len)
{
    container_of(nc, FuzzGuestNic, nc)->frames++;
    fuzz_trace("the stack sent %zu bytes", len);
    fuzz_check(len >= 14 && len <= NET_BUFSIZE, "a frame of %zu bytes", len);
    if (buf[12] == 0x08 && buf[13] == 0x00 && len >= 34) {
        size_t ihl = (size_t)(buf[14] & 15) * 4;

        fuzz_check(ihl >= 20 && 14 + ihl <= len &&
                   inet_checksum(buf + 14, ihl) == 0,
                   "an IPv4 header with a bad checksum or length");
    }
    return (ssize_t)len;
}

static const NetClientInfo fuzz_guest_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .type_name = "fuzz-guest",
    .size = sizeof(FuzzGuestNic),
    .receive = fuzz_guest_receive,
};

static void fuzz_slirp_loop(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
}

static void fuzz_slirp_sent(NetClientState *nc, ssize_t len)
{
}

static void fuzz_slirp_send(NetClientState *nic, const uint8_t *f, size_t len)
{
    fuzz_trace("frame %zu bytes", len);
    if (len >= 34 && f[12] == 0x08 && f[13] == 0x00) {
        fuzz_trace("  IPv4 ihl %u total %u id %04x off %04x ttl %u proto %u "
                   "header checksum %s", f[14] & 15, f[16] << 8 | f[17],
                   f[18] << 8 | f[19], f[20] << 8 | f[21], f[22], f[23],
                   inet_checksum(f + 14, (size_t)(f[14] & 15) * 4) == 0 ||
                   (f[14] & 15) * 4 + 14 > (int)len ? "ok/short" : "bad");
    }
    net_client_send_async(nic, f, len, fuzz_slirp_sent);
    fuzz_slirp_loop(2);
}

/* ---- templates ---------------------------------------------------------- */

static const uint8_t fuzz_guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void fuzz_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Sum of the IPv4 pseudo-header for a @len-byte @proto payload. */
static uint32_t fuzz_pseudo_sum(const uint8_t *ip, uint8_t proto, size_t len)
{
    uint32_t sum = 0;

    for (int i = 12; i < 20; i += 2) {
        sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
    }
    return sum + proto + (uint32_t)len;
}

/* The IPv4 header's and its TCP/UDP/ICMP payload's checksums, right. */
static void fuzz_fix_ipv4(uint8_t *f, size_t len)
{
    uint8_t *ip = f + 14;
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    size_t tot, plen;
    uint8_t *l4;
    size_t at;
    uint32_t sum;

    if (len < 34 || ihl < 20 || 14 + ihl > len) {
        return;
    }
    ip[10] = ip[11] = 0;
    fuzz_put16(ip + 10, inet_checksum(ip, ihl));    /* stored big-endian */
    tot = (size_t)(ip[2] << 8 | ip[3]);
    if (tot < ihl || 14 + tot > len) {
        return;
    }
    l4 = ip + ihl;
    plen = tot - ihl;
    at = ip[9] == 6 ? 16 : ip[9] == 17 ? 6 : ip[9] == 1 ? 2 : 0;
    if (!at || plen < at + 2) {
        return;
    }
    l4[at] = l4[at + 1] = 0;
    sum = ip[9] == 1 ? 0 : fuzz_pseudo_sum(ip, ip[9], plen);
    for (size_t i = 0; i + 1 < plen; i += 2) {
        sum += (uint32_t)(l4[i] << 8 | l4[i + 1]);
    }
    if (plen & 1) {
        sum += (uint32_t)(l4[plen - 1] << 8);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    fuzz_put16(l4 + at, (uint16_t)~sum);
}

/* An IPv4 packet of @proto to @dst with @plen payload bytes; its length. */
static size_t fuzz_ipv4(uint8_t *f, uint8_t proto, const char *dst,
                        size_t plen)
{
    uint8_t *ip = f + 14;
    struct in_addr a;

    memset(f, 0, 14 + 20 + plen);
    memcpy(f, "\x52\x55\x0a\x00\x02\x02", 6);
    memcpy(f + 6, fuzz_guest_mac, 6);
    fuzz_put16(f + 12, 0x0800);
    ip[0] = 0x45;
    fuzz_put16(ip + 2, (uint16_t)(20 + plen));
    ip[8] = 64;
    ip[9] = proto;
    inet_pton(AF_INET, "10.0.2.15", ip + 12);
    inet_pton(AF_INET, dst, &a);
    memcpy(ip + 16, &a, 4);
    return 14 + 20 + plen;
}

static size_t fuzz_slirp_template(unsigned kind, uint8_t *f)
{
    uint8_t *l4 = f + 34;
    size_t len;

    switch (kind % 9) {
    case 0:                                         /* ARP for the gateway */
        memset(f, 0xff, 6);
        memcpy(f + 6, fuzz_guest_mac, 6);
        memcpy(f + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
        memcpy(f + 22, fuzz_guest_mac, 6);
        memcpy(f + 28, "\x0a\x00\x02\x0f", 4);
        memset(f + 32, 0, 6);
        memcpy(f + 38, "\x0a\x00\x02\x02", 4);
        return 42;
    case 1:                                         /* DHCP discover */
        len = fuzz_ipv4(f, 17, "255.255.255.255", 8 + 240 + 4);
        memset(f, 0xff, 6);
        memset(f + 26, 0, 4);
        fuzz_put16(l4, 68);
        fuzz_put16(l4 + 2, 67);
        fuzz_put16(l4 + 4, 8 + 240 + 4);
        l4[8] = 1;
        l4[9] = 1;
        l4[10] = 6;
        memcpy(l4 + 8 + 28, fuzz_guest_mac, 6);
        memcpy(l4 + 8 + 236, "\x63\x82\x53\x63\x35\x01\x01\xff", 8);
        break;
    case 2:                                         /* ping the gateway */
        len = fuzz_ipv4(f, 1, "10.0.2.2", 16);
        l4[0] = 8;
        memcpy(l4 + 4, "\x12\x34\x00\x01", 4);
        break;
    case 3:                                         /* ping the world */
        len = fuzz_ipv4(f, 1, "192.0.2.99", 16);
        l4[0] = 8;
        break;
    case 4:                                         /* SYN to the host */
    case 5:                                         /* SYN to the world */
        len = fuzz_ipv4(f, 6, kind % 9 == 4 ? "10.0.2.2" : "192.0.2.99", 20);
        fuzz_put16(l4, 40000);
        fuzz_put16(l4 + 2, 80);
        memcpy(l4 + 4, "\x00\x00\x10\x00", 4);
        l4[12] = 0x50;
        l4[13] = 0x02;
        fuzz_put16(l4 + 14, 65535);
        break;
    case 6:                                         /* DNS query */
        len = fuzz_ipv4(f, 17, "10.0.2.3", 8 + 29);
        fuzz_put16(l4, 40001);
        fuzz_put16(l4 + 2, 53);
        fuzz_put16(l4 + 4, 8 + 29);
        memcpy(l4 + 8, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
               "\x07" "example" "\x03" "com" "\x00\x00\x01\x00\x01", 29);
        break;
    case 7:                                         /* UDP to the world */
        len = fuzz_ipv4(f, 17, "192.0.2.99", 8 + 4);
        fuzz_put16(l4, 40002);
        fuzz_put16(l4 + 2, 9);
        fuzz_put16(l4 + 4, 12);
        break;
    default:                                        /* ICMPv6 echo */
        memcpy(f, "\x52\x55\x0a\x00\x02\x02", 6);
        memcpy(f + 6, fuzz_guest_mac, 6);
        memcpy(f + 12, "\x86\xdd\x60\x00\x00\x00\x00\x10\x3a\x40", 10);
        memset(f + 22, 0, 32);
        f[22] = 0xfe;
        f[23] = 0x80;
        f[37] = 0x15;
        f[38] = 0xfe;
        f[39] = 0xc0;
        f[53] = 0x02;
        memcpy(f + 54, "\x80\x00\x00\x00\x12\x34\x00\x01" "abcdefgh", 16);
        fuzz_put16(f + 56, icmp6_checksum(f + 22, f + 38, f + 54, 16));
        return 70;
    }
    fuzz_fix_ipv4(f, len);
    return len;
}

/* ---- setup -------------------------------------------------------------- */

/* A TCP port on 127.0.0.1 free a moment ago (the hostfwd= listener's). */
static unsigned fuzz_slirp_free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unsigned port = 0;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, len) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        port = ntohs(sa.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

static unsigned fuzz_slirp_port;

/*
 * -netdev user with the hostfwd= rule; if another process took the port
 * since (a parallel test), once more with a new one.
 */
static bool fuzz_slirp_add(uint8_t setup, GError **errp)
{
    g_autoptr(Netdev) netdev = NULL;
    g_autofree char *opts = g_strdup_printf(
        "user,id=fuzz-user,restrict=%s%s,hostfwd=tcp:127.0.0.1:%u-:22",
        setup & 1 ? "on" : "off", setup & 2 ? ",ipv6=off" : "",
        fuzz_slirp_port);

    netdev = netdev_parse(opts, errp);
    return netdev && netdev_add(netdev, errp);
}

static NetClientState *fuzz_slirp_start(uint8_t setup, NetClientState **nic)
{
    g_autoptr(GError) err = NULL;
    NetClientState *nc;

    if (!fuzz_slirp_add(setup, &err)) {
        g_clear_error(&err);
        fuzz_slirp_port = fuzz_slirp_free_port();
        fuzz_check(fuzz_slirp_add(setup, &err), "-netdev user: %s",
                   err ? err->message : "?");
    }
    nc = net_client_find("fuzz-user");
    *nic = net_client_new(&fuzz_guest_info, nc, "fuzz-guest", "fuzz-guest");
    return nc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_slirp_port = fuzz_slirp_free_port();
    g_main_context_iteration(NULL, FALSE);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t f[NET_BUFSIZE + 1];
    FuzzInput in;
    NetClientState *user, *nic;
    unsigned fds = fuzz_fd_count();

    fuzz_input_init(&in, data, size);
    user = fuzz_slirp_start(fuzz_u8(&in), &nic);
    while (!fuzz_input_empty(&in)) {
        switch (fuzz_u8(&in) % FUZZ_SLIRP_OP_COUNT) {
        case FUZZ_SLIRP_RAW: {
            size_t len = fuzz_u16(&in);

            len = fuzz_bytes(&in, f, MIN(len, sizeof(f)));
            fuzz_slirp_send(nic, f, len);
            break;
        }
        case FUZZ_SLIRP_TMPL: {
            size_t len = fuzz_slirp_template(fuzz_u8(&in), f);
            uint8_t off = fuzz_u8(&in);
            uint8_t n = fuzz_u8(&in);

            memset(f + len, 0, 512);    /* nothing of an earlier frame */

            n = (uint8_t)fuzz_bytes(&in, f + off, n);
            len = MAX(len, (size_t)off + n);
            if (fuzz_u8(&in) & 1) {
                fuzz_fix_ipv4(f, len);
            }
            fuzz_slirp_send(nic, f, len);
            break;
        }
        default:
            fuzz_slirp_loop(fuzz_u8(&in) % 8);
            break;
        }
    }
    net_client_free(nic);
    net_client_free(user);
    fuzz_slirp_loop(2);
    fuzz_check(fuzz_fd_count() == fds, "fds: %u before, %u after", fds,
               fuzz_fd_count());
    return 0;
}
