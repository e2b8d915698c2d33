#!/usr/bin/env python3
"""Hostile vhost-user frontends through vmwire's real socket.

Each case gets a vmwire of its own, running

    -netdev vhost-user,id=v0,addr.type=unix,addr.path=D/v0.sock   (the bad one)
    -netdev vhost-user,id=v1,addr.type=unix,addr.path=D/v1.sock   (a good one)
    -netdev hubport,id=p0,hubid=0,netdev=v0   (and p1 for v1)
    -netdev hubport,id=hs,hubid=0 -device nic-stub,...,ip=10.0.2.100/24

A good frontend (vmwire_test.vhost_user) is attached to v1 first; then a
frontend on v0 misbehaves:

  * Protocol faults (the connection is closed at once, one log line
    "vmwire: v0: vhost-user: ...", `resets` of v0 counts 1): a payload
    shorter than its request's, a size field over the largest payload,
    unknown and unsupported requests, a bad version in the flags, fds on a
    message that takes none, more fds than a message may carry, features
    never offered; memory tables with a region of size 0, overlapping
    regions, an mmap offset beyond the fd's size, a region larger than its
    fd, no fd, 9 regions, a wrapping address; ring sizes that are not a
    power of two, over 1024 or 0; a second queue pair (vring 2 and 3).
  * Rings outside memory or misaligned (SET_VRING_ADDR), or in the part of
    a region that lies beyond the end of its fd (touching it would be
    SIGBUS): refused, as a closed connection or as a broken ring, counted
    once.
  * Malformed rings (the connection stays, the ring is broken: one line
    "vmwire: v0: vhost-user: ... ring broken: <reason>; stopped until
    reset", `resets` 1, more bad kicks log and count nothing more, no frame
    from it reaches anybody): TX descriptors outside memory, running past
    its end, wrapping; a descriptor loop; a next index beyond the ring;
    indirect tables nested, of a length not a multiple of 16, in a loop,
    outside memory; an avail index more than the ring size ahead; an RX
    buffer outside memory.  GET_VRING_BASE (every third case RESET_OWNER)
    and setting the rings up again, or reconnecting, makes v0 work again.
  * TX frames that are not frames (shorter than the 12-byte header, the
    header alone, over NET_BUFSIZE): dropped and counted (dropped,
    oversized), the ring goes on.
  * Disconnects in the middle of a header and of a payload (with fds); a
    frontend that sends requests and never reads the replies (vmwire stays
    responsive).
  * A frontend that never posts a receive buffer nor kicks: frames to it
    queue and are then dropped and counted; the good frontend's flood and
    pings are never held up; once it posts buffers it gets what was queued.

After each case: vmwire still runs and answers QMP, the good frontend
pings the stub, a new frontend on v0 works.  At the end SIGTERM must give
exit status 0 and no sanitizer report, for every case's vmwire.
VU_FAULTS_ONLY=REGEX runs only the cases whose name matches.
"""

import os
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import TAP, VmwireRuns, tempdir  # noqa: E402
from vmwire_test import vhost_user as vu  # noqa: E402
from vhostpeers import (BROADCAST, VuRig, describe, eth,  # noqa: E402
                        ip_of, mac, numbered, ping_stub, secs, stub_device,
                        take, vhost_user_netdev)

BAD_MAC = mac(66)
GOOD_MAC = mac(1)
# The reason a connection is closed: one line (net/vhost-user.c's wording).
LINE = r'^vmwire: v0: vhost-user: (.*); closing the connection$'
BROKEN = r'^vmwire: v0: vhost-user: .*ring broken: .*; stopped until reset$'


def rig_args(d):
    return (vhost_user_netdev('v0', os.path.join(d, 'v0.sock')) +
            vhost_user_netdev('v1', os.path.join(d, 'v1.sock')) +
            ['-netdev', 'hubport,id=p0,hubid=0,netdev=v0',
             '-netdev', 'hubport,id=p1,hubid=0,netdev=v1',
             '-netdev', 'hubport,id=hs,hubid=0'] + stub_device('hs'))


def q64(v):
    return struct.pack('<Q', v)


def vring_state(index, num):
    return struct.pack('<II', index, num)


def region(gpa, size, uva, offset=0):
    return vu.Region(gpa, size, uva, offset)


