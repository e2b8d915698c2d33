#!/usr/bin/env python3
"""-netdev vxlan with a real QEMU guest, against Linux's vxlan device.

The namespaces of tests/qtest/vxlanrig.py (IPv4 underlay): in B Linux's
vx0 (VNI 42) in bridge br0 with 10.42.0.2/24; in A vmwire with
`-netdev vxlan` and a unix stream listener on hub 0.  A QEMU guest
(virtio-net, MTU 1450 for the 50 bytes of VXLAN over a 1500-byte
underlay) connects to the listener with 10.42.0.10/24.  Two scenarios,
each with its own namespaces, daemon and guest:

  unicast   Linux's vx0 has `remote A`, vmwire `remote=B`.
  multicast Linux's vx0 has `group 239.1.1.1 dev vethB`, vmwire
            `group=239.1.1.1,dev=vethA`.

In each:

  ping      the guest pings br0's address over VXLAN.
  bulk      the guest sends 4 MiB over TCP to a server in B, then
            receives 4 MiB from it: every byte arrives both ways.
  fdb       vmwire learned br0's MAC behind B's address, Linux the
            guest's MAC behind A's.
  wire      dumpcap on B's veth records the VXLAN datagrams holding ARP
            or ICMP (a capture filter leaves the bulk out) and tshark
            decodes them: every one has VNI 42 and flags 0x08; the
            guest's echo requests (its MAC and 10.42.0.10 to br0's MAC
            and 10.42.0.2) go from A to B and br0's replies the other
            way; the guest's ARP broadcast goes to B (unicast) or to the
            group (multicast).

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
from vxlanrig import (FAMILIES, GROUPS, NS_B, VETH_A,  # noqa: E402
                      Capture, describe, fdb_of, in_ns_a, ns, setup,
                      teardown)

GUEST_MAC = '52:54:00:00:42:10'
BYTES = 4 * 1024 * 1024
GUEST_TIMEOUT = 240
# dumpcap's filter: VXLAN datagrams whose inner frame is ARP, or IPv4
# ICMP (udp[16] is the inner Ethernet header, udp[30] the inner IP's).
ARP_ICMP = ('udp dst port 4789 and (udp[28:2] = 0x0806 or '
            '(udp[28:2] = 0x0800 and udp[39] = 1))')

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


def scenario(t, group=None):
    """One daemon and one guest; Linux and vmwire flood to each other
    (unicast) or to @group."""
    a, b, _ = FAMILIES[4]
    label = 'multicast' if group else 'unicast'
    flood = ('group=%s,dev=%s' % (group, VETH_A) if group else
             'remote=%s' % b)
    teardown()
    br_mac = setup(4, group)
    server = cap = None
    try:
        server = subprocess.Popen(
            ['ip', 'netns', 'exec', NS_B, sys.executable, '-c', SERVER,
             str(BYTES)], stdout=subprocess.PIPE, text=True)
        server.stdout.readline()
        with in_ns_a(), tempdir('vxlan') as d:
            cap = Capture(os.path.join(d, 'underlay.pcap'), bpf=ARP_ICMP)
            sock = os.path.join(d, 'g0.sock')
            qmp_path = os.path.join(d, 'qmp.sock')
            args = ['-netdev', 'vxlan,id=vx,vni=42,local=%s,%s' % (a, flood),
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
                check(t, label, q, rc, console, server, a, b, br_mac)
                check_wire(t, label, cap.vxlan_rows(), a, b, br_mac,
                           group or b)
    finally:
        if cap:
            cap.stop()
        if server and server.poll() is None:
            server.kill()
        if server:
            server.wait()


def main():
    with TAP() as t:
        if os.geteuid() != 0:
            t.skip_all('needs root for network namespaces')
        try:
            with t.scenario('unicast'):
                scenario(t)
            with t.scenario('multicast'):
                scenario(t, GROUPS[4])
        finally:
            teardown()


def check(t, label, q, rc, console, server, a, b, br_mac):
    t.ok(rc == 0 and 'FAILED' not in console,
         '%s: the guest pings br0 over VXLAN' % label, diag=console)
    down = re.search(r'^== down\n(\d+)\n', console, re.M)
    try:
        out, _ = server.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        out, _ = server.communicate()
    up = re.search(r'^UP (\d+)$', out, re.M)
    t.ok(up and int(up.group(1)) == BYTES,
         '%s: the guest sends %d bytes over TCP to Linux, every byte '
         'arrives' % (label, BYTES), diag=out + console)
    t.ok(down and int(down.group(1)) == BYTES,
         '%s: Linux sends %d bytes over TCP to the guest, every byte '
         'arrives' % (label, BYTES), diag=console)
    entries = fdb_of(q)['entries']
    t.ok(any(e['mac'] == br_mac and e['remote'] == b for e in entries),
         "%s: vmwire's FDB learned br0's MAC behind B" % label,
         diag=json.dumps(entries))
    fdb = ns(NS_B, 'bridge', 'fdb', 'show', 'dev', 'vx0').stdout
    t.ok(re.search(r'^%s dst %s ' % (GUEST_MAC, re.escape(a)), fdb, re.M),
         "%s: Linux's FDB learned the guest's MAC behind vmwire" % label,
         diag=fdb)
    vx = [c for c in q.cmd('x-query-network') if c['id'] == 'vx'][0]
    t.ok(vx['dropped'] == 0, '%s: vmwire dropped no frame on the vxlan '
         'netdev' % label, diag=json.dumps(vx))


def check_wire(t, label, rows, a, b, br_mac, bcast_dst):
    """What tshark decoded on B's veth: VXLAN, VNI 42, flags 0x08; the
    guest's echo requests and br0's replies inside, between A and B; the
    guest's ARP broadcast sent to @bcast_dst."""
    bad = [r for r in rows if r['vxlan.vni'] != '42' or
           int(r['vxlan.flags'], 16) != 0x0800]
    t.ok(rows and not bad, '%s: tshark decodes the %d ARP/ICMP datagrams '
         'on the underlay as VXLAN, VNI 42, flags 0x08' % (label, len(rows)),
         diag=describe(bad))

    def frames(src, dst, mac_src, mac_dst, ip_src, ip_dst, icmp_type):
        return [r for r in rows if (r['ip.src'], r['ip.dst'],
                                    r['inner.eth.src'], r['inner.eth.dst'],
                                    r['inner.ip.src'], r['inner.ip.dst'],
                                    r['icmp.type']) ==
                (src, dst, mac_src, mac_dst, ip_src, ip_dst, icmp_type)]
    requests = frames(a, b, GUEST_MAC, br_mac, '10.42.0.10', '10.42.0.2',
                      '8')
    replies = frames(b, a, br_mac, GUEST_MAC, '10.42.0.2', '10.42.0.10',
                     '0')
    t.ok(len(requests) >= 5 and len(replies) >= 5,
         '%s: inside them, the guest\'s echo requests to br0 (%d, A to B) '
         'and br0\'s replies (%d, B to A), MACs and addresses right'
         % (label, len(requests), len(replies)), diag=describe(rows))
    arp = [r['ip.dst'] for r in rows
           if r['inner.eth.src'] == GUEST_MAC and
           r['inner.eth.dst'] == 'ff:ff:ff:ff:ff:ff' and
           r['arp.opcode'] == '1']
    t.ok(arp and set(arp) == {bcast_dst}, '%s: the guest\'s ARP broadcast '
         'goes to %s' % (label, bcast_dst), diag=describe(rows))


if __name__ == '__main__':
    main()
