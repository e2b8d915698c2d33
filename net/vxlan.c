/*
 * DOC: -netdev vxlan: a VXLAN tunnel endpoint (RFC 7348), as Linux's vxlan
 *
 * The client's peer (a hub port or a NIC) sees plain Ethernet; the
 * underlay sees UDP datagrams to port dstport= (default 4789) carrying an
 * 8-byte header (flags 0x08, 24-bit VNI, reserved bits zero) and the
 * inner frame without FCS.
 *
 *   underlay -> peer: at most VXLAN_RX_READS recvmmsg() per wake-up into a
 *     fixed buffer (VXLAN_RX_BATCH messages of up to 64 KiB).  The
 *     receive socket takes UDP GRO where the kernel has it: datagrams of
 *     one flow may arrive coalesced, one message with a UDP_GRO control
 *     message giving their size (a UDP GSO message over loopback always
 *     does), and are split again (vxlan_rx_next(); a size of 0 or not
 *     below the message's length: one datagram).  Each datagram that is
 *     short, has flags other than 0x08 (or any reserved bit set, as
 *     Linux), carries a runt inner frame or another VNI is dropped and
 *     counted (dropped_by malformed, and bad-header / wrong-vni);
 *     otherwise the inner source MAC is learned (-> the outer source
 *     address) and the frame goes to the peer with
 *     net_client_send_async(); a frame the peer queues stops reading
 *     until its completion (lossless), which resumes with the next
 *     datagram (rx_next, and rx_off inside a coalesced message).
 *   peer -> underlay: the inner destination MAC is looked up in the FDB:
 *     a known unicast MAC goes to its one remote, anything else to every
 *     address of the flood list (group=, or every remote=, plus entries
 *     appended over QMP).  Inside a batch (util/batch.h) each datagram is
 *     copied into a fixed transmit arena and when the batch ends each
 *     send socket's datagrams leave in one sendmmsg(); with UDP GSO
 *     (IPv6, or IPv4 with udpcsum=on) a run of equal-sized datagrams to
 *     one remote is one message, cut by the kernel.  Outside a batch,
 *     sendmsg() at once.  A full socket buffer drops the frame for that
 *     destination (queue full), as a kernel tunnel does.
 *
 * Sending uses a pool of up to VXLAN_TX_SOCKETS ordinary UDP sockets,
 * each bound to local= and a port of srcport=; a hash of the inner flow
 * (MACs, IP addresses and ports) picks the socket, so one flow keeps one
 * source port and flows spread over as many ports as the pool has (16
 * values of entropy, not the whole range).  No privilege is needed.  The
 * UDP checksum is zero over IPv4 unless udpcsum=on (SO_NO_CHECK, as
 * Linux's vxlan; Linux refuses UDP GSO on such a socket, so then each
 * datagram is its own message) and the kernel's over IPv6.  If no port
 * of srcport= can be bound, frames leave from the receive socket (source
 * port dstport=, one warning).  Every socket forbids fragmentation: a
 * frame too big for the underlay fails with EMSGSIZE and is dropped and
 * counted (oversized, too-big).
 *
 * Owns: its sockets, the receive buffer, the transmit arena and the
 * FDB, all allocated at creation.  net/vxlan-qmp.c has its QMP commands.
 */
#include "net/netdev.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>

#include "vxlan-internal.h"
#include "dgram-conn.h"
#include "util/error.h"
#include "util/log.h"
#include "util/batch.h"
#include "util/sockops.h"

/* ---- the wire -------------------------------------------------------- */

void vxlan_header_build(uint8_t *hdr, uint32_t vni)
{
    memset(hdr, 0, VXLAN_HDR_LEN);
    hdr[0] = VXLAN_FLAG_I;
    hdr[4] = (uint8_t)(vni >> 16);
    hdr[5] = (uint8_t)(vni >> 8);
    hdr[6] = (uint8_t)vni;
}

VxlanRx vxlan_header_parse(const uint8_t *buf, size_t len, uint32_t vni)
{
    uint32_t got;

    /*
     * Linux's vxlan (without GBP or RCO) treats every bit of the header
     * other than I and the VNI as a flag it does not know: such a datagram
     * is malformed and dropped, although RFC 7348 says to ignore them.
     */
    if (len < VXLAN_HDR_LEN + VXLAN_ETH_HLEN || buf[0] != VXLAN_FLAG_I ||
        buf[1] || buf[2] || buf[3] || buf[7]) {
        return VXLAN_RX_BAD_HEADER;
    }
    got = (uint32_t)buf[4] << 16 | (uint32_t)buf[5] << 8 | buf[6];
    return got == vni ? VXLAN_RX_OK : VXLAN_RX_WRONG_VNI;
}

static uint32_t vxlan_hash_bytes(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;         /* FNV-1a */
    }
    return h;
}

/* Hash the L3/L4 part of a frame whose payload starts at @l3. */
static uint32_t vxlan_hash_l3(uint32_t h, const uint8_t *head, size_t len,
                              size_t l3, uint16_t type)
{
    size_t l4 = 0;
    uint8_t proto = 0;

    if (type == 0x0800 && len >= l3 + 20) {
        size_t ihl = (size_t)(head[l3] & 0x0f) * 4;

        h = vxlan_hash_bytes(h, head + l3 + 12, 8);
        proto = head[l3 + 9];
        /* Not a fragment (offset 0, MF clear): the ports are there. */
        if ((head[l3 + 6] & 0x3f) == 0 && head[l3 + 7] == 0) {
            l4 = l3 + ihl;
        }
    } else if (type == 0x86dd && len >= l3 + 40) {
        h = vxlan_hash_bytes(h, head + l3 + 8, 32);
        proto = head[l3 + 6];
        l4 = l3 + 40;
    }
    if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && l4 &&
        len >= l4 + 4) {
        h = vxlan_hash_bytes(h, &proto, 1);
        h = vxlan_hash_bytes(h, head + l4, 4);
    }
    return h;
}

uint16_t vxlan_flow_port(const uint8_t *head, size_t len, uint16_t min,
                         uint16_t max)
{
    uint32_t h = 2166136261u;
    size_t l3 = VXLAN_ETH_HLEN;
    uint16_t type;

    if (len < VXLAN_ETH_HLEN) {
        return min;
    }
    h = vxlan_hash_bytes(h, head, 12);
    type = (uint16_t)(head[12] << 8 | head[13]);
    if (type == 0x8100 && len >= 18) {
        type = (uint16_t)(head[16] << 8 | head[17]);
        l3 = 18;
    }
    h = vxlan_hash_l3(h, head, len, l3, type);
    h ^= h >> 16;
    return (uint16_t)(min + h % ((uint32_t)max - min + 1));
}

