#!/usr/bin/env python3
"""Many peers on one listener: hubid= on -netdev stream and -netdev socket.

Each scenario below gets a vmwire of its own (so one failing scenario
does not cascade; those after the first start from hub 0 with the 22
peers joined and, but for the traffic one, their MACs learnt: built
without results), running

    -qmp unix:D/qmp.sock,server=on,wait=off
    -netdev stream,id=u0,server=on,hubid=0,addr.type=unix,addr.path=D/u0.sock
    -netdev socket,id=t0,listen=127.0.0.1:P,hubid=0,max-clients=4

and Python peers speak QEMU's stream framing (4-byte big-endian length,
then the Ethernet frame), each with its own MAC:

  * 20 peers on the unix listener and 2 on the TCP one each get a port of
    hub 0 (u0.1..u0.20, t0.1, t0.2): one NETDEV_STREAM_CONNECTED per port
    with the peer's address, x-query-network and `info network` list every
    port with its connection and the listeners with their counts.
  * A broadcast from each peer reaches every other peer exactly once and
    never its sender; a unicast to a learned MAC reaches only its owner.
  * A peer that leaves: NETDEV_STREAM_DISCONNECTED for its port, the port
    and its connection are gone, its MAC is forgotten (a frame to it is
    flooded again); the next peer gets the next number (u0.21).
  * max-clients=4 on t0: the fifth and later connections are closed at
    once, counted, logged once; vmwire goes on and takes t0.5 once a slot
    frees.
  * A peer that sends a length over NET_BUFSIZE is cut off alone.
  * Each port's "connection from", "VM <mac> joined" and "left" lines
    appear exactly once.
  * netdev_add of a third listener (hub 1) over QMP, 5 peers on it; one
    stops reading while another sends 3000 broadcasts: the rest get all
    of them in order, the stalled one loses its own (counted on its port)
    and stays connected; netdev_del of one port, or of one connection
    (ID.n.conn), closes that connection alone, with its event and leave
    line; netdev_del of the listener: every peer sees EOF, its socket
    file is gone, and vmwire holds exactly the file descriptors it held
    before netdev_add.
  * SIGTERM with peers connected: they go quietly (no leave lines).
  * netdev_add of hubid=2 listeners on an abstract unix name and on a
    listening socket passed with getfd: their peers reach each other;
    one with vlan=3 on the same hub: its peers only see each other.

At the end SIGTERM must give exit status 0 and no sanitizer report, for
every scenario's vmwire (vmwire_test.VmwireRuns).
"""

import os
import re
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (TAP, TIMEOUT_SCALE, Vmwire,  # noqa: E402
                         VmwireRuns, free_port, tempdir)
from vmwire_test import qemu_info_network  # noqa: E402
from vmwire_test.qmp import QMP, QMPTimeout  # noqa: E402

NET_BUFSIZE = 4096 + 65536
BROADCAST = b'\xff' * 6
ETHERTYPE = 0x88b5          # local experimental: nobody answers it
UNIX_PEERS = 20


def secs(s):
    return s * TIMEOUT_SCALE


def mac_str(mac):
    return ':'.join('%02x' % b for b in mac)


def record(frame):
    return struct.pack('!I', len(frame)) + frame


def eth(dst, src, payload):
    return dst + src + struct.pack('!H', ETHERTYPE) + payload


class Peer:
    """One connection to a listener, speaking the stream framing."""

    def __init__(self, mac, path=None, port=None):
        self.mac = mac
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(path)
            self.tcp_port = None
        else:
            self.sock = socket.create_connection(('127.0.0.1', port),
                                                 timeout=secs(5))
            self.tcp_port = self.sock.getsockname()[1]
        self.sock.settimeout(secs(5))
        self.buf = bytearray()
        self.frames = []
        self.closed = False
        self.name = None            # its hub port, once known

    def fileno(self):
        return self.sock.fileno()

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, frame):
        self.sock.sendall(record(frame))

    def read_some(self):
        """Read what is there; frames go to self.frames."""
        try:
            data = self.sock.recv(1 << 20)
        except (ConnectionResetError, BrokenPipeError):
            data = b''
        if not data:
            self.closed = True
            return
        self.buf += data
        while len(self.buf) >= 4:
            size = struct.unpack('!I', self.buf[:4])[0]
            if len(self.buf) < 4 + size:
                break
            self.frames.append(bytes(self.buf[4:4 + size]))
            del self.buf[:4 + size]

    def take(self):
        frames, self.frames = self.frames, []
        return frames

    def close(self):
        self.sock.close()


