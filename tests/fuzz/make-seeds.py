#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/ (corpus/TARGET/*).

The harnesses read their input as a little program (the format is in the
DOC comment of each tests/fuzz/TARGET.c); these seeds are valid programs
that reach the interesting code at once: a proper vhost-user setup
sequence, a good TX chain, an indirect chain, mergeable RX, a buffer that
spans two regions, a descriptor loop.  Change a harness's input format and
this file together, then run it:

    python3 tests/fuzz/make-seeds.py      # rewrites tests/fuzz/corpus/
"""
import os
import struct
import sys
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))

# Ring layout used by every seed in one 64 KiB region (gpa 0, uva
# UVA_BASE): RX vring 0 (256 entries) at 0x0000/0x1000/0x2000, TX vring
# 1 at 0x3000/0x4000/0x5000, packet buffers from 0x8000.
UVA_BASE = 0x7f0000000000
RING_NUM = 256
RX_RING = (0x0000, 0x1000, 0x2000)
TX_RING = (0x3000, 0x4000, 0x5000)
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


def u8(v: int) -> bytes:
    return struct.pack('<B', v)


def u16(v: int) -> bytes:
    return struct.pack('<H', v)


def u32(v: int) -> bytes:
    return struct.pack('<I', v)


def u64(v: int) -> bytes:
    return struct.pack('<Q', v)


def desc(addr: int, length: int, flags: int, nxt: int) -> bytes:
    """A split-ring descriptor as it lies in guest memory."""
    return u64(addr) + u32(length) + u16(flags) + u16(nxt)


# ---- fuzz-virtq (tests/fuzz/fuzz-virtq.c) ------------------------------
(V_SETUP, V_DESC, V_DESC_AT, V_AVAIL_ADD, V_AVAIL_IDX, V_EVENT, V_WRITE,
 V_TX, V_RX, V_UNPUSH, V_NOTIFY, V_BASE, V_RESET, V_FILL, V_FILL_AT,
 V_FILL_AVAIL, V_TRANSLATE) = range(17)


def v_addr(offset: int, region: int = 0) -> bytes:
    """An address operand: region @region, @offset into it."""
    return u8(region) + u32(offset)


def v_guest(features: int, regions: List[int]) -> bytes:
    """Header: adjacent regions from gpa 0, uva = gpa + UVA_BASE."""
    out = u8(features) + u8(len(regions) - 1)
    for size in regions:
        out += u16(size - 1) + u8(3)
    return out


def v_setup(q: int, ring: tuple, num: int = RING_NUM) -> bytes:
    return (u8(V_SETUP) + u8(q) + u8(num.bit_length() - 1) +
            b''.join(v_addr(o) for o in ring))


def v_desc(q: int, i: int, addr: int, length: int, flags: int,
           nxt: int = 0) -> bytes:
    return (u8(V_DESC) + u8(q) + u16(i) + v_addr(addr) + u32(length) +
            u16(flags) + u16(nxt))


def v_desc_at(where: int, addr: int, length: int, flags: int,
              nxt: int = 0) -> bytes:
    return (u8(V_DESC_AT) + v_addr(where) + v_addr(addr) + u32(length) +
            u16(flags) + u16(nxt))


def v_avail(q: int, head: int) -> bytes:
    return u8(V_AVAIL_ADD) + u8(q) + u16(head)


def v_tx(q: int = 1, most: int = 8, keep: int = 255) -> bytes:
    return u8(V_TX) + u8(q) + u8(most - 1) + u8(keep)


def v_rx(length: int, pieces: int = 1) -> bytes:
    return u8(V_RX) + u8(0) + u16(length) + u8(pieces)


def v_notify(q: int, how: int) -> bytes:
    return u8(V_NOTIFY) + u8(q) + u8(how)


def virtq_seeds() -> Dict[str, bytes]:
    all_features = 0x7                  # EVENT_IDX, INDIRECT, MRG_RXBUF
    tx_chain = (v_guest(all_features, [0x10000]) + v_setup(1, TX_RING) +
                v_desc(1, 0, 0x8000, 12, F_NEXT, 1) +
                v_desc(1, 1, 0x8100, 60, 0) + v_avail(1, 0) +
                v_notify(1, 0) + v_tx() + v_notify(1, 2) +
                u8(V_EVENT) + u8(1) + u16(0) + u16(1) + v_tx())
    indirect = (v_guest(all_features, [0x10000]) + v_setup(1, TX_RING) +
                v_desc(1, 0, 0xa000, 32, F_INDIRECT) +
                v_desc_at(0xa000, 0x8000, 12, F_NEXT, 1) +
                v_desc_at(0xa010, 0x8100, 1502, 0) +
                v_avail(1, 0) + v_tx())
    rx = v_guest(all_features, [0x10000]) + v_setup(0, RX_RING)
    for i in range(4):
        rx += v_desc(0, i, 0x9000 + i * 0x400, 0x400, F_WRITE)
        rx += v_avail(0, i)
    rx += (v_rx(1500, 2) + u8(V_EVENT) + u8(0) + u16(0) + u16(2) +
           v_rx(60) + v_notify(0, 2) + u8(V_UNPUSH) + u8(0) + u8(1))
    # Two adjacent 32 KiB regions; the frame's buffer crosses the border.
    split = (v_guest(0, [0x8000, 0x8000]) + v_setup(1, TX_RING) +
             v_desc(1, 0, 0x7ff0, 0x40, 0) + v_avail(1, 0) + v_tx())
    loop = (v_guest(all_features, [0x10000]) + v_setup(1, TX_RING) +
            v_desc(1, 0, 0x8000, 12, F_NEXT, 1) +
            v_desc(1, 1, 0x8100, 60, F_NEXT, 0) + v_avail(1, 0) + v_tx() +
            u8(V_RESET) + u8(1) + v_setup(1, TX_RING) +
            v_desc(1, 1, 0x8100, 60, 0) + v_avail(1, 0) + v_tx())
    # A 1024-entry ring whose chain has 1024 descriptors, each crossing
    # the border of two adjacent regions: more iovec pieces than an
    # element holds.
    pieces = (v_guest(0, [0x8000, 0x8000]) +
              v_setup(1, (0x0000, 0x4000, 0x5000), 1024) +
              u8(V_FILL) + u8(1) + u16(0) + u16(1024) + v_addr(0x7ff8) +
              u32(16) + u16(F_NEXT) + v_avail(1, 0) + v_tx())
    return {'tx-chain': tx_chain, 'indirect-chain': indirect,
            'rx-mergeable': rx, 'two-regions': split, 'desc-loop': loop,
            'too-many-pieces': pieces}


# ---- fuzz-vhost-user-msg (tests/fuzz/fuzz-vhost-user-msg.c) -------------
M_MSG, M_WRITE, M_TX, M_RX, M_CLOSE = range(5)
(GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE) = (
    1, 2, 3, 4, 5)
(SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE,
 SET_VRING_KICK, SET_VRING_CALL) = range(8, 14)
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES = 15, 16
GET_QUEUE_NUM, SET_VRING_ENABLE = 17, 18
FEATURES = (1 << 15) | (1 << 28) | (1 << 29) | (1 << 30) | (1 << 32)
PROTOCOL_FEATURES = (1 << 0) | (1 << 3)
NEED_REPLY = 0x08
FD_MEMFD0, FD_EVENTFD = 0, 2


def m_msg(request: int, payload: bytes = b'', fds: List[int] = [],
          flags: int = 0) -> bytes:
    return (u8(M_MSG) + u8(request) + u8(flags) + u16(len(payload)) +
            payload + u8(len(fds)) + b''.join(u8(k) for k in fds))


def m_write(offset: int, data: bytes) -> bytes:
    return u8(M_WRITE) + u8(0) + u32(offset) + u8(len(data)) + data


def m_vring(index: int, ring: tuple, num: int = RING_NUM) -> bytes:
    desc_o, avail_o, used_o = (UVA_BASE + o for o in ring)
    return (m_msg(SET_VRING_NUM, u32(index) + u32(num)) +
            m_msg(SET_VRING_ADDR, u32(index) + u32(0) + u64(desc_o) +
                  u64(used_o) + u64(avail_o) + u64(0)) +
            m_msg(SET_VRING_BASE, u32(index) + u32(0)) +
            m_msg(SET_VRING_KICK, u64(index), [FD_EVENTFD]) +
            m_msg(SET_VRING_CALL, u64(index), [FD_EVENTFD]) +
            m_msg(SET_VRING_ENABLE, u32(index) + u32(1)))


def m_setup(features: int = FEATURES) -> bytes:
    """What QEMU sends: features, owner, one 64 KiB region, both rings."""
    region = u64(0) + u64(0x10000) + u64(UVA_BASE) + u64(0)
    return (u8(0) + u8(15) +            # one memfd of 16 pages
            m_msg(GET_FEATURES) + m_msg(SET_FEATURES, u64(features)) +
            m_msg(GET_PROTOCOL_FEATURES) +
            m_msg(SET_PROTOCOL_FEATURES, u64(PROTOCOL_FEATURES)) +
            m_msg(SET_OWNER) + m_msg(GET_QUEUE_NUM) +
            m_msg(SET_MEM_TABLE, u32(1) + u32(0) + region, [FD_MEMFD0],
                  NEED_REPLY) +
            m_vring(0, RX_RING) + m_vring(1, TX_RING))


def m_avail(ring: tuple, idx: int, head: int) -> bytes:
    """Guest writes avail->ring[idx] = head, then avail->idx = idx + 1."""
    return (m_write(ring[1] + 4 + 2 * idx, u16(head)) +
            m_write(ring[1] + 2, u16(idx + 1)))


def msg_seeds() -> Dict[str, bytes]:
    tx = (m_setup() +
          m_write(TX_RING[0], desc(0x8000, 12, F_NEXT, 1) +
                  desc(0x8100, 60, 0, 0)) +
          m_avail(TX_RING, 0, 0) + u8(M_TX) + u8(7) + u8(255) +
          m_msg(GET_VRING_BASE, u32(1) + u32(0)))
    indirect = (m_setup() +
                m_write(TX_RING[0], desc(0xa000, 32, F_INDIRECT, 0)) +
                m_write(0xa000, desc(0x8000, 12, F_NEXT, 1) +
                        desc(0x8100, 1502, 0, 0)) +
                m_avail(TX_RING, 0, 0) + u8(M_TX) + u8(7) + u8(255))
    rx = m_setup()
    for i in range(4):
        rx += m_write(RX_RING[0] + 16 * i,
                      desc(0x9000 + i * 0x400, 0x400, F_WRITE, 0))
        rx += m_avail(RX_RING, i, i)
    rx += (u8(M_RX) + u16(1500) + u8(2) + u8(M_RX) + u16(60) + u8(1) +
           m_msg(GET_VRING_BASE, u32(0) + u32(0)))
    reset = (m_setup() + m_msg(RESET_OWNER) + m_msg(SET_OWNER) +
             u8(M_CLOSE) + m_setup()[2:])
    bad = (m_setup() + m_msg(SET_MEM_TABLE, u32(9) + u32(0), [FD_MEMFD0]) +
           m_msg(42, b'\0' * 8))
    return {'setup-tx': tx, 'setup-indirect': indirect, 'setup-rx': rx,
            'reset-reconnect': reset, 'bad-requests': bad}


# ---- fuzz-stream, fuzz-dgram, fuzz-nic-stub ------------------------------

def eth(length: int, seq: int = 0) -> bytes:
    """An Ethernet frame of @length bytes: unicast, made-up type, counter."""
    head = bytes.fromhex('525400000002525400000001') + b'\x88\xb5'
    body = bytes((seq + i) & 0xff for i in range(max(0, length - 14)))
    return (head + body)[:length]


def rec(frame: bytes, length: int = -1) -> bytes:
    """QEMU's stream record: 4-byte big-endian length, then the frame."""
    return struct.pack('>I', len(frame) if length < 0 else length) + frame