/* ---- the FDB --------------------------------------------------------- */

static int64_t (*vxlan_clock)(void) = g_get_monotonic_time;

void vxlan_set_clock(int64_t (*now)(void))
{
    vxlan_clock = now ? now : g_get_monotonic_time;
}

static bool vxlan_mac_is_zero(const uint8_t *mac)
{
    static const uint8_t zero[6];

    return memcmp(mac, zero, 6) == 0;
}

static bool vxlan_addr_equal(const VxlanAddr *a, const VxlanAddr *b)
{
    if (a->sa.sa_family != b->sa.sa_family) {
        return false;
    }
    if (a->sa.sa_family == AF_INET) {
        return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
    }
    return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

static unsigned vxlan_fdb_bucket(const uint8_t *mac)
{
    return vxlan_hash_bytes(2166136261u, mac, 6) & (VXLAN_FDB_BUCKETS - 1);
}

void vxlan_fdb_init(VxlanFdb *f, int64_t age_us, bool learning)
{
    memset(f, 0, sizeof(*f));
    f->slots = g_new0(VxlanFdbSlot, VXLAN_FDB_SIZE);
    f->buckets = g_new(int32_t, VXLAN_FDB_BUCKETS);
    for (unsigned i = 0; i < VXLAN_FDB_BUCKETS; i++) {
        f->buckets[i] = -1;
    }
    for (int32_t i = 0; i < VXLAN_FDB_SIZE; i++) {
        f->slots[i].next = i + 1 < VXLAN_FDB_SIZE ? i + 1 : -1;
    }
    f->free_head = 0;
    f->age_us = age_us;
    f->learning = learning;
}

void vxlan_fdb_destroy(VxlanFdb *f)
{
    g_clear_pointer(&f->slots, g_free);
    g_clear_pointer(&f->buckets, g_free);
}

/* Unlink slot @i, found behind *@link, and free it. */
static void vxlan_fdb_remove(VxlanFdb *f, int32_t *link, int32_t i)
{
    *link = f->slots[i].next;
    f->slots[i].used = false;
    f->slots[i].next = f->free_head;
    f->free_head = i;
    f->count--;
}

static bool vxlan_fdb_expired(const VxlanFdb *f, const VxlanFdbSlot *s,
                              int64_t now)
{
    return !s->is_static && now - s->seen_us > f->age_us;
}

/*
 * The slot of @mac, or -1; an expired learned entry found on the way is
 * removed (aging is checked when looked at).
 */
static int32_t vxlan_fdb_find(VxlanFdb *f, const uint8_t *mac, int64_t now)
{
    int32_t *link = &f->buckets[vxlan_fdb_bucket(mac)];

    while (*link >= 0) {
        int32_t i = *link;
        VxlanFdbSlot *s = &f->slots[i];

        if (memcmp(s->mac, mac, 6) == 0) {
            if (vxlan_fdb_expired(f, s, now)) {
                vxlan_fdb_remove(f, link, i);
                return -1;
            }
            return i;
        }
        link = &s->next;
    }
    return -1;
}

/* Remove every expired learned entry (only when the table is full). */
static void vxlan_fdb_sweep(VxlanFdb *f, int64_t now)
{
    for (unsigned b = 0; b < VXLAN_FDB_BUCKETS; b++) {
        int32_t *link = &f->buckets[b];

        while (*link >= 0) {
            int32_t i = *link;

            if (vxlan_fdb_expired(f, &f->slots[i], now)) {
                vxlan_fdb_remove(f, link, i);
            } else {
                link = &f->slots[i].next;
            }
        }
    }
}

/* A new slot for @mac (chained, marked used), or -1 if the table is full. */
static int32_t vxlan_fdb_insert(VxlanFdb *f, const uint8_t *mac, int64_t now)
{
    unsigned b = vxlan_fdb_bucket(mac);
    int32_t i;

    if (f->free_head < 0) {
        vxlan_fdb_sweep(f, now);
    }
    if (f->free_head < 0) {
        return -1;
    }
    i = f->free_head;
    f->free_head = f->slots[i].next;
    f->slots[i] = (VxlanFdbSlot){ .used = true, .next = f->buckets[b] };
    memcpy(f->slots[i].mac, mac, 6);
    f->buckets[b] = i;
    f->count++;
    return i;
}

void vxlan_fdb_learn(VxlanFdb *f, const uint8_t *mac,
                     const VxlanAddr *remote)
{
    int64_t now;
    int32_t i;

    if (!f->learning || (mac[0] & 1) || vxlan_mac_is_zero(mac)) {
        return;
    }
    now = vxlan_clock();
    i = vxlan_fdb_find(f, mac, now);
    if (i < 0) {
        i = vxlan_fdb_insert(f, mac, now);
        if (i < 0) {
            f->full++;
            return;
        }
    } else if (f->slots[i].is_static) {
        return;
    }
    f->slots[i].remote = *remote;
    f->slots[i].seen_us = now;
}

unsigned vxlan_fdb_lookup(VxlanFdb *f, const uint8_t *mac,
                          const VxlanAddr **out)
{
    if (!(mac[0] & 1) && f->count) {
        int32_t i = vxlan_fdb_find(f, mac, vxlan_clock());

        if (i >= 0) {
            *out = &f->slots[i].remote;
            return 1;
        }
    }
    *out = f->flood;
    return f->n_flood;
}

bool vxlan_fdb_add(VxlanFdb *f, const uint8_t *mac, const VxlanAddr *remote,
                   GError **errp)
{
    int64_t now = vxlan_clock();
    int32_t i;

    if (vxlan_mac_is_zero(mac)) {
        for (unsigned k = 0; k < f->n_flood; k++) {
            if (vxlan_addr_equal(&f->flood[k], remote)) {
                return true;    /* as `bridge fdb append` of a known one */
            }
        }
        if (f->n_flood == VXLAN_FLOOD_MAX) {
            error_setg(errp, "at most %d remotes get flooded frames",
                       VXLAN_FLOOD_MAX);
            return false;
        }
        f->flood[f->n_flood++] = *remote;
        return true;
    }
    if (mac[0] & 1) {
        error_setg(errp, "Parameter 'mac' expects a unicast MAC address or "
                   "00:00:00:00:00:00");
        return false;
    }
    i = vxlan_fdb_find(f, mac, now);
    if (i < 0 && (i = vxlan_fdb_insert(f, mac, now)) < 0) {
        error_setg(errp, "the forwarding database is full (%d entries)",
                   VXLAN_FDB_SIZE);
        return false;
    }
    f->slots[i].is_static = true;
    f->slots[i].remote = *remote;
    f->slots[i].seen_us = now;
    return true;
}

static bool vxlan_fdb_del_flood(VxlanFdb *f, const VxlanAddr *remote,
                                GError **errp)
{
    if (!remote) {
        error_setg(errp, "Parameter 'remote' is missing");
        return false;
    }
    for (unsigned k = 0; k < f->n_flood; k++) {
        if (vxlan_addr_equal(&f->flood[k], remote)) {
            memmove(&f->flood[k], &f->flood[k + 1],
                    (f->n_flood - k - 1) * sizeof(f->flood[0]));
            f->n_flood--;
            return true;
        }
    }
    error_setg(errp, "no such entry");
    return false;
}

bool vxlan_fdb_del(VxlanFdb *f, const uint8_t *mac, const VxlanAddr *remote,
                   GError **errp)
{
    int32_t *link;

    if (vxlan_mac_is_zero(mac)) {
        return vxlan_fdb_del_flood(f, remote, errp);
    }
    vxlan_fdb_find(f, mac, vxlan_clock());      /* drops it if expired */
    link = &f->buckets[vxlan_fdb_bucket(mac)];
    for (; *link >= 0; link = &f->slots[*link].next) {
        VxlanFdbSlot *s = &f->slots[*link];

        if (memcmp(s->mac, mac, 6) == 0 &&
            (!remote || vxlan_addr_equal(&s->remote, remote))) {
            vxlan_fdb_remove(f, link, *link);
            return true;
        }
    }
    error_setg(errp, "no such entry");
    return false;
}

void vxlan_fdb_foreach(VxlanFdb *f, VxlanFdbFunc *fn, void *opaque)
{
    static const uint8_t zero[6];
    int64_t now = vxlan_clock();

    for (unsigned k = 0; k < f->n_flood; k++) {
        fn(zero, &f->flood[k], true, 0, opaque);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < VXLAN_FDB_SIZE; i++) {
            const VxlanFdbSlot *s = &f->slots[i];

            if (!s->used || s->is_static != (pass == 0) ||
                vxlan_fdb_expired(f, s, now)) {
                continue;
            }
            fn(s->mac, &s->remote, s->is_static,
               s->is_static ? 0 : (now - s->seen_us) / 1000, opaque);
        }
    }
}

