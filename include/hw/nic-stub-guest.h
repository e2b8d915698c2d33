/*
 * DOC: the tiny host behind nic-stub
 *
 * Pure functions, no state beyond the address they are given: look at one
 * Ethernet frame and, if it is an ARP request for our IPv4 address or an
 * ICMP echo request to it, build the reply.  Every length and header field
 * is checked before use: the input is whatever a VM chose to send.
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
} NicStubAddr;

typedef enum NicStubReplyKind {
    NIC_STUB_REPLY_NONE,
    NIC_STUB_REPLY_ARP,
    NIC_STUB_REPLY_ICMP_ECHO,
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

#endif /* HW_NIC_STUB_GUEST_H */