S_READ, S_ERROR, S_TAKE, S_SEND, S_WRITE = range(5)


def s_read(data: bytes) -> bytes:
    return u8(S_READ) + u16(len(data)) + data


def stream_seeds() -> Dict[str, bytes]:
    two = rec(eth(60, 1)) + rec(eth(42, 2))
    big = rec(eth(1514, 3))
    return {
        'two-frames-one-read': s_read(two) + u8(S_TAKE) + u8(255),
        'frame-in-three-reads': (s_read(big[:3]) + s_read(big[3:700]) +
                                 s_read(big[700:]) + u8(S_TAKE) + u8(255)),
        'zero-length': (s_read(rec(b'') + rec(eth(60, 4)) + rec(b'')) +
                        u8(S_TAKE) + u8(9)),
        'oversize-then-new-conn': (s_read(rec(eth(60, 5))) +
                                   s_read(struct.pack('>I', 69633) + b'xx') +
                                   s_read(rec(eth(64, 6))) +
                                   u8(S_TAKE) + u8(255)),
        'nic-refuses': (u8(S_TAKE) + u8(0) + s_read(two + big) +
                        u8(S_ERROR) + u8(0) + u8(S_TAKE) + u8(1) +
                        u8(S_TAKE) + u8(255)),
        'eof-mid-frame': s_read(big[:100]) + u8(S_ERROR) + u8(3),
        'reset': s_read(two) + u8(S_ERROR) + u8(2) + s_read(two),
        'send-short-writes': (u8(S_WRITE) + u8(0) + u16(10) +
                              u8(S_SEND) + u16(60) + u8(0x11) +
                              u8(S_SEND) + u16(1514) + u8(0x22) +
                              u8(S_WRITE) + u8(1) + u16(0) +
                              u8(S_SEND) + u16(65535) + u8(0x33) +
                              u8(S_WRITE) + u8(3) + u16(0) +
                              u8(S_WRITE) + u8(2) + u16(0) +
                              u8(S_SEND) + u16(42) + u8(0x44)),
    }


