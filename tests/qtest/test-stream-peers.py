#!/usr/bin/env python3
"""Hostile and well-behaved peers on a `-netdev socket,listen=` stream.

Each scenario below gets a vmwire of its own (so one failing scenario
does not cascade), running

    -netdev socket,id=n0,listen=127.0.0.1:P
    -device nic-stub,id=s0,netdev=n0,mac=52:54:00:00:02:64,ip=10.0.2.100/24

(plus a second, independent pair n1/s1 on another port, to see that one
stuck connection does not stall the rest of the daemon).  Python peers
speak QEMU's stream framing (4-byte big-endian length, then the Ethernet
frame) and build ARP and ICMP by hand:

  * ARP and ping get byte-exact replies; one frame split byte by byte, and
    100 frames in one send (100 replies, in order), work; the largest ping
    (IP total length 65535) is echoed whole.
  * A length over NET_BUFSIZE (0xFFFFFFFF, 69633) cuts that peer off with
    exactly one "serious error" line; random bytes cut it off or are
    ignored; half a frame then silence, then a disconnect, is harmless (and
    costs no CPU while silent).  vmwire stays up; the next peer is served.
  * A frame of exactly NET_BUFSIZE bytes and a zero-length frame are
    dropped and the connection goes on.
  * A second peer waits, unserved, until the first leaves (QEMU's one-peer
    listen=), then is served.  Thirty peers that connect and leave at once
    (close, reset, mid-frame) leak no file descriptor.
  * A peer that floods pings and stops reading: vmwire's memory stays
    bounded, it does not spin, the other netdev keeps answering, every
    request is answered once the peer reads again (lossless backpressure),
    and after a flooder leaves without reading the next peer is served.

At the end SIGTERM must give exit status 0 and the log no sanitizer report,
for every scenario's vmwire (two results at the end, vmwire_test.VmwireRuns).
Only 127.0.0.1 is used.
"""

import os
import random
import re
import select
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (ETH_P_IP, TAP, TIMEOUT_SCALE,  # noqa: E402
                         PeerClosed, StreamPeer, Vmwire, VmwireRuns,
                         arp_frame, cpu_seconds, inet_checksum, rss_kib,
                         eth_frame, free_port, stream_record,
                         wait_port_bound)

NET_BUFSIZE = 4096 + 65536

STUB_MAC = bytes.fromhex('525400000264')
STUB_IP = socket.inet_aton('10.0.2.100')
STUB1_MAC = bytes.fromhex('525400000364')
STUB1_IP = socket.inet_aton('10.0.3.100')
PEER_MAC = bytes.fromhex('525400aa0001')
PEER_IP = socket.inet_aton('10.0.2.15')
PEER1_IP = socket.inet_aton('10.0.3.15')

SERIOUS = ('serious error: oversized packet received, connection '
           'terminated.')
RSS_LIMIT_KB = 300 * 1024        # absolute bound (ASan inflates RSS)
RSS_GROWTH_LIMIT_KB = 64 * 1024  # growth during a flood


def secs(s):
    """A timeout, stretched under a wrapper such as valgrind."""
    return s * TIMEOUT_SCALE


# --- frames --------------------------------------------------------------------



def arp_request(target_ip=STUB_IP, sender_ip=PEER_IP, sender_mac=PEER_MAC):
    return arp_frame(1, sender_mac, sender_ip, None, target_ip)


def arp_reply(stub_mac=STUB_MAC, stub_ip=STUB_IP, asker_ip=PEER_IP,
              asker_mac=PEER_MAC):
    """The reply nic-stub must send, byte for byte (no padding)."""
    return arp_frame(2, stub_mac, stub_ip, asker_mac, asker_ip)


def ipv4(src, dst, payload, ident, ttl=64):
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident, 0,
                      ttl, 1, 0, src, dst)
    hdr = hdr[:10] + struct.pack('!H', inet_checksum(hdr)) + hdr[12:]
    return hdr + payload


