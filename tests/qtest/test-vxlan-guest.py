#!/usr/bin/env python3
"""-netdev vxlan with a real QEMU guest, against Linux's vxlan device.

The namespaces of tests/qtest/vxlanrig.py (IPv4 underlay): in B Linux's
vx0 (VNI 42) in bridge br0 with 10.42.0.2/24; in A vmwire with
`-netdev vxlan` and a unix stream listener on hub 0.  A QEMU guest
(virtio-net, MTU 1450 for the 50 bytes of VXLAN over a 1500-byte
underlay) connects to the listener with 10.42.0.10/24:

  ping      the guest pings br0's address over VXLAN.
  bulk      the guest sends 4 MiB over TCP to a server in B, then
            receives 4 MiB from it: every byte arrives both ways.
  fdb       vmwire learned br0's MAC, Linux the guest's MAC.

At the end SIGTERM must give exit status 0 and no sanitizer report.
"""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP  # noqa: E402
from vmwire_test import (TAP, Guest, Vmwire, ping_cmd, tempdir,  # noqa: E402
                         wait_ping_cmd)
from vxlanrig import (FAMILIES, NS_B, fdb_of, in_ns_a, ns,  # noqa: E402
                      setup, teardown)

GUEST_MAC = '52:54:00:00:42:10'
BYTES = 4 * 1024 * 1024
GUEST_TIMEOUT = 240

# In B: count what the guest sends on :5001, then send BYTES on :5002.
SERVER = r'''
import socket, sys
n_bytes = int(sys.argv[1])
up, down = socket.socket(), socket.socket()
for s, port in ((up, 5001), (down, 5002)):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('10.42.0.2', port))
    s.listen(1)
    s.settimeout(200)
print('LISTENING', flush=True)
c, _ = up.accept()
c.settimeout(60)
got = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    got += len(d)
c.close()
print('UP %d' % got, flush=True)
c, _ = down.accept()
c.sendall(bytes(n_bytes))
c.close()
print('DOWN-SENT', flush=True)
'''

GUEST_RUN = ('ip link set eth0 mtu 1450\n' + wait_ping_cmd('10.42.0.2', 60) +
             ping_cmd('10.42.0.2', count=5) + ' || echo "FAILED: ping"\n'
             'dd if=/dev/zero bs=65536 count=%d 2>/dev/null | '
             'nc 10.42.0.2 5001\n'
             'mkfifo /tmp/f; exec 3<>/tmp/f\n'
             'echo "== down"\n'
             'nc 10.42.0.2 5002 < /tmp/f | wc -c\n'
             'echo "== end"\n' % (BYTES // 65536))


def main():
    with TAP() as t:
        if os.geteuid() != 0:
            t.skip_all('needs root for network namespaces')
        a, b, _ = FAMILIES[4]
        server = None
        try:
            teardown()
            br_mac = setup(4)
            server = subprocess.Popen(
                ['ip', 'netns', 'exec', NS_B, sys.executable, '-c', SERVER,
                 str(BYTES)], stdout=subprocess.PIPE, text=True)
            server.stdout.readline()
            with in_ns_a(), tempdir('vxlan') as d:
                sock = os.path.join(d, 'g0.sock')
                qmp_path = os.path.join(d, 'qmp.sock')
                args = ['-netdev', 'vxlan,id=vx,vni=42,local=%s,remote=%s'
                        % (a, b),
                        '-netdev', 'hubport,id=p0,hubid=0,netdev=vx',
                        '-netdev', 'stream,id=g0,server=on,addr.type=unix,'
                        'addr.path=%s' % sock,
                        '-netdev', 'hubport,id=p1,hubid=0,netdev=g0',
                        '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
                with Vmwire(args) as v, QMP.unix(qmp_path) as q, \
                        Guest('stream,server=off,addr.type=unix,'
                              'addr.path=%s' % sock, ip='10.42.0.10/24',
                              mac=GUEST_MAC, run=GUEST_RUN) as g:
                    q.negotiate()
                    rc, console = g.wait(GUEST_TIMEOUT)
                    check(t, q, v, rc, console, server, a, b, br_mac)
        finally:
            if server and server.poll() is None:
                server.kill()
            if server:
                server.wait()
            teardown()


def check(t, q, v, rc, console, server, a, b, br_mac):
    t.ok(rc == 0 and 'FAILED' not in console,
         'the guest pings br0 over VXLAN', diag=console)
    down = re.search(r'^== down\n(\d+)\n', console, re.M)
    try:
        out, _ = server.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        out, _ = server.communicate()
    up = re.search(r'^UP (\d+)$', out, re.M)
    t.ok(up and int(up.group(1)) == BYTES,
         'the guest sends %d bytes over TCP to Linux, every byte arrives'
         % BYTES, diag=out + console)
    t.ok(down and int(down.group(1)) == BYTES,
         'Linux sends %d bytes over TCP to the guest, every byte arrives'
         % BYTES, diag=console)
    entries = fdb_of(q)['entries']
    t.ok(any(e['mac'] == br_mac and e['remote'] == b for e in entries),
         "vmwire's FDB learned br0's MAC", diag=json.dumps(entries))
    fdb = ns(NS_B, 'bridge', 'fdb', 'show', 'dev', 'vx0').stdout
    t.ok(re.search(r'^%s dst %s ' % (GUEST_MAC, re.escape(a)), fdb, re.M),
         "Linux's FDB learned the guest's MAC behind vmwire", diag=fdb)
    vx = [c for c in q.cmd('x-query-network') if c['id'] == 'vx'][0]
    t.ok(vx['dropped'] == 0, 'vmwire dropped no frame on the vxlan netdev',
         diag=json.dumps(vx))


if __name__ == '__main__':
    main()