D_RECV, D_ERROR, D_TAKE, D_SEND, D_WRITE = range(5)


def d_recv(*dgrams: tuple) -> bytes:
    """(data or a length above 65536, source) datagrams in one batch."""
    out = u8(D_RECV) + u8(len(dgrams) - 1)
    for data, source in dgrams:
        if isinstance(data, int):
            out += u16(data) + u8(source)
        else:
            out += u16(len(data)) + u8(source) + data
    return out


def dgram_seeds() -> Dict[str, bytes]:
    batch = d_recv(*[(eth(60 + i, i), 1) for i in range(33)])
    odd = d_recv((eth(60, 1), 1), (b'', 1), (eth(1514, 2), 2),
                 (70000 & 0xffff, 1), (eth(42, 3), 0))
    seeds = {}
    for kind, name in ((0, 'fd'), (1, 'udp'), (2, 'mcast')):
        seeds[name + '-batch'] = u8(kind) + batch + u8(D_TAKE) + u8(255)
        seeds[name + '-odd'] = (u8(kind) + u8(D_TAKE) + u8(0) + odd +
                                u8(D_ERROR) + u8(1) + u8(D_TAKE) + u8(2) +
                                u8(D_TAKE) + u8(255))
        seeds[name + '-send'] = (u8(kind) + u8(D_SEND) + u16(60) + u8(1) +
                                 u8(D_WRITE) + u8(1) + u8(0) +
                                 u8(D_SEND) + u16(60) + u8(2) +
                                 u8(D_SEND) + u16(1514) + u8(3) +
                                 u8(D_WRITE) + u8(2) + u8(0) +
                                 u8(D_WRITE) + u8(0) + u8(1) +
                                 u8(D_SEND) + u16(60) + u8(4))
    return seeds


