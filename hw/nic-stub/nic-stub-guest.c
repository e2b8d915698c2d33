/*
 * DOC: ARP and ICMP echo answers for nic-stub (see hw/nic-stub-guest.h)
 *
 * Frames are parsed with explicit offsets and bounds checks: Ethernet (no
 * VLAN tag), then ARP for IPv4 over Ethernet, or IPv4 (any header length,
 * no fragments) sent to our MAC carrying ICMP type 8.  Replies reuse the
 * request's payload, so a ping of any size that fits a frame is echoed
 * whole.
 *
 * IPv6 (with ip6=): an IPv6 header whose next header is ICMPv6 (extension
 * headers are not followed: such packets are ignored), with a valid ICMPv6
 * checksum.  Our addresses are ip6= and the EUI-64 link-local address of
 * our MAC, so the guest's neighbour discovery works for both.
 *  - A neighbour solicitation (RFC 4861 7.1.1 checks: hop limit 255,
 *    code 0, well-formed options) whose target is ours, sent to the target
 *    itself (our MAC) or to its solicited-node group ff02::1:ffXX:XXXX
 *    (MAC 33:33:ff:XX:XX:XX), gets a neighbour advertisement: flags
 *    Solicited + Override, our MAC as target link-layer address option, hop
 *    limit 255.  A DAD probe (source ::) is answered to all-nodes ff02::1
 *    without the Solicited flag (RFC 4861 7.2.4), defending our address.
 *  - An echo request to one of our addresses and our MAC gets an echo
 *    reply with the same identifier, sequence and data.
 */
#include "hw/nic-stub-guest.h"

#include <string.h>

#define ETH_HDR_LEN     14
#define ETH_TYPE_IPV4   0x0800
#define ETH_TYPE_ARP    0x0806
#define ARP_LEN         28
#define ARP_OP_REQUEST  1
#define ARP_OP_REPLY    2
#define IP_PROTO_ICMP   1
#define ICMP_ECHO_REPLY   0
#define ICMP_ECHO_REQUEST 8
#define ETH_TYPE_IPV6   0x86dd
#define IP6_HDR_LEN     40
#define IP_PROTO_ICMPV6 58
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY   129
#define ICMP6_NEIGHBOR_SOLICIT 135
#define ICMP6_NEIGHBOR_ADVERT  136
#define ND_HOP_LIMIT    255
#define ND_NS_LEN       24          /* type .. target, before options */
#define ND_OPT_SOURCE_LLADDR 1
#define ND_OPT_TARGET_LLADDR 2
#define ND_NA_FLAGS_SO  0x60        /* Solicited + Override */
#define ND_NA_FLAG_O    0x20
#define ND_NA_LEN       (ND_NS_LEN + 8)     /* + target lladdr option */

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v & 0xff;
}

/* Add @len bytes to a one's complement sum (@len odd: only at the end). */
static uint64_t checksum_add(uint64_t sum, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += get_be16(data + i);
    }
    if (len & 1) {
        sum += (uint32_t)data[len - 1] << 8;
    }
    return sum;
}