# --- protocol faults: fe is connected, nothing sent yet ----------------------

def negotiated(fe):
    """GET_FEATURES .. SET_FEATURES as QEMU does them."""
    fe.negotiate()


def mem_table(regions, fds=None):
    def act(fe):
        negotiated(fe)
        fe.send_msg(vu.SET_MEM_TABLE, fe.mem_table_payload(
            [r if isinstance(r, vu.Region) else r(fe) for r in regions]),
            fds=[fe.mem.fd] * len(regions) if fds is None else fds(fe))
    return act


def after_mem(send):
    def act(fe):
        negotiated(fe)
        fe.set_mem_table()
        send(fe)
    return act


def ring_addrs(desc=None, used=None, avail=None, index=vu.TX):
    """SET_VRING_NUM/BASE, then SET_VRING_ADDR with some addresses
    replaced (functions of fe), then the kick that starts the ring."""
    def act(fe):
        negotiated(fe)
        fe.set_mem_table()
        ring = fe.rings[index]
        good = (fe.mem.uva(ring.desc), fe.mem.uva(ring.used),
                fe.mem.uva(ring.avail))
        addrs = tuple(g if f is None else f(fe)
                      for g, f in zip(good, (desc, used, avail)))
        fe.send_msg(vu.SET_VRING_NUM, vring_state(index, ring.num))
        fe.send_msg(vu.SET_VRING_BASE, vring_state(index, 0))
        fe.send_msg(vu.SET_VRING_ADDR, fe.vring_addr_payload(index, *addrs))
        fe.send_msg(vu.SET_VRING_KICK, q64(index), fds=[ring.kick_fd])
        fe.send_msg(vu.SET_VRING_CALL, q64(index), fds=[ring.call_fd])
        fe.send_msg(vu.SET_VRING_ENABLE, vring_state(index, 1))
        ring.kick()
    return act


def ring_past_fd(fe):
    """A memory table whose one region claims 1 MiB more than its fd
    holds, and the TX descriptor table put in that extra part: touching
    it would fault (SIGBUS), so vmwire must refuse the table or the ring."""
    negotiated(fe)
    size = fe.mem.size
    fe.send_msg(vu.SET_MEM_TABLE, fe.mem_table_payload(
        [region(0, size + (1 << 20), vu.UVA_BASE)]), fds=[fe.mem.fd])
    ring = fe.rings[vu.TX]
    past = vu.UVA_BASE + size + 4096
    fe.send_msg(vu.SET_VRING_NUM, vring_state(vu.TX, ring.num))
    fe.send_msg(vu.SET_VRING_BASE, vring_state(vu.TX, 0))
    fe.send_msg(vu.SET_VRING_ADDR, fe.vring_addr_payload(
        vu.TX, past, past + 8192, past + 4096))
    fe.send_msg(vu.SET_VRING_KICK, q64(vu.TX), fds=[ring.kick_fd])
    fe.send_msg(vu.SET_VRING_CALL, q64(vu.TX), fds=[ring.call_fd])
    fe.send_msg(vu.SET_VRING_ENABLE, vring_state(vu.TX, 1))
    ring.kick()


def end_of_memory(fe):
    return vu.UVA_BASE + fe.mem.size


