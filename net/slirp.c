/*
 * DOC: -netdev user: user-mode NAT through libslirp
 *
 * `-netdev user,id=ID[,net=addr[/mask]][,host=][,dhcpstart=][,dns=]...`
 * (QEMU 7.2's NetdevUserOptions, qapi/net.json) puts a libslirp stack
 * behind a client: the guests on the other side (a NIC, or every VM on
 * a hub through `-netdev hubport,netdev=ID`) see a router at @host, a
 * DHCP server leasing from @dhcpstart and a DNS forwarder at @dns, and
 * reach the host and the world through the daemon's own sockets (NAT).
 * `hostfwd=` rules listen on host ports and forward to guests; they can
 * be added and removed at run time (HMP hostfwd_add/hostfwd_remove, QMP
 * x-hostfwd-add/x-hostfwd-remove: net/slirp-qmp.c, through
 * net/slirp-internal.h).  `mtu=` (68..65520) is vmwire's own.
 *
 * Data: a frame from the peer goes to slirp_input(); a frame libslirp
 * emits (send_packet callback) goes to the peer through the net core.
 * libslirp cannot be told to wait, so backpressure is applied at its
 * sockets: when the peer queues a frame (net_client_send_async() returns
 * 0) the stack stops polling its host sockets until the completion
 * callback fires; frames libslirp still emits meanwhile (answers to
 * guest frames, timers) go through the bounded queue and beyond it are
 * dropped and counted, which TCP recovers from.  vmwire's own code
 * allocates nothing per frame; libslirp allocates its mbufs internally.
 *
 * Main loop: libslirp is poll-based.  One GSource per stack: prepare()
 * asks slirp_pollfds_fill() for the fds and the timeout (its TCP timers:
 * infinite when idle, so an idle stack costs no CPU), check() looks at
 * revents and the deadline (which only moves earlier until dispatch()
 * has run: a busy loop must not postpone the timers for ever),
 * dispatch() calls slirp_pollfds_poll().  The
 * fds are registered with the source only when the set changes (GLib
 * wakes the loop up on every change); the two GPollFD arrays are reused.
 * libslirp's own timers (SlirpCb.timer_*: IPv6 router advertisements)
 * are GLib timeout sources; its clock is g_get_monotonic_time().
 *
 * Owns: the Slirp (slirp_cleanup() closes every socket it opened,
 * hostfwd listeners included), the GSource, the timers.
 */
#include "net/slirp.h"
#include "slirp-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <libslirp.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "net/netdev.h"
#include "qapi-commands.h"
#include "system/sandbox.h"
#include "util/error.h"
#include "util/log.h"

#define NET_SLIRP_MTU_MIN 68
#define NET_SLIRP_MTU_MAX 65520

typedef struct NetSlirpState NetSlirpState;

typedef struct NetSlirpSource {
    GSource source;
    NetSlirpState *s;
} NetSlirpSource;

/*
 * IPv4 fragments handed to libslirp whose datagram may still be waiting
 * for its last fragment (see net_slirp_fragment_ok()).
 */
#define NET_SLIRP_FRAGS 32
#define NET_SLIRP_FRAG_US (10 * G_USEC_PER_SEC)  /* < libslirp's 30 s */

typedef struct NetSlirpFrag {
    uint8_t key[10];            /* source, destination, id */
    uint8_t proto;
    gint64 since;               /* 0: free slot */
} NetSlirpFrag;

/*
 * DHCP leases (F7, docs/security.md).  libslirp 4.7 hands out 16 leases
 * (its NB_BOOTP_CLIENTS), never takes one back, and once all are taken
 * it answers a DISCOVER from any other MAC with nothing, after
 * allocating the reply's mbuf, which it keeps until the stack goes: about
 * 1.6 KB per DISCOVER, so a guest sending DISCOVERs from ever new MACs
 * grows vmwire without bound.  vmwire watches what libslirp does: the
 * MACs it sent an OFFER or ACK to (at most 16), and whether a DISCOVER
 * from a MAC without a lease got no OFFER (then every lease is taken, for
 * good).  From then on such DISCOVERs are dropped here, counted as
 * malformed and logged once; libslirp would not have answered them.
 */
#define NET_SLIRP_LEASES 16

typedef struct NetSlirpDhcp {
    uint8_t leased[NET_SLIRP_LEASES][6];    /* MACs offered a lease */
    unsigned n_leased;
    bool full;                  /* a DISCOVER went unanswered */
    bool replied;               /* an OFFER/ACK left during slirp_input */
} NetSlirpDhcp;

struct NetSlirpState {
    NetClientState nc;
    Slirp *slirp;
    NetSlirpFrag frags[NET_SLIRP_FRAGS];
    NetSlirpDhcp dhcp;
    GSource *source;            /* NetSlirpSource, attached once */
    GArray *pollfds;            /* GPollFD registered with the source */
    GArray *fill;               /* GPollFD of this fill, compared to it */
    gint64 deadline;            /* when slirp's TCP timers want a poll */
    bool blocked;               /* a frame is queued at the peer */
    GArray *hostfwds;           /* NetSlirpFwd: the rules in force */
    struct in_addr dhcp_start;  /* a rule's guest address when omitted */
};

typedef struct NetSlirpTimer {
    NetSlirpState *s;
    SlirpTimerId id;
    void *cb_opaque;
    GSource *source;            /* armed timeout, or NULL */
} NetSlirpTimer;

/* Every user netdev, in creation order (hostfwd_add without an id). */
static GQueue net_slirp_stacks = G_QUEUE_INIT;

/* ---- frames ------------------------------------------------------------ */

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCPDISCOVER 1
#define DHCPOFFER 2
#define DHCPACK 5

/*
 * The DHCP message type of @buf if it is an untagged IPv4/UDP BOOTP
 * message from port @sport to port @dport, its client MAC in @mac;
 * 0 otherwise.
 */
