/*
 * DOC: the tiny host behind nic-stub
 *
 * Pure functions, no state beyond the address they are given: look at one
 * Ethernet frame and, if it is an ARP request for our IPv4 address or an
 * ICMP echo request to it, or (with an IPv6 address) a neighbour
 * solicitation for it or an ICMPv6 echo request to it, build the reply.
 * Every length and header field is checked before use: the input is
 * whatever a VM chose to send.
 */
#ifndef HW_NIC_STUB_GUEST_H
#define HW_NIC_STUB_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETH_ALEN_BYTES 6

typedef struct NicStubAddr {
    uint8_t mac[ETH_ALEN_BYTES];
    bool has_ip;
    uint8_t ip[4];          /* network order */
    unsigned prefix;
    bool has_ip6;           /* also answers for the EUI-64 fe80:: of mac */
    uint8_t ip6[16];        /* network order */
    unsigned prefix6;
} NicStubAddr;

typedef enum NicStubReplyKind {
    NIC_STUB_REPLY_NONE,
    NIC_STUB_REPLY_ARP,
    NIC_STUB_REPLY_ICMP_ECHO,
    NIC_STUB_REPLY_NEIGHBOR_ADVERT,     /* to a neighbour solicitation */
    NIC_STUB_REPLY_ICMP6_ECHO,
} NicStubReplyKind;

/*
 * If @frame (@len bytes) asks something of @self, write the reply into
 * @reply (room for @reply_cap bytes) and set *@reply_len.  Returns what kind
 * of reply was built (NONE leaves *@reply_len at 0).
 */
NicStubReplyKind nic_stub_guest_respond(const NicStubAddr *self,
                                        const uint8_t *frame, size_t len,
                                        uint8_t *reply, size_t reply_cap,
                                        size_t *reply_len);

/* The Internet checksum (RFC 1071) of @len bytes. */
uint16_t inet_checksum(const uint8_t *data, size_t len);

/*
 * The ICMPv6 checksum of @len bytes at @icmp sent from @src to @dst (16
 * bytes each): over the IPv6 pseudo-header (RFC 8200 8.1), then the
 * message.  A received message with a valid checksum sums to 0.
 */
uint16_t icmp6_checksum(const uint8_t *src, const uint8_t *dst,
                        const uint8_t *icmp, size_t len);

/* The EUI-64 link-local address fe80::/64 of @mac (RFC 4291 2.5.1). */
void nic_stub_link_local(const uint8_t *mac, uint8_t *ip6);

#endif /* HW_NIC_STUB_GUEST_H */