PROTOCOL_FAULTS = [
    ('a payload shorter than its request\'s (SET_FEATURES, 4 bytes)',
     lambda fe: fe.send_msg(vu.SET_FEATURES, b'\0' * 4)),
    ('SET_VRING_NUM with a 12-byte payload',
     lambda fe: fe.send_msg(vu.SET_VRING_NUM, b'\0' * 12)),
    ('a size field over the largest payload (0x10000000)',
     lambda fe: fe.send_msg(vu.GET_FEATURES, size=0x10000000)),
    ('a size field of 0xffffffff',
     lambda fe: fe.send_raw(vu.HEADER.pack(vu.SET_OWNER, vu.FLAG_VERSION,
                                           0xffffffff) + b'\0' * 64)),
    ('an unknown request (999)', lambda fe: fe.send_msg(999)),
    ('request 0', lambda fe: fe.send_msg(0)),
    ('an unsupported request (SET_LOG_BASE)',
     lambda fe: fe.send_msg(vu.SET_LOG_BASE, b'\0' * 16,
                            fds=[fe.mem.fd])),
    ('a bad version in the flags (2)',
     lambda fe: fe.send_msg(vu.GET_FEATURES, flags=0x2)),
    ('an fd on a message that takes none (SET_OWNER)',
     lambda fe: fe.send_msg(vu.SET_OWNER, fds=[fe.mem.fd])),
    ('too many fds (SET_MEM_TABLE, 1 region, 12 fds)',
     mem_table([lambda fe: fe.mem.region()],
               fds=lambda fe: [fe.mem.fd] * 12)),
    ('features never offered (SET_FEATURES with bit 0, CSUM)',
     lambda fe: (fe.get_u64(vu.GET_FEATURES),
                 fe.send_msg(vu.SET_FEATURES,
                             q64(vu.OFFERED_FEATURES | 1)))),
    ('a memory region of size 0',
     mem_table([region(0, 0, vu.UVA_BASE)])),
    ('overlapping memory regions',
     mem_table([region(0, 1 << 20, vu.UVA_BASE),
                region(1 << 19, 1 << 20, vu.UVA_BASE + (4 << 20))])),
    ('a memory region whose mmap offset is beyond its fd\'s size',
     mem_table([lambda fe: region(0, 1 << 20, vu.UVA_BASE,
                                  fe.mem.size + (1 << 20))])),
    ('a memory region larger than its fd',
     mem_table([lambda fe: region(0, fe.mem.size + (64 << 20),
                                  vu.UVA_BASE)])),
    ('a memory table without its fd',
     mem_table([lambda fe: fe.mem.region()], fds=lambda fe: [])),
    ('a memory table of 9 regions',
     mem_table([region(i << 20, 1 << 20, vu.UVA_BASE + (i << 20), i << 20)
                for i in range(9)])),
    ('a memory region whose guest address wraps',
     mem_table([region(0xfffffffffff00000, 1 << 21, vu.UVA_BASE)])),
    ('a ring size that is not a power of two (100)',
     after_mem(lambda fe: fe.send_msg(vu.SET_VRING_NUM,
                                      vring_state(vu.TX, 100)))),
    ('a ring size over 1024 (2048)',
     after_mem(lambda fe: fe.send_msg(vu.SET_VRING_NUM,
                                      vring_state(vu.TX, 2048)))),
    ('a ring size of 0',
     after_mem(lambda fe: fe.send_msg(vu.SET_VRING_NUM,
                                      vring_state(vu.RX, 0)))),
    ('a second queue pair: SET_VRING_NUM for vring 2',
     after_mem(lambda fe: fe.send_msg(vu.SET_VRING_NUM,
                                      vring_state(2, 256)))),
    ('a second queue pair: SET_VRING_KICK for vring 3',
     after_mem(lambda fe: fe.send_msg(vu.SET_VRING_KICK, q64(3),
                                      fds=[fe.rings[0].kick_fd]))),
]

# Refused at SET_VRING_ADDR or when the ring starts: either way counted.
RING_ADDR_FAULTS = [
    ('a descriptor table outside memory',
     ring_addrs(desc=lambda fe: end_of_memory(fe) + 4096)),
    ('a used ring running past the end of memory',
     ring_addrs(used=lambda fe: end_of_memory(fe) - 64)),
    ('an avail ring at an address no region holds',
     ring_addrs(avail=lambda fe: 0x1000)),
    ('a misaligned descriptor table',
     ring_addrs(desc=lambda fe: vu.UVA_BASE + fe.rings[vu.TX].desc + 8)),
    ('rings in a region\'s part beyond its fd\'s end', ring_past_fd),
    ('an RX used ring outside memory',
     ring_addrs(used=lambda fe: end_of_memory(fe) + (1 << 30),
                index=vu.RX)),
]


# --- malformed rings: fe is started; each returns nothing --------------------

def tx_chain(fe, descs, head=0):
    """Write descriptors [(addr, len, flags, next)] from index 0 (addr None:
    the slot of that descriptor), publish head and kick."""
    ring = fe.rings[vu.TX]
    for i, (addr, length, flags, nxt) in enumerate(descs):
        if addr is None:
            addr = ring.slot(i)
            fe.mem.write(addr, vu.vnet_header() +
                         eth(BROADCAST, BAD_MAC, b'x' * 50))
        ring.write_desc(i, addr, length, flags, nxt)
    ring.free = [i for i in ring.free if i >= len(descs)]
    ring.publish(head)
    ring.kick()