static uint16_t checksum_fold(uint64_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

uint16_t inet_checksum(const uint8_t *data, size_t len)
{
    return checksum_fold(checksum_add(0, data, len));
}

uint16_t icmp6_checksum(const uint8_t *src, const uint8_t *dst,
                        const uint8_t *icmp, size_t len)
{
    uint64_t sum = checksum_add(0, src, 16);

    sum = checksum_add(sum, dst, 16);
    sum += (uint64_t)len + IP_PROTO_ICMPV6;     /* length, next header */
    return checksum_fold(checksum_add(sum, icmp, len));
}

void nic_stub_link_local(const uint8_t *mac, uint8_t *ip6)
{
    memset(ip6, 0, 16);
    ip6[0] = 0xfe;
    ip6[1] = 0x80;
    ip6[8] = mac[0] ^ 0x02;                     /* universal/local bit */
    memcpy(ip6 + 9, mac + 1, 2);
    ip6[11] = 0xff;
    ip6[12] = 0xfe;
    memcpy(ip6 + 13, mac + 3, 3);
}

static void eth_reply_header(const NicStubAddr *self, const uint8_t *frame,
                             uint8_t *reply, uint16_t type)
{
    memcpy(reply, frame + 6, ETH_ALEN_BYTES);       /* to the asker */
    memcpy(reply + 6, self->mac, ETH_ALEN_BYTES);
    put_be16(reply + 12, type);
}

static NicStubReplyKind arp_respond(const NicStubAddr *self,
                                    const uint8_t *frame, size_t len,
                                    uint8_t *reply, size_t cap,
                                    size_t *reply_len)
{
    const uint8_t *arp = frame + ETH_HDR_LEN;
    uint8_t *out = reply + ETH_HDR_LEN;

    if (len < ETH_HDR_LEN + ARP_LEN || cap < ETH_HDR_LEN + ARP_LEN ||
        get_be16(arp) != 1 || get_be16(arp + 2) != ETH_TYPE_IPV4 ||
        arp[4] != 6 || arp[5] != 4 || get_be16(arp + 6) != ARP_OP_REQUEST ||
        memcmp(arp + 24, self->ip, 4) != 0) {
        return NIC_STUB_REPLY_NONE;
    }
    eth_reply_header(self, frame, reply, ETH_TYPE_ARP);
    memcpy(out, arp, 6);                        /* htype, ptype, sizes */
    put_be16(out + 6, ARP_OP_REPLY);
    memcpy(out + 8, self->mac, 6);              /* sender: us */
    memcpy(out + 14, self->ip, 4);
    memcpy(out + 18, arp + 8, 10);              /* target: the asker */
    *reply_len = ETH_HDR_LEN + ARP_LEN;
    return NIC_STUB_REPLY_ARP;
}

static NicStubReplyKind icmp_respond(const NicStubAddr *self,
                                     const uint8_t *frame, size_t len,
                                     uint8_t *reply, size_t cap,
                                     size_t *reply_len)
{
    const uint8_t *ip = frame + ETH_HDR_LEN;
    size_t ihl, total;
    uint8_t *out_ip, *icmp;

    if (len < ETH_HDR_LEN + 20 || (ip[0] >> 4) != 4) {
        return NIC_STUB_REPLY_NONE;
    }
    ihl = (size_t)(ip[0] & 0x0f) * 4;
    total = get_be16(ip + 2);
    if (memcmp(frame, self->mac, ETH_ALEN_BYTES) != 0) {
        return NIC_STUB_REPLY_NONE;             /* not addressed to us */
    }
    if (ihl < 20 || total < ihl + 8 || ETH_HDR_LEN + total > len ||
        ETH_HDR_LEN + total > cap || ip[9] != IP_PROTO_ICMP ||
        (get_be16(ip + 6) & 0x3fff) != 0 ||       /* fragment */
        memcmp(ip + 16, self->ip, 4) != 0 || ip[ihl] != ICMP_ECHO_REQUEST) {
        return NIC_STUB_REPLY_NONE;
    }
    eth_reply_header(self, frame, reply, ETH_TYPE_IPV4);
    out_ip = reply + ETH_HDR_LEN;
    memcpy(out_ip, ip, total);
    memcpy(out_ip + 12, self->ip, 4);           /* source: us */
    memcpy(out_ip + 16, ip + 12, 4);            /* to the asker */
    out_ip[8] = 64;                             /* TTL */
    put_be16(out_ip + 10, 0);
    put_be16(out_ip + 10, inet_checksum(out_ip, ihl));
    icmp = out_ip + ihl;
    icmp[0] = ICMP_ECHO_REPLY;
    put_be16(icmp + 2, 0);
    put_be16(icmp + 2, inet_checksum(icmp, total - ihl));
    *reply_len = ETH_HDR_LEN + total;
    return NIC_STUB_REPLY_ICMP_ECHO;
}

/* Is @addr (16 bytes) ip6= or our link-local address? */
static bool ip6_is_ours(const NicStubAddr *self, const uint8_t *addr)
{
    uint8_t link_local[16];

    nic_stub_link_local(self->mac, link_local);
    return memcmp(addr, self->ip6, 16) == 0 ||
           memcmp(addr, link_local, 16) == 0;
}

static bool ip6_is_unspecified(const uint8_t *addr)
{
    static const uint8_t zero[16];

    return memcmp(addr, zero, 16) == 0;
}

/* The solicited-node group of @target: ff02::1:ff00:0/104 + low 24 bits. */
static bool ip6_is_solicited_node(const uint8_t *addr, const uint8_t *target)
{
    static const uint8_t prefix[13] = { 0xff, 0x02, [11] = 0x01, 0xff };

    return memcmp(addr, prefix, 13) == 0 &&
           memcmp(addr + 13, target + 13, 3) == 0;
}

/*
 * The options after a neighbour solicitation (@len bytes): each at least
 * 8 bytes, within the message.  Sets *@has_source_lladdr.
 */
static bool nd_options_valid(const uint8_t *opt, size_t len,
                             bool *has_source_lladdr)
{
    *has_source_lladdr = false;
    while (len > 0) {
        size_t opt_len;

        if (len < 2 || opt[1] == 0) {
            return false;
        }
        opt_len = (size_t)opt[1] * 8;
        if (opt_len > len) {
            return false;
        }
        if (opt[0] == ND_OPT_SOURCE_LLADDR) {
            *has_source_lladdr = true;
        }
        opt += opt_len;
        len -= opt_len;
    }
    return true;
}

/* Write the IPv6 header of a reply carrying @plen bytes of ICMPv6. */
static void ip6_reply_header(uint8_t *ip6, const uint8_t *src,
                             const uint8_t *dst, size_t plen, uint8_t hops)
{
    memset(ip6, 0, 4);
    ip6[0] = 0x60;                              /* version 6 */
    put_be16(ip6 + 4, (uint16_t)plen);
    ip6[6] = IP_PROTO_ICMPV6;
    ip6[7] = hops;
    memmove(ip6 + 8, src, 16);
    memmove(ip6 + 24, dst, 16);
}

/*
 * @ip6 is a checked IPv6 header followed by @plen bytes of ICMPv6 of type
 * neighbour solicitation.
 */
static NicStubReplyKind ndp_respond(const NicStubAddr *self,
                                    const uint8_t *frame, size_t plen,
                                    uint8_t *reply, size_t cap,
                                    size_t *reply_len)
{
    static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 0x01 };
    const uint8_t *ip6 = frame + ETH_HDR_LEN, *icmp = ip6 + IP6_HDR_LEN;
    const uint8_t *src = ip6 + 8, *dst = ip6 + 24, *target = icmp + 8;
    uint8_t *out_ip6 = reply + ETH_HDR_LEN, *na = out_ip6 + IP6_HDR_LEN;
    bool dad = ip6_is_unspecified(src), has_sllao;

    if (plen < ND_NS_LEN || cap < ETH_HDR_LEN + IP6_HDR_LEN + ND_NA_LEN ||
        ip6[7] != ND_HOP_LIMIT || icmp[1] != 0 || !ip6_is_ours(self, target) ||
        !nd_options_valid(icmp + ND_NS_LEN, plen - ND_NS_LEN, &has_sllao) ||
        (dad && (has_sllao || !ip6_is_solicited_node(dst, target)))) {
        return NIC_STUB_REPLY_NONE;
    }
    if (ip6_is_solicited_node(dst, target)) {
        if (frame[0] != 0x33 || frame[1] != 0x33 ||
            memcmp(frame + 2, dst + 12, 4) != 0) {
            return NIC_STUB_REPLY_NONE;         /* not the group's MAC */
        }
    } else if (memcmp(dst, target, 16) != 0 ||
               memcmp(frame, self->mac, ETH_ALEN_BYTES) != 0) {
        return NIC_STUB_REPLY_NONE;
    }
    eth_reply_header(self, frame, reply, ETH_TYPE_IPV6);
    if (dad) {                                  /* RFC 4861 7.2.4 */
        memcpy(reply, "\x33\x33\x00\x00\x00\x01", ETH_ALEN_BYTES);
    }
    ip6_reply_header(out_ip6, target, dad ? all_nodes : src, ND_NA_LEN,
                     ND_HOP_LIMIT);
    memset(na, 0, ND_NS_LEN);
    na[0] = ICMP6_NEIGHBOR_ADVERT;
    na[4] = dad ? ND_NA_FLAG_O : ND_NA_FLAGS_SO;
    memcpy(na + 8, out_ip6 + 8, 16);            /* target: the address */
    na[ND_NS_LEN] = ND_OPT_TARGET_LLADDR;
    na[ND_NS_LEN + 1] = 1;                      /* 8 bytes */
    memcpy(na + ND_NS_LEN + 2, self->mac, ETH_ALEN_BYTES);
    put_be16(na + 2, icmp6_checksum(out_ip6 + 8, out_ip6 + 24, na,
                                    ND_NA_LEN));
    *reply_len = ETH_HDR_LEN + IP6_HDR_LEN + ND_NA_LEN;
    return NIC_STUB_REPLY_NEIGHBOR_ADVERT;
}

