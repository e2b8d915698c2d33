#!/usr/bin/env python3
"""The learning hub (-netdev hubport) with real QEMU guests.

Every guest (QEMU 7.2, virtio-net, TCG) connects to its own vmwire
listener, and every listener is a port of hub 0:

    -netdev socket,id=sX,listen=127.0.0.1:P
    -netdev hubport,id=hX,hubid=0,netdev=sX[,vlan=V][,trunk=on]

Python stream peers (vmwire_test.StreamPeer on such a listener) are the
third parties that record what the hub sends them.  All guests share one
subnet (10.0.0.0/24), so only the hub decides who reaches whom.

  isolation   guests A and B ping each other; a recording third port sees
              the broadcast ARP request but no unicast frame between A's
              and B's MACs.  Control: on a learning=off hub the same run
              shows it those unicast frames.
  no head-of-line blocking
              B sends 32 MiB to A with busybox nc on a learning=off hub
              (every frame floods to every port), timed on the host from
              B's "SEND-START" marker to A's byte count.  Once with two
              ports, once with a third port whose peer connects and never
              reads (small receive buffer): the transfer completes, the
              stuck port counts drops in x-query-network, and its
              throughput is at least half the two-port figure (best of two
              rounds each, printed as diagnostics).  For contrast (a
              diagnostic only) the stuck-port run is repeated through
              QEMU 7.2's own hub, which stalls: QEMU's hub takes a frame
              only when every port can.
  VLANs       guests 1, 2 on access VLAN 10 and 3, 4 on VLAN 20; same-VLAN
              pings succeed, cross-VLAN pings get nothing; a recorder on a
              VLAN 20 access port sees VLAN 20 guests but nothing of VLAN 10
              (not even broadcasts); a trunk peer sees frames tagged 10 and
              20 from the right guests, an ARP request it sends tagged 10
              for guest 1 gets guest 1's reply tagged 10 (and never reaches
              VLAN 20), the same request tagged 20 gets no reply.
              Control: the same guests on a hub without vlan= reach each
              other across (same subnet), so only the VLANs separate them.

At the end of every run vmwire must exit 0 on SIGTERM with no sanitizer
report (vmwire_test.Vmwire).  Only 127.0.0.1 is used.
"""

import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP  # noqa: E402
from vmwire_test import (ETH_P_ARP, GUEST_SH_RECEIVE_COUNT,  # noqa: E402
                         TAP, TIMEOUT_SCALE, Guest, PeerClosed,
                         StreamPeer, Vmwire, arp_fields,
                         arp_frame, free_port, mac_bytes, mac_str, parse_eth,
                         ping_cmd, ping_stats, qemu_binary, section,
                         tempdir, wait_ping_cmd, wait_port_bound)

GUEST_TIMEOUT = 180
PINGS = 5
NET = '10.0.0.%d'
TRANSFER_BLOCKS = 512          # of 64 KiB: 32 MiB, ~4 s under TCG
TRANSFER_BYTES = TRANSFER_BLOCKS * 65536
TRANSFER_TIMEOUT = 120         # seconds; ~10x what it takes
QEMU_HUB_TIMEOUT = 20
ROUNDS = 2


def secs(s):
    return s * TIMEOUT_SCALE


def guest_mac(n):
    return '52:54:00:0b:00:%02x' % n


class Bench:
    """One vmwire whose listeners are ports of hub 0.

    ports: [(name, hubport extra options)]; netdev sNAME listens on
    ports[name], hubport hNAME carries it.  learning=False puts
    learning=off on the first port.  A QMP socket is always there.
    """

    def __init__(self, ports, learning=True):
        self.names = [n for n, _ in ports]
        self.tcp = {n: free_port() for n in self.names}
        self.args = []
        for i, (name, extra) in enumerate(ports):
            hub = 'hubport,id=h%s,hubid=0,netdev=s%s' % (name, name)
            if i == 0 and not learning:
                hub += ',learning=off'
            if extra:
                hub += ',' + extra
            self.args += ['-netdev', 'socket,id=s%s,listen=127.0.0.1:%d'
                          % (name, self.tcp[name]), '-netdev', hub]
        self._tmp = tempdir('qmp')
        self.v = None
        self.q = None

    def __enter__(self):
        d = self._tmp.__enter__()
        path = os.path.join(d, 'qmp.sock')
        self.v = Vmwire(['-qmp', 'unix:%s,server=on,wait=off' % path]
                        + self.args).__enter__()
        self.q = QMP.unix(path)
        self.q.negotiate()
        return self

    def __exit__(self, *exc):
        try:
            self.q.close()
            self.v.__exit__(*exc)
        finally:
            self._tmp.__exit__(*exc)
        return False

    def netdev(self, name):
        return 'socket,connect=127.0.0.1:%d' % self.tcp[name]

    def guest(self, name, n, run):
        return Guest(self.netdev(name), ip=(NET % n) + '/24', run=run,
                     mac=guest_mac(n))

    def connected(self, name):
        """Wait until vmwire logs a connection on listener sNAME."""
        return self.v.wait_log(r'^vmwire: s%s: connection from ' % name,
                               secs(10))

    def client(self, cid):
        for c in self.q.cmd('x-query-network'):
            if c['id'] == cid:
                return c
        return None


