/*
 * DOC: ARP and ICMP echo answers for nic-stub (see hw/nic-stub-guest.h)
 *
 * Frames are parsed with explicit offsets and bounds checks: Ethernet (no
 * VLAN tag), then ARP for IPv4 over Ethernet, or IPv4 (any header length,
 * no fragments) sent to our MAC carrying ICMP type 8.  Replies reuse the
 * request's payload, so a ping of any size that fits a frame is echoed
 * whole.
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

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v & 0xff;
}

uint16_t inet_checksum(const uint8_t *data, size_t len)
{
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += get_be16(data + i);
    }
    if (len & 1) {
        sum += (uint32_t)data[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
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

NicStubReplyKind nic_stub_guest_respond(const NicStubAddr *self,
                                        const uint8_t *frame, size_t len,
                                        uint8_t *reply, size_t reply_cap,
                                        size_t *reply_len)
{
    *reply_len = 0;
    if (!self->has_ip || len < ETH_HDR_LEN) {
        return NIC_STUB_REPLY_NONE;
    }
    switch (get_be16(frame + 12)) {
    case ETH_TYPE_ARP:
        return arp_respond(self, frame, len, reply, reply_cap, reply_len);
    case ETH_TYPE_IPV4:
        return icmp_respond(self, frame, len, reply, reply_cap, reply_len);
    default:
        return NIC_STUB_REPLY_NONE;
    }
}