def indirect(fe, entries, table_len=None):
    """An indirect descriptor (index 0) whose table is entries, written in
    the slot of descriptor 1; data in the slots of 2, 3, ..."""
    ring = fe.rings[vu.TX]
    table = b''
    for k, (addr, length, flags, nxt) in enumerate(entries):
        if addr is None:
            addr = ring.slot(2 + k)
            fe.mem.write(addr, vu.vnet_header() +
                         eth(BROADCAST, BAD_MAC, b'y' * 50))
        table += vu.DESC.pack(addr, length, flags, nxt)
    fe.mem.write(ring.slot(1), table)
    tx_chain(fe, [(ring.slot(1), len(table) if table_len is None
                   else table_len, vu.DESC_INDIRECT, 0)])


FRAME_LEN = vu.VNET_HDR_LEN + 64
N = vu.DESC_NEXT

RING_FAULTS = [
    ('TX descriptor address outside memory',
     lambda fe: tx_chain(fe, [(fe.mem.size + 4096, FRAME_LEN, 0, 0)])),
    ('TX descriptor running past the end of memory',
     lambda fe: tx_chain(fe, [(fe.mem.size - 32, FRAME_LEN, 0, 0)])),
    ('TX descriptor whose address + length wraps',
     lambda fe: tx_chain(fe, [(2 ** 64 - 16, FRAME_LEN, 0, 0)])),
    ('TX descriptor of length 0xffffffff',
     lambda fe: tx_chain(fe, [(None, 0xffffffff, 0, 0)])),
    ('a descriptor loop (0 -> 1 -> 0)',
     lambda fe: tx_chain(fe, [(None, FRAME_LEN, N, 1),
                              (None, FRAME_LEN, N, 0)])),
    ('a descriptor pointing at itself',
     lambda fe: tx_chain(fe, [(None, FRAME_LEN, N, 0)])),
    ('a next index beyond the ring (256 of 256)',
     lambda fe: tx_chain(fe, [(None, FRAME_LEN, N, 256)])),
    ('an avail ring entry beyond the ring (head 300)',
     lambda fe: tx_chain(fe, [(None, FRAME_LEN, 0, 0)], head=300)),
    ('indirect in indirect',
     lambda fe: indirect(fe, [(None, FRAME_LEN, vu.DESC_INDIRECT, 0)])),
    ('an indirect table 24 bytes long',
     lambda fe: indirect(fe, [(None, FRAME_LEN, 0, 0)] * 2, table_len=24)),
    ('a loop inside an indirect table',
     lambda fe: indirect(fe, [(None, FRAME_LEN, N, 1),
                              (None, FRAME_LEN, N, 0)])),
    ('an indirect table outside memory',
     lambda fe: tx_chain(fe, [(fe.mem.size + 8192, 32,
                               vu.DESC_INDIRECT, 0)])),
    ('an avail index jump (ring size + 5 ahead)',
     lambda fe: (fe.rings[vu.TX].set_avail_idx(fe.num + 5),
                 fe.rings[vu.TX].kick())),
]


def rx_outside(fe, rig, good):
    """An RX buffer outside memory, after the good ones fe posted; the
    good frontend's broadcasts make vmwire fill those, then reach it."""
    ring = fe.rings[vu.RX]
    i = ring.free.pop(0)
    ring.write_desc(i, fe.mem.size + (1 << 20), 2048, vu.DESC_WRITE, 0)
    ring.chains[i] = [i]
    ring.publish(i)
    ring.kick()
    good.send_frames([eth(BROADCAST, GOOD_MAC, b'who gets this? %d' % k)
                      for k in range(ring.num + 10)])


# --- checks ------------------------------------------------------------------