static int net_slirp_dhcp_type(const uint8_t *buf, size_t size,
                               unsigned sport, unsigned dport, uint8_t *mac)
{
    const uint8_t *ip = buf + 14, *udp, *bootp, *opt, *end;
    size_t ihl;

    if (size < 14 + 20 || buf[12] != 0x08 || buf[13] != 0x00 ||
        (ip[0] >> 4) != 4 || ip[9] != 17 ||
        (ip[6] & 0x3f) != 0 || ip[7] != 0) {        /* no fragments */
        return 0;
    }
    ihl = (size_t)(ip[0] & 0x0f) * 4;
    udp = ip + ihl;
    bootp = udp + 8;
    if (ihl < 20 || (size_t)(bootp - buf) + 240 > size ||
        (((unsigned)udp[0] << 8) | udp[1]) != sport ||
        (((unsigned)udp[2] << 8) | udp[3]) != dport ||
        memcmp(bootp + 236, "\x63\x82\x53\x63", 4) != 0) {
        return 0;
    }
    memcpy(mac, bootp + 28, 6);
    end = buf + size;
    for (opt = bootp + 240; opt < end && *opt != 255;) {
        if (*opt == 0) {                            /* pad */
            opt++;
            continue;
        }
        if (end - opt < 2 || end - opt < 2 + opt[1]) {
            return 0;
        }
        if (opt[0] == 53 && opt[1] == 1) {
            return opt[2];
        }
        opt += 2 + opt[1];
    }
    return 0;
}

static bool net_slirp_leased(const NetSlirpDhcp *d, const uint8_t *mac)
{
    for (unsigned i = 0; i < d->n_leased; i++) {
        if (memcmp(d->leased[i], mac, 6) == 0) {
            return true;
        }
    }
    return false;
}

/* libslirp -> the peer: note the MACs it gives leases to. */
static void net_slirp_dhcp_sent(NetSlirpDhcp *d, const uint8_t *buf,
                                size_t size)
{
    uint8_t mac[6];
    int type = net_slirp_dhcp_type(buf, size, DHCP_SERVER_PORT,
                                   DHCP_CLIENT_PORT, mac);

    if (type != DHCPOFFER && type != DHCPACK) {
        return;
    }
    d->replied = true;
    if (!net_slirp_leased(d, mac) && d->n_leased < NET_SLIRP_LEASES) {
        memcpy(d->leased[d->n_leased++], mac, 6);
    }
}

static void net_slirp_sent(NetClientState *nc, ssize_t len)
{
    NetSlirpState *s = container_of(nc, NetSlirpState, nc);

    s->blocked = false;
    g_main_context_wakeup(NULL);    /* poll the sockets again */
}

/*
 * libslirp -> the peer.  A frame the core refuses (counted there) is
 * reported as sent: libslirp logs a critical for any error, and TCP
 * recovers from the loss anyway.
 */
static ssize_t net_slirp_send_packet(const void *buf, size_t len,
                                     void *opaque)
{
    NetSlirpState *s = opaque;

    net_slirp_dhcp_sent(&s->dhcp, buf, len);
    if (s->blocked) {
        net_client_send(&s->nc, buf, len);
    } else if (net_client_send_async(&s->nc, buf, len, net_slirp_sent) == 0) {
        s->blocked = true;
    }
    return (ssize_t)len;
}

/* The slot of the datagram @ip (an IPv4 header) belongs to, or NULL. */
static NetSlirpFrag *net_slirp_frag_find(NetSlirpState *s, const uint8_t *ip,
                                         gint64 now)
{
    for (unsigned i = 0; i < NET_SLIRP_FRAGS; i++) {
        NetSlirpFrag *f = &s->frags[i];

        if (f->since && now - f->since < NET_SLIRP_FRAG_US &&
            f->proto == ip[9] && memcmp(f->key, ip + 12, 8) == 0 &&
            memcmp(f->key + 8, ip + 4, 2) == 0) {
            return f;
        }
    }
    return NULL;
}

/*
 * Would libslirp's ip_input() take this IPv4 header of a @size-byte frame
 * as far as reassembly?  Version, lengths, TTL and header checksum.
 */