/* ---- addresses ------------------------------------------------------- */

bool vxlan_parse_addr(const char *str, int family, const char *what,
                      VxlanAddr *addr, GError **errp)
{
    memset(addr, 0, sizeof(*addr));
    if (inet_pton(AF_INET, str, &addr->in.sin_addr) == 1) {
        addr->in.sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, str, &addr->in6.sin6_addr) == 1) {
        addr->in6.sin6_family = AF_INET6;
    } else {
        error_setg(errp, "%s address '%s' is not a valid IPv4 or IPv6 "
                   "address", what, str);
        return false;
    }
    if (family && addr->sa.sa_family != family) {
        error_setg(errp, "%s address '%s' is not of the family of local=",
                   what, str);
        return false;
    }
    return true;
}

bool vxlan_parse_mac(const char *str, uint8_t *mac)
{
    unsigned v[6];
    char end;

    if (sscanf(str, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2],
               &v[3], &v[4], &v[5], &end) != 6) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        mac[i] = (uint8_t)v[i];
    }
    return true;
}

const char *vxlan_format_addr(const VxlanAddr *addr, char *buf, size_t len)
{
    const void *raw = addr->sa.sa_family == AF_INET ?
                      (const void *)&addr->in.sin_addr :
                      (const void *)&addr->in6.sin6_addr;

    if (!inet_ntop(addr->sa.sa_family, raw, buf, (socklen_t)len)) {
        g_strlcpy(buf, "?", len);
    }
    return buf;
}

static socklen_t vxlan_addr_len(const VxlanAddr *addr)
{
    return addr->sa.sa_family == AF_INET ? sizeof(addr->in)
                                         : sizeof(addr->in6);
}

static void vxlan_addr_set_port(VxlanAddr *addr, uint16_t port)
{
    if (addr->sa.sa_family == AF_INET) {
        addr->in.sin_port = htons(port);
    } else {
        addr->in6.sin6_port = htons(port);
    }
}

/* ---- transmit: peer -> underlay -------------------------------------- */

/* A datagram that could not be sent: dropped, counted by its reason. */
static void vxlan_count_send_error(VxlanState *s, int err)
{
    if (err == EMSGSIZE) {
        s->too_big++;
        net_client_count_oversized(&s->nc);
        net_client_count_lost(&s->nc);
    } else if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
        net_client_count_drop(&s->nc, NET_DROP_QUEUE_FULL);
    } else {
        net_client_count_lost(&s->nc);  /* unreachable and the like */
    }
}

/* The messages of one sendmmsg() to one socket (see vxlan_tx_plan()). */
typedef struct VxlanTxPlan {
    struct mmsghdr msgs[VXLAN_TX_BATCH];
    struct iovec iov[VXLAN_TX_BATCH];
    DgramGsoCmsg ctrl[VXLAN_TX_BATCH];
    unsigned frames[VXLAN_TX_BATCH];    /* datagrams per message */
    unsigned n;
} VxlanTxPlan;

/* May datagram @i join the message that ends with datagram @last? */
static bool vxlan_tx_joins(const VxlanState *s, const VxlanTxPlan *p,
                           unsigned last, unsigned i)
{
    size_t len = s->tx_iov[i].iov_len;

    return s->tx_gso && p->frames[p->n - 1] < DGRAM_CONN_GSO_SEGS &&
           len == s->tx_iov[last].iov_len &&
           (p->frames[p->n - 1] + 1) * len <= DGRAM_CONN_GSO_BYTES &&
           vxlan_addr_equal(&s->tx_to[i], &s->tx_to[last]);
}

/*
 * The batch's datagrams that leave @fd, in their order, as messages: with
 * UDP GSO a run of datagrams of one size to one destination is one
 * message (UDP_SEGMENT), which the kernel routes once and cuts into the
 * same datagrams, as net/dgram-conn.c does.
 */