N_FRAME, N_TMPL, N_TAKE, N_LOOP = range(4)


def n_tmpl(kind: int, off: int = 0, tail: bytes = b'',
           newlen: int = 0) -> bytes:
    return u8(N_TMPL) + u8(kind) + u8(off) + u8(len(tail)) + u8(newlen) + tail


def nic_stub_seeds() -> Dict[str, bytes]:
    every = b''.join(n_tmpl(k) for k in range(5))
    return {
        'both-every-request': u8(3) + every + u8(N_LOOP) + u8(4),
        'ipv4-only': u8(1) + every,
        'ipv6-only-noprefix': u8(6) + every,
        'replies-refused': (u8(3) + u8(N_TAKE) + u8(0) + every * 60 +
                            u8(N_LOOP) + u8(8) + u8(N_TAKE) + u8(3)),
        'truncated': u8(3) + b''.join(n_tmpl(k, newlen=0x80 | (20 + 7 * k))
                                      for k in range(5)),
        'bad-checksum': u8(3) + n_tmpl(1, 36, b'\xff') + n_tmpl(4, 56, b'\0'),
        'raw-garbage': (u8(3) + u8(N_FRAME) + u16(13) + eth(13) +
                        u8(N_FRAME) + u16(60) + eth(60) +
                        u8(N_FRAME) + u16(0)),
    }


