/*
 * DOC: fuzz-nic-stub: frames from a backend into hw/nic-stub/
 *
 * A `-device nic-stub` with ip= and ip6= (what the input's first byte
 * picks: IPv4, IPv6 or both, and a prefix) on a harness backend.  The
 * backend sends it frames (ARP, ICMP echo, neighbour solicitations,
 * ICMPv6 echo, garbage); the stub's guest answers; the backend takes the
 * replies or refuses them for a while (flow control).
 *
 *   u8 addresses, then operations until the input ends: u8 op, operands
 *   FRAME  u16 len, then len bytes: one frame to the stub
 *   TMPL   u8 kind, u8 len of a tail, tail bytes: a well-formed request
 *          (ARP request, ICMP echo, NS, ICMPv6 echo, to the stub's address
 *          or its link-local one) with the tail's bytes written over it
 *          from a chosen offset, so the fuzzer reaches every check at once
 *   TAKE   u8 n: the backend takes n more replies (0: refuses), flushes
 *   LOOP   u8 n: n main-loop iterations (the stub drains its ring)
 *
 * Checked: every reply comes from the stub's MAC, is 14 to NET_BUFSIZE
 * bytes, and its checksums (IPv4 header, ICMP, ICMPv6 over the
 * pseudo-header) are right; the stub counts every frame it was given as
 * received; no reply is lost while the backend refuses (counters: tx =
 * replies seen once everything is flushed).  All freed after each input.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <string.h>

#include "fuzz-common.h"
#include "hw/device.h"
#include "hw/nic-stub-guest.h"
#include "hw/nic-stub.h"
#include "net/net.h"

#define FUZZ_STUB_MAC { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }
#define FUZZ_STUB_STEPS 4

typedef enum FuzzStubOp {
    FUZZ_STUB_FRAME,
    FUZZ_STUB_TMPL,
    FUZZ_STUB_TAKE,
    FUZZ_STUB_LOOP,
    FUZZ_STUB_OP_COUNT,
} FuzzStubOp;

typedef struct FuzzBackend {
    NetClientState nc;
    unsigned budget;
    bool paused;                /* a frame of ours is queued */
    uint64_t replies;
} FuzzBackend;

static const uint8_t fuzz_stub_mac[6] = FUZZ_STUB_MAC;

static uint16_t fuzz_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The checksum functions return the value to store big-endian. */
static void fuzz_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* A reply's IPv4 or IPv6 part is right. */
static void fuzz_stub_check_ip(const uint8_t *ip, size_t len, uint16_t type)
{
    if (type == 0x0800) {
        size_t ihl = (size_t)(ip[0] & 15) * 4;

        fuzz_check(len >= 20 && ihl >= 20 && ihl <= len,
                   "an IPv4 reply of %zu bytes, header %zu", len, ihl);
        fuzz_check(inet_checksum(ip, ihl) == 0, "IPv4 header checksum");
        fuzz_check(fuzz_be16(ip + 2) <= len, "IPv4 length past the frame");
        fuzz_check(ip[9] != 1 ||
                   inet_checksum(ip + ihl, fuzz_be16(ip + 2) - ihl) == 0,
                   "ICMP checksum");
    } else if (type == 0x86dd) {
        size_t plen;

        fuzz_check(len >= 40, "an IPv6 reply of %zu bytes", len);
        plen = fuzz_be16(ip + 4);
        fuzz_check(40 + plen <= len, "IPv6 payload past the frame");
        fuzz_check(ip[6] != 58 ||
                   icmp6_checksum(ip + 8, ip + 24, ip + 40, plen) == 0,
                   "ICMPv6 checksum");
    }
}

static ssize_t fuzz_backend_receive(NetClientState *nc, const uint8_t *buf,
                                    size_t len)
{
    FuzzBackend *b = container_of(nc, FuzzBackend, nc);

    if (!b->budget) {
        return 0;
    }
    b->budget--;
    b->replies++;
    fuzz_check(len >= 14 && len <= NET_BUFSIZE, "a reply of %zu bytes", len);
    fuzz_check(memcmp(buf + 6, fuzz_stub_mac, 6) == 0,
               "a reply not from the stub's MAC");
    fuzz_stub_check_ip(buf + 14, len - 14, fuzz_be16(buf + 12));
    return (ssize_t)len;
}

static bool fuzz_backend_can_receive(NetClientState *nc)
{
    return container_of(nc, FuzzBackend, nc)->budget > 0;
}

static const NetClientInfo fuzz_backend_info = {
    .type = NET_CLIENT_DRIVER_SOCKET,
    .type_name = "fuzz-backend",
    .size = sizeof(FuzzBackend),
    .receive = fuzz_backend_receive,
    .can_receive = fuzz_backend_can_receive,
};