def pump(peers, seconds):
    """Read from every open peer for about seconds (scaled)."""
    deadline = time.monotonic() + secs(seconds)
    while True:
        live = [p for p in peers if not p.closed and p.sock.fileno() >= 0]
        left = deadline - time.monotonic()
        if not live or left <= 0:
            return
        ready, _, _ = select.select(live, [], [], left)
        for p in ready:
            p.read_some()


def pump_until(peers, cond, seconds):
    """pump until cond() holds; returns cond()."""
    deadline = time.monotonic() + secs(seconds)
    while not cond() and time.monotonic() < deadline:
        pump(peers, 0.05)
    return cond()


def fds_of(pid):
    return sorted(os.listdir('/proc/%d/fd' % pid), key=int)


class Bench:
    def __init__(self, t, v, q, sock_path, tcp_port):
        self.t = t
        self.v = v
        self.q = q
        self.path = sock_path
        self.tcp_port = tcp_port
        self.peers = []
        self.mac_n = 0

    def new_mac(self):
        self.mac_n += 1
        return bytes([0x52, 0x54, 0x00, 0x4d, self.mac_n >> 8,
                      self.mac_n & 0xff])

    def clients(self):
        return {c['id']: c for c in self.q.cmd('x-query-network')}

    def connect(self, path=None, port=None):
        """A new peer; waits for its port's CONNECTED event (or None)."""
        p = Peer(self.new_mac(), path=path, port=port)
        try:
            ev = self.q.wait_event('NETDEV_STREAM_CONNECTED', timeout=5)
        except QMPTimeout:
            return p, None
        p.name = ev['data']['netdev-id']
        return p, ev

    def live(self):
        return [p for p in self.peers if not p.closed]

    def broadcast_round(self, senders, what):
        """Every sender broadcasts once; each live peer must get exactly
        the frames of the other senders."""
        t = self.t
        pump(self.live(), 0.1)
        for p in self.live():
            p.take()
        for p in senders:
            p.send_frame(eth(BROADCAST, p.mac, b'hello from ' + p.mac))
        receivers = self.live()

        def complete():
            return all(len(r.frames) >= len([s for s in senders
                                             if s is not r])
                       for r in receivers)
        pump_until(receivers, complete, 10)
        pump(receivers, 0.3)                # nothing more may come
        bad = []
        for r in receivers:
            got = sorted(f[6:12] for f in r.take())
            want = sorted(s.mac for s in senders if s is not r)
            if got != want:
                bad.append('%s got %d frames (%s), wanted %d' % (
                    r.name, len(got), ', '.join(mac_str(m) for m in got[:4]),
                    len(want)))
        return t.ok(not bad, what, diag='\n'.join(bad[:10]))


# --- the scenarios ---------------------------------------------------------------