H_SEND, H_RAW, H_TICK, H_LINK = range(4)


def h_send(port: int, dst: int, src: int, tag: int = 0, etype: int = 0x0800,
           payload: bytes = b'x' * 46, pieces: int = 0) -> bytes:
    """A frame from @port; MACs and tag as selectors (fuzz-hub.c)."""
    return (u8(H_SEND) + u8(port) + u8(dst) + u8(src) + u8(tag) +
            u8(etype >> 8) + u8(etype & 0xff) + u8(len(payload)) +
            u8(pieces) + payload)


def hub_seeds() -> Dict[str, bytes]:
    # learning on, age 1 s (how=2); 4 ports: access 1, access 1, trunk
    # native 1, access 2.
    ports = u8(2) + u8(2) + u8(0) + u8(0) + u8(1) + u8(2)
    learn = (h_send(0, 16, 1) + h_send(1, 1, 2) + h_send(0, 2, 1) +
             h_send(2, 3, 4, tag=3) + h_send(3, 4, 3))
    return {
        'learn-and-unicast': ports + learn,
        'aging': (ports + learn + u8(H_TICK) + u16(999) + h_send(1, 1, 2) +
                  u8(H_TICK) + u16(1001) + h_send(1, 1, 2)),
        'trunk-tags': (u8(0) + u8(1) + u8(1) + u8(1) + u8(5) +
                       h_send(0, 16, 1, tag=3) + h_send(1, 16, 2, tag=1) +
                       h_send(2, 16, 3) + h_send(0, 16, 1, tag=6) +
                       h_send(0, 16, 1, tag=5) + h_send(0, 16, 1, tag=4)),
        'access-tagged': ports + h_send(0, 16, 1, tag=2),
        'learning-off': (u8(1) + u8(1) + u8(0) + u8(0) + u8(1) +
                         h_send(0, 16, 1) + h_send(1, 1, 2) + h_send(2, 1, 3)),
        'link-down': (ports + learn + u8(H_LINK) + u8(0) + u8(0) +
                      h_send(1, 1, 2) + u8(H_LINK) + u8(0) + u8(1) +
                      h_send(1, 1, 2)),
        'pieces-and-runts': (ports + h_send(0, 16, 1, pieces=79,
                                            payload=bytes(200)) +
                             h_send(0, 16, 1, pieces=3) +
                             u8(H_RAW) + u8(1) + u8(13) + bytes(13) +
                             u8(H_RAW) + u8(1) + u8(17) + b'\xff' * 12 +
                             b'\x81\x00\x00\x02\x08'),
    }


L_RAW, L_TMPL, L_LOOP = range(3)


def l_tmpl(kind: int, off: int = 0, tail: bytes = b'', fix: int = 1) -> bytes:
    return u8(L_TMPL) + u8(kind) + u8(off) + u8(len(tail)) + tail + u8(fix)


def slirp_seeds() -> Dict[str, bytes]:
    every = b''.join(l_tmpl(k) for k in range(9)) + u8(L_LOOP) + u8(7)
    return {
        'every-template': u8(0) + every,
        'every-template-restricted': u8(1) + every,
        'ipv4-only': (u8(2) + l_tmpl(0) + l_tmpl(2) + l_tmpl(6) + l_tmpl(8) +
                      u8(L_LOOP) + u8(7)),
        'dhcp-then-tcp': (u8(0) + l_tmpl(1) + u8(L_LOOP) + u8(7) + l_tmpl(0) +
                          l_tmpl(4) + u8(L_LOOP) + u8(7) + l_tmpl(5) +
                          u8(L_LOOP) + u8(7)),
        'bad-checksums': (u8(0) + l_tmpl(2, 30, b'\xff', 0) +
                          l_tmpl(4, 40, b'\0\0', 0) + l_tmpl(6, 20, b'\x60', 0)),
        'raw': (u8(0) + u8(L_RAW) + u16(13) + bytes(13) + u8(L_RAW) + u16(60) +
                bytes(60)),
    }


X_RECV, X_TAKE, X_SEND, X_WRITE, X_CLOCK, X_FDB = range(6)