typedef struct FuzzStub {
    FuzzInput in;
    FuzzBackend *backend;
    NicStub *stub;
    uint64_t sent;              /* frames the backend handed on */
    uint8_t ip[4];
    uint8_t ip6[16];
} FuzzStub;

static void fuzz_stub_loop(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
}

static void fuzz_stub_sent(NetClientState *nc, ssize_t len)
{
    container_of(nc, FuzzBackend, nc)->paused = false;
}

/*
 * Send as a backend must: after a 0 (queued) nothing more until the
 * completion; a frame that cannot go then is not sent.
 */
static void fuzz_stub_send(FuzzStub *s, const uint8_t *frame, size_t len)
{
    ssize_t r;

    for (unsigned i = 0; i < 64 && s->backend->paused; i++) {
        fuzz_stub_loop(1);
    }
    if (s->backend->paused) {
        return;
    }
    r = net_client_send_async(&s->backend->nc, frame, len, fuzz_stub_sent);
    fuzz_trace("frame %zu bytes: %zd", len, r);
    if (len > 0 && len <= NET_BUFSIZE) {
        s->sent++;
    }
    s->backend->paused = r == 0;
    fuzz_stub_loop(1);
}

/*
 * A well-formed request to the stub (@kind % 5: ARP, ICMP echo, NS to its
 * address, NS to its link-local one, ICMPv6 echo) into @f; its length.
 */
