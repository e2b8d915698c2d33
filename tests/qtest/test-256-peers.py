#!/usr/bin/env python3
"""256 VMs' worth of synthetic stream peers on one listener.

vmwire runs

    -qmp unix:D/qmp.sock,server=on,wait=off
    -netdev stream,id=u0,server=on,hubid=0,max-clients=256,
            addr.type=unix,addr.path=D/u0.sock

and 256 Python peers connect to u0, each a VM with its own MAC
(52:54:00:bb:HI:LO, LO|HI = its number).  All peers are non-blocking
sockets served by one selector loop (no thread per peer) that writes
what each has to send and reads and parses QEMU's stream framing
(4-byte big-endian length, then the frame) as it arrives.  Every frame
carries its sender's number, a round tag and a kind in its payload, so
each delivery is checked by content:

  flood    every peer sends one broadcast: every peer receives exactly
           the 255 of the others, each once, and nothing else.
  learn    x-query-mac-table lists 256 entries, each MAC once.
  unicast  every peer i sends one unicast to peer i+1's MAC: the
           addressee gets it exactly once and no other peer sees it.
  leave    peers 0..63 close: their MACs leave the table (192 left).
  rejoin   they connect again (new connections, same MACs) and flood,
           learn and unicast pass again, with a new round tag.
  again    a third round on the same connections passes the same checks.
  memory   vmwire's VmRSS, from before the first peer connected to after
           the rejoin round, grows by less than RSS_BOUND_KIB, and the
           third round adds less than STEADY_BOUND_KIB.  Measured in the
           ASan build (the suite's build; 2026-12-07): 4.5 MiB for the
           320 connections made and two rounds, 14 KiB a connection.
           Stream ports read into one shared receive scratch and write
           from one shared transmit arena (net/stream-conn.h), so a port
           whose peer sends whole frames and reads what it is sent holds
           no buffer of its own; before that, every port's receive buffer
           and transmit ring (320 KiB each) were allocated and partly
           touched with its first frame: 18-42 MiB, 57-130 KiB a
           connection.  The bound is 40 KiB for each connection made
           (12.8 MiB), which that fails.  Once every port has its
           high-water mark, a round (65,536 deliveries) adds almost
           nothing; a leak of 64 bytes a delivery would add 4 MiB, the
           steady bound.

At the end SIGTERM must give exit status 0 and no sanitizer report.
"""

import os
import re
import resource
import selectors
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (TAP, TIMEOUT_SCALE, Vmwire,  # noqa: E402
                         check_vmwire_exit, eth_frame, mac_str, rss_kib,
                         tempdir)
from vmwire_test.qmp import QMP  # noqa: E402

PEERS = 256
LEAVERS = 64
BROADCAST = b'\xff' * 6
ETHERTYPE = 0x88b5          # local experimental: nobody answers it
MAGIC = b'v256'
RSS_BOUND_KIB = (PEERS + LEAVERS) * 40
STEADY_BOUND_KIB = 4 * 1024


def secs(s):
    return s * TIMEOUT_SCALE


def mac(n):
    return bytes([0x52, 0x54, 0x00, 0xbb, n >> 8, n & 0xff])


class Peer:
    """One VM: a non-blocking connection, its send queue, what it got."""

    def __init__(self, n, path):
        self.n = n
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(secs(5))
        self.sock.connect(path)
        self.sock.setblocking(False)
        self.out = b''
        self.buf = b''
        self.got = []           # (kind, round, sender, dst) per frame
        self.closed = False     # vmwire closed it (a failure)

    def queue(self, dst, kind, rnd):
        payload = MAGIC + struct.pack('!BHH', kind, rnd, self.n)
        payload += bytes(60 - len(payload))
        frame = eth_frame(dst, mac(self.n), ETHERTYPE, payload)
        self.out += struct.pack('!I', len(frame)) + frame

    def parse(self):
        while len(self.buf) >= 4:
            size = struct.unpack('!I', self.buf[:4])[0]
            if len(self.buf) < 4 + size:
                return
            frame, self.buf = self.buf[4:4 + size], self.buf[4 + size:]
            body = frame[14:]
            if body[:4] != MAGIC:
                self.got.append(('foreign', frame.hex()))
                continue
            kind, rnd, sender = struct.unpack('!BHH', body[4:9])
            self.got.append((kind, rnd, sender, frame[:6]))


