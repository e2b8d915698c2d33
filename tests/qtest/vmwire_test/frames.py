"""vmwire_test.frames: Ethernet (optionally 802.1Q-tagged) and ARP frames
built and taken apart byte for byte, and QEMU's stream record."""

import socket
import struct


BROADCAST = b'\xff' * 6
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100


def mac_bytes(mac):
    """'52:54:00:00:00:01' -> 6 bytes (bytes pass through)."""
    if isinstance(mac, (bytes, bytearray)):
        return bytes(mac)
    return bytes.fromhex(mac.replace(':', ''))


def mac_str(mac):
    """6 bytes -> '52:54:00:00:00:01'."""
    return ':'.join('%02x' % b for b in mac)


def _ip4(ip):
    return ip if isinstance(ip, (bytes, bytearray)) else socket.inet_aton(ip)


def inet_checksum(data):
    """The Internet checksum (RFC 1071) of data, as IPv4, ICMP, TCP and
    UDP carry it."""
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def stream_record(frame):
    """A frame as it goes on a QEMU stream: 4-byte big-endian length first."""
    return len(frame).to_bytes(4, 'big') + frame


def eth_frame(dst, src, ethertype, payload, vid=None):
    """An Ethernet frame (no padding, no FCS); vid adds an 802.1Q tag."""
    tag = b'' if vid is None else (ETH_P_8021Q.to_bytes(2, 'big') +
                                   (vid & 0x0fff).to_bytes(2, 'big'))
    return (mac_bytes(dst) + mac_bytes(src) + tag +
            ethertype.to_bytes(2, 'big') + payload)


def parse_eth(frame):
    """(dst, src, vid or None, ethertype, payload) of an Ethernet frame;
    MACs as bytes.  None if it is shorter than a header."""
    if len(frame) < 14:
        return None
    ethertype = int.from_bytes(frame[12:14], 'big')
    if ethertype == ETH_P_8021Q and len(frame) >= 18:
        return (frame[0:6], frame[6:12], int.from_bytes(frame[14:16], 'big')
                & 0x0fff, int.from_bytes(frame[16:18], 'big'), frame[18:])
    return frame[0:6], frame[6:12], None, ethertype, frame[14:]


def arp_frame(op, sender_mac, sender_ip, target_mac, target_ip, dst=None,
              vid=None):
    """An ARP frame (op 1 request, 2 reply) for IPv4 over Ethernet.

    target_mac None means zeros; dst defaults to broadcast for a request and
    to target_mac for a reply.  IPs are dotted strings or 4 bytes.
    """
    target = mac_bytes(target_mac) if target_mac is not None else b'\0' * 6
    if dst is None:
        dst = BROADCAST if op == 1 else target
    arp = (b'\x00\x01\x08\x00\x06\x04' + op.to_bytes(2, 'big') +
           mac_bytes(sender_mac) + _ip4(sender_ip) + target + _ip4(target_ip))
    return eth_frame(dst, sender_mac, ETH_P_ARP, arp, vid)


def arp_fields(frame):
    """(op, sender_mac, sender_ip, target_mac, target_ip) of an ARP frame
    (tagged or not; IPs dotted), or None if it is not ARP for IPv4."""
    parsed = parse_eth(frame)
    if parsed is None or parsed[3] != ETH_P_ARP or len(parsed[4]) < 28:
        return None
    arp = parsed[4]
    return (int.from_bytes(arp[6:8], 'big'), arp[8:14],
            socket.inet_ntoa(arp[14:18]), arp[18:24],
            socket.inet_ntoa(arp[24:28]))