static size_t fuzz_stub_template(FuzzStub *s, unsigned kind, uint8_t *f)
{
    static const uint8_t peer_mac[6] = { 0x52, 0x54, 0x00, 0, 0, 1 };
    static const uint8_t peer_ip[4] = { 10, 0, 0, 1 };
    uint8_t peer_ip6[16] = { 0xfe, 0x80, [15] = 1 };
    uint8_t *ip = f + 14;
    size_t plen;

    memcpy(f, fuzz_stub_mac, 6);
    memcpy(f + 6, peer_mac, 6);
    switch (kind % 5) {
    case 0:
        memset(f, 0xff, 6);
        memcpy(f + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
        memcpy(f + 22, peer_mac, 6);
        memcpy(f + 28, peer_ip, 4);
        memset(f + 32, 0, 6);
        memcpy(f + 38, s->ip, 4);
        return 42;
    case 1:
        memcpy(f + 12, "\x08\x00", 2);
        memcpy(ip, "\x45\x00\x00\x24\x00\x01\x40\x00\x40\x01\x00\x00", 12);
        memcpy(ip + 12, peer_ip, 4);
        memcpy(ip + 16, s->ip, 4);
        ip[10] = ip[11] = 0;
        fuzz_put_be16(ip + 10, inet_checksum(ip, 20));
        memcpy(ip + 20, "\x08\x00\x00\x00\x12\x34\x00\x01", 8);
        memset(ip + 28, 0x61, 8);
        fuzz_put_be16(ip + 22, inet_checksum(ip + 20, 16));
        return 14 + 36;
    default:
        break;
    }
    memcpy(f + 12, "\x86\xdd", 2);
    memcpy(ip, "\x60\x00\x00\x00\x00\x00\x3a\xff", 8);
    memcpy(ip + 8, peer_ip6, 16);
    if (kind % 5 == 4) {
        memcpy(ip + 24, s->ip6, 16);
        memcpy(ip + 40, "\x80\x00\x00\x00\x12\x34\x00\x01" "abcdefgh", 16);
        plen = 16;
    } else {
        uint8_t target[16];

        if (kind % 5 == 2) {
            memcpy(target, s->ip6, 16);
        } else {
            nic_stub_link_local(fuzz_stub_mac, target);
        }
        /* To the target's solicited-node multicast group. */
        memcpy(ip + 24, "\xff\x02\0\0\0\0\0\0\0\0\0\x01\xff", 13);
        memcpy(ip + 37, target + 13, 3);
        memcpy(f, "\x33\x33\xff", 3);
        memcpy(f + 3, target + 13, 3);
        memcpy(ip + 40, "\x87\x00\x00\x00\x00\x00\x00\x00", 8);
        memcpy(ip + 48, target, 16);
        memcpy(ip + 64, "\x01\x01", 2);
        memcpy(ip + 66, peer_mac, 6);
        plen = 32;
    }
    ip[5] = (uint8_t)plen;
    fuzz_put_be16(ip + 42, icmp6_checksum(ip + 8, ip + 24, ip + 40, plen));
    return 14 + 40 + plen;
}

static void fuzz_stub_tmpl(FuzzStub *s)
{
    static uint8_t frame[256];
    size_t len = fuzz_stub_template(s, fuzz_u8(&s->in), frame);
    uint8_t off = fuzz_u8(&s->in);
    uint8_t n = fuzz_u8(&s->in);
    uint8_t newlen = fuzz_u8(&s->in);

    /* Tail bytes over the template, then maybe a new length. */
    off %= sizeof(frame);
    n = (uint8_t)MIN(n, sizeof(frame) - off);
    n = (uint8_t)fuzz_bytes(&s->in, frame + off, n);
    len = MAX(len, (size_t)off + n);
    if (newlen & 0x80) {
        len = MIN(len, newlen & 0x7f);
    }
    fuzz_stub_send(s, frame, len);
}

static void fuzz_stub_frame(FuzzStub *s)
{
    static uint8_t frame[NET_BUFSIZE + 1];
    size_t len = fuzz_u16(&s->in);

    len = fuzz_bytes(&s->in, frame, MIN(len, sizeof(frame)));
    fuzz_stub_send(s, frame, len);
}

static void fuzz_stub_take(FuzzStub *s, unsigned n)
{
    s->backend->budget = n;
    if (n) {
        net_client_flush_queued(&s->backend->nc);
    }
    fuzz_stub_loop(FUZZ_STUB_STEPS);
}

/* -device nic-stub with the addresses the input chose. */
static void fuzz_stub_create(FuzzStub *s)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(DeviceOptions) opts = NULL;
    g_autofree char *str = NULL;
    uint8_t how = fuzz_u8(&s->in);
    const char *ip = how & 1 ? ",ip=10.0.0.2/24" : "";
    const char *ip6 = how & 2 ? ",ip6=fd00::2/64" : "";

    if (how & 4) {
        ip = how & 1 ? ",ip=10.0.0.2" : ip;
        ip6 = how & 2 ? ",ip6=fd00::2" : ip6;
    }
    memcpy(s->ip, "\x0a\x00\x00\x02", 4);
    memcpy(s->ip6, "\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x02", 16);
    s->backend = (FuzzBackend *)net_client_new(&fuzz_backend_info, NULL,
                                               "fuzz-backend", "fuzz-net");
    s->backend->budget = 1;
    str = g_strdup_printf("nic-stub,id=fuzz-stub,netdev=fuzz-net,"
                          "mac=52:54:00:12:34:56%s%s", ip, ip6);
    opts = device_parse(str, &err);
    fuzz_check(opts && device_add(opts, &err), "%s: %s", str,
               err ? err->message : "?");
    s->stub = nic_stub_find("fuzz-stub", &err);
    fuzz_check(s->stub, "nic_stub_find: %s", err ? err->message : "?");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzStub s = { 0 };
    NicStubCounters c;

    fuzz_input_init(&s.in, data, size);
    fuzz_stub_create(&s);
    while (!fuzz_input_empty(&s.in)) {
        switch (fuzz_u8(&s.in) % FUZZ_STUB_OP_COUNT) {
        case FUZZ_STUB_FRAME:
            fuzz_stub_frame(&s);
            break;
        case FUZZ_STUB_TMPL:
            fuzz_stub_tmpl(&s);
            break;
        case FUZZ_STUB_TAKE:
            fuzz_stub_take(&s, fuzz_u8(&s.in));
            break;
        default:
            fuzz_stub_loop(fuzz_u8(&s.in) % 16);
            break;
        }
    }
    /* Everything drained and flushed: each reply seen once. */
    for (unsigned i = 0; i < 64; i++) {
        fuzz_stub_take(&s, UINT_MAX);
    }
    nic_stub_get_counters(s.stub, &c);
    fuzz_check(c.rx_frames == s.sent, "the stub received %" G_GUINT64_FORMAT
               " frames of %" G_GUINT64_FORMAT, c.rx_frames, s.sent);
    fuzz_check(c.tx_frames == s.backend->replies && c.dropped == 0,
               "replies: %" G_GUINT64_FORMAT " sent, %" G_GUINT64_FORMAT
               " seen, %" G_GUINT64_FORMAT " dropped", c.tx_frames,
               s.backend->replies, c.dropped);
    fuzz_check(c.arp_replies + c.echo_replies == c.tx_frames,
               "replies of no kind");
    fuzz_trace("%" G_GUINT64_FORMAT " ARP/NA and %" G_GUINT64_FORMAT
               " echo replies", c.arp_replies, c.echo_replies);
    net_client_free((NetClientState *)s.stub);
    net_client_free(&s.backend->nc);
    fuzz_stub_loop(2);
    return 0;
}