class Recorder:
    """A StreamPeer on a hub port that keeps every frame it receives (a
    thread reads) and can send frames too."""

    def __init__(self, port):
        self.peer = StreamPeer(port)
        self.frames = []
        self.closed = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                frame = self.peer.recv_frame(0.2)
            except PeerClosed as e:
                self.closed = str(e)
                return
            if frame is not None:
                with self._lock:
                    self.frames.append(frame)

    def snapshot(self):
        with self._lock:
            return list(self.frames)

    def send(self, frame):
        self.peer.send_frames([frame])

    def stop(self):
        time.sleep(secs(0.5))            # what is in flight
        self._stop.set()
        self._thread.join()
        self.peer.close()
        return self.snapshot()


def waited(guests):
    """[(rc, console)] of guests, waited for in order."""
    return [g.wait(secs(GUEST_TIMEOUT)) for g in guests]


def describe_frames(frames, limit=20):
    out = []
    for f in frames[:limit]:
        p = parse_eth(f)
        out.append('%s -> %s vid=%s type=%04x len=%d'
                   % (mac_str(p[1]), mac_str(p[0]), p[2], p[3], len(f)))
    if len(frames) > limit:
        out.append('... %d more' % (len(frames) - limit))
    return '\n'.join(out) or '(none)'


# --- 1. unicast isolation ---------------------------------------------------

def ping_each_other_cmd(peer_ip):
    return (wait_ping_cmd(peer_ip, 60) + 'echo "== ping"\n' +
            ping_cmd(peer_ip, PINGS) + '\nr=$?\nsleep 3\nexit $r\n')


def isolation(t, learning):
    mode = 'learning hub' if learning else 'learning=off hub (control)'
    a, b = mac_bytes(guest_mac(1)), mac_bytes(guest_mac(2))
    with Bench([('a', ''), ('b', ''), ('c', '')], learning) as bench:
        rec = Recorder(bench.tcp['c'])
        t.ok(bench.connected('c'), '%s: the recorder is connected' % mode,
             diag=bench.v.log)
        with bench.guest('a', 1, ping_each_other_cmd(NET % 2)) as ga, \
                bench.guest('b', 2, ping_each_other_cmd(NET % 1)) as gb:
            results = waited([ga, gb])
        frames = rec.stop()
    for name, (rc, console) in zip('AB', results):
        stats = ping_stats(section(console, 'ping'))
        t.ok(rc == 0 and stats == (PINGS, PINGS),
             '%s: guest %s gets %d of %d ping replies from the other'
             % (mode, name, PINGS, PINGS), diag=console)
    arp_seen = [f for f in frames
                if parse_eth(f)[0] == b'\xff' * 6 and
                parse_eth(f)[1] in (a, b) and arp_fields(f) is not None and
                arp_fields(f)[0] == 1 and
                arp_fields(f)[4] in (NET % 1, NET % 2)]
    t.ok(arp_seen, '%s: the third port sees the broadcast ARP request '
         '(%d of them)' % (mode, len(arp_seen)),
         diag=lambda: describe_frames(frames))
    unicast = [f for f in frames
               if {parse_eth(f)[0], parse_eth(f)[1]} == {a, b}]
    t.diag('%s: the third port got %d frames, %d of them unicast between '
           'A and B' % (mode, len(frames), len(unicast)))
    if learning:
        t.ok(not unicast, '%s: the third port sees no unicast frame between '
             'the two guests' % mode, diag=lambda: describe_frames(unicast))
    else:
        t.ok(len(unicast) >= 2 * PINGS,
             '%s: the third port sees their unicast frames (%d, at least '
             'the %d echo requests and replies)' % (mode, len(unicast),
                                                    2 * PINGS),
             diag=lambda: describe_frames(frames))