static bool net_slirp_ipv4_sane(const uint8_t *ip, size_t size)
{
    size_t hlen = (size_t)(ip[0] & 15) * 4;
    size_t total = (size_t)(ip[2] << 8 | ip[3]);
    uint32_t sum = 0;

    if (ip[0] >> 4 != 4 || hlen < 20 || 14 + hlen > size || total < hlen ||
        14 + total > size || ip[8] == 0) {
        return false;
    }
    for (size_t i = 0; i < hlen; i += 2) {
        sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum == 0xffff;
}

/*
 * libslirp 4.7 crashes (a wild pointer in ip_reass()) on the last
 * fragment of a datagram (MF clear, offset not 0) when no fragment of
 * that datagram came before it: one frame from a guest would kill the
 * daemon (found by tests/fuzz/fuzz-slirp).  So a last fragment goes on
 * only if an earlier fragment of its datagram (source, destination, id,
 * protocol) that libslirp will have queued (a sane header) went on less
 * than NET_SLIRP_FRAG_US ago (libslirp keeps an incomplete datagram
 * 30 s) and no last fragment of it since (nor a datagram with the
 * reserved flag, MF clear and offset 0, which makes libslirp drop the
 * fragments it holds: found by fuzz-slirp after the first fix); other
 * fragments go on and are remembered in a fixed table (the oldest slot
 * is reused).  In-order fragments, what guests send, pass; a last
 * fragment out of order or repeated is dropped and counted.
 */
static bool net_slirp_fragment_ok(NetSlirpState *s, const uint8_t *buf,
                                  size_t size)
{
    const uint8_t *ip = buf + 14;
    unsigned off;
    gint64 now;
    NetSlirpFrag *f;

    if (size < 14 + 20 || buf[12] != 0x08 || buf[13] != 0x00) {
        return true;
    }
    off = (unsigned)(ip[6] << 8 | ip[7]);
    if (!(off & 0xbfff)) {
        return true;            /* not a fragment, libslirp looks no further */
    }
    now = g_get_monotonic_time();
    f = net_slirp_frag_find(s, ip, now);
    if (!(off & 0x2000)) {
        /*
         * MF clear: a last fragment, or (offset 0, the reserved bit set)
         * a datagram for which libslirp drops what it had queued.
         */
        if (f) {
            f->since = 0;
        }
        return f != NULL || !(off & 0x1fff);
    }
    if (!f && net_slirp_ipv4_sane(ip, size)) {
        f = &s->frags[0];
        for (unsigned i = 1; i < NET_SLIRP_FRAGS; i++) {
            if (s->frags[i].since < f->since) {
                f = &s->frags[i];
            }
        }
        memcpy(f->key, ip + 12, 8);
        memcpy(f->key + 8, ip + 4, 2);
        f->proto = ip[9];
        f->since = now;
    }
    return true;
}

/* The peer -> libslirp; it always takes the frame. */
static ssize_t net_slirp_receive(NetClientState *nc, const uint8_t *buf,
                                 size_t size)
{
    NetSlirpState *s = container_of(nc, NetSlirpState, nc);
    NetSlirpDhcp *d = &s->dhcp;
    uint8_t mac[6];
    int dhcp = net_slirp_dhcp_type(buf, size, DHCP_CLIENT_PORT,
                                   DHCP_SERVER_PORT, mac);
    bool unleased = dhcp == DHCPDISCOVER && !net_slirp_leased(d, mac);

    if (!net_slirp_fragment_ok(s, buf, size) || (unleased && d->full)) {
        net_client_count_drop(nc, NET_DROP_MALFORMED);
        return (ssize_t)size;
    }
    d->replied = false;
    slirp_input(s->slirp, buf, (int)size);
    if (unleased && !d->replied && d->n_leased >= NET_SLIRP_LEASES) {
        d->full = true;
        log_report_id(nc->name, "DHCP: all %d addresses are leased; "
                      "DISCOVERs from other MACs are dropped from now on",
                      NET_SLIRP_LEASES);
    }
    return (ssize_t)size;
}

/* ---- libslirp's callbacks ----------------------------------------------- */

static void net_slirp_guest_error(const char *msg, void *opaque)
{
    NetSlirpState *s = opaque;

    g_debug("user netdev '%s': guest error: %s", s->nc.name, msg);
}

static int64_t net_slirp_clock_get_ns(void *opaque)
{
    return g_get_monotonic_time() * 1000;
}

static void net_slirp_init_completed(Slirp *slirp, void *opaque)
{
    NetSlirpState *s = opaque;

    s->slirp = slirp;           /* timers come before slirp_new returns */
}

static void *net_slirp_timer_new(SlirpTimerId id, void *cb_opaque,
                                 void *opaque)
{
    NetSlirpTimer *t = g_new0(NetSlirpTimer, 1);

    t->s = opaque;
    t->id = id;
    t->cb_opaque = cb_opaque;
    return t;
}

static void net_slirp_timer_disarm(NetSlirpTimer *t)
{
    if (t->source) {
        g_source_destroy(t->source);
        g_clear_pointer(&t->source, g_source_unref);
    }
}

static void net_slirp_timer_free(void *timer, void *opaque)
{
    NetSlirpTimer *t = timer;

    if (t) {
        net_slirp_timer_disarm(t);
        g_free(t);
    }
}

static gboolean net_slirp_timer_fire(gpointer opaque)
{
    NetSlirpTimer *t = opaque;
    GSource *source = g_steal_pointer(&t->source);

    /* The handler may re-arm or free @t: @source is ours now. */
    slirp_handle_timer(t->s->slirp, t->id, t->cb_opaque);
    g_source_unref(source);
    return G_SOURCE_REMOVE;
}

/* Arm @timer for @expire_ms on libslirp's clock (milliseconds). */
static void net_slirp_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    NetSlirpTimer *t = timer;
    int64_t now_ms = g_get_monotonic_time() / 1000;
    int64_t delay = expire_ms > now_ms ? expire_ms - now_ms : 0;

    net_slirp_timer_disarm(t);
    t->source = g_timeout_source_new((guint)MIN(delay, G_MAXUINT));
    g_source_set_callback(t->source, net_slirp_timer_fire, t, NULL);
    g_source_attach(t->source, NULL);
}

static void net_slirp_register_poll_fd(int fd, void *opaque)
{
}

static void net_slirp_unregister_poll_fd(int fd, void *opaque)
{
}

/*
 * "A socket can take data again", meant for slirp_add_guestfwd() users
 * feeding it with slirp_socket_recv().  vmwire does not (its guestfwd
 * sockets are libslirp's own, polled by the next fill): nothing to do.
 */
static void net_slirp_notify(void *opaque)
{
}

static const SlirpCb net_slirp_cb = {
    .send_packet = net_slirp_send_packet,
    .guest_error = net_slirp_guest_error,
    .clock_get_ns = net_slirp_clock_get_ns,
    .timer_free = net_slirp_timer_free,
    .timer_mod = net_slirp_timer_mod,
    .register_poll_fd = net_slirp_register_poll_fd,
    .unregister_poll_fd = net_slirp_unregister_poll_fd,
    .notify = net_slirp_notify,
    .init_completed = net_slirp_init_completed,
    .timer_new_opaque = net_slirp_timer_new,
};

/* ---- the main-loop source ----------------------------------------------- */

static gushort net_slirp_to_gio(int events)
{
    return (events & SLIRP_POLL_IN ? G_IO_IN : 0) |
           (events & SLIRP_POLL_OUT ? G_IO_OUT : 0) |
           (events & SLIRP_POLL_PRI ? G_IO_PRI : 0) |
           (events & SLIRP_POLL_ERR ? G_IO_ERR : 0) |
           (events & SLIRP_POLL_HUP ? G_IO_HUP : 0);
}