def icmp_echo(icmp_type, ident, seq, data):
    msg = struct.pack('!BBHHH', icmp_type, 0, 0, ident, seq) + data
    return msg[:2] + struct.pack('!H', inet_checksum(msg)) + msg[4:]


def echo_request(seq, data, ident=0x1234, src_ip=PEER_IP, dst_ip=STUB_IP,
                 dst_mac=STUB_MAC):
    icmp = icmp_echo(8, ident, seq, data)
    return eth_frame(dst_mac, PEER_MAC, ETH_P_IP,
                     ipv4(src_ip, dst_ip, icmp, ident=seq & 0xffff, ttl=33))


def echo_reply(seq, data, ident=0x1234):
    """The reply nic-stub must send: the request's IP header with the
    addresses swapped, TTL 64 and fresh checksums."""
    icmp = icmp_echo(0, ident, seq, data)
    return eth_frame(PEER_MAC, STUB_MAC, ETH_P_IP,
                     ipv4(STUB_IP, PEER_IP, icmp, ident=seq & 0xffff, ttl=64))


def checksums_ok(frame):
    """IPv4 header and ICMP checksums of an Ethernet frame verify."""
    ip = frame[14:]
    ihl = (ip[0] & 0x0f) * 4
    total = struct.unpack('!H', ip[2:4])[0]
    return (inet_checksum(ip[:ihl]) == 0 and
            inet_checksum(ip[ihl:total]) == 0)


def describe(frame):
    if frame is None:
        return 'nothing'
    if isinstance(frame, str):
        return frame
    return '%d bytes: %s' % (len(frame), frame[:64].hex())


# --- watching vmwire from outside ------------------------------------------------

def cpu_while_idle(pid, seconds):
    """Fraction of one CPU the process used over the next seconds."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def serious_lines(log):
    return re.findall(r'^vmwire: n0: ' + re.escape(SERIOUS) + '$', log,
                      re.MULTILINE)


class Bench:
    """vmwire plus helpers; t is the TAP."""

    def __init__(self, t, v, port, port1):
        self.t = t
        self.v = v
        self.port = port
        self.port1 = port1
        self.idle_fds = open_fds(v.proc.pid)   # no peer connected yet

    def alive(self):
        return self.v.proc.poll() is None

    def wait_accepted(self, peer, timeout=5.0):
        """Wait for vmwire's "connection from" line for this peer."""
        return self.v.wait_log(r'^vmwire: n0: connection from 127\.0\.0\.1:'
                               r'%d$' % peer.port, secs(timeout))

    def arp_works(self, peer, what, timeout=5.0, allow_stale=False):
        """ARP through peer gets the exact reply as the next frame.

        allow_stale: echo replies the stub still owed a previous peer may
        come first (frames the stub had taken in before that peer left are
        answered later, on whatever connection is up then, as a slow guest
        would); they are skipped and counted in a diagnostic.
        """
        peer.send_frames([arp_request()])
        want = arp_reply()
        deadline = time.monotonic() + secs(timeout)
        got, skipped = None, 0
        while True:
            try:
                got = peer.recv_frame_by(deadline)
            except PeerClosed:
                got = 'closed'
            if not (allow_stale and isinstance(got, bytes) and got != want
                    and got[6:14] == STUB_MAC + b'\x08\x00'):
                break
            skipped += 1
        if skipped:
            self.t.diag('%d echo replies owed to an earlier peer came '
                        'before the ARP reply' % skipped)
        return self.t.ok(got == want, what,
                         diag=lambda: 'got %s\nwanted %s\nvmwire log:\n%s'
                         % (describe(got), describe(want), self.v.log()))

    def next_peer_works(self, what):
        """A new peer is accepted and answered, and vmwire still runs."""
        self.t.ok(self.alive(), 'vmwire still runs after ' + what,
                  diag=self.v.log)
        with StreamPeer(self.port) as peer:
            self.arp_works(peer, 'the next peer gets an ARP reply after '
                           + what, timeout=10.0, allow_stale=True)