static void vxlan_tx_plan(VxlanState *s, int fd, VxlanTxPlan *p)
{
    unsigned niov = 0, last = 0, first[VXLAN_TX_BATCH];

    p->n = 0;
    for (unsigned i = 0; i < s->tx_count; i++) {
        if (s->tx_fd_of[i] != fd) {
            continue;
        }
        s->tx_fd_of[i] = -1;
        if (p->n && vxlan_tx_joins(s, p, last, i)) {
            p->frames[p->n - 1]++;
        } else {
            first[p->n] = niov;
            p->frames[p->n] = 1;
            p->msgs[p->n++].msg_hdr = s->tx_msgs[i].msg_hdr;
        }
        p->iov[niov++] = s->tx_iov[i];
        last = i;
    }
    for (unsigned m = 0; m < p->n; m++) {
        struct msghdr *h = &p->msgs[m].msg_hdr;

        h->msg_iov = &p->iov[first[m]];
        h->msg_iovlen = p->frames[m];
        if (p->frames[m] > 1) {
            dgram_gso_set(h, &p->ctrl[m], (uint16_t)h->msg_iov->iov_len);
        }
    }
}

/*
 * The kernel refused GSO message @m as such (dgram_gso_refusal()): its
 * datagrams go again one by one.  If the first one leaves, GSO was the
 * trouble (a path without checksum offload, a segment size it does not
 * take): it goes off for this netdev, logged once.  If not (too big for
 * the path, EMSGSIZE), the datagrams were; GSO stays.
 */