static int net_slirp_from_gio(gushort revents)
{
    return (revents & G_IO_IN ? SLIRP_POLL_IN : 0) |
           (revents & G_IO_OUT ? SLIRP_POLL_OUT : 0) |
           (revents & G_IO_PRI ? SLIRP_POLL_PRI : 0) |
           (revents & G_IO_ERR ? SLIRP_POLL_ERR : 0) |
           (revents & G_IO_HUP ? SLIRP_POLL_HUP : 0);
}

static int net_slirp_add_poll(int fd, int events, void *opaque)
{
    NetSlirpState *s = opaque;
    GPollFD pfd = { .fd = fd, .events = net_slirp_to_gio(events) };

    g_array_append_val(s->fill, pfd);
    return (int)s->fill->len - 1;
}

static int net_slirp_get_revents(int idx, void *opaque)
{
    NetSlirpState *s = opaque;

    if (idx < 0 || (guint)idx >= s->pollfds->len) {
        return 0;
    }
    return net_slirp_from_gio(g_array_index(s->pollfds, GPollFD,
                                            idx).revents);
}

static void net_slirp_drop_polls(NetSlirpState *s)
{
    for (guint i = 0; i < s->pollfds->len; i++) {
        g_source_remove_poll(s->source,
                             &g_array_index(s->pollfds, GPollFD, i));
    }
    g_array_set_size(s->pollfds, 0);
}

static bool net_slirp_same_polls(GArray *a, GArray *b)
{
    for (guint i = 0; a->len == b->len && i < a->len; i++) {
        const GPollFD *x = &g_array_index(a, GPollFD, i);
        const GPollFD *y = &g_array_index(b, GPollFD, i);

        if (x->fd != y->fd || x->events != y->events) {
            return false;
        }
    }
    return a->len == b->len;
}

/*
 * Register this fill's fds, unless they are the ones registered already:
 * GLib wakes its context up on every poll change, so re-adding the same
 * fds each time would spin the loop.
 */
static void net_slirp_update_polls(NetSlirpState *s)
{
    GArray *old;

    if (net_slirp_same_polls(s->fill, s->pollfds)) {
        return;
    }
    net_slirp_drop_polls(s);
    old = s->pollfds;
    s->pollfds = s->fill;
    s->fill = old;
    /* Complete: the addresses stay until the set changes again. */
    for (guint i = 0; i < s->pollfds->len; i++) {
        g_source_add_poll(s->source,
                          &g_array_index(s->pollfds, GPollFD, i));
    }
}

/*
 * The deadline only ever moves earlier until dispatch() has polled: a
 * busy loop (other VMs' frames) calls prepare() every few hundred
 * microseconds, and "now + ms" recomputed each time would never be
 * reached, so libslirp's TCP timers (delayed ACKs, retransmissions, the
 * 75 s limit on a half-open hostfwd connection) would never run.
 */
static gboolean net_slirp_prepare(GSource *source, gint *timeout)
{
    NetSlirpState *s = ((NetSlirpSource *)source)->s;
    uint32_t ms = UINT32_MAX;
    gint64 now;

    g_array_set_size(s->fill, 0);
    if (!s->blocked) {
        slirp_pollfds_fill(s->slirp, &ms, net_slirp_add_poll, s);
    }
    net_slirp_update_polls(s);
    if (ms == UINT32_MAX) {
        s->deadline = G_MAXINT64;
        *timeout = -1;
        return FALSE;
    }
    now = g_get_monotonic_time();
    s->deadline = MIN(s->deadline, now + (gint64)ms * 1000);
    if (now >= s->deadline) {
        *timeout = 0;
        return TRUE;
    }
    *timeout = (gint)MIN((s->deadline - now + 999) / 1000, (gint64)G_MAXINT);
    return FALSE;
}

static gboolean net_slirp_check(GSource *source)
{
    NetSlirpState *s = ((NetSlirpSource *)source)->s;

    for (guint i = 0; i < s->pollfds->len; i++) {
        if (g_array_index(s->pollfds, GPollFD, i).revents) {
            return TRUE;
        }
    }
    return g_get_monotonic_time() >= s->deadline;
}