# --- 2. no head-of-line blocking --------------------------------------------

SEND = (wait_ping_cmd(NET % 1, 60) + 'sleep 1\n'
        'echo SEND-START\n'
        'dd if=/dev/zero bs=65536 count=%d 2>/dev/null | nc %s 5001\n'
        'echo SEND-END\n' % (TRANSFER_BLOCKS, NET % 1))


def stuck_peer(port):
    """A connection to port that never reads (small receive buffer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.connect(('127.0.0.1', port))
    return sock


def timed_transfer(netdev_a, netdev_b, timeout):
    """Guest B sends TRANSFER_BYTES to guest A with nc; timed on the host
    from B's SEND-START to A's byte count.  Returns (bytes A counted or
    None, seconds, problem text for a diagnostic)."""
    with Guest(netdev_a, ip=(NET % 1) + '/24', run=GUEST_SH_RECEIVE_COUNT,
               mac=guest_mac(1)) as ga, \
            Guest(netdev_b, ip=(NET % 2) + '/24', run=SEND,
                  mac=guest_mac(2)) as gb:
        start = gb.wait_console(r'^SEND-START$', secs(GUEST_TIMEOUT))
        t0 = time.monotonic()
        done = start and ga.wait_console(r'^== recv\n(\d+)\n',
                                         secs(timeout))
        t1 = time.monotonic()
        if not done:
            ga.kill()
            gb.kill()
        (rc_b, con_b), (rc_a, con_a) = waited([gb, ga])
    got = int(done.group(1)) if done else None
    why = 'received %s, rc A %s, rc B %s\n--- A:\n%s\n--- B:\n%s' % (
        got, rc_a, rc_b, con_a, con_b)
    if rc_a != 0 or rc_b != 0:
        got = None
    return got, t1 - t0, why


def transfer(t, stuck):
    """One timed transfer B -> A through a learning=off vmwire hub;
    returns (MB/s or None, stuck port drops or None).

    stuck: a third port whose peer connects and never reads."""
    ports = [('a', ''), ('b', '')] + ([('c', '')] if stuck else [])
    with Bench(ports, learning=False) as bench:
        sock = stuck_peer(bench.tcp['c']) if stuck else None
        try:
            if stuck:
                bench.connected('c')
            got, elapsed, why = timed_transfer(bench.netdev('a'),
                                               bench.netdev('b'),
                                               TRANSFER_TIMEOUT)
            drops = bench.client('hc')['dropped'] if stuck else None
        finally:
            if sock:
                sock.close()
    what = 'vmwire hub, third port stuck' if stuck else 'vmwire hub, two ports'
    t.ok(got == TRANSFER_BYTES,
         '%s: the %d-byte transfer completes within %d s, every byte '
         'arrives' % (what, TRANSFER_BYTES, TRANSFER_TIMEOUT), diag=why)
    if got != TRANSFER_BYTES:
        return None, drops
    rate = TRANSFER_BYTES / elapsed / 1e6
    t.diag('%s: %d bytes in %.2f s = %.2f MB/s%s'
           % (what, TRANSFER_BYTES, elapsed, rate,
              '' if drops is None else ', stuck port dropped %d' % drops))
    return rate, drops


def qemu_hub_contrast(t):
    """Diagnostics only: the same stuck-port transfer through QEMU 7.2's
    own hub (a QEMU with no machine, three socket listeners on hubports),
    which stops every port while one cannot take a frame."""
    ports = {n: free_port() for n in 'abc'}
    argv = [qemu_binary(), '-M', 'none', '-nodefaults', '-display', 'none']
    for n in 'abc':
        argv += ['-netdev', 'socket,id=s%s,listen=127.0.0.1:%d'
                 % (n, ports[n]),
                 '-netdev', 'hubport,id=h%s,hubid=0,netdev=s%s' % (n, n)]
    try:
        qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    except OSError as e:
        t.diag('QEMU hub contrast not run: %s' % e)
        return
    sock = None
    try:
        if not all(wait_port_bound(ports[n]) for n in 'abc'):
            t.diag('QEMU hub contrast not run: QEMU did not listen')
            return
        sock = stuck_peer(ports['c'])
        got, elapsed, _ = timed_transfer(
            'socket,connect=127.0.0.1:%d' % ports['a'],
            'socket,connect=127.0.0.1:%d' % ports['b'], QEMU_HUB_TIMEOUT)
        if got == TRANSFER_BYTES:
            t.diag('QEMU hub, third port stuck: %d bytes in %.2f s = %.2f '
                   'MB/s' % (got, elapsed, got / elapsed / 1e6))
        else:
            t.diag('QEMU hub, third port stuck: the transfer did not '
                   'complete in %d s (head-of-line blocking)'
                   % QEMU_HUB_TIMEOUT)
    finally:
        if sock:
            sock.close()
        qemu.kill()
        qemu.wait()


def head_of_line(t):
    base, stuck, drops = [], [], []
    for _ in range(ROUNDS):
        rate, _ = transfer(t, False)
        base.append(rate or 0.0)
        rate, dropped = transfer(t, True)
        stuck.append(rate or 0.0)
        drops.append(dropped)
    t.ok(all(d is not None and d > 0 for d in drops),
         'the stuck port counts dropped frames in x-query-network (%s)'
         % drops)
    best_base, best_stuck = max(base), max(stuck)
    t.diag('throughput, best of %d: two ports %.2f MB/s, with a stuck '
           'third port %.2f MB/s (ratio %.2f)'
           % (ROUNDS, best_base, best_stuck,
              best_stuck / best_base if best_base else 0))
    t.ok(best_base > 0 and best_stuck >= 0.5 * best_base,
         'a stuck third port costs at most half the throughput '
         '(%.2f vs %.2f MB/s)' % (best_stuck, best_base))
    qemu_hub_contrast(t)


# --- 3. VLANs ----------------------------------------------------------------

TRUNK_MAC = '52:54:00:0b:ff:01'
VLAN_OF = {1: 10, 2: 10, 3: 20, 4: 20}
SAME = {1: 2, 2: 1, 3: 4, 4: 3}
CROSS = {1: 3, 2: 4, 3: 1, 4: 2}


def vlan_cmd(n, control=False):
    """Ping the same-VLAN guest, then the cross-VLAN one; stay up a while
    (the trunk peer asks guest 1 then).  control: wait for the cross
    guest too (it must answer then), stay up only for the others."""
    return (wait_ping_cmd(NET % SAME[n], 90) +
            'echo "== same"\n' + ping_cmd(NET % SAME[n], PINGS) + '\n' +
            (wait_ping_cmd(NET % CROSS[n], 60) if control else '') +
            'echo "== cross"\n' + ping_cmd(NET % CROSS[n], 3) + '\n' +
            'echo "== done"\nsleep %d\n' % (5 if control else 12))


def vlans_control(t):
    """The same four guests with no vlan=: the cross pings get replies,
    so it is the VLANs that stop them in vlans()."""
    ports = [('g%d' % n, '') for n in (1, 2, 3, 4)]
    with Bench(ports) as bench:
        guests = [bench.guest('g%d' % n, n, vlan_cmd(n, control=True))
                  for n in (1, 2, 3, 4)]
        try:
            for g in guests:
                g.start()
            results = waited(guests)
        finally:
            for g in guests:
                g.close()
    for n, (rc, console) in zip((1, 2, 3, 4), results):
        cross = ping_stats(section(console, 'cross'))
        t.ok(cross is not None and cross[1] > 0,
             'control, no VLANs: guest %d gets replies from guest %d'
             % (n, CROSS[n]), diag=console)


def trunk_arp(t, trunk, vid, sender_ip):
    """Send an ARP request for guest 1 tagged vid; the reply or None."""
    trunk.send(arp_frame(1, TRUNK_MAC, sender_ip, None, NET % 1, vid=vid))
    deadline = time.monotonic() + secs(3)
    while time.monotonic() < deadline:
        for f in trunk.snapshot():
            arp = arp_fields(f)
            if arp and arp[0] == 2 and arp[4] == sender_ip:
                return f
        time.sleep(0.05)
    return None


def vlans(t):
    ports = [('g%d' % n, 'vlan=%d' % VLAN_OF[n]) for n in (1, 2, 3, 4)]
    ports += [('cap', 'vlan=20'), ('trunk', 'trunk=on')]
    macs = {n: mac_bytes(guest_mac(n)) for n in (1, 2, 3, 4)}
    with Bench(ports) as bench:
        cap = Recorder(bench.tcp['cap'])
        trunk = Recorder(bench.tcp['trunk'])
        t.ok(bench.connected('cap') and bench.connected('trunk'),
             'VLAN: the VLAN 20 recorder and the trunk peer are connected',
             diag=bench.v.log)
        guests = [bench.guest('g%d' % n, n, vlan_cmd(n)) for n in (1, 2, 3, 4)]
        try:
            for g in guests:
                g.start()
            up = guests[0].wait_console(r'^== done$', secs(GUEST_TIMEOUT))
            reply20 = trunk_arp(t, trunk, 20, NET % 98) if up else None
            reply10 = trunk_arp(t, trunk, 10, NET % 99) if up else None
            results = waited(guests)
        finally:
            for g in guests:
                g.close()
        cap_frames = cap.stop()
        trunk_frames = trunk.stop()
    for n, (rc, console) in zip((1, 2, 3, 4), results):
        same = ping_stats(section(console, 'same'))
        cross = ping_stats(section(console, 'cross'))
        t.ok(same == (PINGS, PINGS),
             'VLAN %d: guest %d gets %d of %d replies from guest %d (same '
             'VLAN)' % (VLAN_OF[n], n, PINGS, PINGS, SAME[n]), diag=console)
        t.ok(cross is not None and cross[0] > 0 and cross[1] == 0,
             'VLAN %d: guest %d gets no reply from guest %d on VLAN %d'
             % (VLAN_OF[n], n, CROSS[n], VLAN_OF[CROSS[n]]), diag=console)

    def from_guests(frames, ns):
        return [f for f in frames if parse_eth(f)[1] in
                [macs[n] for n in ns]]

    t.ok(from_guests(cap_frames, (3, 4)),
         'VLAN 20 recorder: sees frames of the VLAN 20 guests (%d)'
         % len(from_guests(cap_frames, (3, 4))),
         diag=lambda: describe_frames(cap_frames))
    leaked = from_guests(cap_frames, (1, 2))
    t.ok(not leaked, 'VLAN 20 recorder: sees no frame of a VLAN 10 guest, '
         'not even a broadcast', diag=lambda: describe_frames(leaked))
    t.ok(cap_frames and all(parse_eth(f)[2] is None for f in cap_frames),
         'VLAN 20 recorder: every frame it gets is untagged (access port)',
         diag=lambda: describe_frames(cap_frames))

    for vid, ns in ((10, (1, 2)), (20, (3, 4))):
        tagged = [f for f in from_guests(trunk_frames, ns)
                  if parse_eth(f)[2] == vid]
        wrong = [f for f in from_guests(trunk_frames, ns)
                 if parse_eth(f)[2] != vid]
        t.ok(tagged and not wrong,
             'trunk: frames of guests %d and %d arrive tagged %d (%d), none '
             'otherwise' % (ns[0], ns[1], vid, len(tagged)),
             diag=lambda: describe_frames(trunk_frames))

    t.ok(reply10 is not None and parse_eth(reply10)[2] == 10 and
         parse_eth(reply10)[1] == macs[1] and
         parse_eth(reply10)[0] == mac_bytes(TRUNK_MAC),
         'trunk: an ARP request tagged 10 for guest 1 gets its reply, '
         'tagged 10', diag=lambda: describe_frames([reply10] if reply10
                                                   else trunk_frames))
    t.ok(up and reply20 is None,
         'trunk: the same request tagged 20 gets no reply',
         diag=lambda: describe_frames([reply20] if reply20 else []))

    def trunk_requests(frames, sender_ip):
        return [f for f in frames if parse_eth(f)[3] == ETH_P_ARP and
                arp_fields(f)[2] == sender_ip]

    t.ok(trunk_requests(cap_frames, NET % 98) and
         not trunk_requests(cap_frames, NET % 99),
         'VLAN 20 recorder: gets the trunk request tagged 20, not the one '
         'tagged 10', diag=lambda: describe_frames(cap_frames))


def main(t):
    isolation(t, True)
    isolation(t, False)
    vlans(t)
    vlans_control(t)
    head_of_line(t)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