def join_many(b):
    t, q = b.t, b.q
    events = []
    for i in range(UNIX_PEERS):
        p, ev = b.connect(path=b.path)
        b.peers.append(p)
        events.append(ev)
    t.ok(all(events) and [p.name for p in b.peers] ==
         ['u0.%d' % (i + 1) for i in range(UNIX_PEERS)],
         '%d peers on one unix listener: one NETDEV_STREAM_CONNECTED each, '
         'ports u0.1..u0.%d in order' % (UNIX_PEERS, UNIX_PEERS),
         diag=lambda: '%r\n%s' % ([p.name for p in b.peers], b.v.log()))
    t.ok(all(ev and ev['data']['addr'] == {'type': 'unix', 'path': b.path}
             for ev in events),
         'their events carry addr {"type": "unix", "path": ...}',
         diag=repr(events[:2]))
    tcp = []
    for i in range(2):
        p, ev = b.connect(port=b.tcp_port)
        b.peers.append(p)
        tcp.append((p, ev))
    t.ok(all(ev and ev['data']['netdev-id'] == 't0.%d' % (i + 1) and
             ev['data']['addr'] == {'type': 'inet', 'host': '127.0.0.1',
                                    'port': str(p.tcp_port)}
             for i, (p, ev) in enumerate(tcp)),
         'two peers on the TCP socket,listen=,hubid=0 listener: ports t0.1, '
         't0.2, events with their addresses', diag=repr(tcp))

    clients = b.clients()
    bad = [p.name for p in b.peers
           if clients.get(p.name, {}).get('type') != 'hubport' or
           clients[p.name].get('peer') != p.name + '.conn' or
           clients.get(p.name + '.conn', {}).get('link-up') is not True]
    t.ok(not bad, 'x-query-network: every peer has a hubport ID.n whose '
         'peer is its connection ID.n.conn', diag=repr(bad))
    t.ok(clients['u0.3.conn']['type'] == 'stream' and
         clients['u0.3.conn']['info'] == 'unix:' + b.path and
         clients['t0.1.conn']['type'] == 'socket' and
         clients['t0.1.conn']['info'] ==
         'socket: connection from 127.0.0.1:%d' % b.peers[UNIX_PEERS].tcp_port,
         'connections show type and peer as the single-peer listeners do',
         diag=repr((clients['u0.3.conn'], clients['t0.1.conn'])))
    t.ok(clients['u0']['info'] == 'listening on unix:%s (hub 0, %d of 64 '
         'clients)' % (b.path, UNIX_PEERS) and
         clients['t0']['info'] == 'socket: listen=127.0.0.1:%d (hub 0, 2 of '
         '4 clients)' % b.tcp_port and 'peer' not in clients['u0'],
         'the listeners show their address, hub and client count',
         diag=repr((clients['u0'], clients['t0'])))
    text = q.cmd('human-monitor-command', {'command-line': 'info network'})
    # QEMU's order: ports newest first; vmwire's counters lines left out.
    want = ['hub 0'] + [
        ' \\ t0.%d: t0.%d.conn: index=0,type=socket,socket: connection from '
        '127.0.0.1:%d' % (i + 1, i + 1, b.peers[UNIX_PEERS + i].tcp_port)
        for i in reversed(range(2))] + [
        ' \\ u0.%d: u0.%d.conn: index=0,type=stream,unix:%s' % (i, i, b.path)
        for i in reversed(range(1, UNIX_PEERS + 1))]
    lines = qemu_info_network(text).split('\r\n')
    t.ok(lines[:len(want)] == want and
         'u0: index=0,type=stream,listening on unix:' in text,
         'info network: a QEMU-style "hub 0" block with each port and its '
         'connection, then the listeners', diag=text)


def traffic(b):
    t = b.t
    b.broadcast_round(b.live(), 'a broadcast from each of the %d peers '
                      'reaches every other peer once, never its sender'
                      % len(b.live()))
    log = b.v.log()
    bad = [p.name for p in b.live()
           if len(re.findall(r'^vmwire: %s: VM %s joined hub 0$'
                             % (re.escape(p.name), mac_str(p.mac)), log,
                             re.MULTILINE)) != 1]
    t.ok(not bad, 'one "vmwire: ID.n: VM <mac> joined hub 0" line per port, '
         'with its MAC', diag=lambda: '%r\n%s' % (bad, log))

    # A second broadcast round logs no second "joined".
    b.broadcast_round(b.live()[:3], 'a second round: still once each')
    log = b.v.log()
    t.ok(len(re.findall(r' joined hub 0$', log, re.MULTILINE)) ==
         len(b.live()), 'no "joined" line is logged twice', diag=log)

    a, target = b.peers[0], b.peers[UNIX_PEERS]   # u0.1 -> t0.1
    for p in b.live():
        p.take()
    a.send_frame(eth(target.mac, a.mac, b'for you only'))
    pump_until(b.live(), lambda: target.frames, 5)
    pump(b.live(), 0.5)
    others = [p.name for p in b.live() if p is not target and p.frames]
    got = target.take()
    t.ok(got == [eth(target.mac, a.mac, b'for you only')] and not others,
         'a unicast from u0.1 to the MAC learned on t0.1 reaches t0.1 only',
         diag='target got %r; others that got frames: %r' % (got, others))
    for p in b.live():
        p.take()