def x_recv(*dgrams: tuple) -> bytes:
    """(data, source 0-3, hint[, gso]) messages in one batch, for
    fuzz-vxlan; hint bit 0 writes a valid VNI 42 header, bit 1 sends the
    message coalesced (a UDP_GRO control message saying gso), bit 2 then
    writes a valid header at each gso-byte segment."""
    out = u8(X_RECV) + u8(len(dgrams) - 1)
    for data, source, hint, *gso in dgrams:
        out += u16(len(data)) + u8(source) + u8(hint)
        if hint & 2:
            out += u16(gso[0])
        out += data
    return out


def vxlan_seeds() -> Dict[str, bytes]:
    hdr = bytes.fromhex('0800000000002a00')
    good = [(hdr + eth(60 + i, i)[:6] + bytes([0x52, 0x54, 0, 0, 0, i]) +
             eth(60 + i, i)[12:], i % 4, 0) for i in range(20)]
    bad = [(b'\x08\0\0\0', 0, 0),                       # short
           (bytes.fromhex('0c00000000002a00') + eth(60), 1, 0),  # flags
           (bytes.fromhex('0800000000002b00') + eth(60), 2, 0),  # VNI 43
           (hdr + eth(10), 3, 0),                          # runt
           (bytes.fromhex('0800000000002a01') + eth(60), 0, 0),  # reserved
           (eth(70, 9), 1, 1)]                             # hint: made valid
    # Coalesced (UDP GRO): 68-byte datagrams, one with flags 0x0c, a runt
    # last; then sizes the kernel never says: 0, the whole message, more.
    seg = [hdr + eth(60, i) for i in range(6)]
    seg[2] = bytes.fromhex('0c00000000002a00') + eth(60, 2)
    gro = [(b''.join(seg) + hdr + eth(5), 0, 2, 68),
           (b''.join(seg[:2]), 1, 2, 0),
           (b''.join(seg[:1]), 2, 2, 68),
           (b''.join(seg[:1]), 3, 2, 60000),
           (bytes(40), 0, 7, 8)]                       # headers made valid
    return {
        'gro': (u8(X_TAKE) + u8(3) + x_recv(*gro) + u8(X_TAKE) + u8(1) +
                u8(X_TAKE) + u8(255)),
        'batch': x_recv(*good) + u8(X_TAKE) + u8(255),
        'bad': u8(X_TAKE) + u8(0) + x_recv(*bad) + u8(X_TAKE) + u8(255),
        'send': (x_recv(*good[:4]) + u8(X_TAKE) + u8(255) +
                 u8(X_SEND) + u16(60) + u8(0) + u8(1) +
                 u8(X_SEND) + u16(1514) + u8(0x81) + u8(2) +
                 u8(X_SEND) + u16(60) + u8(4) + u8(3) +
                 u8(X_WRITE) + u8(2) + u8(X_SEND) + u16(1514) + u8(1) +
                 u8(4) + u8(X_WRITE) + u8(0) +
                 u8(X_CLOCK) + u16(2000) + u8(X_SEND) + u16(60) + u8(0) +
                 u8(5)),
        'fdb': (u8(X_FDB) + u8(0) + u8(0) + u8(3) +     # append .5
                u8(X_FDB) + u8(0) + u8(1) + u8(2) +     # static unicast
                u8(X_FDB) + u8(0) + u8(2) + u8(1) +     # multicast: refused
                u8(X_SEND) + u16(60) + u8(0x80) + u8(6) +
                u8(X_FDB) + u8(1) + u8(0) + u8(3) +     # del the append
                u8(X_FDB) + u8(3) + u8(1) + u8(0) +     # del unicast
                u8(X_FDB) + u8(1) + u8(4) + u8(0)),     # bad MAC
    }


def write_corpus(target: str, seeds: Dict[str, bytes]) -> None:
    out = os.path.join(HERE, 'corpus', target)
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
        print(f'corpus/{target}/{name}: {len(data)} bytes')


def main() -> int:
    write_corpus('fuzz-virtq', virtq_seeds())
    write_corpus('fuzz-vhost-user-msg', msg_seeds())
    write_corpus('fuzz-stream', stream_seeds())
    write_corpus('fuzz-dgram', dgram_seeds())
    write_corpus('fuzz-nic-stub', nic_stub_seeds())
    write_corpus('fuzz-hub', hub_seeds())
    write_corpus('fuzz-slirp', slirp_seeds())
    write_corpus('fuzz-vxlan', vxlan_seeds())
    return 0


if __name__ == '__main__':
    sys.exit(main())