# --- the scenarios ---------------------------------------------------------------

def well_behaved(b):
    t = b.t
    with StreamPeer(b.port) as peer:
        t.ok(b.wait_accepted(peer), 'vmwire logs the connection from '
             '127.0.0.1:%d' % peer.port, diag=b.v.log)
        b.arp_works(peer, 'ARP request for 10.0.2.100: reply with the '
                    "stub's MAC, byte-exact")

        data = bytes(range(256)) * 4
        peer.send_frames([echo_request(1, data)])
        got = peer.recv_frame()
        want = echo_reply(1, data)
        t.ok(got == want and checksums_ok(got),
             'ICMP echo request: echo reply with the same payload and valid '
             'checksums', diag=lambda: 'got %s\nwanted %s'
             % (describe(got), describe(want)))

        # One ARP and one ping record, one byte per send.
        stream = (stream_record(arp_request()) +
                  stream_record(echo_request(2, b'split')))
        for i in range(len(stream)):
            peer.send(stream[i:i + 1])
            time.sleep(0.002)
        got = [peer.recv_frame(), peer.recv_frame()]
        t.ok(got == [arp_reply(), echo_reply(2, b'split')],
             'frames split byte by byte are reassembled',
             diag=lambda: '\n'.join(describe(g) for g in got))

        # 100 echo requests in one send: 100 replies, in order.
        frames = [echo_request(1000 + i, struct.pack('!I', i) * 16)
                  for i in range(100)]
        peer.send_frames(frames)
        replies = []
        for _ in range(100):
            frame = peer.recv_frame()
            if frame is None:
                break
            replies.append(frame)
        want = [echo_reply(1000 + i, struct.pack('!I', i) * 16)
                for i in range(100)]
        t.ok(replies == want,
             '100 echo requests in one send: 100 replies, in order',
             diag='%d replies; first wrong: %s' % (len(replies), next(
                 (describe(r) for r, w in zip(replies, want) if r != w),
                 'none')))

        # The largest ping: IP total length 65535, a 65549-byte frame.
        data = random.Random(7).randbytes(65507)
        peer.send_frames([echo_request(3, data)])
        got = peer.recv_frame(10.0)
        want = echo_reply(3, data)
        t.ok(got == want, 'the largest ping (IP total length 65535) is '
             'echoed whole', diag=lambda: describe(got))

        # A frame of exactly NET_BUFSIZE bytes is allowed: ignored by the
        # stub, and the connection goes on.
        big = eth_frame(STUB_MAC, PEER_MAC, 0x88b5,
                  b'\xa5' * (NET_BUFSIZE - 14))
        peer.send_frames([big, arp_request()])
        got = peer.recv_frame_or_closed()
        t.ok(got == arp_reply(), 'a frame of exactly %d bytes (NET_BUFSIZE) '
             'is taken, the connection goes on (ARP after it answered)'
             % NET_BUFSIZE, diag=lambda: describe(got))

        # Zero-length frames are dropped, alone and before a frame.
        peer.send(stream_record(b''))
        time.sleep(0.2)
        peer.send(stream_record(b'') + stream_record(b'') +
                  stream_record(arp_request()))
        got = peer.recv_frame_or_closed()
        t.ok(got == arp_reply(), 'zero-length frames are dropped and the '
             'connection goes on', diag=lambda: describe(got))
        t.ok(not serious_lines(b.v.log()) and b.alive(),
             'no "serious error" for frames up to NET_BUFSIZE',
             diag=b.v.log)

    t.ok(b.v.wait_log(r'^vmwire: n0: peer 127\.0\.0\.1:%d disconnected$'
                      % peer.port, secs(5)),
         "vmwire logs the peer's disconnect", diag=b.v.log)


