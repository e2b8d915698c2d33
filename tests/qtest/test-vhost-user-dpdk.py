#!/usr/bin/env python3
"""A vhost-user frontend nobody here wrote: DPDK's virtio_user on vmwire.

vmwire runs

    -netdev vhost-user,id=v0,addr.type=unix,addr.path=D/v0.sock
    -netdev hubport,id=p0,hubid=0,netdev=v0
    -netdev stream,id=s0,server=on,addr.type=inet,...   (a "socket VM")
    -netdev hubport,id=hp,hubid=0,netdev=s0
    -netdev hubport,id=hs,hubid=0 -device nic-stub,id=s0,...

and Debian's dpdk-testpmd attaches to v0 with

    --no-huge --no-pci --single-file-segments
    --vdev net_virtio_user0,path=D/v0.sock,queues=1,mac=DPDK_MAC
    -- --forward-mode=macswap --auto-start --stats-period 1

so every frame it receives goes back with its MAC addresses swapped.

  * testpmd's virtio_user negotiates with vmwire: NETDEV_STREAM_CONNECTED
    for v0, link up.
  * A stream peer (vmwire_test.StreamPeer, a socket VM's frames) sends 200
    frames of 60..1514 bytes to DPDK_MAC: all come back, in order, with
    the addresses swapped and the rest byte for byte.
  * The nic-stub sends 100 frames to DPDK_MAC (x-nic-stub-inject): all come
    back to the stub (x-nic-stub-read), swapped and intact.
  * testpmd's own port statistics count the 300 frames each way and their
    bytes; vmwire's counters on v0 say the same.
  * testpmd quits: NETDEV_STREAM_DISCONNECTED, v0's link goes down.

The Makefile's TEST_DEPS has dpdk; without dpdk-testpmd the test fails
(a skip only with VMWIRE_ALLOW_SKIP=1).  testpmd busy-polls one core while
it runs (a few seconds).
"""

import base64
import os
import re
import shutil
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (TAP, StreamPeer, VmwireRuns,  # noqa: E402
                         free_port, tempdir)
from vmwire_test.process import _kill_and_reap, _spawn, _read_text  # noqa
from vhostpeers import (STUB_MAC, VuRig, describe, eth, mac,  # noqa: E402
                        secs, stub_device, vhost_user_netdev)

DPDK_MAC = bytes.fromhex('525400de0001')
PEER_MAC = mac(200)
PEER_FRAMES = 200
STUB_FRAMES = 100
TESTPMD = os.environ.get('VMWIRE_TESTPMD', 'dpdk-testpmd')


def frame(dst, src, i, size):
    body = struct.pack('!I', i) + bytes((i * 7 + k) & 0xff
                                        for k in range(size - 18))
    return eth(dst, src, body)


def swapped(f):
    return f[6:12] + f[0:6] + f[12:]