/* As ndp_respond(), for an ICMPv6 echo request. */
static NicStubReplyKind icmp6_echo_respond(const NicStubAddr *self,
                                           const uint8_t *frame, size_t plen,
                                           uint8_t *reply, size_t cap,
                                           size_t *reply_len)
{
    const uint8_t *ip6 = frame + ETH_HDR_LEN;
    uint8_t *out_ip6 = reply + ETH_HDR_LEN, *icmp = out_ip6 + IP6_HDR_LEN;

    if (plen < 8 || ETH_HDR_LEN + IP6_HDR_LEN + plen > cap ||
        ip6[1 + IP6_HDR_LEN] != 0 ||            /* code */
        memcmp(frame, self->mac, ETH_ALEN_BYTES) != 0 ||
        !ip6_is_ours(self, ip6 + 24) || ip6_is_unspecified(ip6 + 8)) {
        return NIC_STUB_REPLY_NONE;
    }
    eth_reply_header(self, frame, reply, ETH_TYPE_IPV6);
    memcpy(icmp, ip6 + IP6_HDR_LEN, plen);
    ip6_reply_header(out_ip6, ip6 + 24, ip6 + 8, plen, 64);
    icmp[0] = ICMP6_ECHO_REPLY;
    put_be16(icmp + 2, 0);
    put_be16(icmp + 2, icmp6_checksum(out_ip6 + 8, out_ip6 + 24, icmp, plen));
    *reply_len = ETH_HDR_LEN + IP6_HDR_LEN + plen;
    return NIC_STUB_REPLY_ICMP6_ECHO;
}