def leave(b):
    t, q = b.t, b.q
    gone = b.peers[4]                          # u0.5
    a = b.peers[0]
    gone.close()
    gone.closed = True
    try:
        ev = q.wait_event('NETDEV_STREAM_DISCONNECTED', timeout=5)
    except QMPTimeout:
        ev = None
    t.ok(ev and ev['data'] == {'netdev-id': 'u0.5'},
         'a peer that leaves: NETDEV_STREAM_DISCONNECTED {"netdev-id": '
         '"u0.5"}', diag=lambda: '%r\n%s' % (ev, b.v.log()))
    deadline = time.monotonic() + secs(5)
    while time.monotonic() < deadline:
        clients = b.clients()
        if 'u0.5' not in clients and 'u0.5.conn' not in clients:
            break
        time.sleep(0.05)
    t.ok('u0.5' not in clients and 'u0.5.conn' not in clients and
         '%d of 64' % (UNIX_PEERS - 1) in clients['u0']['info'],
         'its port and connection are gone; the listener counts one less',
         diag=repr(sorted(clients)))
    t.ok(b.v.wait_log(r'^vmwire: u0\.5: VM %s left hub 0 \(unix:%s closed\)$'
                      % (mac_str(gone.mac), re.escape(b.path)), secs(5)),
         'vmwire logs "u0.5: VM <mac> left hub 0 (unix:PATH closed)"',
         diag=b.v.log)
    # Its MAC is forgotten: a frame to it is unknown unicast, flooded.
    for p in b.live():
        p.take()
    a.send_frame(eth(gone.mac, a.mac, b'anyone?'))
    others = [p for p in b.live() if p is not a]
    pump_until(others, lambda: all(p.frames for p in others), 5)
    t.ok(all(p.take() == [eth(gone.mac, a.mac, b'anyone?')] for p in others),
         "the port's MAC went with it: a frame to it is flooded to all "
         "other peers")

    p, ev = b.connect(path=b.path)
    b.peers.append(p)
    t.ok(ev and p.name == 'u0.%d' % (UNIX_PEERS + 1),
         'the next peer gets the next number, u0.%d (u0.5 is not reused)'
         % (UNIX_PEERS + 1), diag=repr(ev))
    b.broadcast_round([p], 'and its broadcast reaches everybody')


def max_clients(b):
    t, q = b.t, b.q
    for n in (3, 4):
        p, ev = b.connect(port=b.tcp_port)
        b.peers.append(p)
        t.ok(ev and p.name == 't0.%d' % n, 'TCP peer %d of max-clients=4 '
             'gets port t0.%d' % (n, n), diag=repr(ev))
    log_before = len(b.v.log())
    refused = [Peer(b.new_mac(), port=b.tcp_port) for _ in range(3)]
    closed = [pump_until([r], lambda r=r: r.closed, 5) for r in refused]
    t.ok(all(closed), 'connections 5, 6 and 7 are closed at once',
         diag=b.v.log)
    for r in refused:
        r.close()
    try:
        ev = q.wait_event('NETDEV_STREAM_CONNECTED', timeout=0.5)
    except QMPTimeout:
        ev = None
    t.ok(ev is None, 'and get no port (no NETDEV_STREAM_CONNECTED)',
         diag=repr(ev))
    log = b.v.log()[log_before:]
    t.ok(log.count('vmwire: t0: max-clients=4 reached, refusing '
                   'connections\n') == 1,
         'logged once: "vmwire: t0: max-clients=4 reached, refusing '
         'connections"', diag=log)
    t0 = b.clients()['t0']
    t.ok(t0['dropped'] == 3 and '4 of 4 clients' in t0['info'],
         "counted in the listener's dropped (3)", diag=repr(t0))
    t.ok(b.v.proc.poll() is None, 'vmwire still runs')
    # A slot frees: the next connection is taken, numbered on.
    first = b.peers[UNIX_PEERS]
    first.close()
    first.closed = True
    q.wait_event('NETDEV_STREAM_DISCONNECTED', timeout=5)
    p, ev = b.connect(port=b.tcp_port)
    b.peers.append(p)
    t.ok(ev and p.name == 't0.5', 'once t0.1 leaves, the next TCP peer '
         'is taken as t0.5', diag=lambda: '%r\n%s' % (ev, b.v.log()))
    b.broadcast_round(b.live(), 'all %d peers still reach each other'
                      % len(b.live()))