def sizes(n):
    """60..1514 bytes, the ends included."""
    return [60 + (i * 97) % 1455 if i % 10 else (60, 1514)[i // 10 % 2]
            for i in range(n)]


class Testpmd:
    """dpdk-testpmd with a virtio_user port on path, in macswap forwarding,
    printing its port statistics every second into its log."""

    def __init__(self, d, path):
        self.log_path = os.path.join(d, 'testpmd.log')
        self.prefix = 'vmwire-test-%d' % os.getpid()
        self.argv = [
            TESTPMD, '--no-huge', '-m', '256', '--no-pci',
            '--single-file-segments', '--file-prefix', self.prefix,
            '-l', '0,1', '--log-level', 'lib.eal:error',
            '--vdev', 'net_virtio_user0,path=%s,queues=1,mac=%s' % (
                path, ':'.join('%02x' % b for b in DPDK_MAC)),
            '--', '--forward-mode=macswap', '--auto-start',
            '--stats-period', '1', '--nb-cores=1', '--total-num-mbufs=4096',
            '--rxq=1', '--txq=1']
        self.proc = _spawn(self.argv, self.log_path)

    def log(self):
        return _read_text(self.log_path)

    def stats(self):
        """The last port-0 statistics printed: {'RX-packets': n, ...}."""
        blocks = self.log().split('NIC statistics for port 0')
        if len(blocks) < 2:
            return {}
        return {k: int(v) for k, v in
                re.findall(r'([RT]X-(?:packets|bytes|errors|missed)):\s*(\d+)',
                           blocks[-1])}

    def wait_stats(self, cond, timeout):
        deadline = time.monotonic() + secs(timeout)
        while True:
            s = self.stats()
            if cond(s) or time.monotonic() > deadline or \
                    self.proc.poll() is not None:
                return s
            time.sleep(0.2)

    def stop(self):
        """SIGTERM (testpmd closes its port), then its EAL runtime
        directory is removed."""
        rc = _kill_and_reap(self.proc, secs(5))
        for base in ('/var/run/dpdk', os.path.join(
                os.environ.get('XDG_RUNTIME_DIR', '/tmp'), 'dpdk')):
            shutil.rmtree(os.path.join(base, self.prefix),
                          ignore_errors=True)
        return rc


def run(t, d, record):
    path = os.path.join(d, 'v0.sock')
    port = free_port()
    args = (vhost_user_netdev('v0', path) +
            ['-netdev', 'hubport,id=p0,hubid=0,netdev=v0',
             '-netdev', 'stream,id=s0,server=on,addr.type=inet,'
             'addr.host=127.0.0.1,addr.port=%d' % port,
             '-netdev', 'hubport,id=hp,hubid=0,netdev=s0',
             '-netdev', 'hubport,id=hs,hubid=0'] + stub_device('hs', 'st'))
    with VuRig(t, args, d, record) as rig:
        pmd = Testpmd(d, path)
        try:
            exchange(t, rig, pmd, port)
        finally:
            rc = pmd.stop()
            rig.t.diag('testpmd exit status %s' % rc)
        ev = rig.event('NETDEV_STREAM_DISCONNECTED')
        v0 = rig.wait_clients(lambda c: not c['v0']['link-up'])['v0']
        t.ok(ev and ev['data'] == {'netdev-id': 'v0'} and not v0['link-up'],
             'testpmd quits: NETDEV_STREAM_DISCONNECTED for v0, link down',
             diag=repr((ev, v0)))


def exchange(t, rig, pmd, port):
    ev = rig.event('NETDEV_STREAM_CONNECTED', timeout=30)
    v0 = rig.wait_clients(lambda c: c['v0']['link-up'], timeout=30)['v0']
    t.ok(ev and ev['data']['netdev-id'] == 'v0' and v0['link-up'],
         "testpmd's virtio_user attaches to v0: NETDEV_STREAM_CONNECTED, "
         "link up", diag=lambda: '%r %r\n%s\n%s' % (ev, v0, pmd.log(),
                                                   rig.v.log()))
    pmd.wait_stats(lambda s: 'RX-packets' in s, 20)

    peer = rig.own(StreamPeer(port))
    rig.wait_clients(lambda c: c['s0']['link-up'])
    out = [frame(DPDK_MAC, PEER_MAC, i, n)
           for i, n in enumerate(sizes(PEER_FRAMES))]
    got = []
    for k in range(0, len(out), 20):        # 20 in flight at most
        peer.send_frames(out[k:k + 20])
        deadline = time.monotonic() + secs(10)
        while len(got) < k + 20 and time.monotonic() < deadline:
            f = peer.recv_frame(1)
            if f is not None:
                got.append(f)
    got += peer.recv_all(0.5)
    want = [swapped(f) for f in out]
    bad = [i for i, (a, b) in enumerate(zip(got, want)) if a != b]
    t.ok(len(got) == len(want) and not bad,
         'the stream peer sends %d frames of 60..1514 bytes to testpmd: '
         'all come back in order, addresses swapped, the rest intact'
         % len(out), diag=lambda: 'got %d; differing %s\n%s' % (
             len(got), [(i, describe(got[i]), describe(want[i]))
                        for i in bad[:3]], pmd.log()[-3000:]))

    rig.q.cmd('x-nic-stub-read', {'id': 'st'})          # empty it
    sent = [frame(DPDK_MAC, STUB_MAC, 1000 + i, n)
            for i, n in enumerate(sizes(STUB_FRAMES))]
    back = []
    for k in range(0, len(sent), 20):       # the capture ring holds 64
        for f in sent[k:k + 20]:
            rig.q.cmd('x-nic-stub-inject', {
                'id': 'st', 'data': base64.b64encode(f).decode()})
        deadline = time.monotonic() + secs(10)
        while len(back) < k + 20 and time.monotonic() < deadline:
            back += [base64.b64decode(x['data']) for x in
                     rig.q.cmd('x-nic-stub-read', {'id': 'st'})]
            time.sleep(0.05)
    want = [swapped(f) for f in sent]
    bad = [i for i, (a, b) in enumerate(zip(back, want)) if a != b]
    t.ok(len(back) == len(want) and not bad,
         'the nic-stub sends %d frames to testpmd: all come back to the '
         'stub, swapped and intact' % len(sent),
         diag=lambda: 'got %d; differing %s' % (len(back), [
             (i, describe(back[i]), describe(want[i])) for i in bad[:3]]))

    total = len(out) + len(sent)
    nbytes = sum(len(f) for f in out + sent)
    s = pmd.wait_stats(lambda s: s.get('RX-packets', 0) >= total and
                       s.get('TX-packets', 0) >= total, 10)
    t.ok(s.get('RX-packets') == total and s.get('TX-packets') == total and
         s.get('RX-bytes') == nbytes and s.get('TX-bytes') == nbytes,
         "testpmd's port statistics: %d frames and %d bytes received and "
         "sent" % (total, nbytes), diag=repr(s))
    v0 = rig.client('v0')
    t.ok(v0.get('rx-frames') == total and v0.get('tx-frames') == total and
         v0.get('dropped') == 0 and v0.get('resets') == 0,
         "vmwire's counters on v0 agree (%d each way, no drop, no reset)"
         % total, diag=repr(v0))


def main(t):
    if not shutil.which(TESTPMD):
        t.skip_all('%s not found (Debian package dpdk)' % TESTPMD)
    runs = VmwireRuns()
    with t.scenario('dpdk virtio_user'), tempdir('vu-dpdk') as d:
        run(t, d, lambda _, v: runs.record('dpdk virtio_user', v))
    runs.check(t, 1)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