class Case:
    """One case's vmwire (rig) with the good frontend on v1."""

    def __init__(self, t, rig):
        self.t = t
        self.rig = rig
        self.good = rig.frontend('v1.sock')
        ok, why = ping_stub(self.good, GOOD_MAC, ip_of(1))
        if not ok:
            raise RuntimeError('the good frontend does not work: ' + why)
        self.seq = 1

    def resets(self):
        return self.rig.client('v0').get('resets')

    def others_fine(self, name):
        """vmwire runs, answers QMP, the good frontend pings the stub."""
        self.seq += 1
        ok, why = ping_stub(self.good, GOOD_MAC, ip_of(1), seq=self.seq)
        alive = self.rig.v.proc.poll() is None
        return self.t.ok(alive and ok, '%s: vmwire stays up, the good '
                         'frontend still pings the stub' % name, diag=why)

    def v0_works(self, name):
        """A fresh frontend on v0 works (the link comes up, it pings), once
        vmwire has seen the last one go (v0 takes one at a time)."""
        self.rig.wait_clients(lambda c: not c['v0']['link-up'])
        fe = self.rig.frontend('v0.sock')
        ok, why = ping_stub(fe, BAD_MAC, ip_of(2), seq=50)
        self.t.ok(ok, '%s: a new frontend on v0 works' % name, diag=why)
        fe.close()


def protocol_case(t, rig, name, act, broken_ok=False):
    c = Case(t, rig)
    log_at = len(rig.v.log())
    fe = rig.connect('v0.sock')
    try:
        act(fe)
    except (OSError, vu.VhostUserError):
        pass                # vmwire may close before all is sent
    closed = fe.wait_closed(5)
    lines = rig.log_lines(LINE, log_at, wait=5 if closed else 0)
    resets = c.resets()
    broken = rig.log_lines(BROKEN, log_at)
    if broken_ok and not closed:
        t.ok(len(broken) == 1 and resets == 1,
             '%s: refused: the ring is broken, logged once, resets 1'
             % name, diag=lambda: rig.log_since(log_at))
    else:
        t.ok(closed and len(lines) == 1 and resets == 1,
             '%s: the connection is closed, one "vmwire: v0: vhost-user: ..." '
             'line, resets 1 (%s)' % (name, lines[:1]),
             diag=lambda: 'closed=%s resets=%s\n%s' % (
                 closed, resets, rig.log_since(log_at)))
    fe.close()
    c.others_fine(name)
    c.v0_works(name)


def ring_case(t, rig, name, act, reset_owner=False):
    c = Case(t, rig)
    fe = rig.frontend('v0.sock', rx=64)
    ok, why = ping_stub(fe, BAD_MAC, ip_of(2))
    if not ok:
        raise RuntimeError('v0 does not work before the fault: ' + why)
    fe.tx_done()
    c.good.recv_all(0.2)        # v0's ARP broadcast
    log_at = len(rig.v.log())
    if act is rx_outside:
        act(fe, rig, c.good)
    else:
        act(fe)
    line = rig.v.wait_log(BROKEN, secs(5), since=log_at)
    time.sleep(secs(0.2))
    t.ok(line and fe.is_open() and c.resets() == 1,
         '%s: "%s", the connection stays, resets 1'
         % (name, line and line.group(0)),
         diag=lambda: 'open=%s resets=%s\n%s' % (
             fe.is_open(), c.resets(), rig.log_since(log_at)))
    # More of the same: nothing more is logged or counted, nothing leaks.
    ring = fe.rings[vu.TX]
    ring.kick()
    fe.rings[vu.RX].kick()
    c.good.send_frame(eth(BROADCAST, GOOD_MAC, b'more'))
    stray = [f for f in c.good.recv_all(0.5) if f[6:12] == BAD_MAC]
    t.ok(len(rig.log_lines(BROKEN, log_at)) == 1 and c.resets() == 1 and
         not stray, '%s: more kicks: logged and counted once, no frame '
         'from the broken ring reaches anybody' % name,
         diag=lambda: '%s\n%s' % ([describe(f) for f in stray],
                                  rig.log_since(log_at)))
    c.others_fine(name)
    # GET_VRING_BASE (or RESET_OWNER) and a fresh set-up: v0 works again.
    how = 'RESET_OWNER' if reset_owner else 'GET_VRING_BASE'
    try:
        fe.restart_rings(reset_owner)
        fe.post_rx(64)
        ok, why = ping_stub(fe, BAD_MAC, ip_of(2), seq=7)
    except vu.VhostUserError as e:
        ok, why = False, str(e)
    t.ok(ok and c.resets() == 1, '%s: %s and the rings set up again: v0 '
         'works again' % (name, how), diag=why)
    fe.close()
    c.v0_works(name)