def bad_length(b):
    t, q = b.t, b.q
    bad = b.peers[1]                           # u0.2
    bad.send(struct.pack('!I', NET_BUFSIZE + 1) + b'\0' * 32)
    cut = pump_until([bad], lambda: bad.closed, 5)
    t.ok(cut, 'a peer sending a length over NET_BUFSIZE is cut off',
         diag=b.v.log)
    try:
        ev = q.wait_event('NETDEV_STREAM_DISCONNECTED', timeout=5)
    except QMPTimeout:
        ev = None
    t.ok(ev and ev['data'] == {'netdev-id': 'u0.2'},
         'NETDEV_STREAM_DISCONNECTED for u0.2', diag=repr(ev))
    log = b.v.log()
    t.ok(log.count('vmwire: u0.2: serious error: oversized packet received, '
                   'connection terminated.\n') == 1,
         'one "serious error" line, for u0.2', diag=log)
    t.ok(not [p.name for p in b.peers if p.closed and p is not bad and
              p.name not in ('u0.5', 't0.1')],
         'no other peer was cut off')
    b.broadcast_round(b.live(), 'the %d other peers still reach each other'
                      % len(b.live()))


def log_once(b):
    t = b.t
    log = b.v.log()
    bad = []
    for p in b.peers:
        joins = len(re.findall(r'^vmwire: %s: connection from .* \(hub 0\)$'
                               % re.escape(p.name), log, re.MULTILINE))
        macs = len(re.findall(r'^vmwire: %s: VM %s joined hub 0$'
                              % (re.escape(p.name), mac_str(p.mac)), log,
                              re.MULTILINE))
        lefts = len(re.findall(r'^vmwire: %s: .*left hub 0' %
                               re.escape(p.name), log, re.MULTILINE))
        if (joins, macs, lefts) != (1, 1, int(p.closed)):
            bad.append('%s: %d connection lines, %d joined, %d left'
                       % (p.name, joins, macs, lefts))
    t.ok(not bad, 'each port: exactly one "connection from", one "VM <mac> '
         'joined", and one "left" line if it left', diag='\n'.join(bad))


def slow_reader(b, peers):
    """One connection stops reading: it loses its own frames, counted on
    its port; the others get every frame, in order."""
    t = b.t
    sender, stalled, readers = peers[0], peers[1], [peers[2], peers[3],
                                                     peers[4]]
    payload = b'\x5a' * 1400
    total, chunk = 3000, 50
    for p in peers:
        p.take()
    for first in range(0, total, chunk):
        sender.send(b''.join(
            record(eth(BROADCAST, sender.mac,
                       struct.pack('!I', i) + payload))
            for i in range(first, first + chunk)))
        pump_until(readers, lambda n=first + chunk:
                   all(len(r.frames) >= n for r in readers), 10)
    pump(readers, 0.3)
    ok = all([struct.unpack('!I', f[14:18])[0] for f in r.frames] ==
             list(range(total)) for r in readers)
    t.ok(ok, 'a peer on hub 1 stops reading while another sends %d '
         'broadcasts of 1400 bytes: the other peers get every one, in '
         'order' % total, diag=repr([len(r.frames) for r in readers]))
    port = b.clients()[stalled.name]
    t.ok(port['dropped'] > 0 and not stalled.closed,
         'the stalled peer loses its own frames (its port counts %d '
         'dropped) and stays connected' % port['dropped'], diag=repr(port))
    for r in readers:
        r.take()
    pump_until([stalled], lambda: len(stalled.frames) > 0, 5)
    pump([stalled], 1.0)
    got = len(stalled.take())
    t.ok(0 < got < total, 'reading again, it gets what its bounded queue '
         'held (%d frames)' % got)


