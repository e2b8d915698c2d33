"""vhostpeers: vmwire with vhost-user netdevs and Python peers around it,
for test-vhost-user-peers, test-vhost-user-faults and test-vhost-user-dpdk.

    with VuRig(t, args, d) as rig:      # vmwire + QMP (rig.q, negotiated)
        fe = rig.frontend('v0.sock')    # a started VhostUserFrontend
        fe.send_frame(arp_request(FE_MAC, FE_IP))
        rig.clients()['v0']['tx-frames']

The frames are built byte for byte (ARP, ICMP echo with checksums) so a
reply can be compared with what nic-stub must send.  Standard library
only; the frontend is vmwire_test.vhost_user.
"""

import os
import re
import socket
import struct
import time

from vmwire_test import (ETH_P_IP, TIMEOUT_SCALE, Vmwire, VmwireRuns,
                         arp_frame, eth_frame, inet_checksum, tempdir)
from vmwire_test.qmp import QMP, QMPTimeout
from vmwire_test.vhost_user import VhostUserFrontend

BROADCAST = b'\xff' * 6
ETHERTYPE = 0x88b5          # IEEE local experimental: nobody answers it
STUB_MAC = bytes.fromhex('525400000264')
STUB_IP = '10.0.2.100'


def secs(s):
    return s * TIMEOUT_SCALE


def mac(n):
    """A locally administered unicast MAC numbered n."""
    return bytes([0x52, 0x54, 0x00, 0x7e, n >> 8, n & 0xff])


def mac_str(m):
    return ':'.join('%02x' % b for b in m)


def ip_of(n):
    return '10.0.2.%d' % n


def eth(dst, src, payload):
    return eth_frame(dst, src, ETHERTYPE, payload)


def numbered(dst, src, i, size):
    """A frame of size bytes whose payload starts with i (4 bytes) and is
    filled with a pattern that depends on i, so a mix-up shows."""
    body = struct.pack('!I', i) + bytes((i + k) & 0xff
                                        for k in range(size - 18))
    return eth(dst, src, body)




def ipv4(src, dst, payload, ident, ttl=64):
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident, 0,
                      ttl, 1, 0, socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack('!H', inet_checksum(hdr)) + hdr[12:]
    return hdr + payload


def icmp_echo(icmp_type, ident, seq, data):
    msg = struct.pack('!BBHHH', icmp_type, 0, 0, ident, seq) + data
    return msg[:2] + struct.pack('!H', inet_checksum(msg)) + msg[4:]


def arp_request(src_mac, src_ip, target_ip=STUB_IP):
    return arp_frame(1, src_mac, src_ip, None, target_ip)


def arp_reply(asker_mac, asker_ip, stub_mac=STUB_MAC, stub_ip=STUB_IP):
    """The reply nic-stub must send, byte for byte."""
    return arp_frame(2, stub_mac, stub_ip, asker_mac, asker_ip)


def echo_request(src_mac, src_ip, seq, data, dst_mac=STUB_MAC,
                 dst_ip=STUB_IP):
    return eth_frame(dst_mac, src_mac, ETH_P_IP,
                     ipv4(src_ip, dst_ip, icmp_echo(8, 0x4242, seq, data),
                          ident=seq, ttl=33))


def echo_reply(src_mac, src_ip, seq, data, stub_mac=STUB_MAC,
               stub_ip=STUB_IP):
    """nic-stub's reply: addresses swapped, TTL 64, fresh checksums."""
    return eth_frame(src_mac, stub_mac, ETH_P_IP,
                     ipv4(stub_ip, src_ip, icmp_echo(0, 0x4242, seq, data),
                          ident=seq, ttl=64))


def describe(frame):
    if frame is None:
        return 'nothing'
    return '%d bytes: %s' % (len(frame), frame[:48].hex())


def stub_device(netdev, stub_id='st'):
    return ['-device', 'nic-stub,id=%s,netdev=%s,mac=%s,ip=%s/24'
            % (stub_id, netdev, mac_str(STUB_MAC), STUB_IP)]


def vhost_user_netdev(id, path, extra=''):
    return ['-netdev', 'vhost-user,id=%s,addr.type=unix,addr.path=%s%s'
            % (id, path, extra)]