static void vxlan_tx_ungso(VxlanState *s, int fd, struct mmsghdr *m,
                           int err)
{
    struct msghdr one = m->msg_hdr;

    one.msg_control = NULL;
    one.msg_controllen = 0;
    one.msg_iovlen = 1;
    for (size_t k = 0; k < m->msg_hdr.msg_iovlen; k++) {
        one.msg_iov = &m->msg_hdr.msg_iov[k];
        if (sockops->sendmsg(fd, &one, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
            vxlan_count_send_error(s, errno);
        } else if (k == 0 && s->tx_gso) {
            s->tx_gso = false;
            log_report_id(s->nc.name, "the kernel refused UDP segmentation "
                          "offload (%s); sending datagrams one by one",
                          g_strerror(err));
        }
    }
}

/*
 * Send the batch's datagrams that leave @fd: sendmmsg() of the plan's
 * messages; a message that fails is counted (each of its datagrams) and
 * skipped, one GSO refused as such goes again datagram by datagram.
 */
static void vxlan_tx_flush_fd(VxlanState *s, int fd)
{
    VxlanTxPlan p;
    unsigned done = 0, tries = 0;

    vxlan_tx_plan(s, fd, &p);
    while (done < p.n) {
        int sent = sockops->sendmmsg(fd, &p.msgs[done], p.n - done,
                                     MSG_DONTWAIT | MSG_NOSIGNAL);
        int err = errno;

        if (sent > 0) {
            done += (unsigned)sent;
            continue;
        }
        if (err == EINTR && ++tries < VXLAN_TX_BATCH) {
            continue;
        }
        if (p.frames[done] > 1 && dgram_gso_refusal(err)) {
            vxlan_tx_ungso(s, fd, &p.msgs[done], err);
        } else {
            for (unsigned k = 0; k < p.frames[done]; k++) {
                vxlan_count_send_error(s, err);
            }
        }
        done++;
    }
}

/*
 * Send what the batch collected: one sendmmsg() (or more, after an error)
 * per send socket.  Datagrams of one socket keep their order; those of
 * two sockets are of two flows, whose order does not matter.
 */
static void vxlan_tx_flush(BatchEntry *e)
{
    VxlanState *s = container_of(e, VxlanState, tx_flush);

    for (unsigned i = 0; i < s->tx_count; i++) {
        if (s->tx_fd_of[i] >= 0) {
            vxlan_tx_flush_fd(s, s->tx_fd_of[i]);
        }
    }
    s->tx_count = 0;
    s->tx_used = 0;
}

/* One datagram now, with sendmsg(), outside a batch. */
static void vxlan_send_now(VxlanState *s, int fd, const VxlanAddr *dst,
                           const uint8_t *hdr, const struct iovec *iov,
                           int iovcnt)
{
    struct iovec out[16];
    VxlanAddr to = *dst;
    struct msghdr msg = {
        .msg_name = &to, .msg_namelen = vxlan_addr_len(dst),
        .msg_iov = out, .msg_iovlen = (size_t)iovcnt + 1,
    };
    ssize_t ret;
    unsigned tries = 0;

    vxlan_addr_set_port(&to, s->dstport);
    out[0] = (struct iovec){ (void *)hdr, VXLAN_HDR_LEN };
    memcpy(&out[1], iov, (size_t)iovcnt * sizeof(*iov));
    do {
        ret = sockops->sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (ret < 0 && errno == EINTR && ++tries < VXLAN_TX_BATCH);
    if (ret < 0) {
        vxlan_count_send_error(s, errno);
    }
}

/*
 * One datagram to @dst from @fd: the VXLAN header, then the frame.
 * Inside a batch it is copied for the batch's sendmmsg(); outside, sent
 * at once.
 */
static void vxlan_send_one(VxlanState *s, int fd, const VxlanAddr *dst,
                           const uint8_t *hdr, const struct iovec *iov,
                           int iovcnt, size_t size)
{
    unsigned i;
    uint8_t *p;

    if (!batch_active()) {
        vxlan_send_now(s, fd, dst, hdr, iov, iovcnt);
        return;
    }
    if (s->tx_count == VXLAN_TX_BATCH ||
        s->tx_used + VXLAN_HDR_LEN + size > VXLAN_TX_BYTES) {
        vxlan_tx_flush(&s->tx_flush);
    }
    i = s->tx_count++;
    p = s->tx_buf + s->tx_used;
    memcpy(p, hdr, VXLAN_HDR_LEN);
    iov_to_buf(iov, iovcnt, p + VXLAN_HDR_LEN, size);
    s->tx_used += VXLAN_HDR_LEN + size;
    s->tx_to[i] = *dst;
    vxlan_addr_set_port(&s->tx_to[i], s->dstport);
    s->tx_fd_of[i] = fd;
    s->tx_iov[i] = (struct iovec){ p, VXLAN_HDR_LEN + size };
    s->tx_msgs[i].msg_hdr = (struct msghdr){
        .msg_name = &s->tx_to[i], .msg_namelen = vxlan_addr_len(dst),
        .msg_iov = &s->tx_iov[i], .msg_iovlen = 1,
    };
    batch_defer(&s->tx_flush, vxlan_tx_flush);
}

int vxlan_tx_fd(const VxlanState *s, const uint8_t *head, size_t len)
{
    if (s->n_tx == 0) {
        return s->rx_fd;
    }
    /* the flow hash, into 0..n_tx-1 instead of srcport= */
    return s->tx_fds[vxlan_flow_port(head, len, 0,
                                     (uint16_t)(s->n_tx - 1))];
}

static ssize_t vxlan_receive_iov(NetClientState *nc, const struct iovec *iov,
                                 int iovcnt)
{
    VxlanState *s = container_of(nc, VxlanState, nc);
    size_t size = iov_size_total(iov, iovcnt);
    uint8_t head[96];
    size_t head_len = iov_to_buf(iov, iovcnt, head, sizeof(head));
    uint8_t hdr[VXLAN_HDR_LEN];
    const VxlanAddr *dst;
    unsigned n;
    int fd;

    if (head_len < VXLAN_ETH_HLEN || iovcnt > 15) {
        net_client_count_drop(nc, NET_DROP_MALFORMED);
        return (ssize_t)size;
    }
    /* No UDP datagram holds it (IPv4's 65535 bytes count its header). */
    if (size + 8 + VXLAN_HDR_LEN > 0xffff - (s->family == AF_INET ? 20 : 0)) {
        vxlan_count_send_error(s, EMSGSIZE);
        return (ssize_t)size;
    }
    vxlan_header_build(hdr, s->vni);
    fd = vxlan_tx_fd(s, head, head_len);
    n = vxlan_fdb_lookup(&s->fdb, head, &dst);
    if (n == 0) {
        net_client_count_drop(nc, NET_DROP_LINK_DOWN);  /* nowhere to go */
    }
    for (unsigned k = 0; k < n; k++) {
        vxlan_send_one(s, fd, &dst[k], hdr, iov, iovcnt, size);
    }
    return (ssize_t)size;
}

/* ---- receive: underlay -> peer --------------------------------------- */

static void vxlan_sent(NetClientState *nc, ssize_t len);

/* One datagram of a received message (see vxlan_rx_next()). */
typedef struct VxlanRxDatagram {
    const uint8_t *buf;             /* borrowed: the receive buffer */
    size_t len;
    bool truncated;                 /* the kernel cut the message */
    VxlanAddr *from;
} VxlanRxDatagram;

/* Check, learn from and hand on one datagram.  False if the peer queued. */
static bool vxlan_deliver_one(VxlanState *s, const VxlanRxDatagram *d)
{
    if (d->truncated) {
        net_client_count_oversized(&s->nc);
        net_client_count_lost(&s->nc);
        return true;
    }
    switch (vxlan_header_parse(d->buf, d->len, s->vni)) {
    case VXLAN_RX_BAD_HEADER:
        s->bad_header++;
        net_client_count_drop(&s->nc, NET_DROP_MALFORMED);
        return true;
    case VXLAN_RX_WRONG_VNI:
        s->wrong_vni++;
        net_client_count_drop(&s->nc, NET_DROP_MALFORMED);
        return true;
    case VXLAN_RX_OK:
        break;
    }
    if (d->from->sa.sa_family == AF_INET6 && s->family == AF_INET6) {
        d->from->in6.sin6_port = 0;
        d->from->in6.sin6_flowinfo = 0;
    }
    vxlan_fdb_learn(&s->fdb, d->buf + VXLAN_HDR_LEN + 6, d->from);
    return net_client_send_async(&s->nc, d->buf + VXLAN_HDR_LEN,
                                 d->len - VXLAN_HDR_LEN, vxlan_sent) != 0;
}

/*
 * The next datagram of the batch: in message rx_next from byte rx_off,
 * its segment size long (the last segment: what is left), or the whole
 * message if it is one datagram.  The cursor moves past it, so a frame
 * the peer queues resumes with the next one.  False: the batch is done.
 */
static bool vxlan_rx_next(VxlanState *s, VxlanRxDatagram *d)
{
    unsigned i = s->rx_next;
    size_t rest, seg;

    if (i >= s->rx_count) {
        return false;
    }
    rest = s->rx_msgs[i].msg_len - s->rx_off;
    seg = s->rx_seg[i] ? MIN(rest, s->rx_seg[i]) : rest;
    d->buf = s->rx_buf + (size_t)i * VXLAN_RX_BUF + s->rx_off;
    d->len = seg;
    d->truncated = s->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC;
    d->from = &s->rx_from[i];
    s->rx_off += seg;
    if (s->rx_off >= s->rx_msgs[i].msg_len) {
        s->rx_next++;
        s->rx_off = 0;
    }
    return true;
}

static bool vxlan_deliver(VxlanState *s)
{
    VxlanRxDatagram d;

    while (vxlan_rx_next(s, &d)) {
        if (!vxlan_deliver_one(s, &d)) {
            s->read_blocked = true;
            fd_handler_set_read(s->rx_handler, false);
            return false;
        }
        if (s->rx_fd < 0) {
            return false;
        }
    }
    return true;
}

/*
 * The segment size of received message @h, @len bytes: what its UDP_GRO
 * control message says (the kernel coalesced datagrams of that size, the
 * last one possibly shorter), or 0: one datagram.  The kernel's word is
 * still checked: a size of 0, or not below @len, is one datagram too.
 */
static size_t vxlan_gro_size(struct msghdr *h, size_t len)
{
    const char *end;

    if (!h->msg_control || h->msg_controllen > sizeof(VxlanGroCmsg)) {
        return 0;
    }
    end = (const char *)h->msg_control + h->msg_controllen;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm;
         cm = CMSG_NXTHDR(h, cm)) {
        int seg;

        if (cm->cmsg_level != SOL_UDP || cm->cmsg_type != UDP_GRO ||
            cm->cmsg_len < CMSG_LEN(sizeof(seg)) ||
            (const char *)CMSG_DATA(cm) + sizeof(seg) > end) {
            continue;
        }
        memcpy(&seg, CMSG_DATA(cm), sizeof(seg));
        return seg > 0 && (size_t)seg < len ? (size_t)seg : 0;
    }
    return 0;
}

static int vxlan_read_batch(VxlanState *s)
{
    int n;

    for (unsigned i = 0; i < VXLAN_RX_BATCH; i++) {
        s->rx_iov[i] = (struct iovec){ s->rx_buf + (size_t)i * VXLAN_RX_BUF,
                                       VXLAN_RX_BUF };
        s->rx_msgs[i].msg_hdr = (struct msghdr){
            .msg_name = &s->rx_from[i],
            .msg_namelen = sizeof(s->rx_from[i]),
            .msg_iov = &s->rx_iov[i], .msg_iovlen = 1,
        };
        if (s->rx_gro) {
            s->rx_msgs[i].msg_hdr.msg_control = s->rx_ctrl[i].buf;
            s->rx_msgs[i].msg_hdr.msg_controllen = sizeof(s->rx_ctrl[i]);
        }
    }
    n = sockops->recvmmsg(s->rx_fd, s->rx_msgs, VXLAN_RX_BATCH,
                          MSG_DONTWAIT, NULL);
    if (n < 0) {
        return -errno;
    }
    for (int i = 0; i < n && i < VXLAN_RX_BATCH; i++) {
        struct mmsghdr *m = &s->rx_msgs[i];

        m->msg_len = MIN(m->msg_len, VXLAN_RX_BUF);
        s->rx_seg[i] = m->msg_hdr.msg_flags & MSG_TRUNC ? 0 :
                       vxlan_gro_size(&m->msg_hdr, m->msg_len);
    }
    return MIN(n, VXLAN_RX_BATCH);
}

static void vxlan_readable(void *opaque)
{
    VxlanState *s = opaque;

    for (int i = 0; i < VXLAN_RX_READS; i++) {
        int n = vxlan_read_batch(s);

        if (n == -EAGAIN || n == -EWOULDBLOCK) {
            return;
        }
        if (n < 0) {
            continue;   /* EINTR, or a pending ICMP error */
        }
        s->rx_next = 0;
        s->rx_off = 0;
        s->rx_count = (unsigned)n;
        if (!vxlan_deliver(s) || n < VXLAN_RX_BATCH) {
            return;
        }
    }
}

static void vxlan_sent(NetClientState *nc, ssize_t len)
{
    VxlanState *s = container_of(nc, VxlanState, nc);

    (void)len;
    if (s->read_blocked && s->rx_handler) {
        s->read_blocked = false;
        if (vxlan_deliver(s) && s->rx_handler) {
            fd_handler_set_read(s->rx_handler, true);
        }
    }
}

/* ---- life cycle ------------------------------------------------------ */

static void vxlan_cleanup(NetClientState *nc)
{
    VxlanState *s = container_of(nc, VxlanState, nc);

    batch_cancel(&s->tx_flush);
    g_clear_pointer(&s->rx_handler, fd_handler_free);
    for (unsigned k = 0; k < s->n_tx; k++) {
        sockops->close(s->tx_fds[k]);
    }
    s->n_tx = 0;
    if (s->rx_fd >= 0) {
        sockops->close(s->rx_fd);
    }
    s->rx_fd = -1;
    g_clear_pointer(&s->rx_buf, g_free);
    g_clear_pointer(&s->tx_buf, g_free);
    vxlan_fdb_destroy(&s->fdb);
}

static const NetClientInfo net_vxlan_info = {
    .type = NET_CLIENT_DRIVER_VXLAN,
    .type_name = "vxlan",
    .size = sizeof(VxlanState),
    .receive_iov = vxlan_receive_iov,
    .cleanup = vxlan_cleanup,
};

VxlanState *vxlan_from_client(NetClientState *nc)
{
    return nc && nc->info == &net_vxlan_info ?
           container_of(nc, VxlanState, nc) : NULL;
}

/* What the options say, checked, before any socket is opened. */
typedef struct VxlanConfig {
    VxlanAddr local, group;
    bool has_group;
    unsigned ifindex;
    VxlanAddr remotes[VXLAN_FLOOD_MAX];
    unsigned n_remotes;
    int ttl;                        /* -1: the kernel's */
    bool zero_csum;                 /* IPv4 without udpcsum=on */
} VxlanConfig;

static bool vxlan_check_numbers(const NetdevVxlanOptions *o, GError **errp)
{
    if (o->vni < 0 || o->vni > VXLAN_VNI_MAX) {
        error_setg(errp, "Parameter 'vni' expects a VXLAN network "
                   "identifier (0..%d)", VXLAN_VNI_MAX);
        return false;
    }
    if (o->has_dstport && (o->dstport < 1 || o->dstport > 65535)) {
        error_setg(errp, "port number '%" G_GINT64_FORMAT "' is invalid",
                   o->dstport);
        return false;
    }
    if (o->has_ttl && (o->ttl < 1 || o->ttl > 255)) {
        error_setg(errp, "Parameter 'ttl' expects a TTL (1..255)");
        return false;
    }
    if (o->has_mac_age && (o->mac_age < 1 || o->mac_age > VXLAN_AGE_MAX_S)) {
        error_setg(errp, "Parameter 'mac-age' expects a number of seconds "
                   "(1..%d)", VXLAN_AGE_MAX_S);
        return false;
    }
    return true;
}

static bool vxlan_parse_srcport(const char *str, uint16_t *min,
                                uint16_t *max, GError **errp)
{
    unsigned lo, hi;
    char end;

    if (sscanf(str, "%5u-%5u%c", &lo, &hi, &end) != 2 || lo < 1 ||
        hi > 65535 || lo > hi) {
        error_setg(errp, "Parameter 'srcport' expects MIN-MAX, two port "
                   "numbers (1..65535), MIN not above MAX");
        return false;
    }
    *min = (uint16_t)lo;
    *max = (uint16_t)hi;
    return true;
}

static bool vxlan_is_multicast(const VxlanAddr *a)
{
    return a->sa.sa_family == AF_INET ?
           IN_MULTICAST(ntohl(a->in.sin_addr.s_addr)) :
           IN6_IS_ADDR_MULTICAST(&a->in6.sin6_addr);
}

static bool vxlan_check_addrs(const NetdevVxlanOptions *o, VxlanConfig *c,
                              GError **errp)
{
    int family;

    if (!vxlan_parse_addr(o->local, 0, "local", &c->local, errp)) {
        return false;
    }
    family = c->local.sa.sa_family;
    if (o->has_group && o->has_remote) {
        error_setg(errp, "group= and remote= are mutually exclusive");
        return false;
    }
    if (o->has_group) {
        if (!vxlan_parse_addr(o->group, family, "group", &c->group, errp)) {
            return false;
        }
        if (!vxlan_is_multicast(&c->group)) {
            error_setg(errp, "group address '%s' is not a multicast address",
                       o->group);
            return false;
        }
        c->has_group = true;
    }
    for (StringList *l = o->has_remote ? o->remote : NULL; l; l = l->next) {
        if (c->n_remotes == VXLAN_FLOOD_MAX) {
            error_setg(errp, "at most %d remote= are supported",
                       VXLAN_FLOOD_MAX);
            return false;
        }
        if (!vxlan_parse_addr(l->value->str, family, "remote",
                              &c->remotes[c->n_remotes++], errp)) {
            return false;
        }
    }
    if (o->has_dev && !(c->ifindex = if_nametoindex(o->dev))) {
        error_setg(errp, "network interface '%s' not found", o->dev);
        return false;
    }
    return true;
}

/* Join the group on dev= (or, IPv4, on local=). */
static bool vxlan_join(int fd, const VxlanConfig *c, GError **errp)
{
    char str[INET6_ADDRSTRLEN];
    int ret;

    if (c->group.sa.sa_family == AF_INET) {
        struct ip_mreqn mreq = {
            .imr_multiaddr = c->group.in.sin_addr,
            .imr_address = c->local.in.sin_addr,
            .imr_ifindex = (int)c->ifindex,
        };
        ret = sockops->setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq,
                                  sizeof(mreq));
    } else {
        struct ipv6_mreq mreq = {
            .ipv6mr_multiaddr = c->group.in6.sin6_addr,
            .ipv6mr_interface = c->ifindex,
        };
        ret = sockops->setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq,
                                  sizeof(mreq));
    }
    if (ret < 0) {
        error_setg_errno(errp, errno, "can't add socket to multicast group "
                         "%s", vxlan_format_addr(&c->group, str, sizeof(str)));
        return false;
    }
    return true;
}