class Loop:
    """One selector for all peers: writes queued output, reads input."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.peers = {}

    def add(self, p):
        self.peers[p.n] = p
        self.sel.register(p.sock, selectors.EVENT_READ, p)

    def remove(self, p):
        if not p.closed:
            self.sel.unregister(p.sock)
        p.sock.close()
        del self.peers[p.n]

    def close(self):
        for p in list(self.peers.values()):
            self.remove(p)
        self.sel.close()

    def _interest(self, p):
        if p.closed:
            return
        ev = selectors.EVENT_READ | (selectors.EVENT_WRITE if p.out else 0)
        self.sel.modify(p.sock, ev, p)

    def run(self, done, timeout):
        """Serve every peer until done() or timeout (scaled) seconds."""
        for p in self.peers.values():
            self._interest(p)
        deadline = time.monotonic() + secs(timeout)
        while not done() and time.monotonic() < deadline:
            for key, ev in self.sel.select(0.2):
                p = key.data
                if ev & selectors.EVENT_WRITE and p.out:
                    try:
                        sent = p.sock.send(p.out)
                        p.out = p.out[sent:]
                    except BlockingIOError:
                        pass
                    if not p.out:
                        self._interest(p)
                if ev & selectors.EVENT_READ:
                    try:
                        data = p.sock.recv(1 << 16)
                    except BlockingIOError:
                        continue
                    if not data:
                        self.sel.unregister(p.sock)
                        p.closed = True
                        p.got.append(('eof',))
                        continue
                    p.buf += data
                    p.parse()
        return done()

    def settle(self, quiet=0.5):
        """Keep reading until nothing arrived for quiet seconds."""
        while True:
            before = sum(len(p.got) for p in self.peers.values())
            self.run(lambda: False, quiet)
            if sum(len(p.got) for p in self.peers.values()) == before:
                return


def mac_table(q):
    return q.cmd('x-query-mac-table', {'hubid': 0})


def wait_table(q, count, timeout=10):
    deadline = time.monotonic() + secs(timeout)
    while True:
        entries = mac_table(q)
        if len(entries) == count or time.monotonic() > deadline:
            return entries
        time.sleep(0.1)


def flood(t, loop, rnd, label):
    for p in loop.peers.values():
        p.got = []
        p.queue(BROADCAST, 1, rnd)
    want = PEERS - 1
    loop.run(lambda: all(len(p.got) >= want
                         for p in loop.peers.values()), 60)
    loop.settle()
    bad = []
    for p in loop.peers.values():
        expect = sorted((1, rnd, s, BROADCAST) for s in range(PEERS)
                        if s != p.n)
        if sorted(p.got, key=repr) != sorted(expect, key=repr):
            bad.append((p.n, len(p.got), p.got[:3]))
    t.ok(not bad, '%s: each of %d peers got the 255 others\' broadcasts, '
         'each exactly once, nothing else' % (label, PEERS),
         diag=lambda: repr(bad[:5]))


def unicast(t, loop, rnd, label):
    for p in loop.peers.values():
        p.got = []
        p.queue(mac((p.n + 1) % PEERS), 2, rnd)
    loop.run(lambda: all(len(p.got) >= 1 for p in loop.peers.values()), 30)
    loop.settle()
    bad = [(p.n, p.got) for p in loop.peers.values()
           if p.got != [(2, rnd, (p.n - 1) % PEERS, mac(p.n))]]
    t.ok(not bad, '%s: each unicast reached its addressee exactly once '
         'and no other peer' % label, diag=lambda: repr(bad[:5]))


def learned(t, q, label):
    entries = wait_table(q, PEERS)
    macs = sorted(e['mac'] for e in entries)
    t.ok(macs == sorted(mac_str(mac(n)) for n in range(PEERS)),
         '%s: x-query-mac-table lists the 256 MACs, each once' % label,
         diag=lambda: '%d entries' % len(entries))


def wait_connections(v, count, timeout=20):
    """vmwire accepted count connections so far (its log's lines): a
    peer whose connect() returned may still wait in the backlog, without
    a hub port, and would miss what is sent before it is accepted."""
    deadline = time.monotonic() + secs(timeout)
    while True:
        got = len(re.findall(r' connection from ', v.log()))
        if got >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def traffic(t, loop, q, rnd, label):
    flood(t, loop, rnd, label)
    learned(t, q, label)
    unicast(t, loop, rnd, label)


def scenario(t, d, v, q):
    path = os.path.join(d, 'u0.sock')
    pid = v.proc.pid
    before = rss_kib(pid)
    loop = Loop()
    try:
        for n in range(PEERS):
            loop.add(Peer(n, path))
        wait_connections(v, PEERS)
        traffic(t, loop, q, 1, 'first round')
        for n in range(LEAVERS):
            loop.remove(loop.peers[n])
        entries = wait_table(q, PEERS - LEAVERS)
        left = {mac_str(mac(n)) for n in range(LEAVERS)}
        t.ok(len(entries) == PEERS - LEAVERS and
             not left & {e['mac'] for e in entries},
             'leave: the 64 closed peers\' MACs left the table',
             diag=lambda: '%d entries' % len(entries))
        for n in range(LEAVERS):
            loop.add(Peer(n, path))
        wait_connections(v, PEERS + LEAVERS)
        traffic(t, loop, q, 2, 'after rejoin')
        after = rss_kib(pid)
        t.ok(after - before < RSS_BOUND_KIB, 'memory: VmRSS grew by %d KiB '
             'for %d connections and two rounds (bound %d KiB; %d KiB '
             'before)' % (after - before, PEERS + LEAVERS, RSS_BOUND_KIB,
                          before))
        traffic(t, loop, q, 3, 'third round')
        steady = rss_kib(pid) - after
        t.ok(steady < STEADY_BOUND_KIB, 'memory: the third round added %d '
             'KiB (bound %d KiB)' % (steady, STEADY_BOUND_KIB))
    finally:
        loop.close()


def main(t):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < PEERS + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(hard, PEERS + 64), hard))
    with tempdir('p256') as d:
        qmp_path = os.path.join(d, 'qmp.sock')
        args = ['-qmp', 'unix:%s,server=on,wait=off' % qmp_path,
                '-netdev', 'stream,id=u0,server=on,hubid=0,'
                'max-clients=%d,addr.type=unix,addr.path=%s'
                % (PEERS, os.path.join(d, 'u0.sock'))]
        # ASan's quarantine off for this daemon: it holds freed blocks
        # back, so under ASan the connections' buffers, freed after a
        # second idle and allocated again by the next round, would show
        # as growth (28 MiB, seen once) and RSS would not measure
        # vmwire's memory.  The rest of the suite keeps the quarantine.
        env = dict(os.environ)
        env['ASAN_OPTIONS'] = ':'.join(
            x for x in (env.get('ASAN_OPTIONS', ''),
                        'quarantine_size_mb=0') if x)
        with Vmwire(args, ready_timeout=secs(10), env=env) as v:
            with QMP.unix(qmp_path) as q:
                q.negotiate()
                scenario(t, d, v, q)
            check_vmwire_exit(t, 'vmwire', v)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