class VuRig:
    """vmwire (args, plus a QMP socket in d) with its QMP connection, and
    every frontend and peer made through it closed at exit; then vmwire
    is stopped and given to record(name, v) (VmwireRuns.record), with
    name the first word of the scenario's name or the given one."""

    def __init__(self, t, args, d, record, name=None, ready_timeout=10.0):
        self.t = t
        self.record = record
        self.name = name or os.path.basename(d)
        self.d = d
        self.qmp_path = os.path.join(d, 'qmp.sock')
        self.args = list(args) + ['-qmp', 'unix:%s,server=on,wait=off'
                                  % self.qmp_path]
        self.ready_timeout = ready_timeout
        self.v = None
        self.q = None
        self.owned = []

    def __enter__(self):
        self.v = Vmwire(self.args, ready_timeout=secs(self.ready_timeout))
        try:
            self.v.start()
            self.q = QMP.unix(self.qmp_path)
            self.q.negotiate()
        except BaseException:
            self.close_all()
            self.record(self.name, self.v)
            raise
        return self

    def path(self, name):
        return os.path.join(self.d, name)

    def close_all(self):
        for o in self.owned:
            o.close()
        self.owned = []
        if self.q:
            self.q.close()
            self.q = None

    def __exit__(self, *exc):
        self.close_all()
        self.record(self.name, self.v)
        return False

    # --- peers ------------------------------------------------------------

    def own(self, thing):
        self.owned.append(thing)
        return thing

    def connect(self, name, ring_size=256):
        """A frontend connected to socket d/name, not started."""
        return self.own(VhostUserFrontend(self.path(name),
                                          ring_size=ring_size))

    def frontend(self, name, rx=256, **kw):
        """A frontend connected to d/name, started, with rx buffers."""
        fe = self.connect(name, **kw)
        fe.start()
        if rx:
            fe.post_rx(rx)
        return fe

    # --- QMP ---------------------------------------------------------------

    def clients(self):
        return {c['id']: c for c in self.q.cmd('x-query-network')}

    def client(self, name):
        return self.clients().get(name, {})

    def wait_clients(self, cond, timeout=5.0):
        """Poll x-query-network until cond(clients) holds; returns the
        last clients seen (check cond again for the verdict)."""
        deadline = time.monotonic() + secs(timeout)
        while True:
            clients = self.clients()
            if cond(clients) or time.monotonic() > deadline:
                return clients
            time.sleep(0.05)

    def hmp(self, line):
        return self.q.cmd('human-monitor-command', {'command-line': line})

    def event(self, name, timeout=5.0, netdev=None):
        """The next event called name, or None; with netdev, the next one
        whose netdev-id is netdev or netdev.N (others are passed over)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                ev = self.q.wait_event(
                    name, timeout=max(0.0, deadline - time.monotonic()))
            except QMPTimeout:
                return None
            nid = ev.get('data', {}).get('netdev-id', '')
            if netdev is None or nid == netdev or \
                    nid.startswith(netdev + '.'):
                return ev

    def stub_frames(self, stub_id='st'):
        """The frames nic-stub stub_id took in since the last call."""
        import base64
        return [base64.b64decode(f['data']) for f in
                self.q.cmd('x-nic-stub-read', {'id': stub_id})]

    def log_since(self, offset):
        return self.v.log()[offset:]

    def log_lines(self, regex, offset=0, wait=0.0):
        """Lines of the log from offset that match regex; with wait > 0,
        first waits up to that long (scaled) for one to appear: the log
        is a file vmwire writes, read here with no ordering against what
        a socket shows (a close can be seen before its log line)."""
        deadline = time.monotonic() + secs(wait)
        while True:
            found = re.findall(regex, self.v.log()[offset:], re.MULTILINE)
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.02)


def recv_until(fe, want, timeout=5.0, skip=None):
    """Frames from fe until one equals want (True) or timeout (False);
    frames for which skip(frame) holds are passed over, others too but
    they are returned for the diagnosis."""
    deadline = time.monotonic() + secs(timeout)
    seen = []
    while True:
        left = (deadline - time.monotonic()) / TIMEOUT_SCALE
        if left <= 0:
            return False, seen
        fe.post_rx(fe.num)
        f = fe.recv_frame(left)
        if f is None:
            return False, seen
        if f == want:
            return True, seen
        if skip is None or not skip(f):
            seen.append(f)


def take(src, count, timeout=5.0, quiet=0.3):
    """count frames from src (a VhostUserFrontend, which gets receive
    buffers as it goes, or a StreamPeer) within timeout seconds, then
    whatever else arrives until quiet seconds pass without a frame."""
    got = []
    deadline = time.monotonic() + secs(timeout)
    while len(got) < count:
        left = (deadline - time.monotonic()) / TIMEOUT_SCALE
        if left <= 0:
            break
        if hasattr(src, 'post_rx'):
            src.post_rx(src.num)
        f = src.recv_frame(left)
        if f is None:
            break
        got.append(f)
    return got + src.recv_all(quiet)


def ping_stub(fe, src_mac, src_ip, seq=1, data=b'vhost-user ping',
              timeout=5.0):
    """ARP then an ICMP echo from fe to the stub: (ok, diagnosis)."""
    fe.send_frame(arp_request(src_mac, src_ip))
    ok, seen = recv_until(fe, arp_reply(src_mac, src_ip), timeout)
    if not ok:
        return False, 'no ARP reply; got %s' % [describe(f) for f in seen]
    fe.send_frame(echo_request(src_mac, src_ip, seq, data))
    ok, seen = recv_until(fe, echo_reply(src_mac, src_ip, seq, data),
                          timeout)
    if not ok:
        return False, 'no echo reply; got %s' % [describe(f) for f in seen]
    return True, ''


# --- shared by the vhost-user qtests -----------------------------------------

FE_MAC = mac(1)
PEER_MAC = mac(200)
# 40 sizes: around one 2048-byte buffer (2036 + the 12-byte header fills
# it exactly), jumbo frames, the smallest.
SIZES = [60, 64, 128, 511, 1000, 1514, 1515, 2036, 2037, 2048, 3000, 4096,
         8000, 9000] * 2 + list(range(60, 72))


def stream_hub_args(d, port):
    """A stream listener on hub 0 and the stub on hub 0."""
    return (['-netdev', 'stream,id=s0,server=on,addr.type=inet,'
             'addr.host=127.0.0.1,addr.port=%d' % port,
             '-netdev', 'hubport,id=hp,hubid=0,netdev=s0',
             '-netdev', 'hubport,id=hs,hubid=0'] + stub_device('hs'))


def wait_peer_joined(rig, port):
    return rig.wait_clients(lambda c: c.get('s0', {}).get('link-up'))


def exchange(t, fe, peer, what, layout='single', sizes=None):
    """Frames from fe to the stream peer and back, intact and in order."""
    sizes = sizes or SIZES
    peer.recv_all(0.2)          # what came before (broadcast ARP)
    out = [numbered(PEER_MAC, FE_MAC, i, n) for i, n in enumerate(sizes)]
    fe.send_frames(out, layout=layout)
    got = []
    deadline = time.monotonic() + secs(10)
    while len(got) < len(out) and time.monotonic() < deadline:
        f = peer.recv_frame(1)
        if f is not None:
            got.append(f)
    bad = [i for i, (a, b) in enumerate(zip(got, out)) if a != b]
    t.ok(len(got) == len(out) and not bad,
         '%s: %d frames of %d..%d bytes from the frontend reach the stream '
         'peer intact, in order' % (what, len(out), min(sizes), max(sizes)),
         diag='got %d; first differing: %s' % (len(got), [
             (i, describe(got[i]), describe(out[i])) for i in bad[:3]]))
    back = [numbered(FE_MAC, PEER_MAC, 1000 + i, n)
            for i, n in enumerate(sizes)]
    peer.send_frames(back)
    got = fe.recv_frames(len(back), timeout=10)
    bad = [i for i, (a, b) in enumerate(zip(got, back)) if a != b]
    t.ok(len(got) == len(back) and not bad,
         '%s: and %d frames from the stream peer reach the frontend intact, '
         'in order' % (what, len(back)),
         diag='got %d; first differing: %s' % (len(got), [
             (i, describe(got[i]), describe(back[i])) for i in bad[:3]]))
    return len(out), sum(len(f) for f in out), len(back), sum(
        len(f) for f in back)


def single_rig_args(d, port):
    return (vhost_user_netdev('v0', os.path.join(d, 'v0.sock')) +
            ['-netdev', 'hubport,id=p0,hubid=0,netdev=v0'] +
            stream_hub_args(d, port))


def inject(rig, frame):
    import base64
    rig.q.cmd('x-nic-stub-inject', {'id': 'st',
                                    'data': base64.b64encode(frame).decode()})


def wait_used_idx(ring, idx, timeout=5.0):
    deadline = time.monotonic() + secs(timeout)
    while ring.used_idx() != idx and time.monotonic() < deadline:
        time.sleep(0.01)
    return ring.used_idx() == idx


def read_pcap(path):
    """The frames of a pcap file (classic format, either byte order)."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return None
    magic = struct.unpack('<I', data[:4])[0]
    end = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(end + 'IIII', data[off:off + 16])
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames


def fds_of(pid):
    return sorted(os.listdir('/proc/%d/fd' % pid), key=int)


def run_scenarios(t, scenarios, kind):
    """Each (name, fn) with a vmwire of its own: fn(t, d, record), d a
    temporary directory, record what VuRig gives the vmwire to at exit;
    then the exit checks of them all (vmwire_test.VmwireRuns)."""
    runs = VmwireRuns()
    for name, fn in scenarios:
        with t.scenario(name), tempdir(kind) as d:
            fn(t, d, lambda _, v, name=name: runs.record(name, v))
    runs.check(t, len(scenarios))