/*
 * The receive socket: UDP on local=:dstport, or on the wildcard address
 * with group= (multicast datagrams are addressed to the group).
 */
static int vxlan_open_rx(const VxlanConfig *c, uint16_t dstport,
                         GError **errp)
{
    int family = c->local.sa.sa_family;
    int fd = sockops->socket(family, SOCK_DGRAM | SOCK_NONBLOCK |
                             SOCK_CLOEXEC, 0);
    VxlanAddr bind_addr = c->local;
    char str[INET6_ADDRSTRLEN];

    if (fd < 0) {
        error_setg_errno(errp, errno, "can't create socket");
        return -1;
    }
    if (c->has_group) {
        memset(&bind_addr, 0, sizeof(bind_addr));
        bind_addr.sa.sa_family = (sa_family_t)family;
        if (!sockops_setopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1,
                                "can't set socket option SO_REUSEADDR",
                                errp)) {
            goto fail;
        }
    }
    if (family == AF_INET6 &&
        !sockops_setopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1,
                            "can't set socket option IPV6_V6ONLY", errp)) {
        goto fail;
    }
    vxlan_addr_set_port(&bind_addr, dstport);
    if (sockops->bind(fd, &bind_addr.sa, vxlan_addr_len(&bind_addr)) < 0) {
        error_setg_errno(errp, errno, "can't bind ip=%s to socket",
                         vxlan_format_addr(&bind_addr, str, sizeof(str)));
        goto fail;
    }
    if (c->has_group && !vxlan_join(fd, c, errp)) {
        goto fail;
    }
    /* as the datagram ports: a few milliseconds without the CPU lose
     * nothing (the default, about 200 KiB, overflowed at 25k frames/s
     * between two vmwire on one host: vmwire-bench's vxlan cell) */
    dgram_conn_size_buffer(fd, SO_RCVBUF);
    dgram_conn_size_buffer(fd, SO_SNDBUF);
    return fd;