def del_one_peer(b, peers, i, netdev_id, path):
    """netdev_del netdev_id, the port of peers[i] (h1.n) or its
    connection (h1.n.conn): that peer alone is cut off, with
    NETDEV_STREAM_DISCONNECTED for h1.n and the leave line with its MAC."""
    t, q = b.t, b.q
    port = 'h1.%d' % (i + 1)
    others = [p for p in peers if p is not peers[i] and not p.closed]
    q.cmd('netdev_del', {'id': netdev_id})
    try:
        ev = q.wait_event('NETDEV_STREAM_DISCONNECTED', timeout=5)
    except QMPTimeout:
        ev = None
    cut = pump_until(peers, lambda: peers[i].closed, 5)
    t.ok(cut and ev and ev['data'] == {'netdev-id': port} and
         not any(p.closed for p in others),
         'netdev_del %s closes that one connection (event for %s)'
         % (netdev_id, port), diag=lambda: '%r\n%s' % (ev, b.v.log()))
    t.ok(b.v.wait_log(r'^vmwire: %s: VM %s left hub 1 \(unix:%s '
                      r'closed\)$' % (re.escape(port), mac_str(peers[i].mac),
                                      re.escape(path)),
                      secs(5)), 'and logs it with its MAC', diag=b.v.log)


def hotplug_no_leak(b, d):
    """netdev_add a listener, 5 peers, netdev_del: no fd stays behind."""
    t, q = b.t, b.q
    pid = b.v.proc.pid
    before = fds_of(pid)
    path = os.path.join(d, 'h1.sock')
    q.cmd('netdev_add', {'type': 'stream', 'id': 'h1', 'server': True,
                         'hubid': 1, 'addr': {'type': 'unix',
                                              'path': path}})
    peers = []
    for _ in range(5):
        p, ev = b.connect(path=path)
        peers.append(p)
    t.ok([p.name for p in peers] == ['h1.%d' % i for i in range(1, 6)],
         'netdev_add of a stream hubid=1 listener over QMP: 5 peers get '
         'ports h1.1..h1.5', diag=repr([p.name for p in peers]))
    for p in peers:
        p.send_frame(eth(BROADCAST, p.mac, b'hub 1'))
    pump_until(peers, lambda: all(len(p.frames) >= 4 for p in peers), 5)
    pump(b.live() + peers, 0.3)
    t.ok(all(sorted(p.take()) == sorted(eth(BROADCAST, o.mac, b'hub 1')
                                        for o in peers if o is not p)
             for p in peers) and not any(p.frames for p in b.live()),
         'hub 1 carries its own frames, hub 0 sees none of them')
    slow_reader(b, peers)
    # netdev_del of one port, or of one connection (ID.n.conn), closes
    # that connection only, with its event and leave line.
    del_one_peer(b, peers, 2, 'h1.3', path)
    del_one_peer(b, peers, 3, 'h1.4.conn', path)
    clients = b.clients()
    t.ok('h1.4' not in clients and 'h1.4.conn' not in clients,
         'its port h1.4 goes with it', diag=repr(sorted(clients)))
    during = len(fds_of(pid))
    q.cmd('netdev_del', {'id': 'h1'})
    all_closed = pump_until(peers, lambda: all(p.closed for p in peers), 5)
    t.ok(all_closed, 'netdev_del h1: all its peers see their connection '
         'closed')
    clients = b.clients()
    t.ok(not [c for c in clients if c == 'h1' or c.startswith('h1.')],
         'the listener, its ports and connections are gone',
         diag=repr(sorted(clients)))
    t.ok(not os.path.exists(path), 'its socket file is removed')
    deadline = time.monotonic() + secs(5)
    while fds_of(pid) != before and time.monotonic() < deadline:
        time.sleep(0.05)
    after = fds_of(pid)
    t.ok(after == before and during >= len(before) + 4,
         'vmwire holds the fds it held before netdev_add (%d; %d with '
         'the listener and 3 peers)' % (len(after), during),
         diag='before %r\nafter %r' % (before, after))
    for p in peers:
        p.close()
    b.broadcast_round(b.live()[:2], 'hub 0 is untouched')