def oversized(b, length, what):
    """A length over NET_BUFSIZE: cut off, one log line, vmwire goes on."""
    t = b.t
    since = len(b.v.log())
    with StreamPeer(b.port) as peer:
        t.ok(b.wait_accepted(peer), 'peer sending %s is accepted' % what,
             diag=b.v.log)
        # Several bad headers and junk in one send: still one line.
        junk = struct.pack('!I', length) + b'\x5a' * 100
        try:
            peer.send(junk * 3)
        except OSError:
            pass                 # vmwire may already have reset us
        t.ok(peer.wait_closed(), 'a peer sending %s is cut off (EOF or '
             'reset)' % what, diag=b.v.log)
    time.sleep(secs(0.2))
    log = b.v.log()[since:]
    t.ok(len(serious_lines(log)) == 1 and SERIOUS in log,
         'exactly one "vmwire: n0: %s" line for it' % SERIOUS, diag=log)
    b.next_peer_works(what)


def garbage(b):
    """Random bytes: cut off or ignored; random frames: ignored."""
    t = b.t
    rng = random.Random(20240607)
    since = len(b.v.log())
    with StreamPeer(b.port) as peer:
        b.wait_accepted(peer)
        blob = rng.randbytes(256 * 1024)
        try:
            peer.send(blob)
        except OSError:
            pass
        cut = peer.wait_closed(1.0)
        t.diag('random bytes: %s' % ('cut off' if cut else 'still open'))
    log = b.v.log()[since:]
    t.ok(len(serious_lines(log)) <= 1,
         'random bytes give at most one "serious error" line', diag=log)
    b.next_peer_works('256 KiB of random bytes')

    # Well-framed random frames (any ethertype, random lengths) are ignored;
    # the ARP after them is the first thing answered.
    with StreamPeer(b.port) as peer:
        b.wait_accepted(peer)
        frames = [rng.randbytes(rng.randint(1, 1514)) for _ in range(300)]
        peer.send_frames(frames)
        b.arp_works(peer, '300 random frames are ignored, the connection '
                    'goes on and the next ARP is answered')
        got = peer.recv_frame(0.3)
        t.ok(got is None, 'and nothing else was sent back',
             diag=lambda: describe(got))


def half_frame(b):
    """Half a frame, then silence: no CPU burnt; then a disconnect."""
    t = b.t
    with StreamPeer(b.port) as peer:
        t.ok(b.wait_accepted(peer), 'a peer that will go silent is accepted',
             diag=b.v.log)
        full = stream_record(arp_request())
        peer.send(full[:2])            # half a length
        time.sleep(0.3)
        load = cpu_while_idle(b.v.proc.pid, 1.0)
        t.ok(load < 0.5, 'vmwire idles while a peer is silent in a length '
             '(%.0f%% CPU)' % (load * 100))
        peer.send(full[2:20])          # and half a frame
        got = peer.recv_frame(1.0)
        t.ok(got is None and b.alive(), 'half a frame gets no answer, '
             'vmwire waits', diag=lambda: describe(got))
        load = cpu_while_idle(b.v.proc.pid, 1.0)
        t.ok(load < 0.5, 'vmwire idles while a peer is silent in a frame '
             '(%.0f%% CPU)' % (load * 100))
    b.next_peer_works('half a frame, silence and a disconnect')


def second_peer_waits(b):
    """QEMU's listen= serves one peer; the next waits until it leaves."""
    t = b.t
    first = StreamPeer(b.port)
    try:
        b.wait_accepted(first)
        b.arp_works(first, 'first peer: ARP answered')
        with StreamPeer(b.port) as second:
            second.send_frames([arp_request()])
            got = second.recv_frame_or_closed(1.5)
            t.ok(got is None, 'a second peer gets nothing while the first '
                 'is connected', diag=lambda: describe(got))
            t.ok(not b.v.wait_log(r'^vmwire: n0: connection from '
                                  r'127\.0\.0\.1:%d$' % second.port, 0),
                 'and is not accepted yet', diag=b.v.log)
            b.arp_works(first, 'the first peer is still served')
            first.close()
            t.ok(b.wait_accepted(second), 'once the first leaves, the '
                 'second is accepted', diag=b.v.log)
            got = second.recv_frame_or_closed(5.0)
            t.ok(got == arp_reply(), 'and its waiting ARP request is '
                 'answered', diag=lambda: describe(got))
    finally:
        first.close()


