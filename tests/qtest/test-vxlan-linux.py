#!/usr/bin/env python3
"""-netdev vxlan against Linux's own vxlan device, over a veth pair.

The test makes two network namespaces (vmw-vx-a-PID, vmw-vx-b-PID) and a
veth pair between them; nothing leaves them, and they are deleted at the
end, whatever happened.  In B, Linux's `vxlan` device vx0 (VNI 42,
dstport 4789, remote = A's underlay address) sits in bridge br0, which
has 10.42.0.2/24.  In A, vmwire runs with `-netdev vxlan` (remote= B's
address and a second address of B: head-end replication) on hub 0 and a
nic-stub 10.42.0.1/24 on the same hub; dumpcap records B's end of the
veth.  For an IPv4 and an IPv6 underlay:

  ping      Linux (in B) pings the nic-stub over VXLAN.
  fdb       Linux's FDB (`bridge fdb show dev vx0`) learned the nic-stub's
            MAC behind A's address; vmwire's x-query-vxlan-fdb learned
            br0's MAC behind B's address and lists both remote= as
            00:00:00:00:00:00 entries.
  wire      a broadcast injected at the stub reaches each remote once;
            tshark decodes every datagram vmwire sent as VXLAN, VNI 42,
            flags 0x08, dstport 4789, the TTL of ttl= (17; IPv6: 9), a
            source port in 32768-60999 (IPv6: srcport=40000-49999) that
            follows the inner flow (an ARP broadcast and 8 echo requests
            of their own flows leave from at least 2 of the pool's ports;
            2 flows alone collided 1 time in 16), UDP checksum 0
            over IPv4 and a good one over IPv6.
  qmp       x-vxlan-fdb-add / -del (a static unicast entry, a flood
            remote) and their errors; netdev_add of a second vxlan netdev
            in JSON, netdev_del; `info network`'s line.
  bad       a raw UDP socket in B sends a 4-byte datagram, a header with
            flags 0x0c, one with VNI 43 and one whose inner frame is 10
            bytes: bad-header grows by 3, wrong-vni by 1, the netdev's
            malformed drops by 4, and Linux still pings the stub.
  too-big   with a 1300-byte route MTU towards B in A, a 1328-byte ping
            gets no answer: the reply is dropped and counted (too-big,
            oversized), not fragmented; small pings still pass.
  multicast Linux's vx0 with `group 239.1.1.1 dev vethB` (IPv6:
            ff05::4242) and vmwire's group=,dev=: Linux pings the stub,
            each side learns the other behind its unicast address, and
            vmwire lists the group as its flood entry.
  no-raw    vmwire without CAP_NET_RAW (setpriv): no warning, frames
            still leave from source ports in 32768-60999 (its UDP send
            sockets need no privilege), never 4789; Linux pings the stub.
            Again with udpcsum=on: the IPv4 checksum is a good one.
  three     two vmwire daemons (10.199.0.1 and .4, both in A) and
            Linux (`bridge fdb append 00:00:00:00:00:00 ... dst .4`):
            Linux pings both stubs; a broadcast from either stub reaches
            all and every endpoint learns it; then 10 ICMP echoes between
            the two stubs are all answered while B's veth sees none of
            them.

At the end SIGTERM must give exit status 0 and no sanitizer report.
"""

import base64
import json
import os
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP  # noqa: E402
from vmwire_test import (TAP, Vmwire, inet_checksum,  # noqa: E402
                         mac_bytes, tempdir)
from vxlanrig import (FAMILIES, GROUPS, NS_A, NS_B, SECOND, STUB_MAC,  # noqa: E402,E501
                      VETH_A, Capture, fdb_of, in_ns_a, malformed, ns,
                      ping_ok, run, setup, teardown)

# Per underlay family: the outer TTL / hop limit and the source ports
# vmwire is given (IPv4: the default range).
WIRE = {4: ('ttl=17', 17, 32768, 60999),
        6: ('ttl=9,srcport=40000-49999', 9, 40000, 49999)}

BAD_SENDER = r'''
import socket, struct, sys
host, fam = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET if fam == 4 else socket.AF_INET6,
                  socket.SOCK_DGRAM)
inner = bytes.fromhex('ffffffffffff525400004299') + b'\x08\x06' + bytes(28)
def hdr(flags, vni):
    return struct.pack('!B3xI', flags, vni << 8)
for d in (b'\x08\x00\x00\x00',            # short
          hdr(0x0c, 42) + inner,          # unknown flags
          hdr(0x08, 43) + inner,          # another VNI
          hdr(0x08, 42) + inner[:10]):    # runt inner frame
    s.sendto(d, (host, 4789))
'''