def other_addresses(b, d):
    """hubid= on an abstract unix name and on a listening fd from getfd."""
    t, q = b.t, b.q
    name = 'vmwire-multi-%d' % os.getpid()
    q.cmd('netdev_add', {'type': 'stream', 'id': 'a2', 'server': True,
                         'hubid': 2, 'addr': {'type': 'unix', 'path': name,
                                              'abstract': True}})
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(8)
    lport = lsock.getsockname()[1]
    q.cmd('getfd', {'fdname': 'lfd'}, fds=[lsock.fileno()])
    lsock.close()
    q.cmd('netdev_add', {'type': 'stream', 'id': 'f2', 'server': True,
                         'hubid': 2, 'addr': {'type': 'fd', 'str': 'lfd'}})
    peers = []
    for kw in ({'path': '\0' + name}, {'path': '\0' + name},
               {'port': lport}, {'port': lport}):
        p, ev = b.connect(**kw)
        peers.append(p)
    t.ok([p.name for p in peers] == ['a2.1', 'a2.2', 'f2.1', 'f2.2'],
         'hubid=2 on an abstract name and on a getfd listening fd: two '
         'peers on each get ports a2.1, a2.2, f2.1, f2.2',
         diag=repr([p.name for p in peers]))
    for p in peers:
        p.send_frame(eth(BROADCAST, p.mac, b'hub 2'))
    pump_until(peers, lambda: all(len(p.frames) >= 3 for p in peers), 5)
    pump(peers, 0.3)
    t.ok(all(sorted(p.take()) == sorted(eth(BROADCAST, o.mac, b'hub 2')
                                        for o in peers if o is not p)
             for p in peers), 'and reach each other through hub 2')
    # vlan= on a listener: all its ports are access ports of that VLAN.
    vport = free_port()
    q.cmd('netdev_add', {'type': 'socket', 'id': 'v2',
                         'listen': '127.0.0.1:%d' % vport, 'hubid': 2,
                         'vlan': 3})
    vpeers = [b.connect(port=vport)[0] for _ in range(2)]
    clients = b.clients()
    t.ok([clients.get(p.name, {}).get('info') for p in vpeers] ==
         ['hub 2,vlan=3'] * 2, 'socket,listen=,hubid=2,vlan=3: ports v2.1, '
         'v2.2 are access ports of VLAN 3',
         diag=repr([(p.name, clients.get(p.name)) for p in vpeers]))
    for p in peers + vpeers:
        p.take()
    for p in (peers[0], vpeers[0]):
        p.send_frame(eth(BROADCAST, p.mac, b'vlan?'))
    pump_until(peers + vpeers, lambda: vpeers[1].frames and
               peers[1].frames, 5)
    pump(peers + vpeers, 0.3)
    t.ok(vpeers[1].take() == [eth(BROADCAST, vpeers[0].mac, b'vlan?')] and
         all(p.take() == [eth(BROADCAST, peers[0].mac, b'vlan?')]
             for p in peers[1:]) and not vpeers[0].frames,
         'VLAN 3 and VLAN 1 of hub 2 do not see each other')
    q.cmd('netdev_del', {'id': 'a2'})
    q.cmd('netdev_del', {'id': 'f2'})
    q.cmd('netdev_del', {'id': 'v2'})
    peers += vpeers
    t.ok(pump_until(peers, lambda: all(p.closed for p in peers), 5),
         'netdev_del of the three listeners closes their peers')
    for p in peers:
        p.close()


# --- fixtures: what a scenario needs, built without results ----------------

def join_peers(b):
    """Hub 0 with UNIX_PEERS peers on the unix listener (u0.1..) and two on
    the TCP one (t0.1, t0.2)."""
    for kw in [{'path': b.path}] * UNIX_PEERS + [{'port': b.tcp_port}] * 2:
        p, ev = b.connect(**kw)
        b.peers.append(p)
        if ev is None:
            raise TimeoutError('peer %d got no NETDEV_STREAM_CONNECTED'
                               % len(b.peers))