def open_fds(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


def churn(b):
    """Peers that come and go fast (close, reset, close mid-frame) leak
    no file descriptor and leave the listener working."""
    t = b.t
    pid = b.v.proc.pid
    accepted = 0
    for i in range(30):
        with StreamPeer(b.port) as peer:
            # Wait to be accepted: a full accept queue (backlog 1) would
            # make the next connect wait for a SYN retransmit.
            accepted += bool(b.wait_accepted(peer))
            if i % 3 == 1:       # reset: SO_LINGER with a zero timeout
                peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack('ii', 1, 0))
            elif i % 3 == 2:     # leave in the middle of a frame
                peer.send(stream_record(arp_request())[:30])
    t.ok(accepted == 30, '30 peers that connect and leave at once are '
         'accepted one after the other (%d were)' % accepted, diag=b.v.log)
    b.next_peer_works('30 peers that connected and left at once')
    # With no peer left, the descriptors open are those at start.
    deadline = time.monotonic() + secs(5)
    while open_fds(pid) != b.idle_fds and time.monotonic() < deadline:
        time.sleep(0.05)
    after = open_fds(pid)
    t.ok(after == b.idle_fds, 'no file descriptor leaked (%d open at '
         'start, %d now)' % (b.idle_fds, after))


class Flooder:
    """A peer sending echo requests without reading the replies."""

    PAYLOAD = b'\x77' * 1000

    def __init__(self, port):
        self.peer = StreamPeer(port)
        self.sent_frames = 0        # records completely sent
        self.pending = b''          # the rest of a partly sent record

    def flood(self, seconds, stuck_for=1.0):
        """Send without blocking for up to seconds, or until sends have
        been refused for stuck_for seconds (vmwire stopped reading)."""
        sock = self.peer.sock
        sock.setblocking(False)
        deadline = time.monotonic() + seconds
        refused_since = None
        while time.monotonic() < deadline:
            if not self.pending:
                self.pending = stream_record(echo_request(
                    self.sent_frames & 0xffff, self.PAYLOAD))
            try:
                n = sock.send(self.pending)
            except BlockingIOError:
                n = 0
            if n:
                refused_since = None
                self.pending = self.pending[n:]
                if not self.pending:
                    self.sent_frames += 1
                continue
            now = time.monotonic()
            refused_since = refused_since or now
            if now - refused_since >= stuck_for:
                return True
            select.select([], [sock], [], 0.05)
        return False

    def drain_replies(self, timeout):
        """Read again: finish the partial record in a thread (vmwire reads
        only once we read), count the replies. Returns (count, in_order)."""
        sock = self.peer.sock
        sock.setblocking(True)
        sender = None
        if self.pending:
            rest, self.pending = self.pending, b''
            self.sent_frames += 1
            sender = threading.Thread(target=sock.sendall, args=(rest,),
                                      daemon=True)
            sender.start()
        count, in_order = 0, True
        while count < self.sent_frames:
            frame = self.peer.recv_frame_or_closed(timeout)
            if frame is None or frame == 'closed':
                break
            if frame != echo_reply(count & 0xffff, self.PAYLOAD):
                in_order = False
            count += 1
        if sender:
            sender.join(secs(5))
        return count, in_order