fail:
    sockops->close(fd);
    return -1;
}

/* Don't fragment; TTL; multicast interface, TTL and no loop. */
static bool vxlan_tx_options(int fd, const VxlanConfig *c, GError **errp)
{
    bool v4 = c->local.sa.sa_family == AF_INET;

    if (v4 ? !sockops_setopt_int(fd, IPPROTO_IP, IP_MTU_DISCOVER,
                                 IP_PMTUDISC_DO, "can't set socket option "
                                 "IP_MTU_DISCOVER", errp)
           : !sockops_setopt_int(fd, IPPROTO_IPV6, IPV6_DONTFRAG, 1,
                                 "can't set socket option IPV6_DONTFRAG",
                                 errp)) {
        return false;
    }
    if (c->ttl > 0 &&
        (v4 ? !sockops_setopt_int(fd, IPPROTO_IP, IP_TTL, c->ttl,
                                  "can't set socket option IP_TTL", errp) ||
              !sockops_setopt_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, c->ttl,
                                  "can't set socket option IP_MULTICAST_TTL",
                                  errp)
            : !sockops_setopt_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS,
                                  c->ttl, "can't set socket option "
                                  "IPV6_UNICAST_HOPS", errp) ||
              !sockops_setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS,
                                  c->ttl, "can't set socket option "
                                  "IPV6_MULTICAST_HOPS", errp))) {
        return false;
    }
    if (!c->has_group) {
        return true;
    }
    if (v4) {
        struct ip_mreqn mreq = { .imr_address = c->local.in.sin_addr,
                                 .imr_ifindex = (int)c->ifindex };

        (void)sockops->setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq,
                                  sizeof(mreq));
        return sockops_setopt_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0,
                                  "can't set socket option "
                                  "IP_MULTICAST_LOOP", errp);
    }
    if (c->ifindex) {
        (void)sockops_setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF,
                                 (int)c->ifindex, "", NULL);
    }
    return sockops_setopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0,
                              "can't set socket option IPV6_MULTICAST_LOOP",
                              errp);
}

/*
 * A send socket: UDP bound to local=:@port, zero checksum over IPv4 (as
 * Linux's vxlan; IPv6 keeps the real one it needs), the options of
 * vxlan_tx_options().  It reads nothing: a filter drops every datagram
 * sent to it.  -1 (errno set) if it can't be had, e.g. the port is in use.
 */