/* An IPv6 frame: check the headers both answers share, then dispatch. */
static NicStubReplyKind ip6_respond(const NicStubAddr *self,
                                    const uint8_t *frame, size_t len,
                                    uint8_t *reply, size_t cap,
                                    size_t *reply_len)
{
    const uint8_t *ip6 = frame + ETH_HDR_LEN, *icmp = ip6 + IP6_HDR_LEN;
    size_t plen;

    if (len < ETH_HDR_LEN + IP6_HDR_LEN || (ip6[0] >> 4) != 6) {
        return NIC_STUB_REPLY_NONE;
    }
    plen = get_be16(ip6 + 4);
    if (plen < 4 || ETH_HDR_LEN + IP6_HDR_LEN + plen > len ||
        ip6[6] != IP_PROTO_ICMPV6 || ip6[8] == 0xff ||  /* multicast src */
        icmp6_checksum(ip6 + 8, ip6 + 24, icmp, plen) != 0) {
        return NIC_STUB_REPLY_NONE;
    }
    switch (icmp[0]) {
    case ICMP6_NEIGHBOR_SOLICIT:
        return ndp_respond(self, frame, plen, reply, cap, reply_len);
    case ICMP6_ECHO_REQUEST:
        return icmp6_echo_respond(self, frame, plen, reply, cap, reply_len);
    default:
        return NIC_STUB_REPLY_NONE;
    }
}

NicStubReplyKind nic_stub_guest_respond(const NicStubAddr *self,
                                        const uint8_t *frame, size_t len,
                                        uint8_t *reply, size_t reply_cap,
                                        size_t *reply_len)
{
    *reply_len = 0;
    if (len < ETH_HDR_LEN) {
        return NIC_STUB_REPLY_NONE;
    }
    switch (get_be16(frame + 12)) {
    case ETH_TYPE_ARP:
        return self->has_ip ? arp_respond(self, frame, len, reply, reply_cap,
                                          reply_len) : NIC_STUB_REPLY_NONE;
    case ETH_TYPE_IPV4:
        return self->has_ip ? icmp_respond(self, frame, len, reply,
                                           reply_cap, reply_len)
                            : NIC_STUB_REPLY_NONE;
    case ETH_TYPE_IPV6:
        return self->has_ip6 ? ip6_respond(self, frame, len, reply,
                                           reply_cap, reply_len)
                             : NIC_STUB_REPLY_NONE;
    default:
        return NIC_STUB_REPLY_NONE;
    }
}