def flood_round(b, read_back):
    """A peer floods pings and stops reading: vmwire stays bounded and
    responsive; with read_back, nothing is lost once the peer reads again;
    without, the next peer is served after the flooder leaves."""
    t = b.t
    pid = b.v.proc.pid
    rss_before = rss_kib(pid)
    f = Flooder(b.port)
    try:
        b.wait_accepted(f.peer)
        stuck = f.flood(secs(10))
        t.ok(stuck, 'a flooding peer that does not read is pushed back '
             '(vmwire stops reading; %d requests taken)' % f.sent_frames)
        rss = rss_kib(pid)
        t.ok(rss is not None and rss < RSS_LIMIT_KB and
             rss - rss_before < RSS_GROWTH_LIMIT_KB,
             'memory stays bounded under the flood (VmRSS %s kB, was %s kB)'
             % (rss, rss_before))
        load = cpu_while_idle(pid, 1.0)
        t.ok(load < 0.5, 'vmwire does not spin while pushed back (%.0f%% '
             'CPU)' % (load * 100))
        with StreamPeer(b.port1) as other:
            other.send_frames([arp_request(STUB1_IP, PEER1_IP)])
            got = other.recv_frame_or_closed(3.0)
            t.ok(got == arp_reply(STUB1_MAC, STUB1_IP, PEER1_IP),
                 'meanwhile another netdev of the same vmwire answers ARP',
                 diag=lambda: describe(got))
        if read_back:
            count, in_order = f.drain_replies(10.0)
            t.ok(count == f.sent_frames and in_order,
                 'once the peer reads again, every one of its %d echo '
                 'requests is answered, in order (got %d)'
                 % (f.sent_frames, count), diag=b.v.log)
    finally:
        f.peer.close()
    b.next_peer_works('a flooder that %s' % ('read everything back'
                                              if read_back else
                                              'left without reading'))
    rss = rss_kib(pid)
    t.ok(rss is not None and rss - rss_before < RSS_GROWTH_LIMIT_KB,
         'memory after the flood: VmRSS %s kB (was %s kB)' % (rss,
                                                              rss_before))


def well_behaved_first(b):
    """The first scenario also checks that vmwire listens."""
    b.t.ok(wait_port_bound(b.port, 'tcp', secs(5)),
           'vmwire listens on 127.0.0.1:%d' % b.port, diag=b.v.log)
    well_behaved(b)


# Each gets a vmwire of its own, so that one failing does not cascade.
SCENARIOS = [
    ('well-behaved peer', well_behaved_first),
    ('length 0xFFFFFFFF', lambda b: oversized(b, 0xFFFFFFFF,
                                              'length 0xFFFFFFFF')),
    ('length NET_BUFSIZE + 1', lambda b: oversized(
        b, NET_BUFSIZE + 1, 'length %d (NET_BUFSIZE + 1)'
        % (NET_BUFSIZE + 1))),
    ('garbage', garbage),
    ('half a frame', half_frame),
    ('second peer waits', second_peer_waits),
    ('churn', churn),
    ('flood, read back', lambda b: flood_round(b, read_back=True)),
    ('flood, left without reading', lambda b: flood_round(b,
                                                          read_back=False)),
]


def main(t):
    runs = VmwireRuns()
    for name, scenario in SCENARIOS:
        port, port1 = free_port(), free_port()
        args = ['-netdev', 'socket,id=n0,listen=127.0.0.1:%d' % port,
                '-device', 'nic-stub,id=s0,netdev=n0,mac=52:54:00:00:02:64,'
                           'ip=10.0.2.100/24',
                '-netdev', 'socket,id=n1,listen=127.0.0.1:%d' % port1,
                '-device', 'nic-stub,id=s1,netdev=n1,mac=52:54:00:00:03:64,'
                           'ip=10.0.3.100/24']
        with t.scenario(name), Vmwire(args, ready_timeout=secs(10)) as v:
            try:
                scenario(Bench(t, v, port, port1))
            finally:
                runs.record(name, v)
    runs.check(t, len(SCENARIOS))


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