static int vxlan_open_tx(const VxlanConfig *c, uint16_t port)
{
    static struct sock_filter drop_all = BPF_STMT(BPF_RET | BPF_K, 0);
    struct sock_fprog prog = { .len = 1, .filter = &drop_all };
    int family = c->local.sa.sa_family;
    int fd = sockops->socket(family, SOCK_DGRAM | SOCK_NONBLOCK |
                             SOCK_CLOEXEC, 0);
    VxlanAddr bind_addr = c->local;

    if (fd < 0) {
        return -1;
    }
    vxlan_addr_set_port(&bind_addr, port);
    if (sockops->setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
                            sizeof(prog)) < 0 ||
        (family == AF_INET6 &&
         !sockops_setopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "", NULL)) ||
        (c->zero_csum &&
         !sockops_setopt_int(fd, SOL_SOCKET, SO_NO_CHECK, 1, "", NULL)) ||
        !vxlan_tx_options(fd, c, NULL) ||
        sockops->bind(fd, &bind_addr.sa, vxlan_addr_len(&bind_addr)) < 0) {
        int saved = errno;

        sockops->close(fd);
        errno = saved;
        return -1;
    }
    dgram_conn_size_buffer(fd, SO_SNDBUF);
    return fd;
}

/*
 * The send sockets: up to VXLAN_TX_SOCKETS, on ports of srcport= from a
 * random one on (ports in use are skipped; at most VXLAN_TX_BIND_TRIES
 * tried).  As many as could be had; none leaves n_tx 0.
 */
static void vxlan_open_pool(VxlanState *s, const VxlanConfig *c)
{
    uint32_t range = (uint32_t)s->sport_max - s->sport_min + 1;
    uint32_t first = (uint32_t)g_random_int_range(0, (gint32)range);

    for (uint32_t i = 0; i < range && i < VXLAN_TX_BIND_TRIES &&
         s->n_tx < VXLAN_TX_SOCKETS; i++) {
        uint16_t port = (uint16_t)(s->sport_min + (first + i) % range);
        int fd = vxlan_open_tx(c, port);

        if (fd >= 0) {
            s->tx_fds[s->n_tx++] = fd;
        } else if (errno == EMFILE || errno == ENFILE) {
            break;
        }
    }
}

static bool vxlan_open(VxlanState *s, const VxlanConfig *c, GError **errp)
{
    s->rx_fd = vxlan_open_rx(c, s->dstport, errp);
    if (s->rx_fd < 0 || !vxlan_tx_options(s->rx_fd, c, errp) ||
        (c->zero_csum &&
         !sockops_setopt_int(s->rx_fd, SOL_SOCKET, SO_NO_CHECK, 1,
                             "can't set socket option SO_NO_CHECK", errp))) {
        return false;
    }
    /* where the kernel takes it: coalesced datagrams of a flow, one read */
    s->rx_gro = sockops_setopt_int(s->rx_fd, SOL_UDP, UDP_GRO, 1, "", NULL);
    vxlan_open_pool(s, c);
    if (s->n_tx == 0) {
        log_warn("vxlan %s: no UDP port of srcport=%u-%u could be bound: "
                 "frames leave from UDP port %u", s->nc.name,
                 (unsigned)s->sport_min, (unsigned)s->sport_max,
                 (unsigned)s->dstport);
    }
    /* Linux refuses GSO with SO_NO_CHECK (EINVAL): not zero_csum. */
    s->tx_gso = !c->zero_csum &&
                dgram_gso_probe(s->n_tx ? s->tx_fds[0] : s->rx_fd);
    s->rx_handler = fd_handler_new(s->rx_fd, vxlan_readable, NULL, s);
    return true;
}

static void vxlan_set_info(VxlanState *s, const VxlanConfig *c)
{
    char str[INET6_ADDRSTRLEN];
    GString *info = g_string_new(NULL);

    g_string_append_printf(info, "vxlan: vni=%u local=%s dstport=%u",
                           s->vni, vxlan_format_addr(&c->local, str,
                                                     sizeof(str)),
                           (unsigned)s->dstport);
    if (c->has_group) {
        g_string_append_printf(info, " group=%s",
                               vxlan_format_addr(&c->group, str,
                                                 sizeof(str)));
    }
    for (unsigned k = 0; k < c->n_remotes; k++) {
        g_string_append_printf(info, " remote=%s",
                               vxlan_format_addr(&c->remotes[k], str,
                                                 sizeof(str)));
    }
    net_client_set_info_str(&s->nc, "%s", info->str);
    g_string_free(info, TRUE);
}

bool net_init_vxlan(const Netdev *netdev, GError **errp)
{
    const NetdevVxlanOptions *o = &netdev->u.vxlan;
    g_autofree VxlanConfig *c = g_new0(VxlanConfig, 1);
    uint16_t sport_min = VXLAN_SPORT_MIN, sport_max = VXLAN_SPORT_MAX;
    NetClientState *nc;
    VxlanState *s;

    if (!vxlan_check_numbers(o, errp) || !vxlan_check_addrs(o, c, errp) ||
        (o->has_srcport &&
         !vxlan_parse_srcport(o->srcport, &sport_min, &sport_max, errp))) {
        return false;
    }
    c->ttl = o->has_ttl ? (int)o->ttl : -1;
    c->zero_csum = c->local.sa.sa_family == AF_INET &&
                   !(o->has_udpcsum && o->udpcsum);
    nc = net_client_new(&net_vxlan_info, NULL, "vxlan", netdev->id);
    s = container_of(nc, VxlanState, nc);
    s->vni = (uint32_t)o->vni;
    s->dstport = o->has_dstport ? (uint16_t)o->dstport : 4789;
    s->sport_min = sport_min;
    s->sport_max = sport_max;
    s->family = c->local.sa.sa_family;
    s->local = c->local;
    s->rx_fd = -1;
    vxlan_fdb_init(&s->fdb, (o->has_mac_age ? o->mac_age : 300) *
                   G_USEC_PER_SEC, !o->has_learning || o->learning);
    if (c->has_group) {
        s->fdb.flood[s->fdb.n_flood++] = c->group;
    }
    for (unsigned k = 0; k < c->n_remotes; k++) {
        vxlan_fdb_add(&s->fdb, (const uint8_t[6]){ 0 }, &c->remotes[k],
                      NULL);
    }
    s->rx_buf = g_malloc((size_t)VXLAN_RX_BATCH * VXLAN_RX_BUF);
    s->tx_buf = g_malloc(VXLAN_TX_BYTES);
    if (!vxlan_open(s, c, errp)) {
        net_client_free(nc);
        return false;
    }
    vxlan_set_info(s, c);
    return true;
}