def mid_message(t, rig, name, data, fds):
    c = Case(t, rig)
    fe = rig.connect('v0.sock')
    fe.negotiate()
    fe.send_raw(data(fe), fds(fe))
    time.sleep(secs(0.1))
    fe.close()
    ev = rig.event('NETDEV_STREAM_DISCONNECTED')
    v0 = rig.wait_clients(lambda cl: not cl['v0']['link-up'])['v0']
    t.ok(ev and ev['data'] == {'netdev-id': 'v0'} and not v0['link-up'],
         '%s then EOF: NETDEV_STREAM_DISCONNECTED for v0, link down' % name,
         diag=lambda: '%r %r\n%s' % (ev, v0, rig.v.log()))
    c.others_fine(name)
    c.v0_works(name)


def frame_case(t, rig, name, frame_descs, counter):
    """A TX chain that is well formed as a ring but not a frame vmwire can
    send (too short, too long): that frame is dropped and counted on v0
    (counter: 'oversized' or 'dropped'), the ring goes on: the next frame
    arrives, nothing is logged as broken."""
    c = Case(t, rig)
    fe = rig.frontend('v0.sock', rx=64)
    ok, why = ping_stub(fe, BAD_MAC, ip_of(2))
    if not ok:
        raise RuntimeError('v0 does not work before the fault: ' + why)
    fe.tx_done()
    c.good.recv_all(0.2)
    before = rig.client('v0')
    log_at = len(rig.v.log())
    ring = fe.rings[vu.TX]
    pieces = frame_descs(fe)
    old = ring.avail_idx
    head = ring.add_chain([(p, 0) for p in pieces])
    ring.publish(head)
    ring.kick_if_needed(old)
    good_frame = eth(BROADCAST, BAD_MAC, b'after the bad one')
    fe.send_frame(good_frame)
    got = [f for f in take(c.good, 1) if f[6:12] == BAD_MAC]
    after = rig.client('v0')
    t.ok(got == [good_frame] and fe.tx_done(2) and
         after[counter] == before[counter] + 1 and
         after['tx-frames'] == before['tx-frames'] + 1 and
         not rig.log_lines(BROKEN, log_at),
         '%s: dropped and counted in v0\'s %s, the next frame arrives, the '
         'ring is not broken' % (name, counter),
         diag=lambda: '%s\nbefore %r\nafter %r\n%s' % (
             [describe(f) for f in got], before, after,
             rig.log_since(log_at)))
    c.others_fine(name)