static gboolean net_slirp_dispatch(GSource *source, GSourceFunc unused,
                                   gpointer unused_data)
{
    NetSlirpState *s = ((NetSlirpSource *)source)->s;

    s->deadline = G_MAXINT64;          /* the next fill sets it anew */
    slirp_pollfds_poll(s->slirp, 0, net_slirp_get_revents, s);
    /* Handled: do not report these revents again before the next fill. */
    for (guint i = 0; i < s->pollfds->len; i++) {
        g_array_index(s->pollfds, GPollFD, i).revents = 0;
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs net_slirp_source_funcs = {
    .prepare = net_slirp_prepare,
    .check = net_slirp_check,
    .dispatch = net_slirp_dispatch,
};

/* ---- the client --------------------------------------------------------- */

static void net_slirp_cleanup(NetClientState *nc)
{
    NetSlirpState *s = container_of(nc, NetSlirpState, nc);

    g_queue_remove(&net_slirp_stacks, s);
    if (s->source) {
        net_slirp_drop_polls(s);
        g_source_destroy(s->source);
        g_clear_pointer(&s->source, g_source_unref);
    }
    g_clear_pointer(&s->slirp, slirp_cleanup);
    g_clear_pointer(&s->pollfds, g_array_unref);
    g_clear_pointer(&s->fill, g_array_unref);
    g_clear_pointer(&s->hostfwds, g_array_unref);
}

static const NetClientInfo net_slirp_info = {
    .type = NET_CLIENT_DRIVER_USER,
    .type_name = "user",
    .size = sizeof(NetSlirpState),
    .receive = net_slirp_receive,
    .cleanup = net_slirp_cleanup,
};

/* ---- forwarding rules --------------------------------------------------- */

/*
 * Cut @p at the first @sep: the part before it into *@part (new string),
 * *@p after it.  False if there is no @sep (QEMU's get_str_sep()).
 */
static bool net_slirp_take(const char **p, char sep, char **part)
{
    const char *at = strchr(*p, sep);

    if (!at) {
        return false;
    }
    *part = g_strndup(*p, (size_t)(at - *p));
    *p = at + 1;
    return true;
}

/* A port as QEMU 7.2's strtol(s, &end, base): the whole string. */
static bool net_slirp_port(const char *str, int base, long min, long max,
                           int *port)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(str, &end, base);
    if (errno || *end || v < min || v > max) {
        return false;
    }
    *port = (int)v;
    return true;
}

typedef struct NetSlirpFwd {
    bool udp;
    struct in_addr host_addr, guest_addr;
    int host_port, guest_port;
} NetSlirpFwd;

/* The "[tcp|udp]:[hostaddr]:hostport" head of a rule, as QEMU reads it. */
static const char *net_slirp_parse_host(const char **p, NetSlirpFwd *fwd)
{
    g_autofree char *proto = NULL;
    g_autofree char *addr = NULL;

    if (!net_slirp_take(p, ':', &proto)) {
        return "No : separators";
    }
    if (!strcmp(proto, "udp")) {
        fwd->udp = true;
    } else if (strcmp(proto, "tcp") && proto[0]) {
        return "Bad protocol name";
    }
    if (!net_slirp_take(p, ':', &addr)) {
        return "Missing : separator";
    }
    if (addr[0] && !inet_aton(addr, &fwd->host_addr)) {
        return "Bad host address";
    }
    return NULL;
}

static const char *net_slirp_parse_hostfwd(const char *rule, NetSlirpFwd *fwd)
{
    g_autofree char *port = NULL;
    g_autofree char *addr = NULL;
    const char *p = rule;
    const char *why;

    memset(fwd, 0, sizeof(*fwd));
    why = net_slirp_parse_host(&p, fwd);
    if (why) {
        return why;
    }
    if (!net_slirp_take(&p, '-', &port)) {
        return "Bad host port separator";
    }
    if (!net_slirp_port(port, 0, 0, 65535, &fwd->host_port)) {
        return "Bad host port";
    }
    if (!net_slirp_take(&p, ':', &addr)) {
        return "Missing guest address";
    }
    if (addr[0] && !inet_aton(addr, &fwd->guest_addr)) {
        return "Bad guest address";
    }
    if (!net_slirp_port(p, 0, 1, 65535, &fwd->guest_port)) {
        return "Bad guest port";
    }
    return NULL;
}

/* The user netdev whose stack is @slirp (there are a few at most). */
static NetSlirpState *net_slirp_of(Slirp *slirp)
{
    for (GList *l = net_slirp_stacks.head; l; l = l->next) {
        NetSlirpState *s = l->data;

        if (s->slirp == slirp) {
            return s;
        }
    }
    g_assert_not_reached();
}

bool net_slirp_hostfwd_add_rule(Slirp *slirp, const char *rule,
                                GError **errp)
{
    NetSlirpState *s = net_slirp_of(slirp);
    NetSlirpFwd fwd;
    const char *why = net_slirp_parse_hostfwd(rule, &fwd);

    if (why) {
        error_setg(errp, "Invalid host forwarding rule '%s' (%s)", rule, why);
        return false;
    }
    if (slirp_add_hostfwd(slirp, fwd.udp, fwd.host_addr, fwd.host_port,
                          fwd.guest_addr, fwd.guest_port) < 0) {
        error_setg(errp, "Could not set up host forwarding rule '%s'", rule);
        return false;
    }
    if (!fwd.guest_addr.s_addr) {
        fwd.guest_addr = s->dhcp_start;     /* as libslirp does */
    }
    g_array_append_val(s->hostfwds, fwd);
    return true;
}

/*
 * guestfwd=tcp:[server]:port-unix:PATH: each guest connection to
 * server:port is connected to the unix socket PATH (libslirp's
 * slirp_add_unix).  guestfwd=...-cmd:COMMAND, as in QEMU: each guest
 * connection runs COMMAND (split as a shell would, not run by one) with
 * the connection as its stdin, stdout and stderr (slirp_add_exec).
 * QEMU's chardev targets are refused, and so is cmd: under -sandbox on
 * (the command would inherit the seccomp allowlist: system/sandbox.c).
 */
static bool net_slirp_guestfwd(NetSlirpState *s, const char *rule,
                               GError **errp)
{
    g_autofree char *proto = NULL;
    g_autofree char *addr = NULL;
    g_autofree char *port_str = NULL;
    struct in_addr server = { 0 };
    const char *p = rule;
    int port;

    if (!net_slirp_take(&p, ':', &proto) || (strcmp(proto, "tcp") &&
                                             proto[0]) ||
        !net_slirp_take(&p, ':', &addr) ||
        (addr[0] && !inet_aton(addr, &server)) ||
        !net_slirp_take(&p, '-', &port_str) ||
        !net_slirp_port(port_str, 10, 1, 65535, &port)) {
        error_setg(errp, "Invalid guest forwarding rule '%s'", rule);
        return false;
    }
    if (g_str_has_prefix(p, "cmd:")) {
        g_autofree char *what = g_strdup_printf("guestfwd '%s'", rule);

        if (!sandbox_check_spawn(what, errp)) {
            return false;
        }
        if (slirp_add_exec(s->slirp, p + 4, &server, port) < 0) {
            error_setg(errp, "Conflicting/invalid host:port in guest "
                       "forwarding rule '%s'", rule);
            return false;
        }
        return true;
    }
    if (!g_str_has_prefix(p, "unix:") || p[5] != '/') {
        error_setg(errp, "guest forwarding target '%s' is not supported: "
                   "vmwire forwards to unix:/PATH or cmd:COMMAND only", p);
        return false;
    }
    if (slirp_add_unix(s->slirp, p + 5, &server, port) < 0) {
        error_setg(errp, "Conflicting/invalid host:port in guest forwarding "
                   "rule '%s'", rule);
        return false;
    }
    return true;
}

/* ---- configuration ------------------------------------------------------ */

/* net=addr[/mask] into @cfg, with QEMU's defaults for a bare address. */
static bool net_slirp_parse_net(const char *vnet, SlirpConfig *cfg,
                                GError **errp)
{
    g_autofree char *addr = NULL;
    const char *p = vnet;
    uint32_t a, mask;
    char *end;
    long shift;

    if (!net_slirp_take(&p, '/', &addr)) {
        if (!inet_aton(vnet, &cfg->vnetwork)) {
            error_setg(errp, "Failed to parse netmask");
            return false;
        }
        a = ntohl(cfg->vnetwork.s_addr);
        mask = !(a & 0x80000000) ? 0xff000000 :
               (a & 0xfff00000) == 0xac100000 ? 0xfff00000 :
               (a & 0xc0000000) == 0x80000000 ? 0xffff0000 :
               (a & 0xffff0000) == 0xc0a80000 ? 0xffff0000 :
               (a & 0xffff0000) == 0xc6120000 ? 0xfffe0000 :
               (a & 0xe0000000) == 0xe0000000 ? 0xffffff00 : 0xfffffff0;
        cfg->vnetmask.s_addr = htonl(mask);
        return true;
    }
    if (!inet_aton(addr, &cfg->vnetwork)) {
        error_setg(errp, "Failed to parse netmask");
        return false;
    }
    shift = strtol(p, &end, 10);
    if (*end) {
        if (!inet_aton(p, &cfg->vnetmask)) {
            error_setg(errp, "Failed to parse netmask (trailing chars)");
            return false;
        }
    } else if (shift < 4 || shift > 32) {
        error_setg(errp, "Invalid netmask provided (must be in range 4-32)");
        return false;
    } else {
        cfg->vnetmask.s_addr = htonl((uint32_t)(0xffffffffULL <<
                                                (32 - shift)));
    }
    return true;
}

/* x.x.x.@low on @cfg's network. */
static struct in_addr net_slirp_on_net(const SlirpConfig *cfg, uint32_t low)
{
    struct in_addr a = {
        cfg->vnetwork.s_addr | (htonl(low) & ~cfg->vnetmask.s_addr)
    };

    return a;
}

static bool net_slirp_same_net(struct in_addr a, const SlirpConfig *cfg)
{
    return (a.s_addr & cfg->vnetmask.s_addr) == cfg->vnetwork.s_addr;
}

static bool net_slirp_config_ipv4(const NetdevUserOptions *user,
                                  const char *vnet, SlirpConfig *cfg,
                                  GError **errp)
{
    cfg->vnetwork.s_addr = htonl(0x0a000200);       /* 10.0.2.0/24 */
    cfg->vnetmask.s_addr = htonl(0xffffff00);
    if (vnet && !net_slirp_parse_net(vnet, cfg, errp)) {
        return false;
    }
    cfg->vnetwork.s_addr &= cfg->vnetmask.s_addr;
    cfg->vhost = net_slirp_on_net(cfg, 0x0202);
    cfg->vdhcp_start = net_slirp_on_net(cfg, 0x020f);
    cfg->vnameserver = net_slirp_on_net(cfg, 0x0203);

    if (user->host && !inet_aton(user->host, &cfg->vhost)) {
        error_setg(errp, "Failed to parse host");
        return false;
    }
    if (!net_slirp_same_net(cfg->vhost, cfg)) {
        error_setg(errp, "Host doesn't belong to network");
        return false;
    }
    if (user->dns && !inet_aton(user->dns, &cfg->vnameserver)) {
        error_setg(errp, "Failed to parse DNS");
        return false;
    }
    if (cfg->restricted && !net_slirp_same_net(cfg->vnameserver, cfg)) {
        error_setg(errp, "DNS doesn't belong to network");
        return false;
    }
    if (cfg->vnameserver.s_addr == cfg->vhost.s_addr) {
        error_setg(errp, "DNS must be different from host");
        return false;
    }
    if (user->dhcpstart && !inet_aton(user->dhcpstart, &cfg->vdhcp_start)) {
        error_setg(errp, "Failed to parse DHCP start address");
        return false;
    }
    if (!net_slirp_same_net(cfg->vdhcp_start, cfg)) {
        error_setg(errp, "DHCP doesn't belong to network");
        return false;
    }
    if (cfg->vdhcp_start.s_addr == cfg->vhost.s_addr ||
        cfg->vdhcp_start.s_addr == cfg->vnameserver.s_addr) {
        error_setg(errp, "DHCP must be different from host and DNS");
        return false;
    }
    return true;
}

/* Do @a and @b share their first @len bits? */
static bool net_slirp_in6_same_net(const struct in6_addr *a,
                                   const struct in6_addr *b, unsigned len)
{
    unsigned bytes = len / 8, bits = len % 8;
    uint8_t mask = (uint8_t)(0xff << (8 - bits));

    return memcmp(a, b, bytes) == 0 &&
           (!bits || ((a->s6_addr[bytes] ^ b->s6_addr[bytes]) & mask) == 0);
}

static bool net_slirp_config_ipv6(const NetdevUserOptions *user,
                                  SlirpConfig *cfg, GError **errp)
{
    const char *prefix = user->ipv6_prefix ? user->ipv6_prefix : "fec0::";
    int64_t len = user->ipv6_prefixlen ? user->ipv6_prefixlen : 64;

    if (inet_pton(AF_INET6, prefix, &cfg->vprefix_addr6) != 1) {
        error_setg(errp, "Failed to parse IPv6 prefix");
        return false;
    }
    if (len < 0 || len > 126) {
        error_setg(errp, "Invalid IPv6 prefix provided "
                   "(IPv6 prefix length must be between 0 and 126)");
        return false;
    }
    cfg->vprefix_len = (uint8_t)len;
    cfg->vhost6 = cfg->vprefix_addr6;
    cfg->vhost6.s6_addr[15] |= 2;
    cfg->vnameserver6 = cfg->vprefix_addr6;
    cfg->vnameserver6.s6_addr[15] |= 3;
    if (user->ipv6_host) {
        if (inet_pton(AF_INET6, user->ipv6_host, &cfg->vhost6) != 1) {
            error_setg(errp, "Failed to parse IPv6 host");
            return false;
        }
        if (!net_slirp_in6_same_net(&cfg->vprefix_addr6, &cfg->vhost6,
                                    cfg->vprefix_len)) {
            error_setg(errp, "IPv6 Host doesn't belong to network");
            return false;
        }
    }
    if (user->ipv6_dns) {
        if (inet_pton(AF_INET6, user->ipv6_dns, &cfg->vnameserver6) != 1) {
            error_setg(errp, "Failed to parse IPv6 DNS");
            return false;
        }
        if (cfg->restricted &&
            !net_slirp_in6_same_net(&cfg->vprefix_addr6, &cfg->vnameserver6,
                                    cfg->vprefix_len)) {
            error_setg(errp, "IPv6 DNS doesn't belong to network");
            return false;
        }
    }
    return true;
}

/* Names and the MTU, checked as QEMU (the MTU is vmwire's). */
static bool net_slirp_config_names(const NetdevUserOptions *user,
                                   SlirpConfig *cfg, GError **errp)
{
    if (user->domainname && !*user->domainname) {
        error_setg(errp, "'domainname' parameter cannot be empty");
        return false;
    }
    if (user->domainname && strlen(user->domainname) > 255) {
        error_setg(errp, "'domainname' parameter cannot exceed 255 bytes");
        return false;
    }
    if (user->hostname && strlen(user->hostname) > 255) {
        error_setg(errp, "'vhostname' parameter cannot exceed 255 bytes");
        return false;
    }
    if (user->has_mtu && (user->mtu < NET_SLIRP_MTU_MIN ||
                          user->mtu > NET_SLIRP_MTU_MAX)) {
        error_setg(errp, "Parameter 'mtu' expects a value between %d and %d",
                   NET_SLIRP_MTU_MIN, NET_SLIRP_MTU_MAX);
        return false;
    }
    cfg->vhostname = user->hostname;
    cfg->vdomainname = user->domainname;
    cfg->if_mtu = cfg->if_mru = user->has_mtu ? (size_t)user->mtu : 0;
    return true;
}

/* QEMU's rules for ipv4=/ipv6= and what each needs. */
static bool net_slirp_config_families(const NetdevUserOptions *user,
                                      const char *vnet, SlirpConfig *cfg,
                                      GError **errp)
{
    cfg->in_enabled = !((user->has_ipv6 && user->ipv6 && !user->has_ipv4) ||
                        (user->has_ipv4 && !user->ipv4));
    cfg->in6_enabled = !((user->has_ipv4 && user->ipv4 && !user->has_ipv6) ||
                         (user->has_ipv6 && !user->ipv6));
    if (!cfg->in_enabled && (vnet || user->host || user->dns)) {
        error_setg(errp, "IPv4 disabled but netmask/host/dns provided");
        return false;
    }
    if (!cfg->in6_enabled && (user->ipv6_prefix || user->ipv6_host ||
                              user->ipv6_dns)) {
        error_setg(errp, "IPv6 disabled but prefix/host6/dns6 provided");
        return false;
    }
    if (!cfg->in_enabled && !cfg->in6_enabled) {
        error_setg(errp, "IPv4 and IPv6 disabled");
        return false;
    }
    return true;
}

static bool net_slirp_config(const NetdevUserOptions *user, SlirpConfig *cfg,
                             GError **errp)
{
    g_autofree char *vnet = user->net ? g_strdup(user->net)
        : user->ip ? g_strdup_printf("%s/24", user->ip) : NULL;

    cfg->version = 4;
    cfg->restricted = user->has_q_restrict && user->q_restrict;
    return net_slirp_config_families(user, vnet, cfg, errp) &&
           net_slirp_config_ipv4(user, vnet, cfg, errp) &&
           net_slirp_config_ipv6(user, cfg, errp) &&
           net_slirp_config_names(user, cfg, errp);
}

/*
 * Set the rules up in QEMU 7.2's order, which decides which of two
 * conflicting rules fails: guestfwd= last first, then hostfwd= last first.
 */
static bool net_slirp_add_rules(NetSlirpState *s,
                                const NetdevUserOptions *user, GError **errp)
{
    g_autoptr(GPtrArray) rules = g_ptr_array_new();
    guint hostfwds;

    for (const StringList *l = user->hostfwd; l; l = l->next) {
        g_ptr_array_add(rules, l->value->str);
    }
    hostfwds = rules->len;
    for (const StringList *l = user->guestfwd; l; l = l->next) {
        g_ptr_array_add(rules, l->value->str);
    }
    for (guint i = rules->len; i-- > 0;) {
        bool ok = i < hostfwds
            ? net_slirp_hostfwd_add_rule(s->slirp, rules->pdata[i], errp)
            : net_slirp_guestfwd(s, rules->pdata[i], errp);

        if (!ok) {
            return false;
        }
    }
    /* Listed in the order given (x-query-hostfwd), not set up. */
    for (guint i = 0, j = s->hostfwds->len; j-- > i + 1; i++) {
        NetSlirpFwd *a = &g_array_index(s->hostfwds, NetSlirpFwd, i);
        NetSlirpFwd *b = &g_array_index(s->hostfwds, NetSlirpFwd, j);
        NetSlirpFwd swap = *a;

        *a = *b;
        *b = swap;
    }
    return true;
}

bool net_init_user(const Netdev *netdev, GError **errp)
{
    const NetdevUserOptions *user = &netdev->u.user;
    g_autofree const char **dnssearch = NULL;
    SlirpConfig cfg = { 0 };
    NetSlirpState *s;
    NetSlirpSource *source;
    unsigned n = 0;

    if (!net_slirp_config(user, &cfg, errp)) {
        return false;
    }
    for (const StringList *l = user->dnssearch; l; l = l->next) {
        n++;
    }
    dnssearch = g_new0(const char *, n + 1);
    n = 0;
    for (const StringList *l = user->dnssearch; l; l = l->next) {
        dnssearch[n++] = l->value->str;
    }
    cfg.vdnssearch = n ? dnssearch : NULL;

    s = container_of(net_client_new(&net_slirp_info, NULL, "user",
                                     netdev->id), NetSlirpState, nc);
    net_client_set_info_str(&s->nc, "net=%s,restrict=%s",
                            inet_ntoa(cfg.vnetwork),
                            cfg.restricted ? "on" : "off");
    s->pollfds = g_array_new(FALSE, TRUE, sizeof(GPollFD));
    s->fill = g_array_new(FALSE, TRUE, sizeof(GPollFD));
    s->deadline = G_MAXINT64;
    s->hostfwds = g_array_new(FALSE, TRUE, sizeof(NetSlirpFwd));
    s->dhcp_start = cfg.vdhcp_start;
    s->slirp = slirp_new(&cfg, &net_slirp_cb, s);
    g_queue_push_tail(&net_slirp_stacks, s);
    if (!net_slirp_add_rules(s, user, errp)) {
        net_client_free(&s->nc);
        return false;
    }
    s->source = g_source_new(&net_slirp_source_funcs, sizeof(*source));
    source = (NetSlirpSource *)s->source;
    source->s = s;
    g_source_set_name(s->source, "slirp");
    /* No fd churn around each dispatch (see util/fd-handler.c). */
    g_source_set_can_recurse(s->source, TRUE);
    g_source_attach(s->source, NULL);
    return true;
}

/* ---- what net/slirp-qmp.c needs (net/slirp-internal.h) ----------------- */

NetClientState *net_slirp_first(void)
{
    NetSlirpState *s = g_queue_peek_head(&net_slirp_stacks);

    return s ? &s->nc : NULL;
}

Slirp *net_slirp_stack(NetClientState *nc)
{
    if (nc->info != &net_slirp_info) {
        return NULL;
    }
    return container_of(nc, NetSlirpState, nc)->slirp;
}

/* Drop the first rule of @s listening where libslirp just closed one. */
static void net_slirp_forget_hostfwd(NetSlirpState *s,
                                     const NetSlirpFwd *host, int port)
{
    for (guint i = 0; i < s->hostfwds->len; i++) {
        NetSlirpFwd *fwd = &g_array_index(s->hostfwds, NetSlirpFwd, i);

        if (fwd->udp == host->udp && fwd->host_port == port &&
            fwd->host_addr.s_addr == host->host_addr.s_addr) {
            g_array_remove_index(s->hostfwds, i);
            return;
        }
    }
}

bool net_slirp_hostfwd_remove_rule(Slirp *slirp, const char *rule,
                                   GError **errp)
{
    NetSlirpFwd fwd = { 0 };
    const char *p = rule;
    char *end;
    long port;

    if (net_slirp_parse_host(&p, &fwd)) {
        error_setg(errp, "invalid format");
        return false;
    }
    errno = 0;
    port = strtol(p, &end, 10);
    if (!*p || *end || errno || port < INT_MIN || port > INT_MAX) {
        error_setg(errp, "invalid format");
        return false;
    }
    if (slirp_remove_hostfwd(slirp, fwd.udp, fwd.host_addr, (int)port) < 0) {
        error_setg(errp, "host forwarding rule for %s not found", rule);
        return false;
    }
    net_slirp_forget_hostfwd(net_slirp_of(slirp), &fwd, (int)port);
    return true;
}

void net_slirp_foreach_hostfwd(NetClientState *nc, NetSlirpFwdFunc func,
                               void *opaque)
{
    for (GList *l = net_slirp_stacks.head; l; l = l->next) {
        NetSlirpState *s = l->data;

        for (guint i = 0; (!nc || nc == &s->nc) && i < s->hostfwds->len;
             i++) {
            NetSlirpFwd *fwd = &g_array_index(s->hostfwds, NetSlirpFwd, i);
            char host[INET_ADDRSTRLEN], guest[INET_ADDRSTRLEN];

            inet_ntop(AF_INET, &fwd->host_addr, host, sizeof(host));
            inet_ntop(AF_INET, &fwd->guest_addr, guest, sizeof(guest));
            func(s->nc.name, fwd->udp, host, fwd->host_port, guest,
                 fwd->guest_port, opaque);
        }
    }
}

/*
 * -netdev user,ipv6-net=PREFIX[/LEN] is QEMU's command-line shorthand for
 * ipv6-prefix= and ipv6-prefixlen= (LEN default 64); key=value only.
 */
bool net_slirp_expand_ipv6_net(JsonObject *obj, GError **errp)
{
    JsonNode *node;
    const char *net;
    g_auto(GStrv) parts = NULL;
    g_autofree char *len_str = NULL;
    char *end;
    unsigned long len = 64;

    if (!json_object_has_member(obj, "ipv6-net")) {
        return true;
    }
    node = json_object_get_member(obj, "ipv6-net");
    net = JSON_NODE_HOLDS_VALUE(node) &&
          json_node_get_value_type(node) == G_TYPE_STRING
        ? json_node_get_string(node) : NULL;
    if (!net) {
        error_setg(errp, "Invalid parameter 'ipv6-net'");
        return false;
    }
    parts = g_strsplit(net, "/", 2);
    if (parts[0] && parts[1]) {
        errno = 0;
        len = strtoul(parts[1], &end, 10);
        if (errno || end == parts[1] || *end) {
            /* QEMU 7.2 hands the text on to ipv6-prefixlen= */
            error_setg(errp, "Parameter 'ipv6-prefixlen' expects a number");
            return false;
        }
    }
    if (json_object_has_member(obj, "ipv6-prefix") ||
        json_object_has_member(obj, "ipv6-prefixlen")) {
        error_setg(errp, "ipv6-net= cannot be given with ipv6-prefix= or "
                   "ipv6-prefixlen=");
        return false;
    }
    json_object_set_string_member(obj, "ipv6-prefix", parts[0] ? parts[0]
                                  : "");
    len_str = g_strdup_printf("%lu", len);
    json_object_set_string_member(obj, "ipv6-prefixlen", len_str);
    json_object_remove_member(obj, "ipv6-net");
    return true;
}