def scenario(t, fam):
    a, b, _ = FAMILIES[fam]
    teardown()
    br_mac = setup(fam)
    cap = None
    try:
        with in_ns_a(), tempdir('vxlan') as d:
            qmp_path = os.path.join(d, 'qmp.sock')
            cap = Capture(os.path.join(d, 'underlay.pcap'))
            args = ['-netdev', 'vxlan,id=vx,vni=42,local=%s,remote=%s,'
                    'remote=%s,%s' % (a, b, SECOND[fam], WIRE[fam][0]),
                    '-netdev', 'hubport,id=p0,hubid=0,netdev=vx',
                    '-netdev', 'hubport,id=p1,hubid=0',
                    '-device', 'nic-stub,id=s0,netdev=p1,mac=%s,'
                    'ip=10.42.0.1/24' % STUB_MAC,
                    '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
            with Vmwire(args) as v, QMP.unix(qmp_path) as q:
                q.negotiate()
                check(t, fam, q, v, a, b, br_mac)
                check_wire(t, fam, q, cap, a, b)
                check_qmp(t, fam, q, v, b)
                check_bad_input(t, fam, q, a)
                check_too_big(t, fam, q)
    finally:
        if cap:
            cap.stop()


def check(t, fam, q, v, a, b, br_mac):
    r = ping_ok()
    t.ok(r.returncode == 0, 'IPv%d underlay: Linux pings the nic-stub over '
         'VXLAN' % fam, diag=lambda: r.stdout + r.stderr + v.log())
    fdb = ns(NS_B, 'bridge', 'fdb', 'show', 'dev', 'vx0').stdout
    t.ok(re.search(r'^%s dst %s ' % (STUB_MAC, re.escape(a)),
                   fdb, re.M) is not None,
         "IPv%d: Linux's FDB learned the stub's MAC behind vmwire" % fam,
         diag=fdb)
    entries = fdb_of(q)['entries']
    t.ok({'mac': br_mac, 'remote': b, 'static': False} in
         [{k: e[k] for k in ('mac', 'remote', 'static')} for e in entries],
         "IPv%d: vmwire's FDB learned br0's MAC behind Linux" % fam,
         diag=json.dumps(entries))
    t.ok([e['remote'] for e in entries
          if e['mac'] == '00:00:00:00:00:00' and e['static']] ==
         [b, SECOND[fam]],
         'IPv%d: both remote= are listed as flood entries' % fam,
         diag=json.dumps(entries))


def check_wire(t, fam, q, cap, a, b):
    """A broadcast from the stub goes to both remotes; every datagram
    vmwire sent is VXLAN as Linux's: flags 0x08, VNI 42, dstport 4789,
    source port in 32768-60999, checksum zero (IPv4) or right (IPv6)."""
    arp = (bytes.fromhex('ffffffffffff') + bytes.fromhex(
        STUB_MAC.replace(':', '')) + b'\x08\x06' +
        bytes.fromhex('0001080006040001') +
        bytes.fromhex(STUB_MAC.replace(':', '')) + bytes([10, 42, 0, 1]) +
        bytes(6) + bytes([10, 42, 0, 99]) + bytes(18))
    q.cmd('x-nic-stub-inject', {'id': 's0',
                                'data': base64.b64encode(arp).decode()})
    for n in range(FLOWS):      # to an unknown MAC: to both remotes
        frame = echo_request(STUB_MAC, '02:00:00:00:00:77', '10.42.0.1',
                             '10.42.0.77', n + 1)
        q.cmd('x-nic-stub-inject',
              {'id': 's0', 'data': base64.b64encode(frame).decode()})
    time.sleep(0.5)
    rows = cap.vxlan_rows()
    src, dst = ('ip.src', 'ip.dst') if fam == 4 else ('ipv6.src', 'ipv6.dst')
    ours = [r for r in rows if r[src] == a]
    bcast_to = sorted(r[dst] for r in ours
                      if r['eth.dst'].split(',')[-1] == 'ff:ff:ff:ff:ff:ff'
                      and r['eth.src'].split(',')[-1] == STUB_MAC)
    t.ok(bcast_to == sorted([b, SECOND[fam]]),
         'IPv%d: a broadcast goes to each remote= once' % fam,
         diag='to %s' % bcast_to)
    _, ttl, lo, hi = WIRE[fam]
    bad = [r for r in ours
           if r['vxlan.vni'] != '42' or int(r['vxlan.flags'], 16) != 0x0800
           or r['udp.dstport'] != '4789'
           or not lo <= int(r['udp.srcport']) <= hi
           or r['ip.ttl' if fam == 4 else 'ipv6.hlim'] != str(ttl)
           or (fam == 4 and int(r['udp.checksum'], 16) != 0)
           or (fam == 6 and r['udp.checksum.status'] != '1')]
    t.ok(ours and not bad, 'IPv%d: tshark decodes %d datagrams from vmwire '
         'as VXLAN VNI 42, flags 0x08, source port in %d-%d, TTL %d, %s'
         % (fam, len(ours), lo, hi, ttl,
            'checksum 0' if fam == 4 else 'good checksum'),
         diag=json.dumps(bad[:3] or rows[:3]))
    ports = {r['udp.srcport'] for r in ours
             if r['eth.src'].split(',')[-1] == STUB_MAC}
    # FLOWS echo requests, each its own flow (the ICMP checksum is in the
    # hash), over the pool of send sockets: all on one port by chance has
    # a chance of 1 in 16^(FLOWS - 1) with a full pool.
    t.ok(len(ports) >= 2, 'IPv%d: the source port follows the inner flow '
         '(%d flows leave from %d ports)' % (fam, FLOWS + 1, len(ports)),
         diag=str(ports))


FLOWS = 8                       # echo requests check_wire() sends


def check_qmp(t, fam, q, v, b):
    """x-vxlan-fdb-add / -del as `bridge fdb add / append / del`."""
    extra = 'fd00:199::9' if fam == 6 else '10.199.0.9'
    mac = '52:54:00:aa:bb:cc'
    q.cmd('x-vxlan-fdb-add', {'netdev': 'vx', 'mac': mac, 'remote': b})
    q.cmd('x-vxlan-fdb-add', {'netdev': 'vx', 'mac': '00:00:00:00:00:00',
                              'remote': extra})
    entries = fdb_of(q)['entries']
    t.ok({'mac': mac, 'remote': b, 'static': True, 'age-ms': 0} in entries
         and {'mac': '00:00:00:00:00:00', 'remote': extra, 'static': True,
              'age-ms': 0} in entries,
         'IPv%d: x-vxlan-fdb-add adds a static entry and a flood remote'
         % fam, diag=json.dumps(entries))
    q.cmd('x-vxlan-fdb-del', {'netdev': 'vx', 'mac': mac})
    q.cmd('x-vxlan-fdb-del', {'netdev': 'vx', 'mac': '00:00:00:00:00:00',
                              'remote': extra})
    entries = fdb_of(q)['entries']
    t.ok(all(e['mac'] != mac and e['remote'] != extra for e in entries),
         'IPv%d: x-vxlan-fdb-del removes them' % fam,
         diag=json.dumps(entries))
    errors = []
    for cmd, arguments in (
            ('x-query-vxlan-fdb', {'netdev': 'nope'}),
            ('x-query-vxlan-fdb', {'netdev': 'p0'}),
            ('x-vxlan-fdb-del', {'netdev': 'vx', 'mac': mac}),
            ('x-vxlan-fdb-add', {'netdev': 'vx', 'mac': 'zz',
                                 'remote': b}),
            ('x-vxlan-fdb-add', {'netdev': 'vx', 'mac': mac,
                                 'remote': 'nowhere'})):
        reply = q.execute(cmd, arguments)
        errors.append(reply.get('error', {}).get('desc'))
        if len(errors) == 1:
            errors[0] += ' (%s)' % reply.get('error', {}).get('class')
    t.ok(errors == ["Device 'nope' not found (DeviceNotFound)",
                    "netdev 'p0' is not a vxlan netdev", 'no such entry',
                    "Parameter 'mac' expects a MAC address",
                    "remote address 'nowhere' is not a valid IPv4 or IPv6 "
                    "address"],
         'IPv%d: the FDB commands refuse in the user\'s terms' % fam,
         diag=json.dumps(errors))
    q.cmd('netdev_add', {'type': 'vxlan', 'id': 'vx2', 'vni': 43,
                         'local': FAMILIES[fam][0], 'dstport': 4790,
                         'remote': [{'str': b}, {'str': SECOND[fam]}]})
    added = q.cmd('x-query-vxlan-fdb', {'netdev': 'vx2'})[0]
    q.cmd('netdev_del', {'id': 'vx2'})
    t.ok(added['vni'] == 43 and [e['remote'] for e in added['entries']] ==
         [b, SECOND[fam]] and
         [f['netdev'] for f in q.cmd('x-query-vxlan-fdb')] == ['vx'],
         'IPv%d: netdev_add takes a vxlan netdev in JSON (remote as a list), '
         'netdev_del removes it' % fam, diag=json.dumps(added))
    info = q.cmd('human-monitor-command',
                 {'command-line': 'info network'})
    t.ok(re.search(r' vx: index=\d+,type=vxlan,vxlan: vni=42 local=\S+ '
                   r'dstport=4789 remote=%s remote=%s\r?$'
                   % (re.escape(b), re.escape(SECOND[fam])), info, re.M),
         'IPv%d: info network shows the vxlan netdev' % fam, diag=info)


def check_bad_input(t, fam, q, a):
    before, mal0 = fdb_of(q), malformed(q)
    ns(NS_B, sys.executable, '-c', BAD_SENDER, a, str(fam))
    deadline = time.monotonic() + 5
    while True:
        after = fdb_of(q)
        if (after['bad-header'] - before['bad-header'] >= 3 and
                after['wrong-vni'] - before['wrong-vni'] >= 1) or \
                time.monotonic() > deadline:
            break
        time.sleep(0.05)
    got = (after['bad-header'] - before['bad-header'],
           after['wrong-vni'] - before['wrong-vni'], malformed(q) - mal0)
    t.ok(got == (3, 1, 4), 'IPv%d: short, bad flags, runt and wrong VNI '
         'are dropped and counted (bad-header, wrong-vni, malformed)' % fam,
         diag='got %s' % (got,))
    r = ping_ok(1)
    t.ok(r.returncode == 0, 'IPv%d: vmwire still forwards after bad input'
         % fam, diag=r.stdout + r.stderr)


def check_too_big(t, fam, q):
    """With a 1300-byte route MTU to B at vmwire's end (the link stays at
    1500, so Linux's request still arrives), a 1342-byte inner reply would
    need fragments: it is dropped and counted (too-big, oversized), and
    small frames still pass."""
    host = FAMILIES[fam][1] + ('/32' if fam == 4 else '/128')
    ns(NS_A, 'ip', '-%d' % fam, 'route', 'add', host, 'dev', VETH_A,
       'mtu', '1300')
    before = fdb_of(q)['too-big']
    r = ns(NS_B, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '-s', '1300',
           '10.42.0.1', check=False)
    after = fdb_of(q)['too-big']
    oversized = [c['oversized'] for c in q.cmd('x-query-network')
                 if c['id'] == 'vx'][0]
    t.ok(r.returncode != 0 and after - before >= 1 and oversized >= 1,
         'IPv%d: a frame too big for the underlay is dropped and counted, '
         'not fragmented' % fam,
         diag='ping rc %d, too-big %d -> %d, oversized %d'
         % (r.returncode, before, after, oversized))
    r = ping_ok(1)
    t.ok(r.returncode == 0, 'IPv%d: small frames still pass' % fam,
         diag=r.stdout + r.stderr)


def scenario_mcast(t, fam):
    """Linux with `group G dev vethB`, vmwire with group=G,dev=vethA."""
    a, b, _ = FAMILIES[fam]
    group = GROUPS[fam]
    teardown()
    br_mac = setup(fam, group)
    with in_ns_a(), tempdir('vxlan') as d:
        qmp_path = os.path.join(d, 'qmp.sock')
        args = ['-netdev', 'vxlan,id=vx,vni=42,local=%s,group=%s,dev=%s'
                % (a, group, VETH_A),
                '-netdev', 'hubport,id=p0,hubid=0,netdev=vx',
                '-netdev', 'hubport,id=p1,hubid=0',
                '-device', 'nic-stub,id=s0,netdev=p1,mac=%s,'
                'ip=10.42.0.1/24' % STUB_MAC,
                '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
        with Vmwire(args) as v, QMP.unix(qmp_path) as q:
            q.negotiate()
            r = ping_ok()
            t.ok(r.returncode == 0, 'IPv%d multicast (group %s): Linux '
                 'pings the nic-stub over VXLAN' % (fam, group),
                 diag=lambda: r.stdout + r.stderr + v.log())
            fdb = ns(NS_B, 'bridge', 'fdb', 'show', 'dev',
                     'vx0').stdout
            entries = fdb_of(q)['entries']
            t.ok(re.search(r'^%s dst %s ' % (STUB_MAC, re.escape(a)),
                           fdb, re.M) is not None and
                 {'mac': br_mac, 'remote': b, 'static': False} in
                 [{k: e[k] for k in ('mac', 'remote', 'static')}
                  for e in entries] and
                 {'mac': '00:00:00:00:00:00', 'remote': group,
                  'static': True, 'age-ms': 0} in entries,
                 'IPv%d multicast: both learn the other side behind its '
                 'unicast address; the group is the flood entry' % fam,
                 diag=fdb + json.dumps(entries))


def scenario_no_raw(t, udpcsum):
    """Without CAP_NET_RAW vmwire still sends from per-flow source ports
    in srcport= (ordinary UDP sockets), warns of nothing and
    interoperates; the IPv4 checksum is zero, or with udpcsum=on a good
    one (as Linux's udpcsum)."""
    a, b, _ = FAMILIES[4]
    what = 'udpcsum=on' if udpcsum else 'without CAP_NET_RAW'
    teardown()
    setup(4)
    with in_ns_a('setpriv --bounding-set -net_raw'), \
            tempdir('vxlan') as d:
        cap = Capture(os.path.join(d, 'underlay.pcap'))
        try:
            args = ['-netdev', 'vxlan,id=vx,vni=42,local=%s,remote=%s%s'
                    % (a, b, ',udpcsum=on' if udpcsum else ''),
                    '-netdev', 'hubport,id=p0,hubid=0,netdev=vx',
                    '-netdev', 'hubport,id=p1,hubid=0',
                    '-device', 'nic-stub,id=s0,netdev=p1,mac=%s,'
                    'ip=10.42.0.1/24' % STUB_MAC]
            with Vmwire(args) as v:
                r = ping_ok()
                t.ok(r.returncode == 0 and not re.search(
                    r'^vmwire: warning:', v.log(), re.M),
                     '%s: no warning, and Linux pings the stub' % what,
                     diag=lambda: r.stdout + r.stderr + v.log())
            rows = [r for r in cap.vxlan_rows() if r['ip.src'] == a]
            t.ok(len(rows) >= 2 and all(
                32768 <= int(r['udp.srcport']) <= 60999 and
                r['vxlan.vni'] == '42' and
                (r['udp.checksum.status'] == '1' if udpcsum
                 else int(r['udp.checksum'], 16) == 0) for r in rows),
                 '%s: %d datagrams leave from source ports in 32768-60999, '
                 '%s' % (what, len(rows),
                         'good checksum' if udpcsum else 'checksum 0'),
                 diag=json.dumps(rows[:3]))
        finally:
            cap.stop()




def echo_request(src_mac, dst_mac, src_ip, dst_ip, seq):
    """An Ethernet frame holding an ICMP echo request, checksums right."""
    icmp = struct.pack('!BBHHH', 8, 0, 0, 0x4242, seq) + bytes(32)
    icmp = icmp[:2] + struct.pack('!H', inet_checksum(icmp)) + icmp[4:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(icmp), seq, 0, 64,
                     1, 0, socket.inet_aton(src_ip),
                     socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack('!H', inet_checksum(ip)) + ip[12:]
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + b'\x08\x00' + ip + icmp


def garp(mac, ip):
    """A gratuitous ARP request: a broadcast from @mac."""
    return (b'\xff' * 6 + mac_bytes(mac) + b'\x08\x06' +
            bytes.fromhex('0001080006040001') + mac_bytes(mac) +
            socket.inet_aton(ip) + bytes(6) + socket.inet_aton(ip) +
            bytes(18))


def inject(q, stub, frame):
    q.cmd('x-nic-stub-inject', {'id': stub,
                                'data': base64.b64encode(frame).decode()})


def three_args(local, remotes, stub_mac, stub_ip, qmp_path):
    return ['-netdev', 'vxlan,id=vx,vni=42,local=%s,%s'
            % (local, ','.join('remote=' + r for r in remotes)),
            '-netdev', 'hubport,id=p0,hubid=0,netdev=vx',
            '-netdev', 'hubport,id=p1,hubid=0',
            '-device', 'nic-stub,id=s0,netdev=p1,mac=%s,ip=%s/24'
            % (stub_mac, stub_ip),
            '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]


def scenario_three(t):
    """Two vmwire endpoints (10.199.0.1 and .4, both in A) and Linux
    (.2, `bridge fdb append 00:00:00:00:00:00 dev vx0 dst .4`)."""
    a, b, _ = FAMILIES[4]
    c = '10.199.0.4'
    m1, m2 = STUB_MAC, '52:54:00:00:42:05'
    teardown()
    setup(4)
    ns(NS_A, 'ip', 'addr', 'add', c + '/24', 'dev', VETH_A)
    ns(NS_B, 'bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0',
       'dst', c)
    with in_ns_a(), tempdir('vxlan') as d:
        q1p, q2p = os.path.join(d, 'q1.sock'), os.path.join(d, 'q2.sock')
        with Vmwire(three_args(a, [b, c], m1, '10.42.0.1', q1p)) as v1, \
                Vmwire(three_args(c, [a, b], m2, '10.42.0.5', q2p)) as v2, \
                QMP.unix(q1p) as q1, QMP.unix(q2p) as q2:
            q1.negotiate()
            q2.negotiate()
            r1, r2 = ping_ok(target='10.42.0.1'), ping_ok(target='10.42.0.5')
            t.ok(r1.returncode == 0 and r2.returncode == 0,
                 'three endpoints: Linux pings the stubs of both vmwire '
                 'daemons', diag=lambda: r1.stdout + r2.stdout + v1.log() +
                 v2.log())
            rx_before = q2.cmd('x-nic-stub-stats', {'id': 's0'})['rx-frames']
            inject(q1, 's0', garp(m1, '10.42.0.1'))
            inject(q2, 's0', garp(m2, '10.42.0.5'))
            time.sleep(0.3)
            rx_after = q2.cmd('x-nic-stub-stats', {'id': 's0'})['rx-frames']
            fdb = ns(NS_B, 'bridge', 'fdb', 'show', 'dev', 'vx0').stdout
            e1 = fdb_of(q1)['entries']
            e2 = fdb_of(q2)['entries']
            t.ok(rx_after > rx_before and
                 {'mac': m2, 'remote': c} in
                 [{k: e[k] for k in ('mac', 'remote')} for e in e1] and
                 {'mac': m1, 'remote': a} in
                 [{k: e[k] for k in ('mac', 'remote')} for e in e2] and
                 re.search(r'^%s dst %s ' % (m2, c), fdb, re.M),
                 'three endpoints: a broadcast reaches every endpoint; each '
                 'learns the others', diag=fdb + json.dumps([e1, e2]))
            check_three_unicast(t, d, q1, q2, m1, m2)


def check_three_unicast(t, d, q1, q2, m1, m2):
    """Unicast between the two vmwire stubs, once learned, goes to the
    one remote: Linux's end of the veth sees none of it."""
    cap = Capture(os.path.join(d, 'three.pcap'))
    try:
        before = q2.cmd('x-nic-stub-stats', {'id': 's0'})['echo-replies']
        for seq in range(1, 11):
            inject(q1, 's0', echo_request(m1, m2, '10.42.0.1', '10.42.0.5',
                                          seq))
        time.sleep(0.5)
        replies = q2.cmd('x-nic-stub-stats', {'id': 's0'})['echo-replies']
    finally:
        rows = cap.vxlan_rows()
    seen = [r for r in rows
            if {r['eth.src'].split(',')[-1], r['eth.dst'].split(',')[-1]}
            == {m1, m2}]
    t.ok(replies - before == 10 and not seen,
         'three endpoints: 10 echoes between the vmwire stubs are answered, '
         'and the third endpoint sees none of them (no flooding once '
         'learned)', diag='%d replies, %d frames at Linux'
         % (replies - before, len(seen)))


def main():
    with TAP() as t:
        if os.geteuid() != 0:
            t.skip_all('needs root for network namespaces')
        try:
            for fam in (4, 6):
                with t.scenario('ipv%d' % fam):
                    scenario(t, fam)
            for fam in (4, 6):
                with t.scenario('ipv%d multicast' % fam):
                    scenario_mcast(t, fam)
            with t.scenario('no CAP_NET_RAW'):
                scenario_no_raw(t, False)
            with t.scenario('udpcsum=on'):
                scenario_no_raw(t, True)
            with t.scenario('three endpoints'):
                scenario_three(t)
        finally:
            teardown()
        left = run('ip', 'netns', 'list').stdout
        t.ok(NS_A not in left and NS_B not in left,
             'the namespaces are gone', diag=left)


if __name__ == '__main__':
    main()