def deaf(t, rig, name):
    """A frontend that sends 200000 GET_FEATURES and never reads a reply:
    vmwire must not block on its replies (nor buffer them without bound)."""
    c = Case(t, rig)
    fe = rig.connect('v0.sock')
    fe.sock.setblocking(False)
    msg = vu.HEADER.pack(vu.GET_FEATURES, vu.FLAG_VERSION, 0) * 1000
    sent = 0
    deadline = time.monotonic() + secs(5)
    while sent < 200000 * vu.HEADER.size and time.monotonic() < deadline:
        try:
            sent += fe.sock.send(msg)
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            break
    start = time.monotonic()
    rig.clients()
    took = time.monotonic() - start
    rss = 0
    with open('/proc/%d/status' % rig.v.proc.pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                rss = int(line.split()[1])
    closed = fe.wait_closed(1)
    t.ok(took < secs(2) and rss < 300 * 1024,
         '%s: %d requests sent (%d KiB) without reading: QMP still answers '
         '(%.2fs), vmwire RSS %d KiB; the connection %s'
         % (name, sent // vu.HEADER.size, sent // 1024, took, rss,
            'was closed' if closed else 'stays'))
    c.others_fine(name)
    fe.close()
    c.v0_works(name)


def never_kicks(t, rig, name):
    """v0 sets up its rings and then does nothing: no RX buffer, no kick."""
    c = Case(t, rig)
    lazy = rig.frontend('v0.sock', rx=0)
    total = 3000
    frames = [numbered(BROADCAST, GOOD_MAC, i, 1000) for i in range(total)]
    start = time.monotonic()
    try:
        c.good.send_frames(frames, timeout=20)
        done = c.good.tx_done(20)
    except vu.VhostUserError as e:
        stuck = str(e)
        tx = c.good.rings[vu.TX]
        tx.kick()               # does a kick more get it going?
        time.sleep(secs(1))
        t.ok(False, '%s: the good frontend\'s flood stalls' % name,
             diag=lambda: '%s\nafter one more kick: %s\n%r\n%s' % (
                 stuck, tx.state(), rig.clients(), rig.v.log()[-3000:]))
        raise
    took = time.monotonic() - start
    p0 = rig.client('p0')
    v0 = rig.client('v0')
    t.ok(done and p0.get('dropped', 0) + v0.get('dropped', 0) > 0,
         '%s: the good frontend\'s %d broadcasts all go out (%.2fs); v0 '
         'never posts a buffer: frames to it are dropped and counted (p0 '
         '%d, v0 %d)' % (name, total, took, p0.get('dropped', 0),
                         v0.get('dropped', 0)), diag=repr((p0, v0)))
    c.others_fine(name)
    lazy.post_rx(256)
    got = lazy.recv_all(1.0)
    seqs = [struct.unpack('!I', f[14:18])[0] for f in got
            if f[6:12] == GOOD_MAC]
    t.ok(0 < len(seqs) < total and seqs == sorted(seqs) and
         all(f == frames[s] for f, s in zip(got, seqs)),
         '%s: once it posts buffers it gets what was queued (%d frames, in '
         'order, intact)' % (name, len(seqs)), diag=repr(seqs[:10]))
    ok, why = ping_stub(lazy, BAD_MAC, ip_of(2))
    t.ok(ok, '%s: and then works' % name, diag=why)


def cases():
    out = [(n, lambda t, r, a=a, n=n: protocol_case(t, r, n, a))
           for n, a in PROTOCOL_FAULTS]
    out += [(n, lambda t, r, a=a, n=n: protocol_case(t, r, n, a, True))
            for n, a in RING_ADDR_FAULTS]
    # Every third one recovers with RESET_OWNER, the others with
    # GET_VRING_BASE.
    out += [(n, lambda t, r, a=a, n=n, k=k:
             ring_case(t, r, n, a, reset_owner=k % 3 == 1))
            for k, (n, a) in enumerate(RING_FAULTS)]
    out.append(('an RX buffer outside memory',
                lambda t, r: ring_case(t, r, 'an RX buffer outside memory',
                                       rx_outside)))
    out.append(('half a header', lambda t, r: mid_message(
        t, r, 'half a header', lambda fe: vu.HEADER.pack(
            vu.SET_MEM_TABLE, 1, 40)[:6], lambda fe: [])))
    out.append(('half a memory table with its fd', lambda t, r: mid_message(
        t, r, 'half a memory table with its fd',
        lambda fe: vu.HEADER.pack(vu.SET_MEM_TABLE, 1, 40) +
        fe.mem_table_payload([fe.mem.region()])[:20],
        lambda fe: [fe.mem.fd])))
    out.append(('a TX frame shorter than the virtio-net header',
                lambda t, r: frame_case(
                    t, r, 'a TX frame shorter than the virtio-net header',
                    lambda fe: [b'\0' * 8], 'dropped')))
    out.append(('a TX frame of the header alone',
                lambda t, r: frame_case(
                    t, r, 'a TX frame of the header alone',
                    lambda fe: [vu.vnet_header()], 'dropped')))
    out.append(('a TX frame over 69632 bytes',
                lambda t, r: frame_case(
                    t, r, 'a TX frame over 69632 bytes',
                    lambda fe: [vu.vnet_header()] + [
                        eth(BROADCAST, BAD_MAC, b'z' * 1986)] * 36,
                    'oversized')))
    out.append(('a frontend that never reads its replies',
                lambda t, r: deaf(t, r, 'a frontend that never reads '
                                  'its replies')))
    out.append(('never kicks', lambda t, r: never_kicks(t, r,
                                                       'never kicks')))
    return out


def main(t):
    runs = VmwireRuns()
    all_cases = cases()
    only = os.environ.get('VU_FAULTS_ONLY')
    for name, fn in all_cases:
        if only and not re.search(only, name):
            continue
        with t.scenario(name), tempdir('vu-faults') as d, \
                VuRig(t, rig_args(d), d,
                      lambda _, v, name=name: runs.record(name, v)) as rig:
            fn(t, rig)
    runs.check(t, len([n for n, _ in all_cases
                       if not only or re.search(only, n)]))


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