def announce(b, peers):
    """Each of peers broadcasts once (its MAC is learnt); every live peer
    reads what came."""
    for p in peers:
        p.send_frame(eth(BROADCAST, p.mac, b'hello from ' + p.mac))
    receivers = b.live()
    pump_until(receivers, lambda: all(
        len(r.frames) >= len([p for p in peers if p is not r])
        for r in receivers), 10)
    pump(receivers, 0.1)
    for p in receivers:
        p.take()


def leave_history(b):
    """Hub 0 after a history: every peer spoke, u0.5 left, u0.2 was cut off
    for a bad length, u0.21 joined and spoke (log_once checks the lines)."""
    join_peers(b)
    announce(b, b.live())
    for gone, data in ((b.peers[4], None),
                       (b.peers[1], struct.pack('!I', NET_BUFSIZE + 1))):
        if data:
            gone.send(data)
            pump_until([gone], lambda: gone.closed, 5)
        gone.close()
        gone.closed = True
        b.q.wait_event('NETDEV_STREAM_DISCONNECTED', timeout=5)
    p, ev = b.connect(path=b.path)
    b.peers.append(p)
    announce(b, [p])
    for port in ('u0\\.5', 'u0\\.2'):
        b.v.wait_log(r'^vmwire: %s: .*left hub 0' % port, secs(5))


def joined(scenario, spoken=True):
    """scenario(b, d) on hub 0 with the peers of join_peers; with spoken,
    each has broadcast once (hub 0 learnt its MAC, as after traffic)."""
    def run(b, d):
        join_peers(b)
        if spoken:
            announce(b, b.live())
        scenario(b, d)
    return run


def first_join(b, d):
    b.t.ok('has no peer' not in b.v.log(), 'no "has no peer" warning for '
           'the listeners', diag=b.v.log())
    join_many(b)


# Each gets a vmwire of its own, so that one failing does not cascade:
# fn(b, d), d the scenario's temporary directory.
SCENARIOS = [
    ('join', first_join),
    ('traffic', joined(lambda b, d: traffic(b), spoken=False)),
    ('leave', joined(lambda b, d: leave(b))),
    ('max-clients', joined(lambda b, d: max_clients(b))),
    ('bad length', joined(lambda b, d: bad_length(b))),
    ('log lines once', lambda b, d: (leave_history(b), log_once(b))),
    ('netdev_add and netdev_del of a listener', joined(hotplug_no_leak)),
    ('other addresses', other_addresses),
]


def run_scenario(t, name, fn, runs):
    """fn on a vmwire of its own; stopped with its live peers connected
    (runs gets its exit, how many were connected, what it logged at exit
    and whether its socket file is gone)."""
    with t.scenario(name), tempdir('multi') as d:
        path = os.path.join(d, 'u0.sock')
        qmp_path = os.path.join(d, 'qmp.sock')
        port = free_port()
        args = ['-qmp', 'unix:%s,server=on,wait=off' % qmp_path,
                '-netdev', 'stream,id=u0,server=on,hubid=0,addr.type=unix,'
                           'addr.path=' + path,
                '-netdev', 'socket,id=t0,listen=127.0.0.1:%d,hubid=0,'
                           'max-clients=4' % port]
        with Vmwire(args, ready_timeout=secs(10)) as v, \
                QMP.unix(qmp_path) as q:
            b = Bench(t, v, q, path, port)
            try:
                q.negotiate()
                fn(b, d)
            finally:
                connected = len(b.live())
                v.stop()            # with the live peers still connected
                for p in b.peers:
                    p.close()
                runs.record(name, v, extra=(
                    connected, v.log().split('vmwire: shutting down')[-1],
                    not os.path.exists(path)))


def main(t):
    runs = VmwireRuns()
    for name, fn in SCENARIOS:
        run_scenario(t, name, fn, runs)
    extras = [extra for _, _, _, extra in runs.runs]
    runs.check_status(t, len(SCENARIOS))
    connected = sum(n for n, _, _ in extras)
    t.ok(connected > 0 and not any('left hub' in at_exit
                                   for _, at_exit, _ in extras),
         'at exit the %d connected peers go quietly (no leave '
         'line)' % connected, diag=runs.logs)
    runs.check_sanitizer(t)
    t.ok(len(extras) == len(SCENARIOS) and
         all(removed for _, _, removed in extras),
         'the unix socket file is removed at exit')


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
